"""The frame's camera: base values (recipe or twin camera), then the camera randomizer."""

from __future__ import annotations

import numpy as np

from wearforge.framespec import CameraSpec
from wearforge.randomizers.orbit import sample_orbit
from wearforge.recipe import Recipe
from wearforge.seeding import Sampler

CREATED_CAMERA = "/wearforge/Camera"


def _roll_of(matrix: np.ndarray, up: np.ndarray) -> float:
    from wearforge.transforms import look_at_matrix

    pos, fwd = matrix[:3, 3], -matrix[:3, 2]
    ref = look_at_matrix(pos, pos + fwd, up)
    right = matrix[:3, 0]
    return float(np.degrees(np.arctan2(np.dot(right, ref[:3, 1]), np.dot(right, ref[:3, 0]))))


def sample_resolution(recipe: Recipe, sampler: Sampler) -> list[int]:
    rnd = recipe.randomizers.camera
    if rnd is not None and rnd.resolution is not None:
        w, h = sampler.draw("camera/resolution", rnd.resolution)
        return [int(round(w)), int(round(h))]
    return list(recipe.render.resolution)


def sample_camera(recipe: Recipe, scene, sampler: Sampler) -> CameraSpec:
    cfg = recipe.camera
    rnd = recipe.randomizers.camera
    if rnd is not None and rnd.prim is not None:
        cfg = cfg.model_copy(update={"prim": sampler.draw("camera/prim", rnd.prim)})
    up = np.asarray(scene.up, float)
    base = dict(
        focal_length=cfg.focal_length, horizontal_aperture=cfg.horizontal_aperture, clipping=list(cfg.clipping),
        f_stop=cfg.f_stop, focus_distance=cfg.focus_distance, position=list(cfg.position),
        look_at=list(cfg.look_at), roll=0.0,
    )
    if cfg.prim:
        authored = scene.cameras[cfg.prim]
        m = np.asarray(authored["matrix"])
        base.update({k: authored[k] for k in ("focal_length", "horizontal_aperture", "clipping", "f_stop", "focus_distance")})
        base.update(position=list(map(float, m[:3, 3])), look_at=list(map(float, m[:3, 3] - m[:3, 2])),
                    roll=_roll_of(m, up))
    if rnd is not None:
        if rnd.orbit is not None:
            base["position"], base["look_at"] = sample_orbit(rnd.orbit, "camera/orbit", sampler, up)
        for name in ("position", "look_at", "roll", "focal_length", "f_stop", "focus_distance"):
            value = sampler.draw(f"camera/{name}", getattr(rnd, name))
            if value is not None:
                base[name] = value
    return CameraSpec(path=cfg.prim or CREATED_CAMERA, create=cfg.prim is None, up=list(map(float, up)),
                      **{k: (list(map(float, v)) if isinstance(v, (list, tuple)) else float(v)) for k, v in base.items()})
