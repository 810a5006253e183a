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

__all__ = ["Evaluator", "Levels", "central_steps", "richardson"]

F64 = NDArray[np.float64]
LEVELS = 3  # steps t, t/2, t/4
# Largest number of elements one batched forward call may take.
MAX_BATCH_ELEMENTS = 1 << 18


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
        h = np.minimum(h, 0.5 * dist)
        small = h / 4.0
        on_kink = (x + small) - (x - small) == 0.0
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
        self.structure = structure
        self.batch = batch and structure in ("elementwise", "columnwise")
        self._centre: tuple[F64, F64] | None = None

    def set_centre(self, x: F64, fx: F64) -> None:
        """The unbatched ``forward(x)``: every batch re-evaluates x and must reproduce it.

        Stacking points as extra columns is only sound if the declared structure holds; a
        function that mixes columns would silently corrupt the oracle. Re-evaluating the
        centre in each batch turns that into a loud failure instead.
        """
        self._centre = (x, fx)

    def forward64(self, xs: Sequence[F64], *, batch: bool = True, fresh: bool = False) -> list[F64]:
        """``forward`` at each float64 point, returned as float64 arrays.

        ``fresh=True``: the points are the caller's temporaries, already stacked as columns
        (so the declared structure is relied on); each is evaluated in one call, with the
        centre re-evaluated beside it and checked.
        """
        if not xs:
            return []
        if fresh:
            return [self._stacked(x) for x in xs]
        if not (batch and self.batch) or xs[0].ndim != 2:
            return [self._one(x) for x in xs]
        out: list[F64] = []
        per = max(1, MAX_BATCH_ELEMENTS // max(1, xs[0].size))
        for start in range(0, len(xs), per):
            group = xs[start : start + per]
            if len(group) == 1:
                out.append(self._one(group[0]))
                continue
            stack = list(group)
            check = self._centre is not None and self._centre[0].shape[0] == group[0].shape[0]
            if check:
                assert self._centre is not None
                stack.append(self._centre[0])
            cuts = np.cumsum([a.shape[1] for a in stack])[:-1]
            y = np.split(self._one(np.concatenate(stack, axis=1), fresh=True), cuts, axis=1)
            if check:
                self._same_as_centre(y.pop())
            out.extend(y)
        return out

    def _stacked(self, x: F64) -> F64:
        if self._centre is None or self._centre[0].shape[0] != x.shape[0]:
            return self._one(x, fresh=True)
        y = self._one(np.concatenate([x, self._centre[0]], axis=1), fresh=True)
        self._same_as_centre(y[:, x.shape[1] :])
        return y[:, : x.shape[1]]

    def _same_as_centre(self, y: F64) -> None:
        assert self._centre is not None
        ref = self._centre[1]
        eps = float(np.finfo(np.float64).eps)
        tol = 64.0 * eps * np.maximum(np.abs(ref), np.abs(y)) + float(np.finfo(np.float64).tiny)
        bad = ~(np.abs(y - ref) <= tol)
        if bad.any():
            i = tuple(int(v) for v in np.argwhere(bad)[0])
            raise CallFailure(
                "structure",
                f"forward({self.structure}) is not {self.structure}: evaluated with other "
                f"columns stacked beside it, A[{i[0]}, {i[1]}] changed from {ref[i]!r} to "
                f"{y[i]!r}; the declared structure is violated",
            )

    def forward_complex(self, xs: Sequence[NDArray[np.complex128]]) -> list[Any] | None:
        """``forward`` at complex points, or None when the function does not support them.

        Support means: accepts complex input without raising and returns a complex array.
        Whether its imaginary part is a derivative (holomorphic code) is for the caller to
        cross-check.
        """
        if not xs:
            return []
        outs: list[Any] = []
        groups = [list(xs)] if self.batch and xs[0].ndim == 2 else [[x] for x in xs]
        for group in groups:
            z = np.concatenate(group, axis=1) if len(group) > 1 else group[0]
            try:
                y = self.caller.forward(z, oracle=True, fresh=len(group) > 1)
            except CallFailure:
                return None
            if not np.iscomplexobj(y):
                return None
            outs.extend(np.split(y, len(group), axis=1) if len(group) > 1 else [y])
        return outs

    def _one(self, x: F64, *, fresh: bool = False) -> F64:
        return np.asarray(self.caller.forward(x, oracle=True, fresh=fresh), dtype=np.float64)

    def levels(self, x: F64, probes: Sequence[F64], *, batch: bool = True) -> list[Levels]:
        """Central-difference stencils at three step levels for each probe direction.

        ``batch=False`` evaluates point by point, relying on no declared structure.
        """
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
        ys = self.forward64(points) if batch else [self._one(p) for p in points]
        result = []
        for i, ds in enumerate(deltas):
            block = ys[i * 2 * LEVELS : (i + 1) * 2 * LEVELS]
            result.append(
                Levels(plus=tuple(block[0::2]), minus=tuple(block[1::2]), delta=tuple(ds))
            )
        return result
