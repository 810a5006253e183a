"""The dense layer and the costs of the seed series, as specs of several inputs.

Conventions of the seed: columns are examples (``A_prev`` is ``(k, m)``: k units of the
previous layer by m examples), a layer computes ``Z = W A_prev + b`` with ``b`` broadcast over
the columns, and costs average over the m examples. Labels ``Y`` are data: constants, never
differentiated. The fused heads use the identities that make backprop cheap: the gradient of
cross-entropy after softmax (or of binary cross-entropy after sigmoid) with respect to the
pre-activation ``Z`` is ``(A - Y) / m``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness import Spec, register
from harness.domains import Domain, binary, interval, one_hot, simplex
from specs.activations import sigmoid_forward, softmax_forward

Array = NDArray[Any]


def _representable_gradient(dom: Domain) -> Domain:
    """``dom``, with entries kept where ``1 / A`` is finite in the dtype under test.

    A probability of 1e-45 is a float32 value, but the cost's gradient there (``Y / A``) is
    not: the function's overflow, not the code's. Generation stays where it is representable.
    """

    def factory(shape: tuple[int, ...], dtype: Any) -> Any:
        dt = np.dtype(dtype)
        low = dt.type(1e4 / float(np.finfo(dt).max))  # sums of a few gradients stay finite
        high = dt.type(1.0 - 2.0 * float(np.finfo(dt).eps))  # 1 - A stays non-zero
        return dom.strategy(shape, dt).map(lambda a: np.clip(a, low, high))

    return dataclasses.replace(dom, factory=factory)


# -- the dense layer ------------------------------------------------------------------------
def dense_forward(W: Array, b: Array, A_prev: Array) -> Array:
    """Dense layer: ``Z = W A_prev + b``, ``b`` broadcast over the m columns."""
    return W @ A_prev + b


def dense_backward(W: Array, b: Array, A_prev: Array, Z: Array, dZ: Array) -> tuple[Array, ...]:
    """``dW = dZ A_prev^T``, ``db = sum over columns of dZ``, ``dA_prev = W^T dZ``.

    The seed series divides by m in the cost, not here: these are the exact partial
    derivatives of Z.
    """
    return dZ @ A_prev.T, dZ.sum(axis=1, keepdims=True), W.T @ dZ


def dense_jvp(
    W: Array, b: Array, A_prev: Array, Z: Array, dW: Array, db: Array, dA_prev: Array
) -> Array:
    """``dZ = dW A_prev + W dA_prev + db``."""
    return dW @ A_prev + W @ dA_prev + db


register(
    Spec(
        name="dense",
        forward=dense_forward,
        vjp=dense_backward,
        jvp=dense_jvp,
        inputs=("W", "b", "A_prev"),
        shapes="(n,k),(n,1),(k,m)->(n,m)",
        # Row i of Z depends only on row i of W and b; column j only on column j of A_prev.
        structure={"W": "rowwise", "b": "rowwise", "A_prev": "columnwise"},
        formula="dW = dZ A_prev^T, db = sum_cols dZ, dA_prev = W^T dZ",
        dtypes=("float64", "float32"),
    )
)


# -- costs ----------------------------------------------------------------------------------
def bce_forward(A: Array, Y: Array) -> Array:
    """Binary cross-entropy ``J = -(1/m) sum(Y log A + (1 - Y) log(1 - A))``, A in (0, 1)."""
    m = A.shape[1]
    return np.asarray(-(np.sum(Y * np.log(A) + (1 - Y) * np.log1p(-A))) / m, dtype=A.dtype)


def bce_backward(A: Array, Y: Array, J: Array, dJ: Array) -> Array:
    """``dA = dJ (-(Y / A) + (1 - Y) / (1 - A)) / m``."""
    m = A.shape[1]
    return (dJ * (-(Y / A) + (1 - Y) / (1 - A)) / m).astype(A.dtype)


def bce_jvp(A: Array, Y: Array, J: Array, dA: Array) -> Array:
    """``dJ = sum(dA (-(Y / A) + (1 - Y) / (1 - A))) / m``."""
    m = A.shape[1]
    return np.asarray(np.sum(dA * (-(Y / A) + (1 - Y) / (1 - A))) / m, dtype=A.dtype)


register(
    Spec(
        name="binary-cross-entropy",
        forward=bce_forward,
        vjp=bce_backward,
        jvp=bce_jvp,
        inputs=("A", "Y"),
        constants=("Y",),
        shapes="(1,m),(1,m)->()",
        domains={"A": _representable_gradient(interval(0.0, 1.0)), "Y": binary()},
        formula="dA = (-(Y / A) + (1 - Y) / (1 - A)) / m",
    )
)


def cce_forward(A: Array, Y: Array) -> Array:
    """Categorical cross-entropy ``J = -(1/m) sum(Y log A)``, columns of A on the simplex."""
    m = A.shape[1]
    return np.asarray(-np.sum(Y * np.log(A)) / m, dtype=A.dtype)


def cce_backward(A: Array, Y: Array, J: Array, dJ: Array) -> Array:
    """``dA = -dJ Y / (m A)``."""
    m = A.shape[1]
    return (-dJ * Y / (m * A)).astype(A.dtype)


def cce_jvp(A: Array, Y: Array, J: Array, dA: Array) -> Array:
    """``dJ = -sum(Y dA / A) / m``."""
    m = A.shape[1]
    return np.asarray(-np.sum(Y * dA / A) / m, dtype=A.dtype)


register(
    Spec(
        name="categorical-cross-entropy",
        forward=cce_forward,
        vjp=cce_backward,
        jvp=cce_jvp,
        inputs=("A", "Y"),
        constants=("Y",),
        shapes="(n,m),(n,m)->()",
        domains={"A": _representable_gradient(simplex(axis=0)), "Y": one_hot(axis=0)},
        formula="dA = -Y / (m A)",
    )
)


# -- fused heads ----------------------------------------------------------------------------
def softmax_ce_forward(Z: Array, Y: Array) -> Array:
    """Cross-entropy of softmax(Z) over axis 0 (equation (7)), as ``logsumexp - Y . Z``."""
    m = Z.shape[1]
    top = np.max(Z, axis=0, keepdims=True)
    lse = top + np.log(np.sum(np.exp(Z - top), axis=0, keepdims=True))
    labelled = np.sum(np.sum(Y, axis=0, keepdims=True) * lse)
    return np.asarray((labelled - np.sum(Y * Z)) / m, dtype=Z.dtype)


def softmax_ce_backward(Z: Array, Y: Array, J: Array, dJ: Array) -> Array:
    """``dZ = dJ (A - Y) / m`` with ``A = softmax(Z)`` (equations (7), (8) and the cost)."""
    m = Z.shape[1]
    return (dJ * (softmax_forward(Z) - Y) / m).astype(Z.dtype)


def softmax_ce_jvp(Z: Array, Y: Array, J: Array, dZ: Array) -> Array:
    """``dJ = sum((A - Y) dZ) / m``."""
    m = Z.shape[1]
    return np.asarray(np.sum((softmax_forward(Z) - Y) * dZ) / m, dtype=Z.dtype)


register(
    Spec(
        name="softmax-cross-entropy",
        forward=softmax_ce_forward,
        vjp=softmax_ce_backward,
        jvp=softmax_ce_jvp,
        inputs=("Z", "Y"),
        constants=("Y",),
        shapes="(n,m),(n,m)->()",
        domains={"Y": one_hot(axis=0)},
        equations="(7), (8)",
        formula="dZ = (softmax(Z) - Y) / m",
    )
)


def sigmoid_bce_forward(Z: Array, Y: Array) -> Array:
    """Binary cross-entropy of sigmoid(Z) (equation (3)), as ``softplus(Z) - Y Z``, stable."""
    m = Z.shape[1]
    softplus = np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))
    return np.asarray(np.sum(softplus - Y * Z) / m, dtype=Z.dtype)


def sigmoid_bce_backward(Z: Array, Y: Array, J: Array, dJ: Array) -> Array:
    """``dZ = dJ (A - Y) / m`` with ``A = sigmoid(Z)`` (equations (3), (4) and the cost)."""
    m = Z.shape[1]
    return (dJ * (sigmoid_forward(Z) - Y) / m).astype(Z.dtype)


def sigmoid_bce_jvp(Z: Array, Y: Array, J: Array, dZ: Array) -> Array:
    """``dJ = sum((A - Y) dZ) / m``."""
    m = Z.shape[1]
    return np.asarray(np.sum((sigmoid_forward(Z) - Y) * dZ) / m, dtype=Z.dtype)


register(
    Spec(
        name="sigmoid-binary-cross-entropy",
        forward=sigmoid_bce_forward,
        vjp=sigmoid_bce_backward,
        jvp=sigmoid_bce_jvp,
        inputs=("Z", "Y"),
        constants=("Y",),
        shapes="(1,m),(1,m)->()",
        domains={"Y": binary()},
        equations="(3), (4)",
        formula="dZ = (sigmoid(Z) - Y) / m",
    )
)
