"""Dataset report: measurements from the labels, KID and classifier against stand-in "real" photos, HTML, CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wearforge.recipe import load_recipe
from wearforge.report import Options, build_report
from wearforge.report.distance import classifier_accuracy, kid, mmd2_unbiased
from wearforge.report.features import HandFeatures

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "recipes" / "demo.yaml"
# tiny, fast frames: small wear textures, few samples
FAST = ["render.resolution=[64,48]", "render.spp=4", "output.contact_sheet=0",
        *(f"randomizers.wear.{i}.resolution=128" for i in range(4))]
# stand-ins for real photos, increasingly unlike the demo recipe: lighting, sensor and materials
SHIFTS = {
    "same": [],
    "mild": ["randomizers.lights.0.intensity={uniform: [9, 14]}", "randomizers.sensor.read_noise={uniform: [0.015, 0.02]}"],
    "strong": ["randomizers.lights.0.intensity={uniform: [4, 6]}", "randomizers.lights.1.intensity={uniform: [0.5, 1]}",
               "randomizers.sensor.read_noise={uniform: [0.05, 0.06]}", "randomizers.sensor.jpeg_quality=25",
               "randomizers.materials.1.preset=painted_blue", "randomizers.materials.0.preset=painted_safety_yellow"],
}


def render(out: Path, frames: int, seed: int, extra: list[str] = ()) -> Path:
    from wearforge.generate import generate

    recipe = load_recipe(DEMO, [*FAST, f"frames={frames}", f"seed={seed}", f"output.dir={json.dumps(str(out))}", *extra])
    generate(recipe)
    return out


def photos(dataset: Path, folder: Path) -> Path:
    """The rgb frames alone, as a folder of 'photos'."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in sorted(dataset.glob("rgb_*.png")):
        shutil.copy(p, folder / p.name.replace("rgb_", "photo_"))
    return folder


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """A 'synthetic' dataset and three stand-in 'real' photo sets (other seeds, growing differences)."""
    root = tmp_path_factory.mktemp("report")
    synth = render(root / "synth", 16, 7)
    real = {name: photos(render(root / f"ds_{name}", 12, 100 + k, extra), root / f"real_{name}")
            for k, (name, extra) in enumerate(SHIFTS.items())}
    return synth, real


@pytest.mark.slow
def test_distance_grows_with_the_difference_and_the_classifier_separates(sets, tmp_path):
    synth, real = sets
    scores = {}
    for name, folder in real.items():
        r = build_report(synth, tmp_path / name, Options(real=folder, kid_subsets=50))
        scores[name] = (r["real"]["kid"]["mean"], r["real"]["classifier"]["balanced_accuracy"])
    print("KID and classifier per stand-in set:", scores)
    kids = {k: v[0] for k, v in scores.items()}
    accs = {k: v[1] for k, v in scores.items()}
    assert kids["same"] < kids["mild"] < kids["strong"], kids
    assert accs["strong"] >= 0.9, accs  # clearly different sets are told apart
    assert accs["same"] <= 0.75, accs  # the same recipe with another seed is not
    # the report points every real photo at its nearest frames and ranks the worst covered ones
    r = json.loads((tmp_path / "strong" / "report.json").read_text())
    assert len(r["real"]["per_image"]) == 12 and len(r["real"]["per_image"][0]["nearest"]) == 3
    assert r["real"]["worst_covered"][0] == max(r["real"]["per_image"], key=lambda x: x["distance"])["image"]


@pytest.mark.slow
def test_report_measures_the_labels_and_coverage(sets, tmp_path):
    synth, _ = sets
    r = build_report(synth, tmp_path, Options(recipe=DEMO, overrides=FAST, reference_frames=300))
    classes = {(c["kind"], c["class"]): c for c in r["classes"]}
    # instance counts agree with the defect_instances arrays on disk
    on_disk: dict[str, int] = {}
    for p in sorted(synth.glob("defect_instances_*.npy")):
        labels = json.loads(p.with_name(p.name.replace("defect_instances_", "defect_instances_labels_")
                                        .replace(".npy", ".json")).read_text())
        for row in np.load(p):
            c = labels[str(int(row["instanceId"]))]["class"]
            on_disk[c] = on_disk.get(c, 0) + 1
    assert {c: classes[("defect", c)]["instances"] for c in on_disk} == on_disk
    # one pipe spool per frame, fully visible parts have no occlusion, sizes in mm² are positive
    assert classes[("part", "pipe_spool")]["instances"] == 16
    assert classes[("defect", "rust")]["mm2"]["min"] > 0
    assert 0 <= classes[("part", "table")]["occlusion"]["median"] <= 1
    # coverage: every randomized field is compared with the recipe; nothing the recipe varies stayed constant
    fields = {f["field"]: f for f in r["coverage"]["fields"]}
    assert fields["light[/World/Lights/Key].intensity"]["coverage"] > 0.3
    assert fields["camera.distance"]["kind"] == "numeric" and "ks" in fields["camera.distance"]
    assert not r["coverage"]["never_varied"]
    assert (tmp_path / "index.html").stat().st_size > 10_000
    html = (tmp_path / "index.html").read_text()
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)  # static: opens from disk
    for img in r["galleries"]["rust"]["largest"]:
        assert (tmp_path / img["img"]).is_file()


