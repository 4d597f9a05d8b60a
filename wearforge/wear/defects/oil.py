"""Oil / grease: a thin, glossy film. The film barely changes the colour of what is under it (it is
transparent) but smooths the surface to a mirror-like gloss; as a spot spreads and its edge pins, capillary
flow carries material to the edge and leaves a darker rim (the coffee-ring effect, Deegan et al. 1997).
On an inclined face excess oil runs down along gravity for this frame's pose as drips that end in a bead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import FBM_STD, fbm, smoothstep
from wearforge.wear.types import Layer, Material, Surface

REGIONS = False


@dataclass(frozen=True)
class Params:
    count: float = p(3, "Number of oil spots.")
    radius: float = p(8.0, "Spot radius.", "mm")
    drip: float = p(25.0, "Length of the drip below each spot on inclined faces (0 = no drips).", "mm")
    darkness: float = p(0.25, "How much the film darkens the surface under it (0..1).")
    rim: float = p(0.55, "Darkening of the capillary rim at the spot's edge (0..1).")
    roughness: float = p(0.05, "Roughness of the film's own surface (the texel ends 60 % of the way there).")


@wp.kernel
def _oil(s: Surface, m: Material, out: Layer, seed: int, centers: wp.array(dtype=wp.vec3),
         normals: wp.array(dtype=wp.vec3), radius: float, drip: float, darkness: float, rim: float,
         roughness: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    nrm = s.nrm[y, x]
    # gravity along the surface: drips run down the slope, none on horizontal faces
    g3 = -s.up
    g = g3 - nrm * wp.dot(g3, nrm)
    slope = wp.length(g)
    best = float(0.0)
    ring = float(0.0)
    which = int(-1)
    for k in range(centers.shape[0]):
        c = centers[k]
        rel = pos - c
        if wp.dot(nrm, normals[k]) < 0.1 or wp.abs(wp.dot(rel, normals[k])) > 2.0 * radius:
            continue
        wobble = 1.0 + 0.3 * fbm(seed + k, pos / (radius * 0.8), 3, 2.0, 0.5) / FBM_STD
        r = radius * wobble
        dist = wp.length(rel)
        blob = smoothstep(r, 0.93 * r, dist)
        edge = smoothstep(0.8 * r, 0.96 * r, dist) * blob
        trail = float(0.0)
        if slope > 0.2 and drip > 0.0:
            gd = g / slope
            along = wp.dot(rel, gd)
            length = drip * slope
            if along > 0.0 and along < length + 0.4 * radius:
                across = wp.length(rel - gd * along)
                w = wp.max(0.22 * radius * (1.0 - 0.6 * along / length), s.texel[y, x])
                trail = smoothstep(w, 0.8 * w, across) * wp.where(along < length, 1.0, 0.0)
                # the bead at the end of the drip
                bead = wp.length(rel - gd * length)
                trail = wp.max(trail, smoothstep(0.4 * radius, 0.3 * radius, bead))
        v = wp.max(blob, trail)
        if v > best:
            best = v
            ring = edge
            which = k
    if which < 0 or best <= 0.0:
        return
    out.mask[y, x] = best
    dark = darkness + (rim - darkness) * ring
    out.hide[y, x] = dark * best  # a film microns thick: it darkens what is under it, relief and all
    out.color[y, x] = m.color[y, x] * (1.0 - dark)
    # the film is microns thick: its surface is smooth but the finish under it still scatters, so the texel
    # gets glossier without turning into a mirror of the (usually dark) surroundings
    out.rough[y, x] = wp.lerp(m.rough[y, x], roughness, 0.6)
    out.metal[y, x] = m.metal[y, x]
    out.height[y, x] = 0.0
    out.aniso[y, x] = 0.0  # the film levels the finish's grooves
    out.occ[y, x] = wp.uint32(which + 1)


def run(ctx, params: Params, seed: int) -> None:
    rng = np.random.default_rng(seed)
    centers, normals = ctx.surface_points(rng, int(round(params.count)))
    if len(centers) == 0:
        return
    dev = ctx.device
    wp.launch(_oil, dim=(ctx.res, ctx.res), device=dev,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, wp.array(centers, dtype=wp.vec3, device=dev),
                      wp.array(normals, dtype=wp.vec3, device=dev), params.radius, params.drip, params.darkness,
                      params.rim, params.roughness])
