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


GUIDE_AOVS = "albedo:albedo,nn:sh_normal"
_guide_integrators: dict[str, object] = {}  # per Mitsuba variant


def guides(mi, scene, spp: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Albedo and shading normal (H, W, 3 each) at the first hit, from a pass of their own.

    Same sensor, samples and seed as the beauty pass, so the guides equal those of an ``aov`` integrator
    wrapped around the path tracer (``tests/test_denoise.py``), without that wrapper's cost: the path
    tracer alone renders about twice as fast, and first hits are cheap (docs/benchmarks.md).
    """
    integrator = _guide_integrators.get(mi.variant())
    if integrator is None:
        integrator = _guide_integrators[mi.variant()] = mi.load_dict({"type": "aov", "aovs": GUIDE_AOVS})
    img = np.asarray(mi.render(scene, integrator=integrator, spp=int(spp), seed=int(seed)), dtype=np.float32)
    return img[..., 0:3], img[..., 3:6]


def denoise(radiance: np.ndarray, albedo: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Denoised linear radiance (H, W, 3) float32 from noisy radiance and its (noisy) albedo and normals."""
    pyoidn = require_oidn()
    rgb = np.ascontiguousarray(np.nan_to_num(radiance[..., :3], nan=0.0, posinf=0.0).clip(0.0, None), np.float32)
    alb = np.ascontiguousarray(np.clip(albedo[..., :3], 0.0, 1.0), np.float32)
    nrm = np.ascontiguousarray(np.clip(normal[..., :3], -1.0, 1.0), np.float32)
    # linear radiance is HDR; the auxiliary images carry Monte Carlo noise too, so OIDN prefilters them
    return pyoidn.denoise(rgb, alb, nrm, hdr=True, clean_aux=False, quality="high")
