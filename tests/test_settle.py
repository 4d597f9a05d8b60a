"""Settle with Newton: parts end at rest on the support; friction from the FrameSpec changes where they rest."""

import numpy as np
import pytest
from pxr import Gf, Usd, UsdGeom, UsdPhysics, UsdShade

from wearforge.framespec import FrameSpec
from wearforge.physics.settle import settle_frame
from wearforge.recipe import load_recipe
from wearforge.scenario import sample_frame
from wearforge.semantics import set_semantic_class
from wearforge.stage import apply_frame, open_stage, read_scene

from conftest import DEMO

pytestmark = pytest.mark.slow  # the first run compiles Newton's kernels (about a minute on 2 cores)


def ramp_twin(path):
    """A slick 20 degree ramp (friction 0.05) above a floor, and a 4 cm cube resting on the ramp."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    world = UsdGeom.Xform.Define(stage, "/World")
    stage.SetDefaultPrim(world.GetPrim())
    UsdPhysics.Scene.Define(stage, "/World/Physics")
    for name, size, translate, tilt in (("Floor", (3.0, 3.0, 0.1), (0, 0, -0.05), 0.0),
                                        ("Ramp", (1.0, 0.4, 0.02), (0, 0, 0.3), 20.0)):
        xf = UsdGeom.Xform.Define(stage, f"/World/{name}")
        UsdGeom.XformCommonAPI(xf).SetTranslate(Gf.Vec3d(*translate))
        UsdGeom.XformCommonAPI(xf).SetRotate(Gf.Vec3f(0, tilt, 0))
        box = UsdGeom.Cube.Define(stage, f"/World/{name}/Box")
        box.CreateSizeAttr(1.0)
        UsdGeom.XformCommonAPI(box).SetScale(Gf.Vec3f(*size))
        UsdPhysics.CollisionAPI.Apply(box.GetPrim())
    slick = UsdShade.Material.Define(stage, "/World/Slick")
    api = UsdPhysics.MaterialAPI.Apply(slick.GetPrim())
    api.CreateStaticFrictionAttr(0.05)
    api.CreateDynamicFrictionAttr(0.05)
    UsdShade.MaterialBindingAPI.Apply(stage.GetPrimAtPath("/World/Ramp/Box")).Bind(
        slick, UsdShade.Tokens.weakerThanDescendants, "physics")
    part = UsdGeom.Xform.Define(stage, "/World/Block")
    # on the ramp surface (normal tilted 20 degrees about Y), 2 cm above its centre line
    n = np.array([np.sin(np.radians(20)), 0, np.cos(np.radians(20))])
    UsdGeom.XformCommonAPI(part).SetTranslate(Gf.Vec3d(*(np.array([0, 0, 0.3]) + n * (0.01 + 0.02 + 0.001))))
    UsdGeom.XformCommonAPI(part).SetRotate(Gf.Vec3f(0, 20, 0))
    cube = UsdGeom.Cube.Define(stage, "/World/Block/Geom")
    cube.CreateSizeAttr(0.04)
    UsdPhysics.CollisionAPI.Apply(cube.GetPrim())
    UsdPhysics.RigidBodyAPI.Apply(part.GetPrim())
    UsdPhysics.MassAPI.Apply(part.GetPrim()).CreateMassAttr(0.5)
    set_semantic_class(part.GetPrim(), "block")
    stage.GetRootLayer().Save()
    return path


def test_friction_decides_whether_a_part_slides(tmp_path, write_recipe):
    twin = ramp_twin(tmp_path / "ramp.usda")
    rest = {}
    for mu in (1.0, 0.05):
        recipe = load_recipe(write_recipe({
            "scene": {"usd": str(twin)},
            "randomizers": {"physics": [{"static_friction": mu, "dynamic_friction": mu, "restitution": 0.0}],
                            "settle": {"duration": 2.0}}}, f"mu{mu}"))
        stage = open_stage(recipe.usd_path())
        spec = settle_frame(stage, sample_frame(recipe, None, 0, read_scene(recipe, stage)), recipe.randomizers.settle)
        block = spec.parts[0]
        assert block.drop_pose is not None and spec.settled
        rest[mu] = np.array(block.pose.position)
    # the pair's friction combines both materials: a grippy block holds on the slick ramp, a slick one slides off
    assert np.linalg.norm(rest[1.0] - rest[0.05]) > 0.1
    assert rest[1.0][2] > 0.25 and rest[0.05][2] < 0.1  # on the ramp vs down on the floor


def test_scattered_parts_settle_at_rest_on_the_table_and_the_result_is_recorded(tmp_path):
    recipe = load_recipe(DEMO, ['randomizers.poses=[{parts: "**", scatter: {surface: /World/Table, drop_height: 0.03}}]',
                                "randomizers.settle={duration: 3.0}", "randomizers.wear=[]"])
    stage = open_stage(recipe.usd_path())
    scene = read_scene(recipe, stage)
    spec = settle_frame(stage, sample_frame(recipe, None, 1, scene), recipe.randomizers.settle)
    apply_frame(stage, spec)
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    for part in spec.parts:
        assert part.at_rest, part.path
        assert part.drop_pose.position[2] - part.pose.position[2] > 0.02  # it fell
        world = cache.ComputeWorldBound(stage.GetPrimAtPath(part.path)).ComputeAlignedRange()
        assert world.GetMin()[2] == pytest.approx(0.75, abs=0.004), part.path  # resting on the table top
    again = FrameSpec.from_json(spec.to_json())
    assert again == spec and again.settled


def test_bin_picking_piles_come_to_rest_inside_the_bin(tmp_path):
    from wearforge.generate import generate

    recipe = load_recipe(DEMO.parent / "bin_picking.yaml", [
        "frames=2", "render.resolution=[48, 36]", "render.spp=2", f"output.dir={tmp_path / 'bp'}",
        "output.contact_sheet=0", "output.writers=[basic]"])
    generate(recipe)
    import json

    from wearforge.stage import open_twin

    stage = open_twin(recipe)
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    for i in range(2):
        spec = FrameSpec.model_validate(json.loads((tmp_path / "bp" / f"frame_spec_{i:04d}.json").read_text()))
        assert spec.settled
        apply_frame(stage, spec)
        shown = [p for p in spec.parts if p.visible]
        assert len(shown) >= 4 and all(p.at_rest for p in shown)
        for p in shown:
            box = cache.ComputeWorldBound(stage.GetPrimAtPath(p.path)).ComputeAlignedRange()
            assert box.GetMin()[2] >= 0.758 - 0.002, p.path  # on the bin floor, not in it
            # the centre lies inside the bin's interior (bin at (0.38, 0.18), turned 8 degrees, 0.384 x 0.284 inside)
            centre = np.array(box.GetMidpoint())[:2] - np.array([0.38, 0.18])
            a = np.radians(-8.0)
            local = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ centre
            assert abs(local[0]) < 0.192 and abs(local[1]) < 0.142, p.path


def test_settle_on_a_centimetre_y_up_stage(tmp_path, write_recipe):
    """A 4 cm block dropped 6 cm onto a floor, on a stage in centimetres with Y up: it lands, at rest."""
    stage = Usd.Stage.CreateNew(str(tmp_path / "cm.usda"))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 0.01)
    stage.SetDefaultPrim(UsdGeom.Xform.Define(stage, "/World").GetPrim())
    floor = UsdGeom.Cube.Define(stage, "/World/Floor")
    UsdGeom.XformCommonAPI(floor).SetTranslate(Gf.Vec3d(0, -1, 0))
    UsdGeom.XformCommonAPI(floor).SetScale(Gf.Vec3f(100, 2, 100))
    floor.CreateSizeAttr(1.0)
    UsdPhysics.CollisionAPI.Apply(floor.GetPrim())
    part = UsdGeom.Xform.Define(stage, "/World/Block")
    UsdGeom.XformCommonAPI(part).SetTranslate(Gf.Vec3d(0, 8, 0))
    UsdGeom.XformCommonAPI(part).SetRotate(Gf.Vec3f(10, 0, 5))
    cube = UsdGeom.Cube.Define(stage, "/World/Block/Geom")
    cube.CreateSizeAttr(4.0)
    UsdPhysics.CollisionAPI.Apply(cube.GetPrim())
    UsdPhysics.RigidBodyAPI.Apply(part.GetPrim())
    UsdPhysics.MassAPI.Apply(part.GetPrim()).CreateMassAttr(0.5)
    stage.GetRootLayer().Save()
    recipe = load_recipe(write_recipe({"scene": {"usd": str(tmp_path / "cm.usda"),
                                                 "parts": [{"path": "/World/Block", "class": "block"}]},
                                       "randomizers": {"settle": {"duration": 2.0}}}))
    stage = open_stage(recipe.usd_path())
    spec = settle_frame(stage, sample_frame(recipe, None, 0, read_scene(recipe, stage)), recipe.randomizers.settle)
    block = spec.parts[0]
    assert block.visible and block.at_rest
    assert 1.8 < block.pose.position[1] < 2.4 and abs(block.pose.position[0]) < 1.0  # resting on the floor (cm)


def test_thin_distractors_stay_on_the_table_in_the_full_randomization_scene():
    """Washers (2 mm) dropped with bolts and the parts onto the table: none falls through the top.
    (With the top as a triangle-mesh collider, frames 0-2 lost a washer each.)"""
    recipe = load_recipe(DEMO.parent / "full_randomization.yaml", ["randomizers.wear=[]"])
    from wearforge.stage import open_twin

    stage = open_twin(recipe)
    scene = read_scene(recipe, stage)
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    washers = 0
    for index in range(3):
        sampled = sample_frame(recipe, None, index, scene)
        spec = settle_frame(stage, sampled, recipe.randomizers.settle)
        apply_frame(stage, spec)
        for before, after in zip(sampled.parts, spec.parts):
            if not before.visible:
                continue
            washers += "Washer" in after.path
            assert after.visible, f"frame {index}: {after.path} fell through"
            low = cache.ComputeWorldBound(stage.GetPrimAtPath(after.path)).ComputeAlignedRange().GetMin()[2]
            assert low > 0.745, (index, after.path, low)  # on the table top (0.75) or on something on it
    assert washers >= 3  # the frames do drop thin parts
