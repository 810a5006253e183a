"""The results model: typed, immutable, and one strict decoder for every reader.

Every front end (``verify``, the CLI, the pytest plugin) builds these objects, and every reader
(``replay``, ``report --merge``, ``report --compare``, the HTML report) gets them back from a
``results.json`` through :func:`decode_document` / :func:`load_results`, which check every
field and name the one that is wrong (``specs[0].runs[1].checks[2].status: missing``). The
document format is ``docs/results-schema.md``; its JSON Schema is ``docs/results.schema.json``.

Figures a person reads (errors, ratios, ulps, tolerances) are finite or absent: a value that
is not finite is stored as ``None`` (``null`` in JSON) and shown as "n/a". Recorded input
arrays keep every value exactly (Python writes floats with ``repr``; ``-0.0`` survives).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import numpy as np

from harness.errors import ReportError

__all__ = [
    "CALL_FAILURE_KINDS",
    "HIST_EDGES",
    "SCHEMA",
    "SCHEMA_VERSION",
    "ArrayRecord",
    "CheckResult",
    "Finding",
    "Heatmap",
    "InputRecord",
    "InputVerdict",
    "Location",
    "RatioHist",
    "ResultsDocument",
    "ResultsFormatError",
    "RunResult",
    "Settings",
    "SpecReport",
    "StepCurve",
    "Worst",
    "decode_document",
    "fmt_count",
    "fmt_figure",
    "load_results",
]

SCHEMA = "harness-results"
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
# log10(error / tolerance) bins of the per-example histogram.
HIST_EDGES: tuple[float, ...] = tuple(float(x) for x in np.arange(-12.0, 6.01, 0.5))
# Kinds of call failure (a call that raised, returned the wrong dtype, ...): a Finding's kind.
# The same tuple as harness.calls.CALL_FAILURE_KINDS, kept here so reading a results file
# needs nothing of the engine.
CALL_FAILURE_KINDS: tuple[str, ...] = (
    "raised",
    "timeout",
    "inplace",
    "type",
    "shape",
    "dtype",
    "nonfinite",
    "structure",
    "gradients",
)
STATUSES: tuple[str, ...] = ("fail", "unresolved", "pass", "skip")
Status = Literal["pass", "fail", "skip", "unresolved"]
NA = "n/a"

T = TypeVar("T")


class ResultsFormatError(ReportError, ValueError):
    """A results document is malformed; the message names the field (``a.b[2].c: ...``)."""


# --------------------------------------------------------------------------- figures


def finite_or_none(x: float | int | None) -> float | None:
    """``x`` as a float, or None when it is absent or not finite."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def fmt_figure(x: float | int | None, fmt: str = ".3g") -> str:
    """A figure for a person: formatted, or "n/a" when absent or not finite."""
    v = finite_or_none(x)
    return NA if v is None else format(v, fmt)


def fmt_count(n: int) -> str:
    """An integer with thousands separators: 92,637."""
    return f"{n:,}"


