"""Settle a frame's parts with Newton: build the model from the composed stage (UsdPhysics rigid bodies,
colliders, mass and physics materials, i.e. the values the FrameSpec applied), simulate with XPBD until
every part rests, and write the rest poses back into the FrameSpec.

The result is recorded, not recomputed: rendering a settled FrameSpec never runs the simulation again.
"""

from __future__ import annotations

import logging
import re
import warnings

import numpy as np
from pxr import Usd, UsdGeom

from wearforge.errors import InputError
from wearforge.framespec import FrameSpec, PoseSpec
from wearforge.recipe import Settle
from wearforge.stage import apply_frame, hidden_backgrounds
from wearforge.transforms import gf_to_np, matrix_to_trs

log = logging.getLogger("wearforge.physics")


def _import_newton():
    try:
        import newton
    except ImportError:
        raise InputError("the settle step needs Newton: pip install 'newton[importers]' "
                         "(part of wearforge[standalone])", field="randomizers.settle") from None
    return newton


def _transform(q: np.ndarray) -> np.ndarray:
    """Warp transform (px, py, pz, qx, qy, qz, qw) -> 4x4."""
    x, y, z, w = q[3:7]
    m = np.eye(4)
    m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    m[:3, 3] = q[:3]
    return m


def settle_frame(stage: Usd.Stage, spec: FrameSpec, cfg: Settle) -> FrameSpec:
    """Simulate the parts of ``spec`` from their sampled poses until at rest; returns the settled FrameSpec."""
    newton = _import_newton()
    import warp as wp

    apply_frame(stage, spec)
    # hidden parts and the backgrounds the frame does not show take no part in the simulation
    hidden = [re.escape(p) + "(/.*)?$" for p in [p.path for p in spec.parts if not p.visible]
              + hidden_backgrounds(stage, spec)]
    # Simulate in the stage's own units and up axis (no rotation of the scene: rest poses map straight
    # back); gravity, contact gap and rest thresholds are metres and seconds, converted to stage units.
    mpu = float(UsdGeom.GetStageMetersPerUnit(stage))
    up = 1 if UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y else 2
    gravity = [0.0, 0.0, 0.0]
    gravity[up] = -9.81 / mpu
    builder = newton.ModelBuilder(up_axis="Y" if up == 1 else "Z", gravity=tuple(gravity))
    builder.default_shape_cfg.gap = cfg.contact_gap / mpu
    with warnings.catch_warnings():  # "non-unit linear units are not supported": converted above
        warnings.filterwarnings("ignore", message=".*non-unit linear units.*")
        result = builder.add_usd(stage, ignore_paths=hidden, apply_up_axis_from_stage=True)
    bodies = {path: i for path, i in result["path_body_map"].items()}
    device = "cuda:0" if cfg.device == "cuda" or (cfg.device == "auto" and wp.is_cuda_available()) else "cpu"
    model = builder.finalize(device=device)
    state, nxt = model.state(), model.state()
    control = model.control()
    pipeline = newton.CollisionPipeline(model)
    contacts = pipeline.contacts()
    solver = newton.solvers.SolverXPBD(model, iterations=cfg.iterations)
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    parts = [p for p in spec.parts if p.visible and p.path in bodies]
    start = state.body_q.numpy()
    # prim pose relative to its body (Newton may put the body frame elsewhere, e.g. at the centre of mass)
    offset = {p.path: np.linalg.inv(_transform(start[bodies[p.path]])) @
              gf_to_np(cache.GetLocalToWorldTransform(stage.GetPrimAtPath(p.path))) for p in parts}
    # At rest = net motion over a window of rest_time below rest_speed * rest_time. Net motion rather
    # than instantaneous velocity, because contact solvers jitter parts resting on round edges in place.
    steps, window = int(round(cfg.duration / cfg.dt)), max(1, int(round(cfg.rest_time / cfg.dt)))
    index = np.array([bodies[p.path] for p in parts], dtype=int)
    resting = np.zeros(len(index), bool)
    step = -1
    reference = state.body_q.numpy()[index]
    # below anything it could rest on: a metre under the lowest part (or the origin)
    floor = min((reference[:, up].min() if len(index) else 0.0), 0.0) - 1.0 / mpu
    for step in range(steps):
        state.clear_forces()
        pipeline.collide(state, contacts)
        solver.step(state, nxt, control, contacts, cfg.dt)
        state, nxt = nxt, state
        if (step + 1) % window == 0 and len(index):
            now = state.body_q.numpy()[index]
            moved = np.linalg.norm(now[:, :3] - reference[:, :3], axis=1)
            turned = 2 * np.arccos(np.clip(np.abs(np.sum(now[:, 3:] * reference[:, 3:], axis=1)), 0, 1))
            reference = now
            limit = cfg.rest_speed * cfg.rest_time
            resting = (moved * mpu < limit) & (turned < limit)
            if resting.all():
                break
    final = state.body_q.numpy()
    log.debug("settled %d parts in %d steps (%d at rest)", len(parts), step + 1, int(resting.sum()))
    updated = []
    for part in spec.parts:
        if part not in parts:
            updated.append(part)
            continue
        k = parts.index(part)
        if final[bodies[part.path]][up] < floor:  # fell through every collider: not in the scene any more
            log.warning("%s fell through the colliders while settling; hidden in this frame (a triangle-mesh "
                        "collider is a zero-thickness shell: give a solid support a convexHull "
                        "approximation, or lower randomizers.settle.dt)", part.path)
            updated.append(part.model_copy(update={"visible": False, "drop_pose": part.pose, "at_rest": False}))
            continue
        world = _transform(final[bodies[part.path]]) @ offset[part.path]
        parent = stage.GetPrimAtPath(part.path).GetParent()
        parent_world = gf_to_np(cache.GetLocalToWorldTransform(parent)) if parent.IsA(UsdGeom.Xformable) else np.eye(4)
        t, r, s = matrix_to_trs(np.linalg.inv(parent_world) @ world)
        updated.append(part.model_copy(update={"pose": PoseSpec(position=t, rotation=r, scale=s),
                                               "drop_pose": part.pose, "at_rest": bool(resting[k])}))
    return spec.model_copy(update={"parts": updated, "settled": True})
