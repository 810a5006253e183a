"""``report --compare OLD NEW``: what changed between two runs, per spec x dtype x check.

A change is one of: a new failure (a check that did not fail now fails, including in a spec,
run or check that is new), a new pass (a failing check passes), error/tolerance worse or
better by 10x or more, a check whose status changed otherwise (ran, now skipped), and specs,
runs (spec x dtype) or checks added or removed. New failures and "worse by 10x" are
regressions: the command exits 1 when there is one, so CI can gate on it.

Ratios are compared only where they mean something: both checks ran (no call failure stopped
them) and the larger of the two ratios is at least ``MIN_RATIO``; below that, a tenfold change
is rounding noise far inside the tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.results import CheckResult, ResultsDocument, RunResult, SpecReport, fmt_figure

__all__ = ["COMPARE_PAGE", "FACTOR", "MIN_RATIO", "Change", "Comparison", "compare"]

COMPARE_PAGE = "compare.html"
FACTOR = 10.0  # a ratio this many times larger (or smaller) is a change
MIN_RATIO = 1e-2  # ... when the larger ratio is at least this

Kind = Literal[
    "new failure",
    "worse",
    "new pass",
    "better",
    "status",
    "spec added",
    "spec removed",
    "run added",
    "run removed",
    "check added",
    "check removed",
]
KINDS: tuple[Kind, ...] = (
    "new failure",
    "worse",
    "new pass",
    "better",
    "status",
    "spec added",
    "spec removed",
    "run added",
    "run removed",
    "check added",
    "check removed",
)
REGRESSIONS: frozenset[str] = frozenset({"new failure", "worse"})


def _status(c: CheckResult | None) -> str | None:
    return None if c is None else c.status


@dataclass(frozen=True)
class Change:
    """One change between the two runs."""

    kind: Kind
    spec: str
    dtype: str | None = None
    check: str | None = None
    old_status: str | None = None
    new_status: str | None = None
    old_ratio: float | None = None
    new_ratio: float | None = None
    note: str = ""

    @property
    def regression(self) -> bool:
        return self.kind in REGRESSIONS

    @property
    def where(self) -> str:
        return " ".join(x for x in (self.spec, self.dtype, self.check) if x)

    @property
    def factor(self) -> float | None:
        """new ratio / old ratio, when both are positive."""
        if self.old_ratio and self.new_ratio:
            return self.new_ratio / self.old_ratio
        return None

    def describe(self) -> str:
        """The change in words, figures finite or n/a."""
        parts = []
        if self.old_status is not None or self.new_status is not None:
            parts.append(f"{self.old_status or 'absent'} -> {self.new_status or 'absent'}")
        if self.old_ratio is not None or self.new_ratio is not None:
            ratio = f"error/tolerance {fmt_figure(self.old_ratio)} -> {fmt_figure(self.new_ratio)}"
            f = self.factor
            if f is not None and self.kind in ("worse", "better"):
                ratio += f" ({fmt_figure(f if f >= 1 else 1 / f)}x)"
            parts.append(ratio)
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


@dataclass(frozen=True)
class Comparison:
    """Every change from ``old`` to ``new``, regressions first."""

    old_label: str
    new_label: str
    changes: tuple[Change, ...]
    unchanged: int

    @property
    def regressed(self) -> bool:
        return any(c.regression for c in self.changes)

    def of_kind(self, kind: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == kind)

    def counts(self) -> dict[str, int]:
        return {k: n for k in KINDS if (n := len(self.of_kind(k)))}

    def headline(self) -> str:
        counts = self.counts()
        head = "REGRESSED" if self.regressed else "NO REGRESSION"
        if not counts:
            return f"{head}: nothing changed"
        return f"{head}: " + ", ".join(f"{n} {k}" for k, n in counts.items())

    def text(self) -> str:
        """The comparison as the CLI prints it."""
        lines = [f"compare {self.old_label} -> {self.new_label}", self.headline()]
        width = max((len(c.kind) for c in self.changes), default=0)
        for c in self.changes:
            detail = c.describe()
            lines.append(f"  {c.kind.ljust(width)}  {c.where}" + (f": {detail}" if detail else ""))
        lines.append(f"unchanged: {self.unchanged} check(s)")
        return "\n".join(lines) + "\n"


def _checks(run: RunResult) -> dict[str, CheckResult]:
    return {c.check: c for c in run.checks}


def _ratio_change(spec: str, dtype: str, o: CheckResult, n: CheckResult) -> Change | None:
    if not (o.ran and n.ran) or o.error_ratio is None or n.error_ratio is None:
        return None
    lo, hi = sorted((o.error_ratio, n.error_ratio))
    if hi < MIN_RATIO or hi < FACTOR * lo:
        return None
    kind: Kind = "worse" if n.error_ratio > o.error_ratio else "better"
    return Change(kind, spec, dtype, o.check, None, None, o.error_ratio, n.error_ratio)


def _check_changes(spec: str, dtype: str, o: CheckResult, n: CheckResult) -> list[Change]:
    st = (o.status, n.status)
    ratios = (o.error_ratio, n.error_ratio)
    if not o.failed and n.failed:
        note = f"not run: {n.finding}" if n.finding else ""
        return [Change("new failure", spec, dtype, n.check, *st, *ratios, note=note)]
    if o.failed and not n.failed:
        return [Change("new pass", spec, dtype, n.check, *st, *ratios)]
    if o.status != n.status:
        return [Change("status", spec, dtype, n.check, *st)]
    ch = _ratio_change(spec, dtype, o, n)
    return [] if ch is None else [ch]


def _new_checks(kind: Kind, spec: str, dtype: str | None, run: RunResult) -> list[Change]:
    """A run or check that is new: its failing checks are new failures."""
    return [
        Change("new failure", spec, run.dtype, c.check, None, c.status, None, c.error_ratio)
        for c in run.checks
        if c.failed
    ]


def _spec_changes(o: SpecReport | None, n: SpecReport | None) -> tuple[list[Change], int]:
    if n is None:
        assert o is not None
        return [Change("spec removed", o.name, note=_dtypes(o.runs))], 0
    if o is None:
        out = [Change("spec added", n.name, note=_dtypes(n.runs))]
        for run in n.runs:
            out += _new_checks("spec added", n.name, run.dtype, run)
        return out, 0
    changes: list[Change] = []
    unchanged = 0
    old_runs = {r.dtype: r for r in o.runs}
    new_runs = {r.dtype: r for r in n.runs}
    for dtype in _union(old_runs, new_runs):
        ro, rn = old_runs.get(dtype), new_runs.get(dtype)
        if rn is None:
            changes.append(Change("run removed", n.name, dtype))
            continue
        if ro is None:
            changes.append(Change("run added", n.name, dtype))
            changes += _new_checks("run added", n.name, dtype, rn)
            continue
        co, cn = _checks(ro), _checks(rn)
        for name in _union(co, cn):
            a, b = co.get(name), cn.get(name)
            if b is None:
                changes.append(Change("check removed", n.name, dtype, name, _status(a)))
            elif a is None:
                changes.append(Change("check added", n.name, dtype, name, None, b.status))
                if b.failed:
                    changes.append(
                        Change("new failure", n.name, dtype, name, None, b.status, None,
                               b.error_ratio)
                    )  # fmt: skip
            else:
                found = _check_changes(n.name, dtype, a, b)
                changes += found
                unchanged += not found
    return changes, unchanged


def _dtypes(runs: Sequence[RunResult]) -> str:
    return ", ".join(r.dtype for r in runs)


def _union(a: Mapping[str, object], b: Mapping[str, object]) -> list[str]:
    return list(a) + [k for k in b if k not in a]


def compare(
    old: ResultsDocument,
    new: ResultsDocument,
    *,
    old_label: str = "OLD",
    new_label: str = "NEW",
) -> Comparison:
    """Every change from ``old`` to ``new``, per spec x dtype x check."""
    olds = {s.name: s for s in old.specs}
    news = {s.name: s for s in new.specs}
    changes: list[Change] = []
    unchanged = 0
    for name in _union(olds, news):
        found, same = _spec_changes(olds.get(name), news.get(name))
        changes += found
        unchanged += same
    order = {k: i for i, k in enumerate(KINDS)}

    def key(c: Change) -> tuple[int, float, str]:
        f = c.factor or 1.0
        return (order[c.kind], -(f if c.kind == "worse" else 1 / f), c.where)

    return Comparison(old_label, new_label, tuple(sorted(changes, key=key)), unchanged)


def render_compare_page(result: Comparison) -> str:
    """The comparison as a self-contained HTML page (no script, no external resource)."""
    from harness.report.html import _environment

    template = _environment().get_template("compare.html.j2")
    return template.render(cmp=result, kinds=[k for k in KINDS if result.of_kind(k)])


def write_compare_page(result: Comparison, out_dir: Path) -> Path:
    """Write ``compare.html`` into ``out_dir`` atomically; returns its path."""
    from harness.report.atomic import atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / COMPARE_PAGE
    atomic_write_text(path, render_compare_page(result))
    return path
