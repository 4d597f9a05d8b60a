"""Clean material per part: preset from the library, then per-input distributions on top."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from wearforge.framespec import MaterialSpec
from wearforge.recipe import ASSETS_DIR, MaterialRandomizer, matches
from wearforge.seeding import Sampler

LIBRARY = ASSETS_DIR / "materials.yaml"
FIELDS = ("base_color", "metallic", "roughness", "ior", "clearcoat", "clearcoat_roughness")


@lru_cache(maxsize=4)
def library(path: Path = LIBRARY) -> dict[str, dict]:
    """Named clean materials (UsdPreviewSurface-style values)."""
    return yaml.safe_load(path.read_text())["materials"]


def sample_material(entries: list[MaterialRandomizer], path: str, semantic_class: str, sampler: Sampler) -> MaterialSpec:
    values: dict = {}
    preset = None
    for i, entry in enumerate(entries):
        if not matches(entry.parts, path, semantic_class):
            continue
        key = f"materials/{i}"
        if entry.preset is not None:
            preset = sampler.draw(f"{key}/preset:{path}", entry.preset)
            values.update(library()[preset])
        if entry.finish is not None:
            values["finish"] = sampler.draw(f"{key}/finish:{path}", entry.finish)
            values.pop("finish_params", None)
        for name in FIELDS:
            value = sampler.draw(f"{key}/{name}:{path}", getattr(entry, name))
            if value is not None:
                values[name] = value
    if values.get("finish") == "none":
        values.pop("finish")
        values.pop("finish_params", None)
    if values.get("finish"):
        values["finish_seed"] = sampler.seed_for(f"materials/finish_seed:{path}")
    return MaterialSpec(preset=preset, **values)
