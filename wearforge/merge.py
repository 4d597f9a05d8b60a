"""``wearforge merge OUT``: rebuild a dataset's derived files from its committed shards.

Derived files (COCO instances.json, YOLO data.yaml, WebDataset tars, the contact sheet and every
manifest.json) are functions of the committed shard records, so merging is idempotent and gives the same
bytes whoever rendered the shards: a local run, Ray tasks or a Slurm array (then run it once at the end).
"""

from __future__ import annotations

from pathlib import Path

from wearforge.errors import InputError
from wearforge.recipe import Recipe


def recipe_settings(recipe: Recipe) -> dict[str, dict]:
    """What the recipe says about assembling each file writer's derived files."""
    o = recipe.output
    return {"basic": {}, "coco": {}, "yolo": {"task": o.yolo.task},
            "webdataset": {"shard_size": o.webdataset.shard_size}, "contact_sheet": {"count": o.contact_sheet}}


def writer_classes() -> dict[str, type]:
    from wearforge.contact_sheet import ContactSheetWriter
    from wearforge.writers import WRITERS

    return {"basic": WRITERS["basic"], "contact_sheet": ContactSheetWriter, "coco": WRITERS["coco"],
            "yolo": WRITERS["yolo"], "webdataset": WRITERS["webdataset"]}


def merge(out: Path, recipe: Recipe | None = None) -> dict[str, list[int]]:
    """Assemble every file writer with committed shards in ``out``; returns writer -> frames it now holds.

    With ``recipe``, its output options and run info are used; otherwise those recorded in the shards.
    """
    from wearforge.generate import FILE_WRITERS, run_info
    from wearforge.writers.base import remove_stale_temporaries, read_records

    out = Path(out)
    if not out.is_dir():
        raise InputError(f"{out} is not a directory", field="OUT")
    records = {name: read_records(out / sub, name) for name, sub in FILE_WRITERS.items()}
    runs: dict[tuple, str] = {}
    for name, shards in records.items():
        for shard, record in shards.items():
            runs.setdefault((record.get("recipe_hash"), record.get("seed")),
                            f"{name} shard {shard} ({record.get('recipe')!r}, seed {record.get('seed')})")
    if recipe is not None:
        runs.setdefault((recipe.content_hash(), recipe.seed), f"recipe {recipe.name!r}, seed {recipe.seed}")
    if len(runs) > 1:
        a, b = list(runs.values())[:2]
        raise InputError(f"{out} holds shards of different recipes or seeds: {a} and {b}; each run needs its own "
                         "folder", field="OUT")
    if not any(records.values()):
        if recipe is not None:
            return {}
        raise InputError(f"{out} holds no committed shards (nothing to merge); run wearforge generate first",
                         field="OUT")
    remove_stale_temporaries(out)
    settings = recipe_settings(recipe) if recipe is not None else {}
    used = set(recipe.output.writers) | {"contact_sheet"} if recipe is not None else set()
    info = run_info(recipe) if recipe is not None else None
    merged = {}
    for name, cls in writer_classes().items():
        if records[name]:
            mine = name in used
            merged[name] = cls.assemble(out / FILE_WRITERS[name], settings.get(name) if mine else None,
                                        info if mine else None)
    return merged
