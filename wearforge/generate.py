"""The main job: split the frames into shards, render the shards (here, on local worker processes or on Ray),
commit each shard atomically, then assemble the derived files from the committed shards (``merge``).

A shard is ``output.shard_frames`` consecutive frame indices. Every frame is a pure function of (recipe,
seed, index), every per-frame file is named by its index, and derived files are rebuilt from committed
shards only, so the dataset's bytes do not depend on the worker count, the scheduler or interruptions.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from wearforge.errors import InputError
from wearforge.recipe import Recipe

log = logging.getLogger("wearforge")

# file writers: name -> subfolder of the output directory
FILE_WRITERS = {"basic": "", "contact_sheet": "", "coco": "coco", "yolo": "yolo", "webdataset": "webdataset"}


class RunError(Exception):
    """A run that failed after it started (a frame, a shard or a worker); committed shards stay valid."""


@dataclass
class GenerateResult:
    output_dir: Path
    frames: int
    seconds: float
    contact_sheet: Path | None = None
    variant: str = ""
    timing: dict[str, float] = field(default_factory=dict)
    shards: int = 0
    workers: int = 1
    merged: bool = True
    targets: list[dict] | None = None  # per-target achieved counts and shortfall (recipes with targets)


@dataclass(frozen=True)
class ShardJob:
    """Frames of one shard still to render, and for each frame the file writers that lack it."""

    shard: int
    frames: tuple[int, ...]
    writers: dict[int, tuple[str, ...]]


def prepare_output(path: Path) -> Path:
    """Create the output directory or fail with a message naming it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot create output directory {path}: {exc.strerror or exc}", field="output.dir") from None
    if not path.is_dir():
        raise InputError(f"{path} exists and is not a directory", field="output.dir")
    # unique per host and process: the tasks of an array job probe the same folder at the same moment
    probe = path / f".wearforge-write-test-{socket.gethostname()}-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"output directory {path} is not writable: {exc.strerror}", field="output.dir") from None
    return path


def run_info(recipe: Recipe) -> dict:
    return {"recipe": recipe.name, "recipe_hash": recipe.content_hash(), "seed": recipe.seed}


def file_writer_names(recipe: Recipe) -> list[str]:
    """The recipe's file writers, the contact sheet included when it has frames."""
    names = [n for n in dict.fromkeys(recipe.output.writers) if n in FILE_WRITERS]
    if recipe.output.contact_sheet:
        names.append("contact_sheet")
    return names


def make_writers(recipe: Recipe, out: Path, stream: bool = True) -> list:
    """The recipe's writers: basic at the output root, the others in subfolders named after them."""
    from wearforge.contact_sheet import ContactSheetWriter
    from wearforge.writers import WRITERS

    info = run_info(recipe)
    o = recipe.output
    common = {"run_info": info, "shard_frames": o.shard_frames}
    writers = []
    for name in dict.fromkeys(o.writers):
        if name == "basic":
            writers.append(WRITERS[name](out, **common))
        elif name == "coco":
            writers.append(WRITERS[name](out / "coco", o.coco.categories, tuple(o.coco.skip_classes), **common))
        elif name == "yolo":
            writers.append(WRITERS[name](out / "yolo", o.yolo.task, o.yolo.objects, o.yolo.val_fraction,
                                         tuple(o.yolo.skip_classes), **common))
        elif name == "webdataset":
            writers.append(WRITERS[name](out / "webdataset", o.webdataset.shard_size, **common))
        elif name == "stream" and stream:
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
    if o.contact_sheet:
        writers.append(ContactSheetWriter(out, o.contact_sheet, **common))
    return writers


# files a writer derives from all its frames (rewritten at the end of a run), by writer name
_DERIVED = {"coco": ("instances.json",), "yolo": ("data.yaml",), "webdataset": ("shard-*.tar",),
            "contact_sheet": ("contact_sheet.png",)}


