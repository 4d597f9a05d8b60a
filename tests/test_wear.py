"""Wear engine: determinism, what each defect does to the material, composition, occurrences, UV fallback,
and exact defect labels in rendered frames."""

import logging
import sys

import numpy as np
import pytest

from wearforge.wear import DEFECT_CLASSES, CleanMaterial, LayerSpec, bake, build_stack, check_uvs, triangle_atlas
from wearforge.recipe import ASSETS_DIR

sys.path.insert(0, str(ASSETS_DIR))
import build_assets  # noqa: E402

PAINT = CleanMaterial((0.05, 0.16, 0.42), 0.0, 0.45)
STEEL = CleanMaterial((0.56, 0.57, 0.58), 1.0, 0.3)
RES = 256


@pytest.fixture(scope="module")
def pipe_bake():
    m = build_assets.pipe_spool()
    return bake(m.points, m.triangles(), m.normals, m.uvs, RES, occlusion_resolution=128, rays=16)


def luminance(c):
    return c @ np.array([0.2126, 0.7152, 0.0722])


def region(stack, defect):
    sel = stack.defect_class == DEFECT_CLASSES.index(defect) + 1
    return sel, (stack.cover == 1) & ~sel


def test_same_seed_same_bits_other_seed_other_pattern(pipe_bake):
    layers = [LayerSpec("rust", 5, {"coverage": 0.4}), LayerSpec("scratches", 9, {}), LayerSpec("dirt", 2, {})]
    a = build_stack(pipe_bake, STEEL, layers)
    b = build_stack(pipe_bake, STEEL, layers)
    for name in ("base_color", "roughness", "metallic", "normal", "height", "defect_class", "defect_instance"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    c = build_stack(pipe_bake, STEEL, [LayerSpec("rust", 6, {"coverage": 0.4}), *layers[1:]])
    assert not np.array_equal(a.defect_class, c.defect_class)


CHECKS = {
    "rust": (STEEL, {"coverage": 0.4, "streaks": 0}),  # faint run-off stains (unlabelled) are tested apart
    "pitting": (STEEL, {"density": 5, "size": 3.0, "clusters": 1.0, "rim": 0}),  # rims are unlabelled stains
    "scratches": (PAINT, {"count": 30, "width": 2.0, "depth": 0.2, "clusters": 0}),
    "edge_wear": (PAINT, {"amount": 0.9}),
    "dirt": (STEEL, {"amount": 0.9}),
    "dust": (PAINT, {"amount": 1.0}),
    "oil": (STEEL, {"count": 8, "radius": 20}),
    "dents": (PAINT, {"count": 6, "radius": 30}),
    "cracks": (STEEL, {"count": 4, "width": 3.0, "length": 60}),
    "discoloration": (STEEL, {"width": 30}),
}


@pytest.mark.parametrize("defect", DEFECT_CLASSES)
def test_each_defect_changes_the_material_as_documented(pipe_bake, defect):
    clean, params = CHECKS[defect]
    stack = build_stack(pipe_bake, clean, [LayerSpec(defect, 21, params)], up=np.array([0.0, 0.0, 1.0]))
    inside, outside = region(stack, defect)
    assert inside.sum() > 20, "the defect must mark texels"
    col, rough, metal, height = stack.base_color, stack.roughness, stack.metallic, stack.height
    clean_col = np.array(clean.base_color)
    assert np.allclose(col[outside & (height == 0)].mean(0), clean_col, atol=0.05)
    if defect == "rust":
        c = col[inside].mean(0)
        assert c[0] > c[1] > c[2] and metal[inside].mean() < 0.1 and rough[inside].mean() > 0.7
        assert height[inside].mean() > 0
    elif defect == "pitting":
        assert height[inside].mean() < 0 and luminance(col[inside]).mean() < luminance(clean_col)
    elif defect in ("scratches", "edge_wear"):
        # paint gone: bare metal where the damage goes through the coat, red-oxide primer around it
        assert (metal[inside] > 0.99).mean() > 0.2
        # every labelled texel moved towards red-oxide primer or grey metal (away from the blue)
        warmer = (col[inside][:, 0] - col[inside][:, 2]) > (clean_col[0] - clean_col[2]) + 0.1
        assert warmer.mean() > 0.8
        if defect == "scratches":
            assert height[inside].mean() < 0
            assert stack.anisotropy[inside].mean() > 0.4 and stack.anisotropy[outside].max() == 0
        else:
            assert pipe_bake.convexity[inside].mean() > 3 * pipe_bake.convexity[outside].mean()
    elif defect == "dirt":
        occl = pipe_bake.cavity + (1 - pipe_bake.ao)
        assert occl[inside].mean() > 2 * occl[outside].mean()
        # a translucent film: darker and less metallic, but the metal still shows through
        assert 0.05 < metal[inside].mean() < 0.8 and luminance(col[inside]).mean() < 0.8 * luminance(clean_col)
    elif defect == "dust":
        up = pipe_bake.normal[..., 2]
        assert up[inside].mean() > 0.5 and up[inside].mean() > up[outside].mean() + 0.3
        # a translucent film: rougher and greyer than the paint, but the paint still shows through
        assert rough[inside].mean() > clean.roughness + 0.1
        assert (col[inside] - np.array([0.50, 0.48, 0.45])).__abs__().mean() > 0.05
    elif defect == "oil":
        assert luminance(col[inside]).mean() < 0.85 * luminance(clean_col) and rough[inside].mean() < 0.6 * clean.roughness
    elif defect == "dents":
        assert height[inside].max() < 0 and height.max() > 0  # a cup with a raised lip
        # the contact mark changes the finish only at the bottom of the cup
        changed = np.abs(col - clean_col).max(-1) > 1e-4
        assert np.all(~changed | inside)
    elif defect == "cracks":
        # dark at the mouth, tapering to a hairline at the tip
        assert luminance(col[inside]).min() < 0.1 and luminance(col[inside]).mean() < 0.6 * luminance(clean_col)
        assert height[inside].mean() < 0
    elif defect == "discoloration":
        assert np.abs(col[inside] - clean_col).max(axis=-1).mean() > 0.1
        assert np.allclose(metal[inside], clean.metallic)


def test_coverage_parameter_sets_the_rusted_fraction(pipe_bake):
    fractions = []
    for coverage in (0.1, 0.3, 0.6):
        stack = build_stack(pipe_bake, STEEL, [LayerSpec("rust", 4, {"coverage": coverage, "edge_bias": 0.0})])
        fractions.append(np.mean(stack.defect_class[stack.cover == 1] > 0))
    assert fractions[0] < fractions[1] < fractions[2]
    assert all(abs(f - c) < 0.12 for f, c in zip(fractions, (0.1, 0.3, 0.6)))


def test_layers_compose_bottom_to_top(pipe_bake):
    rust_then_dirt = build_stack(pipe_bake, STEEL, [LayerSpec("rust", 1, {"coverage": 0.6}), LayerSpec("dirt", 2, {"amount": 1.0})])
    dirt_then_rust = build_stack(pipe_bake, STEEL, [LayerSpec("dirt", 2, {"amount": 1.0}), LayerSpec("rust", 1, {"coverage": 0.6})])
    rust, dirt = DEFECT_CLASSES.index("rust") + 1, DEFECT_CLASSES.index("dirt") + 1
    only_rust = build_stack(pipe_bake, STEEL, [LayerSpec("rust", 1, {"coverage": 0.6})]).defect_class == rust
    only_dirt = build_stack(pipe_bake, STEEL, [LayerSpec("dirt", 2, {"amount": 1.0})]).defect_class == dirt
    both = only_rust & only_dirt
    assert both.sum() > 10
    # rust is opaque: on top it takes the label; grime takes it only where it is thick enough to hide the rust
    assert np.mean(dirt_then_rust.defect_class[both] == rust) > 0.95
    over = rust_then_dirt.defect_class[both]
    assert set(np.unique(over)) == {rust, dirt} and 0.2 < np.mean(over == dirt) < 0.9


def test_a_see_through_film_leaves_the_label_to_the_defect_under_it(pipe_bake):
    """Dust (at most 60 % opaque) over scratches: the grooves still show, so they keep their label; dust keeps
    its label everywhere else."""
    scratches, dust = DEFECT_CLASSES.index("scratches") + 1, DEFECT_CLASSES.index("dust") + 1
    marks = [LayerSpec("scratches", 1, {"count": 20, "width": 2.0, "clusters": 0})]
    film = [LayerSpec("dust", 2, {"amount": 1.0})]
    only_marks = build_stack(pipe_bake, STEEL, marks).defect_class == scratches
    only_dust = build_stack(pipe_bake, STEEL, film).defect_class == dust
    both = build_stack(pipe_bake, STEEL, marks + film).defect_class
    under = only_marks & only_dust
    assert under.sum() > 10
    assert np.all(both[under] == scratches)
    assert np.all(both[only_dust & ~only_marks] == dust)


def test_occurrences_are_counted_per_element_and_per_region(pipe_bake):
    stack = build_stack(pipe_bake, PAINT, [LayerSpec("scratches", 3, {"count": 10, "width": 2.0, "clusters": 0}),
                                           LayerSpec("rust", 4, {"coverage": 0.2})])
    ids = np.unique(stack.defect_instance[stack.defect_instance > 0])
    layer = ids >> 24
    scratch_ids = ids[layer == 1] & 0xFFFFFF
    assert 0 < len(scratch_ids) <= 10 and scratch_ids.max() <= 10
    import cv2

    rust_mask = (stack.defect_instance >> 24 == 2).astype(np.uint8)
    n, _ = cv2.connectedComponents(rust_mask, connectivity=8)
    assert len(ids[layer == 2]) == n - 1  # one id per connected rust patch


def test_overlapping_or_missing_uvs_get_an_exact_per_triangle_atlas():
    m = build_assets.bracket()
    tris = m.triangles()
    assert check_uvs(m.points, tris, m.uvs).ok
    soup = m.points[tris].reshape(-1, 3)  # every triangle mapped onto the same UV triangle: overlaps
    soup_tris = np.arange(len(soup)).reshape(-1, 3)
    verdict = check_uvs(soup, soup_tris, np.tile([[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]], (len(tris), 1)))
    assert not verdict.ok and "overlap" in verdict.reason
    assert not check_uvs(m.points, tris, None).ok
    points, faces, normals, uvs = triangle_atlas(m.points, tris, m.normals)
    assert check_uvs(points, faces.astype(np.int64), uvs).ok
    assert np.allclose(points[faces].reshape(-1, 3), m.points[tris].reshape(-1, 3))


def test_renderer_warns_and_falls_back_on_bad_uvs(tmp_path, write_recipe, caplog):
    from pxr import Sdf, Usd, UsdGeom

    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene

    from conftest import make_cube_twin

    twin = make_cube_twin(tmp_path / "cube.usda")
    stage = Usd.Stage.Open(str(twin))
    mesh = UsdGeom.Mesh.Define(stage, "/World/Cube/Plate")
    mesh.CreatePointsAttr([(-1, -1, 0.6), (1, -1, 0.6), (1, 1, 0.6), (-1, 1, 0.6)])
    mesh.CreateFaceVertexCountsAttr([3, 3])
    mesh.CreateFaceVertexIndicesAttr([0, 1, 2, 0, 2, 3])
    st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.faceVarying)
    st.Set([(0, 0), (1, 0), (1, 1), (0, 0), (1, 0), (1, 1)])  # both triangles on the same UV triangle
    stage.GetRootLayer().Save()
    recipe = load_recipe(write_recipe({
        "scene": {"usd": str(twin)}, "camera": {"position": [2.5, -2.0, 2.0], "look_at": [0, 0, 0.2]},
        "randomizers": {"wear": [{"resolution": 64, "layers": [{"type": "rust", "params": {"coverage": 0.5}}]}]},
        "render": {"resolution": [48, 36], "spp": 2}}))
    stage = open_stage(recipe.usd_path())
    renderer = StandaloneRenderer(stage)
    with caplog.at_level(logging.WARNING, logger="wearforge.wear"):
        data = renderer.render(sample_frame(recipe, None, 0, read_scene(recipe, stage)))
    assert any("overlapping UV" in r.message and "/World/Cube/Plate" in r.message for r in caplog.records)
    assert data["defect_segmentation"]["data"].any()


