"""Dust: a light grey, very rough film on up-facing, unoccluded surfaces (world up for this frame's pose)."""

from __future__ import annotations

from dataclasses import dataclass

import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import FBM_STD, fbm, smoothstep
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True


@dataclass(frozen=True)
class Params:
    amount: float = p(0.6, "Dust density (0..1).")
    scale: float = p(0.015, "Size of dust variation, object units.")
    facing: float = p(0.5, "How strictly dust needs an up-facing surface (0 = any side, 1 = only the top).")


@wp.kernel
def _dust(s: Surface, m: Material, out: Layer, seed: int, amount: float, scale: float, facing: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    up = wp.dot(s.nrm[y, x], s.up)
    lo = -0.2 + 0.9 * facing
    n = fbm(seed, s.pos[y, x] / scale, 4, 2.0, 0.5) / FBM_STD
    d = smoothstep(lo, lo + 0.35, up) * wp.sqrt(wp.max(s.ao[y, x], 0.0)) * (0.75 + 0.25 * n)
    mask = wp.clamp(d * 1.6 * amount, 0.0, 1.0)
    out.mask[y, x] = mask
    out.color[y, x] = wp.vec3(0.55, 0.53, 0.50)
    out.rough[y, x] = 0.95
    out.metal[y, x] = 0.0


def run(ctx, params: Params, seed: int) -> None:
    wp.launch(_dust, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, params.amount, params.scale, params.facing])
