"""Generate the bundled digital twins as USDA: `python usd_assets/build_assets.py`.

Parts (each its own file, referenced by inspection_cell.usda):
  spur_gear.usda   involute spur gear, module 4 mm, 24 teeth, 20 deg pressure angle, bore
  pipe_spool.usda  DN100 pipe with two flanges and eight bolt holes each
  bracket.usda     3 mm sheet-metal L-bracket with a 90 deg bend and three holes
  table.usda       inspection table (support surface)
  bin.usda         open parts bin
  conveyor_belt.usda, workbench.usda, tote.usda   textured background supports (top at the table's height;
                   textures/*.png tiles from usd_assets/backgrounds.py), each in its own cell:
                   conveyor_cell.usda, workbench_cell.usda, tote_cell.usda (the inspection cell with that support
                   at /World/Table instead of the table, no bin)
  hex_bolt.usda, hex_nut.usda, washer.usda, cable_tie.usda   distractors (M10 hardware, a nylon cable tie)
  hdri/*.hdr       lat-long environments for dome lights: a softbox studio and a factory hall ray-cast from a
                   procedural room (usd_assets/rooms.py); hdri/rooms/ holds more rooms (an inspection lab)
Units are metres (metersPerUnit = 1), Z up. Every mesh has clean, non-overlapping UVs, vertex
normals, a UsdPreviewSurface material, UsdPhysics collider/rigid body/mass/material and a class label.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from pxr import Gf, Kind, Sdf, Usd, UsdGeom, UsdPhysics, UsdShade, Vt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from wearforge import meshgen as mg  # noqa: E402
from wearforge.semantics import set_semantic_class  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE  # where main() writes; tests point it elsewhere

# Linear base colours from ../docs/materials reference values.
MATERIALS = {
    "BareSteel": dict(diffuseColor=(0.56, 0.57, 0.58), metallic=1.0, roughness=0.32, ior=2.5),
    "PaintedSteel": dict(diffuseColor=(0.05, 0.16, 0.42), metallic=0.0, roughness=0.45, ior=1.5, clearcoat=0.3),
    "CastAluminium": dict(diffuseColor=(0.91, 0.92, 0.92), metallic=1.0, roughness=0.55, ior=1.5),
    "TableTop": dict(diffuseColor=(0.30, 0.31, 0.33), metallic=0.0, roughness=0.7, ior=1.5),
    "Frame": dict(diffuseColor=(0.55, 0.56, 0.57), metallic=1.0, roughness=0.4, ior=1.5),
    "BinPlastic": dict(diffuseColor=(0.60, 0.18, 0.02), metallic=0.0, roughness=0.55, ior=1.46),
    "ZincPlated": dict(diffuseColor=(0.72, 0.73, 0.75), metallic=1.0, roughness=0.35, ior=1.5),
    "BlackOxide": dict(diffuseColor=(0.05, 0.05, 0.055), metallic=1.0, roughness=0.45, ior=1.5),
    "Nylon": dict(diffuseColor=(0.80, 0.79, 0.74), metallic=0.0, roughness=0.6, ior=1.53),
    "AluminiumRail": dict(diffuseColor=(0.85, 0.86, 0.87), metallic=1.0, roughness=0.35, ior=1.5),
    "Pegboard": dict(diffuseColor=(0.42, 0.43, 0.42), metallic=0.0, roughness=0.6, ior=1.5),
}
DENSITY = {"BareSteel": 7850.0, "PaintedSteel": 7850.0, "CastAluminium": 2700.0, "ZincPlated": 7850.0,
           "BlackOxide": 7850.0, "Nylon": 1140.0}
PHYSICS_MATERIALS = {  # static, dynamic friction, restitution
    "Steel": (0.6, 0.45, 0.2),
    "Aluminium": (0.6, 0.47, 0.2),
    "Rubber": (0.9, 0.8, 0.4),
    "Plastic": (0.45, 0.35, 0.3),
}


# ------------------------------------------------------------------------------------ geometry
def gear_outline(module: float, teeth: int, pressure_deg: float, samples_per_tooth: int = 40) -> np.ndarray:
    """Involute spur gear outline r(theta), sampled at uniform angles (counter-clockwise)."""
    rp = module * teeth / 2
    ra, rf = rp + module, rp - 1.25 * module
    rb = rp * np.cos(np.radians(pressure_deg))
    inv = lambda a: np.tan(a) - a  # noqa: E731
    alpha_p = np.radians(pressure_deg)
    half_pitch_angle = np.pi / (2 * teeth)  # half tooth thickness at the pitch circle, as an angle

    def half_thickness(r):
        alpha = np.arccos(np.clip(rb / r, -1, 1))
        return half_pitch_angle + inv(alpha_p) - inv(alpha)

    r_low = max(rb, rf)
    psi_tip, psi_low = half_thickness(ra), half_thickness(r_low)
    theta = np.linspace(0, 2 * np.pi, teeth * samples_per_tooth, endpoint=False)
    pitch = 2 * np.pi / teeth
    phi = np.abs((theta + pitch / 2) % pitch - pitch / 2)  # angle from the nearest tooth centre
    r = np.full_like(theta, rf)
    r[phi <= psi_tip] = ra
    flank = (phi > psi_tip) & (phi <= psi_low)
    lo, hi = np.full(flank.sum(), r_low), np.full(flank.sum(), ra)
    for _ in range(50):  # bisection: half_thickness decreases with r
        mid = (lo + hi) / 2
        bigger = half_thickness(mid) > phi[flank]
        lo, hi = np.where(bigger, mid, lo), np.where(bigger, hi, mid)
    r[flank] = (lo + hi) / 2
    return np.stack([r * np.cos(theta), r * np.sin(theta)], -1)


def spur_gear() -> mg.MeshData:
    outline = gear_outline(0.004, 24, 20.0)
    width, bore = 0.02, 0.012
    angles = np.arctan2(outline[:, 1], outline[:, 0])
    inner = bore * np.stack([np.cos(angles), np.sin(angles)], -1)
    ring_n = 96
    bore_ring = mg.circle((0, 0), bore, ring_n)
    patches = [
        mg.ring(inner, outline, width / 2, up=1.0, nr=3),
        mg.ring(inner, outline, -width / 2, up=-1.0, nr=3),
        mg.sweep(outline, -width / 2, width / 2, outward_sign=1.0, nz=2),
        mg.sweep(bore_ring, -width / 2, width / 2, outward_sign=-1.0, nz=2),
    ]
    return mg.build_mesh(patches)


def _annulus_sector_with_hole(r0, r1, a0, a1, hole_r, hole_c, z, up, n=48):
    arc = 24
    ai = np.linspace(a0, a1, arc)
    outline = np.vstack([
        np.stack([r0 * np.cos(ai), r0 * np.sin(ai)], -1),
        np.stack([r1 * np.cos(ai[::-1]), r1 * np.sin(ai[::-1])], -1),
    ])
    return mg.hole_ring(outline, hole_c, hole_r, z, up, n=n, nr=3)


def pipe_spool() -> mg.MeshData:
    """Pipe along X: OD 114 mm, 6 mm wall, 0.45 m long, flanges OD 220 mm x 20 mm, 8 x M16 holes."""
    length, r_out, r_in = 0.45, 0.057, 0.051
    f_r, f_t, bolt_r, bolt_circle, holes = 0.11, 0.02, 0.009, 0.09, 8
    n = 96
    tube = mg.circle((0, 0), r_out, n)
    bore = mg.circle((0, 0), r_in, n)
    rim = mg.circle((0, 0), f_r, n)
    z0, z1 = -length / 2, length / 2
    patches = [
        mg.sweep(tube, z0 + f_t, z1 - f_t, outward_sign=1.0, nz=4),
        mg.sweep(bore, z0, z1, outward_sign=-1.0, nz=4),
    ]
    for side in (-1.0, 1.0):
        outer_z = z1 if side > 0 else z0
        inner_z = outer_z - side * f_t
        patches.append(mg.sweep(rim, min(outer_z, inner_z), max(outer_z, inner_z), outward_sign=1.0))
        for k in range(holes):
            a = 2 * np.pi * k / holes
            a0, a1 = a - np.pi / holes, a + np.pi / holes
            c = (bolt_circle * np.cos(a), bolt_circle * np.sin(a))
            patches.append(_annulus_sector_with_hole(r_in, f_r, a0, a1, bolt_r, c, outer_z, side))
            patches.append(_annulus_sector_with_hole(r_out, f_r, a0, a1, bolt_r, c, inner_z, -side))
            hole = mg.circle(c, bolt_r, 24)
            patches.append(mg.sweep(hole, min(outer_z, inner_z), max(outer_z, inner_z), outward_sign=-1.0))
    # axis from Z to X (a rotation, so winding is kept)
    return mg.build_mesh(mg.transform(patches, mg.rotation("y", 90.0)))


def bracket() -> mg.MeshData:
    """L-bracket: base 100 x 80 mm on z=0, 90 deg bend (r=5 mm), upright 70 mm, 3 mm sheet, 3 holes."""
    t, w, base, up, r_in = 0.003, 0.08, 0.1, 0.07, 0.005
    hole_r = 0.0045
    r_out = r_in + t
    # profile in the XZ plane: base along +X from x=0, bend about (0, r_out) centre, upright along +Z at x=-r_out
    patches: list[mg.Patch] = []
    y0, y1 = -w / 2, w / 2
    cell = base / 2
    for k in range(2):  # base plate: two cells, each with a hole; bottom (z=0) and top (z=t)
        xa, xb = k * cell, (k + 1) * cell
        c = ((xa + xb) / 2, 0.0)
        patches.append(mg.plate_with_hole((xa, y0), (xb, y1), c, hole_r, t, up=1.0))
        patches.append(mg.plate_with_hole((xa, y0), (xb, y1), c, hole_r, 0.0, up=-1.0))
        patches.append(mg.sweep(mg.circle(c, hole_r, 32), 0.0, t, outward_sign=-1.0))
    # upright plate: one cell with a hole, built in XY then rotated onto the plane x = -r_out .. -r_in
    up_patches = [
        mg.plate_with_hole((0, y0), (up, y1), (up * 0.55, 0.0), hole_r, 0.0, up=-1.0),
        mg.plate_with_hole((0, y0), (up, y1), (up * 0.55, 0.0), hole_r, t, up=1.0),
        mg.sweep(mg.circle((up * 0.55, 0.0), hole_r, 32), 0.0, t, outward_sign=-1.0),
    ]
    # local (x, y, z) -> world: x becomes +Z height, z becomes -X thickness; rotation about Y by -90 deg
    m = mg.translation((-r_in, 0.0, r_out)) @ mg.rotation("y", -90.0)
    patches += mg.transform(up_patches, m)
    # bend: quarter cylinders around the axis at (x=0, z=r_out) along Y
    a = np.linspace(-np.pi / 2, -np.pi, 13)  # from the base (bottom) round to the upright
    ys = np.linspace(y0, y1, 3)
    for radius, sign in ((r_out, 1.0), (r_in, -1.0)):
        x = radius * np.cos(a)
        z = r_out + radius * np.sin(a)
        pts = np.stack(np.broadcast_arrays(x[:, None], ys[None, :], z[:, None]), -1)
        arc = radius * np.abs(a - a[0])
        uv = np.stack(np.broadcast_arrays(arc[:, None], ys[None, :]), -1)
        outward = sign * np.stack(np.broadcast_arrays(np.cos(a)[:-1, None], 0 * ys[None, :-1], np.sin(a)[:-1, None]), -1)
        patches.append(mg.grid(pts, uv, outward))
    # the two side faces (y = +-w/2): the L profile between inner and outer contour, in the XZ plane
    outer = np.vstack([
        [[base, 0.0]], [[0.0, 0.0]],
        np.stack([r_out * np.cos(a[1:-1]), r_out + r_out * np.sin(a[1:-1])], -1),
        [[-r_out, r_out]], [[-r_out, r_out + up]],
    ])
    inner = np.vstack([
        [[base, t]], [[0.0, t]],
        np.stack([r_in * np.cos(a[1:-1]), r_out + r_in * np.sin(a[1:-1])], -1),
        [[-r_in, r_out]], [[-r_in, r_out + up]],
    ])
    band = np.stack([outer, inner], axis=1)  # (M, 2, 2): across the thickness
    arc_len = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(outer, axis=0), axis=1))])
    for y, sign in ((y0, -1.0), (y1, 1.0)):
        pts = np.stack([band[..., 0], np.full(band.shape[:2], y), band[..., 1]], -1)
        patches.append(mg.grid(pts, band.copy(), np.array([0.0, sign, 0.0])))
    del arc_len
    # end faces: base end (x = base) and upright top (z = r_out + up)
    patches.append(mg.plane_rect((base, y0, 0.0), (0, 1, 0), (0, 0, 1), w, t, outward=(1, 0, 0)))
    patches.append(mg.plane_rect((-r_out, y0, r_out + up), (0, 1, 0), (1, 0, 0), w, t, outward=(0, 0, 1)))
    # the flat strip between base cells and bend is at x in [0, 0]; the bend starts at x=0 exactly
    return mg.build_mesh(mg.transform(patches, mg.translation((-(base - r_out) / 2, 0.0, 0.0))))


def _hexagon(across_flats: float) -> np.ndarray:
    r = across_flats / np.sqrt(3.0)  # circumradius
    a = np.radians(30 + 60 * np.arange(6))
    return np.stack([r * np.cos(a), r * np.sin(a)], -1)


def _disk(radius: float, z: float, up: float, n: int = 48) -> mg.Patch:
    """A round cap: a ring whose inner edge is a tiny circle (no degenerate centre vertex)."""
    return mg.ring(mg.circle((0, 0), radius * 1e-3, n), mg.circle((0, 0), radius, n), z, up, nr=3)


def _hex_prism_with_hole(across_flats: float, bore: float, z0: float, z1: float) -> list[mg.Patch]:
    hexagon = _hexagon(across_flats)
    patches = [mg.hole_ring(hexagon, (0, 0), bore, z1, 1.0, n=48), mg.hole_ring(hexagon, (0, 0), bore, z0, -1.0, n=48),
               mg.sweep(mg.circle((0, 0), bore, 48), z0, z1, outward_sign=-1.0)]
    for k in range(6):  # one flat face per side keeps the hexagon's edges sharp
        patches.append(mg.sweep(np.vstack([hexagon[k], hexagon[(k + 1) % 6]]), z0, z1, outward_sign=1.0, closed=False))
    return patches


def hex_bolt() -> mg.MeshData:
    """M10 x 40 hex bolt: 16 mm across flats, 6.4 mm head, plain shank."""
    head, shank, r = 0.0064, 0.04, 0.005
    hexagon = _hexagon(0.016)
    patches = [mg.hole_ring(hexagon, (0, 0), r, 0.0, -1.0, n=48), _disk_on_hex(hexagon, head),
               mg.sweep(mg.circle((0, 0), r, 48), -shank, 0.0, outward_sign=1.0, nz=4), _disk(r, -shank, -1.0)]
    for k in range(6):
        patches.append(mg.sweep(np.vstack([hexagon[k], hexagon[(k + 1) % 6]]), 0.0, head, outward_sign=1.0, closed=False))
    return mg.build_mesh(mg.transform(patches, mg.translation((0, 0, shank))))


def _disk_on_hex(hexagon: np.ndarray, z: float) -> mg.Patch:
    angles = np.linspace(0, 2 * np.pi, 48, endpoint=False) + np.pi / 48
    outer = mg.star_boundary(hexagon, (0, 0), angles)
    inner = outer * 1e-3
    return mg.ring(inner, outer, z, 1.0, nr=3)


def hex_nut() -> mg.MeshData:
    """M10 hex nut: 16 mm across flats, 8 mm high, 10 mm bore."""
    return mg.build_mesh(_hex_prism_with_hole(0.016, 0.005, 0.0, 0.008))


def washer() -> mg.MeshData:
    """M10 flat washer: 20 mm outside, 10.5 mm hole, 2 mm thick."""
    inner, outer = mg.circle((0, 0), 0.00525, 64), mg.circle((0, 0), 0.01, 64)
    return mg.build_mesh([mg.ring(inner, outer, 0.002, 1.0), mg.ring(inner, outer, 0.0, -1.0),
                          mg.sweep(outer, 0.0, 0.002, outward_sign=1.0), mg.sweep(inner, 0.0, 0.002, outward_sign=-1.0)])


def cable_tie() -> mg.MeshData:
    """A 200 x 4.8 mm nylon cable tie lying flat: strap plus the locking head."""
    strap = mg.box((0.1, 0.0, 0.0006), (0.2, 0.0048, 0.0012), segments=24)  # long faces can be cut into islands
    head = mg.box((-0.004, 0.0, 0.003), (0.008, 0.008, 0.006))
    return mg.build_mesh(strap + head)


def table_parts() -> dict[str, mg.MeshData]:
    top_h, top = 0.75, (1.2, 0.8, 0.04)
    legs = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            legs += mg.box((sx * 0.55, sy * 0.35, (top_h - top[2]) / 2), (0.05, 0.05, top_h - top[2]))
    return {
        "Top": mg.build_mesh(mg.box((0, 0, top_h - top[2] / 2), top, segments=4)),
        "Frame": mg.build_mesh(legs),
    }


def bin_mesh() -> mg.MeshData:
    L, W, H, t = 0.4, 0.3, 0.15, 0.008
    patches = mg.box((0, 0, t / 2), (L, W, t))
    patches += mg.box((0, (W - t) / 2, H / 2 + t / 2), (L, t, H - t))
    patches += mg.box((0, -(W - t) / 2, H / 2 + t / 2), (L, t, H - t))
    patches += mg.box(((L - t) / 2, 0, H / 2 + t / 2), (t, W - 2 * t, H - t))
    patches += mg.box((-(L - t) / 2, 0, H / 2 + t / 2), (t, W - 2 * t, H - t))
    return mg.build_mesh(patches)


# ------------------------------------------------------------------------------------ authoring
def new_stage(path: Path, root: str) -> Usd.Stage:
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.SetStageKilogramsPerUnit(stage, 1.0)
    root_prim = UsdGeom.Xform.Define(stage, f"/{root}").GetPrim()
    stage.SetDefaultPrim(root_prim)
    return stage


def define_material(stage: Usd.Stage, path: str, name: str) -> UsdShade.Material:
    mat = UsdShade.Material.Define(stage, path)
    shader = UsdShade.Shader.Define(stage, f"{path}/PreviewSurface")
    shader.CreateIdAttr("UsdPreviewSurface")
    for key, value in MATERIALS[name].items():
        if key == "diffuseColor":
            shader.CreateInput(key, Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(*value))
        else:
            shader.CreateInput(key, Sdf.ValueTypeNames.Float).Set(float(value))
    mat.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    return mat


def define_physics_material(stage: Usd.Stage, path: str, name: str) -> UsdShade.Material:
    mat = UsdShade.Material.Define(stage, path)
    api = UsdPhysics.MaterialAPI.Apply(mat.GetPrim())
    static, dynamic, restitution = PHYSICS_MATERIALS[name]
    api.CreateStaticFrictionAttr(static)
    api.CreateDynamicFrictionAttr(dynamic)
    api.CreateRestitutionAttr(restitution)
    return mat


def define_mesh(stage: Usd.Stage, path: str, data: mg.MeshData) -> UsdGeom.Mesh:
    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(data.points.astype(np.float32)))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(data.face_counts.astype(np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(data.face_indices.astype(np.int32)))
    mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(data.normals.astype(np.float32)))
    mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
    mesh.CreateDoubleSidedAttr(False)
    st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
    st.Set(Vt.Vec2fArray.FromNumpy(data.uvs.astype(np.float32)))
    lo, hi = data.points.min(axis=0), data.points.max(axis=0)
    mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
    return mesh


def bind(prim: Usd.Prim, material: UsdShade.Material, purpose: str | None = None) -> None:
    api = UsdShade.MaterialBindingAPI.Apply(prim)
    if purpose:
        api.Bind(material, UsdShade.Tokens.weakerThanDescendants, purpose)
    else:
        api.Bind(material)


def write_part(filename: str, root: str, label: str, data: mg.MeshData, look: str, physics: str,
               rigid: bool = True) -> Path:
    path = OUT / filename
    stage = new_stage(path, root)
    root_prim = stage.GetPrimAtPath(f"/{root}")
    Usd.ModelAPI(root_prim).SetKind(Kind.Tokens.component)
    mesh = define_mesh(stage, f"/{root}/Geom", data)
    UsdGeom.Scope.Define(stage, f"/{root}/Looks")
    bind(mesh.GetPrim(), define_material(stage, f"/{root}/Looks/{look}", look))
    bind(mesh.GetPrim(), define_physics_material(stage, f"/{root}/Looks/{physics}Physics", physics), "physics")
    UsdPhysics.CollisionAPI.Apply(mesh.GetPrim())
    UsdPhysics.MeshCollisionAPI.Apply(mesh.GetPrim()).CreateApproximationAttr(UsdPhysics.Tokens.convexHull)
    set_semantic_class(root_prim, label)
    if rigid:
        UsdPhysics.RigidBodyAPI.Apply(root_prim)
        mass = UsdPhysics.MassAPI.Apply(root_prim)
        volume = data.signed_volume()
        mass.CreateMassAttr(float(volume * DENSITY[look]))
    stage.GetRootLayer().Save()
    return path


def write_table() -> Path:
    path = OUT / "table.usda"
    stage = new_stage(path, "Table")
    root = stage.GetPrimAtPath("/Table")
    Usd.ModelAPI(root).SetKind(Kind.Tokens.component)
    UsdGeom.Scope.Define(stage, "/Table/Looks")
    parts = table_parts()
    steel = define_physics_material(stage, "/Table/Looks/RubberPhysics", "Rubber")
    for name, look in (("Top", "TableTop"), ("Frame", "Frame")):
        mesh = define_mesh(stage, f"/Table/{name}", parts[name])
        bind(mesh.GetPrim(), define_material(stage, f"/Table/Looks/{look}", look))
        bind(mesh.GetPrim(), steel, "physics")
        UsdPhysics.CollisionAPI.Apply(mesh.GetPrim())
    # The top collides as the solid box it is: a triangle-mesh collider is a zero-thickness shell, and a
    # 2 mm washer pushed 2 mm past its top face finds its shortest way out downwards and falls through.
    UsdPhysics.MeshCollisionAPI.Apply(stage.GetPrimAtPath("/Table/Top")).CreateApproximationAttr(
        UsdPhysics.Tokens.convexHull)
    set_semantic_class(root, "table")
    stage.GetRootLayer().Save()
    return path


# ------------------------------------------------------------------------------------ background supports
SUPPORT_LOOKS = {  # textured looks: texture tile (backgrounds.TEXTURES), roughness, metallic
    "BeltRubber": ("conveyor_belt", 0.75, 0.0),
    "BeechTop": ("workbench", 0.55, 0.0),
    "ToteFloor": ("tote", 0.5, 0.0),
}


def write_textures() -> None:
    import cv2

    import backgrounds

    (OUT / "textures").mkdir(parents=True, exist_ok=True)
    for name, make in backgrounds.TEXTURES.items():
        cv2.imwrite(str(OUT / "textures" / f"{name}.png"), backgrounds.srgb8(make())[..., ::-1])


def define_textured_material(stage: Usd.Stage, path: str, look: str) -> UsdShade.Material:
    """UsdPreviewSurface whose diffuse colour is a repeating sRGB texture read through the mesh's st."""
    texture, roughness, metallic = SUPPORT_LOOKS[look]
    mat = UsdShade.Material.Define(stage, path)
    reader = UsdShade.Shader.Define(stage, f"{path}/StReader")
    reader.CreateIdAttr("UsdPrimvarReader_float2")
    reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("st")
    tex = UsdShade.Shader.Define(stage, f"{path}/Texture")
    tex.CreateIdAttr("UsdUVTexture")
    tex.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(f"./textures/{texture}.png")
    tex.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(
        reader.CreateOutput("result", Sdf.ValueTypeNames.Float2))
    for wrap in ("wrapS", "wrapT"):
        tex.CreateInput(wrap, Sdf.ValueTypeNames.Token).Set("repeat")
    tex.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set("sRGB")
    shader = UsdShade.Shader.Define(stage, f"{path}/PreviewSurface")
    shader.CreateIdAttr("UsdPreviewSurface")
    shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(
        tex.CreateOutput("rgb", Sdf.ValueTypeNames.Float3))
    shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(roughness)
    shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(metallic)
    shader.CreateInput("ior", Sdf.ValueTypeNames.Float).Set(1.5)
    mat.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    return mat


