"""Contact sheet: the first frames with instance masks, defects, tight boxes and class names drawn on them.

``ContactSheetWriter`` commits one overlay tile per frame among the first N indices with its shard, and
``contact_sheet.png`` is assembled from the committed tiles of frames 0..N-1: after a kill and a rerun, or
with many workers, it shows the same frames in the same places.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from wearforge.writers.base import (DEFAULT_SHARD_FRAMES, FileWriter, atomic_write_bytes, encode_png, member_bytes,
                                    per_render_product)
from wearforge.writers.basic import id_color

# one well-separated colour per defect class, so the legend can be read at a glance
DEFECT_COLORS = {"rust": (255, 110, 0), "pitting": (60, 90, 255), "scratches": (255, 255, 255),
                 "edge_wear": (0, 230, 230), "dirt": (150, 95, 40), "dust": (255, 0, 200), "oil": (255, 220, 0),
                 "dents": (0, 255, 80), "cracks": (230, 0, 0), "discoloration": (160, 60, 255)}


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
        names = frame["defect_segmentation"].get("idToLabels", {})
        for cls in np.unique(defects[defects > 0]):
            sel = defects == cls
            colour = DEFECT_COLORS.get(names.get(str(int(cls)), {}).get("class"), id_color(int(cls))[:3])
            rgb[sel] = 0.25 * rgb[sel] + 0.75 * np.array(colour, np.float32)
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
    if not frames:
        raise ValueError("no frames for the contact sheet")
    return compose([overlay(f) for f in frames], _defect_legend(frames), path, columns, tile_width)


def compose(tiles: list[Image.Image], legend: list[tuple[int, str]], path: Path, columns: int = 4,
            tile_width: int = 480) -> Path:
    """Tile overlay images (in order) with a legend of defect classes into one PNG at ``path``."""
    scale = tile_width / tiles[0].width
    size = (tile_width, int(round(tiles[0].height * scale)))
    tiles = [t.resize(size, Image.Resampling.LANCZOS) for t in tiles]
    columns = min(columns, len(tiles))
    rows = (len(tiles) + columns - 1) // columns
    legend_h = 28 if legend else 0
    width = columns * size[0] + (columns + 1) * 4
    sheet = Image.new("RGB", (width, rows * size[1] + (rows + 1) * 4 + legend_h), (24, 24, 24))
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        sheet.paste(tile, (4 + c * (size[0] + 4), 4 + r * (size[1] + 4)))
    if legend:
        draw = ImageDraw.Draw(sheet)
        font = ImageFont.load_default(size=14)
        x, y = 8, sheet.height - legend_h + 6
        draw.text((x, y), "defects:", fill=(220, 220, 220), font=font)
        x += 70
        for semantic_id, name in legend:
            draw.rectangle([x, y + 2, x + 14, y + 16], fill=DEFECT_COLORS.get(name, id_color(semantic_id)[:3]))
            draw.text((x + 20, y), name, fill=(220, 220, 220), font=font)
            x += 30 + int(draw.textlength(name, font=font))
    atomic_write_bytes(Path(path), encode_png(np.asarray(sheet)))
    return Path(path)


class ContactSheetWriter(FileWriter):
    """Writes ``contact_sheet.png`` at the dataset root from the frames with index < ``count``."""

    name = "contact_sheet"
    manifest = False  # the root's manifest.json belongs to the BasicWriter layout

    def __init__(self, output_dir: str | Path, count: int = 8, workers: int = 1, run_info: dict | None = None,
                 shard_frames: int = DEFAULT_SHARD_FRAMES):
        super().__init__(output_dir, workers, run_info, shard_frames)
        self.count = count

    def settings(self) -> dict:
        return {"count": self.count}

    def wants(self, index: int) -> bool:
        return index < self.count

    def write(self, data: dict) -> None:
        annos = next(iter(per_render_product(data).values()))
        index = self.next_index(annos)
        if not self.wants(index):
            return
        self._files.run(lambda: self._tile(index, annos), index)
        self._files.seal(index)

    def _tile(self, index: int, annos: dict) -> None:
        self.set_record(index, {"defects": {str(k): v for k, v in _defect_legend([annos])}})
        self.add_members(index, {f"tile_{index:06d}.png": encode_png(np.asarray(overlay(annos)))})

    @classmethod
    def _assemble(cls, folder: Path, records: dict[int, dict], parts, settings: dict, run_info: dict) -> None:
        import cv2

        count = int(settings.get("count", 8))
        frames = [i for i in sorted(records) if i < count]
        path = Path(folder) / "contact_sheet.png"
        if not frames:
            return
        members = member_bytes(parts, records, frames)
        tiles = []
        for i in frames:
            bgr = cv2.imdecode(np.frombuffer(members[i][0][1], np.uint8), cv2.IMREAD_COLOR)
            tiles.append(Image.fromarray(bgr[..., ::-1].copy()))
        legend = sorted({(int(k), v) for i in frames for k, v in records[i].get("defects", {}).items()})
        compose(tiles, legend, path)


def _defect_legend(frames: list[dict]) -> list[tuple[int, str]]:
    """(semantic id, class) of every defect class shown on the sheet, in id order."""
    seen = {}
    for frame in frames:
        labels = frame.get("defect_segmentation", {}).get("idToLabels", {})
        for key, value in labels.items():
            if int(key) > 0:
                seen[int(key)] = value["class"]
    return sorted(seen.items())
