"""Dents: plastic indentation from an impact (a dropped part, a knock against a corner).

The impactor pushes a smooth, round-bottomed cup into the surface and the displaced material rises into a
low lip around it. The cup's slopes tilt reflections and shading; where the impactor touched (the whole
cup: a plastic indentation is as wide as its contact) it burnishes metal or crushes the paint film into a
duller, lighter contact mark, which is what keeps the flat centre of a dent visible too. The cup and lip
are geometry: for the standalone renderer they go into the stack's displacement map and the mesh is
refined and moved by it (``wearforge.render.displace``), so silhouettes, reflections of straight edges and
grazing light bend over the dent; the Kit home has no displacement and gets them in the normal map
(shading only, the silhouette does not change; see docs/wear.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import smoothstep, value_noise
from wearforge.wear.types import Layer, Material, Surface

REGIONS = False
GEOMETRY = True  # the relief is coarse enough to displace the mesh (see wearforge.wear.stack)


@dataclass(frozen=True)
class Params:
    count: float = p(2, "Number of dents.")
    radius: float = p(6.0, "Dent radius (the cup, without the lip).", "mm")
    depth: float = p(0.8, "Dent depth at the centre.", "mm")
    lip: float = p(0.15, "Height of the raised lip as a fraction of the depth.")
    contact: float = p(0.4, "Strength of the contact mark at the bottom (0..1).")


@wp.kernel
def _dents(s: Surface, m: Material, out: Layer, seed: int, centers: wp.array(dtype=wp.vec3),
           normals: wp.array(dtype=wp.vec3), radii: wp.array(dtype=float), depth: float, lip: float, contact: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    best = float(0.0)
    mark = float(0.0)
    for k in range(centers.shape[0]):
        d = wp.length(s.pos[y, x] - centers[k])
        r = radii[k]
        if d >= 1.6 * r or wp.dot(s.nrm[y, x], normals[k]) < 0.5:
            continue
        u = d / r
        h = float(0.0)
        if u < 1.0:
            c = 0.5 + 0.5 * wp.cos(3.14159265 * u)  # smooth cup, zero slope at the bottom and the rim
            h = -depth * c
        # lip: a low ridge just outside the cup
        h = h + lip * depth * wp.exp(-((u - 1.1) * (u - 1.1)) / 0.005)
        out.height[y, x] = out.height[y, x] + h
        mask = smoothstep(1.0, 0.9, u)  # >= 0.5 out to 0.95 radius, where the cup is 0.6 % deep
        if mask > out.mask[y, x]:
            out.mask[y, x] = mask
            out.occ[y, x] = wp.uint32(k + 1)
            # the impactor touched the whole cup (a plastic indentation is as wide as its contact, a ~ sqrt(2 R d)):
            # its footprint covers the floor and fades on the cup's outer slope, frayed at the edge
            fray = value_noise(seed + k, s.pos[y, x] / (0.08 * r))
            mark = smoothstep(0.95, 0.82, u + 0.05 * fray) * contact * (0.6 + 0.4 * fray)
    best = out.mask[y, x]
    if best <= 0.0 and out.height[y, x] != 0.0:
        # the lip outside the labelled cup: height only, material unchanged
        out.mask[y, x] = 1.0e-3
    painted = m.metal[y, x] < 0.5
    if painted:
        # crushed paint: micro-cracks scatter white light, so the film turns paler (less saturated) and duller
        base = m.color[y, x]
        lum = 0.2126 * base[0] + 0.7152 * base[1] + 0.0722 * base[2]
        out.color[y, x] = wp.lerp(base, wp.lerp(base, wp.vec3(lum * 1.2 + 0.03), 0.7), mark)
        out.rough[y, x] = wp.lerp(m.rough[y, x], wp.min(m.rough[y, x] + 0.3, 1.0), mark)
    else:
        # burnished metal: brighter, smoother contact patch
        out.color[y, x] = wp.lerp(m.color[y, x], wp.min(m.color[y, x] * 1.12, wp.vec3(1.0)), mark)
        out.rough[y, x] = wp.lerp(m.rough[y, x], m.rough[y, x] * 0.5, mark)
    out.metal[y, x] = m.metal[y, x]


def run(ctx, params: Params, seed: int) -> None:
    rng = np.random.default_rng(seed)
    centers, normals = ctx.surface_points(rng, int(round(params.count)))
    if len(centers) == 0:
        return
    radii = (params.radius * rng.uniform(0.7, 1.3, len(centers))).astype(np.float32)
    dev = ctx.device
    wp.launch(_dents, dim=(ctx.res, ctx.res), device=dev,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, wp.array(centers, dtype=wp.vec3, device=dev),
                      wp.array(normals, dtype=wp.vec3, device=dev), wp.array(radii, dtype=float, device=dev),
                      params.depth, params.lip, params.contact])
