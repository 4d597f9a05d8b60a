"""The file layout of Replicator's BasicWriter, plus frame_spec_N.json, for standalone or Kit payloads.

Files per frame N (zero-padded): rgb_N.png, normals_N.png, distance_to_camera_N.npy,
distance_to_image_plane_N.npy, semantic_segmentation_N.png + semantic_segmentation_labels_N.json,
instance_segmentation_N.png + instance_segmentation_mapping_N.json +
instance_segmentation_semantics_mapping_N.json, bounding_box_2d_{tight,loose}_N.npy + _labels_N.json +
_prim_paths_N.json, bounding_box_3d_N.npy (+ labels, prim paths), camera_params_N.json,
frame_spec_N.json; metadata.txt once. wearforge adds defect_segmentation_N.png + _labels_N.json and
defect_instances_N.npy (one row per visible defect) + defect_instances_N.png (colourised occurrence mask)
+ defect_instances_mapping_N.json (colour -> class and part) + defect_instances_labels_N.json (id -> same)
+ defect_ignore_N.png + defect_ignore_labels_N.json (pixels to ignore in training and evaluation, by
defect class: invisible defect pixels, faint visible changes, instances below the minimum size).
Segmentation is colourised as BasicWriter does by default: RGBA PNGs whose label JSON is keyed by
"(r, g, b, a)". Only id 0 (BACKGROUND) is transparent black; every other id, 1 included, gets an opaque
colour whose RGB differs from black, so tools that drop alpha still tell it from the background.
"""

from __future__ import annotations

import colorsys
import json
from pathlib import Path
from typing import Any

import numpy as np

from wearforge import __version__
from wearforge.writers.base import DEFAULT_SHARD_FRAMES, FileWriter, atomic_write_bytes, encode_png, json_bytes, npy_bytes, per_render_product

ALL_ANNOTATORS = ("rgb", "normals", "distance_to_camera", "distance_to_image_plane", "semantic_segmentation",
                  "instance_segmentation", "bounding_box_2d_tight", "bounding_box_2d_loose", "bounding_box_3d",
                  "camera_params", "frame_spec", "defect_segmentation", "defect_instances")


def id_color(i: int) -> tuple[int, int, int, int]:
    """Stable, well-separated colour per id; 0 (BACKGROUND) transparent black, never black RGB otherwise."""
    if i == 0:
        return (0, 0, 0, 0)
    h = (i * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.75 if i % 2 else 0.95, 0.95 if i % 3 else 0.75)
    return (int(r * 255), int(g * 255), int(b * 255), 255)


def colorize(ids: np.ndarray) -> tuple[np.ndarray, dict[int, tuple[int, int, int, int]]]:
    """uint32 id image -> RGBA uint8 and the colour used for each present id."""
    present = np.unique(ids)
    palette = {int(i): id_color(int(i)) for i in present}
    lut_ids = np.asarray(sorted(palette), dtype=ids.dtype)
    colors = np.asarray([palette[int(i)] for i in lut_ids], np.uint8)
    return colors[np.searchsorted(lut_ids, ids)], palette


def color_key(c: tuple[int, int, int, int]) -> str:
    return f"({c[0]}, {c[1]}, {c[2]}, {c[3]})"


def colorize_normals(normals: np.ndarray) -> np.ndarray:
    rgb = ((np.clip(normals[..., :3], -1, 1) + 1.0) * 127.5).astype(np.uint8)
    alpha = np.where(normals[..., 3:4] > 0, 255, 0).astype(np.uint8)
    return np.concatenate([rgb, alpha], -1)


