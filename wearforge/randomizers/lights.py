"""Lights: those the recipe creates (complete values) and per-frame changes to any light."""

from __future__ import annotations


from wearforge.framespec import LightSpec
from wearforge.randomizers.orbit import sample_orbit
from wearforge.recipe import Recipe, path_match
from wearforge.seeding import Sampler

CREATED_LIGHTS = "/wearforge/Lights"
FIELDS = ("intensity", "exposure", "color_temperature", "color", "position")


def sample_lights(recipe: Recipe, scene, sampler: Sampler) -> list[LightSpec]:
    specs: dict[str, dict] = {}
    by_name: dict[str, str] = {}
    for light in recipe.lights:
        path = f"{CREATED_LIGHTS}/{light.name}"
        by_name[light.name] = path
        values = light.model_dump(exclude={"name", "type"})
        if light.texture:
            values["texture"] = str(recipe.resolve(light.texture))
        if light.type in ("distant", "dome"):
            values.pop("position")
            values.pop("look_at") if light.type == "dome" else None
            if light.type == "distant":  # a distant light only has a direction: aim from position to look_at
                values["position"] = list(light.position)
        specs[path] = {"create": light.type, **values}
    for i, entry in enumerate(recipe.randomizers.lights):
        targets = [by_name[entry.light]] if entry.light in by_name else sorted(
            p for p in scene.lights if path_match(entry.light, p))
        for path in targets:
            spec = specs.setdefault(path, {})
            key = f"lights/{i}"
            for name in FIELDS:
                value = sampler.draw(f"{key}/{name}:{path}", getattr(entry, name))
                if value is not None:
                    spec[name] = value
            if entry.orbit is not None:
                spec["position"], spec["look_at"] = sample_orbit(entry.orbit, f"{key}/orbit:{path}", sampler, scene.up)
    return [LightSpec(path=path, **values) for path, values in specs.items()]
