"""Mesh bakes in UV space: surface position/normal/tangents, AO, cavity and convexity.

Rasterization writes, for every texel centre inside a triangle, the object-space point and normal it
stands for and the Jacobian (dP/ds, dP/dt) used for tangent-space normals. A texel covered by two
triangles (overlapping UVs) is detected, and such meshes, or meshes without UVs, get a per-triangle
atlas instead, so every texel still belongs to exactly one surface point (labels stay exact).
Ambient occlusion, cavity (short-range occlusion) and convexity (short-range inward hits, i.e. near
convex edges) are ray-cast with wp.Mesh at a bake resolution and resampled. Results are cached on disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import warp as wp

from wearforge.wear.noise import hash3i, u01

log = logging.getLogger("wearforge.wear")
CACHE_DIR = Path(os.environ.get("WEARFORGE_CACHE", Path.home() / ".cache" / "wearforge")) / "bakes"
EMPTY = wp.constant(2147483647)


@wp.func
def _bary(p: wp.vec2, a: wp.vec2, b: wp.vec2, c: wp.vec2) -> wp.vec3:
    area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    w0 = ((b[0] - p[0]) * (c[1] - p[1]) - (b[1] - p[1]) * (c[0] - p[0])) / area
    w1 = ((c[0] - p[0]) * (a[1] - p[1]) - (c[1] - p[1]) * (a[0] - p[0])) / area
    return wp.vec3(w0, w1, 1.0 - w0 - w1)


@wp.func
def _texel_uv(uv: wp.vec2, res: int) -> wp.vec2:
    # texel row 0 is the top of the image, i.e. t = 1
    return wp.vec2(uv[0] * float(res), (1.0 - uv[1]) * float(res))


@wp.kernel
def _raster_owner(uvs: wp.array(dtype=wp.vec2), tris: wp.array(dtype=wp.vec3i), res: int,
                  owner: wp.array2d(dtype=int), strict: wp.array2d(dtype=int)):
    t = wp.tid()
    ia, ib, ic = tris[t][0], tris[t][1], tris[t][2]
    a, b, c = _texel_uv(uvs[ia], res), _texel_uv(uvs[ib], res), _texel_uv(uvs[ic], res)
    area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    if wp.abs(area) < 1.0e-12:
        return
    x0 = wp.max(int(wp.floor(wp.min(wp.min(a[0], b[0]), c[0]))), 0)
    x1 = wp.min(int(wp.ceil(wp.max(wp.max(a[0], b[0]), c[0]))), res - 1)
    y0 = wp.max(int(wp.floor(wp.min(wp.min(a[1], b[1]), c[1]))), 0)
    y1 = wp.min(int(wp.ceil(wp.max(wp.max(a[1], b[1]), c[1]))), res - 1)
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            w = _bary(wp.vec2(float(x) + 0.5, float(y) + 0.5), a, b, c)
            if w[0] >= -1.0e-5 and w[1] >= -1.0e-5 and w[2] >= -1.0e-5:
                wp.atomic_min(owner, y, x, t)
                if w[0] > 1.0e-4 and w[1] > 1.0e-4 and w[2] > 1.0e-4:
                    wp.atomic_add(strict, y, x, 1)


@wp.kernel
def _raster_fill(points: wp.array(dtype=wp.vec3), normals: wp.array(dtype=wp.vec3), uvs: wp.array(dtype=wp.vec2),
                 tris: wp.array(dtype=wp.vec3i), res: int, owner: wp.array2d(dtype=int),
                 pos: wp.array2d(dtype=wp.vec3), nrm: wp.array2d(dtype=wp.vec3),
                 dpds: wp.array2d(dtype=wp.vec3), dpdt: wp.array2d(dtype=wp.vec3)):
    y, x = wp.tid()
    t = owner[y, x]
    if t == EMPTY:
        return
    ia, ib, ic = tris[t][0], tris[t][1], tris[t][2]
    a, b, c = _texel_uv(uvs[ia], res), _texel_uv(uvs[ib], res), _texel_uv(uvs[ic], res)
    w = _bary(wp.vec2(float(x) + 0.5, float(y) + 0.5), a, b, c)
    pos[y, x] = w[0] * points[ia] + w[1] * points[ib] + w[2] * points[ic]
    nrm[y, x] = wp.normalize(w[0] * normals[ia] + w[1] * normals[ib] + w[2] * normals[ic])
    # Jacobian of position w.r.t. (s, t) from the triangle's edges
    e1, e2 = points[ib] - points[ia], points[ic] - points[ia]
    d1, d2 = uvs[ib] - uvs[ia], uvs[ic] - uvs[ia]
    det = d1[0] * d2[1] - d1[1] * d2[0]
    dpds[y, x] = (e1 * d2[1] - e2 * d1[1]) / det
    dpdt[y, x] = (e2 * d1[0] - e1 * d2[0]) / det


@wp.kernel
def _dilate(cover: wp.array2d(dtype=int), pos: wp.array2d(dtype=wp.vec3), nrm: wp.array2d(dtype=wp.vec3),
            dpds: wp.array2d(dtype=wp.vec3), dpdt: wp.array2d(dtype=wp.vec3), res: int,
            cover_out: wp.array2d(dtype=int), pos_out: wp.array2d(dtype=wp.vec3), nrm_out: wp.array2d(dtype=wp.vec3),
            dpds_out: wp.array2d(dtype=wp.vec3), dpdt_out: wp.array2d(dtype=wp.vec3)):
    y, x = wp.tid()
    cover_out[y, x] = cover[y, x]
    pos_out[y, x] = pos[y, x]
    nrm_out[y, x] = nrm[y, x]
    dpds_out[y, x] = dpds[y, x]
    dpdt_out[y, x] = dpdt[y, x]
    if cover[y, x] != 0:
        return
    # copy the first covered neighbour in a fixed scan order (deterministic on every device)
    for dy in range(-1, 2):
        for dx in range(-1, 2):
            yy, xx = y + dy, x + dx
            if cover_out[y, x] == 0 and yy >= 0 and yy < res and xx >= 0 and xx < res and cover[yy, xx] != 0:
                cover_out[y, x] = 2
                pos_out[y, x] = pos[yy, xx]
                nrm_out[y, x] = nrm[yy, xx]
                dpds_out[y, x] = dpds[yy, xx]
                dpdt_out[y, x] = dpdt[yy, xx]


@wp.func
def _hemisphere(n: wp.vec3, u1: float, u2: float) -> wp.vec3:
    """Cosine-weighted direction about n."""
    r = wp.sqrt(u1)
    phi = 6.283185307 * u2
    local = wp.vec3(r * wp.cos(phi), r * wp.sin(phi), wp.sqrt(wp.max(0.0, 1.0 - u1)))
    helper = wp.where(wp.abs(n[0]) > 0.9, wp.vec3(0.0, 1.0, 0.0), wp.vec3(1.0, 0.0, 0.0))
    tx = wp.normalize(wp.cross(helper, n))
    ty = wp.cross(n, tx)
    return local[0] * tx + local[1] * ty + local[2] * n


@wp.kernel
def _occlusion(mesh: wp.uint64, cover: wp.array2d(dtype=int), pos: wp.array2d(dtype=wp.vec3),
               nrm: wp.array2d(dtype=wp.vec3), rays: int, ao_dist: float, cavity_dist: float, edge_dist: float,
               eps: float, ao: wp.array2d(dtype=float), cavity: wp.array2d(dtype=float),
               convex: wp.array2d(dtype=float)):
    y, x = wp.tid()
    if cover[y, x] == 0:
        ao[y, x] = 1.0
        return
    p, n = pos[y, x], nrm[y, x]
    far = float(0.0)
    near = float(0.0)
    edge = float(0.0)
    # local thickness straight into the part bounds the inward probe, so thin sheet is not all "edge"
    thick = wp.mesh_query_ray(mesh, p - n * eps, -n, 1.0e6)
    limit = edge_dist
    if thick.result:
        limit = wp.min(edge_dist, 0.7 * thick.t)
    for r in range(rays):
        h = hash3i(x, y, r, 1234567)
        d = _hemisphere(n, u01(h), u01(h * wp.uint32(747796405) + wp.uint32(2891336453)))
        q = wp.mesh_query_ray(mesh, p + n * eps, d, ao_dist)
        if q.result:
            far += 1.0
            if q.t < cavity_dist:
                near += 1.0
        qi = wp.mesh_query_ray(mesh, p - n * eps, -d, limit)
        if qi.result:
            edge += 1.0
    ao[y, x] = 1.0 - far / float(rays)
    cavity[y, x] = near / float(rays)
    convex[y, x] = edge / float(rays)


@dataclass
class Bake:
    """Per-texel surface data of one mesh at one resolution (host arrays; row 0 = t = 1)."""

    resolution: int
    cover: np.ndarray  # int32: 0 empty, 1 on a triangle, 2 gutter (dilated copy of a neighbour)
    position: np.ndarray  # (R, R, 3) object space
    normal: np.ndarray  # (R, R, 3)
    dpds: np.ndarray  # (R, R, 3)
    dpdt: np.ndarray  # (R, R, 3)
    ao: np.ndarray  # (R, R) 1 = unoccluded
    cavity: np.ndarray  # (R, R) 0..1
    convexity: np.ndarray  # (R, R) 0..1
    diagonal: float  # bounding-box diagonal of the mesh (object units)


@dataclass
class UVCheck:
    ok: bool
    reason: str = ""


def device() -> str:
    """Warp device for wear kernels: WEARFORGE_WARP_DEVICE, else CUDA when present, else CPU."""
    wp.init()
    name = os.environ.get("WEARFORGE_WARP_DEVICE")
    if name:
        return name
    return "cuda:0" if wp.is_cuda_available() else "cpu"


def _raster(points, normals, uvs, tris, res: int, dev: str):
    owner = wp.full((res, res), value=2147483647, dtype=int, device=dev)
    strict = wp.zeros((res, res), dtype=int, device=dev)
    args = [wp.array(points, dtype=wp.vec3, device=dev), wp.array(normals, dtype=wp.vec3, device=dev),
            wp.array(uvs, dtype=wp.vec2, device=dev), wp.array(tris, dtype=wp.vec3i, device=dev)]
    wp.launch(_raster_owner, dim=len(tris), inputs=[args[2], args[3], res, owner, strict], device=dev)
    pos, nrm, dpds, dpdt = (wp.zeros((res, res), dtype=wp.vec3, device=dev) for _ in range(4))
    wp.launch(_raster_fill, dim=(res, res), inputs=[*args, res, owner, pos, nrm, dpds, dpdt], device=dev)
    cover = wp.array((owner.numpy() != 2147483647).astype(np.int32), dtype=int, device=dev)
    return cover, pos, nrm, dpds, dpdt, strict.numpy()


def check_uvs(points: np.ndarray, tris: np.ndarray, uvs: np.ndarray | None, res: int = 512) -> UVCheck:
    """Missing, out-of-range, degenerate or overlapping UVs make texels ambiguous."""
    if uvs is None:
        return UVCheck(False, "no st primvar")
    if uvs.min() < -1e-6 or uvs.max() > 1 + 1e-6:
        return UVCheck(False, "st outside [0, 1] (tiling UVs)")
    tri_uv = uvs[tris]
    e1, e2 = tri_uv[:, 1] - tri_uv[:, 0], tri_uv[:, 2] - tri_uv[:, 0]
    area = np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    if np.mean(area < 1e-12) > 0.01:
        return UVCheck(False, "many triangles have zero UV area")
    normals = np.zeros_like(points)
    *_, strict = _raster(points.astype(np.float32), normals.astype(np.float32), uvs.astype(np.float32),
                         tris.astype(np.int32), res, device())
    overlap = np.count_nonzero(strict >= 2)
    if overlap > max(4, 1e-4 * np.count_nonzero(strict)):
        return UVCheck(False, f"overlapping UV islands ({overlap} texels at {res}^2 belong to two triangles)")
    return UVCheck(True)


def triangle_atlas(points: np.ndarray, tris: np.ndarray, normals: np.ndarray | None, texels: int = 1024):
    """Unshared per-triangle layout: two right triangles per grid cell, padded, never overlapping."""
    n = len(tris)
    cells = (n + 1) // 2
    k = int(np.ceil(np.sqrt(cells)))
    size = 1.0 / k
    pad = min(1.5 / texels, size * 0.1)
    idx = np.arange(n)
    cell = idx // 2
    cx, cy = (cell % k) * size, (cell // k) * size
    lo, hi = pad, size - 2 * pad
    first = (idx % 2) == 0
    uv = np.empty((n, 3, 2), np.float64)
    uv[first, 0] = np.stack([cx + lo, cy + lo], -1)[first]
    uv[first, 1] = np.stack([cx + hi, cy + lo], -1)[first]
    uv[first, 2] = np.stack([cx + lo, cy + hi], -1)[first]
    uv[~first, 0] = np.stack([cx + size - lo, cy + size - lo], -1)[~first]
    uv[~first, 1] = np.stack([cx + size - hi, cy + size - lo], -1)[~first]
    uv[~first, 2] = np.stack([cx + size - lo, cy + size - hi], -1)[~first]
    new_points = points[tris].reshape(-1, 3)
    new_normals = None if normals is None else normals[tris].reshape(-1, 3)
    if new_normals is None:
        fn = np.cross(points[tris[:, 1]] - points[tris[:, 0]], points[tris[:, 2]] - points[tris[:, 0]])
        fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-20)
        new_normals = np.repeat(fn, 3, axis=0)
    return new_points, np.arange(3 * n, dtype=np.uint32).reshape(n, 3), new_normals, uv.reshape(-1, 2)


def _resize(a: np.ndarray, res: int) -> np.ndarray:
    import cv2

    if a.shape[0] == res:
        return a
    return cv2.resize(a.astype(np.float32), (res, res), interpolation=cv2.INTER_LINEAR)


def bake(points: np.ndarray, tris: np.ndarray, normals: np.ndarray, uvs: np.ndarray, resolution: int,
         occlusion_resolution: int = 256, rays: int = 24, edge_radius: float | None = None,
         cache: bool = True) -> Bake:
    """Bake a mesh (object space) into UV space at ``resolution``; AO/cavity/convexity at a lower one."""
    points, normals, uvs = (np.ascontiguousarray(a, np.float32) for a in (points, normals, uvs))
    tris = np.ascontiguousarray(tris, np.int32)
    diagonal = float(np.linalg.norm(points.max(0) - points.min(0)))
    edge = edge_radius if edge_radius is not None else 0.025 * diagonal
    occ_res = min(occlusion_resolution, resolution)
    key = hashlib.sha1(b"".join(a.tobytes() for a in (points, tris, normals, uvs)) +
                       f"{resolution}/{occ_res}/{rays}/{edge:.6g}/v2".encode()).hexdigest()
    path = CACHE_DIR / f"{key}.npz"
    if cache and path.is_file():
        with np.load(path) as z:
            return Bake(resolution=resolution, diagonal=diagonal, **{k: z[k] for k in z.files})
    dev = device()
    padding = 2 + resolution // 256
    cover, pos, nrm, dpds, dpdt, _ = _raster(points, normals, uvs, tris, resolution, dev)
    bufs = [cover, pos, nrm, dpds, dpdt]
    for _ in range(padding):
        out = [wp.empty_like(b) for b in bufs]
        wp.launch(_dilate, dim=(resolution, resolution), inputs=[*bufs, resolution, *out], device=dev)
        bufs = out
    cover, pos, nrm, dpds, dpdt = bufs
    # occlusion terms at a coarser resolution: rasterize again there and ray-cast
    ocov, opos, onrm, *_ = _raster(points, normals, uvs, tris, occ_res, dev)
    obufs = [ocov, opos, onrm, *(wp.zeros((occ_res, occ_res), dtype=wp.vec3, device=dev) for _ in range(2))]
    for _ in range(2 + occ_res // 256):
        out = [wp.empty_like(b) for b in obufs]
        wp.launch(_dilate, dim=(occ_res, occ_res), inputs=[*obufs, occ_res, *out], device=dev)
        obufs = out
    mesh = wp.Mesh(points=wp.array(points, dtype=wp.vec3, device=dev), indices=wp.array(tris.ravel(), dtype=int, device=dev))
    ao, cav, cvx = (wp.zeros((occ_res, occ_res), dtype=float, device=dev) for _ in range(3))
    wp.launch(_occlusion, dim=(occ_res, occ_res),
              inputs=[mesh.id, obufs[0], obufs[1], obufs[2], rays, 0.15 * diagonal, 0.03 * diagonal, edge,
                      1e-5 * diagonal, ao, cav, cvx], device=dev)
    result = Bake(resolution=resolution, cover=cover.numpy(), position=pos.numpy(), normal=nrm.numpy(),
                  dpds=dpds.numpy(), dpdt=dpdt.numpy(), ao=_resize(ao.numpy(), resolution),
                  cavity=_resize(cav.numpy(), resolution), convexity=_resize(cvx.numpy(), resolution),
                  diagonal=diagonal)
    if cache:
        try:
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, cover=result.cover, position=result.position, normal=result.normal,
                                dpds=result.dpds, dpdt=result.dpdt, ao=result.ao, cavity=result.cavity,
                                convexity=result.convexity)
            os.replace(tmp, path)
        except OSError as exc:  # a read-only home still renders, just without the cache
            log.debug("bake cache not written: %s", exc)
    return result
