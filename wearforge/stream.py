"""Consume frames that a running ``wearforge generate`` (stream writer) publishes.

    for frame in FrameStream("tcp://127.0.0.1:5557"):
        rgb = frame["rgb"]["data"]                     # (H, W, 4) uint8, zero-copy view
        masks = frame["instance_segmentation"]["data"]

    loader = torch.utils.data.DataLoader(torch_dataset("tcp://127.0.0.1:5557"), batch_size=8, collate_fn=collate)

A frame is acknowledged when the next one is requested, so a consumer that crashes mid-frame gets it
again after a restart. Iteration ends when the producer finishes (END completed); a producer that
aborts (END aborted) or stops answering (no heartbeat for ``heartbeat_timeout`` seconds) raises
StreamError with what happened and how many frames came.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import numpy as np

from wearforge.writers.stream import DEFAULT_ENDPOINT, unpack

SECRET_ENV = "WEARFORGE_STREAM_SECRET"


class StreamError(RuntimeError):
    """The producer aborted, or went silent (killed, or the network is gone)."""


class StreamTimeout(StreamError, TimeoutError):
    """No message from the producer within the time allowed."""


class FrameStream:
    """An iterator over streamed frames (dicts of annotator payloads, plus 'seq').

    ``timeout``: seconds to wait for the producer's first message (None: wait for it to start).
    ``heartbeat_timeout``: once the producer has been heard, the longest silence before StreamTimeout
    (a live producer sends a heartbeat every second, also while a slow frame renders).
    ``secret``: the producer's shared secret (default: the WEARFORGE_STREAM_SECRET environment variable).
    After iteration, ``end`` holds the producer's last word: {"status": "completed", "frames": n}.
    """

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, prefetch: int = 2, timeout: float | None = None,
                 heartbeat_timeout: float = 5.0, secret: str | None = None):
        self.endpoint = endpoint
        self.prefetch = prefetch
        self.timeout = timeout
        self.heartbeat_timeout = heartbeat_timeout
        self.secret = secret if secret is not None else os.environ.get(SECRET_ENV)
        self.count = 0
        self.end: dict | None = None

    def __iter__(self) -> Iterator[dict]:
        import zmq

        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, f"wf-{os.getpid()}-{uuid.uuid4().hex[:8]}".encode())
        sock.setsockopt(zmq.LINGER, 1000)
        sock.connect(self.endpoint)
        heard = False
        try:
            sock.send_multipart([b"HELLO", self.secret.encode()] if self.secret else [b"HELLO"])
            sock.send_multipart([b"CREDIT", str(self.prefetch).encode()])
            while True:
                wait = self.heartbeat_timeout if heard else self.timeout
                if wait is not None and not sock.poll(int(wait * 1000)):
                    if heard:
                        raise StreamTimeout(f"the producer on {self.endpoint} went silent for {wait:g} s after "
                                            f"{self.count} frames (stopped or killed?)")
                    raise StreamTimeout(f"no answer from a producer on {self.endpoint} in {wait:g} s")
                msg = sock.recv_multipart(copy=False)
                heard = True
                kind = msg[0].bytes
                if kind == b"HEARTBEAT":
                    continue
                if kind == b"END":
                    status = msg[1].bytes.decode() if len(msg) > 2 else "completed"
                    frames = int(msg[-1].bytes) if len(msg) > 1 else self.count
                    self.end = {"status": status, "frames": frames}
                    if status != "completed":
                        raise StreamError(f"the producer on {self.endpoint} {status} after {frames} frames "
                                          f"({self.count} received here)")
                    return
                if kind != b"FRAME":
                    continue  # a newer producer's message kinds: not ours to act on
                frame = unpack(msg[1].bytes, msg[2:])
                yield frame
                # the caller asked for the next frame: this one is done
                self.count += 1
                sock.send_multipart([b"ACK", str(frame["seq"]).encode()])
                sock.send_multipart([b"CREDIT", b"1"])
        finally:
            sock.close()


def collate(frames: list[dict], to_tensor: Callable | None = None) -> dict:
    """Batch streamed frames for a DataLoader: arrays of one shape stack into (B, ...), everything else
    (ragged arrays, labels, dicts) becomes a list per frame. Structured arrays (bounding boxes) are split
    into one array per field first, so they batch like any other array.

    ``to_tensor`` converts the stacked arrays (default: ``torch.from_numpy`` when torch is installed).
    """
    if to_tensor is None:
        try:
            import torch

            to_tensor = torch.from_numpy
        except ImportError:
            to_tensor = np.asarray
    return _collate([_fields(f) for f in frames], to_tensor)


def _fields(value):
    if isinstance(value, np.ndarray) and value.dtype.names:
        return {name: np.ascontiguousarray(value[name]) for name in value.dtype.names}
    if isinstance(value, dict):
        return {k: _fields(v) for k, v in value.items()}
    return value


def _collate(items: list, to_tensor: Callable):
    first = items[0]
    if isinstance(first, dict) and all(isinstance(i, dict) and i.keys() == first.keys() for i in items):
        return {k: _collate([i[k] for i in items], to_tensor) for k in first}
    if isinstance(first, np.ndarray) and all(
            isinstance(i, np.ndarray) and i.shape == first.shape and i.dtype == first.dtype for i in items):
        if first.dtype.kind in "biuf":
            return to_tensor(np.stack(items))  # a new, writable array: the frames are read-only views
    if isinstance(first, (int, float)) and not isinstance(first, bool) and all(
            isinstance(i, type(first)) for i in items):
        return to_tensor(np.asarray(items))
    return list(items)


def torch_dataset(endpoint: str = DEFAULT_ENDPOINT, transform: Callable[[dict], object] | None = None,
                  prefetch: int = 2, **stream_options):
    """A torch IterableDataset over the stream (use DataLoader(num_workers=0): one consumer at a time;
    ``collate_fn=collate`` batches frames whose boxes differ in number)."""
    import torch

    class StreamDataset(torch.utils.data.IterableDataset):
        def __iter__(self):
            for frame in FrameStream(endpoint, prefetch, **stream_options):
                yield transform(frame) if transform else frame

    return StreamDataset()
