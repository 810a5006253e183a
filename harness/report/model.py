"""What the HTML report shows, computed from the results model (harness/results.py).

The report never recomputes a verification and has no data classes of its own for results:
everything comes from a decoded :class:`~harness.results.ResultsDocument`. This module owns
the report's ordering rules (failures first: derivative failures before call failures, then
the largest error/tolerance first) and the views the templates iterate over: the spec x dtype
matrix, the summary rows, the failures grouped by cause, the figures to draw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from harness.results import (
    CheckResult,
    Finding,
    ResultsDocument,
    RunResult,
    Settings,
    SpecReport,
    decode_document,
)

__all__ = [
    "FindingRow",
    "MatrixCell",
    "MatrixRow",
    "PlotKind",
    "PlotRequest",
    "ReportModel",
    "SummaryRow",
    "check_rank",
    "ordered_checks",
    "severity_key",
    "spec_failed_checks",
    "spec_worst_ratio",
]

PlotKind = Literal["step_curve", "ratio_hist", "heatmap"]
_DTYPE_ORDER = ("float64", "float32", "float16")


def check_rank(c: CheckResult) -> int:
    """0 a derivative failure, 1 a check a call failure prevented, 2 unresolved, 3 pass, 4 skip."""
    if c.failed:
        return 0 if c.finding is None else 1
    return {"unresolved": 2, "pass": 3}.get(c.status, 4)


def _ratio(x: float | None) -> float:
    return -math.inf if x is None else x


def severity_key(c: CheckResult) -> tuple[int, float]:
    """Ascending order is the report's order: worst rank first, then largest ratio first."""
    return (check_rank(c), -_ratio(c.error_ratio))


def ordered_checks(run: RunResult) -> tuple[tuple[int, CheckResult], ...]:
    """``(index, check)`` pairs of a run, in report order."""
    return tuple(sorted(enumerate(run.checks), key=lambda p: (*severity_key(p[1]), p[1].check)))


def plot_kinds(c: CheckResult) -> tuple[PlotKind, ...]:
    """The figures a check carries data for, in display order."""
    kinds: list[PlotKind] = []
    if c.step_curve is not None:
        kinds.append("step_curve")
    if c.ratio_hist is not None and c.ratio_hist.total:
        kinds.append("ratio_hist")
    if c.heatmap is not None:
        kinds.append("heatmap")
    return tuple(kinds)


def spec_failed_checks(spec: SpecReport) -> int:
    return sum(c.failed for r in spec.runs for c in r.checks)


def spec_worst_ratio(spec: SpecReport) -> float | None:
    ratios = [x for r in spec.runs if (x := r.worst_ratio) is not None]
    return max(ratios) if ratios else None


def _run_rank(run: RunResult) -> int:
    if any(c.failed and c.finding is None for c in run.checks):
        return 0
    return 1 if not run.passed else 2


@dataclass(frozen=True)
class SummaryRow:
    """One row of the summary table: a spec x check x dtype triple."""

    spec_index: int
    run_index: int
    check_index: int
    spec: SpecReport
    run: RunResult
    result: CheckResult

    @property
    def sort_key(self) -> tuple[int, float, str, str, str]:
        return (*severity_key(self.result), self.spec.name, self.result.check, self.run.dtype)


@dataclass(frozen=True)
class FindingRow:
    """One cause (a call failure) of one run, with the checks it prevented."""

    spec_index: int
    run_index: int
    spec: SpecReport
    run: RunResult
    finding: Finding


@dataclass(frozen=True)
class MatrixCell:
    """One spec in one dtype, as the first screen shows it."""

    run_index: int
    run: RunResult

    @property
    def status(self) -> str:
        return "pass" if self.run.passed else "fail"

    @property
    def worst_ratio(self) -> float | None:
        return self.run.worst_ratio

    @property
    def failed_checks(self) -> int:
        return sum(c.failed for c in self.run.checks)


@dataclass(frozen=True)
class MatrixRow:
    """A spec and its cells, one per dtype column (None: not run in that dtype)."""

    spec_index: int
    spec: SpecReport
    cells: tuple[MatrixCell | None, ...]


class PlotRequest(NamedTuple):
    """One figure the report should draw."""

    spec_index: int
    run_index: int
    check_index: int
    kind: PlotKind