def _encode_value(x: float) -> float | str:
    """One entry of a recorded array: non-finite values as the strings nan / inf / -inf."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _encode_nested(a: Any) -> Any:
    if isinstance(a, list):
        return [_encode_nested(x) for x in a]
    return _encode_value(float(a))


# --------------------------------------------------------------------------- strict decoding

_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _fail(where: str, problem: str) -> ResultsFormatError:
    return ResultsFormatError(f"{where}: {problem}")


def _obj(v: object, where: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise _fail(where, f"expected an object, got {_kind(v)}")
    return cast(Mapping[str, Any], v)


def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, Mapping):
        return "an object"
    if isinstance(v, list | tuple):
        return "a list"
    if isinstance(v, str):
        return f"the string {v!r}"
    return repr(v)


def _keys(
    d: Mapping[str, Any], where: str, required: Iterable[str], optional: Iterable[str] = ()
) -> None:
    """Every required key present, no key unknown."""
    req = tuple(required)
    for k in req:
        if k not in d:
            raise _fail(f"{where}.{k}" if where else k, "missing")
    known = set(req) | set(optional)
    for k in d:
        if k not in known:
            raise _fail(f"{where}.{k}" if where else str(k), "unexpected key")


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _str(v: object, where: str) -> str:
    if not isinstance(v, str):
        raise _fail(where, f"expected a string, got {_kind(v)}")
    return v


def _opt_str(v: object, where: str) -> str | None:
    return None if v is None else _str(v, where)


def _bool(v: object, where: str) -> bool:
    if not isinstance(v, bool):
        raise _fail(where, f"expected true or false, got {_kind(v)}")
    return v


def _int(v: object, where: str, minimum: int | None = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _fail(where, f"expected an integer, got {_kind(v)}")
    if minimum is not None and v < minimum:
        raise _fail(where, f"expected an integer >= {minimum}, got {v}")
    return v


def _opt_int(v: object, where: str, minimum: int | None = 0) -> int | None:
    return None if v is None else _int(v, where, minimum)


def _figure(v: object, where: str) -> float | None:
    """A figure: a finite number or null."""
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _fail(where, f"expected a number or null, got {_kind(v)}")
    if not math.isfinite(v):
        raise _fail(where, "expected a finite number")
    return float(v)


def _value(v: object, where: str) -> float:
    """An entry of a recorded array: a number or "nan" / "inf" / "-inf"."""
    if isinstance(v, bool):
        raise _fail(where, f"expected a number, got {_kind(v)}")
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str) and v in _SPECIAL:
        return _SPECIAL[v]
    raise _fail(where, f"expected a number or 'nan'/'inf'/'-inf', got {_kind(v)}")


def _list(v: object, where: str) -> Sequence[Any]:
    if not isinstance(v, list | tuple):
        raise _fail(where, f"expected a list, got {_kind(v)}")
    return cast(Sequence[Any], v)


def _items(v: object, where: str, decode: Callable[[Any, str], T]) -> tuple[T, ...]:
    return tuple(decode(x, f"{where}[{i}]") for i, x in enumerate(_list(v, where)))


def _index(v: object, where: str) -> tuple[int, ...] | None:
    if v is None:
        return None
    return _items(v, where, _int)


def _counts(v: object, where: str) -> dict[str, int]:
    return {str(k): _int(n, f"{where}.{k}") for k, n in _obj(v, where).items()}


def _one_of(v: object, where: str, allowed: Sequence[str]) -> str:
    s = _str(v, where)
    if s not in allowed:
        raise _fail(where, f"expected one of {', '.join(map(repr, allowed))}, got {s!r}")
    return s


# --------------------------------------------------------------------------- arrays and inputs


@dataclass(frozen=True, eq=False)
class ArrayRecord:
    """One named array of an input, with its exact values.

    Attributes
    ----------
    name : str
        The forward's argument name (``"Z"``, ``"W"``, ``"b"``, ...).
    role : {"input", "constant"}
        ``"constant"`` for data that is never perturbed and gets no gradient.
    shape, dtype
        Of the array handed to the implementation.
    array : ndarray
        The values as a read-only float64 array (exact for every supported dtype).
    """

    name: str
    role: str
    shape: tuple[int, ...]
    dtype: str
    array: np.ndarray[Any, Any]

    @classmethod
    def from_array(cls, name: str, a: Any, role: str = "input") -> ArrayRecord:
        src = np.asarray(a)
        arr = np.array(src, dtype=np.float64, copy=True)
        arr.flags.writeable = False
        return cls(name, role, tuple(int(s) for s in src.shape), str(src.dtype), arr)

    def to_array(self) -> np.ndarray[Any, Any]:
        """The values in the recorded dtype and shape (a fresh, writable array)."""
        return self.array.astype(self.dtype).reshape(self.shape)

    @property
    def values(self) -> Any:
        """The values as nested lists of floats."""
        return self.array.tolist()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArrayRecord):
            return NotImplemented
        return (
            (self.name, self.role, self.shape, self.dtype)
            == (other.name, other.role, other.shape, other.dtype)
            and self.array.shape == other.array.shape
            # Bit for bit: -0.0 differs from 0.0, NaN equals NaN.
            and self.array.tobytes() == other.array.tobytes()
        )

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "values": _encode_nested(self.array.tolist()),
        }

    @classmethod
    def from_dict(cls, v: object, where: str) -> ArrayRecord:
        d = _obj(v, where)
        _keys(d, where, ("name", "role", "shape", "dtype", "values"))
        shape = _items(d["shape"], _at(where, "shape"), _int)
        values = d["values"]
        arr = np.array(_nested(values, _at(where, "values")), dtype=np.float64)
        if arr.shape != shape:
            raise _fail(_at(where, "values"), f"shape {arr.shape} does not match shape {shape}")
        arr.flags.writeable = False
        dtype = _str(d["dtype"], _at(where, "dtype"))
        try:
            np.dtype(dtype)
        except TypeError:
            raise _fail(_at(where, "dtype"), f"not a numpy dtype: {dtype!r}") from None
        return cls(
            name=_str(d["name"], _at(where, "name")),
            role=_one_of(d["role"], _at(where, "role"), ("input", "constant")),
            shape=shape,
            dtype=dtype,
            array=arr,
        )


def _nested(v: object, where: str) -> Any:
    if isinstance(v, list):
        out = [_nested(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if out and len({_depth(x) for x in out}) > 1:
            raise _fail(where, "ragged array")
        if out and isinstance(out[0], list) and len({len(x) for x in out}) > 1:
            raise _fail(where, "ragged array")
        return out
    return _value(v, where)


def _depth(x: Any) -> int:
    return 1 + _depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list) else 0)


@dataclass(frozen=True)
class InputRecord:
    """An input as recorded in a report: its named arrays, the layout and the origin.

    ``layout`` is how the arrays were handed over (``"C"``, ``"F"``, ``"strided"``);
    ``family`` the generator family they came from (``"random"``, ``"kinks"``, ...,
    ``"given"`` for ``verify_at``).
    """

    arrays: tuple[ArrayRecord, ...]
    layout: str = "C"
    family: str = "given"

    @classmethod
    def from_arrays(
        cls,
        names: Sequence[str],
        arrays: Sequence[Any],
        constants: Sequence[str] = (),
        layout: str = "C",
        family: str = "given",
    ) -> InputRecord:
        if len(names) != len(arrays):
            raise ValueError(f"{len(names)} names for {len(arrays)} arrays")
        return cls(
            arrays=tuple(
                ArrayRecord.from_array(n, a, "constant" if n in constants else "input")
                for n, a in zip(names, arrays, strict=True)
            ),
            layout=layout,
            family=family,
        )

    @classmethod
    def from_array(cls, Z: Any, layout: str = "C", family: str = "given") -> InputRecord:
        """One input named ``Z`` (the single-input API)."""
        return cls.from_arrays(("Z",), (Z,), layout=layout, family=family)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arrays)

    def __getitem__(self, name: str) -> ArrayRecord:
        for a in self.arrays:
            if a.name == name:
                return a
        raise KeyError(f"no array {name!r}; arrays: {list(self.names)}")

    def to_arrays(self) -> tuple[np.ndarray[Any, Any], ...]:
        """Every array, in the forward's argument order."""
        return tuple(a.to_array() for a in self.arrays)

    def to_array(self) -> np.ndarray[Any, Any]:
        """The first array (the only one for a single-input spec)."""
        return self.arrays[0].to_array()

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the first array."""
        return self.arrays[0].shape

    @property
    def dtype(self) -> str:
        """dtype of the first array."""
        return self.arrays[0].dtype

    def to_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "family": self.family,
            "arrays": [a.to_dict() for a in self.arrays],
        }

    @classmethod
    def from_dict(cls, v: object, where: str) -> InputRecord:
        d = _obj(v, where)
        _keys(d, where, ("layout", "family", "arrays"))
        arrays = _items(d["arrays"], _at(where, "arrays"), ArrayRecord.from_dict)
        if not arrays:
            raise _fail(_at(where, "arrays"), "expected at least one array")
        return cls(
            arrays=arrays,
            layout=_str(d["layout"], _at(where, "layout")),
            family=_str(d["family"], _at(where, "family")),
        )


def _opt(v: object, where: str, decode: Callable[[Any, str], T]) -> T | None:
    return None if v is None else decode(v, where)


@dataclass(frozen=True)
class Location:
    """Where a comparison was made: which input, and which entries.

    ``input`` None means a joint direction over all differentiable inputs (a directional
    check). ``position`` is 1-based among the forward's arguments, of ``of``.
    ``input_index`` indexes that input's array, ``output_index`` the output.
    """

    input: str | None
    position: int | None
    of: int
    input_index: tuple[int, ...] | None = None
    output_index: tuple[int, ...] | None = None

    def describe(self) -> str:
        """``"`b` (input 2 of 3)"``, with the entry when known: ``... entry [0, 1]``."""
        if self.input is None:
            head = "all inputs" if self.of > 1 else "the input"
            text = f"a joint direction over {head}"
        else:
            text = f"`{self.input}`"
            if self.position is not None:
                text += f" (input {self.position} of {self.of})"
        if self.input_index is not None:
            text += f" entry {_fmt_index(self.input_index)}"
        if self.output_index is not None:
            text += f", output entry {_fmt_index(self.output_index)}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "position": self.position,
            "of": self.of,
            "input_index": None if self.input_index is None else list(self.input_index),
            "output_index": None if self.output_index is None else list(self.output_index),
        }

    @classmethod
    def from_dict(cls, v: object, where: str) -> Location:
        d = _obj(v, where)
        _keys(d, where, ("input", "position", "of", "input_index", "output_index"))
        loc = cls(
            input=_opt_str(d["input"], _at(where, "input")),
            position=_opt_int(d["position"], _at(where, "position"), 1),
            of=_int(d["of"], _at(where, "of"), 1),
            input_index=_index(d["input_index"], _at(where, "input_index")),
            output_index=_index(d["output_index"], _at(where, "output_index")),
        )
        if loc.position is not None and loc.position > loc.of:
            raise _fail(_at(where, "position"), f"{loc.position} is more than of = {loc.of}")
        return loc


def _fmt_index(idx: Sequence[int]) -> str:
    return "[" + ", ".join(str(i) for i in idx) + "]"


_WORST_FIGURES = (
    "expected",
    "got",
    "abs_error",
    "rel_error",
    "ulps",
    "tolerance",
    "ratio",
    "scale",
)


@dataclass(frozen=True)
class Worst:
    """The worst comparison a check made: where, expected against got, and its error.

    ``rel_error = abs_error / scale`` and ``ulps = abs_error / spacing(scale)`` in the run's
    dtype, where ``scale`` is the stated scale of the comparison (the largest ``|entry|`` of the
    compared block). Every figure is finite or None (not meaningful, or not finite).
    """

    what: str
    expected: float | None
    got: float | None
    abs_error: float | None
    rel_error: float | None
    ulps: float | None
    tolerance: float | None
    ratio: float | None
    location: Location | None = None
    input: InputRecord | None = None
    replay: str = ""
    scale: float | None = None

    def __post_init__(self) -> None:
        for name in _WORST_FIGURES:
            object.__setattr__(self, name, finite_or_none(getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            **{name: getattr(self, name) for name in _WORST_FIGURES},
            "location": None if self.location is None else self.location.to_dict(),
            "input": None if self.input is None else self.input.to_dict(),
            "replay": self.replay,
        }

    @classmethod
    def from_dict(cls, v: object, where: str) -> Worst:
        d = _obj(v, where)
        _keys(d, where, ("what", *_WORST_FIGURES, "location", "input", "replay"))
        figures = {n: _figure(d[n], _at(where, n)) for n in _WORST_FIGURES}
        return cls(
            what=_str(d["what"], _at(where, "what")),
            location=_opt(d["location"], _at(where, "location"), Location.from_dict),
            input=_opt(d["input"], _at(where, "input"), InputRecord.from_dict),
            replay=_str(d["replay"], _at(where, "replay")),
            **figures,
        )


@dataclass(frozen=True)
class Finding:
    """One cause, reported once: a call that raised, a wrong dtype, a non-finite value, ...

    ``checks`` are the checks it prevented (they carry ``finding = kind``); a finding that
    prevented none (a wrong dtype whose values were still checked) has ``checks == ()``.
    """

    kind: str
    message: str
    checks: tuple[str, ...] = ()
    input: InputRecord | None = None
    location: Location | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "checks": list(self.checks),
            "input": None if self.input is None else self.input.to_dict(),
            "location": None if self.location is None else self.location.to_dict(),
        }

    @classmethod
    def from_dict(cls, v: object, where: str) -> Finding:
        d = _obj(v, where)
        _keys(d, where, ("kind", "message", "checks", "input", "location"))
        return cls(
            kind=_one_of(d["kind"], _at(where, "kind"), CALL_FAILURE_KINDS),
            message=_str(d["message"], _at(where, "message")),
            checks=_items(d["checks"], _at(where, "checks"), _str),
            input=_opt(d["input"], _at(where, "input"), InputRecord.from_dict),
            location=_opt(d["location"], _at(where, "location"), Location.from_dict),
        )


# --------------------------------------------------------------------------- figure data


@dataclass(frozen=True)
class RatioHist:
    """Histogram of log10(error / tolerance) over the examples of a check."""

    log10_edges: tuple[float, ...]
    counts: tuple[int, ...]

    @classmethod
    def of_counts(cls, counts: Sequence[int]) -> RatioHist:
        """A histogram over :data:`HIST_EDGES`."""
        return cls(HIST_EDGES, tuple(int(c) for c in counts))

    @property
    def total(self) -> int:
        return sum(self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {"log10_edges": list(self.log10_edges), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, v: object, where: str) -> RatioHist:
        d = _obj(v, where)
        _keys(d, where, ("log10_edges", "counts"))
        edges = _items(d["log10_edges"], _at(where, "log10_edges"), _figure)
        counts = _items(d["counts"], _at(where, "counts"), _int)
        if any(e is None for e in edges):
            raise _fail(_at(where, "log10_edges"), "edges must be numbers")
        fe = tuple(cast(float, e) for e in edges)
        if len(fe) != len(counts) + 1:
            raise _fail(where, f"{len(fe)} edges for {len(counts)} counts (need counts + 1)")
        if any(b <= a for a, b in itertools.pairwise(fe)):
            raise _fail(_at(where, "log10_edges"), "must be strictly increasing")
        return cls(fe, counts)


@dataclass(frozen=True)
class Heatmap:
    """Entry-wise log10(error / tolerance) of a Jacobian, block-reduced to at most 64 x 64.

    Entries that were not finite are None.
    """

    rows: int
    cols: int
    log10_ratio: tuple[tuple[float | None, ...], ...]
    title: str = ""

    @classmethod
    def from_measurement(cls, d: Mapping[str, Any]) -> Heatmap:
        """From the dict a check produces."""
        data = tuple(tuple(finite_or_none(x) for x in row) for row in d["log10_ratio"])
        return cls(int(d["rows"]), int(d["cols"]), data, str(d.get("title", "")))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "cols": self.cols,
            "title": self.title,
            "log10_ratio": [list(r) for r in self.log10_ratio],
        }

    @classmethod
    def from_dict(cls, v: object, where: str) -> Heatmap:
        d = _obj(v, where)
        _keys(d, where, ("rows", "cols", "title", "log10_ratio"))
        w = _at(where, "log10_ratio")
        data = _items(d["log10_ratio"], w, lambda r, p: _items(r, p, _figure))
        rows, cols = _int(d["rows"], _at(where, "rows")), _int(d["cols"], _at(where, "cols"))
        if len(data) != rows or any(len(r) != cols for r in data):
            raise _fail(w, f"is not a {rows} x {cols} matrix")
        return cls(rows, cols, data, _str(d["title"], _at(where, "title")))


@dataclass(frozen=True)
class StepCurve:
    """Finite-difference error against step size at the worst entry."""

    steps: tuple[float, ...]
    errors: tuple[float | None, ...]
    chosen: float | None
    dtype: str
    entry: tuple[int, ...] | None = None

    @classmethod
    def from_measurement(cls, d: Mapping[str, Any]) -> StepCurve:
        entry = d.get("entry")
        return cls(
            steps=tuple(float(s) for s in d["steps"]),
            errors=tuple(finite_or_none(e) for e in d["errors"]),
            chosen=finite_or_none(d.get("chosen")),
            dtype=str(d.get("dtype", "")),
            entry=None if entry is None else tuple(int(i) for i in entry),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": list(self.steps),
            "errors": list(self.errors),
            "chosen": self.chosen,
            "dtype": self.dtype,
            "entry": None if self.entry is None else list(self.entry),
        }

    @classmethod
    def from_dict(cls, v: object, where: str) -> StepCurve:
        d = _obj(v, where)
        _keys(d, where, ("steps", "errors", "chosen", "dtype", "entry"))
        steps = _items(d["steps"], _at(where, "steps"), _figure)
        errors = _items(d["errors"], _at(where, "errors"), _figure)
        if any(s is None for s in steps):
            raise _fail(_at(where, "steps"), "steps must be numbers")
        if len(steps) != len(errors):
            raise _fail(where, f"{len(steps)} steps but {len(errors)} errors")
        return cls(
            steps=tuple(cast(float, s) for s in steps),
            errors=errors,
            chosen=_figure(d["chosen"], _at(where, "chosen")),
            dtype=_str(d["dtype"], _at(where, "dtype")),
            entry=_index(d["entry"], _at(where, "entry")),
        )


# --------------------------------------------------------------------------- checks and runs

_CHECK_FIGURES = ("max_abs_error", "max_rel_error", "max_ulps", "error_ratio")
_CHECK_KEYS = (
    "check",
    "status",
    "message",
    "oracle",
    "finding",
    "examples",
    "comparisons",
    "unresolved",
    "rounding_limited",
    *_CHECK_FIGURES,
    "ratio_hist",
    "worst",
    "heatmap",
    "step_curve",
)


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check for one spec and dtype, over all examples run.

    Attributes
    ----------
    status : {"pass", "fail", "skip", "unresolved"}
        "unresolved": every comparison was left out (the oracle could not resolve it).
    comparisons : int
        Scalar comparisons made (resolved ones).
    unresolved : int
        Comparisons left out because the oracle carried no information there.
    rounding_limited : int
        Comparisons that passed only through the output-scale rounding allowance
        (``--strict`` would flag them).
    max_abs_error, max_rel_error, max_ulps, error_ratio : float or None
        Largest values over all comparisons; None where not meaningful or not finite.
    oracle : str
        What the derivative was compared against ("central differences", "complex step,
        cross-checked against central differences", ...); empty when not applicable.
    finding : str or None
        Kind of the :class:`Finding` that prevented this check, if one did.
    """

    check: str
    status: Status
    message: str = ""
    examples: int = 0
    comparisons: int = 0
    unresolved: int = 0
    rounding_limited: int = 0
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    max_ulps: float | None = None
    error_ratio: float | None = None
    ratio_hist: RatioHist | None = None
    worst: Worst | None = None
    heatmap: Heatmap | None = None
    step_curve: StepCurve | None = None
    oracle: str = ""
    finding: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}; got {self.status!r}")
        for name in _CHECK_FIGURES:
            object.__setattr__(self, name, finite_or_none(getattr(self, name)))

    @property
    def passed(self) -> bool:
        """True unless the check failed (a skipped or unresolved check does not fail)."""
        return self.status != "fail"

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    @property
    def ran(self) -> bool:
        return self.status in ("pass", "fail") and self.finding is None

    def coverage(self) -> str:
        """``"3 of 92,637 comparisons unresolved"`` (or all resolved), and rounding-limited."""
        total = self.comparisons + self.unresolved
        text = f"{fmt_count(self.unresolved)} of {fmt_count(total)} comparisons unresolved"
        if self.rounding_limited:
            text += f", {fmt_count(self.rounding_limited)} rounding-limited"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "oracle": self.oracle,
            "finding": self.finding,
            "examples": self.examples,
            "comparisons": self.comparisons,
            "unresolved": self.unresolved,
            "rounding_limited": self.rounding_limited,
            **{name: getattr(self, name) for name in _CHECK_FIGURES},
            "ratio_hist": None if self.ratio_hist is None else self.ratio_hist.to_dict(),
            "worst": None if self.worst is None else self.worst.to_dict(),
            "heatmap": None if self.heatmap is None else self.heatmap.to_dict(),
            "step_curve": None if self.step_curve is None else self.step_curve.to_dict(),
        }

    @classmethod
    def from_dict(cls, v: object, where: str) -> CheckResult:
        d = _obj(v, where)
        _keys(d, where, _CHECK_KEYS)
        finding = d["finding"]
        return cls(
            check=_str(d["check"], _at(where, "check")),
            status=cast(Status, _one_of(d["status"], _at(where, "status"), STATUSES)),
            message=_str(d["message"], _at(where, "message")),
            oracle=_str(d["oracle"], _at(where, "oracle")),
            finding=None
            if finding is None
            else _one_of(finding, _at(where, "finding"), CALL_FAILURE_KINDS),
            examples=_int(d["examples"], _at(where, "examples")),
            comparisons=_int(d["comparisons"], _at(where, "comparisons")),
            unresolved=_int(d["unresolved"], _at(where, "unresolved")),
            rounding_limited=_int(d["rounding_limited"], _at(where, "rounding_limited")),
            **{n: _figure(d[n], _at(where, n)) for n in _CHECK_FIGURES},
            ratio_hist=_opt(d["ratio_hist"], _at(where, "ratio_hist"), RatioHist.from_dict),
            worst=_opt(d["worst"], _at(where, "worst"), Worst.from_dict),
            heatmap=_opt(d["heatmap"], _at(where, "heatmap"), Heatmap.from_dict),
            step_curve=_opt(d["step_curve"], _at(where, "step_curve"), StepCurve.from_dict),
        )


