"""The finite-difference oracle reaches the accuracy its error model predicts."""

from __future__ import annotations

import numpy as np
import pytest

import harness
from harness.calls import Caller
from harness.errormodel import DEFAULT_MODEL
from harness.oracle import Evaluator, central_steps, fd_step, richardson

F64 = np.dtype(np.float64)


def _spec(name, f):
    return harness.Spec(name=name, forward=f, vjp=lambda Z, A, dA: dA, structure="elementwise")


KNOWN = {
    "cubic": (lambda z: z**3 - 2 * z, lambda z: 3 * z**2 - 2),
    "exp": (np.exp, np.exp),
    "sin": (np.sin, np.cos),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_richardson_error_estimate_bounds_the_true_error(name):
    f, df = KNOWN[name]
    x = np.linspace(-3, 3, 61).reshape(1, -1)
    ev = Evaluator(Caller(_spec(name, f), F64))
    h, _ = central_steps(x, (), DEFAULT_MODEL, F64)
    lev = ev.levels((x,), [(h,)])[0]
    delta = [d[0] for d in lev.delta]
    D = [(lev.plus[k] - lev.minus[k]) / delta[k] for k in range(3)]
    roundoff = 1.5 * 4 * 2.2e-16 * (np.abs(lev.plus[-1]) + np.abs(lev.minus[-1])) / delta[-1]
    est, trunc = richardson(*D, noise=roundoff)
    err = np.abs(est - df(x))
    assert np.all(np.isfinite(trunc))
    # The model's estimate (truncation + round-off) bounds the true error...
    assert np.all(err <= DEFAULT_MODEL.safety * (trunc + roundoff))
    # ...and both are near the ~eps^(4/5) the model predicts, far below a 1e-9 relative bug.
    scale = np.maximum(1.0, np.abs(f(x)))
    assert np.max(err / scale) < 1e-11
    assert np.max((trunc + roundoff) / scale) < 2e-11


def test_steps_are_absolute_until_they_would_span_too_few_ulps():
    x = np.array([0.0, 1.0, 1e5, 1e12, 1e300])
    h = fd_step(x, 1e-3, F64)
    assert h[0] == h[1] == h[2] == 1e-3
    assert h[3] == pytest.approx(16 * 2.22e-16 * 1e12, rel=1e-2)
    assert np.all((x + h) - (x - h) > 0)  # every step is realised


def test_steps_never_straddle_a_kink_and_on_kink_entries_are_flagged():
    x = np.array([[0.0, -0.0, 1e-300, -1e-9, 0.3, 5e-324]])
    h, on_kink = central_steps(x, (0.0,), DEFAULT_MODEL, F64)
    # 1e-300: a step capped at 5e-301 is no step (issue 9 item 2): the subgradient test.
    assert on_kink.tolist() == [[True, True, True, False, False, True]]
    off = ~on_kink
    assert np.all(h[off] <= 0.5 * np.abs(x[off]))
    assert np.all(np.sign(x[off] - h[off]) == np.sign(x[off] + h[off]))


def test_unresolvable_stencil_is_flagged_not_trusted():
    # Steps far larger than the function's features: D(h) ~ 1/h, not the asymptotic t^2 law.
    D = [np.array([1 / 4.0]), np.array([1 / 2.0]), np.array([1.0])]
    _, err = richardson(*D)
    assert np.isinf(err[0])


def test_a_relative_1e9_error_is_far_above_the_tolerance():
    Z = np.random.default_rng(1).standard_normal((10, 32))
    spec = harness.REGISTRY.get("sigmoid") if "sigmoid" in harness.REGISTRY else None
    if spec is None:
        import specs  # noqa: F401

        spec = harness.REGISTRY.get("sigmoid")
    good = harness.verify_at(spec, Z)
    assert good.passed
    # Entry-wise tolerance / |J| is what a relative error must exceed to be caught.
    assert good["jacobian"].error_ratio < 0.2


def _stable_sigmoid_with_abs(Z):
    # The usual stable form; abs and where break the complex step (numerics.md).
    e = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))


def _rejects_complex(Z):
    if np.iscomplexobj(Z):
        raise TypeError("real input only")
    return 1 / (1 + np.exp(-Z))


@pytest.mark.parametrize(
    ("forward", "oracle"),
    [
        pytest.param(None, "complex step, cross-checked", id="holomorphic-uses-complex-step"),
        pytest.param(_stable_sigmoid_with_abs, "central differences", id="abs-falls-back"),
        pytest.param(_rejects_complex, "does not take complex", id="real-only-falls-back"),
    ],
)
def test_complex_step_is_cross_checked_and_falls_back(forward, oracle):
    import specs  # noqa: F401

    sigmoid = harness.REGISTRY.get("sigmoid")
    spec = harness.Spec(
        name="sigmoid-variant",
        forward=forward or sigmoid.forward,
        vjp=sigmoid.vjp,
        structure="elementwise",
    )
    Z = np.random.default_rng(3).standard_normal((4, 5))
    result = harness.verify_at(spec, Z)
    assert result.passed, result.summary()
    assert oracle in result["jacobian"].message
