"""The Isaac Sim adapter against a stand-in for omni.replicator.core 1.12.27 with the real signatures.

The Kit path is verified here against those signatures and the data it feeds them; it is not run in
Isaac Sim on these machines.
"""

import asyncio
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "kit_standin"))
import omni.replicator.core as rep  # noqa: E402  (the stand-in)
import omni.usd  # noqa: E402

from wearforge.kit import graph  # noqa: E402
from wearforge.kit.randomizers import prepare, register_randomizers  # noqa: E402
from wearforge.kit.run import Run, main, run_recipe_async  # noqa: E402
from wearforge.kit.writers import register_writers  # noqa: E402
from wearforge.recipe import load_recipe  # noqa: E402
from wearforge.stage import open_twin as _open_twin  # noqa: E402
from wearforge.transforms import look_at_matrix, trs_to_matrix  # noqa: E402

from conftest import DEMO, ROOT  # noqa: E402


SMALL = ["render.resolution=[64,48]", "render.spp=4"] + [f"randomizers.wear.{i}.resolution=32" for i in range(4)]


def open_twin(recipe):
    """The twin as Kit would have it open: the stage of the UsdContext."""
    stage = _open_twin(recipe)
    omni.usd.get_context().set_stage(stage)
    return stage


@pytest.fixture(autouse=True)
def clean():
    rep.reset()
    yield
    rep.reset()
    omni.usd.get_context().set_stage(None)


def calls(op):
    return [n for n in rep.GRAPH if n["op"] == op]


def test_the_stand_in_enforces_the_real_signatures():
    with pytest.raises(ValueError, match="Position and any of"):
        rep.modify.pose(position=(0, 0, 0), position_x=1.0)
    with pytest.raises(ValueError, match="look_at"):
        rep.modify.pose(rotation=(0, 0, 0), look_at=(1, 1, 1))
    with pytest.raises(ValueError, match="Scale and size"):
        rep.modify.pose(scale=1.0, size=2.0)
    with pytest.raises(TypeError):
        rep.modify.pose(positon=(0, 0, 0))
    with pytest.raises(TypeError):
        with rep.trigger.on_frame(max_exec=3):
            pass
    with pytest.raises(TypeError):
        rep.distribution.sequence()


def test_a_recipe_compiles_to_a_graph_that_replays_its_framespecs():
    recipe = load_recipe(DEMO, ["randomizers.wear=[]"])
    stage = open_twin(recipe)
    recipe, scene, specs, shaders, colliders, authored = prepare(recipe, stage, frames=5)
    plan = graph.compile_graph(rep, specs, scene, shaders, colliders, rt_subframes=4, authored=authored)
    assert plan.frames == 5 and plan.parts == [p.path for p in scene.parts]
    trig = calls("trigger.on_frame")[0]
    assert trig["args"]["max_execs"] == 5 and trig["args"]["rt_subframes"] == 4 and trig["layer"] == "wearforge"
    seqs = calls("distribution.sequence")
    assert seqs and all(len(s["args"]["items"]) == 5 and s["args"]["ordered"] for s in seqs)
    # the gear's yaw and colour per frame are exactly the FrameSpec's
    gear = [i for i, p in enumerate(scene.parts) if p.semantic_class == "gear"][0]
    pose = next(n for n in calls("modify.pose") if n["prims"] == [scene.parts[gear].path])
    rotations = pose["args"]["rotation"].node["args"]["items"]
    assert [r[2] for r in rotations] == [s.parts[gear].pose.rotation[2] for s in specs]
    colour = next(n for n in calls("modify.attribute") if n["args"]["name"] == "inputs:diffuseColor"
                  and n["args"]["input_prims"] == shaders[scene.parts[gear].path])
    assert colour["args"]["value"].node["args"]["items"] == [tuple(s.parts[gear].material.base_color) for s in specs]
    friction = calls("physics.physics_material")
    assert len(friction) == 3 and friction[0]["args"]["input_prims"]
    key = next(n for n in calls("modify.attribute") if n["args"]["name"] == "inputs:intensity"
               and n["args"]["input_prims"] == ["/World/Lights/Key"])
    assert key["args"]["value"].node["args"]["items"] == [next(l for l in s.lights if l.path == "/World/Lights/Key").intensity
                                                          for s in specs]
    # the camera's rotation reproduces the standalone look-at + roll
    cam = next(n for n in calls("modify.pose") if n["prims"] == [specs[0].camera.path])
    for spec, pos, rot in zip(specs, cam["args"]["position"].node["args"]["items"], cam["args"]["rotation"].node["args"]["items"]):
        c = spec.camera
        want = look_at_matrix(np.array(c.position), np.array(c.look_at), np.array(c.up), c.roll)
        assert np.allclose(trs_to_matrix(pos, rot, (1, 1, 1)), want, atol=1e-9)


