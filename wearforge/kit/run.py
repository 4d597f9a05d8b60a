r"""Run a recipe in Isaac Sim: step mode, one Replicator step per FrameSpec.

Headless batch (starts Isaac Sim itself through SimulationApp, then steps synchronously):
    python -m wearforge.kit.run recipes/demo.yaml --out out/kit_demo
From Kit's command line (runs inside Kit: the run is scheduled on Kit's loop and quits the app when done):
    isaacsim --no-window --ext-folder exts --enable wearforge \
        --exec "exts/wearforge/wearforge/kit/run.py recipes/demo.yaml --out out/kit_demo"
From the Script Editor (inside Kit: awaits ``step_async``):
    import asyncio, omni.replicator.core as rep
    from wearforge.kit.run import run_recipe_async
    asyncio.ensure_future(run_recipe_async(rep, "recipes/demo.yaml", out="out/kit_demo"))

Replicator's synchronous ``orchestrator.step`` / ``wait_until_complete`` refuse to run inside Kit (only a
process started by SimulationApp may call them), so every in-Kit path awaits the ``*_async`` versions.

Each FrameSpec is applied on wearforge's frame layer (a sublayer of the session layer; the session layer
itself holds Replicator's render product, writer graphs and tick graph and is never cleared), the render
product follows the frame's camera and resolution, wear stacks are bound per mesh, and one step renders
it with ``delta_time=0`` (the timeline does not advance, so PhysX cannot move the parts between applying
the FrameSpec and rendering it). Stopping the orchestrator finalises the writers (``on_final_frame``);
the run then only detaches them and destroys its render product.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

log = logging.getLogger("wearforge.kit")

WRITER_NAMES = {"basic": "WearforgeBasicWriter", "coco": "WearforgeCocoWriter", "yolo": "WearforgeYoloWriter",
                "webdataset": "WearforgeWebDatasetWriter"}
LABEL_ANNOTATORS = ("HdrColor", "instance_segmentation_fast")


class Run:
    """One run: FrameSpecs, render product, label annotators and attached writers.

    Everything that can fail on bad input (the recipe, the twin, the writers) is checked before anything
    is created in Replicator, so a failure leaves the stage as it was.
    """

    def __init__(self, rep, stage, recipe, out: str | None = None, frames: int | None = None, rt_subframes: int = 1):
        from wearforge.classmap import ClassMap, recipe_defect_types
        from wearforge.errors import InputError
        from wearforge.kit.writers import register_writers
        from wearforge.labels import LabelSpace
        from wearforge.recipe import Recipe, load_recipe
        from wearforge.scenario import sample_frame
        from wearforge.stage import add_recipe_layer, apply_frame, frame_layer, read_scene
        from wearforge.twin_reader import assign_parts, read_geometry

        self.rep, self.stage, self.rt_subframes = rep, stage, rt_subframes
        if stage is None:
            raise InputError("no stage is open: open the recipe's twin first")
        self.recipe = recipe if isinstance(recipe, Recipe) else load_recipe(Path(recipe))
        add_recipe_layer(self.recipe, stage)  # distractors and backgrounds, once for the run (session sublayer)
        scene = read_scene(self.recipe, stage)
        self.specs = [sample_frame(self.recipe, None, i, scene) for i in range(frames or self.recipe.frames)]
        self.meshes = read_geometry(stage)
        # parts and classes from the recipe, as the standalone renderer adopts them (a recipe class wins over
        # the USD label), so both homes build the same class map
        assign_parts(self.meshes, {p.path: p.semantic_class for p in scene.parts})
        self._read = list(self.meshes)  # entries the wear replaces by an atlas layout differ from these
        # one class and instance map for the whole run, built as the standalone home builds it
        twin_classes = {m.semantic_class for m in self.meshes if m.label_path}
        self.space = LabelSpace(self.meshes, ClassMap.build(twin_classes, recipe_defect_types(self.recipe),
                                                            self.recipe.output.classes))
        if self.recipe.randomizers.wear and self.recipe.labels.visibility:
            log.warning("wearforge: labels.visibility is not available in Kit yet: every pixel that shows a "
                        "defect is labelled (no test of whether the wear is visible)")
        if self.recipe.randomizers.wear and self.recipe.labels.supersampling > 1:
            log.warning("wearforge: Kit labels defects with one sample per pixel (labels.supersampling = %d "
                        "applies to the standalone home only)", self.recipe.labels.supersampling)
        self.out = Path(out or self.recipe.output.dir)
        self.wear = self.textures = None
        if self.recipe.randomizers.wear:
            from wearforge.kit.textures import TextureBinder
            from wearforge.transforms import up_vector
            from wearforge.wear.twin_stacks import WearTextures

            self.wear = WearTextures(self.meshes, up_vector(stage), keep_device=True)
            self.textures = TextureBinder(self.out / "textures")
        self.layer = frame_layer(stage)
        self.current = None  # the FrameSpec the next regular step renders (read by the writers)
        self.extra: dict = {}  # this frame's defect label maps
        self.accept = False  # writers skip warm-up and label subframes
        self.writers, self.annotators, self.render_product = [], [], None
        register_writers(rep)
        first = self.specs[0]
        try:
            apply_frame(stage, first)  # the camera exists (a recipe may create it) before the render product
            self.render_product = rep.create.render_product(first.camera.path, tuple(first.render.resolution),
                                                            force_new=True, name="wearforge")
            for name in self.recipe.output.writers:
                if name not in WRITER_NAMES:
                    continue  # the live stream has its own endpoint; see wearforge.kit.writers
                writer = rep.WriterRegistry.get(WRITER_NAMES[name])
                folder = self.out if name == "basic" else self.out / name
                try:
                    writer.initialize(output_dir=str(folder), run=self)
                except OSError as exc:
                    raise InputError(f"cannot write the {name} output there: {exc.strerror or exc}",
                                     source=str(folder), field="output.dir") from None
                writer.attach([self.render_product])
                self.writers.append(writer)
            if self.wear is not None:
                # attached once for the run: an annotator has no data on the first update after attaching
                for name in LABEL_ANNOTATORS:
                    annotator = rep.AnnotatorRegistry.get_annotator(name, do_array_copy=True)
                    annotator.attach([self.render_product])
                    self.annotators.append(annotator)
        except Exception:
            self._release()
            raise

    # ------------------------------------------------------------------------------------- frames
    def steps(self, i: int):
        """Set up frame ``i``; yields the rt_subframes of each Replicator step it needs, the last being the
        frame itself (drive it with ``step`` or ``step_async``, always with ``delta_time=0``)."""
        from wearforge.stage import apply_frame

        spec = self.specs[i]
        if i == 0 and self.annotators:
            self.accept = False
            yield 1  # warm-up: the label annotators deliver data from the second update on
        self._apply(spec)
        self.extra = {}
        stacks = {}
        if self.wear is not None:
            from wearforge.twin_reader import read_frame_state

            stacks, _ = self.wear.stacks(spec, read_frame_state(self.stage, self.meshes, spec.camera.path))
            self._author_atlas_uvs(stacks)
            if stacks:
                yield from self._label_subframe(stacks)
                apply_frame(self.stage, spec)  # undo the label looks and dark lights
                self._author_atlas_uvs(stacks)
            for index, stack in stacks.items():
                path = self.meshes[index].prim_path
                self.textures.bind(self.stage, path, self.textures.push(path, stack, spec.index), self.layer)
        self.current, self.accept = spec, True
        yield self.rt_subframes

    def _apply(self, spec) -> None:
        """The FrameSpec on the frame layer, and the render product on this frame's camera and resolution."""
        from pxr import Gf, Sdf, Usd

        from wearforge.stage import apply_frame

        apply_frame(self.stage, spec)
        prim = self.stage.GetPrimAtPath(self.render_product.path)
        # the render product is Replicator's, on the session layer: edit it there (as create.py does for tiles)
        with Usd.EditContext(self.stage, self.stage.GetSessionLayer()):
            prim.GetRelationship("camera").SetTargets([Sdf.Path(spec.camera.path)])
            prim.GetAttribute("resolution").Set(Gf.Vec2i(*[int(v) for v in spec.render.resolution]))

    def _author_atlas_uvs(self, stacks: dict) -> None:
        """Meshes whose UVs were replaced by a per-triangle atlas get that layout on the stage too, so RTX
        samples the stacks with the UVs they were grown for."""
        from wearforge.kit.geometry import author_mesh

        for index in stacks:
            if self.meshes[index] is not self._read[index]:
                author_mesh(self.stage, self.layer, self.meshes[index])

    def _label_subframe(self, stacks: dict):
        from wearforge.kit.defect_pass import LabelSettings, author_label_looks, defect_maps, encode_part_labels
        from wearforge.kit.frames import IdMap, _flat, _lookup

        self.accept = False  # Replicator fires every writer on every step: they skip the label subframe
        by_part: dict[int, dict[int, object]] = {}
        for index, stack in stacks.items():
            part = self.space.instance_id.get(self.meshes[index].label_path)
            if part is not None:
                by_part.setdefault(part, {})[index] = stack
        textures, lookups = {}, {}
        for part, part_stacks in by_part.items():
            part_textures, lookups[part] = encode_part_labels(part_stacks)
            textures.update(part_textures)
        author_label_looks(self.stage, self.layer, textures, self.meshes, self.textures)
        with LabelSettings():
            yield 1
        hdr_annotator, inst_annotator = self.annotators
        hdr, inst = hdr_annotator.get_data(do_array_copy=True), _flat(inst_annotator.get_data(do_array_copy=True))
        if hdr is None or inst is None or inst.get("data") is None:
            raise RuntimeError("the label subframe returned no HdrColor / instance_segmentation data")
        hdr = hdr.get("data") if isinstance(hdr, dict) else hdr
        ids = IdMap(self.space, self.stage)
        instance = _lookup(inst["data"], ids.instance(inst.get("idToLabels", {})))
        self.extra = {"defect_maps": defect_maps(hdr, instance, lookups, {p: sorted(s) for p, s in by_part.items()}),
                      "min_instance_pixels": self.recipe.labels.min_instance_pixels}

    # -------------------------------------------------------------------------------------- end
    def _release(self) -> None:
        from wearforge.stage import release_frame_layer

        for writer in self.writers:
            writer.detach()
        for annotator in self.annotators:
            annotator.detach()
        self.writers, self.annotators = [], []
        if self.render_product is not None:
            self.render_product.destroy()  # render products hold GPU memory
            self.render_product = None
        release_frame_layer(self.stage)

    def close(self) -> None:
        """Standalone workflow (SimulationApp): stop (Replicator finalises the writers), then release."""
        try:
            self.rep.orchestrator.wait_until_complete()
        finally:
            self._release()

    async def close_async(self) -> None:
        """Inside Kit: stop with the async call (Replicator finalises the writers), then release."""
        try:
            await self.rep.orchestrator.wait_until_complete_async()
        finally:
            self._release()


