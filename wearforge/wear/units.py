"""Defect parameters are given in millimetres; kernels work in the part's object units."""

from __future__ import annotations


def mm_to_object_units(millimetres: float, meters_per_unit: float = 1.0) -> float:
    """``millimetres`` as a length in object units of a stage with ``meters_per_unit`` (USD metersPerUnit).

    The bundled twins are metre-scale (``meters_per_unit = 1``); a centimetre stage passes 0.01.
    """
    if meters_per_unit <= 0:
        raise ValueError(f"meters_per_unit must be > 0, got {meters_per_unit}")
    return float(millimetres) * 1.0e-3 / float(meters_per_unit)
