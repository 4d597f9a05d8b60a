"""Hostile recipes: mutate a valid recipe (types, ranges, NaN/inf, structure) and check every outcome is
exit 0 with a valid dataset, or exit 2 with a short message naming the field; never a traceback."""

import copy
import json
import math
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_malformed_usd import run_cli

BASE = {
    "scene": {"usd": "asset:inspection_cell", "support": "/World/Table", "parts": [{"path": "/World/Parts/*"}]},
    "camera": {"position": [0.5, -0.9, 1.45], "look_at": [-0.05, 0.0, 0.8], "focal_length": 24},
    "lights": [{"name": "Key", "type": "sphere", "intensity": 20.0, "position": [0.5, -0.5, 1.8]}],
    "randomizers": {
        "camera": {"roll": {"normal": [0, 2]}, "focal_length": {"uniform": [20, 30]}},
        "lights": [{"light": "Key", "intensity": {"uniform": [10, 30]}, "color_temperature": 5000}],
        "poses": [{"parts": "class:gear", "rotation": [0, 0, {"uniform": [0, 360]}], "scale": [1, 1, 1]}],
        "materials": [{"parts": "class:gear", "preset": "painted_blue", "roughness": {"uniform": [0.3, 0.6]}}],
        "physics": [{"parts": "**", "restitution": 0.2}],
        "wear": [{"parts": "class:gear", "resolution": 32, "layers": [
            {"type": "scratches", "probability": 0.5, "params": {"count": 4}}]}],
        "sensor": {"read_noise": 0.004, "jpeg_quality": 90, "defocus_blur": 0.5},
    },
    "render": {"resolution": [16, 12], "spp": 1, "exposure": 0.0},
    "output": {"writers": ["basic"], "contact_sheet": 0},
    "frames": 1,
    "seed": 3,
}

HOSTILE = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -5, 0, -1e308, 1e308, 10**8, 2**70, "", "x" * 300, "\x00",
                     None, True, [], {}, [math.nan, 0, 0], {"uniform": [1, -1]}, {"normal": [0, math.inf]},
                     {"choice": []}, {"uniform": [0, 1e12]}, {"bogus": 1}, "asset:../../etc/passwd",
                     "/World/[z-a]", [[[[[1]]]]], {"choice": [math.nan]}]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10**12, max_value=10**12),
    st.text(max_size=12),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4),
)


def _paths(node, prefix=()):
    """Every key/index path in the recipe (the places a mutation can hit)."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]


@st.composite
def mutated(draw):
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(PATHS))
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "extra"]))
            if action == "replace":
                node[path[-1]] = draw(HOSTILE)
            elif action == "delete" and isinstance(node, dict):
                node.pop(path[-1], None)
            elif isinstance(node, dict):
                node["unexpected_" + str(path[-1])] = draw(HOSTILE)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed or replaced the parent
    return data


def _check(code: int, err: str, command: str) -> None:
    if os.environ.get("WEARFORGE_FUZZ_LOG"):  # tally outcomes for docs/reliability.md
        with open(os.environ["WEARFORGE_FUZZ_LOG"], "a") as log:
            log.write(json.dumps({"command": command, "code": code, "traceback": "Traceback" in err}) + "\n")
    assert "Traceback" not in err, err
    assert code in (0, 2), (command, code, err)
    if code == 2:
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1, err
        assert "field '" in lines[0] or "--set" in lines[0] or ".yaml" in lines[0], err
        assert len(err) < 2000, err


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=mutated())
def test_validate_never_crashes_on_mutated_recipes(data, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("fuzz")
    recipe = folder / "fuzz.yaml"
    data.setdefault("output", {})
    if isinstance(data["output"], dict):
        data["output"]["dir"] = str(folder / "out")
    recipe.write_text(yaml.safe_dump(data, allow_unicode=True))
    code, err = run_cli(["validate", str(recipe)], capsys)
    _check(code, err, "validate")


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=mutated())
def test_generate_gives_a_dataset_or_a_clear_error(data, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("fuzzgen")
    recipe = folder / "fuzz.yaml"
    out = folder / "out"
    if isinstance(data.get("output"), dict):
        data["output"]["dir"] = str(out)
    else:
        data["output"] = {"dir": str(out), "contact_sheet": 0}
    recipe.write_text(yaml.safe_dump(data, allow_unicode=True))
    code, err = run_cli(["generate", str(recipe)], capsys)
    _check(code, err, "generate")
    if code == 0:
        assert sorted(p.name for p in out.glob("rgb_*.png")) == ["rgb_0000.png"], err
        assert (out / "manifest.json").is_file()
