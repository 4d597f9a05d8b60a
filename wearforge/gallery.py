"""`wearforge textures`: every defect type at three severities, each as a flat swatch (texture space) next
to a close-up rendered at inspection scale (about 0.12 mm per pixel, macro camera, LED ring light) on the
sheet-metal bracket, in one PNG, under the default inspection lighting (ring light plus a raking bar).
The close-ups go through the renderer's denoiser (Open Image Denoise) when it is installed: a metal part
under a ring light is mostly glossy highlights, whose sampling noise at a few dozen samples per pixel is
coarser than pits, cracks and fine scratches, so without it a close-up judges the render, not the defect."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from wearforge.color import linear_to_srgb
from wearforge.inspection import DEFAULT_LIGHTING, camera, lighting
from wearforge.wear.defects import DEFECT_CLASSES

# (parameter that sets the severity, low/mid/high values, clean material preset)
INTENSITY = {
    "rust": ("coverage", (0.08, 0.25, 0.5), "bare_steel"),
    "pitting": ("density", (5, 20, 50), "bare_steel"),
    "scratches": ("count", (2, 6, 14), "painted_blue"),
    "edge_wear": ("amount", (0.35, 0.65, 0.95), "painted_safety_yellow"),
    "dirt": ("amount", (0.35, 0.65, 0.95), "brushed_stainless"),
    "dust": ("amount", (0.3, 0.6, 1.0), "powder_coat_black"),
    "oil": ("count", (1, 3, 6), "painted_machine_grey"),
    "dents": ("depth", (0.3, 0.8, 1.5), "painted_safety_yellow"),
    "cracks": ("length", (10, 20, 35), "machined_iron"),
    "discoloration": ("strength", (0.45, 0.7, 1.0), "brushed_stainless"),
}
EXTRA = {"cracks": {"rust_bleed": 0.5}, "oil": {"radius": 5.0}}
FIELD_MM = 24.0  # width of the close-up's field of view


def shade(color: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Albedo lit through its tangent-space normal map from the upper left (sRGB uint8)."""
    n = normal * 2 - 1
    light = np.array([-0.45, 0.45, 0.77])
    s = 0.3 + 0.7 * np.clip(n @ light, 0, 1)[..., None] / light[2]
    return (linear_to_srgb(np.clip(color * s, 0, 1)) * 255).astype(np.uint8)


def densest(stack) -> tuple[int, int]:
    """Texel (row, col) where a window shows the most defect next to clean surface (the defect in its
    context, rather than the middle of a fully worn face); falls back to the most covered area."""
    on = (stack.cover == 1).astype(np.float32)
    mask = ((stack.defect_class > 0) & (stack.cover == 1)).astype(np.float32)
    if not mask.any():
        mask = on
    k = max(stack.resolution // 24, 3)
    bad = cv2.boxFilter(mask, -1, (k, k))
    clean = cv2.boxFilter(on - mask, -1, (k, k))
    score = bad * (0.25 + clean) * (stack.cover == 1) * (mask > 0)
    y, x = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(y), int(x)


def swatch(stack, at: tuple[int, int], texels: int, size: int, texel: float | None = None) -> np.ndarray:
    """A ``texels`` wide window of the flat maps around ``at`` (empty texels dark, other UV islands dimmed).
    ``texel``: object units per texel, to shade the displacement map (dents) too, which the renderer puts in
    the mesh, not the normal map.

    A window can reach over the border of the UV island it shows into the next island, which is another
    face of the part: a defect continues across that border on the part, not in texture space, so it
    would seem cut by a straight line. Dimming the other islands shows the border as the face's edge."""
    res = stack.resolution
    half = max(texels // 2, 4)
    y0 = int(np.clip(at[0] - half, 0, max(res - 2 * half, 0)))
    x0 = int(np.clip(at[1] - half, 0, max(res - 2 * half, 0)))
    sl = (slice(y0, y0 + 2 * half), slice(x0, x0 + 2 * half))
    normal = stack.normal[sl]
    if stack.displacement is not None and texel:
        dh_drow, dh_dcol = np.gradient(stack.displacement[sl].astype(np.float64), texel)
        tilt = np.stack([-dh_dcol, dh_drow, np.zeros_like(dh_drow)], -1)  # rows run down, t up
        n = normal * 2 - 1 + tilt
        normal = n / np.linalg.norm(n, axis=-1, keepdims=True) * 0.5 + 0.5
    img = shade(stack.base_color[sl], normal)
    cover = stack.cover[sl]
    # islands: texels on a triangle (the gutters around them, copies of their edges, join neighbours)
    _, island = cv2.connectedComponents((cover == 1).astype(np.uint8), connectivity=4)
    own = island[at[0] - y0, at[1] - x0] if 0 <= at[0] - y0 < cover.shape[0] and 0 <= at[1] - x0 < cover.shape[1] else 0
    if own:
        img[(island != own) & (cover > 0)] //= 3
    img[cover == 0] = 24
    return np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.NEAREST if 2 * half < size
                                                  else Image.Resampling.LANCZOS))


