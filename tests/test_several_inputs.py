"""Specs of several inputs: wrong layers, costs and networks fail and name the culprit input;
gradient plumbing mistakes get a message; a bad spec is rejected when it is made."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from harness import Spec, SpecError, verify, verify_at, verify_params
from harness.domains import binary, interval
from specs import layers, networks

Array = Any
RNG = np.random.default_rng(0)
# Square W (n == k) so that W @ dZ for W.T @ dZ is a value bug; n != m so that dividing by n
# instead of m is one.
W, B, A_PREV = RNG.normal(size=(3, 3)), RNG.normal(size=(3, 1)), RNG.normal(size=(3, 5))
DENSE_FIELDS: dict[str, Any] = {
    "inputs": ("W", "b", "A_prev"),
    "shapes": "(n,k),(n,1),(k,m)->(n,m)",
    "forward": layers.dense_forward,
    "structure": {"W": "rowwise", "b": "rowwise", "A_prev": "columnwise"},
}


def _dense(name: str, vjp: Any) -> Spec:
    return Spec(name=name, vjp=vjp, **DENSE_FIELDS)


def _culprit(run: Any) -> list[str]:
    return [v.name for v in run.verdicts if v.status == "fail"]


WRONG_DENSE = {
    # db summed over the wrong axis (rows instead of columns), broadcast back to (n, 1).
    "db-summed-over-the-wrong-axis": (
        lambda W, b, A, Z, dZ: (
            dZ @ A.T,
            np.broadcast_to(dZ.sum(axis=0).mean(), b.shape).copy(),
            W.T @ dZ,
        ),
        "b",
    ),
    "W-not-transposed": (
        lambda W, b, A, Z, dZ: (dZ @ A.T, dZ.sum(1, keepdims=True), W @ dZ),
        "A_prev",
    ),
    "dW-divided-by-m": (
        lambda W, b, A, Z, dZ: (dZ @ A.T / A.shape[1], dZ.sum(1, keepdims=True), W.T @ dZ),
        "W",
    ),
}


@pytest.mark.parametrize("name", list(WRONG_DENSE))
def test_a_wrong_dense_layer_fails_and_names_its_input(name: str) -> None:
    vjp, culprit = WRONG_DENSE[name]
    run = verify_at(_dense(name, vjp), W, B, A_PREV)
    assert not run.passed
    assert _culprit(run) == [culprit], run.summary()
    assert f"gradient for `{culprit}`" in run.summary()
    jac = run["jacobian"]
    assert jac.worst is not None and jac.worst.location is not None
    assert jac.worst.location.input == culprit


def test_the_correct_dense_layer_passes_generated_shapes() -> None:
    run = verify("dense", dtype="float64", max_examples=15, seed=3)
    assert run.passed, run.summary()
    assert {v.name: v.status for v in run.verdicts} == dict.fromkeys(("W", "b", "A_prev"), "pass")


def _bce_like(name: str, vjp: Any, forward: Any = layers.bce_forward) -> Spec:
    return Spec(
        name=name,
        forward=forward,
        vjp=vjp,
        inputs=("A", "Y"),
        constants=("Y",),
        shapes="(1,m),(1,m)->()",
        domains={"A": interval(0.0, 1.0), "Y": binary()},
    )


A1 = np.array([[0.2, 0.7, 0.5, 0.9]])
Y1 = np.array([[1.0, 0.0, 1.0, 1.0]])


def test_the_extra_one_over_m_applied_twice_fails() -> None:
    def twice(A: Array, Y: Array, J: Array, dJ: Array) -> Array:
        return layers.bce_backward(A, Y, J, dJ) / A.shape[1]

    run = verify_at(_bce_like("bce-1/m-twice", twice), A1, Y1)
    assert run["jacobian"].status == "fail", run.summary()
    assert run["jacobian"].worst.location.input == "A"


def test_a_cost_that_clips_in_the_forward_but_not_in_the_backward_fails_near_the_edges() -> None:
    def clipped(A: Array, Y: Array) -> Array:
        return layers.bce_forward(np.clip(A, 1e-7, 1 - 1e-7), Y)

    spec = _bce_like("bce-clipped-forward", layers.bce_backward, forward=clipped)
    assert verify_at(spec, A1, Y1).passed  # away from 0 and 1 the clip does nothing
    near = np.array([[1e-9, 0.5, 1 - 1e-9, 0.3]])
    run = verify_at(spec, near, np.array([[1.0, 0.0, 0.0, 1.0]]))
    assert run["jacobian"].status == "fail", run.summary()


def test_dividing_by_n_instead_of_m_fails() -> None:
    def by_n(A: Array, Y: Array, J: Array, dJ: Array) -> Array:
        return (-dJ * Y / (A.shape[0] * A)).astype(A.dtype)

    spec = Spec(
        name="cce-divides-by-n",
        forward=layers.cce_forward,
        vjp=by_n,
        inputs=("A", "Y"),
        constants=("Y",),
        shapes="(n,m),(n,m)->()",
    )
    A = np.array([[0.2, 0.5, 0.1, 0.6], [0.3, 0.25, 0.6, 0.1], [0.5, 0.25, 0.3, 0.3]])
    Y = np.eye(3)[:, [0, 2, 1, 1]]
    assert verify_at(spec, A, Y)["jacobian"].status == "fail"


def test_a_network_missing_its_relu_mask_names_the_hidden_layer() -> None:
    def no_mask(params: dict[str, Array], X: Array, Y: Array) -> dict[str, Array]:
        m = X.shape[1]
        A2, cache = networks.two_layer_forward(params, X)
        dZ2 = (A2 - Y) / m
        dZ1 = params["W2"].T @ dZ2  # the ReLU mask of (2) forgotten
        return {
            "dW1": dZ1 @ X.T,
            "db1": dZ1.sum(axis=1, keepdims=True),
            "dW2": dZ2 @ cache["A1"].T,
            "db2": dZ2.sum(axis=1, keepdims=True),
        }

    params = networks.init_params([4, 6, 3], seed=5)
    X = RNG.normal(size=(4, 7))
    Y = np.eye(3)[:, [0, 2, 1, 1, 0, 2, 2]]
    good = verify_params(networks.two_layer_loss, networks.two_layer_backward, params, X, Y,
                         max_examples=3)  # fmt: skip
    assert good.passed, good.summary()
    bad = verify_params(networks.two_layer_loss, no_mask, params, X, Y, max_examples=0)
    verdicts = {name: v.status for name, v in bad.verdicts.items()}
    assert verdicts == {"W1": "fail", "b1": "fail", "W2": "pass", "b2": "pass"}, bad.summary()
    assert "gradient for `W1`" in bad.summary()


# -- gradient plumbing ------------------------------------------------------------------------
PLUMBING = {
    "too-few": (
        lambda W, b, A, Z, dZ: (dZ @ A.T, W.T @ dZ),
        "vjp returned 2 gradient(s); expected 3",
    ),
    "wrong-order": (
        lambda W, b, A, Z, dZ: (dZ.sum(1, keepdims=True), dZ @ A.T, W.T @ dZ),
        "gradient 1 has shape (3, 1), which is `b`'s, not `W`'s",
    ),
    "missing-sum": (
        lambda W, b, A, Z, dZ: (dZ @ A.T, dZ, W.T @ dZ),
        "gradient for `b` has shape (3, 5); expected (3, 1)",
    ),
    "none": (lambda W, b, A, Z, dZ: (dZ @ A.T, None, W.T @ dZ), "vjp returned None for `b`"),
}


@pytest.mark.parametrize("name", list(PLUMBING))
def test_gradient_plumbing_mistakes_are_named(name: str) -> None:
    vjp, message = PLUMBING[name]
    run = verify_at(_dense(name, vjp), W, B, A_PREV)
    assert not run.passed
    assert [f.kind for f in run.findings] == ["gradients"], run.summary()
    assert message in run.findings[0].message, run.findings[0].message
    assert "Traceback" not in run.summary()


def test_a_gradient_for_a_constant_is_named() -> None:
    def with_y(A: Array, Y: Array, J: Array, dJ: Array) -> tuple[Array, Array]:
        return layers.bce_backward(A, Y, J, dJ), np.zeros_like(Y)

    run = verify_at(_bce_like("bce-grad-for-Y", with_y), A1, Y1)
    assert "gradient for the constant(s) `Y` too" in run.findings[0].message


def test_constants_are_checked_for_in_place_modification() -> None:
    def scribbles(A: Array, Y: Array, J: Array, dJ: Array) -> Array:
        Y[...] = 0
        return layers.bce_backward(A, Y, J, dJ)

    run = verify_at(_bce_like("bce-modifies-Y", scribbles), A1, Y1.copy())
    assert any("modifies Y in place" in f.message for f in run.findings), run.summary()


# -- bad specs ------------------------------------------------------------------------------
BAD_SPECS = {
    "signature": ({"shapes": "(n,k),(n,1)(k,m)->(n,m)"}, "is not a comma-separated list"),
    "named-twice": ({"inputs": ("W", "W", "A_prev")}, "named twice"),
    "constant-not-an-input": ({"constants": ("Y",)}, "are not inputs"),
    "shapes-disagree-with-inputs": ({"shapes": "(n,k),(k,m)->(n,m)"}, "describes 2 input(s)"),
    "structure-axes-differ": (
        {"structure": {"W": "columnwise", "b": "rowwise", "A_prev": "columnwise"}},
        "different sizes",
    ),
}


@pytest.mark.parametrize("name", list(BAD_SPECS))
def test_a_bad_several_input_spec_is_rejected_when_made(name: str) -> None:
    changes, message = BAD_SPECS[name]
    fields = {**DENSE_FIELDS, "vjp": layers.dense_backward, **changes}
    with pytest.raises(SpecError, match=re.escape(message)):
        Spec(name=name, **fields)


def test_a_report_of_a_spec_with_kinks_per_input_is_written(tmp_path: Any) -> None:
    from harness import REGISTRY
    from harness.report.document import make_document, spec_report, write_report
    from harness.results import Settings

    prelu = REGISTRY.get("prelu")
    run = verify_at(prelu, RNG.normal(size=(2, 3)), np.full((2, 1), 0.1))
    report = spec_report(prelu, [run])
    assert report.kinks == (0.0,)
    written = write_report(make_document([report], settings=Settings()), tmp_path)
    assert (tmp_path / "results.json") in written
