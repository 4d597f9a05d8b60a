"""Run a recipe in Isaac Sim.

Headless batch (starts Isaac Sim itself):
    python -m wearforge.kit.run recipes/demo.yaml --out out/kit_demo
From Kit's command line:
    isaacsim --no-window --exec "wearforge/kit/run.py recipes/demo.yaml --out out/kit_demo"
From the Script Editor (Python in Kit):
    import asyncio, omni.replicator.core as rep
    from wearforge.kit.run import run_recipe_async
    asyncio.ensure_future(run_recipe_async(rep, "recipes/demo.yaml", out="out/kit_demo"))

Step mode: each FrameSpec is applied on the stage's session layer (the same code as standalone), then
Replicator renders one step; the render product is destroyed when the run ends.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

WRITER_NAMES = {"basic": "WearforgeBasicWriter", "coco": "WearforgeCocoWriter", "yolo": "WearforgeYoloWriter",
                "webdataset": "WearforgeWebDatasetWriter"}


class Run:
    """The pieces of one run: specs, render product and attached writers."""

    def __init__(self, rep, stage, recipe, out: str | None = None, frames: int | None = None):
        from wearforge.kit.writers import register_writers
        from wearforge.recipe import Recipe, load_recipe
        from wearforge.scenario import sample_frame
        from wearforge.stage import apply_frame, read_scene

        self.rep, self.stage = rep, stage
        self.recipe = recipe if isinstance(recipe, Recipe) else load_recipe(Path(recipe))
        scene = read_scene(self.recipe, stage)
        self.specs = [sample_frame(self.recipe, None, i, scene) for i in range(frames or self.recipe.frames)]
        self.apply = apply_frame
        apply_frame(stage, self.specs[0])  # creates the camera (if the recipe makes one) before the render product
        self.wear = self.textures = None
        if self.recipe.randomizers.wear:
            from wearforge.kit.textures import TextureBinder
            from wearforge.twin_reader import read_geometry
            from wearforge.wear.twin_stacks import WearTextures
            from wearforge.transforms import up_vector

            self.wear = WearTextures(read_geometry(stage), up_vector(stage), keep_device=True)
            self.textures = TextureBinder(Path(out or self.recipe.output.dir) / "textures")
        register_writers(rep)
        first = self.specs[0]
        self.render_product = rep.create.render_product(first.camera.path, tuple(first.render.resolution),
                                                        name="wearforge")
        base = Path(out or self.recipe.output.dir)
        self.writers = []
        for name in self.recipe.output.writers:
            if name not in WRITER_NAMES:
                continue  # the live stream has its own endpoint; see wearforge.kit.writers
            writer = rep.WriterRegistry.get(WRITER_NAMES[name])
            writer.initialize(output_dir=str(base if name == "basic" else base / name))
            writer.attach([self.render_product])
            self.writers.append(writer)

    def frame(self, i: int) -> None:
        """Set up frame ``i`` for the next Replicator step (after a defect-label subframe when there is wear)."""
        spec = self.specs[i]
        self.apply(self.stage, spec)
        extra = {}
        if self.wear is not None:
            from wearforge.twin_reader import read_frame_state

            stacks, _ = self.wear.stacks(spec, read_frame_state(self.stage, self.wear.meshes, spec.camera.path))
            by_part = {self.wear.meshes[index].label_path: stack for index, stack in stacks.items()}
            if by_part:
                extra = self._defect_labels(by_part)
                self.apply(self.stage, spec)  # undo the label materials and dark lights
            for part, stack in by_part.items():
                self.textures.bind(self.stage, part, self.textures.push(part, stack, spec.index))
        for writer in self.writers:
            writer.frame_spec = spec.model_dump(mode="json")
            writer.extra = extra

    def _defect_labels(self, stacks: dict) -> dict:
        from wearforge.kit.defect_pass import defect_annotations, label_pass
        from wearforge.wear.defects import DEFECT_CLASSES

        for writer in self.writers:
            writer.accept = False  # Replicator fires every writer on every step: skip the label subframe
        try:
            hdr, inst, lookups = label_pass(self.rep, self.stage, self.render_product, stacks, self.textures)
        finally:
            for writer in self.writers:
                writer.accept = True
        ids = np.asarray(inst["data"])
        info = inst.get("info", inst)
        part_of = {int(k): v for k, v in info.get("idToLabels", {}).items() if v in stacks}
        # defect classes take the ids after the twin's part classes, as in the standalone label space
        classes = sorted({v.get("class") for v in info.get("idToSemantics", {}).values()} - {None, "BACKGROUND", "UNLABELLED"})
        class_ids = {name: len(classes) + 2 + k for k, name in enumerate(DEFECT_CLASSES)}
        return defect_annotations(hdr, ids, part_of, class_ids, lookups)

    def close(self) -> None:
        for writer in self.writers:
            writer.detach()
            writer.on_final_frame()
        self.render_product.destroy()  # render products hold GPU memory
        self.stage.GetSessionLayer().Clear()


def run_recipe(rep, stage, recipe, out: str | None = None, frames: int | None = None, rt_subframes: int = 1,
               progress=print) -> int:
    """Blocking step mode (standalone scripts: SimulationApp)."""
    run = Run(rep, stage, recipe, out, frames)
    try:
        for i in range(len(run.specs)):
            run.frame(i)
            rep.orchestrator.step(rt_subframes=rt_subframes)
            progress(f"wearforge: frame {i + 1}/{len(run.specs)}")
        rep.orchestrator.wait_until_complete()
    finally:
        run.close()
    return len(run.specs)


async def run_recipe_async(rep, recipe, out: str | None = None, frames: int | None = None, rt_subframes: int = 1,
                           stage=None, progress=print) -> int:
    """Step mode inside Kit (Script Editor, extensions): awaits ``step_async``."""
    if stage is None:
        import omni.usd

        stage = omni.usd.get_context().get_stage()
    run = Run(rep, stage, recipe, out, frames)
    try:
        for i in range(len(run.specs)):
            run.frame(i)
            await rep.orchestrator.step_async(rt_subframes=rt_subframes)
            progress(f"wearforge: frame {i + 1}/{len(run.specs)}")
    finally:
        run.close()
    return len(run.specs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m wearforge.kit.run", description="Run a wearforge recipe in Isaac Sim.")
    ap.add_argument("recipe", type=Path)
    ap.add_argument("--out", default=None, help="Output directory (default: the recipe's output.dir).")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--rt-subframes", type=int, default=1)
    args = ap.parse_args(argv)
    from wearforge.errors import InputError
    from wearforge.recipe import load_recipe

    try:
        recipe = load_recipe(args.recipe)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = None
    if "omni.kit" not in sys.modules:  # launched as a plain script: start Isaac Sim headless first
        from isaacsim import SimulationApp

        app = SimulationApp({"headless": True})
    import omni.replicator.core as rep
    import omni.usd

    omni.usd.get_context().open_stage(str(recipe.usd_path()))
    stage = omni.usd.get_context().get_stage()
    try:
        count = run_recipe(rep, stage, recipe, args.out, args.frames, args.rt_subframes)
        print(f"wearforge: wrote {count} frames")
    finally:
        if app is not None:
            app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
