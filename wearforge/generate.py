"""The main job: sample FrameSpecs, render them, hand them to the writers, draw a contact sheet."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from wearforge.errors import InputError
from wearforge.recipe import Recipe

log = logging.getLogger("wearforge")


@dataclass
class GenerateResult:
    output_dir: Path
    frames: int
    seconds: float
    contact_sheet: Path | None = None
    variant: str = ""
    timing: dict[str, float] = field(default_factory=dict)


def prepare_output(path: Path) -> Path:
    """Create the output directory or fail with a message naming it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot create output directory {path}: {exc.strerror or exc}", field="output.dir") from None
    if not path.is_dir():
        raise InputError(f"{path} exists and is not a directory", field="output.dir")
    probe = path / ".wearforge-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"output directory {path} is not writable: {exc.strerror}", field="output.dir") from None
    return path


def generate(recipe: Recipe, progress=None) -> GenerateResult:
    """Render ``recipe.frames`` frames into ``recipe.output.dir``. ``progress(i, n)`` is called per frame."""
    from wearforge.contact_sheet import contact_sheet
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene
    from wearforge.writers import WRITERS, to_annotator_layout

    out = prepare_output(Path(recipe.output.dir))
    stage = open_stage(recipe.usd_path())
    scene = read_scene(recipe, stage)
    renderer = StandaloneRenderer(stage, variant=recipe.render.variant, max_depth=recipe.render.max_depth,
                                  exposure=recipe.render.exposure)
    log.info("rendering with Mitsuba variant %s", renderer.variant)
    writers = [WRITERS[name](out) for name in recipe.output.writers]
    keep = recipe.output.contact_sheet
    sheet_frames: list[dict] = []
    totals: dict[str, float] = {}
    start = time.perf_counter()
    try:
        for i in range(recipe.frames):
            spec = sample_frame(recipe, recipe.seed, i, scene)
            data = renderer.render(spec)
            for key, value in data.pop("timing").items():
                totals[key] = totals.get(key, 0.0) + value
            t0 = time.perf_counter()
            payload = to_annotator_layout(data, i)
            for writer in writers:
                writer.write(payload)
            totals["write"] = totals.get("write", 0.0) + time.perf_counter() - t0
            if len(sheet_frames) < keep:
                sheet_frames.append(data)
            if progress:
                progress(i + 1, recipe.frames)
    finally:
        for writer in writers:
            writer.on_final_frame()
        stage.GetSessionLayer().Clear()
    sheet = contact_sheet(sheet_frames, out / "contact_sheet.png") if sheet_frames else None
    return GenerateResult(out, recipe.frames, time.perf_counter() - start, sheet, renderer.variant, totals)
