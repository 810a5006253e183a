"""The activations beyond the seed's four (specs/activations_extra.py).

Every one passes ``harness.verify`` in each dtype it declares; its kinks are where the
one-sided derivatives differ and nowhere else; it stays finite, silent and right at the
extremes of its dtype; it computes the textbook function; wrong versions of it fail
(tests/wrong_activations.py). Cases where a correct implementation fails because of today's
error model are pinned as strict xfails, so that they flip when the engine is fixed.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.special
from wrong_activations import WRONG

import harness
from harness import REGISTRY
from harness.errors import SpecError
from specs import activations_extra as ext

NAMES = ext.NAMES
ELEMENTWISE = [n for n in NAMES if ext.SPECS[n].structure == "elementwise"]
RUNS = [pytest.param(n, dt, id=f"{n}-{dt}") for n in NAMES for dt in ext.SPECS[n].dtypes]


# -- verified --------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "dtype"), RUNS)
def test_new_activation_passes_quick_profile(name, dtype):
    result = harness.verify(name, dtype=dtype, seed=3, database=None)
    assert result.passed, result.summary()
    ran = {c.check for c in result.checks if c.status == "pass"}
    assert {"vjp_directional", "jvp_directional", "adjoint", "jacobian", "hygiene"} <= ran


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_formula_docstrings_and_all_dtypes(name):
    spec = REGISTRY.get(name)
    assert spec is ext.SPECS[name]
    assert spec.dtypes == ("float64", "float32", "float16")
    assert spec.formula and spec.description
    assert spec.structure == ("columnwise" if name in ("log-softmax", "softmin") else "elementwise")
    for fn in (spec.forward, spec.vjp, spec.jvp, ext.SECOND_VJP[name]):
        assert fn.__doc__ and len(fn.__doc__) > 40, fn


# -- kinks -------------------------------------------------------------------------------------
# By reasoning: a kink is a point where g is continuous and its one-sided derivatives differ.
KINKS = {
    "leaky-relu": (0.0,),  # slopes 0.01 | 1
    "elu": (),  # alpha = 1: slopes exp(0) = 1 | 1 (g'' jumps, g' does not)
    "selu": (0.0,),  # slopes scale * alpha = 1.758 | scale = 1.051
    "celu": (),  # slopes exp(0 / alpha) = 1 | 1 for every alpha
    "gelu-erf": (),
    "gelu-tanh": (),
    "softplus": (),
    "silu": (),
    "mish": (),
    "hardtanh": (-1.0, 1.0),  # slopes 0 | 1 | 0
    "hardsigmoid": (-3.0, 3.0),  # slopes 0 | 1/6 | 0
    "hardswish": (-3.0, 3.0),  # slopes 0 | -1/2 ... 3/2 | 1
    "relu6": (0.0, 6.0),  # slopes 0 | 1 | 0
}
CANDIDATES = sorted({0.0, 6.0, -6.0} | {k for ks in KINKS.values() for k in ks})


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_kinks_are_declared_exactly_where_the_one_sided_derivatives_differ(name):
    spec = REGISTRY.get(name)
    assert spec.kinks == KINKS[name]
    h = 1e-7
    for c in CANDIDATES:
        z = np.array([[c - h, c, c + h]])
        f = spec.forward(z)[0]
        assert abs(f[2] - f[0]) < 1e-5  # continuous
        left, right = (f[1] - f[0]) / h, (f[2] - f[1]) / h
        assert (abs(left - right) > 1e-3) == (c in spec.kinks), (c, left, right)
        if c in spec.kinks:  # the derivative returned there is a subgradient
            d = spec.vjp(z, spec.forward(z), np.ones_like(z))[0, 1]
            assert min(left, right) - 1e-6 <= d <= max(left, right) + 1e-6


# -- stable forms at the extremes of each dtype --------------------------------------------------
S, SA = ext.SELU_SCALE, ext.SELU_SCALE * ext.SELU_ALPHA
# (g(z) for z -> +inf, g(z) for z -> -inf, g'(+inf), g'(-inf)), as functions of z.
LIMITS = {
    "leaky-relu": (lambda z: z, lambda z: 0.01 * z, 1.0, 0.01),
    "elu": (lambda z: z, lambda z: -1.0, 1.0, 0.0),
    "selu": (lambda z: S * z, lambda z: -SA, S, 0.0),
    "celu": (lambda z: z, lambda z: -1.0, 1.0, 0.0),
    "gelu-erf": (lambda z: z, lambda z: 0.0, 1.0, 0.0),
    "gelu-tanh": (lambda z: z, lambda z: 0.0, 1.0, 0.0),
    "softplus": (lambda z: z, lambda z: 0.0, 1.0, 0.0),
    "silu": (lambda z: z, lambda z: 0.0, 1.0, 0.0),
    "mish": (lambda z: z, lambda z: 0.0, 1.0, 0.0),
    "hardtanh": (lambda z: 1.0, lambda z: -1.0, 0.0, 0.0),
    "hardsigmoid": (lambda z: 1.0, lambda z: 0.0, 0.0, 0.0),
    "hardswish": (lambda z: z, lambda z: 0.0, 1.0, 0.0),
    "relu6": (lambda z: 6.0, lambda z: 0.0, 0.0, 0.0),
}


def _extremes(dtype: str) -> np.ndarray:
    """Large, saturating, tiny and signed-zero inputs; each column spans less than the dtype's
    range (beyond it log-softmax has no finite value)."""
    big = min(1e308, float(np.finfo(dtype).max) / 2)
    tiny = float(np.finfo(dtype).smallest_subnormal)
    Z = np.array(
        [
            [big, -big, 800.0, -800.0, 17.0, tiny],
            [0.0, 0.0, -50.0, 50.0, -17.0, -0.0],
            [-3.0, 3.0, 1e-30, -1e-30, 6.0, -1.0],
        ]
    )
    return np.clip(Z, -big, big).astype(dtype)


@pytest.mark.parametrize(("name", "dtype"), RUNS)
def test_finite_silent_and_in_dtype_at_the_extremes(name, dtype):
    spec = REGISTRY.get(name)
    Z = _extremes(dtype)
    ones = np.ones_like(Z)
    with np.errstate(all="raise", under="ignore"):  # no overflow, invalid or divide warning
        A = spec.forward(Z)
        outputs = {
            "forward": A,
            "vjp": spec.vjp(Z, A, ones),
            "jvp": spec.jvp(Z, A, ones),
            "second_vjp": ext.SECOND_VJP[name](Z, A, ones, ones),
        }
    for what, out in outputs.items():
        assert out.dtype == Z.dtype, what
        assert out.shape == Z.shape, what
        assert np.isfinite(out).all(), (what, out)
    if name in LIMITS:
        pos, neg, dpos, dneg = LIMITS[name]
        big = float(Z[0, 0])
        rtol = 4 * float(np.finfo(dtype).eps)
        assert float(A[0, 0]) == pytest.approx(pos(big), rel=rtol, abs=1e-300)
        assert float(A[0, 1]) == pytest.approx(neg(-big), rel=rtol, abs=1e-300)
        dZ = outputs["vjp"]
        assert float(dZ[0, 0]) == pytest.approx(dpos, rel=rtol, abs=1e-300)
        assert float(dZ[0, 1]) == pytest.approx(dneg, rel=rtol, abs=1e-300)
    else:  # columnwise: a probability column or its log
        P = np.exp(A.astype(np.float64)) if name == "log-softmax" else A.astype(np.float64)
        assert np.allclose(P.sum(axis=0), 1.0, rtol=8 * float(np.finfo(dtype).eps))


def test_log_softmax_and_softmin_at_column_spans_near_the_float_limit():
    Z = np.array([[1e308, -1e308, 5.0], [0.0, 0.0, 5.0]])
    with np.errstate(all="raise", under="ignore"):
        A = ext.log_softmax_forward(Z)
        M = ext.softmin_forward(Z)
    assert A.tolist() == [[0.0, -1e308, -math.log(2)], [-1e308, 0.0, -math.log(2)]]
    assert M.tolist() == [[0.0, 1.0, 0.5], [1.0, 0.0, 0.5]]
    # Every entry of log-softmax keeps its relative accuracy (the textbook form gives 0 here).
    tiny = ext.log_softmax_forward(np.array([[100.0], [0.0]]))[0, 0]
    assert tiny == pytest.approx(-math.exp(-100), rel=1e-15)
    assert ext.log_softmax_forward_textbook(np.array([[100.0], [0.0]]))[0, 0] == 0.0


# -- the textbook functions --------------------------------------------------------------------
C, K = math.sqrt(2 / math.pi), 0.044715
TEXTBOOK = {
    "leaky-relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.exp(z) - 1),
    "selu": lambda z: S * np.where(z > 0, z, ext.SELU_ALPHA * (np.exp(z) - 1)),
    "celu": lambda z: np.maximum(0, z) + np.minimum(0, np.exp(z) - 1),
    "gelu-erf": lambda z: 0.5 * z * (1 + scipy.special.erf(z / math.sqrt(2))),
    "gelu-tanh": lambda z: 0.5 * z * (1 + np.tanh(C * (z + K * z**3))),
    "softplus": lambda z: np.log(1 + np.exp(z)),
    "silu": lambda z: z / (1 + np.exp(-z)),
    "mish": lambda z: z * np.tanh(np.log(1 + np.exp(z))),
    "hardtanh": lambda z: np.minimum(1, np.maximum(-1, z)),
    "hardsigmoid": lambda z: np.minimum(np.maximum(z + 3, 0), 6) / 6,  # torch: relu6(x+3)/6
    "hardswish": lambda z: z * np.minimum(np.maximum(z + 3, 0), 6) / 6,
    "relu6": lambda z: np.minimum(np.maximum(z, 0), 6),
    "log-softmax": lambda z: np.log(np.exp(z) / np.exp(z).sum(axis=0)),
    "softmin": lambda z: np.exp(-z) / np.exp(-z).sum(axis=0),
}


@pytest.mark.parametrize("name", NAMES)
def test_computes_the_textbook_function_where_that_is_accurate(name):
    Z = np.random.default_rng(5).uniform(-8, 8, size=(6, 50))
    np.testing.assert_allclose(
        REGISTRY.get(name).forward(Z), TEXTBOOK[name](Z), rtol=1e-12, atol=1e-14
    )


# -- wrong versions fail -----------------------------------------------------------------------
WRONG_CASES = [
    pytest.param(w, dt, id=f"{name}-{dt}") for name, w in WRONG.items() for dt in w.dtypes
]


@pytest.mark.parametrize(("wrong", "dtype"), WRONG_CASES)
def test_wrong_activation_fails(wrong, dtype):
    result = harness.verify(
        wrong.spec, dtype=dtype, max_examples=wrong.max_examples, seed=1, database=None
    )
    failed = {c.check for c in result.checks if not c.passed}
    assert not result.passed
    assert failed & set(wrong.catches), (
        f"expected one of {wrong.catches} to fail, got {sorted(failed)}\n{result.summary()}"
    )


# -- correct implementations that today's error model fails (issue 9) ----------------------------
TEXTBOOK_LOG_SOFTMAX = dataclasses.replace(
    ext.log_softmax,
    name="log-softmax-textbook",
    forward=ext.log_softmax_forward_textbook,
    vjp=ext.log_softmax_backward_textbook,
    jvp=None,
    jacobian=None,
)
OUTPUT_SCALE = (
    "error model: the output-scale allowance is eps |A|, but log-softmax's VJP works with "
    "exp(A) ~ 1 where A ~ 0: 1 - exp(A) in float32 has an error of eps, not eps |A|"
)
_M = 4.4942328371557893e307
# Correct code on inputs where earlier error models raised false alarms; each passes now,
# but one.
FALSE_ALARMS = [
    pytest.param(
        "leaky-relu",
        np.array([[-1.17799533337414e-309]]),
        0,
        id="leaky-relu-subnormal-stencil-float64",
    ),
    pytest.param(
        "elu",
        np.array([[1.0, 0.0, 0.0, 1.871941380365037e-04]]),
        121,
        id="elu-second-derivative-jumps-at-0-float64",
    ),
    pytest.param(
        "celu",
        np.array([[1.0, 0.0, 0.0, 1.871941380365037e-04]]),
        121,
        id="celu-second-derivative-jumps-at-0-float64",
    ),
    pytest.param(
        TEXTBOOK_LOG_SOFTMAX,
        np.array([[10.0], [1.0]]),
        0,
        id="textbook-log-softmax-forward-roundoff-float64",
    ),
    pytest.param(
        TEXTBOOK_LOG_SOFTMAX,
        np.array([[100.0], [0.0]]),
        0,
        id="textbook-log-softmax-forward-rounds-to-0-float64",
    ),
    pytest.param(
        TEXTBOOK_LOG_SOFTMAX,
        np.array([[5.0], [0.0]], dtype=np.float32),
        0,
        marks=pytest.mark.xfail(strict=True, reason=OUTPUT_SCALE),
        id="textbook-log-softmax-vjp-float32",
    ),
    pytest.param(
        "log-softmax",
        np.array(
            [
                [5.0, 5.0, 5.0, 5.0, 5.0, 0.0, 0.0],
                [0.0, 0.0, _M, 5.0, 5.0, 5.0, 5.0],
                [5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 0.0],
                [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            ]
        ),
        0,
        id="log-softmax-tolerance-overflows-at-4.5e307-float64",
    ),
    pytest.param(
        "gelu-tanh",
        np.array([[6.75]]),
        0,
        id="gelu-tanh-complex-step-float64",
    ),
    pytest.param(
        "silu",
        np.array([[30.3]]),
        0,
        id="silu-complex-step-float64",
    ),
    pytest.param(
        "log-softmax",
        np.concatenate([np.zeros((10, 1)), np.full((10, 1), -3.3776997e16)], axis=1).astype(
            np.float32
        ),
        22,
        id="log-softmax-ties-at-3.4e16-float32",
    ),
]


@pytest.mark.parametrize(("spec", "Z", "probe_seed"), FALSE_ALARMS)
def test_correct_implementation_passes(spec, Z, probe_seed):
    result = harness.verify_at(spec, Z, probe_seed=probe_seed, detail=False)
    assert result.passed, result.summary()


@pytest.mark.parametrize(
    "Z",
    [np.array([[10.0], [1.0]]), np.array([[100.0], [0.0]]), np.array([[5.0], [0.0]], np.float32)],
    ids=["10-1-float64", "100-0-float64", "5-0-float32"],
)
def test_accurate_log_softmax_passes_where_the_textbook_one_false_alarms(Z):
    assert harness.verify_at("log-softmax", Z, detail=False).passed


# -- PReLU (several inputs) --------------------------------------------------------------------
def test_prelu_verifies_once_the_core_takes_several_inputs():
    try:
        from specs import parametric
    except (SpecError, TypeError) as exc:
        pytest.skip(f"Spec does not take inputs= yet: {exc}")
    for dtype in ("float64", "float32"):
        result = harness.verify(parametric.prelu, dtype=dtype, seed=3, database=None)
        assert result.passed, result.summary()
