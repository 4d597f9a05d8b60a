"""Coverage of the randomized parameters: what the frames sampled against what the recipe asks for.

A FrameSpec is flattened into named fields (parts pooled by semantic class, lights by path, the camera
as orbit distance/azimuth/elevation). The recipe's requested distribution of each field is the
distribution of the same flattened fields over FrameSpecs drawn from the recipe with a reference seed
(no rendering: sampling is cheap), so every randomizer, including derived ones, is covered by one rule.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from typing import Any, Iterable

import numpy as np

BINS = 10
REFERENCE_FRAMES = 1000
_SKIP = {"seed", "path", "semantic_class", "create", "texture", "up", "look_at"}


def _add(out: dict[str, list], key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        out[key].append(str(value).lower())
    elif isinstance(value, (int, float)):
        if math.isfinite(value):
            out[key].append(float(value))
    elif isinstance(value, str):
        out[key].append(value)
    elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        for i, v in enumerate(value):
            _add(out, f"{key}[{i}]", v)


def _section(out: dict[str, list], prefix: str, values: dict) -> None:
    for name, value in values.items():
        if name not in _SKIP and not isinstance(value, dict):
            _add(out, f"{prefix}.{name}", value)


def flatten_spec(spec: dict) -> dict[str, list]:
    """FrameSpec (as JSON dict) -> {field: [values]}; parts of one class pool their values."""
    out: dict[str, list] = defaultdict(list)
    for part in spec.get("parts", []):
        cls = part.get("semantic_class") or "part"
        _add(out, f"{cls}.visible", part.get("visible"))
        for sec in ("pose", "material", "physics"):
            _section(out, f"{cls}.{sec}", part.get(sec) or {})
        wear = part.get("wear") or {}
        layers = wear.get("layers") or []
        for layer in layers:
            _add(out, f"{cls}.wear.types", layer["type"])
            for name, value in (layer.get("params") or {}).items():
                _add(out, f"{cls}.wear.{layer['type']}.{name}", value)
        if wear and not layers:
            _add(out, f"{cls}.wear.types", "none")
    for light in spec.get("lights", []):
        _section(out, f"light[{light.get('path')}]", light)
    cam = spec.get("camera") or {}
    if cam.get("position") and cam.get("look_at"):
        d = np.subtract(cam["position"], cam["look_at"])
        r = float(np.linalg.norm(d))
        _add(out, "camera.distance", r)
        _add(out, "camera.azimuth", float(np.degrees(np.arctan2(d[1], d[0]))))
        _add(out, "camera.elevation", float(np.degrees(np.arcsin(d[2] / r))) if r > 0 else None)
    _section(out, "camera", {k: v for k, v in cam.items() if k not in ("position",)})
    _section(out, "sensor", spec.get("sensor") or {})
    res = (spec.get("render") or {}).get("resolution")
    if res:
        _add(out, "render.resolution", f"{res[0]}x{res[1]}")
    return out


def reference_fields(recipe, frames: int = REFERENCE_FRAMES, seed_offset: int = 1_000_003) -> dict[str, list]:
    """The recipe's requested distributions: fields of FrameSpecs drawn with a reference seed."""
    from wearforge.scenario import sample_frame
    from wearforge.stage import read_scene

    scene = read_scene(recipe)
    out: dict[str, list] = defaultdict(list)
    seed = (recipe.seed + seed_offset) % 2**63
    for i in range(frames):
        for key, values in flatten_spec(sample_frame(recipe, seed, i, scene).model_dump(mode="json")).items():
            out[key].extend(values)
    return out


def _numeric(values: Iterable) -> bool:
    return isinstance(values, array) or all(isinstance(v, float) for v in values)


def compare_field(name: str, sampled: list, requested: list | None) -> dict:
    """Coverage of one field: histogram, share of requested bins hit, KS statistic, flags."""
    res: dict[str, Any] = {"field": name, "n": len(sampled)}
    ref = requested or []
    if sampled and _numeric(sampled) and (not ref or _numeric(ref)):
        s = np.asarray(sampled)
        r = np.asarray(ref) if ref else None
        lo, hi = (float(np.min(r)), float(np.max(r))) if r is not None else (float(s.min()), float(s.max()))
        res.update(kind="numeric", min=float(s.min()), max=float(s.max()), mean=float(s.mean()),
                   unique=int(len(np.unique(s))))
        edges = np.linspace(lo, hi, BINS + 1) if hi > lo else np.array([lo - 0.5, hi + 0.5])
        res["edges"] = [float(e) for e in edges]
        res["hist"] = np.histogram(np.clip(s, edges[0], edges[-1]), edges)[0].tolist()
        if r is not None:
            res["requested_unique"] = int(len(np.unique(r)))
            res["requested_hist"] = np.histogram(r, edges)[0].tolist()
            want = np.asarray(res["requested_hist"]) > 0
            got = np.asarray(res["hist"]) > 0
            res["coverage"] = float((want & got).sum() / max(want.sum(), 1))
            res["uncovered"] = [[float(edges[i]), float(edges[i + 1])] for i in np.flatnonzero(want & ~got)]
            if res["requested_unique"] > 1 and len(s) > 1:
                from scipy.stats import ks_2samp

                res["ks"] = float(ks_2samp(s, r).statistic)
            res["outside"] = int(((s < lo - 1e-9) | (s > hi + 1e-9)).sum())
    else:
        seen = sorted({str(v) for v in sampled})
        res.update(kind="categorical", unique=len(seen), counts={k: sum(1 for v in sampled if str(v) == k) for k in seen})
        if ref:
            want = sorted({str(v) for v in ref})
            res["requested"] = want
            res["requested_unique"] = len(want)
            res["coverage"] = len(set(seen) & set(want)) / len(want)
            res["uncovered"] = sorted(set(want) - set(seen))
    varied_wanted = res.get("requested_unique", 2) > 1
    res["never_varied"] = bool(len(sampled) > 1 and res["unique"] == 1 and varied_wanted)
    res["constant_by_design"] = bool(ref) and res.get("requested_unique", 0) == 1
    if res["constant_by_design"]:
        res["never_varied"] = False
    res["missing"] = bool(ref) and not sampled
    return res


def compare(sampled: dict[str, list], requested: dict[str, list] | None) -> list[dict]:
    """One coverage row per field of either side, sorted by name."""
    keys = sorted(set(sampled) | set(requested or {}))
    return [compare_field(k, sampled.get(k, []), None if requested is None else requested.get(k)) for k in keys]
