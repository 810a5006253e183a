"""Wrong implementations, each wrong only in one adversarial family of inputs.

A verifier must catch each one at an input of its family, or say that it could not decide
there ("unresolved"); it must never pass it. Each entry names the inputs where it is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness import Spec
from specs import activations as act

Array = NDArray[Any]


@dataclass(frozen=True)
class WrongAt:
    """A spec that is wrong only at some inputs, and such inputs per dtype."""

    spec: Spec
    inputs: dict[str, tuple[Array, ...]]  # dtype name -> inputs where it is wrong
    family: str


def _softmax_like(name: str, vjp: Any) -> Spec:
    return Spec(
        name=name,
        forward=act.softmax_forward,
        vjp=vjp,
        structure="columnwise",
        dtypes=("float64", "float32"),
    )


# -- ties: wrong only where a column has two or more equal maxima -------------------------------
def _softmax_vjp_ties(Z: Array, A: Array, dA: Array) -> Array:
    G = act.softmax_backward(Z, A, dA)
    tied = np.sum(np.max(Z, axis=0, keepdims=True) == Z, axis=0, keepdims=True) >= 2
    return np.where(tied, 1.5 * G, G).astype(Z.dtype, copy=False)


ties = WrongAt(
    _softmax_like("softmax-wrong-at-ties", _softmax_vjp_ties),
    {
        "float64": (np.array([[1.0, 0.5], [1.0, -2.0], [-1.0, 0.25]]), np.full((3, 1), 2.0)),
        "float32": (np.array([[1.0, 0.5], [1.0, -2.0], [-1.0, 0.25]], dtype=np.float32),),
    },
    "ties",
)


# -- huge logits: columns whose largest |z| exceeds 1e100 get zeros ------------------------------
def _softmax_vjp_huge(Z: Array, A: Array, dA: Array) -> Array:
    G = act.softmax_backward(Z, A, dA)
    huge = np.max(np.abs(Z), axis=0, keepdims=True) > 1e100
    return np.where(huge, 0.0, G).astype(Z.dtype, copy=False)


huge_logits = WrongAt(
    _softmax_like("softmax-zero-at-huge-logits", _softmax_vjp_huge),
    {
        # Where the column's softmax is not one-hot: there its Jacobian is not 0. (At
        # [[1e150], [1e150 + 1e136], [-3]] the softmax is exactly one-hot, the Jacobian is 0
        # and returning zeros is right.)
        "float64": (
            np.full((3, 1), 9.49e162),
            np.array([[1e150], [1e150], [-3.0]]),
            np.array([[1e120, 0.5], [1e120, 0.25]]),
        ),
    },
    "dominant",
)


# -- saturation band: sigmoid's VJP 1.5 times too large for 15 < |z| < 60 -------------------------
def _sigmoid_vjp_band(Z: Array, A: Array, dA: Array) -> Array:
    G = act.sigmoid_backward(Z, A, dA)
    band = (np.abs(Z) > 15) & (np.abs(Z) < 60)
    return np.where(band, 1.5 * G, G).astype(Z.dtype, copy=False)


saturation = WrongAt(
    Spec(
        name="sigmoid-wrong-in-saturation-band",
        forward=act.sigmoid_forward,
        vjp=_sigmoid_vjp_band,
        structure="elementwise",
    ),
    {
        "float64": (np.array([[17.0, -20.0], [30.0, 1.0]]),),
        "float32": (np.array([[-17.0, -20.0]], dtype=np.float32),),
    },
    "saturation",
)


# -- subnormals: the derivative flushed to zero for subnormal inputs ------------------------------
def _sigmoid_vjp_ftz(Z: Array, A: Array, dA: Array) -> Array:
    tiny = np.finfo(Z.dtype).tiny
    sub = (Z != 0) & (np.abs(Z) < tiny)
    return np.where(sub, 0.0, act.sigmoid_backward(Z, A, dA)).astype(Z.dtype, copy=False)


subnormal = WrongAt(
    Spec(
        name="sigmoid-zero-on-subnormals",
        forward=act.sigmoid_forward,
        vjp=_sigmoid_vjp_ftz,
        structure="elementwise",
    ),
    {
        "float64": (np.array([[5e-324, -1e-310], [0.5, 2.0]]),),
        "float32": (np.array([[1e-40, -1e-45]], dtype=np.float32),),
    },
    "subnormal",
)


# -- above |z| = 1e3: a leaky ReLU whose slopes are swapped there --------------------------------
def _leaky_forward(Z: Array) -> Array:
    return np.where(Z > 0, Z, 0.01 * Z).astype(Z.dtype, copy=False)


def _leaky_vjp_large(Z: Array, A: Array, dA: Array) -> Array:
    slope = np.where(Z > 0, 1.0, 0.01)
    slope = np.where(np.abs(Z) > 1e3, 1.01 - slope, slope)
    return (dA * slope).astype(Z.dtype, copy=False)


above_1e3 = WrongAt(
    Spec(
        name="leaky-relu-wrong-above-1e3",
        forward=_leaky_forward,
        vjp=_leaky_vjp_large,
        structure="elementwise",
        kinks=(0.0,),
    ),
    {
        "float64": (np.array([[2e3, -5e3], [1.0, -1.0]]), np.array([[1e200]])),
        "float32": (np.array([[2e3, -5e3]], dtype=np.float32), np.array([[1e30]], np.float32)),
    },
    "log-magnitude",
)


# -- an affine function whose VJP uses slope 3 instead of 2.5 -------------------------------------
affine_wrong = Spec(
    name="affine-slope-3-not-2.5",
    forward=lambda Z: 2.5 * Z + 1,
    vjp=lambda Z, A, dA: 3 * dA,
    structure="elementwise",
)
affine = WrongAt(
    affine_wrong,
    {
        "float32": (np.array([[1e6]], dtype=np.float32), np.full((2, 3), -1e6, np.float32)),
        "float64": (np.array([[1e12]]), np.full((2, 2), 1e12)),
    },
    "log-magnitude",
)


# -- a ReLU whose slope is halved above 1e12 -----------------------------------------------------
relu_halved = WrongAt(
    Spec(
        name="relu-slope-halved-above-1e12",
        forward=act.relu_forward,
        vjp=lambda Z, A, dA: (
            dA * np.where(Z > 1e12, 0.5, (Z > 0).astype(np.float64)).astype(Z.dtype)
        ),
        structure="elementwise",
        kinks=(0.0,),
    ),
    {"float64": (np.array([[1e13]]), np.array([[3e15, -1.0], [2.0, 1e14]]))},
    "log-magnitude",
)

BY_FAMILY: tuple[WrongAt, ...] = (
    ties,
    huge_logits,
    saturation,
    subnormal,
    above_1e3,
    affine,
    relu_halved,
)
