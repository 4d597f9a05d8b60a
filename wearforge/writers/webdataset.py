"""WebDataset tar shards: one sample per frame.

Members per sample (key = zero-padded frame index): ``{key}.png`` (rgb), ``{key}.depth.npy`` (float32
metres, lossless), ``{key}.seg.npy`` (uint32 instance ids), ``{key}.defects.npy`` (uint16 defect class ids,
0 = none, ``IGNORE_ID`` 65535 = ignore), ``{key}.defect_instances.npy`` (uint32 defect instance ids, 0 = none),
``{key}.json`` (boxes, labels, defect instances, the class list and the FrameSpec). Id maps are .npy so
WebDataset's default decoders return them bit-exact (its image decoders would turn 16-bit PNGs into 8-bit
or float). Small runs fit in one tar: readers with more workers than tars pass ``empty_check=False``
(see the README). Samples are committed with their
work shard (``shards/webdataset-SSSSSS.tar``); ``shard-NNNNNN.tar`` holds the committed frames with index in
``[N * shard_size, (N + 1) * shard_size)`` in index order, so its boundaries and bytes are fixed by the
frame indices alone, whatever the worker count or interruptions. ``manifest.json`` lists each tar's frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wearforge.labels import IGNORE_ID
from wearforge.writers.base import (DEFAULT_SHARD_FRAMES, FileWriter, encode_png, json_bytes, member_bytes,
                                    npy_bytes, per_render_product, write_tar)


class WebDatasetWriter(FileWriter):
    name = "webdataset"

    def __init__(self, output_dir: str | Path, shard_size: int = 256, workers: int = 2, run_info: dict | None = None,
                 shard_frames: int = DEFAULT_SHARD_FRAMES):
        super().__init__(output_dir, workers, run_info, shard_frames)
        self.shard_size = shard_size

    def settings(self) -> dict:
        return {"shard_size": self.shard_size}

    def write(self, data: dict) -> None:
        annos = next(iter(per_render_product(data).values()))
        index = self.next_index(annos)
        self._files.run(lambda: self.add_members(index, self._sample(index, annos)), index)
        self._files.seal(index)

    def _sample(self, index: int, annos: dict) -> dict[str, bytes]:
        key = f"{index:08d}"
        out = {f"{key}.png": encode_png(annos["rgb"]["data"])}
        if "distance_to_camera" in annos:
            out[f"{key}.depth.npy"] = npy_bytes(annos["distance_to_camera"]["data"].astype(np.float32))
        if "instance_segmentation" in annos:
            out[f"{key}.seg.npy"] = npy_bytes(annos["instance_segmentation"]["data"].astype(np.uint32))
        if "defect_segmentation" in annos:
            seg = annos["defect_segmentation"]
            defects = seg["data"].astype(np.uint16)
            if seg.get("ignore") is not None:
                defects[seg["ignore"] > 0] = IGNORE_ID
            out[f"{key}.defects.npy"] = npy_bytes(defects)
        if "defect_instances" in annos:
            out[f"{key}.defect_instances.npy"] = npy_bytes(annos["defect_instances"]["mask"].astype(np.uint32))
        meta = {"frame_index": index}
        if annos.get("semantic_segmentation", {}).get("classList"):
            meta["classes"] = annos["semantic_segmentation"]["classList"]
        for name in ("bounding_box_2d_tight", "bounding_box_2d_loose"):
            if name in annos:
                p = annos[name]
                meta[name] = {"boxes": [dict(zip(p["data"].dtype.names, (v.item() for v in row))) for row in p["data"]],
                              "labels": p.get("idToLabels", {}), "prim_paths": list(p.get("primPaths", []))}
        if "instance_segmentation" in annos:
            meta["instances"] = {"paths": annos["instance_segmentation"].get("idToLabels", {}),
                                 "classes": annos["instance_segmentation"].get("idToSemantics", {})}
        if "defect_instances" in annos:
            d = annos["defect_instances"]
            meta["defects"] = {"instances": [dict(zip(d["data"].dtype.names, (v.item() for v in row))) for row in d["data"]],
                               "labels": d.get("idToLabels", {}),
                               "classes": annos.get("defect_segmentation", {}).get("idToLabels", {}),
                               "ignore_id": IGNORE_ID,
                               "ignore_classes": annos.get("defect_segmentation", {}).get("ignoreLabels", {})}
        if "frame_spec" in annos:
            meta["frame_spec"] = annos["frame_spec"]["data"]
        out[f"{key}.json"] = json_bytes(meta)
        return out

    @classmethod
    def _assemble(cls, folder: Path, records: dict[int, dict], parts: dict[int, Path], settings: dict,
                  run_info: dict) -> dict:
        size = int(settings.get("shard_size", 256))
        tars: dict[str, list[int]] = {}
        for i in sorted(records):
            tars.setdefault(f"shard-{i // size:06d}.tar", []).append(i)
        before = cls.read_manifest(folder).get("tars", {})
        for name, frames in tars.items():
            if before.get(name) == frames and (folder / name).is_file():
                continue  # same frames, same bytes: a completed tar is not written again
            members = member_bytes(parts, records, frames)
            write_tar(folder / name, [m for i in frames for m in members[i]])
        for stale in folder.glob("shard-*.tar"):
            if stale.name not in tars:
                stale.unlink()
        return {"tars": tars}
