"""Live stream of annotated frames to a training process over ZeroMQ (ROUTER here, DEALER in the consumer).

Protocol (multipart messages):
  consumer -> producer: HELLO [secret] | CREDIT n | ACK seq
  producer -> consumer: FRAME header buffers... | HEARTBEAT | END completed|aborted count
The producer sends HEARTBEAT every ``heartbeat`` seconds to the consumer it serves, also while a slow
frame renders, so a consumer tells a stopped producer from a busy one. A malformed or unknown message
is logged and ignored: no client can end a run. With a shared secret (``WEARFORGE_STREAM_SECRET`` by
default) only a HELLO that carries it is served.
The producer keeps every frame until it is acknowledged; at most ``queue`` frames are kept, and
``write`` blocks when that many are waiting, so generation slows down instead of dropping frames or
growing memory. A consumer acknowledges a frame when it asks for the next one; if it dies, the next
consumer's HELLO gets every unacknowledged frame again (at-least-once), and one that joins late finds
the queued frames waiting. Arrays travel as zero-copy message frames. One consumer at a time: a HELLO
from a new consumer takes over from the previous one.
"""

from __future__ import annotations

import hmac
import json
import logging
import sys
import threading
import time
from collections import OrderedDict

import numpy as np

from wearforge.writers.base import Writer, per_render_product

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5557"
log = logging.getLogger("wearforge.stream")


def pack(annos: dict, seq: int) -> tuple[bytes, list]:
    """Header JSON + list of array buffers (no copies) for one frame's annotator payloads."""
    header: dict = {"seq": seq, "annotators": {}}
    buffers: list = []
    for name, payload in annos.items():
        if not isinstance(payload, dict):
            continue
        entry: dict = {"arrays": {}, "values": {}}
        for key, value in payload.items():
            if isinstance(value, np.ndarray):
                arr = np.ascontiguousarray(value)
                entry["arrays"][key] = {"index": len(buffers), "dtype": arr.dtype.descr if arr.dtype.names else arr.dtype.str,
                                        "shape": list(arr.shape)}
                buffers.append(arr)
            else:
                entry["values"][key] = value
        header["annotators"][name] = entry
    return json.dumps(header, default=_plain).encode(), buffers


