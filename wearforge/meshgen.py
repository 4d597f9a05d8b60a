"""Procedural meshes with clean UVs for the sample twins and tests.

A mesh is built from *patches*: grids of points (a plane, a cylinder, an extruded outline, a ring
around a hole). Each patch carries its own UV island measured in world units, so texel density is
uniform, and islands are packed into [0, 1]^2 without overlap. Vertices are not shared between
patches (UV seams), normals are smooth inside a patch and hard across patch borders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Patch:
    """Quads over a (nu+1) x (nv+1) grid of points, with a UV island in world units."""

    points: np.ndarray  # (nu+1, nv+1, 3)
    uv: np.ndarray  # (nu+1, nv+1, 2), world units; injective on the patch

    def quads(self, offset: int = 0) -> np.ndarray:
        nu, nv = self.points.shape[0] - 1, self.points.shape[1] - 1
        i, j = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
        base = i * (nv + 1) + j
        q = np.stack([base, base + (nv + 1), base + (nv + 1) + 1, base + 1], axis=-1).reshape(-1, 4)
        return q + offset


@dataclass
class MeshData:
    """Triangle-or-quad mesh with per-vertex normals and UVs (UsdGeom.Mesh friendly)."""

    points: np.ndarray  # (N, 3) float
    normals: np.ndarray  # (N, 3) float
    uvs: np.ndarray  # (N, 2) float in [0, 1]
    face_counts: np.ndarray  # (F,) int
    face_indices: np.ndarray  # (sum counts,) int
    islands: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # (N,) island per vertex

    def triangles(self) -> np.ndarray:
        """Fan-triangulated faces, (T, 3)."""
        return triangulate(self.face_counts, self.face_indices)

    def signed_volume(self) -> float:
        """Volume enclosed (positive when faces wind counter-clockwise seen from outside)."""
        t = self.triangles()
        a, b, c = self.points[t[:, 0]], self.points[t[:, 1]], self.points[t[:, 2]]
        return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def triangulate(face_counts: np.ndarray, face_indices: np.ndarray) -> np.ndarray:
    """Fan-triangulate polygons given as USD faceVertexCounts/faceVertexIndices."""
    counts = np.asarray(face_counts, dtype=np.int64)
    idx = np.asarray(face_indices, dtype=np.int64)
    if counts.size and np.all(counts == 3):
        return idx.reshape(-1, 3)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n_tris = counts - 2
    face_of = np.repeat(np.arange(counts.size), n_tris)
    k = np.arange(n_tris.sum()) - np.repeat(np.cumsum(n_tris) - n_tris, n_tris)
    s = starts[face_of]
    return np.stack([idx[s], idx[s + k + 1], idx[s + k + 2]], axis=-1)


# ---------------------------------------------------------------------------------------- patches
def grid(points: np.ndarray, uv: np.ndarray, outward: np.ndarray | None = None) -> Patch:
    """A patch from grids; flipped when its mean normal disagrees with ``outward`` (N,3 or 3)."""
    p = Patch(np.asarray(points, float), np.asarray(uv, float))
    if outward is not None:
        n = _face_normals(p)
        centers = p.points[:-1, :-1]
        hint = np.broadcast_to(np.asarray(outward, float), centers.shape) if np.ndim(outward) == 1 else outward
        if np.sum(n * hint) < 0:
            p = Patch(p.points[:, ::-1].copy(), p.uv[:, ::-1].copy())
    return p


def _face_normals(p: Patch) -> np.ndarray:
    a = p.points[1:, :-1] - p.points[:-1, :-1]
    b = p.points[:-1, 1:] - p.points[:-1, :-1]
    c = p.points[1:, 1:] - p.points[:-1, :-1]
    return np.cross(a, b) + np.cross(c, b) + np.cross(a, c)


def plane_rect(origin, u_axis, v_axis, size_u: float, size_v: float, nu: int = 1, nv: int = 1,
               outward=None) -> Patch:
    """Rectangle origin + s*u_axis + t*v_axis, s in [0, size_u], t in [0, size_v]."""
    s = np.linspace(0, size_u, nu + 1)
    t = np.linspace(0, size_v, nv + 1)
    S, T = np.meshgrid(s, t, indexing="ij")
    pts = np.asarray(origin, float) + S[..., None] * np.asarray(u_axis, float) + T[..., None] * np.asarray(v_axis, float)
    normal = np.cross(u_axis, v_axis) if outward is None else outward
    return grid(pts, np.stack([S, T], -1), normal)


def box(center, size, segments: int = 1) -> list[Patch]:
    """Six outward-facing rectangles of an axis-aligned box."""
    c, s = np.asarray(center, float), np.asarray(size, float)
    patches = []
    for axis in range(3):
        u, v = (axis + 1) % 3, (axis + 2) % 3
        for sign in (-1.0, 1.0):
            origin = c - s / 2
            origin[axis] = c[axis] + sign * s[axis] / 2
            eu, ev, n = np.eye(3)[u], np.eye(3)[v], np.eye(3)[axis] * sign
            patches.append(plane_rect(origin, eu, ev, s[u], s[v], segments, segments, outward=n))
    return patches


def sweep(profile_xy: np.ndarray, z0: float, z1: float, outward_sign: float = 1.0, nz: int = 1,
          closed: bool = True) -> Patch:
    """Extrude a planar outline (M,2) along z; UV = (arc length, z)."""
    prof = np.asarray(profile_xy, float)
    if closed:
        prof = np.vstack([prof, prof[:1]])
    z = np.linspace(z0, z1, nz + 1)
    pts = np.concatenate([np.repeat(prof[:, None, :], nz + 1, 1), np.broadcast_to(z[None, :, None], (len(prof), nz + 1, 1))], -1)
    arc = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(prof, axis=0), axis=1))])
    A, Z = np.meshgrid(arc, z, indexing="ij")
    # outward: the outline's right-hand normal for counter-clockwise outlines
    tangent = np.gradient(prof, axis=0)
    normal2d = np.stack([tangent[:, 1], -tangent[:, 0]], -1) * outward_sign
    hint = np.concatenate([normal2d, np.zeros((len(prof), 1))], -1)[:-1, None, :].repeat(nz, 1)
    return grid(pts, np.stack([A, Z], -1), hint)


def ring(inner_xy: np.ndarray, outer_xy: np.ndarray, z: float, up: float = 1.0, nr: int = 2) -> Patch:
    """Planar band between two closed outlines with matching point counts (star-shaped region)."""
    inner = np.vstack([inner_xy, inner_xy[:1]])
    outer = np.vstack([outer_xy, outer_xy[:1]])
    t = np.linspace(0, 1, nr + 1)
    xy = inner[:, None, :] * (1 - t)[None, :, None] + outer[:, None, :] * t[None, :, None]
    pts = np.concatenate([xy, np.full(xy.shape[:2] + (1,), z)], -1)
    return grid(pts, xy.copy(), np.array([0.0, 0.0, up]))


def circle(center_xy, radius: float, n: int, start: float = 0.0) -> np.ndarray:
    a = start + np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.asarray(center_xy, float) + radius * np.stack([np.cos(a), np.sin(a)], -1)


def star_boundary(polygon: np.ndarray, center, angles: np.ndarray) -> np.ndarray:
    """Where rays from ``center`` at ``angles`` leave a polygon that is star-shaped about it."""
    poly = np.asarray(polygon, float)
    c = np.asarray(center, float)
    a, b = poly, np.roll(poly, -1, axis=0)
    d = np.stack([np.cos(angles), np.sin(angles)], -1)  # (K,2)
    e = b - a  # (E,2)
    # solve c + t d = a + s e for every ray/edge pair
    denom = d[:, None, 0] * e[None, :, 1] - d[:, None, 1] * e[None, :, 0]
    w = a[None] - c
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (w[..., 0] * e[None, :, 1] - w[..., 1] * e[None, :, 0]) / denom
        s = (w[..., 0] * d[:, None, 1] - w[..., 1] * d[:, None, 0]) / denom
    ok = (np.abs(denom) > 1e-15) & (s >= -1e-9) & (s <= 1 + 1e-9) & (t > 1e-12)
    t = np.where(ok, t, np.inf).min(axis=1)
    if not np.all(np.isfinite(t)):
        raise ValueError("polygon is not star-shaped about the given center")
    return c + t[:, None] * d


def plate_with_hole(rect_min, rect_max, hole_center, hole_radius: float, z: float, up: float,
                    n: int = 48, nr: int = 2) -> Patch:
    """A rectangle with a round hole, as a ring from the hole to the rectangle's border."""
    (x0, y0), (x1, y1) = rect_min, rect_max
    rect = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
    return hole_ring(rect, hole_center, hole_radius, z, up, n, nr)


