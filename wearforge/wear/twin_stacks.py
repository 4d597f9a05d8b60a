"""Wear stacks for a twin's meshes, shared by both homes: bakes per mesh (cached), stacks per frame.

Meshes whose UVs are missing or overlap get a per-triangle atlas (with a warning) before the first
stack is built, so every texel, and therefore every defect label, belongs to one surface point.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from wearforge.framespec import FrameSpec
from wearforge.twin_reader import FrameState, MeshGeometry, assign_parts
from wearforge.wear import CleanMaterial, LayerSpec, WearStack, bake, build_stack, check_uvs, triangle_atlas

log = logging.getLogger("wearforge.wear")


class WearTextures:
    """Owns the bakes of one twin's meshes and builds this frame's stacks."""

    def __init__(self, meshes: list[MeshGeometry], up: np.ndarray, occlusion_resolution: int = 256,
                 keep_device: bool = False, device_maps: bool = False, displace: bool = False):
        """``displace``: stacks carry a displacement map for dents (a renderer that displaces meshes)."""
        self.keep_device = keep_device
        self.displace = displace
        self.device_maps = device_maps
        self.meshes = meshes
        self.up = np.asarray(up, float)
        self.occlusion_resolution = occlusion_resolution
        self._bakes: dict[tuple, object] = {}
        self._checked: set[int] = set()
        self._parts: dict[str, str] | None = None

    def meshes_of(self, part_path: str) -> list[int]:
        return [i for i, m in enumerate(self.meshes) if m.part_path == part_path]

    def ensure_uvs(self, index: int) -> bool:
        """Replace the mesh's UVs by a per-triangle atlas when they are unusable; True if it changed."""
        if index in self._checked:
            return False
        self._checked.add(index)
        geo = self.meshes[index]
        verdict = check_uvs(geo.points, geo.faces.astype(np.int32), geo.uvs)
        if verdict.ok:
            return False
        log.warning("%s: %s; using a per-triangle texture atlas so defect labels stay exact",
                    geo.prim_path, verdict.reason)
        points, faces, normals, uvs = triangle_atlas(geo.points.astype(np.float64), geo.faces.astype(np.int64),
                                                     None if geo.normals is None else geo.normals.astype(np.float64))
        self.meshes[index] = replace(geo, points=points.astype(np.float32), faces=faces,
                                     normals=normals.astype(np.float32), uvs=uvs.astype(np.float32))
        return True

    def bake_of(self, index: int, resolution: int):
        # instances of one prototype share their local geometry, hence their bake
        key = (self.meshes[index].source or index, resolution)
        if key not in self._bakes:
            geo = self.meshes[index]
            normals = geo.normals if geo.normals is not None else _vertex_normals(geo)
            self._bakes[key] = bake(geo.points, geo.faces.astype(np.int32), normals, geo.uvs, resolution,
                                    occlusion_resolution=self.occlusion_resolution)
        return self._bakes[key]

    def ready_for(self, spec: FrameSpec) -> bool:
        """Whether ``stacks(spec, ...)`` leaves the mesh list as it is: same parts as the last frame, UVs checked."""
        if {p.path: p.semantic_class for p in spec.parts} != self._parts:
            return False
        return all(index in self._checked for part in spec.parts
                   if part.visible and part.wear is not None and (part.wear.layers or part.material.finish)
                   for index in self.meshes_of(part.path))

    def stacks(self, spec: FrameSpec, state: FrameState) -> tuple[dict[int, WearStack], bool]:
        """Stacks for every mesh of every part with wear layers; also whether geometry changed."""
        out: dict[int, WearStack] = {}
        changed = False
        parts = {p.path: p.semantic_class for p in spec.parts}
        if parts != self._parts:  # wear selects meshes by the FrameSpec's parts, in both homes
            assign_parts(self.meshes, parts)
            self._parts = parts
        for part in spec.parts:
            finish = part.material.finish
            if not part.visible or part.wear is None or not (part.wear.layers or finish):
                continue
            bodies: dict[tuple, int] = {}  # a gprim (per instance): its subsets share one pattern, no seams
            for index in self.meshes_of(part.path):
                m = self.meshes[index]
                k = bodies.setdefault((m.prim_path, m.instancer), len(bodies))
                changed |= self.ensure_uvs(index)
                mat = state.materials[index]
                clean = CleanMaterial(tuple(mat.base_color), float(mat.metallic), float(mat.roughness), finish,
                                      part.material.finish_params)
                rot = state.matrices[index][:3, :3]
                up_object = np.linalg.solve(rot, self.up)  # world up expressed in the mesh's frame
                # wear lengths are metres: the stage's unit times the mesh's world scale (a cm stage, a
                # millimetre CAD part scaled by 0.001 under an Xform...)
                meters_per_unit = state.camera.meters_per_unit * abs(np.linalg.det(rot)) ** (1.0 / 3.0)
                # each gprim (and each instance) of a part gets its own pattern, reproducibly
                layers = [LayerSpec(layer.type, (layer.seed + 7919 * k) & 0x7FFFFFFF, dict(layer.params))
                          for layer in part.wear.layers]
                focus = object_focus(part.wear, state.matrices[index], state.camera)
                size = stack_resolution(part.wear.resolution, part.wear.texels_per_pixel, self.meshes[index],
                                        state.matrices[index], state.camera, spec.render.resolution)
                out[index] = build_stack(self.bake_of(index, size), clean, layers, up_object,
                                         keep_device=self.keep_device, device_maps=self.device_maps,
                                         displace=self.displace,
                                         focus=focus, meters_per_unit=meters_per_unit,
                                         finish_seed=((part.material.finish_seed or 0) + 7919 * k) & 0x7FFFFFFF)
        return out, changed


