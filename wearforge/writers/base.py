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
def _read_umask() -> int:
    # read once at import, while no other thread creates files (os.umask is process-wide)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()
TMP_SUFFIX = ".tmp"


def temp_path(path: Path) -> Path:
    """A hidden temporary name next to ``path``, unique per process and thread; ``.tmp`` marks it stale."""
    return path.parent / f".{path.name}.{os.getpid()}-{threading.get_ident()}{TMP_SUFFIX}"


def commit_file(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the user's umask (mkstemp makes 0600) and rename it to ``path`` atomically."""
    os.chmod(tmp, 0o666 & ~UMASK)
    os.replace(tmp, path)


def atomic_write_bytes(path: Path, blob: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        commit_file(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: Path) -> int:
    """Delete the hidden ``.NAME.*.tmp`` files a killed run left under ``folder``; returns how many.

    Only safe while no other process writes into ``folder`` (not during a ``--shards`` array run).
    """
    count = 0
    for tmp in Path(folder).rglob(f".*{TMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            count += 1
    return count


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


# ------------------------------------------------------------------------------ shards
SHARDS_DIR = "shards"
DEFAULT_SHARD_FRAMES = 8


def shard_of(index: int, shard_frames: int) -> int:
    return index // shard_frames


def record_path(folder: Path, writer: str, shard: int) -> Path:
    """Where ``writer`` commits shard ``shard`` in ``folder``: its record, and the ``.tar`` of its bytes beside."""
    return Path(folder) / SHARDS_DIR / f"{writer}-{shard:06d}.json"


def read_records(folder: Path, writer: str) -> dict[int, dict]:
    """The committed shard records of ``writer`` in ``folder``, by shard index (unreadable ones count as absent)."""
    out: dict[int, dict] = {}
    for path in sorted((Path(folder) / SHARDS_DIR).glob(f"{writer}-[0-9]*.json")):
        try:
            record = json.loads(path.read_text())
            out[int(record["shard"])] = record
        except (OSError, ValueError, KeyError, TypeError):
            continue  # records are renamed into place whole; this one was not written by wearforge
    return out


def read_part(path: Path) -> dict[str, bytes]:
    """Members of a shard's byte archive (name -> bytes); empty when there is none."""
    import tarfile

    if not path.is_file():
        return {}
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def write_tar(path: Path, members: list[tuple[str, bytes]]) -> None:
    """A reproducible tar (mtime 0, mode 0644, no owner names), renamed into place when complete."""
    import io
    import tarfile

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
            for name, blob in members:
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                info.mtime = 0
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(blob))
        commit_file(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class FileWriter(Writer):
    """A writer that owns a folder: background encoding, shards committed atomically, derived files assembled.

    Per-frame files go straight to their final names (atomically). What a frame contributes to files that
    cover many frames (COCO's instances.json, YOLO's data.yaml, WebDataset tars, the contact sheet) is kept
    as a per-frame *record* (and member bytes); frames are grouped in shards of ``shard_frames`` consecutive
    indices, and a shard is committed as ``shards/NAME-SSSSSS.json`` (plus ``.tar`` for bytes) once all its
    files are on disk. ``assemble`` rebuilds the derived files and ``manifest.json`` from committed records
    only, so their bytes depend on which frames are committed, never on the order, the process that rendered
    them or an interruption.
    """

    name = "files"
    manifest = True  # writes manifest.json (the contact sheet shares the dataset root and does not)

    def __init__(self, output_dir: str | Path, workers: int = 2, run_info: dict | None = None,
                 shard_frames: int = DEFAULT_SHARD_FRAMES):
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.run_info = dict(run_info or {})
        self.shard_frames = int(shard_frames)
        self._done_lock = threading.Lock()
        self._records: dict[int, dict] = {}  # frame -> record, files on disk, not yet committed
        self._pending: dict[int, dict] = {}  # frame -> record, files still being written
        self._members: dict[int, list[tuple[str, bytes]]] = {}
        self._files = BackgroundFiles(workers=workers, on_frame_done=self._frame_done)
        self._count = 0
        self._open_shard: int | None = None

    # -- the per-frame side (subclasses call these) --------------------------------------------------
    def settings(self) -> dict:
        """Options that shape the derived files (kept in every record; ``merge`` reuses them)."""
        return {}

    def wants(self, index: int) -> bool:
        """Whether this writer needs frame ``index`` at all."""
        return True

    def set_record(self, index: int, record: dict) -> None:
        """What frame ``index`` contributes to the derived files (JSON-serialisable)."""
        with self._done_lock:
            self._pending.setdefault(index, {}).update(record)

    def add_members(self, index: int, members: dict[str, bytes]) -> None:
        """Bytes of frame ``index`` kept in the shard's archive (for files assembled from many frames)."""
        with self._done_lock:
            self._members.setdefault(index, []).extend(members.items())
            self._pending.setdefault(index, {})["members"] = [n for n, _ in self._members[index]]

    def _frame_done(self, frame: int) -> None:
        with self._done_lock:
            self._records[frame] = self._pending.pop(frame, {})

    def next_index(self, annotators: dict) -> int:
        n = frame_index(annotators, self._count)
        self._count += 1
        shard = shard_of(n, self.shard_frames)
        if self._open_shard is not None and shard != self._open_shard:
            self.commit()  # frames arrive in order (Replicator, generate): the previous shard is complete
        self._open_shard = shard
        return n

    # -- committing ----------------------------------------------------------------------------------
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
        """Frames committed in this folder by this writer (by any run, process or machine)."""
        return {int(i) for r in read_records(self.output_dir, self.name).values() for i in r.get("frames", [])}

    def commit(self) -> list[int]:
        """Wait for pending files, then commit every shard with finished frames; returns the shards."""
        self._files.flush()
        with self._done_lock:
            records, self._records = self._records, {}
            members = {i: self._members.pop(i) for i in list(self._members) if i in records}
        by_shard: dict[int, list[int]] = {}
        for i in sorted(records):
            by_shard.setdefault(shard_of(i, self.shard_frames), []).append(i)
        for shard, frames in by_shard.items():
            self._commit_shard(shard, {i: records[i] for i in frames}, {i: members.get(i, []) for i in frames})
        return sorted(by_shard)

    def _commit_shard(self, shard: int, records: dict[int, dict], members: dict[int, list]) -> None:
        path = record_path(self.output_dir, self.name, shard)
        old = read_records(self.output_dir, self.name).get(shard)
        frames = dict(records)
        old_bytes: dict[str, bytes] = {}
        if old and old.get("recipe_hash") == self.run_info.get("recipe_hash"):
            # a resumed shard keeps what it had (e.g. a run extended with more frames)
            for key, rec in old.get("records", {}).items():
                frames.setdefault(int(key), rec)
            old_bytes = read_part(path.with_suffix(".tar"))
        blobs = []
        for i in sorted(frames):
            if i in members and members[i]:
                blobs.extend(members[i])
            else:
                blobs.extend((n, old_bytes[n]) for n in frames[i].get("members", []) if n in old_bytes)
        if blobs:
            write_tar(path.with_suffix(".tar"), blobs)  # before the record: the record is the commit point
        atomic_write_bytes(path, json.dumps({
            "writer": self.name, **self.run_info, "shard": shard, "shard_frames": self.shard_frames,
            "settings": self.settings(), "frames": sorted(frames),
            "records": {str(i): frames[i] for i in sorted(frames)}}, sort_keys=True, default=_json_default).encode())

    def close(self) -> None:
        """Commit what was written and stop the file threads (no derived files: see ``assemble``)."""
        try:
            self.commit()
        finally:
            self._files.close()

    def on_final_frame(self) -> None:
        self.close()
        self.assemble(self.output_dir, self.settings(), self.run_info)

    # -- assembling ----------------------------------------------------------------------------------
    @classmethod
    def assemble(cls, folder: Path, settings: dict | None = None, run_info: dict | None = None) -> list[int]:
        """Rebuild this writer's derived files and manifest in ``folder`` from its committed shards.

        ``settings``/``run_info`` default to those recorded in the shards (which must agree).
        Returns the frames the derived files hold.
        """
        from wearforge.errors import InputError

        shards = read_records(folder, cls.name)
        runs = {(r.get("recipe_hash"), r.get("seed")) for r in shards.values()}
        if len(runs) > 1:
            detail = ", ".join(f"{h} seed {s}" for h, s in sorted(runs, key=str))
            raise InputError(f"{Path(folder) / SHARDS_DIR} holds {cls.name} shards of different recipes ({detail}); "
                             "merge each run into its own folder", field="output.dir")
        if settings is None:
            seen = {json.dumps(r.get("settings", {}), sort_keys=True) for r in shards.values()}
            if len(seen) > 1:
                raise InputError(f"{Path(folder) / SHARDS_DIR}: {cls.name} shards were written with different "
                                 f"settings ({' vs '.join(sorted(seen))}); rerun generate with output.overwrite",
                                 field="output")
            settings = json.loads(seen.pop()) if seen else {}
        if run_info is None:
            first = shards[min(shards)] if shards else {}
            run_info = {k: first[k] for k in ("recipe", "recipe_hash", "seed") if k in first}
        records = {int(i): rec for r in shards.values() for i, rec in r.get("records", {}).items()}
        parts = {int(i): record_path(folder, cls.name, s).with_suffix(".tar")
                 for s, r in shards.items() for i in r.get("frames", [])}
        extra = cls._assemble(Path(folder), {i: records[i] for i in sorted(records)}, parts, settings, run_info)
        frames = sorted(records)
        if cls.manifest:
            atomic_write_bytes(Path(folder) / "manifest.json", json.dumps(
                {"writer": cls.name, **run_info, "count": len(frames), "frames": frames, **(extra or {})}).encode())
        return frames

    @classmethod
    def _assemble(cls, folder: Path, records: dict[int, dict], parts: dict[int, Path], settings: dict,
                  run_info: dict) -> dict | None:
        """Write the files derived from ``records`` (frame -> record, in frame order); ``parts`` locates bytes.

        May return extra manifest fields."""


def member_bytes(parts: dict[int, Path], records: dict[int, dict], frames) -> dict[int, list[tuple[str, bytes]]]:
    """The archived members of ``frames``, read from their shards' archives (each archive opened once)."""
    by_part: dict[Path, list[int]] = {}
    for i in frames:
        by_part.setdefault(parts[i], []).append(i)
    out: dict[int, list[tuple[str, bytes]]] = {}
    for path, idx in by_part.items():
        blobs = read_part(path)
        for i in idx:
            names = records[i].get("members", [])
            missing = [n for n in names if n not in blobs]
            if missing:
                from wearforge.errors import InputError

                raise InputError(f"{path} lacks {missing[0]} of frame {i}; remove {path.with_suffix('.json')} "
                                 "and rerun generate to render that shard again", field="output.dir")
            out[i] = [(n, blobs[n]) for n in names]
    return out
