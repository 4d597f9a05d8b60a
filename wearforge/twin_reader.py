"""Read what a renderer needs from a composed USD stage into plain NumPy data; both homes use it.

Geometry (triangulated, local space) is read once per twin; transforms, visibility, material values,
lights and the camera are read per frame, after the FrameSpec was applied on the session layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


import numpy as np
from pxr import Gf, Usd, UsdGeom, UsdLux, UsdShade

from wearforge.color import blackbody_rgb
from wearforge.meshgen import triangulate
from wearforge.semantics import labelled_ancestor, semantic_class
from wearforge.transforms import gf_to_np


@dataclass
class MeshGeometry:
    """A triangulated gprim in its local space. ``uvs`` are USD st (t up)."""

    key: str
    prim_path: str
    label_path: str | None
    semantic_class: str | None
    points: np.ndarray  # (N, 3) float32
    faces: np.ndarray  # (T, 3) uint32
    normals: np.ndarray | None  # (N, 3) float32
    uvs: np.ndarray | None  # (N, 2) float32


@dataclass(frozen=True)
class Texture:
    path: str
    channel: str  # rgb, r, g, b or a
    srgb: bool


@dataclass
class MaterialState:
    """UsdPreviewSurface values (metallic workflow) with optional textures per input."""

    base_color: tuple = (0.18, 0.18, 0.18)
    metallic: float = 0.0
    roughness: float = 0.5
    ior: float = 1.5
    clearcoat: float = 0.0
    clearcoat_roughness: float = 0.01
    opacity: float = 1.0
    emissive: tuple = (0.0, 0.0, 0.0)
    textures: dict[str, Texture] = field(default_factory=dict)


@dataclass
class LightState:
    key: str
    path: str
    type: str  # distant, sphere, rect, disk, dome
    matrix: np.ndarray  # local-to-world (column vectors)
    radiance: tuple  # linear RGB: intensity * 2^exposure * color * blackbody (area-normalized if asked)
    radius: float = 0.5
    width: float = 1.0
    height: float = 1.0
    angle: float = 0.53
    texture: str | None = None
    z_up: bool = False  # stage up axis: lat-long images have their pole along it


@dataclass
class CameraState:
    path: str
    matrix: np.ndarray  # camera-to-world, USD convention (-Z forward, +Y up)
    focal_length: float  # mm
    horizontal_aperture: float  # mm
    vertical_aperture: float
    near: float
    far: float
    f_stop: float
    focus_distance: float
    meters_per_unit: float

    @property
    def fov_x_degrees(self) -> float:
        return float(np.degrees(2.0 * np.arctan(self.horizontal_aperture / (2.0 * self.focal_length))))

    @property
    def aperture_radius(self) -> float:
        """Thin-lens aperture radius in world units (lens values are millimetres, Omniverse convention)."""
        if self.f_stop <= 0 or self.focus_distance <= 0:
            return 0.0
        return (self.focal_length / self.f_stop / 2.0) * 1e-3 / self.meters_per_unit


@dataclass
class FrameState:
    matrices: list[np.ndarray]
    visible: list[bool]
    materials: list[MaterialState]
    lights: list[LightState]
    camera: CameraState


# ------------------------------------------------------------------------------------ geometry
def _renderable(prim: Usd.Prim) -> bool:
    if not prim.IsA(UsdGeom.Gprim):
        return False
    purpose = UsdGeom.Imageable(prim).ComputePurpose()
    return purpose in (UsdGeom.Tokens.default_, UsdGeom.Tokens.render)


def read_geometry(stage: Usd.Stage) -> list[MeshGeometry]:
    """Every renderable Mesh/Cube/Sphere, triangulated with per-vertex normals and st."""
    out = []
    for prim in stage.Traverse():
        if not _renderable(prim) or prim.IsA(UsdLux.BoundableLightBase):
            continue
        geo = read_gprim(prim)
        if geo is None:
            continue
        points, faces, normals, uvs = geo
        label = labelled_ancestor(prim)
        out.append(MeshGeometry(
            key=f"mesh_{len(out):04d}", prim_path=str(prim.GetPath()),
            label_path=str(label.GetPath()) if label else None,
            semantic_class=semantic_class(label) if label else None,
            points=points.astype(np.float32), faces=faces.astype(np.uint32),
            normals=None if normals is None else normals.astype(np.float32),
            uvs=None if uvs is None else uvs.astype(np.float32)))
    return out


def read_gprim(prim: Usd.Prim):
    if prim.IsA(UsdGeom.Mesh):
        return _read_mesh(UsdGeom.Mesh(prim))
    if prim.IsA(UsdGeom.Cube):
        from wearforge import meshgen as mg

        size = UsdGeom.Cube(prim).GetSizeAttr().Get() or 2.0
        data = mg.build_mesh(mg.box((0, 0, 0), (size, size, size)))
        return data.points, data.triangles(), data.normals, data.uvs
    if prim.IsA(UsdGeom.Sphere):
        return _uv_sphere(UsdGeom.Sphere(prim).GetRadiusAttr().Get() or 1.0)
    return None  # other gprims (curves, points, capsules...) are not rendered standalone


def _uv_sphere(radius: float, nu: int = 64, nv: int = 32):
    u = np.linspace(0, 1, nu + 1)
    v = np.linspace(0, 1, nv + 1)
    U, V = np.meshgrid(u, v, indexing="ij")
    theta, phi = U * 2 * np.pi, V * np.pi
    n = np.stack([np.sin(phi) * np.cos(theta), np.sin(phi) * np.sin(theta), -np.cos(phi)], -1).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
    b = (i * (nv + 1) + j).ravel()
    faces = np.concatenate([np.stack([b, b + nv + 1, b + nv + 2], -1), np.stack([b, b + nv + 2, b + 1], -1)])
    return n * radius, faces, n, np.stack([U, V], -1).reshape(-1, 2)


def _read_mesh(mesh: UsdGeom.Mesh):
    points = mesh.GetPointsAttr().Get()
    counts = mesh.GetFaceVertexCountsAttr().Get()
    indices = mesh.GetFaceVertexIndicesAttr().Get()
    if not points or not counts or not indices:
        return None
    points = np.asarray(points, np.float64)
    counts = np.asarray(counts, np.int64)
    indices = np.asarray(indices, np.int64)
    if np.any(counts < 3):
        keep = np.repeat(counts >= 3, counts)
        indices, counts = indices[keep], counts[counts >= 3]
    normals, n_interp = _normals(mesh)
    uvs, uv_interp = _primvar(mesh, "st")
    face_varying = "faceVarying" in (n_interp, uv_interp) or "uniform" in (n_interp, uv_interp)
    left_handed = mesh.GetOrientationAttr().Get() == UsdGeom.Tokens.leftHanded
    if not face_varying:
        faces = triangulate(counts, indices)
        return points, faces[:, ::-1] if left_handed else faces, normals, uvs
    # Face-varying data: unshare vertices so every face corner keeps its own normal and st.
    corner = np.arange(len(indices))
    face_of_corner = np.repeat(np.arange(len(counts)), counts)
    pts = points[indices]

    def expand(values, interp):
        if values is None:
            return None
        if interp == "faceVarying":
            return values
        if interp == "uniform":
            return values[face_of_corner]
        return values[indices]

    faces = triangulate(counts, corner)
    return pts, faces[:, ::-1] if left_handed else faces, expand(normals, n_interp), expand(uvs, uv_interp)


def _primvar(mesh: UsdGeom.Mesh, name: str):
    pv = UsdGeom.PrimvarsAPI(mesh).GetPrimvar(name)
    if not pv or not pv.HasValue():
        return None, None
    values = pv.ComputeFlattened()
    if values is None:
        return None, None
    return np.asarray(values, np.float64), pv.GetInterpolation()


def _normals(mesh: UsdGeom.Mesh):
    pv = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("normals")
    if pv and pv.HasValue():
        return np.asarray(pv.ComputeFlattened(), np.float64), pv.GetInterpolation()
    attr = mesh.GetNormalsAttr()
    if attr.HasValue():
        return np.asarray(attr.Get(), np.float64), mesh.GetNormalsInterpolation()
    return None, None


# ----------------------------------------------------------------------------------- per frame
def read_frame_state(stage: Usd.Stage, meshes: list[MeshGeometry], camera_path: str) -> FrameState:
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    matrices, visible, materials = [], [], []
    for m in meshes:
        prim = stage.GetPrimAtPath(m.prim_path)
        matrices.append(gf_to_np(cache.GetLocalToWorldTransform(prim)))
        visible.append(UsdGeom.Imageable(prim).ComputeVisibility() != UsdGeom.Tokens.invisible)
        materials.append(read_material(prim))
    lights = [read_light(p, cache, i) for i, p in enumerate(_lights(stage))]
    return FrameState(matrices, visible, materials, lights, read_camera(stage, camera_path, cache))


def _lights(stage: Usd.Stage) -> list[Usd.Prim]:
    out = []
    for prim in stage.Traverse():
        if (prim.IsA(UsdLux.DistantLight) or prim.IsA(UsdLux.SphereLight) or prim.IsA(UsdLux.RectLight)
                or prim.IsA(UsdLux.DiskLight) or prim.IsA(UsdLux.DomeLight)):
            if UsdGeom.Imageable(prim).ComputeVisibility() != UsdGeom.Tokens.invisible:
                out.append(prim)
    return out


def _input_value(shader: UsdShade.Shader, name: str, default):
    inp = shader.GetInput(name)
    if not inp:
        return default, None
    source = inp.GetConnectedSource()
    if source:
        src_shader = UsdShade.Shader(source[0].GetPrim())
        if src_shader and src_shader.GetIdAttr().Get() == "UsdUVTexture":
            file_input = src_shader.GetInput("file")
            asset = file_input.Get() if file_input else None
            path = asset.resolvedPath if asset is not None else ""
            if path:
                space = src_shader.GetInput("sourceColorSpace")
                space = space.Get() if space else "auto"
                srgb = space == "sRGB" or (space in (None, "auto") and name in ("diffuseColor", "emissiveColor"))
                return default, Texture(path, str(source[1]), bool(srgb))
        value = inp.Get()
    else:
        value = inp.Get()
    return (default if value is None else value), None


def read_material(prim: Usd.Prim) -> MaterialState:
    """The bound UsdPreviewSurface's values (or displayColor when nothing is bound)."""
    state = MaterialState()
    material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
    shader = None
    if material:
        out = material.ComputeSurfaceSource()
        if out and out[0] and out[0].GetIdAttr().Get() == "UsdPreviewSurface":
            shader = out[0]
    if shader is None:
        color = UsdGeom.Gprim(prim).GetDisplayColorAttr().Get()
        if color:
            state.base_color = tuple(float(c) for c in color[0])
        return state
    fields = [("diffuseColor", "base_color"), ("metallic", "metallic"), ("roughness", "roughness"),
              ("ior", "ior"), ("clearcoat", "clearcoat"), ("clearcoatRoughness", "clearcoat_roughness"),
              ("opacity", "opacity"), ("emissiveColor", "emissive")]
    for usd_name, attr in fields:
        value, tex = _input_value(shader, usd_name, getattr(state, attr))
        if isinstance(value, (Gf.Vec3f, Gf.Vec3d, tuple, list)):
            value = tuple(float(v) for v in value)
        else:
            value = float(value)
        setattr(state, attr, value)
        if tex is not None:
            state.textures[attr] = tex
    return state


