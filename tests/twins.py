"""Twins built the way third-party and Isaac Sim assets come, for the "any twin" tests and the docs gallery.

- ``cad_assembly``: an unlabelled CAD export in centimetres, Y up: a base plate, two bolts as instanceable
  references to a bolt file (the Isaac Sim asset layout) and four nuts from a PointInstancer (one hidden
  through invisibleIds), a dome light.
- ``textured_twin``: metres, Z up, labelled in USD: EXR, HDR, 16-bit PNG and TIFF textures, a plate whose
  two GeomSubsets bind different materials, per-vertex displayColor without a material, a primvar reader,
  a Catmull-Clark mesh, a MaterialX standard_surface written in USD, a material that references a
  .mtlx document, and a missing texture file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, UsdShade, Vt

# --------------------------------------------------------------------------------------------- meshes
_FACES = [  # (normal axis, sign): quads of a unit box, each with its own st square
    (0, 1), (0, -1), (1, 1), (1, -1), (2, 1), (2, -1)]


def box_mesh(stage: Usd.Stage, path: str, size, center=(0.0, 0.0, 0.0), colors=None) -> UsdGeom.Mesh:
    """An axis-aligned box as six quads with per-face st islands (vertex interpolation, 24 points)."""
    size, center = np.asarray(size, float), np.asarray(center, float)
    points, st, normals = [], [], []
    for f, (axis, sign) in enumerate(_FACES):
        u, v = [a for a in range(3) if a != axis]
        if sign < 0:
            u, v = v, u
        for du, dv in ((0, 0), (1, 0), (1, 1), (0, 1)):
            p = np.zeros(3)
            p[axis] = 0.5 * sign
            p[u], p[v] = du - 0.5, dv - 0.5
            points.append(center + p * size)
            st.append(((f % 3 + 0.1 + 0.8 * du) / 3.0, (f // 3 + 0.1 + 0.8 * dv) / 2.0))
            n = np.zeros(3)
            n[axis] = sign
            normals.append(n)
    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, p)) for p in points]))
    mesh.CreateFaceVertexCountsAttr([4] * 6)
    mesh.CreateFaceVertexIndicesAttr(list(range(24)))
    mesh.CreateNormalsAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, n)) for n in normals]))
    mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    pv = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
    pv.Set(Vt.Vec2fArray([Gf.Vec2f(*s) for s in st]))
    if colors is not None:  # one colour per face, as CAD exporters write them
        dc = mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.uniform)
        dc.Set(Vt.Vec3fArray([Gf.Vec3f(*c) for c in colors]))
    lo, hi = center - size / 2, center + size / 2
    mesh.CreateExtentAttr([Gf.Vec3f(*lo), Gf.Vec3f(*hi)])
    return mesh


def preview_material(stage: Usd.Stage, path: str, color=(0.5, 0.5, 0.5), metallic=0.0, roughness=0.5,
                     textures: dict | None = None) -> UsdShade.Material:
    """A UsdPreviewSurface material; ``textures``: input name -> (file, sourceColorSpace, output)."""
    mat = UsdShade.Material.Define(stage, path)
    shader = UsdShade.Shader.Define(stage, f"{path}/Surface")
    shader.CreateIdAttr("UsdPreviewSurface")
    shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(*color))
    shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(float(metallic))
    shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(float(roughness))
    mat.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    if textures:
        reader = UsdShade.Shader.Define(stage, f"{path}/StReader")
        reader.CreateIdAttr("UsdPrimvarReader_float2")
        reader.CreateInput("varname", Sdf.ValueTypeNames.Token).Set("st")
        for k, (name, (file, space, output)) in enumerate(textures.items()):
            tex = UsdShade.Shader.Define(stage, f"{path}/Texture{k}")
            tex.CreateIdAttr("UsdUVTexture")
            tex.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(Sdf.AssetPath(file))
            tex.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set(space)
            tex.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(reader.ConnectableAPI(), "result")
            typ = Sdf.ValueTypeNames.Float3 if output == "rgb" else Sdf.ValueTypeNames.Float
            tex.CreateOutput(output, typ)
            kind = Sdf.ValueTypeNames.Color3f if name == "diffuseColor" else Sdf.ValueTypeNames.Float
            shader.CreateInput(name, kind).ConnectToSource(tex.ConnectableAPI(), output)
    return mat


def _bind(prim, material) -> None:
    UsdShade.MaterialBindingAPI.Apply(prim).Bind(material)


def _stage(path: Path, up: str, meters_per_unit: float, root: str) -> Usd.Stage:
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, up)
    UsdGeom.SetStageMetersPerUnit(stage, meters_per_unit)
    stage.SetDefaultPrim(UsdGeom.Xform.Define(stage, root).GetPrim())
    return stage


# ------------------------------------------------------------------------------------------ CAD twin
def cad_assembly(folder: Path) -> Path:
    """Unlabelled centimetre Y-up assembly with instanceable bolts and a point instancer of nuts."""
    folder.mkdir(parents=True, exist_ok=True)
    bolt = _stage(folder / "bolt.usda", UsdGeom.Tokens.y, 0.01, "/Bolt")
    box_mesh(bolt, "/Bolt/Head", (3.0, 1.2, 3.0), (0.0, 0.6, 0.0))
    box_mesh(bolt, "/Bolt/Shank", (1.4, 6.0, 1.4), (0.0, 4.2, 0.0))
    _bind(bolt.GetPrimAtPath("/Bolt"), preview_material(bolt, "/Bolt/Looks/Zinc", (0.7, 0.71, 0.73), 1.0, 0.35))
    bolt.GetRootLayer().Save()

    path = folder / "assembly.usda"
    stage = _stage(path, UsdGeom.Tokens.y, 0.01, "/Assembly")
    plate = box_mesh(stage, "/Assembly/Base", (40.0, 4.0, 30.0), (0.0, 2.0, 0.0))
    _bind(plate.GetPrim(), preview_material(stage, "/Assembly/Looks/Paint", (0.05, 0.16, 0.42), 0.0, 0.45))
    UsdGeom.Xform.Define(stage, "/Assembly/Bolts")
    for i, x in enumerate((-12.0, 12.0)):
        b = UsdGeom.Xform.Define(stage, f"/Assembly/Bolts/Bolt_{i}")
        b.GetPrim().GetReferences().AddReference("./bolt.usda")
        b.GetPrim().SetInstanceable(True)
        UsdGeom.XformCommonAPI(b).SetTranslate(Gf.Vec3d(x, 4.0, -6.0))
    pi = UsdGeom.PointInstancer.Define(stage, "/Assembly/Nuts")
    nut = box_mesh(stage, "/Assembly/Nuts/Prototypes/Nut", (3.0, 1.6, 3.0), (0.0, 0.8, 0.0))
    _bind(nut.GetPrim(), preview_material(stage, "/Assembly/Looks/Brass", (0.78, 0.56, 0.2), 1.0, 0.3))
    pi.CreatePrototypesRel().SetTargets([nut.GetPath()])
    pi.CreateProtoIndicesAttr([0, 0, 0, 0])
    pi.CreatePositionsAttr(Vt.Vec3fArray([Gf.Vec3f(x, 4.0, z) for x, z in
                                          ((-12.0, 8.0), (-4.0, 8.0), (4.0, 8.0), (12.0, 8.0))]))
    pi.CreateOrientationsAttr(Vt.QuathArray([Gf.Quath(1, 0, 0, 0)] * 4))
    pi.CreateInvisibleIdsAttr([3])
    dome = UsdLux.DomeLight.Define(stage, "/Assembly/Dome")
    dome.CreateIntensityAttr(1.0)
    key = UsdLux.DistantLight.Define(stage, "/Assembly/Key")
    key.CreateIntensityAttr(2.5)
    UsdGeom.XformCommonAPI(key).SetRotate(Gf.Vec3f(-60.0, 30.0, 0.0))
    stage.GetRootLayer().Save()
    return path


def cad_recipe(twin: Path) -> dict:
    """Classes from the recipe (the twin has no labels); the camera in the stage's centimetres."""
    return {"scene": {"usd": str(twin), "parts": [{"path": "/Assembly/Base", "class": "base_plate"},
                                                  {"path": "/Assembly/Bolts/*", "class": "bolt"},
                                                  {"path": "/Assembly/Nuts", "class": "nut"}]},
            "camera": {"position": [35.0, 45.0, 55.0], "look_at": [0.0, 3.0, 0.0],
                       "clipping": [1.0, 1000.0]},
            "render": {"resolution": [64, 48], "spp": 4}, "frames": 1, "seed": 3}


