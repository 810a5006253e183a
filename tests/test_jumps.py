"""harness.jumps: a jump (error ~ 1/h), a kink (constant error) and a smooth function told apart."""

from __future__ import annotations

import numpy as np
import pytest

from harness.jumps import classify_step_curve, estimate_jump, log_slope

EPS = float(np.finfo(np.float64).eps)
STEPS = [1e-2, 1e-3, 1e-4, 1e-5]


def softplus_threshold(x):
    """torch.nn.functional.softplus(beta=1, threshold=20): x itself above 20."""
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def relu(x):
    return np.maximum(x, 0.0)


def central(f, x, steps):
    return [float((f(x + h) - f(x - h)) / ((x + h) - (x - h))) for h in steps]


def test_softplus_threshold_is_a_jump_of_its_size():
    x = 20.0
    verdict = classify_step_curve(
        STEPS, central(softplus_threshold, x, STEPS), float(sigmoid(x)), rounding=4 * EPS * x
    )
    assert verdict.kind == "jump", verdict
    assert verdict.slope == pytest.approx(-1.0, abs=0.05)
    assert verdict.jump == pytest.approx(np.log1p(np.exp(-20.0)), rel=0.01)  # 2.06e-9
    assert "discontinuity" in verdict.message
    est = estimate_jump(lambda t: float(softplus_threshold(t)), x)
    assert not est.continuous
    assert est.size == pytest.approx(-np.log1p(np.exp(-20.0)), rel=1e-6)
    assert est.left <= 20.0 < est.right


def test_jump_is_found_off_centre():
    est = estimate_jump(lambda t: float(softplus_threshold(t)), 20.0 + 3e-4)
    assert not est.continuous and est.left <= 20.0 < est.right
    step = estimate_jump(lambda t: float(t > 0.3), 0.3003)
    assert step.size == pytest.approx(1.0) and not step.continuous


@pytest.mark.parametrize("convention", [0.0, 1.0])
def test_relu_at_zero_is_a_kink(convention):
    verdict = classify_step_curve(STEPS, central(relu, 0.0, STEPS), convention)
    assert verdict.kind == "kink", verdict
    assert abs(verdict.slope) < 0.1
    assert estimate_jump(lambda t: float(relu(t)), 0.0).continuous


def test_sigmoid_is_smooth():
    x = 0.3
    d = float(sigmoid(x) * (1 - sigmoid(x)))
    verdict = classify_step_curve(STEPS, central(sigmoid, x, STEPS), d, rounding=4 * EPS)
    assert verdict.kind == "smooth", verdict
    assert verdict.slope == pytest.approx(2.0, abs=0.2)
    assert estimate_jump(lambda t: float(sigmoid(t)), x).continuous


def test_round_off_is_not_a_jump():
    # Tiny steps: the error is round-off, ~eps/h, the same slope as a jump but no jump size.
    tiny = [1e-7, 1e-8, 1e-9, 1e-10]
    x = 0.3
    d = float(sigmoid(x) * (1 - sigmoid(x)))
    verdict = classify_step_curve(tiny, central(sigmoid, x, tiny), d, rounding=4 * EPS)
    assert verdict.kind == "smooth", verdict


def test_log_slope_and_bad_input():
    assert log_slope([1e-1, 1e-2, 1e-3], [1e-2, 1e-4, 1e-6]) == pytest.approx(2.0)
    assert np.isnan(log_slope([1e-1, 1e-2], [0.0, 0.0]))
    verdict = classify_step_curve([1e-2, 1e-3], [0.5, 0.5], 0.5)
    assert verdict.kind == "smooth"
    with pytest.raises(ValueError, match="same length"):
        classify_step_curve([1e-2], [0.5], 0.5)


def test_the_jacobian_check_names_a_jump_of_the_forward_instead_of_failing() -> None:
    """torch's softplus switches to x at its threshold: a jump, not a wrong derivative."""
    import harness

    def forward(Z: np.ndarray) -> np.ndarray:
        # The stable form (abs: no complex step), switching to z above 20 as torch does.
        smooth = np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))
        return np.where(Z > 20.0, Z + 0.5, smooth)  # a jump of 0.5 at the threshold

    def vjp(Z: np.ndarray, A: np.ndarray, dA: np.ndarray) -> np.ndarray:
        return np.where(Z > 20.0, dA, dA / (1 + np.exp(-Z)))

    spec = harness.Spec(name="softplus-with-threshold", forward=forward, vjp=vjp,
                        structure="elementwise")  # fmt: skip
    run = harness.verify_at(spec, np.array([[20.0 - 1e-5, 3.0]]))
    assert run.passed, run.summary()
    jac = run["jacobian"]
    assert jac.unresolved >= 1
    assert "the forward jumps by 0.5" in jac.message, jac.message
    assert "the forward jumps" in run.summary()
    # Away from the threshold nothing is said.
    calm = harness.verify_at(spec, np.array([[19.0, 3.0]]))
    assert "jumps" not in calm["jacobian"].message
