"""Seconds per frame at matched image quality: wearforge's Mitsuba backend vs Blender Cycles (``bpy``).

    .venv/bin/python benchmarks/blender_peer.py --blender-python build/blender-venv/bin/python \
        [--size 256 192] [--ref-spp 1024] [--spp 4 8 16 32 64 128] [--runs 3] [--threads 2]

The peer is what BlenderProc users run: Cycles on the CPU through the ``bpy`` wheel from PyPI. ``bpy``
pins ``numpy<2`` while wearforge needs NumPy 2 (OpenCV), so the two cannot share one environment; the
Cycles half runs in its own interpreter (``--blender-python``, a venv with ``pip install bpy``) and this
script talks to it through files.

One scene for both: frame 0 of recipes/demo.yaml without wear (wear stacks are in-memory textures the
USD file does not carry), applied to the twin, flattened to a .usda and imported by Blender's own USD
importer (geometry, UsdPreviewSurface -> Principled BSDF, camera). Lights are set from wearforge's own
reading of the UsdLux prims (see ``blender_lights``) so both renderers get the same emitted radiance.

Each renderer gets a reference of its own (``--ref-spp``); each rung of the spp ladder is rendered
``--runs`` times with different seeds (median seconds, mean PSNR), without and with its denoiser (Cycles:
its built-in OpenImageDenoise with albedo + normal passes; Mitsuba: OpenImageDenoise through ``pyoidn`` on
a box-filtered beauty pass plus a first-hit albedo / normal pass, see ``mitsuba_ladder``). PSNR is taken on the display image (exposure, clip, sRGB) against that renderer's own
reference; seconds per frame at a given PSNR are interpolated on log(seconds) between rungs.
Timed: the render call only, scene already built (Mitsuba) / synced with persistent data (Cycles), after
one warm-up render.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_info import machine  # noqa: E402  (no wearforge import: Blender's Python runs this file too)

ROOT = Path(__file__).resolve().parent.parent
AUX_SPP = 16  # samples per pixel of Mitsuba's albedo / normal pass (first hit only: converges fast)


# ------------------------------------------------------------------------------------------ common


def blender_lights(lights) -> list[dict]:
    """wearforge LightStates -> Blender light settings with the same emitted radiance.

    UsdLux intensity is radiance (times color, 2^exposure, blackbody; divided by the area when
    ``normalize`` is set), which is what wearforge hands Mitsuba's area emitters. Blender lights take
    power in watts, and Cycles emits from an area light of power P and area A the radiance
    P / (pi A) (a Lambertian emitter), from a sphere light of radius r the radiance P / (4 pi^2 r^2).
    So P = pi A L for rect / disk lights and P = 4 pi^2 r^2 L for sphere lights, with L the luminance-
    free "strength" max(rgb) and the color rgb / max(rgb). A constant dome is the world color.
    """
    import numpy as np

    out = []
    for light in lights:
        rgb = np.asarray(light.radiance, float)
        peak = float(rgb.max())
        if peak <= 0:
            continue
        scale = np.linalg.norm(light.matrix[:3, :3], axis=0)
        entry = {"path": light.path, "type": light.type, "color": (rgb / peak).tolist(), "radiance": peak,
                 "matrix": np.asarray(light.matrix, float).tolist()}
        if light.type == "rect":
            w, h = light.width * scale[0], light.height * scale[1]
            entry.update(width=w, height=h, watts=math.pi * w * h * peak)
        elif light.type == "disk":
            r = light.radius * scale[0]
            entry.update(radius=r, watts=math.pi * math.pi * r * r * peak)
        elif light.type == "sphere":
            r = light.radius * float(scale.max())
            entry.update(radius=r, watts=4 * math.pi ** 2 * r * r * peak)
        elif light.type == "dome":
            if light.texture:
                raise SystemExit(f"{light.path}: textured dome lights are not converted by this benchmark")
            entry["rgb"] = rgb.tolist()
        else:
            raise SystemExit(f"{light.path}: light type {light.type} is not converted by this benchmark")
        out.append(entry)
    return out


def display(linear, exposure: float = 0.0):
    """Linear radiance -> display values in [0, 1] (exposure, clip, sRGB OETF)."""
    import numpy as np

    x = np.clip(np.asarray(linear, np.float64)[..., :3] * 2.0 ** exposure, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def psnr(image, reference) -> float:
    import numpy as np

    mse = float(np.mean((image - reference) ** 2))
    return 99.0 if mse <= 0 else 10.0 * math.log10(1.0 / mse)


def seconds_at(rows: list[dict], target: float) -> float | None:
    """Seconds per frame at ``target`` dB, log-linear between the two rungs around it (None outside)."""
    pts = sorted((r["psnr"], r["seconds"]) for r in rows)
    for (p0, s0), (p1, s1) in zip(pts, pts[1:]):
        if p0 <= target <= p1 and p1 > p0:
            t = (target - p0) / (p1 - p0)
            return math.exp(math.log(s0) + t * (math.log(s1) - math.log(s0)))
    return None


def match(m_rows: list[dict], c_rows: list[dict], targets: list[float]) -> list[dict]:
    """Seconds per frame of each renderer / denoiser setting at each target PSNR, and Cycles / Mitsuba."""
    matched = []
    for target in targets:
        entry = {"psnr": target}
        for name, rows in (("mitsuba", m_rows), ("cycles", c_rows)):
            for denoise in (False, True):
                entry[f"{name}{'_denoised' if denoise else ''}"] = seconds_at(
                    [r for r in rows if r["denoise"] == denoise], target)
        for suffix in ("", "_denoised"):
            m, c = entry.get("mitsuba" + suffix), entry.get("cycles" + suffix)
            entry["ratio_cycles_over_mitsuba" + suffix] = (c / m) if m and c else None
        matched.append(entry)
    return matched


# ------------------------------------------------------------------------------------------ Cycles
def cycles_worker(job_path: str) -> None:
    """Runs inside the Blender interpreter: import the .usda, set lights, render the ladder."""
    import bpy
    import numpy as np

    job = json.loads(Path(job_path).read_text())
    out = Path(job["out"])
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.usd_import(filepath=job["usda"], import_cameras=True, import_lights=True, import_materials=True,
                          import_usd_preview=True, set_frame_range=False, import_visible_only=True)
    scene = bpy.context.scene
    by_path = {}
    for obj in bpy.data.objects:
        by_path[obj.name] = obj
    camera = by_path[job["camera"].rsplit("/", 1)[-1]]
    scene.camera = camera
    imported_lights = {o.name: o for o in bpy.data.objects if o.type == "LIGHT"}
    report = {"blender": bpy.app.version_string, "imported_light_watts": {n: o.data.energy for n, o in
                                                                       imported_lights.items()},
              "camera": {"lens": camera.data.lens, "sensor_width": camera.data.sensor_width,
                         "sensor_fit": camera.data.sensor_fit, "clip": [camera.data.clip_start, camera.data.clip_end]}}
    # lights: drop what the importer made, rebuild from wearforge's reading (docstring of blender_lights)
    for obj in imported_lights.values():
        bpy.data.objects.remove(obj, do_unlink=True)
    world = bpy.data.worlds.new("wearforge") if scene.world is None else scene.world
    scene.world = world
    world.use_nodes = True
    bg = world.node_tree.nodes.get("Background") or world.node_tree.nodes.new("ShaderNodeBackground")
    bg.inputs["Color"].default_value = (0, 0, 0, 1)
    bg.inputs["Strength"].default_value = 1.0
    for light in job["lights"]:
        if light["type"] == "dome":
            bg.inputs["Color"].default_value = (*light["rgb"], 1.0)
            continue
        kind = {"rect": "AREA", "disk": "AREA", "sphere": "POINT"}[light["type"]]
        data = bpy.data.lights.new(light["path"].rsplit("/", 1)[-1], kind)
        data.energy = light["watts"]
        data.color = light["color"]
        if light["type"] == "rect":
            data.shape, data.size, data.size_y = "RECTANGLE", light["width"], light["height"]
        elif light["type"] == "disk":
            data.shape, data.size = "DISK", 2 * light["radius"]
        else:
            data.shadow_soft_size = light["radius"]
        obj = bpy.data.objects.new(data.name, data)
        scene.collection.objects.link(obj)
        m = np.asarray(light["matrix"], float)
        m[:3, :3] /= np.linalg.norm(m[:3, :3], axis=0)  # size is in the light data; both emit along -Z
        import mathutils

        obj.matrix_world = mathutils.Matrix(m.tolist())  # wearforge matrices are column-vector, as Blender's
    report["lights"] = {l["path"]: l.get("watts") for l in job["lights"]}  # noqa: E741

    r = scene.render
    r.engine = "CYCLES"
    r.resolution_x, r.resolution_y, r.resolution_percentage = job["width"], job["height"], 100
    r.threads_mode, r.threads = "FIXED", job["threads"]
    r.use_persistent_data = True  # keep the synced scene and BVH between renders, as a dataset run would
    r.image_settings.file_format, r.image_settings.color_depth = "OPEN_EXR", "32"
    scene.view_settings.view_transform, scene.view_settings.look = "Standard", "None"
    c = scene.cycles
    c.device = "CPU"
    c.use_adaptive_sampling = False  # a fixed sample count per rung, as Mitsuba
    # Mitsuba's path tracer with max_depth d traces d - 2 indirect bounces, unclamped and unfiltered
    bounces = job["max_depth"] - 2
    c.max_bounces = c.diffuse_bounces = c.glossy_bounces = c.transmission_bounces = bounces
    c.transparent_max_bounces = 8
    c.sample_clamp_direct = c.sample_clamp_indirect = 0.0
    c.blur_glossy = 0.0
    c.denoiser = "OPENIMAGEDENOISE"
    c.denoising_input_passes = "RGB_ALBEDO_NORMAL"
    c.denoising_prefilter = "ACCURATE"
    c.denoising_use_gpu = False

    def render(spp: int, seed: int, denoise: bool, name: str) -> float:
        c.samples, c.seed, c.use_denoising = spp, seed, denoise
        t0 = time.perf_counter()
        bpy.ops.render.render(write_still=False)
        seconds = time.perf_counter() - t0
        path = out / f"{name}.exr"
        bpy.data.images["Render Result"].save_render(str(path))
        img = bpy.data.images.load(str(path))
        px = np.asarray(img.pixels[:], np.float32).reshape(job["height"], job["width"], 4)[::-1, :, :3]
        np.save(out / f"{name}.npy", np.ascontiguousarray(px))
        bpy.data.images.remove(img)
        return seconds

    render(4, 0, False, "warmup")
    report["reference"] = {"spp": job["ref_spp"], "seconds": render(job["ref_spp"], 1000, False, "reference")}
    rows = []
    for denoise in (False, True):
        for spp in job["spp"]:
            times = [render(spp, k, denoise, f"spp{spp}_d{int(denoise)}_r{k}") for k in range(job["runs"])]
            rows.append({"spp": spp, "denoise": denoise, "times": times})
            print(f"cycles spp={spp} denoise={denoise} {statistics.median(times):.3f}s", flush=True)
    report["rows"] = rows
    (out / "cycles.json").write_text(json.dumps(report, indent=1))


# ----------------------------------------------------------------------------------------- Mitsuba
def prepare_scene(size: tuple[int, int], tmp: Path):
    """Frame 0 of the demo recipe without wear: applied, rendered once, flattened to ``scene.usda``."""
    from wearforge.recipe import load_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_twin, read_scene
    from wearforge.twin_reader import read_frame_state

    recipe = load_recipe(ROOT / "recipes" / "demo.yaml",
                         ["randomizers.wear=[]", f"render.resolution=[{size[0]}, {size[1]}]"])
    stage = open_twin(recipe)
    scene = read_scene(recipe, stage)
    renderer = StandaloneRenderer(stage, max_depth=recipe.render.max_depth)
    spec = sample_frame(recipe, recipe.seed, 0, scene)
    renderer.render(spec)  # applies the frame to the stage and builds the Mitsuba scene
    stage.Flatten().Export(str(tmp / "scene.usda"))
    state = read_frame_state(stage, renderer.meshes, spec.camera.path)
    return recipe, renderer, spec, state


def mitsuba_ladder(renderer, state, size: tuple[int, int], ref_spp: int, spps: list[int], runs: int,
                   threads: int, out: Path, use_oidn: bool) -> dict:
    import drjit as dr
    import numpy as np

    mi = renderer.backend.mi
    dr.set_thread_count(threads)
    scene = renderer.backend._scene
    cam = state.camera
    if cam.aperture_radius > 0:
        raise SystemExit("the benchmark frame has a thin-lens camera; the denoise path builds a pinhole sensor")
    # OIDN wants uncorrelated per-pixel noise: wearforge's Gaussian film splats each sample over
    # neighbouring pixels, which OIDN keeps as detail (+1 dB measured), so the denoised path renders
    # through a box-filtered film of the same camera (Cycles importance-samples its pixel filter instead).
    to_world = np.asarray(scene.sensors()[0].world_transform().matrix.numpy(), np.float64).reshape(4, 4)
    box = mi.load_dict({"type": "perspective", "fov": cam.fov_x_degrees, "fov_axis": "x", "near_clip": cam.near,
                        "far_clip": cam.far, "to_world": mi.ScalarTransform4f(to_world.tolist()),
                        "film": {"type": "hdrfilm", "width": size[0], "height": size[1], "pixel_format": "rgb",
                                 "rfilter": {"type": "box"}},
                        "sampler": {"type": "independent", "sample_count": 1}})
    # albedo and normal from a first-hit pass of their own: wrapping the path tracer in the `aov`
    # integrator measured about 2x slower than the path tracer alone
    aux = mi.load_dict({"type": "aov", "aovs": "albedo:albedo,nn:sh_normal"})
    if use_oidn:
        import pyoidn

    def render(spp: int, seed: int, denoise: bool) -> tuple[float, np.ndarray]:
        t0 = time.perf_counter()
        if denoise:
            rgb = np.asarray(mi.render(scene, sensor=box, spp=spp, seed=seed), np.float32)[..., :3]
            feats = np.asarray(mi.render(scene, sensor=box, integrator=aux, spp=min(spp, AUX_SPP), seed=seed),
                               np.float32)
            rgb = pyoidn.denoise(np.ascontiguousarray(rgb), np.ascontiguousarray(feats[..., -6:-3]),
                                 np.ascontiguousarray(feats[..., -3:]), hdr=True)
        else:
            rgb = renderer.backend.render_beauty(spp, seed)
        return time.perf_counter() - t0, rgb

    render(4, 0, use_oidn)  # warm-up: kernel compilation
    seconds, ref = render(ref_spp, 1000, False)
    np.save(out / "mitsuba_reference.npy", ref)
    rows = []
    for denoise in ([False, True] if use_oidn else [False]):
        for spp in spps:
            times = []
            for k in range(runs):
                t, img = render(spp, k, denoise)
                times.append(t)
                np.save(out / f"mitsuba_spp{spp}_d{int(denoise)}_r{k}.npy", img)
            rows.append({"spp": spp, "denoise": denoise, "times": times})
            print(f"mitsuba spp={spp} denoise={denoise} {statistics.median(times):.3f}s", flush=True)
    return {"variant": renderer.variant, "reference": {"spp": ref_spp, "seconds": seconds}, "rows": rows}


def score(rows: list[dict], prefix: str, out: Path, reference, exposure: float) -> list[dict]:
    import numpy as np

    ref = display(reference, exposure)
    scored = []
    for row in rows:
        values = [psnr(display(np.load(out / f"{prefix}spp{row['spp']}_d{int(row['denoise'])}_r{k}.npy"),
                               exposure), ref) for k in range(len(row["times"]))]
        scored.append({"spp": row["spp"], "denoise": row["denoise"], "seconds": statistics.median(row["times"]),
                       "psnr": statistics.mean(values)})
    return scored


def side_by_side(mitsuba_img, cycles_img, exposure: float, path: Path) -> None:
    import numpy as np
    from PIL import Image, ImageDraw

    a = (display(mitsuba_img, exposure) * 255 + 0.5).astype(np.uint8)
    b = (display(cycles_img, exposure) * 255 + 0.5).astype(np.uint8)
    diff = np.abs(display(mitsuba_img, exposure) - display(cycles_img, exposure)).mean(-1)
    d = np.repeat((np.clip(diff * 4, 0, 1) * 255).astype(np.uint8)[..., None], 3, -1)
    h, w = a.shape[:2]
    canvas = Image.new("RGB", (3 * w + 20, h + 18), (255, 255, 255))
    for k, (img, label) in enumerate([(a, "Mitsuba (wearforge)"), (b, "Cycles (bpy)"), (d, "|difference| x4")]):
        canvas.paste(Image.fromarray(img), (k * (w + 10), 18))
        ImageDraw.Draw(canvas).text((k * (w + 10) + 2, 3), label, fill=(0, 0, 0))
    canvas.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blender-python", default=os.environ.get("WEARFORGE_BLENDER_PYTHON",
                                                               str(ROOT / "build" / "blender-venv" / "bin" / "python")),
                    help="interpreter with `bpy` installed (default: $WEARFORGE_BLENDER_PYTHON or build/blender-venv)")
    ap.add_argument("--size", type=int, nargs=2, default=[256, 192])
    ap.add_argument("--ref-spp", type=int, default=1024)
    ap.add_argument("--spp", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64, 128])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--targets", type=float, nargs="+", default=[25.0, 30.0, 35.0, 40.0],
                    help="PSNR values (dB) at which seconds per frame are compared")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "blender_peer.json"))
    ap.add_argument("--png", default=str(ROOT / "benchmarks" / "results" / "blender_peer.png"))
    ap.add_argument("--rescore", action="store_true",
                    help="recompute the matched table of --json for --targets from its measured rows (no rendering)")
    ap.add_argument("--cycles-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rescore:
        result = json.loads(Path(args.json).read_text())
        result["matched"] = match(result["mitsuba"]["rows"], result["cycles"]["rows"], args.targets)
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(json.dumps(result["matched"], indent=1))
        return
    if args.cycles_worker:
        cycles_worker(args.cycles_worker)
        return
    if not Path(args.blender_python).is_file():
        print(f"--blender-python: {args.blender_python} does not exist; create a venv and `pip install bpy` "
              "(Python 3.11) there", file=sys.stderr)
        sys.exit(2)
    sys.path.insert(0, str(ROOT))
    import numpy as np

    try:
        import pyoidn  # noqa: F401

        use_oidn = True
    except ImportError:
        use_oidn = False
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        recipe, renderer, spec, state = prepare_scene(tuple(args.size), tmp)
        exposure = float(recipe.render.exposure)
        job = {"usda": str(tmp / "scene.usda"), "out": str(tmp), "camera": spec.camera.path,
               "lights": blender_lights(state.lights), "width": args.size[0], "height": args.size[1],
               "threads": args.threads, "max_depth": recipe.render.max_depth, "ref_spp": args.ref_spp,
               "spp": args.spp, "runs": args.runs}
        (tmp / "job.json").write_text(json.dumps(job))
        t0 = time.perf_counter()
        mitsuba = mitsuba_ladder(renderer, state, tuple(args.size), args.ref_spp, args.spp, args.runs, args.threads, tmp, use_oidn)
        t1 = time.perf_counter()
        subprocess.run([args.blender_python, __file__, "--cycles-worker", str(tmp / "job.json")], check=True)
        t2 = time.perf_counter()
        cycles = json.loads((tmp / "cycles.json").read_text())
        m_ref = np.load(tmp / "mitsuba_reference.npy")
        c_ref = np.load(tmp / "reference.npy")
        side_by_side(m_ref, c_ref, exposure, Path(args.png))
        m_rows = score(mitsuba["rows"], "mitsuba_", tmp, m_ref, exposure)
        c_rows = score(cycles["rows"], "", tmp, c_ref, exposure)
        cross = psnr(display(c_ref, exposure), display(m_ref, exposure))
        mean_ratio = float(np.mean(c_ref[..., :3]) / max(np.mean(m_ref[..., :3]), 1e-12))
    matched = match(m_rows, c_rows, args.targets)
    result = {
        "machine": machine(), "load_average_at_start": load0, "load_average_at_end": os.getloadavg(),
        "command": "benchmarks/blender_peer.py " + " ".join(sys.argv[1:]),
        "scene": f"recipes/demo.yaml frame 0 (seed {recipe.seed}), no wear, {args.size[0]}x{args.size[1]}",
        "threads": args.threads, "runs": args.runs, "pyoidn": use_oidn,
        "mitsuba": {"variant": mitsuba["variant"], "reference": mitsuba["reference"], "rows": m_rows,
                    "wall_seconds": t1 - t0},
        "cycles": {"blender": cycles["blender"], "reference": cycles["reference"], "rows": c_rows,
                   "camera": cycles["camera"], "imported_light_watts": cycles["imported_light_watts"],
                   "set_light_watts": cycles["lights"], "wall_seconds": t2 - t1},
        "references_agree": {"psnr_cycles_ref_vs_mitsuba_ref": cross, "mean_radiance_ratio_cycles_over_mitsuba": mean_ratio},
        "matched": matched,
    }
    Path(args.json).write_text(json.dumps(result, indent=1))
    print(json.dumps({"references_agree": result["references_agree"], "matched": matched}, indent=1))


if __name__ == "__main__":
    main()
