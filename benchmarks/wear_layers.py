"""Throughput of single wear layers (megatexels/s of a whole ``build_stack`` call), for A/B runs of one
layer's code: run it from two checkouts in alternating processes on the same machine.

    .venv/bin/python benchmarks/wear_layers.py --layers rust cracks --size 1024 --runs 3

Peer in the same run: raw 5-octave Perlin fBm from FastNoiseLite on the same texel positions (C++, does not
change between checkouts), so figures from a loaded machine compare as a ratio to it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "usd_assets"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import build_assets  # noqa: E402
from wear_stack import STEEL, median_time  # noqa: E402

from wearforge.wear import LayerSpec, bake, build_stack  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", nargs="+", default=["rust", "cracks"])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    import pyfastnoiselite.pyfastnoiselite as fnl

    mesh = build_assets.pipe_spool()
    bk = bake(mesh.points, mesh.triangles(), mesh.normals, mesh.uvs, args.size, occlusion_resolution=256, rays=24)
    mtex = args.size ** 2 / 1e6
    row = {layer: mtex / median_time(lambda: build_stack(bk, STEEL, [LayerSpec(layer, 7, {})]), args.runs)
           for layer in args.layers}
    noise = fnl.FastNoiseLite(seed=1)
    noise.noise_type = fnl.NoiseType.NoiseType_Perlin
    noise.fractal_type = fnl.FractalType.FractalType_FBm
    noise.fractal_octaves = 5
    coords = np.ascontiguousarray(bk.position.reshape(-1, 3).astype(np.float32).T)
    peer = mtex / median_time(lambda: noise.gen_from_coords(coords), args.runs)
    print(" | ".join(f"{k} {v:.2f} Mtex/s ({v / peer:.3f} of peer)" for k, v in row.items())
          + f" | FastNoiseLite fBm {peer:.2f} Mpt/s")


if __name__ == "__main__":
    main()
