"""Displace a mesh by a wear stack's displacement map (dents): conforming refinement, then move vertices.

Triangles whose texture footprint holds displacement are split until their longest edge is about two texels
long (legs of about 1.4 texels), so the mesh carries the relief the map holds. Refinement is conforming (no T-junctions, hence no
cracks): each level marks every edge of the flagged triangles and splits each triangle of the mesh into
2, 3 or 4 by how many of its edges are marked. Edges are matched by position, not by vertex index, so
both sides of a UV seam (vertices duplicated with different UVs) split the same edge at the same point.
Vertices then move along their normal by the map's bilinear value at their UV; vertices sharing a
position move by the mean of their offsets, so seams and hard edges stay closed. Shading normals of the
moved region are rotated by how much the area-weighted normals turned, which leaves them bit-identical
wherever nothing moved.

Pure numpy, no renderer: the standalone backend calls it per mesh and frame; a mesh whose map is zero
everywhere is returned as ``None`` (the caller keeps it untouched).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from wearforge.twin_reader import MeshGeometry

# Split triangles whose longest edge spans more than this many texels of the displacement map (where it is
# not negligible): the right triangles the splits make then have legs of about 1.4 texels.
EDGE_TEXELS = 2.0
# Displacement below this fraction of the map's largest magnitude does not call for refinement (a dent's
# lip decays smoothly to exactly zero only far out); it still moves the vertices it reaches.
NEGLIGIBLE = 1e-3
# At most this many triangles per mesh: refinement stops at the last level that fits (coarser relief).
MAX_TRIANGLES = 400_000
MAX_LEVELS = 24


@dataclass
class Displaced:
    """The refined mesh, moved (``mesh``) and as it was (``flat``: same topology, undisplaced surface)."""

    mesh: MeshGeometry
    flat: MeshGeometry
    moved_vertices: int


def displace(geo: MeshGeometry, displacement: np.ndarray | None, edge_texels: float = EDGE_TEXELS,
             max_triangles: int = MAX_TRIANGLES) -> Displaced | None:
    """``geo`` refined under the non-zero part of ``displacement`` ((R, R) object units along the normal, row 0
    at t = 1, as a wear stack's maps) and displaced by it; None when the map moves nothing on this mesh."""
    if displacement is None or geo.uvs is None or not np.any(displacement):
        return None
    disp = np.asarray(displacement, np.float64)
    res = disp.shape[0]
    sat = _summed_area(np.abs(disp) > NEGLIGIBLE * np.abs(disp).max())
    points = geo.points.astype(np.float64)
    uvs = geo.uvs.astype(np.float64)
    normals = None if geo.normals is None else geo.normals.astype(np.float64)
    colors = None if geo.colors is None else geo.colors.astype(np.float64)
    faces = geo.faces.astype(np.int64)
    if not _touches(uvs, faces, sat, res).any():
        return None
    for _ in range(MAX_LEVELS):
        flagged = _touches(uvs, faces, sat, res) & (_longest_uv_edge(uvs, faces) * res > edge_texels)
        if not flagged.any():
            break
        step = _split(points, uvs, normals, colors, faces, flagged, max_triangles)
        if step is None:
            break
        points, uvs, normals, colors, faces = step
    d = _bilinear(disp, uvs)
    if not np.any(d):
        return None
    weld = _weld(points)
    direction = _unit(normals) if normals is not None else _welded_normals(points, faces, weld)[weld]
    offset = d[:, None] * direction
    # one offset per position: duplicated vertices (UV seams, hard edges) must not tear apart
    summed = np.zeros((weld.max() + 1, 3))
    np.add.at(summed, weld, offset)
    count = np.bincount(weld, minlength=len(summed)).astype(np.float64)
    offset = (summed / count[:, None])[weld]
    moved = np.any(offset != 0, axis=1)
    shown = points + offset
    new_normals = None
    if normals is not None:
        new_normals = normals.copy()
        before = _welded_normals(points, faces, weld)
        after = _welded_normals(shown, faces, weld)
        near = np.zeros(len(points), bool)  # vertices of triangles with a moved corner
        near[faces[moved[faces].any(axis=1)].ravel()] = True
        near = np.isin(weld, weld[near])
        new_normals[near] = _rotate(_unit(normals[near]), before[weld[near]], after[weld[near]])
    f32 = lambda a: None if a is None else np.ascontiguousarray(a, np.float32)  # noqa: E731
    faces32 = np.ascontiguousarray(faces, np.uint32)
    flat = replace(geo, points=f32(points), faces=faces32, normals=f32(normals), uvs=f32(uvs), colors=f32(colors))
    mesh = replace(flat, points=f32(shown), normals=f32(new_normals))
    return Displaced(mesh=mesh, flat=flat, moved_vertices=int(moved.sum()))


def _summed_area(mask: np.ndarray) -> np.ndarray:
    sat = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int64)
    sat[1:, 1:] = np.cumsum(np.cumsum(mask, axis=0), axis=1)
    return sat


def _touches(uvs: np.ndarray, faces: np.ndarray, sat: np.ndarray, res: int) -> np.ndarray:
    """Triangles whose UV bounding box (grown by a texel for the bilinear footprint) holds non-zero texels."""
    x = uvs[faces, 0] * res - 0.5  # texel centres sit at (i + 0.5) / res
    y = (1.0 - uvs[faces, 1]) * res - 0.5
    x0 = np.clip(np.floor(x.min(1)).astype(np.int64) - 1, 0, res)
    x1 = np.clip(np.ceil(x.max(1)).astype(np.int64) + 2, 0, res)
    y0 = np.clip(np.floor(y.min(1)).astype(np.int64) - 1, 0, res)
    y1 = np.clip(np.ceil(y.max(1)).astype(np.int64) + 2, 0, res)
    return (sat[y1, x1] - sat[y0, x1] - sat[y1, x0] + sat[y0, x0]) > 0


