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

from harness.calls import Caller
from harness.errormodel import ErrorModel

__all__ = ["Evaluator", "Levels", "central_steps", "richardson"]

F64 = NDArray[np.float64]
LEVELS = 3  # steps t, t/2, t/4
# Largest number of elements one batched forward call may take.
MAX_BATCH_ELEMENTS = 1 << 22


def central_steps(
    x: F64, kinks: Sequence[float], model: ErrorModel, oracle_dtype: np.dtype[Any]
) -> tuple[F64, NDArray[np.bool_]]:
    """Per-entry central-difference steps, and which entries sit on a kink.

    The step is ``eps**(1/5) * max(1, |x|)``, capped so that ``x +- h`` stays finite and, where
    kinks are declared, at half the distance to the nearest kink so that no stencil straddles
    one. An entry whose capped step cannot be realised (``x + h/4 == x - h/4``) is "on the
    kink": it gets the one-sided subgradient test instead.
    """
    h = model.base_step(oracle_dtype) * np.maximum(1.0, np.abs(x))
    fmax = float(np.finfo(np.float64).max)
    h = np.minimum(h, (fmax - np.abs(x)) * 0.25)
    on_kink = np.zeros(x.shape, dtype=bool)
    if kinks:
        dist = np.min(np.abs(x[..., None] - np.asarray(kinks, dtype=np.float64)), axis=-1)
        h = np.minimum(h, 0.5 * dist)
        small = h / 4.0
        on_kink = (x + small) - (x - small) == 0.0
        h = np.where(on_kink, 0.0, h)
    return h, on_kink


def kink_distance(x: F64, kinks: Sequence[float]) -> F64:
    """Distance from each entry to the nearest declared kink (inf when none)."""
    if not kinks:
        return np.full(x.shape, np.inf)
    return np.asarray(
        np.min(np.abs(x[..., None] - np.asarray(kinks, dtype=np.float64)), axis=-1),
        dtype=np.float64,
    )


def richardson(r0: Any, r1: Any, r2: Any) -> tuple[Any, Any]:
    """Two Richardson extrapolations of central differences at t, t/2, t/4.

    Returns the better extrapolation and the difference of the two as its error estimate.
    """
    ra = (4.0 * r1 - r0) / 3.0
    rb = (4.0 * r2 - r1) / 3.0
    return rb, np.abs(rb - ra)


@dataclass(frozen=True)
class Levels:
    """Forward values at x + P/2^k and x - P/2^k, k = 0, 1, 2, and the realised steps."""

    plus: tuple[F64, ...]
    minus: tuple[F64, ...]
    delta: tuple[F64, ...]  # (x + P_k) - (x - P_k), as realised in float64


class Evaluator:
    """Evaluates the forward in float64 at many points, batching where the structure allows.

    For an elementwise or columnwise function, several points are evaluated in one call by
    stacking them as extra columns. This relies on the declared structure, which the
    ``structure`` check verifies independently.
    """

    def __init__(self, caller: Caller, structure: str, *, batch: bool = True) -> None:
        self.caller = caller
        self.batch = batch and structure in ("elementwise", "columnwise")

    def forward64(self, xs: Sequence[F64]) -> list[F64]:
        """``forward`` at each float64 point, returned as float64 arrays."""
        if not xs:
            return []
        if not self.batch or xs[0].ndim != 2:
            return [self._one(x) for x in xs]
        out: list[F64] = []
        per = max(1, MAX_BATCH_ELEMENTS // max(1, xs[0].size))
        for start in range(0, len(xs), per):
            group = xs[start : start + per]
            if len(group) == 1:
                out.append(self._one(group[0]))
                continue
            big = np.concatenate(group, axis=1)
            y = self._one(big)
            out.extend(np.split(y, len(group), axis=1))
        return out

    def _one(self, x: F64) -> F64:
        return np.asarray(self.caller.forward(x, oracle=True), dtype=np.float64)

    def levels(self, x: F64, probes: Sequence[F64]) -> list[Levels]:
        """Central-difference stencils at three step levels for each probe direction."""
        points: list[F64] = []
        deltas: list[list[F64]] = []
        for P in probes:
            ds = []
            for k in range(LEVELS):
                Pk = P / float(2**k)
                xp = x + Pk
                xm = x - Pk
                points.extend((xp, xm))
                ds.append(xp - xm)
            deltas.append(ds)
        ys = self.forward64(points)
        result = []
        for i, ds in enumerate(deltas):
            block = ys[i * 2 * LEVELS : (i + 1) * 2 * LEVELS]
            result.append(
                Levels(plus=tuple(block[0::2]), minus=tuple(block[1::2]), delta=tuple(ds))
            )
        return result
