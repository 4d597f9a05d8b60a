"""Scratches and machined finishes glint with their groove direction (anisotropic specular along the stack's
``tangent`` map), and renders without wear drop that anisotropy."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from wearforge.twin_materials import MaterialState
from wearforge.twin_reader import CameraState, FrameState, LightState, MeshGeometry
from wearforge.wear.stack import WearStack

RES = 16  # stack texels
ALONG_S, ALONG_T = (1.0, 0.5, 0.5), (0.5, 1.0, 0.5)  # encoded groove directions in the normal map's frame
METAL = MaterialState(base_color=(0.8, 0.8, 0.8), metallic=1.0, roughness=0.3)


def plate() -> MeshGeometry:
    points = np.float32([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    return MeshGeometry(key="plate", prim_path="/Plate", label_path=None, semantic_class=None, points=points,
                        faces=np.uint32([[0, 1, 2], [0, 2, 3]]), normals=np.tile(np.float32([0, 0, 1]), (4, 1)),
                        uvs=points[:, :2].copy())


def stack(anisotropy: float) -> WearStack:
    """Grooves along s where (s - 0.5)(t - 0.5) > 0 (checker A), along t in the other two quarters (checker B).

    Each checker has a quarter on either side of any line through the plate's centre, so a light at either
    azimuth sees both alike when the material is isotropic.
    """
    tangent = np.empty((RES, RES, 3), np.float32)
    half = RES // 2
    tangent[:half, :half] = tangent[half:, half:] = ALONG_T  # row 0 is t = 1
    tangent[:half, half:] = tangent[half:, :half] = ALONG_S
    zeros = np.zeros((RES, RES), np.float32)
    return WearStack(base_color=np.full((RES, RES, 3), 0.8, np.float32), roughness=zeros + 0.3, metallic=zeros + 1.0,
                     normal=np.broadcast_to(np.float32([0.5, 0.5, 1.0]), (RES, RES, 3)).copy(), height=zeros,
                     defect_class=np.zeros((RES, RES), np.uint8), defect_instance=np.zeros((RES, RES), np.uint32),
                     cover=np.ones((RES, RES), np.int32), anisotropy=zeros + anisotropy, tangent=tangent)


def state(light_azimuth_deg: float) -> FrameState:
    """The plate seen from straight above; a small light 12 degrees above it at the given azimuth."""
    a, el = np.radians(light_azimuth_deg), np.radians(12.0)
    light = np.eye(4)
    light[:3, 3] = np.array([0.5, 0.5, 0.0]) + 4.0 * np.array([np.cos(a) * np.cos(el), np.sin(a) * np.cos(el),
                                                               np.sin(el)])
    camera = np.eye(4)
    camera[:3, 3] = (0.5, 0.5, 1.6)
    return FrameState(matrices=[np.eye(4)], visible=[True], materials=[METAL],
                      lights=[LightState(key="light", path="/Light", type="sphere", matrix=light,
                                         radiance=(400.0, 400.0, 400.0), radius=0.1)],
                      camera=CameraState(path="/Camera", matrix=camera, focal_length=35.0, horizontal_aperture=24.0,
                                         vertical_aperture=18.0, near=0.01, far=100.0, f_stop=0.0,
                                         focus_distance=0.0, meters_per_unit=1.0))


@pytest.fixture(scope="module")
def backend():
    from wearforge.render.mitsuba_backend import MitsubaBackend

    b = MitsubaBackend([plate()], max_depth=2)
    if not b.grooves:
        pytest.skip(f"the {b.variant} variant renders grooves isotropically (tests/test_grooves.py scalar test)")
    return b


def halves(backend, image: np.ndarray) -> tuple[float, float]:
    """Mean radiance of checker A (grooves along s) and of checker B (along t), away from their borders."""
    labels = backend.label_pass((64, 48))
    s, t = labels.uv[..., 0] - 0.5, labels.uv[..., 1] - 0.5
    inside = (labels.mesh == 0) & (np.abs(s) > 0.08) & (np.abs(t) > 0.08)
    a = inside & (s * t > 0)  # (s > 0.5, t > 0.5) and (s < 0.5, t < 0.5)
    b = inside & (s * t < 0)
    return float(image[a].mean()), float(image[b].mean())


def render(backend, anisotropy: float, azimuth: float) -> tuple[float, float]:
    backend.prepare(state(azimuth), (64, 48), {0: stack(anisotropy)})
    return halves(backend, backend.render_beauty(16, 1))


def test_grooves_glint_across_the_light_and_swap_with_its_azimuth(backend):
    # light along x: grooves along t stand across it and glint, those along s stay dark
    along_s, along_t = render(backend, 1.0, 0.0)
    assert along_t > 5.0 * along_s
    along_s, along_t = render(backend, 1.0, 90.0)
    assert along_s > 5.0 * along_t
    # without anisotropy the direction map changes nothing
    for azimuth in (0.0, 90.0):
        along_s, along_t = render(backend, 0.0, azimuth)
        assert abs(along_s - along_t) < 0.1 * max(along_s, along_t)


def test_render_without_wear_drops_the_anisotropy(backend):
    backend.prepare(state(0.0), (64, 48), {0: stack(1.0)})
    worn = backend.render_beauty(16, 1)
    clean = backend.render_without_wear({0: stack(1.0)}, {0: (METAL.base_color, METAL.roughness, METAL.metallic)},
                                        16, [1])[0]
    along_s, along_t = halves(backend, clean)
    assert abs(along_s - along_t) < 0.1 * max(along_s, along_t)
    assert np.allclose(clean, render_isotropic(backend), atol=1e-5)
    assert np.array_equal(backend.render_beauty(16, 1), worn)  # the grooves are back in place


def test_a_finished_surface_stays_finished_without_wear(backend):
    """A brushed finish is the clean part, not wear: the frame "without wear" of a stack that carries only its
    finish is the frame itself, so visibility tests see no change anywhere on it."""
    finished = stack(1.0)
    finished.clean_maps = {"base_color": finished.base_color, "roughness": finished.roughness,
                           "metallic": finished.metallic, "normal": finished.normal,
                           "anisotropy": finished.anisotropy, "tangent": finished.tangent}
    backend.prepare(state(0.0), (64, 48), {0: finished})
    worn = backend.render_beauty(16, 1)
    clean = backend.render_without_wear({0: finished}, {0: (METAL.base_color, METAL.roughness, METAL.metallic)},
                                        16, [1])[0]
    assert np.allclose(clean, worn, atol=1e-6)


def test_a_stack_keeps_its_finish_for_the_frame_without_wear():
    """build_stack returns the finished clean maps (before any defect) alongside the worn ones."""
    from wearforge.wear import CleanMaterial, LayerSpec, bake, build_stack
    from wearforge.recipe import ASSETS_DIR

    sys.path.insert(0, str(ASSETS_DIR))
    import build_assets

    m = build_assets.pipe_spool()
    b = bake(m.points, m.triangles(), m.normals, m.uvs, 128, occlusion_resolution=64, rays=8)
    steel = CleanMaterial((0.56, 0.57, 0.58), 1.0, 0.3, finish="brushed")
    plain = build_stack(b, steel, [])
    worn = build_stack(b, steel, [LayerSpec("rust", 1, {"coverage": 0.5})])
    assert plain.clean_maps is not None and worn.clean_maps is not None
    for name, value in (("base_color", plain.base_color), ("roughness", plain.roughness), ("normal", plain.normal),
                        ("anisotropy", plain.anisotropy), ("tangent", plain.tangent)):
        assert np.allclose(worn.clean_maps[name], value, atol=1e-6), name
    assert plain.anisotropy.max() > 0.1  # the brushed finish is anisotropic
    assert not np.allclose(worn.base_color, plain.base_color)
    assert build_stack(b, CleanMaterial((0.56, 0.57, 0.58), 1.0, 0.3), []).clean_maps is None


def render_isotropic(backend) -> np.ndarray:
    backend.prepare(state(0.0), (64, 48), {0: stack(0.0)})
    image = backend.render_beauty(16, 1)
    backend.prepare(state(0.0), (64, 48), {0: stack(1.0)})
    return image


def test_principled_rough_axis_runs_across_the_groove():
    """The rotation's convention, on the BSDF alone: a groove along x spreads reflections along y."""
    from wearforge.render import tangent_frame
    from wearforge.render.mitsuba_backend import mitsuba

    mi = mitsuba()
    if not tangent_frame.jit_variant(mi.variant()):
        pytest.skip("the groove frame is used in JIT variants only")
    import drjit as dr

    tangent_frame.register(mi)
    principled = {"type": "principled", "base_color": {"type": "rgb", "value": [0.8, 0.8, 0.8]}, "metallic": 1.0,
                  "roughness": 0.3, "anisotropic": 1.0}
    along_x = {"type": "rgb", "value": list(ALONG_S)}
    bsdf = mi.load_dict(tangent_frame.grooved_bsdf(principled, along_x))
    si = dr.zeros(mi.SurfaceInteraction3f)
    si.sh_frame = mi.Frame3f(mi.Vector3f(0, 0, 1))
    si.wi = mi.Vector3f(0, 0, 1)
    tilt = np.radians(10.0)

    def value(wo):
        return float(np.asarray(bsdf.eval(mi.BSDFContext(), si, mi.Vector3f(*map(float, wo))))[0].ravel()[0])

    across = value((0.0, np.sin(tilt), np.cos(tilt)))
    along = value((np.sin(tilt), 0.0, np.cos(tilt)))
    assert across > 20.0 * along


SCALAR = """
import logging, sys
import numpy as np
from tests.test_grooves import plate, render
from wearforge.render.mitsuba_backend import MitsubaBackend

logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(message)s")
backend = MitsubaBackend([plate()], max_depth=2)
along_s, along_t = render(backend, 1.0, 0.0)
print(backend.variant, backend.grooves, along_s, along_t)
"""


def test_scalar_variant_renders_grooves_isotropically_and_says_so():
    env = {**os.environ, "WEARFORGE_MITSUBA_VARIANT": "scalar_rgb"}
    proc = subprocess.run([sys.executable, "-c", SCALAR], env=env, capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, proc.stderr
    assert "renders scratches and machined finishes without their directional glint" in proc.stdout
    variant, grooves, along_s, along_t = proc.stdout.strip().splitlines()[-1].split()
    assert (variant, grooves) == ("scalar_rgb", "False")
    assert abs(float(along_s) - float(along_t)) < 0.1 * max(float(along_s), float(along_t))