def build_gallery(out: Path, resolution: int = 2048, render: bool = True, spp: int = 64, size: int = 200,
                  progress=None, denoise: bool | None = None, defects: tuple[str, ...] = DEFECT_CLASSES) -> Path:
    """Write wear_gallery.png into ``out``; returns its path.

    ``denoise``: close-ups through Open Image Denoise (None: when ``pyoidn`` is installed);
    ``defects``: the rows, in order.
    """
    from wearforge.recipe import LabelConfig, validate_recipe
    from wearforge.render.frame import StandaloneRenderer
    from wearforge.scenario import sample_frame
    from wearforge.stage import open_twin, read_scene

    if denoise is None:
        denoise = denoiser_available()
    stage = renderer = None
    rows = []
    total = len(defects) * 3
    for r, defect in enumerate(defects):
        param, values, preset = INTENSITY[defect]
        flats, shots = [], []
        for c, value in enumerate(values):
            params = {**EXTRA.get(defect, {}), param: value}
            # the stack at the gallery's resolution whatever the overview camera's size on screen: the swatch
            # and the close-up show the texels of one stack at its own scale
            wear = {"randomizers": {"materials": [{"preset": preset}],
                                    "wear": [{"resolution": resolution, "texels_per_pixel": 0,
                                              "layers": [{"type": defect, "params": params}]}]}}
            overview = {"scene": {"usd": "asset:bracket"}, "camera": {"position": [0.3, -0.3, 0.3]},
                        "render": {"resolution": [size, size], "spp": spp}, "seed": 3, **wear}
            recipe = validate_recipe(overview, source="wearforge textures", base_dir=Path("."))
            if stage is None:
                stage = open_twin(recipe)
                renderer = StandaloneRenderer(stage, labels=LabelConfig(visibility=False),  # pictures only
                                              denoise=bool(render and denoise))
            scene = read_scene(recipe, stage)
            spec = sample_frame(recipe, None, 0, scene)
            stacks, state = _stacks(renderer, spec, stage)
            index, stack = max(stacks.items(), key=lambda kv: np.count_nonzero(kv[1].defect_class))
            at = densest(stack)
            texel_mm = _texel_mm(renderer, index, stack.resolution, at)
            flats.append(swatch(stack, at, int(round(FIELD_MM / max(texel_mm, 1e-6))), size,
                                texel=texel_mm * 1e-3))  # object units per texel
            if render:
                closeup = _closeup_recipe(overview, renderer, state, index, stack, at)
                recipe = validate_recipe(closeup, source="wearforge textures", base_dir=Path("."))
                spec = sample_frame(recipe, None, 0, read_scene(recipe, stage))
                shots.append(renderer.render(spec)["rgb"]["data"][..., :3])
            if progress:
                progress(r * 3 + c + 1, total)
        rows.append((defect, param, values, flats, shots))
    return _compose(rows, out / "wear_gallery.png", size, f"{spp} spp" + (" + denoiser" if denoise else ""))


def denoiser_available() -> bool:
    try:
        import pyoidn  # noqa: F401
    except ImportError:
        return False
    return True


def _texel_mm(renderer, index: int, resolution: int, at: tuple[int, int]) -> float:
    bake = renderer.wear.bake_of(index, resolution)
    y, x = at
    return float(min(np.linalg.norm(bake.dpds[y, x]), np.linalg.norm(bake.dpdt[y, x])) / resolution * 1000.0)


def _closeup_recipe(overview: dict, renderer, state, index: int, stack, at: tuple[int, int]) -> dict:
    """The overview recipe with a macro camera and a ring light aimed at texel ``at`` of mesh ``index``."""
    bake = renderer.wear.bake_of(index, stack.resolution)
    m = state.matrices[index]
    p = m[:3, :3] @ bake.position[at] + m[:3, 3]
    # face the defect's surroundings (an edge is seen at 45 degrees between its faces, not along one of them)
    y, x = at
    k = max(stack.resolution // 48, 2)
    win = (slice(max(y - k, 0), y + k + 1), slice(max(x - k, 0), x + k + 1))
    near = np.linalg.norm(bake.position[win] - bake.position[at], axis=-1) < 0.004
    sel = near & (stack.cover[win] == 1)
    n_obj = bake.normal[win][sel].mean(0) if sel.any() else bake.normal[at]
    if np.linalg.norm(n_obj) < 0.3:
        n_obj = bake.normal[at]
    n = np.linalg.inv(m[:3, :3]).T @ n_obj
    n /= np.linalg.norm(n)
    # 25 degrees off the normal, as a station camera looks at a face it does not stand square to
    helper = np.array([0.0, 0.0, 1.0]) if abs(n[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    tilt = np.cross(n, helper)
    tilt /= np.linalg.norm(tilt)
    direction = np.cos(np.radians(25)) * n + np.sin(np.radians(25)) * tilt
    cam = camera(p, direction, FIELD_MM, optics="macro")
    return {**overview, "camera": cam, "lights": lighting(DEFAULT_LIGHTING, cam)}


def _stacks(renderer, spec, stage):
    from wearforge.twin_reader import read_frame_state
    from wearforge.stage import apply_frame

    apply_frame(stage, spec)
    state = read_frame_state(stage, renderer.meshes, spec.camera.path)
    return renderer.wear.stacks(spec, state)[0], state


def _compose(rows, path: Path, size: int, sampling: str = "") -> Path:
    label_w, gap, head = 150, 6, 34
    cols = len(rows[0][3]) + len(rows[0][4])
    width = label_w + cols * (size + gap) + (gap * 3 if rows[0][4] else 0)
    height = head + len(rows) * (size + gap)
    sheet = Image.new("RGB", (width, height), (18, 18, 18))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=12)
    draw.text((label_w, 8), f"flat swatches ({FIELD_MM:g} mm wide)", fill=(230, 230, 230), font=font)
    if rows[0][4]:
        draw.text((label_w + 3 * (size + gap) + gap * 3, 8),
                  f"close-ups (Mitsuba, {sampling}, ring + bar light, {FIELD_MM / size:.2f} mm/px)", fill=(230, 230, 230), font=font)
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
