"""Where each input of a function lives: domains, their generators and their edges.

A :class:`Domain` says which values an input may take and how the harness generates them.
Its open bounds ``lo`` and ``hi`` are where finite-difference stencils must stop: a stencil
that reaches ``log(A)`` at ``A <= 0`` measures nothing. Near an edge the stencil becomes
one-sided, like next to a kink (:func:`room` and :func:`step_limits` give the distances).

Every domain's strategy has adversarial edges of its own, drawn beside ordinary values:

* ``real()``: zeros, both signs, magnitudes spread log-uniformly from 1e-12 up to 1e4 (the
  activation families of harness.strategies reach subnormals and the overflow bands);
* ``interval(lo, hi)``: both edges approached to one, two, three and four ulps of the dtype
  (an edge at 0 to the smallest normal number, 1e-300 in float64, and a few ulps above it),
  the midpoint, uniform values;
* ``positive()``: ``1e-300`` (or the smallest normal number where that is not representable),
  subnormals, values near 1, huge values up to the dtype's largest;
* ``simplex(axis)``: probabilities at ``1e-300`` and at the largest value below 1 (``1 - 1e-16``
  as representable in the dtype), one class only (n = 1), all classes equal, a column that is
  one-hot-like with tiny others;
* ``one_hot(axis)`` and ``binary()``: discrete labels (only valid for constants): every entry
  in one class, each class, all zeros and all ones.

Every value is exactly representable in the dtype it is generated for, and every strategy is
built from hypothesis primitives, so a failing input shrinks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from harness.errors import SpecError

__all__ = [
    "REAL_MAX",
    "Domain",
    "StrategyFactory",
    "as_domain",
    "binary",
    "interval",
    "one_hot",
    "positive",
    "real",
    "room",
    "simplex",
    "stencil_room",
    "step_limits",
]

Array = NDArray[Any]
F64 = NDArray[np.float64]
StrategyFactory = Callable[[tuple[int, ...], np.dtype[Any]], st.SearchStrategy[Array]]
"""``(shape, dtype) -> SearchStrategy[ndarray]``: how a domain's inputs are generated."""

_FLOATS = ("float16", "float32", "float64")


@dataclass(frozen=True, eq=False)
class Domain:
    """The set of values one input may take, and how to generate them.

    Attributes
    ----------
    name : str
        How the domain is shown: ``"real"``, ``"interval(0, 1)"``, ``"positive"``,
        ``"simplex(axis=0)"``, ``"one_hot(axis=0)"``, ``"binary"``.
    lo, hi : float
        Open bounds for finite-difference stencils (``-inf``/``inf`` for ``real()``). Every
        point a stencil evaluates must satisfy ``lo < x < hi``.
    discrete : bool
        True for labels (``one_hot``, ``binary``): only valid for constants, never perturbed.
    factory : StrategyFactory
        ``(shape, dtype) -> SearchStrategy[ndarray]``.
    axis : int or None
        The normalised axis of ``simplex``/``one_hot``; None otherwise.
    member : callable
        ``member(array) -> bool``, used by :meth:`contains`.
    """

    name: str
    lo: float
    hi: float
    discrete: bool
    factory: StrategyFactory = field(repr=False)
    axis: int | None = None
    member: Callable[[Array], bool] = field(repr=False, default=lambda a: True)

    def strategy(self, shape: tuple[int, ...], dtype: Any) -> st.SearchStrategy[Array]:
        """A hypothesis strategy of arrays of ``shape`` and ``dtype`` inside this domain.

        Parameters
        ----------
        shape : tuple of int
            Shape of the arrays.
        dtype : numpy dtype or str
            One of float16, float32, float64.

        Returns
        -------
        SearchStrategy[ndarray]
        """
        dt = _float_dtype(dtype, self.name)
        shp = tuple(int(s) for s in shape)
        if any(s < 0 for s in shp):
            raise SpecError(f"{self.name}: shape {shp} has a negative dimension.")
        if self.axis is not None and len(shp) <= _axis_index(self.axis, len(shp), self.name):
            raise SpecError(f"{self.name}: shape {shp} has no axis {self.axis}.")
        return self.factory(shp, dt)

    def contains(self, x: Any) -> bool:
        """True when every entry of ``x`` lies in the domain (NaN and inf never do)."""
        a = np.asarray(x)
        if a.dtype.kind not in "fiub":
            return False
        if a.size and not bool(np.all(np.isfinite(a))):
            return False
        return bool(self.member(a))

    @property
    def make(self) -> StrategyFactory:
        """The strategy factory (an alias of ``factory``)."""
        return self.factory

    def __str__(self) -> str:
        return self.name