def test_rendered_defect_labels_match_the_class_map_exactly(tmp_path, write_recipe):
    """A flat quad seen straight on: every pixel's texel is known analytically."""
    from pxr import Sdf, Usd, UsdGeom, UsdLux

    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.semantics import set_semantic_class
    from wearforge.stage import open_stage, read_scene
    from wearforge.transforms import look_at_matrix

    stage = Usd.Stage.CreateNew(str(tmp_path / "plate.usda"))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)  # unauthored means centimetres in USD
    part = UsdGeom.Xform.Define(stage, "/Plate")
    set_semantic_class(part.GetPrim(), "plate")
    mesh = UsdGeom.Mesh.Define(stage, "/Plate/Geom")
    mesh.CreatePointsAttr([(-0.1, -0.1, 0), (0.1, -0.1, 0), (0.1, 0.1, 0), (-0.1, 0.1, 0)])
    mesh.CreateFaceVertexCountsAttr([4])
    mesh.CreateFaceVertexIndicesAttr([0, 1, 2, 3])
    mesh.CreateNormalsAttr([(0, 0, 1)] * 4)
    st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
    st.Set([(0, 0), (1, 0), (1, 1), (0, 1)])
    UsdLux.DomeLight.Define(stage, "/Dome").CreateIntensityAttr(1.0)
    stage.GetRootLayer().Save()
    recipe = load_recipe(write_recipe({
        "scene": {"usd": str(tmp_path / "plate.usda")},
        "camera": {"position": [0, -0.0001, 0.25], "look_at": [0, 0, 0], "focal_length": 18},
        "randomizers": {"materials": [{"preset": "bare_steel"}],
                        "wear": [{"resolution": 128, "layers": [{"type": "rust", "params": {"coverage": 0.45, "scale": 30}},
                                                                {"type": "scratches", "params": {"count": 8, "width": 4.0}}]}]},
        "render": {"resolution": [96, 96], "spp": 8},
        # point-sampled, unfiltered labels: each pixel centre's texel decides (visibility has its own tests)
        "labels": {"visibility": False, "supersampling": 1, "min_instance_pixels": 1}}))
    stage = open_stage(recipe.usd_path())
    renderer = StandaloneRenderer.for_recipe(recipe, stage)
    spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
    data = renderer.render(spec)
    seg, inst = data["defect_segmentation"]["data"], data["instance_segmentation"]["data"]
    # analytic: pixel centre -> ray -> plane z=0 -> st
    cam = spec.camera
    m = look_at_matrix(np.array(cam.position), np.array(cam.look_at), np.array(cam.up), cam.roll)
    tan_x = cam.horizontal_aperture / (2 * cam.focal_length)
    xs, ys = np.meshgrid(np.arange(96) + 0.5, np.arange(96) + 0.5)
    d = np.stack([(xs / 96 * 2 - 1) * tan_x, (1 - ys / 96 * 2) * tan_x, -np.ones_like(xs)], -1) @ m[:3, :3].T
    t = -m[2, 3] / d[..., 2]
    hit = m[:3, 3] + t[..., None] * d
    s_, t_ = (hit[..., 0] + 0.1) / 0.2, (hit[..., 1] + 0.1) / 0.2
    on = (s_ > 0) & (s_ < 1) & (t_ > 0) & (t_ < 1)
    stack = renderer.wear.stacks(spec, __import__("wearforge.twin_reader", fromlist=["x"]).read_frame_state(
        stage, renderer.meshes, spec.camera.path))[0][0]
    col, row = (s_ * 128).astype(int).clip(0, 127), ((1 - t_) * 128).astype(int).clip(0, 127)
    expected_code = stack.defect_class[row, col]
    # ignore pixels whose uv sits within 1e-3 texel of a texel border (float rounding may pick either)
    safe = on & (np.abs(s_ * 128 - np.round(s_ * 128)) > 1e-3) & (np.abs((1 - t_) * 128 - np.round((1 - t_) * 128)) > 1e-3)
    space = renderer.labels
    assert np.array_equal(seg[safe], space.defect_semantic[expected_code[safe]])
    assert np.all(inst[seg > 0] >= 2)  # defects lie inside the part mask
    rust = seg == space.class_id["rust"]
    assert rust.sum() > 200
    rgb = data["rgb"]["data"][..., :3].astype(float)
    redness = rgb[..., 0] - rgb[..., 2]
    assert redness[rust].mean() > redness[(seg == 0) & on].mean() + 20
    rows = data["defect_instances"]["data"]
    mask = data["defect_instances"]["mask"]
    for row_ in rows:
        sel = mask == row_["instanceId"]
        ys_, xs_ = np.nonzero(sel)
        assert row_["visiblePixels"] == sel.sum()
        assert (row_["x_min"], row_["y_min"], row_["x_max"], row_["y_max"]) == (xs_.min(), ys_.min(), xs_.max(), ys_.max())
        assert np.all(seg[sel] == row_["semanticId"])


