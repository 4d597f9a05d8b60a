"""Wear seconds per frame with stacks that follow the part's size on screen vs the recipe's fixed sizes.

    .venv/bin/python benchmarks/wear_resolution.py [--frames 6] [--size 512 384]

The demo recipe (wear on the pipe spool at 1024², gear and bracket at 512²) rendered with
`texels_per_pixel` 0 (fixed sizes, the peer) and 2 (the default), same frames, same session. Reports the
median wear time per frame (Warp kernels building the stacks, bakes cached after the first frame of a size)
and the stack sizes used; frame 0 is a warm-up for both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.render_frame import machine  # noqa: E402
from wearforge.recipe import load_recipe  # noqa: E402


def main() -> None:
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--size", type=int, nargs=2, default=[512, 384])
    args = ap.parse_args()
    result = {"machine": machine(), "args": vars(args)}
    for tpp in (0.0, 2.0):
        recipe = load_recipe(ROOT / "recipes" / "demo.yaml", [f"render.resolution=[{args.size[0]}, {args.size[1]}]",
                                                              "render.denoise=false", "render.spp=4"])
        wear = [w.model_copy(update={"texels_per_pixel": tpp}) for w in recipe.randomizers.wear]
        recipe = recipe.model_copy(update={"randomizers": recipe.randomizers.model_copy(update={"wear": wear})})
        stage = open_stage(recipe.usd_path())
        scene = read_scene(recipe, stage)
        renderer = StandaloneRenderer(stage)
        times, sizes = [], set()
        for i in range(args.frames + 1):
            spec = sample_frame(recipe, None, i, scene)
            data = renderer.render(spec)
            if i:
                times.append(data["timing"]["wear"])
            state_sizes = {s.resolution for s in renderer.wear.stacks(spec, _state(renderer, spec))[0].values()}
            sizes |= state_sizes
        result[str(tpp)] = {"wear_s": statistics.median(times), "sizes": sorted(sizes)}
        print(f"texels_per_pixel {tpp}: wear {statistics.median(times):.3f} s/frame, stack sizes {sorted(sizes)}",
              flush=True)
    ratio = result["0.0"]["wear_s"] / result["2.0"]["wear_s"]
    print(f"\n{args.frames} frames at {args.size[0]}x{args.size[1]}: following the screen is {ratio:.1f}x faster; {machine()}")
    (ROOT / "benchmarks" / "results" / "wear_resolution.json").write_text(json.dumps(result, indent=1))


def _state(renderer, spec):
    from wearforge.twin_reader import read_frame_state

    return read_frame_state(renderer.stage, renderer.meshes, spec.camera.path)


if __name__ == "__main__":
    main()
