"""The USD side: open a twin, find its parts and labels, apply a FrameSpec on a layer of our own.

Only pxr APIs present in both usd-core and Kit's USD are used. The user's layers are never edited:
every change goes to wearforge's anonymous frame layer, a sublayer of the stage's session layer, which
is cleared and rewritten for each frame (the session layer's own content is left to its owners).
Matrices in this module are NumPy 4x4 in column-vector convention (p' = M @ p); USD's Gf matrices
are row-vector, hence the transposes at the boundary.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, UsdPhysics, UsdShade

from wearforge.errors import InputError
from wearforge.framespec import CameraSpec, FrameSpec, LightSpec, PartSpec
from wearforge.recipe import Recipe, matches, path_match, resolve_usd
from wearforge.semantics import semantic_class, set_semantic_class
from wearforge.twin_reader import TIME, drawn_prims, labelled_parts, read_gprim
from wearforge.transforms import gf_to_np, look_at_matrix, matrix_to_trs, up_vector, world_matrix

log = logging.getLogger("wearforge.stage")

WEARFORGE_ROOT = "/wearforge"
LIGHT_TYPES = {
    "distant": UsdLux.DistantLight,
    "sphere": UsdLux.SphereLight,
    "rect": UsdLux.RectLight,
    "disk": UsdLux.DiskLight,
    "dome": UsdLux.DomeLight,
}


# ------------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class PartInfo:
    path: str
    semantic_class: str
    position: tuple[float, ...]
    rotation: tuple[float, ...]
    scale: tuple[float, ...]
    posable: bool = True  # UsdGeom.Xformable: poses, scatter and settle can move it


@dataclass(frozen=True)
class SceneInfo:
    """What sampling needs to know about a twin (read once per run)."""

    usd: str
    up: tuple[float, float, float]
    meters_per_unit: float
    parts: tuple[PartInfo, ...]
    lights: dict[str, str] = field(default_factory=dict)  # prim path -> light type name
    cameras: dict[str, dict] = field(default_factory=dict)  # prim path -> camera attributes
    support: str | None = None
    bounds: dict[str, tuple] = field(default_factory=dict)  # part path -> (local min xyz, local max xyz)
    surfaces: dict[str, object] = field(default_factory=dict)  # scatter surface path -> HeightField
    distractors: tuple = ()  # per distractor group: its instance paths
    backgrounds: tuple[str, ...] = ()  # background prim paths (scene.backgrounds), one shown per frame
    background_hides: dict[str, tuple[str, ...]] = field(default_factory=dict)  # background -> twin prims it hides


def surface_key(surface: str, background: str | None) -> str:
    """Key of a scatter surface's height field in SceneInfo.surfaces: with backgrounds, one per background
    shown (what covers a surface depends on it); a surface at scene.support is then the background itself."""
    return surface if background is None else f"{surface}@{background}"


def open_stage(path: str | Path) -> Usd.Stage:
    """Open a twin; problems become an InputError naming the file (and line, prim or asset)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("USD file not found", source=str(path))
    try:
        stage = Usd.Stage.Open(str(path), load=Usd.Stage.LoadAll)
    except Exception as exc:  # pxr raises Tf.ErrorException with a long C++ trace
        raise InputError(f"cannot open as USD: {usd_error_reason(str(exc), path)}", source=str(path)) from None
    if stage is None:
        raise InputError("cannot open as USD", source=str(path))
    check_composition(stage, path)
    return stage


def usd_error_reason(text: str, path: Path) -> str:
    """The parser's reason and line out of a Tf error trace (the last line only says 'Failed to open')."""
    messages = [m.strip() for m in re.findall(r"Error in '[^']*' at line \d+ in file [^:]+ : '(.*?)'\s*(?:\n|$)",
                                              text, flags=re.S)] or [text.strip().splitlines()[-1] if text.strip()
                                                                     else "unknown error"]
    messages = [re.sub(r"pxrInternal_v\w+?::|Sdf_TextFileFormatParser::", "", m) for m in messages]
    for m in messages:  # '<file>:<line>:<column>: <reason>' from the text parser
        found = re.match(r"(.*?):(\d+):(\d+): (.*)", m, flags=re.S)
        if found and Path(found.group(1)).name == path.name:
            return f"line {found.group(2)}, column {found.group(3)}: {found.group(4).strip()}"
    useful = [m for m in messages if not m.startswith("Failed to open layer")]
    return "; ".join(useful or messages)


def _why_unopened(asset: str) -> str:
    """'cannot be resolved', or the parser's reason when the file is there but malformed."""
    if not Path(asset).is_file():
        return "cannot be resolved"
    try:
        Sdf.Layer.OpenAsAnonymous(asset)
    except Exception as exc:
        return f"cannot be opened: {usd_error_reason(str(exc), Path(asset))}"
    return "cannot be opened"