_RUN_KEYS = (
    "dtype",
    "passed",
    "inputs",
    "constants",
    "examples",
    "seed",
    "elapsed_s",
    "evaluations",
    "families",
    "replay",
    "strict",
    "findings",
    "checks",
)


@dataclass(frozen=True)
class InputVerdict:
    """One differentiable input's verdict over every check: is its gradient right?

    Specs with several differentiable inputs get one per input, so a wrong gradient is
    named by the input it belongs to ("gradient for `b` (input 2 of 3): wrong at [3, 1]").
    """

    name: str
    position: int
    of: int
    status: str  # "pass" | "fail" | "skip"
    error_ratio: float | None
    check: str
    what: str = ""
    index: tuple[int, ...] | None = None
    expected: float | None = None
    got: float | None = None

    def line(self) -> str:
        """One line for people: the input by name and position, then the verdict."""
        head = f"gradient for `{self.name}` (input {self.position} of {self.of})"
        if self.status == "skip":
            return f"{head}: not compared"
        if self.status == "pass":
            return f"{head}: correct (worst error/tolerance {fmt_figure(self.error_ratio)})"
        at = f" at {list(self.index)}" if self.index is not None else ""
        return (
            f"{head}: wrong{at} ({self.check}: expected {fmt_figure(self.expected, '.17g')}, "
            f"got {fmt_figure(self.got, '.17g')}, {fmt_figure(self.error_ratio)} x tolerance)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "position": self.position,
            "of": self.of,
            "status": self.status,
            "error_ratio": finite_or_none(self.error_ratio),
            "check": self.check,
            "what": self.what,
            "index": list(self.index) if self.index is not None else None,
            "expected": finite_or_none(self.expected),
            "got": finite_or_none(self.got),
        }

    @classmethod
    def from_dict(cls, v: object, where: str) -> InputVerdict:
        d = _obj(v, where)
        keys = ("name", "position", "of", "status", "error_ratio", "check", "what", "index")
        _keys(d, where, keys, ("expected", "got"))
        return cls(
            name=_str(d["name"], _at(where, "name")),
            position=_int(d["position"], _at(where, "position"), 1),
            of=_int(d["of"], _at(where, "of"), 1),
            status=_one_of(d["status"], _at(where, "status"), ("pass", "fail", "skip")),
            error_ratio=_figure(d["error_ratio"], _at(where, "error_ratio")),
            check=_str(d["check"], _at(where, "check")),
            what=_str(d["what"], _at(where, "what")),
            index=_index(d["index"], _at(where, "index")),
            expected=_figure(d.get("expected"), _at(where, "expected")),
            got=_figure(d.get("got"), _at(where, "got")),
        )


