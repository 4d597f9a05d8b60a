"""Image features for comparing generated frames with real photos, offline.

No pretrained network's weights install from the package registry without a deep-learning framework,
so the default is a hand-built, documented feature set (``HandFeatures``, 133 numbers per image) that
describes what separates renders from photos: colour, gradients, texture and sensor noise, at three
scales of an image pyramid. A user may instead point at their own model file (``OnnxFeatures``): any
ONNX network that maps an NCHW float image in [0, 1] to a feature vector.

Every image is first resized (area filter) so its longer side is ``WORK_SIZE`` pixels: a 4000-px photo
and a 512-px render are compared at the same scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from wearforge.errors import InputError

WORK_SIZE = 256
SCALES = 3
_GRAD_EDGES = np.concatenate([[0.0], np.geomspace(0.004, 0.5, 7), [np.inf]])  # 8 bins of gradient magnitude
_LUMA_EDGES = np.linspace(0.0, 1.0, 9)


class FeatureExtractor(Protocol):
    name: str
    dim: int

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 RGB -> float64 feature vector of length ``dim``."""


def work_image(rgb: np.ndarray, size: int = WORK_SIZE) -> np.ndarray:
    """float32 RGB in [0, 1], longer side ``size`` (area-resampled down, linear up)."""
    h, w = rgb.shape[:2]
    s = size / max(h, w)
    if s != 1.0:
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        rgb = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp)
    return rgb.astype(np.float32) / 255.0


def _lbp_riu2(luma: np.ndarray) -> np.ndarray:
    """Rotation-invariant uniform local binary patterns (8 neighbours, radius 1): 10-bin histogram."""
    c = luma[1:-1, 1:-1]
    shifts = [(0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)]
    h, w = luma.shape
    bits = np.stack([luma[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx] >= c + 1e-3 for dy, dx in shifts]).astype(np.int8)
    ones = bits.sum(0)
    transitions = np.abs(np.diff(np.concatenate([bits, bits[:1]]), axis=0)).sum(0)
    code = np.where(transitions <= 2, ones, 9)
    hist = np.bincount(code.ravel(), minlength=10).astype(np.float64)
    return hist / max(hist.sum(), 1.0)


def _scale_features(img: np.ndarray) -> list[np.ndarray]:
    """Per pyramid level: opponent-colour spread, gradient magnitude and orientation, texture, noise."""
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    luma = (r + g + b) / 3.0
    o1, o2 = (r - g) / 2.0, (r + g - 2.0 * b) / 4.0
    spread = np.array([luma.std(), o1.std(), o2.std()])
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    mag = np.hypot(gx, gy)
    mag_hist = np.histogram(mag, _GRAD_EDGES)[0].astype(np.float64)
    mag_hist /= max(mag_hist.sum(), 1.0)
    # edge orientations mod 180 degrees, weighted by strength: man-made vs cluttered structure
    ang = np.mod(np.arctan2(gy, gx), np.pi)
    ori = np.bincount(np.minimum((ang / np.pi * 8).astype(np.int64), 7).ravel(), weights=mag.ravel(), minlength=8)
    ori = np.sort(ori / max(ori.sum(), 1e-12))[::-1]  # sorted: invariant to the part's in-plane rotation
    texture = _lbp_riu2(luma)
    # sensor noise: high-pass residual in the flattest third of the image (edges excluded)
    resid = luma - cv2.GaussianBlur(luma, (0, 0), 1.0)
    flat = mag <= np.quantile(mag, 0.33)
    rf = resid[flat] if flat.sum() > 16 else resid.ravel()
    sd = float(rf.std())
    kurt = float(np.mean(rf ** 4) / (sd ** 4 + 1e-12)) if sd > 0 else 0.0
    noise = np.array([np.log10(sd + 1e-5), min(kurt, 50.0) / 10.0, float(mag.mean())])
    return [spread, mag_hist, ori, texture, noise]


class HandFeatures:
    """Colour, gradient, texture and noise statistics at three scales (see module docstring)."""

    name = "hand-v1"

    def __init__(self, size: int = WORK_SIZE):
        self.size = size
        self.dim = len(self(np.zeros((8, 8, 3), np.uint8)))

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        img = work_image(rgb, self.size)
        parts: list[np.ndarray] = []
        # global colour: opponent means, saturation, a hue histogram weighted by saturation, exposure
        r, g, b = img[..., 0], img[..., 1], img[..., 2]
        luma = (r + g + b) / 3.0
        parts.append(np.array([luma.mean(), ((r - g) / 2).mean(), ((r + g - 2 * b) / 4).mean()]))
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)  # float input: H in degrees, S and V in [0, 1]
        sat = hsv[..., 1]
        hue = np.bincount(np.minimum((hsv[..., 0] / 60.0).astype(np.int64), 5).ravel(), weights=sat.ravel(),
                          minlength=6)
        parts.append(np.array([sat.mean(), sat.std()]))
        parts.append(hue / max(hue.sum(), 1e-12))
        lh = np.histogram(luma, _LUMA_EDGES)[0].astype(np.float64)
        parts.append(lh / max(lh.sum(), 1.0))
        parts.append(np.array([(luma < 0.02).mean(), (luma > 0.98).mean()]))
        # coarse layout: 4x4 grid of luminance
        parts.append(cv2.resize(luma, (4, 4), interpolation=cv2.INTER_AREA).ravel().astype(np.float64))
        level = img
        for s in range(SCALES):
            if s:
                level = cv2.pyrDown(level) if min(level.shape[:2]) >= 8 else level
            parts.extend(_scale_features(level))
        return np.concatenate([np.asarray(p, np.float64).ravel() for p in parts])


class OnnxFeatures:
    """A user's own ONNX model: NCHW float32 RGB in [0, 1] at the model's input size (224 when dynamic)."""

    def __init__(self, model: str | Path):
        try:
            import onnxruntime as ort
        except ImportError:  # pragma: no cover - installed with the standalone extra
            raise InputError("--features MODEL.onnx needs onnxruntime (pip install onnxruntime)") from None
        path = Path(model)
        if not path.is_file():
            raise InputError(f"feature model not found: {path}", field="--features")
        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own error types for bad files
            raise InputError(f"cannot load ONNX model {path}: {str(exc).splitlines()[0]}", field="--features") from None
        inp = self.session.get_inputs()[0]
        shape = list(inp.shape)
        if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
            raise InputError(f"{path}: expected an NCHW image input with 3 channels, got shape {shape}",
                             field="--features")
        self.input = inp.name
        self.hw = tuple(v if isinstance(v, int) and v > 0 else 224 for v in shape[2:4])
        self.name = f"onnx:{path.name}"
        self.dim = len(self(np.zeros((8, 8, 3), np.uint8)))

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        h, w = self.hw
        img = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        out = self.session.run(None, {self.input: img.transpose(2, 0, 1)[None]})[0]
        return np.asarray(out, np.float64).ravel()


def make_extractor(model: str | Path | None) -> FeatureExtractor:
    """The hand-built features, or the user's ONNX model when a path is given."""
    return HandFeatures() if model is None else OnnxFeatures(model)


def thumbnail_signature(rgb: np.ndarray) -> np.ndarray:
    """A 16x12 grey thumbnail, zero-mean and unit-norm: cosine of two signatures ~ visual sameness."""
    small = cv2.resize(rgb, (16, 12), interpolation=cv2.INTER_AREA).astype(np.float32).mean(-1).ravel()
    small -= small.mean()
    n = float(np.linalg.norm(small))
    return (small / n if n > 0 else small).astype(np.float32)
