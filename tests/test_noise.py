"""harness.noise: the measured noise of a forward agrees with its true rounding error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.noise import (
    EXACT,
    FLAT,
    NOISE,
    derivative_rounding,
    ecnoise_table,
    forward_noise,
    gamma,
)

LD = np.longdouble
EPS = float(np.finfo(np.float64).eps)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# (ordinary float64 form, accurate reference in long double)
CASES = {
    "softplus log(1+exp(z))": (
        lambda z: np.log(1 + np.exp(z)),
        lambda z: np.log1p(np.exp(z.astype(LD))),
    ),
    "elu exp(z)-1": (lambda z: 1.0 * (np.exp(z) - 1), lambda z: np.expm1(z.astype(LD))),
    "1 - tanh(z)**2": (
        lambda z: 1 - np.tanh(z) ** 2,
        lambda z: 1 / np.cosh(z.astype(LD)) ** 2,
    ),
    "s*(1-s)": (
        lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
        lambda z: np.exp(-z.astype(LD)) / (1 + np.exp(-z.astype(LD))) ** 2,
    ),
}
POINTS = [
    ("softplus log(1+exp(z))", z, None) for z in (-6.0, -10.0, -15.0, -20.0, -25.0, -30.0)
] + [
    ("elu exp(z)-1", -1e-2, 1e-2 / 32),
    ("elu exp(z)-1", -1e-4, 1e-4 / 32),
    ("elu exp(z)-1", -1e-6, 1e-6 / 32),
    ("1 - tanh(z)**2", 3.0, None),
    ("1 - tanh(z)**2", 6.0, None),
    ("1 - tanh(z)**2", 12.0, None),
    ("s*(1-s)", 5.0, None),
    ("s*(1-s)", 15.0, None),
    ("s*(1-s)", 25.0, None),
]


def _true_rms(ordinary, truth, x: np.ndarray, step: float) -> float:
    """RMS of the true error of the ordinary form over the 8 stencil points."""
    pts = x[0, 0] + step * np.arange(-3, 5)
    got = ordinary(pts)
    ref = truth(pts)
    return float(np.sqrt(np.mean(np.asarray((got - ref) ** 2, dtype=np.float64))))


@pytest.mark.parametrize(("name", "z", "step"), POINTS)
def test_estimate_is_within_10x_of_the_true_error(name: str, z: float, step: float | None) -> None:
    ordinary, truth = CASES[name]
    x = np.array([[z]])
    if step is None:
        est = forward_noise(ordinary, x, np.ones_like(x), elementwise=True)
    else:
        # ELU: keep the stencil on the negative side of its kink at 0.
        est = forward_noise(ordinary, x, np.full_like(x, step / 2.0**-14), tries=1)
    assert est.status[0, 0] == NOISE, (name, z, est)
    true = _true_rms(
        ordinary, truth, x, float(est.spacing[0, 0]) * (1 if step is None else step / 2.0**-14)
    )
    assert true > 0
    ratio = float(est.sigma[0, 0]) / true
    assert 0.1 <= ratio <= 10.0, f"{name} at z={z}: estimate {est.sigma[0, 0]:.3g}, true {true:.3g}"
    # and it is far above the naive eps*|f| where the form cancels
    f = abs(float(ordinary(x)[0, 0]))
    if name.startswith("softplus") and z <= -10:
        assert est.sigma[0, 0] > 100 * EPS * f


@pytest.mark.parametrize(
    ("fn", "z"),
    [(np.exp, -3.0), (np.exp, 0.5), (np.exp, 10.0), (np.sin, 1.0), (np.log, 7.0), (np.exp, 700.0)],
)
def test_smooth_accurate_function_gives_about_eps_times_f(fn, z: float) -> None:
    x = np.array([[z]])
    est = forward_noise(fn, x, np.ones_like(x), elementwise=True)
    assert est.status[0, 0] == NOISE
    f = abs(float(fn(z)))
    assert 0.02 * EPS * f <= est.sigma[0, 0] <= 3 * EPS * f, (est.sigma, EPS * f)


def test_flat_function_is_no_information_not_zero_noise() -> None:
    x = np.array([[-50.0]])
    est = forward_noise(lambda z: np.log(1 + np.exp(z)), x, np.ones_like(x), elementwise=True)
    assert est.status[0, 0] == FLAT
    assert math.isnan(est.sigma[0, 0])
    assert math.isnan(est.or_else(np.nan)[0, 0])
    assert est.or_else(7.0)[0, 0] == 7.0
    assert est.evaluations <= 24


def test_constant_function_is_flat() -> None:
    x = np.zeros((2, 3))
    est = forward_noise(lambda z: np.ones_like(z), x, np.ones_like(x))
    assert np.all(est.status == FLAT) and np.all(np.isnan(est.sigma))


def test_quantised_function() -> None:
    """round(x, 3): flat at tiny spacings, noise of about quantum/sqrt(12) once visible."""
    q = 1e-3
    x = np.array([[0.123456]])
    est = forward_noise(lambda z: np.round(z / q) * q, x, np.ones_like(x), elementwise=True)
    if est.status[0, 0] == NOISE:
        assert 0.2 * q / math.sqrt(12) <= est.sigma[0, 0] <= 5 * q / math.sqrt(12)
    else:
        assert est.status[0, 0] == FLAT and math.isnan(est.sigma[0, 0])


def test_orders_agree_on_pure_noise() -> None:
    """Moré and Wild's consistency: sigma_k estimates of iid noise agree across orders."""
    rng = np.random.default_rng(0)
    sd = 1e-6
    fv = np.cos(np.linspace(0, 1e-3, 8))[:, None] + sd * rng.standard_normal((8, 4000))
    sigma, status, _order, _ = ecnoise_table(fv)
    ok = status == NOISE
    assert ok.mean() > 0.8
    assert 0.7 * sd <= float(np.median(sigma[ok])) <= 1.3 * sd
    # the level of each order separately, on the same table
    d = fv - fv.mean(axis=0)
    for k in range(1, 6):
        d = np.diff(fv, n=k, axis=0)
        lvl = np.sqrt(gamma(k) * np.mean(d * d, axis=0))
        assert 0.7 * sd <= float(np.median(lvl)) <= 1.3 * sd, k


