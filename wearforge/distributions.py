"""Distributions named like Replicator's (constant, uniform, normal, choice, sequence).

In a recipe a value is written as
  - a plain number, string or list            -> constant
  - ``{uniform: [lower, upper]}`` or ``{uniform: {lower: .., upper: ..}}``
  - ``{normal: [mean, std]}`` or ``{normal: {mean: .., std: ..}}``
  - ``{choice: [a, b, c]}`` or ``{choice: {items: [..], weights: [..]}}``
  - ``{sequence: [a, b, c]}``                 -> items[frame_index % len(items)]
  - a list that contains any of the above     -> one distribution per axis
Vectors use lists for lower/upper/mean/std. Sampling is a pure function of (distribution, rng, index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

Number = float
Vector = list[float]


def _as_array(value: float | list[float]) -> np.ndarray:
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _finite(self) -> "_Dist":
        for name in type(self).model_fields:
            if not _all_finite(getattr(self, name)):
                raise ValueError(f"{name}: NaN and infinite values are not allowed")
        return self

    def dim(self) -> int | None:
        """Length of a sampled vector, 1 for scalars, None when values are not numeric."""
        raise NotImplementedError


class Constant(_Dist):
    """Always the same value."""

    kind: Literal["constant"] = "constant"
    value: Any = Field(description="The value returned for every frame.")

    def dim(self) -> int | None:
        return _value_dim(self.value)


class Uniform(_Dist):
    """Uniform on [lower, upper] (per component for vectors)."""

    kind: Literal["uniform"] = "uniform"
    lower: Number | Vector = Field(description="Inclusive lower bound (scalar or vector).")
    upper: Number | Vector = Field(description="Upper bound, >= lower in every component.")

    @model_validator(mode="after")
    def _ordered(self) -> "Uniform":
        lo, hi = _as_array(self.lower), _as_array(self.upper)
        if lo.shape != hi.shape:
            raise ValueError(f"lower has {lo.size} components but upper has {hi.size}")
        if np.any(lo > hi):
            raise ValueError(f"lower {self.lower} must not exceed upper {self.upper}")
        return self

    def dim(self) -> int | None:
        return _as_array(self.lower).size


class Normal(_Dist):
    """Gaussian with mean and standard deviation, optionally clipped to [lower, upper]."""

    kind: Literal["normal"] = "normal"
    mean: Number | Vector = Field(description="Mean (scalar or vector).")
    std: Number | Vector = Field(description="Standard deviation, >= 0.")
    lower: Number | Vector | None = Field(default=None, description="Optional clip below.")
    upper: Number | Vector | None = Field(default=None, description="Optional clip above.")

    @model_validator(mode="after")
    def _valid(self) -> "Normal":
        mean, std = _as_array(self.mean), _as_array(self.std)
        if std.size not in (1, mean.size):
            raise ValueError(f"std has {std.size} components but mean has {mean.size}")
        if np.any(std < 0):
            raise ValueError(f"std {self.std} must be >= 0")
        if self.lower is not None and self.upper is not None and np.any(
            _as_array(self.lower) > _as_array(self.upper)
        ):
            raise ValueError(f"lower {self.lower} must not exceed upper {self.upper}")
        return self

    def dim(self) -> int | None:
        return _as_array(self.mean).size


class Choice(_Dist):
    """One of ``items``, with optional ``weights`` (normalised)."""

    kind: Literal["choice"] = "choice"
    items: list[Any] = Field(min_length=1, description="Candidates (numbers, vectors or names).")
    weights: list[float] | None = Field(default=None, description="Relative weights, >= 0, same length.")

    @model_validator(mode="after")
    def _weights(self) -> "Choice":
        if self.weights is not None:
            if len(self.weights) != len(self.items):
                raise ValueError(f"{len(self.weights)} weights for {len(self.items)} items")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 and sum to more than 0")
        return self

    def dim(self) -> int | None:
        dims = {_value_dim(v) for v in self.items}
        return dims.pop() if len(dims) == 1 else None


class Sequence(_Dist):
    """``items[frame_index % len(items)]``: sweeps, in order."""

    kind: Literal["sequence"] = "sequence"
    items: list[Any] = Field(min_length=1, description="Values taken in turn, one per frame.")

    def dim(self) -> int | None:
        dims = {_value_dim(v) for v in self.items}
        return dims.pop() if len(dims) == 1 else None


class PerAxis(_Dist):
    """A vector whose components each have their own distribution."""

    kind: Literal["per_axis"] = "per_axis"
    axes: list["Distribution"] = Field(min_length=1, description="One distribution per component.")

    @model_validator(mode="after")
    def _scalars(self) -> "PerAxis":
        for i, axis in enumerate(self.axes):
            if axis.dim() not in (1, None) or isinstance(axis, PerAxis):
                raise ValueError(f"axis {i} must be a scalar distribution")
        return self

    def dim(self) -> int | None:
        return len(self.axes)


def _all_finite(value: Any) -> bool:
    if isinstance(value, bool) or isinstance(value, (str, _Dist)) or value is None:
        return True
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_all_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    return True


def _value_dim(value: Any) -> int | None:
    if isinstance(value, bool) or isinstance(value, str):
        return None
    if isinstance(value, (int, float)):
        return 1
    if isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        return len(value)
    return None


_KINDS = {"constant", "uniform", "normal", "choice", "sequence", "per_axis"}
_POSITIONAL = {"uniform": ("lower", "upper"), "normal": ("mean", "std")}


def _normalize(raw: Any) -> Any:
    """Turn the short YAML spellings into tagged dicts pydantic can discriminate."""
    if isinstance(raw, _Dist):
        return raw
    if isinstance(raw, dict):
        if "kind" in raw:
            return raw
        if len(raw) == 1 or (len(raw) == 2 and "weights" in raw):
            (name,) = [k for k in raw if k != "weights"]
            if name not in _KINDS:
                raise ValueError(
                    f"unknown distribution '{name}'; expected one of constant, uniform, normal, choice, sequence"
                )
            body = raw[name]
            if name in _POSITIONAL and isinstance(body, (list, tuple)):
                if len(body) != 2:
                    raise ValueError(f"{name} takes two values {list(_POSITIONAL[name])}, got {len(body)}")
                body = dict(zip(_POSITIONAL[name], body))
            elif name in ("choice", "sequence") and isinstance(body, (list, tuple)):
                body = {"items": list(body)}
                if "weights" in raw:
                    body["weights"] = raw["weights"]
            elif name == "constant" and not isinstance(body, dict):
                body = {"value": body}
            if not isinstance(body, dict):
                raise ValueError(f"{name} expects a list or a mapping, got {body!r}")
            return {"kind": name, **body}
        raise ValueError(
            "a distribution is a value or one of {uniform: ..}, {normal: ..}, {choice: ..}, {sequence: ..}"
        )
    if isinstance(raw, (list, tuple)) and any(isinstance(v, dict) for v in raw):
        return {"kind": "per_axis", "axes": list(raw)}
    return {"kind": "constant", "value": raw}


Distribution = Annotated[
    Union[Constant, Uniform, Normal, Choice, Sequence, PerAxis],
    Field(discriminator="kind"),
    BeforeValidator(_normalize),
]
PerAxis.model_rebuild()


def _dim_check(expected: int):
    def check(dist: _Dist) -> _Dist:
        dim = dist.dim()
        if dim != expected:
            what = "a number" if expected == 1 else f"{expected} numbers"
            got = "non-numeric values" if dim is None else f"{dim} component(s)"
            raise ValueError(f"expected {what} per sample, got {got}")
        return dist

    return check


def _name_check(dist: _Dist) -> _Dist:
    values = [dist.value] if isinstance(dist, Constant) else getattr(dist, "items", None)
    if values is None or not all(isinstance(v, str) for v in values):
        raise ValueError("expected a name or a choice/sequence of names")
    return dist


Scalar = Annotated[Distribution, AfterValidator(_dim_check(1))]
"""A distribution whose samples are single numbers."""
Vec3 = Annotated[Distribution, AfterValidator(_dim_check(3))]
"""A distribution whose samples are 3-vectors."""
Name = Annotated[Distribution, AfterValidator(_name_check)]
"""A distribution whose samples are names (presets, light types, files)."""


def support(dist: _Dist) -> tuple[np.ndarray, np.ndarray] | None:
    """Smallest and largest value any sample can take, per component; None for names."""
    if isinstance(dist, PerAxis):
        parts = [support(axis) for axis in dist.axes]
        if any(p is None for p in parts):
            return None
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    if isinstance(dist, Uniform):
        return _as_array(dist.lower), _as_array(dist.upper)
    if isinstance(dist, Normal):
        shape = _as_array(dist.mean).shape
        lo = np.full(shape, -np.inf) if dist.lower is None else np.broadcast_to(_as_array(dist.lower), shape)
        hi = np.full(shape, np.inf) if dist.upper is None else np.broadcast_to(_as_array(dist.upper), shape)
        return np.asarray(lo, float), np.asarray(hi, float)
    values = [dist.value] if isinstance(dist, Constant) else list(dist.items)
    if any(_value_dim(v) is None for v in values):
        return None
    arr = np.array([_as_array(v) for v in values], dtype=np.float64)
    return arr.min(axis=0), arr.max(axis=0)


@dataclass(frozen=True)
class Range:
    """Allowed values of a recipe field: a closed interval, optionally excluding zero.

    Used as ``Annotated[Scalar | None, Range(0, 1)]``: every value a distribution can draw must lie
    inside; a normal distribution without its own clip is clipped to the range.
    """

    lo: float = -math.inf
    hi: float = math.inf
    nonzero: bool = False

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, _Dist):  # None, or a plain float already bounded by pydantic
            return value
        if isinstance(value, PerAxis):  # each axis clipped and checked on its own
            return value.model_copy(update={"axes": [self(axis) for axis in value.axes]})
        if isinstance(value, Normal) and (value.lower is None or value.upper is None):
            if self.nonzero:
                raise ValueError("a normal distribution can cross zero here; give lower and upper clips of one sign")
            update = {}
            if value.lower is None and math.isfinite(self.lo):
                update["lower"] = self.lo
            if value.upper is None and math.isfinite(self.hi):
                update["upper"] = self.hi
            value = value.model_copy(update=update)
        bounds = support(value)
        if bounds is None:
            return value
        lo, hi = bounds
        if np.any(lo < self.lo) or np.any(hi > self.hi):
            raise ValueError(f"values must lie in {self.text()}, got [{_fmt(lo.min())}, {_fmt(hi.max())}]")
        if self.nonzero and np.any((lo <= 0) & (hi >= 0)):
            raise ValueError("values must not be zero (nor a range that contains zero)")
        return value

    def text(self) -> str:
        """The range as docs show it, e.g. [0, 1] or >= 0."""
        nz = ", not 0" if self.nonzero else ""
        if math.isfinite(self.lo) and math.isfinite(self.hi):
            return f"[{_fmt(self.lo)}, {_fmt(self.hi)}]{nz}"
        if math.isfinite(self.lo):
            return f">= {_fmt(self.lo)}{nz}"
        if math.isfinite(self.hi):
            return f"<= {_fmt(self.hi)}{nz}"
        return "finite" + nz


def _fmt(x: float) -> str:
    return f"{float(x):g}"


def ranged(lo: float = -math.inf, hi: float = math.inf, nonzero: bool = False) -> AfterValidator:
    """An AfterValidator holding a Range (docs/generate.py reads it back for the reference)."""
    return AfterValidator(Range(float(lo), float(hi), nonzero))


def sample(dist: _Dist, rng: np.random.Generator, index: int = 0) -> Any:
    """Draw one value. Pure: the result depends only on the arguments (and the rng's state)."""
    if isinstance(dist, Constant):
        return _plain(dist.value)
    if isinstance(dist, Uniform):
        lo, hi = _as_array(dist.lower), _as_array(dist.upper)
        return _shape_like(rng.uniform(lo, hi), dist.lower)
    if isinstance(dist, Normal):
        mean, std = _as_array(dist.mean), _as_array(dist.std)
        value = rng.normal(mean, np.broadcast_to(std, mean.shape))
        if dist.lower is not None or dist.upper is not None:
            lo = -np.inf if dist.lower is None else _as_array(dist.lower)
            hi = np.inf if dist.upper is None else _as_array(dist.upper)
            value = np.clip(value, lo, hi)
        return _shape_like(value, dist.mean)
    if isinstance(dist, Choice):
        p = None
        if dist.weights is not None:
            w = np.asarray(dist.weights, dtype=np.float64)
            p = w / w.sum()
        return _plain(dist.items[int(rng.choice(len(dist.items), p=p))])
    if isinstance(dist, Sequence):
        return _plain(dist.items[index % len(dist.items)])
    if isinstance(dist, PerAxis):
        return [float(sample(axis, rng, index)) for axis in dist.axes]
    raise TypeError(f"not a distribution: {dist!r}")


def _shape_like(values: np.ndarray, template: Any) -> float | list[float]:
    if isinstance(template, (list, tuple)):
        return [float(v) for v in values]
    return float(values[0])


def _plain(value: Any) -> Any:
    """Numbers as float/int, sequences as lists: JSON-ready and identical across runs."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def constant(value: Any) -> Constant:
    """A Constant distribution (convenient for defaults)."""
    return Constant(value=value)
