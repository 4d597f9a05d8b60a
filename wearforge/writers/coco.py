"""COCO instances with masks (Replicator's own CocoWriter writes none).

Writes ``coco/images/rgb_N.png``, ``coco/frame_specs/frame_spec_N.json`` and ``coco/instances.json``:
categories for part classes and/or defect classes (ids = wearforge's stable semantic ids), one image per
frame (id = frame index + 1, linked to its FrameSpec), one annotation per visible object with an RLE
mask encoded by pycocotools, its area (pixel count of the decoded mask), bbox [x, y, w, h] and
iscrowd 0. Each frame's image, annotations and categories are committed with its shard;
``instances.json`` is assembled from the committed shards (sorted by id), so it is the same file whatever
order, worker count or interruption the frames went through.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from wearforge import __version__
from wearforge.writers.base import (DEFAULT_SHARD_FRAMES, FileWriter, atomic_write_bytes, encode_png, json_bytes,
                                    per_render_product)
from wearforge.writers.objects import Kinds, class_table, frame_objects

MAX_OBJECTS = 100_000  # annotation id = image id * MAX_OBJECTS + k: unique and stable across runs


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
        classes = class_table(annos)
        spec = annos.get("frame_spec", {}).get("data")
        image_rel = f"images/rgb_{index:06d}.png"
        spec_rel = f"frame_specs/frame_spec_{index:06d}.json"
        self._files.submit(self.output_dir / image_rel, lambda: encode_png(rgb), index)
        if spec is not None:
            self._files.submit(self.output_dir / spec_rel, lambda: json_bytes(spec), index)
        self._files.run(lambda: self._annotate(index, annos, classes, rgb.shape, image_rel,
                                               spec_rel if spec is not None else None), index)
        self._files.seal(index)

    def _annotate(self, index: int, annos: dict, classes: dict[int, str], shape, image_rel: str, spec_rel) -> None:
        from pycocotools import mask as mask_utils

        image_id = index + 1
        anns = []
        for k, obj in enumerate(frame_objects(annos, self.kinds, self.skip)):
            rle = mask_utils.encode(np.asfortranarray(obj.mask.astype(np.uint8)))
            x0, y0, x1, y1 = obj.box
            anns.append({
                "id": image_id * MAX_OBJECTS + k + 1, "image_id": image_id, "category_id": obj.category_id,
                "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")},
                "area": int(mask_utils.area(rle)), "bbox": [x0, y0, x1 - x0 + 1, y1 - y0 + 1], "iscrowd": 0,
                "attributes": {"kind": obj.kind, "part": obj.part},
            })
        image = {"id": image_id, "file_name": image_rel, "width": int(shape[1]), "height": int(shape[0]),
                 "frame_index": index}
        if spec_rel:
            image["frame_spec"] = spec_rel
        categories = [{"id": cid, "name": name, "supercategory": self._kind_of(name, annos)}
                      for cid, name in sorted(classes.items()) if self._wanted(name, cid, annos)]
        self.set_record(index, {"image": image, "annotations": anns, "categories": categories})

    def _kind_of(self, name: str, annos: dict) -> str:
        from wearforge.wear.defects import DEFECT_CLASSES

        return "defect" if name in DEFECT_CLASSES else "part"

    def _wanted(self, name: str, cid: int, annos: dict) -> bool:
        if name in self.skip:
            return False
        kind = self._kind_of(name, annos)
        return self.kinds == "both" or self.kinds == kind + "s"

    @staticmethod
    def dataset(records: dict[int, dict], run_info: dict) -> dict:
        """The COCO dataset of committed frame records (frame -> record)."""
        images = sorted((r["image"] for r in records.values()), key=lambda img: img["id"])
        annotations = [a for i in sorted(records) for a in records[i]["annotations"]]
        categories: dict[int, dict] = {}
        for i in sorted(records):
            for cat in records[i]["categories"]:
                categories.setdefault(cat["id"], cat)
        return {"info": {"description": "wearforge synthetic inspection data", "version": __version__,
                         **{k: v for k, v in run_info.items() if isinstance(v, (str, int, float))}},
                "licenses": [], "images": images, "annotations": annotations,
                "categories": [categories[k] for k in sorted(categories)]}

    @classmethod
    def _assemble(cls, folder: Path, records: dict[int, dict], parts, settings: dict, run_info: dict) -> None:
        atomic_write_bytes(folder / "instances.json", json.dumps(cls.dataset(records, run_info)).encode())