def test_graph_mode_drives_a_material_of_its_own_on_bare_cad_parts(tmp_path, write_recipe):
    """A part with no material at all: graph mode binds a UsdPreviewSurface (wearforge's frame layer) and
    sequences the sampled colours into it, as step mode and the standalone renderer show them."""
    from conftest import make_cube_twin

    twin = make_cube_twin(tmp_path / "cube.usda", size=0.1)
    recipe = load_recipe(write_recipe({
        "scene": {"usd": str(twin), "parts": [{"path": "/World/Cube", "class": "cube"}]},
        "camera": {"position": [0.5, -0.5, 0.5], "look_at": [0, 0, 0]},
        "randomizers": {"materials": [{"parts": "class:cube",
                                       "preset": {"choice": ["painted_safety_yellow", "painted_blue"]}}]},
        "render": {"resolution": [32, 24], "spp": 1}, "frames": 4, "seed": 1}))
    stage = open_twin(recipe)
    recipe, scene, specs, shaders, colliders, authored = prepare(recipe, stage, frames=4)
    assert len(shaders["/World/Cube"]) == 1
    assert not stage.GetRootLayer().dirty
    graph.compile_graph(rep, specs, scene, shaders, colliders, authored=authored)
    colour = next(n for n in calls("modify.attribute") if n["args"]["name"] == "inputs:diffuseColor")
    assert colour["args"]["input_prims"] == shaders["/World/Cube"]
    assert colour["args"]["value"].node["args"]["items"] == [tuple(s.parts[0].material.base_color) for s in specs]


def test_graph_mode_refuses_per_frame_structure_changes():
    recipe = load_recipe(ROOT / "recipes" / "full_randomization.yaml", ["frames=6"])
    stage = open_twin(recipe)
    _, scene, specs, shaders, colliders, _ = prepare(recipe, stage)
    with pytest.raises(graph.GraphModeError, match="step mode"):
        graph.compile_graph(rep, specs, scene, shaders, colliders)


def test_registered_randomizers_drive_their_part_of_the_scene():
    recipe = load_recipe(DEMO, ["randomizers.wear=[]"])
    stage = open_twin(recipe)
    names = register_randomizers(rep, stage_getter=lambda: stage)
    assert names == ["wearforge_poses", "wearforge_materials", "wearforge_physics", "wearforge_lights", "wearforge_camera",
                     "wearforge_wear"]
    with rep.trigger.on_frame(max_execs=3):
        node = rep.randomizer.wearforge_poses(recipe, frames=3)
        rep.randomizer.wearforge_materials(recipe, frames=3)
        rep.randomizer.wearforge_camera(recipe, frames=3)
    assert node["op"] == "get.prim_at_path"
    assert all(len(s["args"]["items"]) == 3 for s in calls("distribution.sequence"))
    assert {n["op"] for n in rep.GRAPH} >= {"modify.pose", "modify.attribute"}


def _payload_layouts(data):
    import copy

    rp = "RenderProduct_Replicator"
    a, b, c = (copy.deepcopy(data) for _ in range(3))  # each layout owns its arrays, as a render product would
    legacy = {name: {"data": p["data"], "info": {k: v for k, v in p.items() if k != "data"}}
              for name, p in c.items() if isinstance(p, dict) and "data" in p}
    legacy["camera_params"] = c["camera_params"]
    return {"annotator": {"annotators": {name: {rp: payload} for name, payload in a.items()},
                          "trigger_outputs": {"on_frame": 0}},
            "renderProduct": {"renderProducts": {rp: b}},
            "legacy": legacy}