def _planar(data: mg.MeshData, tile: float) -> mg.MeshData:
    """Texture coordinates projected from above at ``tile`` metres per repeat (the tops carry the texture)."""
    from dataclasses import replace

    return replace(data, uvs=data.points[:, :2] / tile)


def _legs(height: float, x: float, y: float) -> list:
    legs = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            legs += mg.box((sx * x, sy * y, height / 2), (0.05, 0.05, height))
    return legs


def support_parts(kind: str) -> dict[str, tuple[mg.MeshData, str, bool]]:
    """Pieces of a background support: name -> (mesh, look, collides as its convex hull)."""
    from backgrounds import TILE_M

    top = 0.75
    if kind == "conveyor_belt":  # a 500 mm belt over a slider bed, aluminium side rails 20 mm above it
        return {
            "Belt": (_planar(mg.build_mesh(mg.box((0, 0, top - 0.005), (1.2, 0.5, 0.01), segments=4)),
                             TILE_M[kind]), "BeltRubber", True),
            "RailLeft": (mg.build_mesh(mg.box((0, 0.265, top - 0.01), (1.2, 0.03, 0.06))), "AluminiumRail", True),
            "RailRight": (mg.build_mesh(mg.box((0, -0.265, top - 0.01), (1.2, 0.03, 0.06))), "AluminiumRail", True),
            "Frame": (mg.build_mesh(mg.box((0, 0, top - 0.04), (1.2, 0.5, 0.06)) + _legs(top - 0.07, 0.55, 0.2)),
                      "Frame", False),
        }
    if kind == "workbench":  # a 40 mm beech top, a pegboard along the back
        return {
            "Top": (_planar(mg.build_mesh(mg.box((0, 0, top - 0.02), (1.2, 0.8, 0.04), segments=4)),
                            TILE_M[kind]), "BeechTop", True),
            "Pegboard": (mg.build_mesh(mg.box((0, 0.41, top + 0.2), (1.2, 0.02, 0.4))), "Pegboard", True),
            "Frame": (mg.build_mesh(_legs(top - 0.04, 0.55, 0.35)), "Frame", False),
        }
    if kind == "tote":  # a 1.2 x 0.8 m tote, 6 mm floor and walls 80 mm high, on a stand
        t, h, (L, W) = 0.006, 0.08, (1.2, 0.8)
        walls = {"WallNorth": ((0, (W - t) / 2, top + h / 2 - t), (L, t, h + t)),
                 "WallSouth": ((0, -(W - t) / 2, top + h / 2 - t), (L, t, h + t)),
                 "WallEast": (((L - t) / 2, 0, top + h / 2 - t), (t, W - 2 * t, h + t)),
                 "WallWest": ((-(L - t) / 2, 0, top + h / 2 - t), (t, W - 2 * t, h + t))}
        pieces = {"Floor": (_planar(mg.build_mesh(mg.box((0, 0, top - t / 2), (L, W, t), segments=4)),
                                    TILE_M[kind]), "ToteFloor", True)}
        for name, (c, size) in walls.items():
            pieces[name] = (_planar(mg.build_mesh(mg.box(c, size)), TILE_M[kind]), "ToteFloor", True)
        pieces["Frame"] = (mg.build_mesh(_legs(top - t, 0.55, 0.35)), "Frame", False)
        return pieces
    raise ValueError(kind)


