"""Read-only data model of a results document, as the HTML report sees it.

The report never recomputes a verification: everything it shows comes from the results
document described in ``docs/results-schema.md``. This module decodes that document (a dict
loaded from JSON) into frozen dataclasses and owns the report's ordering rules: failures
first, then the worst ``error_ratio`` first, so the most alarming line is always on top.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, cast

__all__ = [
    "SCHEMA",
    "SUPPORTED_SCHEMA_VERSIONS",
    "CheckResult",
    "Heatmap",
    "InputSample",
    "PlotKind",
    "PlotRequest",
    "RatioHist",
    "ReportModel",
    "Run",
    "Settings",
    "Spec",
    "StepCurve",
    "SummaryRow",
    "Worst",
    "decode_float",
    "severity_key",
]

SCHEMA = "harness-results"
SUPPORTED_SCHEMA_VERSIONS: frozenset[int] = frozenset({1})

Status = Literal["pass", "fail", "skip"]
PlotKind = Literal["step_curve", "ratio_hist", "heatmap"]

_STATUS_RANK: dict[str, int] = {"fail": 0, "pass": 1, "skip": 2}
_NON_FINITE: dict[str, float] = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# --------------------------------------------------------------------------- decoding helpers


def decode_float(value: object, where: str = "value") -> float:
    """Decode one float as the results schema writes it.

    Parameters
    ----------
    value : object
        A JSON number, or one of the strings ``"nan"``, ``"inf"``, ``"-inf"`` that stand for
        the floats JSON cannot carry.
    where : str, optional
        Location of the value in the document, used in the error message.

    Returns
    -------
    float
        The decoded value.

    Raises
    ------
    ValueError
        If ``value`` is neither a number nor one of the three special strings.
    """
    # bool is an int subclass, but a JSON true/false where a number belongs is a writer bug.
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    raise ValueError(f"{where}: expected a number or 'nan'/'inf'/'-inf', got {value!r}")


def _opt_float(value: object, where: str) -> float | None:
    return None if value is None else decode_float(value, where)


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: expected an integer, got {value!r}")
    return value


def _opt_int(value: object, where: str) -> int | None:
    return None if value is None else _int(value, where)


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got {value!r}")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    return value


def _obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
    return cast(Mapping[str, Any], value)


def _list(value: object, where: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where}: expected a list, got {type(value).__name__}")
    return cast(Sequence[Any], value)


def _req(obj: Mapping[str, Any], key: str, where: str) -> Any:
    try:
        return obj[key]
    except KeyError:
        raise ValueError(f"{where}: missing key {key!r}") from None


def _floats(value: object, where: str) -> tuple[float, ...]:
    return tuple(decode_float(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where)))


def _counts(value: object, where: str) -> tuple[tuple[str, int], ...]:
    """Decode a ``{name: count}`` object, keeping the writer's key order."""
    return tuple((str(k), _int(v, f"{where}.{k}")) for k, v in _obj(value, where).items())


def _matrix_rows(values: object, where: str) -> tuple[tuple[float, ...], ...]:
    """Flatten nested lists of any depth into display rows (last axis = columns)."""
    if not isinstance(values, list | tuple):
        return ((decode_float(values, where),),)
    if all(not isinstance(v, list | tuple) for v in values):
        return (tuple(decode_float(v, f"{where}[{i}]") for i, v in enumerate(values)),)
    rows: list[tuple[float, ...]] = []
    for i, v in enumerate(values):
        if not isinstance(v, list | tuple):
            raise ValueError(f"{where}[{i}]: ragged array (mixes scalars and lists)")
        rows.extend(_matrix_rows(v, f"{where}[{i}]"))
    return tuple(rows)


def _ratio_for_ordering(ratio: float | None) -> float:
    # A NaN ratio means the error itself was not finite: rank it above every finite ratio.
    if ratio is None:
        return -math.inf
    if math.isnan(ratio):
        return math.inf
    return ratio


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class InputSample:
    """The input on which a check saw its worst error.

    Attributes
    ----------
    shape : tuple of int
        Shape of the input array.
    dtype, layout, family : str
        Its dtype, memory layout (``"C"``/``"F"``/...) and the generator family it came from.
    rows : tuple of tuple of float
        The values as display rows: a scalar is one 1 x 1 row, a vector is one row, an array
        of more than two dimensions is flattened over its leading axes.
    """

    shape: tuple[int, ...]
    dtype: str
    layout: str
    family: str
    rows: tuple[tuple[float, ...], ...]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> InputSample:
        """Decode the ``worst.input`` object."""
        return cls(
            shape=tuple(
                _int(v, f"{where}.shape[{i}]")
                for i, v in enumerate(_list(d.get("shape", []), f"{where}.shape"))
            ),
            dtype=str(d.get("dtype", "")),
            layout=str(d.get("layout", "")),
            family=str(d.get("family", "")),
            rows=_matrix_rows(d.get("values", []), f"{where}.values"),
        )


