"""Seconds per denoised beauty pass: the guides from a pass of their own vs an ``aov`` integrator wrapped
around the path tracer (how the guides were rendered before).

    .venv/bin/python benchmarks/denoise_guides.py [--runs 5] [--frames 2] [--size 160 120] [--spp 16]

Frames of the demo recipe; each way renders radiance + albedo + normal with the same sensor, samples and seed
and runs Open Image Denoise on them; the two ways are interleaved per run and checked to give identical
images. Seconds: median over --runs, mean over frames.
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
from wearforge.recipe import load_recipe  # noqa: E402


def main() -> None:
    from wearforge.render.denoise import GUIDE_AOVS, denoise
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--size", type=int, nargs=2, default=[160, 120])
    ap.add_argument("--spp", type=int, default=16)
    args = ap.parse_args()
    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [f"render.resolution=[{args.size[0]}, {args.size[1]}]",
                                                          f"render.spp={args.spp}"])
    stage = open_stage(recipe.usd_path())
    scene = read_scene(recipe, stage)
    renderer = StandaloneRenderer(stage, max_depth=recipe.render.max_depth, denoise=True)
    backend = renderer.backend
    mi = backend.mi
    wrapped = mi.load_dict({"type": "aov", "aovs": GUIDE_AOVS, "radiance": {
        "type": "path", "max_depth": backend.max_depth, "hide_emitters": False}})

    def separate(spec):
        return backend.render_beauty(spec.render.spp, spec.render.seed)

    def aov_wrapped(spec):
        img = np.asarray(mi.render(backend._scene, integrator=wrapped, spp=spec.render.spp, seed=spec.render.seed),
                         dtype=np.float32)
        return denoise(img[..., :3], img[..., 3:6], img[..., 6:9])

    ways = {"guides wrapped around the path tracer (before)": aov_wrapped, "guides in a pass of their own": separate}
    seconds: dict[str, list[float]] = {w: [] for w in ways}
    for index in range(args.frames):
        spec = sample_frame(recipe, None, index, scene)
        renderer.render(spec)  # builds / updates the Mitsuba scene for this frame, warms up the kernels
        per: dict[str, list[float]] = {w: [] for w in ways}
        images = {}
        for _ in range(args.runs):
            for way, fn in ways.items():
                t0 = time.perf_counter()
                images[way] = fn(spec)
                per[way].append(time.perf_counter() - t0)
        a, b = images.values()
        assert np.array_equal(a, b), "the two ways gave different images"
        for way in ways:
            seconds[way].append(statistics.median(per[way]))
    mean = {w: float(np.mean(v)) for w, v in seconds.items()}
    before = mean[next(iter(ways))]
    print(f"demo recipe, {args.frames} frames at {args.size[0]}x{args.size[1]}, {args.spp} spp + OIDN; median of "
          f"{args.runs}; {machine()}")
    print("| guides | beauty s/frame | vs before |\n|---|---|---|")
    for way, t in mean.items():
        print(f"| {way} | {t:.3f} | {before / t:.2f}x |")
    (ROOT / "benchmarks" / "results" / "denoise_guides.json").write_text(
        json.dumps({"machine": machine(), "args": vars(args), "seconds": mean, "per_frame": seconds}, indent=1))


if __name__ == "__main__":
    main()
