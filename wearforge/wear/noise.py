"""Noise primitives Warp lacks, as @wp.func: integer hashing, value noise, fBm, domain warp, Worley.

Everything is evaluated in the part's object space (metres), so patterns are continuous across UV
seams and keep their physical size. All functions are pure functions of (seed, position).
"""

from __future__ import annotations

import warp as wp

import wearforge.wear._quiet  # noqa: F401,E402  (before any kernel loads)

# Empirical standard deviation of fbm() below (Perlin octaves, gain 0.5), used to turn a requested
# coverage into a threshold without a reduction over the texture (which would cost a device sync).
FBM_STD = 0.166


@wp.func
def hash_u32(x: wp.uint32) -> wp.uint32:
    """Lowbias32 integer hash (good avalanche, cheap)."""
    x = x ^ (x >> wp.uint32(16))
    x = x * wp.uint32(0x7FEB352D)
    x = x ^ (x >> wp.uint32(15))
    x = x * wp.uint32(0x846CA68B)
    x = x ^ (x >> wp.uint32(16))
    return x


@wp.func
def hash3i(i: int, j: int, k: int, seed: int) -> wp.uint32:
    h = hash_u32(wp.uint32(seed) ^ wp.uint32(0x9E3779B9))
    h = hash_u32(h ^ wp.uint32(i))
    h = hash_u32(h ^ wp.uint32(j) * wp.uint32(0x85EBCA6B))
    h = hash_u32(h ^ wp.uint32(k) * wp.uint32(0xC2B2AE35))
    return h


@wp.func
def u01(h: wp.uint32) -> float:
    """Hash -> float in [0, 1)."""
    return float(h >> wp.uint32(8)) * (1.0 / 16777216.0)


@wp.func
def rand01(seed: int, a: int, b: int) -> float:
    return u01(hash3i(a, b, 0x5bd1e995, seed))


@wp.func
def fbm(seed: int, p: wp.vec3, octaves: int, lacunarity: float, gain: float) -> float:
    """Fractal Brownian motion of Perlin noise; roughly zero-mean with std FBM_STD."""
    total = float(0.0)
    amp = float(0.5)
    q = p
    for o in range(octaves):
        total += amp * wp.noise(wp.uint32(seed + o * 7919), q)
        q = q * lacunarity + wp.vec3(17.13, 3.71, 11.3)
        amp *= gain
    return total


@wp.func
def warp3(seed: int, p: wp.vec3, strength: float) -> wp.vec3:
    """Domain warp: displace p by a low-octave vector fBm (makes blotchy, organic patches)."""
    dx = fbm(seed + 101, p, 3, 2.0, 0.5)
    dy = fbm(seed + 202, p + wp.vec3(5.2, 1.3, 2.8), 3, 2.0, 0.5)
    dz = fbm(seed + 303, p + wp.vec3(1.7, 9.2, 4.1), 3, 2.0, 0.5)
    return p + strength * wp.vec3(dx, dy, dz)


@wp.func
def value_noise(seed: int, p: wp.vec3) -> float:
    """Trilinear value noise in [0, 1] with smoothstep fade."""
    i = int(wp.floor(p[0]))
    j = int(wp.floor(p[1]))
    k = int(wp.floor(p[2]))
    f = p - wp.vec3(float(i), float(j), float(k))
    u = wp.vec3(f[0] * f[0] * (3.0 - 2.0 * f[0]), f[1] * f[1] * (3.0 - 2.0 * f[1]), f[2] * f[2] * (3.0 - 2.0 * f[2]))
    c000 = u01(hash3i(i, j, k, seed))
    c100 = u01(hash3i(i + 1, j, k, seed))
    c010 = u01(hash3i(i, j + 1, k, seed))
    c110 = u01(hash3i(i + 1, j + 1, k, seed))
    c001 = u01(hash3i(i, j, k + 1, seed))
    c101 = u01(hash3i(i + 1, j, k + 1, seed))
    c011 = u01(hash3i(i, j + 1, k + 1, seed))
    c111 = u01(hash3i(i + 1, j + 1, k + 1, seed))
    x00 = wp.lerp(c000, c100, u[0])
    x10 = wp.lerp(c010, c110, u[0])
    x01 = wp.lerp(c001, c101, u[0])
    x11 = wp.lerp(c011, c111, u[0])
    return wp.lerp(wp.lerp(x00, x10, u[1]), wp.lerp(x01, x11, u[1]), u[2])


@wp.struct
class Worley:
    f1: float  # distance to the nearest feature point (cell units)
    f2: float  # distance to the second nearest
    cell: wp.uint32  # hash of the nearest point's cell: identifies the occurrence
    point: wp.vec3  # the nearest feature point (cell units)


@wp.func
def worley(seed: int, p: wp.vec3, jitter: float) -> Worley:
    """Cellular noise with one feature point per unit cell (3x3x3 neighbourhood)."""
    i = int(wp.floor(p[0]))
    j = int(wp.floor(p[1]))
    k = int(wp.floor(p[2]))
    r = Worley()
    r.f1 = 1.0e9
    r.f2 = 1.0e9
    for di in range(-1, 2):
        for dj in range(-1, 2):
            for dk in range(-1, 2):
                h = hash3i(i + di, j + dj, k + dk, seed)
                o = wp.vec3(u01(hash_u32(h)), u01(hash_u32(h + wp.uint32(1))), u01(hash_u32(h + wp.uint32(2))))
                fp = wp.vec3(float(i + di), float(j + dj), float(k + dk)) + wp.vec3(0.5) + (o - wp.vec3(0.5)) * jitter
                d = wp.length(p - fp)
                if d < r.f1:
                    r.f2 = r.f1
                    r.f1 = d
                    r.cell = h
                    r.point = fp
                elif d < r.f2:
                    r.f2 = d
    return r


@wp.func
def smoothstep(e0: float, e1: float, x: float) -> float:
    t = wp.clamp((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
