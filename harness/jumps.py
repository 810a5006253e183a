"""Tell a jump (a discontinuity of the forward) from a kink and from a smooth function.

A finite-difference quotient ``q(h)`` compared with the analytic derivative ``d`` errs by

* ``~ c h^2`` (central) or ``~ c h`` (one-sided) where the function is smooth: the error
  *shrinks* with the step (slope +2 or +1 on a log-log plot of error against step);
* ``~ |f'(x+) - f'(x-)| / 2``, a constant, when the stencil straddles a **kink** (ReLU at 0):
  slope about 0;
* ``~ |J| / (2h)`` when it straddles a **jump** of size ``J`` (softplus with ``threshold=20``
  switches from ``log1p(exp(x))`` to ``x`` at 20, a jump of -2.06e-9): the error *grows* as the
  step shrinks, slope about -1, and ``2 h |q - d|`` is the same for every step: the jump size.

Round-off also grows like ``eps |f| / h``; what separates a jump from it is the size implied:
a jump is reported only where ``2 h |q - d|`` clearly exceeds the forward's rounding error
(``rounding``). :func:`classify_step_curve` makes the call from a step curve, and
:func:`estimate_jump` measures a jump of a scalar function directly, by bisection.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "JUMP_SLOPE",
    "KINK_SLOPE",
    "JumpEstimate",
    "StepCurveVerdict",
    "classify_step_curve",
    "estimate_jump",
    "log_slope",
]

JUMP_SLOPE: tuple[float, float] = (-1.4, -0.6)
"""Log-log slopes of |error| against step read as "grows like 1/h"."""
KINK_SLOPE: float = 0.5
"""Slopes within +-this of 0 read as "does not shrink" (a kink's constant error)."""
_JUMP_SPREAD = 4.0  # max/min of the implied jump sizes 2 h |e| over the steps used
_ROUNDING_MARGIN = 8.0  # an implied jump must exceed this many times the rounding error

Kind = Literal["jump", "kink", "smooth"]


@dataclass(frozen=True)
class StepCurveVerdict:
    """What a finite-difference error curve says about the function at that point.

    Attributes
    ----------
    kind : {"jump", "kink", "smooth"}
        ``"jump"``: the error grows like 1/h (a discontinuity of the forward, not a wrong
        derivative). ``"kink"``: the error stays constant as h shrinks: the stencil
        straddles a point where the derivative jumps, or the analytic derivative is simply
        wrong (a step curve at one point cannot tell these two apart; the one-sided
        derivatives can). ``"smooth"``: the error shrinks with h, or is at the level of
        round-off.
    slope : float
        Least-squares slope of log|error| against log h over the smallest steps (NaN when
        fewer than two errors are non-zero).
    jump : float or None
        For ``"jump"``: the jump size implied, ``2 h |q - d|`` (median over the steps used).
    message : str
        One sentence for a report.
    """

    kind: Kind
    slope: float
    jump: float | None
    message: str


@dataclass(frozen=True)
class JumpEstimate:
    """A jump of a scalar function, located by bisection.

    Attributes
    ----------
    size : float
        ``f(right) - f(left)`` less the smooth part (the slope times the bracket's width);
        about 0 for a continuous function.
    left, right : float
        The final bracket: the jump lies between them.
    continuous : bool
        True when ``|size|`` is within the rounding error of ``f`` (no jump found).
    """

    size: float
    left: float
    right: float
    continuous: bool


def log_slope(steps: ArrayLike, errors: ArrayLike) -> float:
    """Least-squares slope of ``log|error|`` against ``log step`` (NaN if under 2 usable points).

    Parameters
    ----------
    steps : sequence of float
        Positive step sizes.
    errors : sequence of float
        Errors at those steps; zeros and non-finite values are left out.

    Returns
    -------
    float
        The slope: about 2 for central differences of a smooth function, 0 at a kink, -1 at
        a jump (or where round-off dominates).
    """
    h = np.asarray(steps, dtype=np.float64)
    e = np.abs(np.asarray(errors, dtype=np.float64))
    ok = (h > 0) & (e > 0) & np.isfinite(e) & np.isfinite(h)
    if int(ok.sum()) < 2:
        return math.nan
    lh, le = np.log(h[ok]), np.log(e[ok])
    lh0 = lh - lh.mean()
    denom = float(np.dot(lh0, lh0))
    if denom == 0.0:
        return math.nan
    return float(np.dot(lh0, le - le.mean()) / denom)


def classify_step_curve(
    steps: ArrayLike,
    quotients: ArrayLike,
    analytic: float,
    *,
    rounding: float = 0.0,
    tail: int = 3,
) -> StepCurveVerdict:
    """Classify the error of finite-difference quotients as a jump, a kink or smooth.

    Parameters
    ----------
    steps : sequence of float
        Step sizes ``h_k`` (any order), as realised (``(x + h) - (x - h)`` over 2 for central
        differences).
    quotients : sequence of float
        The difference quotients ``q(h_k)``.
    analytic : float
        The derivative they are compared with.
    rounding : float
        Absolute rounding error of the forward values (e.g. ``4 * eps * |f(x)|``). An implied
        jump ``2 h |q - d|`` at most ``8 * rounding`` is read as round-off, not a jump.
    tail : int
        How many of the smallest steps the slope is fitted over (at least 2).

    Returns
    -------
    StepCurveVerdict
        The kind, the slope, the jump size implied (for a jump) and a one-line message.

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda x: np.where(x > 20.0, x, np.log1p(np.exp(x)))  # torch's softplus
    >>> hs = [1e-2, 1e-3, 1e-4, 1e-5]
    >>> qs = [(f(20.0 + h) - f(20.0 - h)) / (2 * h) for h in hs]
    >>> classify_step_curve(hs, qs, 1 / (1 + np.exp(-20.0))).kind
    'jump'
    """
    h = np.asarray(steps, dtype=np.float64)
    q = np.asarray(quotients, dtype=np.float64)
    if h.shape != q.shape or h.ndim != 1 or h.size < 2:
        raise ValueError(
            f"steps and quotients must be 1-D of the same length >= 2; got shapes "
            f"{h.shape} and {q.shape}"
        )
    order = np.argsort(h)
    h, q = h[order], q[order]
    k = max(2, min(int(tail), h.size))
    hs, es = h[:k], np.abs(q[:k] - float(analytic))
    slope = log_slope(hs, es)
    implied = 2.0 * hs * es
    floor = _ROUNDING_MARGIN * max(float(rounding), 0.0)
    if not np.isfinite(es).all():
        return StepCurveVerdict("jump", slope, None, "non-finite difference quotients")
    if math.isnan(slope) or float(es.max()) == 0.0:
        return StepCurveVerdict("smooth", slope, None, "no error at the smallest steps")
    if floor > 0.0 and bool(np.all(2.0 * hs * es <= floor)):
        return StepCurveVerdict(
            "smooth", slope, None, "the finite-difference error is within round-off"
        )
    lo, hi = JUMP_SLOPE
    if lo <= slope <= hi:
        positive = implied[implied > 0]
        spread = float(positive.max() / positive.min()) if positive.size else math.inf
        size = float(np.median(implied))
        if spread <= _JUMP_SPREAD and size > floor:
            return StepCurveVerdict(
                "jump",
                slope,
                size,
                f"the finite-difference error grows like 1/h as h shrinks (slope "
                f"{slope:.2f}): the forward jumps by about {size:.3g} here, a discontinuity, "
                f"not a wrong derivative",
            )
    if slope <= -KINK_SLOPE:
        return StepCurveVerdict(
            "smooth",
            slope,
            None,
            f"the finite-difference error grows as h shrinks (slope {slope:.2f}) but implies "
            f"no jump beyond the forward's rounding: round-off",
        )
    if abs(slope) < KINK_SLOPE:
        return StepCurveVerdict(
            "kink",
            slope,
            None,
            f"the finite-difference error does not shrink with h (slope {slope:.2f}, about "
            f"{float(np.median(es)):.3g}): the stencil straddles a kink, or the derivative "
            f"is wrong here",
        )
    return StepCurveVerdict(
        "smooth", slope, None, f"the finite-difference error shrinks with h (slope {slope:.2f})"
    )


def estimate_jump(
    f: Callable[[float], float],
    x: float,
    *,
    radius: float = 1e-3,
    rounding: float | None = None,
    max_iter: int = 200,
) -> JumpEstimate:
    """Locate and measure a jump of ``f`` in ``[x - radius, x + radius]`` by bisection.

    The smooth part's slope is taken once, from one-sided differences just outside the
    bracket; each step keeps the half whose increment, less that smooth part, is larger, and
    stops when the bracket cannot be halved in float64. The jump is then the increment over
    the final bracket less the smooth part (at adjacent floats, below round-off).

    Parameters
    ----------
    f : callable
        A scalar function of one float (a numpy function of a 0-d input will do).
    x : float
        Where to look.
    radius : float
        Half-width of the initial bracket.
    rounding : float, optional
        Absolute rounding error of ``f``; a jump within ``8 * rounding`` is reported as
        ``continuous``. Default: ``8 * eps * max |f|`` over the bracket's ends.
    max_iter : int
        Bisection steps at most (float64 needs at most ~1100 from any bracket; 200 halve a
        bracket of 1e-3 down to the spacing of floats near 1e3).

    Returns
    -------
    JumpEstimate

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda x: float(np.where(x > 20.0, x, np.log1p(np.exp(x))))
    >>> j = estimate_jump(f, 20.0)
    >>> round(j.size * 1e9, 3), j.continuous
    (-2.061, False)
    """
    a, b = float(x) - radius, float(x) + radius
    fa, fb = float(f(a)), float(f(b))
    if rounding is None:
        rounding = 8.0 * float(np.finfo(np.float64).eps) * max(abs(fa), abs(fb), 1e-300)
    # The smooth part's slope, from one-sided differences just outside the bracket (a jump
    # inside it does not enter them); its error is O(radius * f'') per unit of width.
    w = b - a
    slope = 0.5 * ((fa - float(f(a - w))) / w + (float(f(b + w)) - fb) / w)
    if not math.isfinite(slope):
        slope = 0.0
    for _ in range(max_iter):
        m = 0.5 * (a + b)
        if m <= a or m >= b:
            break
        fm = float(f(m))
        left = abs((fm - fa) - slope * (m - a))
        right = abs((fb - fm) - slope * (b - m))
        if left >= right:
            b, fb = m, fm
        else:
            a, fa = m, fm
    size = (fb - fa) - slope * (b - a)
    return JumpEstimate(
        size=size, left=a, right=b, continuous=abs(size) <= _ROUNDING_MARGIN * rounding
    )
