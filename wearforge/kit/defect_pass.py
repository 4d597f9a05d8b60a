"""Defect labels under RTX: one extra subframe per frame that shows the defect maps instead of shading.

For the label subframe every worn part gets an emissive-only OmniPBR whose emissive texture encodes,
per texel, a marker (R = 1), the defect class (G) and the occurrence (B); every light is switched off on
the session layer, so only label emission reaches the camera. The linear ``HdrColor`` render variable is
read (no tone mapping) and decoded with ratios G/R and B/R, which do not depend on the emissive
intensity or exposure. Pixels are assigned to parts from the regular pass's instance segmentation, so a
defect label never leaves its part's mask, and occluded defects get none.

Cost per frame: one more render of ``rt_subframes=1`` plus uploading the label textures (4 bytes per
texel per worn mesh); with the usual ``rt_subframes`` of 4 to 16 for the RGB pass that is roughly 6 to 20 %
more render time. This path is written against Replicator 1.12.27 and Kit's OmniPBR and tested here with
synthetic label images; it has not been run in Isaac Sim.
"""

from __future__ import annotations

import numpy as np

from wearforge.wear.defects import DEFECT_CLASSES

CLASS_LEVELS = 16  # class code 0..15 (0 = clean) in G
OCCURRENCE_LEVELS = 256  # per-part compact occurrence index 0..255 in B (0 = none)
MARKER_THRESHOLD = 1e-4  # R below this (relative to the brightest label pixel) = no label emission