def _longest_uv_edge(uvs: np.ndarray, faces: np.ndarray) -> np.ndarray:
    t = uvs[faces]
    return np.max(np.linalg.norm(t - np.roll(t, -1, axis=1), axis=2), axis=1)


def _weld(points: np.ndarray) -> np.ndarray:
    """One id per distinct position (midpoints of the same edge come out bit-identical on both sides)."""
    return np.unique(points, axis=0, return_inverse=True)[1].ravel()


def _split(points, uvs, normals, colors, faces, flagged, max_triangles):
    """One conforming level; None when it would exceed ``max_triangles``."""
    weld = _weld(points)
    nw = int(weld.max()) + 1
    a, b = faces, np.roll(faces, -1, axis=1)  # edge i runs from corner i to corner i + 1
    wa, wb = weld[a], weld[b]
    wkey = np.minimum(wa, wb) * nw + np.maximum(wa, wb)
    marked = np.isin(wkey, np.unique(wkey[flagged]))
    count = marked.sum(axis=1)
    if len(faces) + int(count.sum()) > max_triangles:
        return None
    n = len(points)
    ukey = np.minimum(a, b) * n + np.maximum(a, b)
    keys, inverse = np.unique(ukey[marked], return_inverse=True)
    ea, eb = keys // n, keys % n

    def extend(values):
        # plain midpoints; normals stay un-normalised so the shading inside the old triangle is unchanged
        return None if values is None else np.concatenate([values, 0.5 * (values[ea] + values[eb])])

    points, uvs, normals, colors = extend(points), extend(uvs), extend(normals), extend(colors)
    mid = np.full(faces.shape, -1, np.int64)
    mid[marked] = n + inverse.ravel()
    out = [faces[count == 0]]
    sel = count == 3
    v, m = faces[sel], mid[sel]
    out += [np.stack([v[:, 0], m[:, 0], m[:, 2]], 1), np.stack([m[:, 0], v[:, 1], m[:, 1]], 1),
            np.stack([m[:, 2], m[:, 1], v[:, 2]], 1), np.stack([m[:, 0], m[:, 1], m[:, 2]], 1)]
    for k, shift in ((1, np.argmax(marked, axis=1)), (2, (np.argmin(marked, axis=1) + 1) % 3)):
        # rotate so that the marked edge is edge 0 (one mark) or the unmarked one is edge 2 (two marks)
        sel = count == k
        order = (np.arange(3)[None, :] + shift[sel, None]) % 3
        v = np.take_along_axis(faces[sel], order, 1)
        m = np.take_along_axis(mid[sel], order, 1)
        if k == 1:
            out += [np.stack([v[:, 0], m[:, 0], v[:, 2]], 1), np.stack([m[:, 0], v[:, 1], v[:, 2]], 1)]
            continue
        out.append(np.stack([m[:, 0], v[:, 1], m[:, 1]], 1))
        # the quad v0 m0 m1 v2 splits along its shorter diagonal
        short = (np.linalg.norm(points[v[:, 0]] - points[m[:, 1]], axis=1)
                 <= np.linalg.norm(points[m[:, 0]] - points[v[:, 2]], axis=1))[:, None]
        out += [np.where(short, np.stack([v[:, 0], m[:, 0], m[:, 1]], 1), np.stack([v[:, 0], m[:, 0], v[:, 2]], 1)),
                np.where(short, np.stack([v[:, 0], m[:, 1], v[:, 2]], 1), np.stack([m[:, 0], m[:, 1], v[:, 2]], 1))]
    return points, uvs, normals, colors, np.concatenate(out)


def _bilinear(image: np.ndarray, uvs: np.ndarray) -> np.ndarray:
    """Bilinear lookup at USD st (clamped at the border), as the renderer filters the stack's textures."""
    res_y, res_x = image.shape
    x = np.clip(uvs[:, 0] * res_x - 0.5, 0.0, res_x - 1.0)
    y = np.clip((1.0 - uvs[:, 1]) * res_y - 0.5, 0.0, res_y - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), res_x - 2) if res_x > 1 else np.zeros(len(x), np.int64)
    y0 = np.minimum(np.floor(y).astype(np.int64), res_y - 2) if res_y > 1 else np.zeros(len(y), np.int64)
    x1, y1 = np.minimum(x0 + 1, res_x - 1), np.minimum(y0 + 1, res_y - 1)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-30)


def _welded_normals(points: np.ndarray, faces: np.ndarray, weld: np.ndarray) -> np.ndarray:
    """Area-weighted unit normal per welded position."""
    p = points[faces]
    face_n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    acc = np.zeros((int(weld.max()) + 1, 3))
    for k in range(3):
        np.add.at(acc, weld[faces[:, k]], face_n)
    return _unit(acc)


def _rotate(v: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``v`` turned by the rotation that takes unit ``a`` to unit ``b`` (Rodrigues, about a x b)."""
    w = np.cross(a, b)
    c = np.sum(a * b, axis=1, keepdims=True)
    wv = np.cross(w, v)
    return _unit(v + wv + np.cross(w, wv) / np.maximum(1.0 + c, 1e-6))
