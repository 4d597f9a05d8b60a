"""Live stream under stress: rogue clients, shared secret, a killed or aborting producer, batching."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from wearforge.errors import InputError
from wearforge.recipe import load_recipe
from wearforge.stream import FrameStream, StreamError, StreamTimeout, collate
from wearforge.writers import StreamWriter

from test_stream import frame, free_endpoint, produce

ROOT = Path(__file__).resolve().parent.parent


def test_malformed_and_unknown_messages_are_ignored_not_fatal():
    import zmq

    endpoint, errors = free_endpoint(), []
    writer = StreamWriter(endpoint, queue=2, wait_timeout=20)
    rogue = zmq.Context.instance().socket(zmq.DEALER)
    rogue.connect(endpoint)
    for msg in ([b"ACK", b"not-a-number"], [b"CREDIT"], [b"\xff" * 40], [b"ACK"], [b"SHUTDOWN", b"now"],
                [b"CREDIT", b"-99999999999999999999"], [b""]):
        rogue.send_multipart(msg)
    t = produce(writer, 5, errors)
    stream = FrameStream(endpoint, timeout=20)
    got = []
    for f in stream:
        got.append(f["seq"])
        if len(got) == 2:  # the rogue speaks again mid-run, now as a would-be consumer with junk
            rogue.send_multipart([b"CREDIT", b"x"])
            rogue.send_multipart([b"ACK", b"0", b"extra"])
    t.join(20)
    rogue.close(0)
    assert not errors and got == list(range(5))
    assert stream.end == {"status": "completed", "frames": 5}


def test_a_shared_secret_keeps_other_consumers_out():
    endpoint, errors = free_endpoint(), []
    writer = StreamWriter(endpoint, queue=2, wait_timeout=20, secret="s3cret")
    t = produce(writer, 3, errors)
    with pytest.raises(StreamTimeout, match="no answer"):
        list(FrameStream(endpoint, timeout=1.0, secret="wrong"))
    got = [f["seq"] for f in FrameStream(endpoint, timeout=20, secret="s3cret")]
    t.join(20)
    assert not errors and got == [0, 1, 2]


PRODUCER = """
import sys, time
sys.path.insert(0, {tests!r})
from test_stream import frame
from wearforge.writers import StreamWriter
w = StreamWriter({endpoint!r}, queue=4, wait_timeout=60)
for i in range(10**6):
    w.write(frame(i))
    time.sleep(0.2)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_producer_ends_the_consumer_with_a_clear_error_within_seconds():
    endpoint = free_endpoint()
    code = PRODUCER.format(tests=str(ROOT / "tests"), endpoint=endpoint)
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        stream = FrameStream(endpoint, timeout=60, heartbeat_timeout=3.0)
        got = 0
        with pytest.raises(StreamTimeout, match="went silent") as info:
            for _ in stream:
                got += 1
                if got == 3:
                    proc.send_signal(signal.SIGKILL)
                    killed = time.monotonic()
        assert time.monotonic() - killed < 8
        assert "after 3 frames" in str(info.value) or "after 4 frames" in str(info.value)
    finally:
        proc.kill()
        proc.wait()


def test_an_aborted_run_tells_the_consumer_how_many_frames_it_made():
    endpoint = free_endpoint()
    writer = StreamWriter(endpoint, queue=8, wait_timeout=20)

    def run():
        try:
            try:
                for i in range(3):
                    writer.write(frame(i))
                raise RuntimeError("render failed")
            finally:
                writer.on_final_frame()  # as generate() calls it while the error unwinds
        except RuntimeError:
            pass

    t = threading.Thread(target=run)
    t.start()
    stream = FrameStream(endpoint, timeout=20)
    with pytest.raises(StreamError, match="aborted after 3 frames"):
        list(stream)
    t.join(20)
    assert stream.end == {"status": "aborted", "frames": 3}


def test_remote_endpoints_need_an_explicit_option(write_recipe, cell_recipe):
    data = {**cell_recipe, "output": {"writers": ["stream"], "stream": {"endpoint": "tcp://*:5557"}}}
    with pytest.raises(InputError, match="allow_remote") as info:
        load_recipe(write_recipe(data))
    assert "output.stream" in str(info.value)
    data["output"]["stream"]["allow_remote"] = True
    assert load_recipe(write_recipe(data)).output.stream.allow_remote


def _frames_with_boxes(counts):
    out = []
    for i, n in enumerate(counts):
        boxes = np.zeros(n, np.dtype([("semanticId", "<u4"), ("x_min", "<i4"), ("occlusionRatio", "<f4")]))
        boxes["x_min"] = np.arange(n) + i
        rgb = np.full((6, 8, 4), i, np.uint8)
        rgb.flags.writeable = False  # like a zero-copy frame from the socket
        out.append({"seq": i, "rgb": {"data": rgb}, "bounding_box_2d_tight": {"data": boxes, "primPaths": ["/A"] * n},
                    "frame_spec": {"data": {"index": i}}})
    return out


def test_collate_batches_images_and_keeps_ragged_boxes_per_frame():
    batch = collate(_frames_with_boxes([2, 0, 3]), to_tensor=np.asarray)
    assert batch["rgb"]["data"].shape == (3, 6, 8, 4) and batch["rgb"]["data"][2, 0, 0, 0] == 2
    assert list(batch["seq"]) == [0, 1, 2]
    xs = batch["bounding_box_2d_tight"]["data"]["x_min"]
    assert [list(x) for x in xs] == [[0, 1], [], [2, 3, 4]]
    same = collate(_frames_with_boxes([2, 2]), to_tensor=np.asarray)["bounding_box_2d_tight"]["data"]["x_min"]
    assert same.shape == (2, 2)  # equal counts stack like images
    assert batch["frame_spec"]["data"]["index"].tolist() == [0, 1, 2]


def test_readme_dataloader_example_runs_with_torch():
    torch = pytest.importorskip("torch", reason="torch is not installed (PyPI's Linux wheel pulls in GBs of CUDA)")
    from wearforge.stream import torch_dataset

    endpoint, errors = free_endpoint(), []
    t = produce(StreamWriter(endpoint, queue=4, wait_timeout=20), 10, errors)
    loader = torch.utils.data.DataLoader(torch_dataset(endpoint, timeout=20), batch_size=8, collate_fn=collate)
    batches = list(loader)
    t.join(20)
    assert not errors and [b["rgb"]["data"].shape[0] for b in batches] == [8, 2]
    assert isinstance(batches[0]["rgb"]["data"], torch.Tensor)