@dataclass(frozen=True)
class Worst:
    """The single worst comparison a check made (``check.worst`` in the schema)."""

    location: tuple[int, ...] | None
    what: str
    expected: float | None
    got: float | None
    abs_error: float | None
    rel_error: float | None
    ulps: float | None
    tolerance: float | None
    ratio: float | None
    input: InputSample | None
    replay: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> Worst:
        """Decode the ``worst`` object of a check."""
        loc = d.get("location")
        raw_input = d.get("input")
        return cls(
            location=None
            if loc is None
            else tuple(
                _int(v, f"{where}.location[{i}]")
                for i, v in enumerate(_list(loc, f"{where}.location"))
            ),
            what=str(d.get("what", "")),
            expected=_opt_float(d.get("expected"), f"{where}.expected"),
            got=_opt_float(d.get("got"), f"{where}.got"),
            abs_error=_opt_float(d.get("abs_error"), f"{where}.abs_error"),
            rel_error=_opt_float(d.get("rel_error"), f"{where}.rel_error"),
            ulps=_opt_float(d.get("ulps"), f"{where}.ulps"),
            tolerance=_opt_float(d.get("tolerance"), f"{where}.tolerance"),
            ratio=_opt_float(d.get("ratio"), f"{where}.ratio"),
            input=None
            if raw_input is None
            else InputSample.from_dict(_obj(raw_input, f"{where}.input"), f"{where}.input"),
            replay=str(d.get("replay", "")),
        )


@dataclass(frozen=True)
class RatioHist:
    """Histogram of log10(error / tolerance) over every comparison of a check."""

    log10_edges: tuple[float, ...]
    counts: tuple[int, ...]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> RatioHist:
        """Decode ``ratio_hist``; the edges must be one longer than the counts."""
        edges = _floats(_req(d, "log10_edges", where), f"{where}.log10_edges")
        counts = tuple(
            _int(v, f"{where}.counts[{i}]")
            for i, v in enumerate(_list(_req(d, "counts", where), f"{where}.counts"))
        )
        if len(edges) != len(counts) + 1:
            raise ValueError(
                f"{where}: {len(edges)} edges for {len(counts)} counts (need counts + 1)"
            )
        if not all(math.isfinite(e) for e in edges) or any(
            lo >= hi for lo, hi in itertools.pairwise(edges)
        ):
            raise ValueError(f"{where}.log10_edges: must be finite and strictly increasing")
        return cls(log10_edges=edges, counts=counts)


@dataclass(frozen=True)
class Heatmap:
    """Entry-wise log10(error / tolerance) of the worst input's Jacobian."""

    rows: int
    cols: int
    log10_ratio: tuple[tuple[float, ...], ...]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> Heatmap:
        """Decode ``heatmap``; every row must have ``cols`` entries."""
        data = tuple(
            _floats(row, f"{where}.log10_ratio[{i}]")
            for i, row in enumerate(_list(_req(d, "log10_ratio", where), f"{where}.log10_ratio"))
        )
        rows = _int(d.get("rows", len(data)), f"{where}.rows")
        cols = _int(d.get("cols", len(data[0]) if data else 0), f"{where}.cols")
        if len(data) != rows or any(len(r) != cols for r in data):
            raise ValueError(f"{where}: log10_ratio is not a {rows} x {cols} matrix")
        return cls(rows=rows, cols=cols, log10_ratio=data)


@dataclass(frozen=True)
class StepCurve:
    """Finite-difference error as a function of the step size, on the worst input."""

    steps: tuple[float, ...]
    errors: tuple[float, ...]
    chosen: float | None
    dtype: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> StepCurve:
        """Decode ``step_curve``; steps and errors must pair up."""
        steps = _floats(_req(d, "steps", where), f"{where}.steps")
        errors = _floats(_req(d, "errors", where), f"{where}.errors")
        if len(steps) != len(errors):
            raise ValueError(f"{where}: {len(steps)} steps but {len(errors)} errors")
        return cls(
            steps=steps,
            errors=errors,
            chosen=_opt_float(d.get("chosen"), f"{where}.chosen"),
            dtype=str(d.get("dtype", "")),
        )