def test_coverage_flags_a_field_that_never_varied(tmp_path):
    from wearforge.report.coverage import compare

    rows = {r["field"]: r for r in compare({"a": [1.0] * 5, "b": [0.1, 0.5, 0.9, 0.3, 0.7]},
                                           {"a": list(np.linspace(0, 2, 50)), "b": list(np.linspace(0, 1, 50))})}
    assert rows["a"]["never_varied"] and not rows["b"]["never_varied"]
    assert rows["b"]["coverage"] == 0.5 and rows["a"]["coverage"] == 0.1


def test_kid_is_unbiased_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same = kid(a, b, subsets=30, subset_size=100, standardised=True)
    assert abs(same.mean) < 3 * same.std + 1e-3
    shifted = [kid(a, b + s, subsets=30, subset_size=100, standardised=True).mean for s in (0.2, 0.5, 1.0)]
    assert shifted[0] < shifted[1] < shifted[2] and shifted[0] > same.mean
    # the estimator matches the definition computed by brute force on a small case
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(6, 3))
    k = lambda p, q: (p @ q / 3 + 1) ** 3  # noqa: E731
    brute = (sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
             + sum(k(y[i], y[j]) for i in range(6) for j in range(6) if i != j) / 30
             - 2 * sum(k(x[i], y[j]) for i in range(5) for j in range(6)) / 30)
    assert mmd2_unbiased(x, y) == pytest.approx(brute)


def test_classifier_is_at_chance_for_one_distribution_and_separates_two():
    rng = np.random.default_rng(1)
    same = classifier_accuracy(rng.normal(size=(60, 8)), rng.normal(size=(60, 8)))
    apart = classifier_accuracy(rng.normal(size=(60, 8)), rng.normal(size=(60, 8)) + 1.5)
    assert same.accuracy < 0.7 and apart.accuracy > 0.95


def test_hand_features_see_noise_light_and_colour():
    f = HandFeatures()
    rng = np.random.default_rng(2)
    base = np.zeros((96, 128, 3), np.uint8)
    base[:, :64] = (180, 120, 60)
    base[20:70, 80:120] = (40, 60, 200)
    noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    dark = (base * 0.4).astype(np.uint8)
    fb, fn, fd = f(base), f(noisy), f(dark)
    assert fb.shape == (f.dim,) and np.all(np.isfinite(fb))
    assert np.linalg.norm(fn - fb) > 0.05 and np.linalg.norm(fd - fb) > 0.05
    # the same picture at another resolution describes the same
    big = np.repeat(np.repeat(base, 4, 0), 4, 1)
    assert np.linalg.norm(f(big) - fb) < np.linalg.norm(fn - fb)


def test_users_own_onnx_model_supplies_the_features(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from wearforge.report.features import OnnxFeatures, make_extractor

    # a 3x3 convolution with 4 filters and a global average pool: 4 features per image
    w = np.random.default_rng(3).normal(size=(4, 3, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("GlobalAveragePool", ["c"], ["y"])],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 1, 1])], [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "tiny.onnx"
    onnx.save(model, path)
    ext = make_extractor(path)
    assert isinstance(ext, OnnxFeatures) and ext.dim == 4
    img = np.full((40, 50, 3), 128, np.uint8)
    expected = w.sum(axis=(1, 2, 3)) * 128 / 255  # a constant image: every output pixel is the same
    assert np.allclose(ext(img), expected, atol=1e-4)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return render(tmp_path_factory.mktemp("small") / "ds", 3, 5)


def test_report_cli_summarises_and_bad_input_exits_2(small, tmp_path):
    synth = small
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "wearforge", "report", *a], capture_output=True, text=True,  # noqa: E731
                                    env=env, timeout=300)
    ok = run(str(synth))
    assert ok.returncode == 0, ok.stderr
    assert "information richness" in ok.stdout and (synth / "report" / "index.html").is_file()
    for args, needle in [((str(tmp_path / "missing"),), "dataset folder not found"),
                         ((str(synth), "--real", str(tmp_path / "nophotos")), "real photos not found"),
                         ((str(synth), "--features", str(tmp_path / "no.onnx")), "feature model not found"),
                         ((str(tmp_path),), "no rgb_N.png frames")]:
        bad = run(*args)
        assert bad.returncode == 2 and needle in bad.stderr and "Traceback" not in bad.stderr, bad.stderr


