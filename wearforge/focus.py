"""Hard-case loop: turn frames a model fails on into a recipe that draws more frames like them.

Hard cases come from frame indices, from a model's per-frame or per-instance scores (low = hard), or
from real failure photos (their nearest synthetic frames in the report's feature space). The focus
recipe ``extends`` the original and adds a ``focus`` section; sampling then mixes the original
distributions with narrow ones centred on the hard cases (``apply_focus``, documented on
wearforge.recipe.Focus and in docs/quality.md).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from wearforge.errors import InputError
from wearforge.framespec import FrameSpec
from wearforge.recipe import Focus
from wearforge.seeding import Sampler

_FRESH = {"seed", "index", "recipe"}  # always from the new draw: frames never repeat a hard one


def _pull(fresh: Any, hard: Any, width: float, key: str = "") -> Any:
    """hard + width * (fresh - hard) for numbers (elementwise), hard's value for names and flags."""
    if key in _FRESH:
        return fresh
    if isinstance(hard, bool) or isinstance(fresh, bool):
        return hard
    if isinstance(hard, (int, float)) and isinstance(fresh, (int, float)):
        value = hard + width * (fresh - hard)
        return int(round(value)) if isinstance(hard, int) and isinstance(fresh, int) else float(value)
    if isinstance(hard, dict) and isinstance(fresh, dict):
        return {k: _pull(fresh.get(k), v, width, k) if k in fresh else v for k, v in hard.items()}
    if isinstance(hard, list) and isinstance(fresh, list) and len(hard) == len(fresh) and \
            all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in hard + fresh):
        return [_pull(f, h, width) for f, h in zip(fresh, hard)]
    return hard


def _by(items: list[dict], key: str) -> dict[str, dict]:
    return {str(it.get(key)): it for it in items}


def _pull_wear(fresh: dict | None, hard: dict | None, width: float, sampler: Sampler, part: str) -> dict | None:
    """The hard case's defect layers; a layer the fresh draw also has shrinks its parameters, seeds stay fresh."""
    if hard is None:
        return fresh
    fresh_layers = _by((fresh or {}).get("layers") or [], "type")
    layers = []
    for k, layer in enumerate(hard.get("layers") or []):
        mine = fresh_layers.get(layer["type"])
        params = dict(layer.get("params") or {})
        if mine is not None:
            params = {p: _pull(mine["params"].get(p, v), v, width) for p, v in params.items()}
            seed = mine["seed"]
        else:
            seed = sampler.seed_for(f"focus/wear/{part}/{k}")
        layers.append({"type": layer["type"], "seed": seed, "params": params})
    return {"resolution": hard.get("resolution", (fresh or {}).get("resolution")), "layers": layers}


def apply_focus(spec: FrameSpec, focus: Focus, sampler: Sampler) -> FrameSpec:
    """With probability ``focus.weight``, pull a freshly drawn FrameSpec towards one hard case (pure)."""
    if not focus.cases or sampler.rng("focus/pick").uniform() >= focus.weight:
        return spec
    hard = focus.cases[int(sampler.rng("focus/case").integers(len(focus.cases)))]
    fresh = spec.model_dump(mode="json")
    w = focus.width
    out = dict(fresh)
    hard_parts = _by(hard.get("parts") or [], "path")
    parts = []
    for part in fresh["parts"]:
        h = hard_parts.get(part["path"])
        if h is None:
            parts.append(part)
            continue
        merged = {k: _pull(part.get(k), v, w, k) for k, v in h.items() if k != "wear"}
        merged["wear"] = _pull_wear(part.get("wear"), h.get("wear"), w, sampler, part["path"])
        parts.append(merged)
    out["parts"] = parts
    hard_lights = _by(hard.get("lights") or [], "path")
    out["lights"] = [_pull(li, hard_lights[li["path"]], w) if li["path"] in hard_lights else li for li in fresh["lights"]]
    for section in ("camera", "sensor"):
        if isinstance(hard.get(section), dict):
            out[section] = _pull(fresh[section], hard[section], w)
    if isinstance(hard.get("render"), dict) and hard["render"].get("resolution"):
        # quality settings (spp, depth) stay the recipe's; the resolution may be a randomized value
        out["render"] = {**fresh["render"], "resolution": hard["render"]["resolution"]}
    return FrameSpec.model_validate(out)


