"""The three Isaac Sim homes (headless batch, Script Editor, panel) against the strict Replicator stand-in.

Each behaviour of the real omni.replicator.core 1.12.27 that broke the adapter is modelled in
tests/kit_standin (see its docstrings for the real source files); the stand-in's renderer renders the
composed stage with the standalone pipeline, so a Kit run's label files can be compared with a standalone run.
"""

import asyncio
import builtins
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

STANDIN = Path(__file__).parent / "kit_standin"
sys.path.insert(0, str(STANDIN))
import omni.replicator.core as rep  # noqa: E402  (the stand-in)
import omni.usd  # noqa: E402

from wearforge.kit.run import Run, main, run_recipe, run_recipe_async  # noqa: E402
from wearforge.recipe import load_recipe  # noqa: E402
from wearforge.stage import frame_layer, open_twin  # noqa: E402

from conftest import DEMO, ROOT  # noqa: E402

LABEL_FILES = ("instance_segmentation", "semantic_segmentation", "bounding_box_2d_tight", "bounding_box_3d",
               "defect_segmentation", "defect_instances", "defect_ignore", "frame_spec", "distance_to_camera",
               "normals")


@pytest.fixture(autouse=True)
def clean():
    rep.reset()
    yield
    rep.reset()
    omni.usd.get_context().set_stage(None)
    if hasattr(builtins, "ISAAC_LAUNCHED_FROM_TERMINAL"):
        del builtins.ISAAC_LAUNCHED_FROM_TERMINAL


def tiny_demo(tmp_path: Path, frames: int = 2, **changes) -> Path:
    """The demo recipe (with wear and sensor noise), tiny: 64x48, 4 spp, 32-texel wear.

    Defect labels without the visibility pass and with one label sample per pixel: what Kit's label
    subframe does, so both homes label the same candidates and the files compare byte for byte."""
    data = yaml.safe_load(DEMO.read_text())
    data["render"] = {"resolution": [64, 48], "spp": 4}
    data["labels"] = {"visibility": False, "supersampling": 1}
    for entry in data["randomizers"]["wear"]:
        entry["resolution"] = 32
    data["frames"] = frames
    data["output"] = {"dir": str(tmp_path / "standalone"), "writers": ["basic"], "contact_sheet": 0}
    for key, value in changes.items():
        data[key] = value
    path = tmp_path / "tiny_demo.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def kit_stage(recipe):
    stage = open_twin(recipe)
    omni.usd.get_context().set_stage(stage)
    return stage


def standalone(recipe_path: Path, out: Path) -> Path:
    from wearforge.generate import generate

    generate(load_recipe(recipe_path, [f"output.dir={json.dumps(str(out))}"]))
    return out


def same_label_files(kit: Path, alone: Path, names=LABEL_FILES) -> list[str]:
    """Label files present in both and byte-identical; raises on any difference."""
    checked = []
    for path in sorted(alone.iterdir()):
        if any(path.name.startswith(n + "_") for n in names):
            other = kit / path.name
            assert other.is_file(), f"Kit run lacks {path.name}"
            assert other.read_bytes() == path.read_bytes(), f"{path.name} differs between the homes"
            checked.append(path.name)
    return checked


# ----------------------------------------------------------------------------------- point 1
def test_frames_leave_replicators_session_layer_alone(tmp_path):
    recipe = load_recipe(tiny_demo(tmp_path, frames=3), ["randomizers.wear=[]"])
    stage = kit_stage(recipe)
    from pxr import Sdf, Usd

    with Usd.EditContext(stage, stage.GetSessionLayer()):  # Kit's own viewport state lives there too
        stage.DefinePrim("/OmniverseKit_Persp", "Camera")
    run = Run(rep, stage, recipe, str(tmp_path / "kit"))

    async def frames():
        for i in range(3):
            for rt in run.steps(i):  # a cleared session layer loses the render product and graphs: steps fail
                await rep.orchestrator.step_async(rt_subframes=rt, delta_time=0)
            session = stage.GetSessionLayer()
            assert session.GetPrimAtPath("/Render/RenderProduct_wearforge") and session.GetPrimAtPath("/Orchestrator")
            assert session.GetPrimAtPath("/OmniverseKit_Persp")
            assert frame_layer(stage).GetPrimAtPath("/wearforge")  # the FrameSpec is on wearforge's own layer
        await run.close_async()

    asyncio.run(frames())
    assert stage.GetSessionLayer().GetPrimAtPath("/OmniverseKit_Persp")
    from wearforge.stage import FRAME_LAYER_TAG

    assert not any(i.endswith(FRAME_LAYER_TAG) for i in stage.GetSessionLayer().subLayerPaths)  # released at the end
    assert len(list((tmp_path / "kit").glob("rgb_*.png"))) == 3
    assert isinstance(stage.GetSessionLayer(), Sdf.Layer)


