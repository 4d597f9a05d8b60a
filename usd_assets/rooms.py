"""Procedural rooms as lat-long environment maps (linear RGB radiance), built by ray casting from the
room's centre against boxes: walls, floor and ceiling with their own textures, windows that show a
bright sky and a horizon, ceiling lamps, and clutter (shelving, cabinets, crates, machines) along the
walls. Shading is one bounce of the lamps' and windows' light (Lambert, with a constant indirect term),
so objects have lit and shaded faces as in a real room. Deterministic for a given seed; no downloads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Box:
    lo: np.ndarray
    hi: np.ndarray
    albedo: np.ndarray
    emission: np.ndarray | None = None


def directions(width: int) -> np.ndarray:
    """Unit direction of every lat-long texel (row 0 = straight up, Z up, azimuth from +X)."""
    h = width // 2
    az = (np.arange(width) + 0.5) / width * 2 * np.pi - np.pi
    el = np.pi / 2 - (np.arange(h) + 0.5) / h * np.pi
    az, el = np.meshgrid(az, el)
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1)


def _hit_inside(o, d, lo, hi):
    """Distance and face normal where a ray from inside the box leaves it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t_hi = np.where(d > 0, (hi - o) / d, np.inf)
        t_lo = np.where(d < 0, (lo - o) / d, np.inf)
    t = np.minimum(t_hi, t_lo)
    axis = np.argmin(t, axis=-1)
    dist = np.take_along_axis(t, axis[..., None], -1)[..., 0]
    n = np.zeros(d.shape)
    sign = -np.sign(np.take_along_axis(d, axis[..., None], -1)[..., 0])
    np.put_along_axis(n, axis[..., None], sign[..., None], -1)
    return dist, n