def write_support(filename: str, root: str, kind: str) -> Path:
    """A background support: textured top, colliders (solid pieces as convex hulls, see write_table)."""
    path = OUT / filename
    stage = new_stage(path, root)
    root_prim = stage.GetPrimAtPath(f"/{root}")
    Usd.ModelAPI(root_prim).SetKind(Kind.Tokens.component)
    UsdGeom.Scope.Define(stage, f"/{root}/Looks")
    physics = define_physics_material(stage, f"/{root}/Looks/RubberPhysics", "Rubber")
    looks: dict[str, UsdShade.Material] = {}
    for name, (data, look, hull) in support_parts(kind).items():
        mesh = define_mesh(stage, f"/{root}/{name}", data)
        if look not in looks:
            mpath = f"/{root}/Looks/{look}"
            if look in SUPPORT_LOOKS:
                looks[look] = define_textured_material(stage, mpath, look)
            else:
                looks[look] = define_material(stage, mpath, look)
        bind(mesh.GetPrim(), looks[look])
        bind(mesh.GetPrim(), physics, "physics")
        UsdPhysics.CollisionAPI.Apply(mesh.GetPrim())
        if hull:
            UsdPhysics.MeshCollisionAPI.Apply(mesh.GetPrim()).CreateApproximationAttr(UsdPhysics.Tokens.convexHull)
    set_semantic_class(root_prim, kind)
    stage.GetRootLayer().Save()
    return path


