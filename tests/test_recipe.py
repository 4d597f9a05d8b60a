"""Every class of recipe error gets one message naming the file and the field, and exit status 2."""

import subprocess
import sys

import pytest

from wearforge.errors import InputError
from wearforge.recipe import apply_overrides, load_recipe
from wearforge.stage import read_scene

from conftest import DEMO


def load_and_check(path, overrides=None):
    recipe = load_recipe(path, overrides)
    read_scene(recipe)
    return recipe


def test_demo_recipe_is_valid():
    recipe = load_and_check(DEMO)
    assert recipe.frames >= 16 and recipe.name == "demo"


@pytest.mark.parametrize("patch, field, expected", [
    ({"bogus": 1}, "bogus", "unknown key"),
    ({"camera": {"focal_length": "long"}}, "camera.focal_length", "valid number"),
    ({"frames": -3}, "frames", "greater than or equal to 1"),
    ({"seed": -1}, "seed", "greater than or equal to 0"),
    ({"render": {"resolution": [0, 10]}}, "render.resolution", "1..16384"),
    ({"randomizers": {"camera": {"roll": {"uniform": [5, -5]}}}}, "randomizers.camera.roll", "must not exceed"),
    ({"randomizers": {"lights": [{"light": "/World/Lights/Key", "intensity": [1, 2]}]}},
     "randomizers.lights.0.intensity", "a number"),
    ({"randomizers": {"physics": [{"mass": 1, "density": 2}]}}, "randomizers.physics.0", "exclusive"),
    ({"output": {"writers": ["parquet"]}}, "output.writers.0", "'basic'"),
    ({"randomizers": {"wear": [{"layers": [{"type": "mould"}]}]}}, "randomizers.wear.0.layers.0.type", "rust"),
])
def test_schema_errors_name_file_and_field(write_recipe, cell_recipe, patch, field, expected):
    from wearforge.recipe import deep_merge

    path = write_recipe(deep_merge(cell_recipe, patch))
    with pytest.raises(InputError) as info:
        load_recipe(path)
    text = str(info.value)
    assert str(path) in text and f"'{field}'" in text and expected in text


def test_missing_usd_file(write_recipe, cell_recipe):
    cell_recipe["scene"]["usd"] = "no/such/twin.usda"
    with pytest.raises(InputError, match=r"scene.usd.*USD file not found"):
        load_recipe(write_recipe(cell_recipe))


def test_missing_recipe_and_bad_yaml(tmp_path):
    with pytest.raises(InputError, match="recipe file not found"):
        load_recipe(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("scene: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML at line"):
        load_recipe(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(InputError, match="mapping of sections"):
        load_recipe(listy)


@pytest.mark.parametrize("patch, field", [
    ({"scene": {"parts": [{"path": "/World/Nothing"}]}}, "scene.parts.0.path"),
    ({"scene": {"support": "/World/NoTable"}}, "scene.support"),
    ({"camera": {"prim": "/World/Lights/Key"}}, "camera.prim"),
    ({"randomizers": {"materials": [{"parts": "class:valve"}]}}, "randomizers.materials.0.parts"),
    ({"randomizers": {"lights": [{"light": "/World/Lights/Nope"}]}}, "randomizers.lights.0.light"),
])
def test_prim_paths_must_exist_in_the_stage(write_recipe, cell_recipe, patch, field):
    from wearforge.recipe import deep_merge

    recipe = load_recipe(write_recipe(deep_merge(cell_recipe, patch)))
    with pytest.raises(InputError) as info:
        read_scene(recipe)
    assert f"'{field}'" in str(info.value)


def test_extends_merges_and_keeps_each_files_relative_paths(tmp_path, cell_recipe):
    import yaml

    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "base.yaml").write_text(yaml.safe_dump({**cell_recipe, "frames": 5}))
    child = tmp_path / "child.yaml"
    child.write_text(yaml.safe_dump({"extends": "base/base.yaml", "render": {"spp": 9}}))
    recipe = load_recipe(child)
    assert recipe.frames == 5 and recipe.render.spp == 9 and recipe.render.resolution == (64, 48)
    assert recipe.name == "child"


def test_extends_cycle_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(InputError, match="cycle"):
        load_recipe(tmp_path / "a.yaml")


def test_overrides_set_nested_values_and_list_items(write_recipe, cell_recipe):
    cell_recipe["lights"] = [{"name": "key", "type": "sphere", "intensity": 5}]
    path = write_recipe(cell_recipe)
    recipe = load_recipe(path, ["render.spp=3", "lights.0.intensity=7.5", "randomizers.camera.roll={uniform: [-1, 1]}"])
    assert recipe.render.spp == 3 and recipe.lights[0].intensity == 7.5
    assert recipe.randomizers.camera.roll.kind == "uniform"
    with pytest.raises(InputError, match="--set.*no item '3'"):
        load_recipe(path, ["lights.3.intensity=1"])
    with pytest.raises(InputError, match="KEY=VALUE"):
        apply_overrides({}, ["render.spp"])
    with pytest.raises(InputError, match="field 'render.sp'"):
        load_recipe(path, ["render.sp=4"])


@pytest.mark.parametrize("args, expected", [
    (["validate", "{bad}"], "field 'frames'"),
    (["generate", "{missing}"], "recipe file not found"),
    (["sample", "{bad}", "--frame", "0"], "field 'frames'"),
    (["generate", "{good}", "--set", "camera.prim=/World/Nope"], "camera.prim"),
    (["generate", "{good}", "--out", "/proc/forbidden/out"], "output.dir"),
    (["generate", "{good}", "--frames", "many"], "Invalid value for '--frames'"),
    (["frobnicate"], "No such command"),
])
def test_cli_reports_bad_input_with_status_2_and_no_traceback(tmp_path, write_recipe, cell_recipe, args, expected):
    good = write_recipe(cell_recipe, "good")
    bad = write_recipe({**cell_recipe, "frames": 0}, "bad")
    values = {"bad": bad, "good": good, "missing": tmp_path / "missing.yaml"}
    argv = [a.format(**values) for a in args]
    proc = subprocess.run([sys.executable, "-m", "wearforge", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
