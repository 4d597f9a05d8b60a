"""Every writer's output read back by its own independent reader and compared with the annotations."""

import json
import tarfile

import cv2
import numpy as np
import pytest
import yaml

from wearforge.classmap import DEFECT_IDS
from wearforge.errors import InputError
from wearforge.generate import generate
from wearforge.recipe import load_recipe
from wearforge.render.frame import StandaloneRenderer
from wearforge.scenario import sample_frame
from wearforge.stage import open_stage, read_scene
from wearforge.writers.base import atomic_write_bytes
from wearforge.writers.yolo import split_of

W, H = 64, 48


def recipe_dict(out, frames=3, **output):
    return {
        "scene": {"usd": "asset:inspection_cell", "parts": [{"path": "/World/Parts/*"}]},
        "camera": {"position": [0.5, -0.9, 1.45], "look_at": [-0.05, 0.0, 0.8]},
        "randomizers": {
            "camera": {"orbit": {"target": [-0.05, 0, 0.8], "distance": {"uniform": [0.7, 0.9]},
                                 "azimuth": {"uniform": [-120, -60]}, "elevation": 45}},
            "wear": [{"parts": "class:pipe_spool", "resolution": 128,
                      "layers": [{"type": "rust", "params": {"coverage": 0.5}}, {"type": "scratches", "params": {"count": 6}}]}]},
        "render": {"resolution": [W, H], "spp": 2}, "frames": frames, "seed": 5,
        "output": {"dir": str(out), "writers": ["basic", "coco", "yolo", "webdataset"], "contact_sheet": 0,
                   "webdataset": {"shard_size": 2}, "yolo": {"val_fraction": 0.5}, **output},
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    import yaml as _yaml

    root = tmp_path_factory.mktemp("writers")
    path = root / "recipe.yaml"
    path.write_text(_yaml.safe_dump(recipe_dict(root / "out")))
    recipe = load_recipe(path)
    result = generate(recipe)
    stage = open_stage(recipe.usd_path())
    renderer = StandaloneRenderer.for_recipe(recipe, stage)
    scene = read_scene(recipe, stage)
    frames = {i: renderer.render(sample_frame(recipe, None, i, scene)) for i in range(recipe.frames)}
    return recipe, result.output_dir, frames


def objects(frame, skip=("table", "bin")):
    """(category id, mask) of every part and defect the writers should have written."""
    out = []
    inst = frame["instance_segmentation"]
    for key in inst["idToLabels"]:
        i = int(key)
        if i >= 2 and inst["idToSemantics"][key]["class"] not in skip:
            mask = inst["data"] == i
            out.append((int(frame["semantic_segmentation"]["data"][mask][0]), mask))
    d = frame["defect_instances"]
    for row in d["data"]:
        out.append((int(row["semanticId"]), d["mask"] == row["instanceId"]))
    return out


def ignored(frame):
    """(semantic id, mask) of each defect class's ignore region."""
    ignore = frame["defect_segmentation"]["ignore"]
    return [(int(i), ignore == i) for i in np.unique(ignore) if i >= 2]


def test_coco_loads_in_pycocotools_with_exact_masks_and_perfect_self_ap(dataset):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    recipe, out, frames = dataset
    coco = COCO(str(out / "coco" / "instances.json"))
    cats = coco.loadCats(coco.getCatIds())
    names = {c["name"] for c in cats}
    assert {"pipe_spool", "gear", "rust"} <= names and not names & {"table", "bin"}
    assert [c["id"] for c in cats] == list(range(1, len(cats) + 1))  # contiguous, in class-map order
    semantic = {c["id"]: c["semantic_id"] for c in cats}
    info = coco.dataset["info"]
    assert info["version"] and info["description"] and info["date_created"] and info["images_over_max_dets"] == []
    assert coco.dataset["licenses"][0]["id"] == 1
    assert sorted(img["frame_index"] for img in coco.loadImgs(coco.getImgIds())) == [0, 1, 2]
    crowds = 0
    for img in coco.loadImgs(coco.getImgIds()):
        assert img["license"] == 1 and img["date_captured"] == info["date_created"]
        frame = frames[img["frame_index"]]
        assert (out / "coco" / img["file_name"]).is_file()
        assert json.loads((out / "coco" / img["frame_spec"]).read_text()) == frame["frame_spec"]["data"]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
        expected = [(cid, mask, 0) for cid, mask in objects(frame)] + [(cid, mask, 1) for cid, mask in ignored(frame)]
        assert len(anns) == len(expected) > 0
        for ann, (cid, mask, crowd) in zip(anns, expected):
            decoded = coco.annToMask(ann).astype(bool)
            assert isinstance(ann["area"], float) and decoded.sum() == ann["area"] and ann["iscrowd"] == crowd
            assert semantic[ann["category_id"]] == cid and np.array_equal(decoded, mask)
            ys, xs = np.nonzero(mask)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            assert all(isinstance(v, float) for v in ann["bbox"])
        crowds += sum(a["iscrowd"] for a in anns)
    assert crowds > 0  # defects the camera cannot see are ignore regions
    results = [{**a, "score": 1.0} for a in coco.loadAnns(coco.getAnnIds()) if not a["iscrowd"]]
    for iou in ("bbox", "segm"):
        ev = COCOeval(coco, coco.loadRes(results), iou)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0), iou


