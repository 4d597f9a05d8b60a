"""Is a surface change visible? CIEDE2000 between two renders of one frame, as the camera would show them.

Both images go through the deterministic part of the sensor (exposure, gain, vignetting, clipping, sRGB
encoding) before the colour difference, so a defect lost in a blown-out highlight or a black shadow
counts as invisible. Noise, blur and JPEG are left out: they change the picture, not what is on the part.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from wearforge.color import linear_to_srgb
from wearforge.framespec import SensorSpec
from wearforge.sensor import vignette


def displayed_srgb(linear: np.ndarray, sensor: SensorSpec, exposure_ev: float, focal_length_mm: float,
                   aperture_mm: float, smooth: float = 0.0) -> np.ndarray:
    """Linear RGB (H, W, 3) -> sRGB in [0, 1] after exposure, gain and vignetting (no noise).

    ``smooth``: Gaussian sigma in pixels applied to the clipped linear values, against sampling noise.
    """
    x = np.asarray(linear, np.float32)[..., :3] * np.float32(2.0 ** (exposure_ev + sensor.exposure) * sensor.gain)
    if sensor.vignetting:
        x = x * vignette(x.shape[0], x.shape[1], focal_length_mm, aperture_mm, sensor.vignetting)[..., None]
    x = np.clip(x, 0.0, 1.0)
    if smooth > 0:
        x = cv2.GaussianBlur(x, (0, 0), smooth, borderType=cv2.BORDER_REFLECT)
    return linear_to_srgb(x)


def delta_e(worn: np.ndarray, clean: np.ndarray, sensor: SensorSpec, exposure_ev: float = 0.0,
            focal_length_mm: float = 24.0, aperture_mm: float = 20.955, smooth: float = 0.0) -> np.ndarray:
    """Per-pixel CIEDE2000 (H, W) float32 between two linear renders of the same view.

    Low-spp pairs are noisy where the two materials differ (their paths diverge), and colour differences
    of noisy pairs are biased upwards; ``smooth`` (pixels) trades a little sharpness for less noise.
    """
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab = [rgb2lab(displayed_srgb(img, sensor, exposure_ev, focal_length_mm, aperture_mm, smooth))
           for img in (worn, clean)]
    return deltaE_ciede2000(lab[0], lab[1]).astype(np.float32)


@dataclass
class VisibleChange:
    """Where wear visibly changes the frame, from two independent paired estimates (A and B).

    ``certain``: both estimates reach the threshold plus a margin; ``possible``: at least one reaches the
    threshold. Colour differences of noisy pairs are biased upwards, so one low-spp estimate alone
    over-calls faint changes; requiring two independent ones to agree, with a margin for the bias they
    share, keeps labels on what is visible, and what is only possibly visible becomes ignore.
    """

    certain: np.ndarray  # bool (H, W)
    possible: np.ndarray  # bool (H, W)
    delta_e: np.ndarray  # float32 (H, W): the smaller of the two estimates


def visible_change(pairs: list[tuple[np.ndarray, np.ndarray]], threshold: float, sensor: SensorSpec,
                   exposure_ev: float = 0.0, focal_length_mm: float = 24.0, aperture_mm: float = 20.955,
                   margin: float = 0.0) -> VisibleChange:
    """``pairs``: (with wear, without wear) linear renders, each pair sharing a sampler seed."""
    de = [delta_e(worn, clean, sensor, exposure_ev, focal_length_mm, aperture_mm) for worn, clean in pairs]
    low, high = np.minimum.reduce(de), np.maximum.reduce(de)
    return VisibleChange(low >= threshold + margin, high >= threshold, low)
