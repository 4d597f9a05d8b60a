"""Build a dataset's quality report: one streaming pass over the frames, then the real photos.

Memory stays bounded: a frame's images are dropped once its features (133 numbers), thumbnail signature
(192 numbers), per-instance sizes and spec fields are kept; galleries keep a few crops per class.
"""

from __future__ import annotations

import heapq
import json
import time
from array import array
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import cv2
import numpy as np

from wearforge.errors import InputError
from wearforge.report.coverage import compare, flatten_spec, reference_fields
from wearforge.report.dataset import Dataset, Frame, read_image, real_images
from wearforge.report.distance import classifier_accuracy, kid, nearest, standardise
from wearforge.report.features import make_extractor, thumbnail_signature
from wearforge.report.instances import MIN_LEARNABLE_PIXELS, Instance, frame_instances

GALLERY = 6  # crops per class and kind
THUMB = 160  # longer side of thumbnails in the report, pixels


@dataclass
class Options:
    real: Path | None = None
    recipe: Path | None = None
    features: Path | None = None  # a user's ONNX model; None = hand-built features
    duplicate_threshold: float = 0.985
    workers: int = 2
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    nearest: int = 3
    reference_frames: int = 1000
    overrides: list[str] = field(default_factory=list)


def _bounded_map(fn: Callable, items: Iterable, workers: int) -> Iterator:
    """fn over items in a thread pool, in order, with at most 2 * workers results in flight."""
    items = list(items)
    window = max(2 * workers, 1)
    with ThreadPoolExecutor(max(workers, 1)) as pool:
        pending = [pool.submit(fn, it) for it in items[:window]]
        nxt = window
        while pending:
            yield pending.pop(0).result()
            if nxt < len(items):
                pending.append(pool.submit(fn, items[nxt]))
                nxt += 1