def write_bin() -> Path:
    path = OUT / "bin.usda"
    stage = new_stage(path, "Bin")
    root = stage.GetPrimAtPath("/Bin")
    Usd.ModelAPI(root).SetKind(Kind.Tokens.component)
    UsdGeom.Scope.Define(stage, "/Bin/Looks")
    mesh = define_mesh(stage, "/Bin/Geom", bin_mesh())
    bind(mesh.GetPrim(), define_material(stage, "/Bin/Looks/BinPlastic", "BinPlastic"))
    bind(mesh.GetPrim(), define_physics_material(stage, "/Bin/Looks/PlasticPhysics", "Plastic"), "physics")
    UsdPhysics.CollisionAPI.Apply(mesh.GetPrim())
    set_semantic_class(root, "bin")
    stage.GetRootLayer().Save()
    return path


def _reference(stage: Usd.Stage, path: str, filename: str, translate, rotate_z: float = 0.0) -> Usd.Prim:
    xf = UsdGeom.Xform.Define(stage, path)
    xf.GetPrim().GetReferences().AddReference(f"./{filename}")
    api = UsdGeom.XformCommonAPI(xf)
    api.SetTranslate(Gf.Vec3d(*translate))
    api.SetRotate(Gf.Vec3f(0, 0, rotate_z), UsdGeom.XformCommonAPI.RotationOrderXYZ)
    return xf.GetPrim()