def run_recipe(rep, stage, recipe, out: str | None = None, frames: int | None = None, rt_subframes: int = 1,
               progress=print) -> int:
    """Blocking step mode: only in a process started by SimulationApp (Replicator refuses it inside Kit)."""
    run = Run(rep, stage, recipe, out, frames, rt_subframes)
    try:
        for i in range(len(run.specs)):
            for rt in run.steps(i):
                rep.orchestrator.step(rt_subframes=rt, delta_time=0.0)
            progress(f"wearforge: frame {i + 1}/{len(run.specs)}")
    except BaseException:
        with contextlib.suppress(Exception):  # the first error is the one to report; close releases regardless
            run.close()
        raise
    run.close()
    return len(run.specs)


async def run_recipe_async(rep, recipe, out: str | None = None, frames: int | None = None, rt_subframes: int = 1,
                           stage=None, progress=print, should_stop=lambda: False) -> int:
    """Step mode inside Kit (Script Editor, extensions, ``--exec``); returns the frames written."""
    if stage is None:
        import omni.usd

        stage = omni.usd.get_context().get_stage()
    run = Run(rep, stage, recipe, out, frames, rt_subframes)
    done = 0
    try:
        for i in range(len(run.specs)):
            if should_stop():
                break
            for rt in run.steps(i):
                await rep.orchestrator.step_async(rt_subframes=rt, delta_time=0.0)
            done = i + 1
            progress(f"wearforge: frame {done}/{len(run.specs)}")
    except BaseException:
        with contextlib.suppress(Exception):  # the first error is the one to report; close releases regardless
            await run.close_async()
        raise
    await run.close_async()
    return done


