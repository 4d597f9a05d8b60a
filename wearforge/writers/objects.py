"""Objects of a frame (labelled parts and visible defect occurrences) with masks, from any payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kinds = Literal["parts", "defects", "both"]


@dataclass
class FrameObject:
    category_id: int  # the semantic id (stable for a twin)
    category: str
    kind: str  # "part" or "defect"
    mask: np.ndarray  # bool (H, W)
    box: tuple[int, int, int, int]  # inclusive x0, y0, x1, y1
    part: str  # prim path of the part (for defects: the part they are on)


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
            out.append(FrameObject(int(row["semanticId"]), info.get("class", ""), "defect", mask, _box(mask),
                                   info.get("part", "")))
    return out


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
