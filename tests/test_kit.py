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

from wearforge.kit import graph  # noqa: E402
from wearforge.kit.randomizers import prepare, register_randomizers  # noqa: E402
from wearforge.kit.run import Run, main, run_recipe, run_recipe_async  # noqa: E402
from wearforge.kit.writers import register_writers  # noqa: E402
from wearforge.recipe import load_recipe  # noqa: E402
from wearforge.stage import look_at_matrix, open_twin, trs_to_matrix  # noqa: E402

from conftest import DEMO, ROOT  # noqa: E402


@pytest.fixture(autouse=True)
def clean():
    rep.reset()
    yield
    rep.reset()


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
    frame_spec = data.pop("frame_spec")["data"]
    names = register_writers(rep)
    assert "WearforgeCocoWriter" in names and set(names) <= set(rep.WriterRegistry._writers)
    outputs = {}
    for layout, payload in _payload_layouts(data).items():
        writer = rep.WriterRegistry.get("WearforgeBasicWriter")
        writer.initialize(output_dir=str(tmp_path / layout))
        assert "instance_segmentation_fast" in writer.annotators
        writer.frame_spec = frame_spec
        writer.write(payload)
        if layout == "annotator":  # a render product reuses its buffers: the queued frame must not change
            payload["annotators"]["rgb"]["RenderProduct_Replicator"]["data"][:] = 0
        writer.on_final_frame()
        outputs[layout] = {p.name: p.read_bytes() for p in (tmp_path / layout).glob("*_0000.*")}
    assert outputs["annotator"] and outputs["annotator"] == outputs["renderProduct"]
    for name in ("rgb_0000.png", "instance_segmentation_0000.png", "bounding_box_2d_tight_0000.npy"):
        assert outputs["legacy"][name] == outputs["annotator"][name]
    assert "frame_spec_0000.json" in outputs["annotator"]
    import cv2

    rgb = cv2.imread(str(tmp_path / "annotator" / "rgb_0000.png"), cv2.IMREAD_UNCHANGED)
    assert rgb[..., :3].any()


def test_step_mode_applies_each_framespec_and_destroys_the_render_product(tmp_path):
    recipe = load_recipe(DEMO, ["randomizers.wear=[]", "output.writers=[basic, coco]"])
    stage = open_twin(recipe)
    seen = []
    count = run_recipe(rep, stage, recipe, out=str(tmp_path), frames=3, rt_subframes=2, progress=seen.append)
    assert count == 3 and len(rep.orchestrator.steps) == 3 and rep.orchestrator.steps[0]["rt_subframes"] == 2
    assert calls("render_product.destroy") and seen[-1] == "wearforge: frame 3/3"
    assert not stage.GetSessionLayer().rootPrims  # the user's stage is left as it was
    asyncio.run(run_recipe_async(rep, recipe, out=str(tmp_path / "async"), frames=2, stage=stage, progress=seen.append))
    assert rep.orchestrator.steps[-1].get("async") and len(calls("render_product.destroy")) == 2
    run = Run(rep, stage, recipe, str(tmp_path / "x"), frames=2)
    run.frame(1)
    assert [w.frame_spec["index"] for w in run.writers] == [1, 1]
    run.close()