@dataclass(frozen=True)
class CheckResult:
    """One check (``vjp_directional``, ``jacobian``, ...) of one run."""

    check: str
    status: Status
    message: str
    examples: int | None
    comparisons: int | None
    max_abs_error: float | None
    max_rel_error: float | None
    max_ulps: float | None
    error_ratio: float | None
    ratio_hist: RatioHist | None
    worst: Worst | None
    heatmap: Heatmap | None
    step_curve: StepCurve | None

    @property
    def failed(self) -> bool:
        """Whether the check failed."""
        return self.status == "fail"

    @property
    def plot_kinds(self) -> tuple[PlotKind, ...]:
        """The plots this check carries data for, in display order."""
        kinds: list[PlotKind] = []
        if self.step_curve is not None:
            kinds.append("step_curve")
        if self.ratio_hist is not None:
            kinds.append("ratio_hist")
        if self.heatmap is not None:
            kinds.append("heatmap")
        return tuple(kinds)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> CheckResult:
        """Decode one entry of ``run.checks``."""
        status = _str(_req(d, "status", where), f"{where}.status")
        if status not in _STATUS_RANK:
            raise ValueError(f"{where}.status: expected 'pass', 'fail' or 'skip', got {status!r}")
        hist, worst, heat, curve = (
            d.get(k) for k in ("ratio_hist", "worst", "heatmap", "step_curve")
        )
        return cls(
            check=_str(_req(d, "check", where), f"{where}.check"),
            status=cast(Status, status),
            message=str(d.get("message") or ""),
            examples=_opt_int(d.get("examples"), f"{where}.examples"),
            comparisons=_opt_int(d.get("comparisons"), f"{where}.comparisons"),
            max_abs_error=_opt_float(d.get("max_abs_error"), f"{where}.max_abs_error"),
            max_rel_error=_opt_float(d.get("max_rel_error"), f"{where}.max_rel_error"),
            max_ulps=_opt_float(d.get("max_ulps"), f"{where}.max_ulps"),
            error_ratio=_opt_float(d.get("error_ratio"), f"{where}.error_ratio"),
            ratio_hist=None
            if hist is None
            else RatioHist.from_dict(_obj(hist, f"{where}.ratio_hist"), f"{where}.ratio_hist"),
            worst=None
            if worst is None
            else Worst.from_dict(_obj(worst, f"{where}.worst"), f"{where}.worst"),
            heatmap=None
            if heat is None
            else Heatmap.from_dict(_obj(heat, f"{where}.heatmap"), f"{where}.heatmap"),
            step_curve=None
            if curve is None
            else StepCurve.from_dict(_obj(curve, f"{where}.step_curve"), f"{where}.step_curve"),
        )


def severity_key(result: CheckResult) -> tuple[int, float]:
    """Sort key that puts failures first, then the largest ``error_ratio`` first.

    Parameters
    ----------
    result : CheckResult
        The check to rank.

    Returns
    -------
    tuple of (int, float)
        Ascending order of this key is the report's display order. A NaN ratio ranks as the
        worst possible ratio; a missing one (skipped checks) as the mildest.
    """
    return (_STATUS_RANK[result.status], -_ratio_for_ordering(result.error_ratio))