def read_light(prim: Usd.Prim, cache: UsdGeom.XformCache, index: int) -> LightState:
    lux = UsdLux.LightAPI(prim)
    intensity = lux.GetIntensityAttr().Get() or 0.0
    exposure = lux.GetExposureAttr().Get() or 0.0
    color = np.asarray(lux.GetColorAttr().Get() or (1.0, 1.0, 1.0), float)
    if lux.GetEnableColorTemperatureAttr().Get():
        color = color * np.asarray(blackbody_rgb(round(float(lux.GetColorTemperatureAttr().Get() or 6500.0), 1)))
    radiance = color * intensity * 2.0 ** exposure
    matrix = gf_to_np(cache.GetLocalToWorldTransform(prim))
    scale = np.linalg.norm(matrix[:3, :3], axis=0)
    state = LightState(key=f"light_{index:03d}", path=str(prim.GetPath()), type="", matrix=matrix,
                       radiance=tuple(radiance))
    area = 1.0
    if prim.IsA(UsdLux.SphereLight):
        state.type, state.radius = "sphere", float(UsdLux.SphereLight(prim).GetRadiusAttr().Get() or 0.5)
        area = 4 * np.pi * (state.radius * scale.max()) ** 2
    elif prim.IsA(UsdLux.RectLight):
        light = UsdLux.RectLight(prim)
        state.type, state.width, state.height = "rect", float(light.GetWidthAttr().Get()), float(light.GetHeightAttr().Get())
        area = state.width * scale[0] * state.height * scale[1]
    elif prim.IsA(UsdLux.DiskLight):
        state.type, state.radius = "disk", float(UsdLux.DiskLight(prim).GetRadiusAttr().Get() or 0.5)
        area = np.pi * (state.radius * scale[0]) ** 2
    elif prim.IsA(UsdLux.DistantLight):
        state.type, state.angle = "distant", float(UsdLux.DistantLight(prim).GetAngleAttr().Get() or 0.53)
    else:
        state.type = "dome"
        tex = UsdLux.DomeLight(prim).GetTextureFileAttr().Get()
        state.texture = (tex.resolvedPath or tex.path or None) if tex is not None else None
        state.z_up = UsdGeom.GetStageUpAxis(prim.GetStage()) == UsdGeom.Tokens.z
    if state.type in ("sphere", "rect", "disk") and lux.GetNormalizeAttr().Get():
        state.radiance = tuple(np.asarray(state.radiance) / max(area, 1e-12))
    return state


def read_camera(stage: Usd.Stage, path: str, cache: UsdGeom.XformCache) -> CameraState:
    cam = UsdGeom.Camera(stage.GetPrimAtPath(path))
    near, far = cam.GetClippingRangeAttr().Get() or Gf.Vec2f(0.01, 1000.0)
    return CameraState(
        path=path, matrix=gf_to_np(cache.GetLocalToWorldTransform(cam.GetPrim())),
        focal_length=float(cam.GetFocalLengthAttr().Get()),
        horizontal_aperture=float(cam.GetHorizontalApertureAttr().Get()),
        vertical_aperture=float(cam.GetVerticalApertureAttr().Get()),
        near=float(near), far=float(far),
        f_stop=float(cam.GetFStopAttr().Get() or 0.0), focus_distance=float(cam.GetFocusDistanceAttr().Get() or 0.0),
        meters_per_unit=float(UsdGeom.GetStageMetersPerUnit(stage)))


def gf_camera(stage: Usd.Stage, path: str) -> Gf.Camera:
    return UsdGeom.Camera(stage.GetPrimAtPath(path)).GetCamera(Usd.TimeCode.Default())



