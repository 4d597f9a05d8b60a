import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from wearforge.distributions import Choice, Constant, Distribution, PerAxis, Scalar, Sequence, Uniform, Vec3, sample

D = TypeAdapter(Distribution)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_short_spellings_parse_to_the_right_kinds():
    assert isinstance(D.validate_python(3), Constant)
    assert isinstance(D.validate_python([1, 2, 3]), Constant)
    assert isinstance(D.validate_python({"uniform": [0, 1]}), Uniform)
    assert isinstance(D.validate_python({"choice": ["a", "b"], "weights": [1, 3]}), Choice)
    assert isinstance(D.validate_python({"sequence": [1, 2]}), Sequence)
    assert isinstance(D.validate_python([0, {"uniform": [0, 360]}, 0]), PerAxis)


def test_uniform_stays_in_bounds_per_component():
    d = D.validate_python({"uniform": {"lower": [0, 10, -5], "upper": [1, 20, -5]}})
    values = np.array([sample(d, rng(i)) for i in range(200)])
    assert values.shape == (200, 3)
    assert values[:, 0].min() >= 0 and values[:, 0].max() <= 1
    assert values[:, 1].min() >= 10 and values[:, 1].max() <= 20
    assert np.all(values[:, 2] == -5)


def test_normal_mean_std_and_clipping():
    d = D.validate_python({"normal": {"mean": 5, "std": 2, "lower": 4, "upper": 6}})
    values = np.array([sample(d, rng(i)) for i in range(500)])
    assert values.min() >= 4 and values.max() <= 6
    free = D.validate_python({"normal": [5, 2]})
    values = np.array([sample(free, np.random.default_rng(7)) for _ in range(1)] +
                      list(np.random.default_rng(7).normal(5, 2, 2000)))
    assert abs(values.mean() - 5) < 0.2


def test_choice_respects_weights():
    d = D.validate_python({"choice": {"items": ["rare", "common"], "weights": [1, 9]}})
    g = rng(3)
    draws = [sample(d, g) for _ in range(2000)]
    assert 0.85 < draws.count("common") / 2000 < 0.95


def test_sequence_follows_frame_index():
    d = D.validate_python({"sequence": [10, 20, 30]})
    assert [sample(d, rng(), i) for i in range(5)] == [10, 20, 30, 10, 20]


def test_per_axis_samples_each_axis():
    d = D.validate_python([1.5, {"uniform": [0, 1]}, {"choice": [7, 8]}])
    v = sample(d, rng())
    assert v[0] == 1.5 and 0 <= v[1] <= 1 and v[2] in (7, 8)


@pytest.mark.parametrize("raw, message", [
    ({"uniform": [5, 1]}, "must not exceed"),
    ({"uniform": {"lower": [0, 0], "upper": [1]}}, "components"),
    ({"normal": [0, -1]}, ">= 0"),
    ({"choice": {"items": [1, 2], "weights": [1]}}, "weights"),
    ({"gaussian": [0, 1]}, "unknown distribution"),
    ({"uniform": [1, 2, 3]}, "two values"),
])
def test_bad_distributions_are_rejected(raw, message):
    with pytest.raises(ValidationError, match=message):
        D.validate_python(raw)


def test_dimension_checks():
    TypeAdapter(Vec3).validate_python([1, 2, 3])
    with pytest.raises(ValidationError, match="3 numbers"):
        TypeAdapter(Vec3).validate_python({"uniform": [0, 1]})
    with pytest.raises(ValidationError, match="a number"):
        TypeAdapter(Scalar).validate_python([1, 2])