def test_registered_writers_read_all_three_payload_layouts_the_same(tmp_path, write_recipe, cell_recipe):
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import read_scene

    recipe = load_recipe(write_recipe(cell_recipe))
    stage = open_twin(recipe)
    spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
    data = StandaloneRenderer(stage).render(spec)
    data.pop("timing")
    data.pop("frame_spec")
    names = register_writers(rep)
    assert "WearforgeCocoWriter" in names and set(names) <= set(rep.WriterRegistry._writers)
    outputs = {}
    for layout, payload in _payload_layouts(data).items():
        writer = rep.WriterRegistry.get("WearforgeBasicWriter")
        writer.initialize(output_dir=str(tmp_path / layout))
        assert "instance_segmentation_fast" in writer.annotators
        writer.write(payload)
        if layout == "annotator":  # a render product reuses its buffers: the queued frame must not change
            payload["annotators"]["rgb"]["RenderProduct_Replicator"]["data"][:] = 0
        writer.on_final_frame()
        outputs[layout] = {p.name: p.read_bytes() for p in (tmp_path / layout).glob("*_0000.*")}
    assert outputs["annotator"] and outputs["annotator"] == outputs["renderProduct"]
    for name in ("rgb_0000.png", "instance_segmentation_0000.png", "bounding_box_2d_tight_0000.npy"):
        assert outputs["legacy"][name] == outputs["annotator"][name]
    assert "frame_spec_0000.json" not in outputs["annotator"]  # used on its own, the payload is written as it is
    import cv2

    rgb = cv2.imread(str(tmp_path / "annotator" / "rgb_0000.png"), cv2.IMREAD_UNCHANGED)
    assert rgb[..., :3].any()


def test_step_mode_applies_each_framespec_and_destroys_the_render_product(tmp_path):
    recipe = load_recipe(DEMO, SMALL + ["randomizers.wear=[]", "output.writers=[basic, coco]"])
    stage = open_twin(recipe)
    seen = []
    count = asyncio.run(run_recipe_async(rep, recipe, out=str(tmp_path), frames=3, rt_subframes=2, stage=stage,
                                         progress=seen.append))
    assert count == 3 and len(rep.orchestrator.steps) == 3 and rep.orchestrator.steps[0]["rt_subframes"] == 2
    assert all(s.get("async") and s["delta_time"] == 0 for s in rep.orchestrator.steps)
    assert calls("render_product.destroy") and seen[-1] == "wearforge: frame 3/3"
    assert not stage.GetPrimAtPath("/Render/RenderProduct_wearforge")  # released
    assert not rep.WriterRegistry._active_writers
    run = Run(rep, stage, recipe, str(tmp_path / "x"), frames=2)
    for _ in run.steps(1):
        pass
    assert run.current.index == 1 and run.accept
    asyncio.run(run.close_async())


def test_headless_runner_rejects_a_bad_recipe_with_one_message(tmp_path, capsys):
    from isaacsim import SimulationApp

    SimulationApp.instances.clear()
    assert main([str(tmp_path / "missing.yaml")]) == 2  # checked before Isaac Sim starts
    assert "recipe not found" in capsys.readouterr().err and not SimulationApp.instances
    bad = tmp_path / "bad.yaml"
    bad.write_text("frames: -1\n")
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "frames" in err and "Traceback" not in err
    assert SimulationApp.instances[-1].closed  # the app started for validation is closed again


def test_panel_model_edits_become_validated_overrides(tmp_path):
    from wearforge.kit.panel_model import PanelModel

    events = []
    model = PanelModel(listeners=[lambda m: events.append(m.status)])
    assert not model.open_recipe(tmp_path / "missing.yaml") and "not found" in model.error
    assert model.open_recipe(DEMO) and model.error == ""
    assert model.defects["rust"].enabled and not model.defects["cracks"].enabled  # read from the recipe
    model.set_frames(3)
    model.set_output(str(tmp_path / "panel"))
    model.toggle_writer("coco", True)
    model.set_defect("cracks", enabled=True, intensity=1.0)
    model.set_defect("rust", enabled=False)
    model.set_light_intensity("/World/Lights/Key", 42.0)
    recipe = model.effective_recipe()
    assert recipe.frames == 3 and recipe.output.dir == str(tmp_path / "panel")
    assert set(recipe.output.writers) == {"basic", "coco"}
    layers = [layer.type for layer in recipe.randomizers.wear[0].layers]
    assert "cracks" in layers and "rust" not in layers
    from wearforge.gallery import INTENSITY

    name, (_, _, high), _ = INTENSITY["cracks"]
    assert recipe.randomizers.wear[0].layers[layers.index("cracks")].params[name].value == high  # the high end
    assert recipe.randomizers.lights[-1].light == "/World/Lights/Key"
    with pytest.raises(ValueError):
        model.toggle_writer("parquet", True)
    assert events


