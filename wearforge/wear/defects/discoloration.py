"""Heat tint: an oxide film grown by heat (welding, grinding, overheating) whose thickness, and therefore
its interference colour, falls with the peak temperature reached. Bands are concentric to the heat source
(a weld seam or a hot spot) in the temper-colour order: from the coolest edge inwards straw, gold, brown,
purple, blue and dark grey-blue next to the source (for carbon steel about 220 -> 330 °C; stainless steels
show the same sequence at higher temperatures, AWS D18.2). The film is thin: the surface stays metallic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

from wearforge.wear.defects._common import p, seg_dist
from wearforge.wear.defects._paths import SurfaceWalker
from wearforge.wear.noise import FBM_STD, fbm, smoothstep
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True
# temper colours from the hot side (index 0) to the cool edge, linear RGB tints (multiplied onto the metal)
TEMPER = (
    ("grey_blue", (0.42, 0.50, 0.62)),
    ("blue", (0.22, 0.36, 0.95)),
    ("purple", (0.55, 0.25, 0.62)),
    ("brown", (0.72, 0.38, 0.17)),
    ("gold", (0.95, 0.70, 0.30)),
    ("straw", (1.00, 0.90, 0.62)),
)


@dataclass(frozen=True)
class Params:
    count: float = p(1, "Heat sources.")
    width: float = p(10.0, "Width of the tinted zone on each side of the source (TIG welds: about 3..15 mm).", "mm")
    seam: float = p(40.0, "Length of the weld seam (0 = a point source: a hot spot).", "mm")
    strength: float = p(0.85, "Tint strength (0..1).")


@wp.func
def temper(t: float) -> wp.vec3:
    """Tint at normalised distance t from the source (0 = at the source, 1 = the cool edge)."""
    k = wp.clamp(t, 0.0, 0.999) * 6.0
    i = int(wp.floor(k))
    f = smoothstep(0.55, 1.0, k - float(i))  # mostly flat bands with short transitions
    c0 = wp.vec3(0.0)
    c1 = wp.vec3(0.0)
    if i == 0:
        c0 = wp.vec3(0.42, 0.50, 0.62)
        c1 = wp.vec3(0.22, 0.36, 0.95)
    elif i == 1:
        c0 = wp.vec3(0.22, 0.36, 0.95)
        c1 = wp.vec3(0.55, 0.25, 0.62)
    elif i == 2:
        c0 = wp.vec3(0.55, 0.25, 0.62)
        c1 = wp.vec3(0.72, 0.38, 0.17)
    elif i == 3:
        c0 = wp.vec3(0.72, 0.38, 0.17)
        c1 = wp.vec3(0.95, 0.70, 0.30)
    elif i == 4:
        c0 = wp.vec3(0.95, 0.70, 0.30)
        c1 = wp.vec3(1.00, 0.90, 0.62)
    else:
        c0 = wp.vec3(1.00, 0.90, 0.62)
        c1 = wp.vec3(1.0, 1.0, 1.0)
    return wp.lerp(c0, c1, f)


@wp.kernel
def _tint(s: Surface, m: Material, out: Layer, seed: int, a: wp.array(dtype=wp.vec3), b: wp.array(dtype=wp.vec3),
          normals: wp.array(dtype=wp.vec3), width: float, strength: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    best = float(1.0e9)
    for q in range(a.shape[0]):
        if wp.dot(s.nrm[y, x], normals[q]) < -0.3:
            continue
        dt = seg_dist(pos, a[q], b[q])
        best = wp.min(best, dt[0])
    if best >= 1.3 * width:
        return
    # the isotherms wobble a little with the weld pool, but keep their order
    t = best / width + 0.05 * fbm(seed + 9, pos / (0.5 * width), 3, 2.0, 0.5) / FBM_STD
    if t >= 1.0:
        return
    fade = smoothstep(1.0, 0.85, t)
    out.mask[y, x] = fade
    out.color[y, x] = wp.lerp(m.color[y, x], wp.cw_mul(m.color[y, x], temper(t)), strength)
    out.rough[y, x] = m.rough[y, x]
    out.metal[y, x] = m.metal[y, x]


def sources(ctx, params: Params, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heat-source segments (a, b) and their normals, object space. Seams follow concave junctions (where
    welds are) when the part has them: the seam's direction keeps the walker on the highest cavity."""
    rng = np.random.default_rng(seed)
    walker = SurfaceWalker(ctx.cover, ctx.position, ctx.normal, np.clip(ctx.bake.cavity, 0, None))
    count = int(round(params.count))
    if len(walker) == 0 or count <= 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32)
    near = ctx.in_focus(walker.pos, walker.nrm) if hasattr(ctx, "in_focus") else np.ones(len(walker), bool)
    pool = np.nonzero(near)[0] if near.any() else np.arange(len(walker))
    cut = np.quantile(walker.score[pool], 0.9)
    cand = pool[walker.score[pool] >= cut] if cut > 0.05 else pool
    starts = rng.choice(cand, size=count)
    a, b, n = [], [], []
    for o in starts:
        if params.seam <= 0:
            a.append(walker.pos[o])
            b.append(walker.pos[o])
            n.append(walker.nrm[o])
            continue
        step = params.seam / 20.0
        dirs = walker.tangent_dirs(o, 12, rng.uniform(0, np.pi))
        best, best_score = dirs[0], -np.inf
        for d in dirs:
            j = walker.snap(walker.pos[o] + d * 2 * step, walker.nrm[o], 3 * step)
            if j is not None and walker.score[j] > best_score:
                best, best_score = d, walker.score[j]
        half = []
        for sign in (1.0, -1.0):
            half.append(walker.walk(o, sign * best, step, 10, rng, 0.05))
        path = half[1][::-1] + half[0][1:]
        pts = walker.pos[path]
        for q in range(len(pts) - 1):
            a.append(pts[q])
            b.append(pts[q + 1])
            n.append(walker.nrm[path[q]])
        if len(pts) == 1:
            a.append(pts[0])
            b.append(pts[0])
            n.append(walker.nrm[o])
    f = lambda v: np.asarray(v, np.float32).reshape(-1, 3)  # noqa: E731
    return f(a), f(b), f(n)


def run(ctx, params: Params, seed: int) -> None:
    a, b, n = sources(ctx, params, seed)
    if len(a) == 0:
        return
    dev = ctx.device
    arr = lambda v: wp.array(v, dtype=wp.vec3, device=dev)  # noqa: E731
    wp.launch(_tint, dim=(ctx.res, ctx.res), device=dev,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, arr(a), arr(b), arr(n), params.width, params.strength])