def object_focus(wear, matrix: np.ndarray, camera) -> tuple | None:
    """A WearSpec's focus in a mesh's object frame (``matrix``: local-to-world) as the wear context takes it:
    (centre, radius, camera position), or None without a focus. Discrete defects go inside the radius, on
    the faces the camera looks at."""
    if wear.focus is None:
        return None
    m = np.asarray(matrix, float)
    centre = np.linalg.solve(m[:3, :3], np.asarray(wear.focus, float) - m[:3, 3])
    scale = float(np.cbrt(abs(np.linalg.det(m[:3, :3]))))  # world units per object unit
    eye = np.linalg.solve(m[:3, :3], np.asarray(camera.matrix, float)[:3, 3] - m[:3, 3])
    return centre, wear.focus_radius / max(scale, 1e-12), eye


MIN_STACK = 64


def screen_extent(points: np.ndarray, matrix: np.ndarray, camera, resolution) -> float | None:
    """Largest side, in pixels, of the projection of the mesh's bounding box; None if it reaches behind the camera."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    to_camera = np.linalg.inv(np.asarray(camera.matrix, np.float64)) @ np.asarray(matrix, np.float64)
    cam = corners @ to_camera.T  # USD camera: looks along -Z
    depth = -cam[:, 2]
    if np.any(depth <= 1e-9):
        return None
    width, height = int(resolution[0]), int(resolution[1])
    f = width * camera.focal_length / camera.horizontal_aperture  # pixels, square pixels
    x, y = f * cam[:, 0] / depth, f * cam[:, 1] / depth
    # the part of the box inside the image is what needs texels
    x = np.clip(x, -width / 2, width / 2)
    y = np.clip(y, -height / 2, height / 2)
    return float(max(np.ptp(x), np.ptp(y)))


def stack_resolution(cap: int, texels_per_pixel: float, geo: MeshGeometry, matrix: np.ndarray, camera,
                     resolution) -> int:
    """The stack size for one mesh this frame: a power of two following its on-screen size, at most ``cap``."""
    if texels_per_pixel <= 0:
        return cap
    extent = screen_extent(geo.points, matrix, camera, resolution)
    if extent is None:
        return cap
    want = max(MIN_STACK, 1 << int(np.ceil(np.log2(max(texels_per_pixel * extent, 1.0)))))
    return int(min(cap, want))


def _vertex_normals(geo: MeshGeometry) -> np.ndarray:
    p, f = geo.points.astype(np.float64), geo.faces.astype(np.int64)
    fn = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
    n = np.zeros_like(p)
    for c in range(3):
        np.add.at(n, f[:, c], fn)
    return (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)).astype(np.float32)