def test_occluded_defects_produce_no_labels(tmp_path, write_recipe):
    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene

    base = {"scene": {"usd": "asset:inspection_cell", "parts": [{"path": "/World/Parts/*"}]},
            "camera": {"position": [-0.05, -0.9, 0.9], "look_at": [-0.05, 0.1, 0.8]},
            "randomizers": {"wear": [{"parts": "class:gear", "resolution": 128,
                                      "layers": [{"type": "rust", "params": {"coverage": 0.9}}]}]},
            "render": {"resolution": [64, 48], "spp": 2}}
    recipe = load_recipe(write_recipe(base))
    stage = open_stage(recipe.usd_path())
    renderer = StandaloneRenderer(stage)
    scene = read_scene(recipe, stage)
    data = renderer.render(sample_frame(recipe, None, 0, scene))
    gear = [k for k, v in data["instance_segmentation"]["idToLabels"].items() if v == "/World/Parts/Gear"]
    seg = data["defect_segmentation"]["data"]
    inst = data["instance_segmentation"]["data"]
    if gear:
        assert np.all(np.isin(inst[seg > 0], [int(g) for g in gear]))
    # move the gear right behind the spool's tube, on the line of sight: its rust must vanish from every label
    hidden = load_recipe(write_recipe({**base, "randomizers": {**base["randomizers"], "poses": [
        {"parts": "class:gear", "position": [-0.05, 0.0, 0.85]}]}}, "hidden"))
    data = renderer.render(sample_frame(hidden, None, 0, read_scene(hidden, stage)))
    visible_gear = data["pixel_counts"]["visible"]["/World/Parts/Gear"]
    assert visible_gear == 0 and data["pixel_counts"]["unoccluded"]["/World/Parts/Gear"] > 0
    assert not data["defect_segmentation"]["data"].any() and len(data["defect_instances"]["data"]) == 0


