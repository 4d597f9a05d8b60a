"""Wear textures from Warp straight into Mitsuba: DLPack, no copy through host memory.

Warp arrays export DLPack and Dr.Jit tensors import it without copying, on the GPU (Warp on ``cuda``,
Mitsuba ``cuda_*``) as on the CPU (Warp on ``cpu``, Mitsuba ``llvm_*``): the stack's maps become
Mitsuba's texture data where the kernels left them. The values are the very floats the host path
would upload (roughness gets the same floor, applied by Dr.Jit on the device), so both paths render
the same bytes. On CUDA no stream hand-over is needed: ``build_stack`` downloads the label maps before it
returns, which waits for every Warp kernel of the stack. The host path remains for other pairings
(e.g. Warp on the CPU with Mitsuba on CUDA, or the scalar variant, which has no tensors to share memory with).
"""

from __future__ import annotations

import numpy as np

ROUGHNESS_FLOOR = 0.02  # Mitsuba's principled BSDF misbehaves on perfectly smooth microfacets


def zero_copy_usable(variant: str, warp_device: str) -> bool:
    """Whether a Mitsuba ``variant`` can take Warp arrays that live on ``warp_device`` as they are."""
    if variant.startswith("cuda_"):
        return warp_device.startswith("cuda")
    if variant.startswith("llvm_"):
        return warp_device == "cpu"
    return False


def stack_tensors(mi, stack) -> dict[str, object]:
    """The stack's texture data as ``mi.TensorXf``: normal, base_color (R, R, 3), roughness, metallic (R, R, 1).

    From the stack's Warp arrays when it has ``device_maps`` (no copy), else from its host arrays.
    """
    maps = stack.device_maps
    if maps is None:
        tensor = mi.TensorXf
        return {"normal": tensor(np.ascontiguousarray(stack.normal, np.float32)),
                "base_color": tensor(np.ascontiguousarray(stack.base_color, np.float32)),
                "roughness": tensor(np.ascontiguousarray(np.maximum(stack.roughness, ROUGHNESS_FLOOR)[..., None])),
                "metallic": tensor(np.ascontiguousarray(stack.metallic[..., None], np.float32))}
    import drjit as dr

    def channel(array, floor: float | None = None):
        flat = mi.TensorXf(array).array  # DLPack: shares the Warp array's memory
        if floor is not None:
            flat = dr.maximum(flat, floor)
        return mi.TensorXf(flat, shape=(*array.shape, 1))

    return {"normal": mi.TensorXf(maps["normal"]), "base_color": mi.TensorXf(maps["base_color"]),
            "roughness": channel(maps["roughness"], ROUGHNESS_FLOOR), "metallic": channel(maps["metallic"])}
