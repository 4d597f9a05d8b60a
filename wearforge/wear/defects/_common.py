"""Helpers shared by defect kernels."""

from __future__ import annotations

from dataclasses import field
from statistics import NormalDist

import warp as wp


def p(default: float, doc: str):
    """A documented parameter field."""
    return field(default=default, metadata={"doc": doc})


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
