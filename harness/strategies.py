"""Hypothesis strategies for the inputs a spec is verified on.

Besides ordinary random inputs, the families generate the inputs where derivatives go wrong:
values at and next to declared kinks (down to 1e-300 and negative zero), magnitudes spread
log-uniformly from 1e-12 to the edge of the dtype's range, the saturation and overflow bands
of the usual activations, subnormals, and for columnwise functions tied logits, one dominant
logit and columns unlike each other. Every example is also handed over in one of three memory
layouts. All values are drawn through hypothesis, so a failure shrinks to a small input.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from harness.finite_range import FUNCTION, FiniteRange, finite_range
from harness.spec import Spec

__all__ = [
    "FAMILIES",
    "LAYOUTS",
    "MULTI_FAMILIES",
    "Example",
    "Sizes",
    "examples",
    "families_for",
    "finite_limit",
    "finite_range_of",
    "multi_examples",
    "points",
]

LAYOUTS: tuple[str, ...] = ("C", "F", "strided")
FAMILIES: tuple[str, ...] = (
    "random",
    "log-magnitude",
    "saturation",
    "subnormal",
    "kinks",
    "ties",
    "dominant",
)


@dataclass(frozen=True)
class Sizes:
    """Bounds of generated shapes (n rows = units, m columns = examples)."""

    max_n: int = 6
    max_m: int = 5


@dataclass(frozen=True)
class Example:
    """One generated point: one array per spec input, its family, its layout, a probe seed."""

    arrays: tuple[NDArray[Any], ...]
    family: str
    layout: str
    probe_seed: int

    @property
    def Z(self) -> NDArray[Any]:
        """The first input (the one input of an activation)."""
        return self.arrays[0]

    def __repr__(self) -> str:
        # Shown by hypothesis when it reports a falsifying example: keep it replayable.
        parts = []
        for a in self.arrays:
            vals = np.array2string(a, precision=17, separator=", ", threshold=10**6)
            parts.append(f"np.array({vals}, dtype=np.{a.dtype})")
        return (
            f"Example(family={self.family!r}, layout={self.layout!r}, "
            f"probe_seed={self.probe_seed}, arrays=({', '.join(parts)},))"
        )


def _limit(spec: Spec, dtype: np.dtype[Any]) -> float:
    """Largest |z| to generate: the spec's bound, or a quarter of the dtype's range, and
    (one-input specs) inside the range where the forward is finite in this dtype."""
    top = float(np.finfo(dtype).max) / 4.0
    limit = min(top, spec.max_abs_input) if spec.max_abs_input is not None else top
    finite = finite_limit(spec, dtype)
    return min(limit, 0.99 * finite) if finite is not None else limit


_FINITE: weakref.WeakKeyDictionary[Spec, dict[str, FiniteRange | None]] = (
    weakref.WeakKeyDictionary()
)


def finite_range_of(spec: Spec, dtype: Any) -> FiniteRange | None:
    """Where a one-input spec's forward is finite in ``dtype`` (harness.finite_range), cached;
    None for specs of several inputs or fixed shapes, which are not probed."""
    dt = np.dtype(dtype)
    known = _FINITE.setdefault(spec, {})
    if dt.name not in known:
        fr: FiniteRange | None = None
        if spec.single and spec.shapes is None:
            elementwise = bool(spec.structures[spec.inputs[0]].elementwise)
            probe = [[1.0]] if elementwise or spec.min_rows > 2 else [[1.0], [0.0]]
            if spec.min_rows <= len(probe):
                fr = finite_range(spec.forward, dt, probe=probe)
        known[dt.name] = fr
    return known[dt.name]


def finite_limit(spec: Spec, dtype: Any) -> float | None:
    """The largest |z| where a one-input spec's forward is finite in ``dtype`` because its true
    value is representable there (None: no such bound, or not a one-input spec).

    Only the function's own overflow bounds generation: where the code overflows although the
    true value is representable (a naive softmax), the inputs stay, and the non-finite output
    is reported.
    """
    fr = finite_range_of(spec, dtype)
    if fr is None:
        return None
    sides = [side.limit for side in (fr.upper, fr.lower) if side.cause == FUNCTION]
    return min(sides) if sides else None


def _exact(dtype: np.dtype[Any]) -> Any:
    """Round a Python float to the dtype and back, so hypothesis accepts it as an element."""
    t = dtype.type
    return lambda x: float(t(x))


def families_for(spec: Spec) -> tuple[str, ...]:
    """The families that apply to a spec."""
    fams = ["random", "log-magnitude", "saturation", "subnormal"]
    if spec.kinks:
        fams.append("kinks")
    if spec.single and spec.structure_label == "columnwise":
        fams += ["ties", "dominant"]
    elif not spec.single or spec.shapes is not None:
        return MULTI_FAMILIES
    return tuple(fams)


def _elements(family: str, spec: Spec, dtype: np.dtype[Any]) -> st.SearchStrategy[float]:
    limit = _limit(spec, dtype)
    fi = np.finfo(dtype)
    exact = _exact(dtype)
    sign = st.sampled_from([1.0, -1.0])
    bounded = min(limit, 8.0)
    plain = st.floats(-bounded, bounded, allow_nan=False, width=64).map(exact)
    if family == "random":
        return plain
    if family == "log-magnitude":
        emax = math.log10(limit)
        mags = st.floats(-12.0, emax, allow_nan=False).map(lambda e: 10.0**e)
        return (
            st.builds(lambda s, v: s * v, sign, mags).map(exact).filter(lambda v: abs(v) <= limit)
        )
    if family == "saturation":
        centres = [
            c
            for c in (
                5.0,
                7.5,
                10.0,
                17.0,
                20.0,
                30.0,
                50.0,
                88.0,
                700.0,
                710.0,
                745.0,
                800.0,
                limit,
            )
            if c <= limit
        ]
        jitter = st.floats(-1.0, 1.0, allow_nan=False)
        sat = st.builds(
            lambda s, c, j: s * min(limit, c * (1.0 + 0.01 * j)),
            sign,
            st.sampled_from(centres),
            jitter,
        ).map(exact)
        return st.one_of(sat, plain)
    if family == "subnormal":
        tiny = float(fi.tiny)
        smallest = float(fi.smallest_subnormal)
        sub = st.floats(smallest, tiny, allow_nan=False, width=64).map(exact)
        return st.one_of(st.builds(lambda s, v: s * v, sign, sub).map(exact), plain)
    if family == "kinks":
        tiny = float(fi.tiny)
        offsets = [0.0, -0.0, 1e-300, tiny, float(fi.smallest_subnormal), float(fi.eps)] + [
            10.0**-e for e in range(1, 13)
        ]
        near = st.builds(
            lambda k, s, o: k + s * o,
            st.sampled_from(list(spec.kinks)),
            sign,
            st.sampled_from(offsets),
        ).map(exact)
        at = st.sampled_from(
            [float(k) for k in spec.kinks] + [-0.0 if 0.0 in spec.kinks else spec.kinks[0]]
        )
        return st.one_of(at, near, plain)
    raise ValueError(f"no elementwise strategy for family {family!r}")


@st.composite
def _columns(
    draw: st.DrawFn, family: str, spec: Spec, dtype: np.dtype[Any], shape: tuple[int, int]
) -> NDArray[Any]:
    """Columnwise adversaries: ties and a dominant logit, column by column."""
    n, m = shape
    exact = _exact(dtype)
    limit = _limit(spec, dtype)
    base = draw(hnp.arrays(dtype, shape, elements=_elements("random", spec, dtype)))
    Z = np.array(base, dtype=np.float64)
    for c in range(m):
        kind = draw(st.sampled_from(["keep", "all-equal", "two-max", "dominant", "scaled"]))
        if family == "ties" and kind in ("all-equal", "keep"):
            Z[:, c] = exact(draw(st.floats(-limit, limit, allow_nan=False, width=64).map(exact)))
        elif family == "ties" and n >= 2:
            top = float(np.max(Z[:, c])) + 1.0
            rows = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=n, unique=True))
            Z[rows, c] = top
        elif family == "dominant":
            r = draw(st.integers(0, n - 1))
            big = draw(st.sampled_from([30.0, 100.0, 1000.0, min(limit, 1e4)]))
            Z[r, c] = exact(Z[r, c] + big)
        elif kind == "scaled":
            Z[:, c] = Z[:, c] * draw(st.sampled_from([1e-3, 10.0, 100.0]))
    Z = np.clip(Z, -limit, limit)
    return Z.astype(dtype)


@st.composite
def examples(draw: st.DrawFn, spec: Spec, dtype: Any, sizes: Sizes = Sizes()) -> Example:
    """A strategy of :class:`Example` for ``spec`` in ``dtype``."""
    dt = np.dtype(dtype)
    family = draw(st.sampled_from(families_for(spec)))
    n = draw(st.integers(spec.min_rows, max(spec.min_rows, sizes.max_n)))
    m = draw(st.integers(1, sizes.max_m))
    if family in ("ties", "dominant"):
        Z = draw(_columns(family, spec, dt, (n, m)))
    else:
        Z = draw(hnp.arrays(dt, (n, m), elements=_elements(family, spec, dt)))
    layout = draw(st.sampled_from(LAYOUTS))
    seed = draw(st.integers(0, 2**32 - 1))
    return Example(arrays=(np.ascontiguousarray(Z),), family=family, layout=layout, probe_seed=seed)


MULTI_FAMILIES: tuple[str, ...] = ("random", "scaled")


@st.composite
def _dim_sizes(draw: st.DrawFn, spec: Spec, sizes: Sizes) -> dict[str, int]:
    """Sizes of the signature's named dims, with the coincidences where bugs hide.

    Each dim may copy an earlier one (square weights, n == m), and 1 is always possible
    (m = 1): a transposed weight or a mean over the wrong axis is a value bug only when
    those dims differ, and a missing sum only when a dim is not 1.
    """
    names = spec.signature.names
    out: dict[str, int] = {}
    top = max(sizes.max_n, sizes.max_m)
    first = spec.signature.inputs[0][0] if spec.signature.inputs[0] else None
    for name in names:
        lo = spec.min_rows if name == first else 1
        tie = draw(st.sampled_from([None, None, *out])) if out else None
        value = out[tie] if tie is not None else draw(st.integers(lo, max(lo, top)))
        out[name] = max(lo, value)
    return out


def _input_strategy(
    spec: Spec, name: str, shape: tuple[int, ...], dt: np.dtype[Any], family: str
) -> st.SearchStrategy[NDArray[Any]]:
    dom = spec.domain_of(name)
    base: st.SearchStrategy[NDArray[Any]] = (
        dom.strategy(shape, dt) if hasattr(dom, "strategy") else dom(shape, dt)
    )
    if family != "scaled" or name in spec.constants or getattr(dom, "name", "") != "real":
        return base
    limit = _limit(spec, dt)
    return st.tuples(base, st.sampled_from([1e-3, 1e-2, 0.1, 10.0, 100.0, 1e3])).map(
        lambda ab: np.clip(ab[0].astype(np.float64) * ab[1], -limit, limit).astype(dt)
    )


@st.composite
def multi_examples(draw: st.DrawFn, spec: Spec, dtype: Any, sizes: Sizes = Sizes()) -> Example:
    """A strategy of :class:`Example` for a spec of several inputs (or a declared signature)."""
    dt = np.dtype(dtype)
    dims = draw(_dim_sizes(spec, sizes))
    shapes = spec.signature.input_shapes(dims)
    family = draw(st.sampled_from(MULTI_FAMILIES))
    arrays = tuple(
        np.ascontiguousarray(draw(_input_strategy(spec, n, sh, dt, family)))
        for n, sh in zip(spec.inputs, shapes, strict=True)
    )
    layout = draw(st.sampled_from(LAYOUTS))
    seed = draw(st.integers(0, 2**32 - 1))
    return Example(arrays=arrays, family=family, layout=layout, probe_seed=seed)


def points(spec: Spec, dtype: Any, sizes: Sizes = Sizes()) -> st.SearchStrategy[Example]:
    """The strategy ``verify`` draws from: activations' families, or several inputs'."""
    if spec.single and spec.shapes is None:
        return examples(spec, dtype, sizes)
    return multi_examples(spec, dtype, sizes)