def test_yolo_layout_labels_and_split(dataset):
    recipe, out, frames = dataset
    data = yaml.safe_load((out / "yolo" / "data.yaml").read_text())
    assert data["train"] == "images/train" and data["val"] == "images/val" and "path" not in data
    names = data["names"]
    assert list(names) == list(range(len(names))) and data["nc"] == len(names)
    # only classes the run can produce: the recipe's wear has rust and scratches, the twin its parts
    assert set(names.values()) == {"rust", "scratches", "gear", "pipe_spool", "bracket"}
    for i, frame in frames.items():
        split = split_of(i, 0.5)
        image = out / "yolo" / "images" / split / f"frame_{i:06d}.png"
        labels = (out / "yolo" / "labels" / split / f"frame_{i:06d}.txt").read_text().split("\n")
        assert image.is_file() and cv2.imread(str(image)).shape == (H, W, 3)
        rows = [line.split() for line in labels if line]
        expected = objects(frame)
        assert len(rows) == len(expected)
        for row, (cid, mask) in zip(rows, expected):
            cls, cx, cy, bw, bh = int(row[0]), *map(float, row[1:])
            assert names[cls] == frame["semantic_segmentation"]["classes"][str(cid)]
            ys, xs = np.nonzero(mask)
            assert (cx - bw / 2) * W == pytest.approx(xs.min(), abs=1e-3)
            assert (cx + bw / 2) * W == pytest.approx(xs.max() + 1, abs=1e-3)
            assert (cy - bh / 2) * H == pytest.approx(ys.min(), abs=1e-3)
            assert (cy + bh / 2) * H == pytest.approx(ys.max() + 1, abs=1e-3)
        ignore = (out / "yolo" / "ignore" / split / f"frame_{i:06d}.txt").read_text().split("\n")
        assert len([line for line in ignore if line]) == len(ignored(frame))
    assert split_of(0, 0.99) == "train"  # a one-frame run has a training image
    assert {split_of(i, 0.5) for i in range(200)} == {"train", "val"}
    assert [split_of(i, 0.5) for i in range(50)] == [split_of(i, 0.5) for i in range(50)]


def test_yolo_segment_polygons_trace_the_masks(tmp_path):
    from wearforge.writers.yolo import polygon

    mask = np.zeros((48, 64), bool)
    cv2.circle(mask.view(np.uint8), (30, 20), 12, 1, -1)
    poly = polygon(mask)
    back = np.zeros_like(mask, np.uint8)
    # vertices sit at boundary-pixel centres (+0.5); Ultralytics rasterises with int32 truncation
    cv2.fillPoly(back, [poly.astype(np.int32)], 1)
    iou = (back.astype(bool) & mask).sum() / (back.astype(bool) | mask).sum()
    assert iou > 0.9


def test_yolo_segment_keeps_every_piece_of_a_mask_in_one_polygon():
    from wearforge.writers.yolo import polygon

    mask = np.zeros((48, 64), np.uint8)
    cv2.rectangle(mask, (2, 2), (20, 12), 1, -1)
    cv2.circle(mask, (45, 30), 8, 1, -1)
    mask[40, 10] = 1  # a single pixel
    poly = polygon(mask.astype(bool))
    back = np.zeros_like(mask)
    cv2.fillPoly(back, [poly.astype(np.int32)], 1)
    # every piece is there; only the zero-width bridges add a few pixels
    assert np.all(back[mask > 0] == 1)
    assert (back & ~mask.astype(bool)).sum() < 80
    assert polygon(np.pad(np.ones((1, 1), bool), 3)).shape == (3, 2)