def test_gamma() -> None:
    assert gamma(1) == 0.5
    assert gamma(2) == pytest.approx(1 / 6)
    assert gamma(3) == pytest.approx(36 / 720)


def test_vector_function_per_output_entry_and_batching() -> None:
    """A columnwise function: one estimate per output entry, evaluations batched."""
    calls = []

    def f(z):
        return np.log(1 + np.exp(z))

    def evaluate(pts):
        calls.append(len(pts))
        return [f(p) for p in pts]

    x = np.array([[-20.0, 1.0], [-6.0, 2.0]])
    est = forward_noise(f, x, np.ones_like(x), evaluate=evaluate)
    assert est.sigma.shape == (2, 2)
    assert calls and all(c == 8 for c in calls)
    assert est.evaluations == 8 * len(calls)
    assert est.sigma[0, 0] > 100 * EPS * abs(f(-20.0))


def test_nonfinite_points_are_reported() -> None:
    x = np.array([[709.78]])
    est = forward_noise(np.exp, x, np.full_like(x, 1e3), tries=1)
    assert est.status[0, 0] == "nonfinite"
    assert math.isnan(est.sigma[0, 0])


def test_abscissae_are_exact() -> None:
    """At z = 700 the rounding of x + i*s would add 1e-13 relative noise to exp."""
    x = np.array([[700.0 + 2**-40]])
    est = forward_noise(np.exp, x, np.ones_like(x), elementwise=True)
    assert est.status[0, 0] == NOISE
    assert est.sigma[0, 0] <= 3 * EPS * math.exp(700.0)


# -- what rounding of the forward can do to a derivative computed from it ------------------------
def test_derivative_rounding_affine_is_zero_at_any_magnitude() -> None:
    """An affine function's slope does not depend on A: no allowance, even at A = 2.5e12."""
    eps = float(np.finfo(np.float32).eps)
    assert derivative_rounding(eps * 2.5e12, 2.5, 0.0) == 0.0


def test_derivative_rounding_sigmoid_float32_saturated() -> None:
    """float32 sigmoid at z = 17: A rounds to 1, A (1 - A) = 0 where sigmoid' = 4.1e-8."""
    eps = float(np.finfo(np.float32).eps)
    d1 = math.exp(-17.0)
    allowance = float(derivative_rounding(eps * 1.0, d1, -d1))
    assert allowance >= d1  # the whole derivative is within what rounding can do
    assert allowance <= 10 * eps


def test_derivative_rounding_second_derivative_from_rounded_sigmoid() -> None:
    """s (1 - s) in float32 at z = 17 returns 0 (true 4.1e-8): its derivative may be 0 too."""
    true_f = math.exp(-17.0)
    err_forward = true_f  # the forward's own error: it returned 0
    allowance = float(derivative_rounding(err_forward, -true_f, true_f))
    assert 0.5 * true_f <= allowance <= 2 * true_f


def test_derivative_rounding_at_an_extremum() -> None:
    """f' = 0, f'' != 0: bounded (sqrt(2 e |f''|)), not infinite."""
    got = float(derivative_rounding(1e-16, 0.0, 2.0))
    assert got == pytest.approx(math.sqrt(2 * 1e-16 * 2.0))
    assert float(derivative_rounding(0.0, 1.0, 5.0)) == 0.0
    assert float(derivative_rounding(np.inf, 1.0, 5.0)) == 0.0


def test_exact_code_has_zero_noise_not_flat() -> None:
    """ReLU's positive side and an affine map at representable points: exact, sigma 0."""
    x = np.array([[3.0, 1e12], [0.5, 7.0]])
    est = forward_noise(lambda z: np.maximum(z, 0), x, np.ones_like(x), elementwise=True)
    assert np.all(est.status == EXACT), est
    assert np.all(est.sigma == 0)
    assert not est.flat.any() and est.measured.all()
    est = forward_noise(lambda z: 2.5 * z, np.array([[1e6]]), np.ones((1, 1)))
    assert est.status[0, 0] in (EXACT, NOISE)
    assert est.sigma[0, 0] <= 4 * EPS * 2.5e6
