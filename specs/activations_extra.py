"""The activations people use beyond the seed's four, with first and second derivatives.

Conventions are the seed's: ``Z`` has shape (n, m), n units by m examples, one example per
column; ``A = g(Z)``; the VJP maps ``dA = dJ/dA`` to ``dZ = dJ/dZ``, the JVP maps a tangent
``dZ`` to ``dA``. Every function here returns arrays of ``Z``'s dtype (float64, float32 or
float16): constants are Python floats, which do not widen a float16 array, and the few scipy
calls that widen (``erfc`` on float16 returns float32) are cast back.

Elementwise activations (``A = g(Z)`` entry by entry) are written as a forward ``g`` and its
derivatives ``g'`` and ``g''``; the VJP and JVP are then ``dZ = dA * g'(Z)`` and
``dA = dZ * g'(Z)`` (the Jacobian is diagonal), and the second-order VJP (see
:data:`SECOND_VJP`) is ``g * dA * g''(Z)``. Piecewise functions declare their *kinks*, the
points where ``g`` is continuous but ``g'`` jumps; at a kink the derivative returned is one
of the one-sided derivatives, a valid subgradient.

Stable forms: no function here overflows or warns for finite ``|Z|`` up to the dtype's
largest value; where a textbook form would overflow (``exp(Z)`` for large ``Z``, ``Z**3``)
or cancel (``1 + tanh(u)`` for very negative ``u``, ``1 + erf(x)``), the docstring says what
is computed instead. The one exception is inherent: log-softmax of a column whose logits
span more than the dtype's range has a true value beyond it, returned as ``-inf``.

Equation numbers refer to the seed derivation (ReLU (1)-(2), sigmoid (3)-(4), tanh (5)-(6),
softmax (7)-(8)); see ``specs/activations.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special
from numpy.typing import NDArray

from harness import Spec, register

Array = NDArray[Any]
Derivative = Callable[[Array, Array], Array]

ALL_DTYPES = ("float64", "float32", "float16")

__all__ = ["NAMES", "SECOND_VJP", "SPECS"]


# -- helpers ------------------------------------------------------------------------------------
def _sigmoid(X: Array) -> Array:
    """Equation (3), ``1 / (1 + exp(-X))``, via ``exp(-|X|)`` so that nothing overflows."""
    e = np.exp(-np.abs(X))
    return np.where(X >= 0, 1 / (1 + e), e / (1 + e))


def _elementwise_vjp(name: str, deriv: Derivative) -> Callable[[Array, Array, Array], Array]:
    def vjp(Z: Array, A: Array, dA: Array) -> Array:
        return (dA * deriv(Z, A)).astype(Z.dtype, copy=False)

    vjp.__name__ = vjp.__qualname__ = f"{name}_vjp"
    vjp.__doc__ = (
        f"VJP of {name}: ``dZ = dA * g'(Z)`` (diagonal Jacobian), where\n\n{_indent(deriv.__doc__)}"
    )
    return vjp


def _elementwise_jvp(name: str, deriv: Derivative) -> Callable[[Array, Array, Array], Array]:
    def jvp(Z: Array, A: Array, dZ: Array) -> Array:
        return (dZ * deriv(Z, A)).astype(Z.dtype, copy=False)

    jvp.__name__ = jvp.__qualname__ = f"{name}_jvp"
    jvp.__doc__ = f"JVP of {name}: ``dA = dZ * g'(Z)``, with ``g'`` as in the VJP."
    return jvp


def _elementwise_second_vjp(
    name: str, second: Derivative
) -> Callable[[Array, Array, Array, Array], Array]:
    def second_vjp(Z: Array, A: Array, dA: Array, g: Array) -> Array:
        return (g * dA * second(Z, A)).astype(Z.dtype, copy=False)

    second_vjp.__name__ = second_vjp.__qualname__ = f"{name}_second_vjp"
    second_vjp.__doc__ = (
        f"Second-order VJP of {name}: the gradient wrt ``Z`` of ``<g, dA * g'(Z)>``, "
        f"``g * dA * g''(Z)``, where\n\n{_indent(second.__doc__)}"
    )
    return second_vjp


def _indent(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return "\n".join("    " + line.strip() if line.strip() else "" for line in lines)


# Filled by _elementwise() and the columnwise registrations below.
SPECS: dict[str, Spec] = {}
SECOND_VJP: dict[str, Callable[..., Array]] = {}


def _elementwise(
    name: str,
    forward: Callable[[Array], Array],
    deriv: Derivative,
    second: Derivative,
    *,
    formula: str,
    equations: str = "",
    kinks: tuple[float, ...] = (),
) -> Spec:
    """Register an elementwise activation from ``g``, ``g'`` and ``g''``."""
    stem = name.replace("-", "_")
    vjp = _elementwise_vjp(stem, deriv)
    jvp = _elementwise_jvp(stem, deriv)
    second_vjp = _elementwise_second_vjp(stem, second)
    spec = register(
        Spec(
            name=name,
            forward=forward,
            vjp=vjp,
            jvp=jvp,
            structure="elementwise",
            kinks=kinks,
            equations=equations,
            formula=formula,
            dtypes=ALL_DTYPES,
        )
    )
    SPECS[name] = spec
    SECOND_VJP[name] = second_vjp
    return spec


