"""Activations with a learned parameter: PReLU, whose slope is an input of its own.

A spec of several inputs (``inputs=``, ``shapes=``, per-input ``structure`` and ``kinks``).

PReLU (He et al., 2015) is leaky ReLU with one learned slope per unit: for ``Z`` of shape
(n, m), n units by m examples, and ``a`` of shape (n, 1),

    A = Z            where Z > 0
    A = a * Z        elsewhere (a broadcast over the m columns),

the seed's equation (1) with the zero branch replaced by a line of slope ``a``. Its partial
derivatives, as in (2):

    dA_ji / dZ_ji = 1 if Z_ji > 0 else a_j        (a kink at Z = 0 whenever a_j != 1)
    dA_ji / da_j  = 0 if Z_ji > 0 else Z_ji

so the backward pass is ``dZ = dA * where(Z > 0, 1, a)`` and, since ``a_j`` is shared by
the row's m examples, ``da = sum_axis1 dA * where(Z > 0, 0, Z)`` (shape (n, 1)).

Kinks: PReLU has one at ``Z = 0`` (for every slope but 1), declared per input
(:data:`PRELU_KINKS`): stencils stay on one side of it, and at ``Z = 0`` the derivative
returned must lie between the one-sided ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness import Spec, register

Array = NDArray[Any]

#: The kinks of PReLU, per input: ``Z = 0``; none in ``a`` (A is linear in a).
PRELU_KINKS: dict[str, tuple[float, ...]] = {"Z": (0.0,)}


def prelu_forward(Z: Array, a: Array) -> Array:
    """PReLU: ``A = where(Z > 0, Z, a * Z)``, ``a`` of shape (n, 1) broadcast over columns.

    Parameters
    ----------
    Z : ndarray, shape (n, m)
        Pre-activations, one example per column.
    a : ndarray, shape (n, 1)
        One slope per unit (row), for the negative side.

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return np.where(Z > 0, Z, a * Z)


def prelu_vjp(Z: Array, a: Array, A: Array, dA: Array) -> tuple[Array, Array]:
    """VJP: ``dZ = dA * where(Z > 0, 1, a)`` and ``da = sum_axis1 dA * where(Z > 0, 0, Z)``.

    Parameters
    ----------
    Z : ndarray, shape (n, m)
    a : ndarray, shape (n, 1)
    A : ndarray, shape (n, m)
        ``prelu_forward(Z, a)``.
    dA : ndarray, shape (n, m)
        ``dJ/dA``.

    Returns
    -------
    (dZ, da) : ndarrays of shapes (n, m) and (n, 1)
        ``dJ/dZ`` and ``dJ/da``; the derivative wrt ``Z`` at 0 is taken as ``a`` (the left
        one, a valid subgradient).
    """
    pos = Z > 0
    dZ = np.where(pos, dA, a * dA)
    da = np.sum(np.where(pos, 0, dA * Z), axis=1, keepdims=True)
    return dZ, da.astype(a.dtype, copy=False)


def prelu_jvp(Z: Array, a: Array, A: Array, dZ: Array, da: Array) -> Array:
    """JVP: ``dA = where(Z > 0, dZ, a * dZ + da * Z)`` (tangents ``dZ`` (n, m), ``da`` (n, 1)).

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return np.where(Z > 0, dZ, a * dZ + da * Z)


prelu = register(
    Spec(
        name="prelu",
        inputs=("Z", "a"),
        shapes="(n,m),(n,1)->(n,m)",
        forward=prelu_forward,
        vjp=prelu_vjp,
        jvp=prelu_jvp,
        # A[j, i] depends on Z[j, i] only, and on a[j] (row j) for every column.
        structure={"Z": "elementwise", "a": "rowwise"},
        kinks=PRELU_KINKS,
        equations="from (1), (2)",
        formula="dZ = dA * where(Z > 0, 1, a); da = sum_axis1 dA * where(Z > 0, 0, Z)",
        # float16 left out: a * Z underflows to 0 for |a Z| below 6e-8 while the derivative
        # a does not, which the float16 error model does not yet allow for.
        dtypes=("float64", "float32"),
    )
)
