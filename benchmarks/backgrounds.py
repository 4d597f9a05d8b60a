"""Cost of drawing the background per frame (``scene.backgrounds``): run setup and seconds per frame.

    .venv/bin/python benchmarks/backgrounds.py [--runs 3] [--frames 8] [--size 160 120] [--spp 8]

Three configurations of the demo recipe (wear off, so the figure is the scene's and not the wear kernels'),
each timed in-process on the same FrameSpecs within one run, interleaved so load from other processes hits
all alike; median over --runs:
  - ``one cell``: ``scene.usd=asset:conveyor_cell``, the background fixed for the run (the peer);
  - ``per frame, visibility``: four backgrounds loaded once, one shown per frame (what wearforge does);
  - ``per frame, rebuild``: the same frames with the Mitsuba scene rebuilt at every frame, the cost of
    swapping the background geometry into the renderer instead of toggling it.
Setup is open_twin + read_scene + the renderer's geometry read; ``prepare`` is the per-frame median of the
renderer's own timing of applying the FrameSpec and updating (or rebuilding) the Mitsuba scene, the part a
background switch affects.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine_info import machine  # noqa: E402

BACKGROUNDS = "scene.backgrounds=[{usd: asset:conveyor_belt}, {usd: asset:workbench}, {usd: asset:tote}, {usd: asset:table}]"


def measure(config: str, args) -> dict:
    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_twin, read_scene

    small = [f"render.resolution=[{args.size[0]},{args.size[1]}]", f"render.spp={args.spp}", "randomizers.wear=[]",
             "render.denoise=false"]
    extra = ["scene.usd=asset:conveyor_cell"] if config == "one cell" else [BACKGROUNDS]
    recipe = load_recipe(ROOT / "recipes" / "demo.yaml", small + extra)
    t0 = time.perf_counter()
    stage = open_twin(recipe)
    scene = read_scene(recipe, stage)
    renderer = StandaloneRenderer.for_recipe(recipe, stage)
    setup = time.perf_counter() - t0
    specs = [sample_frame(recipe, None, i, scene) for i in range(args.frames)]
    builds = []
    build = renderer.backend._build
    renderer.backend._build = lambda *a, **k: (builds.append(1), build(*a, **k))[1]
    renderer.render(specs[0])  # first build and JIT warm-up, not counted
    t0 = time.perf_counter()
    prepare = []
    for spec in specs[1:]:
        if config == "per frame, rebuild":
            renderer.backend._signature = None  # what a geometry swap would cost: a new Mitsuba scene
        prepare.append(renderer.render(spec)["timing"]["prepare"])
    per_frame = (time.perf_counter() - t0) / (len(specs) - 1)
    return {"setup_s": setup, "frame_s": per_frame, "prepare_s": statistics.median(prepare), "builds": len(builds),
            "backgrounds": len({s.background for s in specs})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, nargs=2, default=[160, 120])
    ap.add_argument("--spp", type=int, default=8)
    args = ap.parse_args()
    configs = ("one cell", "per frame, visibility", "per frame, rebuild")
    runs: dict[str, list[dict]] = {c: [] for c in configs}
    for _ in range(args.runs):
        for config in configs:
            runs[config].append(measure(config, args))
    peer = statistics.median(r["frame_s"] for r in runs["one cell"])
    summary = {}
    for config, rows in runs.items():
        frame = statistics.median(r["frame_s"] for r in rows)
        summary[config] = {"setup_s": statistics.median(r["setup_s"] for r in rows), "frame_s": frame,
                           "prepare_s": statistics.median(r["prepare_s"] for r in rows),
                           "vs_one_cell": frame / peer, "builds": rows[0]["builds"],
                           "backgrounds_shown": rows[0]["backgrounds"]}
        print(f"{config:24s} setup {summary[config]['setup_s']:.2f} s  prepare {summary[config]['prepare_s']:.3f} s  "
              f"frame {frame:.3f} s  "
              f"({frame / peer:.2f}x one cell)  builds {rows[0]['builds']}  backgrounds {rows[0]['backgrounds']}")
    out = ROOT / "benchmarks" / "results" / "backgrounds.json"
    out.write_text(json.dumps({"machine": machine(), "args": vars(args), "summary": summary, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