def write_cell(filename: str = "inspection_cell.usda", support: str = "table.usda", with_bin: bool = True) -> Path:
    """The inspection cell: table (or another support at /World/Table), bin, the three parts on the support,
    studio lights and a camera."""
    from pxr import UsdLux

    path = OUT / filename
    stage = new_stage(path, "World")
    Usd.ModelAPI(stage.GetPrimAtPath("/World")).SetKind(Kind.Tokens.assembly)
    scene = UsdPhysics.Scene.Define(stage, "/World/PhysicsScene")
    scene.CreateGravityDirectionAttr(Gf.Vec3f(0, 0, -1))
    scene.CreateGravityMagnitudeAttr(9.81)
    top = 0.75
    _reference(stage, "/World/Table", support, (0, 0, 0))
    if with_bin:
        _reference(stage, "/World/Bin", "bin.usda", (0.38, 0.18, top), 8.0)
    parts = UsdGeom.Xform.Define(stage, "/World/Parts").GetPrim()
    Usd.ModelAPI(parts).SetKind(Kind.Tokens.group)
    _reference(stage, "/World/Parts/PipeSpool", "pipe_spool.usda", (-0.05, -0.16, top + 0.11), 4.0)
    _reference(stage, "/World/Parts/Gear", "spur_gear.usda", (-0.28, 0.12, top + 0.01), 0.0)
    _reference(stage, "/World/Parts/Bracket", "bracket.usda", (0.06, 0.14, top), -25.0)
    UsdGeom.Scope.Define(stage, "/World/Lights")
    key = UsdLux.RectLight.Define(stage, "/World/Lights/Key")
    key.CreateWidthAttr(0.8)
    key.CreateHeightAttr(0.5)
    key.CreateIntensityAttr(18.0)
    key.CreateEnableColorTemperatureAttr(True)
    key.CreateColorTemperatureAttr(5600.0)
    _aim(key, (0.9, -0.9, 2.1), (0, 0, top))
    fill = UsdLux.SphereLight.Define(stage, "/World/Lights/Fill")
    fill.CreateRadiusAttr(0.15)
    fill.CreateIntensityAttr(6.0)
    fill.CreateEnableColorTemperatureAttr(True)
    fill.CreateColorTemperatureAttr(4200.0)
    _aim(fill, (-1.3, 0.7, 1.6), (0, 0, top))
    dome = UsdLux.DomeLight.Define(stage, "/World/Lights/Ambient")
    dome.CreateIntensityAttr(0.35)
    cam = UsdGeom.Camera.Define(stage, "/World/Cameras/Inspection")
    cam.CreateFocalLengthAttr(24.0)
    cam.CreateHorizontalApertureAttr(20.955)
    cam.CreateVerticalApertureAttr(15.2908)
    cam.CreateClippingRangeAttr(Gf.Vec2f(0.01, 100.0))
    _aim(cam, (0.55, -0.85, 1.45), (-0.05, 0.0, top + 0.05))
    stage.GetRootLayer().Save()
    return path


