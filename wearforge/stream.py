"""Consume frames that a running ``wearforge generate`` (stream writer) publishes.

    for frame in FrameStream("tcp://127.0.0.1:5557"):
        rgb = frame["rgb"]["data"]                     # (H, W, 4) uint8, zero-copy view
        masks = frame["instance_segmentation"]["data"]

    loader = torch.utils.data.DataLoader(torch_dataset("tcp://127.0.0.1:5557"), batch_size=None)

A frame is acknowledged when the next one is requested, so a consumer that crashes mid-frame gets it
again after a restart. Iteration ends when the producer finishes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

from wearforge.writers.stream import DEFAULT_ENDPOINT, unpack


class FrameStream:
    """An iterator over streamed frames (dicts of annotator payloads, plus 'seq')."""

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, prefetch: int = 2, timeout: float | None = None):
        self.endpoint = endpoint
        self.prefetch = prefetch
        self.timeout = timeout
        self.count = 0

    def __iter__(self) -> Iterator[dict]:
        import zmq

        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, f"wf-{os.getpid()}-{uuid.uuid4().hex[:8]}".encode())
        sock.setsockopt(zmq.LINGER, 1000)
        sock.connect(self.endpoint)
        try:
            sock.send_multipart([b"HELLO"])
            sock.send_multipart([b"CREDIT", str(self.prefetch).encode()])
            while True:
                if self.timeout is not None and not sock.poll(int(self.timeout * 1000)):
                    raise TimeoutError(f"no frame from {self.endpoint} in {self.timeout} s")
                msg = sock.recv_multipart(copy=False)
                kind = msg[0].bytes
                if kind == b"END":
                    return
                frame = unpack(msg[1].bytes, msg[2:])
                yield frame
                # the caller asked for the next frame: this one is done
                self.count += 1
                sock.send_multipart([b"ACK", str(frame["seq"]).encode()])
                sock.send_multipart([b"CREDIT", b"1"])
        finally:
            sock.close()


def torch_dataset(endpoint: str = DEFAULT_ENDPOINT, transform: Callable[[dict], object] | None = None,
                  prefetch: int = 2):
    """A torch IterableDataset over the stream (use DataLoader(num_workers=0): one consumer at a time)."""
    import torch

    class StreamDataset(torch.utils.data.IterableDataset):
        def __iter__(self):
            for frame in FrameStream(endpoint, prefetch):
                yield transform(frame) if transform else frame

    return StreamDataset()