def check_composition(stage: Usd.Stage, path: Path) -> None:
    """Unresolvable references and payloads name the prim that asks for them; MaterialX documents (which
    usd-core cannot read) only warn, their materials are approximated."""
    import logging

    problems = []
    for error in stage.GetCompositionErrors():
        text = str(error)
        assets = re.findall(r"@([^@]+)@", text)
        site = getattr(error, "rootSite", None)
        prim = str(site.path) if site is not None else "?"
        kind = next((k for k in ("reference", "payload", "sublayer") if f"for {k}" in text), "asset")
        asset = assets[0] if assets else "?"
        if asset.lower().endswith(".mtlx"):
            logging.getLogger("wearforge.usd").warning(
                "%s: MaterialX document %s cannot be read by usd-core; the material is approximated", prim, asset)
            continue
        if "Could not open asset" in text:
            problems.append(f"{prim}: {kind} {asset} " + _why_unopened(asset.split(":SDF_FORMAT_ARGS")[0]))
        else:
            problems.append(f"{prim}: " + re.sub(r"pxrInternal_v\w+?::", "", text))
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InputError("; ".join(problems[:5]) + more, source=str(path))


DISTRACTOR_SCOPE = "Distractors"
BACKGROUND_SCOPE = "Backgrounds"
RECIPE_LAYER_TAG = "wearforge_recipe.usda"


def distractor_paths(recipe: Recipe, stage: Usd.Stage) -> list[list[str]]:
    """Prim paths of every distractor instance, per group, under <defaultPrim>/Distractors."""
    root = stage.GetDefaultPrim().GetPath() if stage.GetDefaultPrim() else Sdf.Path("/World")
    out = []
    for g, group in enumerate(recipe.scene.distractors):
        stem = Path(resolve_usd(group.asset, recipe.base_dir)).stem.title().replace("_", "")
        out.append([str(root.AppendPath(f"{DISTRACTOR_SCOPE}/{stem}_{g}_{k}")) for k in range(group.max_count)])
    return out


def background_paths(recipe: Recipe, stage: Usd.Stage) -> list[str]:
    """Prim paths of the recipe's backgrounds (``scene.backgrounds``, in order) under
    <defaultPrim>/Backgrounds; empty when the recipe has none."""
    root = stage.GetDefaultPrim().GetPath() if stage.GetDefaultPrim() else Sdf.Path("/World")
    out = []
    for k, b in enumerate(recipe.scene.backgrounds or []):
        stem = Path(resolve_usd(b.usd, recipe.base_dir)).stem.title().replace("_", "")
        out.append(str(root.AppendPath(f"{BACKGROUND_SCOPE}/{stem}_{k}")))
    return out


def has_additions(recipe: Recipe) -> bool:
    """Does the recipe compose anything into the twin (distractors, backgrounds)?"""
    return bool(recipe.scene.distractors or recipe.scene.backgrounds)


def author_additions(recipe: Recipe, stage: Usd.Stage) -> None:
    """Author what the recipe composes into the twin in the stage's current edit target: distractor
    instances, and the backgrounds in place of the support.

    Every background is referenced once for the whole run (a frame only toggles visibility, see
    apply_frame), placed where the support is, with its semantic labels removed: backgrounds are neither
    parts nor instances. The support prim itself is deactivated, so its geometry, colliders and label leave
    the scene.
    """
    from wearforge.semantics import clear_semantics

    for group, paths in zip(recipe.scene.distractors, distractor_paths(recipe, stage)):
        asset = str(resolve_usd(group.asset, recipe.base_dir))
        for path in paths:
            prim = UsdGeom.Xform.Define(stage, path).GetPrim()
            prim.GetReferences().AddReference(asset)
            if group.semantic_class:
                set_semantic_class(prim, group.semantic_class)
    if not recipe.scene.backgrounds:
        return
    src = f"recipe '{recipe.name}'"
    support = stage.GetPrimAtPath(recipe.scene.support)
    if not support:
        raise InputError(f"prim {recipe.scene.support!r} is not in {recipe.usd_path().name}", source=src,
                         field="scene.support")
    paths = background_paths(recipe, stage)
    scope = UsdGeom.Scope.Define(stage, str(Sdf.Path(paths[0]).GetParentPath())).GetPrim()
    parent = scope.GetParent()
    parent_world = world_matrix(parent) if parent and parent.IsA(UsdGeom.Xformable) else np.eye(4)
    local = np.linalg.inv(parent_world) @ world_matrix(support)
    for k, (b, path) in enumerate(zip(recipe.scene.backgrounds, paths)):
        prim = UsdGeom.Xform.Define(stage, path).GetPrim()
        prim.GetReferences().AddReference(str(resolve_usd(b.usd, recipe.base_dir)))
        set_matrix(prim, local)
        if not any(p.IsA(UsdGeom.Gprim) for p in Usd.PrimRange(prim)):
            raise InputError(f"{resolve_usd(b.usd, recipe.base_dir).name} has no geometry under its default prim",
                             source=src, field=f"scene.backgrounds.{k}.usd")
        for p in Usd.PrimRange(prim):
            if not p.IsInstanceProxy():
                clear_semantics(p)
    support.SetActive(False)


