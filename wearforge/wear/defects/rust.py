"""Rust / atmospheric corrosion of steel.

Iron corrodes under a wet film into layered oxides: a dark, dense magnetite (Fe3O4) inner layer next to
the metal and orange-brown hydrated oxides (lepidocrocite, goethite) at the growing front. The crust is
raised and rough, the metal under it is pitted, and water running off a rusted area carries oxide down
the part (run-off streaks along gravity). On painted parts the coating blisters ahead of the front and
flakes off over it. Stainless grades do not grow a crust: they show a thin brown "tea stain" film in
crevices and streaks. The front is sharp: there is no colour halo around real rust.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import warp as wp

from wearforge.wear.defects._common import p, threshold
from wearforge.wear.noise import FBM_STD, fbm, hash_u32, smoothstep, u01, value_noise, warp3, worley
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True


@dataclass(frozen=True)
class Params:
    coverage: float = p(0.3, "Fraction of the surface that rusts (0..1); ISO 4628-3 Ri 3..5 is 1..50 %.")
    scale: float = p(40.0, "Size of rust patches.", "mm")
    warp: float = p(0.8, "Domain-warp strength: 0 = round blobs, 2 = stringy, organic patches.")
    edge_bias: float = p(0.6, "How much edges, cavities and occluded areas attract rust (0..1).")
    relief: float = p(0.15, "Thickness of the oxide crust.", "mm")
    roughness: float = p(0.9, "Roughness of the crust (0.7..1).")
    streaks: float = p(0.6, "Strength of run-off streaks below rusted areas (0 = none).")
    streak_length: float = p(40.0, "How far run-off streaks reach down the part.", "mm")
    pits: float = p(0.5, "Density of pits in the metal under the crust (0..1).")
    blister: float = p(2.5, "Width of the blistered, flaking paint band ahead of the front (painted parts).", "mm")
    stainless: float = p(0.0, "1 = stainless grade: thin tea-stain film instead of a crust.")


@wp.func
def _field(seed: int, q: wp.vec3, strength: float) -> float:
    return fbm(seed, warp3(seed, q, strength), 5, 2.0, 0.5) / FBM_STD


@wp.kernel
def _rust(s: Surface, m: Material, out: Layer, seed: int, scale: float, strength: float, bias: float,
          thr: float, relief: float, roughness: float, pits: float,
          blister: float, stainless: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    q = pos / scale
    site = bias * (1.4 * s.convex[y, x] + 1.0 * s.cavity[y, x] + 0.8 * (1.0 - s.ao[y, x]))
    v = _field(seed, q, strength) + site
    # depth inside the front in field units; the front itself is a narrow step (no halo)
    inside = v - thr
    core = smoothstep(-0.04, 0.04, inside)
    grain = value_noise(seed + 29, pos / (scale * 0.02))
    painted = m.metal[y, x] < 0.5

    mask = core
    if mask <= 0.0 and not painted:
        return

    magnetite = wp.vec3(0.045, 0.032, 0.025)
    hematite = wp.vec3(0.15, 0.05, 0.018)
    lepido = wp.vec3(0.42, 0.17, 0.045)
    tone = fbm(seed + 17, q * 4.0, 3, 2.0, 0.5) / FBM_STD
    # phases by depth: orange front -> red-brown -> dark magnetite core
    d = wp.clamp(inside / 1.1 + 0.12 * tone, 0.0, 1.0)
    col = wp.lerp(lepido, hematite, smoothstep(0.0, 0.35, d))
    col = wp.lerp(col, magnetite, smoothstep(0.35, 0.9, d))
    col = col * (0.8 + 0.4 * grain)
    h = relief * core * (0.35 + 0.65 * grain) * (0.6 + 0.4 * smoothstep(0.0, 0.6, d))
    rough = wp.clamp(roughness + 0.12 * (grain - 0.5), 0.0, 1.0)
    metal = float(0.0)

    # pits in the metal under the crust: dark, below the crust surface
    if pits > 0.0 and core > 0.5:
        w = worley(seed + 77, warp3(seed + 5, pos / (scale * 0.03), 0.25), 1.0)
        if u01(hash_u32(w.cell)) < 0.6 * pits:
            rr = u01(hash_u32(w.cell + wp.uint32(3)))
            r = 0.08 + 0.35 * rr * rr  # many small, few large
            pk = smoothstep(r, 0.5 * r, w.f1)
            col = wp.lerp(col, magnetite * 0.5, pk)
            h = h - relief * 1.5 * pk

    if stainless > 0.5:
        # tea staining: a thin translucent brown film; the metal still reflects through it
        tea = wp.vec3(0.36, 0.22, 0.11)
        film = 0.35 + 0.45 * d
        col = wp.lerp(m.color[y, x], wp.cw_mul(m.color[y, x], tea) * 1.8, film)
        h = 0.0
        rough = wp.min(m.rough[y, x] + 0.15, 1.0)
        metal = m.metal[y, x] * (1.0 - 0.4 * film)

    if painted and stainless <= 0.5 and blister > 0.0:
        # ahead of the front: blistered paint (raised domes, unlabelled); over the front: flakes of lifted paint
        ahead = -inside * scale  # object-space distance ahead of the front, roughly
        if inside < 0.0 and ahead < blister:
            wb = worley(seed + 91, pos / (blister * 0.45), 1.0)
            dome = smoothstep(0.55, 0.1, wb.f1) * (1.0 - ahead / blister)
            if dome > 0.0:
                out.mask[y, x] = 0.3 * dome  # below the label threshold: the paint is still intact
                out.color[y, x] = m.color[y, x] * 1.08
                out.rough[y, x] = m.rough[y, x]
                out.metal[y, x] = m.metal[y, x]
                out.height[y, x] = relief * 1.2 * dome
                return
        if core > 0.5 and inside < 0.35:
            flake = value_noise(seed + 13, pos / (blister * 0.6))
            if flake > 0.62:
                lift = smoothstep(0.62, 0.7, flake)
                col = wp.lerp(col, m.color[y, x] * 0.9, lift)
                rough = wp.lerp(rough, m.rough[y, x] + 0.1, lift)
                h = h + relief * 1.5 * lift
        if mask <= 0.0:
            return

    out.mask[y, x] = mask
    out.color[y, x] = col
    out.rough[y, x] = rough
    out.metal[y, x] = metal
    out.height[y, x] = h


@wp.kernel
def _runoff(s: Surface, m: Material, out: Layer, core: wp.array2d(dtype=float), sources: wp.array2d(dtype=float),
            dpds: wp.array2d(dtype=wp.vec3),
            dpdt: wp.array2d(dtype=wp.vec3), res: int, seed: int, scale: float, strength: float, length: float,
            stainless: float):
    """Run-off streaks: march up-slope in texture space from every texel; if rust sits above within
    ``length``, water running off it has stained this texel (weaker further down)."""
    y, x = wp.tid()
    if s.cover[y, x] != 1 or core[y, x] >= 0.5:
        return
    n = s.nrm[y, x]
    up = s.up - n * wp.dot(s.up, n)
    slope = wp.length(up)
    if slope < 1.0e-3:
        return
    up = up / slope
    pos = s.pos[y, x]
    across = pos - up * wp.dot(pos, up)
    # horizontal faces hold water instead of shedding it. Where a face turns horizontal (a bend's underside,
    # a fillet) each rivulet thins out and drips off at its own point, not along the line where the slope
    # crosses one value: the fade's onset differs from rivulet to rivulet
    onset = 0.15 + 0.2 * (value_noise(seed + 47, across / (scale * 0.04)) - 0.5)
    shed = smoothstep(onset - 0.06, onset + 0.06, slope)
    if shed <= 0.0:
        return
    a = dpds[y, x]
    b = dpdt[y, x]
    g00, g01, g11 = wp.dot(a, a), wp.dot(a, b), wp.dot(b, b)
    det = g00 * g11 - g01 * g01
    if det <= 1.0e-30:
        return
    ds = (g11 * wp.dot(a, up) - g01 * wp.dot(b, up)) / det  # d(s, t) per unit length up-slope
    dt = (g00 * wp.dot(b, up) - g01 * wp.dot(a, up)) / det
    # rivulets do not run exactly down the fall line: each drifts sideways by its own amount (up to a tenth
    # of the distance run), so a streak band's sides are not the straight flow lines past the patch's
    # outermost points
    side = wp.cross(n, up)
    drift = 0.2 * (value_noise(seed + 53, across / (scale * 0.05)) - 0.5)
    ds = ds + drift * (g11 * wp.dot(a, side) - g01 * wp.dot(b, side)) / det
    dt = dt + drift * (g00 * wp.dot(b, side) - g01 * wp.dot(a, side)) / det
    step = wp.max(s.texel[y, x], length / 32.0)
    found = float(-1.0)
    for k in range(1, 33):
        dist = step * float(k)
        if dist > length:
            break
        xx = int(wp.floor(float(x) + 0.5 + ds * dist * float(res)))
        yy = int(wp.floor(float(y) + 0.5 - dt * dist * float(res)))
        if xx < 0 or yy < 0 or xx >= res or yy >= res:
            break
        if s.cover[yy, xx] != 1:
            break
        if sources[yy, xx] >= 0.5:
            found = dist
            break
    if found < 0.0:
        return
    # rivulets: noise stretched along the flow
    riv = value_noise(seed + 41, across / (scale * 0.03) + up * (wp.dot(pos, up) / (scale * 0.8)))
    reach = length * (0.3 + 0.9 * value_noise(seed + 43, across / (scale * 0.05)))  # each rivulet its own length
    if found >= reach:
        return
    st = wp.min(strength * (1.0 - found / reach) * (0.05 + 1.4 * smoothstep(0.35, 0.75, riv)), 1.0) * shed
    if st <= 0.05:
        return
    lepido = wp.vec3(0.42, 0.17, 0.045)
    hematite = wp.vec3(0.15, 0.05, 0.018)
    stain = wp.lerp(lepido, hematite, 0.5)
    if stainless > 0.5:
        stain = wp.cw_mul(m.color[y, x], wp.vec3(0.36, 0.22, 0.11)) * 1.8
    # translucent oxide over the clean finish, pre-blended so the label mask does not change its strength
    # (fading in from where the stain starts: a tint that jumps on at a strength would outline the streaks)
    col = wp.lerp(m.color[y, x], stain, (0.3 + 0.45 * st) * smoothstep(0.05, 0.3, st))
    rough = wp.lerp(m.rough[y, x], 0.7, st)
    metal = m.metal[y, x] * (1.0 - 0.8 * st)
    mask = wp.max(st, 1.0e-3)
    inv = 1.0 / mask
    out.mask[y, x] = mask
    out.color[y, x] = m.color[y, x] + (col - m.color[y, x]) * inv
    out.rough[y, x] = m.rough[y, x] + (rough - m.rough[y, x]) * inv
    out.metal[y, x] = m.metal[y, x] + (metal - m.metal[y, x]) * inv
    out.height[y, x] = 0.0


def run(ctx, params: Params, seed: int) -> None:
    wp.launch(_rust, dim=(ctx.res, ctx.res), device=ctx.device,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, params.scale, params.warp, params.edge_bias * 1.2,
                      threshold(params.coverage), params.relief, params.roughness, params.pits, params.blister,
                      params.stainless])
    if params.streaks > 0 and params.streak_length > 0:
        # the streaks must see the patches, not each other. The march looks for rust every 1/32 of the
        # streak length (many texels); a patch narrower than that step would be hit only at some phases of
        # it and streak as a row of dots, so the march looks at the patches grown by half a step
        core = ctx.out.mask.numpy()
        on = ctx.cover == 1
        texel = float(np.median(ctx.surface.texel.numpy()[on])) if on.any() else 1.0
        r = int(np.ceil(0.5 * params.streak_length / 32.0 / max(texel, 1e-12)))
        sources = (core >= 0.5).astype(np.uint8)
        if r > 0:
            sources = cv2.dilate(sources, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        wp.launch(_runoff, dim=(ctx.res, ctx.res), device=ctx.device,
                  inputs=[ctx.surface, ctx.mat, ctx.out, wp.array(core, dtype=float, device=ctx.device),
                          wp.array(sources.astype(np.float32), dtype=float, device=ctx.device), ctx.dpds, ctx.dpdt,
                          ctx.res, seed, params.scale, params.streaks, params.streak_length, params.stainless])
