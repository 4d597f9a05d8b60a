"""Textured background supports (conveyor belt, workbench, tote): generated seamless tiles, bundled as
cells selected by `scene.usd`, rendered with their texture."""

import json
import sys

import numpy as np
import pytest
from PIL import Image

from wearforge.recipe import ASSETS_DIR, load_recipe

from conftest import DEMO

sys.path.insert(0, str(ASSETS_DIR))
import backgrounds  # noqa: E402


@pytest.mark.parametrize("name", sorted(backgrounds.TEXTURES))
def test_background_tiles_wrap_without_a_seam(name):
    img = backgrounds.TEXTURES[name]()
    assert img.shape == (backgrounds.SIZE, backgrounds.SIZE, 3) and np.isfinite(img).all()
    # the step across the wrap is no larger than the steps between neighbouring rows (columns) inside the tile
    for axis in (0, 1):
        other = tuple(a for a in range(3) if a != axis)
        inner = np.abs(np.diff(img, axis=axis)).mean(axis=other)
        across = np.abs(img.take([0], axis=axis) - img.take([-1], axis=axis)).mean()
        assert across <= inner.max(), (name, axis, across, inner.max())
    assert img.std(axis=(0, 1)).max() > 0.005  # a texture, not a flat colour


def _support_pixels(out, cls):
    labels = json.loads((out / "semantic_segmentation_labels_0000.json").read_text())
    (key,) = [k for k, v in labels.items() if v["class"] == cls]
    colour = np.array(json.loads(key.replace("(", "[").replace(")", "]")), np.uint8)
    seg = np.asarray(Image.open(out / "semantic_segmentation_0000.png").convert("RGBA"))
    mask = (seg == colour).all(-1)
    rgb = np.asarray(Image.open(out / "rgb_0000.png").convert("RGB"), float) / 255
    return rgb[mask]


@pytest.mark.slow
def test_background_cells_render_their_textured_support(tmp_path):
    from wearforge.generate import generate

    seen = {}
    for cell, cls in (("conveyor_cell", "conveyor_belt"), ("workbench_cell", "workbench"), ("tote_cell", "tote")):
        out = tmp_path / cell
        generate(load_recipe(DEMO, [f"scene.usd=asset:{cell}", "render.resolution=[64,48]", "render.spp=4",
                                    "frames=1", "randomizers.wear=[]", f"output.dir={out}",
                                    "output.contact_sheet=0"]))
        px = _support_pixels(out, cls)
        assert len(px) > 500, cell  # the support fills much of the view
        seen[cls] = px.mean(0)
    belt, wood, tote = seen["conveyor_belt"], seen["workbench"], seen["tote"]
    assert belt.max() < 0.35 and np.ptp(belt) < 0.05  # black rubber
    assert wood[0] > wood[1] > wood[2] + 0.05  # beech: red > green > blue
    assert tote[2] > tote[0] + 0.15  # blue polypropylene


# ------------------------------------------------------------------------------- backgrounds drawn per frame
BACKGROUNDS = ["scene.backgrounds=[{usd: asset:conveyor_belt}, {usd: asset:workbench}, {usd: asset:tote}]"]
TINY = ["render.resolution=[64,48]", "render.spp=4", "randomizers.wear=[]", "output.contact_sheet=0"]


def _background_recipe(extra=()):
    return load_recipe(DEMO, BACKGROUNDS + TINY + list(extra))


HIDE_BIN_IN_TOTE = ["scene.backgrounds.2.hide=[/World/Bin]"]


