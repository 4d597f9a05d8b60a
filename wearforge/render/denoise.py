"""Denoise rendered radiance with Intel Open Image Denoise (``pyoidn``), guided by albedo and normal AOVs,
as Blender Cycles does: fewer samples per pixel for the same image quality. Labels never pass through it.
"""

from __future__ import annotations

import numpy as np

from wearforge.errors import InputError


def require_oidn():
    """The ``pyoidn`` module, or one clear message saying how to install it."""
    try:
        import pyoidn
    except ImportError:
        raise InputError("render.denoise needs Intel Open Image Denoise: pip install pyoidn",
                         field="render.denoise") from None
    return pyoidn


def denoise(radiance: np.ndarray, albedo: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Denoised linear radiance (H, W, 3) float32 from noisy radiance and its (noisy) albedo and normals."""
    pyoidn = require_oidn()
    rgb = np.ascontiguousarray(np.nan_to_num(radiance[..., :3], nan=0.0, posinf=0.0).clip(0.0, None), np.float32)
    alb = np.ascontiguousarray(np.clip(albedo[..., :3], 0.0, 1.0), np.float32)
    nrm = np.ascontiguousarray(np.clip(normal[..., :3], -1.0, 1.0), np.float32)
    # linear radiance is HDR; the auxiliary images carry Monte Carlo noise too, so OIDN prefilters them
    return pyoidn.denoise(rgb, alb, nrm, hdr=True, clean_aux=False, quality="high")
