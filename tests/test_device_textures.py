"""Wear maps reach Mitsuba from Warp's memory through DLPack and render the same bytes as the host copy."""

from __future__ import annotations

import numpy as np

from tests.test_scale_out import same_tree, tiny, write
from wearforge.generate import generate
from wearforge.recipe import load_recipe
from wearforge.render import device_textures, frame
from wearforge.render.device_textures import zero_copy_usable


def test_zero_copy_pairs_device_and_variant():
    assert zero_copy_usable("cuda_ad_rgb", "cuda:0") and zero_copy_usable("llvm_ad_rgb", "cpu")
    assert not zero_copy_usable("cuda_ad_rgb", "cpu") and not zero_copy_usable("llvm_ad_rgb", "cuda:0")
    assert not zero_copy_usable("scalar_rgb", "cpu")


def test_device_maps_share_memory_and_equal_the_host_tensors():
    import warp as wp

    from wearforge.render.mitsuba_backend import mitsuba
    from wearforge.wear import CleanMaterial, LayerSpec, bake, build_stack

    mi = mitsuba("llvm")
    points = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    normals = np.tile(np.float32([0, 0, 1]), (4, 1))
    b = bake(points, np.array([[0, 1, 2], [0, 2, 3]], np.int32), normals, points[:, :2].copy(), 64,
             occlusion_resolution=32)
    stack = build_stack(b, CleanMaterial((0.5, 0.4, 0.3), 1.0, 0.0), [LayerSpec("rust", 3, {"coverage": 0.5})],
                        dev="cpu", device_maps=True)
    shared = device_textures.stack_tensors(mi, stack)
    host = device_textures.stack_tensors(mi, type(stack)(**{**stack.__dict__, "device_maps": None}))
    assert {k: v.shape for k, v in shared.items()} == {k: v.shape for k, v in host.items()}
    for name in host:
        assert np.array_equal(np.asarray(shared[name]), np.asarray(host[name])), name
    assert np.asarray(host["roughness"]).min() >= device_textures.ROUGHNESS_FLOOR
    # no copy: a change to the Warp array shows through the tensor made from it
    view = mi.TensorXf(stack.device_maps["metallic"])
    stack.device_maps["metallic"].fill_(0.25)
    assert np.all(np.asarray(view) == 0.25)
    wp.synchronize()


def test_zero_copy_renders_the_same_bytes_as_the_host_copy(tmp_path, monkeypatch):
    shared = []
    original = device_textures.stack_tensors

    def counting(mi, stack):
        shared.append(stack.device_maps is not None)
        return original(mi, stack)

    monkeypatch.setattr("wearforge.render.mitsuba_backend.stack_tensors", counting)
    for zero_copy in (False, True):
        monkeypatch.setattr(frame, "zero_copy_usable", lambda variant, device, z=zero_copy: z)
        (tmp_path / str(zero_copy)).mkdir()
        data = tiny(tmp_path / f"out-{zero_copy}", frames=4, shard_frames=4)
        generate(load_recipe(write(tmp_path / str(zero_copy) / "tiny.yaml", data)))
    same_tree(tmp_path / "out-False", tmp_path / "out-True")
    # frames after the first update the scene's textures: by copy in the first run, shared in the second
    assert shared.count(False) >= 3 and shared.count(True) >= 3
