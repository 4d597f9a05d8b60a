"""Read a dataset in the BasicWriter layout frame by frame, lazily, and a folder of real photos.

Only what a frame's files hold is read, one frame at a time, so a report over 10,000 frames keeps
memory bounded. Files that other versions of the layout add or lack (an ignore mask
``defect_ignore_N.png``, severity columns in ``defect_instances_N.npy``) are used when present.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from wearforge.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_RGB = re.compile(r"^rgb_(\d+)\.png$")


def read_image(path: Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB (alpha dropped, grey expanded, 16-bit scaled)."""
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise InputError(f"cannot read image {path}")
    if data.dtype == np.uint16:
        data = (data >> 8).astype(np.uint8)
    if data.ndim == 2:
        data = np.repeat(data[..., None], 3, -1)
    if data.shape[2] == 4:
        data = data[..., :3]
    return np.ascontiguousarray(data[..., ::-1])


def _read_rgba(path: Path) -> np.ndarray:
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise InputError(f"cannot read image {path}")
    if data.ndim == 2:
        return data
    if data.shape[2] == 3:
        data = np.concatenate([data, np.full(data.shape[:2] + (1,), 255, data.dtype)], -1)
    return data[..., [2, 1, 0, 3]]


def pack_rgba(rgba: np.ndarray) -> np.ndarray:
    """RGBA uint8 -> one uint32 per pixel (for colour -> id lookups)."""
    r = rgba.astype(np.uint32)
    return (r[..., 0] << 24) | (r[..., 1] << 16) | (r[..., 2] << 8) | r[..., 3]


def _parse_key(key: str) -> tuple[int, ...]:
    return tuple(int(v) for v in key.strip("()").split(","))


@dataclass
class Frame:
    """One frame of a BasicWriter-layout dataset; every accessor reads its file on first use."""

    folder: Path
    index: int
    tag: str

    def path(self, stem: str, suffix: str) -> Path:
        return self.folder / f"{stem}_{self.tag}{suffix}"

    def _json(self, stem: str) -> Any:
        p = self.path(stem, ".json")
        return json.loads(p.read_text()) if p.is_file() else None

    def _npy(self, stem: str) -> np.ndarray | None:
        p = self.path(stem, ".npy")
        return np.load(p, allow_pickle=False) if p.is_file() else None

    def release(self) -> None:
        """Forget the labels read so far (a report over 10,000 frames keeps no frame's files in memory)."""
        for name in ("spec", "camera", "defects", "defect_labels"):
            self.__dict__.pop(name, None)

    def rgb(self) -> np.ndarray:
        return read_image(self.path("rgb", ".png"))

    @cached_property
    def spec(self) -> dict | None:
        return self._json("frame_spec")

    @cached_property
    def camera(self) -> dict | None:
        return self._json("camera_params")

    @cached_property
    def defects(self) -> np.ndarray | None:
        """Structured array, one row per defect instance (instanceId, semanticId, box, visiblePixels, ...)."""
        return self._npy("defect_instances")

    @cached_property
    def defect_labels(self) -> dict[str, dict]:
        return self._json("defect_instances_labels") or {}

    def defect_ids(self) -> np.ndarray | None:
        """uint32 image of defect instance ids (0 = none), decoded from the colourised PNG."""
        p = self.path("defect_instances", ".png")
        if not p.is_file() or self.defects is None:
            return None
        raw = _read_rgba(p)
        if raw.ndim == 2:  # written uncoloured: the ids themselves
            return raw.astype(np.uint32)
        from wearforge.writers.basic import id_color

        ids = [int(i) for i in self.defects["instanceId"]]
        packed = pack_rgba(raw).astype(np.uint64)
        if not ids:
            return np.zeros(packed.shape, np.uint32)
        # the writer colours instance i with id_color(i): invert that palette
        colours = pack_rgba(np.asarray([id_color(i) for i in ids], np.uint8)).astype(np.uint64)
        order = np.argsort(colours)
        keys, values = colours[order], np.asarray(ids, np.uint32)[order]
        pos = np.clip(np.searchsorted(keys, packed), 0, len(keys) - 1)
        hit = keys[pos] == packed
        return np.where(hit, values[pos], 0).astype(np.uint32)

    def ignore_mask(self) -> np.ndarray | None:
        """Pixels the labels mark as ignore (``defect_ignore_N.png``), when the dataset has them."""
        p = self.path("defect_ignore", ".png")
        if not p.is_file():
            return None
        raw = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if raw is None:
            return None
        return (raw.reshape(raw.shape[0], raw.shape[1], -1) > 0).any(-1)

    def depth(self) -> np.ndarray | None:
        """Distance to the image plane, metres (NaN/inf where nothing was hit)."""
        return self._npy("distance_to_image_plane")

    def normals(self) -> np.ndarray | None:
        """World-space unit normals HxWx3 decoded from normals_N.png, or None."""
        p = self.path("normals", ".png")
        if not p.is_file():
            return None
        raw = _read_rgba(p)
        if raw.ndim == 2:
            return None
        return raw[..., :3].astype(np.float32) / 127.5 - 1.0

    def part_boxes(self) -> tuple[np.ndarray | None, dict, list]:
        """Tight 2D part boxes with occlusion, their labels and prim paths."""
        return (self._npy("bounding_box_2d_tight"), self._json("bounding_box_2d_tight_labels") or {},
                self._json("bounding_box_2d_tight_prim_paths") or [])

    def part_boxes_3d(self) -> tuple[np.ndarray | None, dict]:
        return self._npy("bounding_box_3d"), self._json("bounding_box_3d_labels") or {}


class Dataset:
    """A folder written by the BasicWriter layout (``rgb_N.png`` + labels)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"dataset folder not found: {self.folder}")
        found = sorted((int(m.group(1)), m.group(1)) for p in self.folder.iterdir() if (m := _RGB.match(p.name)))
        if not found:
            raise InputError(f"no rgb_N.png frames in {self.folder} (expected the basic writer's layout)")
        self.frames = [Frame(self.folder, i, tag) for i, tag in found]

    @cached_property
    def manifest(self) -> dict:
        p = self.folder / "manifest.json"
        try:
            return json.loads(p.read_text()) if p.is_file() else {}
        except json.JSONDecodeError:
            return {}

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)


def real_images(folder: str | Path) -> list[Path]:
    """Image files under ``folder`` (recursively), sorted by path so runs are reproducible."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"folder of real photos not found: {folder}", field="--real")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if len(paths) < 2:
        raise InputError(f"need at least 2 real photos in {folder}, found {len(paths)}", field="--real")
    return paths
