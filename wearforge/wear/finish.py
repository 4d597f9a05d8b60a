"""Surface finishes of clean parts: the micro-structure every real part has before any defect.

A finish changes the clean material's colour, roughness, height and anisotropy in the stack, below the
defect layers; it is never labelled. Machined finishes carry tool marks with a direction (the stack's
``tangent``), which is what makes brushed and turned metal glint anisotropically.

| finish | process | what it does | default scale |
|---|---|---|---|
| brushed | abrasive belt / Scotch-Brite, one direction | fine parallel lines, strong anisotropy | lines 0.02-0.1 mm apart |
| turned | lathe; feed marks are a helix about the turning axis | concentric grooves, anisotropy around the axis | feed 0.05-0.4 mm/rev |
| milled | face mill; each tooth cuts an arc | overlapping arcs, anisotropy along the arcs | feed per pass 5-20 mm |
| cast | sand-cast skin | bumpy, mottled, rough | grains 0.2-1 mm |
| forged | forged skin with mill scale | dark mottled scale patches, bumps | patches 2-10 mm |
| orange_peel | sprayed paint that flowed out incompletely | long-wave waviness seen in reflections | 1-10 mm (wave-scan long wave) |
| powder_coat | powder coat | orange peel plus fine grain | 0.3-3 mm |
| plastic_grain | moulded-in texture of injection moulds | stipple bumps, slightly varied gloss | 0.1-0.5 mm |
| fingerprints | handled clean parts (a finish modifier) | faint unlabelled prints | ridges 0.45 mm |
"""

from __future__ import annotations

import numpy as np
import warp as wp

from wearforge.wear.noise import FBM_STD, fbm, hash_u32, smoothstep, u01, value_noise, worley
from wearforge.wear.types import Material, Surface
from wearforge.wear.units import mm_to_object_units

FINISHES = ("brushed", "turned", "milled", "cast", "forged", "orange_peel", "powder_coat", "plastic_grain")
# per finish: (scale in mm, relief in mm, strength 0..1)
DEFAULTS = {
    "brushed": (0.05, 0.001, 0.7), "turned": (0.2, 0.002, 0.6), "milled": (10.0, 0.002, 0.5),
    "cast": (0.5, 0.03, 0.6), "forged": (5.0, 0.03, 0.7), "orange_peel": (3.0, 0.004, 0.6),
    "powder_coat": (1.0, 0.006, 0.6), "plastic_grain": (0.25, 0.01, 0.6),
}
PARAMS = ("scale", "relief", "strength", "direction", "fingerprints")


@wp.func
def _axis_frame(n: wp.vec3, axis: wp.vec3) -> wp.vec3:
    """``axis`` projected on the tangent plane (or a fallback when it is normal to it)."""
    d = axis - n * wp.dot(axis, n)
    if wp.length(d) < 1.0e-3:
        d = wp.cross(n, wp.vec3(0.0, 1.0, 0.0))
        if wp.length(d) < 1.0e-3:
            d = wp.cross(n, wp.vec3(1.0, 0.0, 0.0))
    return wp.normalize(d)


