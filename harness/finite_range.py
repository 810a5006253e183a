"""Where a forward is finite, per dtype, and whose fault the overflow beyond it is.

``exp`` must overflow in float32 for z > 88.72: its true value is not representable there.
A softplus written ``log(1 + exp(z))`` also returns inf there, although its true value (z) is
representable: the code overflows, not the function. Generation that reaches a quarter of the
dtype's largest value meets both, and a verdict should say which it met, once, and verify the
derivative where the forward is finite.

:func:`finite_range` finds, along ``+z`` and ``-z`` (times a probe pattern), the largest
magnitude where the forward is finite in a dtype: a coarse scan (16, 256, 65536, ...: each
magnitude the square of the last) finds the first non-finite one, and bisection on the floats
between the last finite magnitude and it narrows the edge to one ulp (at most about 75
evaluations of a small array per side in float64). At
the first non-finite point the forward is evaluated again in a wider dtype (float64 for
float32 and float16; long double, where the forward accepts it and the platform has one, for
float64): a wider value beyond the dtype's largest means the *function* overflows; a finite,
representable one means the *code* does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["CODE", "FUNCTION", "UNKNOWN", "FiniteRange", "Side", "finite_range"]

FUNCTION = "function"  # the true value is not representable in the dtype
CODE = "code"  # the true value is representable; the implementation overflows
UNKNOWN = "unknown"  # no wider evaluation could tell

Array = NDArray[Any]


@dataclass(frozen=True)
class Side:
    """The finite range along one sign.

    Attributes
    ----------
    sign : int
        +1 or -1.
    limit : float
        Largest magnitude t (a value of the dtype) with ``forward(sign * t * probe)`` finite;
        ``inf`` when the forward is finite up to the dtype's largest value.
    first_bad : float or None
        The next magnitude, where the forward is not finite (None when there is none).
    cause : str or None
        ``"function"``, ``"code"`` or ``"unknown"`` (None when there is no overflow).
    wide_value : float or None
        The largest |entry| of the forward at ``first_bad`` in the wider dtype.
    bad_value : str
        What the forward returned there ("inf", "-inf", "nan", or "raised ...").
    """

    sign: int
    limit: float
    first_bad: float | None
    cause: str | None
    wide_value: float | None
    bad_value: str = ""


@dataclass(frozen=True)
class FiniteRange:
    """Where a forward is finite in one dtype, along ``+-t * probe``."""

    dtype: str
    upper: Side
    lower: Side
    wide_dtype: str
    evaluations: int

    @property
    def max_abs_input(self) -> float:
        """The largest |z| at which the forward is finite on both sides."""
        return min(self.upper.limit, self.lower.limit)

    def contains(self, z: Any) -> bool:
        """True when every entry of ``z`` lies within the finite range."""
        a = np.asarray(z, dtype=np.float64)
        return bool(np.all((a <= self.upper.limit) & (a >= -self.lower.limit)))

    def messages(self, variable: str = "z") -> list[str]:
        """One sentence per side that overflows, for the report."""
        out = []
        for side in (self.upper, self.lower):
            if side.first_bad is None:
                continue
            cmp = ">" if side.sign > 0 else "<"
            edge = side.sign * side.limit
            where = f"{variable} {cmp} {_fmt(edge)}"
            at = _fmt(side.sign * side.first_bad)
            big = _fmt(float(np.finfo(np.dtype(self.dtype)).max))
            if side.cause == FUNCTION:
                out.append(
                    f"the forward overflows for {where} in {self.dtype}: its true value is "
                    f"not representable there ({_fmt(side.wide_value)} at {variable} = {at} in "
                    f"{self.wide_dtype}, beyond {self.dtype}'s largest {big}); the derivative "
                    f"is verified where the forward is finite"
                )
            elif side.cause == CODE:
                out.append(
                    f"the forward returns {side.bad_value} for {where} in {self.dtype} where "
                    f"its true value is representable ({_fmt(side.wide_value)} at {variable} = "
                    f"{at} in {self.wide_dtype}): the code overflows, not the function"
                )
            else:
                out.append(
                    f"the forward returns {side.bad_value} for {where} in {self.dtype} "
                    f"(no wider evaluation could tell whether its true value is representable)"
                )
        return out

    def message(self, variable: str = "z") -> str:
        """All sides in one sentence ("" when the forward is finite everywhere probed)."""
        return "; ".join(self.messages(variable))


def _fmt(v: float | None) -> str:
    if v is None:
        return "n/a"
    if not math.isfinite(v):
        return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
    return f"{v:.9g}"


def _wide_dtype(dt: np.dtype[Any]) -> np.dtype[Any]:
    if dt.itemsize < 8:
        return np.dtype(np.float64)
    ld = np.dtype(np.longdouble)
    if np.finfo(ld).max > np.finfo(np.float64).max:
        return ld
    return np.dtype(np.float64)


def finite_range(
    forward: Callable[[Array], Any],
    dtype: Any,
    *,
    probe: Any = None,
    start: float = 1.0,
) -> FiniteRange:
    """Where ``forward`` is finite in ``dtype`` along ``+-t * probe``, and why not beyond.

    Parameters
    ----------
    forward : callable
        ``forward(Z) -> A``; elementwise or columnwise (called on ``t * probe``).
    dtype : numpy dtype
        The dtype the forward runs in.
    probe : array_like, optional
        The input pattern scaled by t (default ``[[1.0]]``: one entry). For a columnwise
        forward, ``[[1.0], [0.0]]`` moves one logit against another.
    start : float
        Magnitude the scan starts at; the forward must be finite there.

    Returns
    -------
    FiniteRange
        The finite limits on both sides and the cause of each overflow.
    """
    dt: np.dtype[Any] = np.dtype(dtype)
    base = np.asarray([[1.0]] if probe is None else probe, dtype=np.float64)
    fmax = float(np.finfo(dt).max)
    wide = _wide_dtype(dt)
    count = [0]

    def value(t: float, sign: int, as_dtype: np.dtype[Any]) -> tuple[bool, Any, str]:
        count[0] += 1
        with np.errstate(all="ignore"):
            z = (sign * t * base).astype(as_dtype)
            try:
                out = np.asarray(forward(z))
            except Exception as exc:  # a forward that raises is not finite there
                return False, None, f"raised {type(exc).__name__}"
        if out.dtype.kind not in "fc":
            out = out.astype(np.float64)
        ok = bool(np.all(np.isfinite(out)))
        what = ""
        if not ok:
            bad = out[~np.isfinite(out)].ravel()[0]
            what = "nan" if np.isnan(bad) else ("inf" if bad > 0 else "-inf")
        return ok, out, what

    def side(sign: int) -> Side:
        lo = float(dt.type(start))
        if not value(lo, sign, dt)[0]:
            lo = 0.0
        # Coarse scan: 16, 256, 65536, ... (squaring) up to the largest value.
        hi = None
        t = max(lo, 4.0)
        while True:
            t_next = min(t * t, fmax)
            if not value(t_next, sign, dt)[0]:
                hi = t_next
                break
            lo = t_next
            if t_next >= fmax:
                break
            t = t_next
        if hi is None:
            return Side(sign, math.inf, None, None, None)
        # Bisection on the dtype's values between lo (finite) and hi (not finite).
        bits = np.dtype(f"u{dt.itemsize}")
        a = int(np.array(lo, dtype=dt).view(bits))
        b = int(np.array(hi, dtype=dt).view(bits))
        while b - a > 1:
            mid = (a + b) // 2
            tm = float(np.array(mid, dtype=bits).view(dt))
            if value(tm, sign, dt)[0]:
                a = mid
            else:
                b = mid
        limit = float(np.array(a, dtype=bits).view(dt))
        first_bad = float(np.array(b, dtype=bits).view(dt))
        _, _, bad_value = value(first_bad, sign, dt)
        ok_wide, out_wide, _ = value(first_bad, sign, wide)
        cause = UNKNOWN
        wide_value: float | None = None
        if out_wide is not None and out_wide.dtype.itemsize >= np.dtype(wide).itemsize:
            mag = np.abs(out_wide.astype(wide))
            top = mag.max()
            wide_value = float(top) if np.isfinite(top) else math.inf
            if ok_wide:
                cause = FUNCTION if top > fmax else CODE
            elif wide.itemsize > 8 and not np.isfinite(top):
                cause = UNKNOWN
        return Side(sign, limit, first_bad, cause, wide_value, bad_value)

    up = side(+1)
    down = side(-1)
    return FiniteRange(dt.name, up, down, wide.name, count[0])
