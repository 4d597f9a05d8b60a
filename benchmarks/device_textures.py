"""Seconds to hand one wear stack's maps to Mitsuba: host copy vs DLPack (shared memory), CPU (llvm) only here.

    .venv/bin/python benchmarks/device_textures.py [--size 1024] [--runs 7]

Builds one stack (a plate with rust) at --size² on Warp's CPU device, then times ``stack_tensors`` plus
``dr.eval`` of the result (what the renderer does before each frame) both ways, interleaved, median of --runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.render_frame import machine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    from wearforge.render import device_textures
    from wearforge.render.mitsuba_backend import mitsuba
    from wearforge.wear import CleanMaterial, LayerSpec, bake, build_stack

    mi = mitsuba("llvm")
    import drjit as dr

    points = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    plate = bake(points, np.array([[0, 1, 2], [0, 2, 3]], np.int32), np.tile(np.float32([0, 0, 1]), (4, 1)),
                 points[:, :2].copy(), args.size, occlusion_resolution=64)
    stack = build_stack(plate, CleanMaterial((0.5, 0.4, 0.3), 1.0, 0.2), [LayerSpec("rust", 3, {"coverage": 0.4})],
                        dev="cpu", device_maps=True)
    ways = {"host copy": type(stack)(**{**stack.__dict__, "device_maps": None}), "DLPack": stack}
    times: dict[str, list[float]] = {k: [] for k in ways}
    for k in range(args.runs + 1):
        for name, s in ways.items():
            t0 = time.perf_counter()
            tensors = device_textures.stack_tensors(mi, s)
            dr.eval(*tensors.values())
            if k:  # the first round warms up Dr.Jit's kernels
                times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.size}x{args.size} stack, median of {args.runs}; {machine()}")
    print("| way | ms per stack | host copy / this |\n|---|---|---|")
    for name, t in med.items():
        print(f"| {name} | {1000 * t:.2f} | {med['host copy'] / t:.1f}x |")
    (ROOT / "benchmarks" / "results" / "device_textures.json").write_text(
        json.dumps({"machine": machine(), "args": vars(args), "seconds": med, "runs": times}, indent=1))


if __name__ == "__main__":
    main()
