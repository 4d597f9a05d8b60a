"""State and actions of the wearforge panel, in plain Python (the omni.ui view in exts/wearforge.ui only
draws this model and forwards clicks, so everything here is tested without Kit).

Edits are kept as recipe overrides (the same ``--set`` strings the CLI takes), so what the panel runs is
exactly what ``wearforge generate RECIPE --set ...`` would run, validated by the same models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from wearforge.errors import InputError
from wearforge.gallery import INTENSITY
from wearforge.recipe import Recipe, load_recipe
from wearforge.wear.defects import DEFECT_CLASSES

WRITERS = ("basic", "coco", "yolo", "webdataset")


@dataclass
class DefectSetting:
    enabled: bool = False
    intensity: float = 0.5  # 0..1 across the defect's low..high range (see wearforge.gallery.INTENSITY)

    def params(self, defect: str) -> dict[str, float]:
        name, (low, _, high), _ = INTENSITY[defect]
        return {name: low + (high - low) * min(max(self.intensity, 0.0), 1.0)}


@dataclass
class PanelModel:
    recipe_path: Path | None = None
    recipe: Recipe | None = None
    error: str = ""
    frames: int | None = None
    output_dir: str | None = None
    writers: set[str] = field(default_factory=lambda: {"basic"})
    defects: dict[str, DefectSetting] = field(default_factory=lambda: {d: DefectSetting() for d in DEFECT_CLASSES})
    wear_parts: str = "**"
    wear_resolution: int = 512
    light_intensity: dict[str, float] = field(default_factory=dict)
    status: str = "idle"  # idle, running, stopping, done, failed
    done: int = 0
    total: int = 0
    _stop: bool = False
    listeners: list[Callable[["PanelModel"], None]] = field(default_factory=list)

    # ------------------------------------------------------------------------------------ editing
    def open_recipe(self, path: str | Path) -> bool:
        """Load a recipe; on a problem keep the old one and show the message."""
        try:
            recipe = load_recipe(Path(path))
        except InputError as exc:
            self.error = str(exc)
            self._changed()
            return False
        self.recipe_path, self.recipe, self.error = Path(path), recipe, ""
        self.frames, self.output_dir = recipe.frames, recipe.output.dir
        self.writers = set(recipe.output.writers) & set(WRITERS) or {"basic"}
        for setting in self.defects.values():
            setting.enabled = False
        for entry in recipe.randomizers.wear:
            for layer in entry.layers:
                self.defects[layer.type].enabled = True
        self._changed()
        return True

    def set_frames(self, frames: int) -> None:
        self.frames = int(frames)
        self._changed()

    def set_output(self, folder: str) -> None:
        self.output_dir = folder
        self._changed()

    def toggle_writer(self, name: str, on: bool) -> None:
        if name not in WRITERS:
            raise ValueError(f"unknown writer {name!r}; expected one of {WRITERS}")
        (self.writers.add if on else self.writers.discard)(name)
        self._changed()

    def set_defect(self, defect: str, enabled: bool | None = None, intensity: float | None = None) -> None:
        setting = self.defects[defect]
        if enabled is not None:
            setting.enabled = enabled
        if intensity is not None:
            setting.intensity = float(intensity)
        self._changed()

    def set_light_intensity(self, light: str, intensity: float) -> None:
        self.light_intensity[light] = float(intensity)
        self._changed()

    def overrides(self) -> list[str]:
        """The panel's edits as recipe overrides."""
        out = []
        if self.frames is not None:
            out.append(f"frames={self.frames}")
        if self.output_dir is not None:
            out.append(f"output.dir={json.dumps(self.output_dir)}")
        out.append(f"output.writers={json.dumps(sorted(self.writers) or ['basic'])}")
        layers = [{"type": d, "params": s.params(d)} for d, s in self.defects.items() if s.enabled]
        out.append("randomizers.wear=" + json.dumps(
            [{"parts": self.wear_parts, "resolution": self.wear_resolution, "layers": layers}] if layers else []))
        if self.recipe is not None:
            base = len(self.recipe.randomizers.lights)
            for k, (light, value) in enumerate(sorted(self.light_intensity.items())):
                # appended after the recipe's own light randomizers, so these values win
                out.append(f"randomizers.lights.{base + k}=" + json.dumps({"light": light, "intensity": value}))
        return out

    def effective_recipe(self) -> Recipe:
        if self.recipe_path is None:
            raise InputError("open a recipe first")
        return load_recipe(self.recipe_path, self.overrides())

    # ---------------------------------------------------------------------------------- preview
    async def preview_wear_async(self, stage, prim_path: str):
        """``preview_wear`` with the wear kernels off the UI thread (the stage is read on it)."""
        import asyncio

        prepared = self._preview_inputs(stage)
        return await asyncio.get_running_loop().run_in_executor(None, self._preview_stacks, prepared, prim_path)

    def preview_wear(self, stage, prim_path: str):
        """Base colour of the selected prim's wear stack for frame 0 (an RGB uint8 image), or None."""
        return self._preview_stacks(self._preview_inputs(stage), prim_path)

    def _preview_inputs(self, stage):
        """Everything the preview reads from the stage (on the caller's thread)."""
        from wearforge.scenario import sample_frame
        from wearforge.stage import apply_frame, clear_frame, read_scene
        from wearforge.transforms import up_vector
        from wearforge.twin_reader import read_frame_state, read_geometry

        recipe = self.effective_recipe()
        spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
        apply_frame(stage, spec)
        try:
            meshes = read_geometry(stage)
            state = read_frame_state(stage, meshes, spec.camera.path)
        finally:
            clear_frame(stage)
        return spec, meshes, state, up_vector(stage)

    @staticmethod
    def _preview_stacks(prepared, prim_path: str):
        import numpy as np

        from wearforge.color import linear_to_srgb
        from wearforge.wear.twin_stacks import WearTextures

        spec, meshes, state, up = prepared
        stacks, _ = WearTextures(meshes, up).stacks(spec, state)
        for index, stack in stacks.items():
            if meshes[index].label_path == prim_path or meshes[index].prim_path == prim_path:
                return (linear_to_srgb(stack.base_color) * 255).astype(np.uint8)
        return None

    # -------------------------------------------------------------------------------------- run
    @property
    def running(self) -> bool:
        return self.status in ("running", "stopping")

    async def run(self, rep, stage, rt_subframes: int = 1) -> int:
        """Step-mode run inside Kit with progress; ``stop()`` ends it after the current frame.

        Any failure (a recipe error, a missing twin, a writer that raises) ends the run cleanly: the message
        is shown, the render product and writers are released and the frame layer is cleared."""
        from wearforge.kit.run import run_recipe_async

        if self.running:
            return 0
        self._stop, self.status, self.done, self.error = False, "running", 0, ""
        self._changed()

        def progress(_message: str) -> None:
            self.done += 1
            self._changed()

        try:
            recipe = self.effective_recipe()
            self.total = self.frames or recipe.frames
            self._changed()
            await run_recipe_async(rep, recipe, rt_subframes=rt_subframes, stage=stage, progress=progress,
                                   should_stop=lambda: self._stop)
        except Exception as exc:  # the panel shows every failure and is ready for the next run
            self.status, self.error = "failed", str(exc) or type(exc).__name__
            self._changed()
            return self.done
        self.status = "done" if self.done == self.total else "idle"
        self._changed()
        return self.done

    def stop(self) -> None:
        """Ask the running run to end after its current frame."""
        if self.status == "running":
            self._stop, self.status = True, "stopping"
            self._changed()

    @property
    def progress(self) -> float:
        return self.done / self.total if self.total else 0.0

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener(self)
