"""The seed's four activations, forward and backward in the vectorized forms (1)-(8).

Conventions of the seed: ``Z`` has shape (n, m), n units by m examples, one example per
column; ``A = g(Z)``; the backward pass maps ``dA = dJ/dA`` to ``dZ = dJ/dZ``. The JVPs follow
from the same partial derivatives: every Jacobian here is symmetric (diagonal for the
elementwise activations, ``diag(a) - a a^T`` for softmax), so the JVP has the VJP's form.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness import Spec, register

Array = NDArray[Any]


# -- ReLU ---------------------------------------------------------------------------------------
def relu_forward(Z: Array) -> Array:
    """ReLU, equation (1): ``A = max(0, Z)``."""
    return np.maximum(Z, 0).astype(Z.dtype, copy=False)


def relu_backward(Z: Array, A: Array, dA: Array) -> Array:
    """Equation (2): ``dZ = dA * I(Z > 0)`` (the derivative at 0 taken as 0)."""
    return dA * (Z > 0)


def relu_jvp(Z: Array, A: Array, dZ: Array) -> Array:
    """Forward mode of (2): ``dA = dZ * I(Z > 0)``."""
    return dZ * (Z > 0)


# -- sigmoid ------------------------------------------------------------------------------------
def sigmoid_forward(Z: Array) -> Array:
    """Sigmoid, equation (3): ``A = 1 / (1 + exp(-Z))``.

    Evaluated as ``exp(Z) / (1 + exp(Z))`` where Z < 0, the same function, so that large
    negative inputs do not overflow ``exp(-Z)``.
    """
    A = np.empty_like(Z)
    pos = Z >= 0
    A[pos] = 1 / (1 + np.exp(-Z[pos]))
    e = np.exp(Z[~pos])
    A[~pos] = e / (1 + e)
    return A


def sigmoid_backward(Z: Array, A: Array, dA: Array) -> Array:
    """Equation (4): ``dZ = dA * A * (1 - A)``."""
    return dA * A * (1 - A)


def sigmoid_jvp(Z: Array, A: Array, dZ: Array) -> Array:
    """Forward mode of (4): ``dA = dZ * A * (1 - A)``."""
    return dZ * A * (1 - A)


# -- tanh ---------------------------------------------------------------------------------------
def tanh_forward(Z: Array) -> Array:
    """Tanh, equation (5): ``A = (exp(Z) - exp(-Z)) / (exp(Z) + exp(-Z))``.

    Numerator and denominator are multiplied by ``exp(-|Z|)``, giving
    ``sign(Z) (1 - exp(-2|Z|)) / (1 + exp(-2|Z|))``, which cannot overflow; ``expm1`` keeps
    it accurate near zero.
    """
    # -2|Z| may overflow to -inf for |Z| near the float limit; expm1(-inf) = -1 is then exact.
    with np.errstate(over="ignore"):
        t = np.expm1(-2 * np.abs(Z))
    return np.sign(Z) * (-t / (2 + t))


def tanh_backward(Z: Array, A: Array, dA: Array) -> Array:
    """Equation (6): ``dZ = dA * (1 - A * A)``."""
    return dA * (1 - A * A)


def tanh_jvp(Z: Array, A: Array, dZ: Array) -> Array:
    """Forward mode of (6): ``dA = dZ * (1 - A * A)``."""
    return dZ * (1 - A * A)


# -- softmax ------------------------------------------------------------------------------------
def softmax_forward(Z: Array) -> Array:
    """Softmax over axis 0, equation (7): ``A = exp(Z) / broadcast(sum_axis0 exp(Z))``.

    The column maximum is subtracted first (the quotient is unchanged), so no exponent
    overflows.
    """
    # Z - max may overflow to -inf when logits span more than the float range; exp gives the
    # exact 0 then.
    with np.errstate(over="ignore"):
        E = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return E / np.sum(E, axis=0, keepdims=True)


def softmax_backward(Z: Array, A: Array, dA: Array) -> Array:
    """Equation (8): ``dZ = A * (dA - broadcast(sum_axis0 dA * A))``."""
    return A * (dA - np.sum(dA * A, axis=0, keepdims=True))


def softmax_jvp(Z: Array, A: Array, dZ: Array) -> Array:
    """Forward mode: ``dA = A * (dZ - broadcast(sum_axis0 A * dZ))`` (the Jacobian is symmetric)."""
    return A * (dZ - np.sum(A * dZ, axis=0, keepdims=True))


def softmax_jacobian(z: Array, a: Array) -> Array:
    """The Jacobian of one column: ``diag(a) - a a^T``, from da_j/dz_j = a_j (1 - a_j) and
    da_p/dz_j = -a_p a_j (the partial derivatives before equation (8))."""
    return np.diag(a) - np.outer(a, a)


relu = register(
    Spec(
        name="relu",
        forward=relu_forward,
        vjp=relu_backward,
        jvp=relu_jvp,
        structure="elementwise",
        kinks=(0.0,),
        equations="(1), (2)",
        formula="dZ = dA * I(Z > 0)",
        dtypes=("float64", "float32", "float16"),
    )
)
sigmoid = register(
    Spec(
        name="sigmoid",
        forward=sigmoid_forward,
        vjp=sigmoid_backward,
        jvp=sigmoid_jvp,
        structure="elementwise",
        equations="(3), (4)",
        formula="dZ = dA * A * (1 - A)",
        dtypes=("float64", "float32", "float16"),
    )
)
tanh = register(
    Spec(
        name="tanh",
        forward=tanh_forward,
        vjp=tanh_backward,
        jvp=tanh_jvp,
        structure="elementwise",
        equations="(5), (6)",
        formula="dZ = dA * (1 - A * A)",
        dtypes=("float64", "float32", "float16"),
    )
)
softmax = register(
    Spec(
        name="softmax",
        forward=softmax_forward,
        vjp=softmax_backward,
        jvp=softmax_jvp,
        jacobian=softmax_jacobian,
        structure="columnwise",
        equations="(7), (8)",
        formula="dZ = A * (dA - broadcast(sum_axis0 dA * A))",
        dtypes=("float64", "float32", "float16"),
    )
)


# -- second order -------------------------------------------------------------------------------
# second_vjp(Z, A, dA, g): the gradient wrt Z of <g, vjp(Z, forward(Z), dA)>, the forward of
# Z included. For an elementwise g it is ``g * dA * g''(Z)``.
def relu_second_vjp(Z: Array, A: Array, dA: Array, g: Array) -> Array:
    """Second-order VJP of (2): ``dA * I(Z > 0)`` is piecewise constant in ``Z``, so 0.

    (At 0 itself the VJP jumps; a second-order check must keep its stencils off 0.)
    """
    return np.zeros_like(Z)


def sigmoid_second_vjp(Z: Array, A: Array, dA: Array, g: Array) -> Array:
    """Second-order VJP of (4): ``g * dA * A (1 - A) (1 - 2A)``.

    From ``d/dZ [A (1 - A)] = A' (1 - A) - A A' = A (1 - A) (1 - 2A)``.
    """
    return g * dA * A * (1 - A) * (1 - 2 * A)


def tanh_second_vjp(Z: Array, A: Array, dA: Array, g: Array) -> Array:
    """Second-order VJP of (6): ``g * dA * (-2 A (1 - A^2))``, from ``d/dZ (1 - A^2) = -2 A A'``."""
    return g * dA * (-2 * A) * (1 - A * A)


def softmax_second_vjp(Z: Array, A: Array, dA: Array, g: Array) -> Array:
    """Second-order VJP of (8): the gradient wrt ``Z`` of ``<g, A * (dA - sum_axis0 dA A)>``.

    With ``c = sum_axis0 A dA`` (a row vector), the gradient of ``<g, A (dA - c)>`` wrt ``A``
    is ``x = g * (dA - c) - dA * broadcast(sum_axis0 g A)``: the first term from the factor
    ``A``, the second through ``c``. Softmax's Jacobian ``diag(a) - a a^T`` is symmetric, so
    the gradient wrt ``Z`` is (8) applied to ``x``: ``A * (x - broadcast(sum_axis0 A x))``.
    """
    c = np.sum(A * dA, axis=0, keepdims=True)
    x = g * (dA - c) - dA * np.sum(g * A, axis=0, keepdims=True)
    return A * (x - np.sum(A * x, axis=0, keepdims=True))


#: The second-order VJP of each spec above, by spec name (to be passed as ``second_vjp=``).
SECOND_VJP = {
    "relu": relu_second_vjp,
    "sigmoid": sigmoid_second_vjp,
    "tanh": tanh_second_vjp,
    "softmax": softmax_second_vjp,
}
