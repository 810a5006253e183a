"""harness.domains: generated arrays stay inside their domain, edges are reached, bad
arguments are rejected with a message that says what is wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from harness.domains import (
    Domain,
    as_domain,
    binary,
    interval,
    one_hot,
    positive,
    real,
    room,
    simplex,
    stencil_room,
    step_limits,
)
from harness.errors import SpecError
from harness.finite_range import CODE, FUNCTION, finite_range

DTYPES = ("float64", "float32", "float16")
DOMAINS = {
    "real": real(),
    "interval01": interval(0, 1),
    "interval-neg": interval(-3.5, -1.25),
    "interval-half-open": interval(2.0, math.inf),
    "positive": positive(),
    "simplex0": simplex(axis=0),
    "simplex1": simplex(axis=1),
    "one_hot0": one_hot(axis=0),
    "binary": binary(),
}

shapes = st.tuples(st.integers(1, 5), st.integers(1, 4))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", sorted(DOMAINS))
def test_every_generated_array_is_inside_its_domain(key: str, dtype: str) -> None:
    dom = DOMAINS[key]

    @settings(max_examples=30, deadline=None, database=None)
    @given(data=st.data(), shape=shapes)
    def run(data: st.DataObject, shape: tuple[int, int]) -> None:
        a = data.draw(dom.strategy(shape, dtype))
        assert a.shape == shape
        assert a.dtype == np.dtype(dtype)
        assert np.all(np.isfinite(a))
        assert dom.contains(a), f"{dom.name} generated {a!r}"
        if not dom.discrete and not math.isinf(dom.lo):
            assert np.all(a.astype(np.float64) >= dom.lo)
        if not dom.discrete and key != "simplex0" and key != "simplex1":
            # open bounds: strictly inside
            x = a.astype(np.float64)
            assert np.all((x > dom.lo) & (x < dom.hi))

    run()


def _reached(dom: Domain, shape: tuple[int, int], dtype: str, pred, tries: int = 2000) -> bool:
    """Whether generation reaches an array satisfying ``pred`` (stops at the first)."""
    try:
        find(
            dom.strategy(shape, dtype),
            lambda a: bool(pred(a.astype(np.float64))),
            settings=settings(
                max_examples=tries, deadline=None, database=None, phases=[Phase.generate]
            ),
        )
    except NoSuchExample:
        return False
    return True


@pytest.mark.parametrize("dtype", DTYPES)
def test_interval_edges_are_approached_to_a_few_ulps(dtype: str) -> None:
    dt = np.dtype(dtype)
    dom = interval(0, 1)
    one = dt.type(1)
    lo1 = max(float(dt.type(1e-300)), float(np.finfo(dt).tiny))
    hi1 = float(np.nextafter(one, dt.type(0)))
    assert _reached(dom, (3, 2), dtype, lambda a: np.any(a == lo1))
    assert _reached(dom, (3, 2), dtype, lambda a: np.any(a == hi1))
    # a few ulps from the upper edge, not just the last one
    hi4 = float(np.nextafter(np.nextafter(np.nextafter(dt.type(hi1), 0), 0), 0))
    assert _reached(dom, (3, 2), dtype, lambda a: np.any(a == hi4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_positive_reaches_tiny_subnormal_and_huge(dtype: str) -> None:
    fi = np.finfo(dtype)
    dom = positive()
    small = float(dt(1e-300)) if (dt := np.dtype(dtype).type)(1e-300) > 0 else float(fi.tiny)
    assert _reached(dom, (2, 2), dtype, lambda a: np.any(a == small))
    assert _reached(dom, (2, 2), dtype, lambda a: np.any(a < float(fi.tiny)))
    assert _reached(dom, (2, 2), dtype, lambda a: np.any(a >= float(fi.max) / 4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_simplex_edges(dtype: str) -> None:
    dt = np.dtype(dtype)
    dom = simplex(axis=0)
    tiny = float(dt.type(1e-300)) or float(np.finfo(dt).tiny)
    below_one = float(np.nextafter(dt.type(1), dt.type(0)))
    assert _reached(dom, (3, 2), dtype, lambda a: np.any(a == tiny))
    assert _reached(dom, (3, 2), dtype, lambda a: np.any(a == below_one))
    # all classes equal
    assert _reached(dom, (4, 1), dtype, lambda a: np.all(a == a[0, 0]))
    # one-hot-like: one entry near 1 and tiny others
    assert _reached(
        dom, (3, 1), dtype, lambda a: a.max() == below_one and np.all(np.sort(a[:, 0])[:2] == tiny)
    )


def test_simplex_one_class_only_is_exactly_one() -> None:
    @settings(max_examples=20, deadline=None, database=None)
    @given(simplex(axis=0).strategy((1, 4), "float32"))
    def run(a: np.ndarray) -> None:
        assert np.all(a == 1)

    run()


def test_float64_simplex_reaches_1e_minus_300_and_1_minus_1e_minus_16() -> None:
    dom = simplex(axis=0)
    assert _reached(dom, (2, 3), "float64", lambda a: np.any(a == 1e-300))
    assert _reached(dom, (2, 3), "float64", lambda a: np.any(a == 1 - 1e-16))


def test_one_hot_one_class_everywhere_and_each_class() -> None:
    dom = one_hot(axis=0)
    assert _reached(dom, (3, 4), "float64", lambda a: np.all(a[0] == 1))
    assert _reached(dom, (3, 4), "float64", lambda a: np.all(a[2] == 1))
    assert _reached(dom, (3, 4), "float64", lambda a: len(set(np.argmax(a, axis=0))) > 1)
    assert dom.discrete and binary().discrete
    assert not simplex().discrete and not real().discrete


def test_binary_all_zeros_and_all_ones() -> None:
    dom = binary()
    assert _reached(dom, (2, 3), "float32", lambda a: np.all(a == 0))
    assert _reached(dom, (2, 3), "float32", lambda a: np.all(a == 1))


def test_real_reaches_zero_tiny_and_large() -> None:
    dom = real()
    assert _reached(dom, (3, 2), "float32", lambda a: np.any(a == 0))
    assert _reached(dom, (3, 2), "float32", lambda a: np.any((a != 0) & (abs(a) < 1e-9)))
    assert _reached(dom, (3, 2), "float32", lambda a: np.any(abs(a) >= 1e4))
    assert not _reached(dom, (3, 2), "float32", lambda a: np.any(abs(a) > 1e4), tries=300)


def test_contains() -> None:
    assert interval(0, 1).contains(np.array([0.5, 1e-300]))
    assert not interval(0, 1).contains(np.array([0.5, 1.0]))
    assert not interval(0, 1).contains(np.array([np.nan]))
    assert not real().contains(np.array([np.inf]))
    assert positive().contains(np.array([5e-324]))
    assert not positive().contains(np.array([0.0]))
    assert simplex(axis=0).contains(np.array([[0.25, 1.0], [0.75, 0.0]]))
    assert not simplex(axis=0).contains(np.array([[0.25, 1.0], [0.5, 0.0]]))
    assert simplex(axis=1).contains(np.array([[0.25, 0.75]]))
    assert one_hot(axis=0).contains(np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert not one_hot(axis=0).contains(np.array([[1.0, 1.0], [1.0, 0.0]]))
    assert binary().contains(np.array([[0.0, 1.0]]))
    assert not binary().contains(np.array([[0.5]]))


def test_room_and_step_limits() -> None:
    below, above = room(interval(0, 1), np.array([0.25, 1e-300, 0.999]))
    np.testing.assert_allclose(below, [0.25, 1e-300, 0.999])
    np.testing.assert_allclose(above, [0.75, 1.0, 0.001], rtol=1e-12)
    np.testing.assert_allclose(step_limits(interval(0, 1), np.array([0.25, 0.9])), [0.25, 0.1])
    assert np.all(np.isinf(step_limits(real(), np.zeros(3))))
    assert step_limits(positive(), np.array([3.0]))[0] == 3.0
    assert np.all(step_limits(binary(), np.ones(2)) == 0)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: interval(1, 0), "lower bound 1 is not below the upper bound 0"),
        (lambda: interval(1, 1), "not below"),
        (lambda: interval(float("nan"), 1), "NaN"),
        (lambda: interval("0", 1), "must be a real number"),
        (lambda: simplex(axis=1.5), "axis must be an int"),
        (lambda: one_hot(axis="0"), "axis must be an int"),
        (lambda: as_domain(3.0), "expected a harness.domains.Domain"),
        (lambda: real().strategy((2, 2), "int32"), "not supported"),
        (lambda: simplex(axis=2).strategy((2, 2), "float64"), "has no axis 2"),
        (lambda: interval(0, 1e-50).strategy((2,), "float16"), "no float16 value"),
    ],
)
def test_bad_arguments_are_rejected_with_a_clear_message(make, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        make()


def test_user_strategy_becomes_a_domain() -> None:
    def mine(shape, dtype):
        return st.just(np.full(shape, 2.0, dtype=dtype))

    dom = as_domain(mine)
    assert dom.name == "custom(mine)"
    assert math.isinf(dom.lo) and math.isinf(dom.hi)
    assert as_domain(dom) is dom


# -- per-dtype finite range (harness.finite_range) -------------------------------------------


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


def test_stencil_room_combines_kinks_domain_and_dtype_range() -> None:
    x = np.array([-3e-299, 0.0, 2.0, 0.9])
    below, above = stencil_room(x, real(), kinks=(0.0,))
    assert above[0] == 3e-299 and np.isinf(below[0])
    assert below[1] == 0.0 and above[1] == 0.0
    assert below[2] == 2.0 and np.isinf(above[2])
    below, above = stencil_room(np.array([0.9]), interval(0, 1), kinks=(0.5,))
    assert below[0] == pytest.approx(0.4) and above[0] == pytest.approx(0.1)
    fmax = float(np.finfo(np.float32).max)
    below, above = stencil_room(np.array([fmax / 2]), dtype_max=fmax)
    assert above[0] == pytest.approx(fmax / 2) and below[0] == pytest.approx(fmax * 1.5)
