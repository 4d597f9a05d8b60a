"""The main job: sample FrameSpecs, render them, hand them to the writers, draw a contact sheet."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

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


def make_writers(recipe: Recipe, out: Path) -> list:
    """The recipe's writers: basic at the output root, the others in subfolders named after them."""
    from wearforge.writers import WRITERS

    info = {"recipe": recipe.name, "recipe_hash": recipe.content_hash(), "seed": recipe.seed}
    o = recipe.output
    writers = []
    for name in dict.fromkeys(o.writers):
        if name == "basic":
            writers.append(WRITERS[name](out, run_info=info))
        elif name == "coco":
            writers.append(WRITERS[name](out / "coco", o.coco.categories, tuple(o.coco.skip_classes), run_info=info))
        elif name == "yolo":
            writers.append(WRITERS[name](out / "yolo", o.yolo.task, o.yolo.objects, o.yolo.val_fraction,
                                         tuple(o.yolo.skip_classes), run_info=info))
        elif name == "webdataset":
            writers.append(WRITERS[name](out / "webdataset", o.webdataset.shard_size, run_info=info))
        elif name == "stream":
            import os

            from wearforge.recipe import is_local_endpoint

            secret = os.environ.get(o.stream.secret_env) or None
            if not is_local_endpoint(o.stream.endpoint):
                log.warning("the stream on %s accepts consumers from other machines%s", o.stream.endpoint,
                            "" if secret else f"; set {o.stream.secret_env} so only consumers with the secret are served")
            try:
                writers.append(WRITERS[name](o.stream.endpoint, o.stream.queue, o.stream.wait_timeout, secret=secret,
                                             heartbeat=o.stream.heartbeat))
            except Exception as exc:  # zmq.ZMQError: address in use, bad endpoint
                raise InputError(f"cannot bind {o.stream.endpoint}: {exc}", field="output.stream.endpoint") from None
    return writers


# files a writer derives from all its frames (rewritten at the end of a run), by writer name
_DERIVED = {"coco": ("instances.json",), "yolo": ("data.yaml",), "webdataset": ("shard-*.tar",)}


def check_resume(recipe: Recipe, out: Path) -> None:
    """Refuse to mix two recipes' frames in one folder (unless output.overwrite), clear it when asked."""
    from wearforge.writers import FileWriter

    folders = [out, out / "coco", out / "yolo", out / "webdataset"]
    found = {f: FileWriter.read_manifest(f) for f in folders if (f / "manifest.json").is_file()}
    other = {f: m for f, m in found.items() if m.get("recipe_hash") not in (None, recipe.content_hash())
             or m.get("seed") not in (None, recipe.seed)}
    if other and not recipe.output.overwrite:
        first = next(iter(other))
        raise InputError(f"{first} holds frames of another recipe or seed ({other[first].get('recipe')!r}); "
                         "use another --out or set output.overwrite=true", field="output.dir")
    if recipe.output.overwrite:
        for folder, manifest in found.items():
            # only what the manifest's writer produces, and only in that writer's own folder
            writer = manifest.get("writer")
            (folder / "manifest.json").unlink()
            if folder == out / str(writer):
                for pattern in _DERIVED.get(writer, ()):
                    for path in folder.glob(pattern):
                        path.unlink()


def generate(recipe: Recipe, progress=None) -> GenerateResult:
    """Render ``recipe.frames`` frames into ``recipe.output.dir``. ``progress(i, n)`` is called per frame."""
    from wearforge.contact_sheet import contact_sheet
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_twin, read_scene
    from wearforge.writers import to_annotator_layout

    out = prepare_output(Path(recipe.output.dir))
    check_resume(recipe, out)
    stage = open_twin(recipe)
    from wearforge.usd_checks import check_parts, check_twin

    check_twin(stage, str(recipe.usd_path()))  # the checks validate runs
    scene = read_scene(recipe, stage)
    check_parts([p.path for p in scene.parts], str(recipe.usd_path()))
    renderer = StandaloneRenderer(stage, variant=recipe.render.variant, max_depth=recipe.render.max_depth,
                                  exposure=recipe.render.exposure)
    log.info("rendering with Mitsuba variant %s", renderer.variant)
    from wearforge.writers import FileWriter

    try:
        writers = make_writers(recipe, out)
    except (ValueError, TypeError, KeyError, AttributeError, yaml.YAMLError) as exc:  # corrupt instances.json / data.yaml
        raise InputError(f"cannot resume in {out}: a writer's files are unreadable ({type(exc).__name__}: "
                         f"{str(exc)[:120]}); use another --out or set output.overwrite=true", field="output.dir") from None
    # file writers remember what they wrote; a live stream takes every frame rendered in this run
    have = [w.completed() if isinstance(w, FileWriter) else set() for w in writers]
    tracked = [h for w, h in zip(writers, have) if isinstance(w, FileWriter)]
    done = set.intersection(*tracked) if tracked else set()
    todo = [i for i in range(recipe.frames) if i not in done]
    if done:
        log.info("resuming: %d of %d frames are already written", recipe.frames - len(todo), recipe.frames)
    keep = recipe.output.contact_sheet
    sheet_frames: list[dict] = []
    totals: dict[str, float] = {}
    start = time.perf_counter()
    if progress:  # a resumed run's bar starts at the frames already there
        progress(recipe.frames - len(todo), recipe.frames)
    stop = _StopAtFrameBoundary()
    try:
        for n, i in enumerate(todo):
            stop.check()
            spec = sample_frame(recipe, recipe.seed, i, scene)
            if recipe.randomizers.settle is not None:
                from wearforge.physics.settle import settle_frame

                spec = settle_frame(stage, spec, recipe.randomizers.settle)
            data = renderer.render(spec)
            for key, value in data.pop("timing").items():
                totals[key] = totals.get(key, 0.0) + value
            t0 = time.perf_counter()
            payload = to_annotator_layout(data, i)
            for writer, already in zip(writers, have):
                if i not in already:  # a writer that has the frame keeps it: no duplicates on resume
                    writer.write(payload)
            totals["write"] = totals.get("write", 0.0) + time.perf_counter() - t0
            if len(sheet_frames) < keep:
                sheet_frames.append(data)
            if progress:
                progress(recipe.frames - len(todo) + n + 1, recipe.frames)
    finally:
        stop.restore()
        for writer in writers:
            writer.on_final_frame()
        stage.GetSessionLayer().Clear()
    sheet = contact_sheet(sheet_frames, out / "contact_sheet.png") if sheet_frames else None
    return GenerateResult(out, len(todo), time.perf_counter() - start, sheet, renderer.variant, totals)


class _StopAtFrameBoundary:
    """Ctrl-C ends the run after the frame in flight: inside Mitsuba a KeyboardInterrupt surfaces as a
    RuntimeError. A second Ctrl-C stops at once."""

    def __init__(self):
        import signal
        import threading

        self.requested = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("interrupt: stopping after this frame (Ctrl-C again to stop now)")

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self._previous is not None:
            import signal

            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