def open_twin(recipe: Recipe) -> Usd.Stage:
    """The twin as the recipe sees it: the user's file, plus distractor instances and backgrounds composed
    from an in-memory layer when the recipe has any (the user's file is never edited)."""
    stage = open_stage(recipe.usd_path())
    if not has_additions(recipe):
        return stage
    twin = stage.GetRootLayer()
    extra = Sdf.Layer.CreateAnonymous("wearforge_distractors.usda")
    root = Sdf.Layer.CreateAnonymous("wearforge_twin.usda")
    root.subLayerPaths.append(twin.identifier)
    root.subLayerPaths.append(extra.identifier)
    for key in ("upAxis", "metersPerUnit", "defaultPrim", "kilogramsPerUnit"):
        if twin.pseudoRoot.HasInfo(key):
            root.pseudoRoot.SetInfo(key, twin.pseudoRoot.GetInfo(key))
    composed = Usd.Stage.Open(root)
    with Usd.EditContext(composed, extra):
        author_additions(recipe, composed)
    check_composition(composed, recipe.usd_path())
    return composed


def add_recipe_layer(recipe: Recipe, stage: Usd.Stage) -> Sdf.Layer | None:
    """On a stage opened elsewhere (Kit's UsdContext): compose the recipe's additions (see
    ``author_additions``) from an anonymous sublayer of the session layer, once; None when there are none.
    The twin's own layers are not edited. A stage that already has them (from ``open_twin``) is left alone;
    the layer of an earlier run on the same stage is rewritten for this recipe."""
    session = stage.GetSessionLayer()
    layer = next((Sdf.Layer.Find(i) for i in session.subLayerPaths if i.endswith(RECIPE_LAYER_TAG)), None)
    if layer is not None:
        layer.Clear()
    if not has_additions(recipe):
        return None
    if layer is None:
        wanted = (background_paths(recipe, stage) or sum(distractor_paths(recipe, stage), []))[0]
        if stage.GetPrimAtPath(wanted):
            return None
        layer = Sdf.Layer.CreateAnonymous(RECIPE_LAYER_TAG)
        session.subLayerPaths.append(layer.identifier)  # weaker than the frame layer, which toggles visibility
        _recipe_layers[session.identifier] = layer  # kept alive with the session layer
    with Usd.EditContext(stage, layer):
        author_additions(recipe, stage)
    return layer


_recipe_layers: dict[str, Sdf.Layer] = {}


def _light_type(prim: Usd.Prim) -> str | None:
    for name, schema in LIGHT_TYPES.items():
        if prim.IsA(schema):
            return name
    return None


