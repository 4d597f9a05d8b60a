"""WebDataset tar shards: one sample per frame.

Members per sample (key = zero-padded frame index): ``{key}.png`` (rgb), ``{key}.depth.npy`` (float32
metres), ``{key}.seg.npy`` (uint32 instance ids), ``{key}.defects.npy`` (uint16 defect class ids, 0 = none,
``IGNORE_ID`` 65535 = ignore), ``{key}.defect_instances.npy`` (uint32 defect instance ids, 0 = none),
``{key}.json`` (boxes, labels, defect instances, the class list and the FrameSpec). Id maps are .npy so
WebDataset's default decoders return them bit-exact (its image decoders would turn 16-bit PNGs into
8-bit or float). Small runs fit in one shard: readers with more workers than shards pass
``empty_check=False`` (see the README). A shard is written as
``shard-NNNNNN.tar.tmp`` and renamed when it holds ``shard_size`` samples (or at the end), so readers
never see a partial shard; a restarted run starts a new shard after the last complete one.
"""

from __future__ import annotations

import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from wearforge.labels import IGNORE_ID
from wearforge.writers.base import FileWriter, encode_png, json_bytes, npy_bytes, per_render_product


class WebDatasetWriter(FileWriter):
    name = "webdataset"

    def __init__(self, output_dir: str | Path, shard_size: int = 256, workers: int = 2, run_info: dict | None = None):
        super().__init__(output_dir, workers, run_info)
        self.shard_size = shard_size
        for stale in self.output_dir.glob("shard-*.tar.tmp"):
            stale.unlink()  # a crashed run's partial shard; its frames are not in the manifest
        numbers = [int(p.name[6:12]) for p in self.output_dir.glob("shard-*.tar")]
        self._shard_no = max(numbers, default=-1) + 1
        self._tar = None
        self._tar_path: Path | None = None
        self._in_shard: list[int] = []
        # encoding runs on a pool; tar members are appended in frame order by one thread owning the shard
        self._encoder = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wearforge-encode")
        self._appender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wearforge-shard")
        self._slots = threading.BoundedSemaphore(16)
        self._pending = []

    def write(self, data: dict) -> None:
        annos = next(iter(per_render_product(data).values()))
        index = self.next_index(annos)
        self._slots.acquire()  # back-pressure: at most 16 samples in flight
        encoded = self._encoder.submit(self._sample, index, annos)

        def append() -> None:
            try:
                self._append(index, encoded.result())
            finally:
                self._slots.release()

        self._pending = [f for f in self._pending if not f.done() or f.exception()]
        self._pending.append(self._appender.submit(append))

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

    def _append(self, index: int, members: dict[str, bytes]) -> None:
        import tarfile

        if self._tar is None:
            self._tar_path = self.output_dir / f"shard-{self._shard_no:06d}.tar"
            self._tar = tarfile.open(str(self._tar_path) + ".tmp", "w")
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            info.mtime = 0  # reproducible shards
            info.mode = 0o644
            self._tar.addfile(info, io.BytesIO(blob))
        self._in_shard.append(index)
        if len(self._in_shard) >= self.shard_size:
            self._close_shard()

    def _close_shard(self) -> None:
        if self._tar is None:
            return
        self._tar.close()
        os.replace(str(self._tar_path) + ".tmp", self._tar_path)
        frames, self._in_shard = self._in_shard, []
        self._tar, self._shard_no = None, self._shard_no + 1
        with self._done_lock:
            self.done.update(frames)
        FileWriter.write_manifest(self)

    def on_final_frame(self) -> None:
        for f in self._pending:
            f.result()
        self._appender.submit(self._close_shard).result()
        self._appender.shutdown(wait=True)
        self._encoder.shutdown(wait=True)
        super().on_final_frame()
