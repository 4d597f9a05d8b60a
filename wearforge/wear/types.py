"""Warp structs shared by the stack and every defect kernel."""

from __future__ import annotations

import warp as wp


@wp.struct
class Surface:
    """What a texel stands for on the part (object space) plus the baked geometry terms."""

    cover: wp.array2d(dtype=int)  # 0 empty, 1 surface, 2 gutter
    pos: wp.array2d(dtype=wp.vec3)
    nrm: wp.array2d(dtype=wp.vec3)
    ao: wp.array2d(dtype=float)
    cavity: wp.array2d(dtype=float)
    convex: wp.array2d(dtype=float)
    texel: wp.array2d(dtype=float)  # world size of one texel (object units)
    up: wp.vec3  # world up, in object space, for this frame's pose
    scale: float  # bounding-box diagonal: default lengths are fractions of it


@wp.struct
class Material:
    """The stack so far (linear base colour, roughness, metallic, height in object units, anisotropy and
    the object-space direction of the grooves that make it)."""

    color: wp.array2d(dtype=wp.vec3)
    rough: wp.array2d(dtype=float)
    metal: wp.array2d(dtype=float)
    height: wp.array2d(dtype=float)
    aniso: wp.array2d(dtype=float)  # 0 isotropic .. 1 fully stretched along tdir
    tdir: wp.array2d(dtype=wp.vec3)  # groove direction (object space); the highlight stretches across it


@wp.struct
class Layer:
    """One defect layer's output: where (mask), what it turns the material into, and which occurrence."""

    mask: wp.array2d(dtype=float)
    color: wp.array2d(dtype=wp.vec3)
    rough: wp.array2d(dtype=float)
    metal: wp.array2d(dtype=float)
    height: wp.array2d(dtype=float)  # added to the stack's height (already weighted)
    aniso: wp.array2d(dtype=float)  # anisotropy the layer leaves (0 where it covers grooves up)
    tdir: wp.array2d(dtype=wp.vec3)  # its groove direction, where aniso > 0
    occ: wp.array2d(dtype=wp.uint32)  # occurrence id (0 = region occurrences found later)
    # how much of what lies below the layer it hides (0..1); a negative value (the default) means its mask.
    # Films (dust, dirt, oil) set it: their label mask is not their opacity.
    hide: wp.array2d(dtype=float)
