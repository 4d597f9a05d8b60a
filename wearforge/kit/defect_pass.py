"""Defect labels under RTX: one extra subframe per frame that shows the defect maps instead of shading.

For the label subframe every worn mesh gets an emissive-only OmniPBR (black diffuse, no specular) whose
emissive texture encodes, per texel, a marker (R = 1), the defect class (high half of G) and the occurrence (low half of G, and B); every
light is switched off, all on wearforge's frame layer, and anti-aliasing / DLSS and the denoisers are off
for that subframe, so each pixel shows exactly one texel's label emission. The linear ``HdrColor`` render
variable is read (no tone mapping) and decoded with ratios G/R and B/R, which do not depend on the emissive
intensity or exposure. Occurrences are numbered per part across its meshes, so the decoded (part,
occurrence) gives back the mesh and its stack's occurrence id: the same keys the standalone labels use.
Codes or occurrences outside the tables are rejected (no label), never mapped to a neighbour.

Cost per frame: one more render of ``rt_subframes=1`` plus uploading the label textures (4 bytes per
texel per worn mesh); with the usual ``rt_subframes`` of 4 to 16 for the RGB pass that is roughly 6 to 20 %
more render time. This path is written against Replicator 1.12.27 and Kit's OmniPBR and tested here with
the stand-in renderer of tests/kit_standin; it has not been run in Isaac Sim.
"""

from __future__ import annotations

import numpy as np

CLASS_LEVELS = 16  # class code 0..15 (0 = clean): the high half of G
CHANNEL_LEVELS = 256  # steps per channel ratio; far coarser than HdrColor's half-float precision
OCCURRENCE_LEVELS = 16 * CHANNEL_LEVELS  # per-part compact occurrence index (0 = none): low half of G, and B
MARKER_THRESHOLD = 1e-4  # R below this (relative to the brightest label pixel) = no label emission


# carb settings switched for the label subframe (Kit paths; restored afterwards)
LABEL_SETTINGS = {"/rtx/post/aa/op": 0,  # 0 = no anti-aliasing (TAA, FXAA, DLSS and DLAA blend neighbours)
                  "/rtx/post/dlss/execMode": 0,
                  "/rtx/pathtracing/optixDenoiser/enabled": False,
                  "/rtx/realtime/denoiser/enabled": False,
                  "/rtx/post/motionblur/enabled": False}


