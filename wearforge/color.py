"""Colour helpers: blackbody colour temperature and the sRGB transfer function."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_XYZ_TO_LINEAR_SRGB = np.array([
    [3.2404542, -1.5371385, -0.4985314],
    [-0.9692660, 1.8760108, 0.0415560],
    [0.0556434, -0.2040259, 1.0572252],
])


def _lobe(x: np.ndarray, mu: float, s1: float, s2: float) -> np.ndarray:
    s = np.where(x < mu, s1, s2)
    return np.exp(-0.5 * ((x - mu) / s) ** 2)


def _cie_1931(nm: np.ndarray) -> np.ndarray:
    """CIE 1931 2-degree colour matching functions (Wyman, Sloan & Shirley 2013 multi-lobe fit)."""
    x = 1.056 * _lobe(nm, 599.8, 37.9, 31.0) + 0.362 * _lobe(nm, 442.0, 16.0, 26.7) - 0.065 * _lobe(nm, 501.1, 20.4, 26.2)
    y = 0.821 * _lobe(nm, 568.8, 46.9, 40.5) + 0.286 * _lobe(nm, 530.9, 16.3, 31.1)
    z = 1.217 * _lobe(nm, 437.0, 11.8, 36.0) + 0.681 * _lobe(nm, 459.0, 26.0, 13.8)
    return np.stack([x, y, z], -1)


@lru_cache(maxsize=512)
def blackbody_rgb(kelvin: float) -> tuple[float, float, float]:
    """Linear sRGB colour of a blackbody at ``kelvin``, scaled to luminance 1 (so intensity keeps its meaning)."""
    nm = np.arange(380.0, 781.0, 1.0)
    lam = nm * 1e-9
    h, c, k = 6.62607015e-34, 2.99792458e8, 1.380649e-23
    radiance = 1.0 / (lam**5 * (np.exp(h * c / (lam * k * float(kelvin))) - 1.0))
    xyz = (_cie_1931(nm) * radiance[:, None]).sum(axis=0)
    rgb = _XYZ_TO_LINEAR_SRGB @ (xyz / xyz[1])
    return tuple(float(v) for v in np.clip(rgb, 0.0, None))


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)
