"""Correct activations written the ordinary, less stable way, and where each is hard.

Each VJP here is correct to an ulp or two of the true derivative (checked against mpmath at
50 digits in ``tests/test_trust.py``); the *forwards* are the ordinary forms people write,
which reach a small value by cancellation and so carry far more rounding noise than a few
ulps of their output (softplus ``log(1 + exp(z))`` at z = -20: relative error 5e-8). A
verifier must pass all of them: the noise is the oracle's problem, not the implementation's.

``ROUNDING_LIMITED`` holds the second-derivative forms whose backward is computed from a
rounded sigmoid or tanh (the rounding policy one level up from sigmoid's ``A (1 - A)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness import Spec

Array = NDArray[Any]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(Z: Array) -> Array:
    """Accurate sigmoid, no overflow: ``1 / (1 + e)`` or ``e / (1 + e)``, e = exp(-|z|)."""
    e = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e)).astype(Z.dtype, copy=False)


def _sech2(Z: Array) -> Array:
    """Accurate ``1 / cosh(z)**2 = 4 e / (1 + e)**2`` with ``e = exp(-2|z|)``."""
    e = np.exp(-2 * np.abs(Z))
    return (4 * e / (1 + e) ** 2).astype(Z.dtype, copy=False)


def _sig_prime(Z: Array) -> Array:
    """Accurate ``s (1 - s) = e / (1 + e)**2`` with ``e = exp(-|z|)``."""
    e = np.exp(-np.abs(Z))
    return (e / (1 + e) ** 2).astype(Z.dtype, copy=False)


# -- softplus: log(1 + exp(z)) -------------------------------------------------------------------
def softplus_forward(Z: Array) -> Array:
    """Softplus the ordinary way: ``log(1 + exp(z))`` (noisy for z < -6, inf past exp's range)."""
    with np.errstate(over="ignore"):
        return np.log(1 + np.exp(Z))


softplus = Spec(
    name="softplus-ordinary",
    forward=softplus_forward,
    vjp=lambda Z, A, dA: dA * _sigmoid(Z),
    jvp=lambda Z, A, dZ: dZ * _sigmoid(Z),
    structure="elementwise",
    formula="dZ = dA * sigmoid(Z)",
    max_abs_input=80.0,  # exp(z) overflows past 88 in float32; the forward is meant below it
)


# -- ELU and SELU: alpha * (exp(z) - 1) for z < 0 ----------------------------------------------
def _elu(alpha: float, scale: float = 1.0) -> tuple[Any, Any]:
    def forward(Z: Array) -> Array:
        neg = alpha * (np.exp(np.minimum(Z, 0)) - 1)
        return (scale * np.where(Z > 0, Z, neg)).astype(Z.dtype, copy=False)

    def slope(Z: Array) -> Array:
        return (scale * np.where(Z > 0, 1.0, alpha * np.exp(np.minimum(Z, 0)))).astype(
            Z.dtype, copy=False
        )

    return forward, slope


def _elu_spec(name: str, alpha: float, scale: float = 1.0) -> Spec:
    forward, slope = _elu(alpha, scale)
    return Spec(
        name=name,
        forward=forward,
        vjp=lambda Z, A, dA: dA * slope(Z),
        jvp=lambda Z, A, dZ: dZ * slope(Z),
        structure="elementwise",
        kinks=(0.0,),
        formula="dZ = dA * (1 if Z > 0 else alpha * exp(Z))",
    )


elu1 = _elu_spec("elu-ordinary-alpha1", 1.0)
elu05 = _elu_spec("elu-ordinary-alpha0.5", 0.5)
selu = _elu_spec("selu-ordinary", SELU_ALPHA, SELU_SCALE)


# -- second-derivative-like forwards -------------------------------------------------------------
def tanh_prime_forward(Z: Array) -> Array:
    """``1 - tanh(z)**2``, the ordinary way (cancels for |z| > 3)."""
    return 1 - np.tanh(Z) ** 2


tanh_prime = Spec(
    name="tanh-prime-ordinary",
    forward=tanh_prime_forward,
    # d/dz sech^2 = -2 tanh sech^2, with sech^2 computed accurately.
    vjp=lambda Z, A, dA: dA * (-2 * np.tanh(Z) * _sech2(Z)),
    jvp=lambda Z, A, dZ: dZ * (-2 * np.tanh(Z) * _sech2(Z)),
    structure="elementwise",
    formula="dZ = dA * (-2 tanh(Z) sech(Z)^2)",
)


def sigmoid_prime_forward(Z: Array) -> Array:
    """``s * (1 - s)`` with ``s`` the sigmoid, the ordinary way (cancels for z > 5)."""
    s = _sigmoid(Z)
    return s * (1 - s)


sigmoid_prime = Spec(
    name="sigmoid-prime-ordinary",
    forward=sigmoid_prime_forward,
    # d/dz s(1-s) = s(1-s)(1-2s) = -s(1-s) tanh(z/2), each factor accurate.
    vjp=lambda Z, A, dA: dA * (-_sig_prime(Z) * np.tanh(Z / 2)),
    jvp=lambda Z, A, dZ: dZ * (-_sig_prime(Z) * np.tanh(Z / 2)),
    structure="elementwise",
    formula="dZ = dA * s (1 - s) (1 - 2 s)",
)


# -- exp near its overflow ------------------------------------------------------------------------
def exp_forward(Z: Array) -> Array:
    """``exp(z)``: overflows for z > 709.78 (float64), 88.72 (float32): the function does."""
    with np.errstate(over="ignore"):
        return np.exp(Z)


exp = Spec(
    name="exp",
    forward=exp_forward,
    vjp=lambda Z, A, dA: dA * A,
    jvp=lambda Z, A, dZ: dZ * A,
    structure="elementwise",
    formula="dZ = dA * A",
)


# -- rounding-limited one level up: backward from a rounded sigmoid or tanh ----------------------
def _plain_sigmoid(Z: Array) -> Array:
    return _sigmoid(Z)


def sigmoid_prime_rounded_forward(Z: Array) -> Array:
    """``s (1 - s)`` from the rounded sigmoid (exactly 0 for z >= 17 in float32)."""
    s = _plain_sigmoid(Z)
    return s * (1 - s)


sigmoid_prime_rounded = Spec(
    name="sigmoid-prime-from-rounded-s",
    forward=sigmoid_prime_rounded_forward,
    vjp=lambda Z, A, dA: (
        dA * _plain_sigmoid(Z) * (1 - _plain_sigmoid(Z)) * (1 - 2 * _plain_sigmoid(Z))
    ),
    structure="elementwise",
    formula="dZ = dA * s (1 - s) (1 - 2 s), s rounded",
)


def tanh_prime_rounded_forward(Z: Array) -> Array:
    t = np.tanh(Z)
    return 1 - t * t


tanh_prime_rounded = Spec(
    name="tanh-prime-from-rounded-t",
    forward=tanh_prime_rounded_forward,
    vjp=lambda Z, A, dA: dA * (-2 * np.tanh(Z) * (1 - np.tanh(Z) ** 2)),
    structure="elementwise",
    formula="dZ = dA * (-2 t (1 - t^2)), t rounded",
)

ORDINARY: tuple[Spec, ...] = (softplus, elu1, elu05, selu, tanh_prime, sigmoid_prime, exp)
ROUNDING_LIMITED: tuple[Spec, ...] = (sigmoid_prime_rounded, tanh_prime_rounded)

# The true derivative of each ordinary forward, for the mpmath cross-check.
TRUE_DERIVATIVE = {
    "softplus-ordinary": "1 / (1 + exp(-z))",
    "elu-ordinary-alpha1": "1 if z > 0 else exp(z)",
    "elu-ordinary-alpha0.5": "1 if z > 0 else 0.5 * exp(z)",
    "selu-ordinary": "scale if z > 0 else scale * alpha * exp(z)",
    "tanh-prime-ordinary": "-2 * tanh(z) / cosh(z)**2",
    "sigmoid-prime-ordinary": "exp(-z) * (exp(-z) - 1) / (1 + exp(-z))**3",
    "exp": "exp(z)",
}
