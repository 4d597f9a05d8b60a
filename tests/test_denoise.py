"""render.denoise: Open Image Denoise guided by albedo and normal AOVs cleans the RGB and leaves labels alone."""

import sys

import numpy as np
import pytest

from wearforge.errors import InputError
from wearforge.recipe import load_recipe
from wearforge.render.frame import StandaloneRenderer
from wearforge.scenario import sample_frame
from wearforge.stage import open_twin, read_scene


def test_denoised_frames_are_closer_to_the_reference_and_labels_do_not_change(write_recipe, cell_recipe):
    recipe = load_recipe(write_recipe({**cell_recipe, "render": {"resolution": [64, 48], "spp": 4}}))
    stage = open_twin(recipe)
    spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
    plain, denoised = StandaloneRenderer(stage), StandaloneRenderer(stage, denoise=True)
    noisy, clean = plain.render(spec), denoised.render(spec)
    ref_spec = spec.model_copy(update={"render": spec.render.model_copy(update={"spp": 256, "seed": spec.render.seed + 1})})
    reference = plain.render(ref_spec)["rgb"]["data"][..., :3].astype(float)
    err_noisy = np.mean((noisy["rgb"]["data"][..., :3] - reference) ** 2)
    err_clean = np.mean((clean["rgb"]["data"][..., :3] - reference) ** 2)
    assert err_clean < 0.5 * err_noisy, (err_clean, err_noisy)
    for name in ("instance_segmentation", "semantic_segmentation", "defect_segmentation", "distance_to_camera"):
        assert np.array_equal(noisy[name]["data"], clean[name]["data"]), name
    assert np.array_equal(noisy["bounding_box_2d_tight"]["data"], clean["bounding_box_2d_tight"]["data"])


def test_the_guide_pass_equals_an_aov_integrator_wrapped_around_the_path_tracer(write_recipe, cell_recipe,
                                                                               monkeypatch):
    """The guides' own pass changes no pixel: the denoiser gets what the wrapped integrator gave it."""
    from wearforge.render import denoise as module

    recipe = load_recipe(write_recipe({**cell_recipe, "render": {"resolution": [48, 36], "spp": 4}}))
    stage = open_twin(recipe)
    spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
    renderer = StandaloneRenderer(stage, denoise=True)
    seen = []
    monkeypatch.setattr(module, "denoise", lambda radiance, albedo, normal: seen.append((radiance, albedo, normal))
                        or radiance)
    renderer.render(spec)
    backend = renderer.backend
    mi = backend.mi
    wrapped = mi.load_dict({"type": "aov", "aovs": module.GUIDE_AOVS, "radiance": {
        "type": "path", "max_depth": backend.max_depth, "hide_emitters": False}})
    img = np.asarray(mi.render(backend._scene, integrator=wrapped, spp=spec.render.spp, seed=spec.render.seed))
    (radiance, albedo, normal), = seen
    assert np.array_equal(radiance, img[..., :3]) and np.array_equal(albedo, img[..., 3:6])
    assert np.array_equal(normal, img[..., 6:9]) and albedo.any() and normal.any()


def test_denoise_without_pyoidn_is_one_message(monkeypatch):
    from wearforge.render.denoise import require_oidn

    monkeypatch.setitem(sys.modules, "pyoidn", None)
    with pytest.raises(InputError, match="pip install pyoidn"):
        require_oidn()