class BasicLayoutWriter(FileWriter):
    """Writes Replicator BasicWriter's files (names, dtypes, JSON shapes) so existing readers work."""

    name = "basic"

    def __init__(self, output_dir: str | Path, annotators: tuple[str, ...] = ALL_ANNOTATORS,
                 colorize_segmentation: bool = True, frame_padding: int = 4, workers: int = 2,
                 run_info: dict | None = None, shard_frames: int = DEFAULT_SHARD_FRAMES):
        super().__init__(output_dir, workers, run_info, shard_frames)
        self.annotators = set(annotators)
        self.colorize = colorize_segmentation
        self.padding = frame_padding
        atomic_write_bytes(self.output_dir / "metadata.txt", json_bytes({
            "writer": "BasicWriter layout (wearforge)", "wearforge_version": __version__,
            "annotators": sorted(self.annotators), "colorize_segmentation": self.colorize}))

    def write(self, data: dict) -> None:
        products = per_render_product(data)
        multi = len(products) > 1
        first = next(iter(products.values()))
        n = self.next_index(first)
        self._frame = n
        for rp, annos in products.items():
            prefix = f"{rp}/" if multi else ""
            tag = f"{n:0{self.padding}d}"
            for name, payload in annos.items():
                if name in self.annotators and payload is not None:
                    self._write_annotator(name, payload, f"{prefix}{{}}_{tag}")
        self._files.seal(n)

    def _submit(self, rel: str, make) -> None:
        self._files.submit(self.output_dir / rel, make, self._frame)

    def _write_annotator(self, name: str, payload: dict, pattern: str) -> None:
        stem = pattern.format(name)
        if name == "rgb":
            self._submit(f"{stem}.png", lambda d=payload["data"]: encode_png(d))
        elif name == "normals":
            self._submit(f"{stem}.png", lambda d=payload["data"]: encode_png(colorize_normals(d)))
        elif name in ("distance_to_camera", "distance_to_image_plane"):
            self._submit(f"{stem}.npy", lambda d=payload["data"]: npy_bytes(d))
        elif name == "semantic_segmentation":
            self._segmentation(payload, stem, {"idToLabels": pattern.format("semantic_segmentation_labels")})
        elif name == "instance_segmentation":
            self._segmentation(payload, stem, {"idToLabels": pattern.format("instance_segmentation_mapping"),
                                                     "idToSemantics": pattern.format("instance_segmentation_semantics_mapping")})
        elif name.startswith("bounding_box_"):
            self._submit(f"{stem}.npy", lambda d=payload["data"]: npy_bytes(d))
            labels = {str(k): v for k, v in payload.get("idToLabels", {}).items()}
            self._submit(f"{pattern.format(name + '_labels')}.json", lambda v=labels: json_bytes(v))
            paths = list(payload.get("primPaths", []))
            self._submit(f"{pattern.format(name + '_prim_paths')}.json", lambda v=paths: json_bytes(v))
        elif name == "camera_params":
            self._submit(f"{stem}.json", lambda v=dict(payload): json_bytes(v))
        elif name == "frame_spec":
            self._submit(f"{stem}.json", lambda v=payload["data"]: json_bytes(v))
        elif name == "defect_segmentation":
            self._segmentation(payload, stem, {"idToLabels": pattern.format("defect_segmentation_labels")})
            if payload.get("ignore") is not None:
                labels = {**payload.get("ignoreLabels", {}), "0": {"class": "none"}}
                self._segmentation({"data": payload["ignore"], "idToLabels": labels}, pattern.format("defect_ignore"),
                                   {"idToLabels": pattern.format("defect_ignore_labels")})
        elif name == "defect_instances":
            self._submit(f"{stem}.npy", lambda d=payload["data"]: npy_bytes(d))
            self._segmentation({"data": payload["mask"], "idToLabels": payload.get("idToLabels", {})}, stem,
                               {"idToLabels": pattern.format("defect_instances_mapping")})
            labels = dict(payload.get("idToLabels", {}))
            self._submit(f"{pattern.format('defect_instances_labels')}.json", lambda v=labels: json_bytes(v))

    def _segmentation(self, payload: dict, stem: str, mappings: dict[str, str]) -> None:
        ids = payload["data"]
        if self.colorize:
            image, palette = colorize(ids)
            key = lambda i: color_key(palette[int(i)]) if int(i) in palette else None  # noqa: E731
        else:
            if ids.max(initial=0) > 65535:
                raise ValueError("more than 65535 ids: enable colorize_segmentation")
            image, key = ids.astype(np.uint16), (lambda i: str(i))  # noqa: E731
        self._submit(f"{stem}.png", lambda d=image: encode_png(d))
        for field, rel in mappings.items():
            table = {key(k): v for k, v in payload.get(field, {}).items() if key(k) is not None}
            self._submit(f"{rel}.json", lambda v=table: json_bytes(v))


def read_labels(path: Path) -> dict[str, Any]:
    """Read a label/mapping JSON written by this writer (or by Replicator's BasicWriter)."""
    return json.loads(Path(path).read_text())
