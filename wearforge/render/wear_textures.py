"""Bind wear stacks to the standalone renderer: bakes per mesh (cached), stacks per frame.

Meshes whose UVs are missing or overlap get a per-triangle atlas (with a warning) before the first
stack is built, so every texel, and therefore every defect label, belongs to one surface point.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from wearforge.framespec import FrameSpec
from wearforge.render.usd_scene import FrameState, MeshGeometry
from wearforge.wear import CleanMaterial, LayerSpec, WearStack, bake, build_stack, check_uvs, triangle_atlas

log = logging.getLogger("wearforge.wear")


class WearTextures:
    """Owns the bakes of one twin's meshes and builds this frame's stacks."""

    def __init__(self, meshes: list[MeshGeometry], up: np.ndarray, occlusion_resolution: int = 256,
                 keep_device: bool = False):
        self.keep_device = keep_device
        self.meshes = meshes
        self.up = np.asarray(up, float)
        self.occlusion_resolution = occlusion_resolution
        self._bakes: dict[tuple[int, int], object] = {}
        self._checked: set[int] = set()

    def meshes_of(self, part_path: str) -> list[int]:
        return [i for i, m in enumerate(self.meshes) if m.label_path == part_path]

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
        key = (index, resolution)
        if key not in self._bakes:
            geo = self.meshes[index]
            normals = geo.normals if geo.normals is not None else _vertex_normals(geo)
            self._bakes[key] = bake(geo.points, geo.faces.astype(np.int32), normals, geo.uvs, resolution,
                                    occlusion_resolution=self.occlusion_resolution)
        return self._bakes[key]

    def stacks(self, spec: FrameSpec, state: FrameState) -> tuple[dict[int, WearStack], bool]:
        """Stacks for every mesh of every part with wear layers; also whether geometry changed."""
        out: dict[int, WearStack] = {}
        changed = False
        for part in spec.parts:
            finish = part.material.finish
            if not part.visible or part.wear is None or not (part.wear.layers or finish):
                continue
            for k, index in enumerate(self.meshes_of(part.path)):
                changed |= self.ensure_uvs(index)
                mat = state.materials[index]
                clean = CleanMaterial(tuple(mat.base_color), float(mat.metallic), float(mat.roughness), finish,
                                      part.material.finish_params)
                rot = state.matrices[index][:3, :3]
                up_object = np.linalg.solve(rot, self.up)  # world up expressed in the mesh's frame
                # each mesh of a part gets its own pattern, reproducibly
                layers = [LayerSpec(layer.type, (layer.seed + 7919 * k) & 0x7FFFFFFF, dict(layer.params))
                          for layer in part.wear.layers]
                focus = None
                if part.wear.focus is not None:
                    m = state.matrices[index]
                    centre = np.linalg.solve(m[:3, :3], np.asarray(part.wear.focus, float) - m[:3, 3])
                    scale = float(np.cbrt(abs(np.linalg.det(m[:3, :3]))))  # world units per object unit
                    focus = (centre, part.wear.focus_radius / max(scale, 1e-12))
                out[index] = build_stack(self.bake_of(index, part.wear.resolution), clean, layers, up_object,
                                         keep_device=self.keep_device, focus=focus,
                                         finish_seed=((part.material.finish_seed or 0) + 7919 * k) & 0x7FFFFFFF)
        return out, changed


def _vertex_normals(geo: MeshGeometry) -> np.ndarray:
    p, f = geo.points.astype(np.float64), geo.faces.astype(np.int64)
    fn = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
    n = np.zeros_like(p)
    for c in range(3):
        np.add.at(n, f[:, c], fn)
    return (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)).astype(np.float32)
