"""Whole networks in the seed series' style, checked from their parameter dictionaries.

Each network is written the way a student writes it: ``forward_propagation`` over a
``params`` dictionary keeps a cache, ``backward_propagation`` walks it back and returns
``{"dW1": ..., "db1": ...}``. They are registered through
:func:`harness.params.register_params`, so ``make verify`` checks every entry of every
gradient, one verdict per parameter. Columns are examples; costs average over m.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.params import register_params
from specs.activations import relu_forward, sigmoid_forward, softmax_forward

Array = NDArray[Any]


def init_params(sizes: list[int], seed: int) -> dict[str, Array]:
    """``W1, b1, ..., WL, bL`` for layer sizes ``[n0, n1, ..., nL]`` (small random weights)."""
    rng = np.random.default_rng(seed)
    params: dict[str, Array] = {}
    for layer in range(1, len(sizes)):
        scale = np.sqrt(2.0 / sizes[layer - 1])
        params[f"W{layer}"] = rng.standard_normal((sizes[layer], sizes[layer - 1])) * scale
        params[f"b{layer}"] = 0.1 * rng.standard_normal((sizes[layer], 1))
    return params


# -- two layers: dense, ReLU (1), dense, softmax (7) + cross-entropy ---------------------------
def two_layer_forward(params: dict[str, Array], X: Array) -> tuple[Array, dict[str, Array]]:
    """``A2 = softmax(W2 relu(W1 X + b1) + b2)``, and the cache for backprop."""
    Z1 = params["W1"] @ X + params["b1"]
    A1 = relu_forward(Z1)
    Z2 = params["W2"] @ A1 + params["b2"]
    return softmax_forward(Z2), {"Z1": Z1, "A1": A1}


def two_layer_loss(params: dict[str, Array], X: Array, Y: Array) -> Array:
    """Cross-entropy ``-(1/m) sum Y log A2`` of the two-layer softmax network."""
    A2, _ = two_layer_forward(params, X)
    return np.asarray(-np.sum(Y * np.log(A2)) / X.shape[1])


def two_layer_backward(params: dict[str, Array], X: Array, Y: Array) -> dict[str, Array]:
    """Backprop: ``dZ2 = (A2 - Y)/m`` (softmax + cross-entropy), ReLU mask by (2)."""
    m = X.shape[1]
    A2, cache = two_layer_forward(params, X)
    dZ2 = (A2 - Y) / m
    dW2 = dZ2 @ cache["A1"].T
    db2 = dZ2.sum(axis=1, keepdims=True)
    dA1 = params["W2"].T @ dZ2
    dZ1 = dA1 * (cache["Z1"] > 0)
    return {"dW1": dZ1 @ X.T, "db1": dZ1.sum(axis=1, keepdims=True), "dW2": dW2, "db2": db2}


# -- L layers: ReLU hidden layers, sigmoid (3) head + binary cross-entropy ------------------------
def deep_forward(params: dict[str, Array], X: Array) -> tuple[Array, list[tuple[Array, Array]]]:
    """``A_L = sigmoid(W_L ... relu(W_1 X + b_1) ... + b_L)``; caches ``(A_prev, Z)``."""
    L = len(params) // 2
    A = X
    caches = []
    for layer in range(1, L + 1):
        Z = params[f"W{layer}"] @ A + params[f"b{layer}"]
        caches.append((A, Z))
        A = sigmoid_forward(Z) if layer == L else relu_forward(Z)
    return A, caches


def deep_loss(params: dict[str, Array], X: Array, Y: Array) -> Array:
    """Binary cross-entropy of the L-layer network's sigmoid output."""
    AL, _ = deep_forward(params, X)
    m = X.shape[1]
    return np.asarray(-np.sum(Y * np.log(AL) + (1 - Y) * np.log1p(-AL)) / m)


def deep_backward(params: dict[str, Array], X: Array, Y: Array) -> dict[str, Array]:
    """Backprop through sigmoid + BCE (``dZ_L = (A_L - Y)/m``) and ReLU layers (2)."""
    L = len(params) // 2
    m = X.shape[1]
    AL, caches = deep_forward(params, X)
    grads: dict[str, Array] = {}
    dZ = (AL - Y) / m
    for layer in range(L, 0, -1):
        A_prev, _ = caches[layer - 1]
        grads[f"dW{layer}"] = dZ @ A_prev.T
        grads[f"db{layer}"] = dZ.sum(axis=1, keepdims=True)
        if layer > 1:
            dA_prev = params[f"W{layer}"].T @ dZ
            dZ = dA_prev * (caches[layer - 2][1] > 0)  # ReLU of the layer below, (2)
    return grads


def _data(n_in: int, n_out: int, m: int, seed: int, one_hot: bool) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_in, m))
    if one_hot:
        Y = np.zeros((n_out, m))
        Y[rng.integers(0, n_out, size=m), np.arange(m)] = 1.0
    else:
        Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    return X, Y


_X2, _Y2 = _data(4, 3, 7, seed=1, one_hot=True)
register_params(
    "two-layer-network",
    two_layer_loss,
    two_layer_backward,
    init_params([4, 5, 3], seed=2),
    _X2,
    _Y2,
    # At these parameters and data; points around them can put a hidden ReLU within a
    # step of its kink, which a network cannot declare (see README, Limits).
    around=False,
)

_XL, _YL = _data(5, 1, 6, seed=3, one_hot=False)
register_params(
    "deep-network",
    deep_loss,
    deep_backward,
    init_params([5, 4, 3, 1], seed=4),
    _XL,
    _YL,
    around=False,
)