def _zeros(Z: Array, A: Array) -> Array:
    """``g''(Z) = 0`` away from the kinks (the function is piecewise linear)."""
    return np.zeros_like(Z)


# -- leaky ReLU ---------------------------------------------------------------------------------
LEAKY_SLOPE = 0.01


def leaky_relu_forward(Z: Array) -> Array:
    """Leaky ReLU with slope 0.01: ``A = Z`` where ``Z > 0``, ``0.01 Z`` elsewhere.

    Equation (1) with the zero branch replaced by a line of slope 0.01.

    Parameters
    ----------
    Z : ndarray, shape (n, m)
        Pre-activations, one example per column.

    Returns
    -------
    ndarray, shape (n, m)
        ``max(Z, 0.01 Z)``, in ``Z``'s dtype.
    """
    return np.where(Z > 0, Z, LEAKY_SLOPE * Z)


def leaky_relu_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = 1`` where ``Z > 0``, ``0.01`` elsewhere (as (2); 0.01 at the kink 0)."""
    return np.where(Z > 0, 1.0, LEAKY_SLOPE).astype(Z.dtype)


# -- ELU / CELU / SELU --------------------------------------------------------------------------
ELU_ALPHA = 1.0
CELU_ALPHA = 1.0
# Klambauer et al. (2017), the fixed point of mean 0 and variance 1.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def elu_forward(Z: Array) -> Array:
    """ELU with alpha = 1: ``A = Z`` where ``Z > 0``, ``alpha (exp(Z) - 1)`` elsewhere.

    ``expm1`` keeps the negative branch accurate near 0; it is evaluated at ``min(Z, 0)`` so
    that the unused branch cannot overflow. With alpha = 1 both one-sided derivatives at 0
    are 1: ELU is continuously differentiable and has no kink.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return np.where(Z > 0, Z, ELU_ALPHA * np.expm1(np.minimum(Z, 0)))


def elu_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = 1`` where ``Z > 0``, ``alpha exp(Z)`` elsewhere (not ``A + alpha``, which
    cancels for very negative ``Z``)."""
    return np.where(Z > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(Z, 0))).astype(Z.dtype)


def elu_second(Z: Array, A: Array) -> Array:
    """``g''(Z) = 0`` where ``Z > 0``, ``alpha exp(Z)`` where ``Z < 0``; ``g''`` jumps at 0
    (from 1 to 0): ``g'`` has a kink there."""
    return np.where(Z > 0, 0.0, ELU_ALPHA * np.exp(np.minimum(Z, 0))).astype(Z.dtype)


def celu_forward(Z: Array) -> Array:
    """CELU with alpha = 1: ``A = max(0, Z) + min(0, alpha (exp(Z / alpha) - 1))``.

    Continuously differentiable for every alpha (both one-sided derivatives at 0 are 1), so
    no kink; with alpha = 1 it equals ELU. Stable form as ELU's.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return np.where(Z > 0, Z, CELU_ALPHA * np.expm1(np.minimum(Z, 0) / CELU_ALPHA))


def celu_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = 1`` where ``Z > 0``, ``exp(Z / alpha)`` elsewhere."""
    return np.where(Z > 0, 1.0, np.exp(np.minimum(Z, 0) / CELU_ALPHA)).astype(Z.dtype)


