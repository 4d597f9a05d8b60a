"""Discoloration / heat tint: hue-shifted bands (straw, bronze, purple, blue) in regions of the part."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

from wearforge.wear.defects._common import p, threshold
from wearforge.wear.noise import FBM_STD, fbm, smoothstep
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True


@dataclass(frozen=True)
class Params:
    coverage: float = p(0.35, "Fraction of the surface that is tinted (0..1).")
    band: float = p(0.03, "Width of one colour band, object units.")
    region_scale: float = p(0.08, "Size of tinted regions, object units.")
    strength: float = p(0.8, "Tint strength (0..1).")


@wp.func
def _heat(t: float) -> wp.vec3:
    """Temper colours of steel, linear RGB: straw, bronze, purple, blue, grey-blue."""
    t = t - wp.floor(t)
    k = t * 4.0
    straw = wp.vec3(0.78, 0.58, 0.26)
    bronze = wp.vec3(0.55, 0.30, 0.14)
    purple = wp.vec3(0.36, 0.16, 0.38)
    blue = wp.vec3(0.16, 0.26, 0.62)
    if k < 1.0:
        return wp.lerp(straw, bronze, k)
    if k < 2.0:
        return wp.lerp(bronze, purple, k - 1.0)
    if k < 3.0:
        return wp.lerp(purple, blue, k - 2.0)
    return wp.lerp(blue, straw, k - 3.0)


@wp.kernel
def _tint(s: Surface, m: Material, out: Layer, seed: int, thr: float, band: float, region_scale: float,
          strength: float, axis: wp.vec3):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    r = fbm(seed, pos / region_scale, 4, 2.0, 0.5) / FBM_STD
    mask = smoothstep(thr - 0.2, thr + 0.2, r)
    if mask <= 0.0:
        return
    t = wp.dot(pos, axis) / (4.0 * band) + 0.15 * fbm(seed + 9, pos / band, 3, 2.0, 0.5) / FBM_STD
    out.mask[y, x] = mask
    out.color[y, x] = wp.lerp(m.color[y, x], wp.cw_mul(m.color[y, x], _heat(t)) * 1.6, strength)
    out.rough[y, x] = m.rough[y, x]
    out.metal[y, x] = m.metal[y, x]


def run(ctx, params: Params, seed: int) -> None:
    axis = np.random.default_rng(seed).normal(size=3)
    axis /= np.linalg.norm(axis)
    wp.launch(_tint, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, threshold(params.coverage), params.band,
                      params.region_scale, params.strength, wp.vec3(*axis.astype(float))])