def read_scene(recipe: Recipe, stage: Usd.Stage | None = None) -> SceneInfo:
    """Resolve the recipe's selectors against the twin; unknown prims raise InputError."""
    src = f"recipe '{recipe.name}'"
    stage = stage or open_twin(recipe)
    if not stage.HasAuthoredMetadata(UsdGeom.Tokens.metersPerUnit):
        from wearforge.twin_reader import warn_once

        warn_once(recipe.usd_path().name, "metersPerUnit is not authored, so USD takes centimetres (0.01): "
                  "wear lengths, scatter and settle follow that; author it if the twin is in other units")
    support = recipe.scene.support
    if support and not stage.GetPrimAtPath(support):
        raise InputError(f"prim {support!r} is not in {recipe.usd_path().name}", source=src, field="scene.support")
    chosen: dict[str, str] = {}
    if recipe.scene.parts:
        for i, sel in enumerate(recipe.scene.parts):
            found = [p for p in stage.Traverse() if path_match(sel.path, str(p.GetPath()))]
            if not found:
                raise InputError(f"no prim matches {sel.path!r} in {recipe.usd_path().name}", source=src,
                                 field=f"scene.parts.{i}.path")
            for prim in found:
                label = sel.semantic_class or semantic_class(prim)
                if label is None:
                    raise InputError(f"{prim.GetPath()} has no semantic class; give one with 'class:'",
                                     source=src, field=f"scene.parts.{i}.class")
                chosen[str(prim.GetPath())] = label
    else:
        chosen.update(labelled_parts(stage, exclude=support))
    for paths in distractor_paths(recipe, stage) if recipe.scene.distractors else []:
        for path in paths:
            label = semantic_class(stage.GetPrimAtPath(path))
            if label is None:
                raise InputError(f"distractor {path} has no semantic class; give one with 'class:'", source=src,
                                 field="scene.distractors")
            chosen[path] = label
    parts = []
    for path, label in chosen.items():
        prim = stage.GetPrimAtPath(path)
        if not prim.IsA(UsdGeom.Xformable):  # a typeless 'def' (common in exports): labelled, never posed
            parts.append(PartInfo(path, label, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), posable=False))
            continue
        local = gf_to_np(UsdGeom.Xformable(prim).GetLocalTransformation(TIME))
        t, r, s = matrix_to_trs(local)
        parts.append(PartInfo(path, label, tuple(t), tuple(r), tuple(s)))
    lights = {str(p.GetPath()): _light_type(p) for p in stage.Traverse() if _light_type(p)}
    cameras = {}
    for prim in stage.Traverse():
        if prim.IsA(UsdGeom.Camera):
            cam = UsdGeom.Camera(prim)
            cameras[str(prim.GetPath())] = {
                "focal_length": cam.GetFocalLengthAttr().Get(),
                "horizontal_aperture": cam.GetHorizontalApertureAttr().Get(),
                "clipping": list(cam.GetClippingRangeAttr().Get()),
                "f_stop": cam.GetFStopAttr().Get() or 0.0,
                "focus_distance": cam.GetFocusDistanceAttr().Get() or 0.0,
                "matrix": world_matrix(prim).tolist(),
            }
    if recipe.camera.prim and recipe.camera.prim not in cameras:
        raise InputError(f"no UsdGeom.Camera at {recipe.camera.prim!r}", source=src, field="camera.prim")
    rnd_cam = recipe.randomizers.camera
    if rnd_cam is not None and rnd_cam.prim is not None:
        for name in ([rnd_cam.prim.value] if hasattr(rnd_cam.prim, "value") else rnd_cam.prim.items):
            if name not in cameras:
                raise InputError(f"no UsdGeom.Camera at {name!r}", source=src, field="randomizers.camera.prim")
    _check_selectors(recipe, parts, lights, src)
    backgrounds = _checked_backgrounds(recipe, stage, src)
    hides = _background_hides(recipe, stage, backgrounds, parts, src)
    bounds, surfaces = {}, {}
    scatters = [(i, e.scatter) for i, e in enumerate(recipe.randomizers.poses) if e.scatter is not None]
    if scatters:
        cache = UsdGeom.BBoxCache(TIME, [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
        for part in parts:
            rng = cache.ComputeUntransformedBound(stage.GetPrimAtPath(part.path)).ComputeAlignedRange()
            bounds[part.path] = (tuple(rng.GetMin()), tuple(rng.GetMax()))
        for i, cfg in scatters:
            movable = [p.path for p in parts if p.path != cfg.surface]  # a part may be the surface
            field = f"randomizers.poses.{i}.scatter.surface"
            for shown in backgrounds or [None]:
                key = surface_key(cfg.surface, shown)
                if key in surfaces:
                    continue
                hidden = [b for b in backgrounds if b != shown] + list(hides.get(shown, ()))
                on = shown if shown is not None and cfg.surface == support else cfg.surface
                surfaces[key] = _support_field(stage, on, movable + hidden, src, field)
    return SceneInfo(
        usd=str(recipe.usd_path()),
        up=tuple(up_vector(stage)),
        meters_per_unit=UsdGeom.GetStageMetersPerUnit(stage),
        parts=tuple(parts),
        lights=lights,
        cameras=cameras,
        support=support,
        bounds=bounds,
        surfaces=surfaces,
        distractors=tuple(tuple(p) for p in distractor_paths(recipe, stage)) if recipe.scene.distractors else (),
        backgrounds=tuple(backgrounds),
        background_hides=hides,
    )


def _background_hides(recipe: Recipe, stage: Usd.Stage, backgrounds: list[str], parts: list[PartInfo],
                      src: str) -> dict[str, tuple[str, ...]]:
    """Per background, the twin prims it hides: present, and neither parts nor holding parts."""
    out = {}
    for k, (b, path) in enumerate(zip(recipe.scene.backgrounds or [], backgrounds)):
        for j, hide in enumerate(b.hide):
            field = f"scene.backgrounds.{k}.hide.{j}"
            if not Sdf.Path.IsValidPathString(hide) or not Sdf.Path(hide).IsAbsolutePath() or \
                    not stage.GetPrimAtPath(hide):
                raise InputError(f"no prim {hide!r} in {recipe.usd_path().name}", source=src, field=field)
            if any(p.path == hide or p.path.startswith(hide.rstrip("/") + "/") for p in parts):
                raise InputError(f"{hide} is or holds a part; parts are hidden with a pose randomizer's 'visible'",
                                 source=src, field=field)
        out[path] = tuple(b.hide)
    return out


def _checked_backgrounds(recipe: Recipe, stage: Usd.Stage, src: str) -> list[str]:
    """The background prims, each present and drawn (a stage opened without open_twin may lack them)."""
    paths = background_paths(recipe, stage)
    for k, path in enumerate(paths):
        prim = stage.GetPrimAtPath(path)
        if not prim or not any(_renderable_gprim(p) for p in drawn_prims(stage, prim)):
            raise InputError(f"background {path} is not in the stage or has no geometry (open the twin with "
                             "wearforge.stage.open_twin or add_recipe_layer)", source=src,
                             field=f"scene.backgrounds.{k}.usd")
    return paths


def _renderable_gprim(prim: Usd.Prim) -> bool:
    return prim.IsA(UsdGeom.Gprim) and not prim.IsA(UsdLux.BoundableLightBase)


def _support_field(stage: Usd.Stage, path: str, movable: list[str], src: str, field: str):
    """Height field over the support's extent, of every fixed mesh (the support and what stands on it)."""
    from wearforge.randomizers.scatter import height_field, scatter_frame

    frame = scatter_frame(up_vector(stage))
    resolution = 0.0025 / UsdGeom.GetStageMetersPerUnit(stage)  # 2.5 mm cells whatever the unit
    prim = stage.GetPrimAtPath(path)
    if not prim:
        raise InputError(f"no prim {path!r} in {stage.GetRootLayer().identifier}", source=src, field=field)
    support = _world_triangles(stage, list(drawn_prims(stage, prim)))  # instance proxies included
    if support is None:
        raise InputError(f"{path} has no meshes to scatter on", source=src, field=field)
    fixed = [p for p in drawn_prims(stage)
             if not any(str(p.GetPath()).startswith(m + "/") or str(p.GetPath()) == m for m in movable)]
    points, tris = _world_triangles(stage, fixed)
    points, support = points @ frame.T, (support[0] @ frame.T, support[1])  # into the Z-up scatter frame
    lo, hi = support[0].min(axis=0), support[0].max(axis=0)
    bounds = (lo[0], lo[1], hi[0], hi[1])
    everything = height_field(points, tris, bounds=bounds, resolution=resolution)
    own = height_field(*support, bounds=bounds, resolution=resolution)
    # only where the support itself is the topmost surface (not the table around a rotated bin)
    mask = np.isclose(everything.z, own.z, atol=1e-6 / UsdGeom.GetStageMetersPerUnit(stage))
    if not mask.any():
        raise InputError(f"{path} has no surface facing up that is not covered by other fixed prims", source=src,
                         field=field)
    return type(everything)(everything.x0, everything.y0, everything.step, np.where(mask, everything.z, np.nan))


def _world_triangles(stage: Usd.Stage, prims: list[Usd.Prim]):
    cache = UsdGeom.XformCache(TIME)
    points, tris, offset = [], [], 0
    for p in prims:
        geo = read_gprim(p) if p.IsA(UsdGeom.Gprim) and not p.IsA(UsdLux.BoundableLightBase) else None
        if geo is None:
            continue
        m = gf_to_np(cache.GetLocalToWorldTransform(p))
        points.append(geo[0] @ m[:3, :3].T + m[:3, 3])
        tris.append(np.asarray(geo[1]) + offset)
        offset += len(points[-1])
    if not points:
        return None
    return np.concatenate(points), np.concatenate(tris)


def _check_selectors(recipe: Recipe, parts: list[PartInfo], lights: dict[str, str], src: str) -> None:
    sections = {"materials": recipe.randomizers.materials, "poses": recipe.randomizers.poses,
                "physics": recipe.randomizers.physics, "wear": recipe.randomizers.wear}
    for name, items in sections.items():
        for i, item in enumerate(items):
            if not any(matches(item.parts, p.path, p.semantic_class) for p in parts):
                known = ", ".join(sorted({p.semantic_class for p in parts}))
                raise InputError(f"{item.parts!r} matches no part (parts' classes: {known})", source=src,
                                 field=f"randomizers.{name}.{i}.parts")
    for i, item in enumerate(recipe.randomizers.poses):
        for p in parts:
            if not p.posable and matches(item.parts, p.path, p.semantic_class):
                raise InputError(f"{p.path} is not transformable (not a UsdGeom.Xformable), so it cannot be posed",
                                 source=src, field=f"randomizers.poses.{i}.parts")
    names = {light.name for light in recipe.lights}
    for i, item in enumerate(recipe.randomizers.lights):
        if item.light is None:
            continue
        if item.light not in names and not any(path_match(item.light, p) for p in lights):
            raise InputError(f"{item.light!r} is neither a recipe light nor a UsdLux light in the twin",
                             source=src, field=f"randomizers.lights.{i}.light")


@lru_cache(maxsize=8)
def _cached_scene(recipe_json: str, base_dir: str) -> SceneInfo:
    recipe = Recipe.model_validate_json(recipe_json)
    recipe = recipe.model_copy(update={"base_dir": Path(base_dir)})
    return read_scene(recipe)


def scene_for(recipe: Recipe) -> SceneInfo:
    """read_scene, cached per recipe content (sampling many frames opens the twin once)."""
    return _cached_scene(recipe.model_dump_json(), str(recipe.base_dir))


# ------------------------------------------------------------------------------------ writing
FRAME_LAYER_TAG = "wearforge_frame.usda"
_frame_layers: dict[str, Sdf.Layer] = {}  # session layer identifier -> its frame layer (kept alive here)


def frame_layer(stage: Usd.Stage) -> Sdf.Layer:
    """wearforge's own anonymous layer, the first sublayer of the stage's session layer.

    The session layer itself belongs to whoever hosts the stage: Replicator keeps its render products,
    writer graphs and the /Orchestrator tick graph there, Kit its viewport state. FrameSpecs are therefore
    authored into this sublayer, which only wearforge writes and clears.
    """
    session = stage.GetSessionLayer()
    layer = _frame_layers.get(session.identifier)
    if layer is None or layer.identifier not in session.subLayerPaths:
        layer = next((Sdf.Layer.Find(i) for i in session.subLayerPaths if i.endswith(FRAME_LAYER_TAG)), None)
        if layer is None:
            layer = Sdf.Layer.CreateAnonymous(FRAME_LAYER_TAG)
            session.subLayerPaths.insert(0, layer.identifier)
        _frame_layers[session.identifier] = layer
    return layer


def clear_frame(stage: Usd.Stage) -> None:
    """Remove every opinion wearforge authored for a frame (and nothing else of the session layer)."""
    frame_layer(stage).Clear()


def release_frame_layer(stage: Usd.Stage) -> None:
    """Clear the frame layer and take it out of the session layer (the stage is as before the first frame)."""
    session = stage.GetSessionLayer()
    layer = _frame_layers.pop(session.identifier, None)
    for identifier in [i for i in session.subLayerPaths if i.endswith(FRAME_LAYER_TAG)]:
        session.subLayerPaths.remove(identifier)
    if layer is not None:
        layer.Clear()


def apply_frame(stage: Usd.Stage, spec: FrameSpec) -> Sdf.Layer:
    """Apply ``spec`` on wearforge's frame layer (cleared first, see ``frame_layer``); returns that layer."""
    layer = frame_layer(stage)
    layer.Clear()
    with Usd.EditContext(stage, layer):
        UsdGeom.Scope.Define(stage, WEARFORGE_ROOT)
        for part in spec.parts:
            _apply_part(stage, part)
        for light in spec.lights:
            _apply_light(stage, light, spec)
        _apply_camera(stage, spec.camera, spec.render.resolution)
        _apply_background(stage, spec)
    return layer


def hidden_backgrounds(stage: Usd.Stage, spec: FrameSpec) -> list[str]:
    """What a frame's background leaves out: the other backgrounds (the siblings of its background under the
    Backgrounds scope) and the twin prims it hides."""
    if spec.background is None:
        return []
    prim = stage.GetPrimAtPath(spec.background)
    if not prim:
        raise InputError(f"background {spec.background} is not in the stage", source="FrameSpec", field="background")
    for path in spec.hidden:
        if not stage.GetPrimAtPath(path):
            raise InputError(f"prim {path} is not in the stage", source="FrameSpec", field="hidden")
    return [str(c.GetPath()) for c in prim.GetParent().GetChildren() if c.GetPath() != prim.GetPath()] + \
        list(spec.hidden)


def _apply_background(stage: Usd.Stage, spec: FrameSpec) -> None:
    """Show the frame's background and hide the others: every background stays loaded for the run, so
    the renderers keep one scene and only a visibility changes between frames."""
    for path in hidden_backgrounds(stage, spec):
        UsdGeom.Imageable(stage.GetPrimAtPath(path)).CreateVisibilityAttr(UsdGeom.Tokens.invisible)
    if spec.background is not None:
        UsdGeom.Imageable(stage.GetPrimAtPath(spec.background)).CreateVisibilityAttr(UsdGeom.Tokens.inherited)


def _apply_part(stage: Usd.Stage, part: PartSpec) -> None:
    prim = stage.GetPrimAtPath(part.path)
    if not prim:
        raise InputError(f"part {part.path} is not in the stage", source="FrameSpec", field="parts")
    pose = part.pose
    if any(v is not None for v in (pose.position, pose.rotation, pose.scale)):
        local = gf_to_np(UsdGeom.Xformable(prim).GetLocalTransformation())
        t, r, s = matrix_to_trs(local)
        set_trs(prim, pose.position or t, pose.rotation or r, pose.scale or s)
    img = UsdGeom.Imageable(prim)
    img.CreateVisibilityAttr(UsdGeom.Tokens.inherited if part.visible else UsdGeom.Tokens.invisible)
    label_part(prim, part.semantic_class)
    inputs = part.material.inputs()
    if inputs:
        shaders = preview_surfaces(prim) or bind_preview_surface(stage, prim, part.path)
        for shader in shaders:
            for name, value in inputs.items():
                typ = Sdf.ValueTypeNames.Color3f if name == "diffuseColor" else Sdf.ValueTypeNames.Float
                shader.CreateInput(name, typ).Set(Gf.Vec3f(*value) if name == "diffuseColor" else float(value))
    _apply_physics(stage, prim, part)


_warned_unbound: set[str] = set()


def bind_preview_surface(stage: Usd.Stage, prim: Usd.Prim, part_path: str) -> list[UsdShade.Shader]:
    """A UsdPreviewSurface of wearforge's own, bound to a part none of whose meshes has a material, so the
    recipe's material randomizer applies to bare CAD geometry too (it sets UsdPreviewSurface inputs).

    Meshes with a material of another kind (MDL only, MaterialX) are left as they are, with one warning per
    part: their look cannot be set through UsdPreviewSurface inputs. Authors on the stage's edit target.
    """
    gprims = [p for p in Usd.PrimRange(prim) if p.IsA(UsdGeom.Gprim)]
    bound = [p for p in gprims if UsdShade.MaterialBindingAPI(p).ComputeBoundMaterial()[0]]
    if bound or not gprims or prim.IsInstanceProxy():
        if part_path not in _warned_unbound:
            _warned_unbound.add(part_path)
            why = ("an instance proxy" if prim.IsInstanceProxy() else
                   f"bound to {len(bound)} material(s) without a UsdPreviewSurface" if bound else "without meshes")
            log.warning("part %s: the material randomizer cannot set its look (%s)", part_path, why)
        return []
    name = Sdf.Path(part_path).MakeRelativePath(Sdf.Path.absoluteRootPath).pathString.replace("/", "__")
    material = UsdShade.Material.Define(stage, f"{WEARFORGE_ROOT}/Looks/{name}")
    shader = UsdShade.Shader.Define(stage, f"{WEARFORGE_ROOT}/Looks/{name}/PreviewSurface")
    shader.CreateIdAttr("UsdPreviewSurface")
    material.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    UsdShade.MaterialBindingAPI.Apply(prim).Bind(material)
    return [shader]


def label_part(prim: Usd.Prim, semantic: str) -> None:
    """Author the part's class (the recipe's, from the FrameSpec) where USD semantics lack or differ from it,
    so Replicator's annotators in Kit label unlabelled CAD twins as the standalone renderer does."""
    if semantic_class(prim) != semantic:
        set_semantic_class(prim, semantic)


def set_trs(prim: Usd.Prim, t, r, s) -> None:
    """Author translate / rotateXYZ / scale as the prim's whole xformOpOrder."""
    xf = UsdGeom.Xformable(prim)
    xf.ClearXformOpOrder()
    xf.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble).Set(Gf.Vec3d(*t))
    xf.AddRotateXYZOp(UsdGeom.XformOp.PrecisionFloat).Set(Gf.Vec3f(*r))
    xf.AddScaleOp(UsdGeom.XformOp.PrecisionFloat).Set(Gf.Vec3f(*s))


def set_matrix(prim: Usd.Prim, m: np.ndarray) -> None:
    t, r, s = matrix_to_trs(m)
    set_trs(prim, t, r, s)


def preview_surfaces(prim: Usd.Prim) -> list[UsdShade.Shader]:
    """UsdPreviewSurface shaders of the materials bound to ``prim`` and its descendants."""
    found: dict[str, UsdShade.Shader] = {}
    for p in Usd.PrimRange(prim):
        if not p.IsA(UsdGeom.Gprim):
            continue
        material, _ = UsdShade.MaterialBindingAPI(p).ComputeBoundMaterial()
        if not material:
            continue
        for child in Usd.PrimRange(material.GetPrim()):
            shader = UsdShade.Shader(child)
            if shader and shader.GetIdAttr().Get() == "UsdPreviewSurface":
                found[str(child.GetPath())] = shader
    return list(found.values())


def _apply_physics(stage: Usd.Stage, prim: Usd.Prim, part: PartSpec) -> None:
    phys = part.physics
    if phys.mass is not None or phys.density is not None:
        mass = UsdPhysics.MassAPI.Apply(prim)
        if phys.mass is not None:
            mass.CreateMassAttr(float(phys.mass))
        if phys.density is not None:
            mass.CreateMassAttr(0.0)  # 0 = unset; PhysX then derives mass from density
            mass.CreateDensityAttr(float(phys.density))
    values = (phys.static_friction, phys.dynamic_friction, phys.restitution)
    if any(v is not None for v in values):
        # A per-part physics material, so parts that shared one in the twin vary independently.
        path = f"{WEARFORGE_ROOT}/PhysicsMaterials/{Sdf.Path(part.path).MakeRelativePath(Sdf.Path.absoluteRootPath).pathString.replace('/', '__')}"
        mat = UsdShade.Material.Define(stage, path)
        api = UsdPhysics.MaterialAPI.Apply(mat.GetPrim())
        if phys.static_friction is not None:
            api.CreateStaticFrictionAttr(float(phys.static_friction))
        if phys.dynamic_friction is not None:
            api.CreateDynamicFrictionAttr(float(phys.dynamic_friction))
        if phys.restitution is not None:
            api.CreateRestitutionAttr(float(phys.restitution))
        for p in Usd.PrimRange(prim):
            if p.HasAPI(UsdPhysics.CollisionAPI):
                UsdShade.MaterialBindingAPI.Apply(p).Bind(
                    mat, UsdShade.Tokens.strongerThanDescendants, "physics")


def _apply_light(stage: Usd.Stage, spec: LightSpec, frame: FrameSpec) -> None:
    if spec.create:
        light = LIGHT_TYPES[spec.create].Define(stage, spec.path)
        prim = light.GetPrim()
    else:
        prim = stage.GetPrimAtPath(spec.path)
        if not prim:
            raise InputError(f"light {spec.path} is not in the stage", source="FrameSpec", field="lights")
    lux = UsdLux.LightAPI(prim)
    if spec.intensity is not None:
        lux.CreateIntensityAttr(float(spec.intensity))
    if spec.exposure is not None:
        lux.CreateExposureAttr(float(spec.exposure))
    if spec.color is not None:
        lux.CreateColorAttr(Gf.Vec3f(*spec.color))
    if spec.color_temperature is not None:
        lux.CreateEnableColorTemperatureAttr(True)
        lux.CreateColorTemperatureAttr(float(spec.color_temperature))
    for attr, value in (("inputs:radius", spec.radius), ("inputs:width", spec.width),
                        ("inputs:height", spec.height), ("inputs:angle", spec.angle)):
        if value is not None and prim.GetAttribute(attr):
            prim.GetAttribute(attr).Set(float(value))
    if spec.texture is not None and prim.IsA(UsdLux.DomeLight):
        UsdLux.DomeLight(prim).CreateTextureFileAttr(Sdf.AssetPath(spec.texture))
    if spec.position is not None:
        up = up_vector(stage)
        if spec.look_at is not None:
            m = look_at_matrix(np.array(spec.position), np.array(spec.look_at), up)
        else:
            m = world_matrix(prim)
            m[:3, 3] = spec.position
        set_world_matrix(prim, m)


def set_world_matrix(prim: Usd.Prim, world: np.ndarray) -> None:
    """Author a local transform that gives ``prim`` this world matrix under its current parent."""
    parent = prim.GetParent()
    parent_world = world_matrix(parent) if parent and parent.IsA(UsdGeom.Xformable) else np.eye(4)
    set_matrix(prim, np.linalg.inv(parent_world) @ world)


def _apply_camera(stage: Usd.Stage, spec: CameraSpec, resolution: list[int]) -> None:
    cam = UsdGeom.Camera.Define(stage, spec.path) if spec.create else UsdGeom.Camera(stage.GetPrimAtPath(spec.path))
    cam.CreateProjectionAttr(UsdGeom.Tokens.perspective)
    cam.CreateFocalLengthAttr(float(spec.focal_length))
    cam.CreateHorizontalApertureAttr(float(spec.horizontal_aperture))
    # square pixels: the vertical aperture follows the output aspect ratio
    cam.CreateVerticalApertureAttr(float(spec.horizontal_aperture * resolution[1] / resolution[0]))
    cam.CreateClippingRangeAttr(Gf.Vec2f(*spec.clipping))
    cam.CreateFStopAttr(float(spec.f_stop))
    cam.CreateFocusDistanceAttr(float(spec.focus_distance))
    m = look_at_matrix(np.array(spec.position), np.array(spec.look_at), np.array(spec.up), spec.roll)
    set_world_matrix(cam.GetPrim(), m)
