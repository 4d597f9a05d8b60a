"""Cracks: thin, dark, deep lines along a Worley edge network, confined to cracked regions."""

from __future__ import annotations

from dataclasses import dataclass

import warp as wp

from wearforge.wear.defects._common import p, threshold
from wearforge.wear.noise import FBM_STD, fbm, smoothstep, warp3, worley
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True


@dataclass(frozen=True)
class Params:
    coverage: float = p(0.25, "Fraction of the surface in cracked regions (0..1).")
    cell: float = p(0.008, "Size of the crack network's cells, object units.")
    width: float = p(0.0004, "Crack width, object units (never thinner than one texel).")
    depth: float = p(0.0003, "Crack depth, object units.")
    region_scale: float = p(0.05, "Size of cracked regions, object units.")


@wp.kernel
def _cracks(s: Surface, m: Material, out: Layer, seed: int, thr: float, cell: float, width: float, depth: float,
            region_scale: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    region = smoothstep(thr, thr + 0.3, fbm(seed + 3, s.pos[y, x] / region_scale, 4, 2.0, 0.5) / FBM_STD)
    if region <= 0.0:
        return
    q = warp3(seed, s.pos[y, x] / cell, 0.35)
    w = worley(seed, q, 1.0)
    edge = 0.5 * (w.f2 - w.f1) * cell  # ~ distance to the cell border
    half = wp.max(0.5 * width, 0.75 * s.texel[y, x]) * (0.4 + 0.6 * region)
    if edge >= half:
        return
    mask = smoothstep(half, 0.5 * half, edge) * wp.min(region * 2.0, 1.0)
    out.mask[y, x] = mask
    out.color[y, x] = wp.vec3(0.035, 0.03, 0.027)
    out.rough[y, x] = 0.9
    out.metal[y, x] = m.metal[y, x] * 0.3
    out.height[y, x] = -depth * mask


def run(ctx, params: Params, seed: int) -> None:
    wp.launch(_cracks, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, threshold(params.coverage), params.cell, params.width,
                      params.depth, params.region_scale])