# ----------------------------------------------------------------------------------- point 2
def test_synchronous_steps_only_under_simulation_app(tmp_path):
    recipe = load_recipe(tiny_demo(tmp_path, frames=1), ["randomizers.wear=[]"])
    stage = kit_stage(recipe)
    with pytest.raises(rep.OrchestratorError, match="step_async"):  # inside Kit (panel, Script Editor, --exec)
        run_recipe(rep, stage, recipe, out=str(tmp_path / "sync"), progress=lambda s: None)
    assert not stage.GetSessionLayer().GetPrimAtPath("/Render/RenderProduct_wearforge")  # released after failing
    from isaacsim import SimulationApp

    app = SimulationApp({"headless": True})
    try:
        assert run_recipe(rep, stage, recipe, out=str(tmp_path / "sync"), progress=lambda s: None) == 1
    finally:
        app.close()
    assert rep.orchestrator.steps[-1]["delta_time"] == 0 and not rep.orchestrator.steps[-1].get("async")


def test_the_label_pass_steps_asynchronously_inside_kit(tmp_path):
    recipe = load_recipe(tiny_demo(tmp_path, frames=1))
    stage = kit_stage(recipe)
    assert asyncio.run(run_recipe_async(rep, recipe, out=str(tmp_path / "kit"), stage=stage, progress=print)) == 1
    # a warm-up update, the label subframe, the frame: all async, none advancing the timeline
    assert len(rep.orchestrator.steps) == 3 and all(s.get("async") for s in rep.orchestrator.steps)
    assert rep.orchestrator.simulated_time == 0.0  # PhysX never ran between applying and rendering


def test_exec_inside_kit_schedules_the_batch_and_quits_the_app(tmp_path):
    import omni.kit.app
    import omni.kit.async_engine

    recipe_path = tiny_demo(tmp_path, frames=1)
    builtins.ISAAC_LAUNCHED_FROM_TERMINAL = True  # isaacsim --exec: the app is Kit's, not a SimulationApp
    app = omni.kit.app.get_app()
    app._running, app.quit_code = True, None
    try:
        assert main([str(recipe_path), "--out", str(tmp_path / "exec")]) == 0  # returns at once: Kit's loop runs it
        assert app.quit_code is None and omni.kit.async_engine.pending
        assert omni.kit.async_engine.run_pending() == [0]
    finally:
        app._running = False
    assert app.quit_code == 0 and (tmp_path / "exec" / "rgb_0000.png").is_file()
    assert all(s.get("async") for s in rep.orchestrator.steps)


# ----------------------------------------------------------------------------------- point 3
def test_writers_are_finalised_once_by_replicator_and_then_detached(tmp_path):
    recipe = load_recipe(tiny_demo(tmp_path, frames=2), ["randomizers.wear=[]", "output.writers=[basic, webdataset]"])
    stage = kit_stage(recipe)
    finals = []
    from wearforge.writers import WebDatasetWriter

    original = WebDatasetWriter.on_final_frame

    def counted(self):
        finals.append(type(self).__name__)
        return original(self)

    WebDatasetWriter.on_final_frame = counted
    try:
        asyncio.run(run_recipe_async(rep, recipe, out=str(tmp_path / "kit"), stage=stage, progress=lambda s: None))
    finally:
        WebDatasetWriter.on_final_frame = original
    assert finals == ["WebDatasetWriter"] and rep.orchestrator.final_frames == 1
    assert not rep.WriterRegistry._active_writers
    assert list((tmp_path / "kit" / "webdataset").glob("*.tar"))


