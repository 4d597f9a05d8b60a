"""Texture-stack throughput (megatexels/s) per defect type and for the full stack, with peers.

    .venv/bin/python benchmarks/wear_stack.py [--sizes 1024 2048] [--runs 5]

Peers in the same run, on the same texel positions (the pipe spool's UV bake):
  (a) the rust layer (domain warp + 5-octave fBm + threshold + palette) written in vectorized NumPy
      with an improved-Perlin gradient noise;
  (b) raw 5-octave Perlin fBm from FastNoiseLite (PyPI pyfastnoiselite), against the same raw fBm
      as a Warp kernel.
Medians of --runs after one warm-up (kernel compilation and the cached bake excluded).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import warp as wp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "usd_assets"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import build_assets  # noqa: E402
from render_frame import machine  # noqa: E402

from wearforge.wear import DEFECT_CLASSES, CleanMaterial, LayerSpec, bake, build_stack  # noqa: E402
from wearforge.wear.bake import device  # noqa: E402
from wearforge.wear.noise import fbm  # noqa: E402

STEEL = CleanMaterial((0.56, 0.57, 0.58), 1.0, 0.3)


@wp.kernel
def _raw_fbm(pos: wp.array(dtype=wp.vec3), seed: int, freq: float, out: wp.array(dtype=float)):
    i = wp.tid()
    out[i] = fbm(seed, pos[i] * freq, 5, 2.0, 0.5)


# ------------------------------------------------------------------------ NumPy improved Perlin
_rng = np.random.default_rng(0)
_PERM = np.tile(_rng.permutation(256), 2)


def _fade(t):
    return t * t * t * (t * (t * 6 - 15) + 10)


def _grad(h, x, y, z):
    h = h & 15
    u = np.where(h < 8, x, y)
    v = np.where(h < 4, y, np.where((h == 12) | (h == 14), x, z))
    return np.where(h & 1, -u, u) + np.where(h & 2, -v, v)


def perlin3(p: np.ndarray) -> np.ndarray:
    fl = np.floor(p)
    i = fl.astype(np.int64) & 255
    f = p - fl
    u = _fade(f)
    X, Y, Z = i[:, 0], i[:, 1], i[:, 2]
    x, y, z = f[:, 0], f[:, 1], f[:, 2]
    P = _PERM
    A, B = P[X] + Y, P[X + 1] + Y
    AA, AB, BA, BB = P[A] + Z, P[A + 1] + Z, P[B] + Z, P[B + 1] + Z
    lerp = lambda t, a, b: a + t * (b - a)  # noqa: E731
    x1 = lerp(u[:, 0], _grad(P[AA], x, y, z), _grad(P[BA], x - 1, y, z))
    x2 = lerp(u[:, 0], _grad(P[AB], x, y - 1, z), _grad(P[BB], x - 1, y - 1, z))
    x3 = lerp(u[:, 0], _grad(P[AA + 1], x, y, z - 1), _grad(P[BA + 1], x - 1, y, z - 1))
    x4 = lerp(u[:, 0], _grad(P[AB + 1], x, y - 1, z - 1), _grad(P[BB + 1], x - 1, y - 1, z - 1))
    return lerp(u[:, 2], lerp(u[:, 1], x1, x2), lerp(u[:, 1], x3, x4))


def np_fbm(p: np.ndarray, octaves: int) -> np.ndarray:
    total, amp, q = np.zeros(len(p), np.float32), 0.5, p
    for _ in range(octaves):
        total += amp * perlin3(q)
        q = q * 2.0 + np.array([17.13, 3.71, 11.3], np.float32)
        amp *= 0.5
    return total


def numpy_rust(pos: np.ndarray, scale=0.05, warp=0.8, thr=0.52) -> tuple[np.ndarray, np.ndarray]:
    """The rust layer's mask and colour in NumPy (same structure as wearforge.wear.defects.rust)."""
    q = pos / scale
    d = np.stack([np_fbm(q + o, 3) for o in (np.zeros(3), np.array([5.2, 1.3, 2.8]), np.array([1.7, 9.2, 4.1]))], -1)
    v = np_fbm(q + warp * d, 5) / 0.166
    t = np.clip((v - (thr - 0.25)) / 0.5, 0, 1)
    mask = t * t * (3 - 2 * t)
    tone = np_fbm(q * 3.1, 4) / 0.166
    k = np.clip(0.5 + 0.25 * tone - 0.2, 0, 1)[:, None]
    orange, mid, dark = np.array([0.42, 0.135, 0.032]), np.array([0.181, 0.057, 0.017]), np.array([0.09, 0.028, 0.01])
    col = np.where(k < 0.5, orange + (mid - orange) * k * 2, mid + (dark - mid) * (k * 2 - 1))
    return mask, col