def test_report_page_renders_in_a_real_browser(small, tmp_path):
    from wearforge.report.screenshot import find_browser, section_screenshots

    if find_browser() is None:
        pytest.skip("no Chromium-family browser on PATH (Debian: apt-get install chromium)")
    report = build_report(small, tmp_path / "rep", Options())
    shots = section_screenshots(report, tmp_path / "rep", {"top": ("scores", "classes")}, height=700)
    import cv2

    img = cv2.imread(str(shots[0]))
    assert img.shape[:2] == (700, 1280)
    # the page drew something: text, bars and the histograms' blue, not a blank or error page
    blue = np.all(np.abs(img.astype(int) - (168, 120, 72)) < 8, -1)  # #4878a8 in BGR
    assert (img < 128).mean() > 0.005 and blue.sum() > 200


def test_near_duplicates_are_found_and_distinct_frames_are_not():
    from wearforge.report.build import near_duplicates
    from wearforge.report.features import thumbnail_signature

    rng = np.random.default_rng(5)
    imgs = [rng.integers(0, 255, (48, 64, 3)).astype(np.uint8) for _ in range(6)]
    imgs.append(np.clip(imgs[2].astype(int) + rng.integers(-3, 4, imgs[2].shape), 0, 255).astype(np.uint8))
    count, pairs = near_duplicates(np.asarray([thumbnail_signature(i) for i in imgs]), 0.985, chunk=4)
    assert count == 1 and (pairs[0][1], pairs[0][2]) == (2, 6) and pairs[0][0] > 0.985


@pytest.mark.parametrize("tilt", [0.0, 50.0])
def test_pixel_areas_sum_to_the_area_of_a_plane_in_view(tilt):
    """A plane filling the view, facing the camera or tilted: pixel areas add up to its visible area."""
    from wearforge.report.instances import pixel_area_mm2

    w, h, f, ap = 64, 48, 24.0, 20.955
    cam = {"renderProductResolution": [w, h], "cameraFocalLength": f, "cameraAperture": [ap, ap * h / w],
           "cameraViewTransform": np.eye(4).ravel().tolist(), "metersPerSceneUnit": 1.0}
    fx = f / (ap / w)
    t = np.radians(tilt)
    n = np.array([0.0, np.sin(t), np.cos(t)])  # the plane through (0, 0, -1) with this normal (camera looks down -z)
    u = (np.arange(w) + 0.5 - w / 2) / fx
    v = (np.arange(h) + 0.5 - h / 2) / fx
    rays = np.stack(np.broadcast_arrays(u[None, :], -v[:, None], -np.ones((h, 1))), -1)
    depth = (n @ [0, 0, -1.0]) / (rays @ n) * 1.0  # z of the hit: rays have z = -1, so depth = -t*(-1)
    area = pixel_area_mm2(depth, np.broadcast_to(n, (h, w, 3)).copy(), cam).sum() / 1e6
    # exact: the image rectangle's corners cast onto the plane, as a quadrilateral
    corners = np.array([[-w / 2, h / 2], [w / 2, h / 2], [w / 2, -h / 2], [-w / 2, -h / 2]]) / fx
    pts = [(n @ [0, 0, -1.0]) / (np.array([x, y, -1.0]) @ n) * np.array([x, y, -1.0]) for x, y in corners]
    quad = 0.5 * np.linalg.norm(np.cross(pts[2] - pts[0], pts[3] - pts[1]))
    assert area == pytest.approx(quad, rel=0.01)
    # depth annotators give metres in every home: a centimetre stage's camera must not rescale them
    cm = pixel_area_mm2(depth, np.broadcast_to(n, (h, w, 3)).copy(), {**cam, "metersPerSceneUnit": 0.01})
    assert cm.sum() / 1e6 == pytest.approx(quad, rel=0.01)
