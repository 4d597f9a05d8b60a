"""YOLO datasets in the Ultralytics layout.

    yolo/images/{train,val}/frame_N.png
    yolo/labels/{train,val}/frame_N.txt    one object per line: class cx cy w h (detect)
                                           or class x1 y1 x2 y2 ... (segment: polygon traced from the mask)
    yolo/data.yaml                         train, val, task, nc, names (no ``path``: Ultralytics then
                                           resolves the folders next to data.yaml, so the dataset can move)

Class indices are the twin's stable semantic ids minus 2 (parts first, then defect classes), so they
are contiguous and identical across runs. The train/val split is a hash of the frame index: the same
frame always lands in the same split, whatever the order or number of workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import yaml

from wearforge.writers.base import DEFAULT_SHARD_FRAMES, FileWriter, atomic_write_bytes, encode_png, per_render_product
from wearforge.writers.objects import Kinds, class_table, frame_objects


def split_of(index: int, val_fraction: float) -> str:
    """Deterministic split: Knuth's multiplicative hash of the frame index."""
    return "val" if ((index * 2654435761) % 2**32) / 2**32 < val_fraction else "train"


def polygon(mask: np.ndarray) -> np.ndarray | None:
    """The outline of the mask's largest connected piece, (N, 2) pixel coordinates (x, y)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea)
    if len(c) < 3:
        x, y, w, h = cv2.boundingRect(c)
        return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], float)
    return c[:, 0, :].astype(float)


class YoloWriter(FileWriter):
    name = "yolo"

    def __init__(self, output_dir: str | Path, task: Literal["detect", "segment"] = "detect", objects: Kinds = "both",
                 val_fraction: float = 0.2, skip_classes: tuple[str, ...] = (), workers: int = 2,
                 run_info: dict | None = None, shard_frames: int = DEFAULT_SHARD_FRAMES):
        super().__init__(output_dir, workers, run_info, shard_frames)
        self.task = task
        self.kinds = objects
        self.val_fraction = val_fraction
        self.skip = tuple(skip_classes)

    def settings(self) -> dict:
        return {"task": self.task}

    def write(self, data: dict) -> None:
        annos = next(iter(per_render_product(data).values()))
        index = self.next_index(annos)
        self.set_record(index, {"names": {str(cid - 2): name for cid, name in sorted(class_table(annos).items())}})
        split = split_of(index, self.val_fraction)
        rgb = annos["rgb"]["data"]
        stem = f"frame_{index:06d}"
        self._files.submit(self.output_dir / "images" / split / f"{stem}.png", lambda: encode_png(rgb), index)
        self._files.submit(self.output_dir / "labels" / split / f"{stem}.txt",
                           lambda: self._labels(annos, rgb.shape).encode(), index)
        self._files.seal(index)

    def _labels(self, annos: dict, shape) -> str:
        h, w = shape[:2]
        lines = []
        for obj in frame_objects(annos, self.kinds, self.skip):
            cls = obj.category_id - 2
            if self.task == "detect":
                x0, y0, x1, y1 = obj.box
                # pixel edges: the box covers columns x0..x1 inclusive
                cx, cy = (x0 + x1 + 1) / 2 / w, (y0 + y1 + 1) / 2 / h
                lines.append(f"{cls} {cx:.6f} {cy:.6f} {(x1 - x0 + 1) / w:.6f} {(y1 - y0 + 1) / h:.6f}")
            else:
                poly = polygon(obj.mask)
                if poly is None:
                    continue
                coords = " ".join(f"{x / w:.6f} {y / h:.6f}" for x, y in poly)
                lines.append(f"{cls} {coords}")
        return "\n".join(lines) + ("\n" if lines else "")

    @classmethod
    def _assemble(cls, folder: Path, records: dict[int, dict], parts, settings: dict, run_info: dict) -> None:
        names: dict[int, str] = {}
        for i in sorted(records):
            for k, v in records[i].get("names", {}).items():
                names.setdefault(int(k), v)
        nc = (max(names) + 1) if names else 0
        data = {"train": "images/train", "val": "images/val", "task": settings.get("task", "detect"), "nc": nc,
                "names": {k: names.get(k, f"class_{k}") for k in range(nc)}}
        atomic_write_bytes(folder / "data.yaml", yaml.safe_dump(data, sort_keys=False).encode())
