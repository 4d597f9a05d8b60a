"""Writer overhead as a share of frame time, and live-stream throughput.

    .venv/bin/python benchmarks/writers.py [--runs 8]

For 512² and 1024² demo frames (64 spp, wear on): the render time of one frame, then per writer the
time write() blocks the render thread and the total cost including background encoding (measured over
--runs frames, divided per frame). Peer: the same BasicWriter files written synchronously with Pillow,
np.save and json (what a straightforward writer does). Stream: frames/s and MB/s from a producer to a
consumer over loopback TCP, against raw ZeroMQ PUSH/PULL of the same buffers (no acknowledgements).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from render_frame import machine  # noqa: E402

from wearforge.recipe import load_recipe  # noqa: E402


def endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def naive_basic(out: Path, data: dict, n: int) -> None:
    from PIL import Image

    from wearforge.writers.basic import colorize

    Image.fromarray(data["rgb"]["data"]).save(out / f"rgb_{n:04d}.png")
    np.save(out / f"distance_to_camera_{n:04d}.npy", data["distance_to_camera"]["data"])
    for name in ("semantic_segmentation", "instance_segmentation", "defect_segmentation"):
        Image.fromarray(colorize(data[name]["data"])[0]).save(out / f"{name}_{n:04d}.png")
        (out / f"{name}_labels_{n:04d}.json").write_text(json.dumps(data[name]["idToLabels"]))
    for name in ("bounding_box_2d_tight", "bounding_box_2d_loose", "bounding_box_3d"):
        np.save(out / f"{name}_{n:04d}.npy", data[name]["data"])
    (out / f"frame_spec_{n:04d}.json").write_text(json.dumps(data["frame_spec"]["data"]))


def bench_writers(size: int, runs: int) -> dict:
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene
    from wearforge.writers import BasicLayoutWriter, CocoWriter, WebDatasetWriter, YoloWriter, to_annotator_layout

    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [f"render.resolution=[{size}, {size}]"])
    stage = open_stage(recipe.usd_path())
    scene = read_scene(recipe, stage)
    renderer = StandaloneRenderer(stage)
    renderer.render(sample_frame(recipe, None, 0, scene))  # warm-up
    t = time.perf_counter()
    data = renderer.render(sample_frame(recipe, None, 1, scene))
    frame_s = time.perf_counter() - t
    data.pop("timing")
    row = {"size": size, "frame_s": frame_s}
    makers = {"basic": BasicLayoutWriter, "coco": CocoWriter, "yolo": YoloWriter, "webdataset": WebDatasetWriter}
    for name, make in makers.items():
        with tempfile.TemporaryDirectory() as tmp:
            writer = make(Path(tmp))
            blocking = []
            t0 = time.perf_counter()
            for i in range(runs):
                payload = to_annotator_layout({**data, "frame_spec": {"data": {**data["frame_spec"]["data"], "index": i}}}, i)
                t = time.perf_counter()
                writer.write(payload)
                blocking.append(time.perf_counter() - t)
            writer.on_final_frame()
            row[f"{name}_blocking"] = statistics.median(blocking)
            row[f"{name}_total"] = (time.perf_counter() - t0) / runs
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for i in range(runs):
            naive_basic(Path(tmp), data, i)
        row["naive_basic"] = (time.perf_counter() - t0) / runs
    row["payload_mb"] = sum(v.nbytes for p in data.values() if isinstance(p, dict)
                            for v in p.values() if isinstance(v, np.ndarray)) / 1e6
    row["_data"] = data
    return row


def bench_stream(data: dict, frames: int) -> dict:
    import zmq

    from wearforge.stream import FrameStream
    from wearforge.writers import StreamWriter, to_annotator_layout

    ep = endpoint()
    writer = StreamWriter(ep, queue=8, wait_timeout=60)
    payload = to_annotator_layout(data, 0)

    def produce():
        for _ in range(frames):
            writer.write(payload)
        writer.on_final_frame()

    t = threading.Thread(target=produce)
    t0 = time.perf_counter()
    t.start()
    n = sum(1 for _ in FrameStream(ep, prefetch=4))
    ours = time.perf_counter() - t0
    t.join()
    arrays = [v for p in data.values() if isinstance(p, dict) for v in p.values() if isinstance(v, np.ndarray)]
    mb = sum(a.nbytes for a in arrays) / 1e6
    # peer: raw PUSH/PULL, same buffers, zero-copy, no protocol
    ctx = zmq.Context.instance()
    ep2 = endpoint()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    push.setsockopt(zmq.SNDHWM, 8)
    push.bind(ep2)
    pull.connect(ep2)

    def raw():
        for _ in range(frames):
            push.send_multipart(arrays, copy=False)

    t = threading.Thread(target=raw)
    t0 = time.perf_counter()
    t.start()
    for _ in range(frames):
        pull.recv_multipart(copy=False)
    peer = time.perf_counter() - t0
    t.join()
    push.close()
    pull.close()
    return {"frames": n, "mb_per_frame": mb, "ours_fps": n / ours, "ours_mbps": n * mb / ours,
            "raw_fps": frames / peer, "raw_mbps": frames * mb / peer}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--stream-frames", type=int, default=200)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "writers.json")
    args = ap.parse_args()
    rows = [bench_writers(s, args.runs) for s in (512, 1024)]
    streams = {r["size"]: bench_stream(r.pop("_data"), args.stream_frames) for r in rows}
    print(f"machine: {machine()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print()
    print("| size | frame s | writer | blocks render thread s | total per frame s | share of frame time |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        for name in ("basic", "coco", "yolo", "webdataset"):
            print(f"| {r['size']}² | {r['frame_s']:.2f} | {name} | {r[name + '_blocking']:.4f} | "
                  f"{r[name + '_total']:.3f} | {100 * r[name + '_blocking'] / r['frame_s']:.2f} % blocking, "
                  f"{100 * r[name + '_total'] / r['frame_s']:.1f} % total |")
        print(f"| {r['size']}² | {r['frame_s']:.2f} | naive synchronous (Pillow, np.save, json) | "
              f"{r['naive_basic']:.3f} | {r['naive_basic']:.3f} | {100 * r['naive_basic'] / r['frame_s']:.1f} % |")
    print()
    print("| size | MB per frame | stream frames/s | stream MB/s | raw PUSH/PULL frames/s | raw MB/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for size, s in streams.items():
        print(f"| {size}² | {s['mb_per_frame']:.1f} | {s['ours_fps']:.0f} | {s['ours_mbps']:.0f} | "
              f"{s['raw_fps']:.0f} | {s['raw_mbps']:.0f} | {s['ours_fps'] / s['raw_fps']:.2f}x |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine(), "writers": rows, "stream": streams}, indent=1))


if __name__ == "__main__":
    main()
