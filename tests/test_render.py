"""Standalone rendering: exact labels for known geometry, camera model, lights, determinism, writer layout."""

import json

import cv2
import numpy as np
import pytest

from wearforge.recipe import load_recipe
from wearforge.render.frame import StandaloneRenderer
from wearforge.scenario import sample_frame
from wearforge.stage import open_stage, read_scene
from wearforge.transforms import look_at_matrix, trs_to_matrix

from conftest import make_cube_twin

W, H = 96, 72
CUBE_T, CUBE_R = (0.1, -0.05, 0.2), (20.0, 10.0, 35.0)


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    return make_cube_twin(tmp_path_factory.mktemp("cube") / "cube.usda", translate=CUBE_T, rotate=CUBE_R)


def cube_recipe(write_recipe, twin, focal=24.0, extra=None):
    data = {"scene": {"usd": str(twin)},
            "camera": {"position": [2.2, -1.8, 1.5], "look_at": [0.0, 0.0, 0.1], "focal_length": focal},
            "render": {"resolution": [W, H], "spp": 4}, "frames": 1, "seed": 3}
    data.update(extra or {})
    return load_recipe(write_recipe(data))


def analytic_cube(spec, size=1.0):
    """Per pixel centre: does the ray hit the cube, and how far (slab test in the cube's frame)."""
    cam = spec.camera
    m = look_at_matrix(np.array(cam.position), np.array(cam.look_at), np.array(cam.up), cam.roll)
    tan_x = cam.horizontal_aperture / (2 * cam.focal_length)
    xs, ys = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    d_cam = np.stack([(xs / W * 2 - 1) * tan_x, (1 - ys / H * 2) * tan_x * H / W, -np.ones_like(xs)], -1)
    d = d_cam @ m[:3, :3].T
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    box = trs_to_matrix(CUBE_T, CUBE_R, (1, 1, 1))
    inv = np.linalg.inv(box)
    o = inv[:3, :3] @ np.array(cam.position) + inv[:3, 3]
    dl = d @ inv[:3, :3].T
    with np.errstate(divide="ignore"):
        t1, t2 = (-size / 2 - o) / dl, (size / 2 - o) / dl
    near = np.minimum(t1, t2).max(-1)
    far = np.maximum(t1, t2).min(-1)
    hit = (far >= near) & (far > 0)
    return hit, np.where(hit, near, 0.0)


@pytest.mark.parametrize("focal", [24.0, 50.0])
def test_cube_mask_and_depth_match_the_analytic_projection(write_recipe, cube, focal):
    recipe = cube_recipe(write_recipe, cube, focal)
    spec = sample_frame(recipe, None, 0)
    data = StandaloneRenderer(open_stage(cube)).render(spec)
    inst = data["instance_segmentation"]
    cube_id = [int(k) for k, v in inst["idToLabels"].items() if v == "/World/Cube"][0]
    mask = inst["data"] == cube_id
    hit, dist = analytic_cube(spec)
    iou = (mask & hit).sum() / (mask | hit).sum()
    assert hit.sum() > 300 and iou > 0.98, iou
    both = mask & hit
    depth = data["distance_to_camera"]["data"]
    assert np.allclose(depth[both], dist[both], rtol=1e-4, atol=1e-4)
    assert np.all(depth[~mask] == 0) and data["distance_to_camera"]["data"].dtype == np.float32
    fwd = np.array(spec.camera.look_at) - np.array(spec.camera.position)
    assert np.all(data["distance_to_image_plane"]["data"][both] <= depth[both] + 1e-6)
    # boxes: tight = visible extent, nothing occludes the cube so loose == tight and occlusion 0
    tight, loose = data["bounding_box_2d_tight"]["data"], data["bounding_box_2d_loose"]["data"]
    ys, xs = np.nonzero(mask)
    assert (tight["x_min"][0], tight["y_min"][0], tight["x_max"][0], tight["y_max"][0]) == (xs.min(), ys.min(), xs.max(), ys.max())
    assert np.array_equal(tight, loose) and tight["occlusionRatio"][0] == 0
    assert data["semantic_segmentation"]["idToLabels"][str(tight["semanticId"][0])] == {"class": "cube"}
    assert fwd.dot(fwd) > 0


