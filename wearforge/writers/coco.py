"""COCO instances with masks (Replicator's own CocoWriter writes none).

Writes ``coco/images/rgb_N.png``, ``coco/frame_specs/frame_spec_N.json`` and ``coco/instances.json``:
categories for part classes and/or defect classes, numbered 1..N in the run's class map order (see
wearforge.classmap: stable, contiguous, equal for datasets made with the same class list), one image per
frame (id = frame index + 1, linked to its FrameSpec), one annotation per visible object with an RLE
mask encoded by pycocotools, float area (pixels of the decoded mask) and float bbox [x, y, w, h] in
pixel-edge coordinates, iscrowd 0; defects also carry their layer, severity parameters and visible
area in mm^2 under ``attributes``. Defect ignore regions (invisible defect pixels, faint changes,
instances below the minimum size) are iscrowd 1 annotations of their class, which COCOeval ignores.
Images holding more than 100 annotations (COCOeval's default maxDets) are logged and listed under
``info.images_over_max_dets``. A restarted run merges into the existing file.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from wearforge import __version__
from wearforge.writers.base import FileWriter, atomic_write_bytes, encode_png, json_bytes, per_render_product
from wearforge.writers.objects import Kinds, class_map, frame_objects, ignore_regions

MAX_OBJECTS = 100_000  # annotation id = image id * MAX_OBJECTS + k: unique and stable across runs
MAX_DETS = 100  # COCOeval's default maxDets: annotations beyond it in one image are never matched
log = logging.getLogger("wearforge.writers")


class CocoWriter(FileWriter):
    name = "coco"

    def __init__(self, output_dir: str | Path, categories: Kinds = "both", skip_classes: tuple[str, ...] = (),
                 workers: int = 2, run_info: dict | None = None):
        super().__init__(output_dir, workers, run_info)
        self.kinds = categories
        self.skip = tuple(skip_classes)
        self._lock = threading.Lock()
        self._images: dict[int, dict] = {}
        self._annotations: dict[int, list[dict]] = {}
        self._categories: dict[int, dict] = {}
        self._category_of: dict[int, int] = {}  # semantic id -> category id
        self._created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        existing = self.output_dir / "instances.json"
        if existing.is_file():
            self._load(json.loads(existing.read_text()))

    def _load(self, data: dict) -> None:
        keep = self.done
        for img in data.get("images", []):
            if img["id"] - 1 in keep:
                self._images[img["id"]] = img
        for ann in data.get("annotations", []):
            if ann["image_id"] in self._images:
                self._annotations.setdefault(ann["image_id"], []).append(ann)
        for cat in data.get("categories", []):
            self._categories[cat["id"]] = cat
            if "semantic_id" in cat:
                self._category_of[cat["semantic_id"]] = cat["id"]
        self._created = data.get("info", {}).get("date_created", self._created)

    def write(self, data: dict) -> None:
        annos = next(iter(per_render_product(data).values()))
        index = self.next_index(annos)
        rgb = annos["rgb"]["data"]
        self._set_categories(annos)
        spec = annos.get("frame_spec", {}).get("data")
        image_rel = f"images/rgb_{index:06d}.png"
        spec_rel = f"frame_specs/frame_spec_{index:06d}.json"
        self._files.submit(self.output_dir / image_rel, lambda: encode_png(rgb), index)
        if spec is not None:
            self._files.submit(self.output_dir / spec_rel, lambda: json_bytes(spec), index)
        self._files.run(lambda: self._annotate(index, annos, rgb.shape, image_rel,
                                               spec_rel if spec is not None else None), index)
        self._files.seal(index)

    def _set_categories(self, annos: dict) -> None:
        """Categories 1..N in class-map order, fixed by the first frame (or the resumed file)."""
        with self._lock:
            if self._categories:
                return
            for k, entry in enumerate(class_map(annos).select(self.kinds, self.skip)):
                self._categories[k + 1] = {"id": k + 1, "name": entry.name, "supercategory": entry.kind,
                                           "semantic_id": entry.semantic_id}
                self._category_of[entry.semantic_id] = k + 1

    def _annotate(self, index: int, annos: dict, shape, image_rel: str, spec_rel) -> None:
        from pycocotools import mask as mask_utils

        image_id = index + 1
        anns = []
        objects = [(obj, 0) for obj in frame_objects(annos, self.kinds, self.skip)]
        if self.kinds != "parts":
            objects += [(obj, 1) for obj in ignore_regions(annos, self.skip)]
        for obj, crowd in objects:
            category = self._category_of.get(obj.category_id)
            if category is None:
                continue
            rle = mask_utils.encode(np.asfortranarray(obj.mask.astype(np.uint8)))
            x0, y0, x1, y1 = obj.box
            attributes = {"kind": obj.kind, "part": obj.part, **(obj.extra or {})}
            anns.append({
                "id": image_id * MAX_OBJECTS + len(anns) + 1, "image_id": image_id, "category_id": category,
                "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")},
                "area": float(mask_utils.area(rle)),
                "bbox": [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)], "iscrowd": crowd,
                "attributes": attributes,
            })
        image = {"id": image_id, "file_name": image_rel, "width": int(shape[1]), "height": int(shape[0]),
                 "license": 1, "date_captured": self._created, "frame_index": index}
        if spec_rel:
            image["frame_spec"] = spec_rel
        with self._lock:
            self._images[image_id] = image
            self._annotations[image_id] = anns

    def crowded_images(self) -> list[int]:
        """Image ids with more than MAX_DETS non-crowd annotations."""
        with self._lock:
            return sorted(k for k, anns in self._annotations.items()
                          if sum(1 for a in anns if not a["iscrowd"]) > MAX_DETS)

    def dataset(self) -> dict:
        with self._lock:
            images = [self._images[k] for k in sorted(self._images)]
            annotations = [a for k in sorted(self._annotations) for a in self._annotations[k]]
            categories = [self._categories[k] for k in sorted(self._categories)]
        crowded = self.crowded_images()
        info = {"description": "wearforge synthetic inspection data", "version": __version__,
                "year": int(self._created[:4]), "contributor": "wearforge", "url": "", "date_created": self._created,
                "images_over_max_dets": crowded,
                **{k: v for k, v in self.run_info.items() if isinstance(v, (str, int, float))}}
        return {"info": info, "licenses": [{"id": 1, "name": "generated by wearforge; terms of the twin's owner",
                                            "url": ""}],
                "images": images, "annotations": annotations, "categories": categories}

    def on_final_frame(self) -> None:
        super().on_final_frame()
        crowded = self.crowded_images()
        if crowded:
            log.warning("COCO: %d image(s) hold more than %d annotations, beyond COCOeval's default maxDets "
                        "(raise maxDets when evaluating): image ids %s", len(crowded), MAX_DETS,
                        ", ".join(map(str, crowded[:20])) + (" ..." if len(crowded) > 20 else ""))

    def write_manifest(self) -> None:
        # instances.json first: the manifest must never list a frame the JSON lacks
        atomic_write_bytes(self.output_dir / "instances.json", json.dumps(self.dataset()).encode())
        super().write_manifest()
