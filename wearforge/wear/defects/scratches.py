"""Scratches: grooves ploughed by a harder asperity (a burr, grit, a tool, another part).

Real scratches are 10-200 um wide, far narrower than a texel at inspection scale, so what makes them
visible is not their width but their micro-geometry: the groove walls and the plough lines inside tilt
the specular highlight across the groove, so a scratch lights up or vanishes with the light direction
(an anisotropic specular response whose tangent runs along the groove; the stack's ``anisotropy`` and
``tangent`` maps). Handling leaves clusters of short parallel marks; single gouges are wider and deeper.
On a painted part a scratch exposes the primer, and a gouge that goes through it the bare metal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import warp as wp

from wearforge.wear.defects._common import coverage_blend, coverage_blend1, p
from wearforge.wear.noise import smoothstep
from wearforge.wear.types import Layer, Material, Surface

REGIONS = False
SEGMENTS = 12
PRIMER = wp.constant(wp.vec3(0.30, 0.11, 0.06))  # red-oxide primer, linear
GROOVE_ROUGHNESS = wp.constant(0.4)  # of a groove in metal, with anisotropy 1 (see the kernel)


@dataclass(frozen=True)
class Params:
    count: float = p(6, "Single scratches and gouges.")
    length: float = p(30.0, "Mean length of single scratches.", "mm")
    width: float = p(0.08, "Groove width (real scratches: 0.01..0.2 mm).", "mm")
    depth: float = p(0.02, "Groove depth.", "mm")
    curvature: float = p(0.15, "Bend as a fraction of the length (0 = straight).")
    spread: float = p(60.0, "Spread of directions around one dominant direction, degrees (180 = random).")
    gouges: float = p(0.2, "Fraction of single scratches that are gouges (3x wider, 5x deeper).")
    clusters: float = p(2, "Clusters of parallel handling marks.")
    cluster_lines: float = p(8, "Marks per cluster.")
    cluster_width: float = p(5.0, "Width of a cluster across its marks.", "mm")
    cluster_length: float = p(12.0, "Mean length of a handling mark.", "mm")
    coat: float = p(0.08, "Paint thickness on painted parts: deeper grooves expose metal.", "mm")


@wp.kernel
def _scratches(s: Surface, m: Material, out: Layer, pts: wp.array2d(dtype=wp.vec3), normals: wp.array(dtype=wp.vec3),
               centers: wp.array(dtype=wp.vec3), radii: wp.array(dtype=float), widths: wp.array(dtype=float),
               depths: wp.array(dtype=float), coat: float):
    y, x = wp.tid()
    if s.cover[y, x] == 0:
        return
    pos = s.pos[y, x]
    best = float(1.0e9)
    best_u = float(0.0)
    best_k = int(-1)
    best_dir = wp.vec3(0.0)
    for k in range(centers.shape[0]):
        if wp.length(pos - centers[k]) > radii[k] + widths[k] + s.texel[y, x]:
            continue
        n0 = normals[k]
        # stay on the side of the part the scratch was drawn on
        if wp.dot(s.nrm[y, x], n0) < 0.2 or wp.abs(wp.dot(pos - centers[k], n0)) > 0.25 * radii[k]:
            continue
        for i in range(SEGMENTS):
            a = pts[k, i]
            b = pts[k, i + 1]
            ab = b - a
            t = wp.clamp(wp.dot(pos - a, ab) / wp.max(wp.dot(ab, ab), 1.0e-20), 0.0, 1.0)
            d = wp.length(pos - (a + t * ab))
            if d < best:
                best = d
                best_u = (float(i) + t) / float(SEGMENTS)
                best_k = k
                best_dir = ab
    if best_k < 0:
        return
    taper = 0.3 + 0.7 * wp.sin(3.14159265 * best_u)
    half = 0.5 * widths[best_k] * taper
    texel = s.texel[y, x]
    # labelled where the centre line passes through the texel or the groove covers half of it
    reach = wp.max(half, 0.5 * texel)
    if best >= reach:
        return
    mask = wp.max(smoothstep(reach, 0.6 * reach, best), 0.5)
    cover = wp.min(2.0 * half / texel, 1.0)  # fraction of the texel the groove covers
    # the shoulders: paint beside the groove is stress-whitened (micro-cracked), metal is raised into burrs
    # that catch the light; together about twice the groove's width on each side
    shoulder = wp.min(wp.min(6.0 * half / texel, 1.0) - cover, 1.0 - cover)
    depth = depths[best_k] * taper
    painted = m.metal[y, x] < 0.5
    base = m.color[y, x]
    if painted:
        through = smoothstep(0.7 * coat, coat, depth)  # through the paint: metal; else primer
        groove = wp.lerp(PRIMER, wp.vec3(0.58, 0.58, 0.57), through)
        lum = 0.2126 * base[0] + 0.7152 * base[1] + 0.0722 * base[2]
        pale = wp.lerp(base, wp.vec3(lum * 1.4 + 0.08), 0.75)
        col = base + (groove - base) * cover + (pale - base) * shoulder
        out.color[y, x] = coverage_blend(base, col, 1.0, mask)
        r0 = m.rough[y, x]
        rough = r0 + (wp.lerp(0.55, 0.25, through) - r0) * cover + (0.7 - r0) * shoulder
        out.rough[y, x] = coverage_blend1(r0, rough, 1.0, mask)
        out.metal[y, x] = coverage_blend1(m.metal[y, x], through, cover, mask)
    else:
        # ploughed metal: a burnished floor, smooth along the groove, whose curved walls and burrs spread the
        # highlight across it. With the full anisotropy below the renderer's lobe is rough across
        # (alpha = r^2 / 0.32 = 0.5 for r = 0.4: wall slopes of about 27 degrees) and smooth along (alpha 0.05)
        bright = wp.min(base * 1.15 + wp.vec3(0.04), wp.vec3(1.0))
        out.color[y, x] = coverage_blend(base, bright, wp.min(cover + shoulder, 1.0), mask)
        out.rough[y, x] = coverage_blend1(m.rough[y, x], GROOVE_ROUGHNESS, wp.min(cover + shoulder, 1.0), mask)
        out.metal[y, x] = m.metal[y, x]
    out.mask[y, x] = mask
    g = 1.0 - wp.min(best / wp.max(half, 1.0e-9), 1.0)
    out.height[y, x] = -depth * g * g * wp.min(2.0 * half / texel, 1.0)
    # the groove's micro-geometry stretches the highlight across it: strong anisotropy along the groove
    out.aniso[y, x] = wp.where(painted, 0.9, 1.0)
    out.tdir[y, x] = wp.normalize(best_dir)
    out.occ[y, x] = wp.uint32(best_k + 1)


def _frame(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([1.0, 0, 0]) if abs(n[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = np.cross(n, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(n, e1)


def curves(ctx, params: Params, seed: int):
    """Polylines (k, SEGMENTS+1, 3), their normals, bounding spheres, widths and depths (object units)."""
    rng = np.random.default_rng(seed)
    count = int(round(params.count))
    clusters = int(round(params.clusters))
    lines = max(int(round(params.cluster_lines)), 1)
    centers, normals = ctx.surface_points(rng, count + clusters)
    dominant = rng.uniform(0, np.pi)
    u = np.linspace(-0.5, 0.5, SEGMENTS + 1)[:, None]
    pts, nrm, cen, rad, wid, dep = [], [], [], [], [], []

    def add(c, n, d, length, bend, width, depth):
        side = np.cross(n, d)
        pts.append(c + d * u * length + side * bend * (1 - 4 * u**2))
        nrm.append(n)
        cen.append(c)
        rad.append(0.5 * length + abs(bend))
        wid.append(width)
        dep.append(depth)

    for k, (c, n) in enumerate(zip(centers, normals)):
        e1, e2 = _frame(n)
        angle = dominant + np.radians(params.spread) * (rng.random() - 0.5)
        d = np.cos(angle) * e1 + np.sin(angle) * e2
        if k < count:
            gouge = rng.random() < params.gouges
            length = params.length * rng.uniform(0.5, 1.5)
            add(c, n, d, length, params.curvature * length * rng.uniform(-1, 1),
                params.width * (3.0 if gouge else 1.0) * rng.uniform(0.6, 1.4),
                params.depth * (5.0 if gouge else 1.0) * rng.uniform(0.6, 1.4))
        else:
            # handling marks: parallel, short, staggered across the cluster
            side = np.cross(n, d)
            for _ in range(lines):
                off = side * rng.uniform(-0.5, 0.5) * params.cluster_width + d * rng.normal(0, 0.15) * params.cluster_length
                length = params.cluster_length * rng.uniform(0.4, 1.4)
                add(c + off, n, d, length, 0.02 * length * rng.uniform(-1, 1), params.width * rng.uniform(0.25, 0.8),
                    params.depth * rng.uniform(0.2, 0.6))
    f32 = lambda a, shape: np.asarray(a, np.float32).reshape(shape)  # noqa: E731
    return (f32(pts, (-1, SEGMENTS + 1, 3)), f32(nrm, (-1, 3)), f32(cen, (-1, 3)), f32(rad, (-1,)), f32(wid, (-1,)),
            f32(dep, (-1,)))


def run(ctx, params: Params, seed: int) -> None:
    pts, normals, centers, radii, widths, depths = curves(ctx, params, seed)
    if len(centers) == 0:
        return
    dev = ctx.device
    arr = lambda a, t: wp.array(a, dtype=t, device=dev)  # noqa: E731
    wp.launch(_scratches, dim=(ctx.res, ctx.res), device=dev,
              inputs=[ctx.surface, ctx.mat, ctx.out, arr(pts, wp.vec3), arr(normals, wp.vec3), arr(centers, wp.vec3),
                      arr(radii, float), arr(widths, float), arr(depths, float), params.coat])