def test_a_writer_from_the_registry_is_usable_only_after_initialize(tmp_path):
    from wearforge.kit.writers import register_writers

    register_writers(rep)
    writer = rep.WriterRegistry.get("WearforgeBasicWriter")  # __new__ only, as Replicator does
    writer.on_final_frame()  # harmless before initialize
    with pytest.raises(RuntimeError, match="initialize"):
        writer.write({"annotators": {}})
    writer.initialize(output_dir=str(tmp_path / "w"))
    writer.on_final_frame()
    writer.on_final_frame()  # idempotent


# ----------------------------------------------------------------------------------- point 4
def test_the_core_extension_is_a_folder_named_wearforge():
    import tomllib

    ext = ROOT / "exts" / "wearforge"
    manifest = tomllib.loads((ext / "config" / "extension.toml").read_text())
    assert "omni.kit.pipapi" in manifest["dependencies"]  # [python.pipapi] applies only with it
    assert not any(r.startswith(("warp", "usd-core")) for r in manifest["python"]["pipapi"]["requirements"])
    # Kit puts the extension folder on sys.path: the package must import from there
    code = "import wearforge.kit.run, wearforge.recipe; print(wearforge.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ext, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ext)}, check=True).stdout
    assert Path(out.strip()).resolve() == (ROOT / "wearforge" / "__init__.py").resolve()
    ui = tomllib.loads((ROOT / "exts" / "wearforge.ui" / "config" / "extension.toml").read_text())
    assert "wearforge" in ui["dependencies"]


# ------------------------------------------------------------------------------- point 5 / 8
@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The standalone home's dataset for the tiny demo (2 frames, wear and sensor noise)."""
    tmp = tmp_path_factory.mktemp("standalone")
    return tiny_demo(tmp), standalone(tiny_demo(tmp), tmp / "standalone")


def test_script_editor_run_writes_what_the_standalone_home_writes(tmp_path, reference):
    recipe_path, alone = reference
    recipe = load_recipe(recipe_path)
    stage = kit_stage(recipe)
    asyncio.run(run_recipe_async(rep, recipe, out=str(tmp_path / "kit"), stage=stage, progress=lambda s: None))
    checked = same_label_files(tmp_path / "kit", alone)
    assert {"frame_spec_0001.json", "defect_segmentation_0000.png", "defect_instances_0001.npy",
            "defect_ignore_0000.png", "defect_ignore_labels_0001.json", "semantic_segmentation_labels_0000.json",
            "instance_segmentation_0001.png"} <= set(checked)
    rows = np.load(tmp_path / "kit" / "defect_instances_0000.npy")
    assert rows.size and (rows["areaMm2"] > 0).all()  # the demo's wear is labelled, with its surface area
    assert not rep._rtx.IGNORED_MAPS and not rep.SKIPPED_ATTRIBUTES
    assert len(rep.AnnotatorRegistry.created) == 2  # the label annotators, attached once for the run
    assert {tuple(r["resolution"]) for r in rep._rtx.RENDERS} == {(64, 48)}


def test_kit_says_once_that_it_labels_without_a_visibility_test(tmp_path, reference, caplog):
    """Kit has no visibility pass yet: a recipe asking for one is told so once, and labels every candidate
    (what the standalone home labels with the visibility pass off)."""
    recipe_path, alone = reference
    recipe = load_recipe(recipe_path, ["labels.visibility=true"])
    stage = kit_stage(recipe)
    with caplog.at_level(logging.WARNING, logger="wearforge.kit"):
        asyncio.run(run_recipe_async(rep, recipe, out=str(tmp_path / "kit"), stage=stage, progress=lambda s: None))
    assert sum("labels.visibility" in r.getMessage() for r in caplog.records) == 1
    assert len(same_label_files(tmp_path / "kit", alone, ("defect_segmentation", "defect_instances"))) >= 4


