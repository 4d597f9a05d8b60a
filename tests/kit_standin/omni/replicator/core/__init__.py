"""A stand-in for omni.replicator.core 1.12.27 (Isaac Sim 5.1), for tests only.

It keeps the real signatures (parameter names and defaults, checked by Python itself) and models the
behaviours an adapter can get wrong. Each is read in the real module, public in the repository
Herong1212/isaac-sim-5.1.0 under ``extscache/omni.replicator.core-1.12.27+107.3.3.lx64.r.cp311/omni/replicator/core/``
(paths below are relative to that folder):

- The session layer is Replicator's. ``create.render_product`` defines ``/Render/RenderProduct_<name>``
  on the session layer (scripts/utils/viewport_manager.py ``HydraTexture``/``get_render_product``), the first
  step defines the ``/Orchestrator`` tick graph there (scripts/orchestrator.py ``_set_tick_graph``) and
  ``WriterRegistry.attach`` builds the writer graph under ``/Render/PostProcess/SDGPipeline`` in an
  ``Usd.EditContext(stage, session_layer)`` (scripts/writers.py). If these prims disappear, steps fail here
  as they stop working there.
- ``orchestrator.step`` / ``wait_until_complete`` raise ``OrchestratorError`` unless the process was started
  by SimulationApp (``_verify_is_standalone_workflow``: ``builtins.ISAAC_LAUNCHED_FROM_TERMINAL`` is False);
  ``step_async(rt_subframes=-1, pause_timeline=True, delta_time=None, wait_for_render=True)`` and
  ``wait_until_complete_async()`` work anywhere (scripts/orchestrator.py).
- A step with ``delta_time`` other than 0 lets the timeline advance, so PhysX moves every rigid body before
  the frame renders (scripts/orchestrator.py ``step_async``; modelled as a fall of the rigid bodies).
- Every step calls ``write(data)`` of each attached writer with the payload of its ``data_structure``
  ("annotator", "renderProduct" or "legacy", keyed by render product name, plus ``trigger_outputs`` and
  ``reference_time``). Stopping a stepped orchestrator (``wait_until_complete*``, ``stop*``) sets STOPPED, and
  the status callback calls ``on_final_frame()`` of every writer still attached (scripts/orchestrator.py,
  ``WriterRegistry._on_final_frame`` in scripts/writers.py); ``detach`` drops the writer and calls ``reset()``.
- ``WriterRegistry.get`` builds a writer with ``cls.__new__(cls)`` (``Writer.__new__`` seeds only
  ``num_written``, ``annotators`` and ``version``); ``initialize(**kw)`` runs ``__init__`` (scripts/writers.py).
- ``new_layer`` logs and swallows any exception raised inside its block, and appends its anonymous layer to
  the root layer's sublayers (scripts/utils/utils.py).
- ``modify.attribute`` skips (logs an error for) an attribute a prim does not have unless ``attribute_type``
  is given, and then creates it with that type (ogn/python/impl/nodes/OgnWritePrimAttribute.py).
- Annotators: ``get_annotator(name, init_params=None, render_product_idxs=None, device=None,
  do_array_copy=True)``; the first update after attaching has no data; ``get_data(device=None,
  do_array_copy=False)`` returns views of the node's buffer, which die with the node (zeroed here on detach)
  and raises when not attached (scripts/annotators.py).

The renderer behind the render products is in ``_rtx.py``.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import sys
from typing import Any, Callable, Optional

import numpy as np

log = logging.getLogger("omni.replicator.core")

GRAPH: list[dict] = []
_stack: list[list] = []  # prims set by `with prims:` blocks
_triggers: list[str] = []
_layers: list[str] = []
GRAPH_PATH = "/Render/PostProcess/SDGPipeline"


class OrchestratorError(Exception):
    pass


class WriterRegistryError(Exception):
    pass


class InvalidWriterError(WriterRegistryError):
    pass


class AnnotatorError(Exception):
    pass


def _stage():
    import omni.usd

    stage = omni.usd.get_context().get_stage()
    if stage is None:
        raise RuntimeError("no stage is open in the UsdContext")
    return stage


def _in_session_layer(fn):
    from pxr import Usd

    stage = _stage()
    with Usd.EditContext(stage, stage.GetSessionLayer()):
        return fn(stage)


def _remove_spec(layer, path: str) -> None:
    spec = layer.GetPrimAtPath(path)
    if spec:
        parent = spec.nameParent or layer.pseudoRoot
        del parent.nameChildren[spec.name]


def _session_prim_exists(path: str) -> bool:
    """A prim Replicator keeps on the session layer: its spec must still be there."""
    return bool(_stage().GetSessionLayer().GetPrimAtPath(path))


def reset() -> None:
    """Test helper: forget every graph node, writer, annotator and render product."""
    GRAPH.clear()
    _stack.clear()
    _triggers.clear()
    _layers.clear()
    WriterRegistry._writers.clear()
    WriterRegistry._active_writers.clear()
    AnnotatorRegistry.attached.clear()
    AnnotatorRegistry.created.clear()
    _render_products.clear()
    orchestrator._reset()
    SWALLOWED.clear()
    SKIPPED_ATTRIBUTES.clear()
    MISSING_PRIMS.clear()
    from . import _rtx

    _rtx.reset()


def _record(op: str, **args) -> "ReplicatorItem":
    node = {"op": op, "args": args, "prims": _stack[-1] if _stack else None,
            "trigger": _triggers[-1] if _triggers else None, "layer": _layers[-1] if _layers else None}
    GRAPH.append(node)
    return ReplicatorItem(node)


class ReplicatorItem:
    """What rep.* calls return: usable as input to others and as a `with` target."""

    def __init__(self, node: dict):
        self.node = node

    def __enter__(self):
        _stack.append(self.node["args"].get("path") or self.node["args"].get("paths") or [self.node["op"]])
        return self

    def __exit__(self, *exc):
        _stack.pop()
        return False


@contextlib.contextmanager
def new_layer(name: str = None):
    """scripts/utils/utils.py: an anonymous layer appended to the root layer's sublayers becomes the edit
    target; any exception inside the block is logged (carb.log_warn) and swallowed."""
    from pxr import Sdf

    stage = _stage()
    previous = stage.GetEditTarget()
    name = name or "Replicator"
    _layers.append(name)
    try:
        layer = next((layer for layer in stage.GetLayerStack() if layer.GetDisplayName() == name), None)
        if layer is None:
            layer = Sdf.Layer.CreateAnonymous(name)
            _keep_alive.append(layer)
            stage.GetRootLayer().subLayerPaths.append(layer.identifier)
        else:
            layer.Clear()
        stage.SetEditTarget(stage.GetEditTargetForLocalLayer(layer))
        yield layer
    except Exception as exc:  # the real context manager does exactly this
        log.warning("%s", exc)
        SWALLOWED.append(exc)
    finally:
        stage.SetEditTarget(previous)
        _layers.pop()


_keep_alive: list = []
SWALLOWED: list[Exception] = []  # test helper: what new_layer swallowed


def set_global_seed(seed: int) -> None:
    _record("set_global_seed", seed=seed)


class _Namespace:
    pass


distribution = _Namespace()


def _sequence(items, ordered: bool = True, seed: int = -1, name: Optional[str] = None, stride=None):
    return _record("distribution.sequence", items=list(items), ordered=ordered, seed=seed, name=name)


def _uniform(lower, upper, num_samples: int = 1, seed: Optional[int] = None, name: Optional[str] = None):
    return _record("distribution.uniform", lower=lower, upper=upper)


def _choice(choices, weights=None, num_samples: int = 1, seed: int = -1, with_replacements: bool = True,
            name: Optional[str] = None):
    return _record("distribution.choice", choices=choices, weights=weights)


distribution.sequence, distribution.uniform, distribution.choice = _sequence, _uniform, _choice

trigger = _Namespace()


@contextlib.contextmanager
def _on_frame(interval: int = 1, num_frames: int = 0, name: str = "on_frame", rt_subframes: int = 1,
              max_execs: int = 0):
    _record("trigger.on_frame", interval=interval, num_frames=num_frames, name=name, rt_subframes=rt_subframes,
            max_execs=max_execs)
    _triggers.append(name)
    try:
        yield ReplicatorItem({"op": "trigger", "args": {}})
    finally:
        _triggers.pop()


trigger.on_frame = _on_frame

get = _Namespace()


def _prim_at_path(path, name: Optional[str] = None):
    paths = [path] if isinstance(path, str) else list(path)
    stage = _stage()
    for p in paths:
        if not stage.GetPrimAtPath(p):  # the graph's ReadPrims finds nothing: every modify on it is a no-op
            MISSING_PRIMS.append(p)
    return _record("get.prim_at_path", path=paths, name=name)


MISSING_PRIMS: list[str] = []  # test helper: get.prim_at_path targets that were not on the stage
get.prim_at_path = _prim_at_path

modify = _Namespace()


def _pose(position=None, position_x=None, position_y=None, position_z=None, rotation=None, rotation_x=None,
          rotation_y=None, rotation_z=None, rotation_order: str = "XYZ", scale=None, size=None, pivot=None,
          look_at=None, look_at_up_axis=None, input_prims=None, name: Optional[str] = None):
    if position is not None and (position_x is not None or position_y is not None or position_z is not None):
        raise ValueError("Position and any of position_x, position_y and position_z cannot be specified at the same time.")
    if rotation is not None and (rotation_x is not None or rotation_y is not None or rotation_z is not None):
        raise ValueError("Rotation and any of rotation_x, rotation_y and rotation_z cannot be specified at the same time.")
    if scale is not None and size is not None:
        raise ValueError("Scale and size cannot be specified at the same time. Please choose one.")
    if look_at is not None and rotation is not None:
        raise ValueError("Rotation of prim was set to be randomized but look_at_target was also specified.")
    if rotation_order not in ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"):
        raise ValueError(f"invalid rotation_order {rotation_order}")
    return _record("modify.pose", position=position, rotation=rotation, rotation_order=rotation_order, scale=scale,
                   look_at=look_at, input_prims=input_prims)


# the type names OgnWritePrimAttribute.get_type understands
ATTRIBUTE_TYPES = {"float", "double", "asset", "token", "bool", "token[]", "bool[]", "float2", "float3", "float4",
                   "double2", "double3", "double4", "color3f", "color3d", "normal3f", "point3f", "vector3f"}


def _attribute(name: str, value, attribute_type: str = None, input_prims=None):
    """ogn/python/impl/nodes/OgnWritePrimAttribute.py: a prim without the attribute is skipped (an error is
    logged) unless ``attribute_type`` names its type."""
    if attribute_type is not None and attribute_type not in ATTRIBUTE_TYPES:
        raise ValueError(f"unknown attribute_type {attribute_type!r}")
    item = _record("modify.attribute", name=name, value=value, attribute_type=attribute_type, input_prims=input_prims)
    prims = input_prims if input_prims is not None else (_stack[-1] if _stack else [])
    stage = _stage()
    for path in prims or []:
        prim = stage.GetPrimAtPath(str(path))
        has = prim and (prim.HasAttribute(name) or (not name.startswith("inputs:") and prim.HasAttribute(f"inputs:{name}")))
        if not has and attribute_type is None:
            log.error("Attribute '%s' could not be found for prim at %s. To create the attribute, a datatype is "
                      "required.", name, path)
            SKIPPED_ATTRIBUTES.append((str(path), name))
    return item


SKIPPED_ATTRIBUTES: list[tuple[str, str]] = []  # test helper: (prim, attribute) writes the real node would skip
modify.pose, modify.attribute = _pose, _attribute

physics = _Namespace()


def _physics_material(static_friction=None, dynamic_friction=None, restitution=None, input_prims=None):
    return _record("physics.physics_material", static_friction=static_friction, dynamic_friction=dynamic_friction,
                   restitution=restitution, input_prims=input_prims)


def _mass(mass=None, density=None, center_of_mass=None, diagonal_inertia=None, principal_axes=None, input_prims=None):
    return _record("physics.mass", mass=mass, density=density, input_prims=input_prims)


physics.physics_material, physics.mass = _physics_material, _mass

create = _Namespace()
_render_products: list["HydraTexture"] = []


class HydraTexture:
    """scripts/utils/viewport_manager.py: a render product prim /Render/RenderProduct_<name> on the session
    layer (rel camera, int2 resolution); ``destroy`` removes it."""

    def __init__(self, name: str, camera: str, resolution):
        from pxr import Gf, Sdf

        self.name = name
        self.path = f"/Render/RenderProduct_{name}"

        def define(stage):
            prim = stage.DefinePrim(self.path, "RenderProduct")
            prim.CreateRelationship("camera").SetTargets([Sdf.Path(str(camera))])
            prim.CreateAttribute("resolution", Sdf.ValueTypeNames.Int2).Set(Gf.Vec2i(*[int(v) for v in resolution]))

        _in_session_layer(define)
        self.destroyed = False

    def destroy(self) -> None:
        stage = _stage()
        for layer in stage.GetLayerStack():
            _remove_spec(layer, self.path)
        self.destroyed = True
        _record("render_product.destroy", name=self.name)


def _render_product(camera, resolution, force_new: bool = False, name: Optional[str] = None, render_vars=None):
    _record("create.render_product", camera=str(camera), resolution=tuple(resolution), name=name)
    rp = HydraTexture(name or "Replicator", camera, resolution)
    _render_products.append(rp)
    return rp


create.render_product = _render_product


class _Randomizer(_Namespace):
    def register(self, fn: Callable[..., Any], override: bool = True, fn_name: str = None) -> None:
        fn_name = fn_name or fn.__name__
        if not fn_name.isidentifier():
            raise ValueError(f"The function name {fn_name} is not a valid Python identifier.")
        if hasattr(self, fn_name) and not override:
            raise ValueError()
        setattr(self, fn_name, fn)


randomizer = _Randomizer()


# ----------------------------------------------------------------------------------------- writers
class Writer:
    """scripts/writers.py ``Writer``: ``__new__`` seeds per-instance defaults, ``initialize`` runs ``__init__``."""

    backend = None
    version = "0.0.0"
    annotators = None
    num_written = None
    data_structure = "legacy"

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        instance.num_written = 0
        instance.annotators = []
        instance.version = "0.0.0"
        return instance

    def write(self, data: dict):
        raise NotImplementedError

    def on_final_frame(self):
        pass

    def reset(self):
        pass

    def initialize(self, **kwargs):
        self.__init__(**kwargs)

    def attach(self, render_products, trigger="omni.replicator.core.OgnOnFrame"):
        if isinstance(render_products, (HydraTexture, str)):
            render_products = [render_products]
        WriterRegistry.attach(self, render_products, trigger=trigger)
        self.num_written = 0

    def detach(self):
        WriterRegistry._detach_by_writer(self)


class WriterRegistry:
    _writers: dict[str, type] = {}
    _active_writers: dict[str, tuple[Writer, list[str]]] = {}  # writer id -> (writer, render product paths)

    @classmethod
    def register(cls, writer, category: str = None) -> None:
        if not issubclass(writer, Writer):
            raise InvalidWriterError(f"Writer must be of class `Writer`, got {type(writer)}")
        cls._writers[writer.__name__] = writer

    @classmethod
    def get(cls, writer_name: str, init_params: dict = None, render_products=None,
            trigger="omni.replicator.core.OgnOnFrame"):
        if writer_name not in cls._writers:
            raise WriterRegistryError(f"No writer with name `{writer_name}` was found in registry.")
        writer_cls = cls._writers[writer_name]
        writer = writer_cls.__new__(writer_cls)  # no __init__: attributes set there are missing until initialize
        if init_params:
            writer.initialize(**init_params)
        if render_products:
            writer.attach(render_products, trigger=trigger)
        return writer

    @classmethod
    def attach(cls, writer, render_products, init_params: dict = None, trigger="omni.replicator.core.OgnOnFrame",
               **kwargs) -> None:
        if isinstance(render_products, (HydraTexture, str)):
            render_products = [render_products]
        if not isinstance(writer.annotators, (list, tuple)):
            raise InvalidWriterError("Writer annotators must be specified as a list of annotators.")
        paths = [rp.path if isinstance(rp, HydraTexture) else str(rp) for rp in render_products]
        writer_id = f"{type(writer).__name__}_{len(GRAPH)}_{id(writer)}"

        def build(stage):
            for path in paths:
                if not stage.GetPrimAtPath(path):
                    raise WriterRegistryError(f"render product {path} does not exist")
            name = paths[0].split("/")[-1] if len(paths) == 1 else f"MultipleRenderProducts_{len(paths)}Products"
            stage.DefinePrim(f"{GRAPH_PATH}/{name}_{type(writer).__name__}Writer_{len(cls._active_writers)}",
                             "OmniGraphNode")
            return f"{GRAPH_PATH}/{name}_{type(writer).__name__}Writer_{len(cls._active_writers)}"

        writer._writer_id = writer_id
        writer._node_path = _in_session_layer(build)
        cls._active_writers[writer_id] = (writer, paths)

    @classmethod
    def _detach_by_writer(cls, writer) -> None:
        writer_id = getattr(writer, "_writer_id", None)
        if writer_id not in cls._active_writers:
            return
        cls._active_writers.pop(writer_id)
        _remove_spec(_stage().GetSessionLayer(), writer._node_path)
        writer.reset()

    @classmethod
    def _on_final_frame(cls) -> None:
        for writer, _ in list(cls._active_writers.values()):
            writer.on_final_frame()


# --------------------------------------------------------------------------------------- annotators
class _Annotator:
    def __init__(self, name: str, do_array_copy: bool):
        self.name = name
        self._do_array_copy = do_array_copy
        self.render_products: list[str] = []
        self.attached_at = None  # orchestrator step count at attach time
        self._buffer = None  # the node's output buffer (reused between frames)

    def attach(self, render_products, render_product_idxs=None):
        if isinstance(render_products, (HydraTexture, str)):
            render_products = [render_products]
        self.render_products = [rp.path if isinstance(rp, HydraTexture) else str(rp) for rp in render_products]
        self.attached_at = orchestrator.step_count
        AnnotatorRegistry.attached.append(self)

    def detach(self, render_products=None):
        if not self.render_products:
            raise AnnotatorError("Unable to detach annotator, annotator is not attached to any render products.")
        self.render_products = []
        if self in AnnotatorRegistry.attached:
            AnnotatorRegistry.attached.remove(self)
        _kill(self._buffer)  # the node is gone: views handed out earlier now read freed memory
        self._buffer = None

    def _update(self, frame: dict) -> None:
        """Called by each step after rendering: the first update after attaching produces nothing."""
        if self.attached_at is None or orchestrator.step_count - self.attached_at < 2:
            return
        value = frame.get(self.name)
        if value is None:
            return
        if self._buffer is None:
            self._buffer = _deep_copy(value)
        else:
            self._buffer = _refill(self._buffer, value)

    def get_data(self, device: str = None, do_array_copy: bool = False, use_legacy_structure: bool = True):
        if not self.render_products:
            raise AnnotatorError("Unable to get data, annotator is not attached to any render products.")
        if self._buffer is None:
            return None
        data = _deep_copy(self._buffer) if do_array_copy else self._buffer
        if isinstance(data, dict) and set(data) != {"data"}:  # the legacy structure: {"data", "info"}
            return {"data": data.get("data"), "info": {k: v for k, v in data.items() if k != "data"}}
        return data["data"] if isinstance(data, dict) else data


def _deep_copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    return value


def _refill(buffer, value):
    """Reuse the buffer's arrays when shapes allow (as the node does), else replace them."""
    if isinstance(buffer, np.ndarray) and isinstance(value, np.ndarray) and buffer.shape == value.shape \
            and buffer.dtype == value.dtype:
        buffer[...] = value
        return buffer
    if isinstance(buffer, dict) and isinstance(value, dict):
        return {k: _refill(buffer[k], v) if k in buffer else _deep_copy(v) for k, v in value.items()}
    return _deep_copy(value)


