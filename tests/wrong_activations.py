"""Deliberately wrong versions of the activations in ``specs/activations_extra.py``.

Each is a plausible hand-written bug, named for what it gets wrong, with the checks of which
at least one must fail (as in ``tests/wrong_specs.py``). The forward is always the correct
one: only the derivative is wrong, so only a derivative check can catch it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from harness import Spec
from specs import activations_extra as ext

from wrong_specs import Wrong


def _like(base: Spec, name: str, **changes: Any) -> Spec:
    """``base`` with another name and the given fields replaced (the JVP dropped unless given,
    so that the wrong VJP is caught by comparison with finite differences)."""
    changes.setdefault("jvp", None)
    if base.jacobian is not None:
        changes.setdefault("jacobian", None)
    return dataclasses.replace(base, name=name, **changes)


def _gelu_tanh_wrong_constant(Z, A, dA):
    # 0.0447 for 0.044715 in the derivative only (a constant retyped from memory).
    # Otherwise the stable form of specs/activations_extra.py.
    c, k = math.sqrt(2 / math.pi), 0.0447
    Zc = np.clip(Z, -30, 30)
    u = c * (Zc + k * Zc * Zc * Zc)
    s, r = ext._sigmoid(2 * u), ext._sigmoid(-2 * u)
    return dA * (s + Z * (2 * s * r * c * (1 + 3 * k * Zc * Zc)))


def _gelu_erf_uses_tanh_derivative(Z, A, dA):
    # The erf form's forward with the tanh approximation's derivative.
    return dA * ext.gelu_tanh_derivative(Z, A)


def _hardswish_wrong_slope(Z, A, dA):
    # (Z + 3) / 6 between -3 and 3 instead of (2Z + 3) / 6.
    mid = (Z + 3) / 6
    return dA * np.where(Z < -3, 0.0, np.where(Z < 3, mid, 1.0)).astype(Z.dtype)


def _log_softmax_no_sum_term(Z, A, dA):
    # The identity part of I - 1 s^T only.
    return dA


def _log_softmax_sum_not_weighted(Z, A, dA):
    # dA - mean(dA): the sum term without the softmax weights.
    return dA - np.mean(dA, axis=0, keepdims=True)


def _elu_wrong_below_minus_5(Z, A, dA):
    d = np.where(Z > 0, 1.0, np.exp(np.minimum(Z, 0)))
    d = np.where(Z < -5, 2 * d, d)  # right everywhere except z < -5
    return dA * d.astype(Z.dtype)


def _silu_missing_product_term(Z, A, dA):
    # d/dZ (Z s) taken as s.
    return dA * ext._sigmoid(Z)


def _selu_no_scale_on_positive_side(Z, A, dA):
    e = (ext.SELU_SCALE * ext.SELU_ALPHA) * np.exp(np.minimum(Z, 0))
    return dA * np.where(Z > 0, 1.0, e).astype(Z.dtype)


def _leaky_relu_slope_0_1(Z, A, dA):
    return dA * np.where(Z > 0, 1.0, 0.1).astype(Z.dtype)


def _softmin_sign_lost(Z, A, dA):
    # Softmax's (8) without the chain rule's -1 for softmax(-Z).
    return A * (dA - np.sum(dA * A, axis=0, keepdims=True))


def _mish_sech_squared_as_tanh(Z, A, dA):
    # t + Z t sigmoid(Z): tanh where its derivative 1 - tanh^2 belongs.
    t, _ = ext._mish_parts(Z)
    return dA * (t + Z * t * ext._sigmoid(Z))


def _hardsigmoid_kink_at_3_5(Z, A, dA):
    # The upper kink misplaced at 3.5: wrong only on (3, 3.5].
    return dA * np.where((Z > -3) & (Z <= 3.5), 1 / 6, 0.0).astype(Z.dtype)


def _log_softmax_jvp_uses_vjp_formula(Z, A, dZ):
    # The Jacobian I - 1 s^T is not symmetric: its JVP is not the VJP's formula.
    return dZ - np.exp(A) * np.sum(dZ, axis=0, keepdims=True)


E = ext.SPECS

WRONG: dict[str, Wrong] = {
    w.spec.name: w
    for w in (
        Wrong(
            _like(E["gelu-tanh"], "gelu-tanh-wrong-constant", vjp=_gelu_tanh_wrong_constant),
            ("vjp_directional", "jacobian"),
        ),
        Wrong(
            _like(
                E["gelu-erf"], "gelu-erf-with-tanh-derivative", vjp=_gelu_erf_uses_tanh_derivative
            ),
            ("vjp_directional", "jacobian"),
            ("float64", "float32"),
        ),
        Wrong(
            _like(
                E["hardswish"], "hardswish-wrong-slope-between-kinks", vjp=_hardswish_wrong_slope
            ),
            ("vjp_directional", "jacobian"),
            ("float64", "float32", "float16"),
        ),
        Wrong(
            _like(E["log-softmax"], "log-softmax-no-sum-term", vjp=_log_softmax_no_sum_term),
            ("vjp_directional", "jacobian"),
            ("float64", "float32"),
        ),
        Wrong(
            _like(
                E["log-softmax"],
                "log-softmax-sum-not-weighted",
                vjp=_log_softmax_sum_not_weighted,
            ),
            ("vjp_directional", "jacobian"),
        ),
        Wrong(
            _like(E["elu"], "elu-wrong-only-below-minus-5", vjp=_elu_wrong_below_minus_5),
            ("vjp_directional", "jacobian"),
            max_examples=150,
        ),
        Wrong(
            _like(E["silu"], "silu-missing-product-term", vjp=_silu_missing_product_term),
            ("vjp_directional", "jacobian"),
            ("float64", "float32"),
        ),
        Wrong(
            _like(E["selu"], "selu-no-scale-for-positive-z", vjp=_selu_no_scale_on_positive_side),
            ("vjp_directional", "jacobian"),
        ),
        Wrong(
            _like(E["leaky-relu"], "leaky-relu-slope-0.1", vjp=_leaky_relu_slope_0_1),
            ("vjp_directional", "jacobian"),
        ),
        Wrong(
            _like(E["softmin"], "softmin-sign-lost", vjp=_softmin_sign_lost),
            ("vjp_directional", "jacobian"),
        ),
        Wrong(
            _like(E["mish"], "mish-tanh-for-sech-squared", vjp=_mish_sech_squared_as_tanh),
            ("vjp_directional", "jacobian"),
        ),
        Wrong(
            _like(E["hardsigmoid"], "hardsigmoid-kink-at-3.5", vjp=_hardsigmoid_kink_at_3_5),
            ("vjp_directional", "jacobian"),
        ),
        Wrong(
            dataclasses.replace(
                E["log-softmax"],
                name="log-softmax-jvp-is-vjp-formula",
                jvp=_log_softmax_jvp_uses_vjp_formula,
                jacobian=None,
            ),
            ("adjoint", "jvp_directional", "jacobian"),
        ),
    )
}
