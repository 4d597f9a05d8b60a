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
    """The stack's texture data as ``mi.TensorXf``: normal, base_color (R, R, 3), roughness, metallic,
    anisotropic (R, R, 1) and tangent (R, R, 3), the encoded groove direction.

    From the stack's Warp arrays when it has ``device_maps`` (no copy), else from its host arrays.
    """
    maps = stack.device_maps
    if maps is None:
        tensor = mi.TensorXf
        anisotropic, tangent = groove_maps(stack)
        return {"normal": tensor(np.ascontiguousarray(stack.normal, np.float32)),
                "base_color": tensor(np.ascontiguousarray(stack.base_color, np.float32)),
                "roughness": tensor(np.ascontiguousarray(np.maximum(stack.roughness, ROUGHNESS_FLOOR)[..., None])),
                "metallic": tensor(np.ascontiguousarray(stack.metallic[..., None], np.float32)),
                "anisotropic": tensor(np.ascontiguousarray(anisotropic)),
                "tangent": tensor(np.ascontiguousarray(tangent))}
    import drjit as dr

    def channel(array, floor: float | None = None):
        flat = mi.TensorXf(array).array  # DLPack: shares the Warp array's memory
        if floor is not None:
            flat = dr.maximum(flat, floor)
        return mi.TensorXf(flat, shape=(*array.shape, 1))

    return {"normal": mi.TensorXf(maps["normal"]), "base_color": mi.TensorXf(maps["base_color"]),
            "roughness": channel(maps["roughness"], ROUGHNESS_FLOOR), "metallic": channel(maps["metallic"]),
            "anisotropic": channel(maps["anisotropy"]), "tangent": mi.TensorXf(maps["tangent"])}


def groove_maps(stack) -> tuple[np.ndarray, np.ndarray]:
    """Anisotropy (R, R, 1) and encoded groove direction (R, R, 3) as float32, isotropic where the stack has none."""
    res = stack.resolution
    if stack.anisotropy is None or stack.tangent is None:
        return np.zeros((res, res, 1), np.float32), np.full((res, res, 3), 0.5, np.float32)
    return stack.anisotropy.astype(np.float32)[..., None], stack.tangent.astype(np.float32)