def encode_label_texture(defect_class: np.ndarray, defect_instance: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Float RGBA label texture for one stack, and compact occurrence index -> the stack's occurrence id."""
    ids = np.unique(defect_instance[defect_instance > 0])
    if len(ids) >= OCCURRENCE_LEVELS:
        # keep the largest occurrences; the rest share the last index (they remain labelled with their class)
        sizes = np.array([(defect_instance == i).sum() for i in ids])
        ids = ids[np.argsort(-sizes, kind="stable")][: OCCURRENCE_LEVELS - 1]
    compact = np.zeros(defect_instance.shape, np.int64)
    lookup = {}
    for k, occurrence in enumerate(sorted(int(i) for i in ids), start=1):
        compact[defect_instance == occurrence] = k
        lookup[k] = occurrence
    tex = np.zeros(defect_class.shape + (4,), np.float32)
    tex[..., 0] = 1.0
    tex[..., 1] = (defect_class.astype(np.float32) + 0.5) / CLASS_LEVELS
    tex[..., 2] = (compact.astype(np.float32) + 0.5) / OCCURRENCE_LEVELS
    tex[..., 3] = 1.0
    return tex, lookup


def decode_label_image(hdr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label emitted?, class code, compact occurrence index) per pixel of a linear HdrColor image."""
    rgb = np.asarray(hdr, np.float64)[..., :3]
    r = rgb[..., 0]
    lit = r > MARKER_THRESHOLD * max(float(r.max()), 1e-30)
    with np.errstate(divide="ignore", invalid="ignore"):
        code = np.where(lit, np.floor(rgb[..., 1] / r * CLASS_LEVELS), 0).astype(np.int64)
        occurrence = np.where(lit, np.floor(rgb[..., 2] / r * OCCURRENCE_LEVELS), 0).astype(np.int64)
    return lit, np.clip(code, 0, CLASS_LEVELS - 1), np.clip(occurrence, 0, OCCURRENCE_LEVELS - 1)


def defect_annotations(hdr: np.ndarray, instance_seg: np.ndarray, part_of_instance: dict[int, str],
                       class_ids: dict[str, int], lookups: dict[str, dict[int, int]]) -> dict:
    """defect_segmentation and defect_instances (the standalone annotators' schema) from a label subframe.

    ``part_of_instance``: instance id -> part prim path (from the regular pass); ``class_ids``: defect class
    name -> semantic id; ``lookups``: part path -> compact occurrence -> the stack's occurrence id.
    """
    from wearforge.labels import DEFECT_INSTANCE_DTYPE, label_extents

    lit, code, occurrence = decode_label_image(hdr)
    on_part = np.isin(instance_seg, list(part_of_instance))
    code = np.where(lit & on_part, code, 0)
    semantic = np.zeros(code.shape, np.uint32)
    for k, name in enumerate(DEFECT_CLASSES, start=1):
        semantic[code == k] = class_ids.get(name, 0)
    has = (code > 0) & (occurrence > 0)
    key = (instance_seg.astype(np.int64) << 16) | occurrence
    uniq, inverse = np.unique(key[has], return_inverse=True)
    mask = np.zeros(code.shape, np.uint32)
    mask[has] = inverse.astype(np.uint32) + 1
    rows = np.zeros(len(uniq), DEFECT_INSTANCE_DTYPE)
    labels = {}
    names = {v: k for k, v in class_ids.items()}
    if len(uniq):
        counts, (x0, y0, x1, y1), first = label_extents(mask, len(uniq))
    for k, value in enumerate(uniq):
        inst = int(value >> 16)
        sem = int(semantic.flat[first[k]])
        rows[k] = (k + 1, sem, inst, x0[k], y0[k], x1[k], y1[k], counts[k])
        part = part_of_instance[inst]
        labels[str(k + 1)] = {"class": names.get(sem, ""), "part": part,
                              "occurrence": lookups.get(part, {}).get(int(value & 0xFFFF), 0)}
    present = sorted(int(i) for i in np.unique(semantic))
    return {"defect_segmentation": {"data": semantic, "idToLabels": {str(i): {"class": names.get(i, "none")}
                                                                      for i in present}},
            "defect_instances": {"data": rows, "mask": mask, "idToLabels": labels}}


def label_pass(rep, stage, render_product, stacks: dict[str, object], binder, rt_subframes: int = 1):
    """Run the label subframe for this frame; returns (HdrColor image, instance segmentation payload,
    per-part occurrence lookups).

    ``stacks`` maps part prim paths to their wear stacks. Lights are switched off and label materials bound
    on the session layer; the caller re-applies the FrameSpec afterwards (which clears the session layer).
    """
    from pxr import Sdf, Usd, UsdLux, UsdShade

    lookups = {}
    with Usd.EditContext(stage, stage.GetSessionLayer()):
        for prim in stage.Traverse():
            if prim.HasAPI(UsdLux.LightAPI):
                UsdLux.LightAPI(prim).CreateIntensityAttr(0.0)
        for part, stack in stacks.items():
            texture, lookups[part] = encode_label_texture(stack.defect_class, stack.defect_instance)
            uri = binder.push_label(part, texture)
            path = f"/wearforge/LabelLooks/{part.strip('/').replace('/', '__')}"
            material = UsdShade.Material.Define(stage, path)
            shader = UsdShade.Shader.Define(stage, f"{path}/Shader")
            shader.SetSourceAsset(Sdf.AssetPath("OmniPBR.mdl"), "mdl")
            shader.SetSourceAssetSubIdentifier("OmniPBR", "mdl")
            shader.CreateInput("diffuse_color_constant", Sdf.ValueTypeNames.Color3f).Set((0.0, 0.0, 0.0))
            shader.CreateInput("reflection_roughness_constant", Sdf.ValueTypeNames.Float).Set(1.0)
            shader.CreateInput("enable_emission", Sdf.ValueTypeNames.Bool).Set(True)
            shader.CreateInput("emissive_color_texture", Sdf.ValueTypeNames.Asset).Set(Sdf.AssetPath(uri))
            shader.CreateInput("emissive_intensity", Sdf.ValueTypeNames.Float).Set(1000.0)
            material.CreateSurfaceOutput("mdl").ConnectToSource(shader.ConnectableAPI(), "out")
            UsdShade.MaterialBindingAPI.Apply(stage.GetPrimAtPath(part)).Bind(material, UsdShade.Tokens.strongerThanDescendants)
    hdr_annotator = rep.AnnotatorRegistry.get_annotator("HdrColor")
    inst_annotator = rep.AnnotatorRegistry.get_annotator("instance_segmentation_fast")
    for annotator in (hdr_annotator, inst_annotator):
        annotator.attach([render_product])
    try:
        rep.orchestrator.step(rt_subframes=rt_subframes)
        hdr, inst = hdr_annotator.get_data(), inst_annotator.get_data()
        if hdr is None or inst is None:
            raise RuntimeError("the label subframe returned no HdrColor / instance_segmentation data")
        hdr = np.asarray(hdr)
    finally:
        for annotator in (hdr_annotator, inst_annotator):
            annotator.detach()
    return hdr, inst, lookups
