"""Dirt: grime (dust bound in oil, swarf, soil) that collects where it is not wiped off (cavities, occluded
corners) and along handling paths, and fingerprints where parts are touched.

Grime is a thin, partly transparent layer: the finish shows through, darkened and dulled, and it is thick
only deep in corners. Handling leaves smears along the direction of the grip and fingerprints: skin oil
and sweat in the ridge pattern of a fingertip (ridges about 0.45 mm apart, prints 12-20 mm long).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

from wearforge.wear.defects._common import p
from wearforge.wear.noise import FBM_STD, fbm, smoothstep, value_noise
from wearforge.wear.types import Layer, Material, Surface

REGIONS = True


@dataclass(frozen=True)
class Params:
    amount: float = p(0.5, "How much of the occluded surface is dirty (0..1).")
    scale: float = p(20.0, "Size of dirt blotches.", "mm")
    opacity: float = p(0.65, "Opacity of the grime where it is thickest (0..1).")
    roughness: float = p(0.85, "Roughness of grime.")
    smears: float = p(2, "Handling smears (dirty grip paths).")
    smear_length: float = p(60.0, "Length of a handling smear.", "mm")
    fingerprints: float = p(2, "Fingerprints.")
    ridge: float = p(0.45, "Fingerprint ridge spacing.", "mm")


@wp.kernel
def _dirt(s: Surface, m: Material, out: Layer, seed: int, amount: float, scale: float, opacity: float,
          roughness: float, smear_a: wp.array(dtype=wp.vec3), smear_b: wp.array(dtype=wp.vec3),
          smear_w: float, prints: wp.array(dtype=wp.vec3), print_n: wp.array(dtype=wp.vec3),
          print_u: wp.array(dtype=wp.vec3), ridge: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    n = fbm(seed, pos / scale, 5, 2.0, 0.5) / FBM_STD
    v = 1.6 * s.cavity[y, x] + 1.4 * (1.0 - s.ao[y, x]) + 0.3 * n
    thr = 1.1 - 1.0 * amount
    thick = smoothstep(thr, thr + 0.6, v)
    # handling smears: streaky bands along the grip path
    for k in range(smear_a.shape[0]):
        a = smear_a[k]
        ab = smear_b[k] - a
        t = wp.clamp(wp.dot(pos - a, ab) / wp.max(wp.dot(ab, ab), 1.0e-20), 0.0, 1.0)
        d = wp.length(pos - (a + t * ab))
        if d < smear_w:
            dirn = wp.normalize(ab)
            streak = value_noise(seed + 19 + k, (pos - dirn * wp.dot(pos, dirn)) / (smear_w * 0.12) + dirn * (wp.dot(pos, dirn) / (smear_w * 3.0)))
            sm = smoothstep(smear_w, 0.4 * smear_w, d) * wp.sin(3.14159 * t) * (0.3 + 0.7 * streak)
            thick = wp.max(thick, 0.9 * sm)
    # fingerprints: oily residue in the ridges of an elliptical whorl
    fp = float(0.0)
    for k in range(prints.shape[0]):
        rel = pos - prints[k]
        if wp.dot(s.nrm[y, x], print_n[k]) < 0.5 or wp.length(rel) > 12.0 * ridge * 2.2:
            continue
        u = print_u[k]
        w = wp.cross(print_n[k], u)
        ea = wp.dot(rel, u) / (ridge * 18.0)
        eb = wp.dot(rel, w) / (ridge * 24.0)
        e = wp.sqrt(ea * ea + eb * eb)
        if e >= 1.0:
            continue
        warp_ = 0.8 * value_noise(seed + 31 + k, rel / (ridge * 6.0))
        phase = e * 21.0 + warp_ + 0.6 * ea
        rid = smoothstep(0.3, 0.8, 0.5 + 0.5 * wp.sin(6.2831853 * phase))
        edge = smoothstep(1.0, 0.75, e)
        fp = wp.max(fp, rid * edge)
    grime = thick * opacity
    if grime <= 0.0 and fp <= 0.0:
        return
    grain = value_noise(seed + 5, pos / (scale * 0.04))
    dirt_col = wp.vec3(0.13, 0.11, 0.085) * (0.75 + 0.5 * grain)
    col = wp.lerp(m.color[y, x], dirt_col, grime)
    rough = wp.lerp(m.rough[y, x], roughness, wp.min(grime * 1.4, 1.0))
    metal = m.metal[y, x] * (1.0 - grime)
    if fp > 0.0:
        # skin oil: slightly darker, dulls a polished finish, gloss on a matt one
        col = col * (1.0 - 0.18 * fp)
        rough = wp.lerp(rough, wp.lerp(rough, 0.45, 0.7), fp)
    # label: visible grime (thick enough) and the fingerprint area
    mask = wp.max(smoothstep(0.2, 0.4, grime), 0.75 * smoothstep(0.0, 0.3, fp))
    out.mask[y, x] = wp.max(mask, 1.0e-3)
    out.hide[y, x] = grime
    inv = 1.0 / wp.max(mask, 1.0e-3)
    # pre-blend so the composed texel shows exactly the translucent result, whatever the label mask
    out.color[y, x] = m.color[y, x] + (col - m.color[y, x]) * inv
    out.rough[y, x] = m.rough[y, x] + (rough - m.rough[y, x]) * inv
    out.metal[y, x] = m.metal[y, x] + (metal - m.metal[y, x]) * inv


def _tangent(n: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    helper = np.array([1.0, 0, 0]) if abs(n[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = np.cross(n, helper)
    e1 /= np.linalg.norm(e1)
    a = rng.uniform(0, 2 * np.pi)
    return np.cos(a) * e1 + np.sin(a) * np.cross(n, e1)


def run(ctx, params: Params, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sc, sn = ctx.surface_points(rng, int(round(params.smears)))
    dirs = np.array([_tangent(n, rng) for n in sn]).reshape(-1, 3)
    half = 0.5 * params.smear_length
    a, b = (sc - dirs * half).astype(np.float32), (sc + dirs * half).astype(np.float32)
    pc, pn = ctx.surface_points(rng, int(round(params.fingerprints)))
    pu = np.array([_tangent(n, rng) for n in pn], np.float32).reshape(-1, 3)
    dev = ctx.device
    arr = lambda v: wp.array(np.asarray(v, np.float32).reshape(-1, 3), dtype=wp.vec3, device=dev)  # noqa: E731
    wp.launch(_dirt, dim=(ctx.res, ctx.res), device=dev,
              inputs=[ctx.surface, ctx.mat, ctx.out, seed, params.amount, params.scale, params.opacity,
                      params.roughness, arr(a), arr(b), 0.15 * params.smear_length, arr(pc), arr(pn), arr(pu),
                      params.ridge])