# ------------------------------------------------------------------------------------------ hard cases
def read_scores(path: Path) -> dict[int, float]:
    """Per-frame scores from CSV (columns frame, score[, instance]) or JSON (list of rows or {frame: score}).

    Several rows of one frame (per-instance scores) give the frame its lowest score.
    """
    if not path.is_file():
        raise InputError(f"scores file not found: {path}", field="--scores")
    rows: list[tuple[Any, Any]] = []
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text())
            if isinstance(data, dict):
                rows = list(data.items())
            elif isinstance(data, list):
                rows = [(r.get("frame"), r.get("score")) for r in data if isinstance(r, dict)]
            else:
                raise InputError("expected a list of {frame, score} or a mapping frame -> score", source=str(path))
        else:
            with path.open(newline="") as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or not {"frame", "score"} <= {f.strip() for f in reader.fieldnames}:
                    raise InputError("expected CSV columns 'frame' and 'score'", source=str(path))
                rows = [(r["frame"], r["score"]) for r in reader]
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read scores: {exc}", source=str(path)) from None
    scores: dict[int, float] = {}
    for n, (frame, score) in enumerate(rows):
        try:
            f, s = int(frame), float(score)
        except (TypeError, ValueError):
            raise InputError(f"row {n + 1}: frame must be an integer and score a number, got {frame!r}, {score!r}",
                             source=str(path)) from None
        scores[f] = min(s, scores.get(f, np.inf))
    if not scores:
        raise InputError("no scores", source=str(path))
    return scores


def hardest(scores: dict[int, float], quantile: float = 0.2, below: float | None = None) -> list[int]:
    """Frames scored below ``below``, else the lowest ``quantile`` share (at least one frame)."""
    if below is not None:
        return sorted(f for f, s in scores.items() if s < below)
    ranked = sorted(scores, key=lambda f: (scores[f], f))
    return sorted(ranked[:max(1, int(round(quantile * len(ranked))))])


def nearest_frames(dataset: Path, photos: Path, features: Path | None = None, workers: int = 2) -> list[int]:
    """The synthetic frame nearest to each real failure photo (report features, recomputed when missing)."""
    from wearforge.report.build import _bounded_map
    from wearforge.report.dataset import Dataset, read_image, real_images
    from wearforge.report.distance import nearest, standardise
    from wearforge.report.features import make_extractor

    extractor = make_extractor(features)
    cache = Path(dataset) / "report" / "features.npz"
    synth = frames = None
    if cache.is_file():
        data = np.load(cache)
        if str(data["extractor"]) == extractor.name:
            synth, frames = data["features"], data["frames"]
    if synth is None:
        ds = Dataset(dataset)
        synth = np.asarray(list(_bounded_map(lambda f: extractor(f.rgb()), ds.frames, workers)))
        frames = np.asarray([f.index for f in ds.frames])
    real = np.asarray(list(_bounded_map(lambda p: extractor(read_image(p)), real_images(photos), workers)))
    rz, sz = standardise(real, synth)
    idx, _ = nearest(rz, sz, 1)
    return sorted({int(frames[i]) for i in idx[:, 0]})


def _set_field(spec: dict, key: str, value: float) -> bool:
    """Set one flattened field (wearforge.report.coverage.flatten_spec naming) in a FrameSpec dict."""
    import re

    m = re.fullmatch(r"(.+?)(?:\[(\d+)\])?", key)
    base, idx = m.group(1), m.group(2)

    def put(holder: dict, name: str) -> bool:
        if idx is None:
            holder[name] = value
            return True
        if isinstance(holder.get(name), list) and int(idx) < len(holder[name]):
            holder[name][int(idx)] = value
            return True
        return False

    if base in ("camera.distance", "camera.azimuth", "camera.elevation"):
        cam = spec["camera"]
        d = np.subtract(cam["position"], cam["look_at"])
        r = float(np.linalg.norm(d))
        az, el = np.degrees(np.arctan2(d[1], d[0])), np.degrees(np.arcsin(d[2] / r))
        r, az, el = {"camera.distance": (value, az, el), "camera.azimuth": (r, value, el),
                     "camera.elevation": (r, az, value)}[base]
        a, e = np.radians(az), np.radians(el)
        offset = r * np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
        cam["position"] = [float(v) for v in np.add(cam["look_at"], offset)]
        return True
    head, _, name = base.rpartition(".")
    if head in ("camera", "sensor"):
        return put(spec[head], name)
    if head.startswith("light["):
        path = head[6:-1]
        return any(put(li, name) for li in spec["lights"] if li["path"] == path)
    cls, _, section = head.partition(".")
    done = False
    for part in spec["parts"]:
        if part["semantic_class"] != cls:
            continue
        if section in ("pose", "material", "physics"):
            done |= put(part[section], name)
        elif section.startswith("wear."):
            for layer in (part.get("wear") or {}).get("layers", []):
                if layer["type"] == section[5:] and name in layer["params"]:
                    layer["params"][name] = value
                    done = True
    return done


