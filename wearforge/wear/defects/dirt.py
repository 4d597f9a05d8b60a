"""Dirt: grey-brown grime that collects in cavities and occluded areas, broken up by noise."""

from __future__ import annotations

from dataclasses import dataclass

import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import FBM_STD, fbm, smoothstep, value_noise
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True


@dataclass(frozen=True)
class Params:
    amount: float = p(0.5, "How much of the occluded surface is dirty (0..1).")
    scale: float = p(0.03, "Size of dirt blotches, object units.")
    roughness: float = p(0.9, "Roughness of dirt.")


@wp.kernel
def _dirt(s: Surface, m: Material, out: Layer, seed: int, amount: float, scale: float, roughness: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    q = s.pos[y, x] / scale
    n = fbm(seed, q, 5, 2.0, 0.5) / FBM_STD
    v = 1.6 * s.cavity[y, x] + 1.4 * (1.0 - s.ao[y, x]) + 0.3 * n
    thr = 1.1 - 1.0 * amount
    mask = smoothstep(thr, thr + 0.3, v)
    grain = value_noise(seed + 5, s.pos[y, x] / (scale * 0.05))
    out.mask[y, x] = mask
    out.color[y, x] = wp.vec3(0.16, 0.13, 0.10) * (0.75 + 0.5 * grain)
    out.rough[y, x] = roughness
    out.metal[y, x] = 0.0


def run(ctx, params: Params, seed: int) -> None:
    wp.launch(_dirt, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, params.amount, params.scale, params.roughness])