def _hit_box(o, d, lo, hi):
    """Distance (inf on a miss) and outward normal where rays from outside hit the box."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - o) / d, (hi - o) / d
    tmin = np.minimum(t1, t2)
    tmax = np.maximum(t1, t2)
    t_near = tmin.max(-1)
    t_far = tmax.min(-1)
    hit = (t_far >= t_near) & (t_near > 1e-6)
    axis = np.argmax(tmin, axis=-1)
    n = np.zeros(d.shape)
    sign = -np.sign(np.take_along_axis(d, axis[..., None], -1)[..., 0])
    np.put_along_axis(n, axis[..., None], sign[..., None], -1)
    return np.where(hit, t_near, np.inf), n


def _noise(p: np.ndarray, scale: float, rng_seed: int) -> np.ndarray:
    """Cheap value noise on 3D points (trilinear over a hashed lattice), in [0, 1]."""
    q = p / scale
    i = np.floor(q).astype(np.int64)
    f = q - i
    f = f * f * (3 - 2 * f)

    def h(a, b, c):
        x = (a * 73856093) ^ (b * 19349663) ^ (c * 83492791) ^ (rng_seed * 2654435761)
        x = (x ^ (x >> 13)) * 1274126177
        return ((x ^ (x >> 16)) & 0xFFFF) / 65535.0

    out = 0.0
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                w = (f[..., 0] if dx else 1 - f[..., 0]) * (f[..., 1] if dy else 1 - f[..., 1]) * \
                    (f[..., 2] if dz else 1 - f[..., 2])
                out = out + w * h(i[..., 0] + dx, i[..., 1] + dy, i[..., 2] + dz)
    return out


def room(width: int, size, eye_height: float, lamps, windows, clutter: list[Box], wall, floor, ceiling,
         seed: int, sky=(1.8, 2.0, 2.4), ground=(0.35, 0.33, 0.3), indirect: float = 0.12) -> np.ndarray:
    """Lat-long radiance seen from the room's centre at ``eye_height``.

    size: (x, y, z) of the room, origin at the floor's centre; lamps: list of (centre, half-size, rgb
    radiance) ceiling panels; windows: list of (wall axis 0/1, sign, centre (u, z), half (u, z)).
    """
    d = directions(width)
    sx, sy, sz = size
    o = np.array([0.0, 0.0, eye_height])
    lo, hi = np.array([-sx / 2, -sy / 2, 0.0]), np.array([sx / 2, sy / 2, sz])
    dist, n = _hit_inside(o, d, lo, hi)
    p = o + d * dist[..., None]
    albedo = np.where(n[..., 2:3] > 0.5, floor, np.where(n[..., 2:3] < -0.5, ceiling, wall)).astype(np.float64)
    tex = _noise(p, 0.4, seed) * 0.6 + _noise(p, 0.05, seed + 1) * 0.4
    albedo = albedo * (0.8 + 0.4 * tex[..., None])
    # floor tiles / wall panels: grout lines
    grid = (np.abs((p[..., 0] % 1.0) - 0.5) > 0.49) | (np.abs((p[..., 1] % 1.0) - 0.5) > 0.49)
    albedo = np.where((n[..., 2:3] > 0.5) & grid[..., None], albedo * 0.6, albedo)
    emission = np.zeros(d.shape)
    # windows: a hole in the wall showing the sky above the horizon and ground below
    for axis, sign, (u0, z0), (hu, hz) in windows:
        on = (np.abs(n[..., axis] + sign) < 1e-6)  # the wall at +sign faces inward, normal -sign
        u = p[..., 1 - axis]
        frame = on & (np.abs(u - u0) < hu) & (np.abs(p[..., 2] - z0) < hz)
        mullion = (np.abs(((u - u0) % 0.6) - 0.3) > 0.27) | (np.abs(p[..., 2] - z0) < 0.02)
        view = np.where(d[..., 2:3] > 0.02, np.array(sky) * (1.0 - 0.5 * d[..., 2:3]), np.array(ground))
        emission = np.where((frame & ~mullion)[..., None], view, emission)
        albedo = np.where((frame & mullion)[..., None], 0.08, albedo)
    dist_c = dist.copy()
    nrm = n.copy()
    for box in clutter:
        t, bn = _hit_box(o, d, box.lo, box.hi)
        closer = t < dist_c
        dist_c = np.where(closer, t, dist_c)
        nrm = np.where(closer[..., None], bn, nrm)
        q = o + d * np.where(np.isfinite(t), t, 0.0)[..., None]
        stripes = 0.85 + 0.3 * _noise(q, 0.15, seed + 7)[..., None]
        albedo = np.where(closer[..., None], box.albedo * stripes, albedo)
        emission = np.where(closer[..., None], 0.0 if box.emission is None else box.emission, emission)
    p = o + d * dist_c[..., None]
    # direct light from lamps (point approximation) and windows (large area, approximated at their centres)
    light = np.full(d.shape, indirect)
    sources = [(np.array(c, float), np.array(rgb, float) * (4 * hx * hy)) for c, (hx, hy), rgb in lamps]
    for axis, sign, (u0, z0), (hu, hz) in windows:
        c = np.zeros(3)
        c[axis] = sign * size[axis] / 2
        c[1 - axis] = u0
        c[2] = z0
        sources.append((c, np.array(sky) * (4 * hu * hz) * 0.5))
    for c, power in sources:
        v = c - p
        r2 = np.maximum((v * v).sum(-1), 0.05)
        cos = np.clip((v * nrm).sum(-1) / np.sqrt(r2), 0, 1)
        light = light + cos[..., None] * power / (np.pi * r2[..., None])
    img = albedo * light + emission
    # lamps are seen directly as bright panels on the ceiling
    for c, (hx, hy), rgb in lamps:
        t = (c[2] - o[2]) / np.where(d[..., 2] > 1e-6, d[..., 2], np.nan)
        q = o + d * t[..., None]
        seen = (np.abs(q[..., 0] - c[0]) < hx) & (np.abs(q[..., 1] - c[1]) < hy) & (t < dist_c + 1e-3)
        img = np.where(seen[..., None], np.array(rgb, float), img)
    return img.astype(np.float32)


def factory_hall(width: int = 512) -> np.ndarray:
    """A production hall: high-bay lamps, a window band on two walls, racks, cabinets, machines, crates."""
    rng = np.random.default_rng(3)
    size = (24.0, 18.0, 8.0)
    lamps = [((x, y, 7.9), (0.4, 0.4), (40.0, 34.0, 24.0)) for x in (-8, -3, 3, 8) for y in (-5, 0, 5)]
    windows = [(1, 1.0, (0.0, 5.5), (10.0, 1.2)), (0, -1.0, (0.0, 5.5), (7.0, 1.2))]
    clutter = []
    for k in range(14):  # racks and machines along the walls
        along = rng.uniform(-10, 10)
        depth, wide, tall = rng.uniform(0.8, 2.0), rng.uniform(1.0, 3.5), rng.uniform(1.0, 4.5)
        side = rng.choice([-1, 1])
        if k % 2:
            lo = np.array([along - wide / 2, side * 9.0 - (depth if side > 0 else 0), 0.0])
        else:
            lo = np.array([side * 12.0 - (depth if side > 0 else 0), along * 0.7 - wide / 2, 0.0])
        hi = lo + (np.array([wide, depth, tall]) if k % 2 else np.array([depth, wide, tall]))
        colour = rng.choice([[0.35, 0.38, 0.42], [0.55, 0.42, 0.08], [0.12, 0.22, 0.45], [0.3, 0.3, 0.3],
                             [0.45, 0.12, 0.08]])
        clutter.append(Box(lo, hi, np.array(colour)))
    for k in range(6):  # crates and pallets on the floor nearer the centre
        c = rng.uniform([-9, -7], [9, 7])
        if np.hypot(*c) < 3:
            continue
        s = rng.uniform(0.5, 1.2)
        clutter.append(Box(np.array([c[0] - s / 2, c[1] - s / 2, 0]), np.array([c[0] + s / 2, c[1] + s / 2, s * 0.8]),
                           np.array([0.45, 0.33, 0.2])))
    return room(width, size, 1.2, lamps, windows, clutter, wall=(0.45, 0.45, 0.43), floor=(0.32, 0.31, 0.3),
                ceiling=(0.25, 0.26, 0.28), seed=5)


def inspection_lab(width: int = 512) -> np.ndarray:
    """A quality lab: white walls, LED ceiling panels, a window wall with blinds, benches and cabinets."""
    rng = np.random.default_rng(8)
    size = (8.0, 6.0, 3.0)
    lamps = [((x, y, 2.98), (0.3, 0.3), (14.0, 14.0, 13.5)) for x in (-2.5, 0.0, 2.5) for y in (-1.5, 1.5)]
    windows = [(0, 1.0, (0.0, 1.7), (2.2, 0.7))]
    clutter = [Box(np.array([-3.9, -2.9, 0.0]), np.array([-1.0, -2.2, 0.9]), np.array([0.6, 0.6, 0.58])),  # bench
               Box(np.array([1.0, 2.3, 0.0]), np.array([3.5, 2.95, 1.9]), np.array([0.2, 0.3, 0.45])),  # cabinet
               Box(np.array([-3.95, 1.0, 0.0]), np.array([-3.2, 2.8, 1.2]), np.array([0.5, 0.5, 0.5]))]
    for k in range(5):  # boxes and instruments on the benches
        c = rng.uniform([-3.6, -2.8], [-1.3, -2.3])
        s = rng.uniform(0.15, 0.4)
        clutter.append(Box(np.array([c[0], c[1], 0.9]), np.array([c[0] + s, c[1] + s * 0.8, 0.9 + s]),
                           np.array(rng.choice([[0.1, 0.1, 0.1], [0.7, 0.7, 0.7], [0.6, 0.35, 0.1]]))))
    return room(width, size, 1.1, lamps, windows, clutter, wall=(0.75, 0.75, 0.72), floor=(0.35, 0.36, 0.38),
                ceiling=(0.8, 0.8, 0.8), seed=2, indirect=0.35)