def _inside_kit() -> bool:
    """True when this code runs in a Kit process (``--exec``), not in a plain Python that must start one."""
    try:
        import omni.kit.app
    except ImportError:
        return False
    app = omni.kit.app.get_app()
    return app is not None and app.is_running()


def _parse(argv):
    ap = argparse.ArgumentParser(prog="python -m wearforge.kit.run", description="Run a wearforge recipe in Isaac Sim.")
    ap.add_argument("recipe", type=Path)
    ap.add_argument("--out", default=None, help="Output directory (default: the recipe's output.dir).")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--rt-subframes", type=int, default=1)
    return ap.parse_args(argv)


def _precheck(path: Path) -> str | None:
    """What can be checked before Isaac Sim starts without importing Warp (wearforge.wear): the file."""
    import yaml

    if not path.is_file():
        return f"{path}: recipe not found"
    try:
        yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        return f"{path}: not valid YAML ({str(exc).splitlines()[0]})"
    return None


def _open_twin(recipe) -> object:
    import omni.usd

    from wearforge.errors import InputError

    from wearforge.stage import add_recipe_layer

    context = omni.usd.get_context()
    if not context.open_stage(str(recipe.usd_path())):
        raise InputError("Kit could not open the twin", source=str(recipe.usd_path()))
    stage = context.get_stage()
    add_recipe_layer(recipe, stage)
    return stage