def small_demo(write_recipe, tmp_path, **changes):
    """The demo recipe, tiny: 64x48, 4 spp, 32-texel wear (a file, as the panel opens files)."""
    import yaml

    data = yaml.safe_load(DEMO.read_text())
    data["render"] = {"resolution": [64, 48], "spp": 4}
    for entry in data["randomizers"]["wear"]:
        entry["resolution"] = 32
    data["output"]["dir"] = str(tmp_path / "out")
    data.update(changes)
    return write_recipe(data, "small_demo")


def test_panel_model_runs_and_stops_with_progress(tmp_path, write_recipe):
    from wearforge.kit.panel_model import PanelModel

    model = PanelModel()
    model.open_recipe(small_demo(write_recipe, tmp_path))
    model.set_frames(4)
    model.set_output(str(tmp_path / "run"))
    model.wear_resolution = 32
    stage = open_twin(model.effective_recipe())
    progress = []

    def stop_after_two(m):
        progress.append(m.done)
        if m.done == 2:
            m.stop()

    model.listeners.append(stop_after_two)
    assert asyncio.run(model.run(rep, stage)) == 2
    assert model.status == "idle" and model.total == 4 and 2 in progress and calls("render_product.destroy")
    model.listeners.clear()
    assert asyncio.run(model.run(rep, stage)) == 4 and model.status == "done" and model.progress == 1.0


def test_panel_model_previews_the_selected_parts_wear():
    from wearforge.kit.panel_model import PanelModel

    model = PanelModel()
    model.open_recipe(DEMO)
    model.set_defect("rust", enabled=True, intensity=1.0)
    model.wear_resolution = 64
    stage = open_twin(model.effective_recipe())
    image = asyncio.run(model.preview_wear_async(stage, "/World/Parts/PipeSpool"))
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert (image[..., 0].astype(int) - image[..., 2]).max() > 40  # rust shows
    from wearforge.stage import frame_layer

    assert not frame_layer(stage).rootPrims and not stage.GetSessionLayer().rootPrims


def _stack(res=32):
    from wearforge.wear import CleanMaterial, LayerSpec, bake, build_stack

    sys.path.insert(0, str(ROOT / "usd_assets"))
    import build_assets

    m = build_assets.bracket()
    b = bake(m.points, m.triangles(), m.normals, m.uvs, res, occlusion_resolution=16, rays=4)
    return build_stack(b, CleanMaterial((0.05, 0.16, 0.42), 0.0, 0.45), [LayerSpec("rust", 3, {"coverage": 0.5})],
                       keep_device=True)


