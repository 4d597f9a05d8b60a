"""Time and peak memory of `wearforge report` on 250 and 1,000 frames (results in docs/benchmarks.md).

    python benchmarks/report.py [--frames 1000] [--runs 3] [--work /tmp/wearforge-bench-report]

Rendering 1,000 frames would take this machine hours, so the dataset is synthesized: 8 demo frames are
rendered at the demo resolution (512x384), then copied to N frames with every copy's image perturbed
(gain, shift, noise) so that features and near-duplicate search see N different images; labels are
copied unchanged. Each report runs in its own process (peak RSS: VmHWM, which getrusage would
inherit from the parent across exec). The peer, measured in
the same run, is decoding the same N rgb PNGs and nothing else: the floor any report must pay.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = """
import sys, time, json
from pathlib import Path
sys.path.insert(0, {root!r})
mode, folder, recipe = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
if mode == "report":
    from wearforge.report import Options, build_report
    build_report(folder, folder / "report", Options(recipe=recipe))
else:
    import cv2
    for p in sorted(folder.glob("rgb_*.png")):
        cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]  # peak RSS of this process
print(json.dumps({{"seconds": time.perf_counter() - t, "peak_mib": int(hwm) / 1024}}))
"""


def synthesize(source: Path, dest: Path, frames: int) -> Path:
    """Copy the source frames to ``frames`` frames, each copy's rgb perturbed."""
    import cv2

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    tags = sorted(m.group(1) for p in source.iterdir() if (m := re.match(r"rgb_(\d+)\.png$", p.name)))
    files = {t: [p for p in source.iterdir() if p.name.endswith(f"_{t}{p.suffix}") and p.is_file()] for t in tags}
    rng = np.random.default_rng(0)
    for n in range(frames):
        tag = tags[n % len(tags)]
        new = f"{n:04d}"
        for p in files[tag]:
            target = dest / p.name.replace(f"_{tag}{p.suffix}", f"_{new}{p.suffix}")
            if p.name.startswith("rgb_"):
                img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED).astype(np.float32)
                img = np.roll(img * rng.uniform(0.8, 1.2), int(rng.integers(-8, 9)), axis=1)
                img[..., :3] += rng.normal(0, rng.uniform(1, 6), img[..., :3].shape)
                cv2.imwrite(str(target), np.clip(img, 0, 255).astype(np.uint8))
            elif p.name.startswith("frame_spec_"):
                spec = json.loads(p.read_text())
                spec["index"] = n
                target.write_text(json.dumps(spec))
            else:
                shutil.copy(p, target)
    return dest


def child(mode: str, folder: Path, recipe: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), mode, str(folder), str(recipe)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from wearforge.generate import generate
    from wearforge.recipe import load_recipe

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[250, 1000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/wearforge-bench-report"))
    args = ap.parse_args()
    recipe = ROOT / "recipes" / "demo.yaml"
    source = args.work / "source"
    if not (source / "rgb_0007.png").is_file():
        generate(load_recipe(recipe, ["frames=8", "render.spp=8", "output.contact_sheet=0",
                                      f"output.dir={json.dumps(str(source))}"]))
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
               "runs": args.runs, "load_average_at_start": os.getloadavg()[0], "sizes": []}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for n in args.frames:
        folder = synthesize(source, args.work / f"n{n}", n)
        rep = [child("report", folder, recipe) for _ in range(args.runs)]
        peer = [child("decode", folder, recipe) for _ in range(args.runs)]
        t = statistics.median(r["seconds"] for r in rep)
        m = statistics.median(r["peak_mib"] for r in rep)
        tp = statistics.median(r["seconds"] for r in peer)
        mp = statistics.median(r["peak_mib"] for r in peer)
        print(f"{n} frames: report {t:.1f} s ({1000 * t / n:.0f} ms/frame), peak RSS {m:.0f} MiB | "
              f"peer (decode rgb only) {tp:.1f} s, {mp:.0f} MiB | report/peer time {t / tp:.1f}x")
        sys.stdout.flush()
        results["sizes"].append({"frames": n, "report_s": t, "report_peak_mib": m, "peer_decode_s": tp,
                                 "peer_peak_mib": mp, "report_runs": rep, "peer_runs": peer})
    out = ROOT / "benchmarks" / "results" / "report.json"
    out.write_text(json.dumps(results, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
