"""Replicator's Writer interface and helpers shared by every wearforge writer.

A writer gets one payload per frame in any of Replicator's three ``data_structure`` layouts:
  annotator:       {"annotators": {anno: {render_product: payload}}, "trigger_outputs": ..., ...}
  renderProduct:   {"renderProducts": {render_product: {anno: payload, "camera": ..., "resolution": ...}}}
  legacy:          {anno: {"data": ..., "info": {...}}}  (one render product)
``per_render_product`` turns all three into {render_product: {anno: flat payload}}.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

DEFAULT_RENDER_PRODUCT = "RenderProduct_wearforge"


class Writer(ABC):
    """Base class with Replicator's interface: ``write(data)`` per frame, ``on_final_frame()`` at the end."""

    data_structure = "annotator"

    @abstractmethod
    def write(self, data: dict) -> None:
        """Consume one frame's payload."""

    def on_final_frame(self) -> None:
        """Called once after the last frame (Replicator calls it when the orchestrator stops)."""


def to_annotator_layout(annotations: dict[str, dict], index: int,
                        render_product: str = DEFAULT_RENDER_PRODUCT) -> dict:
    """Wrap {annotator: payload} as Replicator's default ("annotator") writer payload."""
    return {
        "annotators": {name: {render_product: payload} for name, payload in annotations.items()},
        "trigger_outputs": {"on_frame": index},
        "reference_time": {"referenceTimeNumerator": index, "referenceTimeDenominator": 1},
    }


def _flatten(payload: Any) -> Any:
    """Legacy payloads nest extras under 'info'; writers read them flat, as BasicWriter does."""
    if isinstance(payload, dict) and isinstance(payload.get("info"), dict):
        flat = {k: v for k, v in payload.items() if k != "info"}
        flat.update(payload["info"])
        return flat
    if isinstance(payload, np.ndarray):
        return {"data": payload}
    return payload


def per_render_product(data: dict) -> dict[str, dict[str, Any]]:
    """Normalise any of the three layouts to {render_product: {annotator: payload}}."""
    if "annotators" in data:
        out: dict[str, dict[str, Any]] = {}
        for anno, by_rp in data["annotators"].items():
            name = anno[:-5] if anno.endswith("_fast") else anno
            for rp, payload in by_rp.items():
                out.setdefault(rp, {})[name] = _flatten(payload)
        return out
    if "renderProducts" in data:
        return {rp: {(k[:-5] if k.endswith("_fast") else k): _flatten(v) for k, v in annos.items()}
                for rp, annos in data["renderProducts"].items()}
    skip = {"trigger_outputs", "reference_time"}
    return {DEFAULT_RENDER_PRODUCT: {(k[:-5] if k.endswith("_fast") else k): _flatten(v)
                                     for k, v in data.items() if k not in skip}}


def frame_index(annotators: dict[str, Any], fallback: int) -> int:
    spec = annotators.get("frame_spec")
    if isinstance(spec, dict) and isinstance(spec.get("data"), dict) and "index" in spec["data"]:
        return int(spec["data"]["index"])
    return fallback


# ------------------------------------------------------------------------------ atomic file output
_UMASK = os.umask(0o022)  # os has no getter: read the process umask once, put it back
os.umask(_UMASK)