def test_wear_maps_go_to_dynamic_textures_from_the_device_pointer_and_bind_omnipbr(tmp_path):
    import omni.ui as ui  # the stand-in
    from pxr import UsdShade

    from wearforge.kit.textures import TextureBinder

    ui.DynamicTextureProvider.uploads.clear()
    stack = _stack()
    binder = TextureBinder(tmp_path / "textures")
    assert binder.ui is ui
    uris = binder.push("/World/Parts/Bracket", stack)
    ptrs = {u["ptr"] for u in ui.DynamicTextureProvider.uploads}
    assert ptrs == {a.ptr for a in stack.device_rgba.values()}  # straight from the Warp arrays
    assert all(u["sizes"] == [32, 32] and u["format"] is ui.TextureFormat.RGBA8_UNORM for u in ui.DynamicTextureProvider.uploads)
    assert set(uris) == {"diffuse_texture", "reflectionroughness_texture", "metallic_texture", "normalmap_texture"}
    assert all(v.startswith("dynamic://wearforge_World_Parts_Bracket_") for v in uris.values())
    stage = open_twin(load_recipe(DEMO))
    material = binder.bind(stage, "/World/Parts/Bracket", uris)
    shader = UsdShade.Shader(stage.GetPrimAtPath(f"{material}/Shader"))
    assert shader.GetInput("diffuse_texture").Get().path == uris["diffuse_texture"]
    # OmniPBR ignores these maps unless their influence is 1; data maps are read in colour space raw
    assert shader.GetInput("reflection_roughness_texture_influence").Get() == 1.0
    assert shader.GetInput("metallic_texture_influence").Get() == 1.0
    assert shader.GetInput("diffuse_texture").GetAttr().GetColorSpace() == "sRGB"
    assert {shader.GetInput(n).GetAttr().GetColorSpace() for n in uris if n != "diffuse_texture"} == {"raw"}
    bound, _ = UsdShade.MaterialBindingAPI(stage.GetPrimAtPath("/World/Parts/Bracket/Geom")).ComputeBoundMaterial()
    assert str(bound.GetPath()) == material
    assert not list((tmp_path / "textures").glob("*.png"))
    assert stage.GetRootLayer().dirty is False  # only wearforge's frame layer changed


def test_headless_without_omni_ui_binds_texture_files(tmp_path):
    import cv2

    from wearforge.kit.textures import TextureBinder

    stack = _stack()
    binder = TextureBinder(tmp_path / "textures", ui=None)
    uris = binder.push("/World/Parts/Bracket", stack, frame=7)
    for uri in uris.values():
        assert uri.endswith("_000007.png") and cv2.imread(uri, cv2.IMREAD_UNCHANGED).shape == (32, 32, 4)
    base = cv2.imread(uris["diffuse_texture"], cv2.IMREAD_UNCHANGED)[..., [2, 1, 0]]
    from wearforge.color import linear_to_srgb

    expected = np.round(linear_to_srgb(stack.base_color) * 255)
    assert np.abs(base.astype(int) - expected).max() <= 1  # the device packing matches the host maps


def test_graph_mode_wear_swaps_texture_files_per_frame(tmp_path):
    recipe = load_recipe(DEMO, ["randomizers.wear=[{parts: class:pipe_spool, resolution: 32, layers: [{type: rust}]}]"])
    stage = open_twin(recipe)
    register_randomizers(rep, stage_getter=lambda: stage)
    rep.randomizer.wearforge_wear(recipe, frames=3, texture_dir=str(tmp_path))
    swaps = [n for n in calls("modify.attribute") if n["args"]["name"].endswith("_texture")]
    assert len(swaps) == 4
    files = swaps[0]["args"]["value"].node["args"]["items"]
    assert len(files) == 3 and len(set(files)) == 3 and all(Path(f).is_file() for f in files)


def test_label_texture_round_trips_through_any_exposure_and_rejects_unknown_codes():
    from types import SimpleNamespace

    from wearforge.kit.defect_pass import decode_label_image, defect_maps, encode_part_labels

    rng = np.random.default_rng(0)
    stacks = {}
    for index in (3, 5):  # one part, two meshes: occurrences are numbered over both
        cls = rng.integers(0, 11, (40, 50)).astype(np.uint8)
        inst = np.where(cls > 0, (index << 24) | rng.integers(1, 400, (40, 50)), 0).astype(np.uint32)
        stacks[index] = SimpleNamespace(defect_class=cls, defect_instance=inst)
    textures, lookup = encode_part_labels(stacks)
    assert len(lookup) == sum(len(np.unique(s.defect_instance[s.defect_instance > 0])) for s in stacks.values())
    for exposure in (1e-3, 1.0, 37.0):
        for index, stack in stacks.items():
            tex = textures[index]
            noisy = tex[..., :3] * exposure * (1 + rng.normal(0, 1e-4, tex[..., :3].shape))
            lit, code, occ = decode_label_image(noisy)
            assert lit.all() and np.array_equal(code, stack.defect_class)
            back = np.vectorize(lambda k: lookup.get(int(k), (0, 0))[1])(occ)
            assert np.array_equal(back, stack.defect_instance)
    lit, code, _ = decode_label_image(np.zeros((4, 4, 4)))
    assert not lit.any() and not code.any()
    # a class code past the table, or an occurrence index the part's table lacks, is no label (not a neighbour)
    bad = np.zeros((1, 3, 3), np.float32)
    bad[..., 0] = 1.0
    bad[0, 0, 1] = (15 * 16 + 0.5) / 256  # class 15: not a defect class
    bad[0, 1, 1] = (1 * 16 + 15 + 0.5) / 256  # rust, occurrence index 15 * 256: beyond the table
    bad[0, 2, 1] = (1 * 16 + 0.5) / 256  # rust, occurrence 1: known
    bad[0, :, 2] = (1 + 0.5) / 256
    code, mesh, occurrence = defect_maps(bad, np.full((1, 3), 7), {7: {1: (3, 42)}}, {7: [3]})
    assert code.tolist() == [[0, 0, 1]] and occurrence.tolist() == [[0, 0, 42]] and mesh[0, 2] == 3


