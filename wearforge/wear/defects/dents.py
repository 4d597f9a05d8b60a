"""Dents: a few larger, smooth depressions (height only; the material is unchanged)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import smoothstep
from wearforge.wear.types import Layer, Material, Surface

REGIONS = False


@dataclass(frozen=True)
class Params:
    count: float = p(2, "Number of dents.")
    radius: float = p(0.02, "Dent radius, object units.")
    depth: float = p(0.0015, "Dent depth at the centre, object units.")


@wp.kernel
def _dents(s: Surface, m: Material, out: Layer, centers: wp.array(dtype=wp.vec3), normals: wp.array(dtype=wp.vec3),
           radii: wp.array(dtype=float), depth: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    for k in range(centers.shape[0]):
        d = wp.length(s.pos[y, x] - centers[k])
        if d >= radii[k] or wp.dot(s.nrm[y, x], normals[k]) < 0.5:
            continue
        b = 1.0 - (d / radii[k]) * (d / radii[k])
        b = b * b
        out.height[y, x] = out.height[y, x] - depth * b
        # the labelled dent is where it is at least a quarter deep
        mask = smoothstep(0.15, 0.35, b)
        if mask > out.mask[y, x]:
            out.mask[y, x] = mask
            out.occ[y, x] = wp.uint32(k + 1)
    out.color[y, x] = m.color[y, x]
    out.rough[y, x] = m.rough[y, x]
    out.metal[y, x] = m.metal[y, x]


def run(ctx, params: Params, seed: int) -> None:
    rng = np.random.default_rng(seed)
    centers, normals = ctx.surface_points(rng, int(round(params.count)))
    if len(centers) == 0:
        return
    radii = (params.radius * rng.uniform(0.7, 1.3, len(centers))).astype(np.float32)
    dev = ctx.device
    wp.launch(_dents, dim=(ctx.res, ctx.res), device=dev,
              inputs=[ctx.surface, ctx.mat, ctx.out, wp.array(centers, dtype=wp.vec3, device=dev),
                      wp.array(normals, dtype=wp.vec3, device=dev), wp.array(radii, dtype=float, device=dev),
                      params.depth])