def celu_second(Z: Array, A: Array) -> Array:
    """``g''(Z) = 0`` where ``Z > 0``, ``exp(Z / alpha) / alpha`` where ``Z < 0``."""
    e = np.exp(np.minimum(Z, 0) / CELU_ALPHA) / CELU_ALPHA
    return np.where(Z > 0, 0.0, e).astype(Z.dtype)


def selu_forward(Z: Array) -> Array:
    """SELU: ``A = scale Z`` where ``Z > 0``, ``scale alpha (exp(Z) - 1)`` elsewhere.

    ``scale = 1.0507009873554805``, ``alpha = 1.6732632423543772``. The one-sided derivatives
    at 0 are ``scale`` and ``scale alpha = 1.7581``: a kink at 0.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    neg = (SELU_SCALE * SELU_ALPHA) * np.expm1(np.minimum(Z, 0))
    return np.where(Z > 0, SELU_SCALE * Z, neg)


def selu_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = scale`` where ``Z > 0``, ``scale alpha exp(Z)`` elsewhere (the left
    derivative ``scale alpha`` at the kink 0)."""
    e = (SELU_SCALE * SELU_ALPHA) * np.exp(np.minimum(Z, 0))
    return np.where(Z > 0, SELU_SCALE, e).astype(Z.dtype)


def selu_second(Z: Array, A: Array) -> Array:
    """``g''(Z) = 0`` where ``Z > 0``, ``scale alpha exp(Z)`` where ``Z < 0``."""
    e = (SELU_SCALE * SELU_ALPHA) * np.exp(np.minimum(Z, 0))
    return np.where(Z > 0, 0.0, e).astype(Z.dtype)


# -- GELU ---------------------------------------------------------------------------------------
_INV_SQRT2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
# Beyond |z| = 40 the Gaussian density exp(-z^2/2) is 0 in every dtype; clipping there keeps
# z^2 finite (float16 overflows at 256) without changing any result.
_PHI_CLIP = 40.0


def _Phi(Z: Array) -> Array:
    """The standard normal CDF ``(1 + erf(Z/sqrt 2)) / 2``, as ``erfc(-Z/sqrt 2) / 2``: the
    ``erf`` form cancels to 0 for ``Z < -6`` where the true value is ``< 1e-9``."""
    return (scipy.special.erfc(-Z * _INV_SQRT2) / 2).astype(Z.dtype)


def _phi(Z: Array) -> Array:
    """The standard normal density ``exp(-Z^2/2) / sqrt(2 pi)``, 0 for ``|Z| > 40``."""
    Zc = np.clip(Z, -_PHI_CLIP, _PHI_CLIP)
    return _INV_SQRT_2PI * np.exp(-(Zc * Zc) / 2)


def gelu_erf_forward(Z: Array) -> Array:
    """GELU, exact form: ``A = Z Phi(Z) = Z (1 + erf(Z / sqrt 2)) / 2``.

    ``Phi`` is evaluated as ``erfc(-Z / sqrt 2) / 2``, so ``A`` keeps its full relative
    accuracy for very negative ``Z`` (where ``1 + erf`` would cancel to 0). scipy's ``erfc``
    computes float16 in float32; the result is cast back.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return (Z * _Phi(Z)).astype(Z.dtype, copy=False)


def gelu_erf_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = Phi(Z) + Z phi(Z)``, ``phi(Z) = exp(-Z^2/2) / sqrt(2 pi)``."""
    return _Phi(Z) + Z * _phi(Z)


def gelu_erf_second(Z: Array, A: Array) -> Array:
    """``g''(Z) = phi(Z) (2 - Z^2)`` (from ``phi'(Z) = -Z phi(Z)``)."""
    Zc = np.clip(Z, -_PHI_CLIP, _PHI_CLIP)
    return _phi(Z) * (2 - Zc * Zc)


GELU_C = math.sqrt(2 / math.pi)
GELU_K = 0.044715
# Beyond |z| = 30, 2u exceeds 1900 and sigmoid(2u) is exactly 0 or 1 in every dtype; clipping
# keeps z^3 finite (float16 overflows at 40) without changing any result.
_GELU_TANH_CLIP = 30.0


