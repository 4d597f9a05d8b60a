"""Procedural textures of the background supports: conveyor belt, workbench and tote.

Each texture is a seamless tile (noise is filtered white noise in the Fourier domain, so it wraps)
in linear RGB; ``build_assets.py`` writes it as an 8-bit sRGB PNG and maps it with repeat wrapping at
the tile size given here, so one texel is well under a millimetre on the support. Deterministic for a
given seed; no downloads.
"""

from __future__ import annotations

import numpy as np

SIZE = 512  # texels per tile side
TILE_M = {"conveyor_belt": 0.25, "workbench": 0.5, "tote": 0.3}  # tile side on the support, metres


def noise(rng: np.random.Generator, shape: tuple[int, int], scale: float, aniso: tuple[float, float] = (1.0, 1.0)
          ) -> np.ndarray:
    """Seamless band-limited noise, zero mean, unit std; ``scale`` is the feature size in texels along
    rows/columns multiplied by ``aniso`` (e.g. (1, 8) stretches features along the columns)."""
    white = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0])[:, None] * scale * aniso[0]
    fx = np.fft.fftfreq(shape[1])[None, :] * scale * aniso[1]
    field = np.fft.ifft2(np.fft.fft2(white) * np.exp(-(fx * fx + fy * fy) * 2.0 * np.pi ** 2)).real
    return (field - field.mean()) / max(field.std(), 1e-12)


def _grid(n: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    v, u = (np.mgrid[0:n, 0:n] + 0.5) / n  # texel centres: features on the border wrap symmetrically
    return u, v


def conveyor_belt(seed: int = 31) -> np.ndarray:
    """Black PVC belt: a fine woven top cover, wear streaks along the running direction (u), scuffs."""
    rng = np.random.default_rng(seed)
    u, v = _grid()
    # twill weave of the top cover, 4 mm pitch on a 250 mm tile
    pitch = 64
    weave = 0.5 + 0.5 * np.sin(2 * np.pi * pitch * (u + v)) * np.sin(2 * np.pi * pitch * (u - v))
    streaks = noise(rng, u.shape, 2.0, (0.5, 30.0))  # long along u: the running direction
    mottling = noise(rng, u.shape, 40.0)
    scuffs = np.clip(noise(rng, u.shape, 6.0, (0.2, 1.0)) - 2.2, 0, None)
    grey = 0.045 + 0.012 * weave + 0.008 * streaks + 0.006 * mottling + 0.05 * scuffs
    tint = np.array([1.0, 1.0, 1.05])
    return np.clip(grey[..., None] * tint, 0.005, 1.0)


def workbench(seed: int = 32) -> np.ndarray:
    """Beech butcher block: 40 mm strips along u, each its own tone, grain lines, oil and glue stains."""
    rng = np.random.default_rng(seed)
    u, v = _grid()
    strips = 12  # 500 mm tile / 40 mm strips, rounded to whole strips so the tile wraps
    strip = np.floor(v * strips).astype(int)
    tone = rng.uniform(0.75, 1.2, strips)[strip]
    warp_ = noise(rng, u.shape, 40.0, (0.3, 4.0)) * 0.02
    grain = np.sin(2 * np.pi * (v * strips * 9 + warp_ * 40 + rng.uniform(0, 1, strips)[strip]))
    fine = noise(rng, u.shape, 1.5, (1.0, 12.0))
    base = np.array([0.42, 0.26, 0.14])  # linear beech
    shade = tone * (1.0 - 0.12 * (grain > 0.6) - 0.04 * fine)
    # strip joints
    edge = np.abs(v * strips - np.round(v * strips)) < 0.02
    shade = np.where(edge, shade * 0.6, shade)
    stains = np.clip(noise(rng, u.shape, 30.0) - 1.8, 0, None)  # oil soaked into the wood
    img = base * shade[..., None] * (1.0 - 0.35 * np.clip(stains, 0, 1))[..., None]
    return np.clip(img, 0.005, 1.0)


def tote(seed: int = 33) -> np.ndarray:
    """Blue polypropylene tote floor: moulded ribs on a 50 mm grid, mould texture, grey scuffs."""
    rng = np.random.default_rng(seed)
    u, v = _grid()
    cells = 6  # 300 mm tile / 50 mm rib grid
    ribs = np.minimum(np.abs(u * cells - np.round(u * cells)), np.abs(v * cells - np.round(v * cells)))
    rib = np.clip(1.0 - ribs / 0.04, 0, 1)
    grain = noise(rng, u.shape, 1.2)
    scuffs = np.clip(noise(rng, u.shape, 5.0, (0.15, 1.0)) - 2.5, 0, None)
    base = np.array([0.03, 0.10, 0.32])  # linear, a common tote blue
    shade = 1.0 + 0.25 * rib + 0.04 * grain
    img = base * shade[..., None]
    img = img * (1 - np.clip(scuffs, 0, 1))[..., None] + np.array([0.25, 0.25, 0.27]) * np.clip(scuffs, 0, 1)[..., None]
    return np.clip(img, 0.005, 1.0)


TEXTURES = {"conveyor_belt": conveyor_belt, "workbench": workbench, "tote": tote}


def srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear RGB -> 8-bit sRGB."""
    c = np.clip(linear, 0.0, 1.0)
    s = np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)
    return np.round(s * 255).astype(np.uint8)
