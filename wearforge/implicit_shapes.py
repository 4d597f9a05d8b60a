"""Triangle meshes for UsdGeom's implicit gprims (Cylinder, Cone, Capsule, Plane), as Hydra tessellates them.

Each shape is built around +Z and turned onto its ``axis``; every piece (side, caps) has its own region
of the unit st square, so the UVs never overlap and wear textures need no atlas.
"""

from __future__ import annotations

import numpy as np
from pxr import Usd, UsdGeom

SEGMENTS = 48


def _revolve(rows: list[tuple[float, float, float, float]], uv_box: tuple[float, float, float, float],
             segments: int = SEGMENTS):
    """A surface of revolution about +Z from profile rows (radius, z, normal r, normal z), bottom to top."""
    rows = np.asarray(rows, float)
    u = np.linspace(0.0, 1.0, segments + 1)
    angle = u * 2 * np.pi
    c, s = np.cos(angle)[None, :], np.sin(angle)[None, :]
    r, z, nr, nz = (rows[:, k:k + 1] for k in range(4))
    points = np.stack([r * c, r * s, np.broadcast_to(z, (len(rows), segments + 1))], -1).reshape(-1, 3)
    normals = np.stack([nr * c, nr * s, np.broadcast_to(nz, (len(rows), segments + 1))], -1).reshape(-1, 3)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    v = np.linspace(0.0, 1.0, len(rows))
    u0, v0, u1, v1 = uv_box
    uvs = np.stack(np.meshgrid(u0 + u * (u1 - u0), v0 + v * (v1 - v0)), -1).reshape(-1, 2)
    i, j = np.meshgrid(np.arange(len(rows) - 1), np.arange(segments), indexing="ij")
    a = (i * (segments + 1) + j).ravel()
    b, d = a + segments + 1, a + 1
    faces = np.concatenate([np.stack([a, d, b + 1], -1), np.stack([a, b + 1, b], -1)])
    area = np.linalg.norm(np.cross(points[faces[:, 1]] - points[faces[:, 0]], points[faces[:, 2]] - points[faces[:, 0]]), axis=1)
    return points, faces[area > 1e-14], normals, uvs


def _disc(radius: float, z: float, up: float, uv_box):
    """A flat cap, its st a disc inside ``uv_box``."""
    pts, faces, nrm, _ = _revolve([(0.0, z, 0.0, up), (radius, z, 0.0, up)], (0, 0, 1, 1))
    if up > 0:  # the revolved rows face down; a top cap faces up
        faces = faces[:, ::-1]
    u0, v0, u1, v1 = uv_box
    cx, cy, half = (u0 + u1) / 2, (v0 + v1) / 2, min(u1 - u0, v1 - v0) / 2
    uvs = np.stack([cx + half * pts[:, 0] / radius * up, cy + half * pts[:, 1] / radius], -1)
    return pts, faces, nrm, uvs


def _merge(pieces):
    points, faces, normals, uvs, offset = [], [], [], [], 0
    for p, f, n, uv in pieces:
        points.append(p)
        faces.append(f + offset)
        normals.append(n)
        uvs.append(uv)
        offset += len(p)
    return np.concatenate(points), np.concatenate(faces), np.concatenate(normals), np.concatenate(uvs)


def _onto_axis(mesh, axis: str):
    """Turn a +Z-built mesh onto X or Y by a cyclic permutation (keeps handedness)."""
    order = {"X": [2, 0, 1], "Y": [1, 2, 0], "Z": [0, 1, 2]}[axis]
    points, faces, normals, uvs = mesh
    return points[:, order], faces, normals[:, order], uvs


def implicit_mesh(prim: Usd.Prim):
    """(points, triangles, normals, st) of a Cylinder, Cone, Capsule or Plane; None for other prims."""
    if prim.IsA(UsdGeom.Cylinder):
        g = UsdGeom.Cylinder(prim)
        r, h = float(g.GetRadiusAttr().Get() or 1.0), float(g.GetHeightAttr().Get() or 2.0)
        mesh = _merge([_revolve([(r, -h / 2, 1, 0), (r, h / 2, 1, 0)], (0, 0, 1, 0.5)),
                       _disc(r, -h / 2, -1.0, (0, 0.5, 0.5, 1)), _disc(r, h / 2, 1.0, (0.5, 0.5, 1, 1))])
    elif prim.IsA(UsdGeom.Cone):
        g = UsdGeom.Cone(prim)
        r, h = float(g.GetRadiusAttr().Get() or 1.0), float(g.GetHeightAttr().Get() or 2.0)
        slope = np.hypot(r, h)
        mesh = _merge([_revolve([(r, -h / 2, h / slope, r / slope), (0.0, h / 2, h / slope, r / slope)], (0, 0, 1, 0.5)),
                       _disc(r, -h / 2, -1.0, (0.25, 0.5, 0.75, 1))])
    elif prim.IsA(UsdGeom.Capsule):
        g = UsdGeom.Capsule(prim)
        r, h = float(g.GetRadiusAttr().Get() or 0.5), float(g.GetHeightAttr().Get() or 1.0)
        rows = [(r * np.sin(t), -h / 2 - r * np.cos(t), np.sin(t), -np.cos(t)) for t in np.linspace(0, np.pi / 2, 9)]
        rows += [(r * np.cos(t), h / 2 + r * np.sin(t), np.cos(t), np.sin(t)) for t in np.linspace(0, np.pi / 2, 9)]
        mesh = _revolve(rows, (0, 0, 1, 1))
    elif prim.IsA(UsdGeom.Plane):
        g = UsdGeom.Plane(prim)
        w, length = float(g.GetWidthAttr().Get() or 2.0), float(g.GetLengthAttr().Get() or 2.0)
        points = np.array([(-w / 2, -length / 2, 0), (w / 2, -length / 2, 0), (w / 2, length / 2, 0), (-w / 2, length / 2, 0)])
        mesh = (points, np.array([(0, 1, 2), (0, 2, 3)]), np.tile((0.0, 0.0, 1.0), (4, 1)),
                np.array([(0, 0), (1, 0), (1, 1), (0, 1)], float))
    else:
        return None
    axis = UsdGeom.Gprim(prim).GetPrim().GetAttribute("axis").Get() or "Z"
    return _onto_axis(mesh, str(axis))
