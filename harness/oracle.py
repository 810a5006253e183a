"""Finite-difference oracles: step selection, batched stencils, Richardson extrapolation.

All oracle arithmetic is float64, whatever the dtype of the implementation under test: a
float32 VJP is compared against derivatives of the forward evaluated at the same (exactly
upcast) input in float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.calls import Caller, CallFailure
from harness.errormodel import ErrorModel

__all__ = ["Evaluator", "Levels", "Point", "Probe", "central_steps", "richardson", "shifted"]

F64 = NDArray[np.float64]
LEVELS = 3  # steps t, t/2, t/4
# A central step capped below this fraction of the ordinary one (by a kink's proximity) is
# not used: the entry gets the subgradient test instead (4.4e-11 in float64).
KINK_STEP_FLOOR = 2.0**-24


def central_steps(
    x: F64, kinks: Sequence[float], model: ErrorModel, oracle_dtype: np.dtype[Any]
) -> tuple[F64, NDArray[np.bool_]]:
    """Per-entry central-difference steps, and which entries sit on a kink.

    The step is ``fd_step(x, eps**(1/5))``, capped so that ``x +- h`` stays finite and, where
    kinks are declared, at half the distance to the nearest kink so that no stencil straddles
    one. An entry whose capped step cannot be realised (``x + h/4 == x - h/4``) is "on the
    kink": it gets the one-sided subgradient test instead.
    """
    h = fd_step(x, model.base_step(oracle_dtype), oracle_dtype)
    fmax = float(np.finfo(np.float64).max)
    h = np.minimum(h, (fmax - np.abs(x)) * 0.25)
    on_kink = np.zeros(x.shape, dtype=bool)
    if kinks:
        dist = np.min(np.abs(x[..., None] - np.asarray(kinks, dtype=np.float64)), axis=-1)
        base = h
        h = np.minimum(h, 0.5 * dist)
        small = h / 4.0
        # Closer to a kink than a step that finite differences can use: a step capped at
        # 1e-299 differences a forward that is not exact there to 0. Such entries get the
        # subgradient test, with ordinary one-sided steps on each side.
        on_kink = ((x + small) - (x - small) == 0.0) | (h < KINK_STEP_FLOOR * base)
        h = np.where(on_kink, 0.0, h)
    return h, on_kink


def fd_step(x: F64, base: float, oracle_dtype: np.dtype[Any]) -> F64:
    """Per-entry finite-difference step: ``base``, or 16 ulps of x where that is larger.

    The usual ``base * max(1, |x|)`` assumes features that grow with |x|. Activations have
    features of absolute size ~1 wherever they are (softmax is shift-invariant, sigmoid's
    tail decays like exp(-z)), and a relative step at z = 1e5 steps right over them: it gave
    false alarms on tied softmax logits. Steps are realised exactly, so an absolute step loses
    nothing as long as it spans a few ulps of x; it grows with |x| only past that point.
    """
    eps = float(np.finfo(oracle_dtype).eps)
    return np.asarray(np.maximum(base, 16.0 * eps * np.abs(x)), dtype=np.float64)


def grown(x: F64, base: float, oracle_dtype: np.dtype[Any]) -> NDArray[np.bool_]:
    """Entries whose step grew past ``base`` to span 16 ulps (|x| above ~2e11 in float64).

    With features of size ~1 a step that large steps over them: the directional checks leave
    such entries out, and their central differences neither vouch for nor veto the complex
    step.
    """
    return np.asarray(fd_step(x, base, oracle_dtype) > base)


def kink_distance(x: F64, kinks: Sequence[float]) -> F64:
    """Distance from each entry to the nearest declared kink (inf when none)."""
    if not kinks:
        return np.full(x.shape, np.inf)
    return np.asarray(
        np.min(np.abs(x[..., None] - np.asarray(kinks, dtype=np.float64)), axis=-1),
        dtype=np.float64,
    )


def richardson(r0: Any, r1: Any, r2: Any, noise: Any = 0.0) -> tuple[Any, Any]:
    """Two Richardson extrapolations of central differences at t, t/2, t/4.

    Returns the better extrapolation and the difference of the two as its error estimate.
    That estimate holds in the asymptotic regime, where the truncation error falls as t^2
    (``|r0 - r1|`` about 4 ``|r1 - r2|``). Outside it the steps are too large for the
    function's features (tied softmax logits near 1e16, where 16 ulps of z already exceed the
    softmax's own scale) and the finite differences carry no information: the error estimate
    is ``inf`` there, and callers leave such entries out of the comparison (and say so)
    rather than raise a false alarm. Differences at the round-off level ``noise`` count as
    asymptotic.
    """
    ra = (4.0 * r1 - r0) / 3.0
    rb = (4.0 * r2 - r1) / 3.0
    err = np.abs(rb - ra)
    d01, d12 = np.abs(r0 - r1), np.abs(r1 - r2)
    asymptotic = (d12 <= 4.0 * np.abs(noise)) | ((d01 >= 2.0 * d12) & (d01 <= 8.0 * d12))
    return rb, np.where(asymptotic, err, np.inf)


Point = tuple[F64, ...]
# A probe moves some inputs (arrays) and leaves the others (None) where they are.
Probe = tuple[F64 | None, ...]


def shifted(x: Point, P: Probe, scale: float = 1.0) -> Point:
    """``x + scale * P``, inputs the probe does not move passed through unchanged."""
    return tuple(xi if Pi is None else xi + scale * Pi for xi, Pi in zip(x, P, strict=True))


@dataclass(frozen=True)
class Levels:
    """Forward values at x + P/2^k and x - P/2^k, k = 0, 1, 2, and the realised steps.

    ``delta[k][i]`` is ``(x_i + P_i/2^k) - (x_i - P_i/2^k)`` as realised in float64, for each
    input i the probe moves (None for the others).
    """

    plus: tuple[F64, ...]
    minus: tuple[F64, ...]
    delta: tuple[tuple[F64 | None, ...], ...]


class Evaluator:
    """Evaluates the forward in float64 at points near the input, one call per point.

    Points are tuples with one array per input (constants included, never moved).
    """

    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    def forward64(self, xs: Sequence[Point], *, fresh: bool = True) -> list[F64]:
        """``forward`` at each float64 point, returned as float64 arrays.

        ``fresh=True`` (the default): the points are the oracle's own temporaries, handed
        over without a protective copy.
        """
        return [self._one(x, fresh=fresh) for x in xs]

    def forward_complex(self, xs: Sequence[tuple[Any, ...]]) -> list[Any] | None:
        """``forward`` at complex points, or None when the function does not support them.

        Support means: accepts complex input without raising and returns a complex array.
        Whether its imaginary part is a derivative (holomorphic code) is for the caller to
        cross-check.
        """
        outs: list[Any] = []
        for z in xs:
            try:
                y = self.caller.forward(z, oracle=True, fresh=True)
            except CallFailure:
                return None
            if not np.iscomplexobj(y):
                return None
            outs.append(y)
        return outs

    def _one(self, x: Point, *, fresh: bool = False) -> F64:
        return np.asarray(self.caller.forward(x, oracle=True, fresh=fresh), dtype=np.float64)

    def levels(self, x: Point, probes: Sequence[Probe]) -> list[Levels]:
        """Central-difference stencils at three step levels for each probe."""
        result = []
        for P in probes:
            plus, minus, deltas = [], [], []
            for k in range(LEVELS):
                xp = shifted(x, P, 1.0 / 2**k)
                xm = shifted(x, P, -1.0 / 2**k)
                deltas.append(
                    tuple(None if Pi is None else a - b for Pi, a, b in zip(P, xp, xm, strict=True))
                )
                yp, ym = self.forward64([xp, xm])
                plus.append(yp)
                minus.append(ym)
            result.append(Levels(plus=tuple(plus), minus=tuple(minus), delta=tuple(deltas)))
        return result