async def _batch_async(rep, args) -> int:
    from wearforge.errors import InputError
    from wearforge.recipe import load_recipe

    try:
        recipe = load_recipe(args.recipe)
        stage = _open_twin(recipe)
        count = await run_recipe_async(rep, recipe, args.out, args.frames, args.rt_subframes, stage=stage)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wearforge: wrote {count} frames")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    problem = _precheck(args.recipe)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if _inside_kit():  # isaacsim --exec: Kit's loop runs the batch, then the app quits with its status
        import omni.kit.app
        import omni.kit.async_engine
        import omni.replicator.core as rep

        async def batch_and_quit():
            code = 1
            try:
                code = await _batch_async(rep, args)
            finally:
                omni.kit.app.get_app().post_quit(code)
            return code

        omni.kit.async_engine.run_coroutine(batch_and_quit())
        return 0
    # a plain Python: start Isaac Sim first, so Kit's Warp (omni.warp.core) is the one the recipe's wear imports
    from isaacsim import SimulationApp

    app = SimulationApp({"headless": True})
    try:
        import omni.replicator.core as rep

        from wearforge.errors import InputError
        from wearforge.recipe import load_recipe

        try:
            recipe = load_recipe(args.recipe)
            stage = _open_twin(recipe)
            count = run_recipe(rep, stage, recipe, args.out, args.frames, args.rt_subframes)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"wearforge: wrote {count} frames")
        return 0
    finally:
        app.close()


if __name__ == "__main__":
    _code = main()
    if not _inside_kit():  # under --exec the scheduled batch quits Kit itself
        sys.exit(_code)
