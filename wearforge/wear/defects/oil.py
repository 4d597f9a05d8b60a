"""Oil / grease: dark, glossy blobs with drips that run down along gravity for this frame's pose."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import FBM_STD, fbm, smoothstep
from wearforge.wear.types import Layer, Material, Surface

REGIONS = False


@dataclass(frozen=True)
class Params:
    count: float = p(3, "Number of oil spots.")
    radius: float = p(0.02, "Spot radius, object units.")
    drip: float = p(0.06, "Length of the drip below each spot, object units (0 = no drips).")
    darkness: float = p(0.7, "How much the oil darkens the surface (0..1).")
    roughness: float = p(0.08, "Roughness of the oil film (glossy).")


@wp.kernel
def _oil(s: Surface, m: Material, out: Layer, seed: int, centers: wp.array(dtype=wp.vec3),
         normals: wp.array(dtype=wp.vec3), radius: float, drip: float, darkness: float, roughness: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    g = -s.up
    best = float(0.0)
    which = int(-1)
    for k in range(centers.shape[0]):
        c = centers[k]
        rel = pos - c
        if wp.dot(s.nrm[y, x], normals[k]) < 0.1 or wp.abs(wp.dot(rel, normals[k])) > 2.0 * radius:
            continue
        wobble = 1.0 + 0.35 * fbm(seed + k, pos / (radius * 0.8), 3, 2.0, 0.5) / FBM_STD
        blob = smoothstep(radius * wobble, 0.8 * radius * wobble, wp.length(rel))
        along = wp.dot(rel, g)
        trail = float(0.0)
        if along > 0.0 and along < drip:
            across = wp.length(rel - g * along)
            w = wp.max(0.35 * radius * (1.0 - along / drip), s.texel[y, x])
            trail = smoothstep(w, 0.7 * w, across)
        v = wp.max(blob, trail)
        if v > best:
            best = v
            which = k
    if which < 0:
        return
    out.mask[y, x] = best
    out.color[y, x] = m.color[y, x] * (1.0 - darkness)
    out.rough[y, x] = roughness
    out.metal[y, x] = m.metal[y, x]
    out.occ[y, x] = wp.uint32(which + 1)


def run(ctx, params: Params, seed: int) -> None:
    rng = np.random.default_rng(seed)
    centers, normals = ctx.surface_points(rng, int(round(params.count)))
    if len(centers) == 0:
        return
    dev = ctx.device
    wp.launch(_oil, dim=(ctx.res, ctx.res), device=dev,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, wp.array(centers, dtype=wp.vec3, device=dev),
                      wp.array(normals, dtype=wp.vec3, device=dev), params.radius, params.drip, params.darkness,
                      params.roughness])