# ------------------------------------------------------------------------------------- textured twin
def write_textures(folder: Path) -> dict[str, Path]:
    """Checker textures in EXR, HDR (float), 16-bit PNG and 16-bit TIFF, written by their own libraries."""
    import mitsuba as mi
    import tifffile
    from PIL import Image

    if not mi.variant():
        mi.set_variant("scalar_rgb")
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:32, 0:32]
    check = ((x // 8 + y // 8) % 2).astype(np.float32)
    rgb_exr = np.stack([0.8 * check + 0.1, 0.1 + 0 * check, 0.1 + 0.2 * (1 - check)], -1).astype(np.float32)
    rgb_hdr = np.stack([0.1 + 0 * check, 0.6 * check + 0.1, 0.2 + 0 * check], -1).astype(np.float32)
    out = {"exr": folder / "paint.exr", "hdr": folder / "glow.hdr", "png16": folder / "rough16.png",
           "tiff": folder / "decal.tif"}
    mi.Bitmap(rgb_exr).write(str(out["exr"]))
    mi.Bitmap(rgb_hdr).write(str(out["hdr"]))
    Image.fromarray((check * 50000 + 5000).astype(np.uint16)).save(out["png16"])
    tiff = np.stack([check, 0.5 + 0 * check, 1 - check], -1)
    tifffile.imwrite(out["tiff"], (tiff * 65535).astype(np.uint16), photometric="rgb")
    return out


def textured_twin(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tex = write_textures(folder / "textures")
    (folder / "looks.mtlx").write_text('<?xml version="1.0"?>\n<materialx version="1.38">\n'
                                       '  <standard_surface name="SR_gold" type="surfaceshader">\n'
                                       '    <input name="base_color" type="color3" value="0.94, 0.76, 0.33" />\n'
                                       '  </standard_surface>\n</materialx>\n')
    path = folder / "textured.usda"
    stage = _stage(path, UsdGeom.Tokens.z, 1.0, "/World")
    from wearforge.semantics import set_semantic_class

    rel = lambda p: "./" + str(p.relative_to(folder))  # noqa: E731
    exr = preview_material(stage, "/World/Looks/ExrPaint", textures={"diffuseColor": (rel(tex["exr"]), "raw", "rgb")})
    png = preview_material(stage, "/World/Looks/Png16Rough", (0.8, 0.8, 0.82), 1.0,
                           textures={"roughness": (rel(tex["png16"]), "raw", "r")})
    tif = preview_material(stage, "/World/Looks/TiffDecal", textures={"diffuseColor": (rel(tex["tiff"]), "raw", "rgb")})
    hdr = preview_material(stage, "/World/Looks/HdrGlow", textures={"diffuseColor": (rel(tex["hdr"]), "raw", "rgb")})
    missing = preview_material(stage, "/World/Looks/Missing", (0.9, 0.4, 0.1),
                               textures={"diffuseColor": ("./textures/not_there.png", "sRGB", "rgb")})
    # a plate whose two halves bind different materials through GeomSubsets
    plate = box_mesh(stage, "/World/Plate/Geom", (0.5, 0.3, 0.02), (0.0, 0.0, 0.01))
    for name, faces, mat in (("Top", [4], exr), ("Rest", [0, 1, 2, 3, 5], png)):
        subset = UsdGeom.Subset.Define(stage, f"/World/Plate/Geom/{name}")
        subset.CreateElementTypeAttr(UsdGeom.Tokens.face)
        subset.CreateIndicesAttr(faces)
        subset.CreateFamilyNameAttr(UsdShade.Tokens.materialBind)
        _bind(subset.GetPrim(), mat)
    UsdGeom.Subset.SetFamilyType(UsdGeom.Imageable(plate), UsdShade.Tokens.materialBind, UsdGeom.Tokens.partition)
    set_semantic_class(stage.GetPrimAtPath("/World/Plate"), "plate")
    cubes = {"Decal": (tif, (-0.15, 0.0)), "Glow": (hdr, (0.0, 0.0)), "Broken": (missing, (0.15, 0.0))}
    for name, (mat, (x, y)) in cubes.items():
        box_mesh(stage, f"/World/{name}/Geom", (0.1, 0.1, 0.1), (x, y, 0.07))
        _bind(stage.GetPrimAtPath(f"/World/{name}/Geom"), mat)
        set_semantic_class(stage.GetPrimAtPath(f"/World/{name}"), "block")
    # per-face displayColor and no material (a CAD export), and a primvar reader feeding diffuseColor
    faces = [(0.9, 0.1, 0.1), (0.1, 0.9, 0.1), (0.1, 0.1, 0.9), (0.9, 0.9, 0.1), (0.9, 0.1, 0.9), (0.1, 0.9, 0.9)]
    box_mesh(stage, "/World/Painted/Geom", (0.08, 0.08, 0.08), (-0.15, 0.1, 0.06), colors=faces)
    reader_mesh = box_mesh(stage, "/World/Reader/Geom", (0.08, 0.08, 0.08), (0.0, 0.1, 0.06), colors=faces)
    mat = UsdShade.Material.Define(stage, "/World/Looks/FromPrimvar")
    surf = UsdShade.Shader.Define(stage, "/World/Looks/FromPrimvar/Surface")
    surf.CreateIdAttr("UsdPreviewSurface")
    reader = UsdShade.Shader.Define(stage, "/World/Looks/FromPrimvar/Color")
    reader.CreateIdAttr("UsdPrimvarReader_float3")
    reader.CreateInput("varname", Sdf.ValueTypeNames.Token).Set("displayColor")
    reader.CreateOutput("result", Sdf.ValueTypeNames.Float3)
    surf.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(reader.ConnectableAPI(), "result")
    mat.CreateSurfaceOutput().ConnectToSource(surf.ConnectableAPI(), "surface")
    _bind(reader_mesh.GetPrim(), mat)
    # Catmull-Clark control cage, and a MaterialX standard_surface written in USD
    smooth = box_mesh(stage, "/World/Smooth/Geom", (0.08, 0.08, 0.08), (0.15, 0.1, 0.06))
    smooth.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.catmullClark)
    mtlx = UsdShade.Material.Define(stage, "/World/Looks/MtlxGold")
    ss = UsdShade.Shader.Define(stage, "/World/Looks/MtlxGold/SR_gold")
    ss.CreateIdAttr("ND_standard_surface_surfaceshader")
    ss.CreateInput("base_color", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(0.94, 0.76, 0.33))
    ss.CreateInput("metalness", Sdf.ValueTypeNames.Float).Set(1.0)
    ss.CreateInput("specular_roughness", Sdf.ValueTypeNames.Float).Set(0.3)
    ss.CreateInput("transmission", Sdf.ValueTypeNames.Float).Set(0.2)
    ss.CreateOutput("out", Sdf.ValueTypeNames.Token)
    mtlx.CreateSurfaceOutput("mtlx").ConnectToSource(ss.ConnectableAPI(), "out")
    _bind(smooth.GetPrim(), mtlx)
    # a look that lives in a .mtlx document: usd-core has no MaterialX file format plugin
    doc = UsdShade.Material.Define(stage, "/World/Looks/FromDocument")
    doc.GetPrim().GetReferences().AddReference("./looks.mtlx", "/MaterialX/Materials/SR_gold")
    box_mesh(stage, "/World/Doc/Geom", (0.08, 0.08, 0.08), (0.15, -0.1, 0.06))
    _bind(stage.GetPrimAtPath("/World/Doc/Geom"), doc)
    for name in ("Painted", "Reader", "Smooth", "Doc"):
        set_semantic_class(stage.GetPrimAtPath(f"/World/{name}"), "block")
    UsdLux.DomeLight.Define(stage, "/World/Dome").CreateIntensityAttr(1.0)
    stage.GetRootLayer().Save()
    return path


def textured_recipe(twin: Path) -> dict:
    return {"scene": {"usd": str(twin)},
            "camera": {"position": [0.0, -0.55, 0.5], "look_at": [0.0, 0.0, 0.03]},
            "render": {"resolution": [64, 48], "spp": 4}, "frames": 1, "seed": 2}
