"""Defect labels that agree with what the camera sees: visibility, coverage, image-space instances, classes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage import measure

from wearforge.classmap import DEFECT_CLASSES, DEFECT_IDS, PART_ID_BASE, ClassMap
from wearforge.errors import InputError

SIZE = 96


def make_plate(path, islands: bool = False):
    """A 0.2 m square plate in z = 0, facing +z, labelled 'plate', under a dome.

    ``islands``: its two halves (x < 0, x > 0) get separate UV islands, so a texture seam runs
    down the middle of the picture while the surface is continuous.
    """
    from pxr import Sdf, Usd, UsdGeom, UsdLux

    from wearforge.semantics import set_semantic_class

    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    part = UsdGeom.Xform.Define(stage, "/Plate")
    set_semantic_class(part.GetPrim(), "plate")
    mesh = UsdGeom.Mesh.Define(stage, "/Plate/Geom")
    if islands:
        pts = [(-0.1, -0.1, 0), (0, -0.1, 0), (0, 0.1, 0), (-0.1, 0.1, 0),
               (0, -0.1, 0), (0.1, -0.1, 0), (0.1, 0.1, 0), (0, 0.1, 0)]
        st = [(0, 0), (0.45, 0), (0.45, 1), (0, 1), (0.55, 0), (1, 0), (1, 1), (0.55, 1)]
        counts, indices = [4, 4], list(range(8))
    else:
        pts = [(-0.1, -0.1, 0), (0.1, -0.1, 0), (0.1, 0.1, 0), (-0.1, 0.1, 0)]
        st = [(0, 0), (1, 0), (1, 1), (0, 1)]
        counts, indices = [4], [0, 1, 2, 3]
    mesh.CreatePointsAttr(pts)
    mesh.CreateFaceVertexCountsAttr(counts)
    mesh.CreateFaceVertexIndicesAttr(indices)
    mesh.CreateNormalsAttr([(0, 0, 1)] * len(pts))
    UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex).Set(st)
    UsdLux.DomeLight.Define(stage, "/Dome").CreateIntensityAttr(1.0)
    stage.GetRootLayer().Save()
    return path


def plate_recipe(usd, layers, resolution=256, spp=16, labels=None, dome=None) -> dict:
    randomizers = {"materials": [{"preset": "painted_machine_grey"}],
                   "wear": [{"resolution": resolution, "layers": layers}]}
    if dome is not None:
        randomizers["lights"] = [{"light": "/Dome", "intensity": dome}]
    return {"scene": {"usd": str(usd)},
            "camera": {"position": [0, -0.0001, 0.25], "look_at": [0, 0, 0], "focal_length": 18},
            "randomizers": randomizers, "render": {"resolution": [SIZE, SIZE], "spp": spp},
            "labels": labels or {}}


def render(write_recipe, data: dict, name: str = "recipe"):
    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_stage, read_scene

    recipe = load_recipe(write_recipe(data, name))
    stage = open_stage(recipe.usd_path())
    renderer = StandaloneRenderer.for_recipe(recipe, stage)
    spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
    return renderer, spec, renderer.render(spec)


def candidates(frame) -> np.ndarray:
    return frame["defect_segmentation"]["coverage"] > 0


# ------------------------------------------------------------------------------------------ point 1
def test_visible_defects_are_labelled_and_invisible_ones_ignored(tmp_path, write_recipe):
    from wearforge.render.visibility import delta_e

    plate = make_plate(tmp_path / "plate.usda")
    layers = [{"type": "rust", "params": {"coverage": 0.45, "scale": 30}}]
    renderer, spec, lit = render(write_recipe, plate_recipe(plate, layers))
    seg, ignore = lit["defect_segmentation"]["data"], lit["defect_segmentation"]["ignore"]
    rust = DEFECT_IDS["rust"]
    assert (seg == rust).sum() > 500
    assert not np.any((seg > 0) & (ignore > 0))  # a pixel is labelled or ignored, never both
    assert np.all((seg > 0) | (ignore > 0) | ~candidates(lit))  # every defect pixel is one of them
    # the labelled pixels really differ from the plate without wear (paired 128-spp renders)
    state = __import__("wearforge.twin_reader", fromlist=["x"]).read_frame_state(
        renderer.stage, renderer.meshes, spec.camera.path)
    stacks, _ = renderer.wear.stacks(spec, state)
    clean = {i: (state.materials[i].base_color, state.materials[i].roughness, state.materials[i].metallic)
             for i in stacks}
    worn = renderer.backend.render_beauty(128, 3)
    bare = renderer.backend.render_without_wear(stacks, clean, 128, [3])[0]
    assert np.allclose(renderer.backend.render_beauty(128, 3), worn, atol=1e-5)  # the wear is back in place
    truth = delta_e(worn, bare, spec.sensor)
    assert (truth[seg == rust] >= 2.0).mean() >= 0.95
    # the same rust in the dark: nothing can be seen, so nothing is labelled and all of it is ignored
    _, _, dark = render(write_recipe, plate_recipe(plate, layers, dome=1e-5), "dark")
    assert not dark["defect_segmentation"]["data"].any() and len(dark["defect_instances"]["data"]) == 0
    assert np.array_equal(dark["defect_segmentation"]["ignore"] == rust, candidates(dark))
    assert candidates(dark).sum() == candidates(lit).sum()


def test_visibility_threshold_is_a_recipe_field(tmp_path, write_recipe):
    plate = make_plate(tmp_path / "plate.usda")
    layers = [{"type": "rust", "params": {"coverage": 0.45, "scale": 30}}]
    _, _, strict = render(write_recipe, plate_recipe(plate, layers, labels={"visible_delta_e": 1000}))
    assert not strict["defect_segmentation"]["data"].any() and strict["defect_segmentation"]["ignore"].any()
    _, _, off = render(write_recipe, plate_recipe(plate, layers, labels={"visibility": False}), "off")
    labelled = off["defect_segmentation"]["data"] > 0
    assert labelled.sum() > 500 and np.all(labelled | (off["defect_segmentation"]["ignore"] > 0) | ~candidates(off))


# ------------------------------------------------------------------------------------------ point 2
def test_thin_scratches_stay_continuous_with_coverage(tmp_path, write_recipe):
    plate = make_plate(tmp_path / "plate.usda")
    # about 0.3 px wide on screen (3 mm per pixel here), 512 texels so the groove keeps its width; single
    # scratches only (no gouges, no clusters of handling marks)
    layers = [{"type": "scratches", "params": {"count": 3, "width": 0.9, "length": 100, "curvature": 0.05,
                                               "gouges": 0, "clusters": 0}}]
    pieces = {}
    for k in (1, 4):
        labels = {"visibility": False, "supersampling": k, "min_instance_pixels": 1}
        renderer, spec, frame = render(write_recipe, plate_recipe(plate, layers, resolution=512, labels=labels),
                                       f"k{k}")
        rows = frame["defect_instances"]["data"]
        pieces[k] = len(rows)
        if k == 4:
            # what the texture itself holds: a groove a texel wide can break in texture space already
            state = __import__("wearforge.twin_reader", fromlist=["x"]).read_frame_state(
                renderer.stage, renderer.meshes, spec.camera.path)
            occ = renderer.wear.stacks(spec, state)[0][0].defect_instance
            texture_pieces = sum(measure.label(occ == o, connectivity=2).max() for o in np.unique(occ[occ > 0]))
            mask = frame["defect_instances"]["mask"]
            # one connected, thin mask per scratch: each instance is one 8-connected piece
            for row in rows:
                assert measure.label(mask == row["instanceId"], connectivity=2).max() == 1
            coverage = frame["defect_segmentation"]["coverage"][mask > 0]
            assert np.median(coverage) < 0.5  # partial pixels: the scratch is thinner than a pixel
    assert pieces[4] <= texture_pieces < pieces[1]  # point samples break the same scratches into dots


# ------------------------------------------------------------------------------------------ point 3
def test_instances_are_image_pieces_merged_across_texture_seams(tmp_path, write_recipe):
    plate = make_plate(tmp_path / "plate.usda", islands=True)
    layers = [{"type": "rust", "params": {"coverage": 0.5, "scale": 40}}]
    labels = {"visibility": False, "min_instance_pixels": 1}
    renderer, spec, frame = render(write_recipe, plate_recipe(plate, layers, labels=labels))
    mask, rows = frame["defect_instances"]["mask"], frame["defect_instances"]["data"]
    rust = frame["defect_segmentation"]["data"] == DEFECT_IDS["rust"]
    # one instance per connected piece of visible rust in the image ...
    assert len(rows) == measure.label(rust, connectivity=2).max() > 0
    # ... while texture space holds more occurrences: the seam splits regions that the image joins
    buffers = renderer.backend.label_pass((SIZE, SIZE))
    state = __import__("wearforge.twin_reader", fromlist=["x"]).read_frame_state(
        renderer.stage, renderer.meshes, spec.camera.path)
    stack = renderer.wear.stacks(spec, state)[0][0]
    uv = buffers.uv
    col = np.clip((uv[..., 0] * stack.resolution).astype(int), 0, stack.resolution - 1)
    row = np.clip(((1 - uv[..., 1]) * stack.resolution).astype(int), 0, stack.resolution - 1)
    occurrence = stack.defect_instance[row, col]
    merged = [i for i in range(1, len(rows) + 1)
              if len(np.unique(occurrence[(mask == i) & (occurrence > 0)])) > 1]
    assert merged, "a rust patch crossing the seam should be one instance"
    for r in rows:
        info = frame["defect_instances"]["idToLabels"][str(r["instanceId"])]
        assert info["class"] == "rust" and info["part"] == "/Plate"
        assert info["severity"] == spec.parts[0].wear.layers[info["layer"]].params
    # straight on, a pixel covers about (0.25 m * 20.955 / 18 / 96)^2 of the plate
    pixel_mm2 = (250 * 20.955 / 18 / SIZE) ** 2
    cover = frame["defect_segmentation"]["coverage"]
    for r in rows:
        assert r["areaMm2"] == pytest.approx(cover[mask == r["instanceId"]].sum() * pixel_mm2, rel=0.02)


def test_instances_below_the_minimum_size_become_ignore_regions(tmp_path, write_recipe):
    plate = make_plate(tmp_path / "plate.usda")
    layers = [{"type": "pitting", "params": {"density": 0.6, "clusters": 1.0, "size": 5.0, "size_sigma": 0.7}}]
    small = {"visibility": False, "min_instance_pixels": 1}
    _, _, every = render(write_recipe, plate_recipe(plate, layers, labels=small))
    _, _, kept = render(write_recipe, plate_recipe(plate, layers, labels={**small, "min_instance_pixels": 6}), "min")
    sizes = every["defect_instances"]["data"]["visiblePixels"]
    assert (sizes < 6).any() and (sizes >= 6).any()
    rows = kept["defect_instances"]["data"]
    assert len(rows) == (sizes >= 6).sum() and rows["visiblePixels"].min() >= 6
    dropped = (every["defect_instances"]["mask"] > 0) & (kept["defect_instances"]["mask"] == 0)
    assert dropped.any() and np.all(kept["defect_segmentation"]["ignore"][dropped] == DEFECT_IDS["pitting"])
    assert not kept["defect_segmentation"]["data"][dropped].any()


# ------------------------------------------------------------------------------------------ point 4
def test_class_map_fixes_defect_ids_and_checks_the_pinned_list():
    from wearforge.wear.defects import DEFECT_CLASSES as KERNEL_CLASSES

    assert DEFECT_CLASSES == KERNEL_CLASSES
    a = ClassMap.build({"gear", "bracket"}, ["scratches", "rust"])
    b = ClassMap.build({"cube"}, ["rust"])
    assert a.semantic_ids["rust"] == b.semantic_ids["rust"] == DEFECT_IDS["rust"] == 2
    assert [e.name for e in a.entries] == ["rust", "scratches", "bracket", "gear"]  # only what can occur
    assert a.semantic_ids["bracket"] == PART_ID_BASE
    pinned = ["rust", "scratches", "dents", "cube", "gear", "bracket"]
    c, d = ClassMap.build({"gear", "bracket"}, ["rust"], pinned), ClassMap.build({"cube"}, ["dents"], pinned)
    assert c == d and [e.name for e in c.select("both")] == pinned
    with pytest.raises(InputError, match="output.classes.*missing.*'cube'"):
        ClassMap.build({"cube", "gear"}, ["rust"], ["rust", "gear"])


def test_datasets_of_two_twins_concatenate_without_remapping(tmp_path, write_recipe):
    import yaml
    from pycocotools.coco import COCO

    from conftest import make_cube_twin
    from wearforge.generate import generate
    from wearforge.recipe import load_recipe

    cube = make_cube_twin(tmp_path / "cube.usda", translate=(0, 0, 0.0), size=0.2)
    classes = ["rust", "scratches", "dust", "cube", "plate", "bracket"]
    output = {"writers": ["coco", "yolo"], "contact_sheet": 0, "classes": classes, "yolo": {"task": "segment"}}
    wear = [{"resolution": 128, "layers": [{"type": "rust", "params": {"coverage": 0.6}}]}]
    cube_recipe = {"scene": {"usd": str(cube)}, "camera": {"position": [0.3, -0.4, 0.3], "look_at": [0, 0, 0]},
                   "randomizers": {"wear": wear}, "render": {"resolution": [64, 48], "spp": 4}, "frames": 1,
                   "output": {**output, "dir": str(tmp_path / "a")}}
    plate = make_plate(tmp_path / "plate.usda")
    plate_data = plate_recipe(plate, [{"type": "scratches", "params": {"count": 6, "width": 4.0}},
                                      {"type": "dust", "params": {"amount": 0.5}}], resolution=128, spp=4)
    plate_data.update(frames=1, output={**output, "dir": str(tmp_path / "b")})
    generate(load_recipe(write_recipe(cube_recipe, "cube")))
    generate(load_recipe(write_recipe(plate_data, "plate")))
    a, b = (json.loads((tmp_path / x / "coco" / "instances.json").read_text()) for x in "ab")
    assert a["categories"] == b["categories"]
    assert [c["name"] for c in a["categories"]] == classes
    ya, yb = (yaml.safe_load((tmp_path / x / "yolo" / "data.yaml").read_text()) for x in "ab")
    assert ya["names"] == yb["names"] == dict(enumerate(classes))
    # concatenate: only image and annotation ids move, category ids stay as written
    offset = max(i["id"] for i in a["images"])
    merged = {**a, "images": a["images"] + [{**i, "id": i["id"] + offset} for i in b["images"]],
              "annotations": a["annotations"] + [{**x, "id": x["id"] + 10**9, "image_id": x["image_id"] + offset}
                                                 for x in b["annotations"]]}
    (tmp_path / "merged.json").write_text(json.dumps(merged))
    coco = COCO(str(tmp_path / "merged.json"))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    by_image = {}
    for ann in coco.loadAnns(coco.getAnnIds()):
        by_image.setdefault(ann["image_id"] > offset, set()).add(names[ann["category_id"]])
    assert "cube" in by_image[False] and "plate" in by_image[True]
    assert not by_image[True] & {"cube", "rust"} and not by_image[False] & {"plate", "scratches", "dust"}


def test_region_classes_are_the_kernels_region_classes():
    from wearforge.classmap import REGION_DEFECTS
    from wearforge.wear.defects import DEFECTS

    assert REGION_DEFECTS == {name for name, module in DEFECTS.items() if module.REGIONS}


def test_the_core_labels_per_sample_codes_without_a_backend():
    """The one defect label function of both homes, on hand-made samples (k = 4, one part)."""
    from wearforge.defect_labels import defect_annotations
    from types import SimpleNamespace

    from wearforge.labels import LabelSpace

    space = LabelSpace([SimpleNamespace(label_path="/Plate", semantic_class="plate")])
    h, w, k = 8, 12, 4
    code = np.zeros((h, w, k), np.uint8)
    occurrence = np.zeros((h, w, k), np.uint32)
    scratch = DEFECT_CLASSES.index("scratches") + 1
    code[1:4, 1:4], occurrence[1:4, 1:4] = scratch, (1 << 24) | 5  # one scratch: 9 pixels
    code[1:4, 6:10], occurrence[1:4, 6:10] = scratch, (1 << 24) | 6  # another: 12 pixels, 3 of them hidden
    code[6, 6, :1], occurrence[6, 6, :1] = scratch, (1 << 24) | 7  # a quarter of one pixel: below the minimum
    visible = np.ones((h, w), bool)
    visible[1:4, 9] = False
    part = np.full((h, w), 2, np.uint32)
    out = defect_annotations(space, code, occurrence, np.zeros((h, w, k), np.int64), part, visible=visible,
                             pixel_area=np.full((h, w), 2.0, np.float32), min_instance_pixels=4)
    rows = out["defect_instances"]["data"]
    assert rows["visiblePixels"].tolist() == [9, 9] and rows["ignoredPixels"].tolist() == [0, 3]
    assert rows["semanticId"].tolist() == [DEFECT_IDS["scratches"]] * 2
    assert rows["areaMm2"].tolist() == [18.0, 18.0]
    seg = out["defect_segmentation"]
    assert seg["coverage"][6, 6] == 0.25 and seg["ignore"][6, 6] == DEFECT_IDS["scratches"]
    assert seg["ignore"][1:4, 9].tolist() == [DEFECT_IDS["scratches"]] * 3 and not seg["data"][6, 6]
