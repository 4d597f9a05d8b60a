"""YOLO datasets in the Ultralytics layout.

    yolo/images/{train,val}/frame_N.png
    yolo/labels/{train,val}/frame_N.txt    one object per line: class cx cy w h (detect)
                                           or class x1 y1 x2 y2 ... (segment: polygon traced from the mask)
    yolo/ignore/{train,val}/frame_N.txt    defect ignore regions, class x1 y1 ... (not read by Ultralytics:
                                           mask them out of losses/metrics in your own loop if you want)
    yolo/data.yaml                         train, val, task, nc, names (no absolute path: Ultralytics
                                           resolves the folders against the file's own folder)

Class indices number the run's class map (wearforge.classmap) after the kind filter and skipped classes:
contiguous, only classes the run can produce unless ``output.classes`` pins more, and identical for every
dataset made with the same list. Coordinates are normalised continuous pixel coordinates, pixel i
spanning [i, i+1]: boxes run along pixel edges, polygon vertices sit at the centres of the mask's
boundary pixels. A mask in several pieces is one polygon: the pieces are joined by zero-width bridges
at their closest vertices (the approach of Ultralytics' COCO converter), so no piece is lost.
The train/val split is a hash of the frame index (frame 0 always trains, so a one-frame run has a
training image): the same frame always lands in the same split, whatever the order or number of workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import yaml

from wearforge.writers.base import DEFAULT_SHARD_FRAMES, FileWriter, atomic_write_bytes, encode_png, per_render_product
from wearforge.writers.objects import Kinds, class_map, frame_objects, ignore_regions


def split_of(index: int, val_fraction: float) -> str:
    """Deterministic split: Knuth's multiplicative hash of the frame index; frame 0 always trains."""
    if index == 0:
        return "train"
    return "val" if ((index * 2654435761) % 2**32) / 2**32 < val_fraction else "train"


def polygon(mask: np.ndarray) -> np.ndarray | None:
    """One outline of the whole mask, (N, 2) pixel coordinates (x, y) of boundary-pixel centres (+0.5).

    Every connected piece is kept: pieces hang off the largest one through there-and-back bridges
    between their closest vertices.
    """
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    pieces = sorted((c[:, 0, :].astype(float) for c in contours), key=lambda c: (-cv2.contourArea(
        c.astype(np.float32)), -len(c), c[0, 1], c[0, 0]))
    hub = pieces[0]
    detours: dict[int, list[np.ndarray]] = {}
    for piece in pieces[1:]:
        d = ((hub[:, None, :] - piece[None, :, :]) ** 2).sum(-1)
        i, j = np.unravel_index(int(d.argmin()), d.shape)
        detours.setdefault(int(i), []).append(np.concatenate([np.roll(piece, -j, 0), piece[j:j + 1]]))
    out = []
    for i, vertex in enumerate(hub):
        out.append(vertex[None])
        for loop in detours.get(i, []):
            out += [loop, vertex[None]]
    poly = np.concatenate(out) + 0.5
    if len(poly) < 3:  # a single pixel or a straight run of pixels: repeat vertices to make a polygon
        poly = np.concatenate([poly, poly[::-1], poly])[:max(3, len(poly))]
    return poly


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
        # the run's class map: the same on every frame and worker
        entries = class_map(annos).select(self.kinds, self.skip)
        index_of = {e.semantic_id: k for k, e in enumerate(entries)}
        self.set_record(index, {"names": {str(k): e.name for k, e in enumerate(entries)}})
        split = split_of(index, self.val_fraction)
        rgb = annos["rgb"]["data"]
        stem = f"frame_{index:06d}"
        self._files.submit(self.output_dir / "images" / split / f"{stem}.png", lambda: encode_png(rgb), index)
        self._files.submit(self.output_dir / "labels" / split / f"{stem}.txt",
                           lambda: self._labels(annos, rgb.shape, index_of).encode(), index)
        if self.kinds != "parts" and "defect_segmentation" in annos:
            self._files.submit(self.output_dir / "ignore" / split / f"{stem}.txt",
                               lambda: self._ignore(annos, rgb.shape, index_of).encode(), index)
        self._files.seal(index)

    def _labels(self, annos: dict, shape, index_of: dict[int, int]) -> str:
        h, w = shape[:2]
        lines = []
        for obj in frame_objects(annos, self.kinds, self.skip):
            cls = index_of.get(obj.category_id)
            if cls is None:
                continue
            if self.task == "detect":
                x0, y0, x1, y1 = obj.box
                # pixel edges: the box covers columns x0..x1 inclusive
                cx, cy = (x0 + x1 + 1) / 2 / w, (y0 + y1 + 1) / 2 / h
                lines.append(f"{cls} {cx:.6f} {cy:.6f} {(x1 - x0 + 1) / w:.6f} {(y1 - y0 + 1) / h:.6f}")
            else:
                lines.append(self._polygon_line(cls, obj.mask, w, h))
        return "\n".join(lines) + ("\n" if lines else "")

    def _ignore(self, annos: dict, shape, index_of: dict[int, int]) -> str:
        h, w = shape[:2]
        lines = [self._polygon_line(index_of[obj.category_id], obj.mask, w, h)
                 for obj in ignore_regions(annos, self.skip) if obj.category_id in index_of]
        return "\n".join(lines) + ("\n" if lines else "")

    @staticmethod
    def _polygon_line(cls: int, mask: np.ndarray, w: int, h: int) -> str:
        poly = polygon(mask)
        return f"{cls} " + " ".join(f"{x / w:.6f} {y / h:.6f}" for x, y in poly)

    @classmethod
    def _assemble(cls, folder: Path, records: dict[int, dict], parts, settings: dict, run_info: dict) -> None:
        names: dict[int, str] = {}
        for i in sorted(records):
            for k, v in records[i].get("names", {}).items():
                names.setdefault(int(k), v)
        for split in ("train", "val"):  # Ultralytics wants both folders, even when one split is empty
            (folder / "images" / split).mkdir(parents=True, exist_ok=True)
        data = {"train": "images/train", "val": "images/val", "task": settings.get("task", "detect"),
                "nc": len(names), "names": {k: names[k] for k in sorted(names)}}
        atomic_write_bytes(folder / "data.yaml", yaml.safe_dump(data, sort_keys=False).encode())
