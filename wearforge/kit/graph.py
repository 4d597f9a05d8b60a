"""Compile a recipe into a Replicator graph that replays wearforge's FrameSpecs.

The FrameSpecs are sampled up front by the same ``sample_frame`` the standalone backend uses; the graph
feeds each randomized value to Replicator through ``rep.distribution.sequence`` (one item per frame,
ordered), so Isaac Sim sees the same scene parameters as a standalone run of the same recipe and seed.
Values a frame leaves at the authored default are filled in from the twin, so every sequence has one
item per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wearforge.framespec import FrameSpec
from wearforge.randomizers.camera import CREATED_CAMERA
from wearforge.stage import SceneInfo
from wearforge.transforms import look_at_matrix, matrix_to_trs

MATERIAL_INPUTS = {"base_color": "inputs:diffuseColor", "metallic": "inputs:metallic", "roughness": "inputs:roughness",
                   "ior": "inputs:ior", "clearcoat": "inputs:clearcoat", "clearcoat_roughness": "inputs:clearcoatRoughness"}
# UsdPreviewSurface defaults, for frames that leave an input as the twin authored it and the twin does not say
PREVIEW_DEFAULTS = {"inputs:diffuseColor": (0.18, 0.18, 0.18), "inputs:metallic": 0.0, "inputs:roughness": 0.5,
                    "inputs:ior": 1.5, "inputs:clearcoat": 0.0, "inputs:clearcoatRoughness": 0.01}
LIGHT_INPUTS = {"intensity": "inputs:intensity", "exposure": "inputs:exposure", "color": "inputs:color",
                "color_temperature": "inputs:colorTemperature"}


class GraphModeError(ValueError):
    """A recipe feature that changes the scene's structure per frame; use step mode for it."""


@dataclass
class GraphPlan:
    frames: int
    parts: list[str] = field(default_factory=list)
    lights: list[str] = field(default_factory=list)
    camera: str = ""
    backgrounds: list[str] = field(default_factory=list)


def check_graph_mode(specs: list[FrameSpec]) -> None:
    """Graph mode drives existing prims; per-frame created lights or settled physics need step mode."""
    created = [{light.path for light in s.lights if light.create} for s in specs]
    if any(c != created[0] for c in created):
        raise GraphModeError("the set of created lights changes between frames: run this recipe in step mode")
    if any(s.settled for s in specs):
        raise GraphModeError("settled poses come from the standalone Newton step: run this recipe in step mode")


def check_camera(specs: list[FrameSpec]) -> None:
    if len({s.camera.path for s in specs}) > 1:
        raise GraphModeError("the camera prim changes between frames: run this recipe in step mode")
    if len({tuple(s.render.resolution) for s in specs}) > 1:
        raise GraphModeError("the output size changes between frames: run this recipe in step mode")


def _values(specs, getter, default):
    out = []
    for spec in specs:
        value = getter(spec)
        out.append(default if value is None else value)
    return out


def _varies(values) -> bool:
    return any(v != values[0] for v in values)


def compile_graph(rep, specs: list[FrameSpec], scene: SceneInfo, shaders: dict[str, list[str]],
                  colliders: dict[str, list[str]], rt_subframes: int = 1,
                  authored: dict[str, dict] | None = None) -> GraphPlan:
    """Build the graph under ``rep.new_layer('wearforge')``; ``shaders``/``colliders`` map part paths to prims,
    ``authored`` holds each part's authored UsdPreviewSurface inputs (for frames that keep them).

    ``rep.new_layer`` logs and swallows every exception raised inside it (scripts/utils/utils.py), which would
    leave half a graph: everything that can fail is checked before the block.
    """
    check_graph_mode(specs)
    check_camera(specs)
    n = len(specs)
    plan = GraphPlan(frames=n)
    seq = rep.distribution.sequence
    with rep.new_layer("wearforge"):
        if created_camera(specs):  # the recipe's own camera: the graph poses it, so the graph's layer defines it
            from pxr import UsdGeom

            import omni.usd

            UsdGeom.Camera.Define(omni.usd.get_context().get_stage(), specs[0].camera.path)
        with rep.trigger.on_frame(max_execs=n, rt_subframes=rt_subframes):
            for i, info in enumerate(scene.parts):
                plan.parts.append(info.path)
                parts = [s.parts[i] for s in specs]
                register_pose(rep, info, parts, seq)
                register_material(rep, info.path, parts, shaders.get(info.path, []), seq,
                                  (authored or {}).get(info.path, {}))
                register_physics(rep, info.path, parts, colliders.get(info.path, []), seq)
            register_lights(rep, specs, seq, plan)
            register_camera(rep, specs, seq, plan)
            register_backgrounds(rep, specs, scene, seq, plan)
    return plan


