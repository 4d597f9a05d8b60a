"""Sensor effects: distortion warps rgb and labels together; photometric effects leave labels alone."""

import numpy as np
import pytest

from wearforge.framespec import SensorSpec
from wearforge.recipe import load_recipe
from wearforge.render.frame import StandaloneRenderer
from wearforge.scenario import sample_frame
from wearforge.sensor import apply_sensor, disk_kernel, line_kernel
from wearforge.stage import open_stage

from conftest import make_cube_twin


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    return make_cube_twin(tmp_path_factory.mktemp("sensor") / "cube.usda", rotate=(15, 5, 30))


def render(write_recipe, twin, sensor, name):
    recipe = load_recipe(write_recipe({
        "scene": {"usd": str(twin)},
        "camera": {"position": [2.6, -2.1, 1.7], "look_at": [-0.9, -1.2, 0.9], "focal_length": 16},
        "lights": [{"name": "key", "type": "sphere", "intensity": 300, "radius": 0.3, "position": [3.2, -2.2, 2.3]}],
        "randomizers": {"sensor": sensor}, "render": {"resolution": [160, 120], "spp": 16}}, name))
    return StandaloneRenderer(open_stage(twin)).render(sample_frame(recipe, None, 0))


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_lens_distortion_keeps_masks_on_the_object(write_recipe, cube):
    plain = render(write_recipe, cube, {}, "plain")
    warped = render(write_recipe, cube, {"k1": -0.35, "k2": 0.08, "p1": 0.01}, "warped")
    lit = {}
    for name, data in (("plain", plain), ("warped", warped)):
        mask = data["instance_segmentation"]["data"] >= 2
        lum = data["rgb"]["data"][..., :3].mean(-1)
        background = np.median(lum[~mask & (lum > 5)])  # the dome, not the black border of a distorted frame
        lit[name] = (lum > background + 0.5 * (np.percentile(lum[mask], 90) - background), mask)
        depth = data["distance_to_camera"]["data"]
        assert np.all((depth > 0) == (data["instance_segmentation"]["data"] != 0))

    def inside(bright, mask):  # share of clearly lit object pixels that the mask covers
        return (bright & mask).sum() / bright.sum()

    assert inside(*lit["plain"]) > 0.97 and inside(*lit["warped"]) > 0.97
    # control: swap the masks and the images no longer match (barrel distortion pulls the cube inwards,
    # so the undistorted image sticks out of the distorted mask): the labels did move with the image
    assert min(inside(lit["warped"][0], lit["plain"][1]), inside(lit["plain"][0], lit["warped"][1])) < 0.9
    box = warped["bounding_box_2d_tight"]["data"][0]
    ys, xs = np.nonzero(warped["instance_segmentation"]["data"] >= 2)
    assert (box["x_min"], box["y_min"], box["x_max"], box["y_max"]) == (xs.min(), ys.min(), xs.max(), ys.max())


def test_photometric_effects_change_pixels_not_labels(write_recipe, cube):
    plain = render(write_recipe, cube, {}, "plain2")
    effects = render(write_recipe, cube, {"defocus_blur": 2.5, "motion_blur": 6, "motion_angle": 30,
                                          "chromatic_aberration": 0.01, "vignetting": 0.4, "read_noise": 0.01,
                                          "full_well": 2000, "jpeg_quality": 60}, "effects")
    for key in ("instance_segmentation", "semantic_segmentation", "distance_to_camera", "bounding_box_2d_tight"):
        assert np.array_equal(plain[key]["data"], effects[key]["data"]), key
    assert np.abs(plain["rgb"]["data"].astype(int) - effects["rgb"]["data"].astype(int)).mean() > 2


def test_blur_kernels_and_noise_are_well_formed():
    for r in (0.6, 2.0, 5.5):
        k = disk_kernel(r)
        assert k.sum() == pytest.approx(1.0, abs=1e-6) and k[k.shape[0] // 2, k.shape[1] // 2] == k.max()
    k = line_kernel(9, 0)
    assert k.sum() == pytest.approx(1.0, abs=1e-6) and np.count_nonzero(k.sum(axis=1) > 1e-3) <= 2
    flat = np.full((32, 32, 3), 0.25, np.float32)
    a = apply_sensor(flat, SensorSpec(full_well=500, read_noise=0.01, seed=3))
    b = apply_sensor(flat, SensorSpec(full_well=500, read_noise=0.01, seed=3))
    c = apply_sensor(flat, SensorSpec(full_well=500, read_noise=0.01, seed=4))
    assert np.array_equal(a, b) and not np.array_equal(a, c) and a[..., :3].std() > 1
