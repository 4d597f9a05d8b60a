"""The malformed inputs a hostile new user tries: each one is an InputError naming the field (exit 2),
never a traceback, a hang, or a run that silently accepts it."""

import time

import pytest
import yaml

from wearforge.errors import InputError
from wearforge.recipe import MAX_EXTENDS, load_recipe

from test_malformed_usd import run_cli

BASE = {"scene": {"usd": "asset:inspection_cell", "support": "/World/Table", "parts": [{"path": "/World/Parts/*"}]},
        "lights": [{"name": "Key", "type": "sphere", "intensity": 10.0}],
        "randomizers": {"materials": [{"parts": "class:gear", "roughness": 0.4}],
                        "lights": [{"light": "Key", "intensity": 5.0}],
                        "poses": [{"parts": "class:gear", "scale": [1, 1, 1]}],
                        "wear": [{"parts": "class:gear", "layers": [{"type": "scratches"}]}]},
        "frames": 1}

# (override, field named in the message)
CASES = [
    ("scene.usd.x=1", "scene.usd"),
    ("scene.parts.0.path=/World/[z-a]", "scene.parts.0.path"),
    ("randomizers.materials.0.preset=chrome_unicorn", "randomizers.materials.0.preset"),
    ("randomizers.lights.1={type: laser}", "randomizers.lights.1"),
    ("randomizers.sensor={read_noise: -0.1}", "randomizers.sensor.read_noise"),
    ("camera.focal_length=.inf", "camera.focal_length"),
    ("randomizers.sensor={exposure: .inf}", "randomizers.sensor.exposure"),
    ("lights.0.color=[.nan, 1, 1]", "lights.0.color"),
    ("randomizers.lights.0.color=[.nan, 1, 1]", "randomizers.lights.0.color"),
    ("randomizers.sensor={defocus_blur: 1e7}", "randomizers.sensor.defocus_blur"),
    ("randomizers.poses.0.scale=[0, 1, 1]", "randomizers.poses.0.scale"),
    ("randomizers.poses.0.scale={uniform: [[-1, 1, 1], [1, 1, 1]]}", "randomizers.poses.0.scale"),
    ("output.dir=\"a\\0b\"", "output.dir"),
    ("randomizers.lights.1={type: sphere, count: 10000000}", "randomizers.lights.1.count"),
    ("randomizers.wear.0.layers.0.params={count: 100000000}", "randomizers.wear.0.layers.0"),
    ("render.exposure=.nan", "render.exposure"),
    ("randomizers.poses.0.position=[.nan, 0, 0]", "randomizers.poses.0.position"),
    ("randomizers.wear.0.layers.0.params={length: .inf}", "randomizers.wear.0.layers.0"),
    ("randomizers.materials.0.roughness=-5", "randomizers.materials.0.roughness"),
    ("randomizers.materials.0.ior=0", "randomizers.materials.0.ior"),
    ("lights.0.intensity=-1", "lights.0.intensity"),
    ("randomizers.sensor={jpeg_quality: 1000}", "randomizers.sensor.jpeg_quality"),
    ("randomizers.physics=[{restitution: 5}]", "randomizers.physics.0.restitution"),
    ("randomizers.materials.0.base_color={normal: [[0.5, 0.5, 0.5], [0.1, 0.1, 0.1]], upper: [2, 2, 2]}",
     "randomizers.materials.0.base_color"),
    ("render.resolution=[16384, 16384]", "render.resolution"),
    ("randomizers.camera={resolution: {choice: [[64, 48], [16384, 16000]]}}", "randomizers.camera"),
    ("output.stream.endpoint=tcp://*:5557", "output.stream"),
    ("scene.usd=asset:../../pyproject.toml", "scene.usd"),
]


@pytest.mark.parametrize("override,field", CASES, ids=[c[0][:40] for c in CASES])
def test_malformed_value_is_refused_naming_the_field(write_recipe, override, field):
    with pytest.raises(InputError) as info:
        load_recipe(write_recipe(BASE), [override])
    message = str(info.value)
    assert f"'{field}" in message or (field == "scene.usd" and "--set" in message), message
    assert "\n" not in message and len(message) < 600, message


def test_a_normal_distribution_on_a_bounded_field_is_clipped_to_its_range(write_recipe):
    r = load_recipe(write_recipe(BASE), ["randomizers.materials.0.roughness={normal: [0.5, 3]}"])
    rough = r.randomizers.materials[0].roughness
    assert (rough.lower, rough.upper) == (0.0, 1.0)


def _timed_validate(path, capsys):
    start = time.monotonic()
    code, err = run_cli(["validate", str(path)], capsys)
    return code, err, time.monotonic() - start


def test_yaml_alias_bomb_is_refused_quickly(tmp_path, capsys):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nscene: {usd: asset:inspection_cell}\n")
    code, err, took = _timed_validate(path, capsys)
    assert code == 2 and "expands to more than" in err and took < 10, err


def test_many_aliases_are_refused(tmp_path, capsys):
    path = tmp_path / "aliases.yaml"
    path.write_text("x: &x 1\nlist: [" + ", ".join(["*x"] * 1000) + "]\n")
    code, err, _ = _timed_validate(path, capsys)
    assert code == 2 and "aliases" in err, err


@pytest.mark.parametrize("text", ["scene: " + "[" * 5000 + "]" * 5000, "scene:\n" + "".join(
    "  " * i + f"k{i}:\n" for i in range(200))])
def test_deep_nesting_is_refused(tmp_path, capsys, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    code, err, _ = _timed_validate(path, capsys)
    assert code == 2 and "nested more than" in err and "Traceback" not in err, err


def test_huge_recipe_file_is_refused(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    path.write_text("scene: {usd: asset:inspection_cell}\n# " + "x" * (2 << 20) + "\n")
    code, err, _ = _timed_validate(path, capsys)
    assert code == 2 and "limited to" in err, err


def test_long_extends_chain_is_refused(tmp_path, capsys):
    (tmp_path / "r0.yaml").write_text(yaml.safe_dump(BASE))
    for i in range(1, MAX_EXTENDS + 5):
        (tmp_path / f"r{i}.yaml").write_text(f"extends: r{i - 1}.yaml\nseed: {i}\n")
    code, err, _ = _timed_validate(tmp_path / f"r{MAX_EXTENDS + 4}.yaml", capsys)
    assert code == 2 and "extends chain longer" in err and "'extends'" in err, err
    code, err, _ = _timed_validate(tmp_path / "r3.yaml", capsys)  # a short chain is fine
    assert code == 0, err


def test_messages_quote_only_a_short_excerpt(write_recipe):
    with pytest.raises(InputError) as info:
        load_recipe(write_recipe({**BASE, "frames": "x" * 100_000}))
    assert len(str(info.value)) < 400
