"""Read what a renderer needs from a composed USD stage into plain NumPy data; both homes use it.

Geometry (triangulated, local space) is read once per twin; transforms, visibility, material values,
lights and the camera are read per frame, after the FrameSpec was applied on the session layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, UsdShade

from wearforge.color import blackbody_rgb
from wearforge.meshgen import triangulate
from wearforge.semantics import semantic_class
# materials live in twin_materials; re-exported here, where both homes and the backend import them from
from wearforge.twin_materials import TEXTURE_SUFFIXES, MaterialState, Texture, read_material, surface_shader  # noqa: F401
from wearforge.transforms import gf_to_np
from wearforge.usd_notes import warn_once

# A twin is a still scene: geometry and transforms are read at the earliest time, which gives the default
# value, or the first sample where an export wrote time samples only (common for DCC exports).
TIME = Usd.TimeCode.EarliestTime()


@dataclass
class MeshGeometry:
    """A triangulated gprim (or one GeomSubset of it, or one point-instancer instance) in its local space.

    ``uvs`` are USD st (t up). ``label_path`` is the labelled object the mesh is part of (one instance id
    per label path); ``part_path`` the scene part it belongs to (wear, poses and the FrameSpec address it).
    """

    key: str
    prim_path: str
    label_path: str | None
    semantic_class: str | None
    points: np.ndarray  # (N, 3) float32
    faces: np.ndarray  # (T, 3) uint32
    normals: np.ndarray | None  # (N, 3) float32
    uvs: np.ndarray | None  # (N, 2) float32
    part_path: str | None = None
    material_path: str = ""  # the prim whose bound material shades it (the gprim or its GeomSubset)
    instancer: tuple[str, int] | None = None  # (PointInstancer path, instance index)
    source: str = ""  # geometry identity: meshes with the same source have the same local geometry
    colors: np.ndarray | None = None  # (N, 3) float32 displayColor per vertex, when it varies
    chain: tuple = ()  # (label path, prim path or None, USD class) from the gprim up: labels resolve on it

    def __post_init__(self):
        self.material_path = self.material_path or self.prim_path
        self.source = self.source or self.material_path


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
    if not prim.IsA(UsdGeom.Gprim) or prim.IsA(UsdLux.BoundableLightBase):
        return False
    purpose = UsdGeom.Imageable(prim).ComputePurpose()
    return purpose in (UsdGeom.Tokens.default_, UsdGeom.Tokens.render)


def drawn_prims(stage: Usd.Stage, root: Usd.Prim | None = None):
    """Prims Hydra would draw or expand: instance proxies included, a PointInstancer's subtree left out
    (its prototypes are drawn only as its instances); abstract and undefined (over) prims skipped."""
    predicate = Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)
    rng = Usd.PrimRange(root, predicate) if root is not None else Usd.PrimRange.Stage(stage, predicate)
    it = iter(rng)
    for prim in it:
        if prim.IsA(UsdGeom.PointInstancer) and (root is None or prim != root):
            it.PruneChildren()
        yield prim


def instance_label(instancer: str, index: int) -> str:
    """The label path of one point-instancer instance (not a prim: instances have no prims)."""
    return f"{instancer}/instance_{index}"


def _chain(prim: Usd.Prim, stop: Usd.Prim | None = None, label_of=None) -> list[tuple]:
    """(label path, part candidate or None, USD class) from ``prim`` up to ``stop`` (exclusive)."""
    out = []
    while prim and prim.GetPath() != Sdf.Path.absoluteRootPath and prim != stop:
        path = str(prim.GetPath())
        label = label_of(prim) if label_of else path
        out.append((label, None if (prim.IsInstanceProxy() or label_of) else path, semantic_class(prim)))
        prim = prim.GetParent()
    return out


def read_geometry(stage: Usd.Stage, parts: Mapping[str, str] | None = None,
                  notes: dict[str, list[str]] | None = None) -> list[MeshGeometry]:
    """Every renderable Mesh/Cube/Sphere, triangulated with per-vertex normals and st.

    Instance proxies are read like other prims; each PointInstancer instance gets its own meshes.
    A mesh with material-bound GeomSubsets is split into one mesh per subset. ``parts`` (part path ->
    class, e.g. a FrameSpec's parts) says which prims are parts and overrides their USD labels; without
    it, parts and labels come from USD semantics alone (see assign_parts).
    """
    out: list[MeshGeometry] = []
    cache: dict[str, list] = {}
    for prim in drawn_prims(stage):
        if prim.IsA(UsdGeom.PointInstancer):
            _expand_instancer(stage, prim, cache, out, notes)
            continue
        if not _renderable(prim):
            continue
        chain = tuple(_chain(prim))
        for piece in _pieces(prim, cache, notes):
            out.append(replace(piece, key=f"mesh_{len(out):04d}", chain=chain))
    assign_parts(out, parts)
    return out


def _pieces(prim: Usd.Prim, cache: dict, notes) -> list[MeshGeometry]:
    """The gprim's meshes (one per material-bound subset), read once per prototype prim."""
    source = str(prim.GetPrimInPrototype().GetPath()) if prim.IsInstanceProxy() else str(prim.GetPath())
    if source not in cache:
        cache[source] = _read_pieces(prim, source, notes)
    path = str(prim.GetPath())
    # pieces are stored relative to the source: each instance gets its own prim and subset paths
    return [replace(piece, prim_path=path, material_path=path + piece.material_path[len(source):])
            for piece in cache[source]]


def _read_pieces(prim: Usd.Prim, source: str, notes) -> list[MeshGeometry]:
    path = str(prim.GetPath())
    if prim.IsA(UsdGeom.Mesh):
        data = _read_mesh(UsdGeom.Mesh(prim), path, notes)
    else:
        geo = read_gprim(prim)
        data = None if geo is None else {"points": geo[0], "faces": np.asarray(geo[1]), "normals": geo[2],
                                         "uvs": geo[3], "colors": None, "face_of": None}
    if data is None:
        if prim.IsA(UsdGeom.Mesh):
            warn_once(path, "mesh without points or faces; not drawn", notes)
        else:
            warn_once(path, f"{prim.GetTypeName()} is not drawn by the standalone renderer", notes)
        return []

    def make(faces, tag):
        used = np.unique(faces)
        remap = np.full(len(data["points"]), -1, np.int64)
        remap[used] = np.arange(len(used))
        pick = (lambda a: None if a is None else np.asarray(a)[used].astype(np.float32))
        return MeshGeometry(key="", prim_path=source, label_path=None, semantic_class=None,
                            points=pick(data["points"]), faces=remap[faces].astype(np.uint32),
                            normals=pick(data["normals"]), uvs=pick(data["uvs"]), material_path=source + tag,
                            source=source + tag, colors=pick(data["colors"]))

    faces = np.asarray(data["faces"], np.int64)
    subsets = UsdShade.MaterialBindingAPI(prim).GetMaterialBindSubsets() if data["face_of"] is not None else []
    if not subsets:
        return [make(faces, "")] if len(faces) else []
    out, taken = [], np.zeros(len(faces), bool)
    for subset in subsets:
        indices = np.asarray(subset.GetIndicesAttr().Get(TIME) or [], np.int64)
        sel = np.isin(data["face_of"], indices) & ~taken
        taken |= sel
        if sel.any():
            sub = str(subset.GetPrim().GetPath())
            out.append(make(faces[sel], sub[len(path):]))
    if (~taken).any():
        out.append(make(faces[~taken], ""))
    return out


def _expand_instancer(stage: Usd.Stage, prim: Usd.Prim, cache: dict, out: list, notes) -> None:
    """One set of meshes per instance; prototypes are read once and shared."""
    pi = UsdGeom.PointInstancer(prim)
    path = str(prim.GetPath())
    protos = [stage.GetPrimAtPath(p) for p in pi.GetPrototypesRel().GetForwardedTargets()]
    indices = pi.GetProtoIndicesAttr().Get(TIME) or []
    above = _chain(prim.GetParent())
    per_proto = {}
    for k, root in enumerate(protos):
        pieces = []
        if not root:
            warn_once(path, f"prototype {k} does not resolve to a prim; its instances are not drawn", notes)
        else:
            for p in drawn_prims(stage, root):
                if p.IsA(UsdGeom.PointInstancer) and p != root:
                    warn_once(path, f"nested point instancer {p.GetPath()} is not expanded", notes)
                elif _renderable(p):
                    pieces += [(p, piece) for piece in _pieces(p, cache, notes)]
        per_proto[k] = (root, pieces)
    for j, k in enumerate(indices):
        if k not in per_proto:
            warn_once(path, f"instance {j} names prototype {k}, which does not exist", notes)
            continue
        root, pieces = per_proto[k]
        label = instance_label(path, j)
        root_path = str(root.GetPath()) if root else ""

        def label_of(q, label=label, root_path=root_path):
            rel = str(q.GetPath())[len(root_path):]
            return label + rel

        for p, piece in pieces:
            chain = _chain(p, root.GetParent(), label_of) + [(label, path, semantic_class(prim))] + above
            out.append(replace(piece, key=f"mesh_{len(out):04d}", instancer=(path, j), chain=tuple(chain)))


def labelled_parts(stage: Usd.Stage, exclude: str | None = None) -> dict[str, str]:
    """Default parts (path -> class): the outermost labelled prims, in stage order.

    A label inside an instance (on an instance proxy) makes the instance's root prim the part, and a
    label in a PointInstancer's prototypes makes the instancer the part: only those prims can be posed.
    """
    chosen: dict[str, str] = {}
    for prim in drawn_prims(stage):
        label = semantic_class(prim)
        owner = prim
        if prim.IsA(UsdGeom.PointInstancer) and label is None:
            pi = UsdGeom.PointInstancer(prim)
            for target in pi.GetPrototypesRel().GetForwardedTargets():
                root = stage.GetPrimAtPath(target)
                found = next((c for p in (drawn_prims(stage, root) if root else ()) if (c := semantic_class(p))), None)
                if found:
                    label = found
                    break
        if label is None:
            continue
        while owner.IsInstanceProxy():
            owner = owner.GetParent()
        path = str(owner.GetPath())
        if path == exclude or path in chosen or any(path.startswith(c + "/") for c in chosen):
            continue
        chosen[path] = label
    return chosen


def assign_parts(meshes: list[MeshGeometry], parts: Mapping[str, str] | None = None) -> None:
    """Set each mesh's label (nearest labelled prim or part at or above it) and part, in place.

    A part's class (from the recipe) wins over the USD label of the same prim. Without ``parts``, the
    part is the first prim (not an instance proxy) at or above the label: USD semantics alone.
    """
    for m in meshes:
        label = part = None
        for label_path, candidate, usd_class in m.chain:
            cls = parts.get(candidate) if (parts and candidate) else None
            if parts is not None and part is None and cls is not None:
                part = candidate
            if label is None and (cls or usd_class):
                label = (label_path, cls or usd_class)
            if label is not None and parts is None and candidate:
                part = candidate
            if label is not None and part is not None:
                break
        m.label_path, m.semantic_class = label if label else (None, None)
        m.part_path = part


def label_bound(stage: Usd.Stage, meshes: list[MeshGeometry], label_path: str,
                xf: UsdGeom.XformCache, bbox: UsdGeom.BBoxCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local min, local max, local-to-world row-vector matrix) of a labelled object, point instances too."""
    prim = stage.GetPrimAtPath(label_path)
    if prim:
        rng = bbox.ComputeUntransformedBound(prim).ComputeAlignedRange()
        return np.array(rng.GetMin()), np.array(rng.GetMax()), np.array(xf.GetLocalToWorldTransform(prim))
    own = [m for m in meshes if m.label_path == label_path]
    world = instance_matrix(stage, own[0], xf) if own else np.eye(4)
    inv = np.linalg.inv(world)
    pts = []
    for m in own:
        w = instance_matrix(stage, m, xf)
        pts.append(m.points @ (inv @ w)[:3, :3].T + (inv @ w)[:3, 3])
    pts = np.concatenate(pts) if pts else np.zeros((1, 3))
    return pts.min(axis=0), pts.max(axis=0), world.T


def read_gprim(prim: Usd.Prim):
    """(points, triangles, normals, st) of a Mesh/Cube/Sphere in its local space, or None."""
    if prim.IsA(UsdGeom.Mesh):
        data = _read_mesh(UsdGeom.Mesh(prim))
        return None if data is None else (data["points"], data["faces"], data["normals"], data["uvs"])
    if prim.IsA(UsdGeom.Cube):
        from wearforge import meshgen as mg

        size = UsdGeom.Cube(prim).GetSizeAttr().Get() or 2.0
        data = mg.build_mesh(mg.box((0, 0, 0), (size, size, size)))
        return data.points, data.triangles(), data.normals, data.uvs
    if prim.IsA(UsdGeom.Sphere):
        return _uv_sphere(UsdGeom.Sphere(prim).GetRadiusAttr().Get() or 1.0)
    from wearforge.implicit_shapes import implicit_mesh

    return implicit_mesh(prim)  # Cylinder, Cone, Capsule, Plane; curves and points are not rendered


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


def _read_mesh(mesh: UsdGeom.Mesh, path: str = "", notes=None) -> dict | None:
    """Triangles, per-vertex normals/st/displayColor and each triangle's source face index."""
    points = mesh.GetPointsAttr().Get(TIME)
    counts = mesh.GetFaceVertexCountsAttr().Get(TIME)
    indices = mesh.GetFaceVertexIndicesAttr().Get(TIME)
    if not points or not counts or not indices:
        return None
    scheme = mesh.GetSubdivisionSchemeAttr()
    if path and scheme.HasAuthoredValue() and scheme.Get() != UsdGeom.Tokens.none:
        warn_once(path, f"subdivisionScheme '{scheme.Get()}': the control cage is rendered, not the limit "
                        "surface", notes)
    points = np.asarray(points, np.float64)
    counts = np.asarray(counts, np.int64)
    indices = np.asarray(indices, np.int64)
    face_ids = np.arange(len(counts))
    if np.any(counts < 3):
        keep = np.repeat(counts >= 3, counts)
        indices, face_ids, counts = indices[keep], face_ids[counts >= 3], counts[counts >= 3]
    face_of = np.repeat(face_ids, counts - 2)
    normals, n_interp = _normals(mesh)
    uvs, uv_interp = _primvar(mesh, _st_name(mesh, path, notes))
    colors, c_interp = _primvar(mesh, "displayColor")
    if c_interp == "constant" or (colors is not None and len(colors) and np.ptp(colors, axis=0).max() == 0):
        colors, c_interp = None, None  # a single colour is a material value, not a vertex attribute
    interps = (n_interp, uv_interp, c_interp)
    left_handed = mesh.GetOrientationAttr().Get() == UsdGeom.Tokens.leftHanded
    if "faceVarying" not in interps and "uniform" not in interps:
        faces = triangulate(counts, indices)
        return {"points": points, "faces": faces[:, ::-1] if left_handed else faces, "normals": normals,
                "uvs": uvs, "colors": colors, "face_of": face_of}
    # Face-varying data: unshare vertices so every face corner keeps its own normal and st.
    corner = np.arange(len(indices))
    face_of_corner = np.repeat(np.arange(len(counts)), counts)

    def expand(values, interp):
        if values is None:
            return None
        if interp == "faceVarying":
            return values
        if interp == "uniform":
            return values[face_ids[face_of_corner]]
        return values[indices]

    faces = triangulate(counts, corner)
    return {"points": points[indices], "faces": faces[:, ::-1] if left_handed else faces,
            "normals": expand(normals, n_interp), "uvs": expand(uvs, uv_interp), "colors": expand(colors, c_interp),
            "face_of": face_of}


def _st_name(mesh: UsdGeom.Mesh, path: str, notes) -> str:
    """'st', or the mesh's only texture-coordinate primvar under another name (UVMap, map1, st0...)."""
    api = UsdGeom.PrimvarsAPI(mesh)
    if api.GetPrimvar("st") and api.GetPrimvar("st").HasValue():
        return "st"
    names = [pv.GetPrimvarName() for pv in api.GetPrimvarsWithValues()
             if pv.GetTypeName() in (Sdf.ValueTypeNames.TexCoord2fArray, Sdf.ValueTypeNames.Float2Array,
                                     Sdf.ValueTypeNames.TexCoord2dArray)]
    if names and path:
        warn_once(path, f"texture coordinates read from primvar '{names[0]}' (no 'st')", notes)
    return str(names[0]) if names else "st"


def _primvar(mesh: UsdGeom.Mesh, name: str):
    pv = UsdGeom.PrimvarsAPI(mesh).GetPrimvar(name)
    if not pv or not pv.HasValue():
        return None, None
    values = pv.ComputeFlattened(TIME)
    if values is None:
        return None, None
    return np.asarray(values, np.float64), pv.GetInterpolation()


def _normals(mesh: UsdGeom.Mesh):
    pv = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("normals")
    if pv and pv.HasValue():
        return np.asarray(pv.ComputeFlattened(TIME), np.float64), pv.GetInterpolation()
    attr = mesh.GetNormalsAttr()
    if attr.HasValue():
        return np.asarray(attr.Get(TIME), np.float64), mesh.GetNormalsInterpolation()
    return None, None


# ----------------------------------------------------------------------------------- per frame
def read_frame_state(stage: Usd.Stage, meshes: list[MeshGeometry], camera_path: str) -> FrameState:
    cache = UsdGeom.XformCache(TIME)
    instancers: dict[str, tuple] = {}
    matrices, visible, materials = [], [], []
    materials_of: dict[str, MaterialState] = {}
    for m in meshes:
        prim = stage.GetPrimAtPath(m.prim_path)
        shown = UsdGeom.Imageable(prim).ComputeVisibility() != UsdGeom.Tokens.invisible
        if m.instancer is not None:
            path, j = m.instancer
            if path not in instancers:
                instancers[path] = _instancer_state(stage, path, cache)
            xforms, mask, shown_pi = instancers[path]
            own = UsdGeom.Imageable(prim).GetVisibilityAttr().Get() != UsdGeom.Tokens.invisible
            shown = shown_pi and own and j < len(mask) and bool(mask[j])
            matrices.append(instance_matrix(stage, m, cache, xforms))
        else:
            matrices.append(gf_to_np(cache.GetLocalToWorldTransform(prim)))
        visible.append(shown)
        if m.material_path not in materials_of:
            materials_of[m.material_path] = read_material(stage.GetPrimAtPath(m.material_path), mesh=m)
        materials.append(materials_of[m.material_path])
    lights = [read_light(p, cache, i) for i, p in enumerate(_lights(stage))]
    return FrameState(matrices, visible, materials, lights, read_camera(stage, camera_path, cache))


def _instancer_state(stage: Usd.Stage, path: str, cache: UsdGeom.XformCache):
    """Per-instance transforms (prototype root transform included, mask ignored), the mask, visibility."""
    prim = stage.GetPrimAtPath(path)
    pi = UsdGeom.PointInstancer(prim)
    now = TIME
    xforms = pi.ComputeInstanceTransformsAtTime(now, now, UsdGeom.PointInstancer.IncludeProtoXform,
                                                UsdGeom.PointInstancer.IgnoreMask)
    n = len(pi.GetProtoIndicesAttr().Get(TIME) or [])
    mask = pi.ComputeMaskAtTime(now) or [True] * n
    world = cache.GetLocalToWorldTransform(prim)
    shown = UsdGeom.Imageable(prim).ComputeVisibility() != UsdGeom.Tokens.invisible
    return [x * world for x in (xforms or [])], list(mask), shown


def instance_matrix(stage: Usd.Stage, mesh: MeshGeometry, cache: UsdGeom.XformCache, xforms=None) -> np.ndarray:
    """Local-to-world of a mesh; for a point instance: (gprim in its prototype) x instance x instancer."""
    prim = stage.GetPrimAtPath(mesh.prim_path)
    if mesh.instancer is None:
        return gf_to_np(cache.GetLocalToWorldTransform(prim))
    path, j = mesh.instancer
    if xforms is None:
        xforms = _instancer_state(stage, path, cache)[0]
    pi = UsdGeom.PointInstancer(stage.GetPrimAtPath(path))
    root = stage.GetPrimAtPath(pi.GetPrototypesRel().GetForwardedTargets()[pi.GetProtoIndicesAttr().Get(TIME)[j]])
    in_proto = cache.GetLocalToWorldTransform(prim) * cache.GetLocalToWorldTransform(root).GetInverse()
    return gf_to_np(in_proto * xforms[j])


def _lights(stage: Usd.Stage) -> list[Usd.Prim]:
    out = []
    for prim in stage.Traverse():
        if (prim.IsA(UsdLux.DistantLight) or prim.IsA(UsdLux.SphereLight) or prim.IsA(UsdLux.RectLight)
                or prim.IsA(UsdLux.DiskLight) or prim.IsA(UsdLux.DomeLight)):
            if UsdGeom.Imageable(prim).ComputeVisibility() != UsdGeom.Tokens.invisible:
                out.append(prim)
    return out


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
    return UsdGeom.Camera(stage.GetPrimAtPath(path)).GetCamera(TIME)



