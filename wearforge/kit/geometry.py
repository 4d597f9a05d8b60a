"""Mesh layouts that wearforge changed (a per-triangle UV atlas) authored on the Kit stage."""

from __future__ import annotations

from wearforge.errors import InputError


def author_mesh(stage, layer, geo) -> None:
    """Author ``geo`` (a MeshGeometry in the prim's local space) on ``layer`` as the prim's points, triangles,
    vertex normals and vertex ``st``; prims that are not UsdGeom.Mesh cannot take a new layout."""
    from pxr import Sdf, Usd, UsdGeom, Vt

    prim = stage.GetPrimAtPath(geo.prim_path)
    if not prim.IsA(UsdGeom.Mesh):
        raise InputError(f"{geo.prim_path} needs a UV atlas for its wear, which only a UsdGeom.Mesh can take; "
                         "give it non-overlapping UVs in the twin", source=stage.GetRootLayer().identifier)
    mesh = UsdGeom.Mesh(prim)
    with Usd.EditContext(stage, layer):
        mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(geo.points.astype("float32")))
        mesh.CreateFaceVertexCountsAttr(Vt.IntArray([3] * len(geo.faces)))
        mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(geo.faces.astype("int32").ravel()))
        if geo.normals is not None:
            mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(geo.normals.astype("float32")))
            mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
        primvars = UsdGeom.PrimvarsAPI(prim)
        for pv in primvars.GetPrimvars():  # stale face-varying indices would no longer match the topology
            if pv.GetInterpolation() in (UsdGeom.Tokens.faceVarying, UsdGeom.Tokens.vertex) and pv.GetName() != "st":
                pv.GetAttr().Block()
        st = primvars.CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
        st.Set(Vt.Vec2fArray.FromNumpy(geo.uvs.astype("float32")))
        if st.IsIndexed():
            st.BlockIndices()
