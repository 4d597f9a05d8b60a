"""Scratches: thin curved grooves of given count, length, width and orientation. On paint they expose
bare metal (metallic -> 1); on metal they are brighter, smoother lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import smoothstep
from wearforge.wear.types import Layer, Material, Surface

REGIONS = False
SEGMENTS = 12


@dataclass(frozen=True)
class Params:
    count: float = p(12, "Number of scratches.")
    length: float = p(0.06, "Mean scratch length, object units.")
    width: float = p(0.001, "Groove width, object units (never thinner than one texel).")
    depth: float = p(0.00012, "Groove depth, object units.")
    curvature: float = p(0.25, "Bend as a fraction of the length (0 = straight).")
    spread: float = p(60.0, "Spread of directions around one dominant direction, degrees (180 = random).")


@wp.kernel
def _scratches(s: Surface, m: Material, out: Layer, pts: wp.array2d(dtype=wp.vec3), normals: wp.array(dtype=wp.vec3),
               centers: wp.array(dtype=wp.vec3), radii: wp.array(dtype=float), width: float, depth: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    best = float(1.0e9)
    best_u = float(0.0)
    best_k = int(-1)
    for k in range(centers.shape[0]):
        if wp.length(pos - centers[k]) > radii[k] + width:
            continue
        n0 = normals[k]
        # stay on the side of the part the scratch was drawn on
        if wp.dot(s.nrm[y, x], n0) < 0.2 or wp.abs(wp.dot(pos - centers[k], n0)) > 0.25 * radii[k]:
            continue
        for i in range(SEGMENTS):
            a = pts[k, i]
            b = pts[k, i + 1]
            ab = b - a
            t = wp.clamp(wp.dot(pos - a, ab) / wp.max(wp.dot(ab, ab), 1.0e-20), 0.0, 1.0)
            d = wp.length(pos - (a + t * ab))
            if d < best:
                best = d
                best_u = (float(i) + t) / float(SEGMENTS)
                best_k = k
    if best_k < 0:
        return
    taper = 0.35 + 0.65 * wp.sin(3.14159265 * best_u)
    half = wp.max(0.5 * width * taper, 0.75 * s.texel[y, x])
    if best >= half:
        return
    mask = smoothstep(half, 0.6 * half, best)
    g = 1.0 - (best / half) * (best / half)
    painted = m.metal[y, x] < 0.5
    if painted:
        out.color[y, x] = wp.vec3(0.58, 0.58, 0.57)
        out.rough[y, x] = 0.28
    else:
        out.color[y, x] = wp.min(m.color[y, x] * 1.12 + wp.vec3(0.03), wp.vec3(1.0))
        out.rough[y, x] = wp.max(m.rough[y, x] * 0.6, 0.12)
    out.mask[y, x] = mask
    out.metal[y, x] = 1.0
    out.height[y, x] = -depth * g * taper
    out.occ[y, x] = wp.uint32(best_k + 1)


def _curves(ctx, params: Params, seed: int):
    rng = np.random.default_rng(seed)
    count = int(round(params.count))
    centers, normals = ctx.surface_points(rng, count)
    dominant = rng.uniform(0, np.pi)
    pts = np.zeros((len(centers), SEGMENTS + 1, 3), np.float32)
    radii = np.zeros(len(centers), np.float32)
    for k, (c, n) in enumerate(zip(centers, normals)):
        helper = np.array([1.0, 0, 0]) if abs(n[0]) < 0.9 else np.array([0, 1.0, 0])
        e1 = np.cross(n, helper)
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(n, e1)
        angle = dominant + np.radians(params.spread) * (rng.random() - 0.5)
        d = np.cos(angle) * e1 + np.sin(angle) * e2
        side = np.cross(n, d)
        length = params.length * rng.uniform(0.5, 1.5)
        bend = params.curvature * length * rng.uniform(-1, 1)
        u = np.linspace(-0.5, 0.5, SEGMENTS + 1)[:, None]
        pts[k] = c + d * u * length + side * bend * (1 - 4 * u**2)
        radii[k] = 0.5 * length + abs(bend)
    return pts, normals, centers, radii


def run(ctx, params: Params, seed: int) -> None:
    pts, normals, centers, radii = _curves(ctx, params, seed)
    if len(centers) == 0:
        return
    dev = ctx.device
    wp.launch(_scratches, dim=(ctx.res, ctx.res), device=dev,
              inputs=[ctx.surface, ctx.mat, ctx.out, wp.array(pts, dtype=wp.vec3, device=dev),
                      wp.array(normals, dtype=wp.vec3, device=dev), wp.array(centers, dtype=wp.vec3, device=dev),
                      wp.array(radii, dtype=float, device=dev), params.width, params.depth])