def register_backgrounds(rep, specs: list[FrameSpec], scene: SceneInfo, seq, plan: GraphPlan) -> None:
    """Per-frame background: every background prim is on the stage for the whole run (the recipe layer);
    a visibility sequence per prim shows the frame's one, as step mode's apply_frame does."""
    for path in scene.backgrounds:
        visibility = ["inherited" if s.background == path else "invisible" for s in specs]
        with rep.get.prim_at_path(path):
            rep.modify.attribute("visibility", seq(visibility), attribute_type="token")
        plan.backgrounds.append(path)
    for path in sorted({p for s in specs for p in s.hidden}):  # twin prims a background hides (its 'hide')
        with rep.get.prim_at_path(path):
            rep.modify.attribute("visibility", seq(["invisible" if path in s.hidden else "inherited" for s in specs]),
                                 attribute_type="token")


def register_pose(rep, info, parts, seq) -> None:
    positions = [p.pose.position or list(info.position) for p in parts]
    rotations = [p.pose.rotation or list(info.rotation) for p in parts]
    scales = [p.pose.scale or list(info.scale) for p in parts]
    visibility = ["inherited" if p.visible else "invisible" for p in parts]
    prims = rep.get.prim_at_path(info.path)
    with prims:
        args = {}
        if _varies(positions) or parts[0].pose.position is not None:
            args["position"] = seq([tuple(v) for v in positions])
        if _varies(rotations) or parts[0].pose.rotation is not None:
            args["rotation"] = seq([tuple(v) for v in rotations])
        if _varies(scales) or parts[0].pose.scale is not None:
            args["scale"] = seq([tuple(v) for v in scales])
        if args:
            rep.modify.pose(**args)
        if _varies(visibility):
            rep.modify.attribute("visibility", seq(visibility), attribute_type="token")
    return prims


def register_material(rep, path, parts, shaders, seq, authored: dict | None = None):
    last = None
    for name, attribute in MATERIAL_INPUTS.items():
        values = [getattr(p.material, name) for p in parts]
        if all(v is None for v in values) or not shaders:
            continue
        # frames that keep the twin's value get it explicitly: every sequence has one item per frame
        keep = (authored or {}).get(attribute, PREVIEW_DEFAULTS[attribute])
        values = [keep if v is None else v for v in values]
        value = [tuple(v) for v in values] if name == "base_color" else values
        # the twin may not author the input: without attribute_type Replicator skips such prims
        last = rep.modify.attribute(attribute, seq(value), attribute_type="color3f" if name == "base_color" else "float",
                                    input_prims=list(shaders))
    return last


def register_physics(rep, path, parts, colliders, seq):
    last = None
    friction = {k: [getattr(p.physics, k) for p in parts] for k in ("static_friction", "dynamic_friction", "restitution")}
    present = {k: seq(v) for k, v in friction.items() if all(x is not None for x in v)}
    if present and colliders:
        last = rep.physics.physics_material(**present, input_prims=list(colliders))
    mass = [p.physics.mass for p in parts]
    density = [p.physics.density for p in parts]
    if all(m is not None for m in mass):
        last = rep.physics.mass(mass=seq(mass), input_prims=[path])
    elif all(d is not None for d in density):
        last = rep.physics.mass(density=seq(density), input_prims=[path])
    return last


def register_lights(rep, specs, seq, plan: GraphPlan):
    last = None
    paths = [light.path for light in specs[0].lights]
    for k, path in enumerate(paths):
        plan.lights.append(path)
        lights = [s.lights[k] for s in specs]
        for name, attribute in LIGHT_INPUTS.items():
            values = [getattr(light, name) for light in lights]
            if all(v is not None for v in values):
                last = rep.modify.attribute(attribute, seq([tuple(v) if isinstance(v, list) else v for v in values]),
                                            attribute_type="color3f" if name == "color" else "float",
                                            input_prims=[path])
        if all(light.position is not None for light in lights):
            with rep.get.prim_at_path(path) as last:
                if all(light.look_at is not None for light in lights):
                    rep.modify.pose(position=seq([tuple(x.position) for x in lights]),
                                    look_at=seq([tuple(x.look_at) for x in lights]))
                else:
                    rep.modify.pose(position=seq([tuple(x.position) for x in lights]))
    return last


def register_camera(rep, specs, seq, plan: GraphPlan):
    cams = [s.camera for s in specs]
    check_camera(specs)
    plan.camera = cams[0].path
    # rotation from the same look-at + roll the standalone renderer uses (roll is not expressible by look_at)
    poses = [matrix_to_trs(look_at_matrix(np.array(c.position), np.array(c.look_at), np.array(c.up), c.roll))
             for c in cams]
    with rep.get.prim_at_path(cams[0].path) as camera:
        rep.modify.pose(position=seq([tuple(p[0]) for p in poses]), rotation=seq([tuple(p[1]) for p in poses]))
    for name, attribute in (("focal_length", "focalLength"), ("f_stop", "fStop"), ("focus_distance", "focusDistance")):
        values = [getattr(c, name) for c in cams]
        if _varies(values):
            rep.modify.attribute(attribute, seq(values), attribute_type="float", input_prims=[cams[0].path])
    return camera


def created_camera(specs: list[FrameSpec]) -> bool:
    return specs[0].camera.path == CREATED_CAMERA