def _crop(rgb: np.ndarray, box: tuple[int, int, int, int], size: int = 96) -> np.ndarray:
    """A square crop around a box (at least 24 px of context), scaled to ``size`` with the box outlined."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    side = max(x1 - x0 + 1, y1 - y0 + 1, 24) * 1.5
    cx, cy = (x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2
    a0, b0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    a1, b1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    crop = rgb[b0:b1, a0:a1]
    s = size / max(crop.shape[:2])
    big = cv2.resize(crop, (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))),
                     interpolation=cv2.INTER_NEAREST if s > 1 else cv2.INTER_AREA)
    big = np.ascontiguousarray(big)
    cv2.rectangle(big, (int((x0 - a0) * s), int((y0 - b0) * s)), (int((x1 + 1 - a0) * s) - 1, int((y1 + 1 - b0) * s) - 1),
                  (255, 0, 255), 1)
    return big


class _Gallery:
    """Per class: the smallest, the largest, well-visible and mostly-ignored instances (a few each)."""

    def __init__(self, k: int = GALLERY):
        self.k = k
        self.small: dict[str, list] = defaultdict(list)  # max-heap by size via negative key
        self.large: dict[str, list] = defaultdict(list)
        self.visible: dict[str, list] = defaultdict(list)
        self.ignored: dict[str, list] = defaultdict(list)
        self._n = 0

    def offer(self, frame: int, inst: Instance, rgb: np.ndarray) -> None:
        self._n += 1  # tie-breaker: heap entries never compare arrays
        entry = lambda key: (key, -self._n, frame, inst.pixels, inst.visibility)  # noqa: E731
        c = inst.cls

        def push(heap: list, key: float) -> None:
            if len(heap) < self.k:
                heapq.heappush(heap, (*entry(key), _crop(rgb, inst.box)))
            elif key > heap[0][0]:
                heapq.heapreplace(heap, (*entry(key), _crop(rgb, inst.box)))

        push(self.small[c], -inst.pixels)
        push(self.large[c], inst.pixels)
        if inst.pixels >= MIN_LEARNABLE_PIXELS and inst.visibility >= 0.5 and len(self.visible[c]) < self.k:
            self.visible[c].append((0, 0, frame, inst.pixels, inst.visibility, _crop(rgb, inst.box)))
        if inst.visibility < 0.5:
            push(self.ignored[c], 1.0 - inst.visibility)

    def classes(self) -> list[str]:
        return sorted(set(self.small) | set(self.large))

    def items(self, kind: str, cls: str) -> list[tuple[int, float, float, np.ndarray]]:
        heap = getattr(self, kind).get(cls, [])
        rows = sorted(heap, key=lambda e: (e[3], e[2]), reverse=(kind == "large"))
        return [(e[2], e[3], e[4], e[5]) for e in rows]


def _frame_pass(frame: Frame, extractor) -> dict:
    rgb = frame.rgb()
    spec = frame.spec
    return {"frame": frame, "rgb": rgb, "features": extractor(rgb), "signature": thumbnail_signature(rgb),
            "instances": frame_instances(frame), "fields": flatten_spec(spec) if spec else {},
            "luma": float(rgb.mean() / 255.0), "spec": spec}


def _light_total(spec: dict | None) -> float | None:
    if not spec:
        return None
    total = 0.0
    for light in spec.get("lights", []):
        if light.get("intensity") is not None:
            total += float(light["intensity"]) * 2.0 ** float(light.get("exposure") or 0.0)
    return total


def _thumb(rgb: np.ndarray) -> np.ndarray:
    s = THUMB / max(rgb.shape[:2])
    return cv2.resize(rgb, (max(1, round(rgb.shape[1] * s)), max(1, round(rgb.shape[0] * s))), interpolation=cv2.INTER_AREA)


def _save_png(path: Path, rgb: np.ndarray) -> str:
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))
    return f"img/{path.name}"


def near_duplicates(signatures: np.ndarray, threshold: float, chunk: int = 512, keep: int = 24) -> tuple[int, list]:
    """Pairs of frames whose thumbnail signatures correlate above ``threshold`` (count, most similar pairs)."""
    n = len(signatures)
    found: list[tuple[float, int, int]] = []
    total = 0
    for start in range(0, n, chunk):
        sim = signatures[start:start + chunk] @ signatures.T
        rows, cols = np.nonzero(sim >= threshold)
        mask = cols > rows + start
        rows, cols = rows[mask], cols[mask]
        total += len(rows)
        vals = sim[rows, cols]
        if len(vals) > keep:  # a fixed-camera sweep can make millions of pairs: keep the chunk's best only
            best = np.argpartition(-vals, keep)[:keep]
            rows, cols, vals = rows[best], cols[best], vals[best]
        for r, c, val in zip(rows, cols, vals):
            item = (float(val), start + int(r), int(c))
            if len(found) < keep:
                heapq.heappush(found, item)
            elif item > found[0]:
                heapq.heapreplace(found, item)
    return total, sorted(found, reverse=True)


def _extend(fields: dict, key: str, values: list) -> None:
    """Numbers go to a compact array (8 bytes each), names to a list."""
    store = fields.get(key)
    numeric = all(isinstance(v, float) for v in values)
    if store is None:
        store = fields[key] = array("d") if numeric else []
    elif isinstance(store, array) and not numeric:
        store = fields[key] = list(store)
    store.extend(values)


def _load_recipe(path: Path | None, overrides: list[str]):
    if path is None:
        return None
    from wearforge.recipe import load_recipe

    return load_recipe(path, overrides)


def build_report(dataset_dir: str | Path, out_dir: str | Path | None = None, options: Options | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Measure a dataset (and its distance to real photos); write report.json + index.html; return the JSON."""
    from wearforge.report.html import write_html

    opt = options or Options()
    t_start = time.perf_counter()
    ds = Dataset(dataset_dir)
    out = Path(out_dir) if out_dir is not None else ds.folder / "report"
    img_dir = out / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    recipe = _load_recipe(opt.recipe, opt.overrides)
    extractor = make_extractor(opt.features)
    real_paths = real_images(opt.real) if opt.real is not None else []

    per_class: dict[tuple[str, str], dict[str, array]] = {}
    gallery = _Gallery()
    fields: dict[str, array | list] = {}
    feats, sigs, indices, lumas, lights = [], [], [], [], []
    counter = None
    if recipe is not None and recipe.targets.instances:
        from wearforge.targets import TargetCounter

        counter = TargetCounter(list(recipe.targets.instances))
    for n, res in enumerate(_bounded_map(lambda f: _frame_pass(f, extractor), ds.frames, opt.workers)):
        frame: Frame = res["frame"]
        indices.append(frame.index)
        feats.append(res["features"])
        sigs.append(res["signature"])
        lumas.append(res["luma"])
        lights.append(_light_total(res["spec"]))
        for key, values in res["fields"].items():
            _extend(fields, key, values)
        seen = set()
        for inst in res["instances"]:
            row = per_class.setdefault((inst.kind, inst.cls), defaultdict(lambda: array("d")))  # 8 bytes a value
            row["pixels"].append(inst.pixels)
            row["visibility"].append(inst.visibility)
            if inst.mm2 is not None:
                row["mm2"].append(inst.mm2)
            if inst.truncation is not None:
                row["truncation"].append(inst.truncation)
            for k, v in inst.severity.items():
                row[f"severity.{k}"].append(v)
            if (inst.kind, inst.cls) not in seen:
                seen.add((inst.kind, inst.cls))
                row["frames"].append(frame.index)
            if inst.kind == "defect" and inst.box is not None:
                gallery.offer(frame.index, inst, res["rgb"])
        if counter is not None:
            counter.add(res["instances"])
        frame.release()
        if progress:
            progress("frames", n + 1, len(ds))
    features = np.asarray(feats)
    signatures = np.asarray(sigs, np.float32)
    has_ignore = any(f.path("defect_ignore", ".png").is_file() for f in ds.frames[:1])

    report: dict[str, Any] = {
        "dataset": str(ds.folder.resolve()), "frames": len(ds), "manifest": ds.manifest,
        "features": {"extractor": extractor.name, "dim": int(features.shape[1])},
        "labels": {"ignore_masks": has_ignore},
    }
    # ---------------------------------------------------------------- information richness
    classes = []
    for (kind, cls), row in sorted(per_class.items()):
        px = np.asarray(row["pixels"])
        vis = np.asarray(row["visibility"])
        entry = {"kind": kind, "class": cls, "instances": int(len(px)), "frames": len(row["frames"]),
                 "pixels": _summary(px), "pixels_hist": _log_hist(px),
                 "learnable_fraction": float((px >= MIN_LEARNABLE_PIXELS).mean()),
                 "visible_fraction": float(vis.mean()),
                 "ignored_fraction": float(1.0 - vis.mean()) if kind == "defect" and has_ignore else None}
        if row.get("mm2"):
            mm2 = np.asarray(row["mm2"])
            entry["mm2"] = _summary(mm2)
            entry["mm2_hist"] = _log_hist(mm2)
        if kind == "part":
            entry["occlusion"] = _summary(1.0 - vis)
            entry["occlusion_hist"] = _lin_hist(1.0 - vis)
            if row.get("truncation"):
                tr = np.asarray(row["truncation"])
                entry["truncation"] = _summary(tr)
                entry["truncation_hist"] = _lin_hist(tr)
        sev = {k[9:]: _summary(np.asarray(v)) for k, v in row.items() if k.startswith("severity.")}
        if sev:
            entry["severity"] = sev
        classes.append(entry)
    report["classes"] = classes
    cam = np.asarray(fields.get("camera.distance", array("d")))
    report["camera_distance"] = {"summary": _summary(cam), "hist": _lin_hist(cam, None)} if len(cam) else None
    lt = np.asarray([v for v in lights if v is not None])
    report["lighting"] = {
        "image_luminance": {"summary": _summary(np.asarray(lumas)), "hist": _lin_hist(np.asarray(lumas))},
        "light_intensity_total": {"summary": _summary(lt), "hist": _lin_hist(lt, None)} if len(lt) else None,
    }
    ref = None
    if recipe is not None:
        if progress:
            progress("recipe", 0, 1)
        ref = reference_fields(recipe, opt.reference_frames)
    rows = compare(fields, ref)
    report["coverage"] = {"reference": str(opt.recipe) if opt.recipe else None,
                          "reference_frames": opt.reference_frames if ref else 0, "fields": rows,
                          "never_varied": [r["field"] for r in rows if r.get("never_varied")],
                          "mean_coverage": _mean([r["coverage"] for r in rows
                                                  if "coverage" in r and r.get("requested_unique", 0) > 1])}
    dup_count, dup_pairs = near_duplicates(signatures, opt.duplicate_threshold)
    shown_pairs = []
    for sim, a, b in dup_pairs[:8]:
        fa, fb = ds.frames[a], ds.frames[b]
        shown_pairs.append({"similarity": sim, "a": fa.index, "b": fb.index,
                            "a_img": _save_png(img_dir / f"dup_{fa.tag}.png", _thumb(fa.rgb())),
                            "b_img": _save_png(img_dir / f"dup_{fb.tag}.png", _thumb(fb.rgb()))})
    report["near_duplicates"] = {"threshold": opt.duplicate_threshold, "pairs": dup_count,
                                 "top": [{"similarity": s, "a": indices[a], "b": indices[b]} for s, a, b in dup_pairs],
                                 "shown": shown_pairs}
    report["galleries"] = {}
    for cls in gallery.classes():
        report["galleries"][cls] = {}
        for kind in ("visible", "ignored", "smallest", "largest"):
            heap_kind = {"smallest": "small", "largest": "large"}.get(kind, kind)
            items = []
            for j, (fi, px, vis, crop) in enumerate(gallery.items(heap_kind, cls)):
                items.append({"frame": fi, "pixels": px, "visibility": vis,
                              "img": _save_png(img_dir / f"crop_{cls}_{kind}_{j}.png", crop)})
            report["galleries"][cls][kind] = items
    # ---------------------------------------------------------------- intentionality
    report["targets"] = counter.summary() if counter is not None else None
    if recipe is not None and recipe.focus is not None:
        report["focus"] = {"note": recipe.focus.note, "cases": [c.get("index") for c in recipe.focus.cases],
                           "weight": recipe.focus.weight, "width": recipe.focus.width}
    # ---------------------------------------------------------------- indistinguishability
    if real_paths:
        if len(features) < 2:
            raise InputError(f"comparing with real photos needs at least 2 frames; {ds.folder} has {len(features)}",
                             field="--real")
        report["real"] = _real_section(real_paths, features, indices, ds, extractor, opt, img_dir, progress)
    np.savez_compressed(out / "features.npz", features=features, frames=np.asarray(indices),
                        extractor=np.asarray(extractor.name))
    report["scores"] = _scores(report)
    report["seconds"] = time.perf_counter() - t_start
    (out / "report.json").write_text(json.dumps(report, indent=1, default=_jsonable))
    write_html(report, out / "index.html")
    return report


