"""Pitting corrosion: local breakdown of the passive film makes small, deep cavities.

Pits nucleate in clusters (where the film is weakest: inclusions, deposits, wet spots), so density varies
over the part. Their sizes follow a log-normal distribution; outlines are irregular. The interior is dark
(shadowed cavity, corrosion products) and the mouth is ringed with orange-brown product that spills out.
Densities and sizes follow the ASTM G46 rating chart (see docs/wear.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import warp as wp

from wearforge.wear.defects._common import p, threshold
from wearforge.wear.noise import FBM_STD, fbm, hash_u32, smoothstep, u01, value_noise, worley
from wearforge.wear.types import Layer, Material, Surface

REGIONS = False


@dataclass(frozen=True)
class Params:
    density: float = p(20.0, "Pits per cm² inside a cluster (ASTM G46 A1..A5 = 0.25..50 per cm²).")
    clusters: float = p(0.35, "Fraction of the surface in pit clusters (0..1; 1 = pits everywhere).")
    cluster_scale: float = p(25.0, "Size of pit clusters.", "mm")
    size: float = p(0.8, "Median pit mouth diameter (ASTM G46 B1..B3 = 0.8..3.2 mm).", "mm")
    size_sigma: float = p(0.5, "Log-normal spread of pit diameters (sigma of ln d).")
    depth: float = p(0.4, "Depth of a median pit (ASTM G46 C1 = 0.4 mm).", "mm")
    rim: float = p(0.6, "Corrosion-product rim around the mouth (0..1).")


@wp.kernel
def _pits(s: Surface, m: Material, out: Layer, seed: int, cell: float, prob: float, cthr: float,
          cluster_scale: float, median_r: float, sigma: float, depth: float, rim: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    cluster = fbm(seed + 5, pos / cluster_scale, 3, 2.0, 0.5) / FBM_STD
    dens = smoothstep(cthr - 0.3, cthr + 0.3, cluster)
    if dens <= 0.0:
        return
    w = worley(seed, pos / cell, 0.95)
    h = w.cell
    if u01(hash_u32(h)) >= prob * dens:
        return
    # log-normal radius from two uniforms (Box-Muller)
    u1 = wp.max(u01(hash_u32(h + wp.uint32(7))), 1.0e-6)
    u2 = u01(hash_u32(h + wp.uint32(11)))
    z = wp.sqrt(-2.0 * wp.log(u1)) * wp.cos(6.2831853 * u2)
    r = wp.min(median_r * wp.exp(sigma * z), 0.45 * cell)
    r = wp.max(r, 0.7 * s.texel[y, x])
    d = w.f1 * cell
    if d >= 1.9 * r:
        return
    # irregular outline: the radius wobbles with direction and scale
    centre = w.point * cell
    wob = value_noise(seed + 3 + int(h & wp.uint32(1023)), (pos - centre) / (0.6 * r) + wp.vec3(float(h & wp.uint32(255))))
    re = r * (0.7 + 0.6 * wob)
    if d < re:
        k = 1.0 - (d / re) * (d / re)
        floor_col = wp.vec3(0.03, 0.022, 0.016) + wp.vec3(0.05, 0.02, 0.006) * value_noise(seed + 9, pos / (0.3 * r))
        out.mask[y, x] = smoothstep(re, 0.8 * re, d) * 0.5 + 0.5
        out.color[y, x] = wp.lerp(m.color[y, x] * 0.4, floor_col, smoothstep(0.0, 0.5, k))
        out.rough[y, x] = wp.min(m.rough[y, x] + 0.35, 1.0)
        out.metal[y, x] = m.metal[y, x] * 0.3
        out.height[y, x] = -depth * (r / median_r) * wp.sqrt(k)
        out.occ[y, x] = h | wp.uint32(1)
        return
    if rim <= 0.0:
        return
    # spilled corrosion product around the mouth (not part of the pit label)
    t = (d - re) / (1.9 * r - re)
    ring = (1.0 - smoothstep(0.0, 1.0, t)) * rim * (0.6 + 0.4 * wob)
    out.mask[y, x] = wp.min(ring, 0.45)
    out.color[y, x] = wp.vec3(0.25, 0.09, 0.03)
    out.rough[y, x] = 0.85
    out.metal[y, x] = 0.0
    out.height[y, x] = 0.0


def run(ctx, params: Params, seed: int) -> None:
    # one candidate pit per Worley cell; cells sized so that a full cluster holds `density` pits per cm²
    per_cell = 0.8
    cell_cm = (per_cell / max(params.density, 1e-6)) ** 0.5
    cell = cell_cm * 0.01 / ctx.meters_per_unit
    cell = max(cell, 2.2 * params.size)
    prob = min(per_cell * 1.0, 1.0)
    cthr = -4.0 if params.clusters >= 0.999 else threshold(params.clusters)
    wp.launch(_pits, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, cell, prob, cthr, params.cluster_scale, 0.5 * params.size,
                      params.size_sigma, params.depth, params.rim])
