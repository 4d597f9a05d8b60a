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
``info.images_over_max_dets``.

Each frame's image, annotations and categories are committed with its shard; ``instances.json`` is
assembled from the committed shards (sorted by id), so it is the same file whatever order, worker count
or interruption the frames went through. Dates come from ``SOURCE_DATE_EPOCH`` (the reproducible-builds
convention) when it is set, else the Unix epoch, so that two runs of a recipe give the same bytes.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from wearforge import __version__
from wearforge.writers.base import (DEFAULT_SHARD_FRAMES, FileWriter, atomic_write_bytes, encode_png, json_bytes,
                                    per_render_product)
from wearforge.writers.objects import Kinds, class_map, frame_objects, ignore_regions

MAX_OBJECTS = 100_000  # annotation id = image id * MAX_OBJECTS + k: unique and stable across runs
MAX_DETS = 100  # COCOeval's default maxDets: annotations beyond it in one image are never matched
log = logging.getLogger("wearforge.writers")


def dataset_date() -> str:
    """ISO date stamped on images and info: SOURCE_DATE_EPOCH when set, else the epoch (byte-stable files)."""
    try:
        seconds = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    except ValueError:
        seconds = 0
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class CocoWriter(FileWriter):
    name = "coco"

    def __init__(self, output_dir: str | Path, categories: Kinds = "both", skip_classes: tuple[str, ...] = (),
                 workers: int = 2, run_info: dict | None = None, shard_frames: int = DEFAULT_SHARD_FRAMES):
        super().__init__(output_dir, workers, run_info, shard_frames)
        self.kinds = categories
        self.skip = tuple(skip_classes)

    def write(self, data: dict) -> None:
        annos = next(iter(per_render_product(data).values()))
        index = self.next_index(annos)
        rgb = annos["rgb"]["data"]
        spec = annos.get("frame_spec", {}).get("data")
        image_rel = f"images/rgb_{index:06d}.png"
        spec_rel = f"frame_specs/frame_spec_{index:06d}.json"
        self._files.submit(self.output_dir / image_rel, lambda: encode_png(rgb), index)
        if spec is not None:
            self._files.submit(self.output_dir / spec_rel, lambda: json_bytes(spec), index)
        self._files.run(lambda: self._annotate(index, annos, rgb.shape, image_rel,
                                               spec_rel if spec is not None else None), index)
        self._files.seal(index)

    def categories(self, annos: dict) -> list[dict]:
        """Categories 1..N in class-map order (the run's map: the same for every frame and worker)."""
        return [{"id": k + 1, "name": e.name, "supercategory": e.kind, "semantic_id": e.semantic_id}
                for k, e in enumerate(class_map(annos).select(self.kinds, self.skip))]

    def _annotate(self, index: int, annos: dict, shape, image_rel: str, spec_rel) -> None:
        from pycocotools import mask as mask_utils

        categories = self.categories(annos)
        category_of = {c["semantic_id"]: c["id"] for c in categories}
        image_id = index + 1
        anns = []
        objects = [(obj, 0) for obj in frame_objects(annos, self.kinds, self.skip)]
        if self.kinds != "parts":
            objects += [(obj, 1) for obj in ignore_regions(annos, self.skip)]
        for obj, crowd in objects:
            category = category_of.get(obj.category_id)
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
                 "license": 1, "date_captured": dataset_date(), "frame_index": index}
        if spec_rel:
            image["frame_spec"] = spec_rel
        self.set_record(index, {"image": image, "annotations": anns, "categories": categories})

    @staticmethod
    def crowded_images(records: dict[int, dict]) -> list[int]:
        """Image ids with more than MAX_DETS non-crowd annotations."""
        return sorted(r["image"]["id"] for r in records.values()
                      if sum(1 for a in r["annotations"] if not a["iscrowd"]) > MAX_DETS)

    @classmethod
    def dataset(cls, records: dict[int, dict], run_info: dict) -> dict:
        """The COCO dataset of committed frame records (frame -> record)."""
        images = sorted((r["image"] for r in records.values()), key=lambda img: img["id"])
        annotations = [a for i in sorted(records) for a in records[i]["annotations"]]
        categories: dict[int, dict] = {}
        for i in sorted(records):
            for cat in records[i]["categories"]:
                categories.setdefault(cat["id"], cat)
        date = dataset_date()
        info = {"description": "wearforge synthetic inspection data", "version": __version__,
                "year": int(date[:4]), "contributor": "wearforge", "url": "", "date_created": date,
                "images_over_max_dets": cls.crowded_images(records),
                **{k: v for k, v in run_info.items() if isinstance(v, (str, int, float))}}
        return {"info": info, "licenses": [{"id": 1, "name": "generated by wearforge; terms of the twin's owner",
                                            "url": ""}],
                "images": images, "annotations": annotations,
                "categories": [categories[k] for k in sorted(categories)]}

    @classmethod
    def _assemble(cls, folder: Path, records: dict[int, dict], parts, settings: dict, run_info: dict) -> None:
        data = cls.dataset(records, run_info)
        crowded = data["info"]["images_over_max_dets"]
        if crowded:
            log.warning("COCO: %d image(s) hold more than %d annotations, beyond COCOeval's default maxDets "
                        "(raise maxDets when evaluating): image ids %s", len(crowded), MAX_DETS,
                        ", ".join(map(str, crowded[:20])) + (" ..." if len(crowded) > 20 else ""))
        atomic_write_bytes(folder / "instances.json", json.dumps(data).encode())