def encode_part_labels(stacks: dict[int, object]) -> tuple[dict[int, np.ndarray], dict[int, tuple[int, int]]]:
    """Float RGBA label textures for the meshes of one part, and compact index -> (mesh index, occurrence id).

    ``stacks``: mesh index -> wear stack. Occurrences are numbered jointly over the part's meshes; beyond
    OCCURRENCE_LEVELS - 1 the smallest ones keep their class but lose their instance (index 0).
    """
    from wearforge.wear.defects import DEFECT_CLASSES

    if len(DEFECT_CLASSES) > CLASS_LEVELS - 1:
        raise ValueError("more defect classes than the label encoding holds")
    keys, sizes = [], []
    for index, stack in sorted(stacks.items()):
        ids, counts = np.unique(stack.defect_instance[stack.defect_instance > 0], return_counts=True)
        keys += [(index, int(i)) for i in ids]
        sizes += counts.tolist()
    if len(keys) >= OCCURRENCE_LEVELS:
        keep = np.argsort(-np.asarray(sizes), kind="stable")[: OCCURRENCE_LEVELS - 1]
        keys = [keys[k] for k in sorted(keep)]
    lookup = {k: key for k, key in enumerate(keys, start=1)}
    compact_of = {key: k for k, key in lookup.items()}
    textures = {}
    for index, stack in stacks.items():
        compact = np.zeros(stack.defect_instance.shape, np.int64)
        for occurrence in np.unique(stack.defect_instance[stack.defect_instance > 0]):
            compact[stack.defect_instance == occurrence] = compact_of.get((index, int(occurrence)), 0)
        tex = np.zeros(stack.defect_class.shape + (4,), np.float32)
        tex[..., 0] = 1.0
        tex[..., 1] = (stack.defect_class.astype(np.float32) * 16 + compact // CHANNEL_LEVELS + 0.5) / CHANNEL_LEVELS
        tex[..., 2] = (compact % CHANNEL_LEVELS + 0.5) / CHANNEL_LEVELS
        tex[..., 3] = 1.0
        textures[index] = tex
    return textures, lookup


def decode_label_image(hdr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label emitted?, class code, compact occurrence index) per pixel of a linear HdrColor image.

    A pixel whose ratios fall outside the encodable ranges decodes as no label."""
    from wearforge.wear.defects import DEFECT_CLASSES

    rgb = np.asarray(hdr, np.float64)[..., :3]
    r = rgb[..., 0]
    lit = r > MARKER_THRESHOLD * max(float(r.max(initial=0.0)), 1e-30)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.floor(np.where(lit, rgb[..., 1] / r * CHANNEL_LEVELS, -1.0)).astype(np.int64)
        b = np.floor(np.where(lit, rgb[..., 2] / r * CHANNEL_LEVELS, -1.0)).astype(np.int64)
    code = g // 16
    occurrence = (g % 16) * CHANNEL_LEVELS + b
    valid = lit & (g >= 0) & (g < CHANNEL_LEVELS) & (b >= 0) & (b < CHANNEL_LEVELS) & (code <= len(DEFECT_CLASSES))
    return valid, np.where(valid, code, 0), np.where(valid, occurrence, 0)


def defect_maps(hdr: np.ndarray, instance: np.ndarray, lookups: dict[int, dict[int, tuple[int, int]]],
                meshes_of_part: dict[int, list[int]]):
    """(class code, mesh index, occurrence id) per pixel from a label subframe.

    ``instance``: the run's instance id per pixel; ``lookups``: run instance id -> compact index -> (mesh index,
    occurrence id); ``meshes_of_part``: run instance id -> its worn meshes. A label is kept only on a pixel of
    a worn part, with an occurrence the part's table knows (or none); the mesh of a defect-free labelled pixel
    is the part's only worn mesh when it has one, else unknown (-1: the pixel carries its class, no instance).
    """
    valid, code, compact = decode_label_image(hdr)
    h, w = code.shape
    mesh = np.full((h, w), -1, np.int64)
    occurrence = np.zeros((h, w), np.int64)
    worn = np.isin(instance, list(meshes_of_part))
    valid &= worn
    for part, table in lookups.items():
        on = valid & (instance == part)
        known = on & (compact > 0)
        for k, (index, occ) in table.items():
            sel = known & (compact == k)
            mesh[sel], occurrence[sel] = index, occ
        unknown = known & ~np.isin(compact, list(table))
        valid &= ~unknown  # an index the part's table does not hold: rejected, not mapped to a neighbour
        if len(meshes_of_part.get(part, [])) == 1:
            mesh[on & (compact == 0)] = meshes_of_part[part][0]
    return np.where(valid, code, 0).astype(np.uint8), mesh, np.where(valid, occurrence, 0).astype(np.uint32)


def author_label_looks(stage, layer, textures: dict[int, np.ndarray], meshes, binder) -> None:
    """On ``layer`` (wearforge's frame layer): every light dark, every worn mesh an emissive-only OmniPBR."""
    from pxr import Sdf, Usd, UsdLux, UsdShade

    with Usd.EditContext(stage, layer):
        for prim in stage.Traverse():
            if prim.HasAPI(UsdLux.LightAPI):
                UsdLux.LightAPI(prim).CreateIntensityAttr(0.0)
        for index, texture in textures.items():
            mesh_path = meshes[index].prim_path
            uri = binder.push_label(mesh_path, texture)
            path = f"/wearforge/LabelLooks/{mesh_path.strip('/').replace('/', '__')}"
            material = UsdShade.Material.Define(stage, path)
            shader = UsdShade.Shader.Define(stage, f"{path}/Shader")
            shader.SetSourceAsset(Sdf.AssetPath("OmniPBR.mdl"), "mdl")
            shader.SetSourceAssetSubIdentifier("OmniPBR", "mdl")
            shader.CreateInput("diffuse_color_constant", Sdf.ValueTypeNames.Color3f).Set((0.0, 0.0, 0.0))
            shader.CreateInput("reflection_roughness_constant", Sdf.ValueTypeNames.Float).Set(1.0)
            shader.CreateInput("specular_level", Sdf.ValueTypeNames.Float).Set(0.0)
            shader.CreateInput("enable_emission", Sdf.ValueTypeNames.Bool).Set(True)
            tex = shader.CreateInput("emissive_color_texture", Sdf.ValueTypeNames.Asset)
            tex.Set(Sdf.AssetPath(uri))
            tex.GetAttr().SetColorSpace("raw")  # label codes, not colours: no sRGB decoding
            shader.CreateInput("emissive_intensity", Sdf.ValueTypeNames.Float).Set(1000.0)
            material.CreateSurfaceOutput("mdl").ConnectToSource(shader.ConnectableAPI(), "out")
            UsdShade.MaterialBindingAPI.Apply(stage.GetPrimAtPath(mesh_path)).Bind(
                material, UsdShade.Tokens.strongerThanDescendants)


class LabelSettings:
    """Switch LABEL_SETTINGS on for the label subframe and back to what they were (a context manager)."""

    def __enter__(self):
        import carb.settings

        self.settings = carb.settings.get_settings()
        self.saved = {k: self.settings.get(k) for k in LABEL_SETTINGS}
        for key, value in LABEL_SETTINGS.items():
            self.settings.set(key, value)
        return self

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is not None:
                self.settings.set(key, value)
        return False
