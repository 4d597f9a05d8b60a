"""Camera-sensor model.

Photometric (rgb only, labels untouched): exposure, gain, defocus and motion blur, lateral chromatic
aberration, vignetting, Poisson-Gaussian noise, JPEG re-compression; they work on linear radiance and
return 8-bit sRGB, with all noise from the FrameSpec's sensor seed.
Geometric: Brown-Conrady lens distortion, as a remap that the renderer applies to rgb (bilinear) and
to every label buffer (nearest) before annotating, so masks, boxes, depth and defects move with the image.
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
    if spec.defocus_blur and spec.defocus_blur > 0.25:
        x = cv2.filter2D(x, -1, disk_kernel(spec.defocus_blur), borderType=cv2.BORDER_REFLECT)
    if spec.motion_blur and spec.motion_blur > 0.5:
        x = cv2.filter2D(x, -1, line_kernel(spec.motion_blur, spec.motion_angle), borderType=cv2.BORDER_REFLECT)
    if spec.chromatic_aberration:
        x = lateral_ca(x, spec.chromatic_aberration)
    if spec.vignetting:
        x = x * vignette(x.shape[0], x.shape[1], focal_length_mm, aperture_mm, spec.vignetting)[..., None]
    if spec.mono:
        # one photosite per pixel: luminance (no colour filter array), noise drawn once and shared
        x = (x @ np.array([0.2126, 0.7152, 0.0722], np.float32))[..., None]
    rng = np.random.default_rng(spec.seed)
    if spec.full_well:
        electrons = rng.poisson(np.clip(x, 0, None) * spec.full_well).astype(np.float32)
        x = electrons / np.float32(spec.full_well)
    if spec.read_noise:
        x = x + rng.normal(0.0, spec.read_noise, x.shape).astype(np.float32)
    if spec.mono:
        x = np.repeat(x, 3, axis=-1)
    rgb = np.round(linear_to_srgb(x) * 255.0).astype(np.uint8)
    if spec.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(spec.jpeg_quality)])
        rgb = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    alpha = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
    return np.concatenate([rgb, alpha], axis=-1)


def disk_kernel(radius: float) -> np.ndarray:
    """Normalised disk (pillbox) kernel: the blur of an out-of-focus thin lens."""
    r = int(np.ceil(radius))
    ys, xs = np.mgrid[-r:r + 1, -r:r + 1]
    # area of each pixel inside the disk, approximated by 4x4 supersampling
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    cover = np.zeros(xs.shape, np.float32)
    for dy in sub:
        for dx in sub:
            cover += ((xs + dx) ** 2 + (ys + dy) ** 2 <= radius * radius)
    return (cover / cover.sum()).astype(np.float32)


def line_kernel(length: float, angle_deg: float) -> np.ndarray:
    """Normalised linear motion-blur kernel of ``length`` pixels at ``angle_deg``."""
    r = int(np.ceil(length / 2))
    k = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
    a = np.radians(angle_deg)
    for t in np.linspace(-length / 2, length / 2, max(int(length * 4), 2)):
        x, y = r + t * np.cos(a), r - t * np.sin(a)
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for xx, yy, w in ((x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)), (x0, y0 + 1, (1 - fx) * fy),
                          (x0 + 1, y0 + 1, fx * fy)):
            if 0 <= xx < k.shape[1] and 0 <= yy < k.shape[0]:
                k[yy, xx] += w
    return k / k.sum()


def lateral_ca(x: np.ndarray, amount: float) -> np.ndarray:
    """Scale red by (1 + amount) and blue by (1 - amount) about the image centre."""
    h, w = x.shape[:2]
    out = x.copy()
    for channel, scale in ((0, 1.0 + amount), (2, 1.0 - amount)):
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 0.0, scale)
        out[..., channel] = cv2.warpAffine(x[..., channel], m, (w, h), flags=cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_REFLECT)
    return out


def distortion_maps(spec: SensorSpec, width: int, height: int, focal_length_mm: float,
                    aperture_mm: float) -> tuple[np.ndarray, np.ndarray] | None:
    """For every pixel of the distorted image, where it comes from in the rendered (ideal) image."""
    if not spec.distortion or not any(spec.distortion):
        return None
    f = focal_length_mm / aperture_mm * width
    k = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], np.float64)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    pts = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], -1)[:, None, :]
    ideal = cv2.undistortPoints(pts, k, np.asarray(spec.distortion, np.float64), P=k)[:, 0, :] - 0.5
    return ideal[:, 0].reshape(height, width).astype(np.float32), ideal[:, 1].reshape(height, width).astype(np.float32)


def remap(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray], labels: bool, fill=0) -> np.ndarray:
    """Apply distortion maps: bilinear for images, nearest for label buffers (which must not blend)."""
    interp = cv2.INTER_NEAREST if labels else cv2.INTER_LINEAR
    src = image
    if src.dtype in (np.int64, np.uint64, np.uint32, np.int32) and labels:
        # OpenCV's remap takes at most 32-bit floats: route integer labels through int32/float32 exactly
        src = image.astype(np.float32) if np.abs(image).max(initial=0) < 2**24 else image.astype(np.float64)
        out = cv2.remap(src, maps[0], maps[1], interp, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
        return np.rint(out).astype(image.dtype)
    return cv2.remap(src, maps[0], maps[1], interp, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
