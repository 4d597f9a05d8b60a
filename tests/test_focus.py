"""Hard-case loop: frames with a property marked hard -> focus recipe -> the new dataset holds more of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wearforge.errors import InputError
from wearforge.focus import apply_focus, hardest, read_scores, write_focus_recipe
from wearforge.recipe import Focus, load_recipe
from wearforge.scenario import sample_frame
from wearforge.seeding import Sampler

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "recipes" / "demo.yaml"
FAST = ["render.resolution=[48,36]", "render.spp=2", "output.contact_sheet=0", "labels.visibility=false",
        "labels.min_instance_pixels=1",
        *(f"randomizers.wear.{i}.resolution=64" for i in range(4))]


def has_dents(spec: dict) -> bool:
    return any(layer["type"] == "dents" for p in spec["parts"] if p["semantic_class"] == "bracket"
               for layer in (p["wear"] or {}).get("layers", []))


def specs(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("frame_spec_*.json"))]


def wearforge(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "wearforge", *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_focus_on_frames_with_dents_raises_their_share(tmp_path):
    base = tmp_path / "base"
    made = wearforge("generate", str(DEMO), "--frames", "12", "--out", str(base), *sum((["--set", s] for s in FAST), []))
    assert made.returncode == 0, made.stderr
    before = specs(base)
    hard = [s["index"] for s in before if has_dents(s)]
    assert 0 < len(hard) < 6  # dents are a rare property here (probability 0.3 on the bracket)
    share_before = len(hard) / len(before)
    run = wearforge("focus", str(base), "--recipe", str(DEMO), "--hard", ",".join(map(str, hard)), "--weight", "0.8",
                    "--frames", "12", "--run", *sum((["--set", s] for s in FAST), []))
    assert run.returncode == 0, run.stderr
    focused = tmp_path / "base_focus"
    after = specs(focused)
    share_after = sum(map(has_dents, after)) / len(after)
    print(f"share of frames with dents: {share_before:.2f} -> {share_after:.2f} ({share_after / share_before:.1f}x)")
    assert share_after >= 2 * share_before and share_after >= 0.6
    # and the labels agree: more frames hold labelled dent instances
    def labelled(folder: Path) -> float:
        files = sorted(folder.glob("defect_instances_labels_*.json"))
        return sum(any(v["class"] == "dents" for v in json.loads(p.read_text()).values()) for p in files) / len(files)
    assert labelled(focused) > labelled(base)
    # its own seed: no frame repeats a hard one, and the focus recipe extends the original
    seeds = {json.dumps(s["render"]["seed"]) for s in before}
    assert not seeds & {json.dumps(s["render"]["seed"]) for s in after}
    text = (base / "focus.yaml").read_text()
    assert "extends:" in text and "demo.yaml" in text
    # the focused dataset's report names the cases it targets
    rep = wearforge("report", str(focused), "--recipe", str(base / "focus.yaml"), *sum((["--set", s] for s in FAST), []))
    assert rep.returncode == 0, rep.stderr
    assert json.loads((focused / "report" / "report.json").read_text())["focus"]["cases"] == hard


def test_low_light_focus_concentrates_sampling_and_is_deterministic(tmp_path):
    """Sampling alone (no rendering): hard = the darkest key light; the mixture knob sets how much."""
    recipe = load_recipe(DEMO)
    key = lambda s: s["lights"][0]["intensity"]  # noqa: E731
    base = [sample_frame(recipe, 7, i).model_dump(mode="json") for i in range(60)]
    cases = [s for s in base if key(s) < 16]
    share = lambda xs: sum(key(s) < 16 for s in xs) / len(xs)  # noqa: E731
    shares = {}
    for weight in (0.0, 0.5, 0.9):
        focused = recipe.model_copy(update={"focus": Focus(weight=weight, width=0.1, cases=cases), "seed": 99})
        drawn = [sample_frame(focused, 99, i).model_dump(mode="json") for i in range(60)]
        shares[weight] = share(drawn)
        again = [sample_frame(focused, 99, i).model_dump(mode="json") for i in range(5)]
        assert again == drawn[:5]
    assert shares[0.0] < shares[0.5] < shares[0.9] and shares[0.9] >= 3 * share(base), (share(base), shares)


def test_apply_focus_shrinks_numbers_towards_the_case_and_keeps_seeds_fresh():
    recipe = load_recipe(DEMO)
    case = sample_frame(recipe, 1, 0).model_dump(mode="json")
    fresh = sample_frame(recipe, 2, 5)
    pulled = apply_focus(fresh, Focus(weight=1.0, width=0.25, cases=[case]), Sampler(2, 5)).model_dump(mode="json")
    f, h = fresh.lights[0].intensity, case["lights"][0]["intensity"]
    assert pulled["lights"][0]["intensity"] == pytest.approx(h + 0.25 * (f - h))
    assert pulled["render"]["seed"] == fresh.render.seed != case["render"]["seed"]
    assert [p["material"]["preset"] for p in pulled["parts"]] == [p["material"]["preset"] for p in case["parts"]]


def test_scores_files_and_bad_input(tmp_path):
    csv_file = tmp_path / "s.csv"
    csv_file.write_text("frame,instance,score\n0,1,0.9\n0,2,0.1\n1,1,0.8\n2,1,0.5\n3,1,0.95\n")
    assert read_scores(csv_file) == {0: 0.1, 1: 0.8, 2: 0.5, 3: 0.95}
    assert hardest(read_scores(csv_file), quantile=0.5) == [0, 2]
    assert hardest(read_scores(csv_file), below=0.6) == [0, 2]
    js = tmp_path / "s.json"
    js.write_text(json.dumps([{"frame": 4, "score": 0.3}, {"frame": 5, "score": 0.7}]))
    assert read_scores(js) == {4: 0.3, 5: 0.7}
    bad = tmp_path / "bad.csv"
    bad.write_text("image,confidence\na,1\n")
    with pytest.raises(InputError, match="columns 'frame' and 'score'"):
        read_scores(bad)
    with pytest.raises(InputError, match="no frame_spec"):
        write_focus_recipe(DEMO, tmp_path, [3], tmp_path / "f.yaml", weight=0.5, width=0.1, frames=None, seed=None,
                           out_dir=None, note="")
    r = wearforge("focus", str(tmp_path), "--recipe", str(DEMO))
    assert r.returncode == 2 and "no hard cases" in r.stderr


def test_uncovered_bins_become_cases_at_the_bin_centre(tmp_path):
    from collections import defaultdict

    from wearforge.focus import uncovered_cases
    from wearforge.report.coverage import compare, flatten_spec, reference_fields

    recipe = load_recipe(DEMO)
    fields = defaultdict(list)
    for i in range(5):
        spec = sample_frame(recipe, 7, i).model_dump(mode="json")
        (tmp_path / f"frame_spec_{i:04d}.json").write_text(json.dumps(spec))
        for k, v in flatten_spec(spec).items():
            fields[k].extend(v)
    rows = compare(fields, reference_fields(recipe, 200))
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.json").write_text(json.dumps({"coverage": {"fields": rows}}))
    cases, notes = uncovered_cases(tmp_path, limit=200)
    assert len(cases) >= 10
    for case, (key, centre) in zip(cases, notes):
        values = flatten_spec(case)[key]
        assert min(abs(v - centre) for v in values) <= 1e-6 * max(1.0, abs(centre)), (key, centre, values)


def test_failure_photos_stand_for_their_nearest_frames(tmp_path):
    import cv2
    import numpy as np

    from wearforge.focus import nearest_frames

    rng = np.random.default_rng(4)
    ds, photos = tmp_path / "ds", tmp_path / "failures"
    ds.mkdir()
    photos.mkdir()
    frames = []
    for i in range(8):  # eight clearly different scenes: colour blocks at random places
        img = np.full((48, 64, 3), rng.integers(0, 255, 3), np.uint8)
        x, y = rng.integers(0, 40), rng.integers(0, 30)
        img[y:y + 18, x:x + 24] = rng.integers(0, 255, 3)
        frames.append(img)
        cv2.imwrite(str(ds / f"rgb_{i:04d}.png"), img)
    for i in (2, 5):  # "photos" of scenes 2 and 5: noisier, slightly brighter
        photo = np.clip(frames[i] * 1.05 + rng.normal(0, 4, frames[i].shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(photos / f"fail_{i}.jpg"), photo)
    assert nearest_frames(ds, photos) == [2, 5]
