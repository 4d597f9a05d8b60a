"""Frames per second of one `wearforge generate` process with and without growing the next frame's wear
while the current one renders (``render.overlap_wear``).

    .venv/bin/python benchmarks/overlap.py [--runs 3] [--frames 8] [--size 320 240] [--spp 16]

Both configurations run the command as a user would (a fresh process, one worker, the demo recipe, all four
file writers) into a fresh folder; the figure is the median over --runs of frames / wall seconds, the
configurations interleaved within each run so load from other processes hits both alike. The peer is the
run without overlap of the same session. Both datasets are checked to be byte-identical.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.render_frame import machine  # noqa: E402
from benchmarks.throughput import files  # noqa: E402


def run(overlap: bool, args, tmp: Path, k: int) -> tuple[float, Path, str]:
    out = tmp / f"run{k}-{'overlap' if overlap else 'serial'}"
    command = [sys.executable, "-m", "wearforge", "generate", str(ROOT / "recipes" / "demo.yaml"),
               "--frames", str(args.frames), "--out", str(out), "--workers", "1",
               "--set", f"render.resolution=[{args.size[0]}, {args.size[1]}]", "--set", f"render.spp={args.spp}",
               "--set", f"render.overlap_wear={str(overlap).lower()}",
               "--set", "output.writers=[basic, coco, yolo, webdataset]", "--set", "output.contact_sheet=4",
               "--set", f"output.shard_frames={args.shard_frames}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return args.frames / (time.perf_counter() - t0), out, done.stdout + done.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, nargs=2, default=[320, 240])
    ap.add_argument("--spp", type=int, default=16)
    ap.add_argument("--shard-frames", type=int, default=8)
    args = ap.parse_args()
    configs = {"serial": False, "overlap": True}
    rates: dict[str, list[float]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        reference = None
        for k in range(args.runs):
            for config, overlap in configs.items():  # interleaved, so load from others hits both alike
                rate, out, log = run(overlap, args, Path(tmp), k)
                rates[config].append(rate)
                got = files(out)
                reference = reference or got
                assert got == reference, f"{config}: dataset differs from the run without overlap"
                shutil.rmtree(out)
                timing = re.search(r"per frame:[^)]*", log)  # the command's own split of a frame's seconds
                split = " ".join(timing.group(0).split()) if timing else ""
                print(f"run {k + 1}: {config}: {rate:.3f} frames/s ({split})", flush=True)
    base = statistics.median(rates["serial"])
    load = os.getloadavg()
    result = {"machine": machine(), "args": vars(args), "load_average_at_end": load,
              "frames_per_s": {c: statistics.median(r) for c, r in rates.items()}, "runs": rates}
    print(f"\nload average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"\n{args.frames} frames of the demo recipe at {args.size[0]}x{args.size[1]}, {args.spp} spp, one process; "
          f"median of {args.runs} runs; {machine()}")
    print("| configuration | frames/s | vs without overlap |\n|---|---|---|")
    for config in configs:
        r = statistics.median(rates[config])
        print(f"| {config} | {r:.3f} | {r / base:.2f}x |")
    (ROOT / "benchmarks" / "results" / "overlap.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
