"""Image quality per second of rendering: plain Mitsuba at several spp vs fewer spp + Open Image Denoise.

    .venv/bin/python benchmarks/denoise.py [--runs 3] [--frames 3] [--size 160 120] [--ref-spp 1024]

For each frame of the demo recipe a reference is rendered at --ref-spp (plain path tracing); every
configuration's final RGB (after the sensor model, 8-bit, what the dataset holds) is compared with it by
PSNR and SSIM (scikit-image). Seconds are the median over --runs of the renderer's beauty time (path
tracing, plus AOVs and denoising where on) per frame; quality is the mean over frames. All configurations
are measured in the same session, so the ratios hold even on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.render_frame import machine  # noqa: E402
from wearforge.recipe import load_recipe  # noqa: E402

CONFIGS = [(16, False), (64, False), (256, False), (8, True), (16, True), (32, True)]


def main() -> None:
    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--size", type=int, nargs=2, default=[160, 120])
    ap.add_argument("--ref-spp", type=int, default=1024)
    ap.add_argument("--png", type=Path, default=None, help="Write a side-by-side of frame 0 here.")
    args = ap.parse_args()
    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [f"render.resolution=[{args.size[0]}, {args.size[1]}]"])
    stage = open_stage(recipe.usd_path())
    scene = read_scene(recipe, stage)
    plain = StandaloneRenderer(stage, max_depth=recipe.render.max_depth)
    denoised = StandaloneRenderer(stage, max_depth=recipe.render.max_depth, denoise=True)
    seconds: dict[str, list[float]] = {}
    psnr: dict[str, list[float]] = {}
    ssim: dict[str, list[float]] = {}
    tiles = []
    for index in range(args.frames):
        base = sample_frame(recipe, None, index, scene)

        def render(renderer, spp, seed_offset=0):
            settings = {"spp": spp, "seed": (base.render.seed + seed_offset) % 2**32}
            spec = base.model_copy(update={"render": base.render.model_copy(update=settings)})
            data = renderer.render(spec)
            return data["rgb"]["data"][..., :3], data["timing"]["render"]

        # another sampler seed: the reference shares no samples with the configurations it judges
        reference, _ = render(plain, args.ref_spp, seed_offset=7919)
        row = [reference]
        for spp, dn in CONFIGS:
            name = f"{spp} spp" + (" + OIDN" if dn else "")
            renderer = denoised if dn else plain
            render(renderer, spp)  # warm-up (scene build, kernel compilation)
            times = []
            for _ in range(args.runs):
                image, t = render(renderer, spp)
                times.append(t)
            seconds.setdefault(name, []).append(statistics.median(times))
            psnr.setdefault(name, []).append(peak_signal_noise_ratio(reference, image, data_range=255))
            ssim.setdefault(name, []).append(structural_similarity(reference, image, channel_axis=2, data_range=255))
            row.append(image)
            print(f"frame {index}: {name}: {seconds[name][-1]:.3f} s, PSNR {psnr[name][-1]:.2f} dB, "
                  f"SSIM {ssim[name][-1]:.4f}", flush=True)
        tiles.append(np.concatenate(row, axis=1))
    if args.png:
        Image.fromarray(np.concatenate(tiles, axis=0)).save(args.png)
    names = list(seconds)
    result = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()},
              "configs": {n: {"seconds": statistics.mean(seconds[n]), "psnr": statistics.mean(psnr[n]),
                              "ssim": statistics.mean(ssim[n])} for n in names}}
    print(f"\ndemo recipe, {args.frames} frames at {args.size[0]}x{args.size[1]}, reference {args.ref_spp} spp; "
          f"seconds: median of {args.runs} renders per frame, mean over frames; {machine()}")
    print("| configuration | beauty s/frame | PSNR dB | SSIM |\n|---|---|---|---|")
    for n in names:
        c = result["configs"][n]
        print(f"| {n} | {c['seconds']:.3f} | {c['psnr']:.2f} | {c['ssim']:.4f} |")
    (ROOT / "benchmarks" / "results" / "denoise.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
