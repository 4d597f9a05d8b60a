"""The wearforge panel (Window > wearforge): a thin omni.ui view over wearforge.kit.panel_model.PanelModel.

Everything the panel does is a model call; this module only lays out widgets, keeps them in step with the
model and the open stage, and schedules the long actions (Run, Preview) as tasks on Kit's loop, so the UI
thread never blocks. Every failure ends up in the panel's error line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import omni.ext
import omni.ui as ui
import omni.usd

from wearforge.gallery import INTENSITY
from wearforge.kit.panel_model import WRITERS, PanelModel

SETTING_DEFAULT_RECIPE = "/exts/wearforge.ui/default_recipe"
EXTENSION_DIR = Path(__file__).resolve().parent.parent  # exts/wearforge.ui
WINDOW_TITLE = "wearforge"


def resolve_default_recipe(value: str | None) -> Path | None:
    """The default recipe setting; a relative path is taken from this extension's folder."""
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else (EXTENSION_DIR / path).resolve()


class WearforgeUiExtension(omni.ext.IExt):
    def on_startup(self, ext_id: str) -> None:
        import carb.settings
        from omni.kit.menu.utils import MenuItemDescription, add_menu_items

        self.model = PanelModel()
        self._task: asyncio.Task | None = None
        self._preview_task: asyncio.Task | None = None
        self._recipe_seen = None
        self._preview = ui.ByteImageProvider()
        self.window = ui.Window(WINDOW_TITLE, width=420, height=760)
        self.model.listeners.append(lambda m: self._refresh())
        self._menu = [MenuItemDescription(name=WINDOW_TITLE, onclick_fn=self.show)]
        add_menu_items(self._menu, "Window")
        self._stage_sub = omni.usd.get_context().get_stage_event_stream().create_subscription_to_pop(
            self._on_stage_event, name="wearforge panel")
        default = resolve_default_recipe(carb.settings.get_settings().get(SETTING_DEFAULT_RECIPE))
        self._build()
        if default is not None:
            self.model.open_recipe(default)

    # ------------------------------------------------------------------------------------ layout
    def show(self) -> None:
        if self.window is not None:
            self.window.visible = True

    def _build(self) -> None:
        m = self.model
        self.window.frame.clear()
        with self.window.frame:
            with ui.VStack(spacing=6):
                with ui.HStack(height=24):
                    self._path = ui.StringField()
                    self._path.model.set_value(str(m.recipe_path or ""))
                    ui.Button("Open", width=60, clicked_fn=self._open)
                self._error = ui.Label("", style={"color": 0xFF4040FF}, word_wrap=True)
                with ui.CollapsableFrame("Defects"):
                    with ui.VStack(spacing=2):
                        for defect in INTENSITY:
                            with ui.HStack(height=22):
                                box = ui.CheckBox(width=20)
                                box.model.set_value(m.defects[defect].enabled)
                                box.model.add_value_changed_fn(lambda v, d=defect: m.set_defect(d, enabled=v.as_bool))
                                ui.Label(defect, width=110)
                                slider = ui.FloatSlider(min=0.0, max=1.0)
                                slider.model.set_value(m.defects[defect].intensity)
                                slider.model.add_value_changed_fn(
                                    lambda v, d=defect: m.set_defect(d, intensity=v.as_float))
                self._lights_frame = ui.CollapsableFrame("Lights")
                self._parts_frame = ui.CollapsableFrame("Parts")
                with ui.HStack(height=24):
                    ui.Label("Frames", width=80)
                    self._frames = ui.IntDrag(min=1, max=1000000)
                    self._frames.model.set_value(m.frames or 16)
                    self._frames.model.add_value_changed_fn(lambda v: m.set_frames(v.as_int))
                with ui.HStack(height=24):
                    ui.Label("Output", width=80)
                    self._out = ui.StringField()
                    self._out.model.set_value(m.output_dir or "out/kit")
                    self._out.model.add_end_edit_fn(lambda v: m.set_output(v.as_string))
                with ui.HStack(height=24):
                    for name in WRITERS:
                        box = ui.CheckBox(width=20)
                        box.model.set_value(name in m.writers)
                        box.model.add_value_changed_fn(lambda v, n=name: m.toggle_writer(n, v.as_bool))
                        ui.Label(name, width=70)
                ui.Label("Wear preview of the selected prim")
                ui.ImageWithProvider(self._preview, height=160)
                with ui.HStack(height=28):
                    self._preview_button = ui.Button("Preview", clicked_fn=self._preview_selected)
                    self._run_button = ui.Button("Run", clicked_fn=self._run)
                    self._stop_button = ui.Button("Stop", clicked_fn=m.stop)
                self._progress = ui.ProgressBar(height=18)
                self._status = ui.Label("")
        self._rebuild_lists()
        self._refresh()

    def _rebuild_lists(self) -> None:
        """The lights and parts of the open stage (rebuilt when the stage or the recipe changes)."""
        from pxr import UsdLux

        from wearforge.semantics import semantic_class

        stage = omni.usd.get_context().get_stage()
        prims = list(stage.Traverse()) if stage else []
        self._lights_frame.clear()
        with self._lights_frame:
            with ui.VStack(spacing=2):
                for prim in prims:
                    if prim.HasAPI(UsdLux.LightAPI):
                        with ui.HStack(height=22):
                            ui.Label(prim.GetName(), width=110)
                            field = ui.FloatDrag(min=0.0, max=100000.0)
                            path = str(prim.GetPath())
                            value = self.model.light_intensity.get(path, UsdLux.LightAPI(prim).GetIntensityAttr().Get())
                            field.model.set_value(float(value or 0.0))
                            field.model.add_value_changed_fn(
                                lambda v, p=path: self.model.set_light_intensity(p, v.as_float))
        self._parts_frame.clear()
        with self._parts_frame:
            with ui.VStack(spacing=2):
                for prim in prims:
                    label = semantic_class(prim)
                    if label is not None:
                        ui.Label(f"{prim.GetPath()}  ({label})")
        self._recipe_seen = self.model.recipe

    def _refresh(self) -> None:
        if self.window is None:
            return
        m = self.model
        if m.recipe is not self._recipe_seen:  # a new recipe: its values and the twin's lists
            self._recipe_seen = m.recipe  # first: set_value fires the callbacks, which refresh again
            self._path.model.set_value(str(m.recipe_path or ""))
            self._frames.model.set_value(m.frames or 16)
            self._out.model.set_value(m.output_dir or "out/kit")
            self._rebuild_lists()
        self._error.text = m.error
        self._progress.model.set_value(m.progress)
        self._status.text = f"{m.status}: {m.done}/{m.total}" if m.total else m.status
        self._run_button.enabled = not m.running
        self._stop_button.enabled = m.running
        self._preview_button.enabled = not m.running and not (self._preview_task and not self._preview_task.done())

    def _on_stage_event(self, event) -> None:
        if event.type == int(omni.usd.StageEventType.OPENED):
            self._rebuild_lists()

    # ----------------------------------------------------------------------------------- actions
    def _open(self) -> None:
        """Load the recipe in the path field and open its twin."""
        if self.model.open_recipe(self._path.model.get_value_as_string()):
            try:
                usd = self.model.recipe.usd_path()
                if not omni.usd.get_context().open_stage(str(usd)):
                    raise RuntimeError(f"Kit could not open {usd}")
            except Exception as exc:
                self.model.error = str(exc)
            self._rebuild_lists()
            self._refresh()

    def _preview_selected(self) -> None:
        ctx = omni.usd.get_context()
        selected = ctx.get_selection().get_selected_prim_paths()
        if not selected:
            self.model.error = "select a part in the stage to preview its wear"
            self._refresh()
            return
        self._preview_task = asyncio.ensure_future(self._preview_async(ctx.get_stage(), selected[0]))
        self._refresh()

    async def _preview_async(self, stage, prim_path: str) -> None:
        try:
            image = await self.model.preview_wear_async(stage, prim_path)
            if image is None:
                self.model.error = f"{prim_path} has no wear in this recipe"
            else:
                rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=-1)
                self._preview.set_bytes_data(rgba.flatten().tolist(), [rgba.shape[1], rgba.shape[0]])
                self.model.error = ""
        except Exception as exc:  # shown, never raised into Kit's loop
            self.model.error = str(exc) or type(exc).__name__
        finally:
            self._refresh()

    def _run(self) -> None:
        if self.model.running:
            return
        import omni.replicator.core as rep

        stage = omni.usd.get_context().get_stage()
        self._task = asyncio.ensure_future(self.model.run(rep, stage))

    def on_shutdown(self) -> None:
        from omni.kit.menu.utils import remove_menu_items

        self.model.stop()
        for task in (self._task, self._preview_task):
            if task is not None and not task.done():
                task.cancel()
        self.model.listeners.clear()
        remove_menu_items(self._menu, "Window")
        self._stage_sub = None
        if self.window is not None:
            self.window.destroy()
            self.window = None