def test_webdataset_shards_read_back_losslessly(dataset):
    import webdataset as wds

    from wearforge.labels import IGNORE_ID

    recipe, out, frames = dataset
    shards = sorted((out / "webdataset").glob("shard-*.tar"))
    assert [s.name for s in shards] == ["shard-000000.tar", "shard-000001.tar"]
    assert not list((out / "webdataset").glob("*.tmp"))
    with tarfile.open(shards[0]) as tar:
        names = tar.getnames()
    assert names[:6] == ["00000000.png", "00000000.depth.npy", "00000000.seg.npy", "00000000.defects.npy",
                         "00000000.defect_instances.npy", "00000000.json"]
    seen = []
    # WebDataset's own decoders: id maps come back bit-exact, ignore pixels carry IGNORE_ID
    for sample in wds.WebDataset([str(s) for s in shards], shardshuffle=False).decode("rgb8"):
        meta = sample["json"]
        i = meta["frame_index"]
        seen.append(i)
        frame = frames[i]
        assert sample["depth.npy"].dtype == np.float32
        assert np.array_equal(sample["depth.npy"], frame["distance_to_camera"]["data"])
        assert np.array_equal(sample["png"], frame["rgb"]["data"][..., :3])
        assert sample["seg.npy"].dtype == np.uint32
        assert np.array_equal(sample["seg.npy"], frame["instance_segmentation"]["data"])
        seg = frame["defect_segmentation"]
        expected = np.where(seg["ignore"] > 0, IGNORE_ID, seg["data"])
        assert sample["defects.npy"].dtype == np.uint16 and np.array_equal(sample["defects.npy"], expected)
        assert np.array_equal(sample["defect_instances.npy"], frame["defect_instances"]["mask"])
        assert meta["frame_spec"] == frame["frame_spec"]["data"]
        assert meta["classes"] == frame["semantic_segmentation"]["classList"]
        assert len(meta["defects"]["instances"]) == len(frame["defect_instances"]["data"])
    assert seen == [0, 1, 2]