def uncovered_cases(dataset: Path, limit: int = 16) -> tuple[list[dict], list[tuple[str, float]]]:
    """Cases for the report's uncovered numeric bins: the frame nearest each bin, with that field at its centre."""
    from wearforge.report.coverage import flatten_spec

    path = Path(dataset) / "report" / "report.json"
    if not path.is_file():
        raise InputError(f"no report in {path.parent}: run `wearforge report {dataset} --recipe ...` first",
                         field="--uncovered")
    fields = [f for f in json.loads(path.read_text())["coverage"]["fields"]
              if f.get("kind") == "numeric" and f.get("uncovered")]
    specs = {int(p.stem.rsplit("_", 1)[1]): json.loads(p.read_text())
             for p in sorted(Path(dataset).glob("frame_spec_*.json"))}
    flat = {i: flatten_spec(s) for i, s in specs.items()}
    cases, notes = [], []
    for f in fields:
        for lo, hi in f["uncovered"]:
            centre = (lo + hi) / 2
            have = [(abs(np.mean(v[f["field"]]) - centre), i) for i, v in flat.items() if v.get(f["field"])]
            if not have:
                continue
            case = json.loads(json.dumps(specs[min(have)[1]]))
            if _set_field(case, f["field"], float(centre)):
                cases.append(case)
                notes.append((f["field"], float(centre)))
            if len(cases) >= limit:
                return cases, notes
    return cases, notes


# ------------------------------------------------------------------------------------------ the recipe
def focus_seed(seed: int, hard: list[int]) -> int:
    """A seed of its own for the focus recipe (depends on the original seed and the hard frames)."""
    digest = hashlib.blake2b(f"{seed}:{sorted(hard)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % 2**31


def write_focus_recipe(recipe_path: Path, dataset: Path, hard: list[int], out_path: Path, *, weight: float,
                       width: float, frames: int | None, seed: int | None, out_dir: str | None, note: str,
                       extra_cases: list[dict] = ()) -> Path:
    """Write a recipe that extends ``recipe_path`` and focuses on the hard frames of ``dataset`` (+ extra cases)."""
    from wearforge.recipe import load_recipe

    base = load_recipe(recipe_path)
    if not hard and not extra_cases:
        raise InputError("no hard cases selected (give --hard, --scores, --failures or --uncovered)")
    cases = list(extra_cases)
    for i in hard:
        path = Path(dataset) / f"frame_spec_{i:04d}.json"
        if not path.is_file():
            matches = sorted(Path(dataset).glob(f"frame_spec_*{i}.json"))
            path = next((m for m in matches if int(m.stem.split("_")[-1]) == i), path)
        if not path.is_file():
            raise InputError(f"frame {i} has no frame_spec file in {dataset}", field="--hard")
        spec = json.loads(path.read_text())
        if spec.get("recipe") != base.name:
            raise InputError(f"frame {i} of {dataset} was made by recipe {spec.get('recipe')!r}, not {base.name!r}",
                             field="--recipe")
        cases.append(spec)
    extends = os.path.relpath(Path(recipe_path).resolve(), Path(out_path).resolve().parent)
    data: dict[str, Any] = {
        "extends": extends,
        "seed": focus_seed(base.seed, hard + [len(cases)]) if seed is None else seed,
        "focus": {"weight": weight, "width": width, "note": note, "cases": cases},
    }
    if frames is not None:
        data["frames"] = frames
    if out_dir is not None:
        data["output"] = {"dir": out_dir}
    Focus.model_validate(data["focus"])
    header = (f"# Focus recipe: {note}\n# {len(cases)} case(s) from {dataset}; {weight:.0%} of frames are drawn "
              f"around them (width {width}), the rest as in {Path(recipe_path).name}.\n")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=120))
    return out_path