def hole_ring(outline: np.ndarray, hole_center, hole_radius: float, z: float, up: float,
              n: int = 48, nr: int = 2) -> Patch:
    """A planar region bounded by ``outline`` (star-shaped about the hole) minus a round hole."""
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False) + np.pi / n
    inner = circle(hole_center, hole_radius, n, start=np.pi / n)
    # include the outline's corners so straight borders stay exact
    outer = star_boundary(outline, hole_center, angles)
    return ring(inner, outer, z, up, nr)


# ---------------------------------------------------------------------------------- transforms
def transform(patches: list[Patch], matrix: np.ndarray) -> list[Patch]:
    """Apply a 4x4 (column-vector) rigid transform to patch points; winding follows det sign."""
    m = np.asarray(matrix, float)
    out = []
    for p in patches:
        pts = p.points @ m[:3, :3].T + m[:3, 3]
        if np.linalg.det(m[:3, :3]) < 0:
            out.append(Patch(pts[:, ::-1].copy(), p.uv[:, ::-1].copy()))
        else:
            out.append(Patch(pts, p.uv))
    return out


def rotation(axis: str, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    i = "xyz".index(axis)
    j, k = (i + 1) % 3, (i + 2) % 3
    m = np.eye(4)
    m[j, j], m[j, k], m[k, j], m[k, k] = c, -s, s, c
    return m


def translation(offset) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = offset
    return m


# ---------------------------------------------------------------------------------------- atlas
def split_long(p: Patch, max_len: float) -> list[Patch]:
    """Split a patch along its grid axes so no island is longer than ``max_len`` world units."""
    out = []
    for piece in _split_axis(p, max_len, axis=0):
        out.extend(_split_axis(piece, max_len, axis=1))
    return out


def _split_axis(p: Patch, max_len: float, axis: int) -> list[Patch]:
    # arc length along the grid axis, measured on the first row/column of the UV island
    uv = p.uv[:, 0] if axis == 0 else p.uv[0, :]
    steps = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(uv, axis=0), axis=1))])
    span = steps[-1]
    if span <= max_len or p.points.shape[axis] < 3:
        return [p]
    pieces = int(np.ceil(span / max_len))
    cuts = np.unique(np.searchsorted(steps, np.linspace(0, span, pieces + 1)[1:-1]))
    bounds = [0, *[int(c) for c in cuts if 0 < c < len(steps) - 1], len(steps) - 1]
    take = (lambda a, b: (slice(a, b + 1), slice(None))) if axis == 0 else (lambda a, b: (slice(None), slice(a, b + 1)))
    return [Patch(p.points[take(a, b)], p.uv[take(a, b)]) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def build_mesh(patches: list[Patch], padding_texels: float = 4.0, atlas_texels: int = 1024,
               max_island: float | None = None) -> MeshData:
    """Pack patch islands into [0,1]^2 (shelf packing, uniform texel density) and assemble a mesh."""
    if max_island is None:
        area = sum(np.ptp(p.uv[..., 0]) * np.ptp(p.uv[..., 1]) for p in patches)
        max_island = max(np.sqrt(area) * 0.9, 1e-6)
    islands = [q for p in patches for q in split_long(p, max_island)]
    sizes = np.array([[np.ptp(q.uv[..., 0]), np.ptp(q.uv[..., 1])] for q in islands])
    offsets, scale = _pack(sizes, padding_texels / atlas_texels)
    pts, nrm, uvs, faces, island_of = [], [], [], [], []
    count = 0
    for k, (q, off) in enumerate(zip(islands, offsets)):
        local = q.uv - q.uv.reshape(-1, 2).min(axis=0)
        uv = (local * scale + off).reshape(-1, 2)
        p = q.points.reshape(-1, 3)
        pts.append(p)
        nrm.append(_vertex_normals(q).reshape(-1, 3))
        uvs.append(uv)
        faces.append(q.quads(count))
        island_of.append(np.full(len(p), k, np.int32))
        count += len(p)
    quads = np.concatenate(faces)
    return MeshData(
        points=np.concatenate(pts),
        normals=np.concatenate(nrm),
        uvs=np.concatenate(uvs),
        face_counts=np.full(len(quads), 4, np.int32),
        face_indices=quads.reshape(-1).astype(np.int32),
        islands=np.concatenate(island_of),
    )


def _vertex_normals(p: Patch) -> np.ndarray:
    n = _face_normals(p)
    acc = np.zeros_like(p.points)
    acc[:-1, :-1] += n
    acc[1:, :-1] += n
    acc[:-1, 1:] += n
    acc[1:, 1:] += n
    length = np.linalg.norm(acc, axis=-1, keepdims=True)
    return acc / np.maximum(length, 1e-20)


def _pack(sizes: np.ndarray, pad: float) -> tuple[np.ndarray, float]:
    """Shelf-pack rectangles (world units) into the unit square; returns offsets and the scale."""
    order = np.argsort(-sizes[:, 1], kind="stable")
    total = float(np.sum((sizes[:, 0]) * (sizes[:, 1])))
    best = None
    for k in np.linspace(1.0, 2.5, 16):
        width = max(np.sqrt(total) * k, sizes[:, 0].max())
        # try a layout in world units, padding converted at the final scale (iterate twice)
        scale = 1.0 / width
        for _ in range(3):
            gap = pad / scale
            pos, x, y, row_h, used_w = {}, 0.0, 0.0, 0.0, 0.0
            for i in order:
                w, h = sizes[i]
                if x > 0 and x + w > width:
                    x, y, row_h = 0.0, y + row_h + gap, 0.0
                pos[i] = (x, y)
                x += w + gap
                row_h = max(row_h, h)
                used_w = max(used_w, x - gap)
            extent = max(used_w, y + row_h) + 2 * gap
            scale = 1.0 / extent
        if best is None or scale > best[1]:
            best = (pos, scale, gap)
    pos, scale, gap = best
    offsets = np.array([[(pos[i][0] + gap) * scale, (pos[i][1] + gap) * scale] for i in range(len(sizes))])
    return offsets, scale
