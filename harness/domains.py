"""Where each input lives: :class:`Domain` and its factories (placeholder, minimal).

A domain gives the open bounds finite-difference stencils must stay inside, whether the
input is discrete (labels: only valid for constants), and a hypothesis strategy of arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from harness.errors import SpecError

__all__ = ["Domain", "binary", "interval", "one_hot", "positive", "real", "simplex"]

Strategy = Callable[[tuple[int, ...], np.dtype[Any]], st.SearchStrategy[NDArray[Any]]]


@dataclass(frozen=True)
class Domain:
    """An input's domain: open stencil bounds, discreteness, and how to draw arrays."""

    name: str
    lo: float
    hi: float
    make: Strategy
    discrete: bool = False

    def strategy(self, shape: tuple[int, ...], dtype: Any) -> st.SearchStrategy[NDArray[Any]]:
        return self.make(tuple(shape), np.dtype(dtype))

    def contains(self, x: NDArray[Any]) -> NDArray[np.bool_]:
        x = np.asarray(x, dtype=np.float64)
        return np.asarray((x > self.lo) & (x < self.hi))


def _exact(dtype: np.dtype[Any]) -> Callable[[float], float]:
    t = dtype.type
    return lambda v: float(t(v))


def _floats(lo: float, hi: float, dtype: np.dtype[Any]) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64).map(_exact(dtype))


def real() -> Domain:
    """Any finite value (the default)."""

    def make(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[NDArray[Any]]:
        return hnp.arrays(dtype, shape, elements=_floats(-8.0, 8.0, dtype))

    return Domain("real", -np.inf, np.inf, make)


def interval(lo: float, hi: float) -> Domain:
    """The open interval ``(lo, hi)``."""
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise SpecError(f"interval({lo!r}, {hi!r}): need finite lo < hi.")

    def make(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[NDArray[Any]]:
        width = hi - lo
        el = _floats(lo + 1e-6 * width, hi - 1e-6 * width, dtype).filter(lambda v: lo < v < hi)
        return hnp.arrays(dtype, shape, elements=el)

    return Domain(f"interval({lo:g}, {hi:g})", float(lo), float(hi), make)


def positive() -> Domain:
    """``x > 0``."""

    def make(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[NDArray[Any]]:
        el = st.floats(-6.0, 3.0).map(lambda e: 10.0**e).map(_exact(dtype)).filter(lambda v: v > 0)
        return hnp.arrays(dtype, shape, elements=el)

    return Domain("positive", 0.0, np.inf, make)


def simplex(axis: int = 0) -> Domain:
    """Columns (``axis=0``) of positive entries that sum to 1."""

    def make(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[NDArray[Any]]:
        raw = hnp.arrays(np.float64, shape, elements=st.floats(0.05, 1.0))
        return raw.map(lambda a: (a / a.sum(axis=axis, keepdims=True)).astype(dtype))

    return Domain("simplex", 0.0, 1.0, make)


def one_hot(axis: int = 0) -> Domain:
    """Columns with a single 1 (labels); discrete, so only for constants."""

    def make(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[NDArray[Any]]:
        n = shape[axis] if shape else 1
        other = shape[1 - axis] if len(shape) == 2 else 1

        def build(idx: list[int]) -> NDArray[Any]:
            a = np.zeros(shape, dtype=dtype)
            for c, i in enumerate(idx):
                if axis == 0:
                    a[i, c] = 1
                else:
                    a[c, i] = 1
            return a

        return st.lists(st.integers(0, n - 1), min_size=other, max_size=other).map(build)

    return Domain("one_hot", -np.inf, np.inf, make, discrete=True)


def binary() -> Domain:
    """Entries 0 or 1 (labels); discrete, so only for constants."""

    def make(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[NDArray[Any]]:
        return hnp.arrays(dtype, shape, elements=st.sampled_from([0.0, 1.0]))

    return Domain("binary", -np.inf, np.inf, make, discrete=True)