@dataclass(frozen=True)
class RunResult:
    """All checks of one spec in one dtype: what ``verify`` and ``verify_at`` return.

    Attributes
    ----------
    spec, dtype : str
        The spec's name and the dtype the implementation ran in.
    checks : tuple of CheckResult
        One per check, in a fixed order.
    findings : tuple of Finding
        Each cause (a call failure) once, with the checks it prevented.
    inputs, constants : tuple of str
        The forward's argument names, and which of them are constants.
    finite_range : str
        Where the forward overflows in this dtype and whose fault that is ("the forward
        overflows for z > 88.72 in float32: ..."), stated once; "" when it does not.
    passed : bool
        True when no check failed and nothing was found.
    """

    spec: str
    dtype: str
    checks: tuple[CheckResult, ...]
    findings: tuple[Finding, ...] = ()
    examples: int = 1
    seed: int | None = None
    elapsed_s: float = 0.0
    evaluations: Mapping[str, int] = field(default_factory=dict)
    families: Mapping[str, int] = field(default_factory=dict)
    replay: str = ""
    strict: bool = False
    inputs: tuple[str, ...] = ("Z",)
    constants: tuple[str, ...] = ()
    verdicts: tuple[InputVerdict, ...] = ()
    finite_range: str = ""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and not self.findings

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """The failed checks."""
        return tuple(c for c in self.checks if not c.passed)

    @property
    def comparisons(self) -> int:
        return sum(c.comparisons for c in self.checks)

    @property
    def unresolved(self) -> int:
        return sum(c.unresolved for c in self.checks)

    @property
    def rounding_limited(self) -> int:
        return sum(c.rounding_limited for c in self.checks)

    @property
    def worst_ratio(self) -> float | None:
        """Largest error/tolerance over the checks that ran, or None."""
        ratios = [c.error_ratio for c in self.checks if c.ran and c.error_ratio is not None]
        return max(ratios) if ratios else None

    def __getitem__(self, check: str) -> CheckResult:
        for c in self.checks:
            if c.check == check:
                return c
        raise KeyError(f"no check {check!r}; checks: {[c.check for c in self.checks]}")

    def summary(self) -> str:
        """A readable multi-line summary: each cause once, then each check (harness.report.text)."""
        from harness.report.text import run_summary

        return run_summary(self)

    def with_replay(self, replay: str) -> RunResult:
        return replace(self, replay=replay)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "passed": self.passed,
            "inputs": list(self.inputs),
            "constants": list(self.constants),
            "examples": self.examples,
            "seed": self.seed,
            "elapsed_s": round(float(self.elapsed_s), 3),
            "evaluations": dict(self.evaluations),
            "families": dict(self.families),
            "replay": self.replay,
            "strict": self.strict,
            "findings": [f.to_dict() for f in self.findings],
            "verdicts": [v.to_dict() for v in self.verdicts],
            "finite_range": self.finite_range,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, spec: str, v: object, where: str = "run") -> RunResult:
        d = _obj(v, where)
        _keys(d, where, _RUN_KEYS, ("verdicts", "finite_range"))
        elapsed = _figure(d["elapsed_s"], _at(where, "elapsed_s"))
        run = cls(
            spec=spec,
            dtype=_str(d["dtype"], _at(where, "dtype")),
            inputs=_items(d["inputs"], _at(where, "inputs"), _str),
            constants=_items(d["constants"], _at(where, "constants"), _str),
            examples=_int(d["examples"], _at(where, "examples")),
            seed=_opt_int(d["seed"], _at(where, "seed"), None),
            elapsed_s=0.0 if elapsed is None else elapsed,
            evaluations=_counts(d["evaluations"], _at(where, "evaluations")),
            families=_counts(d["families"], _at(where, "families")),
            replay=_str(d["replay"], _at(where, "replay")),
            strict=_bool(d["strict"], _at(where, "strict")),
            findings=_items(d["findings"], _at(where, "findings"), Finding.from_dict),
            verdicts=_items(d.get("verdicts", []), _at(where, "verdicts"), InputVerdict.from_dict),
            finite_range=_str(d.get("finite_range", ""), _at(where, "finite_range")),
            checks=_items(d["checks"], _at(where, "checks"), CheckResult.from_dict),
        )
        passed = _bool(d["passed"], _at(where, "passed"))
        if passed != run.passed:
            raise _fail(
                _at(where, "passed"),
                f"is {str(passed).lower()} but the checks and findings say "
                f"{str(run.passed).lower()}",
            )
        for name in run.constants:
            if name not in run.inputs:
                raise _fail(_at(where, "constants"), f"{name!r} is not one of the inputs")
        return run