def check_resume(recipe: Recipe, out: Path) -> None:
    """Refuse to mix two recipes' frames (or two shard sizes) in one folder unless output.overwrite; clear it then."""
    from wearforge.writers import FileWriter
    from wearforge.writers.base import SHARDS_DIR, read_records

    folders = {out / sub for sub in FILE_WRITERS.values()}
    found = {f: FileWriter.read_manifest(f) for f in folders if (f / "manifest.json").is_file()}
    records = {(out / sub, name): read_records(out / sub, name) for name, sub in FILE_WRITERS.items()}
    for (folder, name), shards in records.items():
        for shard, record in shards.items():
            found.setdefault(folder / SHARDS_DIR / f"{name}-{shard:06d}.json", record)
    other = {f: m for f, m in found.items() if m.get("recipe_hash") not in (None, recipe.content_hash())
             or m.get("seed") not in (None, recipe.seed)}
    if other and not recipe.output.overwrite:
        first = next(iter(sorted(other)))
        raise InputError(f"{first} holds frames of another recipe or seed ({other[first].get('recipe')!r}); "
                         "use another --out or set output.overwrite=true", field="output.dir")
    if recipe.output.overwrite:
        claimed = _claimed(out, records)
        for folder in {f for f, _ in claimed}:
            (folder / "manifest.json").unlink(missing_ok=True)
        for folder, name in claimed:
            # only what wearforge wrote: each writer's derived files in its own folder, and its shard records
            for pattern in _DERIVED.get(name, ()):
                for path in folder.glob(pattern):
                    path.unlink()
            for path in (folder / SHARDS_DIR).glob(f"{name}-[0-9]*.*"):
                path.unlink()
        return
    claimed = _claimed(out, records)
    for name in file_writer_names(recipe):
        folder = out / FILE_WRITERS[name]
        foreign = [p for pattern in _DERIVED.get(name, ()) for p in sorted(folder.glob(pattern))
                   if (folder, name) not in claimed]
        if foreign:  # rebuilding it would destroy a file that no manifest or shard record says wearforge wrote
            raise InputError(f"cannot write into {out}: {foreign[0]} was not written by wearforge (no manifest or shard "
                             "record claims it); use another --out or move the file away", field="output.dir")
    sizes = {r.get("shard_frames") for shards in records.values() for r in shards.values()} - {None}
    if sizes - {recipe.output.shard_frames}:
        raise InputError(f"{out} holds shards of {sorted(sizes)[0]} frames, the recipe asks for "
                         f"{recipe.output.shard_frames}; keep the folder's value or set output.overwrite=true",
                         field="output.shard_frames")


def _claimed(out: Path, records: dict) -> set[tuple[Path, str]]:
    """(folder, writer) pairs that a manifest or shard records say wearforge wrote."""
    from wearforge.writers import FileWriter

    claimed = {(folder, name) for (folder, name), shards in records.items() if shards}
    for name, sub in FILE_WRITERS.items():
        manifest = FileWriter.read_manifest(out / sub)
        if manifest.get("writer") == name:
            claimed.add((out / sub, name))
    return claimed


def refuse_empty_scene(recipe: Recipe, scene, meshes: list):
    """Refuse a recipe that would label nothing (InputError, exit 2); returns the tally for the frames."""
    from wearforge.twin_reader import assign_parts
    from wearforge.twin_report import RunTally, check_scene

    assign_parts(meshes, {p.path: p.semantic_class for p in scene.parts})
    check_scene(recipe, scene, meshes)
    return RunTally()


def parse_shard_spec(spec: str) -> tuple[int, int]:
    """'K/N' -> (K, N) with 0 <= K < N (a Slurm array task passes $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)."""
    try:
        k, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise InputError(f"expected K/N (e.g. 0/4), got {spec!r}", field="--shards") from None
    if n < 1 or not 0 <= k < n:
        raise InputError(f"{spec!r}: K must be in 0..N-1 and N >= 1", field="--shards")
    return k, n