def _real_section(paths: list[Path], synthetic: np.ndarray, indices: list[int], ds: Dataset, extractor,
                  opt: Options, img_dir: Path, progress) -> dict:
    real_feats = []
    for n, f in enumerate(_bounded_map(lambda p: extractor(read_image(p)), paths, opt.workers)):
        real_feats.append(f)
        if progress:
            progress("real", n + 1, len(paths))
    real = np.asarray(real_feats)
    rz, sz = standardise(real, synthetic)
    k = kid(rz, sz, opt.kid_subsets, opt.kid_subset_size, standardised=True)
    clf = classifier_accuracy(real, synthetic)
    idx, dist = nearest(rz, sz, opt.nearest)
    # how far real photos are from each other sets the scale of "covered"
    within = nearest(rz, rz, 2)[1][:, 1] if len(rz) > 2 else np.zeros(len(rz))
    rows = []
    for i, p in enumerate(paths):
        rows.append({"image": str(p), "nearest": [{"frame": indices[j], "distance": float(d)}
                                                  for j, d in zip(idx[i], dist[i])],
                     "distance": float(dist[i, 0]), "real_neighbour_distance": float(within[i])})
    worst = sorted(range(len(rows)), key=lambda i: -rows[i]["distance"])
    shown = []
    frame_of = {f.index: f for f in ds.frames}
    for i in worst[:12]:
        r = rows[i]
        item = {"image": r["image"], "distance": r["distance"],
                "img": _save_png(img_dir / f"real_{i:05d}.png", _thumb(read_image(Path(r["image"])))), "nearest": []}
        for nb in r["nearest"]:
            f = frame_of[nb["frame"]]
            item["nearest"].append({"frame": nb["frame"], "distance": nb["distance"],
                                    "img": _save_png(img_dir / f"nn_{f.tag}.png", _thumb(f.rgb()))})
        shown.append(item)
    return {"folder": str(opt.real), "images": len(paths), "kid": k.as_dict(), "classifier": clf.as_dict(),
            "per_image": rows, "worst_covered": [rows[i]["image"] for i in worst[:12]], "shown": shown,
            "median_distance": float(np.median(dist[:, 0])), "median_real_neighbour_distance": float(np.median(within))}


