"""Photometric camera-sensor model: exposure, gain, vignetting, Poisson-Gaussian noise, JPEG.

Works on the renderer's linear radiance and returns 8-bit sRGB. Nothing here moves pixels, so every
label stays valid. All noise comes from the FrameSpec's sensor seed.
"""

from __future__ import annotations

import cv2
import numpy as np

from wearforge.color import linear_to_srgb
from wearforge.framespec import SensorSpec


def vignette(height: int, width: int, focal_length_mm: float, aperture_mm: float, strength: float) -> np.ndarray:
    """cos^4 falloff of the real lens geometry, rescaled so the corners are darkened by ``strength``."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    mm_per_px = aperture_mm / width
    r_mm = np.hypot(xs + 0.5 - width / 2, ys + 0.5 - height / 2) * mm_per_px
    cos4 = (1.0 / (1.0 + (r_mm / focal_length_mm) ** 2)) ** 2
    corner = (1.0 / (1.0 + (np.hypot(width, height) / 2 * mm_per_px / focal_length_mm) ** 2)) ** 2
    falloff = (1.0 - cos4) / max(1.0 - corner, 1e-6)
    return (1.0 - strength * falloff).astype(np.float32)


def apply_sensor(linear: np.ndarray, spec: SensorSpec, exposure_ev: float = 0.0,
                 focal_length_mm: float = 24.0, aperture_mm: float = 20.955) -> np.ndarray:
    """Linear RGB (H, W, 3) -> sRGB uint8 (H, W, 4) with alpha 255, as Replicator's rgb annotator."""
    x = np.asarray(linear, dtype=np.float32)[..., :3] * np.float32(2.0 ** (exposure_ev + spec.exposure) * spec.gain)
    if spec.vignetting:
        x = x * vignette(x.shape[0], x.shape[1], focal_length_mm, aperture_mm, spec.vignetting)[..., None]
    rng = np.random.default_rng(spec.seed)
    if spec.full_well:
        electrons = rng.poisson(np.clip(x, 0, None) * spec.full_well).astype(np.float32)
        x = electrons / np.float32(spec.full_well)
    if spec.read_noise:
        x = x + rng.normal(0.0, spec.read_noise, x.shape).astype(np.float32)
    rgb = np.round(linear_to_srgb(x) * 255.0).astype(np.uint8)
    if spec.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(spec.jpeg_quality)])
        rgb = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    alpha = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
    return np.concatenate([rgb, alpha], axis=-1)
