"""The measurable physics of the defect kernels: units, gravity, stress raisers, temper-colour order,
surface finishes, and that a dent of the default depth is visible at inspection scale."""

import sys
from types import SimpleNamespace

import numpy as np
import pytest

from wearforge.recipe import ASSETS_DIR
from wearforge.wear import DEFECT_CLASSES, CleanMaterial, LayerSpec, bake, build_stack
from wearforge.wear.defects import cracks, discoloration, make_params, in_object_units, param_units
from wearforge.wear.finish import FINISHES
from wearforge.wear.units import mm_to_object_units

sys.path.insert(0, str(ASSETS_DIR))
import build_assets  # noqa: E402

STEEL = CleanMaterial((0.56, 0.57, 0.58), 1.0, 0.3)
RES = 256


@pytest.fixture(scope="module")
def pipe():
    m = build_assets.pipe_spool()
    return bake(m.points, m.triangles(), m.normals, m.uvs, RES, occlusion_resolution=128, rays=16)


@pytest.fixture(scope="module")
def bracket():
    m = build_assets.bracket()
    return bake(m.points, m.triangles(), m.normals, m.uvs, 512, occlusion_resolution=128, rays=16)


def ctx_of(b):
    return SimpleNamespace(cover=b.cover, position=b.position, normal=b.normal, bake=b, meters_per_unit=1.0)


def test_lengths_are_millimetres_converted_by_meters_per_unit():
    assert mm_to_object_units(1.0) == pytest.approx(0.001)
    assert mm_to_object_units(5.0, meters_per_unit=0.01) == pytest.approx(0.5)  # a centimetre stage
    with pytest.raises(ValueError):
        mm_to_object_units(1.0, 0.0)
    for defect in DEFECT_CLASSES:
        units = param_units(defect)
        assert set(units.values()) <= {"", "mm"}
    assert param_units("scratches")["width"] == "mm" and param_units("scratches")["count"] == ""
    p = in_object_units(make_params("scratches", {"width": 0.08, "count": 5}), 0.01)
    assert p.width == pytest.approx(0.008) and p.count == 5


def test_a_centimetre_twin_gets_the_same_defects_as_the_metre_twin():
    m = build_assets.washer()
    metre = bake(m.points, m.triangles(), m.normals, m.uvs, 128, occlusion_resolution=64, rays=8)
    cm = bake(m.points * 100.0, m.triangles(), m.normals, m.uvs, 128, occlusion_resolution=64, rays=8)
    layers = [LayerSpec("rust", 3, {"coverage": 0.4, "scale": 4.0})]
    a = build_stack(metre, STEEL, layers)
    b = build_stack(cm, STEEL, layers, meters_per_unit=0.01)
    agree = (a.defect_class == b.defect_class)[a.cover == 1].mean()
    assert agree > 0.98
    assert b.height.max() == pytest.approx(a.height.max() * 100.0, rel=0.05)


def _source_above(b, defect, params, off, up):
    """For the texels a gravity-driven feature adds (streaks, drips): mean sign of the height difference
    to the nearest texel of its source (+1: every source is above, -1: every source is below)."""
    from scipy.spatial import cKDTree

    base = build_stack(b, STEEL, [LayerSpec(defect, 5, {**params, **off})], up=np.array(up, float))
    full = build_stack(b, STEEL, [LayerSpec(defect, 5, params)], up=np.array(up, float))
    src = (base.defect_class > 0) & (b.cover == 1)
    added = (full.defect_class > 0) & ~src & (b.cover == 1)
    assert added.sum() > 20 and src.sum() > 20
    _, nearest = cKDTree(b.position[src]).query(b.position[added])
    dz = b.position[src][nearest][:, 2] - b.position[added][:, 2]
    return float(np.mean(np.sign(dz)))


def test_rust_streaks_run_down_along_gravity_for_the_pose(pipe):
    params = {"coverage": 0.2, "streaks": 1.0, "streak_length": 60.0, "edge_bias": 0.0}
    assert _source_above(pipe, "rust", params, {"streaks": 0.0}, [0, 0, 1]) > 0.4
    assert _source_above(pipe, "rust", params, {"streaks": 0.0}, [0, 0, -1]) < -0.4  # part upside down


