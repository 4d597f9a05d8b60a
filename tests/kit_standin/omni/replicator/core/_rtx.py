"""The stand-in's renderer: what RTX would hand to annotators for one render product, for tests only.

It renders the composed stage (every layer, the session layer and its sublayers included) with wearforge's
standalone Mitsuba pipeline, at the render product's camera and resolution, and shapes the result like
Replicator's annotators: ``rgb`` (LdrColor, uint8 RGBA), ``HdrColor`` (linear float32 RGBA), depth, normals,
segmentation and boxes. Like RTX it knows nothing of wearforge's label ids: semantic and instance ids are
Replicator's own numbering (here a fixed permutation of the standalone ids), described by ``idToLabels`` /
``idToSemantics``. Besides:

- geometry (points, topology, UVs) is read from the stage at every render, so UVs authored on the stage are
  the ones sampled;
- an OmniPBR material with ``enable_emission`` and an ``emissive_color_texture`` file emits that texture
  (nearest texel at the pixel's uv) times ``emissive_intensity``; lights add their shading on top, and the
  anti-aliasing setting ``/rtx/post/aa/op`` (Kit's default is DLSS) blends each pixel with its neighbours;
- OmniPBR roughness / metallic maps without ``*_texture_influence`` = 1, or non-colour maps without colour
  space ``raw``, are recorded in ``IGNORED_MAPS`` (RTX would ignore or misread them);
- rigid bodies fall under gravity for ``simulated_time`` (the timeline played between apply and render).
"""

from __future__ import annotations

import numpy as np

IGNORED_MAPS: list[str] = []
RENDERS: list[dict] = []  # camera and resolution of every render
SEMANTIC_OFFSET, INSTANCE_OFFSET = 40, 70  # Replicator's ids: not wearforge's (see _replicator_ids)
_textures: dict[str, np.ndarray] = {}


def reset() -> None:
    IGNORED_MAPS.clear()
    RENDERS.clear()
    _textures.clear()


def _aa_enabled() -> bool:
    import carb.settings

    op = carb.settings.get_settings().get("/rtx/post/aa/op")
    return op is None or int(op) != 0


def render(stage, rp_path: str, simulated_time: float) -> dict:
    from pxr import UsdPhysics

    from wearforge.labels import LabelSpace
    from wearforge.render.annotations import annotate
    from wearforge.render.mitsuba_backend import MitsubaBackend
    from wearforge.twin_reader import read_frame_state, read_geometry
    from wearforge.transforms import up_vector

    from . import OrchestratorError

    prim = stage.GetPrimAtPath(rp_path)
    targets = prim.GetRelationship("camera").GetTargets()
    camera = str(targets[0]) if targets else ""
    res = tuple(int(v) for v in prim.GetAttribute("resolution").Get())
    if not camera or not stage.GetPrimAtPath(camera):
        raise OrchestratorError(f"{rp_path}: camera {camera!r} does not exist")
    RENDERS.append({"camera": camera, "resolution": res})
    meshes = read_geometry(stage)
    state = read_frame_state(stage, meshes, camera)
    if simulated_time > 0:  # PhysX ran: rigid bodies fell
        drop = 0.5 * 9.81 * simulated_time ** 2 / state.camera.meters_per_unit * np.asarray(up_vector(stage))
        for i, geo in enumerate(meshes):
            p = stage.GetPrimAtPath(geo.prim_path)
            while p and not p.HasAPI(UsdPhysics.RigidBodyAPI):
                p = p.GetParent()
            if p:
                state.matrices[i] = state.matrices[i].copy()
                state.matrices[i][:3, 3] -= drop
    backend = MitsubaBackend(meshes)
    backend.prepare(state, res, {})
    linear = backend.render_beauty(4, 0)
    buffers = backend.label_pass(res)
    space = LabelSpace(meshes)
    data = annotate(space, buffers.mesh, buffers.unoccluded, buffers.position, buffers.normal, state.camera, stage, res)
    lit = any(np.any(np.asarray(light.radiance) > 0) for light in state.lights)
    hdr = (linear if lit else np.zeros_like(linear)) + _emission(stage, meshes, buffers.mesh, buffers.uv)
    if _aa_enabled():
        import cv2

        hdr = cv2.blur(hdr, (3, 3), borderType=cv2.BORDER_REPLICATE)
    _check_omnipbr(stage, meshes)
    from wearforge.color import linear_to_srgb

    ldr = np.round(np.clip(linear_to_srgb(np.clip(linear, 0, 1)), 0, 1) * 255).astype(np.uint8)
    frame = _replicator_ids(data)
    frame["rgb"] = {"data": np.concatenate([ldr, np.full(ldr.shape[:2] + (1,), 255, np.uint8)], -1)}
    frame["HdrColor"] = {"data": np.concatenate([hdr, np.ones(hdr.shape[:2] + (1,), np.float32)], -1).astype(np.float32)}
    frame["__camera"], frame["__resolution"] = camera, res
    return frame


