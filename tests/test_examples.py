"""The example recipes run end to end (tiny renders), and the full one records every randomizer's draws."""

import json

import pytest

from wearforge.framespec import FrameSpec
from wearforge.generate import generate
from wearforge.recipe import load_recipe

from conftest import ROOT

TINY = ["render.resolution=[40, 30]", "render.spp=2", "output.contact_sheet=1"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["demo", "lighting_sweep", "bin_picking", "full_randomization"])
def test_example_recipe_generates(tmp_path, name):
    overrides = [*TINY, "frames=2", f"output.dir={tmp_path / name}"]
    recipe = load_recipe(ROOT / "recipes" / f"{name}.yaml", overrides)
    result = generate(recipe)
    assert result.frames == 2 and (tmp_path / name / "contact_sheet.png").is_file()
    assert (tmp_path / name / "rgb_0001.png").is_file()


@pytest.mark.slow
def test_full_randomization_records_every_randomizer(tmp_path):
    recipe = load_recipe(ROOT / "recipes" / "full_randomization.yaml",
                         [*TINY, "frames=3", f"output.dir={tmp_path / 'full'}"])
    generate(recipe)
    for folder in ("coco", "yolo", "webdataset"):
        assert json.loads((tmp_path / "full" / folder / "manifest.json").read_text())["frames"] == [0, 1, 2]
    specs = [FrameSpec.model_validate(json.loads((tmp_path / "full" / f"frame_spec_{i:04d}.json").read_text()))
             for i in range(3)]
    for spec in specs:
        assert spec.settled
        shown = [p for p in spec.parts if p.visible]
        assert all(p.drop_pose is not None and p.pose.position and p.physics.static_friction for p in shown)
        gear = next(p for p in spec.parts if p.semantic_class == "gear")
        assert gear.material.preset and gear.material.roughness is not None
        assert any(light.create == "dome" and light.texture for light in spec.lights)
        key = next(light for light in spec.lights if light.path == "/World/Lights/Key")
        assert key.intensity is not None and key.color_temperature is not None
        cam = spec.camera
        assert cam.f_stop >= 4 and cam.focus_distance > 0 and cam.focal_length in (20, 24, 28)
        s = spec.sensor
        assert s.full_well and s.distortion and s.jpeg_quality and s.defocus_blur is not None
        assert any(p.semantic_class == "distractor" for p in spec.parts)
    # the draws differ between frames
    assert len({json.dumps(s.camera.model_dump()) for s in specs}) == 3