def unpack(header: bytes, frames: list) -> dict:
    """Inverse of pack: arrays are read-only views on the received message buffers."""
    meta = json.loads(header)
    out = {"seq": meta["seq"]}
    for name, entry in meta["annotators"].items():
        payload = dict(entry["values"])
        for key, info in entry["arrays"].items():
            dtype = np.dtype([tuple(d) for d in info["dtype"]]) if isinstance(info["dtype"], list) else np.dtype(info["dtype"])
            payload[key] = np.frombuffer(frames[info["index"]].buffer, dtype=dtype).reshape(info["shape"])
        out[name] = payload
    return out


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class StreamWriter(Writer):
    """Publishes frames to a consumer (``wearforge.stream.FrameStream``) while generation runs."""

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, queue: int = 8, wait_timeout: float = 600.0,
                 secret: str | None = None, heartbeat: float = 1.0):
        import zmq

        self.endpoint = endpoint
        self.queue = queue
        self.wait_timeout = wait_timeout
        self.heartbeat = heartbeat
        self._secret = secret.encode() if secret else None
        self._last_sent = 0.0
        self._aborted = False
        self._ignored = 0
        self._ctx = zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.ROUTER)
        self._sock.setsockopt(zmq.LINGER, 2000)
        self._sock.bind(endpoint)
        self._frames: OrderedDict[int, tuple[bytes, list]] = OrderedDict()  # unacknowledged, by seq
        self._sent: set[int] = set()
        self._consumer: bytes | None = None
        self._credit = 0
        self._seq = 0
        self._closing = False
        self._ended = False
        self._error: BaseException | None = None
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="wearforge-stream", daemon=True)
        self._thread.start()

    def write(self, data: dict) -> None:
        annos = next(iter(per_render_product(data).values()))
        header, buffers = pack(annos, self._seq)
        deadline = time.monotonic() + self.wait_timeout
        with self._cv:
            while len(self._frames) >= self.queue and self._error is None:
                if not self._cv.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"no consumer took frames from {self.endpoint} for {self.wait_timeout:.0f} s")
            if self._error:
                raise self._error
            self._frames[self._seq] = (header, buffers)
            self._seq += 1
            self._cv.notify_all()

    def _loop(self) -> None:
        import zmq

        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        try:
            while True:
                if dict(poller.poll(20)).get(self._sock):
                    while self._sock.poll(0):
                        msg = self._sock.recv_multipart()
                        try:
                            self._handle(msg)
                        except (ValueError, IndexError, UnicodeDecodeError):
                            self._ignore(msg, "malformed")
                with self._cv:
                    self._send_ready()
                    if self._consumer is not None and time.monotonic() - self._last_sent > self.heartbeat:
                        self._send([self._consumer, b"HEARTBEAT"])
                    done = self._aborted or not self._frames
                    if self._closing and done and self._consumer is not None and not self._ended:
                        status = b"aborted" if self._aborted else b"completed"
                        self._send([self._consumer, b"END", status, str(self._seq).encode()])
                        self._ended = True
                    if self._closing and (self._ended or (self._aborted or not self._frames) and self._consumer is None):
                        return
        except BaseException as exc:  # surface socket errors in write()/on_final_frame()
            with self._cv:
                self._error = exc
                self._cv.notify_all()

    def _handle(self, msg: list[bytes]) -> None:
        ident, kind = msg[0], msg[1]
        with self._cv:
            if kind == b"HELLO":
                if self._secret is not None and not (len(msg) == 3 and hmac.compare_digest(msg[2], self._secret)):
                    self._ignore(msg, "HELLO without the shared secret")
                    return
                # a new consumer takes over: everything not acknowledged goes to it again
                self._consumer, self._credit = ident, 0
                self._sent.clear()
            elif ident != self._consumer:
                self._ignore(msg, "not from the consumer being served")
            elif kind == b"CREDIT" and len(msg) == 3:
                self._credit = min(self._credit + max(int(msg[2]), 0), 1 << 20)
            elif kind == b"ACK" and len(msg) == 3:
                seq = int(msg[2])
                self._frames.pop(seq, None)
                self._sent.discard(seq)
                self._cv.notify_all()
            else:
                self._ignore(msg, "unknown")

    def _ignore(self, msg: list[bytes], why: str) -> None:
        self._ignored += 1
        if self._ignored <= 10 or self._ignored % 1000 == 0:  # a flood must not flood the log
            log.warning("stream %s: ignored a %s message (%d ignored so far): %r", self.endpoint, why,
                        self._ignored, [bytes(m[:16]) for m in msg[1:3]])

    def _send(self, parts: list, copy: bool = True) -> None:
        self._sock.send_multipart(parts, copy=copy)
        self._last_sent = time.monotonic()

    def _send_ready(self) -> None:
        if self._consumer is None:
            return
        for seq, (header, buffers) in self._frames.items():
            if self._credit <= 0:
                break
            if seq in self._sent:
                continue
            self._send([self._consumer, b"FRAME", header, *buffers], copy=False)
            self._sent.add(seq)
            self._credit -= 1

    def on_final_frame(self) -> None:
        """Wait until the consumer has acknowledged every frame, tell it the stream ended, and close.

        Called while an exception unwinds (the run failed or was interrupted), it ends the stream at
        once as 'aborted' instead of waiting for the consumer.
        """
        with self._cv:
            self._closing = True
            self._aborted = sys.exc_info()[0] is not None
        self._thread.join(timeout=5.0 if self._aborted else self.wait_timeout)
        if self._thread.is_alive():
            if self._aborted:
                return  # the run is failing anyway; the daemon thread goes with the process
            raise TimeoutError(f"the consumer on {self.endpoint} did not take the last frames in {self.wait_timeout:.0f} s")
        self._sock.close()
        if self._error:
            raise self._error