@dataclass(frozen=True)
class Run:
    """One spec verified at one dtype."""

    dtype: str
    passed: bool
    examples: int | None
    seed: int | None
    elapsed_s: float | None
    evaluations: tuple[tuple[str, int], ...]
    families: tuple[tuple[str, int], ...]
    replay: str
    checks: tuple[CheckResult, ...]

    @property
    def ordered_checks(self) -> tuple[tuple[int, CheckResult], ...]:
        """``(index, check)`` pairs, failures first then worst ratio first."""
        return tuple(
            sorted(enumerate(self.checks), key=lambda p: (*severity_key(p[1]), p[1].check))
        )

    @property
    def worst_check_index(self) -> int | None:
        """Index of the check with the largest error ratio (failures win), if any ran."""
        ranked = [(i, c) for i, c in self.ordered_checks if c.status != "skip"]
        return ranked[0][0] if ranked else None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> Run:
        """Decode one entry of ``spec.runs``."""
        return cls(
            dtype=_str(_req(d, "dtype", where), f"{where}.dtype"),
            passed=_bool(_req(d, "passed", where), f"{where}.passed"),
            examples=_opt_int(d.get("examples"), f"{where}.examples"),
            seed=_opt_int(d.get("seed"), f"{where}.seed"),
            elapsed_s=_opt_float(d.get("elapsed_s"), f"{where}.elapsed_s"),
            evaluations=_counts(d.get("evaluations") or {}, f"{where}.evaluations"),
            families=_counts(d.get("families") or {}, f"{where}.families"),
            replay=str(d.get("replay") or ""),
            checks=tuple(
                CheckResult.from_dict(_obj(c, f"{where}.checks[{i}]"), f"{where}.checks[{i}]")
                for i, c in enumerate(_list(_req(d, "checks", where), f"{where}.checks"))
            ),
        )


@dataclass(frozen=True)
class Spec:
    """A verified backward pass and all of its runs."""

    name: str
    structure: str
    kinks: tuple[float, ...]
    equations: str
    formula: str
    doc: str
    runs: tuple[Run, ...]

    @property
    def failed_checks(self) -> int:
        """Number of failed checks over all runs."""
        return sum(c.failed for r in self.runs for c in r.checks)

    @property
    def passed(self) -> bool:
        """Whether every run passed."""
        return all(r.passed for r in self.runs) and self.failed_checks == 0

    @property
    def worst_ratio(self) -> float | None:
        """Largest error ratio over all checks of all runs (NaN wins), or None."""
        ratios = [c.error_ratio for r in self.runs for c in r.checks if c.error_ratio is not None]
        return max(ratios, key=_ratio_for_ordering) if ratios else None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> Spec:
        """Decode one entry of ``specs``."""
        return cls(
            name=_str(_req(d, "name", where), f"{where}.name"),
            structure=str(d.get("structure") or ""),
            kinks=_floats(d.get("kinks") or [], f"{where}.kinks"),
            equations=str(d.get("equations") or ""),
            formula=str(d.get("formula") or ""),
            doc=str(d.get("doc") or ""),
            runs=tuple(
                Run.from_dict(_obj(r, f"{where}.runs[{i}]"), f"{where}.runs[{i}]")
                for i, r in enumerate(_list(_req(d, "runs", where), f"{where}.runs"))
            ),
        )


@dataclass(frozen=True)
class Settings:
    """The verification settings the results were produced with."""

    profile: str | None
    seed: int | None
    max_examples: int | None
    dtypes: tuple[str, ...]
    strict: bool | None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> Settings:
        """Decode ``settings``; every field is optional."""
        strict = d.get("strict")
        return cls(
            profile=None if d.get("profile") is None else str(d["profile"]),
            seed=_opt_int(d.get("seed"), f"{where}.seed"),
            max_examples=_opt_int(d.get("max_examples"), f"{where}.max_examples"),
            dtypes=tuple(str(x) for x in _list(d.get("dtypes") or [], f"{where}.dtypes")),
            strict=None if strict is None else _bool(strict, f"{where}.strict"),
        )


@dataclass(frozen=True)
class SummaryRow:
    """One row of the summary table: a spec x check x dtype triple."""

    spec_index: int
    run_index: int
    check_index: int
    spec: Spec
    run: Run
    result: CheckResult

    @property
    def sort_key(self) -> tuple[int, float, str, str, str]:
        """Failures first, worst ratio first, then names so ties are deterministic."""
        return (*severity_key(self.result), self.spec.name, self.result.check, self.run.dtype)


class PlotRequest(NamedTuple):
    """One figure the report should draw."""

    spec_index: int
    run_index: int
    check_index: int
    kind: PlotKind


