"""Edge wear: paint chips off the exposed convex edges that get knocked and rubbed in handling.

Impacts break the brittle paint film into jagged chips; the layer below shows as a ring (primer) around
the bare metal, and the sharpest part of the edge (the arris) is rubbed bright and smooth. Occluded
edges are spared (masked by AO). On bare metal there is no paint: the arris is burnished.
Paint systems are 0.1-0.3 mm thick over a 0.04-0.08 mm primer (ISO 12944-5), so chips are millimetres
wide at most: the default chip size follows that.
"""

from __future__ import annotations

from dataclasses import dataclass

import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.defects.scratches import PRIMER
from wearforge.wear.noise import FBM_STD, fbm, smoothstep, value_noise
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True


@dataclass(frozen=True)
class Params:
    amount: float = p(0.6, "How far wear reaches in from the edges (0..1).")
    breakup: float = p(0.7, "How jagged and patchy the chipped band is (0..1).")
    scale: float = p(2.0, "Size of the chips.", "mm")
    roughness: float = p(0.3, "Roughness of the exposed metal.")
    primer: float = p(0.35, "Width of the primer ring around chips, relative to the chip band (0 = none).")
    coat: float = p(0.15, "Paint thickness (the chip wall's height).", "mm")


@wp.kernel
def _edges(s: Surface, m: Material, out: Layer, seed: int, amount: float, breakup: float, scale: float,
           roughness: float, primer: float, coat: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    cv = s.convex[y, x]
    if cv <= 0.02:
        return
    pos = s.pos[y, x]
    # chips: broad patchiness plus sharp, angular small-scale breakup (ridged noise gives jagged outlines)
    n = fbm(seed, pos / (scale * 4.0), 3, 2.0, 0.5) / FBM_STD
    r = 1.0 - wp.abs(fbm(seed + 3, pos / scale, 4, 2.2, 0.55) / FBM_STD) * 0.5
    v = cv * wp.max(1.0 + breakup * (0.5 * n + 0.6 * (r - 0.6)), 0.0)
    thr = 0.55 - 0.45 * amount
    ao = smoothstep(0.25, 0.6, s.ao[y, x])
    bare = smoothstep(thr, thr + 0.02, v) * ao
    ring = smoothstep(thr - primer * thr, thr - primer * thr + 0.02, v) * ao
    arris = smoothstep(0.75, 0.95, cv) * ao
    painted = m.metal[y, x] < 0.5
    grain = value_noise(seed + 7, pos / (scale * 0.1))
    if painted:
        if ring <= 0.0:
            return
        metal_col = wp.vec3(0.55, 0.55, 0.54) * (0.9 + 0.2 * grain)
        metal_col = wp.lerp(metal_col, wp.vec3(0.75, 0.74, 0.72), arris)
        prim = PRIMER * (0.9 + 0.2 * grain)
        out.mask[y, x] = ring
        out.color[y, x] = wp.lerp(prim, metal_col, bare)
        out.rough[y, x] = wp.lerp(0.6, wp.lerp(roughness, 0.12, arris), bare)
        out.metal[y, x] = bare
        # chip walls: the paint stands above the chip
        out.height[y, x] = -coat * (0.4 * ring + 0.6 * bare)
        return
    # bare metal: burnished arris only
    if arris <= 0.0:
        return
    out.mask[y, x] = arris
    out.color[y, x] = wp.min(m.color[y, x] * 1.12 + wp.vec3(0.02), wp.vec3(1.0))
    out.rough[y, x] = wp.max(m.rough[y, x] * 0.35, 0.06)
    out.metal[y, x] = 1.0


def run(ctx, params: Params, seed: int) -> None:
    wp.launch(_edges, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, params.amount, params.breakup, params.scale,
                      params.roughness, params.primer, params.coat])