def test_headless_runner_writes_what_the_standalone_home_writes(tmp_path, reference):
    recipe_path, alone = reference
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(STANDIN)])}
    probe = ("import sys, runpy, isaacsim\n"
             "orig = isaacsim.SimulationApp.__init__\n"
             "def init(self, *a, **k):\n"
             "    early = [m for m in sys.modules if m == 'warp' or m.startswith('pxr')]\n"
             "    assert not early, f'imported before SimulationApp: {early}'\n"
             "    orig(self, *a, **k)\n"
             "isaacsim.SimulationApp.__init__ = init\n"
             "sys.argv = ['wearforge.kit.run'] + sys.argv[1:]\n"
             "runpy.run_module('wearforge.kit.run', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", probe, str(recipe_path), "--out", str(tmp_path / "kit")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "wrote 2 frames" in done.stdout
    assert same_label_files(tmp_path / "kit", alone)


def test_sensor_distortion_moves_kit_labels_as_standalone(tmp_path):
    recipe_path = tiny_demo(tmp_path, frames=1)
    overrides = ["randomizers.wear=[]", "randomizers.sensor.k1=-0.25", "randomizers.sensor.p1=0.01"]
    alone = tmp_path / "alone"
    from wearforge.generate import generate

    generate(load_recipe(recipe_path, overrides + [f"output.dir={json.dumps(str(alone))}"]))
    recipe = load_recipe(recipe_path, overrides)
    stage = kit_stage(recipe)
    asyncio.run(run_recipe_async(rep, recipe, out=str(tmp_path / "kit"), stage=stage, progress=lambda s: None))
    same_label_files(tmp_path / "kit", alone, ("instance_segmentation", "semantic_segmentation",
                                               "distance_to_camera", "frame_spec"))
    # tight boxes are measured on the distorted masks in both homes (occlusion ratios are RTX's own in Kit)
    kit_boxes = np.load(tmp_path / "kit" / "bounding_box_2d_tight_0000.npy")
    alone_boxes = np.load(alone / "bounding_box_2d_tight_0000.npy")
    fields = ["semanticId", "x_min", "y_min", "x_max", "y_max"]
    assert kit_boxes[fields].tolist() == alone_boxes[fields].tolist()
    import cv2

    # the lens model moved the labels (the stand-in's RTX renders an ideal pinhole image, as RTX would)
    plain = tmp_path / "plain"
    generate(load_recipe(recipe_path, ["randomizers.wear=[]", f"output.dir={json.dumps(str(plain))}"]))
    moved = cv2.imread(str(tmp_path / "kit" / "instance_segmentation_0000.png"), cv2.IMREAD_UNCHANGED)
    assert (moved != cv2.imread(str(plain / "instance_segmentation_0000.png"), cv2.IMREAD_UNCHANGED)).any()


def test_render_product_follows_each_frames_camera_and_size(tmp_path):
    recipe = load_recipe(tiny_demo(tmp_path, frames=2), ["randomizers.wear=[]"])
    stage = kit_stage(recipe)
    run = Run(rep, stage, recipe, str(tmp_path / "kit"))
    second = run.specs[1]
    run.specs[1] = second.model_copy(update={"render": second.render.model_copy(update={"resolution": [32, 24]})})

    async def frames():
        for i in range(2):
            for rt in run.steps(i):
                await rep.orchestrator.step_async(rt_subframes=rt, delta_time=0)
        await run.close_async()

    asyncio.run(frames())
    assert [tuple(r["resolution"]) for r in rep._rtx.RENDERS] == [(64, 48), (32, 24)]
    assert {r["camera"] for r in rep._rtx.RENDERS} == {run.specs[0].camera.path}
    import cv2

    assert cv2.imread(str(tmp_path / "kit" / "rgb_0001.png")).shape[:2] == (24, 32)


def test_atlas_uvs_reach_the_kit_stage(tmp_path):
    """A mesh whose UVs overlap gets a per-triangle atlas for its wear; Kit must render it with those UVs."""
    from pxr import Usd, UsdGeom

    src = Usd.Stage.Open(str(ROOT / "usd_assets" / "inspection_cell.usda"))
    twin = tmp_path / "cell_flat_uvs.usda"
    src.Export(str(twin))
    stage = Usd.Stage.Open(str(twin))
    mesh = next(UsdGeom.Mesh(p) for p in Usd.PrimRange(stage.GetPrimAtPath("/World/Parts/PipeSpool"))
                if p.IsA(UsdGeom.Mesh))
    st = UsdGeom.PrimvarsAPI(mesh.GetPrim()).GetPrimvar("st")
    flat = np.zeros((len(st.Get()), 2), np.float32) + 0.5  # every point at one uv: the layout overlaps itself
    from pxr import Vt

    st.Set(Vt.Vec2fArray.FromNumpy(flat))
    stage.Save()
    scene = {"usd": str(twin), "support": "/World/Table", "parts": [{"path": "/World/Parts/*"}]}
    recipe_path = tiny_demo(tmp_path, frames=1, scene=scene)
    data = yaml.safe_load(recipe_path.read_text())
    data["randomizers"]["wear"] = [{"parts": "class:pipe_spool", "resolution": 32,
                                    "layers": [{"type": "rust", "params": {"coverage": 0.6}}]}]
    recipe_path.write_text(yaml.safe_dump(data))
    alone = standalone(recipe_path, tmp_path / "alone")
    recipe = load_recipe(recipe_path)
    stage = kit_stage(recipe)
    asyncio.run(run_recipe_async(rep, recipe, out=str(tmp_path / "kit"), stage=stage, progress=lambda s: None))
    same_label_files(tmp_path / "kit", alone, ("defect_segmentation", "defect_instances", "instance_segmentation"))
    import cv2

    assert cv2.imread(str(alone / "defect_segmentation_0000.png"), cv2.IMREAD_UNCHANGED).any()


# ----------------------------------------------------------------------------------- point 5 (graph)
def test_graph_mode_validates_before_replicators_layer_and_types_its_attributes():
    from wearforge.kit import graph
    from wearforge.kit.randomizers import prepare

    recipe = load_recipe(DEMO, ["randomizers.wear=[]"])
    stage = kit_stage(recipe)
    _, scene, specs, shaders, colliders, authored = prepare(recipe, stage, frames=3)
    plan = graph.compile_graph(rep, specs, scene, shaders, colliders, authored=authored)
    assert plan.camera and not rep.SWALLOWED
    assert not rep.SKIPPED_ATTRIBUTES  # every modify.attribute names its type (the twin may not author it)
    assert not rep.MISSING_PRIMS  # the recipe's camera is created by the graph that poses it
    moved = [s.model_copy(update={"camera": s.camera.model_copy(update={"path": f"/World/Cam{i}"})})
             for i, s in enumerate(specs)]
    rep.reset()
    with pytest.raises(graph.GraphModeError, match="camera prim changes"):  # raised, not swallowed by new_layer
        graph.compile_graph(rep, moved, scene, shaders, colliders, authored=authored)
    assert not rep.SWALLOWED and not rep.GRAPH


# ----------------------------------------------------------------------------------- point 6
def test_the_panel_builds_runs_stops_previews_and_shuts_down(tmp_path):
    import carb.settings
    import omni.kit.menu.utils as menus
    import omni.ui as ui

    sys.path.insert(0, str(ROOT / "exts" / "wearforge.ui"))
    from wearforge_ui.extension import EXTENSION_DIR, WearforgeUiExtension, resolve_default_recipe

    assert resolve_default_recipe("../../recipes/demo.yaml") == (ROOT / "recipes" / "demo.yaml").resolve()
    assert EXTENSION_DIR == ROOT / "exts" / "wearforge.ui"
    recipe_path = tiny_demo(tmp_path, frames=3)
    carb.settings.get_settings().set("/exts/wearforge.ui/default_recipe", str(recipe_path))

    async def session():
        ext = WearforgeUiExtension()
        ext.on_startup("wearforge.ui-0.1.0")
        assert [m.name for m in menus.MENUS["Window"]] == ["wearforge"]
        window = ext.window
        assert ext.model.recipe is not None and not ext.model.error
        ext.model.wear_resolution = 32
        ui.find(window, ui.Button, "Open")[0].click()  # loads the recipe and opens its twin
        stage = omni.usd.get_context().get_stage()
        assert stage is not None and ext.model.error == ""
        labels = {w.text for w in ui.find(window, ui.Label)}
        assert "Key" in labels and any("/World/Parts/PipeSpool" in t for t in labels)  # lights and parts listed
        run, stop = ui.find(window, ui.Button, "Run")[0], ui.find(window, ui.Button, "Stop")[0]
        ext.model.set_output(str(tmp_path / "panel"))
        run.click()
        await asyncio.sleep(0)
        assert not run.enabled and stop.enabled  # one run at a time
        run.click()  # ignored while running
        while ext.model.done < 1:
            await asyncio.sleep(0.01)
        stop.click()
        await ext._task
        assert ext.model.status == "idle" and 1 <= ext.model.done < 3 and run.enabled
        assert not rep.WriterRegistry._active_writers and not stage.GetPrimAtPath("/Render/RenderProduct_wearforge")
        omni.usd.get_context().get_selection().set_selected_prim_paths(["/World/Parts/PipeSpool"])
        ui.find(window, ui.Button, "Preview")[0].click()
        assert not ext._preview_task.done()  # the UI thread is not blocked by the wear kernels
        await ext._preview_task
        assert ext._preview.sizes == [32, 32] and ext.model.error == ""
        # a failing run shows its message and leaves the panel ready
        ext.model.set_output(str(tmp_path / "panel2"))
        omni.usd.get_context().set_stage(None)
        run.click()
        await ext._task
        assert ext.model.status == "failed" and "no stage" in ext.model.error and run.enabled
        ext.on_shutdown()
        assert window.destroyed and ext.window is None and not menus.MENUS["Window"]

    asyncio.run(session())


def test_a_failing_writer_leaves_the_stage_and_session_layer_as_they_were(tmp_path):
    recipe = load_recipe(tiny_demo(tmp_path, frames=1), ["randomizers.wear=[]"])
    stage = kit_stage(recipe)
    from pxr import Usd

    from wearforge.errors import InputError

    with Usd.EditContext(stage, stage.GetSessionLayer()):
        stage.DefinePrim("/OmniverseKit_Persp", "Camera")
    before, root_before = stage.GetSessionLayer().ExportToString(), stage.GetRootLayer().ExportToString()
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("a file where the output folder should be")
    with pytest.raises(InputError, match="not_a_folder"):
        asyncio.run(run_recipe_async(rep, recipe, out=str(blocked), stage=stage, progress=lambda s: None))
    session = stage.GetSessionLayer()
    # what remains is only what Replicator itself leaves (the emptied /Render scope of its render products)
    render = session.GetPrimAtPath("/Render")
    if render and not render.nameChildren and not render.properties:
        del session.pseudoRoot.nameChildren["Render"]
    assert session.ExportToString() == before
    assert not rep.WriterRegistry._active_writers and stage.GetRootLayer().ExportToString() == root_before
    assert main([str(tiny_demo(tmp_path, frames=1)), "--out", str(blocked)]) == 2  # the batch: one message, status 2


def test_recipe_classes_give_kit_the_standalone_class_map(tmp_path):
    """An unlabelled CAD twin named by the recipe: Kit's run-wide class map equals the standalone one."""
    from twins import cad_assembly, cad_recipe

    from wearforge.recipe import validate_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import read_scene

    recipe = validate_recipe(cad_recipe(cad_assembly(tmp_path / "cad")), "test", tmp_path)
    stage = kit_stage(recipe)
    run = Run(rep, stage, recipe, str(tmp_path / "kit"), frames=1)
    standalone = StandaloneRenderer.for_recipe(recipe, open_twin(recipe))
    standalone._adopt_parts(sample_frame(recipe, None, 0, read_scene(recipe, standalone.stage)))
    assert {"base_plate", "bolt", "nut"} <= set(run.space.classes)
    assert run.space.class_id == standalone.labels.class_id
    assert run.space.instance_paths == standalone.labels.instance_paths