@dataclass(frozen=True)
class ReportModel:
    """The results document plus the views the report shows. Build with :meth:`from_dict`."""

    doc: ResultsDocument

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | ResultsDocument) -> ReportModel:
        """Decode (strictly) a results document; ResultsFormatError names a bad field."""
        return cls(doc if isinstance(doc, ResultsDocument) else decode_document(doc))

    @property
    def created(self) -> str:
        return self.doc.created

    @property
    def passed(self) -> bool:
        return self.doc.passed

    @property
    def environment(self) -> tuple[tuple[str, str], ...]:
        return self.doc.environment

    @property
    def settings(self) -> Settings:
        return self.doc.settings

    @property
    def specs(self) -> tuple[SpecReport, ...]:
        return self.doc.specs

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
        """Failed checks, in summary order."""
        return tuple(r for r in self.summary_rows() if r.result.failed)

    def derivative_failures(self) -> tuple[SummaryRow, ...]:
        """Failed checks that compared derivatives (no call failure stopped them)."""
        return tuple(r for r in self.failed_rows() if r.result.finding is None)

    def finding_rows(self) -> tuple[FindingRow, ...]:
        """Every finding, grouped by kind then message, so one cause is one block."""
        rows = [
            FindingRow(si, ri, spec, run, f)
            for si, spec in enumerate(self.specs)
            for ri, run in enumerate(spec.runs)
            for f in run.findings
        ]
        return tuple(sorted(rows, key=lambda r: (r.finding.kind, r.finding.message, r.spec.name)))

    def finding_groups(self) -> tuple[tuple[str, tuple[FindingRow, ...]], ...]:
        """Findings grouped by kind: ``(kind, rows)``, the largest group first."""
        groups: dict[str, list[FindingRow]] = {}
        for row in self.finding_rows():
            groups.setdefault(row.finding.kind, []).append(row)
        return tuple(
            (k, tuple(v)) for k, v in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        )

    def dtypes(self) -> tuple[str, ...]:
        """The dtype columns of the matrix: widest first, unknown ones after, by name."""
        seen = {r.dtype for s in self.specs for r in s.runs}
        known = [d for d in _DTYPE_ORDER if d in seen]
        return tuple(known + sorted(seen - set(known)))

    def matrix(self) -> tuple[MatrixRow, ...]:
        """Specs x dtypes, failing specs first (derivative failures before call failures)."""
        cols = self.dtypes()
        rows = []
        for si, spec in self.ordered_specs():
            by_dtype = {r.dtype: MatrixCell(ri, r) for ri, r in enumerate(spec.runs)}
            rows.append(MatrixRow(si, spec, tuple(by_dtype.get(d) for d in cols)))
        return tuple(rows)

    def ordered_specs(self) -> tuple[tuple[int, SpecReport], ...]:
        """``(index, spec)``: failing first, derivative failures first, worst ratio, name."""
        return tuple(
            sorted(
                enumerate(self.specs),
                key=lambda p: (
                    min((_run_rank(r) for r in p[1].runs), default=2),
                    -_ratio(spec_worst_ratio(p[1])),
                    p[1].name,
                ),
            )
        )

    @property
    def n_checks(self) -> int:
        return sum(len(r.checks) for s in self.specs for r in s.runs)

    @property
    def n_runs(self) -> int:
        return sum(len(s.runs) for s in self.specs)

    @property
    def n_failed_checks(self) -> int:
        return sum(spec_failed_checks(s) for s in self.specs)

    @property
    def n_failed_runs(self) -> int:
        return sum(not r.passed for s in self.specs for r in s.runs)

    @property
    def n_findings(self) -> int:
        return sum(len(r.findings) for s in self.specs for r in s.runs)

    def coverage(self) -> dict[str, int]:
        """Comparisons made, left unresolved, and rounding-limited, over the whole report."""
        s = self.doc.summary()
        return {k: s[k] for k in ("comparisons", "unresolved", "rounding_limited")}

    def plot_plan(self, limit: int = 40) -> tuple[PlotRequest, ...]:
        """Choose which figures to draw, at most ``limit`` of them.

        Every derivative failure, then the worst check (largest ratio) of each run; failures
        first, worst ratio first, so the cap drops the least interesting figures.
        """
        rows = self.summary_rows()
        wanted = [r for r in rows if r.result.failed and r.result.finding is None]
        chosen = {(r.spec_index, r.run_index, r.check_index) for r in wanted}
        for row in rows:
            key = (row.spec_index, row.run_index, row.check_index)
            if key in chosen or row.result.finding is not None or not row.result.ran:
                continue
            first = next((i for i, c in ordered_checks(row.run) if c.ran), None)
            if first == row.check_index:
                wanted.append(row)
                chosen.add(key)
        plan: list[PlotRequest] = []
        for row in wanted:
            for kind in plot_kinds(row.result):
                if len(plan) >= limit:
                    return tuple(plan)
                plan.append(PlotRequest(row.spec_index, row.run_index, row.check_index, kind))
        return tuple(plan)