def test_frames_draw_their_background_by_weight_in_any_order():
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_twin, read_scene

    recipe = _background_recipe(["scene.backgrounds.1.weight=0"])
    scene = read_scene(recipe, open_twin(recipe))
    assert scene.backgrounds == ("/World/Backgrounds/ConveyorBelt_0", "/World/Backgrounds/Workbench_1",
                                 "/World/Backgrounds/Tote_2")
    forward = [sample_frame(recipe, None, i, scene).background for i in range(12)]
    backward = [sample_frame(recipe, None, i, scene).background for i in reversed(range(12))][::-1]
    assert forward == backward
    assert set(forward) == {scene.backgrounds[0], scene.backgrounds[2]}  # weight 0: never drawn
    other_seed = [sample_frame(recipe, 99, i, scene).background for i in range(12)]
    assert other_seed != forward
    # what a background hides (its 'hide') is recorded with it, and hidden only in its frames
    hiding = _background_recipe(["scene.backgrounds.2.hide=[/World/Bin]"])
    scene = read_scene(hiding, open_twin(hiding))
    specs = [sample_frame(hiding, None, i, scene) for i in range(12)]
    assert {s.background for s in specs if s.hidden == ["/World/Bin"]} == {scene.backgrounds[2]}
    assert all(s.hidden == [] for s in specs if s.background != scene.backgrounds[2])
    # a recipe without backgrounds records none (and its FrameSpecs read back without the field)
    plain = load_recipe(DEMO, TINY)
    spec = sample_frame(plain, None, 0)
    assert spec.background is None


def test_the_drawn_background_replaces_the_support_without_labels_or_rebuilds():
    """Each background renders (its own colours where the support is), carries no class and no instance, the
    class map is the same for every frame, and switching backgrounds keeps the one Mitsuba scene."""
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_twin, read_scene

    recipe = _background_recipe(HIDE_BIN_IN_TOTE)
    stage = open_twin(recipe)
    scene = read_scene(recipe, stage)
    assert not stage.GetPrimAtPath("/World/Table").IsActive()  # the twin's own support left the scene
    renderer = StandaloneRenderer.for_recipe(recipe, stage)
    builds = []
    build = renderer.backend._build
    renderer.backend._build = lambda *a, **k: (builds.append(1), build(*a, **k))[1]
    spec = sample_frame(recipe, None, 0, scene)
    seen, class_maps = {}, set()
    for path in scene.backgrounds:
        data = renderer.render(spec.model_copy(update={"background": path, "hidden": list(scene.background_hides[path])}))
        sem = data["semantic_segmentation"]
        class_maps.add(json.dumps(sem["classes"], sort_keys=True))
        assert not any(k in sem["classes"].values() for k in ("table", "conveyor_belt", "workbench", "tote"))
        labels = {v["class"] for v in sem["idToLabels"].values()}
        assert labels <= {"BACKGROUND", "UNLABELLED", "gear", "bracket", "pipe_spool", "bin"}, labels
        paths = set(data["instance_segmentation"]["idToLabels"].values())
        assert not any("Backgrounds" in p or p == "/World/Table" for p in paths), paths
        assert ("/World/Bin" in paths) == (path != scene.backgrounds[2])  # the tote hides the bin
        support = sem["data"] == 1  # UNLABELLED: the background's pixels
        assert support.mean() > 0.3, path
        seen[path] = data["rgb"]["data"][..., :3][support].astype(float).mean(0) / 255
    assert len(class_maps) == 1 and len(builds) == 1
    belt, wood, tote = (seen[p] for p in scene.backgrounds)
    assert belt.max() < 0.35 and wood[0] > wood[2] + 0.05 and tote[2] > tote[0] + 0.15, seen


@pytest.mark.slow
def test_parts_settle_on_each_background():
    """Settled parts, washers included, rest on the top (0.75 m) of each background drawn; the hidden ones
    are left out of the Newton model."""
    from pxr import Usd, UsdGeom

    from wearforge.physics.settle import settle_frame
    from wearforge.stage import apply_frame, open_twin, read_scene

    recipe = load_recipe(DEMO.parent / "full_randomization.yaml", TINY + ["scene.distractors.0.count=0",
                                                                          "scene.distractors.1.count=3"])
    stage = open_twin(recipe)
    scene = read_scene(recipe, stage)
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    washers = 0
    for path in scene.backgrounds:
        sampled = _rescatter(recipe, scene, path)
        assert sampled.background == path
        settled = settle_frame(stage, sampled, recipe.randomizers.settle)
        apply_frame(stage, settled)
        for part in settled.parts:
            if not part.visible:
                continue
            washers += "Washer" in part.path
            cache.Clear()
            low = cache.ComputeWorldBound(stage.GetPrimAtPath(part.path)).ComputeAlignedRange().GetMin()[2]
            assert part.at_rest and 0.745 < low < 0.9, (path, part.path, low)
    assert washers >= 3


