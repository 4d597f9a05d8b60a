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
    return SensorSpec(
        exposure=d("exposure") or 0.0,
        gain=1.0 if cfg.gain is None else d("gain"),
        full_well=d("full_well"),
        read_noise=d("read_noise"),
        vignetting=d("vignetting"),
        jpeg_quality=None if quality is None else int(round(min(max(quality, 1), 100))),
        seed=seed,
    )
