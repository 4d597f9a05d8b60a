"""A minimal twin: one flat square plate, the smallest USD asset the pipeline takes end to end.

Used by close-up examples, benchmarks and tests that need a surface of known size and orientation (dents,
grooves, cracks at inspection scale) rather than a realistic part.
"""

from __future__ import annotations

from pathlib import Path


def write_plate_twin(path: str | Path, half: float, label: str | None = "plate",
                     diffuse: tuple[float, float, float] | None = None, meters_per_unit: float = 1.0) -> Path:
    """Write a ``2 * half`` wide square plate in z = 0 facing +z (Z up) to ``path`` and return the path.

    The plate is ``/Plate/Geom`` under an Xform ``/Plate`` carrying the semantic class ``label`` (None: no
    label), with UVs over the whole square, vertex normals and a bound UsdPreviewSurface (whose
    ``diffuseColor`` is ``diffuse`` when given), which the material randomizer needs to set a preset.
    ``meters_per_unit`` is authored, since an unauthored value means centimetres.
    """
    from pxr import Sdf, Usd, UsdGeom, UsdShade

    from wearforge.semantics import set_semantic_class

    path = Path(path)
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, float(meters_per_unit))
    part = UsdGeom.Xform.Define(stage, "/Plate")
    if label:
        set_semantic_class(part.GetPrim(), label)
    mesh = UsdGeom.Mesh.Define(stage, "/Plate/Geom")
    mesh.CreatePointsAttr([(-half, -half, 0), (half, -half, 0), (half, half, 0), (-half, half, 0)])
    mesh.CreateFaceVertexCountsAttr([4])
    mesh.CreateFaceVertexIndicesAttr([0, 1, 2, 3])
    mesh.CreateNormalsAttr([(0, 0, 1)] * 4)
    st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
    st.Set([(0, 0), (1, 0), (1, 1), (0, 1)])
    material = UsdShade.Material.Define(stage, "/Plate/Looks/Surface")
    shader = UsdShade.Shader.Define(stage, "/Plate/Looks/Surface/Shader")
    shader.CreateIdAttr("UsdPreviewSurface")
    if diffuse is not None:
        shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(tuple(map(float, diffuse)))
    material.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)
    stage.GetRootLayer().Save()
    return path
