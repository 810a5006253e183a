"""The second-order VJPs in specs/ against finite differences of the first-order VJP.

``second_vjp(Z, A, dA, g)`` is the gradient wrt ``Z`` of ``L(Z) = <g, vjp(Z, forward(Z), dA)>``
(the output depends on ``Z`` too). Here it is compared, entry by entry, with central
differences of ``L`` in float64. Independent of the harness's own checks (the second-order
specs the core builds from these functions are verified there): a plain numerical test, whose
tolerance comes from the step: truncation ``~ h^2 |L'''|`` plus round-off ``~ eps |L| / h``.

Deliberately wrong second derivatives (sigmoid'' with a sign error, softmax's second
derivative missing the term through the column sum) must be detected by the same test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness import REGISTRY, Spec
from specs import activations, activations_extra

H = 1e-5  # central-difference step: truncation ~1e-10 |L'''|, round-off ~1e-11 |L|
EPS = float(np.finfo(np.float64).eps)
# Where an elementwise g or g' is not smooth (kinks of g; jumps of g'' for ELU/CELU): the
# stencil must not straddle one.
BREAKS = (-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0)

SECOND: dict[str, Callable[..., Any]] = {**activations.SECOND_VJP, **activations_extra.SECOND_VJP}


def _inputs(spec: Spec, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z (away from every break by at least 100 steps), dA and g, of shape (5, 4)."""
    rng = np.random.default_rng(seed)
    Z = rng.uniform(-7.0, 7.0, size=(5, 4))
    if spec.structure == "elementwise":
        for b in BREAKS:
            near = np.abs(Z - b) < 100 * H
            Z[near] = b + np.copysign(0.5, Z[near] - b)
    return Z, rng.standard_normal(Z.shape), rng.standard_normal(Z.shape)


def second_order_error(
    spec: Spec, second_vjp: Callable[..., Any], Z: np.ndarray, dA: np.ndarray, g: np.ndarray
) -> float:
    """Largest |second_vjp - central differences of <g, vjp>| in units of the tolerance."""

    def L(Zp: np.ndarray) -> float:
        return float(np.sum(g * spec.vjp(Zp, spec.forward(Zp), dA)))

    got = second_vjp(Z, spec.forward(Z), dA, g)
    expected = np.empty_like(Z)
    for i in np.ndindex(Z.shape):
        E = np.zeros_like(Z)
        E[i] = H
        expected[i] = (L(Z + E) - L(Z - E)) / (2 * H)
    # |L| and |L'''| are bounded by sums of |g||dA| times derivatives of order <= 3 of the
    # activations here (each O(1) on [-7, 7]).
    scale = float(np.sum(np.abs(g) * np.abs(dA))) + 1.0
    tol = 10 * (H * H + EPS / H) * scale
    return float(np.max(np.abs(got - expected)) / tol)


NAMES = sorted(SECOND)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_second_vjp_matches_finite_differences_of_the_vjp(name, seed):
    spec = REGISTRY.get(name)
    Z, dA, g = _inputs(spec, seed)
    with np.errstate(all="raise", under="ignore"):
        assert second_order_error(spec, SECOND[name], Z, dA, g) <= 1.0


def test_every_seed_and_elementwise_activation_has_a_second_vjp():
    elementwise = {s.name for s in activations_extra.SPECS.values() if s.structure == "elementwise"}
    assert {"relu", "sigmoid", "tanh", "softmax"} | elementwise <= set(SECOND)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_second_vjp_keeps_the_dtype_and_stays_finite_at_extremes(name, dtype):
    spec = REGISTRY.get(name)
    big = min(1e308, float(np.finfo(dtype).max) / 4)
    Z = np.array([[big, -big, 0.0, -0.0], [800.0, -800.0, 50.0, -50.0], [17.0, -17.0, 1e-30, -3.0]])
    Z = np.clip(Z, -big, big).astype(dtype)
    ones = np.ones_like(Z)
    with np.errstate(all="raise", under="ignore"):
        out = SECOND[name](Z, spec.forward(Z), ones, ones)
    assert out.dtype == Z.dtype
    assert np.isfinite(out).all()


# -- deliberately wrong second derivatives: the test above must see them -----------------------
def _sigmoid_second_sign_error(Z, A, dA, g):
    return g * dA * A * (1 - A) * (2 * A - 1)


def _softmax_second_missing_sum_term(Z, A, dA, g):
    # Drops the dependence of c = sum(A dA) on Z (the -dA sum(g A) term of x).
    c = np.sum(A * dA, axis=0, keepdims=True)
    x = g * (dA - c)
    return A * (x - np.sum(A * x, axis=0, keepdims=True))


def _tanh_second_missing_factor_2(Z, A, dA, g):
    return g * dA * -A * (1 - A * A)


def _softplus_second_is_first(Z, A, dA, g):
    return g * dA * activations_extra.softplus_derivative(Z, A)


def _gelu_erf_second_wrong_sign_of_z2(Z, A, dA, g):
    return g * dA * activations_extra._phi(Z) * (2 + Z * Z)


def _log_softmax_second_zero(Z, A, dA, g):
    # As if log-softmax's VJP were linear in Z (it is not: s depends on Z).
    return np.zeros_like(Z)


WRONG_SECOND = {
    "sigmoid-second-sign-error": ("sigmoid", _sigmoid_second_sign_error),
    "softmax-second-missing-sum-term": ("softmax", _softmax_second_missing_sum_term),
    "tanh-second-missing-factor-2": ("tanh", _tanh_second_missing_factor_2),
    "softplus-second-is-the-first-derivative": ("softplus", _softplus_second_is_first),
    "gelu-erf-second-wrong-sign": ("gelu-erf", _gelu_erf_second_wrong_sign_of_z2),
    "log-softmax-second-zero": ("log-softmax", _log_softmax_second_zero),
}


@pytest.mark.parametrize("wrong", sorted(WRONG_SECOND))
def test_wrong_second_vjp_is_detected(wrong):
    name, fn = WRONG_SECOND[wrong]
    spec = REGISTRY.get(name)
    Z, dA, g = _inputs(spec, 0)
    with np.errstate(all="raise", under="ignore"):
        assert second_order_error(spec, fn, Z, dA, g) > 100.0
        # ...while the right one, on the same input, passes.
        assert second_order_error(spec, SECOND[name], Z, dA, g) <= 1.0