@wp.kernel
def _finish(s: Surface, m: Material, kind: int, seed: int, scale: float, relief: float, strength: float,
            axis: wp.vec3, centre: wp.vec3, prints: wp.array(dtype=wp.vec3), print_n: wp.array(dtype=wp.vec3),
            ridge: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    n = s.nrm[y, x]
    c = m.color[y, x]
    r = m.rough[y, x]
    h = float(0.0)
    a = float(0.0)
    t = wp.vec3(0.0)
    if kind == 0:  # brushed: noise stretched 200x along the brushing direction
        d = _axis_frame(n, axis)
        side = wp.cross(n, d)
        q = side * (wp.dot(pos, side) / scale) + d * (wp.dot(pos, d) / (scale * 200.0))
        v = value_noise(seed, q) * 0.6 + value_noise(seed + 1, q * 2.7) * 0.4
        h = relief * (v - 0.5)
        c = c * (1.0 + 0.08 * strength * (v - 0.5))
        r = wp.clamp(r * (1.0 + 0.3 * strength * (v - 0.5)), 0.02, 1.0)
        a = strength
        t = d
    elif kind == 1:  # turned: grooves at constant position along the axis, tool marks run around it
        ax = wp.normalize(axis)
        rel = pos - centre
        radial = rel - ax * wp.dot(rel, ax)
        d = _axis_frame(n, wp.cross(ax, radial))
        z = wp.dot(rel, ax) / scale
        v = 0.5 + 0.5 * wp.sin(6.2831853 * z + 0.3 * value_noise(seed, pos / (scale * 20.0)))
        # on faces normal to the axis (facing cuts) the feed runs radially: rings by radius
        if wp.abs(wp.dot(n, ax)) > 0.7:
            v = 0.5 + 0.5 * wp.sin(6.2831853 * wp.length(radial) / scale)
        h = relief * (v - 0.5)
        c = c * (1.0 + 0.05 * strength * (v - 0.5))
        a = strength
        t = d
    elif kind == 2:  # milled: arcs of a cutter of radius 0.6*scale stepping along the axis
        d0 = _axis_frame(n, axis)
        side = wp.cross(n, d0)
        along = wp.dot(pos, d0) / scale
        k = wp.floor(along)
        best = float(1.0e9)
        tang = d0
        for o in range(-1, 2):
            cen = (k + float(o)) * scale
            rel = d0 * (wp.dot(pos, d0) - cen) + side * wp.dot(pos, side)
            rr = wp.length(side * (wp.dot(pos, side) - 0.0) + d0 * (wp.dot(pos, d0) - cen - 0.6 * scale))
            if rr < best:
                best = rr
                tang = wp.cross(n, rel)
        v = 0.5 + 0.5 * wp.sin(6.2831853 * best / (scale * 0.02))
        h = relief * (v - 0.5)
        c = c * (1.0 + 0.04 * strength * (v - 0.5))
        a = 0.8 * strength
        t = _axis_frame(n, tang)
    elif kind == 3 or kind == 4:  # cast / forged skins
        f = fbm(seed, pos / scale, 4, 2.0, 0.5) / FBM_STD
        g = value_noise(seed + 3, pos / (scale * 0.25))
        h = relief * (0.6 * f / 3.0 + 0.4 * (g - 0.5))
        if kind == 3:
            c = c * (1.0 + 0.12 * strength * (g - 0.5) + 0.05 * strength * f / 3.0)
            r = wp.clamp(r + 0.1 * strength * (g - 0.5), 0.02, 1.0)
        else:
            scale_oxide = smoothstep(0.2, 0.6, f)
            c = wp.lerp(c, c * 0.35, strength * scale_oxide)
            r = wp.clamp(wp.lerp(r, 0.85, strength * scale_oxide), 0.02, 1.0)
    elif kind == 5 or kind == 6:  # orange peel (and powder coat: plus a fine grain)
        f = fbm(seed, pos / scale, 3, 2.0, 0.45) / FBM_STD
        h = relief * f / 3.0
        if kind == 6:
            g = value_noise(seed + 3, pos / (scale * 0.08))
            h = h + 0.3 * relief * (g - 0.5)
            r = wp.clamp(r + 0.08 * strength * (g - 0.5), 0.02, 1.0)
    else:  # plastic grain: stipple of moulded bumps
        w = worley(seed, pos / scale, 1.0)
        bump = smoothstep(0.7, 0.1, w.f1) * (0.5 + 0.5 * u01(hash_u32(w.cell)))
        h = relief * bump
        r = wp.clamp(r + 0.1 * strength * (bump - 0.5), 0.02, 1.0)
    # faint fingerprints from handling the clean part: a gloss change in the ridge pattern, unlabelled
    for k in range(prints.shape[0]):
        rel = pos - prints[k]
        if wp.dot(n, print_n[k]) < 0.5 or wp.length(rel) > 30.0 * ridge:
            continue
        e = wp.length(rel) / (22.0 * ridge)
        if e < 1.0:
            ph = e * 22.0 + 0.8 * value_noise(seed + 31 + k, rel / (ridge * 6.0))
            rid = smoothstep(0.3, 0.8, 0.5 + 0.5 * wp.sin(6.2831853 * ph)) * smoothstep(1.0, 0.7, e)
            r = wp.lerp(r, 0.5 * (r + 0.35), 0.6 * rid)
            c = c * (1.0 - 0.06 * rid)
    m.color[y, x] = c
    m.rough[y, x] = r
    m.height[y, x] = h
    m.aniso[y, x] = a
    m.tdir[y, x] = t


def apply_finish(finish: str, params: dict[str, float], seed: int, ctx) -> None:
    """Grow ``finish`` into the stack's clean material (``params``: scale and relief in mm, strength 0..1,
    direction: 0/1/2 = the object's x/y/z axis for brushing, turning and milling; fingerprints: count)."""
    if finish not in FINISHES:
        raise ValueError(f"unknown finish {finish!r}; expected one of {list(FINISHES)}")
    unknown = set(params) - set(PARAMS)
    if unknown:
        raise ValueError(f"unknown finish parameter(s) {sorted(unknown)}; expected some of {list(PARAMS)}")
    scale, relief, strength = DEFAULTS[finish]
    mpu = ctx.meters_per_unit
    scale = mm_to_object_units(params.get("scale", scale), mpu)
    relief = mm_to_object_units(params.get("relief", relief), mpu)
    strength = float(params.get("strength", strength))
    axis = np.zeros(3)
    axis[int(params.get("direction", 0)) % 3] = 1.0
    covered = ctx.cover == 1
    centre = ctx.position[covered].mean(0) if covered.any() else np.zeros(3)
    rng = np.random.default_rng(seed)
    pc, pn = ctx.surface_points(rng, int(params.get("fingerprints", 0)))
    dev = ctx.device
    arr = lambda v: wp.array(np.asarray(v, np.float32).reshape(-1, 3), dtype=wp.vec3, device=dev)  # noqa: E731
    wp.launch(_finish, dim=(ctx.res, ctx.res), device=dev,
              inputs=[ctx.surface, ctx.mat, FINISHES.index(finish), int(seed) & 0x7FFFFFFF, scale, relief, strength,
                      wp.vec3(*axis), wp.vec3(*centre.astype(float)), arr(pc), arr(pn),
                      mm_to_object_units(0.45, mpu)])