def atomic_write_bytes(path: Path, blob: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_UMASK)  # mkstemp makes 0600; files get the user's umask like open()
            fh.write(blob)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes with OpenCV (RGB/RGBA input; 8- or 16-bit; fast zlib level)."""
    img = image
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[..., ::-1]
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[..., [2, 1, 0, 3]]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError(f"PNG encoding failed for array {image.shape} {image.dtype}")
    return buf.tobytes()


def npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, indent=1, default=_json_default).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class BackgroundFiles:
    """Encode and write files on worker threads with a bound on jobs in flight (back-pressure).

    OpenCV, zlib and pycocotools release the GIL, so encoding overlaps the next frame's rendering.
    Jobs may belong to a frame; ``on_frame_done(frame)`` runs once all of that frame's jobs finished.
    """

    def __init__(self, workers: int = 2, max_pending: int = 64, on_frame_done: Callable[[int], None] | None = None):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wearforge-writer")
        self._slots = threading.BoundedSemaphore(max_pending)
        self._futures: list[Future] = []
        self._lock = threading.Lock()
        self._open: dict[int, int] = {}
        self._sealed: set[int] = set()
        self._on_frame_done = on_frame_done

    def run(self, job: Callable[[], None], frame: int | None = None) -> None:
        """Run ``job`` on a worker thread (blocks while too many jobs are pending)."""
        self._slots.acquire()
        if frame is not None:
            with self._lock:
                self._open[frame] = self._open.get(frame, 0) + 1

        def wrapped() -> None:
            try:
                job()
            finally:
                self._slots.release()
            if frame is not None:
                self._finish(frame)

        future = self._pool.submit(wrapped)
        with self._lock:
            self._futures = [f for f in self._futures if not f.done() or f.exception()]
            self._futures.append(future)

    def submit(self, path: Path, make_bytes: Callable[[], bytes], frame: int | None = None) -> None:
        """Write ``make_bytes()`` to ``path`` atomically on a worker thread."""
        self.run(lambda: atomic_write_bytes(path, make_bytes()), frame)

    def seal(self, frame: int) -> None:
        """No more jobs will be added for ``frame`` (it may complete now)."""
        with self._lock:
            self._sealed.add(frame)
            done = self._open.get(frame, 0) == 0
        if done:
            self._complete(frame)

    def _finish(self, frame: int) -> None:
        with self._lock:
            self._open[frame] -= 1
            done = self._open[frame] == 0 and frame in self._sealed
        if done:
            self._complete(frame)

    def _complete(self, frame: int) -> None:
        with self._lock:
            self._open.pop(frame, None)
            self._sealed.discard(frame)
        if self._on_frame_done:
            self._on_frame_done(frame)

    def flush(self) -> None:
        """Wait for every pending job; re-raise the first failure."""
        while True:
            with self._lock:
                futures, self._futures = self._futures, []
            if not futures:
                return
            for f in futures:
                f.result()

    def close(self) -> None:
        self.flush()
        self._pool.shutdown(wait=True)


class FileWriter(Writer):
    """A writer that owns a folder: background encoding, a manifest of completed frames, resume.

    ``manifest.json`` lists the frames whose files are all on disk; it is rewritten atomically as frames
    complete, so after a crash a restarted run renders exactly the missing frames again.
    """

    name = "files"

    def __init__(self, output_dir: str | Path, workers: int = 2, run_info: dict | None = None):
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.run_info = dict(run_info or {})
        self._done_lock = threading.Lock()
        self.done: set[int] = set(self.read_manifest(self.output_dir).get("frames", []))
        self._files = BackgroundFiles(workers=workers, on_frame_done=self._frame_done)
        self._count = 0
        self._since_manifest = 0

    @staticmethod
    def read_manifest(folder: Path) -> dict:
        path = Path(folder) / "manifest.json"
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def completed(self) -> set[int]:
        """Frames already written by this writer (from a previous run too)."""
        with self._done_lock:
            return set(self.done)

    def _frame_done(self, frame: int) -> None:
        with self._done_lock:
            self.done.add(frame)
            self._since_manifest += 1
            due = self._since_manifest >= 16
        if due:
            self.write_manifest()

    def write_manifest(self) -> None:
        with self._done_lock:
            frames = sorted(self.done)
            self._since_manifest = 0
        atomic_write_bytes(self.output_dir / "manifest.json", json.dumps(
            {"writer": self.name, **self.run_info, "count": len(frames), "frames": frames}).encode())

    def next_index(self, annotators: dict) -> int:
        n = frame_index(annotators, self._count)
        self._count += 1
        return n

    def on_final_frame(self) -> None:
        self._files.close()
        self.write_manifest()
