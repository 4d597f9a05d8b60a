"""Applying FrameSpecs to the sample twins: session layer only, values as sampled, Kit-compatible pxr."""

import numpy as np
import pytest
from pxr import Usd, UsdGeom, UsdLux, UsdPhysics, UsdShade

from wearforge.recipe import load_recipe
from wearforge.scenario import sample_frame
from wearforge.semantics import semantic_class, set_semantic_class
from wearforge.stage import apply_frame, frame_layer, open_stage, preview_surfaces, scene_for
from wearforge.transforms import look_at_matrix, matrix_to_trs, trs_to_matrix, world_matrix

from conftest import DEMO


@pytest.fixture
def demo():
    recipe = load_recipe(DEMO, ["lights=[{name: rim, type: disk, intensity: 3, radius: 0.2, position: [0, 1, 2], "
                                "look_at: [0, 0, 0.8], color_temperature: 3200}]",
                                "randomizers.physics.1={parts: class:gear, mass: {uniform: [1, 2]}}"])
    return recipe, scene_for(recipe)


def test_apply_writes_only_the_session_layer(demo, tmp_path):
    recipe, scene = demo
    import shutil

    for f in recipe.usd_path().parent.glob("*.usda"):
        shutil.copy(f, tmp_path / f.name)
    twin = tmp_path / recipe.usd_path().name
    before = {f.name: f.read_bytes() for f in tmp_path.glob("*.usda")}
    stage = open_stage(twin)
    for i in range(3):
        apply_frame(stage, sample_frame(recipe, 7, i, scene))
    ours = (stage.GetSessionLayer(), frame_layer(stage))
    assert not any(layer.dirty for layer in stage.GetUsedLayers() if layer not in ours)
    assert not stage.GetSessionLayer().rootPrims  # the session layer's own content is its owners'
    stage.Save()
    assert {f.name: f.read_bytes() for f in tmp_path.glob("*.usda")} == before


def test_applied_values_match_the_framespec(demo):
    recipe, scene = demo
    stage = open_stage(recipe.usd_path())
    spec = sample_frame(recipe, 7, 5, scene)
    apply_frame(stage, spec)
    for part in spec.parts:
        prim = stage.GetPrimAtPath(part.path)
        t, r, _ = matrix_to_trs(world_matrix(prim))
        if part.pose.rotation:
            assert np.allclose(np.cos(np.radians(r[2])), np.cos(np.radians(part.pose.rotation[2])), atol=1e-5)
        shader = preview_surfaces(prim)[0]
        if part.semantic_class == "bracket":  # not randomized: keeps the twin's authored material
            assert part.material.base_color is None
            assert shader.GetInput("roughness").Get() == pytest.approx(0.55)
        else:
            assert np.allclose(shader.GetInput("diffuseColor").Get(), part.material.base_color, atol=1e-6)
            assert shader.GetInput("roughness").Get() == pytest.approx(part.material.roughness, abs=1e-6)
        for p in Usd.PrimRange(prim):
            if p.HasAPI(UsdPhysics.CollisionAPI):
                mat, _ = UsdShade.MaterialBindingAPI(p).ComputeBoundMaterial("physics")
                api = UsdPhysics.MaterialAPI(mat.GetPrim())
                assert api.GetStaticFrictionAttr().Get() == pytest.approx(part.physics.static_friction, abs=1e-6)
        if part.semantic_class == "gear":
            assert UsdPhysics.MassAPI(prim).GetMassAttr().Get() == pytest.approx(part.physics.mass, abs=1e-6)
    key = UsdLux.RectLight(stage.GetPrimAtPath("/World/Lights/Key"))
    spec_key = [light for light in spec.lights if light.path == "/World/Lights/Key"][0]
    assert key.GetIntensityAttr().Get() == pytest.approx(spec_key.intensity, rel=1e-6)
    assert key.GetColorTemperatureAttr().Get() == pytest.approx(spec_key.color_temperature, rel=1e-6)
    rim = UsdLux.DiskLight(stage.GetPrimAtPath("/wearforge/Lights/rim"))
    assert rim and rim.GetRadiusAttr().Get() == pytest.approx(0.2)
    m = world_matrix(rim.GetPrim())
    to_target = np.array([0, 0, 0.8]) - m[:3, 3]
    assert np.dot(-m[:3, 2], to_target / np.linalg.norm(to_target)) > 0.9999
    cam = UsdGeom.Camera(stage.GetPrimAtPath(spec.camera.path))
    cm = world_matrix(cam.GetPrim())
    assert np.allclose(cm[:3, 3], spec.camera.position, atol=1e-6)
    look = np.array(spec.camera.look_at) - cm[:3, 3]
    assert np.dot(-cm[:3, 2], look / np.linalg.norm(look)) > 0.9999
    assert cam.GetVerticalApertureAttr().Get() == pytest.approx(20.955 * 384 / 512, rel=1e-6)