def test_camera_params_follow_usd_aperture_and_focal_length(write_recipe, cube):
    recipe = cube_recipe(write_recipe, cube, 35.0)
    spec = sample_frame(recipe, None, 0)
    params = StandaloneRenderer(open_stage(cube)).render(spec)["camera_params"]
    proj = params["cameraProjection"].reshape(4, 4)
    assert proj[0, 0] == pytest.approx(2 * 35.0 / 20.955, rel=1e-6)  # cot(fov_x / 2)
    assert proj[1, 1] == pytest.approx(2 * 35.0 / (20.955 * H / W), rel=1e-6)
    view = params["cameraViewTransform"].reshape(4, 4)
    origin = np.array([*spec.camera.position, 1.0]) @ view  # row-vector convention, as Replicator reports
    assert np.allclose(origin[:3], 0, atol=1e-9)
    assert list(params["renderProductResolution"]) == [W, H]


def test_occluded_part_gets_occlusion_ratio_and_loose_box(write_recipe, cell_recipe):
    recipe = load_recipe(write_recipe({**cell_recipe, "camera": {"position": [-0.05, -0.9, 0.9],
                                                                 "look_at": [-0.05, 0.1, 0.8]}}))
    stage = open_stage(recipe.usd_path())
    data = StandaloneRenderer(stage).render(sample_frame(recipe, None, 0, read_scene(recipe, stage)))
    tight = data["bounding_box_2d_tight"]
    loose = data["bounding_box_2d_loose"]
    counts = data["pixel_counts"]
    for row, path in zip(tight["data"], tight["primPaths"]):
        visible, full = counts["visible"][path], counts["unoccluded"][path]
        assert row["occlusionRatio"] == pytest.approx(1 - visible / full, abs=1e-6)
    occluded = [p for p in counts["visible"] if counts["unoccluded"][p] > counts["visible"][p]]
    assert occluded, "the pipe spool should hide part of something behind it"
    for path in occluded:
        t = tight["data"][tight["primPaths"].index(path)] if path in tight["primPaths"] else None
        lo = loose["data"][loose["primPaths"].index(path)]
        if t is not None:
            assert lo["x_min"] <= t["x_min"] and lo["y_min"] <= t["y_min"]
            assert lo["x_max"] >= t["x_max"] and lo["y_max"] >= t["y_max"]


def test_a_brighter_light_brightens_the_lit_part(write_recipe, cube):
    extra = {"lights": [{"name": "key", "type": "sphere", "intensity": 20.0, "radius": 0.2,
                         "position": [1.5, -1.5, 2.0]}]}
    dim = cube_recipe(write_recipe, cube, extra=extra)
    bright = load_recipe(write_recipe({**json.loads(dim.model_dump_json(exclude={"base_dir"})),
                                       "lights": [{**extra["lights"][0], "intensity": 200.0}]}, "bright"))
    renderer = StandaloneRenderer(open_stage(cube))
    a = renderer.render(sample_frame(dim, None, 0))
    b = renderer.render(sample_frame(bright, None, 0))
    normals = a["normals"]["data"][..., :3]
    position = np.array(extra["lights"][0]["position"])
    hit = a["instance_segmentation"]["data"] >= 2
    # faces turned towards the light brighten, faces turned away barely change
    facing = np.einsum("hwc,c->hw", normals, position / np.linalg.norm(position))
    lit, away = hit & (facing > 0.5), hit & (facing < -0.2)
    gain = lambda m: b["rgb"]["data"][..., :3][m].astype(float).mean() - a["rgb"]["data"][..., :3][m].mean()  # noqa: E731
    assert lit.sum() > 50 and gain(lit) > 40
    assert away.sum() == 0 or gain(away) < gain(lit) / 4
    assert np.array_equal(a["instance_segmentation"]["data"], b["instance_segmentation"]["data"])


