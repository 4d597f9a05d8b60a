"""sample_frame(recipe, seed, index) -> FrameSpec: all randomness of a frame, drawn in one place."""

from __future__ import annotations

from wearforge.framespec import FrameSpec, PartSpec, RenderSpec
from wearforge.randomizers.background import sample_background
from wearforge.randomizers.camera import sample_camera, sample_resolution
from wearforge.randomizers.lights import sample_lights
from wearforge.randomizers.materials import sample_material
from wearforge.randomizers.physics import sample_physics
from wearforge.randomizers.poses import sample_pose
from wearforge.randomizers.sensor import sample_sensor
from wearforge.randomizers.wear import sample_wear
from wearforge.recipe import Recipe, matches
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
    background = sample_background([b.weight for b in recipe.scene.backgrounds or []], scene.backgrounds, sampler)
    poses = {p.path: sample_pose(rnd.poses, p.path, p.semantic_class, sampler) for p in scene.parts}
    _distractor_counts(recipe, scene, poses, sampler)
    for i, entry in enumerate(rnd.poses):
        if entry.scatter is not None:
            _scatter(i, entry, scene, poses, sampler, background)
    parts = []
    for part in scene.parts:
        pose, visible = poses[part.path]
        parts.append(PartSpec(
            path=part.path,
            semantic_class=part.semantic_class,
            visible=visible,
            pose=pose,
            material=sample_material(rnd.materials, part.path, part.semantic_class, sampler),
            physics=sample_physics(rnd.physics, part.path, part.semantic_class, sampler),
            wear=sample_wear(rnd.wear, part.path, part.semantic_class, sampler),
        ))
    spec = FrameSpec(
        recipe=recipe.name,
        seed=seed,
        index=index,
        usd=scene.usd,
        parts=parts,
        lights=sample_lights(recipe, scene, sampler),
        camera=sample_camera(recipe, scene, sampler),
        sensor=sample_sensor(rnd.sensor, sampler),
        render=RenderSpec(resolution=sample_resolution(recipe, sampler), spp=recipe.render.spp,
                          max_depth=recipe.render.max_depth, seed=sampler.seed_for("render/seed")),
        background=background,
        hidden=list(scene.background_hides.get(background, ())) if background else [],
    )
    if recipe.focus is not None:  # hard-case recipes (wearforge focus): pull some frames towards a hard case
        from wearforge.focus import apply_focus

        spec = apply_focus(spec, recipe.focus, sampler)
    return spec


def _scatter(i: int, entry, scene, poses: dict, sampler: Sampler, background: str | None) -> None:
    """Jointly place the visible parts an entry selects (in scene order) on its surface (with backgrounds:
    on the surface as the frame's background leaves it; scene.support is the background itself)."""
    from wearforge.randomizers.scatter import Footprint, scatter
    from wearforge.stage import surface_key

    chosen = []
    for part in scene.parts:
        pose, visible = poses[part.path]
        if visible and matches(entry.parts, part.path, part.semantic_class):
            lo, hi = scene.bounds[part.path]
            chosen.append((part.path, Footprint(lo, hi), pose.rotation or list(part.rotation),
                           pose.scale or list(part.scale)))
    placed = scatter(entry.scatter, chosen, scene.surfaces[surface_key(entry.scatter.surface, background)], f"poses/{i}/scatter", sampler,
                     scene.up, scene.meters_per_unit)
    for path, values in placed.items():
        pose, _ = poses[path]
        if values.get("visible") is False:
            poses[path] = (pose, False)
        else:
            poses[path] = (pose.model_copy(update=values), True)


def _distractor_counts(recipe: Recipe, scene, poses: dict, sampler: Sampler) -> None:
    """Hide the instances beyond this frame's count of each distractor group."""
    for g, group in enumerate(recipe.scene.distractors):
        if group.count is None:
            continue
        n = int(round(sampler.draw(f"distractors/{g}/count", group.count)))
        for path in scene.distractors[g][max(n, 0):]:
            pose, _ = poses[path]
            poses[path] = (pose, False)