def _rescatter(recipe, scene, background):
    """Frame 0 sampled as if ``background`` had been drawn (the scatter lands on that background)."""
    from wearforge import scenario

    draw = scenario.sample_background
    scenario.sample_background = lambda weights, paths, sampler: background
    try:
        return scenario.sample_frame(recipe, None, 0, scene)
    finally:
        scenario.sample_background = draw


@pytest.mark.slow
def test_one_and_two_workers_draw_the_same_backgrounds(tmp_path):
    from wearforge.generate import generate

    specs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        generate(_background_recipe(["frames=4", "render.resolution=[32,24]", "render.spp=1",
                                     "render.denoise=false", f"output.dir={out}"]), workers=workers)
        specs[workers] = [json.loads((out / f"frame_spec_{i:04d}.json").read_text())["background"] for i in range(4)]
    assert specs[1] == specs[2] and len(set(specs[1])) >= 2, specs


@pytest.mark.parametrize("setting, field, words", [
    ("scene.backgrounds=[{usd: asset:no_such_support}]", "scene.backgrounds.0.usd", "not found"),
    ("scene.backgrounds=[{usd: missing/belt.usda}]", "scene.backgrounds.0.usd", "not found"),
    ("scene.backgrounds=[]", "scene.backgrounds", "at least 1"),
    ("scene.backgrounds=[{usd: asset:tote, weight: 0}]", "scene", "weights must not all be 0"),
    ("scene.backgrounds=[{usd: asset:tote, weight: -1}]", "scene.backgrounds.0.weight", "greater than or equal"),
    ("scene.backgrounds=[{usd: asset:tote, colour: red}]", "scene.backgrounds.0.colour", "unknown key"),
    ("scene.backgrounds=[{usd: asset:tote, hide: [/World/NoBin]}]", "scene.backgrounds.0.hide.0", "no prim"),
    ("scene.backgrounds=[{usd: asset:tote, hide: [/World/Parts]}]", "scene.backgrounds.0.hide.0", "holds a part"),
])
def test_bad_backgrounds_are_refused_naming_file_and_field(setting, field, words, capsys):
    from test_malformed_usd import run_cli

    code, err = run_cli(["validate", str(DEMO), "--set", setting], capsys)
    assert code == 2 and field in err and words in err and "demo" in err and "Traceback" not in err, err


def test_backgrounds_need_a_support_and_geometry(tmp_path, write_recipe, cell_recipe, capsys):
    from pxr import Usd, UsdGeom

    from test_malformed_usd import run_cli

    recipe = dict(cell_recipe)
    recipe["scene"] = {**cell_recipe["scene"], "support": None, "backgrounds": [{"usd": "asset:tote"}]}
    code, err = run_cli(["validate", str(write_recipe(recipe, "nosupport"))], capsys)
    assert code == 2 and "scene.support" in err, err
    empty = tmp_path / "empty.usda"
    stage = Usd.Stage.CreateNew(str(empty))
    stage.SetDefaultPrim(UsdGeom.Xform.Define(stage, "/Nothing").GetPrim())
    stage.GetRootLayer().Save()
    recipe["scene"] = {**cell_recipe["scene"], "backgrounds": [{"usd": "asset:tote"}, {"usd": str(empty)}]}
    code, err = run_cli(["validate", str(write_recipe(recipe, "empty"))], capsys)
    assert code == 2 and "scene.backgrounds.1.usd" in err and "no geometry" in err, err
