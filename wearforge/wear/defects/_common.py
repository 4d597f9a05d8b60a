"""Helpers shared by defect kernels."""

from __future__ import annotations

from dataclasses import field
from statistics import NormalDist

import warp as wp


def p(default: float, doc: str, unit: str = ""):
    """A documented parameter field; ``unit="mm"`` marks a length that is converted to object units."""
    return field(default=default, metadata={"doc": doc, "unit": unit})


def threshold(coverage: float) -> float:
    """Threshold on a unit-variance field that leaves about ``coverage`` of it above."""
    c = min(max(coverage, 1e-4), 1 - 1e-4)
    return NormalDist().inv_cdf(1.0 - c)


@wp.func
def palette3(a: wp.vec3, b: wp.vec3, c: wp.vec3, t: float) -> wp.vec3:
    """Piecewise-linear a -> b -> c for t in [0, 1]."""
    t = wp.clamp(t, 0.0, 1.0)
    if t < 0.5:
        return wp.lerp(a, b, t * 2.0)
    return wp.lerp(b, c, t * 2.0 - 1.0)


@wp.func
def seg_dist(pos: wp.vec3, a: wp.vec3, b: wp.vec3) -> wp.vec2:
    """(distance from pos to segment ab, parameter 0..1 of the closest point)."""
    ab = b - a
    t = wp.clamp(wp.dot(pos - a, ab) / wp.max(wp.dot(ab, ab), 1.0e-20), 0.0, 1.0)
    return wp.vec2(wp.length(pos - (a + t * ab)), t)


@wp.func
def coverage_blend(base: wp.vec3, target: wp.vec3, coverage: float, mask: float) -> wp.vec3:
    """Colour that, composed with ``mask``, shows ``target`` over ``coverage`` of the texel.

    Features thinner than a texel (10-200 um scratches on a 0.1-0.3 mm texel) keep a label mask of 0.5
    where their centre line passes, but only tint the texel by the fraction they cover.
    """
    if mask <= 0.0:
        return target
    return base + (target - base) * wp.min(coverage / mask, 1.0)


@wp.func
def coverage_blend1(base: float, target: float, coverage: float, mask: float) -> float:
    if mask <= 0.0:
        return target
    return base + (target - base) * wp.min(coverage / mask, 1.0)
