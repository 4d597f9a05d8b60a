"""Dust: airborne particles settle under gravity on up-facing, unsheltered surfaces (world up for this
frame's pose) as a thin, partly transparent film with visible specks; vertical and downward faces stay
clean. The finish shows through; the film greys and dulls it (particles 1-100 um, specks of lint and grit
up to a few tenths of a millimetre)."""

from __future__ import annotations

from dataclasses import dataclass

import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import FBM_STD, fbm, hash_u32, smoothstep, u01, worley
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True


@dataclass(frozen=True)
class Params:
    amount: float = p(0.6, "Dust density (0..1).")
    scale: float = p(15.0, "Size of variations in the film.", "mm")
    facing: float = p(0.5, "How strictly dust needs an up-facing surface (0 = any side, 1 = only the top).")
    opacity: float = p(0.6, "Opacity of the densest film (0..1).")
    specks: float = p(0.4, "Density of visible specks (lint, grit) on the film (0..1).")
    speck_size: float = p(0.25, "Size of specks.", "mm")


@wp.kernel
def _dust(s: Surface, m: Material, out: Layer, seed: int, amount: float, scale: float, facing: float,
          opacity: float, specks: float, speck_size: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    up = wp.dot(s.nrm[y, x], s.up)
    lo = -0.2 + 0.9 * facing
    settle = smoothstep(lo, lo + 0.35, up) * wp.sqrt(wp.max(s.ao[y, x], 0.0))
    if settle <= 0.0:
        return
    pos = s.pos[y, x]
    n = fbm(seed, pos / scale, 4, 2.0, 0.5) / FBM_STD
    d = wp.clamp(settle * (0.75 + 0.3 * n) * 1.6 * amount, 0.0, 1.0)
    film = d * opacity
    col = wp.lerp(m.color[y, x], wp.vec3(0.50, 0.48, 0.45), film)
    rough = wp.lerp(m.rough[y, x], 0.95, wp.min(1.5 * film, 1.0))
    metal = m.metal[y, x] * (1.0 - film)
    if specks > 0.0:
        w = worley(seed + 7, pos / (speck_size * 4.0), 1.0)
        if u01(hash_u32(w.cell)) < specks * d:
            sp = smoothstep(0.28, 0.15, w.f1)
            tone = u01(hash_u32(w.cell + wp.uint32(5)))
            col = wp.lerp(col, wp.vec3(0.25, 0.23, 0.2) + wp.vec3(0.45) * tone, sp)
            rough = wp.lerp(rough, 1.0, sp)
            metal = metal * (1.0 - sp)
    mask = smoothstep(0.25, 0.45, d)
    blend = wp.max(mask, 1.0e-3)
    inv = 1.0 / blend
    out.mask[y, x] = blend
    out.hide[y, x] = film
    out.color[y, x] = m.color[y, x] + (col - m.color[y, x]) * inv
    out.rough[y, x] = m.rough[y, x] + (rough - m.rough[y, x]) * inv
    out.metal[y, x] = m.metal[y, x] + (metal - m.metal[y, x]) * inv


def run(ctx, params: Params, seed: int) -> None:
    wp.launch(_dust, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, params.amount, params.scale, params.facing,
                      params.opacity, params.specks, params.speck_size])