def _kill(value):
    if isinstance(value, np.ndarray) and value.size and value.dtype.kind in "uif":
        value[...] = 0
    elif isinstance(value, dict):
        for v in value.values():
            _kill(v)


class AnnotatorRegistry:
    attached: list[_Annotator] = []
    created: list[str] = []

    @classmethod
    def get_annotator(cls, name: str, init_params: dict = None, render_product_idxs=None, device: str = None,
                      do_array_copy: bool = True):
        _record("annotator.get", name=name)
        cls.created.append(name)
        return _Annotator(name, do_array_copy)


# ------------------------------------------------------------------------------------- orchestrator
class Status:
    STOPPED, STARTING, STARTED, STEPPING, STEPPED, STOPPING = range(6)


def _check_is_standalone_workflow() -> bool:
    if not hasattr(builtins, "ISAAC_LAUNCHED_FROM_TERMINAL"):
        return False
    return not builtins.ISAAC_LAUNCHED_FROM_TERMINAL


def _verify_is_standalone_workflow(fn_name: str) -> None:
    if not _check_is_standalone_workflow():
        raise OrchestratorError(
            f"Synchronous call to `{fn_name}` can only be performed in a standalone workflow and may not be made from "
            f"within Kit. Please use the async function `{fn_name}_async`.")


