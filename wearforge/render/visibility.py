"""Is a surface change visible? CIEDE2000 between two renders of one frame, as the camera would show them.

Both images go through the deterministic part of the sensor (exposure, gain, vignetting, clipping, sRGB
encoding) before the colour difference, so a defect lost in a blown-out highlight or a black shadow
counts as invisible. Noise, blur and JPEG are left out: they change the picture, not what is on the part.
"""

from __future__ import annotations

import numpy as np

from wearforge.color import linear_to_srgb
from wearforge.framespec import SensorSpec
from wearforge.sensor import vignette


def displayed_srgb(linear: np.ndarray, sensor: SensorSpec, exposure_ev: float, focal_length_mm: float,
                   aperture_mm: float) -> np.ndarray:
    """Linear RGB (H, W, 3) -> sRGB in [0, 1] after exposure, gain and vignetting (no noise)."""
    x = np.asarray(linear, np.float32)[..., :3] * np.float32(2.0 ** (exposure_ev + sensor.exposure) * sensor.gain)
    if sensor.vignetting:
        x = x * vignette(x.shape[0], x.shape[1], focal_length_mm, aperture_mm, sensor.vignetting)[..., None]
    return linear_to_srgb(x)


def delta_e(worn: np.ndarray, clean: np.ndarray, sensor: SensorSpec, exposure_ev: float = 0.0,
            focal_length_mm: float = 24.0, aperture_mm: float = 20.955) -> np.ndarray:
    """Per-pixel CIEDE2000 (H, W) float32 between two linear renders of the same view."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab = [rgb2lab(displayed_srgb(img, sensor, exposure_ev, focal_length_mm, aperture_mm)) for img in (worn, clean)]
    return deltaE_ciede2000(lab[0], lab[1]).astype(np.float32)