def test_the_stand_in_behaves_like_replicator_where_adapters_break(tmp_path):
    """The stand-in's own contract (tests/kit_standin docstrings name the real sources)."""
    recipe = load_recipe(DEMO, SMALL + ["randomizers.wear=[]"])
    stage = open_twin(recipe)
    from wearforge.stage import apply_frame
    from wearforge.scenario import sample_frame
    from wearforge.stage import read_scene

    apply_frame(stage, sample_frame(recipe, None, 0, read_scene(recipe, stage)))
    camera = "/wearforge/Camera"
    rps = [rep.create.render_product(camera, (32, 24), name="a"), rep.create.render_product(camera, (16, 12), name="b")]
    seen = {}

    class Probe(rep.Writer):
        def __init__(self, layout):
            self.annotators = ["rgb", "instance_segmentation_fast"]
            self.data_structure = layout

        def write(self, data):
            seen[self.data_structure] = data

    rep.WriterRegistry.register(Probe)
    writers = []
    for layout in ("annotator", "renderProduct", "legacy"):
        w = rep.WriterRegistry.get("Probe")
        assert not hasattr(w, "data_structure") or w.data_structure == "legacy"  # __new__ only: no __init__ yet
        w.initialize(layout=layout)
        w.attach(rps)
        writers.append(w)
    annotator = rep.AnnotatorRegistry.get_annotator("rgb")
    annotator.attach([rps[0]])
    with pytest.raises(rep.OrchestratorError, match="step_async"):
        rep.orchestrator.step()  # not a SimulationApp process
    asyncio.run(rep.orchestrator.step_async(delta_time=0))
    assert annotator.get_data() is None  # no data on the first update after attaching
    assert set(seen["annotator"]["annotators"]["rgb"]) == {"RenderProduct_a", "RenderProduct_b"}
    assert {"trigger_outputs", "reference_time"} <= set(seen["annotator"])
    assert seen["renderProduct"]["renderProducts"]["RenderProduct_b"]["resolution"] == (16, 12)
    assert "RenderProduct_a_rgb" in seen["legacy"]  # several render products: prefixed legacy keys
    asyncio.run(rep.orchestrator.step_async(delta_time=0))
    view = annotator.get_data()
    assert view.shape == (24, 32, 4) and view.any()
    annotator.detach()
    assert not view.any()  # the node's buffer died with it
    with pytest.raises(rep.AnnotatorError):
        annotator.get_data()
    finals = []
    for w in writers:
        w.on_final_frame = lambda w=w: finals.append(w.data_structure)
    asyncio.run(rep.orchestrator.wait_until_complete_async())
    assert sorted(finals) == ["annotator", "legacy", "renderProduct"]
    # clearing the session layer takes Replicator's prims with it: the next step fails as the real one stops
    stage.GetSessionLayer().Clear()
    with pytest.raises(rep.OrchestratorError):
        asyncio.run(rep.orchestrator.step_async(delta_time=0))
    with rep.new_layer("probe"):
        raise ValueError("swallowed, as the real new_layer does")
    assert isinstance(rep.SWALLOWED[-1], ValueError)
    rep.modify.attribute("inputs:notAuthored", 1.0, input_prims=[camera])
    assert rep.SKIPPED_ATTRIBUTES == [(camera, "inputs:notAuthored")]
    rep.modify.attribute("inputs:notAuthored", 1.0, attribute_type="float", input_prims=[camera])
    assert len(rep.SKIPPED_ATTRIBUTES) == 1