@dataclass(frozen=True)
class SpecReport:
    """One spec's description and its runs (one per dtype), as written to the report."""

    name: str
    structure: str
    kinks: tuple[float, ...]
    equations: str
    formula: str
    doc: str
    runs: tuple[RunResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "structure": self.structure,
            "kinks": list(self.kinks),
            "equations": self.equations,
            "formula": self.formula,
            "doc": self.doc,
            "runs": [r.to_dict() for r in self.runs],
        }

    @classmethod
    def from_dict(cls, v: object, where: str = "spec") -> SpecReport:
        d = _obj(v, where)
        _keys(d, where, ("name", "structure", "kinks", "equations", "formula", "doc", "runs"))
        name = _str(d["name"], _at(where, "name"))
        kinks = _items(d["kinks"], _at(where, "kinks"), _figure)
        if any(k is None for k in kinks):
            raise _fail(_at(where, "kinks"), "kinks must be numbers")
        runs = _items(d["runs"], _at(where, "runs"), lambda r, p: RunResult.from_dict(name, r, p))
        dtypes = [r.dtype for r in runs]
        if len(set(dtypes)) != len(dtypes):
            raise _fail(_at(where, "runs"), f"two runs in the same dtype: {dtypes}")
        return cls(
            name=name,
            structure=_str(d["structure"], _at(where, "structure")),
            kinks=tuple(cast(float, k) for k in kinks),
            equations=_str(d["equations"], _at(where, "equations")),
            formula=_str(d["formula"], _at(where, "formula")),
            doc=_str(d["doc"], _at(where, "doc")),
            runs=runs,
        )


