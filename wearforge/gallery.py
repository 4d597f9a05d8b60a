"""`wearforge textures`: every defect type at three intensities, as flat swatches and rendered, in one PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from wearforge.color import linear_to_srgb
from wearforge.wear.defects import DEFECT_CLASSES

# (parameter that sets the intensity, low/mid/high values, clean material preset)
INTENSITY = {
    "rust": ("coverage", (0.1, 0.3, 0.6), "bare_steel"),
    "pitting": ("probability", (0.15, 0.35, 0.7), "bare_steel"),
    "scratches": ("count", (6, 18, 45), "painted_blue"),
    "edge_wear": ("amount", (0.35, 0.65, 0.95), "painted_blue"),
    "dirt": ("amount", (0.35, 0.65, 0.95), "brushed_stainless"),
    "dust": ("amount", (0.3, 0.6, 1.0), "powder_coat_black"),
    "oil": ("count", (1, 3, 7), "cast_aluminium"),
    "dents": ("depth", (0.001, 0.002, 0.004), "painted_safety_yellow"),
    "cracks": ("coverage", (0.1, 0.25, 0.5), "cast_iron"),
    "discoloration": ("coverage", (0.15, 0.35, 0.7), "brushed_stainless"),
}
EXTRA = {"dents": {"count": 8, "radius": 0.03}, "scratches": {"length": 0.08, "width": 0.002}}


def swatch(stack, size: int) -> np.ndarray:
    """The stack's most covered square window, albedo lit through its normal map (sRGB uint8)."""
    res = stack.resolution
    win = res // 2
    best = max(((y, x) for y in range(0, res - win + 1, win // 2) for x in range(0, res - win + 1, win // 2)),
               key=lambda yx: np.count_nonzero(stack.cover[yx[0]:yx[0] + win, yx[1]:yx[1] + win] == 1))
    y, x = best
    color = stack.base_color[y:y + win, x:x + win]
    n = stack.normal[y:y + win, x:x + win] * 2 - 1
    light = np.array([-0.45, 0.45, 0.77])
    shade = 0.3 + 0.7 * np.clip(n @ light, 0, 1)[..., None] / light[2]
    img = (linear_to_srgb(np.clip(color * shade, 0, 1)) * 255).astype(np.uint8)
    img[stack.cover[y:y + win, x:x + win] == 0] = 24
    return np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.LANCZOS))


def build_gallery(out: Path, resolution: int = 512, render: bool = True, spp: int = 32, size: int = 200,
                  progress=None) -> Path:
    """Write wear_gallery.png into ``out``; returns its path."""
    from wearforge.recipe import LabelConfig, validate_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_twin, read_scene

    base = {
        "scene": {"usd": "asset:pipe_spool"},
        "camera": {"position": [0.42, -0.34, 0.2], "look_at": [0.12, 0.0, 0.0], "focal_length": 30},
        "lights": [{"name": "key", "type": "rect", "intensity": 12, "width": 1.0, "height": 1.0,
                    "position": [0.8, -1.0, 1.2], "look_at": [0, 0, 0], "color_temperature": 5600},
                   {"name": "sky", "type": "dome", "intensity": 0.5}],
        "render": {"resolution": [size, size], "spp": spp}, "seed": 3,
    }
    stage = renderer = scene = None
    rows = []
    total = len(DEFECT_CLASSES) * 3
    for r, defect in enumerate(DEFECT_CLASSES):
        param, values, preset = INTENSITY[defect]
        flats, shots = [], []
        for c, value in enumerate(values):
            params = {**EXTRA.get(defect, {}), param: value}
            recipe = validate_recipe({**base, "randomizers": {
                "materials": [{"preset": preset}],
                "wear": [{"resolution": resolution, "layers": [{"type": defect, "params": params}]}]}},
                source="wearforge textures", base_dir=Path("."))
            if stage is None:
                stage = open_twin(recipe)
                scene = read_scene(recipe, stage)
                # pictures only: no visibility pass behind the labels
                renderer = StandaloneRenderer(stage, labels=LabelConfig(visibility=False))
            spec = sample_frame(recipe, None, 0, scene)
            state_stacks = _stacks(renderer, spec, stage)
            flats.append(swatch(next(iter(state_stacks.values())), size))
            if render:
                shots.append(renderer.render(spec)["rgb"]["data"][..., :3])
            if progress:
                progress(r * 3 + c + 1, total)
        rows.append((defect, param, values, flats, shots))
    return _compose(rows, out / "wear_gallery.png", size)


def _stacks(renderer, spec, stage):
    from wearforge.twin_reader import read_frame_state
    from wearforge.stage import apply_frame

    apply_frame(stage, spec)
    state = read_frame_state(stage, renderer.meshes, spec.camera.path)
    return renderer.wear.stacks(spec, state)[0]


def _compose(rows, path: Path, size: int) -> Path:
    label_w, gap, head = 150, 6, 34
    cols = len(rows[0][3]) + len(rows[0][4])
    width = label_w + cols * (size + gap) + (gap * 3 if rows[0][4] else 0)
    height = head + len(rows) * (size + gap)
    sheet = Image.new("RGB", (width, height), (18, 18, 18))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=12)
    draw.text((label_w, 8), "flat swatches (texture space)", fill=(230, 230, 230), font=font)
    if rows[0][4]:
        draw.text((label_w + 3 * (size + gap) + gap * 3, 8), "rendered (Mitsuba)", fill=(230, 230, 230), font=font)
    for r, (defect, param, values, flats, shots) in enumerate(rows):
        y = head + r * (size + gap)
        draw.text((8, y + size // 2 - 16), defect, fill=(255, 255, 255), font=font)
        draw.text((8, y + size // 2 + 2), f"{param}:", fill=(170, 170, 170), font=small)
        draw.text((8, y + size // 2 + 16), " / ".join(f"{v:g}" for v in values), fill=(170, 170, 170), font=small)
        for c, img in enumerate(flats + shots):
            x = label_w + c * (size + gap) + (gap * 3 if c >= len(flats) else 0)
            sheet.paste(Image.fromarray(img), (x, y))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
