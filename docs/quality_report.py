"""Build the demo dataset's quality report and the screenshots in docs/quality.md.

    python docs/quality_report.py [--out out/quality] [--frames 16]

Renders the demo recipe, renders a stand-in for real photos (the demo recipe under dimmer lights, a
noisier JPEG-compressing sensor and other paints: the repository ships no real photos), runs
`wearforge report` on the pair and photographs sections of the page with headless Chromium.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STANDIN = ["randomizers.lights.0.intensity={uniform: [5, 9]}", "randomizers.lights.1.intensity={uniform: [0.5, 2]}",
           "randomizers.sensor.read_noise={uniform: [0.02, 0.04]}", "randomizers.sensor.jpeg_quality=40",
           "randomizers.materials.1.preset={choice: [painted_blue, painted_machine_grey]}"]
SHOTS = {"quality_overview": ("scores", "classes"), "quality_coverage": ("camera", "coverage"),
         "quality_galleries": ("duplicates", "galleries"), "quality_real": ("scores", "real")}


def main() -> None:
    from wearforge.generate import generate
    from wearforge.recipe import load_recipe
    from wearforge.report import Options, build_report
    from wearforge.report.screenshot import section_screenshots

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "quality")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--set", action="append", default=[], help="extra recipe overrides for both sets")
    args = ap.parse_args()
    demo = ROOT / "recipes" / "demo.yaml"
    synth, standin = args.out / "demo", args.out / "standin"
    common = [f"frames={args.frames}", *args.set]
    generate(load_recipe(demo, [*common, f"output.dir={json.dumps(str(synth))}"]))
    generate(load_recipe(demo, [*common, *STANDIN, "seed=1007", f"output.dir={json.dumps(str(standin))}"]))
    photos = args.out / "standin_photos"
    photos.mkdir(parents=True, exist_ok=True)
    for p in sorted(standin.glob("rgb_*.png")):
        shutil.copy(p, photos / p.name.replace("rgb_", "photo_"))
    report = build_report(synth, synth / "report", Options(real=photos, recipe=demo, overrides=args.set))
    print(json.dumps(report["scores"], indent=1))
    from PIL import Image

    for png in section_screenshots(report, synth / "report", SHOTS):
        # 256 colours keep the page readable at a third of the size
        Image.open(png).convert("RGB").quantize(256).save(ROOT / "docs" / png.name, optimize=True)
        print("wrote", ROOT / "docs" / png.name)


if __name__ == "__main__":
    main()
