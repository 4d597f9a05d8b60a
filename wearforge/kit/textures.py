"""Wear stacks on RTX materials.

With omni.ui (any Kit app with a UI or a renderer), each map goes to an ``omni.ui.DynamicTextureProvider``
straight from the Warp array's device pointer (``set_bytes_data_from_gpu``, no host round trip) and the
part's OmniPBR inputs point at ``dynamic://<name>``. Pure headless Kit has no omni.ui: then the maps are
written as PNG files and the inputs point at the files. The binder logs which path it uses.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger("wearforge.kit")

OMNIPBR_INPUTS = {"base_color": "diffuse_texture", "roughness": "reflectionroughness_texture",
                  "metallic": "metallic_texture", "normal": "normalmap_texture"}
SRGB_INPUTS = {"diffuse_texture"}  # every other map holds data, read in colour space raw
# OmniPBR multiplies each map with its influence (default 0): without these the maps are ignored
OMNIPBR_INFLUENCES = {"reflectionroughness_texture": "reflection_roughness_texture_influence",
                      "metallic_texture": "metallic_texture_influence"}


class TextureBinder:
    def __init__(self, fallback_dir: str | Path, ui="auto"):
        """``ui``: "auto" finds omni.ui when Kit has it; None forces the file path; or the omni.ui module."""
        self.fallback_dir = Path(fallback_dir)
        if ui == "auto":
            try:
                import omni.ui as ui
            except ImportError:
                ui = None
        self.ui = ui
        self.providers: dict[str, object] = {}  # kept alive: a dropped provider frees its texture
        self._label_buffers: dict[str, object] = {}  # the provider reads label buffers asynchronously
        log.info("wear textures via %s", "omni.ui dynamic textures (GPU)" if ui else f"files in {self.fallback_dir}")

    @staticmethod
    def name_for(prim_path: str, texture: str) -> str:
        return "wearforge" + prim_path.replace("/", "_") + "_" + texture

    def push(self, prim_path: str, stack, frame: int = 0) -> dict[str, str]:
        """Upload one stack's maps; returns OmniPBR input -> asset path (dynamic:// or file)."""
        uris = {}
        for texture, input_name in OMNIPBR_INPUTS.items():
            name = self.name_for(prim_path, texture)
            if self.ui is not None and stack.device_rgba is not None:
                array = stack.device_rgba[texture]
                provider = self.providers.get(name)
                if provider is None:
                    provider = self.providers[name] = self.ui.DynamicTextureProvider(name)
                provider.set_bytes_data_from_gpu(array.ptr, [array.shape[1], array.shape[0]],
                                                 format=self.ui.TextureFormat.RGBA8_UNORM)
                uris[input_name] = f"dynamic://{name}"
            else:
                uris[input_name] = str(self._write_file(name, frame, self._host_rgba8(stack, texture)))
        return uris

    @staticmethod
    def _host_rgba8(stack, texture: str) -> np.ndarray:
        if stack.device_rgba is not None:
            return stack.device_rgba[texture].numpy()
        from wearforge.color import linear_to_srgb

        data = {"base_color": linear_to_srgb(stack.base_color), "roughness": stack.roughness[..., None].repeat(3, -1),
                "metallic": stack.metallic[..., None].repeat(3, -1), "normal": stack.normal}[texture]
        rgb = np.round(np.clip(data, 0, 1) * 255).astype(np.uint8)
        return np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], -1)

    def push_label(self, prim_path: str, texture: np.ndarray) -> str:
        """A float RGBA label texture (defect_pass): RGBA32 on the GPU via omni.ui, else a 16-bit PNG
        (the ratios survive 16-bit quantization: 1/65535 is far below the 1/512 decode step)."""
        name = self.name_for(prim_path, "labels")
        if self.ui is not None:
            import warp as wp

            array = wp.array(np.ascontiguousarray(texture, np.float32), dtype=wp.float32)
            provider = self.providers.get(name)
            if provider is None:
                provider = self.providers[name] = self.ui.DynamicTextureProvider(name)
            provider.set_bytes_data_from_gpu(array.ptr, [texture.shape[1], texture.shape[0]],
                                             format=self.ui.TextureFormat.RGBA32_SFLOAT)
            self._label_buffers[name] = array
            return f"dynamic://{name}"
        rgba16 = np.round(np.clip(texture, 0, 1) * 65535).astype(np.uint16)
        return str(self._write_file(name, 0, rgba16))

    def _write_file(self, name: str, frame: int, rgba: np.ndarray) -> Path:
        from wearforge.writers.base import atomic_write_bytes, encode_png

        path = self.fallback_dir / f"{name}_{frame:06d}.png"
        atomic_write_bytes(path, encode_png(rgba))
        return path

    def bind(self, stage, prim_path: str, uris: dict[str, str], layer=None) -> str:
        """Author an OmniPBR material with the textures and bind it to ``prim_path`` (a mesh: stacks are per
        mesh), on ``layer`` (default: wearforge's frame layer, cleared with the next FrameSpec)."""
        from pxr import Sdf, Usd, UsdShade

        from wearforge.stage import frame_layer

        material_path = f"/wearforge/Looks/{prim_path.strip('/').replace('/', '__')}"
        with Usd.EditContext(stage, layer if layer is not None else frame_layer(stage)):
            material = UsdShade.Material.Define(stage, material_path)
            shader = UsdShade.Shader.Define(stage, f"{material_path}/Shader")
            shader.SetSourceAsset(Sdf.AssetPath("OmniPBR.mdl"), "mdl")
            shader.SetSourceAssetSubIdentifier("OmniPBR", "mdl")
            for input_name, uri in uris.items():
                texture = shader.CreateInput(input_name, Sdf.ValueTypeNames.Asset)
                texture.Set(Sdf.AssetPath(uri))
                texture.GetAttr().SetColorSpace("sRGB" if input_name in SRGB_INPUTS else "raw")
                if input_name in OMNIPBR_INFLUENCES:
                    shader.CreateInput(OMNIPBR_INFLUENCES[input_name], Sdf.ValueTypeNames.Float).Set(1.0)
            material.CreateSurfaceOutput("mdl").ConnectToSource(shader.ConnectableAPI(), "out")
            UsdShade.MaterialBindingAPI.Apply(stage.GetPrimAtPath(prim_path)).Bind(
                material, UsdShade.Tokens.strongerThanDescendants)
        return material_path
