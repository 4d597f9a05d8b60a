"""Cracks: fatigue and overload cracks start where stress concentrates (hole edges, cut edges, fillets,
weld toes) and run across the part as one tortuous line with short side branches, tapering to the tip.
A fatigue crack is tight (its opening is microns), so it shows as a dark line of shadow and trapped dirt;
on steel it often bleeds a rust stain. Crazing, a network of fine cracks in a brittle coating, is a
separate mode (``crazing = 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

from wearforge.wear.defects._common import p, seg_dist, threshold
from wearforge.wear.defects._paths import SurfaceWalker, chunked, stress_raisers
from wearforge.wear.noise import FBM_STD, fbm, smoothstep, value_noise, warp3, worley
from wearforge.wear.types import Layer, Material, Surface

REGIONS = False


@dataclass(frozen=True)
class Params:
    count: float = p(2, "Number of cracks (each from its own stress raiser).")
    length: float = p(15.0, "Mean crack length.", "mm")
    width: float = p(0.05, "Crack opening at the mouth (tapers to the tip).", "mm")
    depth: float = p(0.3, "Crack depth.", "mm")
    tortuosity: float = p(0.35, "How much the path wanders (radians of turn per step, std).")
    branching: float = p(0.08, "Chance per step of a side branch (0..1).")
    rust_bleed: float = p(0.0, "Rust stain bleeding from the crack (0..1), on steel.")
    crazing: float = p(0.0, "1 = crazing: a network of fine cracks in a coating, instead of single cracks.")
    coverage: float = p(0.25, "Crazing only: fraction of the surface in crazed regions (0..1).")
    cell: float = p(3.0, "Crazing only: size of the network's cells.", "mm")
    region_scale: float = p(30.0, "Crazing only: size of crazed regions.", "mm")


@wp.kernel
def _cracks(s: Surface, m: Material, out: Layer, seed: int, a: wp.array(dtype=wp.vec3), b: wp.array(dtype=wp.vec3),
            w: wp.array(dtype=float), sid: wp.array(dtype=int), cc: wp.array(dtype=wp.vec3), cr: wp.array(dtype=float),
            cs: wp.array(dtype=int), cn: wp.array(dtype=int), depth: float,
            bleed: float, bleed_r: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    best = float(1.0e9)
    best_w = float(0.0)
    best_id = int(-1)
    for c in range(cc.shape[0]):
        if wp.length(pos - cc[c]) > cr[c] + bleed_r:
            continue
        for q in range(cs[c], cs[c] + cn[c]):
            # no side test: the path lies on the surface and a crack is far thinner than any wall
            dt = seg_dist(pos, a[q], b[q])
            if dt[0] < best:
                best = dt[0]
                best_w = w[q]
                best_id = sid[q]
    if best_id < 0:
        return
    texel = s.texel[y, x]
    half = 0.5 * best_w
    reach = wp.max(half, 0.5 * texel)
    if best < reach:
        mask = wp.max(smoothstep(reach, 0.6 * reach, best), 0.5)
        # the walls' shadow and the dirt and oxide the crack traps make the dark line wider than the opening
        cover = wp.min(wp.max(5.0 * half / texel, 0.6), 1.0)
        crack = wp.vec3(0.015, 0.013, 0.012)
        out.mask[y, x] = mask
        out.color[y, x] = m.color[y, x] + (crack - m.color[y, x]) * wp.min(cover / mask, 1.0)
        out.rough[y, x] = m.rough[y, x] + (0.9 - m.rough[y, x]) * wp.min(cover / mask, 1.0)
        out.metal[y, x] = m.metal[y, x] * (1.0 - 0.7 * wp.min(cover / mask, 1.0))
        out.height[y, x] = -depth * wp.min(2.0 * half / texel, 1.0)
        out.aniso[y, x] = 0.0
        out.occ[y, x] = wp.uint32(best_id + 1)
        return
    if bleed > 0.0 and best < bleed_r:
        # rust bleeding out of the crack, below the label threshold: a stain, not the crack itself
        st = smoothstep(bleed_r, 0.0, best) * bleed * (0.5 + 0.5 * value_noise(seed, pos / (0.3 * bleed_r)))
        out.mask[y, x] = wp.min(st, 0.45)
        out.color[y, x] = wp.vec3(0.30, 0.10, 0.03)
        out.rough[y, x] = 0.85
        out.metal[y, x] = 0.0


@wp.kernel
def _crazing(s: Surface, m: Material, out: Layer, seed: int, thr: float, cell: float, width: float, depth: float,
             region_scale: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    region = smoothstep(thr, thr + 0.3, fbm(seed + 3, s.pos[y, x] / region_scale, 4, 2.0, 0.5) / FBM_STD)
    if region <= 0.0:
        return
    q = warp3(seed, s.pos[y, x] / cell, 0.35)
    wr = worley(seed, q, 1.0)
    edge = 0.5 * (wr.f2 - wr.f1) * cell  # ~ distance to the cell border
    half = wp.max(0.5 * width, 0.75 * s.texel[y, x]) * (0.4 + 0.6 * region)
    if edge >= half:
        return
    mask = smoothstep(half, 0.5 * half, edge) * wp.min(region * 2.0, 1.0)
    out.mask[y, x] = mask
    out.color[y, x] = wp.vec3(0.035, 0.03, 0.027)
    out.rough[y, x] = 0.9
    out.metal[y, x] = m.metal[y, x] * 0.3
    out.height[y, x] = -depth * mask
    out.occ[y, x] = wp.uint32(1)  # one crazed network per layer


def crack_paths(ctx, params: Params, seed: int) -> tuple[list[np.ndarray], list[np.ndarray], list[int], np.ndarray,
                                                          np.ndarray]:
    """Crack polylines (object space), widths along them, crack ids, origins and origin normals."""
    rng = np.random.default_rng(seed)
    score = stress_raisers(ctx.bake)
    walker = SurfaceWalker(ctx.cover, ctx.position, ctx.normal, score)
    count = int(round(params.count))
    if len(walker) == 0 or count <= 0:
        return [], [], [], np.zeros((0, 3)), np.zeros((0, 3))
    # origins: among the strongest 3 % of stress raisers, weighted by score, on a face a crack can grow into
    # (not the middle of a narrow bore wall or cut edge). Where the strongest raisers in view are all such
    # strips (a bore wall seen by the camera, whose rim on the face it looks at scores a little lower), the
    # pool widens to weaker raisers until it holds a broad face: the rim of the hole, where cracks start.
    near = ctx.in_focus(walker.pos, walker.nrm) if hasattr(ctx, "in_focus") else np.ones(len(walker), bool)
    pool = walker.score[near] if near.any() else walker.score
    step = max(params.length / 40.0, 1.5 * walker.spacing())
    for q in (0.97, 0.9, 0.75):
        cut = np.quantile(pool, q)
        cand = np.nonzero((walker.score >= max(cut, 1e-6)) & near)[0]
        if len(cand) == 0:
            cand = np.nonzero(near)[0] if near.any() else np.arange(len(walker))
        sub = rng.choice(cand, size=min(len(cand), 300), replace=False)
        broad = np.array([i for i in sub if walker.width_at(i, 0.25 * params.length) >= 5], int)
        if len(broad):
            cand = broad
            break
    weight = walker.score[cand] ** 2 + 1e-9
    polylines, widths, ids, origins = [], [], [], []
    for k in range(count):
        # a stress raiser on a narrow face (a bore wall, a sheet's cut edge) whose crack cannot grow onto the
        # faces beside it is replaced by another one, a few times at most
        for _attempt in range(16):
            o = int(rng.choice(cand, p=weight / weight.sum()))
            trunk = _trunk(walker, o, params, step, rng)
            if trunk is not None:
                break
        if trunk is None:
            continue
        origins.append(o)
        todo = [(trunk, params.width)]
        for i in range(1, len(trunk) - 2):
            if rng.random() < params.branching:
                d = walker.pos[trunk[i + 1]] - walker.pos[trunk[i]]
                n = walker.nrm[trunk[i]]
                ang = rng.choice([-1, 1]) * rng.uniform(0.4, 0.9)
                d = d * np.cos(ang) + np.cross(n, d) * np.sin(ang)
                rest = len(trunk) - i
                branch = walker.walk(trunk[i], d, step, max(int(rest * rng.uniform(0.2, 0.5)), 2), rng,
                                     params.tortuosity)
                todo.append((branch, params.width * 0.6 * (1 - i / len(trunk))))
        for path, w0 in todo:
            if len(path) < 2:
                continue
            pts = walker.pos[path]
            u = np.linspace(0.0, 1.0, len(path))
            polylines.append(pts)
            widths.append(w0 * (1.0 - 0.85 * u))
            ids.append(len(origins) - 1)
    return polylines, widths, ids, walker.pos[origins].reshape(-1, 3), walker.nrm[origins].reshape(-1, 3)


def _trunk(walker: SurfaceWalker, o: int, params: Params, step: float, rng: np.random.Generator) -> list[int] | None:
    """The main crack path from origin ``o``, or None when it cannot grow to a third of its length."""
    # grow away from the stress raiser: the first step goes where the score falls fastest, and may turn the
    # corner from a cut edge or a bore onto the face beside it (a crack crosses the sheet's edge)
    n0 = walker.nrm[o]
    best, best_score = None, np.inf
    length = params.length * rng.uniform(0.6, 1.4)
    probe = max(3 * step, 0.15 * length)  # past the edge's band of high score
    for d in np.concatenate([walker.tangent_dirs(o, 16, rng.uniform(0, np.pi)), -n0[None]]):
        j = walker.snap(walker.pos[o] + d * probe, n0, 0.5 * probe, min_dot=-0.2)
        if j is not None and j != o and walker.score[j] < best_score:
            best, best_score = j, walker.score[j]
    if best is None:
        return None
    # the crack keeps growing across the stress it started under (away from the raiser), wandering
    trunk = [o] + walker.walk(o, walker.pos[best] - walker.pos[o], step, int(length / step), rng, params.tortuosity,
                              keep=0.25)[1:]
    if len(trunk) * step < length / 3:
        return None
    # a path squeezed along a narrow strip (a sheet's cut edge) is not a crack growing into the part
    return trunk if walker.width_at(trunk[len(trunk) // 2], 0.25 * length) >= 5 else None


def run(ctx, params: Params, seed: int) -> None:
    dev = ctx.device
    if params.crazing >= 0.5:
        wp.launch(_crazing, dim=(ctx.res, ctx.res), device=dev,
                  inputs=[ctx.surface, ctx.mat, ctx.out, seed, threshold(params.coverage), params.cell,
                          params.width, params.depth, params.region_scale])
        return
    polylines, widths, ids, _, _ = crack_paths(ctx, params, seed)
    if not polylines:
        return
    a, b, w, sid, cc, cr, cs, cn = chunked(polylines, widths, ids)
    arr = lambda v, t: wp.array(v, dtype=t, device=dev)  # noqa: E731
    wp.launch(_cracks, dim=(ctx.res, ctx.res), device=dev,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, arr(a, wp.vec3), arr(b, wp.vec3), arr(w, float),
                      arr(sid, int), arr(cc, wp.vec3), arr(cr, float), arr(cs, int), arr(cn, int), params.depth,
                      params.rust_bleed,
                      params.length * 0.08 * (1.0 if params.rust_bleed > 0 else 0.0)])
