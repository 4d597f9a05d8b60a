"""Seconds per frame of the standalone backend, split into render / annotate / write, with peers.

    .venv/bin/python benchmarks/render_frame.py [--runs 5] [--sizes 512 1024] [--spp 64]

Peers measured in the same run:
  annotate  vs Mitsuba's stock `aov` integrator (shape_index, uv, depth, sh_normal at 1 spp): the usual
            way to get label buffers out of Mitsuba (no peeling, so no unoccluded masks / loose boxes)
  write     vs Pillow's default PNG encoder for the same images
  render    vs the scalar variant of Mitsuba (what you get without a working libLLVM), 512 px only
Each figure is the median of --runs frames after one warm-up frame (kernel compilation excluded).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wearforge.recipe import load_recipe  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_info import machine  # noqa: E402,F401  (the benchmarks import it from here)


def bench_size(size: int, runs: int, spp: int) -> dict:
    from PIL import Image

    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene
    from wearforge.writers import BasicLayoutWriter, to_annotator_layout
    from wearforge.writers.base import encode_png
    from wearforge.writers.basic import colorize

    recipe = load_recipe(ROOT / "recipes" / "demo.yaml",
                         [f"render.resolution=[{size}, {size}]", f"render.spp={spp}"])
    stage = open_stage(recipe.usd_path())
    scene = read_scene(recipe, stage)
    renderer = StandaloneRenderer(stage)
    mi = renderer.backend.mi
    aov = mi.load_dict({"type": "aov", "aovs": "si:shape_index,uv:uv,dd:depth,nn:sh_normal"})
    rows = {k: [] for k in ("render", "annotate", "write_blocking", "write_background", "total",
                            "peer_aov_integrator", "peer_pillow_png", "ours_opencv_png")}
    with tempfile.TemporaryDirectory() as tmp:
        writer = BasicLayoutWriter(tmp)
        for i in range(runs + 1):
            t0 = time.perf_counter()
            data = renderer.render(sample_frame(recipe, None, i, scene))
            timing = data.pop("timing")
            t1 = time.perf_counter()
            writer.write(to_annotator_layout(data, i))
            t2 = time.perf_counter()
            writer._files.flush()
            t3 = time.perf_counter()
            # peers on the same frame
            p0 = time.perf_counter()
            np.asarray(mi.render(renderer.backend._scene, integrator=aov, spp=1, seed=0))
            p1 = time.perf_counter()
            images = [data["rgb"]["data"], colorize(data["semantic_segmentation"]["data"])[0],
                      colorize(data["instance_segmentation"]["data"])[0]]
            for img in images:
                Image.fromarray(img).save(io.BytesIO(), format="PNG")
            p2 = time.perf_counter()
            for img in images:
                encode_png(img)
            p3 = time.perf_counter()
            if i == 0:
                continue  # warm-up: JIT compilation
            rows["render"].append(timing["prepare"] + timing["render"])
            rows["annotate"].append(timing["annotate"])
            rows["write_blocking"].append(t2 - t1)
            rows["write_background"].append(t3 - t2)
            rows["total"].append(t2 - t0)
            rows["peer_aov_integrator"].append(p1 - p0)
            rows["peer_pillow_png"].append(p2 - p1)
            rows["ours_opencv_png"].append(p3 - p2)
        writer.on_final_frame()
    return {"size": size, "spp": spp, "variant": renderer.variant, **{k: statistics.median(v) for k, v in rows.items()}}


SCALAR = """
import json, sys, time, statistics, os
sys.path.insert(0, sys.argv[1])
from wearforge.recipe import load_recipe
from wearforge.render.frame import StandaloneRenderer
from wearforge.scenario import sample_frame
from wearforge.stage import open_stage, read_scene
r = load_recipe(sys.argv[1] + '/recipes/demo.yaml', ['render.resolution=[512, 512]', 'render.spp=' + sys.argv[2]])
st = open_stage(r.usd_path()); sc = read_scene(r, st); R = StandaloneRenderer(st)
times = []
for i in range(int(sys.argv[3]) + 1):
    d = R.render(sample_frame(r, None, i, sc))
    if i:
        times.append(d['timing']['prepare'] + d['timing']['render'])
print(json.dumps({'variant': R.variant, 'render': statistics.median(times)}))
"""


def scalar_render(spp: int, runs: int) -> dict:
    env = {**os.environ, "WEARFORGE_MITSUBA_VARIANT": "scalar_rgb"}
    out = subprocess.run([sys.executable, "-c", SCALAR, str(ROOT), str(spp), str(runs)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--spp", type=int, default=64)
    ap.add_argument("--scalar-runs", type=int, default=3)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "render_frame.json")
    args = ap.parse_args()
    results = [bench_size(s, args.runs, args.spp) for s in args.sizes]
    scalar = scalar_render(args.spp, args.scalar_runs) if 512 in args.sizes else None
    print(f"machine: {machine()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print()
    print("| size | variant | spp | render s | annotate s | write s (render thread) | encode+write s (background) "
          "| frame s | Mitsuba aov integrator s | Pillow PNG s | OpenCV PNG s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['size']}² | {r['variant']} | {r['spp']} | {r['render']:.3f} | {r['annotate']:.3f} | "
              f"{r['write_blocking']:.4f} | {r['write_background']:.3f} | {r['total']:.3f} | "
              f"{r['peer_aov_integrator']:.3f} | {r['peer_pillow_png']:.3f} | {r['ours_opencv_png']:.3f} |")
    print()
    for r in results:
        print(f"{r['size']}²: annotate / aov-integrator = {r['annotate'] / r['peer_aov_integrator']:.2f}x, "
              f"Pillow PNG / OpenCV PNG = {r['peer_pillow_png'] / r['ours_opencv_png']:.1f}x")
    if scalar:
        llvm = [r for r in results if r["size"] == 512][0]
        print(f"512² render: scalar {scalar['render']:.2f} s vs {llvm['variant']} {llvm['render']:.2f} s "
              f"= {scalar['render'] / llvm['render']:.1f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine(), "results": results, "scalar_512": scalar}, indent=1))


if __name__ == "__main__":
    main()