def median_time(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "wear_stack.json")
    args = ap.parse_args()
    import pyfastnoiselite.pyfastnoiselite as fnl

    dev = device()
    mesh = build_assets.pipe_spool()
    results = []
    for size in args.sizes:
        bk = bake(mesh.points, mesh.triangles(), mesh.normals, mesh.uvs, size, occlusion_resolution=256, rays=24)
        mtex = size * size / 1e6
        row = {"size": size, "device": dev}
        for defect in DEFECT_CLASSES:
            layer = [LayerSpec(defect, 7, {})]
            row[defect] = mtex / median_time(lambda: build_stack(bk, STEEL, layer), args.runs)
        full = [LayerSpec(d, 7 + i, {}) for i, d in enumerate(DEFECT_CLASSES)]
        row["full_stack"] = mtex / median_time(lambda: build_stack(bk, STEEL, full), args.runs)
        row["clean_stack_only"] = mtex / median_time(lambda: build_stack(bk, STEEL, []), args.runs)
        # peers on the same positions
        pos = bk.position.reshape(-1, 3).astype(np.float32)
        runs_np = max(1, args.runs // 2)
        row["numpy_rust"] = mtex / median_time(lambda: numpy_rust(pos), runs_np)
        wpos = wp.array(pos, dtype=wp.vec3, device=dev)
        wout = wp.zeros(len(pos), dtype=float, device=dev)

        def warp_fbm():
            wp.launch(_raw_fbm, dim=len(pos), inputs=[wpos, 1, 20.0, wout], device=dev)
            wp.synchronize_device(dev)

        row["warp_raw_fbm"] = mtex / median_time(warp_fbm, args.runs)
        noise = fnl.FastNoiseLite(seed=1)
        noise.noise_type = fnl.NoiseType.NoiseType_Perlin
        noise.fractal_type = fnl.FractalType.FractalType_FBm
        noise.fractal_octaves = 5
        noise.frequency = 20.0
        coords = np.ascontiguousarray(pos.T)
        row["fastnoiselite_raw_fbm"] = mtex / median_time(lambda: noise.gen_from_coords(coords), args.runs)
        results.append(row)
    print(f"machine: {machine()}; Warp device: {dev}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print()
    print("| size | " + " | ".join(DEFECT_CLASSES) + " | full stack (10 layers) | clean stack |")
    print("|---|" + "---|" * (len(DEFECT_CLASSES) + 2))
    for r in results:
        print(f"| {r['size']}² | " + " | ".join(f"{r[d]:.2f}" for d in DEFECT_CLASSES) +
              f" | {r['full_stack']:.2f} | {r['clean_stack_only']:.2f} |")
    print()
    print("| size | rust layer (Warp stack) | rust layer (NumPy) | ratio | raw fBm (Warp) | raw fBm (FastNoiseLite) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['size']}² | {r['rust']:.2f} | {r['numpy_rust']:.2f} | {r['rust'] / r['numpy_rust']:.1f}x | "
              f"{r['warp_raw_fbm']:.2f} | {r['fastnoiselite_raw_fbm']:.2f} | "
              f"{r['warp_raw_fbm'] / r['fastnoiselite_raw_fbm']:.2f}x |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