# --------------------------------------------------------------------------- the document

_SETTINGS_KEYS = ("profile", "seed", "max_examples", "dtypes", "strict")
_SETTINGS_OPTIONAL = ("shard", "merged_from")


@dataclass(frozen=True)
class Settings:
    """The verification settings a document was produced with."""

    profile: str | None = None
    seed: int | None = None
    max_examples: int | None = None
    dtypes: tuple[str, ...] = ()
    strict: bool = False
    shard: str | None = None
    merged_from: int | None = None

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> Settings:
        """From the dict :func:`harness.report.document.run_settings` builds."""
        return cls.from_dict(dict(m), "settings")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "profile": self.profile,
            "seed": self.seed,
            "max_examples": self.max_examples,
            "dtypes": list(self.dtypes),
            "strict": self.strict,
        }
        if self.shard is not None:
            d["shard"] = self.shard
        if self.merged_from is not None:
            d["merged_from"] = self.merged_from
        return d

    @classmethod
    def from_dict(cls, v: object, where: str = "settings") -> Settings:
        d = _obj(v, where)
        _keys(d, where, _SETTINGS_KEYS, _SETTINGS_OPTIONAL)
        return cls(
            profile=_opt_str(d["profile"], _at(where, "profile")),
            seed=_opt_int(d["seed"], _at(where, "seed"), None),
            max_examples=_opt_int(d["max_examples"], _at(where, "max_examples")),
            dtypes=_items(d["dtypes"], _at(where, "dtypes"), _str),
            strict=_bool(d["strict"], _at(where, "strict")),
            shard=_opt_str(d.get("shard"), _at(where, "shard")),
            merged_from=_opt_int(d.get("merged_from"), _at(where, "merged_from"), 1),
        )


