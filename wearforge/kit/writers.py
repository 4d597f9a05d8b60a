"""wearforge writers as Replicator writers: ``register_writers(rep)`` adds them to ``rep.WriterRegistry``.

    writer = rep.WriterRegistry.get("WearforgeCocoWriter")
    writer.initialize(output_dir="/data/run1")
    writer.attach([render_product])

Each adapter lists the Replicator annotators it needs, copies the payload's arrays (render products
reuse their buffers between frames) and adds the current FrameSpec before handing the frame to the
wearforge writer, which accepts all three ``data_structure`` layouts.
"""

from __future__ import annotations

import copy

import numpy as np

ANNOTATORS = ["rgb", "distance_to_camera", "distance_to_image_plane", "normals", "semantic_segmentation",
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


def make_adapter(rep, name: str, factory):
    """A rep.Writer subclass named ``name`` that feeds a wearforge writer built by ``factory(**kwargs)``."""

    class Adapter(rep.Writer):
        def __init__(self, **kwargs):
            self.annotators = list(ANNOTATORS)
            self.data_structure = "annotator"
            self.frame_spec = None
            self.extra: dict = {}  # annotations computed outside Replicator (defect labels), added to the payload
            self.accept = True  # False during wearforge's own label subframes
            self._inner = factory(**kwargs) if kwargs else None

        def write(self, data: dict) -> None:
            if self._inner is None:
                raise RuntimeError(f"{name}: call initialize(output_dir=...) first")
            if not self.accept:
                return
            data = _own(data)
            added = dict(self.extra)
            if self.frame_spec is not None:
                added["frame_spec"] = {"data": self.frame_spec}
            for key, payload in added.items():
                if "annotators" in data:
                    for rp in next(iter(data["annotators"].values())):
                        data["annotators"].setdefault(key, {})[rp] = payload
                elif "renderProducts" in data:
                    for annos in data["renderProducts"].values():
                        annos[key] = payload
                else:
                    data[key] = payload
            self._inner.write(data)

        def on_final_frame(self) -> None:
            if self._inner is not None:
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