def _gelu_u(Z: Array) -> tuple[Array, Array]:
    Zc = np.clip(Z, -_GELU_TANH_CLIP, _GELU_TANH_CLIP)
    return Zc, GELU_C * (Zc + GELU_K * Zc * Zc * Zc)


def gelu_tanh_forward(Z: Array) -> Array:
    """GELU, tanh approximation: ``A = Z (1 + tanh(u)) / 2``, ``u = c (Z + k Z^3)``,
    ``c = sqrt(2 / pi)``, ``k = 0.044715``.

    Since ``(1 + tanh(u)) / 2 = sigmoid(2u)`` (from (3) and (5)), ``A = Z sigmoid(2u)``
    with the stable sigmoid: ``1 + tanh(u)`` would cancel to 0 for very negative ``u``.
    ``u`` is computed from ``Z`` clipped to +-30, where ``sigmoid(2u)`` is already 0 or 1.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    _, u = _gelu_u(Z)
    return Z * _sigmoid(2 * u)


def gelu_tanh_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = s + Z s'``, ``s = sigmoid(2u)``, ``s' = 2 s (1 - s) u'``,
    ``u' = c (1 + 3 k Z^2)``; ``1 - s`` is computed as ``sigmoid(-2u)``."""
    Zc, u = _gelu_u(Z)
    s, r = _sigmoid(2 * u), _sigmoid(-2 * u)
    du = GELU_C * (1 + 3 * GELU_K * Zc * Zc)
    return s + Z * (2 * s * r * du)


def gelu_tanh_second(Z: Array, A: Array) -> Array:
    """``g''(Z) = 2 s' + Z s''``, ``s'' = 2 (s' (1 - 2s) u' + s (1 - s) u'')``,
    ``u'' = 6 c k Z``, ``1 - 2s = -tanh(u)``."""
    Zc, u = _gelu_u(Z)
    s, r = _sigmoid(2 * u), _sigmoid(-2 * u)
    du = GELU_C * (1 + 3 * GELU_K * Zc * Zc)
    ddu = (6 * GELU_C * GELU_K) * Zc
    ds = 2 * s * r * du
    dds = 2 * (ds * -np.tanh(u) * du + s * r * ddu)
    return 2 * ds + Z * dds


# -- softplus / SiLU / mish ---------------------------------------------------------------------
def softplus_forward(Z: Array) -> Array:
    """Softplus: ``A = log(1 + exp(Z))``, evaluated as ``max(Z, 0) + log1p(exp(-|Z|))``.

    The naive form overflows for ``Z > 709`` (float64; 88 in float32, 11 in float16) and
    loses all accuracy for ``Z < -37``; the stable form does neither.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))


def softplus_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = sigmoid(Z)``, equation (3) (stable form)."""
    return _sigmoid(Z)


def softplus_second(Z: Array, A: Array) -> Array:
    """``g''(Z) = sigmoid(Z) (1 - sigmoid(Z))``, equation (4), with ``1 - sigmoid(Z)``
    computed as ``sigmoid(-Z)``."""
    return _sigmoid(Z) * _sigmoid(-Z)


def silu_forward(Z: Array) -> Array:
    """SiLU (swish): ``A = Z sigmoid(Z)``, sigmoid as in (3) in its stable form.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return Z * _sigmoid(Z)


def silu_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = s + Z s (1 - s)`` with ``s = sigmoid(Z)`` and (4) for ``s'``;
    ``1 - s = sigmoid(-Z)``."""
    s, r = _sigmoid(Z), _sigmoid(-Z)
    return s * (1 + Z * r)


def silu_second(Z: Array, A: Array) -> Array:
    """``g''(Z) = s' (2 + Z (1 - 2s))``, ``s' = s (1 - s)``, ``1 - 2s = -tanh(Z / 2)``."""
    ds = _sigmoid(Z) * _sigmoid(-Z)
    return ds * (2 - Z * np.tanh(Z / 2))


