"""Edge wear: convex edges (curvature bake) lose their paint down to bare metal; occluded edges are
spared (masked by AO). On bare metal, edges are polished instead."""

from __future__ import annotations

from dataclasses import dataclass

import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import FBM_STD, fbm, smoothstep
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True


@dataclass(frozen=True)
class Params:
    amount: float = p(0.6, "How far wear reaches in from the edges (0..1).")
    breakup: float = p(0.5, "Noise that chips the worn band irregularly (0..1).")
    scale: float = p(0.006, "Size of the chips, object units.")
    roughness: float = p(0.3, "Roughness of the exposed metal.")


@wp.kernel
def _edges(s: Surface, m: Material, out: Layer, seed: int, amount: float, breakup: float, scale: float,
           roughness: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    n = fbm(seed, s.pos[y, x] / scale, 4, 2.0, 0.5) / FBM_STD
    # breakup scales the convexity, so flat areas (convexity 0) never wear
    v = s.convex[y, x] * wp.max(1.0 + breakup * 0.6 * n, 0.0)
    thr = 0.55 - 0.45 * amount
    mask = smoothstep(thr, thr + 0.08, v) * smoothstep(0.25, 0.6, s.ao[y, x])
    out.mask[y, x] = mask
    if m.metal[y, x] < 0.5:
        out.color[y, x] = wp.vec3(0.55, 0.55, 0.54)
        out.rough[y, x] = roughness
    else:
        out.color[y, x] = wp.min(m.color[y, x] * 1.06, wp.vec3(1.0))
        out.rough[y, x] = m.rough[y, x] * 0.5
    out.metal[y, x] = 1.0


def run(ctx, params: Params, seed: int) -> None:
    wp.launch(_edges, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, params.amount, params.breakup, params.scale,
                      params.roughness])
