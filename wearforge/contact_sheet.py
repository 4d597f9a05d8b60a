"""Contact sheet: the first frames with instance masks, defects, tight boxes and class names drawn on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from wearforge.writers.base import atomic_write_bytes, encode_png
from wearforge.writers.basic import id_color


def overlay(frame: dict, alpha: float = 0.45, skip_classes: tuple[str, ...] = ("table",)) -> Image.Image:
    """One frame's rgb with its labelled instances tinted, boxed and named."""
    rgb = frame["rgb"]["data"][..., :3].astype(np.float32)
    inst = frame["instance_segmentation"]
    ids = inst["data"]
    semantics = inst.get("idToSemantics", {})
    shown = {int(k) for k, v in semantics.items() if int(k) >= 2 and v.get("class") not in skip_classes}
    tint = np.zeros_like(rgb)
    mask = np.isin(ids, list(shown))
    for i in shown:
        tint[ids == i] = id_color(i)[:3]
    rgb[mask] = (1 - alpha) * rgb[mask] + alpha * tint[mask]
    defects = frame.get("defect_segmentation", {}).get("data")
    if defects is not None and defects.any():
        # defects on top, in their class colour, more opaque than the part tint
        for cls in np.unique(defects[defects > 0]):
            sel = defects == cls
            rgb[sel] = 0.25 * rgb[sel] + 0.75 * np.array(id_color(int(cls) * 7)[:3], np.float32)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(11, image.width // 45))
    boxes = frame["bounding_box_2d_tight"]
    labels = boxes.get("idToLabels", {})
    for row, inst_id in zip(boxes["data"], boxes.get("bboxIds", [])):
        if int(inst_id) not in shown:
            continue
        color = id_color(int(inst_id))[:3]
        x0, y0, x1, y1 = int(row["x_min"]), int(row["y_min"]), int(row["x_max"]), int(row["y_max"])
        draw.rectangle([x0, y0, x1, y1], outline=color, width=2)
        name = labels.get(str(int(row["semanticId"])), {}).get("class", "?")
        text = f"{name} {100 * (1 - float(row['occlusionRatio'])):.0f}%"
        tx, ty = x0 + 2, max(0, y0 - font.size - 4)
        bbox = draw.textbbox((tx, ty), text, font=font)
        draw.rectangle(bbox, fill=(0, 0, 0))
        draw.text((tx, ty), text, fill=color, font=font)
    index = frame.get("frame_spec", {}).get("data", {}).get("index")
    if index is not None:
        draw.text((6, 4), f"frame {index}", fill=(255, 255, 255), font=font, stroke_width=2, stroke_fill=(0, 0, 0))
    return image


def contact_sheet(frames: list[dict], path: Path, columns: int = 4, tile_width: int = 480) -> Path:
    """Tile overlays of ``frames`` into one PNG at ``path``."""
    tiles = [overlay(f) for f in frames]
    if not tiles:
        raise ValueError("no frames for the contact sheet")
    scale = tile_width / tiles[0].width
    size = (tile_width, int(round(tiles[0].height * scale)))
    tiles = [t.resize(size, Image.Resampling.LANCZOS) for t in tiles]
    columns = min(columns, len(tiles))
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * size[0] + (columns + 1) * 4, rows * size[1] + (rows + 1) * 4), (24, 24, 24))
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        sheet.paste(tile, (4 + c * (size[0] + 4), 4 + r * (size[1] + 4)))
    atomic_write_bytes(Path(path), encode_png(np.asarray(sheet)))
    return Path(path)