BACKGROUNDS = ["scene.backgrounds=[{usd: asset:conveyor_belt}, {usd: asset:workbench}, {usd: asset:tote}]"]


def test_graph_mode_switches_the_background_per_frame_as_the_framespecs_draw_it():
    recipe = load_recipe(DEMO, ["randomizers.wear=[]"] + BACKGROUNDS + ["scene.backgrounds.2.hide=[/World/Bin]"])
    omni.usd.get_context().open_stage(str(recipe.usd_path()))  # the user's file, as File > Open leaves it
    stage = omni.usd.get_context().get_stage()
    recipe, scene, specs, shaders, colliders, authored = prepare(recipe, stage, frames=6)
    plan = graph.compile_graph(rep, specs, scene, shaders, colliders, authored=authored)
    assert plan.backgrounds == list(scene.backgrounds) and not rep.MISSING_PRIMS
    assert len({s.background for s in specs}) >= 2
    for path in scene.backgrounds:
        node = next(n for n in calls("modify.attribute") if n["args"]["name"] == "visibility" and n["prims"] == [path])
        assert node["args"]["value"].node["args"]["items"] == [
            "inherited" if s.background == path else "invisible" for s in specs]
    bin_ = next(n for n in calls("modify.attribute") if n["args"]["name"] == "visibility" and n["prims"] == ["/World/Bin"])
    assert bin_["args"]["value"].node["args"]["items"] == [
        "invisible" if s.background == scene.backgrounds[2] else "inherited" for s in specs]
    # the twin's own layer is untouched (Replicator's new_layer only adds its sublayer): the backgrounds and the
    # deactivated support are opinions of wearforge's sublayer of the session layer
    root = stage.GetRootLayer()
    assert root.GetPrimAtPath("/World/Backgrounds") is None and root.GetPrimAtPath("/World/Table").active
    assert not stage.GetPrimAtPath("/World/Table").IsActive()


def test_step_mode_shows_the_drawn_background_on_a_stage_kit_opened(tmp_path):
    recipe = load_recipe(DEMO, SMALL + ["randomizers.wear=[]", "output.writers=[basic]"] + BACKGROUNDS)
    omni.usd.get_context().open_stage(str(recipe.usd_path()))
    stage = omni.usd.get_context().get_stage()
    run = Run(rep, stage, recipe, str(tmp_path), frames=6)
    drawn = [s.background for s in run.specs]
    assert len(set(drawn)) >= 2
    from pxr import UsdGeom

    for i in range(len(run.specs)):
        for rt in run.steps(i):
            asyncio.run(rep.orchestrator.step_async(rt_subframes=rt, delta_time=0.0))
        shown = [str(c.GetPath()) for c in stage.GetPrimAtPath("/World/Backgrounds").GetChildren()
                 if UsdGeom.Imageable(c).ComputeVisibility() != UsdGeom.Tokens.invisible]
        assert shown == [drawn[i]], (i, shown)
    asyncio.run(run.close_async())
    # a second run on the same stage without backgrounds: the table is back, the backgrounds are gone
    again = Run(rep, stage, load_recipe(DEMO, SMALL + ["randomizers.wear=[]"]), str(tmp_path / "again"), frames=1)
    assert stage.GetPrimAtPath("/World/Table").IsActive() and not stage.GetPrimAtPath("/World/Backgrounds")
    asyncio.run(again.close_async())
    import json

    for i in range(len(run.specs)):
        labels = json.loads((tmp_path / f"semantic_segmentation_labels_{i:04d}.json").read_text())
        assert {v["class"] for v in labels.values()} <= {"BACKGROUND", "UNLABELLED", "gear", "bracket", "pipe_spool",
                                                         "bin"}
        paths = json.loads((tmp_path / f"instance_segmentation_mapping_{i:04d}.json").read_text()).values()
        assert not any("Backgrounds" in p or p == "/World/Table" for p in paths)
