"""The forward's own rounding noise, measured along a direction (Moré and Wild's ECnoise).

The error model's round-off term assumed that a forward evaluated in float64 errs by a few
ulps of its output. Code that reaches a small value by cancellation errs by eps times a
larger intermediate: ``log(1 + exp(z))`` at z = -20 returns 2.06e-9 with an absolute error
of ~1e-16 (a relative error of 5e-8, 10^8 ulps), and central differences of it are that much
less accurate than the model assumed. This module measures the noise instead.

Method (J. J. Moré and S. M. Wild, "Estimating computational noise", SIAM J. Sci. Comput.
33(3), 2011). Evaluate ``f`` at ``P`` equally spaced points ``b + i s`` along a direction
(``P = 8`` by default), form the difference table, and for each order k estimate

    sigma_k = sqrt(gamma_k * mean((Delta^k f)^2)),     gamma_k = (k!)^2 / (2k)!,

which for independent noise of standard deviation sigma has expectation ~sigma, while the
smooth part of ``Delta^k f`` falls like ``|s|^k f^(k)``. The noise is detected at the lowest
order k where the k-th differences change sign and ``sigma_k, sigma_{k+1}, sigma_{k+2}``
agree within a factor of 4. Each output entry is judged on its own.

Two outcomes are not a measurement, and are reported as such rather than as a number:

* ``"flat"``: at least half of the first differences are exactly zero, or the differences of
  some order are all exactly zero (the values are exactly a polynomial: a quantised output
  moving by a whole number of ulps per point). The function shows no noise at this spacing
  (``log(1 + exp(z))`` at z = -50 is exactly 0 over any stencil, a quantised function is
  constant between its steps). This is *no information*, never "zero
  noise": the estimate is NaN. Moré and Wild's remedy is a 100 times larger spacing, which is
  tried next.
* ``"exact"``: the first differences vary but those of some higher order are all exactly
  zero: the values are exactly a polynomial, as exact code gives (ReLU's z, an affine map at
  representable points). A 100 times larger spacing is tried; if no noise shows there either,
  the estimate is 0 (exact code has no noise to measure).
* ``"smooth"``: no order shows noise; the differences are dominated by the function's own
  variation (the spacing is too large for its features, or the noise is below what the table
  separates). The estimate is NaN; ``upper`` bounds the noise by the smallest level seen.
  A 100 times smaller spacing is tried next.

The abscissae are exact: the base point is rounded to the grid of the step (by at most one
ulp of the largest stencil point) and the step to a multiple of that grid, so that the table
measures the forward's noise and not the rounding of ``x + i s``.

Cost: ``P`` evaluations per round, at most ``tries`` rounds (8 to 24 evaluations by default),
all of one array shape, so a caller can stack them in one call (``evaluate=``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "EXACT",
    "FLAT",
    "NOISE",
    "NONFINITE",
    "SMOOTH",
    "NoiseEstimate",
    "derivative_rounding",
    "ecnoise_table",
    "forward_noise",
    "gamma",
]

F64 = NDArray[np.float64]

NOISE = "noise"
EXACT = "exact"
FLAT = "flat"
SMOOTH = "smooth"
NONFINITE = "nonfinite"

DEFAULT_SPACING = 2.0**-14  # 6.1e-5: 8 points span ~4e-4, the oracle's smallest stencils
GROWTH = 100.0  # Moré and Wild: flat -> 100 h, no noise seen -> h / 100


def gamma(k: int) -> float:
    """``(k!)^2 / (2k)!``: makes ``gamma_k E[(Delta^k e)^2] = sigma^2`` for iid noise e."""
    return float(math.factorial(k) ** 2 / math.factorial(2 * k))


@dataclass(frozen=True)
class NoiseEstimate:
    """Per output entry: the measured noise of the forward, and how it was found.

    Attributes
    ----------
    sigma : ndarray
        Standard deviation of the forward's noise (NaN where it could not be measured).
    status : ndarray of str
        ``"noise"`` (measured), ``"exact"`` (no noise: exactly polynomial values; sigma 0),
        ``"flat"`` (constant at every spacing tried: no information,
        not zero noise), ``"smooth"`` (no noise separable from the function's variation),
        ``"nonfinite"`` (a stencil point gave inf or NaN).
    order : ndarray of int
        Difference order the estimate was taken at (0 where none).
    upper : ndarray
        An upper bound on the noise where ``status == "smooth"`` (the smallest level seen),
        ``sigma`` where measured, NaN otherwise.
    spacing : ndarray
        The spacing multiplier (times the direction) each output entry's verdict used.
    evaluations : int
        Calls of ``f`` made.
    """

    sigma: F64
    status: NDArray[np.str_]
    order: NDArray[np.int64]
    upper: F64
    spacing: F64
    evaluations: int

    @property
    def measured(self) -> NDArray[np.bool_]:
        """Entries with a measured noise level (0 for exact values)."""
        return np.asarray((self.status == NOISE) | (self.status == EXACT))

    @property
    def flat(self) -> NDArray[np.bool_]:
        """Entries where the forward did not change: no information about its noise."""
        return np.asarray(self.status == FLAT)

    def or_else(self, fallback: Any) -> F64:
        """``sigma`` where measured, ``fallback`` (broadcast) elsewhere."""
        fb = np.broadcast_to(np.asarray(fallback, dtype=np.float64), self.sigma.shape)
        return np.asarray(np.where(self.measured, self.sigma, fb), dtype=np.float64)

    def counts(self) -> dict[str, int]:
        """How many output entries ended in each status."""
        vals, cnt = np.unique(self.status, return_counts=True)
        return {str(v): int(c) for v, c in zip(vals, cnt, strict=True)}


def ecnoise_table(fv: F64) -> tuple[F64, NDArray[np.str_], NDArray[np.int64], F64]:
    """ECnoise on a table of values: ``fv[i, e]`` = f at point i, for output entry e.

    Parameters
    ----------
    fv : ndarray, shape (P, K)
        Values at ``P >= 4`` equally spaced points for ``K`` output entries.

    Returns
    -------
    sigma, status, order, upper : ndarrays of shape (K,)
        As in :class:`NoiseEstimate`.
    """
    fv = np.asarray(fv, dtype=np.float64)
    P, K = fv.shape
    if P < 4:
        raise ValueError(f"ECnoise needs at least 4 points; got {P}")
    sigma = np.full(K, np.nan)
    order = np.zeros(K, dtype=np.int64)
    upper = np.full(K, np.nan)
    status = np.full(K, SMOOTH, dtype=object)
    finite = np.all(np.isfinite(fv), axis=0)
    status[~finite] = NONFINITE
    # Scale each entry to its largest value so that differences of huge values cannot
    # overflow and tiny ones keep their precision (a power of two: exact).
    top = np.max(np.abs(np.where(np.isfinite(fv), fv, 0.0)), axis=0)
    scale = np.where(top > 0, np.exp2(np.floor(np.log2(np.where(top > 0, top, 1.0)))), 1.0)
    d = np.where(np.isfinite(fv), fv, 0.0) / scale
    levels = np.empty((P - 1, K))
    sign_change = np.zeros((P - 1, K), dtype=bool)
    flat = np.zeros(K, dtype=bool)
    for j in range(1, P):
        d = d[1:] - d[:-1]
        if j == 1:
            flat = np.count_nonzero(d == 0.0, axis=0) >= P / 2.0
        levels[j - 1] = np.sqrt(gamma(j) * np.mean(d * d, axis=0))
        sign_change[j - 1] = (np.min(d, axis=0) < 0.0) & (np.max(d, axis=0) > 0.0)
    # Differences of some order exactly zero: the values are exactly a polynomial of lower
    # degree. Exact code does that (ReLU's z, an affine function at exactly representable
    # points), and so does a quantised output moving by a whole number of ulps per point.
    # Only orders with at least three differences count: the last one or two are single sums
    # of rounded values, which are exactly 0 by chance for about 1% of smooth entries (sigmoid
    # at z = 0.78), and an entry taken for exact is retried at 100 times the spacing, where
    # truncation passes for noise.
    exact = finite & ~flat & np.any(levels[1 : max(2, P - 3)] == 0.0, axis=0)
    open_ = finite & ~flat & ~exact
    status[finite & flat] = FLAT
    status[exact] = EXACT
    sigma[exact] = 0.0
    for k in range(P - 3):
        lv = levels[k : k + 3]
        lo, hi = np.min(lv, axis=0), np.max(lv, axis=0)
        ok = open_ & sign_change[k] & (lo > 0) & (hi <= 4.0 * lo)
        sigma[ok] = levels[k, ok]
        order[ok] = k + 1
        status[ok] = NOISE
        open_ &= ~ok
    smooth = status == SMOOTH
    upper[smooth] = np.min(levels[:, smooth], axis=0)
    measured = (status == NOISE) | (status == EXACT)
    upper[measured] = sigma[measured]
    return sigma * scale, status.astype(str), order, upper * scale


def _exact_stencil(x: F64, step: F64, points: int) -> tuple[F64, F64, list[int]]:
    """Base point and step such that ``base + i * step`` is exact in float64 for every i."""
    offsets = list(range(-(points // 2) + 1, points - points // 2 + 1))
    reach = np.abs(x) + (max(abs(o) for o in offsets) + 1) * np.abs(step)
    grid = np.spacing(np.maximum(reach, float(np.finfo(np.float64).tiny)))
    s = np.round(step / grid) * grid
    s = np.where((s == 0) & (step != 0), np.sign(step) * grid, s)
    base = np.round(x / grid) * grid
    return np.asarray(base, dtype=np.float64), np.asarray(s, dtype=np.float64), offsets


def forward_noise(
    f: Callable[[F64], Any],
    x: Any,
    direction: Any,
    *,
    spacing: float = DEFAULT_SPACING,
    points: int = 8,
    tries: int = 3,
    elementwise: bool = False,
    evaluate: Callable[[Sequence[F64]], Sequence[Any]] | None = None,
) -> NoiseEstimate:
    """The rounding noise of ``f`` near ``x`` along ``direction``, per output entry.

    Parameters
    ----------
    f : callable
        ``f(x) -> array``, evaluated at float64 points of ``x``'s shape.
    x : array_like
        The point.
    direction : array_like
        The direction of the stencil, ``x``'s shape; consecutive points are
        ``spacing * direction`` apart. Entries that must not move (at a kink, a domain edge)
        are 0; the caller keeps ``x +- 5 * spacing * |direction|`` inside the domain.
    spacing : float
        Initial spacing multiplier. After a round, entries found ``"flat"`` are retried at
        100 times the spacing and entries found ``"smooth"`` at a hundredth of it.
    points : int
        Stencil points per round (at least 4; 8 as Moré and Wild recommend).
    tries : int
        Largest number of rounds.
    elementwise : bool
        Output entry e depends only on input entry e (same shape): each entry's spacing is
        then adjusted on its own; otherwise one multiplier is used per round for all.
    evaluate : callable, optional
        ``evaluate(list of points) -> list of outputs``, for callers that batch evaluations;
        defaults to calling ``f`` once per point.

    Returns
    -------
    NoiseEstimate
        Per output entry of ``f``. Where the function is flat at every spacing tried the
        status is ``"flat"`` and sigma is NaN: no information, not zero noise.
    """
    x64 = np.asarray(x, dtype=np.float64)
    p = np.broadcast_to(np.asarray(direction, dtype=np.float64), x64.shape)
    if points < 4:
        raise ValueError(f"points must be at least 4; got {points}")

    def run(pts: Sequence[F64]) -> Sequence[Any]:
        with np.errstate(all="ignore"):
            return evaluate(pts) if evaluate is not None else [f(q) for q in pts]

    mult: F64 = np.ones(x64.shape) if elementwise else np.ones(())
    sigma: F64 = np.empty(0)
    upper: F64 = np.empty(0)
    used: F64 = np.empty(0)
    order: NDArray[np.int64] = np.empty(0, dtype=np.int64)
    status: NDArray[Any] = np.empty(0, dtype=object)
    seen_flat = seen_smooth = seen_exact = retried = np.zeros(0, dtype=bool)
    out_shape: tuple[int, ...] = ()
    evaluations = 0
    for round_ in range(max(1, tries)):
        base, s, offsets = _exact_stencil(x64, spacing * mult * p, points)
        ys = [np.asarray(y, dtype=np.float64) for y in run([base + o * s for o in offsets])]
        evaluations += len(ys)
        out_shape = ys[0].shape
        sg, stt, od, up = ecnoise_table(np.stack([y.ravel() for y in ys]))
        here: F64 = (
            np.array(np.broadcast_to(spacing * mult, out_shape), dtype=np.float64).ravel()
            if (elementwise and out_shape == x64.shape)
            else np.full(sg.shape, spacing * float(np.max(mult)))
        )
        if round_ == 0:
            sigma, order, upper, used = sg, od, up, here
            status = stt.astype(object)
            seen_flat, seen_smooth = stt == FLAT, stt == SMOOTH
            seen_exact = stt == EXACT
            retried = np.zeros(stt.shape, dtype=bool)
        else:
            open_ = np.isin(status, (FLAT, SMOOTH, EXACT))
            better = open_ & np.isin(stt, (NOISE, NONFINITE))
            for arr, val in ((sigma, sg), (order, od), (upper, up), (used, here)):
                arr[better] = val[better]
            status[better] = stt[better]
            still = open_ & ~better
            upper[still] = np.fmin(upper[still], up[still])
            status[still & (stt == SMOOTH) & ~seen_flat & ~seen_exact] = SMOOTH
            exact_now = still & (stt == EXACT)
            status[exact_now] = EXACT
            sigma[exact_now] = 0.0
            upper[exact_now] = 0.0
            seen_flat |= still & (stt == FLAT)
            seen_smooth |= still & (stt == SMOOTH)
            seen_exact |= exact_now
        # Flat (or exact) at one spacing and smooth at a larger one: no spacing shows noise.
        stuck = (seen_flat | seen_exact) & seen_smooth
        status[stuck & (status == SMOOTH)] = FLAT
        status[seen_exact & (status == FLAT)] = EXACT
        # Exact values get one larger spacing (a quantised output can look exact at a small
        # one); flat ones keep growing while rounds remain.
        want_up = ((status == FLAT) & ~stuck) | ((status == EXACT) & ~retried)
        retried = retried | (status == EXACT)
        want_down = (status == SMOOTH) & ~seen_flat & ~seen_exact
        if not (want_up.any() or want_down.any()):
            break
        if elementwise and out_shape == x64.shape:
            up_m, down_m = want_up.reshape(out_shape), want_down.reshape(out_shape)
            mult = np.where(up_m, mult * GROWTH, np.where(down_m, mult / GROWTH, mult))
        elif want_up.any():
            mult = mult * GROWTH
        else:
            mult = mult / GROWTH
    upper = np.where(status == FLAT, np.nan, upper)
    return NoiseEstimate(
        sigma=np.asarray(sigma, dtype=np.float64).reshape(out_shape),
        status=status.astype(str).reshape(out_shape),
        order=np.asarray(order, dtype=np.int64).reshape(out_shape),
        upper=np.asarray(upper, dtype=np.float64).reshape(out_shape),
        spacing=np.asarray(used, dtype=np.float64).reshape(out_shape),
        evaluations=evaluations,
    )


def derivative_rounding(err_out: Any, d1: Any, d2: Any) -> F64:
    """What a rounding error of the forward's value can do to a derivative computed from it.

    A backward formula evaluated from a rounded value (sigmoid's ``A (1 - A)``, tanh's
    ``1 - A^2``, a second derivative from a rounded sigmoid) is the exact derivative at a
    nearby input: the one where the forward takes the rounded value. If the value errs by
    ``err_out``, that input is ``dz`` away with ``|f'| dz + |f''| dz^2 / 2 = err_out``, and the
    derivative there differs by ``|f''| dz``. So the allowance is bounded by what rounding can
    do to the *derivative*: zero for an affine function whatever ``|A|`` is (a wrong slope at
    z = 1e12 is caught), ``~eps |A|`` for sigmoid and tanh, and the whole (tiny) derivative
    where the forward itself rounds to its limit (float32 sigmoid' at z >= 17).

    Parameters
    ----------
    err_out : array_like
        The forward's rounding error per entry (``eps |A|``, or the measured error of the
        forward in the dtype under test).
    d1, d2 : array_like
        First and second derivatives (per Jacobian entry, or along a direction).

    Returns
    -------
    ndarray
        ``|d2| * dz``, broadcast; 0 where ``d2`` or ``err_out`` is 0 and where inputs are not
        finite.
    """
    e = np.abs(np.asarray(err_out, dtype=np.float64))
    a1 = np.abs(np.asarray(d1, dtype=np.float64))
    a2 = np.abs(np.asarray(d2, dtype=np.float64))
    with np.errstate(all="ignore"):
        denom = a1 + np.sqrt(a1 * a1 + 2.0 * a2 * e)
        dz = np.where(denom > 0, 2.0 * e / denom, 0.0)
        out = a2 * dz
    return np.asarray(np.where(np.isfinite(out), out, 0.0), dtype=np.float64)
