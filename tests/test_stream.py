"""Live stream: ordered zero-copy delivery, back-pressure, late join, consumer restart, clean end."""

import socket
import threading

import numpy as np
import pytest

from wearforge.stream import FrameStream
from wearforge.writers import StreamWriter, to_annotator_layout


def free_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def frame(i: int) -> dict:
    rng = np.random.default_rng(i)
    boxes = np.zeros(2, np.dtype([("semanticId", "<u4"), ("x_min", "<i4"), ("occlusionRatio", "<f4")]))
    boxes["x_min"] = [i, i + 1]
    return to_annotator_layout({
        "rgb": {"data": rng.integers(0, 255, (24, 32, 4), dtype=np.uint8)},
        "distance_to_camera": {"data": rng.random((24, 32), dtype=np.float32)},
        "bounding_box_2d_tight": {"data": boxes, "idToLabels": {"2": {"class": "gear"}}, "primPaths": ["/A", "/B"]},
        "frame_spec": {"data": {"index": i}},
    }, i)


def produce(writer: StreamWriter, count: int, errors: list) -> threading.Thread:
    def run():
        try:
            for i in range(count):
                writer.write(frame(i))
            writer.on_final_frame()
        except BaseException as exc:  # pragma: no cover - reported by the test
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    return t


def test_frames_arrive_in_order_exactly_and_the_stream_ends():
    endpoint, errors = free_endpoint(), []
    writer = StreamWriter(endpoint, queue=3, wait_timeout=20)
    t = produce(writer, 7, errors)
    got = list(FrameStream(endpoint, timeout=20))
    t.join(20)
    assert not errors and [f["frame_spec"]["data"]["index"] for f in got] == list(range(7))
    for i, f in enumerate(got):
        ref = frame(i)["annotators"]
        assert np.array_equal(f["rgb"]["data"], ref["rgb"]["RenderProduct_wearforge"]["data"])
        assert f["distance_to_camera"]["data"].dtype == np.float32
        assert np.array_equal(f["bounding_box_2d_tight"]["data"], ref["bounding_box_2d_tight"]["RenderProduct_wearforge"]["data"])
        assert f["bounding_box_2d_tight"]["primPaths"] == ["/A", "/B"]


def test_generation_waits_when_nobody_consumes():
    writer = StreamWriter(free_endpoint(), queue=2, wait_timeout=0.5)
    writer.write(frame(0))
    writer.write(frame(1))
    with pytest.raises(TimeoutError, match="no consumer took frames"):
        writer.write(frame(2))  # blocked by the full queue, never dropped


def test_a_late_consumer_gets_everything_and_a_restarted_one_loses_nothing():
    endpoint, errors = free_endpoint(), []
    writer = StreamWriter(endpoint, queue=4, wait_timeout=20)
    t = produce(writer, 6, errors)  # starts before any consumer exists
    seen = []
    for f in FrameStream(endpoint, prefetch=1, timeout=20):
        seen.append(f["seq"])
        if len(seen) == 3:
            break  # crash while holding frame 2: it was never acknowledged
    rest = [f["seq"] for f in FrameStream(endpoint, prefetch=1, timeout=20)]
    t.join(20)
    assert not errors
    assert seen == [0, 1, 2] and rest == [2, 3, 4, 5]


def test_a_real_render_streams_into_a_consumer(tmp_path, write_recipe):
    from wearforge.generate import generate
    from wearforge.recipe import load_recipe

    endpoint = free_endpoint()
    recipe = load_recipe(write_recipe({
        "scene": {"usd": "asset:inspection_cell", "parts": [{"path": "/World/Parts/*"}]},
        "camera": {"position": [0.5, -0.9, 1.45], "look_at": [-0.05, 0.0, 0.8]},
        "render": {"resolution": [32, 24], "spp": 1}, "frames": 3,
        "output": {"dir": str(tmp_path / "out"), "writers": ["stream"], "contact_sheet": 0,
                   "stream": {"endpoint": endpoint, "queue": 2, "wait_timeout": 60}}}))
    result = {}
    t = threading.Thread(target=lambda: result.update(r=generate(recipe)))
    t.start()
    frames = list(FrameStream(endpoint, timeout=120))
    t.join(120)
    assert result["r"].frames == 3 and len(frames) == 3
    assert frames[0]["rgb"]["data"].shape == (24, 32, 4)
    assert "/World/Parts/Gear" in frames[0]["instance_segmentation"]["idToLabels"].values() or \
        "/World/Parts/PipeSpool" in frames[0]["instance_segmentation"]["idToLabels"].values()


def test_torch_iterable_dataset_over_the_stream():
    torch = pytest.importorskip("torch")
    from wearforge.stream import torch_dataset

    endpoint, errors = free_endpoint(), []
    writer = StreamWriter(endpoint, queue=2, wait_timeout=20)
    t = produce(writer, 4, errors)
    dataset = torch_dataset(endpoint, transform=lambda f: torch.from_numpy(f["rgb"]["data"].copy()))
    assert isinstance(dataset, torch.utils.data.IterableDataset)
    batches = list(torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=0))
    t.join(20)
    assert not errors and [tuple(b.shape) for b in batches] == [(2, 24, 32, 4), (2, 24, 32, 4)]
