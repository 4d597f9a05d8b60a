"""Scatter parts on a support surface without interpenetration (Z-up or Y-up stages, any unit).

The support is sampled as a height field (rays cast straight down onto its meshes, once per twin).
Each part gets a yaw, a footprint circle that contains its rotated bounds, and a spot where the
surface under the whole footprint is flat and no other part's footprint is closer than ``gap``;
it then rests on the surface with its lowest point (plus ``drop_height``). Circles are conservative,
so accepted placements never interpenetrate.

Work happens in a Z-up "scatter frame": on a Y-up stage, world points are rotated into it and placements
rotated back. Recipe lengths (margin, gap, flatness, drop height) are metres, converted to stage units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

import wearforge.wear._quiet  # noqa: F401,E402  (before any kernel loads)

from wearforge.recipe import Scatter
from wearforge.seeding import Sampler
from wearforge.transforms import matrix_to_trs, trs_to_matrix


def scatter_frame(up) -> np.ndarray:
    """Rotation from world to the Z-up scatter frame (identity on Z-up stages; +90 deg about X for Y up)."""
    if np.allclose(np.asarray(up, float), (0.0, 1.0, 0.0)):
        return np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    return np.eye(3)


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
            key: str, sampler: Sampler, up=(0.0, 0.0, 1.0), meters_per_unit: float = 1.0) -> dict[str, dict]:
    """Placement per part path: {'position', 'rotation'} or {'visible': False} when no spot was found.

    ``field`` is in the scatter frame (see scatter_frame); positions come back in world axes.
    """
    frame = scatter_frame(up)
    z_up = np.allclose(frame, np.eye(3))
    unit = 1.0 / meters_per_unit
    margin, gap, flatness, drop = cfg.margin * unit, cfg.gap * unit, cfg.flatness * unit, cfg.drop_height * unit
    placed: list[tuple[np.ndarray, float]] = []
    out: dict[str, dict] = {}
    valid = ~np.isnan(field.z)
    ys, xs = np.nonzero(valid)
    x_lo = field.x0 + xs.min() * field.step + margin
    x_hi = field.x0 + (xs.max() + 1) * field.step - margin
    y_lo = field.y0 + ys.min() * field.step + margin
    y_hi = field.y0 + (ys.max() + 1) * field.step - margin
    ring = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    for path, fp, rotation, scale in parts:
        rng = sampler.rng(f"{key}:{path}")
        for _ in range(cfg.attempts):
            yaw = float(rng.uniform(0.0, 360.0))
            if z_up:
                rot = [float(rotation[0]), float(rotation[1]), yaw]
                m = trs_to_matrix((0, 0, 0), rot, scale)
            else:  # yaw about the world up axis, composed onto the part's own rotation
                m = np.eye(4)
                m[:3, :3] = frame.T @ trs_to_matrix((0, 0, 0), (0, 0, yaw), (1, 1, 1))[:3, :3] @ frame \
                    @ trs_to_matrix((0, 0, 0), rotation, scale)[:3, :3]
                rot = matrix_to_trs(m)[1]
            corners = _corners(fp) @ (frame @ m[:3, :3]).T
            radius = float(np.max(np.hypot(corners[:, 0], corners[:, 1])))
            if x_lo + radius > x_hi - radius or y_lo + radius > y_hi - radius:
                continue  # larger than the surface at this yaw
            cx, cy = float(rng.uniform(x_lo + radius, x_hi - radius)), float(rng.uniform(y_lo + radius, y_hi - radius))
            heights = field.at(np.r_[cx, cx + radius * np.cos(ring), cx + 0.5 * radius * np.cos(ring)],
                               np.r_[cy, cy + radius * np.sin(ring), cy + 0.5 * radius * np.sin(ring)])
            if np.isnan(heights).any() or np.ptp(heights) > flatness:
                continue
            if any(np.hypot(cx - p[0], cy - p[1]) < radius + r + gap for p, r in placed):
                continue
            z = float(np.max(heights)) - float(corners[:, 2].min()) + drop
            placed.append((np.array([cx, cy]), radius))
            position = [cx, cy, z] if z_up else list(map(float, frame.T @ np.array([cx, cy, z])))
            out[path] = {"position": position, "rotation": rot}
            break
        else:
            out[path] = {"visible": False}
    return out