_DOC_KEYS = (
    "schema",
    "schema_version",
    "created",
    "passed",
    "environment",
    "settings",
    "summary",
    "specs",
)


@dataclass(frozen=True)
class ResultsDocument:
    """A whole ``results.json``: provenance, settings and every spec's runs."""

    created: str
    environment: tuple[tuple[str, str], ...]
    settings: Settings
    specs: tuple[SpecReport, ...]

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.specs)

    @property
    def runs(self) -> tuple[RunResult, ...]:
        return tuple(r for s in self.specs for r in s.runs)

    def summary(self) -> dict[str, int]:
        runs = self.runs
        checks = [c for r in runs for c in r.checks]
        return {
            "specs": len(self.specs),
            "runs": len(runs),
            "checks": len(checks),
            "failed_checks": sum(1 for c in checks if c.failed),
            "failed_runs": sum(1 for r in runs if not r.passed),
            "findings": sum(len(r.findings) for r in runs),
            "comparisons": sum(c.comparisons for c in checks),
            "unresolved": sum(c.unresolved for c in checks),
            "rounding_limited": sum(c.rounding_limited for c in checks),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "created": self.created,
            "passed": self.passed,
            "environment": dict(self.environment),
            "settings": self.settings.to_dict(),
            "summary": self.summary(),
            "specs": [s.to_dict() for s in self.specs],
        }

    def dumps(self) -> str:
        """The document as strict JSON text (no NaN or Infinity literals)."""
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, v: object) -> ResultsDocument:
        """Decode a results document strictly; see :func:`decode_document`."""
        return decode_document(v)