@dataclass(frozen=True)
class ReportModel:
    """Everything the HTML report shows, decoded from one results document.

    Build it with :meth:`ReportModel.from_dict`; the object is immutable.
    """

    created: str
    passed: bool
    environment: tuple[tuple[str, str], ...]
    settings: Settings
    specs: tuple[Spec, ...]

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ReportModel:
        """Decode a results document (``docs/results-schema.md``).

        Parameters
        ----------
        doc : Mapping
            The JSON object, as returned by :func:`json.load`.

        Returns
        -------
        ReportModel
            The decoded, immutable model.

        Raises
        ------
        ValueError
            If ``doc`` is not a harness results document, has an unsupported
            ``schema_version``, or lacks a field the report needs. The message names the
            offending location, e.g. ``specs[1].runs[0].checks[2].status``.
        """
        doc = _obj(doc, "results document")
        schema = doc.get("schema")
        if schema != SCHEMA:
            raise ValueError(
                f"not a harness results document: 'schema' is {schema!r}, expected {SCHEMA!r}"
            )
        version = doc.get("schema_version")
        if isinstance(version, bool) or version not in SUPPORTED_SCHEMA_VERSIONS:
            supported = ", ".join(str(v) for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
            raise ValueError(
                f"unsupported results schema_version {version!r}; this harness reads "
                f"version {supported}"
            )
        env = _obj(doc.get("environment") or {}, "environment")
        return cls(
            created=str(doc.get("created") or ""),
            passed=_bool(_req(doc, "passed", "results document"), "passed"),
            environment=tuple((str(k), str(v)) for k, v in env.items()),
            settings=Settings.from_dict(_obj(doc.get("settings") or {}, "settings"), "settings"),
            specs=tuple(
                Spec.from_dict(_obj(s, f"specs[{i}]"), f"specs[{i}]")
                for i, s in enumerate(_list(_req(doc, "specs", "results document"), "specs"))
            ),
        )

    # ----------------------------------------------------------------------- derived views

    def summary_rows(self) -> tuple[SummaryRow, ...]:
        """All spec x check x dtype rows, failures first, then worst error ratio first."""
        rows = [
            SummaryRow(si, ri, ci, spec, run, check)
            for si, spec in enumerate(self.specs)
            for ri, run in enumerate(spec.runs)
            for ci, check in enumerate(run.checks)
        ]
        return tuple(sorted(rows, key=lambda r: r.sort_key))

    def failed_rows(self) -> tuple[SummaryRow, ...]:
        """The failed rows of :meth:`summary_rows`, in the same order."""
        return tuple(r for r in self.summary_rows() if r.result.failed)

    def ordered_specs(self) -> tuple[tuple[int, Spec], ...]:
        """``(index, spec)`` pairs: failing specs first, then worst ratio first, then name."""
        return tuple(
            sorted(
                enumerate(self.specs),
                key=lambda p: (
                    p[1].passed,
                    -_ratio_for_ordering(p[1].worst_ratio),
                    p[1].name,
                ),
            )
        )

    @property
    def n_checks(self) -> int:
        """Number of checks over all specs and runs."""
        return sum(len(r.checks) for s in self.specs for r in s.runs)

    @property
    def n_runs(self) -> int:
        """Number of spec x dtype runs."""
        return sum(len(s.runs) for s in self.specs)

    @property
    def n_failed_checks(self) -> int:
        """Number of failed checks."""
        return sum(s.failed_checks for s in self.specs)

    @property
    def n_failed_runs(self) -> int:
        """Number of runs that did not pass."""
        return sum(
            (not r.passed) or any(c.failed for c in r.checks) for s in self.specs for r in s.runs
        )

    def plot_plan(self, limit: int = 40) -> tuple[PlotRequest, ...]:
        """Choose which figures to draw, at most ``limit`` of them.

        Figures are slow to render, so only two kinds of checks get them: every failed check,
        and the worst check (largest error ratio) of each run. Failed checks come first,
        worst ratio first, so the cap drops the least interesting figures.

        Parameters
        ----------
        limit : int, optional
            Maximum number of figures for the whole report.

        Returns
        -------
        tuple of PlotRequest
            The figures to draw, in priority order.
        """
        rows = self.summary_rows()
        wanted = [r for r in rows if r.result.failed]
        chosen = {(r.spec_index, r.run_index, r.check_index) for r in wanted}
        for row in rows:
            key = (row.spec_index, row.run_index, row.check_index)
            if key not in chosen and row.run.worst_check_index == row.check_index:
                wanted.append(row)
                chosen.add(key)
        plan: list[PlotRequest] = []
        for row in wanted:
            for kind in row.result.plot_kinds:
                if len(plan) >= limit:
                    return tuple(plan)
                plan.append(PlotRequest(row.spec_index, row.run_index, row.check_index, kind))
        return tuple(plan)
