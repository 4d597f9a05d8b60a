"""Render cost of the groove frame: demo frames with wear stacks path-traced isotropically vs with the
``groove_frame`` BSDF (per-texel anisotropy direction), interleaved in one run.

    .venv/bin/python benchmarks/groove_frame.py [--frames 3] [--runs 5] [--size 256 192] [--spp 16]

Two standalone renderers on the same stage prepare the same demo frames (wear stacks on every part, metal
finishes and scratches among them); one builds its scenes as before the groove frame (isotropic principled
BSDF under the normal map). For each frame, after one full warm-up render each (kernel compilation and wear
growth excluded), ``render_beauty`` runs --runs times per renderer, alternating which goes first. Reported:
median seconds per beauty render over all frames and runs, and the median of the paired ratios (each
groove-frame render over the isotropic render next to it, which cancels most of a shared machine's load).
The visibility pass renders the same scene twice more per frame, so it scales by the same ratio.

With --scalar, also the reason the scalar variant renders stacks isotropically: there the plugin's Python
runs once per ray, timed on the 64x48 plate of tests/test_grooves.py (16 spp, median of --runs, in a child
process with WEARFORGE_MITSUBA_VARIANT=scalar_rgb).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.render_frame import machine  # noqa: E402


SCALAR = """
import json, statistics, sys, time
from tests.test_grooves import plate, stack, state
from wearforge.render import tangent_frame
from wearforge.render.mitsuba_backend import MitsubaBackend

out = {}
for grooves in (False, True):
    backend = MitsubaBackend([plate()], max_depth=2)
    if grooves:  # forced on: the backend leaves it off in the scalar variant
        tangent_frame.register(backend.mi)
    backend.grooves = grooves
    backend.prepare(state(0.0), (64, 48), {0: stack(1.0)})
    runs = []
    for _ in range(int(sys.argv[1])):
        t0 = time.perf_counter()
        backend.render_beauty(16, 1)
        runs.append(time.perf_counter() - t0)
    out["groove frame" if grooves else "isotropic"] = statistics.median(runs)
print(json.dumps(out))
"""


def scalar_cost(runs: int) -> dict:
    env = {**os.environ, "WEARFORGE_MITSUBA_VARIANT": "scalar_rgb", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCALAR, str(runs)], env=env, cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=int, nargs=2, default=[256, 192])
    ap.add_argument("--spp", type=int, default=16)
    ap.add_argument("--scalar", action="store_true", help="also time the plugin in the scalar variant")
    args = ap.parse_args()
    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene

    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [f"render.resolution=[{args.size[0]}, {args.size[1]}]",
                                                          f"render.spp={args.spp}", "render.denoise=false"])
    stage = open_stage(recipe.usd_path())
    scene = read_scene(recipe, stage)
    renderers = {"isotropic": StandaloneRenderer(stage), "groove frame": StandaloneRenderer(stage)}
    renderers["isotropic"].backend.grooves = False  # the scene as built before the groove frame
    times: dict[str, list[float]] = {name: [] for name in renderers}
    ratios: list[float] = []
    for frame in range(args.frames):
        spec = sample_frame(recipe, None, frame, scene)
        for renderer in renderers.values():
            renderer.render(spec)  # builds or updates the scene (and warms up its kernels)
        for run in range(args.runs):
            order = list(renderers.items())
            took = {}
            for name, renderer in (order if run % 2 else order[::-1]):
                t0 = time.perf_counter()
                renderer.backend.render_beauty(args.spp, spec.render.seed)
                took[name] = time.perf_counter() - t0
                times[name].append(took[name])
            ratios.append(took["groove frame"] / took["isotropic"])
    med = {name: statistics.median(v) for name, v in times.items()}
    ratio = statistics.median(ratios)
    variant = renderers["groove frame"].variant
    print(f"{args.size[0]}x{args.size[1]}, {args.spp} spp, {variant}, {args.frames} demo frames x {args.runs} "
          f"renders; {machine()}")
    print("| scene | s per beauty render (median) |\n|---|---|")
    for name, t in med.items():
        print(f"| {name} | {t:.3f} |")
    print(f"| groove frame / isotropic, median of paired ratios | {ratio:.2f}x |")
    scalar = scalar_cost(args.runs) if args.scalar else None
    if scalar:
        print(f"scalar_rgb, 64x48 plate, 16 spp: isotropic {scalar['isotropic']:.3f} s, groove frame "
              f"{scalar['groove frame']:.3f} s ({scalar['groove frame'] / scalar['isotropic']:.0f}x)")
    (ROOT / "benchmarks" / "results" / "groove_frame.json").write_text(
        json.dumps({"machine": machine(), "variant": variant, "args": vars(args), "seconds": med,
                    "paired_ratio": ratio, "runs": times, "ratios": ratios, "scalar": scalar}, indent=1))


if __name__ == "__main__":
    main()