def _scores(report: dict) -> dict:
    """The three headline numbers."""
    defect = [c for c in report["classes"] if c["kind"] == "defect"]
    richness = {"classes": len(defect), "defect_instances": int(sum(c["instances"] for c in defect)),
                "parameter_coverage": report["coverage"]["mean_coverage"],
                "never_varied": len(report["coverage"]["never_varied"]),
                "near_duplicate_pairs": report["near_duplicates"]["pairs"]}
    real = report.get("real")
    indist = None if real is None else {"kid": real["kid"]["mean"], "kid_std": real["kid"]["std"],
                                        "classifier_accuracy": real["classifier"]["balanced_accuracy"]}
    targets = report.get("targets")
    intent = None if not targets else {"met": sum(t["met"] for t in targets), "targets": len(targets),
                                       "fulfilment": float(np.mean([min(t["achieved"] / t["count"], 1.0) for t in targets]))}
    return {"information_richness": richness, "indistinguishability": indist, "intentionality": intent}


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _summary(x: np.ndarray) -> dict | None:
    x = np.asarray(x, np.float64)
    if not len(x):
        return None
    q = np.percentile(x, [0, 5, 50, 95, 100])
    return {"n": int(len(x)), "mean": float(x.mean()), "min": float(q[0]), "p5": float(q[1]), "median": float(q[2]),
            "p95": float(q[3]), "max": float(q[4])}


def _log_hist(x: np.ndarray, bins: int = 12) -> dict:
    x = np.asarray(x, np.float64)
    x = x[x > 0]
    if not len(x):
        return {"edges": [], "counts": []}
    lo, hi = np.log10(x.min()), np.log10(x.max())
    edges = np.logspace(lo, hi if hi > lo else lo + 1, bins + 1)
    return {"edges": edges.tolist(), "counts": np.histogram(x, edges)[0].tolist(), "log": True}


def _lin_hist(x: np.ndarray, rng: tuple[float, float] | None = (0.0, 1.0), bins: int = 10) -> dict:
    x = np.asarray(x, np.float64)
    if not len(x):
        return {"edges": [], "counts": []}
    if rng is None:
        rng = (float(x.min()), float(x.max()) if x.max() > x.min() else float(x.min()) + 1.0)
    counts, edges = np.histogram(np.clip(x, *rng), bins, rng)
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")