def decode_document(v: object) -> ResultsDocument:
    """Decode a results document (as loaded from JSON), checking every field.

    Version 1 documents are converted on the way in (see :func:`upgrade_v1`).

    Raises
    ------
    ResultsFormatError
        The message names the field: ``specs[0].runs[1].checks[2].status: missing``.
    """
    d = _obj(v, "results document")
    schema = d.get("schema")
    if schema != SCHEMA:
        raise ResultsFormatError(
            f"not a harness results document: 'schema' is {schema!r}, expected {SCHEMA!r}"
        )
    version = d.get("schema_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise ResultsFormatError(
            f"schema_version: unsupported version {version!r}; this harness reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    if version == 1:
        from harness.report.upgrade import upgrade_v1

        d = upgrade_v1(d)
    _keys(d, "", _DOC_KEYS)
    env = _obj(d["environment"], "environment")
    doc = ResultsDocument(
        created=_str(d["created"], "created"),
        environment=tuple((str(k), _str(x, f"environment.{k}")) for k, x in env.items()),
        settings=Settings.from_dict(d["settings"], "settings"),
        specs=_items(d["specs"], "specs", SpecReport.from_dict),
    )
    names = [s.name for s in doc.specs]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _fail("specs", f"spec {dup!r} appears twice")
    passed = _bool(d["passed"], "passed")
    if passed != doc.passed:
        said, runs = str(passed).lower(), str(doc.passed).lower()
        raise _fail("passed", f"is {said} but the runs say {runs}")
    summary = _obj(d["summary"], "summary")
    derived = doc.summary()
    if version == 1:  # fewer counts, and recomputed from the converted runs
        return doc
    _keys(summary, "summary", derived)
    for key, want in derived.items():
        if _int(summary[key], f"summary.{key}") != want:
            raise _fail(f"summary.{key}", f"is {summary[key]} but the runs say {want}")
    return doc


def load_results(path: Path | str) -> ResultsDocument:
    """Read and decode a ``results.json``; every problem is a ReportError naming the file."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"No results file at {p}; run `make verify` first.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"Cannot read results file {p}: {exc}") from None
    try:
        return decode_document(raw)
    except ResultsFormatError as exc:
        raise ResultsFormatError(f"{p}: {exc}") from None


def findings_from_checks(
    checks: Sequence[CheckResult],
) -> tuple[tuple[Finding, ...], tuple[CheckResult, ...]]:
    """Group the checks a call failure stopped into one :class:`Finding` per cause.

    A failed check whose worst comparison is a call failure (``worst.what`` is one of
    :data:`CALL_FAILURE_KINDS`) was prevented by it. Checks stopped by the same kind and
    message share one finding. Returns the findings, and the checks with ``finding`` set.
    """
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    out: list[CheckResult] = []
    for c in checks:
        w = c.worst
        if c.failed and w is not None and w.what in CALL_FAILURE_KINDS:
            groups.setdefault((w.what, c.message), []).append(c)
            out.append(replace(c, finding=w.what))
        else:
            out.append(c)
    findings = []
    for (kind, message), cs in groups.items():
        first = cs[0].worst
        assert first is not None
        findings.append(
            Finding(
                kind=kind,
                message=message,
                checks=tuple(c.check for c in cs),
                input=first.input,
                location=first.location,
            )
        )
    return tuple(findings), tuple(out)