def _shader_of(stage, prim_path: str):
    from pxr import UsdShade

    material, _ = UsdShade.MaterialBindingAPI(stage.GetPrimAtPath(prim_path)).ComputeBoundMaterial()
    if not material:
        return None
    for child in material.GetPrim().GetChildren():
        shader = UsdShade.Shader(child)
        if shader and shader.GetSourceAssetSubIdentifier("mdl") == "OmniPBR":
            return shader
    return None


def _texture(path: str) -> np.ndarray:
    if path.startswith("dynamic://"):  # an omni.ui DynamicTextureProvider: read what it holds right now
        import omni.ui

        provider = omni.ui.DynamicTextureProvider.live.get(path[len("dynamic://"):])
        if provider is None:
            raise FileNotFoundError(f"{path}: no live DynamicTextureProvider of that name")
        return provider.read()
    if path not in _textures:
        import cv2

        image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if image is None:
            raise FileNotFoundError(path)
        scale = 65535.0 if image.dtype == np.uint16 else 255.0
        rgb = image[..., [2, 1, 0]] if image.ndim == 3 else np.repeat(image[..., None], 3, -1)
        _textures[path] = rgb.astype(np.float64) / scale
    return _textures[path]


def _emission(stage, meshes, mesh_map: np.ndarray, uv: np.ndarray) -> np.ndarray:
    out = np.zeros(mesh_map.shape + (3,), np.float64)
    for index, geo in enumerate(meshes):
        sel = mesh_map == index
        if not sel.any():
            continue
        shader = _shader_of(stage, geo.prim_path)
        if shader is None or not (shader.GetInput("enable_emission") and shader.GetInput("enable_emission").Get()):
            continue
        tex_input = shader.GetInput("emissive_color_texture")
        if not tex_input or not tex_input.Get():
            continue
        tex = _texture(tex_input.Get().path)
        intensity = shader.GetInput("emissive_intensity").Get() if shader.GetInput("emissive_intensity") else 1.0
        res_y, res_x = tex.shape[:2]
        col = np.clip((uv[sel, 0] * res_x).astype(np.int64), 0, res_x - 1)
        row = np.clip(((1.0 - uv[sel, 1]) * res_y).astype(np.int64), 0, res_y - 1)
        out[sel] = tex[row, col] * float(intensity)
    return out.astype(np.float32)


def _check_omnipbr(stage, meshes) -> None:
    for geo in meshes:
        shader = _shader_of(stage, geo.prim_path)
        if shader is None:
            continue
        for texture, influence in (("reflectionroughness_texture", "reflection_roughness_texture_influence"),
                                   ("metallic_texture", "metallic_texture_influence")):
            tex = shader.GetInput(texture)
            if tex and tex.Get() and tex.Get().path:
                inf = shader.GetInput(influence)
                if not inf or float(inf.Get() or 0.0) != 1.0:
                    IGNORED_MAPS.append(f"{geo.prim_path}: {texture} without {influence} = 1")
        for texture in ("reflectionroughness_texture", "metallic_texture", "normalmap_texture", "emissive_color_texture"):
            tex = shader.GetInput(texture)
            if tex and tex.Get() and tex.Get().path and tex.GetAttr().GetColorSpace() != "raw":
                IGNORED_MAPS.append(f"{geo.prim_path}: {texture} not in colour space raw")


def _replicator_ids(data: dict) -> dict:
    """Renumber wearforge's semantic and instance ids the way Replicator would (its own ids, with maps)."""
    def sem(i):
        return int(i) if int(i) < 2 else int(i) + SEMANTIC_OFFSET

    def inst(i):
        return int(i) if int(i) < 2 else int(i) + INSTANCE_OFFSET

    out = {}
    s = data["semantic_segmentation"]
    d = s["data"].astype(np.int64)
    out["semantic_segmentation"] = {"data": np.where(d < 2, d, d + SEMANTIC_OFFSET).astype(np.uint32),
                                    "idToLabels": {str(sem(k)): v for k, v in s["idToLabels"].items()}}
    i = data["instance_segmentation"]
    d = i["data"].astype(np.int64)
    out["instance_segmentation_fast"] = {
        "data": np.where(d < 2, d, d + INSTANCE_OFFSET).astype(np.uint32),
        "idToLabels": {str(inst(k)): v for k, v in i["idToLabels"].items()},
        "idToSemantics": {str(inst(k)): v for k, v in i["idToSemantics"].items()}}
    for name in ("bounding_box_2d_tight", "bounding_box_2d_loose", "bounding_box_3d"):
        b = data[name]
        rows = b["data"].copy()
        if len(rows):
            rows["semanticId"] = [sem(x) for x in rows["semanticId"]]
        payload = {"data": rows, "idToLabels": {str(sem(k)): v for k, v in b["idToLabels"].items()}}
        for key in ("bboxIds", "primPaths"):
            if key in b:
                payload[key] = b[key]
        out[f"{name}_fast"] = payload
    for name in ("distance_to_camera", "distance_to_image_plane", "normals", "camera_params"):
        out[name] = data[name]
    return out