def test_invisible_parts_and_a_fresh_frame_resets_the_previous_one(demo):
    recipe, scene = demo
    stage = open_stage(recipe.usd_path())
    hidden = load_recipe(DEMO, ["randomizers.poses.2={parts: class:gear, visible: 0.0}"])
    apply_frame(stage, sample_frame(hidden, 1, 0, scene_for(hidden)))
    gear = stage.GetPrimAtPath("/World/Parts/Gear")
    assert UsdGeom.Imageable(gear).ComputeVisibility() == UsdGeom.Tokens.invisible
    apply_frame(stage, sample_frame(recipe, 1, 0, scene))
    assert UsdGeom.Imageable(gear).ComputeVisibility() == UsdGeom.Tokens.inherited


def test_semantics_are_read_from_both_schemas(tmp_path):
    stage = Usd.Stage.CreateInMemory()
    new = UsdGeom.Xform.Define(stage, "/New").GetPrim()
    new.CreateAttribute("semantics:labels:class", __import__("pxr").Sdf.ValueTypeNames.TokenArray).Set(["gear"])
    legacy = UsdGeom.Xform.Define(stage, "/Legacy").GetPrim()
    legacy.CreateAttribute("semantic:Semantics_a1:params:semanticType", __import__("pxr").Sdf.ValueTypeNames.String).Set("class")
    legacy.CreateAttribute("semantic:Semantics_a1:params:semanticData", __import__("pxr").Sdf.ValueTypeNames.String).Set("bolt")
    both = UsdGeom.Xform.Define(stage, "/Both").GetPrim()
    set_semantic_class(both, "flange")
    assert semantic_class(new) == "gear" and semantic_class(legacy) == "bolt" and semantic_class(both) == "flange"
    assert "SemanticsLabelsAPI:class" in both.GetAppliedSchemas()


def test_transform_helpers_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(50):
        t, r, s = rng.uniform(-5, 5, 3), rng.uniform(-80, 80, 3), rng.uniform(0.5, 2, 3)
        t2, r2, s2 = matrix_to_trs(trs_to_matrix(t, r, s))
        assert np.allclose(trs_to_matrix(t2, r2, s2), trs_to_matrix(t, r, s), atol=1e-9)
    m = look_at_matrix(np.array([1.0, 2, 3]), np.zeros(3), np.array([0, 0, 1.0]), roll_deg=15)
    assert np.allclose(m[:3, :3].T @ m[:3, :3], np.eye(3), atol=1e-12) and np.linalg.det(m[:3, :3]) > 0


def test_open_stage_reports_unreadable_files(tmp_path):
    from wearforge.errors import InputError

    bad = tmp_path / "broken.usda"
    bad.write_text("#usda 1.0\ndef Xform \"A\" {\n")
    with pytest.raises(InputError, match="broken.usda: cannot open as USD"):
        open_stage(bad)


def test_bare_cad_parts_get_the_sampled_material(tmp_path, write_recipe):
    """A part whose meshes have no material at all (CAD exported without looks): the material randomizer's
    preset still reaches the renderer, through a UsdPreviewSurface bound on wearforge's frame layer."""
    from conftest import make_cube_twin
    from wearforge.twin_reader import read_frame_state, read_geometry

    twin = make_cube_twin(tmp_path / "cube.usda", size=0.1)
    recipe = load_recipe(write_recipe({
        "scene": {"usd": str(twin), "parts": [{"path": "/World/Cube", "class": "cube"}]},
        "camera": {"position": [0.5, -0.5, 0.5], "look_at": [0, 0, 0]},
        "randomizers": {"materials": [{"parts": "class:cube", "preset": "painted_safety_yellow"}]},
        "render": {"resolution": [32, 24], "spp": 1}, "frames": 1, "seed": 1}))
    stage = open_stage(recipe.usd_path())
    assert not preview_surfaces(stage.GetPrimAtPath("/World/Cube"))
    spec = sample_frame(recipe, None, 0, scene_for(recipe))
    apply_frame(stage, spec)
    colour = spec.parts[0].material.base_color
    assert colour is not None
    meshes = read_geometry(stage)
    state = read_frame_state(stage, meshes, spec.camera.path)
    assert np.allclose(state.materials[0].base_color, colour, atol=1e-3)
    assert state.materials[0].roughness == pytest.approx(spec.parts[0].material.roughness, abs=1e-6)
    assert not stage.GetRootLayer().dirty  # bound on wearforge's frame layer, the twin is untouched
