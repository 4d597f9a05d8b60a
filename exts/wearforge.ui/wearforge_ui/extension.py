"""The wearforge panel (Window > wearforge): a thin omni.ui view over wearforge.kit.panel_model.PanelModel."""

from __future__ import annotations

import asyncio

import numpy as np
import omni.ext
import omni.ui as ui
import omni.usd

from wearforge.gallery import INTENSITY
from wearforge.kit.panel_model import WRITERS, PanelModel


class WearforgeUiExtension(omni.ext.IExt):
    def on_startup(self, ext_id: str) -> None:
        import carb.settings

        self.model = PanelModel()
        default = carb.settings.get_settings().get('/exts/"wearforge.ui"/default_recipe')
        if default:
            self.model.open_recipe(default)
        self._task = None
        self._preview = ui.ByteImageProvider()
        self.window = ui.Window("wearforge", width=420, height=720)
        self.model.listeners.append(lambda m: self._refresh())
        self._build()

    def _build(self) -> None:
        m = self.model
        with self.window.frame:
            with ui.VStack(spacing=6):
                with ui.HStack(height=24):
                    self._path = ui.StringField()
                    self._path.model.set_value(str(m.recipe_path or ""))
                    ui.Button("Open", width=60, clicked_fn=lambda: m.open_recipe(self._path.model.get_value_as_string()))
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
                                slider.model.add_value_changed_fn(lambda v, d=defect: m.set_defect(d, intensity=v.as_float))
                with ui.CollapsableFrame("Lights"):
                    with ui.VStack(spacing=2):
                        stage = omni.usd.get_context().get_stage()
                        from pxr import UsdLux

                        for prim in stage.Traverse() if stage else []:
                            if prim.HasAPI(UsdLux.LightAPI):
                                with ui.HStack(height=22):
                                    ui.Label(prim.GetName(), width=110)
                                    field = ui.FloatDrag(min=0.0, max=10000.0)
                                    field.model.set_value(float(UsdLux.LightAPI(prim).GetIntensityAttr().Get() or 0))
                                    field.model.add_value_changed_fn(
                                        lambda v, p=str(prim.GetPath()): m.set_light_intensity(p, v.as_float))
                with ui.HStack(height=24):
                    ui.Label("Frames", width=80)
                    frames = ui.IntDrag(min=1, max=1000000)
                    frames.model.set_value(m.frames or 16)
                    frames.model.add_value_changed_fn(lambda v: m.set_frames(v.as_int))
                with ui.HStack(height=24):
                    ui.Label("Output", width=80)
                    out = ui.StringField()
                    out.model.set_value(m.output_dir or "out/kit")
                    out.model.add_end_edit_fn(lambda v: m.set_output(v.as_string))
                with ui.HStack(height=24):
                    for name in WRITERS:
                        box = ui.CheckBox(width=20)
                        box.model.set_value(name in m.writers)
                        box.model.add_value_changed_fn(lambda v, n=name: m.toggle_writer(n, v.as_bool))
                        ui.Label(name, width=70)
                ui.Label("Wear preview of the selected prim")
                ui.ImageWithProvider(self._preview, height=160)
                with ui.HStack(height=28):
                    ui.Button("Preview", clicked_fn=self._preview_selected)
                    ui.Button("Run", clicked_fn=self._run)
                    ui.Button("Stop", clicked_fn=m.stop)
                self._progress = ui.ProgressBar(height=18)
                self._status = ui.Label("")
        self._refresh()

    def _refresh(self) -> None:
        m = self.model
        self._error.text = m.error
        self._progress.model.set_value(m.progress)
        self._status.text = f"{m.status}: {m.done}/{m.total}" if m.total else m.status

    def _preview_selected(self) -> None:
        ctx = omni.usd.get_context()
        selected = ctx.get_selection().get_selected_prim_paths()
        if not selected:
            self.model.error = "select a part in the stage to preview its wear"
            self._refresh()
            return
        image = self.model.preview_wear(ctx.get_stage(), selected[0])
        if image is not None:
            rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=-1)
            self._preview.set_bytes_data(rgba.flatten().tolist(), [rgba.shape[1], rgba.shape[0]])

    def _run(self) -> None:
        import omni.replicator.core as rep

        stage = omni.usd.get_context().get_stage()
        self._task = asyncio.ensure_future(self.model.run(rep, stage))

    def on_shutdown(self) -> None:
        self.model.stop()
        self.window = None
