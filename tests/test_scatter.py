"""Scatter: parts on the support, resting on it, never interpenetrating each other or fixed objects."""

import itertools

import numpy as np
import pytest
from pxr import Usd, UsdGeom

from wearforge.recipe import load_recipe
from wearforge.scenario import sample_frame
from wearforge.stage import apply_frame, open_stage, read_scene
from wearforge.transforms import gf_to_np

from conftest import DEMO


def obb(stage, path):
    """World-space oriented box of a prim: centre, axes (columns), half extents."""
    prim = stage.GetPrimAtPath(path)
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    rng = cache.ComputeUntransformedBound(prim).ComputeAlignedRange()
    lo, hi = np.array(rng.GetMin()), np.array(rng.GetMax())
    m = gf_to_np(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.Default()))
    axes = m[:3, :3] * 1.0
    return m[:3, :3] @ ((lo + hi) / 2) + m[:3, 3], axes, (hi - lo) / 2


def separated(a, b) -> bool:
    """Separating-axis test for two oriented boxes."""
    (ca, ra, ea), (cb, rb, eb) = a, b
    ua, ub = ra / np.linalg.norm(ra, axis=0), rb / np.linalg.norm(rb, axis=0)
    ea, eb = ea * np.linalg.norm(ra, axis=0), eb * np.linalg.norm(rb, axis=0)
    axes = [ua[:, i] for i in range(3)] + [ub[:, i] for i in range(3)]
    axes += [np.cross(ua[:, i], ub[:, j]) for i in range(3) for j in range(3)]
    d = cb - ca
    for ax in axes:
        n = np.linalg.norm(ax)
        if n < 1e-9:
            continue
        ax = ax / n
        if abs(d @ ax) >= np.abs(ua.T @ ax) @ ea + np.abs(ub.T @ ax) @ eb - 1e-6:  # touching is fine
            return True
    return False


def bin_boxes(stage):
    """The bin's floor and four walls as world-space boxes (its mesh is built from exactly these)."""
    L, W, H, t = 0.4, 0.3, 0.15, 0.008
    parts = [((0, 0, t / 2), (L, W, t)), ((0, (W - t) / 2, H / 2 + t / 2), (L, t, H - t)),
             ((0, -(W - t) / 2, H / 2 + t / 2), (L, t, H - t)), (((L - t) / 2, 0, H / 2 + t / 2), (t, W - 2 * t, H - t)),
             ((-(L - t) / 2, 0, H / 2 + t / 2), (t, W - 2 * t, H - t))]
    m = gf_to_np(UsdGeom.Xformable(stage.GetPrimAtPath("/World/Bin")).ComputeLocalToWorldTransform(Usd.TimeCode.Default()))
    return [(m[:3, :3] @ np.array(c) + m[:3, 3], m[:3, :3], np.array(size) / 2) for c, size in parts]


def test_scattered_parts_rest_on_the_support_without_overlaps():
    recipe = load_recipe(DEMO, ['randomizers.poses=[{parts: "**", scatter: {surface: /World/Table, gap: 0.002}}]'])
    stage = open_stage(recipe.usd_path())
    scene = read_scene(recipe, stage)
    positions = []
    for i in range(25):
        spec = sample_frame(recipe, None, i, scene)
        assert all(p.visible for p in spec.parts)
        apply_frame(stage, spec)
        boxes = {p.path: obb(stage, p.path) for p in spec.parts}
        for k, wall in enumerate(bin_boxes(stage)):
            boxes[f"/World/Bin#{k}"] = wall
        for (pa, a), (pb, b) in itertools.combinations(boxes.items(), 2):
            assert separated(a, b), f"frame {i}: {pa} overlaps {pb}"
        for p in spec.parts:
            c, axes, half = boxes[p.path]
            lowest = c[2] - np.abs(axes[2, :]) @ half
            assert lowest == pytest.approx(0.75, abs=1e-4) or lowest == pytest.approx(0.758, abs=1e-4)
            assert -0.6 <= c[0] <= 0.6 and -0.4 <= c[1] <= 0.4
        positions.append(spec.parts[0].pose.position)
    assert len({tuple(np.round(p, 4)) for p in positions}) == 25


