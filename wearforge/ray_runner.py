"""Shards as Ray tasks on warm actors: each actor opens the twin, compiles the wear kernels and loads the
renderer once, then renders shard after shard into an output folder every node can reach.

Ray is optional (``pip install 'wearforge[ray]'``). Without an address a private local instance is started
on the loopback interface, without dashboard, with one actor per worker.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Callable

from wearforge.errors import InputError
from wearforge.generate import RunError, ShardJob, ShardRunner, mitsuba_threads
from wearforge.recipe import Recipe

log = logging.getLogger("wearforge")

RETRIES = 1  # a shard that failed on one actor is tried once more (a new actor if the old one died)


class ShardActor:
    """One warm worker (wrapped by ``ray.remote`` at run time, so this module imports without Ray)."""

    def __init__(self, recipe: Recipe, out: str, worker: int, threads: int):
        import drjit

        drjit.set_thread_count(threads)
        self.runner = ShardRunner(recipe, Path(out), worker)

    def run(self, job: ShardJob) -> tuple[int, dict[str, float], str]:
        return job.shard, self.runner.run(job), self.runner.variant


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("Ray is not installed: pip install 'wearforge[ray]' (or pip install ray)",
                         field="--ray") from None
    return ray


def _check_reachable(address: str) -> None:
    """Fail fast with a clear message instead of Ray's minute of retries on a wrong host:port."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"expected host:port, 'auto' or nothing, got {address!r}", field="--ray")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as exc:
        raise InputError(f"cannot reach a Ray cluster at {address}: {exc.strerror or exc}", field="--ray") from None


def connect(address: str, workers: int):
    """Start a private local Ray ('local') or join a cluster; returns (ray, started_here)."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray, False
    common = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address == "local":
        ray.init(num_cpus=workers, object_store_memory=80 * 2**20, _node_ip_address="127.0.0.1", **common)
        return ray, True
    if address != "auto":
        _check_reachable(address)
    try:
        ray.init(address=address, **{k: v for k, v in common.items() if k != "include_dashboard"})
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(f"cannot join the Ray cluster at {address}: {exc}", field="--ray") from None
    return ray, True


CLUSTER_THREADS = 2  # Mitsuba threads (and Ray CPUs) per actor on a cluster


def run_ray(recipe: Recipe, out: Path, jobs: list[ShardJob], address: str, workers: int,
            frame_done: Callable[[int], None]) -> tuple[dict[str, float], str, int]:
    """Render ``jobs`` on ``workers`` Ray actors; returns (timings, variant, actors used)."""
    ray, started = connect(address, workers)
    # on this machine the actors share its cores; on a cluster each asks Ray for CLUSTER_THREADS CPUs
    threads = mitsuba_threads(workers) if address == "local" else CLUSTER_THREADS
    try:
        return _run(ray, recipe, out, jobs, workers, threads if address != "local" else 1, threads, frame_done)
    finally:
        if started:
            ray.shutdown()


def _run(ray, recipe, out, jobs, workers, cpus, threads, frame_done):
    n = max(1, min(workers, len(jobs)))
    remote = ray.remote(num_cpus=cpus, max_restarts=RETRIES)(ShardActor)
    actors = {w: remote.remote(recipe, str(Path(out).resolve()), w, threads) for w in range(1, n + 1)}
    pending = list(jobs)
    tries = {j.shard: 0 for j in jobs}
    running = {}  # object ref -> (worker, job)
    totals: dict[str, float] = {}
    variant = ""

    def dispatch(w: int) -> None:
        if pending:
            job = pending.pop(0)
            running[actors[w].run.remote(job)] = (w, job)

    for w in actors:
        dispatch(w)
    failure = None
    while running:
        ready, _ = ray.wait(list(running), num_returns=1)
        ref = ready[0]
        w, job = running.pop(ref)
        try:
            _, timing, variant = ray.get(ref)
        except Exception as exc:  # RunError in the actor, or the actor died (RayActorError)
            cause = getattr(exc, "cause", None) or exc
            tries[job.shard] += 1
            if tries[job.shard] <= RETRIES:
                log.warning("shard %d failed on Ray actor %d (%s); trying again", job.shard, w, cause)
                pending.insert(0, job)
                dispatch(w)
                continue
            failure = cause if isinstance(cause, (RunError, InputError)) else RunError(
                f"shard {job.shard} failed on Ray actor {w} twice: {type(cause).__name__}: {cause}")
            pending.clear()  # shards already running finish and commit
            continue
        for i in job.frames:
            frame_done(i)
        for k, v in timing.items():
            totals[k] = totals.get(k, 0.0) + v
        dispatch(w)
    if failure is not None:
        raise failure
    return totals, variant, n
