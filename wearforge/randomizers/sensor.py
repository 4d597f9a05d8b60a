"""Camera-sensor settings for the frame (applied to rgb by wearforge.sensor)."""

from __future__ import annotations

from wearforge.framespec import SensorSpec
from wearforge.recipe import SensorRandomizer
from wearforge.seeding import Sampler


def sample_sensor(cfg: SensorRandomizer | None, sampler: Sampler) -> SensorSpec:
    seed = sampler.seed_for("sensor/seed")
    if cfg is None:
        return SensorSpec(seed=seed)
    d = lambda name: sampler.draw(f"sensor/{name}", getattr(cfg, name))  # noqa: E731
    quality = d("jpeg_quality")
    coeffs = [d(name) for name in ("k1", "k2", "p1", "p2", "k3")]
    distortion = None if all(c is None for c in coeffs) else [float(c or 0.0) for c in coeffs]
    return SensorSpec(
        defocus_blur=d("defocus_blur"),
        motion_blur=d("motion_blur"),
        motion_angle=d("motion_angle") or 0.0,
        chromatic_aberration=d("chromatic_aberration"),
        distortion=distortion,
        exposure=d("exposure") or 0.0,
        gain=1.0 if cfg.gain is None else d("gain"),
        full_well=d("full_well"),
        read_noise=d("read_noise"),
        vignetting=d("vignetting"),
        jpeg_quality=None if quality is None else int(round(min(max(quality, 1), 100))),
        mono=bool(cfg.mono),
        seed=seed,
    )