def test_readme_webdataset_reader_runs_with_two_loader_workers(dataset):
    import re
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("torch")
    recipe, out, frames = dataset
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    code = re.search(r"<!-- webdataset reader -->\n```python\n(.*?)```", readme, re.S).group(1)
    code = code.replace("out/demo/webdataset", str(out / "webdataset"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{len(frames)} frames"


def test_basic_layout_writes_ignore_masks_and_id_1_is_not_background(dataset):
    from wearforge.writers.basic import id_color

    recipe, out, frames = dataset
    assert id_color(0) == (0, 0, 0, 0) and id_color(1)[:3] != (0, 0, 0)
    for i, frame in frames.items():
        png = cv2.imread(str(out / f"defect_ignore_{i:04d}.png"), cv2.IMREAD_UNCHANGED)
        labels = json.loads((out / f"defect_ignore_labels_{i:04d}.json").read_text())
        ignore = frame["defect_segmentation"]["ignore"]
        for key, value in labels.items():
            r, g, b, a = (int(v) for v in key.strip("()").split(","))
            hit = np.all(png == (b, g, r, a), axis=-1)
            name = value["class"]
            expected = ignore == 0 if name == "none" else ignore == DEFECT_IDS[name]
            assert np.array_equal(hit, expected), (i, name)


def test_every_writer_keeps_a_manifest_of_its_frames(dataset):
    recipe, out, frames = dataset
    for folder in (out, out / "coco", out / "yolo", out / "webdataset"):
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["frames"] == [0, 1, 2] and manifest["recipe_hash"] == recipe.content_hash()
    assert not list(out.rglob("*.tmp"))


def test_resume_appends_without_duplicates_and_refuses_another_recipe(tmp_path, write_recipe):
    first = generate(load_recipe(write_recipe(recipe_dict(tmp_path / "out", frames=2))))
    assert first.frames == 2
    # a kill after the other writers committed shard 0 but before YOLO did
    (tmp_path / "out" / "yolo" / "shards" / "yolo-000000.json").unlink()
    more = generate(load_recipe(write_recipe(recipe_dict(tmp_path / "out", frames=4), "more")))
    assert more.frames == 4  # frames 0 and 1 again (one writer lacked them), then 2 and 3
    from pycocotools.coco import COCO

    coco = COCO(str(tmp_path / "out" / "coco" / "instances.json"))
    assert sorted(img["frame_index"] for img in coco.dataset["images"]) == [0, 1, 2, 3]
    ids = [a["id"] for a in coco.dataset["annotations"]]
    assert len(ids) == len(set(ids))
    import webdataset as wds

    frames = [s["json"]["frame_index"] for s in wds.WebDataset(
        sorted(str(p) for p in (tmp_path / "out" / "webdataset").glob("*.tar")), shardshuffle=False).decode()]
    assert sorted(frames) == [0, 1, 2, 3]  # each frame once, even though frame 1 was rendered again
    for folder in ("", "coco", "yolo", "webdataset"):
        assert json.loads((tmp_path / "out" / folder / "manifest.json").read_text())["frames"] == [0, 1, 2, 3]
    other = recipe_dict(tmp_path / "out", frames=4)
    other["seed"] = 6
    with pytest.raises(InputError, match="another recipe or seed"):
        generate(load_recipe(write_recipe(other, "other")))
    other["output"]["overwrite"] = True
    assert generate(load_recipe(write_recipe(other, "other2"))).frames == 4


def test_atomic_write_leaves_the_old_file_when_encoding_fails(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_bytes(target, b"old")

    class Boom(Exception):
        pass

    def explode():
        raise Boom()

    from wearforge.writers.base import BackgroundFiles

    files = BackgroundFiles()
    files.submit(target, explode)
    with pytest.raises(Boom):
        files.flush()
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_cli_selects_writers(tmp_path, write_recipe):
    import subprocess
    import sys

    path = write_recipe(recipe_dict(tmp_path / "cli", frames=1))
    proc = subprocess.run([sys.executable, "-m", "wearforge", "generate", str(path), "--writer", "coco",
                           "--writer", "yolo"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cli" / "coco" / "instances.json").is_file()
    assert (tmp_path / "cli" / "yolo" / "data.yaml").is_file()
    assert not (tmp_path / "cli" / "webdataset").exists() and not list((tmp_path / "cli").glob("rgb_*.png"))


def test_coco_flags_images_beyond_cocoeval_max_dets(tmp_path, caplog):
    """101 defect instances in one synthetic frame: logged and listed in info."""
    from wearforge.labels import DEFECT_INSTANCE_FULL_DTYPE
    from wearforge.writers import CocoWriter, to_annotator_layout

    mask = np.zeros((40, 404), np.uint32)
    rows = np.zeros(101, DEFECT_INSTANCE_FULL_DTYPE)
    for k in range(101):
        mask[10:14, 4 * k:4 * k + 3] = k + 1
        rows[k] = (k + 1, DEFECT_IDS["pitting"], 2, 4 * k, 10, 4 * k + 2, 13, 12, 1.0, 0)
    classes = [{"name": "pitting", "semanticId": DEFECT_IDS["pitting"], "kind": "defect"},
               {"name": "plate", "semanticId": 64, "kind": "part"}]
    frame = {"rgb": {"data": np.zeros((40, 404, 4), np.uint8)},
             "semantic_segmentation": {"data": np.zeros((40, 404), np.uint32), "idToLabels": {}, "classList": classes},
             "defect_segmentation": {"data": np.where(mask > 0, DEFECT_IDS["pitting"], 0).astype(np.uint32),
                                     "idToLabels": {}, "ignore": np.zeros((40, 404), np.uint32), "ignoreLabels": {}},
             "defect_instances": {"data": rows, "mask": mask,
                                  "idToLabels": {str(k + 1): {"class": "pitting", "part": "/Plate"} for k in range(101)}}}
    writer = CocoWriter(tmp_path / "coco", categories="defects")
    writer.write(to_annotator_layout(frame, 0))
    with caplog.at_level("WARNING"):
        writer.on_final_frame()
    data = json.loads((tmp_path / "coco" / "instances.json").read_text())
    assert len(data["annotations"]) == 101 and data["info"]["images_over_max_dets"] == [1]
    assert data["categories"] == [{"id": 1, "name": "pitting", "supercategory": "defect",
                                   "semantic_id": DEFECT_IDS["pitting"]}]
    assert any("more than 100 annotations" in r.message for r in caplog.records)
