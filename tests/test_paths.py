"""Paths from recipes: bundled assets stay bundled, NUL and empty paths are clear errors, overwrite
removes only what wearforge wrote, files get the user's umask, corrupt leftovers are reported."""

import json
import os

import pytest
import yaml

from wearforge.errors import InputError
from wearforge.recipe import load_recipe

from test_malformed_usd import run_cli


@pytest.mark.parametrize("field,value", [
    ("scene.usd", "asset:../../etc/passwd"),
    ("scene.usd", "asset:/etc/hosts"),
    ("scene.usd", "asset:hdri/../../../README"),
    ("lights.0.texture", "asset:../pyproject.toml"),
])
def test_asset_names_cannot_leave_the_assets_folder(write_recipe, cell_recipe, field, value):
    data = {**cell_recipe, "lights": [{"name": "Dome", "type": "dome", "intensity": 1.0}]}
    with pytest.raises(InputError, match="leaves the bundled assets folder") as info:
        load_recipe(write_recipe(data), [f"{field}={json.dumps(value)}"])
    assert field in str(info.value)


@pytest.mark.parametrize("value", ["out/a\x00b", "", "   "])
def test_nul_and_empty_output_paths_are_clear_errors(write_recipe, cell_recipe, capsys, value):
    recipe = write_recipe({**cell_recipe, "output": {"dir": value}})
    code, err = run_cli(["validate", str(recipe)], capsys)
    assert code == 2 and "Traceback" not in err
    assert "output.dir" in err and ("NUL" in err or "empty" in err), err


def test_nul_in_the_recipe_path_is_a_clear_error(capsys):
    code, err = run_cli(["validate", "recipes/demo\x00.yaml"], capsys)
    assert code == 2 and ("NUL" in err or "null byte" in err) and "Traceback" not in err


@pytest.mark.slow
def test_overwrite_removes_only_what_manifests_say_wearforge_wrote(write_recipe, cell_recipe, tmp_path, capsys):
    out = tmp_path / "ds"
    data = {**cell_recipe, "frames": 1, "render": {"resolution": [16, 12], "spp": 1},
            "output": {"dir": str(out), "writers": ["basic", "coco"], "contact_sheet": 0}}
    code, err = run_cli(["generate", str(write_recipe(data))], capsys)
    assert code == 0, err
    # the user's own files next to wearforge's: same names as derived outputs, in folders no manifest claims
    (out / "yolo").mkdir()
    user_files = [out / "instances.json", out / "data.yaml", out / "yolo" / "data.yaml", out / "shard-000000.tar"]
    for path in user_files:
        path.write_text("mine")
    os.umask(0o022)
    code, err = run_cli(["generate", str(write_recipe({**data, "seed": 99}, "other")), "--overwrite"], capsys)
    assert code == 0, err
    assert all(p.read_text() == "mine" for p in user_files)
    assert json.loads((out / "coco" / "manifest.json").read_text())["seed"] == 99
    for path in [out / "rgb_0000.png", out / "coco" / "instances.json", out / "manifest.json"]:
        assert path.stat().st_mode & 0o777 == 0o644, path  # the user's umask, not mkstemp's 0600


@pytest.mark.slow
@pytest.mark.parametrize("writer,name,content", [("coco", "instances.json", "{not json"),
                                                 ("yolo", "data.yaml", "names: [unclosed")])
def test_corrupt_derived_file_is_reported_not_a_traceback(write_recipe, cell_recipe, tmp_path, capsys, writer, name,
                                                          content):
    out = tmp_path / "ds"
    (out / writer).mkdir(parents=True)
    (out / writer / name).write_text(content)
    data = {**cell_recipe, "frames": 1, "render": {"resolution": [16, 12], "spp": 1},
            "output": {"dir": str(out), "writers": [writer], "contact_sheet": 0}}
    code, err = run_cli(["generate", str(write_recipe(data))], capsys)
    assert code == 2 and "Traceback" not in err and "output.dir" in err, err