# -- helpers ------------------------------------------------------------------------------------


def _float_dtype(dtype: Any, who: str) -> np.dtype[Any]:
    try:
        dt: np.dtype[Any] = np.dtype(dtype)
    except TypeError:
        raise SpecError(f"{who}: {dtype!r} is not a numpy dtype.") from None
    if dt.name not in _FLOATS:
        raise SpecError(f"{who}: dtype {dt.name} is not supported; use one of {_FLOATS}.")
    return dt


def _axis_index(axis: int, ndim: int, who: str) -> int:
    return axis if axis >= 0 else ndim + axis


def _exact(dtype: np.dtype[Any], v: float) -> float:
    """``v`` rounded to the dtype (and back to a Python float)."""
    with np.errstate(over="ignore"):
        return float(dtype.type(v))


def _inner(dtype: np.dtype[Any], lo: float, hi: float) -> tuple[float, float]:
    """Smallest and largest values of the dtype strictly inside ``(lo, hi)``."""
    t = dtype.type
    fmax = float(np.finfo(dtype).max)
    if lo == -math.inf:
        a = -fmax
    else:
        a = _exact(dtype, lo)
        if not a > lo:
            a = float(np.nextafter(t(a), t(np.inf)))
    if hi == math.inf:
        b = fmax
    else:
        b = _exact(dtype, hi)
        if not b < hi:
            b = float(np.nextafter(t(b), t(-np.inf)))
    return a, b


def _ulps_from(dtype: np.dtype[Any], v: float, k: int, toward: float) -> float:
    t = dtype.type
    x = t(v)
    for _ in range(k):
        x = np.nextafter(x, t(toward))
    return float(x)


