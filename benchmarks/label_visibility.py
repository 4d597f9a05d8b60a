"""Do defect labels agree with what the camera sees? The label pass against paired high-spp renders.

For each demo frame: the product's labels (coverage pass, low-spp visibility pair) against the truth
from paired renders at ``--truth-spp`` with the same sampler seed: the frame with all wear, the frame
without any wear, and, per defect class present, the frame without that class. Per class:

- labelled visible: share of pixels labelled with the class whose pixel visibly differs from the
  frame without wear (CIEDE2000 >= the recipe's ``labels.visible_delta_e``);
- visible unlabelled: share of part pixels that the class visibly changes (frame with vs without
  the class) which carry neither a defect label nor an ignore mark;
- ignored: share of the class's pixels (labelled or ignored with that class) that are ignored;
- frames labelled: of the frames whose FrameSpec draws the class on a visible part, how many carry at
  least one annotated instance of it (counted with ``--no-truth`` too).

Run: ``python benchmarks/label_visibility.py --frames 6 --size 128 96`` (about 10 minutes on 2 cores).
``--recipe recipes/inspection_station.yaml --no-truth --frames 24 --size 640 480 --spp 16``: which classes
the inspection station's frames label, at the recipe's own scale.
``--no-truth --size 512 384 --spp 64`` measures only what the label passes cost per frame (render,
visibility pairs, annotation), against the beauty render of the same frame.
``--only dents --frames 4`` measures one class: the first 4 frames (in frame order) that carry it, with
truth renders for that class only; ``--no-displacement`` keeps dents in the normal map (the peer).
Writes benchmarks/results/label_visibility.json and an overlay PNG per frame when ``--pictures DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def render_linear(renderer, spec, spp: int, worn_meshes: dict[int, int] | None = None) -> np.ndarray:
    """Linear radiance of ``spec`` (its own wear layers) at ``spp`` with the FrameSpec's sampler seed.

    ``worn_meshes``: mesh index -> texture resolution of every mesh that carries wear in the full frame.
    """
    from wearforge.stage import apply_frame
    from wearforge.wear import CleanMaterial, build_stack
    from wearforge.twin_reader import read_frame_state

    apply_frame(renderer.stage, spec)
    res = (int(spec.render.resolution[0]), int(spec.render.resolution[1]))
    state = read_frame_state(renderer.stage, renderer.meshes, spec.camera.path)
    stacks, changed = renderer.wear.stacks(spec, state)
    # a part whose layers were all removed keeps a stack without layers: "without wear" is the clean
    # material the layers were grown on, not the twin's own (possibly textured) material
    for index, resolution in (worn_meshes or {}).items():
        if index not in stacks:
            mat = state.materials[index]
            up = np.linalg.solve(state.matrices[index][:3, :3], renderer.wear.up)
            stacks[index] = build_stack(renderer.wear.bake_of(index, resolution),
                                        CleanMaterial(tuple(mat.base_color), float(mat.metallic), float(mat.roughness)),
                                        [], up)
    renderer.backend.prepare(state, res, stacks, rebuild=changed)
    return renderer.backend.render_beauty(spp, spec.render.seed)


def without(spec, classes: set[str]):
    """The FrameSpec with every wear layer of ``classes`` removed (other layers keep their seeds)."""
    parts = []
    for part in spec.parts:
        if part.wear is not None:
            layers = [layer for layer in part.wear.layers if layer.type not in classes]
            part = part.model_copy(update={"wear": part.wear.model_copy(update={"layers": layers})})
        parts.append(part)
    return spec.model_copy(update={"parts": parts})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default=str(ROOT / "recipes" / "demo.yaml"))
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--size", type=int, nargs=2, default=(128, 96))
    ap.add_argument("--spp", type=int, default=16, help="beauty spp of the labelled frames")
    ap.add_argument("--truth-spp", type=int, default=256)
    ap.add_argument("--no-truth", action="store_true", help="only time the label passes")
    ap.add_argument("--only", default=None, help="one defect class: frames that carry it, truth for it alone")
    ap.add_argument("--max-index", type=int, default=200, help="with --only: frame indices searched")
    ap.add_argument("--no-displacement", action="store_true",
                    help="dents in the normal map only (the Kit home's way), not displacing the mesh")
    ap.add_argument("--pictures", default=None, help="folder for overlay PNGs (labels green, ignore magenta)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "label_visibility.json"))
    args = ap.parse_args()

    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.render.visibility import delta_e
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene
    from wearforge.wear.defects import DEFECT_CLASSES

    recipe = load_recipe(args.recipe)
    recipe = recipe.model_copy(update={"render": recipe.render.model_copy(
        update={"resolution": tuple(args.size), "spp": args.spp})})
    stage = open_stage(recipe.usd_path())
    renderer = StandaloneRenderer.for_recipe(recipe, stage)
    renderer.wear.displace = not args.no_displacement
    scene = read_scene(recipe, stage)
    space = renderer.labels
    threshold = recipe.labels.visible_delta_e
    tally = {c: dict.fromkeys(("labelled", "labelled_visible", "changed", "changed_missed", "class_pixels",
                               "ignored"), 0) for c in DEFECT_CLASSES}
    timing = {"label_frame_s": [], "truth_s": []}
    frames_of = {c: [0, 0] for c in DEFECT_CLASSES}  # frames drawing the class, frames labelling it
    parts_timing: dict[str, list[float]] = {}
    if args.only:
        def carries(spec):
            return any(layer.type == args.only for p in spec.parts if p.visible and p.wear for layer in p.wear.layers)

        indices = [i for i in range(args.max_index) if carries(sample_frame(recipe, recipe.seed, i, scene))]
        indices = indices[:args.frames]
    else:
        indices = list(range(args.frames))
    for i in indices:
        spec = sample_frame(recipe, recipe.seed, i, scene)
        t0 = time.perf_counter()
        data = renderer.render(spec)
        timing["label_frame_s"].append(time.perf_counter() - t0)
        for key, value in data["timing"].items():
            parts_timing.setdefault(key, []).append(value)
        annotated = {v["class"] for v in data["defect_instances"]["idToLabels"].values()}
        for c in {layer.type for p in spec.parts if p.visible and p.wear for layer in p.wear.layers}:
            frames_of[c][0] += 1
            frames_of[c][1] += any(a.endswith(c) for a in annotated)
        if args.no_truth:
            print(f"frame {i}: " + ", ".join(f"{k} {v:.2f}s" for k, v in data["timing"].items())
                  + f"; annotated {sorted(annotated)}", flush=True)
            continue
        seg = data["defect_segmentation"]["data"]
        ignore = data["defect_segmentation"]["ignore"]
        parts = {p.path for p in spec.parts if p.visible}
        inst = data["instance_segmentation"]
        part_ids = [int(k) for k, v in inst["idToLabels"].items() if v in parts]
        on_part = np.isin(inst["data"], part_ids)
        present = sorted({layer.type for p in spec.parts if p.wear for layer in p.wear.layers})
        if args.only:
            present = [c for c in present if c == args.only]
        t0 = time.perf_counter()
        cam = data["camera_params"]
        focal, aperture = cam["cameraFocalLength"], float(cam["cameraAperture"][0])

        def de(a, b):
            return delta_e(a, b, spec.sensor, recipe.render.exposure, focal, aperture)

        worn = {i: p.wear.resolution for p in spec.parts if p.visible and p.wear and p.wear.layers
                for i in renderer.wear.meshes_of(p.path)}
        full = render_linear(renderer, spec, args.truth_spp)
        clean = render_linear(renderer, without(spec, set(DEFECT_CLASSES)), args.truth_spp, worn)
        visible_any = de(full, clean) >= threshold
        for c in present:
            sid = space.class_id[c]
            changed = (de(full, render_linear(renderer, without(spec, {c}), args.truth_spp, worn)) >= threshold) & on_part
            lab = seg == sid
            t = tally[c]
            t["labelled"] += int(lab.sum())
            t["labelled_visible"] += int((lab & visible_any).sum())
            t["changed"] += int(changed.sum())
            t["changed_missed"] += int((changed & (seg == 0) & (ignore == 0)).sum())
            t["class_pixels"] += int(lab.sum() + (ignore == sid).sum())
            t["ignored"] += int((ignore == sid).sum())
        timing["truth_s"].append(time.perf_counter() - t0)
        if args.pictures:
            _overlay(Path(args.pictures) / f"labels_{i:02d}.png", data["rgb"]["data"], seg, ignore, visible_any)
        print(f"frame {i}: classes {present}, labels {timing['label_frame_s'][-1]:.1f}s, truth {timing['truth_s'][-1]:.1f}s",
              flush=True)

    rows = {}
    for c, t in tally.items():
        if not t["labelled"] and not t["changed"]:
            continue
        rows[c] = {**t,
                   "labelled_visible_pct": 100.0 * t["labelled_visible"] / t["labelled"] if t["labelled"] else None,
                   "visible_unlabelled_pct": 100.0 * t["changed_missed"] / t["changed"] if t["changed"] else None,
                   "ignored_pct": 100.0 * t["ignored"] / t["class_pixels"] if t["class_pixels"] else None}
    result = {"recipe": Path(args.recipe).name, "frames": len(indices), "frame_indices": indices, "only": args.only,
              "displacement": not args.no_displacement,
              "size": list(args.size), "spp": args.spp,
              "visibility_spp": recipe.labels.visibility_spp, "supersampling": recipe.labels.supersampling,
              "truth_spp": args.truth_spp, "visible_delta_e": threshold, "variant": renderer.variant,
              "median_label_frame_s": float(np.median(timing["label_frame_s"])),
              "median_timing_s": {k: float(np.median(v)) for k, v in parts_timing.items()}, "classes": rows,
              "frames_labelled": {c: {"frames": n, "labelled": k} for c, (n, k) in frames_of.items() if n}}
    print("| class | frames drawing it | of those, frames with an annotated instance |")
    print("|---|---|---|")
    for c, (n, k) in frames_of.items():
        if n:
            print(f"| {c} | {n} | {k} ({100.0 * k / n:.0f} %) |")
    if args.no_truth:
        result.pop("classes")
        result["truth_spp"] = None
        print(json.dumps(result["median_timing_s"], indent=1))
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
        return
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print("| class | labelled px | labelled visible | visibly changed px | visible unlabelled | ignored |")
    print("|---|---|---|---|---|---|")
    for c, r in rows.items():
        f = lambda v: "–" if v is None else f"{v:.1f} %"  # noqa: E731
        print(f"| {c} | {r['labelled']} | {f(r['labelled_visible_pct'])} | {r['changed']} | "
              f"{f(r['visible_unlabelled_pct'])} | {f(r['ignored_pct'])} |")


def _overlay(path: Path, rgb: np.ndarray, seg: np.ndarray, ignore: np.ndarray, visible: np.ndarray) -> None:
    """rgb | labels (green) and ignore (magenta) | true visible change (white), 3x nearest upscale."""
    import cv2

    base = rgb[..., :3].astype(np.float32)
    over = base.copy()
    over[seg > 0] = 0.35 * over[seg > 0] + 0.65 * np.float32([0, 255, 0])
    over[ignore > 0] = 0.35 * over[ignore > 0] + 0.65 * np.float32([255, 0, 255])
    truth = np.repeat(visible[..., None].astype(np.float32) * 255, 3, -1)
    img = np.concatenate([base, over, truth], 1).astype(np.uint8)
    img = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img[..., ::-1])


if __name__ == "__main__":
    main()
