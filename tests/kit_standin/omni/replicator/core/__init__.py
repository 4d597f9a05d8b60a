"""A stand-in for omni.replicator.core 1.12.27 (Isaac Sim 5.1), for tests only.

Every function has the real signature (parameter names, defaults and required arguments, checked by
Python itself) and raises the real ValueErrors for the documented mutual exclusions. Instead of building
OmniGraph nodes it records each call in ``GRAPH`` so tests can inspect the graph a recipe compiles to.

Checked against the 1.12.27 source: modify.pose (all parameters and its four exclusions), get.prim_at_path,
randomizer/modify.register, and AnnotatorRegistry.get_annotator(name, init_params). The others follow the
project's Replicator reference notes (taken from the same source); orchestrator.step_async is assumed to take
step's parameters.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Optional

GRAPH: list[dict] = []
_stack: list[list] = []  # prims set by `with prims:` blocks
_triggers: list[str] = []
_layers: list[str] = []


def reset() -> None:
    GRAPH.clear()
    _stack.clear()
    _triggers.clear()
    _layers.clear()
    WriterRegistry._writers.clear()
    AnnotatorRegistry.frames = {}
    orchestrator.steps.clear()


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
    _layers.append(name or "Replicator")
    try:
        yield
    finally:
        _layers.pop()


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
    return _record("get.prim_at_path", path=[path] if isinstance(path, str) else list(path), name=name)


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


def _attribute(name: str, value, attribute_type: str = None, input_prims=None):
    return _record("modify.attribute", name=name, value=value, attribute_type=attribute_type, input_prims=input_prims)


modify.pose, modify.attribute = _pose, _attribute

physics = _Namespace()


def _physics_material(static_friction=None, dynamic_friction=None, restitution=None, input_prims=None):
    return _record("physics.physics_material", static_friction=static_friction, dynamic_friction=dynamic_friction,
                   restitution=restitution, input_prims=input_prims)


def _mass(mass=None, density=None, center_of_mass=None, diagonal_inertia=None, principal_axes=None, input_prims=None):
    return _record("physics.mass", mass=mass, density=density, input_prims=input_prims)


physics.physics_material, physics.mass = _physics_material, _mass

create = _Namespace()


def _render_product(camera, resolution, force_new: bool = False, name: Optional[str] = None, render_vars=None):
    item = _record("create.render_product", camera=camera, resolution=tuple(resolution), name=name)
    item.destroyed = False

    def destroy():
        item.destroyed = True
        _record("render_product.destroy", name=name)

    item.destroy = destroy
    return item


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


class Writer:
    """Replicator's Writer base (the parts wearforge uses)."""

    data_structure = "annotator"

    def write(self, data: dict):
        raise NotImplementedError

    def on_final_frame(self):
        pass

    def initialize(self, **kwargs):
        self.__init__(**kwargs)

    def attach(self, render_products, trigger="omni.replicator.core.OgnOnFrame"):
        self.render_products = render_products if isinstance(render_products, list) else [render_products]

    def detach(self):
        self.render_products = []


class WriterRegistry:
    _writers: dict[str, type] = {}

    @classmethod
    def register(cls, writer, category: str = None) -> None:
        cls._writers[writer.__name__] = writer

    @classmethod
    def get(cls, writer_name: str, init_params: dict = None, render_products=None):
        writer = cls._writers[writer_name]()
        if init_params:
            writer.initialize(**init_params)
        if render_products:
            writer.attach(render_products)
        return writer


class _Annotator:
    """An attached annotator; tests set ``AnnotatorRegistry.frames[name]`` to what the renderer would produce."""

    def __init__(self, name: str):
        self.name = name
        self.render_products: list = []

    def attach(self, render_products):
        self.render_products = list(render_products)

    def detach(self):
        self.render_products = []

    def get_data(self):
        source = AnnotatorRegistry.frames.get(self.name)
        return source() if callable(source) else source


class AnnotatorRegistry:
    frames: dict = {}

    @classmethod
    def get_annotator(cls, name: str, init_params: dict = None):
        _record("annotator.get", name=name)
        return _Annotator(name)


class _Orchestrator(_Namespace):
    def __init__(self):
        self.steps: list[dict] = []

    def step(self, rt_subframes: int = -1, pause_timeline: bool = True, delta_time: float = None,
             wait_for_render: bool = True) -> None:
        self.steps.append({"rt_subframes": rt_subframes})

    async def step_async(self, rt_subframes: int = -1, pause_timeline: bool = True, delta_time: float = None,
                         wait_for_render: bool = True) -> None:
        self.steps.append({"rt_subframes": rt_subframes, "async": True})

    def wait_until_complete(self) -> None:
        pass


orchestrator = _Orchestrator()

sys.modules[__name__ + ".distribution"] = distribution