def test_parts_that_do_not_fit_are_hidden_not_overlapped(write_recipe, cell_recipe):
    recipe = load_recipe(write_recipe({**cell_recipe, "randomizers": {"poses": [
        {"parts": "**", "scatter": {"surface": "/World/Bin", "margin": 0.0, "attempts": 50}}]}}))
    spec = sample_frame(recipe, None, 0)
    shown = [p for p in spec.parts if p.visible]
    # the 45 cm spool cannot lie in a 40 cm bin: it is hidden rather than forced in
    assert "/World/Parts/PipeSpool" not in {p.path for p in shown}
    for p in shown:
        assert p.pose.position[2] > 0.75


def test_distractors_are_added_counted_labelled_and_scattered_without_overlaps():
    from wearforge.stage import open_twin

    before = {p.name: p.read_bytes() for p in (DEMO.parent.parent / "usd_assets").glob("*.usda")}
    recipe = load_recipe(DEMO, [
        'randomizers.poses=[{parts: "**", scatter: {surface: /World/Table, gap: 0.002}}]', "randomizers.wear=[]",
        "scene.distractors=[{asset: asset:hex_bolt, max_count: 4, count: {uniform: [1, 4]}}, "
        "{asset: asset:washer, max_count: 3, class: distractor}, {asset: asset:cable_tie, max_count: 1}]"])
    stage = open_twin(recipe)
    scene = read_scene(recipe, stage)
    classes = [p.semantic_class for p in scene.parts]
    assert classes.count("bolt") == 4 and classes.count("distractor") == 3 and classes.count("cable_tie") == 1
    counts = set()
    for i in range(12):
        spec = sample_frame(recipe, None, i, scene)
        bolts = [p for p in spec.parts if p.semantic_class == "bolt" and p.visible]
        counts.add(len(bolts))
        assert 1 <= len(bolts) <= 4
        apply_frame(stage, spec)
        boxes = {p.path: obb(stage, p.path) for p in spec.parts if p.visible}
        for k, wall in enumerate(bin_boxes(stage)):
            boxes[f"/World/Bin#{k}"] = wall
        for (pa, a), (pb, b) in itertools.combinations(boxes.items(), 2):
            assert separated(a, b), f"frame {i}: {pa} overlaps {pb}"
    assert len(counts) > 1
    assert {p.name: p.read_bytes() for p in (DEMO.parent.parent / "usd_assets").glob("*.usda")} == before


def test_distractors_need_a_scatter(write_recipe, cell_recipe):
    from wearforge.errors import InputError

    with pytest.raises(InputError, match="scene.distractors.*scatter"):
        load_recipe(write_recipe({**cell_recipe, "scene": {**cell_recipe["scene"],
                                                           "distractors": [{"asset": "asset:hex_nut"}]}}))


def test_scatter_on_a_centimetre_y_up_stage(tmp_path):
    """Bolts scattered on the plate of a centimetre, Y-up CAD twin: on top of it, upright, apart."""
    from twins import cad_assembly, cad_recipe

    from wearforge.recipe import validate_recipe
    from wearforge.scenario import sample_frame
    from wearforge.stage import read_scene

    data = cad_recipe(cad_assembly(tmp_path / "cad"))
    data["scene"]["parts"] = data["scene"]["parts"][:2]
    data["randomizers"] = {"poses": [{"parts": "class:bolt", "scatter": {"surface": "/Assembly/Base"}}]}
    recipe = validate_recipe(data, "test", tmp_path)
    scene = read_scene(recipe)
    bolts = [p for p in sample_frame(recipe, None, 0, scene).parts if p.semantic_class == "bolt"]
    assert all(b.visible for b in bolts)
    for b in bolts:
        x, y, z = b.pose.position
        assert abs(y - 4.0) < 0.05 and abs(x) < 20 and abs(z) < 15  # the plate's top is y = 4 cm
        from wearforge.transforms import trs_to_matrix

        assert np.allclose(trs_to_matrix((0, 0, 0), b.pose.rotation, (1, 1, 1))[:3, 1], (0, 1, 0))  # yaw about +Y
    (x0, _, z0), (x1, _, z1) = (b.pose.position for b in bolts)
    assert np.hypot(x1 - x0, z1 - z0) > 2 * 1.5 + 0.5  # footprints (head 3 cm) plus the 5 mm gap apart
