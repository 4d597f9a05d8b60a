"""Recipe targets: generate renders extra frames chosen for the unmet targets, deterministically; report measures them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from wearforge.errors import InputError
from wearforge.recipe import Target, load_recipe
from wearforge.report.instances import Instance
from wearforge.targets import TargetCounter, counts

ROOT = Path(__file__).resolve().parent.parent
FAST = ["render.resolution=[48,36]", "render.spp=2", "output.contact_sheet=0", "labels.visibility=false",
        "labels.min_instance_pixels=1",
        *(f"randomizers.wear.{i}.resolution=64" for i in range(4))]


def targets_recipe(tmp_path: Path) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({
        "extends": str(ROOT / "recipes" / "demo.yaml"),
        # pitting appears on 40 % of pipe spools; the first 4 frames have none
        "targets": {"frame_budget": 6, "candidates": 8,
                    "instances": [{"class": "pitting", "count": 100}, {"class": "pipe_spool", "count": 4}]}}))
    return path


def run(recipe: Path, out: Path):
    from wearforge.generate import generate

    return generate(load_recipe(recipe, [*FAST, "frames=4", f"output.dir={json.dumps(str(out))}"]))


@pytest.mark.slow
def test_generate_oversamples_until_targets_are_met_deterministically(tmp_path):
    recipe = targets_recipe(tmp_path)
    first = run(recipe, tmp_path / "a")
    frames = json.loads((tmp_path / "a" / "manifest.json").read_text())["frames"]
    extra = [f for f in frames if f >= 4]
    assert first.targets and all(t["met"] for t in first.targets), first.targets
    assert 1 <= len(extra) <= 6
    # every extra frame was picked because its FrameSpec carries pitting on the pipe spool
    for f in extra:
        spec = json.loads((tmp_path / "a" / f"frame_spec_{f:04d}.json").read_text())
        assert any(layer["type"] == "pitting" for p in spec["parts"] for layer in p["wear"]["layers"])
    # the same recipe and seed give the same dataset, file for file
    run(recipe, tmp_path / "b")
    for name in sorted(p.name for p in (tmp_path / "a").glob("*_00*.*")):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # resuming counts what is on disk and renders nothing more
    again = run(recipe, tmp_path / "a")
    assert again.frames == 0 and again.targets == first.targets
    # the report measures the same targets
    from wearforge.report import Options, build_report

    rep = build_report(tmp_path / "a", tmp_path / "rep", Options(recipe=recipe, overrides=FAST, reference_frames=50))
    assert rep["targets"] == first.targets and rep["scores"]["intentionality"]["met"] == 2


def test_counting_rules():
    t = Target.model_validate({"class": "rust", "count": 2, "pixels": [4, 100], "mm2": [10, 1000], "min_visibility": 0.5})
    ok = Instance("defect", "rust", 20, 50.0, 0.9)
    assert counts(t, ok)
    assert not counts(t, Instance("defect", "dirt", 20, 50.0, 0.9))
    assert not counts(t, Instance("defect", "rust", 2, 50.0, 0.9))  # too few pixels
    assert not counts(t, Instance("defect", "rust", 20, 5000.0, 0.9))  # too large in mm²
    assert not counts(t, Instance("defect", "rust", 20, None, 0.9))  # no area measured
    assert not counts(t, Instance("defect", "rust", 20, 50.0, 0.3))  # mostly ignored
    c = TargetCounter([t])
    c.add([ok, ok, ok])
    assert c.met() and c.summary()[0]["achieved"] == 3 and c.shortfall() == [0]


def test_bad_targets_name_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"extends": str(ROOT / "recipes" / "demo.yaml"),
                                    "targets": {"instances": [{"class": "rust", "count": 0}]}}))
    with pytest.raises(InputError, match=r"targets\.instances\.0\.count"):
        load_recipe(path)
