"""Frames per second of a whole `wearforge generate` command with 1 process vs N local workers vs Ray.

    .venv/bin/python benchmarks/throughput.py [--runs 3] [--frames 16] [--size 160 120] [--spp 16]

Each configuration runs the command as a user would (a fresh process: imports, twin, kernels, rendering,
writing, merge) on the demo recipe with all four file writers into a fresh folder; the figure is the median
over --runs of frames / wall seconds. The configurations are interleaved within each run so that load from
other processes hits all of them alike; the peer is the single-process run of the same session. Every
configuration's dataset is checked to be byte-identical to the single-process one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.render_frame import machine  # noqa: E402


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run(config: str, workers: int, args, tmp: Path, k: int) -> tuple[float, Path]:
    out = tmp / f"run{k}-{config.replace(' ', '_').replace(',', '')}"
    command = [sys.executable, "-m", "wearforge", "generate", str(ROOT / "recipes" / "demo.yaml"),
               "--frames", str(args.frames), "--out", str(out), "--workers", str(workers),
               "--set", f"render.resolution=[{args.size[0]}, {args.size[1]}]", "--set", f"render.spp={args.spp}",
               "--set", "output.writers=[basic, coco, yolo, webdataset]", "--set", "output.contact_sheet=4",
               "--set", f"output.shard_frames={args.shard_frames}"] + (["--ray"] if config.startswith("ray") else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return args.frames / (time.perf_counter() - t0), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, nargs=2, default=[160, 120])
    ap.add_argument("--spp", type=int, default=16)
    ap.add_argument("--shard-frames", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    configs = [("1 process", 1), (f"{args.workers} workers", args.workers)]
    if not args.no_ray:
        configs.append((f"ray, {args.workers} actors", args.workers))
    rates: dict[str, list[float]] = {c: [] for c, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        reference = None
        for k in range(args.runs):
            for config, workers in configs:  # interleaved, so load from others hits every configuration
                rate, out = run(config, workers, args, Path(tmp), k)
                rates[config].append(rate)
                got = files(out)
                reference = reference or got
                assert got == reference, f"{config}: dataset differs from the single-process one"
                shutil.rmtree(out)
                print(f"run {k + 1}: {config}: {rate:.3f} frames/s", flush=True)
    base = statistics.median(rates[configs[0][0]])
    result = {"machine": machine(), "args": vars(args), "frames_per_s": {c: statistics.median(r) for c, r in rates.items()},
              "runs": rates}
    load = os.getloadavg()
    result["load_average_at_end"] = load
    print(f"\nload average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"\n{args.frames} frames of the demo recipe at {args.size[0]}x{args.size[1]}, {args.spp} spp; "
          f"median of {args.runs} runs; {machine()}")
    print("| configuration | frames/s | vs 1 process |\n|---|---|---|")
    for config, _ in configs:
        r = statistics.median(rates[config])
        print(f"| {config} | {r:.3f} | {r / base:.2f}x |")
    path = ROOT / "benchmarks" / "results" / "throughput.json"
    path.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