def _finite_number(v: Any, what: str, who: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise SpecError(f"{who}: {what} must be a real number; got {v!r}.")
    f = float(v)
    if math.isnan(f):
        raise SpecError(f"{who}: {what} is NaN; give a number.")
    return f


def _pow10(e: float) -> float:
    """``10**e``, saturating at the largest float64 instead of raising."""
    try:
        return float(10.0**e)
    except OverflowError:
        return float(np.finfo(np.float64).max)


def _check_axis(axis: Any, who: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise SpecError(f"{who}: axis must be an int; got {axis!r}.")
    return int(axis)


def _clip_inside(a: F64, lo_in: float, hi_in: float) -> F64:
    return np.asarray(np.clip(a, lo_in, hi_in), dtype=np.float64)


# -- real ---------------------------------------------------------------------------------------


REAL_MAX = 1e4
"""Largest magnitude ``real()`` generates: the overflow bands are the activation families'
business (harness.strategies); a matrix product of inputs this size stays finite."""


def _real_elements(dtype: np.dtype[Any]) -> st.SearchStrategy[float]:
    fi = np.finfo(dtype)
    top = min(REAL_MAX, float(fi.max) / 4.0)
    sign = st.sampled_from([1.0, -1.0])
    plain = st.floats(-8.0, 8.0, allow_nan=False, width=64).map(lambda v: _exact(dtype, v))
    mags = st.floats(-12.0, math.log10(top), allow_nan=False).map(_pow10)
    logmag = st.builds(lambda s, v: _exact(dtype, s * min(v, top)), sign, mags)
    edges = st.sampled_from([0.0, -0.0, 1.0, -1.0, _exact(dtype, top), -_exact(dtype, top)])
    return st.one_of(plain, edges, logmag)


def real() -> Domain:
    """Every finite value (the default domain of an input).

    Returns
    -------
    Domain
        ``lo = -inf``, ``hi = inf``; generation covers [-8, 8], magnitudes from 1e-12 to
        ``REAL_MAX`` (1e4) and both zeros. (Subnormals and the overflow bands of activations
        are generated by their own families in harness.strategies.)
    """

    def factory(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[Array]:
        return hnp.arrays(dtype, shape, elements=_real_elements(dtype))

    return Domain("real", -math.inf, math.inf, False, factory, None, lambda a: True)


# -- interval -----------------------------------------------------------------------------------


def _interval_elements(
    dtype: np.dtype[Any], lo: float, hi: float, name: str
) -> st.SearchStrategy[float]:
    a, b = _inner(dtype, lo, hi)
    if not a <= b:
        raise SpecError(
            f"{name}: no {dtype.name} value lies strictly inside the interval; widen it or "
            f"use a wider dtype."
        )
    # An edge at 0 is approached to the smallest normal number (1e-300 in float64), not into
    # the subnormals, whose reciprocals (log's derivative) overflow the dtype.
    fi = np.finfo(dtype)
    normal = max(_exact(dtype, 1e-300), float(fi.tiny))
    if lo == 0.0 and a < normal <= b:
        a = normal
    if hi == 0.0 and -normal >= a and b > -normal:
        b = -normal
    edges = {a, b}
    for k in (1, 2, 3):
        edges.add(_ulps_from(dtype, a, k, b))
        edges.add(_ulps_from(dtype, b, k, a))
    mid = _exact(dtype, a / 2.0 + b / 2.0)
    if a <= mid <= b:
        edges.add(mid)
    finite_lo = max(a, -1e6) if math.isinf(lo) else a
    finite_hi = min(b, 1e6) if math.isinf(hi) else b
    if finite_lo > finite_hi:
        finite_lo, finite_hi = a, b
    uniform = st.floats(finite_lo, finite_hi, allow_nan=False, width=64).map(
        lambda v: min(max(_exact(dtype, v), a), b)
    )
    ordered = sorted(e for e in edges if a <= e <= b)
    return st.one_of(uniform, st.sampled_from(ordered))


def interval(lo: float, hi: float) -> Domain:
    """The open interval ``(lo, hi)``; either bound may be infinite.

    Parameters
    ----------
    lo, hi : float
        Bounds, ``lo < hi``. A probability is ``interval(0, 1)``.

    Returns
    -------
    Domain
        Generation approaches both edges to one, two, three and four ulps of the dtype.

    Raises
    ------
    SpecError
        When a bound is not a number or NaN, or ``lo >= hi``.
    """
    name = f"interval({lo!r}, {hi!r})"
    lo_f = _finite_number(lo, "the lower bound", name)
    hi_f = _finite_number(hi, "the upper bound", name)
    if not lo_f < hi_f:
        raise SpecError(
            f"{name}: the lower bound {lo_f:g} is not below the upper bound {hi_f:g}; an "
            f"open interval (lo, hi) needs lo < hi."
        )
    name = f"interval({lo_f:g}, {hi_f:g})"

    def factory(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[Array]:
        return hnp.arrays(dtype, shape, elements=_interval_elements(dtype, lo_f, hi_f, name))

    def member(a: Array) -> bool:
        x = np.asarray(a, dtype=np.float64)
        return bool(np.all((x > lo_f) & (x < hi_f)))

    return Domain(name, lo_f, hi_f, False, factory, None, member)


# -- positive -----------------------------------------------------------------------------------


def positive() -> Domain:
    """Every value above 0: ``(0, inf)``.

    Returns
    -------
    Domain
        Generation includes ``1e-300`` (the smallest normal number where ``1e-300`` is not
        representable), subnormals, values near 1 and huge values up to the dtype's largest.
    """

    def factory(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[Array]:
        fi = np.finfo(dtype)
        top = float(fi.max)
        tiny, smallest = float(fi.tiny), float(fi.smallest_subnormal)
        small = _exact(dtype, 1e-300) or tiny
        edges = sorted(
            {
                small,
                smallest,
                2 * smallest,
                tiny,
                _exact(dtype, tiny / 2),
                1.0,
                _ulps_from(dtype, 1.0, 1, 0.0),
                _ulps_from(dtype, 1.0, 1, 2.0),
                _exact(dtype, top / 4),
                top,
            }
        )
        mags = st.floats(math.log10(smallest), math.log10(top), allow_nan=False).map(
            lambda e: min(max(_exact(dtype, _pow10(e)), smallest), top)
        )
        plain = st.floats(smallest, 8.0, allow_nan=False, width=64).map(
            lambda v: max(_exact(dtype, v), smallest)
        )
        sub = st.floats(smallest, tiny, allow_nan=False, width=64).map(
            lambda v: max(_exact(dtype, v), smallest)
        )
        return hnp.arrays(
            dtype, shape, elements=st.one_of(plain, st.sampled_from(edges), mags, sub)
        )

    def member(a: Array) -> bool:
        return bool(np.all(np.asarray(a, dtype=np.float64) > 0))

    return Domain("positive", 0.0, math.inf, False, factory, None, member)


# -- simplex ------------------------------------------------------------------------------------

_COLUMN_KINDS = ("random", "equal", "one-hot-like", "near-one", "tiny-entries", "spread")


def _simplex_column(kind: str, n: int, dtype: np.dtype[Any], draw: st.DrawFn) -> F64:
    """One column of n probabilities in ``dtype`` (returned as float64), summing to ~1."""
    if n == 1:
        return np.ones(1)
    t = dtype.type
    tiny = _exact(dtype, 1e-300) or float(np.finfo(dtype).tiny)
    below_one = float(np.nextafter(t(1), t(0)))
    if kind == "equal":
        return np.full(n, _exact(dtype, 1.0 / n))
    if kind in ("one-hot-like", "near-one"):
        k = draw(st.integers(0, n - 1))
        if kind == "one-hot-like":
            col = np.full(n, tiny)
        else:
            rest = _exact(dtype, (1.0 - below_one) / (n - 1)) or tiny
            col = np.full(n, rest)
        col[k] = below_one
        return col
    # Positive weights, normalised; "tiny-entries" puts some at 1e-300.
    if kind == "spread":
        exps = draw(st.lists(st.floats(-30.0, 0.0), min_size=n, max_size=n))
        w = np.power(10.0, np.asarray(exps))
    else:
        w = np.asarray(draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n)))
    p = w / w.sum()
    if kind == "tiny-entries":
        small = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        keep = draw(st.integers(0, n - 1))
        small[keep] = False
        p = np.where(np.asarray(small), 0.0, p)
        p = p / p.sum()
        p = np.where(np.asarray(small), tiny, p)
    col = np.array([max(_exact(dtype, v), tiny) for v in p])
    big = int(np.argmax(col))
    rest = float(np.sum(np.delete(col, big)))
    col[big] = min(max(_exact(dtype, 1.0 - rest), tiny), below_one)
    return col


def simplex(axis: int = 0) -> Domain:
    """Probability vectors along ``axis``: entries in ``(0, 1)`` that sum to 1.

    ``simplex(axis=0)`` is a softmax output or a prediction of ``(n, m)`` with one example per
    column. Stencils treat each entry as living in the open box ``(0, 1)``: ``lo = 0``,
    ``hi = 1``. The sum is held to the dtype's rounding (``4 n eps``); with one class only
    (n = 1) every entry is exactly 1.

    Parameters
    ----------
    axis : int
        The axis along which entries sum to 1.

    Returns
    -------
    Domain
    """
    ax = _check_axis(axis, f"simplex(axis={axis!r})")
    name = f"simplex(axis={ax})"

    def factory(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[Array]:
        @st.composite
        def gen(draw: st.DrawFn) -> Array:
            a = _axis_index(ax, len(shape), name)
            moved = np.moveaxis(np.empty(shape), a, 0)
            n = moved.shape[0]
            cols = int(np.prod(moved.shape[1:], dtype=np.int64))
            out = np.empty((n, cols))
            shared = draw(st.sampled_from((None, *_COLUMN_KINDS)))
            for c in range(cols):
                kind = shared or draw(st.sampled_from(_COLUMN_KINDS))
                out[:, c] = _simplex_column(kind, n, dtype, draw)
            arr = np.moveaxis(out.reshape(moved.shape), 0, a)
            return np.ascontiguousarray(arr.astype(dtype))

        return gen()

    def member(arr: Array) -> bool:
        x = np.asarray(arr, dtype=np.float64)
        if x.ndim == 0:
            return False
        a = _axis_index(ax, x.ndim, name)
        if not 0 <= a < x.ndim:
            return False
        if not bool(np.all((x >= 0) & (x <= 1))):
            return False
        n = x.shape[a]
        eps = float(np.finfo(arr.dtype).eps) if arr.dtype.kind == "f" else 2.0**-52
        return bool(np.all(np.abs(x.sum(axis=a) - 1.0) <= 4.0 * max(n, 1) * eps))

    return Domain(name, 0.0, 1.0, False, factory, ax, member)


# -- discrete labels ----------------------------------------------------------------------------


def one_hot(axis: int = 0) -> Domain:
    """One-hot labels along ``axis``: exactly one 1 per vector, zeros elsewhere (discrete).

    Parameters
    ----------
    axis : int
        The class axis (``axis=0``: one example per column).

    Returns
    -------
    Domain
        Discrete: valid only for constants. Generation covers every example in one class,
        each class, and n = 1 (one class only).
    """
    ax = _check_axis(axis, f"one_hot(axis={axis!r})")
    name = f"one_hot(axis={ax})"

    def factory(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[Array]:
        @st.composite
        def gen(draw: st.DrawFn) -> Array:
            a = _axis_index(ax, len(shape), name)
            moved = np.moveaxis(np.empty(shape), a, 0)
            n = moved.shape[0]
            cols = int(np.prod(moved.shape[1:], dtype=np.int64))
            if n == 0:
                return np.zeros(shape, dtype=dtype)
            same = draw(st.booleans())
            if same:
                classes = [draw(st.integers(0, n - 1))] * cols
            else:
                classes = draw(st.lists(st.integers(0, n - 1), min_size=cols, max_size=cols))
            out = np.zeros((n, cols))
            out[np.asarray(classes, dtype=np.int64), np.arange(cols)] = 1.0
            arr = np.moveaxis(out.reshape(moved.shape), 0, a)
            return np.ascontiguousarray(arr.astype(dtype))

        return gen()

    def member(arr: Array) -> bool:
        x = np.asarray(arr, dtype=np.float64)
        if x.ndim == 0:
            return False
        a = _axis_index(ax, x.ndim, name)
        if not 0 <= a < x.ndim:
            return False
        return bool(np.all((x == 0) | (x == 1)) and np.all(x.sum(axis=a) == 1))

    return Domain(name, 0.0, 1.0, True, factory, ax, member)


def binary() -> Domain:
    """Labels that are 0 or 1 (discrete; valid only for constants).

    Returns
    -------
    Domain
        Generation covers all zeros, all ones and mixtures.
    """

    def factory(shape: tuple[int, ...], dtype: np.dtype[Any]) -> st.SearchStrategy[Array]:
        mixed = hnp.arrays(dtype, shape, elements=st.sampled_from([0.0, 1.0]))
        const = st.sampled_from([0.0, 1.0]).map(lambda v: np.full(shape, v, dtype=dtype))
        return st.one_of(mixed, const)

    def member(arr: Array) -> bool:
        x = np.asarray(arr, dtype=np.float64)
        return bool(np.all((x == 0) | (x == 1)))

    return Domain("binary", 0.0, 1.0, True, factory, None, member)


# -- user strategies and stencil limits ---------------------------------------------------------


def as_domain(obj: Any, who: str = "domain") -> Domain:
    """A :class:`Domain` from a Domain or a user's ``(shape, dtype) -> SearchStrategy``.

    A user strategy gets the real line's stencil bounds (``-inf, inf``) and accepts every
    finite array.

    Raises
    ------
    SpecError
        When ``obj`` is neither.
    """
    if isinstance(obj, Domain):
        return obj
    if callable(obj):
        label = getattr(obj, "__name__", type(obj).__name__)
        return Domain(f"custom({label})", -math.inf, math.inf, False, obj, None, lambda a: True)
    raise SpecError(
        f"{who}: expected a harness.domains.Domain (real(), interval(lo, hi), positive(), "
        f"simplex(), one_hot(), binary()) or a function (shape, dtype) -> SearchStrategy; "
        f"got {type(obj).__name__} {obj!r}."
    )


def room(domain: Domain, x: Any) -> tuple[F64, F64]:
    """Per entry, how far a stencil may move down and up before it leaves the domain.

    Parameters
    ----------
    domain : Domain
    x : array_like
        The point (any shape).

    Returns
    -------
    below, above : ndarray of float64
        ``x - lo`` and ``hi - x`` (``inf`` for an infinite bound; 0 for a discrete domain,
        which is never perturbed; 0 for entries on or beyond the bound).
    """
    a = np.asarray(x, dtype=np.float64)
    if domain.discrete:
        z = np.zeros(a.shape)
        return z, z.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        below = np.full(a.shape, np.inf) if math.isinf(domain.lo) else a - domain.lo
        above = np.full(a.shape, np.inf) if math.isinf(domain.hi) else domain.hi - a
    below = np.where(np.isnan(below) | (below < 0), 0.0, below)
    above = np.where(np.isnan(above) | (above < 0), 0.0, above)
    return np.asarray(below, dtype=np.float64), np.asarray(above, dtype=np.float64)


def step_limits(domain: Domain, x: Any) -> F64:
    """Per entry, the distance to the nearest edge of the domain (``inf`` for ``real()``).

    A central stencil of step ``h`` stays inside the domain when ``h < step_limits(d, x)``;
    an entry closer to an edge than the step it needs gets a one-sided stencil on the side
    :func:`room` says is wider. Discrete domains give 0 (never perturbed).
    """
    below, above = room(domain, x)
    return np.asarray(np.minimum(below, above), dtype=np.float64)


def stencil_room(
    x: Any, domain: Domain | None = None, kinks: Any = (), dtype_max: float | None = None
) -> tuple[F64, F64]:
    """Per entry, how far a stencil may reach down and up: to the nearest kink or edge.

    Combines the domain's open bounds, the declared kinks (a stencil must not straddle one)
    and, when ``dtype_max`` is given, the dtype's range (a point beyond it cannot be handed to
    the implementation). A central stencil of step ``h`` fits when ``h < min(below, above)``;
    an entry closer than that to an obstacle gets a one-sided stencil on the wider side
    (ordinary steps, not a vanishing one), or, next to a kink, the subgradient test.

    Parameters
    ----------
    x : array_like
        The point.
    domain : Domain, optional
        Default ``real()``.
    kinks : sequence of float
        Points where the function is not differentiable.
    dtype_max : float, optional
        Largest magnitude a point may have.

    Returns
    -------
    below, above : ndarray of float64
        Distances (0 on an obstacle; ``inf`` when nothing bounds that side).
    """
    a = np.asarray(x, dtype=np.float64)
    below, above = room(domain if domain is not None else real(), a)
    ks = np.asarray(sorted({float(k) for k in kinks}), dtype=np.float64)
    if ks.size:
        d = a[..., None] - ks  # > 0: the kink is below x
        with np.errstate(invalid="ignore"):
            below = np.minimum(below, np.min(np.where(d >= 0, d, np.inf), axis=-1))
            above = np.minimum(above, np.min(np.where(d <= 0, -d, np.inf), axis=-1))
    if dtype_max is not None:
        with np.errstate(over="ignore"):
            below = np.minimum(below, np.maximum(a + dtype_max, 0.0))
            above = np.minimum(above, np.maximum(dtype_max - a, 0.0))
    return np.asarray(below, dtype=np.float64), np.asarray(above, dtype=np.float64)