def _aim(xformable, eye, target) -> None:
    """Author translate + rotateXYZ so local -Z looks from ``eye`` at ``target`` (Z up)."""
    from wearforge.transforms import look_at_matrix, matrix_to_trs

    m = look_at_matrix(np.asarray(eye, float), np.asarray(target, float), np.array([0.0, 0.0, 1.0]))
    t, r, _ = matrix_to_trs(m)
    api = UsdGeom.XformCommonAPI(xformable)
    api.SetTranslate(Gf.Vec3d(*t))
    api.SetRotate(Gf.Vec3f(*r), UsdGeom.XformCommonAPI.RotationOrderXYZ)


def latlong(width: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth and elevation (radians) of every texel of a lat-long image (row 0 = straight up)."""
    h = width // 2
    az = (np.arange(width) + 0.5) / width * 2 * np.pi - np.pi
    el = np.pi / 2 - (np.arange(h) + 0.5) / h * np.pi
    return np.meshgrid(az, el)


def _box(az, el, az0, el0, half_w, half_h) -> np.ndarray:
    d = np.angle(np.exp(1j * (az - az0)))
    return ((np.abs(d) < half_w) & (np.abs(el - el0) < half_h)).astype(np.float32)


def studio_hdri() -> np.ndarray:
    """Photo studio: grey sweep, two large softboxes and a ceiling strip (linear RGB radiance)."""
    az, el = latlong()
    up = np.clip(el / (np.pi / 2), 0, 1)[..., None]
    img = np.where(el[..., None] > 0, 0.12 + 0.25 * up, 0.05) * np.ones(3, np.float32)
    for az0, el0, power in ((np.radians(40), np.radians(35), 9.0), (np.radians(-150), np.radians(25), 4.0)):
        img += _box(az, el, az0, el0, np.radians(14), np.radians(12))[..., None] * power * np.array([1.0, 0.98, 0.95])
    img += _box(az, el, 0.0, np.radians(80), np.pi, np.radians(4))[..., None] * 3.0
    return img.astype(np.float32)


def write_hdris() -> None:
    import cv2

    import rooms

    folder = OUT / "hdri"
    (folder / "rooms").mkdir(parents=True, exist_ok=True)
    # a ray-cast production hall (lamps, window bands, racks, machines, crates) and a softbox studio
    for name, img in (("studio_softboxes", studio_hdri()), ("factory_hall", rooms.factory_hall())):
        cv2.imwrite(str(folder / f"{name}.hdr"), img[..., ::-1])
    # more rooms, outside the default folder so texture_folder: asset:hdri keeps its two maps
    cv2.imwrite(str(folder / "rooms" / "inspection_lab.hdr"), rooms.inspection_lab()[..., ::-1])


def main(out_dir: Path = HERE) -> None:
    global OUT
    OUT = Path(out_dir)
    OUT.mkdir(parents=True, exist_ok=True)
    write_part("spur_gear.usda", "SpurGear", "gear", spur_gear(), "PaintedSteel", "Steel")
    write_part("pipe_spool.usda", "PipeSpool", "pipe_spool", pipe_spool(), "BareSteel", "Steel")
    write_part("bracket.usda", "Bracket", "bracket", bracket(), "CastAluminium", "Aluminium")
    write_part("hex_bolt.usda", "HexBolt", "bolt", hex_bolt(), "ZincPlated", "Steel")
    write_part("hex_nut.usda", "HexNut", "nut", hex_nut(), "BlackOxide", "Steel")
    write_part("washer.usda", "Washer", "washer", washer(), "ZincPlated", "Steel")
    write_part("cable_tie.usda", "CableTie", "cable_tie", cable_tie(), "Nylon", "Plastic")
    write_table()
    write_bin()
    write_cell()
    write_textures()
    for filename, root, kind in (("conveyor_belt.usda", "ConveyorBelt", "conveyor_belt"),
                                 ("workbench.usda", "Workbench", "workbench"), ("tote.usda", "Tote", "tote")):
        write_support(filename, root, kind)
        write_cell(filename.replace(".usda", "_cell.usda").replace("conveyor_belt", "conveyor"), filename,
                   with_bin=False)
    write_hdris()
    print(f"wrote twins to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
