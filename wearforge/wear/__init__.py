"""Procedural wear and defects on the GPU or CPU (Warp): texture stacks with pixel-exact defect labels.

    bake = wear.bake(points, triangles, normals, uvs, resolution=1024)
    stack = wear.build_stack(bake, CleanMaterial((0.56, 0.57, 0.58), 1.0, 0.3),
                             [LayerSpec("rust", seed=7, params={"coverage": 0.4})])
"""

from wearforge.wear.bake import Bake, bake, check_uvs, triangle_atlas
from wearforge.wear.defects import DEFECT_CLASSES, param_docs, param_names
from wearforge.wear.stack import CleanMaterial, LayerSpec, WearStack, build_stack

__all__ = ["DEFECT_CLASSES", "Bake", "CleanMaterial", "LayerSpec", "WearStack", "bake", "build_stack", "check_uvs",
           "param_docs", "param_names", "triangle_atlas"]