def test_labels_and_pixels_are_identical_across_runs(write_recipe, cell_recipe):
    recipe = load_recipe(write_recipe({**cell_recipe, "randomizers": {"camera": {"orbit": {
        "target": [0, 0, 0.8], "distance": {"uniform": [0.8, 1.2]}, "azimuth": {"uniform": [0, 360]}}},
        "wear": [{"parts": "class:pipe_spool", "resolution": 128, "layers": [
            {"type": "rust", "params": {"coverage": {"uniform": [0.2, 0.5]}}}, {"type": "scratches"}]}]}}))
    runs = []
    for _ in range(2):
        stage = open_stage(recipe.usd_path())
        renderer = StandaloneRenderer(stage)
        scene = read_scene(recipe, stage)
        runs.append([renderer.render(sample_frame(recipe, None, i, scene)) for i in (1, 0)])
    for a, b in zip(*runs):
        for key in ("instance_segmentation", "semantic_segmentation", "distance_to_camera", "normals",
                    "defect_segmentation"):
            assert np.array_equal(a[key]["data"], b[key]["data"]), key
        assert np.array_equal(a["bounding_box_2d_tight"]["data"], b["bounding_box_2d_tight"]["data"])
        assert np.array_equal(a["defect_instances"]["data"], b["defect_instances"]["data"])
        assert np.array_equal(a["rgb"]["data"], b["rgb"]["data"])
    assert not np.array_equal(runs[0][0]["instance_segmentation"]["data"], runs[0][1]["instance_segmentation"]["data"])


