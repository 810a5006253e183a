"""Deliberately wrong implementations, each named for the kind of bug it is.

Every entry says which check(s) must catch it. They are not registered globally; the tests
verify them directly (``tests/wrong_registered.py`` registers one for the CLI tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness import Spec
from specs import activations as act


@dataclass(frozen=True)
class Wrong:
    """A broken spec and what the harness must say about it."""

    spec: Spec
    catches: tuple[str, ...]  # checks of which at least one must fail
    dtypes: tuple[str, ...] = ("float64",)
    message: str = ""  # a substring the failure message must contain, when set
    max_examples: int = 60


def _like(base: Spec, name: str, **changes: Any) -> Spec:
    fields = {
        f: getattr(base, f)
        for f in (
            "forward",
            "vjp",
            "jvp",
            "jacobian",
            "structure",
            "kinks",
            "equations",
            "formula",
            "dtypes",
        )
    }
    fields.update(changes)
    return Spec(name=name, **fields)


S, T, R, M = act.sigmoid, act.tanh, act.relu, act.softmax


def _sigmoid_derivative_is_A(Z, A, dA):
    return dA * A


def _tanh_derivative_is_1_minus_A(Z, A, dA):
    return dA * (1 - A)


def _relu_wrong_side(Z, A, dA):
    return dA * (Z < 0)


def _relu_threshold_1e3(Z, A, dA):
    return dA * (Z > 1e-3)


def _relu_wrong_just_below_kink(Z, A, dA):
    return dA * (Z > -1e-6)


def _relu_ge(Z, A, dA):
    return dA * (Z >= 0)


def _softmax_no_sum_term(Z, A, dA):
    return A * dA


def _softmax_sum_wrong_axis(Z, A, dA):
    return A * (dA - np.sum(dA * A, axis=1, keepdims=True))


def _softmax_sum_over_batch(Z, A, dA):
    # Right for a single column, wrong as soon as the batch has two.
    return A * (dA - np.sum(dA * A))


def _softmax_vjp_transposed(Z, A, dA):
    return (A * (dA - np.sum(dA * A, axis=0, keepdims=True))).T


def _softmax_rows_forward(Z):
    E = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return E / np.sum(E, axis=1, keepdims=True)


def _softmax_rows_backward(Z, A, dA):
    return A * (dA - np.sum(dA * A, axis=1, keepdims=True))


def _softmax_jacobian_transposed_outer(z, a):
    return np.diag(a) - np.outer(a, a) + np.outer(np.arange(a.size), a) * 1e-3


def _sigmoid_wrong_in_tail(Z, A, dA):
    return np.where(np.abs(Z) > 8, 2.0, 1.0).astype(Z.dtype) * dA * A * (1 - A)


def _sigmoid_off_1e6(Z, A, dA):
    return dA * A * (1 - A) * (1 + 1e-6)


def _sigmoid_off_1e9(Z, A, dA):
    return dA * A * (1 - A) * (1 + 1e-9)


def _sigmoid_one_entry_off(Z, A, dA):
    dZ = dA * A * (1 - A)
    dZ.flat[-1] += 1e-9 * max(1e-300, float(np.max(np.abs(dZ))))
    return dZ


def _tanh_seed_intermediate(Z, A, dA):
    # The seed's intermediate form 4 e^z e^-z / (e^z + e^-z)^2: inf/inf = NaN for |z| > ~710.
    ez, emz = np.exp(Z), np.exp(-Z)
    return dA * 4 * ez * emz / (ez + emz) ** 2


def _softmax_naive_forward(Z):
    E = np.exp(Z)
    return E / np.sum(E, axis=0, keepdims=True)


def _sigmoid_wrong_in_float32(Z, A, dA):
    out = dA * A * (1 - A)
    if out.dtype == np.float32:
        out = out * np.float32(1 + 1e-3)
    return out


def _sigmoid_jvp_wrong(Z, A, dZ):
    return dZ * A


def _softmax_jvp_transposed(Z, A, dZ):
    # (diag(a) - a a^T) is symmetric, so break symmetry: a (dZ - a.dZ) vs a*dZ - a (a.dZ)...
    return A * dZ - np.sum(A * dZ, axis=0, keepdims=True) * np.roll(A, 1, axis=0)


WRONG: dict[str, Wrong] = {
    w.spec.name: w
    for w in (
        Wrong(
            _like(S, "sigmoid-derivative-is-A", vjp=_sigmoid_derivative_is_A, jvp=None),
            ("vjp_directional", "jacobian"),
            ("float64", "float32"),
        ),
        Wrong(
            _like(T, "tanh-derivative-is-1-minus-A", vjp=_tanh_derivative_is_1_minus_A, jvp=None),
            ("vjp_directional", "jacobian"),
            ("float64", "float32"),
        ),
        Wrong(
            _like(R, "relu-wrong-side", vjp=_relu_wrong_side, jvp=None),
            ("vjp_directional", "jacobian"),
        ),
        Wrong(
            _like(R, "relu-threshold-1e-3", vjp=_relu_threshold_1e3, jvp=None),
            ("jacobian", "vjp_directional"),
        ),
        Wrong(
            _like(R, "relu-wrong-only-near-kink", vjp=_relu_wrong_just_below_kink, jvp=None),
            ("jacobian",),
            max_examples=150,
        ),
        Wrong(
            _like(M, "softmax-no-sum-term", vjp=_softmax_no_sum_term, jvp=None, jacobian=None),
            ("vjp_directional", "jacobian"),
            ("float64", "float32"),
        ),
        Wrong(
            _like(
                M, "softmax-sum-wrong-axis", vjp=_softmax_sum_wrong_axis, jvp=None, jacobian=None
            ),
            ("vjp_directional", "jacobian", "structure"),
        ),
        Wrong(
            _like(
                M,
                "softmax-wrong-only-for-m-ge-2",
                vjp=_softmax_sum_over_batch,
                jvp=None,
                jacobian=None,
            ),
            ("vjp_directional", "jacobian", "structure"),
        ),
        Wrong(
            _like(
                M, "softmax-vjp-transposed", vjp=_softmax_vjp_transposed, jvp=None, jacobian=None
            ),
            ("vjp_directional", "jacobian", "hygiene", "structure"),
        ),
        Wrong(
            _like(
                M,
                "softmax-over-rows",
                forward=_softmax_rows_forward,
                vjp=_softmax_rows_backward,
                jvp=None,
                jacobian=None,
            ),
            ("structure", "jacobian"),
            message="structure",
        ),
        Wrong(
            _like(
                M, "softmax-analytic-jacobian-wrong", jacobian=_softmax_jacobian_transposed_outer
            ),
            ("jacobian",),
            message="",
        ),
        Wrong(
            _like(S, "sigmoid-wrong-only-for-large-z", vjp=_sigmoid_wrong_in_tail, jvp=None),
            ("jacobian", "vjp_directional"),
            max_examples=150,
        ),
        Wrong(
            _like(S, "sigmoid-off-by-relative-1e-6", vjp=_sigmoid_off_1e6, jvp=None),
            ("jacobian", "vjp_directional"),
        ),
        Wrong(
            _like(S, "sigmoid-off-by-relative-1e-9", vjp=_sigmoid_off_1e9, jvp=None),
            ("jacobian", "vjp_directional"),
        ),
        Wrong(
            _like(S, "sigmoid-one-entry-off-1e-9", vjp=_sigmoid_one_entry_off, jvp=None),
            ("jacobian",),
        ),
        Wrong(
            _like(T, "tanh-seed-intermediate-nan", vjp=_tanh_seed_intermediate, jvp=None),
            ("vjp_directional", "jacobian", "hygiene"),
            message="non-finite",
            max_examples=150,
        ),
        Wrong(
            _like(M, "softmax-naive-forward-overflows", forward=_softmax_naive_forward),
            ("vjp_directional", "jacobian", "hygiene"),
            message="for finite input",
            max_examples=150,
        ),
        Wrong(
            _like(S, "sigmoid-wrong-in-float32-only", vjp=_sigmoid_wrong_in_float32, jvp=None),
            ("jacobian", "vjp_directional"),
            ("float32",),
        ),
        Wrong(
            _like(S, "sigmoid-jvp-wrong", jvp=_sigmoid_jvp_wrong),
            ("adjoint", "jvp_directional", "jacobian"),
        ),
        Wrong(
            _like(M, "softmax-jvp-wrong", jvp=_softmax_jvp_transposed),
            ("adjoint", "jvp_directional", "jacobian"),
        ),
        Wrong(
            _like(M, "softmax-declared-elementwise", structure="elementwise", jacobian=None),
            ("structure",),
            message="structure",
        ),
    )
}

# Correct alternatives that must pass: ReLU with the other convention at 0.
RIGHT: dict[str, Spec] = {
    "relu-derivative-1-at-0": _like(
        R, "relu-derivative-1-at-0", vjp=_relu_ge, jvp=lambda Z, A, dZ: dZ * (Z >= 0)
    ),
}
