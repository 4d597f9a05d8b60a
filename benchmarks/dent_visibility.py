"""Is a dent of the default depth visible at inspection scale? Displaced mesh against normal map only.

The setting of ``test_a_dent_of_the_default_depth_is_visible_at_inspection_scale``: a 22 mm plate seen
at 0.27 mm per pixel (26 mm field, 96 x 96, macro camera 25 degrees off the normal) under the default
inspection lighting (ring light plus raking bar), one default dent (6 mm radius, 0.8 mm deep) against the
same plate with a dent of zero depth and contact. Per seed and clean material: the share of the dent's
labelled pixels whose CIEDE2000 against the flat plate is >= 2, with the dent as displaced geometry (the
standalone renderer) and as a normal map only (what the renderer did before, and what Kit does), in the
same run, and the time of one frame (render plus labels) in each mode.

Run: ``python benchmarks/dent_visibility.py --seeds 6`` (a few minutes on 2 cores);
``--pictures DIR`` writes the dent frames side by side (displaced | normal map | flat) per seed.
Writes benchmarks/results/dent_visibility.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def plate(folder: Path, half: float = 0.011) -> Path:
    """A flat square plate (metres, Z up) labelled ``plate``, UVs over the whole square."""
    from wearforge.plate_twin import write_plate_twin

    return write_plate_twin(folder / "plate.usda", half)


def frames(usd: Path, folder: Path, preset: str, seed: int, displace: bool, size: int, spp: int,
           direction=(0.0, -0.42, 0.906), dent: dict | None = None, repeats: int = 3):
    """(dent frame, flat frame, median seconds per dent frame) for one seed and material."""
    from wearforge.inspection import DEFAULT_LIGHTING, camera, lighting
    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene

    cam = camera([0, 0, 0], list(direction), field_of_view_mm=26.0)
    out, seconds = [], []
    flat = {"count": 1, "depth": 0.0, "lip": 0.0, "contact": 0.0}
    for name, params in (("dent", {"count": 1, **(dent or {})}), ("flat", flat)):
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump({
            "scene": {"usd": str(usd)}, "camera": cam, "lights": lighting(DEFAULT_LIGHTING, cam),
            "randomizers": {"materials": [{"preset": preset}],
                            "wear": [{"resolution": 512, "layers": [{"type": "dents", "params": params}]}]},
            "render": {"resolution": [size, size], "spp": spp}, "seed": seed}, sort_keys=False))
        recipe = load_recipe(path)
        stage = open_stage(recipe.usd_path())
        renderer = StandaloneRenderer(stage)
        renderer.wear.displace = displace
        spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
        out.append(renderer.render(spec))  # Mitsuba's kernels compile on the first frame: timed after it
        for _ in range(repeats if name == "dent" else 0):
            t0 = time.perf_counter()
            renderer.render(spec)
            seconds.append(time.perf_counter() - t0)
    return out[0], out[1], float(np.median(seconds)) if seconds else 0.0


def visible_share(dent: dict, flat: dict) -> tuple[float, float, int]:
    """(share of labelled pixels with CIEDE2000 >= 2, median CIEDE2000 off the dent, labelled pixels)."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    labelled = dent["defect_segmentation"]["data"] > 0
    lab = [rgb2lab(f["rgb"]["data"][..., :3].astype(np.float64) / 255.0) for f in (dent, flat)]
    de = deltaE_ciede2000(*lab)
    off = ~labelled & (flat["instance_segmentation"]["data"] > 0)
    return float((de[labelled] >= 2.0).mean()), float(np.median(de[off])), int(labelled.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--presets", nargs="+", default=["painted_safety_yellow", "bare_steel"])
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--spp", type=int, default=48)
    ap.add_argument("--contact", type=float, default=None,
                    help="the dent's contact mark (default: the dents' default); 0 = relief alone")
    ap.add_argument("--pictures", default=None, help="folder for side-by-side PNGs")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dent_visibility.json"))
    args = ap.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        usd = plate(folder)
        for preset in args.presets:
            for seed in range(1, args.seeds + 1):
                row = {"preset": preset, "seed": seed}
                shots = []
                for mode, displace in (("displaced", True), ("normal_map", False)):
                    dent, flat, seconds = frames(usd, folder, preset, seed, displace, args.size, args.spp,
                                                 dent={} if args.contact is None else {"contact": args.contact})
                    share, floor, labelled = visible_share(dent, flat)
                    row[mode] = {"visible_pct": 100.0 * share, "noise_floor_de": floor, "labelled_px": labelled,
                                 "frame_s": seconds}
                    shots.append(dent["rgb"]["data"][..., :3])
                shots.append(flat["rgb"]["data"][..., :3])
                rows.append(row)
                d, n = row["displaced"], row["normal_map"]
                print(f"{preset} seed {seed}: displaced {d['visible_pct']:.1f} % of {d['labelled_px']} px, "
                      f"normal map {n['visible_pct']:.1f} % of {n['labelled_px']} px (noise floor "
                      f"{max(d['noise_floor_de'], n['noise_floor_de']):.2f})", flush=True)
                if args.pictures:
                    _picture(Path(args.pictures) / f"dent_{preset}_{seed}.png", shots)
    summary = {}
    for preset in args.presets:
        mine = [r for r in rows if r["preset"] == preset]
        summary[preset] = {mode: {"median_visible_pct": float(np.median([r[mode]["visible_pct"] for r in mine])),
                                  "min_visible_pct": float(np.min([r[mode]["visible_pct"] for r in mine])),
                                  "median_frame_s": float(np.median([r[mode]["frame_s"] for r in mine]))}
                           for mode in ("displaced", "normal_map")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"size": args.size, "spp": args.spp, "contact": args.contact, "rows": rows,
                                          "summary": summary}, indent=1))
    print("| material | mode | median visible | lowest visible | median frame |")
    print("|---|---|---|---|---|")
    for preset, modes in summary.items():
        for mode, s in modes.items():
            print(f"| {preset} | {mode} | {s['median_visible_pct']:.1f} % | {s['min_visible_pct']:.1f} % | "
                  f"{s['median_frame_s']:.2f} s |")


def _picture(path: Path, images: list[np.ndarray]) -> None:
    import cv2

    img = np.concatenate([np.asarray(i, np.uint8) for i in images], 1)
    img = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img[..., ::-1])


if __name__ == "__main__":
    main()
