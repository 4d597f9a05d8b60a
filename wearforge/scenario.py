"""sample_frame(recipe, seed, index) -> FrameSpec: all randomness of a frame, drawn in one place."""

from __future__ import annotations

from wearforge.framespec import FrameSpec, PartSpec, RenderSpec
from wearforge.randomizers.camera import sample_camera
from wearforge.randomizers.lights import sample_lights
from wearforge.randomizers.materials import sample_material
from wearforge.randomizers.physics import sample_physics
from wearforge.randomizers.poses import sample_pose
from wearforge.randomizers.sensor import sample_sensor
from wearforge.randomizers.wear import sample_wear
from wearforge.recipe import Recipe
from wearforge.seeding import Sampler


def sample_frame(recipe: Recipe, seed: int | None = None, index: int = 0, scene=None) -> FrameSpec:
    """Every value sampled for frame ``index``; depends only on (recipe, seed, index) and the twin.

    ``scene`` is the twin's SceneInfo (read once with wearforge.stage.read_scene); it is looked up
    and cached when omitted.
    """
    if scene is None:
        from wearforge.stage import scene_for

        scene = scene_for(recipe)
    seed = recipe.seed if seed is None else seed
    sampler = Sampler(seed, index)
    rnd = recipe.randomizers
    parts = []
    for part in scene.parts:
        pose, visible = sample_pose(rnd.poses, part.path, part.semantic_class, sampler)
        parts.append(PartSpec(
            path=part.path,
            semantic_class=part.semantic_class,
            visible=visible,
            pose=pose,
            material=sample_material(rnd.materials, part.path, part.semantic_class, sampler),
            physics=sample_physics(rnd.physics, part.path, part.semantic_class, sampler),
            wear=sample_wear(rnd.wear, part.path, part.semantic_class, sampler),
        ))
    return FrameSpec(
        recipe=recipe.name,
        seed=seed,
        index=index,
        usd=scene.usd,
        parts=parts,
        lights=sample_lights(recipe, scene, sampler),
        camera=sample_camera(recipe, scene, sampler),
        sensor=sample_sensor(rnd.sensor, sampler),
        render=RenderSpec(resolution=list(recipe.render.resolution), spp=recipe.render.spp,
                          max_depth=recipe.render.max_depth, seed=sampler.seed_for("render/seed")),
    )
