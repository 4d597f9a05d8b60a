"""The USD side: open a twin, find its parts and labels, apply a FrameSpec on the session layer.

Only pxr APIs present in both usd-core and Kit's USD are used. The user's layers are never edited:
every change goes to the stage's session layer, which is cleared and rewritten for each frame.
Matrices in this module are NumPy 4x4 in column-vector convention (p' = M @ p); USD's Gf matrices
are row-vector, hence the transposes at the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, UsdPhysics, UsdShade

from wearforge.errors import InputError
from wearforge.framespec import CameraSpec, FrameSpec, LightSpec, PartSpec
from wearforge.recipe import Recipe, matches, path_match, resolve_usd
from wearforge.semantics import semantic_class
from wearforge.twin_reader import read_gprim
from wearforge.transforms import gf_to_np, look_at_matrix, matrix_to_trs, up_vector, world_matrix

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


def open_stage(path: str | Path) -> Usd.Stage:
    """Open a twin; problems become an InputError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("USD file not found", source=str(path))
    try:
        stage = Usd.Stage.Open(str(path), load=Usd.Stage.LoadAll)
    except Exception as exc:  # pxr raises Tf.ErrorException with a long C++ trace
        text = str(exc).strip()
        # keep USD's own words ('Failed to open layer ...'), not the C++ function and source line
        quoted = [q for q in text.split("'")[1::2] if " " in q]
        first = quoted[-1] if quoted else (text.splitlines()[-1] if text else type(exc).__name__)
        raise InputError(f"cannot open as USD: {first[:200]}", source=str(path)) from None
    if stage is None:
        raise InputError("cannot open as USD", source=str(path))
    return stage


DISTRACTOR_SCOPE = "Distractors"


def distractor_paths(recipe: Recipe, stage: Usd.Stage) -> list[list[str]]:
    """Prim paths of every distractor instance, per group, under <defaultPrim>/Distractors."""
    root = stage.GetDefaultPrim().GetPath() if stage.GetDefaultPrim() else Sdf.Path("/World")
    out = []
    for g, group in enumerate(recipe.scene.distractors):
        stem = Path(resolve_usd(group.asset, recipe.base_dir)).stem.title().replace("_", "")
        out.append([str(root.AppendPath(f"{DISTRACTOR_SCOPE}/{stem}_{g}_{k}")) for k in range(group.max_count)])
    return out


def open_twin(recipe: Recipe) -> Usd.Stage:
    """The twin as the recipe sees it: the user's file, plus distractor instances composed from an
    in-memory layer when the recipe has any (the user's file is never edited)."""
    stage = open_stage(recipe.usd_path())
    if not recipe.scene.distractors:
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
        for group, paths in zip(recipe.scene.distractors, distractor_paths(recipe, composed)):
            asset = str(resolve_usd(group.asset, recipe.base_dir))
            for path in paths:
                prim = UsdGeom.Xform.Define(composed, path).GetPrim()
                prim.GetReferences().AddReference(asset)
                if group.semantic_class:
                    from wearforge.semantics import set_semantic_class

                    set_semantic_class(prim, group.semantic_class)
    return composed


def _light_type(prim: Usd.Prim) -> str | None:
    for name, schema in LIGHT_TYPES.items():
        if prim.IsA(schema):
            return name
    return None


def read_scene(recipe: Recipe, stage: Usd.Stage | None = None) -> SceneInfo:
    """Resolve the recipe's selectors against the twin; unknown prims raise InputError."""
    src = f"recipe '{recipe.name}'"
    stage = stage or open_twin(recipe)
    support = recipe.scene.support
    if support and not stage.GetPrimAtPath(support):
        raise InputError(f"prim {support!r} is not in {recipe.usd_path().name}", source=src, field="scene.support")
    labelled = [p for p in stage.Traverse() if semantic_class(p) is not None]
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
        for prim in labelled:
            path = str(prim.GetPath())
            if path != support and not any(path.startswith(c + "/") for c in chosen):
                chosen[path] = semantic_class(prim)
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
        if not prim.IsA(UsdGeom.Xformable):
            raise InputError(f"{path} is not transformable (UsdGeom.Xformable)", source=src, field="scene.parts")
        local = gf_to_np(UsdGeom.Xformable(prim).GetLocalTransformation())
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
    bounds, surfaces = {}, {}
    scatters = [(i, e.scatter) for i, e in enumerate(recipe.randomizers.poses) if e.scatter is not None]
    if scatters:
        if UsdGeom.GetStageUpAxis(stage) != UsdGeom.Tokens.z:
            raise InputError("scatter needs a Z-up stage", source=src, field=f"randomizers.poses.{scatters[0][0]}.scatter")
        cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
        for part in parts:
            rng = cache.ComputeUntransformedBound(stage.GetPrimAtPath(part.path)).ComputeAlignedRange()
            bounds[part.path] = (tuple(rng.GetMin()), tuple(rng.GetMax()))
        for i, cfg in scatters:
            if cfg.surface not in surfaces:
                surfaces[cfg.surface] = _support_field(stage, cfg.surface, [p.path for p in parts], src,
                                                       f"randomizers.poses.{i}.scatter.surface")
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
    )


def _support_field(stage: Usd.Stage, path: str, movable: list[str], src: str, field: str):
    """Height field over the support's extent, of every fixed mesh (the support and what stands on it)."""
    from wearforge.randomizers.scatter import height_field

    prim = stage.GetPrimAtPath(path)
    if not prim:
        raise InputError(f"no prim {path!r} in {stage.GetRootLayer().identifier}", source=src, field=field)
    support = _world_triangles(stage, [p for p in Usd.PrimRange(prim)])
    if support is None:
        raise InputError(f"{path} has no meshes to scatter on", source=src, field=field)
    fixed = [p for p in stage.Traverse()
             if not any(str(p.GetPath()).startswith(m + "/") or str(p.GetPath()) == m for m in movable)]
    points, tris = _world_triangles(stage, fixed)
    lo, hi = support[0].min(axis=0), support[0].max(axis=0)
    bounds = (lo[0], lo[1], hi[0], hi[1])
    everything = height_field(points, tris, bounds=bounds)
    own = height_field(*support, bounds=bounds)
    # only where the support itself is the topmost surface (not the table around a rotated bin)
    mask = np.isclose(everything.z, own.z, atol=1e-6)
    return type(everything)(everything.x0, everything.y0, everything.step, np.where(mask, everything.z, np.nan))


def _world_triangles(stage: Usd.Stage, prims: list[Usd.Prim]):
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
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
def apply_frame(stage: Usd.Stage, spec: FrameSpec) -> Sdf.Layer:
    """Apply ``spec`` on the stage's session layer (cleared first); returns that layer."""
    layer = stage.GetSessionLayer()
    layer.Clear()
    with Usd.EditContext(stage, layer):
        UsdGeom.Scope.Define(stage, WEARFORGE_ROOT)
        for part in spec.parts:
            _apply_part(stage, part)
        for light in spec.lights:
            _apply_light(stage, light, spec)
        _apply_camera(stage, spec.camera, spec.render.resolution)
    return layer


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
    inputs = part.material.inputs()
    if inputs:
        for shader in preview_surfaces(prim):
            for name, value in inputs.items():
                typ = Sdf.ValueTypeNames.Color3f if name == "diffuseColor" else Sdf.ValueTypeNames.Float
                shader.CreateInput(name, typ).Set(Gf.Vec3f(*value) if name == "diffuseColor" else float(value))
    _apply_physics(stage, prim, part)


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
