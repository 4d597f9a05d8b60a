"""Grow the next frame's wear while Mitsuba renders this one.

Mitsuba's render call releases the GIL and runs on Dr.Jit's own threads, so Warp's wear kernels for
frame i+1 (one core on the CPU) can run on a background thread during frame i's beauty pass, label
pass and annotation. The stacks are the same bytes as without overlap: they are a pure function of the
next FrameSpec and the FrameState read from the stage with that FrameSpec applied, and the renderer
reads that state before it applies frame i again (the stage holds frame i while frame i is annotated).

Only one thread uses Warp at a time: the renderer waits for the background job before it builds
stacks itself, and callers wait (``wait``) before other Warp work such as the physics settle step.
The job is started only when it cannot change what the current frame sees: the next frame has the
same parts as this one (no reassignment of the shared mesh list) and every mesh it wears has had its
UVs checked already (no atlas replaces a mesh behind the current frame's back).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from pxr import Usd

from wearforge.framespec import FrameSpec
from wearforge.stage import apply_frame
from wearforge.twin_reader import FrameState, MeshGeometry, read_frame_state
from wearforge.wear.twin_stacks import WearTextures


def state_ahead(stage: Usd.Stage, meshes: list[MeshGeometry], spec: FrameSpec) -> FrameState:
    """The FrameState of ``spec`` (the next frame), read before the renderer applies the current frame again."""
    apply_frame(stage, spec)
    return read_frame_state(stage, meshes, spec.camera.path)


class WearLookahead:
    """At most one background job: the stacks of the next frame."""

    def __init__(self, wear: WearTextures):
        self.wear = wear
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wearforge-wear")
        self._pending: tuple[FrameSpec, Future] | None = None

    def submit(self, spec: FrameSpec, state: FrameState) -> bool:
        """Start growing ``spec``'s stacks from ``state``; False (nothing started) if it must wait for its frame."""
        self.wait()
        if not self.wear.ready_for(spec):
            return False
        self._pending = (spec, self._pool.submit(self.wear.stacks, spec, state))
        return True

    def stacks(self, spec: FrameSpec, state: FrameState) -> tuple[dict, bool]:
        """As ``WearTextures.stacks``: the ones grown ahead for ``spec`` when there are, else built now."""
        ready = self.take(spec)
        return ready if ready is not None else self.wear.stacks(spec, state)

    def take(self, spec: FrameSpec) -> tuple[dict, bool] | None:
        """The stacks grown for ``spec`` (re-raising the job's error), or None if the job was for another frame."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        ahead, future = pending
        if ahead != spec:  # e.g. the shard that ran it failed after submitting: drop it, quietly
            future.exception()
            return None
        return future.result()

    def wait(self) -> None:
        """Block until the background job (if any) is done; its result or error stays for ``take``."""
        if self._pending is not None:
            self._pending[1].exception()

    def close(self) -> None:
        self._pending = None
        self._pool.shutdown(wait=True)
