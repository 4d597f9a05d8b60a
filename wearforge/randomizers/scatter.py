"""Scatter parts on a support surface without interpenetration (Z-up).

The support is sampled as a height field (rays cast straight down onto its meshes, once per twin).
Each part gets a yaw, a footprint circle that contains its rotated bounds, and a spot where the
surface under the whole footprint is flat and no other part's footprint is closer than ``gap``;
it then rests on the surface with its lowest point (plus ``drop_height``). Circles are conservative,
so accepted placements never interpenetrate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

import wearforge.wear._quiet  # noqa: F401,E402  (before any kernel loads)

from wearforge.recipe import Scatter
from wearforge.seeding import Sampler
from wearforge.transforms import trs_to_matrix


@dataclass(frozen=True)
class HeightField:
    """Surface heights on a regular XY grid (NaN where the support has no surface)."""

    x0: float
    y0: float
    step: float
    z: np.ndarray  # (ny, nx)

    def at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        i = np.floor((np.asarray(y) - self.y0) / self.step).astype(int)
        j = np.floor((np.asarray(x) - self.x0) / self.step).astype(int)
        ok = (i >= 0) & (i < self.z.shape[0]) & (j >= 0) & (j < self.z.shape[1])
        out = np.full(np.shape(i), np.nan)
        out[ok] = self.z[i[ok], j[ok]]
        return out


def height_field(points: np.ndarray, triangles: np.ndarray, bounds: tuple[float, float, float, float] | None = None,
                 resolution: float = 0.0025) -> HeightField:
    """Cast rays straight down onto world-space triangles over ``bounds`` (x0, y0, x1, y1); Warp, deterministic."""
    from wearforge.wear.bake import device

    lo, hi = points.min(axis=0).copy(), points.max(axis=0).copy()
    if bounds is not None:
        lo[0], lo[1], hi[0], hi[1] = bounds
    nx = max(2, int(np.ceil((hi[0] - lo[0]) / resolution)))
    ny = max(2, int(np.ceil((hi[1] - lo[1]) / resolution)))
    xs = lo[0] + (np.arange(nx) + 0.5) * resolution
    ys = lo[1] + (np.arange(ny) + 0.5) * resolution
    gx, gy = np.meshgrid(xs, ys)
    starts = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, hi[2] + 1.0)], -1).astype(np.float32)
    dev = device()
    mesh = wp.Mesh(points=wp.array(points.astype(np.float32), dtype=wp.vec3, device=dev),
                   indices=wp.array(triangles.astype(np.int32).ravel(), dtype=int, device=dev))
    out = wp.zeros(len(starts), dtype=float, device=dev)
    wp.launch(_down, dim=len(starts), inputs=[mesh.id, wp.array(starts, dtype=wp.vec3, device=dev), out], device=dev)
    t = out.numpy()
    z = np.where(t >= 0, hi[2] + 1.0 - t, np.nan).reshape(ny, nx)
    return HeightField(float(lo[0]), float(lo[1]), resolution, z)


@wp.kernel
def _down(mesh: wp.uint64, starts: wp.array(dtype=wp.vec3), out: wp.array(dtype=float)):
    i = wp.tid()
    q = wp.mesh_query_ray(mesh, starts[i], wp.vec3(0.0, 0.0, -1.0), 1.0e6)
    out[i] = wp.where(q.result, q.t, -1.0)


@dataclass(frozen=True)
class Footprint:
    lo: tuple[float, float, float]  # part-local bounds
    hi: tuple[float, float, float]


def _corners(fp: Footprint) -> np.ndarray:
    lo, hi = np.array(fp.lo), np.array(fp.hi)
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


def scatter(cfg: Scatter, parts: list[tuple[str, Footprint, list[float], list[float]]], field: HeightField,
            key: str, sampler: Sampler) -> dict[str, dict]:
    """Placement per part path: {'position', 'rotation'} or {'visible': False} when no spot was found."""
    placed: list[tuple[np.ndarray, float]] = []
    out: dict[str, dict] = {}
    valid = ~np.isnan(field.z)
    ys, xs = np.nonzero(valid)
    x_lo = field.x0 + xs.min() * field.step + cfg.margin
    x_hi = field.x0 + (xs.max() + 1) * field.step - cfg.margin
    y_lo = field.y0 + ys.min() * field.step + cfg.margin
    y_hi = field.y0 + (ys.max() + 1) * field.step - cfg.margin
    ring = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    for path, fp, rotation, scale in parts:
        rng = sampler.rng(f"{key}:{path}")
        for _ in range(cfg.attempts):
            yaw = float(rng.uniform(0.0, 360.0))
            rot = [float(rotation[0]), float(rotation[1]), yaw]
            m = trs_to_matrix((0, 0, 0), rot, scale)
            corners = _corners(fp) @ m[:3, :3].T
            radius = float(np.max(np.hypot(corners[:, 0], corners[:, 1])))
            if x_lo + radius > x_hi - radius or y_lo + radius > y_hi - radius:
                continue  # larger than the surface at this yaw
            cx, cy = float(rng.uniform(x_lo + radius, x_hi - radius)), float(rng.uniform(y_lo + radius, y_hi - radius))
            heights = field.at(np.r_[cx, cx + radius * np.cos(ring), cx + 0.5 * radius * np.cos(ring)],
                               np.r_[cy, cy + radius * np.sin(ring), cy + 0.5 * radius * np.sin(ring)])
            if np.isnan(heights).any() or np.ptp(heights) > cfg.flatness:
                continue
            if any(np.hypot(cx - p[0], cy - p[1]) < radius + r + cfg.gap for p, r in placed):
                continue
            z = float(np.max(heights)) - float(corners[:, 2].min()) + cfg.drop_height
            placed.append((np.array([cx, cy]), radius))
            out[path] = {"position": [cx, cy, z], "rotation": rot}
            break
        else:
            out[path] = {"visible": False}
    return out
