"""Resident memory over a long run: slope in MiB per 1,000 frames after warm-up, wear on and off.

    .venv/bin/python benchmarks/memory.py [--frames 2000] [--peer-frames 400] [--every 100] [--wear-resolution 256]

Renders the demo recipe's FrameSpecs at a small image size (32x24, 1 spp) so the run measures what
stays behind per frame, not the path tracer. RSS is sampled every --every frames after a garbage
collection; the slope is a least-squares fit over the samples after --warmup frames. Each
configuration runs in its own process. Peers in the same run:
  - wear on with nothing released after a scene rebuild (the behaviour before the fix), for
    --peer-frames frames;
  - wear off (the same frames without wear layers: no texture stacks, no rebuilds they cause), for
    --peer-frames frames.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(frames: int, every: int, wear: bool, wear_resolution: int, flush: bool) -> None:
    """Render and print one JSON line per sample: {"frame", "rss_mib", "s", "rebuilds"}."""
    import tempfile

    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_twin, read_scene

    data = yaml.safe_load((ROOT / "recipes" / "demo.yaml").read_text())
    data["render"] = {"resolution": [32, 24], "spp": 1}
    data["frames"] = frames
    if not wear:
        data["randomizers"].pop("wear")
    for group in data["randomizers"].get("wear", []):
        group["resolution"] = wear_resolution
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memory.yaml"
        path.write_text(yaml.safe_dump(data))
        recipe = load_recipe(path)
    stage = open_twin(recipe)
    scene = read_scene(recipe, stage)
    renderer = StandaloneRenderer(stage, variant=recipe.render.variant)
    if not flush:  # the renderer as it was before the fix: nothing released after a rebuild
        renderer.backend._release_memory = lambda: None
    start, rebuilds, signature = time.perf_counter(), 0, None
    for i in range(frames):
        renderer.render(sample_frame(recipe, recipe.seed, i, scene))
        rebuilds += renderer.backend._signature != signature
        signature = renderer.backend._signature
        if (i + 1) % every == 0 or i == 0:
            gc.collect()
            print(json.dumps({"frame": i + 1, "rss_mib": round(rss_mib(), 1),
                              "s": round(time.perf_counter() - start, 1), "rebuilds": rebuilds}), flush=True)


def run(frames: int, every: int, wear: bool, wear_resolution: int, flush: bool) -> list[dict]:
    cmd = [sys.executable, __file__, "--child", "--frames", str(frames), "--every", str(every),
           "--wear-resolution", str(wear_resolution)] + ([] if wear else ["--no-wear"]) + ([] if flush else ["--no-flush"])
    samples = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as proc:
        for line in proc.stdout:  # shown as they come: a long run can be watched (and cut short)
            if line.startswith("{"):
                samples.append(json.loads(line))
                print("   ", line.strip(), flush=True)
    if proc.returncode:
        raise SystemExit(f"{cmd} failed with status {proc.returncode}")
    return samples


def slope(samples: list[dict], warmup: int) -> float:
    """MiB per 1,000 frames, least squares over the samples after warm-up."""
    pts = [(s["frame"], s["rss_mib"]) for s in samples if s["frame"] > warmup]
    if len(pts) < 2:
        return float("nan")
    x, y = np.array(pts, float).T
    return float(np.polyfit(x, y, 1)[0] * 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--peer-frames", type=int, default=400, help="frames of the two peer runs")
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--wear-resolution", type=int, default=256)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-wear", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-flush", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from render_frame import machine

    if args.child:
        child(args.frames, args.every, not args.no_wear, args.wear_resolution, not args.no_flush)
        return
    configs = {"wear on": (args.frames, True, True),
               "wear on, nothing released after a rebuild (before the fix)": (args.peer_frames, True, False),
               "wear off": (args.peer_frames, False, True)}
    results = {}
    out = ROOT / "benchmarks" / "results" / "memory.json"
    for name, (frames, wear, flush) in configs.items():
        samples = run(frames, args.every, wear, args.wear_resolution, flush)
        results[name] = {"frames": frames, "samples": samples, "slope_mib_per_1000": slope(samples, args.warmup)}
        last = samples[-1]
        print(f"{name:50s} {frames:5d} frames  rebuilds {last['rebuilds']:4d}  RSS {samples[0]['rss_mib']:.0f} -> "
              f"{last['rss_mib']:.0f} MiB  slope {results[name]['slope_mib_per_1000']:+.1f} MiB/1000 frames  "
              f"({last['s'] / frames:.2f} s/frame)", flush=True)
        # written after every configuration: a long run cut short keeps what it measured
        out.write_text(json.dumps({"machine": machine(), "args": vars(args), "results": results}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