class _Orchestrator(_Namespace):
    def __init__(self):
        self._reset()

    def _reset(self):
        self.steps: list[dict] = []
        self.step_count = 0
        self.status = Status.STOPPED
        self.simulated_time = 0.0
        self.final_frames = 0

    def _tick(self, rt_subframes, delta_time) -> None:
        if self.status == Status.STOPPED:
            _in_session_layer(lambda stage: stage.DefinePrim("/Orchestrator", "OmniGraph"))
        elif not _session_prim_exists("/Orchestrator"):
            self.status = Status.STOPPED
            raise OrchestratorError("Unable to read simulation time, Replicator cannot run")
        self.status = Status.STEPPED
        if delta_time is None:
            self.simulated_time += 1.0 / 60.0  # the timeline plays one frame: PhysX steps
        elif delta_time > 0:
            self.simulated_time += float(delta_time)
        self.step_count += 1
        self.steps.append({"rt_subframes": rt_subframes, "delta_time": delta_time})
        from . import _rtx

        frames = {}
        for rp in _render_products:
            if rp.destroyed:
                continue
            if not _session_prim_exists(rp.path):
                raise OrchestratorError(f"render product {rp.path} was removed from the session layer")
            frames[rp.path] = _rtx.render(_stage(), rp.path, self.simulated_time)
        for annotator in list(AnnotatorRegistry.attached):
            if annotator.render_products and annotator.render_products[0] in frames:
                annotator._update(frames[annotator.render_products[0]])
        for writer_id, (writer, paths) in list(WriterRegistry._active_writers.items()):
            if not _session_prim_exists(writer._node_path):
                raise OrchestratorError(f"the graph of writer {writer_id} was removed from the session layer")
            writer.write(_payload(writer, paths, frames, self.step_count))
            writer.num_written = (writer.num_written or 0) + 1

    def step(self, rt_subframes: int = -1, pause_timeline: bool = True, delta_time: float = None,
             wait_for_render: bool = True) -> None:
        _verify_is_standalone_workflow("step")
        self._tick(rt_subframes, delta_time)

    async def step_async(self, rt_subframes: int = -1, pause_timeline: bool = True, delta_time: float = None,
                         wait_for_render: bool = True) -> None:
        import asyncio

        await asyncio.sleep(0)
        self._tick(rt_subframes, delta_time)
        self.steps[-1]["async"] = True

    def _stop(self) -> None:
        if self.status == Status.STOPPED:
            return
        self.status = Status.STOPPED
        self.final_frames += 1
        WriterRegistry._on_final_frame()  # the status callback on STOPPED

    def stop(self) -> None:
        self._stop()

    async def stop_async(self) -> None:
        self._stop()

    def wait_until_complete(self) -> None:
        _verify_is_standalone_workflow("wait_until_complete")
        self._stop()

    async def wait_until_complete_async(self) -> None:
        self._stop()

    def get_is_stopped(self) -> bool:
        return self.status == Status.STOPPED


orchestrator = _Orchestrator()


def _payload(writer, paths: list[str], frames: dict, step: int) -> dict:
    """The write() payload of scripts/writers.py for the writer's data_structure."""
    names = [a if isinstance(a, str) else a.name for a in writer.annotators]
    per_rp = {p.split("/")[-1]: {n: _deep_copy(frames[p][n]) for n in names if n in frames[p]} for p in paths}
    common = {"trigger_outputs": {"on_time": step}, "reference_time": (step, 60)}
    if writer.data_structure == "annotator":
        annos: dict = {}
        for rp, data in per_rp.items():
            for name, value in data.items():
                annos.setdefault(name, {})[rp] = value
        return {"annotators": annos, **common}
    if writer.data_structure == "renderProduct":
        return {"renderProducts": {rp: {**data, "camera": frames[p]["__camera"], "resolution": frames[p]["__resolution"]}
                                   for (rp, data), p in zip(per_rp.items(), paths)}, **common}
    if len(per_rp) == 1:
        return {**next(iter(per_rp.values())), **common}
    return {f"{rp}_{name}": value for rp, data in per_rp.items() for name, value in data.items()} | common


sys.modules[__name__ + ".distribution"] = distribution
