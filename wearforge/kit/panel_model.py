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
    def preview_wear(self, stage, prim_path: str):
        """Base colour of the selected prim's wear stack for frame 0 (an RGB uint8 image), or None."""
        import numpy as np

        from wearforge.color import linear_to_srgb
        from wearforge.twin_reader import read_frame_state, read_geometry
        from wearforge.wear.twin_stacks import WearTextures
        from wearforge.scenario import sample_frame
        from wearforge.stage import apply_frame, clear_frame, read_scene
        from wearforge.transforms import up_vector

        recipe = self.effective_recipe()
        spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
        apply_frame(stage, spec)
        meshes = read_geometry(stage)
        wear = WearTextures(meshes, up_vector(stage))
        stacks, _ = wear.stacks(spec, read_frame_state(stage, meshes, spec.camera.path))
        clear_frame(stage)
        for index, stack in stacks.items():
            if meshes[index].label_path == prim_path or meshes[index].prim_path == prim_path:
                return (linear_to_srgb(stack.base_color) * 255).astype(np.uint8)
        return None

    # -------------------------------------------------------------------------------------- run
    async def run(self, rep, stage, rt_subframes: int = 1) -> int:
        """Step-mode run with progress; ``stop()`` ends it after the current frame."""
        from wearforge.kit.run import Run

        self._stop, self.status, self.done = False, "running", 0
        try:
            run = Run(rep, stage, self.effective_recipe())
        except InputError as exc:
            self.status, self.error = "failed", str(exc)
            self._changed()
            return 0
        self.total = len(run.specs)
        self._changed()
        try:
            for i in range(self.total):
                if self._stop:
                    break
                run.frame(i)
                await rep.orchestrator.step_async(rt_subframes=rt_subframes)
                self.done = i + 1
                self._changed()
        finally:
            run.close()
        self.status = "done" if self.done == self.total else "idle"
        self._changed()
        return self.done

    def stop(self) -> None:
        if self.status == "running":
            self._stop, self.status = True, "stopping"
            self._changed()

    @property
    def progress(self) -> float:
        return self.done / self.total if self.total else 0.0

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener(self)