def _mish_parts(Z: Array) -> tuple[Array, Array]:
    """``t = tanh(softplus(Z))`` and ``q = 1 - t^2 = sech^2(softplus(Z))``, stably.

    With ``e = exp(Z)``, ``n = e (e + 2)``: ``t = n / (n + 2)`` and
    ``q = 4 (n + 1) / (n + 2)^2``, used for ``Z <= 0``. For ``Z > 0`` the same expressions
    divided through by ``e^2``, with ``w = exp(-Z)``: ``t = (1 + 2w) / (1 + 2w + 2w^2)`` and
    ``q = 4 w^2 (1 + w)^2 / (1 + 2w + 2w^2)^2``. Neither overflows, and ``q`` keeps its
    relative accuracy where ``1 - t^2`` would cancel.
    """
    e = np.exp(np.minimum(Z, 0))
    n = e * (e + 2)
    w = np.exp(-np.maximum(Z, 0))
    d = 1 + 2 * w + 2 * (w * w)
    pos = Z > 0
    t = np.where(pos, (1 + 2 * w) / d, n / (n + 2))
    q = np.where(pos, 4 * ((w * (1 + w)) / d) ** 2, 4 * (n + 1) / ((n + 2) * (n + 2)))
    return t, q


def mish_forward(Z: Array) -> Array:
    """Mish: ``A = Z tanh(softplus(Z))``, ``softplus(Z) = log(1 + exp(Z))``.

    ``tanh(log(1 + e)) = (e^2 + 2e) / (e^2 + 2e + 2)`` with ``e = exp(Z)`` (from (5)); it is
    evaluated in ``e = exp(Z)`` for ``Z <= 0`` and in ``exp(-Z)`` for ``Z > 0``, so no
    exponent overflows.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    t, _ = _mish_parts(Z)
    return Z * t


def mish_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = t + Z q sigmoid(Z)``, ``t = tanh(softplus(Z))``, ``q = 1 - t^2`` (from (6),
    with ``softplus' = sigmoid``)."""
    t, q = _mish_parts(Z)
    return t + Z * (q * _sigmoid(Z))


def mish_second(Z: Array, A: Array) -> Array:
    """``g''(Z) = q s (2 + Z (1 - s - 2 t s))``, ``s = sigmoid(Z)``, from ``t' = q s``,
    ``q' = -2 q t s`` and ``s' = s (1 - s)``; ``1 - s = sigmoid(-Z)``."""
    t, q = _mish_parts(Z)
    s = _sigmoid(Z)
    qs = q * s
    # (q s) Z first: q s vanishes wherever |Z| is large, so the product cannot overflow.
    return 2 * qs + (qs * Z) * (_sigmoid(-Z) - 2 * t * s)


# -- hard (piecewise linear) functions ----------------------------------------------------------
def hardtanh_forward(Z: Array) -> Array:
    """Hardtanh: ``A = clip(Z, -1, 1)``; kinks at -1 and 1.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return np.clip(Z, -1, 1)


def hardtanh_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = I(-1 < Z < 1)`` (0 at the kinks, a one-sided derivative)."""
    return ((Z > -1) & (Z < 1)).astype(Z.dtype)


def relu6_forward(Z: Array) -> Array:
    """ReLU6: ``A = min(max(0, Z), 6)``, equation (1) capped at 6; kinks at 0 and 6.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return np.clip(Z, 0, 6)


def relu6_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = I(0 < Z < 6)``, as (2) (0 at both kinks)."""
    return ((Z > 0) & (Z < 6)).astype(Z.dtype)


def hardsigmoid_forward(Z: Array) -> Array:
    """Hardsigmoid, torch's definition: ``A = relu6(Z + 3) / 6``; kinks at -3 and 3.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return np.clip(Z + 3, 0, 6) / 6


def hardsigmoid_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = 1/6`` where ``-3 < Z < 3``, 0 elsewhere (0 at both kinks)."""
    return np.where((Z > -3) & (Z < 3), 1 / 6, 0.0).astype(Z.dtype)


