"""Twins no one here wrote: unlabelled CAD in centimetres, Y up, instanceable references, point
instancers, textures in every format Hydra reads, subsets, primvar readers, MaterialX, broken files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from twins import cad_assembly, cad_recipe, textured_recipe, textured_twin, write_textures

from wearforge.errors import InputError
from wearforge.recipe import validate_recipe
from wearforge.scenario import sample_frame
from wearforge.semantics import semantic_class
from wearforge.stage import apply_frame, open_stage, open_twin, read_scene
from wearforge.twin_reader import Texture, read_geometry, read_material


@pytest.fixture(scope="module")
def cad(tmp_path_factory) -> Path:
    return cad_assembly(tmp_path_factory.mktemp("cad"))


@pytest.fixture(scope="module")
def textured(tmp_path_factory) -> Path:
    return textured_twin(tmp_path_factory.mktemp("textured"))


def _recipe(data: dict, tmp_path: Path):
    return validate_recipe(data, "test", tmp_path)


def test_instance_proxies_and_point_instances_are_read_once_each(cad):
    stage = open_stage(cad)
    meshes = read_geometry(stage)
    paths = [m.prim_path for m in meshes]
    # two instanceable bolts (head + shank each, read through instance proxies) and four nut instances
    assert sorted(p for p in paths if "/Bolts/" in p) == [
        "/Assembly/Bolts/Bolt_0/Head", "/Assembly/Bolts/Bolt_0/Shank",
        "/Assembly/Bolts/Bolt_1/Head", "/Assembly/Bolts/Bolt_1/Shank"]
    assert all(m.material_path == m.prim_path for m in meshes if "/Bolts/" in m.prim_path)  # per instance
    nuts = [m for m in meshes if m.instancer]
    assert [m.instancer[1] for m in nuts] == [0, 1, 2, 3]
    # the prototype is drawn only as instances, never at the instancer's origin
    assert all(m.instancer for m in meshes if m.prim_path.startswith("/Assembly/Nuts"))
    from wearforge.twin_reader import instance_matrix
    from pxr import Usd, UsdGeom

    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    origins = [instance_matrix(stage, m, cache)[:3, 3] for m in nuts]
    assert np.allclose(origins, [(-12, 4, 8), (-4, 4, 8), (4, 4, 8), (12, 4, 8)])
    # instances share their prototype's geometry (one bake for all)
    assert len({m.source for m in nuts}) == 1 and nuts[0].points is nuts[1].points


def test_recipe_classes_label_an_unlabelled_twin_in_both_homes(cad, tmp_path):
    recipe = _recipe(cad_recipe(cad), tmp_path)
    stage = open_twin(recipe)
    scene = read_scene(recipe, stage)
    assert {p.path: p.semantic_class for p in scene.parts} == {
        "/Assembly/Base": "base_plate", "/Assembly/Bolts/Bolt_0": "bolt", "/Assembly/Bolts/Bolt_1": "bolt",
        "/Assembly/Nuts": "nut"}
    spec = sample_frame(recipe, None, 0, scene)
    assert [p.semantic_class for p in spec.parts] == ["base_plate", "bolt", "bolt", "nut"]
    # Kit reads labels from USD: the FrameSpec's classes are authored on the session layer only
    apply_frame(stage, spec)
    assert semantic_class(stage.GetPrimAtPath("/Assembly/Bolts/Bolt_1")) == "bolt"
    assert "semantics" not in Path(cad).read_text()
    meshes = read_geometry(stage)  # what the Kit adapter reads after applying a frame
    assert {m.semantic_class for m in meshes} == {"base_plate", "bolt", "nut"}


@pytest.mark.slow
def test_unlabelled_cad_twin_renders_labels_instances_and_wear(cad, tmp_path):
    """Every bolt and every drawn nut is its own instance with the recipe's class; wear binds to each."""
    from wearforge.generate import generate

    data = cad_recipe(cad)
    data["randomizers"] = {"wear": [{"parts": "class:nut", "resolution": 64,
                                     "layers": [{"type": "rust", "params": {"coverage": 0.6}}]}]}
    data["output"] = {"dir": str(tmp_path / "out"), "writers": ["basic", "coco", "yolo"]}
    # a tiny render: every rust piece counts, visible or not (label honesty has its own tests)
    data["labels"] = {"visibility": False, "min_instance_pixels": 1}
    result = generate(_recipe(data, tmp_path))
    import json

    out = result.output_dir
    mapping = json.loads((out / "instance_segmentation_mapping_0000.json").read_text())
    assert sorted(v for v in mapping.values() if v != "BACKGROUND") == [
        "/Assembly/Base", "/Assembly/Bolts/Bolt_0", "/Assembly/Bolts/Bolt_1", "/Assembly/Nuts/instance_0",
        "/Assembly/Nuts/instance_1", "/Assembly/Nuts/instance_2"]  # instance_3 is in invisibleIds
    coco = json.loads((out / "coco" / "instances.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    parts = sorted(names[a["category_id"]] for a in coco["annotations"] if names[a["category_id"]] in
                   ("base_plate", "bolt", "nut"))
    assert parts == ["base_plate", "bolt", "bolt", "nut", "nut", "nut"]
    assert "rust" in {names[a["category_id"]] for a in coco["annotations"]}
    assert "nut" in (out / "yolo" / "data.yaml").read_text()
    boxes = np.load(out / "bounding_box_3d_0000.npy")
    paths = json.loads((out / "bounding_box_3d_prim_paths_0000.json").read_text())
    nut = boxes[paths.index("/Assembly/Nuts/instance_1")]  # a point instance: no prim, bounds from its meshes
    assert np.allclose([nut["x_min"], nut["y_min"], nut["x_max"], nut["y_max"]], [-1.5, 0.0, 1.5, 1.6])
    assert np.allclose(np.asarray(nut["transform"])[3], [-4.0, 4.0, 8.0, 1.0])
    defects = json.loads((out / "defect_instances_mapping_0000.json").read_text())
    assert {d["part"] for d in defects.values()} >= {"/Assembly/Nuts/instance_0", "/Assembly/Nuts/instance_2"}


def test_texture_formats_read_with_their_colour_space(tmp_path):
    from wearforge.render.mitsuba_backend import _load_texture

    files = write_textures(tmp_path)
    exr = _load_texture(Texture(str(files["exr"]), "rgb", None))
    assert exr.shape == (32, 32, 3) and np.isclose(exr[0, 0, 0], 0.1, atol=1e-4) and np.isclose(exr[0, 8, 0], 0.9, atol=1e-4)
    hdr = _load_texture(Texture(str(files["hdr"]), "rgb", None))
    assert np.isclose(hdr[0, 8, 1], 0.7, rtol=0.02)  # RGBE keeps about 1% precision
    png = _load_texture(Texture(str(files["png16"]), "r", None))
    assert png.shape == (32, 32, 1) and np.isclose(png[0, 8, 0], 55000 / 65535, atol=1e-5)  # 16-bit: linear
    tif = _load_texture(Texture(str(files["tiff"]), "rgb", None))
    assert np.allclose(tif[0, 8], (1.0, 0.5, 0.0), atol=1e-4)
    srgb = _load_texture(Texture(str(files["tiff"]), "rgb", True))
    assert np.isclose(srgb[0, 8, 1], 0.214, atol=1e-3)  # sourceColorSpace sRGB decodes


def test_unreadable_texture_warns_once_and_falls_back(tmp_path, caplog):
    from wearforge.render.mitsuba_backend import _load_texture

    bad = tmp_path / "broken.exr"
    bad.write_bytes(b"not an image")
    with caplog.at_level(logging.WARNING):
        assert _load_texture(Texture(str(bad), "rgb", None, "/World/Looks/M")) is None
    assert "broken.exr" in caplog.text and "/World/Looks/M" in caplog.text


def test_materials_the_twin_really_has(textured):
    stage = open_stage(textured)
    notes: dict[str, list[str]] = {}
    meshes = read_geometry(stage, notes=notes)
    by = {m.material_path: m for m in meshes}
    # GeomSubsets with their own bindings become separate meshes with their own materials
    assert {"/World/Plate/Geom/Top", "/World/Plate/Geom/Rest"} <= set(by)
    top = read_material(stage.GetPrimAtPath("/World/Plate/Geom/Top"), by["/World/Plate/Geom/Top"], notes)
    rest = read_material(stage.GetPrimAtPath("/World/Plate/Geom/Rest"), by["/World/Plate/Geom/Rest"], notes)
    assert top.textures["base_color"].path.endswith("paint.exr") and rest.textures["roughness"].channel == "r"
    assert len(by["/World/Plate/Geom/Top"].faces) == 2 and len(by["/World/Plate/Geom/Rest"].faces) == 10
    # displayColor without a material, and through a primvar reader: per-vertex colours
    for path in ("/World/Painted/Geom", "/World/Reader/Geom"):
        state = read_material(stage.GetPrimAtPath(path), by[path], notes)
        assert state.vertex_color and by[path].colors.shape == (24, 3)
    gold = read_material(stage.GetPrimAtPath("/World/Smooth/Geom"), by["/World/Smooth/Geom"], notes)
    assert np.allclose(gold.base_color, (0.94, 0.76, 0.33)) and gold.metallic == 1.0 and np.isclose(gold.roughness, 0.3)
    broken = read_material(stage.GetPrimAtPath("/World/Broken/Geom"), by["/World/Broken/Geom"], notes)
    assert broken.textures == {} and np.allclose(broken.base_color, (0.9, 0.4, 0.1))
    read_material(stage.GetPrimAtPath("/World/Doc/Geom"), by["/World/Doc/Geom"], notes)
    said = " ".join(f"{k}: {' '.join(v)}" for k, v in notes.items())
    for expected in ("/World/Smooth/Geom: subdivisionScheme 'catmullClark'", "transmission",
                     "not_there.png not found", "/World/Looks/FromDocument: no UsdPreviewSurface"):
        assert expected in said, said


@pytest.mark.slow
def test_textured_twin_renders_every_texture(textured, tmp_path):
    from wearforge.render.frame import StandaloneRenderer

    recipe = _recipe(textured_recipe(textured), tmp_path)
    stage = open_twin(recipe)
    spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
    data = StandaloneRenderer(stage).render(spec)
    rgb = data["rgb"]["data"][..., :3].astype(float)
    inst = data["instance_segmentation"]
    labels = {v for v in inst["idToLabels"].values()}
    assert {"/World/Plate", "/World/Decal", "/World/Glow", "/World/Broken", "/World/Painted"} <= labels
    by_label = {v: int(k) for k, v in inst["idToLabels"].items()}
    glow = rgb[inst["data"] == by_label["/World/Glow"]].mean(axis=0)
    broken = rgb[inst["data"] == by_label["/World/Broken"]].mean(axis=0)
    assert glow[1] > glow[0] and glow[1] > glow[2]  # the HDR checker is green
    assert broken[0] > broken[2] * 1.5  # the missing texture's fallback (orange)


def test_usd_errors_keep_the_reason_line_and_prim(tmp_path):
    bad = tmp_path / "bad.usda"
    bad.write_text('#usda 1.0\ndef Xform "World" {\n  def Mesh "M" {\n    point3f[] points = [(0,0,0), (1,0 0)]\n'
                   "  }\n}\n")
    with pytest.raises(InputError) as err:
        open_stage(bad)
    assert "bad.usda" in str(err.value) and "line 4" in str(err.value) and "parse error" in str(err.value)
    refs = tmp_path / "refs.usda"
    refs.write_text('#usda 1.0\ndef Xform "World" {\n  def Xform "A" (references = @./nothere.usda@) {}\n'
                    '  def Xform "B" (payload = @./gone.usdc@</X>) {}\n}\n')
    with pytest.raises(InputError) as err:
        open_stage(refs)
    text = str(err.value)
    assert "/World/A: reference" in text and "nothere.usda" in text and "/World/B: payload" in text
    (tmp_path / "nothere.usda").write_text(bad.read_text())  # there, but malformed: the parser's reason
    with pytest.raises(InputError) as err:
        open_stage(refs)
    assert "nothere.usda cannot be opened: line 4, column" in str(err.value)


def test_wear_lengths_are_metres_on_any_stage_unit():
    """The same 20 cm part in metres and in centimetres grows the same rust patches and scratches."""
    from wearforge import meshgen as mg
    from wearforge.wear import CleanMaterial, LayerSpec, bake, build_stack

    data = mg.build_mesh(mg.box((0, 0, 0), (0.2, 0.1, 0.05)))
    layers = [LayerSpec("rust", 5, {"coverage": 0.4}), LayerSpec("scratches", 6, {"count": 6})]
    clean = CleanMaterial((0.5, 0.5, 0.5), 1.0, 0.3)
    maps = []
    for scale, mpu in ((1.0, 1.0), (100.0, 0.01)):
        b = bake(data.points * scale, data.triangles().astype(np.int32), data.normals, data.uvs, 64)
        maps.append(build_stack(b, clean, layers, meters_per_unit=mpu).defect_class)
    assert (maps[0] > 0).mean() > 0.1
    assert (maps[0] == maps[1]).mean() > 0.99


def _cli(args: list[str], monkeypatch) -> int:
    import sys

    from wearforge.cli import main

    monkeypatch.setattr(sys, "argv", ["wearforge", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_a_run_that_would_label_nothing_exits_2(cad, tmp_path, write_recipe, monkeypatch, capsys):
    from wearforge.generate import generate

    data = cad_recipe(cad)
    unlabelled = dict(data, scene={"usd": str(cad)}, output={"dir": str(tmp_path / "out")})
    path = write_recipe(unlabelled, "unlabelled")
    assert _cli(["validate", str(path)], monkeypatch) == 2
    assert _cli(["generate", str(path)], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "no semantic class labels and scene.parts is empty" in err and "allow_empty" in err
    assert not list((tmp_path / "out").glob("rgb_*"))  # refused before rendering
    # wear whose parts have no meshes binds to nothing
    from pxr import Sdf

    layer = Sdf.Layer.FindOrOpen(str(cad))
    bare = cad.parent / "bare.usda"  # next to bolt.usda, which it references
    layer.Export(str(bare))
    stage = open_stage(bare)
    stage.DefinePrim("/Assembly/Empty", "Xform")
    stage.GetRootLayer().Save()
    data2 = dict(data, scene={"usd": str(bare), "parts": data["scene"]["parts"] + [{"path": "/Assembly/Empty",
                                                                                   "class": "ghost"}]},
                 randomizers={"wear": [{"parts": "class:ghost", "layers": [{"type": "rust"}]}]})
    with pytest.raises(InputError, match="randomizers.wear.0.*binds to nothing"):
        generate(_recipe(dict(data2, output={"dir": str(tmp_path / "out2")}), tmp_path))
    # intended: output.allow_empty
    assert _cli(["validate", str(write_recipe(dict(unlabelled, output={"allow_empty": True}), "ok"))],
                monkeypatch) == 0


def test_a_run_in_which_no_part_was_ever_seen_is_refused(tmp_path):
    from wearforge.twin_report import RunTally

    recipe = _recipe({"scene": {"usd": "asset:inspection_cell"}, "frames": 2}, tmp_path)
    hidden = {"pixel_counts": {"visible": {"/World/Parts/Gear": 0}},
              "frame_spec": {"data": {"parts": [{"path": "/World/Parts/Gear", "visible": False}]}}}
    tally = RunTally()
    tally.add(hidden)
    tally.add(hidden)
    with pytest.raises(InputError, match="2 frames written but none has a labelled part: every part was hidden"):
        tally.verdict(recipe)
    away = {"pixel_counts": {"visible": {"/World/Parts/Gear": 0}},
            "frame_spec": {"data": {"parts": [{"path": "/World/Parts/Gear", "visible": True}]}}}
    tally = RunTally()
    tally.add(away)
    with pytest.raises(InputError, match="no labelled part was in view"):
        tally.verdict(recipe)
    tally.add({"pixel_counts": {"visible": {"/World/Parts/Gear": 12}}})
    tally.verdict(recipe)  # one frame with a part in view is enough


def test_validate_reports_every_part(textured, tmp_path, write_recipe, monkeypatch, capsys):
    path = write_recipe(dict(textured_recipe(textured),
                             randomizers={"wear": [{"parts": "/World/Plate", "resolution": 64,
                                                    "layers": [{"type": "rust"}, {"type": "dirt"}]}]}))
    monkeypatch.setenv("COLUMNS", "220")
    assert _cli(["validate", str(path)], monkeypatch) == 0
    text = capsys.readouterr().out
    plate = next(line for line in text.splitlines() if "/World/Plate " in line)
    assert "plate" in plate and "rust, dirt" in plate and "ExrPaint" in plate and "own" in plate
    assert "/World/Smooth/Geom: subdivisionScheme" in text and "not_there.png not found" in text
    assert "/World/Looks/FromDocument" in text and "transmission" in text


def test_wear_selects_meshes_by_the_framespec_parts_in_either_home(cad, tmp_path):
    """Geometry read before any frame was applied (as a Kit graph does) still gets the recipe's parts."""
    from pxr import UsdGeom

    from wearforge.transforms import up_vector
    from wearforge.twin_reader import read_frame_state
    from wearforge.wear.twin_stacks import WearTextures

    data = cad_recipe(cad)
    data["randomizers"] = {"wear": [{"parts": "class:bolt", "resolution": 32, "layers": [{"type": "dirt"}]}]}
    recipe = _recipe(data, tmp_path)
    stage = open_twin(recipe)
    wear = WearTextures(read_geometry(stage), up_vector(stage))  # unlabelled: no parts yet
    spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
    apply_frame(stage, spec)
    stacks, _ = wear.stacks(spec, read_frame_state(stage, wear.meshes, spec.camera.path))
    assert sorted(wear.meshes[i].prim_path for i in stacks) == [
        "/Assembly/Bolts/Bolt_0/Head", "/Assembly/Bolts/Bolt_0/Shank",
        "/Assembly/Bolts/Bolt_1/Head", "/Assembly/Bolts/Bolt_1/Shank"]
    assert UsdGeom.GetStageMetersPerUnit(stage) == 0.01


def test_uv_sets_texture_transforms_and_other_gprims_are_never_dropped_silently(tmp_path):
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade
    from twins import box_mesh, preview_material

    stage = Usd.Stage.CreateInMemory()
    mesh = box_mesh(stage, "/W/Box", (1, 1, 1))
    st = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("st")
    uvmap = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("UVMap", Sdf.ValueTypeNames.TexCoord2fArray, st.GetInterpolation())
    uvmap.Set(st.Get())
    UsdGeom.PrimvarsAPI(mesh).RemovePrimvar("st")
    png = tmp_path / "t.png"
    from PIL import Image

    Image.new("RGB", (4, 4), (200, 10, 10)).save(png)
    mat = preview_material(stage, "/W/Looks/M", textures={"diffuseColor": (str(png), "sRGB", "rgb")})
    UsdShade.Shader(stage.GetPrimAtPath("/W/Looks/M/Texture0")).CreateInput(
        "scale", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(0.5, 0.5, 0.5, 1))
    UsdShade.Shader(stage.GetPrimAtPath("/W/Looks/M/Surface")).CreateInput(
        "displacement", Sdf.ValueTypeNames.Float).ConnectToSource(
        UsdShade.Shader(stage.GetPrimAtPath("/W/Looks/M/Texture0")).ConnectableAPI(), "r")
    UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(mat)
    UsdGeom.Capsule.Define(stage, "/W/Pill").CreateAxisAttr("X")
    UsdGeom.Cylinder.Define(stage, "/W/Rod")
    UsdGeom.Cone.Define(stage, "/W/Tip")
    UsdGeom.BasisCurves.Define(stage, "/W/Cable")
    notes: dict[str, list[str]] = {}
    meshes = read_geometry(stage, notes=notes)
    assert meshes[0].uvs is not None and [m.prim_path for m in meshes] == ["/W/Box", "/W/Pill", "/W/Rod", "/W/Tip"]
    pill = meshes[1].points
    assert np.allclose(pill.min(axis=0), (-1.0, -0.5, -0.5), atol=1e-6)  # height 1 + 2 x radius 0.5 along X
    read_material(mesh.GetPrim(), meshes[0], notes)
    said = repr(notes)
    assert "primvar 'UVMap'" in said and "scale (0.5, 0.5, 0.5, 1.0) is not applied" in said
    assert "UsdPreviewSurface inputs not applied: displacement" in said
    assert "/W/Cable" in notes and "BasisCurves is not drawn" in said


def test_a_twin_exported_with_time_samples_only_is_drawn(tmp_path):
    from pxr import Gf, Usd, UsdGeom

    from wearforge.twin_reader import read_frame_state

    stage = Usd.Stage.CreateInMemory()
    mesh = UsdGeom.Mesh.Define(stage, "/W/Tri")
    mesh.GetPointsAttr().Set([(0, 0, 0), (1, 0, 0), (0, 1, 0)], 1.0)
    mesh.GetFaceVertexCountsAttr().Set([3], 1.0)
    mesh.GetFaceVertexIndicesAttr().Set([0, 1, 2], 1.0)
    UsdGeom.Xformable(mesh).AddTranslateOp().Set(Gf.Vec3d(0, 0, 5), 1.0)
    UsdGeom.Camera.Define(stage, "/W/Cam")
    meshes = read_geometry(stage)
    assert len(meshes) == 1 and len(meshes[0].faces) == 1
    assert np.allclose(read_frame_state(stage, meshes, "/W/Cam").matrices[0][:3, 3], (0, 0, 5))
    from wearforge.twin_reader import label_bound

    lo, hi, m = label_bound(stage, meshes, "/W/Tri", UsdGeom.XformCache(Usd.TimeCode.EarliestTime()),
                            UsdGeom.BBoxCache(Usd.TimeCode.EarliestTime(), ["default"]))
    assert np.allclose(hi, (1, 1, 0)) and np.allclose(m[3, :3], (0, 0, 5))  # 3D boxes at the same time


def test_isaac_sim_omnipbr_materials_are_read_from_their_usd_inputs(tmp_path):
    from PIL import Image
    from pxr import Usd, UsdShade
    from twins import box_mesh

    Image.new("RGB", (4, 4), (200, 10, 10)).save(tmp_path / "rust.png")
    (tmp_path / "twin.usda").write_text('''#usda 1.0
def Xform "World" {
    def Material "Steel" {
        token outputs:mdl:surface.connect = </World/Steel/Shader.outputs:out>
        def Shader "Shader" {
            uniform token info:implementationSource = "sourceAsset"
            uniform asset info:mdl:sourceAsset = @OmniPBR.mdl@
            uniform token info:mdl:sourceAsset:subIdentifier = "OmniPBR"
            color3f inputs:diffuse_color_constant = (0.8, 0.1, 0.1)
            float inputs:reflection_roughness_constant = 0.3
            float inputs:metallic_constant = 1
            asset inputs:diffuse_texture = @./rust.png@ (colorSpace = "sRGB")
            token outputs:out
        }
    }
    def Material "Glass" {
        token outputs:mdl:surface.connect = </World/Glass/Shader.outputs:out>
        def Shader "Shader" {
            uniform token info:implementationSource = "sourceAsset"
            uniform asset info:mdl:sourceAsset = @OmniGlass.mdl@
            uniform token info:mdl:sourceAsset:subIdentifier = "OmniGlass"
            token outputs:out
        }
    }
}
''')
    stage = Usd.Stage.Open(str(tmp_path / "twin.usda"))
    for name, look in (("A", "Steel"), ("B", "Glass")):
        mesh = box_mesh(stage, f"/World/{name}", (1, 1, 1))
        UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(UsdShade.Material(stage.GetPrimAtPath(f"/World/{look}")))
    notes: dict[str, list[str]] = {}
    meshes = read_geometry(stage, notes=notes)
    steel = read_material(stage.GetPrimAtPath("/World/A"), meshes[0], notes)
    assert np.allclose(steel.base_color, (0.8, 0.1, 0.1)) and steel.metallic == 1.0 and np.isclose(steel.roughness, 0.3)
    assert steel.textures["base_color"].path.endswith("rust.png") and steel.textures["base_color"].srgb is True
    read_material(stage.GetPrimAtPath("/World/B"), meshes[1], notes)
    assert any("MDL material OmniGlass is not translated" in n for n in notes["/World/Glass"])


def test_textures_inside_a_usdz_package_are_read(tmp_path):
    from PIL import Image
    from pxr import Usd, UsdShade, UsdUtils
    from twins import box_mesh, preview_material

    from wearforge.render.mitsuba_backend import _load_texture

    Image.new("RGB", (4, 4), (10, 200, 10)).save(tmp_path / "green.png")
    stage = Usd.Stage.CreateNew(str(tmp_path / "part.usda"))
    mesh = box_mesh(stage, "/Part", (1, 1, 1))
    mat = preview_material(stage, "/Looks/M", textures={"diffuseColor": ("./green.png", "sRGB", "rgb")})
    UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(mat)
    stage.SetDefaultPrim(stage.GetPrimAtPath("/Part"))
    stage.GetRootLayer().Save()
    assert UsdUtils.CreateNewUsdzPackage(str(tmp_path / "part.usda"), str(tmp_path / "part.usdz"))
    (tmp_path / "green.png").unlink()  # only the copy inside the package is left
    packaged = open_stage(tmp_path / "part.usdz")
    meshes = read_geometry(packaged)
    state = read_material(packaged.GetPrimAtPath("/Part"), meshes[0])
    data = _load_texture(state.textures["base_color"])
    assert data is not None and data[0, 0, 1] > 0.5 > data[0, 0, 0]


@pytest.mark.slow
def test_preview_surface_normal_maps_shade(tmp_path):
    """A flat quad whose normal map tilts towards the light is brighter than one tilted away."""
    from PIL import Image
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, UsdShade
    from twins import box_mesh, preview_material

    from wearforge.render.frame import StandaloneRenderer

    means = {}
    for name, tilt in (("towards", 0.6), ("away", -0.6)):
        n = np.array([tilt, 0.0, 1.0]) / np.hypot(tilt, 1.0)
        Image.new("RGB", (4, 4), tuple(int(round((c * 0.5 + 0.5) * 255)) for c in n)).save(tmp_path / f"{name}.png")
        stage = Usd.Stage.CreateNew(str(tmp_path / f"{name}.usda"))
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
        UsdGeom.SetStageMetersPerUnit(stage, 1.0)
        box_mesh(stage, "/W/Tile", (1.0, 1.0, 0.01))
        mat = preview_material(stage, "/W/Looks/M", (0.5, 0.5, 0.5), 0.0, 0.9,
                               textures={"normal": (f"./{name}.png", "raw", "rgb")})
        surface = UsdShade.Shader(stage.GetPrimAtPath("/W/Looks/M/Surface"))
        surface.GetInput("normal").GetAttr().SetTypeName(Sdf.ValueTypeNames.Normal3f)
        UsdShade.MaterialBindingAPI.Apply(stage.GetPrimAtPath("/W/Tile")).Bind(mat)
        light = UsdLux.DistantLight.Define(stage, "/W/Sun")
        light.CreateIntensityAttr(3.0)
        UsdGeom.XformCommonAPI(light).SetRotate(Gf.Vec3f(0.0, 50.0, 0.0))  # from +X, 50 degrees off the normal
        stage.GetRootLayer().Save()
        recipe = _recipe({"scene": {"usd": str(tmp_path / f"{name}.usda"), "parts": [{"path": "/W/Tile", "class": "tile"}]},
                          "camera": {"position": [0, 0, 2], "look_at": [0, 0, 0]},
                          "render": {"resolution": [32, 32], "spp": 4}}, tmp_path)
        stage = open_twin(recipe)
        data = StandaloneRenderer(stage).render(sample_frame(recipe, None, 0, read_scene(recipe, stage)))
        means[name] = float(data["rgb"]["data"][8:24, 8:24, :3].astype(float).mean())
    assert means["towards"] > means["away"] * 1.3, means
