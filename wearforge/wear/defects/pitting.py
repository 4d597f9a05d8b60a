"""Pitting: small, deep craters on cellular (Worley) points; darker, rougher, less metallic."""

from __future__ import annotations

from dataclasses import dataclass

import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import hash_u32, smoothstep, u01, worley
from wearforge.wear.types import Layer, Material, Surface

REGIONS = False


@dataclass(frozen=True)
class Params:
    probability: float = p(0.35, "Chance that a cell holds a pit (0..1): the pit density.")
    radius: float = p(0.0025, "Mean pit radius, object units.")
    spacing: float = p(5.0, "Cell size in pit radii: larger = sparser pits.")
    depth: float = p(0.0004, "Pit depth, object units.")
    darkness: float = p(0.75, "How much darker the pit floor is (0..1).")


@wp.kernel
def _pits(s: Surface, m: Material, out: Layer, seed: int, prob: float, radius: float, cell: float, depth: float,
          darkness: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    w = worley(seed, s.pos[y, x] / cell, 0.9)
    if u01(hash_u32(w.cell)) >= prob:
        return
    r = wp.max(radius * (0.5 + u01(hash_u32(w.cell + wp.uint32(7)))), 1.2 * s.texel[y, x])
    d = w.f1 * cell
    if d >= r:
        return
    k = 1.0 - (d / r) * (d / r)
    mask = smoothstep(r, 0.75 * r, d)
    out.mask[y, x] = mask
    out.color[y, x] = m.color[y, x] * (1.0 - darkness) + wp.vec3(0.05, 0.025, 0.012) * darkness * k
    out.rough[y, x] = wp.min(m.rough[y, x] + 0.3, 1.0)
    out.metal[y, x] = m.metal[y, x] * 0.5
    out.height[y, x] = -depth * k
    out.occ[y, x] = w.cell | wp.uint32(1)


def run(ctx, params: Params, seed: int) -> None:
    wp.launch(_pits, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, params.probability, params.radius,
                      params.radius * params.spacing, params.depth, params.darkness])
