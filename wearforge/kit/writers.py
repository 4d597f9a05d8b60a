"""wearforge writers as Replicator writers: ``register_writers(rep)`` adds them to ``rep.WriterRegistry``.

    register_writers(rep)
    writer = rep.WriterRegistry.get("WearforgeCocoWriter")   # built with __new__ only: not usable yet
    writer.initialize(output_dir="/data/run1")                # runs __init__
    writer.attach([render_product])                           # Replicator now calls write() every frame

Stopping the orchestrator (``wait_until_complete`` / ``_async``) calls ``on_final_frame()`` once on every
attached writer; detach only afterwards (a detached writer is never finalised). Finalisation is idempotent.

Inside a wearforge run (``wearforge.kit.run.Run`` passes ``run=`` to ``initialize``) each frame is converted
to the standalone home's annotations first (``wearforge.kit.frames``: the run's label ids, the camera-sensor
model, defect labels, the FrameSpec); used on its own, the writer gets Replicator's payload as it is (it
reads all three ``data_structure`` layouts). Arrays are copied before they are queued (render products
reuse their buffers between frames).
"""

from __future__ import annotations

import copy

import numpy as np

ANNOTATORS = ["rgb", "HdrColor", "distance_to_camera", "distance_to_image_plane", "normals", "semantic_segmentation",
              "instance_segmentation_fast", "bounding_box_2d_tight_fast", "bounding_box_2d_loose_fast",
              "bounding_box_3d_fast", "camera_params"]


def _own(value):
    """Deep copy that also copies arrays, so a reused render buffer cannot change a queued frame."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _own(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_own(v) for v in value]
    return copy.copy(value)


def _per_render_product(data: dict) -> dict[str, dict]:
    """{render product: {annotator: payload}} from any of the three layouts."""
    from wearforge.writers.base import per_render_product

    return per_render_product(data)


def make_adapter(rep, name: str, factory):
    """A rep.Writer subclass named ``name`` that feeds a wearforge writer built by ``factory(**kwargs)``."""

    class Adapter(rep.Writer):
        # class-level defaults: WriterRegistry.get builds the writer with __new__, so __init__ may not have run
        _inner = None
        _run = None
        _finalised = False

        def __init__(self, run=None, **kwargs):
            self.annotators = list(ANNOTATORS)
            self.data_structure = "annotator"
            self._run = run
            self._inner = factory(**kwargs)
            self._finalised = False

        def write(self, data: dict) -> None:
            if self._inner is None:
                raise RuntimeError(f"{name}: call initialize(output_dir=...) before attaching the writer")
            run = self._run
            if run is not None and not run.accept:
                return  # wearforge's warm-up and label subframes
            if run is None:
                self._inner.write(_own(data))
                return
            from wearforge.kit.frames import convert

            for frame in _per_render_product(data).values():
                annotations = convert(frame, run.space, run.current, run.stage, run.extra)
                annotations["frame_spec"] = {"data": run.current.model_dump(mode="json")}
                self._inner.write(annotations)

        def on_final_frame(self) -> None:
            if self._inner is not None and not self._finalised:
                self._finalised = True
                self._inner.on_final_frame()

    Adapter.__name__ = Adapter.__qualname__ = name
    return Adapter


def register_writers(rep) -> list[str]:
    from wearforge.writers import BasicLayoutWriter, CocoWriter, WebDatasetWriter, YoloWriter
    from wearforge.writers.stream import StreamWriter

    factories = {
        "WearforgeBasicWriter": lambda output_dir, **kw: BasicLayoutWriter(output_dir, **kw),
        "WearforgeCocoWriter": lambda output_dir, **kw: CocoWriter(output_dir, **kw),
        "WearforgeYoloWriter": lambda output_dir, **kw: YoloWriter(output_dir, **kw),
        "WearforgeWebDatasetWriter": lambda output_dir, **kw: WebDatasetWriter(output_dir, **kw),
        "WearforgeStreamWriter": lambda endpoint="tcp://127.0.0.1:5557", **kw: StreamWriter(endpoint, **kw),
    }
    for name, factory in factories.items():
        rep.WriterRegistry.register(make_adapter(rep, name, factory))
    return list(factories)
