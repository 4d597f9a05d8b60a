"""Part poses (parent frame) and visibility."""

from __future__ import annotations

from wearforge.framespec import PoseSpec
from wearforge.recipe import PoseRandomizer, matches
from wearforge.seeding import Sampler


def sample_pose(entries: list[PoseRandomizer], path: str, semantic_class: str, sampler: Sampler) -> tuple[PoseSpec, bool]:
    values: dict = {}
    visible = True
    for i, entry in enumerate(entries):
        if not matches(entry.parts, path, semantic_class):
            continue
        for name in ("position", "rotation", "scale"):
            value = sampler.draw(f"poses/{i}/{name}:{path}", getattr(entry, name))
            if value is not None:
                values[name] = value
        if entry.visible is not None:
            p = sampler.draw(f"poses/{i}/visible-p:{path}", entry.visible)
            visible = bool(sampler.rng(f"poses/{i}/visible:{path}").random() < p)
    return PoseSpec(**values), visible
