"""The bundled twins: compliant USD, real geometry, clean UVs, physics and labels, reproducible."""

import sys
from pathlib import Path

import numpy as np
import pytest
from pxr import Usd, UsdGeom, UsdPhysics, UsdShade, UsdUtils

from wearforge.meshgen import triangulate
from wearforge.recipe import ASSETS_DIR
from wearforge.semantics import semantic_class

ASSETS = sorted(ASSETS_DIR.glob("*.usda"))
PARTS = {"spur_gear": "gear", "pipe_spool": "pipe_spool", "bracket": "bracket", "hex_bolt": "bolt", "hex_nut": "nut",
         "washer": "washer", "cable_tie": "cable_tie"}


@pytest.mark.parametrize("path", ASSETS, ids=lambda p: p.stem)
def test_asset_passes_the_compliance_checker(path):
    checker = UsdUtils.ComplianceChecker(arkit=False, skipARKitRootLayerCheck=False, rootPackageOnly=False,
                                         skipVariants=False, verbose=False)
    checker.CheckCompliance(str(path))
    assert checker.GetErrors() == [] and checker.GetFailedChecks() == [], checker.GetFailedChecks()


@pytest.mark.parametrize("path", ASSETS, ids=lambda p: p.stem)
def test_asset_metadata_and_materials(path):
    stage = Usd.Stage.Open(str(path))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetDefaultPrim()
    meshes = [UsdGeom.Mesh(p) for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)]
    assert meshes
    for mesh in meshes:
        mat, _ = UsdShade.MaterialBindingAPI(mesh.GetPrim()).ComputeBoundMaterial()
        shader = mat.ComputeSurfaceSource()[0]
        assert shader.GetIdAttr().Get() == "UsdPreviewSurface"
        assert mesh.GetPrim().HasAPI(UsdPhysics.CollisionAPI)
        assert UsdGeom.PrimvarsAPI(mesh).GetPrimvar("st").HasValue() and mesh.GetNormalsAttr().HasValue()


def _uv_coverage(uvs: np.ndarray, tris: np.ndarray, res: int = 512) -> np.ndarray:
    """How many triangles cover each texel centre (strictly inside)."""
    cover = np.zeros((res, res), np.int32)
    for a, b, c in uvs[tris] * res:
        lo = np.floor(np.minimum(np.minimum(a, b), c)).astype(int).clip(0, res)
        hi = np.ceil(np.maximum(np.maximum(a, b), c)).astype(int).clip(0, res)
        xs, ys = np.meshgrid(np.arange(lo[0], hi[0]) + 0.5, np.arange(lo[1], hi[1]) + 0.5)
        e = lambda p, q: (q[0] - p[0]) * (ys - p[1]) - (q[1] - p[1]) * (xs - p[0])  # noqa: E731
        w0, w1, w2 = e(b, c), e(c, a), e(a, b)
        inside = ((w0 > 0) & (w1 > 0) & (w2 > 0)) | ((w0 < 0) & (w1 < 0) & (w2 < 0))
        cover[ys[inside].astype(int), xs[inside].astype(int)] += 1
    return cover


@pytest.mark.parametrize("name", sorted(PARTS))
def test_part_geometry_is_closed_with_clean_uvs_and_labelled(name):
    stage = Usd.Stage.Open(str(ASSETS_DIR / f"{name}.usda"))
    root = stage.GetDefaultPrim()
    assert semantic_class(root) == PARTS[name]
    assert root.HasAPI(UsdPhysics.RigidBodyAPI) and UsdPhysics.MassAPI(root).GetMassAttr().Get() > 0
    mesh = UsdGeom.Mesh(stage.GetPrimAtPath(f"{root.GetPath()}/Geom"))
    pts = np.asarray(mesh.GetPointsAttr().Get(), float)
    tris = triangulate(mesh.GetFaceVertexCountsAttr().Get(), mesh.GetFaceVertexIndicesAttr().Get())
    a, b, c = pts[tris[:, 0]], pts[tris[:, 1]], pts[tris[:, 2]]
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6
    assert volume > 0  # closed and wound outward
    uvs = np.asarray(UsdGeom.PrimvarsAPI(mesh).GetPrimvar("st").Get(), float)
    assert uvs.min() >= 0 and uvs.max() <= 1
    cover = _uv_coverage(uvs, tris)
    assert cover.max() == 1, "overlapping UV islands"
    assert (cover > 0).mean() > 0.3


def test_part_volumes_match_their_drawings():
    def volume(name):
        stage = Usd.Stage.Open(str(ASSETS_DIR / f"{name}.usda"))
        mesh = UsdGeom.Mesh(stage.GetPrimAtPath(f"{stage.GetDefaultPrim().GetPath()}/Geom"))
        pts = np.asarray(mesh.GetPointsAttr().Get(), float)
        t = triangulate(mesh.GetFaceVertexCountsAttr().Get(), mesh.GetFaceVertexIndicesAttr().Get())
        return np.einsum("ij,ij->i", pts[t[:, 0]], np.cross(pts[t[:, 1]], pts[t[:, 2]])).sum() / 6

    pipe = np.pi * (0.057**2 - 0.051**2) * 0.41 + 2 * 0.02 * (np.pi * (0.11**2 - 0.051**2) - 8 * np.pi * 0.009**2)
    bracket = 0.003 * 0.08 * (0.17 + np.pi / 2 * 0.0065) - 3 * np.pi * 0.0045**2 * 0.003
    gear_disk = np.pi * (0.048**2 - 0.012**2) * 0.02  # pitch-circle disk: teeth add as much as the gaps remove
    assert volume("pipe_spool") == pytest.approx(pipe, rel=0.01)
    assert volume("bracket") == pytest.approx(bracket, rel=0.01)
    assert volume("spur_gear") == pytest.approx(gear_disk, rel=0.03)


def test_gear_has_real_involute_teeth():
    sys.path.insert(0, str(ASSETS_DIR))
    import build_assets

    outline = build_assets.gear_outline(0.004, 24, 20.0)
    r = np.hypot(outline[:, 0], outline[:, 1])
    assert r.max() == pytest.approx(0.052, abs=1e-9) and r.min() == pytest.approx(0.043, abs=1e-9)
    tips = (r > 0.0519).astype(int)
    assert np.count_nonzero(np.diff(np.concatenate([tips, tips[:1]])) == 1) == 24


def test_build_script_reproduces_the_committed_files(tmp_path):
    sys.path.insert(0, str(ASSETS_DIR))
    import build_assets

    build_assets.main(tmp_path)
    for committed in ASSETS:
        assert (tmp_path / committed.name).read_bytes() == committed.read_bytes(), committed.name
    textures = sorted((ASSETS_DIR / "textures").glob("*.png"))
    assert len(textures) == 3
    for committed in textures:
        assert (tmp_path / "textures" / committed.name).read_bytes() == committed.read_bytes(), committed.name
    assert Path(build_assets.__file__).parent == ASSETS_DIR
