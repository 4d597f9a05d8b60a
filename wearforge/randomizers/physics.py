"""UsdPhysics mass/density and friction/restitution per part."""

from __future__ import annotations

from wearforge.framespec import PhysicsSpec
from wearforge.recipe import PhysicsRandomizer, matches
from wearforge.seeding import Sampler

FIELDS = ("mass", "density", "static_friction", "dynamic_friction", "restitution")


def sample_physics(entries: list[PhysicsRandomizer], path: str, semantic_class: str, sampler: Sampler) -> PhysicsSpec:
    values: dict = {}
    for i, entry in enumerate(entries):
        if not matches(entry.parts, path, semantic_class):
            continue
        for name in FIELDS:
            value = sampler.draw(f"physics/{i}/{name}:{path}", getattr(entry, name))
            if value is not None:
                values[name] = value
                if name in ("mass", "density"):  # exclusive, as in UsdPhysics.MassAPI use
                    values.pop("density" if name == "mass" else "mass", None)
    return PhysicsSpec(**values)
