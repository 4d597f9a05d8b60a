"""Preflight checks of a twin's USD data: what the renderer and the wear kernels would trip over.

``validate`` and ``generate`` run the same checks, so a twin that passes ``validate`` renders. Each
problem is an InputError naming the file and the prim (the attribute in the message).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pxr import Usd, UsdGeom, UsdLux

from wearforge.errors import InputError

# a primvar's interpolation -> how many values it needs (points, faces, face-vertices)
_EXPECTED = {"vertex": "points", "varying": "points", "faceVarying": "face-vertices", "uniform": "faces",
             "constant": None}


def check_twin(stage: Usd.Stage, source: str) -> None:
    """Raise InputError for the first problem in the stage's units, transforms, meshes and lights.

    Material textures are not refused: a missing or unreadable one is a warning and the material's fallback
    value (wearforge.twin_materials); dome textures, which light the whole scene, are checked here.
    """
    mpu = UsdGeom.GetStageMetersPerUnit(stage)
    if not (math.isfinite(mpu) and mpu > 0):
        raise InputError(f"metersPerUnit is {mpu}; it must be a positive number (1 = metres, 0.01 = cm)",
                         source=source, field="metersPerUnit")
    cache = UsdGeom.XformCache()
    for prim in stage.Traverse():
        if prim.IsA(UsdGeom.Gprim):
            _check_transform(prim, cache, source)
        if prim.IsA(UsdGeom.Mesh):
            check_mesh(UsdGeom.Mesh(prim), source)
        elif prim.IsA(UsdGeom.Gprim):
            _check_extent_attrs(prim, source)
        if prim.HasAPI(UsdLux.LightAPI) or prim.IsA(UsdLux.BoundableLightBase) or prim.IsA(UsdLux.NonboundableLightBase):
            _check_light(prim, source)


def check_mesh(mesh: UsdGeom.Mesh, source: str) -> None:
    """Topology and primvar sizes of one mesh (the reader indexes points and UVs by these)."""
    where = str(mesh.GetPath())

    def fail(what: str) -> None:
        raise InputError(f"mesh {where}: {what}", source=source)

    points = mesh.GetPointsAttr().Get()
    counts = mesh.GetFaceVertexCountsAttr().Get()
    indices = mesh.GetFaceVertexIndicesAttr().Get()
    if not points or not counts or not indices:
        return  # an empty mesh renders as nothing (the reader skips it)
    points = np.asarray(points, np.float64)
    counts = np.asarray(counts, np.int64)
    indices = np.asarray(indices, np.int64)
    if not np.all(np.isfinite(points)):
        fail(f"{int((~np.isfinite(points)).any(axis=1).sum())} point(s) are NaN or infinite")
    if np.any(counts < 0):
        fail("faceVertexCounts holds negative counts")
    if counts.sum() != len(indices):
        fail(f"faceVertexCounts add up to {int(counts.sum())} but faceVertexIndices has {len(indices)} entries")
    if indices.min() < 0 or indices.max() >= len(points):
        fail(f"faceVertexIndices reach {int(indices.max())} (or below 0) but there are {len(points)} points")
    sizes = {"points": len(points), "faces": len(counts), "face-vertices": len(indices)}
    for pv in UsdGeom.PrimvarsAPI(mesh).GetPrimvars():
        if not pv.HasValue():
            continue
        _check_primvar(pv, sizes, fail)
    normals = mesh.GetNormalsAttr().Get()
    if normals:
        expected = _EXPECTED.get(str(mesh.GetNormalsInterpolation()))
        if expected and len(normals) != sizes[expected]:
            fail(f"normals ({mesh.GetNormalsInterpolation()}) has {len(normals)} values, expected {sizes[expected]}")
        if not np.all(np.isfinite(np.asarray(normals, np.float64))):
            fail("normals hold NaN or infinite values")


def _check_primvar(pv: UsdGeom.Primvar, sizes: dict[str, int], fail) -> None:
    name = pv.GetPrimvarName()
    value = pv.Get()
    try:
        data = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        return  # strings, tokens: not indexed by topology
    if data.ndim == 0:
        return
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        fail(f"primvar {name} holds NaN or infinite values")
    expected = _EXPECTED.get(str(pv.GetInterpolation()))
    if expected is None:
        return
    if pv.IsIndexed():
        idx = np.asarray(pv.GetIndices(), np.int64)
        if len(idx) != sizes[expected]:
            fail(f"primvar {name} ({pv.GetInterpolation()}) has {len(idx)} indices, expected {sizes[expected]}")
        if len(idx) and (idx.min() < 0 or idx.max() >= len(data)):
            fail(f"primvar {name} indices reach {int(idx.max())} but it has {len(data)} values")
    elif len(data) != sizes[expected]:
        fail(f"primvar {name} ({pv.GetInterpolation()}) has {len(data)} values, expected {sizes[expected]}")


def _check_extent_attrs(prim: Usd.Prim, source: str) -> None:
    for name in ("size", "radius"):
        attr = prim.GetAttribute(name)
        if attr and attr.HasAuthoredValue():
            v = attr.Get()
            if v is not None and not (math.isfinite(float(v)) and float(v) > 0):
                raise InputError(f"{prim.GetPath()}: {name} is {v}; it must be a positive number", source=source)


def _check_image(asset, owner: str, source: str) -> None:
    if asset is None or not (asset.resolvedPath or asset.path):
        return
    path = Path(asset.resolvedPath or asset.path)
    if not asset.resolvedPath or not path.is_file():
        raise InputError(f"texture {asset.path!r} of {owner} is not found", source=source)


def _check_light(prim: Usd.Prim, source: str) -> None:
    """Light values the renderer turns into radiance: finite, and intensity not negative."""
    for name in ("inputs:intensity", "inputs:exposure", "inputs:color", "inputs:radius", "inputs:width",
                 "inputs:height", "inputs:angle"):
        attr = prim.GetAttribute(name)
        value = attr.Get() if attr and attr.HasAuthoredValue() else None
        if value is None:
            continue
        data = np.atleast_1d(np.asarray(value, np.float64))
        if not np.all(np.isfinite(data)):
            raise InputError(f"light {prim.GetPath()}: {name} is {value}", source=source)
        if name != "inputs:exposure" and np.any(data < 0):
            raise InputError(f"light {prim.GetPath()}: {name} is negative ({value})", source=source)
    if prim.IsA(UsdLux.DomeLight):
        _check_image(UsdLux.DomeLight(prim).GetTextureFileAttr().Get(), f"dome light {prim.GetPath()}", source)


def _check_transform(prim: Usd.Prim, cache: UsdGeom.XformCache, source: str) -> None:
    """A world transform the renderer can invert (normals) and that keeps points finite."""
    m = np.array(cache.GetLocalToWorldTransform(prim), np.float64)
    if not np.all(np.isfinite(m)):
        raise InputError(f"{prim.GetPath()}: its transform holds NaN or infinite values", source=source)
    if abs(np.linalg.det(m[:3, :3])) < 1e-18:
        raise InputError(f"{prim.GetPath()}: its transform has zero scale (it cannot be inverted)", source=source)