def test_oil_drips_run_down_along_gravity_for_the_pose(pipe):
    params = {"count": 10, "radius": 10.0, "drip": 60.0}
    assert _source_above(pipe, "oil", params, {"drip": 0.0}, [0, 0, 1]) > 0.4
    assert _source_above(pipe, "oil", params, {"drip": 0.0}, [0, 0, -1]) < -0.4


def test_dust_settles_on_faces_that_are_up_in_this_pose(pipe):
    up = build_stack(pipe, STEEL, [LayerSpec("dust", 2, {"amount": 1.0})], up=np.array([0, 0, 1.0]))
    down = build_stack(pipe, STEEL, [LayerSpec("dust", 2, {"amount": 1.0})], up=np.array([0, 0, -1.0]))
    nz = pipe.normal[..., 2]
    assert nz[up.defect_class > 0].mean() > 0.5 and nz[down.defect_class > 0].mean() < -0.5


def test_cracks_start_at_stress_raisers_and_grow_away_from_them(bracket):
    params = in_object_units(make_params("cracks", {"count": 6}))
    lines, widths, ids, origins, _ = cracks.crack_paths(ctx_of(bracket), params, seed=4)
    score = np.clip(bracket.convexity, 0, None) + np.clip(bracket.cavity, 0, None)
    on = bracket.cover == 1
    cut = np.quantile(score[on], 0.95)
    flat = bracket.position[on]
    tree = __import__("scipy.spatial", fromlist=["cKDTree"]).cKDTree(flat)
    origin_score = score[on][tree.query(origins)[1]]
    assert len(origins) >= 4 and np.all(origin_score >= cut)
    trunks = {}
    for line, k in zip(lines, ids):
        trunks.setdefault(k, line)  # the first polyline of each crack is its trunk, starting at the origin
    assert len(trunks) == len(origins)
    for k, line in trunks.items():
        assert np.linalg.norm(line[0] - origins[k]) < 1e-6
        along = score[on][tree.query(line)[1]]
        assert along[len(line) // 2:].mean() < origin_score[k]
        length = np.linalg.norm(np.diff(line, axis=0), axis=1).sum()
        assert 3e-3 < length < 40e-3  # millimetre defaults: 15 mm mean
        # tortuous, not straight: the path is longer than its chord
        assert length > 1.02 * np.linalg.norm(line[-1] - line[0])
    stack = build_stack(bracket, STEEL, [LayerSpec("cracks", 4, {"count": 6, "width": 0.3})])
    assert (stack.defect_class == DEFECT_CLASSES.index("cracks") + 1).sum() > 50


def test_heat_tint_bands_follow_the_temper_colour_order(bracket):
    params = {"count": 1, "width": 12.0, "seam": 30.0}
    stack = build_stack(bracket, STEEL, [LayerSpec("discoloration", 8, params)])
    a, b, _ = discoloration.sources(ctx_of(bracket), in_object_units(make_params("discoloration", params)), 8)
    tinted = (stack.defect_class > 0) & (bracket.cover == 1)
    assert tinted.sum() > 200
    pos = bracket.position[tinted]
    ab = b - a
    t = np.clip(np.einsum("pij,ij->pi", pos[:, None] - a[None], ab) / np.maximum((ab * ab).sum(-1), 1e-20), 0, 1)
    dist = np.linalg.norm(pos[:, None] - (a[None] + t[..., None] * ab[None]), axis=-1).min(1)
    tint = stack.base_color[tinted] / np.array(STEEL.base_color)
    palette = np.array([c for _, c in discoloration.TEMPER])
    strength = 0.85
    expected = 1 + strength * (palette - 1)
    band = np.argmin(((tint[:, None] - expected[None]) ** 2).sum(-1), axis=1)
    medians = [np.median(dist[band == k]) for k in range(len(palette)) if (band == k).sum() > 10]
    assert len(medians) >= 5
    assert all(x < y for x, y in zip(medians, medians[1:])), medians  # grey-blue at the seam ... straw outside
    from scipy.stats import spearmanr
    assert spearmanr(dist, band).statistic > 0.8


@pytest.mark.parametrize("finish", FINISHES)
def test_clean_finishes_add_structure_but_no_labels(pipe, finish):
    clean = CleanMaterial(STEEL.base_color, 1.0, 0.3, finish, {"fingerprints": 2})
    stack = build_stack(pipe, clean, [])
    on = pipe.cover == 1
    assert not stack.defect_class.any() and not stack.defect_instance.any()
    assert stack.height[on].std() > 0 or stack.base_color[on].std(0).max() > 0.005
    machined = finish in ("brushed", "turned", "milled")
    assert (stack.anisotropy[on].mean() > 0.3) == machined
    if machined:
        t = stack.tangent[on][:, :2] * 2 - 1
        assert np.allclose(np.linalg.norm(t, axis=-1)[stack.anisotropy[on] > 0], 1.0, atol=0.02)
    again = build_stack(pipe, clean, [])
    assert np.array_equal(stack.base_color, again.base_color) and np.array_equal(stack.normal, again.normal)
    with pytest.raises(ValueError, match="unknown finish"):
        build_stack(pipe, CleanMaterial(STEEL.base_color, 1.0, 0.3, "sandblasted"), [])


def test_pit_sizes_are_log_normal_and_clustered(bracket):
    stack = build_stack(bracket, STEEL, [LayerSpec("pitting", 2, {"density": 20, "clusters": 0.3, "size": 1.5})])
    code = DEFECT_CLASSES.index("pitting") + 1
    inst = stack.defect_instance[stack.defect_class == code]
    _, counts = np.unique(inst, return_counts=True)
    assert len(counts) > 30
    logs = np.log(np.sqrt(counts))
    assert abs(np.mean(logs - logs.mean()) ** 3) < 1.0 and np.std(logs) > 0.2  # spread, roughly symmetric in log
    # clustered: pits occupy only part of the surface, coarse tiles are either pitted or clean
    on = stack.cover == 1
    tiles = (stack.defect_class == code).reshape(32, 16, 32, 16).mean((1, 3))
    used = on.reshape(32, 16, 32, 16).mean((1, 3)) > 0.9
    assert (tiles[used] == 0).mean() > 0.3 and (tiles[used] > 0).mean() > 0.1


def _plate(tmp_path, half=0.011):
    from wearforge.plate_twin import write_plate_twin

    return write_plate_twin(tmp_path / "plate.usda", half, diffuse=(0.5, 0.5, 0.5))


@pytest.mark.slow
def test_a_dent_of_the_default_depth_is_visible_at_inspection_scale(tmp_path, write_recipe):
    """>= 90 % of a dent's labelled pixels differ by CIEDE2000 >= 2 from the same plate without the dent,
    under the default inspection lighting (ring light plus a raking bar) at 0.27 mm per pixel, with the dent
    displacing the plate's mesh."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    from wearforge.inspection import DEFAULT_LIGHTING, camera, lighting
    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene
    from wearforge.wear.defects import param_docs

    usd = _plate(tmp_path)
    cam = camera([0, 0, 0], [0.0, -0.42, 0.906], field_of_view_mm=26.0)
    defaults = {k: v for k, (v, _) in param_docs("dents").items()}
    frames = []
    for name, params in (("dent", {"count": 1}), ("flat", {"count": 1, "depth": 0.0, "lip": 0.0, "contact": 0.0})):
        recipe = load_recipe(write_recipe({
            "scene": {"usd": str(usd)}, "camera": cam, "lights": lighting(DEFAULT_LIGHTING, cam),
            "randomizers": {"materials": [{"preset": "painted_safety_yellow"}],
                            "wear": [{"resolution": 512, "layers": [{"type": "dents", "params": params}]}]},
            "render": {"resolution": [96, 96], "spp": 48}, "seed": 3}, name))
        stage = open_stage(recipe.usd_path())
        renderer = StandaloneRenderer(stage)
        frames.append(renderer.render(sample_frame(recipe, None, 0, read_scene(recipe, stage))))
        # the dent is geometry here: the renderer refined and displaced the plate (docs/wear.md)
        assert (renderer.backend._displaced[0] is not None) == (name == "dent")
    dent, flat = frames
    labelled = dent["defect_segmentation"]["data"] > 0
    assert labelled.sum() > 200, "the dent must be in view"
    lab = [rgb2lab(f["rgb"]["data"][..., :3].astype(np.float64) / 255.0) for f in (dent, flat)]
    de = deltaE_ciede2000(*lab)
    assert np.median(de[~labelled & (flat["instance_segmentation"]["data"] > 0)]) < 1.0  # noise floor
    assert (de[labelled] >= 2.0).mean() >= 0.9, (de[labelled] >= 2.0).mean()
    assert defaults["depth"] == 0.8  # the default depth, in mm


def test_focus_places_discrete_defects_in_the_cameras_field(pipe):
    on = pipe.cover == 1
    centre = pipe.position[on][len(pipe.position[on]) // 3]
    radius = 0.03
    for defect, params in (("dents", {"count": 5, "radius": 5.0}), ("scratches", {"count": 8, "width": 2.0}),
                           ("oil", {"count": 4, "radius": 5.0, "drip": 0.0})):
        stack = build_stack(pipe, STEEL, [LayerSpec(defect, 3, params)], focus=(centre, radius))
        hit = (stack.defect_class > 0) & on
        assert hit.sum() > 5
        dist = np.linalg.norm(pipe.position[hit] - centre, axis=-1)
        assert dist.max() < radius + 0.035  # centres inside the focus, plus the defect's own size


def _project(points: np.ndarray, camera: dict, width: int, height: int) -> np.ndarray:
    """World points (N, 3) -> pixel coordinates (N, 2) through the camera_params payload (row vectors)."""
    view = np.asarray(camera["cameraViewTransform"], float).reshape(4, 4)
    proj = np.asarray(camera["cameraProjection"], float).reshape(4, 4)
    clip = np.c_[points, np.ones(len(points))] @ view @ proj
    ndc = clip[:, :2] / clip[:, 3:]
    return np.c_[(ndc[:, 0] + 1) / 2 * width, (1 - ndc[:, 1]) / 2 * height]


def _segment_distance(px: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (N,) of 2-D points to the nearest of segments a[i] -> b[i]."""
    ab = b - a
    t = np.clip(np.einsum("psi,si->ps", px[:, None] - a[None], ab) / np.maximum((ab * ab).sum(-1), 1e-12), 0, 1)
    return np.linalg.norm(px[:, None] - (a[None] + t[..., None] * ab[None]), axis=-1).min(1)


@pytest.mark.slow
def test_a_crack_at_inspection_scale_is_labelled_along_its_path(write_recipe):
    """The inspection station's scale (0.0625 mm per pixel): a 0.05 mm fatigue crack starts at the rim of the
    hole the camera looks at (not on the sheet's underside), shows as a dark line, and is labelled along its
    path and only there."""
    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene
    from wearforge.twin_reader import read_frame_state
    from wearforge.wear.defects import Context
    from wearforge.wear.twin_stacks import object_focus, stack_resolution

    size = (320, 240)
    recipe = load_recipe(write_recipe({
        "scene": {"usd": "asset:bracket"},
        "station": {"target": [-0.026, 0.0, 0.003], "direction": [0.25, -0.2, 1.0], "field_of_view_mm": 20,
                    "working_distance_mm": 100, "lighting": "ring_bar", "sensor": "mono"},
        "randomizers": {"materials": [{"parts": "class:bracket", "preset": "bare_steel"}],
                        "wear": [{"parts": "class:bracket", "resolution": 2048,
                                  "layers": [{"type": "cracks", "params": {"count": 1, "length_px": 64}}]}]},
        "render": {"resolution": list(size), "spp": 16}, "seed": 5}))
    stage = open_stage(recipe.usd_path())
    renderer = StandaloneRenderer.for_recipe(recipe, stage)
    spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
    data = renderer.render(spec)
    seg = data["defect_segmentation"]
    crack_id = [int(k) for k, v in seg["idToLabels"].items() if v["class"].endswith("cracks")]
    labelled = np.isin(seg["data"], crack_id)

    # the crack's own path, as the wear stack grew it, projected into the image
    part = next(p for p in spec.parts if p.wear is not None)
    index = renderer.wear.meshes_of(part.path)[0]
    state = read_frame_state(stage, renderer.meshes, spec.camera.path)
    m = state.matrices[index]
    res = stack_resolution(part.wear.resolution, part.wear.texels_per_pixel, renderer.meshes[index], m,
                           state.camera, spec.render.resolution)
    b = renderer.wear.bake_of(index, res)
    ctx = Context(None, None, None, res, "cpu", b.cover, b.position, b.normal, b,
                  focus=object_focus(part.wear, m, state.camera))
    params = in_object_units(make_params("cracks", dict(part.wear.layers[0].params)))
    lines, _, _, origins, normals = cracks.crack_paths(ctx, params, part.wear.layers[0].seed)
    assert len(origins) == 1
    eye = ctx.focus[2]
    assert normals[0] @ (eye - origins[0]) > 0, "the crack starts on a face the camera looks at"
    world = [line @ m[:3, :3].T + m[:3, 3] for line in lines]
    a = np.concatenate([_project(w[:-1], data["camera_params"], *size) for w in world])
    z = np.concatenate([_project(w[1:], data["camera_params"], *size) for w in world])

    assert labelled.sum() >= 60, labelled.sum()
    ys, xs = np.nonzero(labelled)
    dist = _segment_distance(np.c_[xs + 0.5, ys + 0.5], a, z)
    # on the path: the line is drawn by 0.12 mm texels (2 px here), so a labelled pixel centre lies within a
    # texel plus half a pixel's diagonal of the path
    assert np.median(dist) <= 1.5 and dist.max() <= 4.0, (np.median(dist), dist.max())
    # along the path: most of the in-view path has a labelled pixel next to it
    ticks = np.concatenate([a + (z - a) * t for t in np.linspace(0, 1, 16, endpoint=False)])
    inside = (ticks[:, 0] >= 0) & (ticks[:, 0] < size[0]) & (ticks[:, 1] >= 0) & (ticks[:, 1] < size[1])
    near = _segment_distance(ticks[inside], np.c_[xs, ys] + 0.5, np.c_[xs, ys] + 0.5)
    assert inside.sum() > 50 and (near <= 2.0).mean() >= 0.6, (inside.sum(), (near <= 2.0).mean())


def test_focus_with_a_camera_places_discrete_defects_on_the_faces_it_looks_at(bracket):
    """A sheet's underside lies as close to the focus as its top: with the camera's position in the focus,
    discrete defects (and crack origins) go only on the faces that look at it."""
    on = bracket.cover == 1
    top = on & (bracket.normal[..., 2] > 0.9) & (bracket.position[..., 2] > 0.002)
    centre = bracket.position[top][len(bracket.position[top]) // 2]
    eye = centre + np.array([0.0, -0.02, 0.1])
    for defect, params in (("dents", {"count": 6, "radius": 2.0}), ("scratches", {"count": 8, "width": 0.5}),
                           ("oil", {"count": 4, "radius": 2.0, "drip": 0.0})):
        stack = build_stack(bracket, STEEL, [LayerSpec(defect, 3, params)], focus=(centre, 0.02, eye))
        hit = (stack.defect_class > 0) & on
        assert hit.sum() > 5
        facing = np.einsum("ij,ij->i", bracket.normal[hit], eye - bracket.position[hit]) > 0
        assert facing.mean() > 0.95, (defect, facing.mean())
    from wearforge.wear.defects import Context

    ctx = Context(None, None, None, bracket.resolution, "cpu", bracket.cover, bracket.position, bracket.normal,
                  bracket, focus=(centre, 0.02, eye))
    for seed in range(3):
        _, _, _, origins, normals = cracks.crack_paths(ctx, in_object_units(make_params("cracks", {"count": 2})), seed)
        assert len(origins) == 2 and np.all(np.einsum("ij,ij->i", normals, eye - origins) > 0)


def test_rust_streaks_fade_out_where_the_face_turns_horizontal_rivulet_by_rivulet(bracket):
    """Run-off running down the bracket's outer bend onto its underside thins out and drips off at each
    rivulet's own point, not along one line of constant slope (a straight cut in the texture)."""
    on = bracket.cover == 1
    n = bracket.normal
    slope = np.linalg.norm(np.array([0.0, 0.0, 1.0]) - n * n[..., 2:3], axis=-1)
    underside = on & (slope < 0.5) & (n[..., 2] < 0)  # the outer bend turning into the base's underside
    for seed in (1, 2):
        params = {"coverage": 0.5, "scale": 20.0, "streaks": 1.0}
        full = build_stack(bracket, STEEL, [LayerSpec("rust", seed, params)])
        bare = build_stack(bracket, STEEL, [LayerSpec("rust", seed, {**params, "streaks": 0.0})])
        streak = underside & (bare.defect_class == 0) & (np.abs(full.base_color - bare.base_color).max(-1) > 0.02)
        rivulet = np.floor(bracket.position[..., 1][streak] / 0.002).astype(int)  # 2 mm strips across the flow
        lowest = np.array([slope[streak][rivulet == k].min() for k in np.unique(rivulet)
                           if (rivulet == k).sum() > 3])
        reaching = np.unique(lowest[lowest < 0.3].round(3))
        assert len(reaching) >= 3 and reaching.min() < 0.15, reaching
