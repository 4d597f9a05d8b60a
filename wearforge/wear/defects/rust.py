"""Rust / corrosion: domain-warped fBm patches, thresholded; iron-oxide browns and oranges, metallic -> 0,
rough, a slightly raised crust. Prefers edges, cavities and occluded areas."""

from __future__ import annotations

from dataclasses import dataclass

import warp as wp

from wearforge.wear.defects._common import p, palette3, threshold
from wearforge.wear.noise import FBM_STD, fbm, smoothstep, value_noise, warp3
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True


@dataclass(frozen=True)
class Params:
    coverage: float = p(0.3, "Fraction of the surface that rusts (0..1).")
    scale: float = p(0.05, "Patch size, object units.")
    warp: float = p(0.8, "Domain-warp strength: 0 = round blobs, 2 = stringy, organic patches.")
    edge_bias: float = p(0.6, "How much edges, cavities and occluded areas attract rust (0..1).")
    relief: float = p(0.0002, "Height of the rust crust, object units.")
    roughness: float = p(0.85, "Roughness of rust (0.7..1).")


@wp.kernel
def _rust(s: Surface, m: Material, out: Layer, seed: int, scale: float, strength: float, bias: float,
          thr: float, relief: float, roughness: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    q = s.pos[y, x] / scale
    f = fbm(seed, warp3(seed, q, strength), 5, 2.0, 0.5) / FBM_STD
    v = f + bias * (1.4 * s.convex[y, x] + 1.0 * s.cavity[y, x] + 0.8 * (1.0 - s.ao[y, x]))
    mask = smoothstep(thr - 0.25, thr + 0.25, v)
    tone = fbm(seed + 17, q * 3.1, 4, 2.0, 0.5) / FBM_STD
    grain = value_noise(seed + 29, s.pos[y, x] / (scale * 0.04))
    dark = wp.vec3(0.09, 0.028, 0.01)
    mid = wp.vec3(0.181, 0.057, 0.017)
    orange = wp.vec3(0.42, 0.135, 0.032)
    # the crust centre is darker than its fresh, orange rim
    depth = smoothstep(thr, thr + 1.2, v)
    col = palette3(orange, mid, dark, 0.5 + 0.25 * tone + 0.35 * depth - 0.2)
    out.mask[y, x] = mask
    out.color[y, x] = col * (0.85 + 0.3 * grain)
    out.rough[y, x] = wp.clamp(roughness + 0.1 * (grain - 0.5), 0.0, 1.0)
    out.metal[y, x] = 0.0
    out.height[y, x] = relief * mask * (0.5 + 0.5 * grain + 0.3 * depth)


def run(ctx, params: Params, seed: int) -> None:
    bias = params.edge_bias * 1.2
    wp.launch(_rust, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, params.scale, params.warp, bias,
                      threshold(params.coverage), params.relief, params.roughness])
