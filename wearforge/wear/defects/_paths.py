"""Paths drawn on the part's surface (host side): crack trees and weld seams.

A walker steps across the surface in object space and snaps every step to the nearest baked surface
point whose normal agrees with the last one, so paths follow curved faces, stop at sharp edges instead of
jumping onto the other side of a thin wall, and cross UV seams without noticing them.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

CHUNK = 8  # segments per bounding sphere in the kernels' culling


class SurfaceWalker:
    def __init__(self, cover: np.ndarray, position: np.ndarray, normal: np.ndarray, score: np.ndarray,
                 max_points: int = 600_000):
        ys, xs = np.nonzero(cover == 1)
        # thin out large bakes on a square grid of texels: every n-th texel in scan order would leave rows of
        # points far apart across them, where a walk finds no point ahead and a crack dies after one step
        grid = max(1, int(np.ceil(np.sqrt(len(ys) / max_points))))
        if grid > 1:
            keep = (ys % grid == 0) & (xs % grid == 0)
            ys, xs = ys[keep], xs[keep]
        self.pos = position[ys, xs].astype(np.float64)
        self.nrm = normal[ys, xs].astype(np.float64)
        self.score = score[ys, xs].astype(np.float64)
        self.tree = cKDTree(self.pos) if len(self.pos) else None
        self._spacing: float | None = None

    def __len__(self) -> int:
        return len(self.pos)

    def snap(self, p: np.ndarray, n_prev: np.ndarray, reach: float, min_dot: float = 0.6) -> int | None:
        """Index of the nearest surface point within ``reach`` whose normal agrees with ``n_prev``."""
        dist, idx = self.tree.query(p, k=8, distance_upper_bound=reach)
        for d, i in zip(np.atleast_1d(dist), np.atleast_1d(idx)):
            if np.isfinite(d) and self.nrm[i] @ n_prev > min_dot:
                return int(i)
        return None

    def spacing(self) -> float:
        """Typical distance between neighbouring points (the finest useful step)."""
        if self._spacing is None:
            sample = self.pos[:: max(len(self.pos) // 2000, 1)]
            d, _ = self.tree.query(sample, k=2)
            self._spacing = float(np.median(d[:, 1]))
        return self._spacing

    def width_at(self, i: int, radius: float) -> int:
        """How many of 8 directions the face around point ``i`` extends ``radius`` in (8 inside a broad
        face, about 4 next to its edge, 2 on a strip narrower than the radius: a bore wall, a cut edge)."""
        n = self.nrm[i]
        reach = max(0.15 * radius, 0.75 * self.spacing())  # a probe may land between points of the grid
        return sum(self.snap(self.pos[i] + d * radius, n, reach, min_dot=0.9) is not None
                   for d in self.tangent_dirs(i, 8))

    def tangent_dirs(self, i: int, count: int, phase: float = 0.0) -> np.ndarray:
        n = self.nrm[i]
        helper = np.array([1.0, 0, 0]) if abs(n[0]) < 0.9 else np.array([0, 1.0, 0])
        e1 = np.cross(n, helper)
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(n, e1)
        a = phase + np.arange(count) * 2 * np.pi / count
        return np.cos(a)[:, None] * e1 + np.sin(a)[:, None] * e2

    def walk(self, i: int, direction: np.ndarray, step: float, steps: int, rng: np.random.Generator,
             wander: float, keep: float = 0.0) -> list[int]:
        """Surface point indices of a walk from point ``i``; ``wander`` is the turn per step (radians, std),
        ``keep`` how strongly it is pulled back to the first direction (0..1)."""
        path = [i]
        d0 = direction / max(np.linalg.norm(direction), 1e-20)
        d = d0
        for _ in range(steps):
            n = self.nrm[path[-1]]
            d = d / max(np.linalg.norm(d), 1e-20) + keep * d0
            d = d - n * (d @ n)
            norm = np.linalg.norm(d)
            if norm < 1e-12:
                break
            d = _rotate(d / norm, n, rng.normal(0.0, wander))
            j = self.snap(self.pos[path[-1]] + d * step, n, 1.5 * step)
            if j is None or j == path[-1]:
                break
            d = self.pos[j] - self.pos[path[-1]]
            path.append(j)
        return path


def _rotate(v: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation of v about the unit axis."""
    return v * np.cos(angle) + np.cross(axis, v) * np.sin(angle) + axis * (axis @ v) * (1 - np.cos(angle))


def chunked(polylines: list[np.ndarray], widths: list[np.ndarray], ids: list[int]):
    """Flatten polylines into segment arrays plus bounding spheres of CHUNK consecutive segments.

    Returns (a, b, w, seg_id, chunk_center, chunk_radius, chunk_start, chunk_count) as float32/int32 arrays;
    ``w`` is the width at each segment (half at its start and end averaged).
    """
    a, b, w, sid = [], [], [], []
    centers, radii, starts, counts = [], [], [], []
    for pts, wid, k in zip(polylines, widths, ids):
        if len(pts) < 2:
            continue
        for s in range(0, len(pts) - 1, CHUNK):
            e = min(s + CHUNK, len(pts) - 1)
            seg_pts = pts[s:e + 1]
            lo, hi = seg_pts.min(0), seg_pts.max(0)
            centers.append((lo + hi) / 2)
            radii.append(np.linalg.norm(hi - lo) / 2 + float(wid[s:e + 1].max()))
            starts.append(len(a))
            counts.append(e - s)
            for q in range(s, e):
                a.append(pts[q])
                b.append(pts[q + 1])
                w.append(0.5 * (wid[q] + wid[q + 1]))
                sid.append(k)
    f = lambda x, shape: np.asarray(x, np.float32).reshape(shape)  # noqa: E731
    return (f(a, (-1, 3)), f(b, (-1, 3)), f(w, (-1,)), np.asarray(sid, np.int32), f(centers, (-1, 3)),
            f(radii, (-1,)), np.asarray(starts, np.int32), np.asarray(counts, np.int32))


def stress_raisers(bake) -> np.ndarray:
    """Where cracks start: convex edges (hole edges, cut edges) and concave fillets/weld toes."""
    return np.clip(bake.convexity, 0, None) + np.clip(bake.cavity, 0, None)
