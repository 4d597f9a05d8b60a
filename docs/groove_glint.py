"""Render docs/images/groove_glint.jpg: scratched and brushed metal at inspection scale, before and after the
groove frame (`python docs/groove_glint.py [--size 240] [--spp 32] [--out PATH]`).

Each row is a close-up of a flat 100 mm steel plate (macro camera, 24 mm field, 25 degrees off the normal)
lit by a single bar light 30 degrees above the plate on its far side. Columns: the isotropic principled BSDF
(the renderer before wearforge.render.tangent_frame), as it is and with the part turned 90 degrees about
its normal, then the groove frame the same two ways. Grooves that run across the plane of light and camera
glint; turning the part hands the glint to the grooves of the other direction.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from wearforge.inspection import camera, lighting  # noqa: E402
from wearforge.recipe import LabelConfig, validate_recipe  # noqa: E402
from wearforge.render.frame import StandaloneRenderer  # noqa: E402
from wearforge.scenario import sample_frame  # noqa: E402
from wearforge.stage import open_twin, read_scene  # noqa: E402

FIELD_MM = 24.0
# (title, material randomizer entry, wear layers, texels across the 100 mm plate); the scratched steel has no
# finish, so the grooves in the picture are the scratches' alone
SCRATCHES = [{"type": "scratches", "params": {"count": 10, "length": 15.0, "clusters": 3, "cluster_length": 8.0}}]
ROWS = (("scratches on bare steel (0.05 mm texels)", {"preset": "bare_steel", "finish": "none"}, SCRATCHES, 2048),
        ("scratches on bare steel (0.2 mm texels)", {"preset": "bare_steel", "finish": "none"}, SCRATCHES, 512),
        ("brushed stainless (finish only, 0.05 mm texels)", {"preset": "brushed_stainless"}, [], 2048))
TURNS = (0.0, 90.0)  # of the part about its normal
COLUMNS = ("isotropic", "isotropic, part turned 90 deg", "groove frame", "groove frame, part turned 90 deg")


def plate(path: Path) -> Path:
    """A 100 mm square plate in z = 0, facing +z (metres, Z up) with a UsdPreviewSurface, without lights."""
    from wearforge.plate_twin import write_plate_twin

    return write_plate_twin(path, 0.05, label=None)


def turned(lights: list[dict], target, normal, degrees: float) -> list[dict]:
    """The lights rotated about the surface normal through ``target`` (Rodrigues)."""
    k = np.asarray(normal, float) / np.linalg.norm(normal)
    a = np.radians(degrees)
    rot = np.cos(a) * np.eye(3) + np.sin(a) * np.cross(np.eye(3), k) + (1 - np.cos(a)) * np.outer(k, k)
    t = np.asarray(target, float)
    return [{**light, "position": [float(v) for v in rot @ (np.asarray(light["position"]) - t) + t]}
            if "position" in light else light for light in lights]


def render_row(usd: Path, material: dict, layers: list, texels: int, size: int, spp: int) -> list[np.ndarray]:
    normal = np.array([0.0, 0.0, 1.0])
    tilt = np.radians(25.0)
    cam = camera((0.0, 0.0, 0.0), (np.sin(tilt), 0.0, np.cos(tilt)), FIELD_MM)
    # the bar on the far side of the part from the camera, 30 degrees above it: its reflection off grooves
    # that run across the plane of light and camera reaches the lens (low-angle bright field)
    bar = lighting("bar", cam, up=normal, intensity=0.3)
    side = np.asarray(bar[0]["position"]) - np.asarray(cam["look_at"])
    bar = turned(bar, cam["look_at"], normal, 180.0 - np.degrees(np.arctan2(side[1], side[0])))
    wear = [{"resolution": texels, "texels_per_pixel": 0, "focus": [0.0, 0.0, 0.0], "focus_radius": 0.008,
             "layers": layers}]
    shots = []
    for grooves in (False, True):
        # one renderer per mode: False builds the scene as it was before the groove frame existed
        stage = None
        for degrees in TURNS:
            # turning camera and light together about the normal is turning the part the other way
            view = {**cam, "position": turned([cam], cam["look_at"], normal, degrees)[0]["position"]}
            recipe = validate_recipe({"scene": {"usd": str(usd), "parts": [{"path": "/Plate", "class": "plate"}]},
                                      "camera": view, "seed": 3, "lights": turned(bar, cam["look_at"], normal, degrees),
                                      "randomizers": {"materials": [material], "wear": wear},
                                      "render": {"resolution": [size, size], "spp": spp}},
                                     source="groove_glint", base_dir=usd.parent)
            if stage is None:
                stage = open_twin(recipe)
                renderer = StandaloneRenderer(stage, labels=LabelConfig(visibility=False))
                renderer.backend.grooves = grooves
            spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
            shots.append(renderer.render(spec)["rgb"]["data"][..., :3])
    return shots


def compose(rows: list[tuple[str, list[np.ndarray]]], size: int) -> Image.Image:
    label_w, gap, head = 170, 6, 28
    sheet = Image.new("RGB", (label_w + len(COLUMNS) * (size + gap), head + len(rows) * (size + gap)), (18, 18, 18))
    draw = ImageDraw.Draw(sheet)
    font, small = ImageFont.load_default(size=13), ImageFont.load_default(size=12)
    for c, title in enumerate(COLUMNS):
        draw.text((label_w + c * (size + gap), 8), title, fill=(230, 230, 230), font=small)
    for r, (title, shots) in enumerate(rows):
        y = head + r * (size + gap)
        draw.multiline_text((8, y + size // 2 - 20), title.replace(" (", "\n(").replace(", ", ",\n"),
                            fill=(255, 255, 255), font=font)
        for c, img in enumerate(shots):
            sheet.paste(Image.fromarray(img), (label_w + c * (size + gap), y))
    return sheet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=240)
    ap.add_argument("--spp", type=int, default=32)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "groove_glint.jpg")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        usd = plate(Path(work) / "plate.usda")
        rows = [(title, render_row(usd, material, layers, texels, args.size, args.spp))
                for title, material, layers, texels in ROWS]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    compose(rows, args.size).save(args.out, quality=88)
    print(args.out)


if __name__ == "__main__":
    main()