def test_headless_runner_rejects_a_bad_recipe_before_starting_isaac_sim(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("frames: -1\n")
    assert main([str(bad)]) == 2
    assert "error:" in capsys.readouterr().err


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


def test_panel_model_runs_and_stops_with_progress(tmp_path):
    from wearforge.kit.panel_model import PanelModel

    model = PanelModel()
    model.open_recipe(DEMO)
    model.set_frames(4)
    model.set_output(str(tmp_path / "run"))
    stage = open_twin(model.effective_recipe())
    rep.AnnotatorRegistry.frames = {"HdrColor": np.zeros((8, 8, 4)), "instance_segmentation_fast": {
        "data": np.zeros((8, 8), np.uint32), "info": {"idToLabels": {}, "idToSemantics": {}}}}
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
    image = model.preview_wear(stage, "/World/Parts/PipeSpool")
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert (image[..., 0].astype(int) - image[..., 2]).max() > 40  # rust shows
    assert not stage.GetSessionLayer().rootPrims


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
    bound, _ = UsdShade.MaterialBindingAPI(stage.GetPrimAtPath("/World/Parts/Bracket/Geom")).ComputeBoundMaterial()
    assert str(bound.GetPath()) == material
    assert not list((tmp_path / "textures").glob("*.png"))
    assert stage.GetRootLayer().dirty is False  # only the session layer changed


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


def test_step_mode_with_wear_binds_textures_each_frame(tmp_path):
    import omni.ui as ui

    ui.DynamicTextureProvider.uploads.clear()
    recipe = load_recipe(DEMO, ["randomizers.wear=[{parts: class:pipe_spool, resolution: 32, layers: [{type: rust}]}]"])
    stage = open_twin(recipe)
    rep.AnnotatorRegistry.frames = {"HdrColor": np.zeros((8, 8, 4)), "instance_segmentation_fast": {
        "data": np.zeros((8, 8), np.uint32), "info": {"idToLabels": {}, "idToSemantics": {}}}}
    run_recipe(rep, stage, recipe, out=str(tmp_path), frames=2, progress=lambda s: None)
    names = {u["name"] for u in ui.DynamicTextureProvider.uploads}
    # 4 maps and 1 label texture per frame, 2 frames, the same 5 providers reused
    assert len(ui.DynamicTextureProvider.uploads) == 10 and len(names) == 5
    assert len(rep.orchestrator.steps) == 4  # a label subframe and the frame itself, twice


def test_graph_mode_wear_swaps_texture_files_per_frame(tmp_path):
    recipe = load_recipe(DEMO, ["randomizers.wear=[{parts: class:pipe_spool, resolution: 32, layers: [{type: rust}]}]"])
    stage = open_twin(recipe)
    register_randomizers(rep, stage_getter=lambda: stage)
    rep.randomizer.wearforge_wear(recipe, frames=3, texture_dir=str(tmp_path))
    swaps = [n for n in calls("modify.attribute") if n["args"]["name"].endswith("_texture")]
    assert len(swaps) == 4
    files = swaps[0]["args"]["value"].node["args"]["items"]
    assert len(files) == 3 and len(set(files)) == 3 and all(Path(f).is_file() for f in files)


def test_label_texture_round_trips_through_any_exposure():
    from wearforge.kit.defect_pass import decode_label_image, encode_label_texture

    rng = np.random.default_rng(0)
    cls = rng.integers(0, 11, (40, 50)).astype(np.uint8)
    inst = np.where(cls > 0, (1 << 24) | rng.integers(1, 300, (40, 50)), 0).astype(np.uint32)
    tex, lookup = encode_label_texture(cls, inst)
    assert len(lookup) == 255  # more occurrences than fit: the largest 255 keep their own index
    for exposure in (1e-3, 1.0, 37.0):
        noisy = tex[..., :3] * exposure * (1 + rng.normal(0, 1e-4, tex[..., :3].shape))
        lit, code, occ = decode_label_image(noisy)
        assert lit.all() and np.array_equal(code, cls)
        back = np.vectorize(lambda k: lookup.get(int(k), 0))(occ)
        kept = np.isin(inst, list(lookup.values()))
        assert np.array_equal(back[kept], inst[kept])
    lit, code, _ = decode_label_image(np.zeros((4, 4, 4)))
    assert not lit.any() and not code.any()


def test_step_mode_adds_rtx_defect_labels_from_a_label_subframe(tmp_path):
    from wearforge.kit.defect_pass import encode_label_texture

    recipe = load_recipe(DEMO, ["randomizers.wear=[{parts: class:pipe_spool, resolution: 16, "
                                "layers: [{type: rust, params: {coverage: 0.9}}]}]", "output.writers=[basic]"])
    stage = open_twin(recipe)
    captured = {}

    def fake_hdr():  # a perfect renderer looking straight at the spool's label texture, 2 exposure units
        stack = captured["stack"]
        tex, _ = encode_label_texture(stack.defect_class, stack.defect_instance)
        return tex * 2.0

    run = Run(rep, stage, recipe, str(tmp_path), frames=1)
    original = run.wear.stacks

    def spy(spec, state):
        stacks, changed = original(spec, state)
        captured["stack"] = next(iter(stacks.values()))
        return stacks, changed

    run.wear.stacks = spy
    rep.AnnotatorRegistry.frames = {"HdrColor": fake_hdr, "instance_segmentation_fast": lambda: {
        "data": np.full((16, 16), 5, np.uint32), "info": {"idToLabels": {"5": "/World/Parts/PipeSpool"},
                                                            "idToSemantics": {"5": {"class": "pipe_spool"}}}}}
    run.frame(0)
    extra = run.writers[0].extra
    seg = extra["defect_segmentation"]["data"]
    stack = captured["stack"]
    assert seg.shape == (16, 16) and np.array_equal(seg > 0, stack.defect_class > 0)
    assert {v["class"] for k, v in extra["defect_segmentation"]["idToLabels"].items() if k != "0"} == {"rust"}
    rows = extra["defect_instances"]["data"]
    assert len(rows) == len(np.unique(stack.defect_instance[stack.defect_instance > 0]))
    assert all(r["partInstanceId"] == 5 for r in rows)
    assert run.writers[0].accept  # writers take the next (regular) step again
    ops = [n["args"].get("name") for n in rep.GRAPH if n["op"] == "annotator.get"]
    assert ops == ["HdrColor", "instance_segmentation_fast"] and len(rep.orchestrator.steps) == 1
    # the label materials and dark lights are gone again: the regular step renders the FrameSpec
    assert not stage.GetPrimAtPath("/wearforge/LabelLooks")
    run.close()
