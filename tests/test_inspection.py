"""Inspection-station presets: optics, lighting types, sensor models, defect sizes in pixels."""

from pathlib import Path

import numpy as np
import pytest

from wearforge.inspection import LIGHTING, camera, lighting, pixels_to_mm
from wearforge.recipe import load_recipe, validate_recipe

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "inspection_station.yaml"


def test_macro_and_telecentric_cameras_see_the_requested_field():
    for optics in ("macro", "telecentric"):
        cam = camera([0, 0, 0], [0, 0, 1], field_of_view_mm=30.0, working_distance_mm=90.0, optics=optics)
        distance_mm = np.linalg.norm(cam["position"]) * 1000
        field = distance_mm * cam["horizontal_aperture"] / cam["focal_length"]
        assert field == pytest.approx(30.0)
        assert distance_mm == pytest.approx(90.0 if optics == "macro" else 600.0)
    with pytest.raises(ValueError, match="optics"):
        camera([0, 0, 0], [0, 0, 1], 30.0, optics="fisheye")


@pytest.mark.parametrize("kind", LIGHTING)
def test_every_lighting_type_validates_and_has_its_geometry(kind):
    cam = camera([0, 0, 0], [0, 0, 1], 30.0)
    lights = lighting(kind, cam)
    recipe = validate_recipe({"scene": {"usd": "asset:bracket"}, "camera": cam, "lights": lights})
    assert len(recipe.lights) == len(lights) > 0
    t = np.zeros(3)
    elev = [np.degrees(np.arcsin((np.array(lt.position) - t)[2] / np.linalg.norm(np.array(lt.position) - t)))
            for lt in recipe.lights if lt.type != "dome"]
    if kind == "darkfield":
        assert all(5 < e < 15 for e in elev)  # low-angle bars
    if kind == "backlight":
        assert all(e < 0 for e in elev)  # behind the part
    if kind in ("ring", "coaxial"):
        assert all(e > 60 for e in elev)  # around / on the optical axis


def test_station_recipe_fills_camera_lights_mono_sensor_and_pixel_sizes():
    recipe = load_recipe(RECIPE)
    assert recipe.camera.focal_length == pytest.approx(8.45 * 100 / 40)
    names = {lt.name for lt in recipe.lights}
    assert "bar" in names and any(n.startswith("ring_") for n in names)
    sensor = recipe.randomizers.sensor
    assert sensor.mono and sensor.full_well.model_dump()["value"] > 1000
    scratches = recipe.randomizers.wear[0].layers[0]
    mm_per_px = 40.0 / 640
    assert pixels_to_mm(20, 40.0, 640) == pytest.approx(20 * mm_per_px)
    assert "length" in scratches.params and "length_px" not in scratches.params
    # "scratches 20-200 px long" became 1.25-12.5 mm on the part at this station's scale
    length = scratches.params["length"].model_dump()
    assert (length["lower"], length["upper"]) == pytest.approx((20 * mm_per_px, 200 * mm_per_px))


def test_mono_sensor_writes_grey_pixels():
    from wearforge.framespec import SensorSpec
    from wearforge.sensor import apply_sensor

    rgb = np.random.default_rng(0).uniform(0, 1, (8, 8, 3)).astype(np.float32)
    out = apply_sensor(rgb, SensorSpec(mono=True, full_well=5000, read_noise=0.001, seed=3))
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    colour = apply_sensor(rgb, SensorSpec(seed=3))
    assert not np.array_equal(colour[..., 0], colour[..., 1])


def test_a_bad_station_is_a_clear_input_error(tmp_path):
    from wearforge.errors import InputError

    path = tmp_path / "bad.yaml"
    path.write_text("scene: {usd: asset:bracket}\nstation: {optics: fisheye}\n")
    with pytest.raises(InputError, match="station.*fisheye"):
        load_recipe(path)


def test_station_recipe_targets_the_rare_defect_classes_it_draws():
    """Class balance: each target names a wear layer the recipe draws (a misspelt class would stay short
    forever) and one of the rare ones; generate may render extra frames for them."""
    recipe = load_recipe(RECIPE)
    drawn = {layer.type: layer.probability for entry in recipe.randomizers.wear for layer in entry.layers}
    targets = recipe.targets.instances
    assert {t.cls for t in targets} == {"oil", "dents", "rust"}
    for t in targets:
        assert drawn[t.cls] <= 0.3 and t.pixels[0] >= 16, t.cls
    assert recipe.targets.frame_budget >= 2 * recipe.frames
