"""Which defect layers a part gets this frame, their parameters and their kernel seeds."""

from __future__ import annotations

from wearforge.framespec import WearLayerSpec, WearSpec
from wearforge.recipe import WearRandomizer, matches
from wearforge.seeding import Sampler


def sample_wear(entries: list[WearRandomizer], path: str, semantic_class: str, sampler: Sampler) -> WearSpec | None:
    layers: list[WearLayerSpec] = []
    resolution = 0
    texels_per_pixel = 0.0
    matched = False
    focus, focus_radius = None, None
    for i, entry in enumerate(entries):
        if not matches(entry.parts, path, semantic_class):
            continue
        matched = True
        resolution = max(resolution, entry.resolution)
        texels_per_pixel = max(texels_per_pixel, entry.texels_per_pixel)
        if entry.focus is not None:
            focus, focus_radius = [float(v) for v in entry.focus], float(entry.focus_radius)
        for j, layer in enumerate(entry.layers):
            key = f"wear/{i}/{j}"
            if sampler.rng(f"{key}/present:{path}").random() >= layer.probability:
                continue
            params = {k: float(sampler.draw(f"{key}/{k}:{path}", d)) for k, d in sorted(layer.params.items())}
            layers.append(WearLayerSpec(type=layer.type, seed=sampler.seed_for(f"{key}/seed:{path}"), params=params))
    if not matched:
        return None
    return WearSpec(resolution=resolution, texels_per_pixel=texels_per_pixel, layers=layers, focus=focus,
                    focus_radius=focus_radius)
