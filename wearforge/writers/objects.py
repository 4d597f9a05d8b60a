"""Objects of a frame (labelled parts and visible defect instances) with masks, ignore regions and the
run's class map, from any payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from wearforge.classmap import DEFECT_IDS, ClassEntry, ClassMap

Kinds = Literal["parts", "defects", "both"]


@dataclass
class FrameObject:
    category_id: int  # the semantic id (stable for a twin)
    category: str
    kind: str  # "part" or "defect"
    mask: np.ndarray  # bool (H, W)
    box: tuple[int, int, int, int]  # inclusive x0, y0, x1, y1
    part: str  # prim path of the part (for defects: the part they are on)
    extra: dict | None = None  # defects: layer, severity parameters, visible area in mm^2


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def frame_objects(annos: dict, kinds: Kinds = "both", skip_classes: tuple[str, ...] = ()) -> list[FrameObject]:
    """Visible labelled prims (instance_segmentation) and defect occurrences (defect_instances)."""
    out: list[FrameObject] = []
    if kinds in ("parts", "both") and "instance_segmentation" in annos:
        inst = annos["instance_segmentation"]
        ids = inst["data"]
        semantics = annos.get("semantic_segmentation", {}).get("data")
        for key, path in sorted(inst.get("idToLabels", {}).items(), key=lambda kv: int(kv[0])):
            i = int(key)
            if i < 2:
                continue
            mask = ids == i
            if not mask.any():
                continue
            name = inst.get("idToSemantics", {}).get(key, {}).get("class", "")
            if name in skip_classes:
                continue
            sem = int(semantics[mask][0]) if semantics is not None else i
            out.append(FrameObject(sem, name, "part", mask, _box(mask), path))
    if kinds in ("defects", "both") and "defect_instances" in annos:
        d = annos["defect_instances"]
        labels = d.get("idToLabels", {})
        for row in d["data"]:
            mask = d["mask"] == row["instanceId"]
            if not mask.any():
                continue
            info = labels.get(str(int(row["instanceId"])), {})
            if info.get("class") in skip_classes:
                continue
            extra = {k: v for k, v in info.items() if k in ("layer", "severity")}
            if "areaMm2" in (row.dtype.names or ()):
                extra["area_mm2"] = round(float(row["areaMm2"]), 4)
            out.append(FrameObject(int(row["semanticId"]), info.get("class", ""), "defect", mask, _box(mask),
                                   info.get("part", ""), extra))
    return out


def ignore_regions(annos: dict, skip_classes: tuple[str, ...] = ()) -> list[FrameObject]:
    """One region per defect class whose pixels must be ignored in training and evaluation.

    Defect pixels the camera cannot see, visible changes outside every defect mask and instances below
    the minimum size (``defect_segmentation["ignore"]``: class id per pixel, 0 = not ignored).
    """
    seg = annos.get("defect_segmentation", {})
    ignore = seg.get("ignore")
    if ignore is None:
        return []
    names = seg.get("ignoreLabels", {})
    out = []
    for i in np.unique(ignore).tolist():
        name = names.get(str(i), {}).get("class", "")
        if i < 2 or name in skip_classes:
            continue
        mask = ignore == i
        out.append(FrameObject(int(i), name, "defect", mask, _box(mask), ""))
    return out


def class_map(annos: dict) -> ClassMap:
    """The run's ordered class map from the payload (``classList``); older payloads: their class table."""
    sem = annos.get("semantic_segmentation", {})
    if sem.get("classList"):
        return ClassMap.from_payload(sem["classList"])
    table = class_table(annos)
    return ClassMap(tuple(ClassEntry(name, i, "defect" if name in DEFECT_IDS else "part")
                          for i, name in sorted(table.items())))


def class_table(annos: dict) -> dict[int, str]:
    """All classes of the twin when the payload carries them, else those present in this frame."""
    sem = annos.get("semantic_segmentation", {})
    table = {int(k): v for k, v in sem.get("classes", {}).items()}
    if not table:
        for source in ("semantic_segmentation", "defect_segmentation"):
            for k, v in annos.get(source, {}).get("idToLabels", {}).items():
                if int(k) >= 2:
                    table[int(k)] = v["class"]
    return table