@pytest.mark.slow
def test_textures_command_writes_the_gallery(tmp_path):
    import subprocess

    from PIL import Image

    proc = subprocess.run([sys.executable, "-m", "wearforge", "textures", "--out", str(tmp_path), "--resolution", "64",
                           "--spp", "1"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    image = Image.open(tmp_path / "wear_gallery.png")
    assert image.width > 6 * 200 and image.height > 10 * 200
    pixels = np.asarray(image)
    assert pixels.std() > 20  # not an empty canvas


def test_gallery_swatches_show_the_stack_at_the_gallery_resolution_and_scale(tmp_path, monkeypatch):
    """The swatch is cut from the stack the gallery asked for (not one sized for the small overview camera)
    and spans 24 mm of it: about 48 texels of a 512-texel stack on the bracket (0.5 mm texels)."""
    from wearforge import gallery

    seen = []
    swatch = gallery.swatch
    monkeypatch.setattr(gallery, "swatch", lambda stack, at, texels, size, **kw: seen.append((stack.resolution, texels))
                        or swatch(stack, at, texels, size, **kw))
    gallery.build_gallery(tmp_path, resolution=512, render=False, defects=("rust",))
    assert len(seen) == 3 and all(res == 512 for res, _ in seen), seen
    assert all(40 <= texels <= 56 for _, texels in seen), seen
