"""One Replicator randomizer per wearforge randomizer, registered with ``rep.randomizer.register``.

    import omni.replicator.core as rep
    from wearforge.kit.randomizers import register_randomizers
    register_randomizers(rep)
    with rep.trigger.on_frame(max_execs=16):
        rep.randomizer.wearforge_poses("recipes/demo.yaml", frames=16)

Each call samples the recipe's FrameSpecs (same seed, same values as standalone) and drives its part of
the scene with ``rep.distribution.sequence``; it returns the last node it built, as Replicator expects.
"""

from __future__ import annotations

from pathlib import Path

from wearforge.kit import graph

NAMES = ("wearforge_poses", "wearforge_materials", "wearforge_physics", "wearforge_lights", "wearforge_camera",
         "wearforge_wear")


def prepare(recipe, stage, frames: int | None = None, seed: int | None = None):
    """FrameSpecs for the recipe on this stage, plus the prims the graph writes to."""
    from pxr import Usd, UsdPhysics

    from wearforge.recipe import Recipe, load_recipe
    from wearforge.scenario import sample_frame
    from wearforge.stage import add_recipe_layer, bind_preview_surface, frame_layer, preview_surfaces, read_scene

    if not isinstance(recipe, Recipe):
        recipe = load_recipe(Path(recipe))
    add_recipe_layer(recipe, stage)
    scene = read_scene(recipe, stage)
    count = frames or recipe.frames
    specs = [sample_frame(recipe, seed, i, scene) for i in range(count)]
    shaders, colliders, authored = {}, {}, {}
    for i, part in enumerate(scene.parts):
        prim = stage.GetPrimAtPath(part.path)
        surfaces = preview_surfaces(prim)
        if not surfaces and any(s.parts[i].material.inputs() for s in specs):
            # bare CAD geometry: a UsdPreviewSurface of our own for the graph to drive, as step mode binds one
            with Usd.EditContext(stage, frame_layer(stage)):
                surfaces = bind_preview_surface(stage, prim, part.path)
        shaders[part.path] = [str(s.GetPath()) for s in surfaces]
        colliders[part.path] = [str(p.GetPath()) for p in Usd.PrimRange(prim) if p.HasAPI(UsdPhysics.CollisionAPI)]
        authored[part.path] = {}
        for attribute in graph.MATERIAL_INPUTS.values():
            inp = surfaces[0].GetInput(attribute.split(":", 1)[1]) if surfaces else None
            value = inp.Get() if inp else None
            if value is not None:
                authored[part.path][attribute] = tuple(value) if hasattr(value, "__len__") else float(value)
    return recipe, scene, specs, shaders, colliders, authored


def register_randomizers(rep, stage_getter=None) -> list[str]:
    """Register wearforge_poses / _materials / _physics / _lights / _camera under rep.randomizer."""
    def stage():
        if stage_getter is not None:
            return stage_getter()
        import omni.usd

        return omni.usd.get_context().get_stage()

    seq = lambda: rep.distribution.sequence  # noqa: E731

    def node(items):
        """Replicator wants the node of what was built (the last item that exists)."""
        items = [i for i in items if i is not None]
        if not items:
            raise ValueError("the recipe randomizes nothing this randomizer drives")
        return items[-1].node

    def wearforge_poses(recipe, frames=None, seed=None):
        _, scene, specs, _, _, _ = prepare(recipe, stage(), frames, seed)
        return node([graph.register_pose(rep, info, [s.parts[i] for s in specs], seq())
                     for i, info in enumerate(scene.parts)])

    def wearforge_materials(recipe, frames=None, seed=None):
        _, scene, specs, shaders, _, authored = prepare(recipe, stage(), frames, seed)
        return node([graph.register_material(rep, info.path, [s.parts[i] for s in specs], shaders[info.path], seq(),
                                             authored[info.path])
                     for i, info in enumerate(scene.parts)])

    def wearforge_physics(recipe, frames=None, seed=None):
        _, scene, specs, _, colliders, _ = prepare(recipe, stage(), frames, seed)
        return node([graph.register_physics(rep, info.path, [s.parts[i] for s in specs], colliders[info.path], seq())
                     for i, info in enumerate(scene.parts)])

    def wearforge_lights(recipe, frames=None, seed=None):
        _, _, specs, _, _, _ = prepare(recipe, stage(), frames, seed)
        graph.check_graph_mode(specs)
        return node([graph.register_lights(rep, specs, seq(), graph.GraphPlan(len(specs)))])

    def wearforge_camera(recipe, frames=None, seed=None):
        _, _, specs, _, _, _ = prepare(recipe, stage(), frames, seed)
        return node([graph.register_camera(rep, specs, seq(), graph.GraphPlan(len(specs)))])

    def wearforge_wear(recipe, frames=None, seed=None, texture_dir="out/wearforge_textures"):
        """Grow every frame's wear up front, write the maps as files and swap them per frame (graph mode)."""
        from wearforge.kit.textures import TextureBinder
        from wearforge.twin_reader import read_frame_state, read_geometry
        from wearforge.wear.twin_stacks import WearTextures
        from wearforge.stage import apply_frame, clear_frame
        from wearforge.transforms import up_vector

        st = stage()
        _, _, specs, _, _, _ = prepare(recipe, st, frames, seed)
        meshes = read_geometry(st)
        wear = WearTextures(meshes, up_vector(st))
        binder = TextureBinder(texture_dir, ui=None)
        read = list(meshes)  # the wear may replace a mesh by a per-triangle UV atlas layout
        per_mesh: dict[str, list[dict[str, str]]] = {}  # stacks are per mesh, as standalone
        for spec in specs:
            apply_frame(st, spec)
            stacks, _ = wear.stacks(spec, read_frame_state(st, meshes, spec.camera.path))
            for index, stack in stacks.items():
                path = meshes[index].prim_path
                per_mesh.setdefault(path, []).append(binder.push(path, stack, spec.index))
        clear_frame(st)
        from wearforge.kit.geometry import author_mesh
        from wearforge.stage import frame_layer

        for index, geo in enumerate(meshes):
            if geo is not read[index]:  # RTX must sample the stacks with the UVs they were grown for
                author_mesh(st, frame_layer(st), geo)
        items = []
        for mesh, frames_uris in per_mesh.items():
            if len(frames_uris) != len(specs):
                raise graph.GraphModeError(f"{mesh}: wear appears in some frames only; run this recipe in step mode")
            material = binder.bind(st, mesh, frames_uris[0])
            for input_name in frames_uris[0]:
                items.append(rep.modify.attribute(f"inputs:{input_name}", seq()([u[input_name] for u in frames_uris]),
                                                  attribute_type="asset", input_prims=[f"{material}/Shader"]))
        return node(items)

    for fn in (wearforge_poses, wearforge_materials, wearforge_physics, wearforge_lights, wearforge_camera,
               wearforge_wear):
        rep.randomizer.register(fn, override=True)
    return list(NAMES)