def hardswish_forward(Z: Array) -> Array:
    """Hardswish: ``A = Z relu6(Z + 3) / 6``: 0 for ``Z <= -3``, ``Z`` for ``Z >= 3``,
    ``Z (Z + 3) / 6`` between.

    The one-sided derivatives are 0 and -1/2 at -3, 3/2 and 1 at 3: kinks at -3 and 3.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    return Z * (np.clip(Z + 3, 0, 6) / 6)


def hardswish_derivative(Z: Array, A: Array) -> Array:
    """``g'(Z) = 0`` for ``Z < -3``, ``(2Z + 3) / 6`` for ``-3 <= Z < 3``, 1 for ``Z >= 3``
    (torch's choice at the kinks: -1/2 at -3, 1 at 3)."""
    mid = Z / 3 + 0.5  # (2Z + 3) / 6, without overflowing 2Z where it is not used
    return np.where(Z < -3, 0.0, np.where(Z < 3, mid, 1.0)).astype(Z.dtype)


def hardswish_second(Z: Array, A: Array) -> Array:
    """``g''(Z) = 1/3`` for ``-3 < Z < 3``, 0 elsewhere."""
    return np.where((Z > -3) & (Z < 3), 1 / 3, 0.0).astype(Z.dtype)


# -- registrations of the elementwise activations -----------------------------------------------
leaky_relu = _elementwise(
    "leaky-relu",
    leaky_relu_forward,
    leaky_relu_derivative,
    _zeros,
    kinks=(0.0,),
    equations="from (1), (2)",
    formula="dZ = dA * where(Z > 0, 1, 0.01)",
)
elu = _elementwise(
    "elu",
    elu_forward,
    elu_derivative,
    elu_second,
    formula="dZ = dA * where(Z > 0, 1, exp(Z))",
)
selu = _elementwise(
    "selu",
    selu_forward,
    selu_derivative,
    selu_second,
    kinks=(0.0,),
    formula="dZ = dA * scale * where(Z > 0, 1, alpha exp(Z))",
)
celu = _elementwise(
    "celu",
    celu_forward,
    celu_derivative,
    celu_second,
    formula="dZ = dA * where(Z > 0, 1, exp(Z / alpha))",
)
gelu_erf = _elementwise(
    "gelu-erf",
    gelu_erf_forward,
    gelu_erf_derivative,
    gelu_erf_second,
    formula="dZ = dA * (Phi(Z) + Z phi(Z))",
)
gelu_tanh = _elementwise(
    "gelu-tanh",
    gelu_tanh_forward,
    gelu_tanh_derivative,
    gelu_tanh_second,
    equations="from (3)-(6)",
    formula="dZ = dA * (s + 2 Z s (1 - s) u'), s = sigmoid(2u), u = c (Z + k Z^3)",
)
softplus = _elementwise(
    "softplus",
    softplus_forward,
    softplus_derivative,
    softplus_second,
    equations="from (3), (4)",
    formula="dZ = dA * sigmoid(Z)",
)
silu = _elementwise(
    "silu",
    silu_forward,
    silu_derivative,
    silu_second,
    equations="from (3), (4)",
    formula="dZ = dA * s (1 + Z (1 - s)), s = sigmoid(Z)",
)
mish = _elementwise(
    "mish",
    mish_forward,
    mish_derivative,
    mish_second,
    equations="from (3), (5), (6)",
    formula="dZ = dA * (t + Z (1 - t^2) sigmoid(Z)), t = tanh(softplus(Z))",
)
hardtanh = _elementwise(
    "hardtanh",
    hardtanh_forward,
    hardtanh_derivative,
    _zeros,
    kinks=(-1.0, 1.0),
    formula="dZ = dA * I(-1 < Z < 1)",
)
hardsigmoid = _elementwise(
    "hardsigmoid",
    hardsigmoid_forward,
    hardsigmoid_derivative,
    _zeros,
    kinks=(-3.0, 3.0),
    formula="dZ = dA * I(-3 < Z < 3) / 6",
)
hardswish = _elementwise(
    "hardswish",
    hardswish_forward,
    hardswish_derivative,
    hardswish_second,
    kinks=(-3.0, 3.0),
    formula="dZ = dA * where(Z < -3, 0, where(Z < 3, (2Z + 3) / 6, 1))",
)
relu6 = _elementwise(
    "relu6",
    relu6_forward,
    relu6_derivative,
    _zeros,
    kinks=(0.0, 6.0),
    equations="from (1), (2)",
    formula="dZ = dA * I(0 < Z < 6)",
)


# -- log-softmax and softmin over axis 0 --------------------------------------------------------
def _colsum(X: Array) -> Array:
    return np.sum(X, axis=0, keepdims=True)


def log_softmax_forward(Z: Array) -> Array:
    """Log-softmax over axis 0: ``A = Z - broadcast(log sum_axis0 exp(Z))``, the log of (7).

    With ``Y = Z - max_axis0 Z``, the sum of ``exp(Y)`` is ``1 + r``, where ``r`` sums the
    column's other entries (the first maximum left out), and ``A = Y - log1p(r)``. No
    exponent overflows, and every entry keeps its relative accuracy: the textbook
    ``Y - log(sum exp(Y))`` rounds ``1 + r`` first, so the largest entry (``-log1p(r)``,
    ``-3.7e-44`` for logits (100, 0)) is off by up to ``eps`` absolutely, comes out as 0, and
    depends on the summation order. A column whose logits span more than the dtype's largest
    value has a true log-softmax beyond it; that entry is ``-inf``.

    Parameters
    ----------
    Z : ndarray, shape (n, m)
        Logits, one example per column.

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
        Column-wise log-probabilities.
    """
    with np.errstate(over="ignore"):
        Y = Z - np.max(Z, axis=0, keepdims=True)
    E = np.exp(Y)
    np.put_along_axis(E, np.argmax(Z, axis=0)[None, :], 0, axis=0)
    return Y - np.log1p(_colsum(E))


def log_softmax_backward(Z: Array, A: Array, dA: Array) -> Array:
    """VJP: ``dZ = dA - s * broadcast(sum_axis0 dA)``, ``s = softmax(Z) = exp(A)``.

    From ``d A_p / d Z_j = delta_pj - s_j``, by (7) and the partial derivatives before (8).
    Evaluated as ``(1 - s) dA - s (sum_axis0 dA - dA)`` with ``1 - s = -expm1(A)``, the same
    expression rearranged: where a column is dominated by one logit (``s ~ 1``, ``A ~ 0``)
    the textbook form subtracts two numbers near ``dA`` and keeps only ``eps / (1 - s)`` of
    relative accuracy (see :func:`log_softmax_backward_textbook`).
    """
    s = np.exp(A)
    return -np.expm1(A) * dA - s * (_colsum(dA) - dA)


def log_softmax_jvp(Z: Array, A: Array, dZ: Array) -> Array:
    """JVP: ``dA = dZ - broadcast(sum_axis0 s * dZ)``, ``s = exp(A)`` (the Jacobian is not
    symmetric).

    Evaluated without subtracting two numbers near ``s_j dZ_j`` for the column's largest
    entry ``j`` (where ``s_j ~ 1``): with ``T = sum_{k != j} s_k dZ_k``,
    ``dA_p = dZ_p - s_j dZ_j - T`` for ``p != j`` and ``dA_j = (1 - s_j) dZ_j - T``,
    ``1 - s_j = -expm1(A_j)``.
    """
    top = np.argmax(Z, axis=0)[None, :]
    sdZ = np.exp(A) * dZ
    sdZ_top = np.take_along_axis(sdZ, top, axis=0)
    np.put_along_axis(sdZ, top, 0, axis=0)
    T = _colsum(sdZ)
    dA = dZ - sdZ_top - T
    dZ_top = np.take_along_axis(dZ, top, axis=0)
    A_top = np.take_along_axis(A, top, axis=0)
    np.put_along_axis(dA, top, -np.expm1(A_top) * dZ_top - T, axis=0)
    return dA


def log_softmax_jacobian(z: Array, a: Array) -> Array:
    """Jacobian of one column: ``I - 1 s^T``, ``s = exp(a)``: ``J[p, j] = delta_pj - s_j``,
    with the diagonal ``1 - s_j`` evaluated as ``-expm1(a_j)``."""
    J = np.broadcast_to(-np.exp(a)[None, :], (z.size, z.size)).copy()
    np.fill_diagonal(J, -np.expm1(a))
    return J


def log_softmax_forward_textbook(Z: Array) -> Array:
    """The textbook log-softmax, ``Y - log(sum_axis0 exp(Y))``, ``Y = Z - max_axis0 Z``
    (torch's): correct, but its largest entries are accurate only to ``eps`` absolutely."""
    with np.errstate(over="ignore"):
        Y = Z - np.max(Z, axis=0, keepdims=True)
    return Y - np.log(_colsum(np.exp(Y)))


def log_softmax_backward_textbook(Z: Array, A: Array, dA: Array) -> Array:
    """The textbook VJP, ``dA - exp(A) * broadcast(sum_axis0 dA)`` (torch's): correct, with
    an error of ``eps |dA|`` where ``exp(A) ~ 1``, large relative to ``1 - exp(A)``."""
    return dA - np.exp(A) * _colsum(dA)


def log_softmax_second_vjp(Z: Array, A: Array, dA: Array, g: Array) -> Array:
    """Second-order VJP: the gradient wrt ``Z`` of ``<g, dA - s sum(dA)>``.

    Only ``s = softmax(Z)`` depends on ``Z``, and softmax's Jacobian is symmetric, so this is
    (8) applied to ``-sum(dA) g``: ``-sum(dA) * s * (g - sum_axis0 s g)``.
    """
    s = np.exp(A)
    return -_colsum(dA) * s * (g - _colsum(s * g))


def softmin_forward(Z: Array) -> Array:
    """Softmin over axis 0: ``A = softmax(-Z)``, (7) with ``Z -> -Z``.

    The column minimum is subtracted (``exp(min - Z)``), so no exponent overflows.

    Parameters
    ----------
    Z : ndarray, shape (n, m)

    Returns
    -------
    ndarray, shape (n, m), ``Z``'s dtype
    """
    with np.errstate(over="ignore"):
        E = np.exp(np.min(Z, axis=0, keepdims=True) - Z)
    return E / _colsum(E)


def softmin_backward(Z: Array, A: Array, dA: Array) -> Array:
    """VJP: ``dZ = -A * (dA - broadcast(sum_axis0 dA * A))``, (8) with the chain rule's -1."""
    return -A * (dA - _colsum(dA * A))


def softmin_jvp(Z: Array, A: Array, dZ: Array) -> Array:
    """JVP: ``dA = -A * (dZ - broadcast(sum_axis0 A * dZ))`` (symmetric Jacobian)."""
    return -A * (dZ - _colsum(A * dZ))


def softmin_jacobian(z: Array, a: Array) -> Array:
    """Jacobian of one column: ``a a^T - diag(a)``."""
    return np.outer(a, a) - np.diag(a)


def softmax_like_second_vjp(s: Array, dA: Array, g: Array) -> Array:
    """Gradient wrt ``Z`` of ``<g, s * (dA - sum_axis0 s dA)>`` for ``s = softmax(Z)``.

    With ``c = sum_axis0 s dA``, the derivative of ``<g, s (dA - c)>`` wrt ``s`` is
    ``x = g (dA - c) - dA sum_axis0(g s)`` (the second term through ``c``); softmax's
    Jacobian is symmetric, so the result is (8) applied to ``x``:
    ``s * (x - sum_axis0 s x)``.
    """
    c = _colsum(s * dA)
    x = g * (dA - c) - dA * _colsum(g * s)
    return s * (x - _colsum(s * x))


def softmin_second_vjp(Z: Array, A: Array, dA: Array, g: Array) -> Array:
    """Second-order VJP: the gradient wrt ``Z`` of ``<g, -A (dA - sum A dA)>``.

    The two sign changes (the VJP's and the inner Jacobian's) cancel: it is
    :func:`softmax_like_second_vjp` with ``s = A = softmin(Z)``.
    """
    return softmax_like_second_vjp(A, dA, g)


log_softmax = register(
    Spec(
        name="log-softmax",
        forward=log_softmax_forward,
        vjp=log_softmax_backward,
        jvp=log_softmax_jvp,
        jacobian=log_softmax_jacobian,
        structure="columnwise",
        equations="from (7), (8)",
        formula="dZ = dA - exp(A) * broadcast(sum_axis0 dA)",
        dtypes=ALL_DTYPES,
    )
)
softmin = register(
    Spec(
        name="softmin",
        forward=softmin_forward,
        vjp=softmin_backward,
        jvp=softmin_jvp,
        jacobian=softmin_jacobian,
        structure="columnwise",
        equations="(7), (8) with Z -> -Z",
        formula="dZ = -A * (dA - broadcast(sum_axis0 dA * A))",
        dtypes=ALL_DTYPES,
    )
)
SPECS["log-softmax"] = log_softmax
SPECS["softmin"] = softmin
SECOND_VJP["log-softmax"] = log_softmax_second_vjp
SECOND_VJP["softmin"] = softmin_second_vjp

#: Names of the specs this module registers, in registration order.
NAMES: tuple[str, ...] = tuple(SPECS)