def shard_count(recipe: Recipe) -> int:
    return -(-recipe.frames // recipe.output.shard_frames)


def plan(recipe: Recipe, out: Path, select: tuple[int, int] | None = None) -> list[ShardJob]:
    """The shards with frames some file writer still lacks (all of them with no file writer)."""
    from wearforge.writers.base import read_records

    size = recipe.output.shard_frames
    names = file_writer_names(recipe)
    have = {n: {int(i) for r in read_records(out / FILE_WRITERS[n], n).values() for i in r.get("frames", [])}
            for n in names}
    shards = range(shard_count(recipe))
    if select is not None:
        k, n = select
        shards = [s for s in shards if s % n == k]
        if not shards:
            raise InputError(f"{k}/{n} selects no shard: the run has {shard_count(recipe)} shards of "
                             f"{size} frames (output.shard_frames); use at most that many tasks", field="--shards")
    jobs = []
    for s in shards:
        need: dict[int, tuple[str, ...]] = {}
        for i in range(s * size, min((s + 1) * size, recipe.frames)):
            lacking = tuple(n for n in names if i not in have[n] and (n != "contact_sheet" or i < recipe.output.contact_sheet))
            if lacking or not names:
                need[i] = lacking
        if need:
            jobs.append(ShardJob(s, tuple(need), need))
    return jobs


class ShardRunner:
    """One worker: opens the twin, builds the renderer and the writers once, then renders shard after shard."""

    def __init__(self, recipe: Recipe, out: Path, worker: int = 0, stream: bool = False):
        from wearforge.render.frame import StandaloneRenderer
        from wearforge.stage import open_twin, read_scene
        from wearforge.writers import FileWriter

        from wearforge.usd_checks import check_twin

        self.recipe, self.worker = recipe, worker
        self.stage = open_twin(recipe)
        check_twin(self.stage, str(recipe.usd_path()))  # the checks validate runs
        self.scene = read_scene(recipe, self.stage)
        self.renderer = StandaloneRenderer.for_recipe(recipe, self.stage)
        self.tally = refuse_empty_scene(recipe, self.scene, self.renderer.meshes)
        self.writers = make_writers(recipe, out, stream=stream)
        self.files = {w.name: w for w in self.writers if isinstance(w, FileWriter)}
        self.live = [w for w in self.writers if not isinstance(w, FileWriter)]
        if recipe.render.overlap_wear:  # the next frame's wear grows while this one renders
            from wearforge.render.overlap import WearLookahead

            self.renderer.lookahead = WearLookahead(self.renderer.wear)

    @property
    def variant(self) -> str:
        return self.renderer.variant

    def run(self, job: ShardJob, on_frame: Callable[[int], None] | None = None,
            stop: Callable[[], bool] | None = None) -> dict[str, float]:
        """Render the job's frames, hand them to the writers that lack them, commit the shard; returns timings.

        ``stop()`` true before a frame: commit the frames done so far and raise KeyboardInterrupt.
        """
        from wearforge.writers import to_annotator_layout

        totals: dict[str, float] = {}
        before = self.tally.counts()
        upcoming = None
        for n, i in enumerate(job.frames):
            if stop is not None and stop():
                for writer in self.files.values():
                    writer.commit()  # what is written stays committed: a rerun resumes after it
                raise KeyboardInterrupt
            try:
                spec = upcoming if upcoming is not None else self._spec(i)
                upcoming = None
                if self.renderer.lookahead is not None and n + 1 < len(job.frames):
                    try:  # the next frame's wear grows while this one renders
                        upcoming = self._spec(job.frames[n + 1])
                    except Exception:  # noqa: BLE001 - raised again, naming its own frame, when that frame comes
                        upcoming = None
                data = self.renderer.render(spec, upcoming)
                for key, value in data.pop("timing").items():
                    totals[key] = totals.get(key, 0.0) + value
                t0 = time.perf_counter()
                self.tally.add(data)
                payload = to_annotator_layout(data, i)
                for name in job.writers[i]:
                    self.files[name].write(payload)
                for writer in self.live:
                    writer.write(payload)
                totals["write"] = totals.get("write", 0.0) + time.perf_counter() - t0
            except (InputError, KeyboardInterrupt):
                raise
            except Exception as exc:
                log.debug("frame %d failed", i, exc_info=True)
                raise RunError(f"frame {i} (shard {job.shard}) failed on worker {self.worker}: "
                               f"{type(exc).__name__}: {exc}") from None
            if on_frame:
                on_frame(i)
        try:
            for name in dict.fromkeys(n for i in job.frames for n in job.writers[i]):
                self.files[name].commit()
        except Exception as exc:
            log.debug("shard %d failed", job.shard, exc_info=True)
            raise RunError(f"shard {job.shard} could not be written on worker {self.worker}: "
                           f"{type(exc).__name__}: {exc}") from None
        # the tally travels with the timings so it adds up over workers and Ray actors alike
        totals.update({k: v - before[k] for k, v in self.tally.counts().items()})
        return totals

    def _spec(self, index: int):
        """Frame ``index``'s FrameSpec (settled when the recipe asks for it)."""
        from wearforge.scenario import sample_frame

        spec = sample_frame(self.recipe, self.recipe.seed, index, self.scene)
        if self.recipe.randomizers.settle is not None:
            from wearforge.physics.settle import settle_frame

            if self.renderer.lookahead is not None:
                self.renderer.lookahead.wait()  # settling runs Warp too: one thread at a time
            spec = settle_frame(self.stage, spec, self.recipe.randomizers.settle)
        return spec

    def close(self) -> None:
        from wearforge.writers import FileWriter

        if self.renderer.lookahead is not None:
            self.renderer.lookahead.close()
        try:
            for writer in self.writers:
                writer.close() if isinstance(writer, FileWriter) else writer.on_final_frame()
        finally:
            from wearforge.stage import release_frame_layer

            release_frame_layer(self.stage)


def default_workers() -> tuple[int, str]:
    """(worker count, why): one per NVIDIA GPU, else one per two cores (each worker's Mitsuba gets two threads)."""
    import glob

    gpus = len(glob.glob("/dev/nvidia[0-9]*"))
    if gpus:
        return gpus, f"one per GPU ({gpus})"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = max(1, cores // 2)
    return n, f"{n} on {cores} CPU cores: each worker's Mitsuba gets {max(1, cores // n)} threads"


def mitsuba_threads(workers: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // workers)


# ------------------------------------------------------------------------------------------- local workers
def _worker_main(worker: int, conn, recipe: Recipe, out: Path, threads: int) -> None:
    """A worker process: build a ShardRunner once, then render the shards the parent sends until None."""
    try:
        import drjit

        drjit.set_thread_count(threads)  # workers share the cores instead of each taking all of them
        runner = ShardRunner(recipe, out, worker)
        conn.send(("ready", None))
        while (job := conn.recv()) is not None:
            conn.send(("start", job.shard))
            timing = runner.run(job, lambda i: conn.send(("frame", i)))
            conn.send(("done", (job.shard, timing, runner.variant)))
        runner.close()
    except InputError as exc:
        conn.send(("input", str(exc)))
    except RunError as exc:
        conn.send(("error", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which prints one message
        conn.send(("error", f"worker {worker} failed: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _run_local(recipe: Recipe, out: Path, jobs: list[ShardJob], workers: int, frame_done: Callable[[int], None]):
    """Shards on ``workers`` spawned processes, one shard at a time each; returns (timings, variant).

    Each worker talks to the parent over its own pipe, so a worker killed at any moment (even with -9)
    cannot leave a shared queue locked: the others carry on, only the shard it was rendering is lost.
    A frame that fails stops the handing out of shards; shards already running finish and commit.
    """
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("spawn")  # fork would copy Mitsuba's and Warp's threads and device state
    pending = list(jobs)
    procs, conns = {}, {}
    for w in range(1, min(workers, len(jobs)) + 1):
        parent_end, child_end = ctx.Pipe()
        procs[w] = ctx.Process(target=_worker_main, args=(w, child_end, recipe, out, mitsuba_threads(workers)),
                               name=f"wearforge-worker-{w}", daemon=True)
        procs[w].start()
        child_end.close()
        conns[w] = parent_end
    current: dict[int, int] = {}
    lost: list[tuple[int, int | None, int | None]] = []
    errors: list[tuple[str, str]] = []
    totals: dict[str, float] = {}
    variant = ""

    def dispatch(w: int) -> None:
        conns[w].send(pending.pop(0) if pending and not errors else None)

    alive = set(procs)
    try:
        while alive:
            wait([conns[w] for w in alive] + [procs[w].sentinel for w in alive])
            for w in sorted(alive):
                dead = False
                try:
                    while conns[w].poll():
                        kind, value = conns[w].recv()
                        if kind == "ready":
                            dispatch(w)
                        elif kind == "start":
                            current[w] = value
                        elif kind == "frame":
                            frame_done(value)
                        elif kind == "done":
                            current.pop(w, None)
                            variant = value[2]
                            for k, v in value[1].items():
                                totals[k] = totals.get(k, 0.0) + v
                            dispatch(w)
                        else:  # "error" / "input": that shard is not committed
                            current.pop(w, None)
                            errors.append((kind, value))
                except (EOFError, OSError):
                    dead = True
                if dead or not procs[w].is_alive():
                    procs[w].join()
                    alive.discard(w)
                    if w in current or procs[w].exitcode not in (0, None):
                        lost.append((w, current.pop(w, None), procs[w].exitcode))
    finally:
        for w, proc in procs.items():
            if proc.is_alive():
                proc.terminate()
            proc.join()
    if errors:
        kind, message = errors[0]
        raise (InputError(message) if kind == "input" else RunError(message))
    if lost:
        shards = sorted({s for _, s, _ in lost if s is not None} | {j.shard for j in pending})
        w, _, code = lost[0]
        how = f"signal {-code}" if code and code < 0 else f"exit status {code}"
        lost_text = f"shards {_ranges(shards)} are not committed, every other shard is" if shards else \
            "no shard was lost"
        raise RunError(f"worker process {w} died ({how}; killed or out of memory); {lost_text}: run the same "
                       "command again to finish")
    return totals, variant


def _ranges(values: list[int]) -> str:
    return ", ".join(str(v) for v in values[:8]) + (" ..." if len(values) > 8 else "")


# ------------------------------------------------------------------------------------------- the run
def generate(recipe: Recipe, progress=None, workers: int = 1, shards: tuple[int, int] | None = None,
             ray_address: str | None = None) -> GenerateResult:
    """Render ``recipe.frames`` frames into ``recipe.output.dir``; ``progress(done, total)`` per frame.

    ``workers`` local processes (1: in this process), or Ray tasks at ``ray_address``; ``shards=(K, N)``
    renders only the shards with index % N == K and leaves the merge to ``wearforge merge``.
    """
    from wearforge.merge import merge

    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}", field="--workers")
    if workers > 1 and "stream" in recipe.output.writers:
        raise InputError("the live stream needs all frames in one process: use --workers 1 or drop the stream "
                         "writer", field="output.writers")
    if recipe.targets.instances and "basic" not in recipe.output.writers:
        raise InputError("targets are counted on the BasicWriter files: add 'basic' to output.writers",
                         field="targets")
    if shards is not None and recipe.output.overwrite:
        raise InputError("output.overwrite with --shards would let each task delete the others' shards; clear the "
                         "folder once before submitting the tasks", field="output.overwrite")
    out = prepare_output(Path(recipe.output.dir))
    check_resume(recipe, out)
    if shards is None:
        # no other process writes here now (array tasks pass --shards): a killed run's temporaries can go
        from wearforge.writers.base import remove_stale_temporaries

        if removed := remove_stale_temporaries(out):
            log.info("removed %d temporary files of an interrupted run", removed)
    jobs = plan(recipe, out, shards)
    todo = sum(len(j.frames) for j in jobs)
    total = recipe.frames if shards is None else sum(
        min((s + 1) * recipe.output.shard_frames, recipe.frames) - s * recipe.output.shard_frames
        for s in range(shard_count(recipe)) if s % shards[1] == shards[0])
    if todo < total:
        log.info("resuming: %d of %d frames are already written", total - todo, total)
    lock = threading.Lock()
    done = [total - todo]

    def frame_done(_i: int) -> None:
        with lock:
            done[0] += 1
            if progress:
                progress(done[0], total)

    if progress:
        progress(done[0], total)
    start = time.perf_counter()
    totals: dict[str, float] = {}
    variant = ""
    used = 1
    failed: RunError | None = None
    try:
        if not jobs:
            log.info("nothing to render: every frame is committed")
        elif ray_address is not None:
            from wearforge.ray_runner import run_ray

            totals, variant, used = run_ray(recipe, out, jobs, ray_address, workers, frame_done)
        elif workers == 1 or len(jobs) <= 1:
            runner = ShardRunner(recipe, out, stream=True)
            variant = runner.variant
            stop = _StopAtFrameBoundary()
            try:
                for job in jobs:
                    for k, v in runner.run(job, frame_done, lambda: stop.requested).items():
                        totals[k] = totals.get(k, 0.0) + v
            finally:
                stop.restore()
                runner.close()
            log.info("rendered with Mitsuba variant %s", variant)
        else:
            used = min(workers, len(jobs))
            totals, variant = _run_local(recipe, out, jobs, workers, frame_done)
    except RunError as exc:
        failed = exc
    targets = None
    if recipe.targets.instances and shards is None and failed is None:
        try:
            targets, extra, extra_totals = meet_targets(recipe, out, frame_done)
        except RunError as exc:
            failed, extra, extra_totals = exc, 0, {}
        todo += extra
        for k, v in extra_totals.items():
            totals[k] = totals.get(k, 0.0) + v
    seconds = time.perf_counter() - start
    sheet = None
    if shards is None:
        merge(out, recipe)
        if (out / "contact_sheet.png").is_file() and recipe.output.contact_sheet:
            sheet = out / "contact_sheet.png"
    if failed is not None:
        raise failed
    from wearforge.twin_report import RunTally

    tally = RunTally.from_counts({k: totals.pop(k) for k in list(totals) if k.startswith(RunTally.PREFIX)})
    tally.verdict(recipe)  # after the files: what was made stays there to be looked at
    return GenerateResult(out, todo, seconds, sheet, variant, totals, len(jobs), used, shards is None, targets)


def meet_targets(recipe: Recipe, out: Path, frame_done: Callable[[int], None]):
    """Count the recipe's targets on the committed frames, then render extra frames until they are met.

    Runs after the regular shards, in this process: which extra frame comes next depends on what the
    previous ones contained (``wearforge.targets``), and it is the same choice on every machine and on a
    resumed run, where extra frames already committed are read back instead of rendered.
    Returns (target summary, extra frames rendered, their timings).
    """
    from wearforge.stage import scene_for
    from wearforge.targets import TargetCounter, oversample
    from wearforge.writers.base import shard_of

    counter = TargetCounter(list(recipe.targets.instances))
    for i in range(recipe.frames):
        counter.add(_instances_on_disk(out, i))
    names = tuple(n for n in file_writer_names(recipe) if n != "contact_sheet")
    runner: ShardRunner | None = None
    rendered, totals = 0, {}

    def render(index: int) -> list:
        nonlocal runner, rendered
        if not (out / f"rgb_{index:04d}.png").is_file():
            if runner is None:
                runner = ShardRunner(recipe, out)
            for k, v in runner.run(ShardJob(shard_of(index, recipe.output.shard_frames), (index,),
                                            {index: names})).items():
                totals[k] = totals.get(k, 0.0) + v
            rendered += 1
            frame_done(index)
        return _instances_on_disk(out, index)

    try:
        if recipe.targets.frame_budget:
            oversample(recipe, counter, scene_for(recipe), render, log.info)
    finally:
        if runner is not None:
            runner.close()
    return counter.summary(), rendered, totals


def _instances_on_disk(out: Path, index: int) -> list:
    """Instances of a committed frame (BasicWriter layout), measured as the report measures them."""
    from wearforge.report.dataset import Frame
    from wearforge.report.instances import frame_instances

    tag = f"{index:04d}"
    if not (out / f"rgb_{tag}.png").is_file():
        return []
    return frame_instances(Frame(out, index, tag))


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
