"""Lights: those the recipe creates (complete values), per-frame changes to any light, and lights
created per frame (count, type, placement, dome images)."""

from __future__ import annotations

from wearforge.framespec import LightSpec
from wearforge.randomizers.orbit import sample_orbit
from wearforge.recipe import LightRandomizer, Recipe, dome_images, path_match, resolve_file
from wearforge.seeding import Sampler

CREATED_LIGHTS = "/wearforge/Lights"
FIELDS = ("intensity", "exposure", "color_temperature", "color", "position")
SHAPE = ("radius", "width", "height")


def sample_lights(recipe: Recipe, scene, sampler: Sampler) -> list[LightSpec]:
    specs: dict[str, dict] = {}
    by_name: dict[str, str] = {}
    for light in recipe.lights:
        path = f"{CREATED_LIGHTS}/{light.name}"
        by_name[light.name] = path
        values = light.model_dump(exclude={"name", "type"})
        if light.texture:
            values["texture"] = str(resolve_file(light.texture, recipe.base_dir))
        if light.type == "dome":
            values.pop("position")
            values.pop("look_at")
        specs[path] = {"create": light.type, **values}
    for i, entry in enumerate(recipe.randomizers.lights):
        if entry.light is None:
            specs.update(_new_lights(recipe, scene, sampler, i, entry))
            continue
        targets = [by_name[entry.light]] if entry.light in by_name else sorted(
            p for p in scene.lights if path_match(entry.light, p))
        for path in targets:
            spec = specs.setdefault(path, {})
            _draw(spec, entry, f"lights/{i}", path, recipe, scene, sampler)
    return [LightSpec(path=path, **values) for path, values in specs.items()]


def _draw(spec: dict, entry: LightRandomizer, key: str, path: str, recipe: Recipe, scene, sampler: Sampler) -> None:
    for name in FIELDS + SHAPE + ("look_at",):
        value = sampler.draw(f"{key}/{name}:{path}", getattr(entry, name))
        if value is not None:
            spec[name] = value
    if entry.orbit is not None:
        spec["position"], spec["look_at"] = sample_orbit(entry.orbit, f"{key}/orbit:{path}", sampler, scene.up)
    if entry.texture is not None:
        spec["texture"] = str(resolve_file(sampler.draw(f"{key}/texture:{path}", entry.texture), recipe.base_dir))
    elif entry.texture_folder is not None:
        images = dome_images(resolve_file(entry.texture_folder, recipe.base_dir))
        spec["texture"] = str(images[int(sampler.rng(f"{key}/texture:{path}").integers(len(images)))])


def _new_lights(recipe: Recipe, scene, sampler: Sampler, i: int, entry: LightRandomizer) -> dict[str, dict]:
    count = 1 if entry.count is None else max(0, int(round(sampler.draw(f"lights/{i}/count", entry.count))))
    out = {}
    for k in range(count):
        path = f"{CREATED_LIGHTS}/random_{i}_{k}"
        spec: dict = {"create": sampler.draw(f"lights/{i}/type:{k}", entry.type), "intensity": 1.0}
        _draw(spec, entry, f"lights/{i}", path, recipe, scene, sampler)
        if spec["create"] != "dome" and "position" in spec and "look_at" not in spec:
            spec["look_at"] = [0.0, 0.0, 0.0]
        if spec["create"] == "dome":
            spec.pop("position", None)
            spec.pop("look_at", None)
        out[path] = spec
    return out
