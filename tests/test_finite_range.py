"""harness.finite_range: where a forward is finite per dtype, and whose overflow it is."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.finite_range import CODE, FUNCTION, finite_range


def softplus_naive(z):
    return np.log(1 + np.exp(z))


def softplus_stable(z):
    return np.logaddexp(0, z)


def test_exp_float32_overflows_because_the_value_does() -> None:
    fr = finite_range(np.exp, np.float32)
    assert fr.upper.limit == pytest.approx(88.72, abs=0.01)
    with np.errstate(over="ignore"):
        assert np.isfinite(np.exp(np.float32(fr.upper.limit)))
        assert not np.isfinite(np.exp(np.float32(fr.upper.first_bad)))
    assert fr.upper.cause == FUNCTION
    assert math.isinf(fr.lower.limit)  # exp(-t) underflows to 0, still finite
    msg = fr.message()
    assert "the forward overflows for z > 88.7" in msg and "float32" in msg


def test_naive_softplus_float32_overflows_in_the_code() -> None:
    fr = finite_range(softplus_naive, np.float32)
    assert fr.upper.limit == pytest.approx(88.72, abs=0.01)
    assert fr.upper.cause == CODE
    assert fr.upper.wide_value == pytest.approx(88.72, abs=0.01)
    assert "the code overflows, not the function" in fr.message()


def test_stable_softplus_is_finite_everywhere() -> None:
    fr = finite_range(softplus_stable, np.float32)
    assert math.isinf(fr.upper.limit) and math.isinf(fr.lower.limit)
    assert fr.message() == ""
    assert fr.max_abs_input == math.inf


def test_float64_exp_and_naive_softplus() -> None:
    e = finite_range(np.exp, np.float64)
    s = finite_range(softplus_naive, np.float64)
    assert e.upper.limit == pytest.approx(709.78, abs=0.01)
    assert s.upper.limit == pytest.approx(709.78, abs=0.01)
    if np.finfo(np.longdouble).max > np.finfo(np.float64).max:
        assert e.upper.cause == FUNCTION
        assert s.upper.cause == CODE


def test_columnwise_naive_softmax() -> None:
    def softmax_naive(Z):
        e = np.exp(Z)
        return e / e.sum(axis=0, keepdims=True)

    fr = finite_range(softmax_naive, np.float32, probe=[[1.0], [0.0]])
    assert fr.upper.limit == pytest.approx(88.72, abs=0.01)
    assert fr.upper.cause == CODE  # the float64 softmax is finite (1, 0)
    assert fr.upper.bad_value == "nan"
    assert math.isinf(fr.lower.limit)


def test_a_forward_that_raises_beyond_its_range() -> None:
    def guarded(z):
        if np.any(np.abs(z) > 100):
            raise ValueError("out of range")
        return z * 2

    fr = finite_range(guarded, np.float64)
    assert fr.upper.limit == 100.0 and fr.lower.limit == 100.0
    assert fr.upper.bad_value.startswith("raised ValueError")
    assert fr.contains(np.array([99.0, -100.0])) and not fr.contains(np.array([100.5]))


def test_cost_is_small() -> None:
    fr = finite_range(np.exp, np.float64)
    assert fr.evaluations < 200