def test_basic_writer_layout_round_trips(write_recipe, cell_recipe, tmp_path):
    from wearforge.generate import generate

    recipe = load_recipe(write_recipe({**cell_recipe, "output": {"dir": str(tmp_path / "ds"), "contact_sheet": 2}}))
    result = generate(recipe)
    out = result.output_dir
    assert (out / "contact_sheet.png").is_file() and (out / "metadata.txt").is_file()
    assert json.loads((out / "manifest.json").read_text())["frames"] == [0, 1]
    # render frame 1 again and compare every file with the annotation it came from
    stage = open_stage(recipe.usd_path())
    spec = sample_frame(recipe, None, 1, read_scene(recipe, stage))
    data = StandaloneRenderer(stage).render(spec)
    rgb = cv2.imread(str(out / "rgb_0001.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(rgb[..., [2, 1, 0, 3]], data["rgb"]["data"])
    assert np.array_equal(np.load(out / "distance_to_camera_0001.npy"), data["distance_to_camera"]["data"])
    tight = np.load(out / "bounding_box_2d_tight_0001.npy")
    assert tight.dtype == data["bounding_box_2d_tight"]["data"].dtype
    assert np.array_equal(tight, data["bounding_box_2d_tight"]["data"])
    assert json.loads((out / "bounding_box_2d_tight_prim_paths_0001.json").read_text()) == data["bounding_box_2d_tight"]["primPaths"]
    for kind, mapping in (("semantic_segmentation", "semantic_segmentation_labels"),
                          ("instance_segmentation", "instance_segmentation_mapping")):
        png = cv2.imread(str(out / f"{kind}_0001.png"), cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]]
        labels = json.loads((out / f"{mapping}_0001.json").read_text())
        decoded = np.empty(png.shape[:2], object)
        for key, label in labels.items():
            color = tuple(int(c) for c in key.strip("()").split(","))
            decoded[np.all(png == color, axis=-1)] = json.dumps(label)
        ids = data[kind]["data"]
        expected = np.vectorize(lambda i: json.dumps(data[kind]["idToLabels"][str(i)]))(ids)
        assert np.array_equal(decoded, expected), kind
    semantics = json.loads((out / "instance_segmentation_semantics_mapping_0001.json").read_text())
    assert {v["class"] for v in semantics.values()} >= {"pipe_spool", "table"}
    assert json.loads((out / "frame_spec_0001.json").read_text()) == spec.model_dump(mode="json")
    params = json.loads((out / "camera_params_0001.json").read_text())
    assert len(params["cameraViewTransform"]) == 16 and params["renderProductResolution"] == [64, 48]


def test_textures_are_bound_the_right_way_up(tmp_path, write_recipe):
    """A quadrant texture on a quad: st from the label pass and the rendered colour must agree."""
    from pxr import Sdf, Usd, UsdGeom, UsdLux, UsdShade

    from wearforge.semantics import set_semantic_class

    image = np.zeros((64, 64, 3), np.uint8)
    image[:32, :32] = (255, 0, 0)  # top-left red (st near (0, 1))
    image[:32, 32:] = (0, 255, 0)  # top-right green
    image[32:, :32] = (0, 0, 255)  # bottom-left blue (st near (0, 0))
    image[32:, 32:] = (255, 255, 255)
    cv2.imwrite(str(tmp_path / "quad.png"), image[..., ::-1])
    stage = Usd.Stage.CreateNew(str(tmp_path / "quad.usda"))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    mesh = UsdGeom.Mesh.Define(stage, "/Quad")
    mesh.CreatePointsAttr([(-1, -1, 0), (1, -1, 0), (1, 1, 0), (-1, 1, 0)])
    mesh.CreateFaceVertexCountsAttr([4])
    mesh.CreateFaceVertexIndicesAttr([0, 1, 2, 3])
    st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
    st.Set([(0, 0), (1, 0), (1, 1), (0, 1)])
    set_semantic_class(mesh.GetPrim(), "quad")
    mat = UsdShade.Material.Define(stage, "/Mat")
    shader = UsdShade.Shader.Define(stage, "/Mat/PS")
    shader.CreateIdAttr("UsdPreviewSurface")
    tex = UsdShade.Shader.Define(stage, "/Mat/Tex")
    tex.CreateIdAttr("UsdUVTexture")
    tex.CreateInput("file", Sdf.ValueTypeNames.Asset).Set("./quad.png")
    tex.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set("sRGB")
    shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(
        tex.CreateOutput("rgb", Sdf.ValueTypeNames.Float3))
    mat.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(mat)
    UsdLux.DomeLight.Define(stage, "/Dome").CreateIntensityAttr(1.0)
    stage.GetRootLayer().Save()
    recipe = load_recipe(write_recipe({"scene": {"usd": str(tmp_path / "quad.usda")},
                                       "camera": {"position": [0, -0.01, 3], "look_at": [0, 0, 0], "focal_length": 18},
                                       "render": {"resolution": [64, 64], "spp": 16}}))
    stage = open_stage(recipe.usd_path())
    renderer = StandaloneRenderer(stage)
    data = renderer.render(sample_frame(recipe, None, 0, read_scene(recipe, stage)))
    buffers = renderer.backend.label_pass((64, 64))
    rgb = data["rgb"]["data"][..., :3].astype(int)
    uv = buffers.uv
    hit = buffers.mesh >= 0
    for (s_lo, s_hi, t_lo, t_hi), channel in (((0.05, 0.45, 0.55, 0.95), 0), ((0.55, 0.95, 0.55, 0.95), 1),
                                              ((0.05, 0.45, 0.05, 0.45), 2)):
        sel = hit & (uv[..., 0] > s_lo) & (uv[..., 0] < s_hi) & (uv[..., 1] > t_lo) & (uv[..., 1] < t_hi)
        assert sel.sum() > 20
        colour = rgb[sel].mean(axis=0)
        assert colour.argmax() == channel and colour[channel] > 2 * np.delete(colour, channel).max() + 1
    # looking down with image-up = +Y: the st (0, 1) corner (red) is at the top-left of the image
    assert rgb[20, 20].argmax() == 0 and rgb[44, 20].argmax() == 2


def test_a_moved_light_lights_the_faces_it_now_faces(write_recipe, cube):
    """Orbit the only light from one side of the cube to the other: the lit side follows."""
    normals_of, lum_of = {}, {}
    for side, azimuth in (("east", 0.0), ("west", 180.0)):
        recipe = load_recipe(write_recipe({
            "scene": {"usd": str(cube)}, "camera": {"position": [0.0, -3.0, 1.2], "look_at": [0.0, 0.0, 0.1]},
            "randomizers": {"lights": [{"light": "/World/Dome", "intensity": 0.0},
                                       {"type": "sphere", "count": 1, "intensity": 80.0, "radius": 0.2,
                                        "orbit": {"target": [0, 0, 0], "distance": 2.5, "azimuth": azimuth,
                                                  "elevation": 10}}]},
            "render": {"resolution": [W, H], "spp": 16}}, side))
        spec = sample_frame(recipe, None, 0)
        assert [light.create for light in spec.lights if light.create] == ["sphere"]
        data = StandaloneRenderer(open_stage(cube)).render(spec)
        normals_of[side] = data["normals"]["data"][..., :3]
        lum_of[side] = data["rgb"]["data"][..., :3].astype(float).mean(-1)
    n = normals_of["east"]
    east, west = n[..., 0] > 0.3, n[..., 0] < -0.3
    assert east.sum() > 30 and west.sum() > 30
    assert lum_of["east"][east].mean() > lum_of["east"][west].mean() + 30
    assert lum_of["west"][west].mean() > lum_of["west"][east].mean() + 30


def test_dome_images_light_the_scene_from_a_folder(write_recipe, cell_recipe):
    recipe = load_recipe(write_recipe({**cell_recipe, "randomizers": {"lights": [
        {"type": "dome", "texture_folder": "asset:hdri", "intensity": {"uniform": [0.5, 1.5]}}]}}))
    specs = [sample_frame(recipe, None, i) for i in range(12)]
    textures = {light.texture for s in specs for light in s.lights if light.create == "dome"}
    assert {p.split("/")[-1] for p in textures} == {"factory_hall.hdr", "studio_softboxes.hdr"}
    stage = open_stage(recipe.usd_path())
    data = StandaloneRenderer(stage).render(specs[0])
    assert data["rgb"]["data"][..., :3].mean() > 10


def test_thin_lens_blurs_what_is_out_of_focus(write_recipe, cell_recipe):
    """Around the gear's outline a lens focused on the gear matches the pinhole image; focused far away it blurs."""
    out = {}
    for name, f_stop, focus in (("pinhole", 0.0, 0.0), ("near", 1.4, 0.35), ("far", 1.4, 3.0)):
        recipe = load_recipe(write_recipe({**cell_recipe, "camera": {
            "position": [-0.28, -0.22, 0.84], "look_at": [-0.28, 0.12, 0.76], "focal_length": 35,
            "f_stop": f_stop, "focus_distance": focus}, "render": {"resolution": [96, 72], "spp": 128}}, name))
        stage = open_stage(recipe.usd_path())
        out[name] = StandaloneRenderer(stage).render(sample_frame(recipe, None, 0, read_scene(recipe, stage)))
    inst = out["pinhole"]["instance_segmentation"]
    gear_id = [int(k) for k, v in inst["idToLabels"].items() if v == "/World/Parts/Gear"][0]
    gear = (inst["data"] == gear_id).astype(np.uint8)
    band = (cv2.dilate(gear, np.ones((5, 5), np.uint8)) - cv2.erode(gear, np.ones((5, 5), np.uint8))).astype(bool)
    assert band.sum() > 100

    def off(name):
        return np.abs(out[name]["rgb"]["data"][..., :3].astype(float) - out["pinhole"]["rgb"]["data"][..., :3])[band].mean()

    assert off("near") < 0.6 * off("far")
    assert out["near"]["camera_params"]["cameraModel"] == "thinLens"
    assert np.array_equal(out["far"]["instance_segmentation"]["data"], inst["data"])  # labels from the lens centre


def test_camera_picks_twin_cameras_and_resolutions(write_recipe, cell_recipe):
    recipe = load_recipe(write_recipe({**cell_recipe, "randomizers": {"camera": {
        "prim": {"choice": ["/World/Cameras/Inspection"]}, "resolution": {"choice": [[48, 32], [40, 40]]}}}}))
    specs = [sample_frame(recipe, None, i) for i in range(10)]
    assert {tuple(s.render.resolution) for s in specs} == {(48, 32), (40, 40)}
    assert all(s.camera.path == "/World/Cameras/Inspection" and not s.camera.create for s in specs)
    stage = open_stage(recipe.usd_path())
    renderer = StandaloneRenderer(stage)
    shapes = {renderer.render(s)["rgb"]["data"].shape for s in specs[:4]}
    assert shapes <= {(32, 48, 4), (40, 40, 4)} and len(shapes) >= 1


def test_material_presets_change_the_rendered_part(write_recipe, cell_recipe):
    colour = {}
    for preset in ("painted_blue", "painted_safety_yellow"):
        recipe = load_recipe(write_recipe({**cell_recipe, "camera": {"position": [-0.28, -0.15, 0.95],
                                                                     "look_at": [-0.28, 0.12, 0.76]},
                                           "randomizers": {"materials": [{"parts": "class:gear", "preset": preset}]},
                                           "render": {"resolution": [64, 48], "spp": 16}}, preset))
        stage = open_stage(recipe.usd_path())
        data = StandaloneRenderer(stage).render(sample_frame(recipe, None, 0, read_scene(recipe, stage)))
        ids = {v: int(k) for k, v in data["instance_segmentation"]["idToLabels"].items()}
        gear = data["instance_segmentation"]["data"] == ids["/World/Parts/Gear"]
        colour[preset] = data["rgb"]["data"][..., :3][gear].astype(float).mean(axis=0)
    blue, yellow = colour["painted_blue"], colour["painted_safety_yellow"]
    assert blue[2] > blue[0] and yellow[0] > yellow[2] + 40 and yellow[1] > blue[1]
