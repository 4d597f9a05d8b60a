"""Defect types, one module each. A module exposes ``Params`` (a dataclass whose field metadata
documents every parameter), ``REGIONS`` (True when occurrences are connected regions of a noise
field, False when the kernel knows its discrete elements), optionally ``GEOMETRY = True`` (its height is
coarse relief a renderer may displace the mesh by, see ``build_stack(displace=...)``) and
``run(ctx, params, seed)``.
Lengths (fields with ``unit="mm"``) are given in millimetres and converted to the part's object units
with :func:`wearforge.wear.units.mm_to_object_units` before the kernel runs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from wearforge.wear.units import mm_to_object_units
from wearforge.wear.defects import (cracks, dents, dirt, discoloration, dust, edge_wear, oil, pitting, rust,
                                    scratches)

DEFECT_CLASSES = ("rust", "pitting", "scratches", "edge_wear", "dirt", "dust", "oil", "dents", "cracks",
                  "discoloration")
DEFECTS: dict[str, ModuleType] = {
    "rust": rust, "pitting": pitting, "scratches": scratches, "edge_wear": edge_wear, "dirt": dirt, "dust": dust,
    "oil": oil, "dents": dents, "cracks": cracks, "discoloration": discoloration,
}


# faces seen more obliquely than this (foreshortened more than about 3x) get no focused defects
FACING_DEGREES = 70.0


@dataclass
class Context:
    """Device structs plus host copies used to place discrete elements."""

    surface: object
    mat: object
    out: object
    res: int
    device: str
    cover: np.ndarray
    position: np.ndarray
    normal: np.ndarray
    bake: object = None  # the Bake (host arrays: convexity, cavity, ao) for kernels that place elements
    meters_per_unit: float = 1.0
    dpds: object = None  # device arrays of the bake's Jacobian, for kernels that march in texture space
    dpdt: object = None
    # where discrete defects are placed: (object-space centre, radius) or (centre, radius, eye), eye being
    # the camera's position in object space
    focus: tuple | None = None

    def in_focus(self, positions: np.ndarray, normals: np.ndarray | None = None) -> np.ndarray:
        """Which of ``positions`` lie where discrete defects may be placed (all without a focus): within the
        focus radius and, when the focus names the camera and ``normals`` are given, on faces that look at it
        (within FACING_DEGREES of the line of sight) when the focus holds any. A sheet's underside lies as
        close to the focus as its top, and a bore wall or cut edge seen edge-on shows a defect on a few
        foreshortened pixels; a focus the camera sees only edge-on keeps its defects rather than losing them."""
        if self.focus is None:
            return np.ones(len(positions), bool)
        centre, radius = self.focus[:2]
        near = np.linalg.norm(positions - np.asarray(centre, np.float32), axis=-1) <= radius
        if len(self.focus) > 2 and self.focus[2] is not None and normals is not None:
            eye = np.asarray(self.focus[2], np.float32)
            to_eye = eye - positions
            facing = np.einsum("ij,ij->i", np.asarray(normals, np.float32), to_eye)
            facing_near = near & (facing > np.cos(np.radians(FACING_DEGREES)) * np.linalg.norm(to_eye, axis=-1))
            if facing_near.any():
                return facing_near
        return near

    def surface_points(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` random points on the part (texels on a triangle, uniform in UV space), inside the focus
        when there is one and it holds any surface."""
        ys, xs = np.nonzero(self.cover == 1)
        near = self.in_focus(self.position[ys, xs], self.normal[ys, xs])
        if near.any():
            ys, xs = ys[near], xs[near]
        if len(ys) == 0 or count <= 0:
            return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32)
        pick = rng.integers(0, len(ys), size=count)
        return self.position[ys[pick], xs[pick]].astype(np.float32), self.normal[ys[pick], xs[pick]].astype(np.float32)


def param_names(defect: str) -> list[str]:
    return [f.name for f in dataclasses.fields(DEFECTS[defect].Params)]


def param_docs(defect: str) -> dict[str, tuple[float, str]]:
    """name -> (default, description) for docs and `wearforge textures`."""
    return {f.name: (f.default, f.metadata.get("doc", "")) for f in dataclasses.fields(DEFECTS[defect].Params)}


def param_units(defect: str) -> dict[str, str]:
    """name -> unit ("mm" for lengths, "" for dimensionless)."""
    return {f.name: f.metadata.get("unit", "") for f in dataclasses.fields(DEFECTS[defect].Params)}


def in_object_units(params, meters_per_unit: float = 1.0):
    """``params`` with every millimetre field converted to object units."""
    return dataclasses.replace(params, **{
        f.name: mm_to_object_units(getattr(params, f.name), meters_per_unit)
        for f in dataclasses.fields(params) if f.metadata.get("unit") == "mm"})


def make_params(defect: str, values: dict[str, float]):
    unknown = set(values) - set(param_names(defect))
    if unknown:
        raise ValueError(f"unknown {defect} parameter(s) {sorted(unknown)}; expected some of {param_names(defect)}")
    return DEFECTS[defect].Params(**{k: float(v) for k, v in values.items()})


def run_defect(defect: str, values: dict[str, float], seed: int, ctx: Context) -> None:
    params = in_object_units(make_params(defect, values), ctx.meters_per_unit)
    DEFECTS[defect].run(ctx, params, int(seed) & 0x7FFFFFFF)
