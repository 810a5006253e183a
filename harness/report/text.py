"""The console summary of a run: each cause once, each check, the failing entry in context.

Every figure is finite or "n/a"; an input is printed whole when it is small and otherwise as
the neighbourhood of the failing entry, with its row and column indices, never elided where
the failure is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.results import (
    ArrayRecord,
    CheckResult,
    Finding,
    InputRecord,
    Location,
    RunResult,
    fmt_count,
    fmt_figure,
)

__all__ = ["finding_line", "format_array", "format_input", "run_summary"]

WHOLE_MAX = 8  # rows and columns printed whole
RADIUS = 2  # entries on each side of the failing one otherwise
INDENT = "        "


def _value(x: float, dtype: str) -> str:
    """Shortest text that reads back to the value in its own dtype."""
    try:
        t = np.dtype(dtype).type
    except TypeError:
        t = np.float64
    v = t(x)
    return str(v) if np.isfinite(v) else "n/a"


def _window(n: int, focus: int | None) -> list[int]:
    if n <= WHOLE_MAX:
        return list(range(n))
    if focus is None:
        return list(range(WHOLE_MAX))
    lo = max(0, min(focus - RADIUS, n - 2 * RADIUS - 1))
    return list(range(lo, min(n, lo + 2 * RADIUS + 1)))


def format_array(rec: ArrayRecord, focus: Sequence[int] | None = None) -> list[str]:
    """Lines of a 2-d table of ``rec``'s values with row and column labels.

    The entry at ``focus`` is marked with brackets; when the array is larger than
    ``WHOLE_MAX`` in a dimension, only the neighbourhood of ``focus`` is shown (with the
    indices saying which rows and columns those are).
    """
    a = rec.array
    if a.ndim == 0:
        text = _value(float(a), rec.dtype)
        return [f"[{text}]" if focus is not None else text]
    if a.ndim == 1:
        a = a.reshape(1, -1)
        f: tuple[int, int] | None = None if not focus else (0, int(focus[-1]))
    else:
        a = a.reshape(-1, a.shape[-1])
        if focus is not None and len(focus) == rec.array.ndim:
            flat_row = int(np.ravel_multi_index(tuple(focus[:-1]), rec.array.shape[:-1]))
            f = (flat_row, int(focus[-1]))
        else:
            f = None
    if f is not None and not (0 <= f[0] < a.shape[0] and 0 <= f[1] < a.shape[1]):
        f = None
    rows = _window(a.shape[0], None if f is None else f[0])
    cols = _window(a.shape[1], None if f is None else f[1])
    cells = [
        [
            (f"[{_value(a[r, c], rec.dtype)}]" if f == (r, c) else _value(a[r, c], rec.dtype))
            for c in cols
        ]
        for r in rows
    ]
    width = max(max(len(x) for row in cells for x in row), max(len(str(c)) for c in cols))
    label_w = max(len(str(r)) for r in rows)
    lines = [" " * (label_w + 2) + " ".join(str(c).rjust(width) for c in cols)]
    for r, row in zip(rows, cells, strict=True):
        lines.append(f"{str(r).rjust(label_w)}: " + " ".join(x.rjust(width) for x in row))
    if len(rows) != a.shape[0] or len(cols) != a.shape[1]:
        lines.append(
            f"(rows {rows[0]}-{rows[-1]} of {a.shape[0]}, columns {cols[0]}-{cols[-1]} of "
            f"{a.shape[1]})"
        )
    return lines


def format_input(inp: InputRecord, location: Location | None, indent: str = INDENT) -> list[str]:
    """Every array of an input with its name; the located one marks the failing entry."""
    lines: list[str] = []
    for pos, rec in enumerate(inp.arrays, start=1):
        focus = None
        if (
            location is not None
            and location.input_index is not None
            and (location.input == rec.name or (location.input is None and len(inp.arrays) == 1))
        ):
            focus = location.input_index
        role = ", constant" if rec.role == "constant" else ""
        of = f"input {pos} of {len(inp.arrays)}, " if len(inp.arrays) > 1 else ""
        head = (
            f"input {rec.name} ({of}{inp.family}, {inp.layout}-order, {rec.dtype}{role}, "
            f"shape {rec.shape})"
        )
        if focus is not None:
            head += f", entry [{', '.join(map(str, focus))}] in brackets"
        lines.append(indent + head + ":")
        lines.extend(indent + "  " + line for line in format_array(rec, focus))
    return lines


def _values_clause(finding: Finding, run: RunResult) -> str:
    """For a finding that prevented nothing (a wrong dtype): were the values right?"""
    if finding.checks or "values" in finding.message:
        return ""
    wrong = [c for c in run.checks if c.failed and c.finding is None]
    if not wrong:
        return "; values correct"
    errs = [c.max_abs_error for c in wrong if c.max_abs_error is not None]
    return f"; values wrong by {fmt_figure(max(errs), '.2g')}" if errs else "; values wrong"


def finding_line(finding: Finding, run: RunResult) -> str:
    """One line naming the cause: ``vjp raised ValueError: ...``."""
    return finding.message + _values_clause(finding, run)


def _figures(c: CheckResult) -> str:
    return (
        f"error/tolerance {fmt_figure(c.error_ratio)}, max abs error "
        f"{fmt_figure(c.max_abs_error)}, max rel error {fmt_figure(c.max_rel_error)}"
    )


def _check_lines(c: CheckResult, findings: dict[str, Finding]) -> list[str]:
    if c.status == "skip":
        return [f"  skip  {c.check}: {c.message or 'not run'}"]
    if c.finding is not None:
        if c.check in findings:
            return [f"  FAIL  {c.check}: not run, prevented by the {c.finding} finding above"]
        # A run holding this check alone (the pytest plugin's items): the cause, once, here.
        lines = [f"  FAIL  {c.check}: not run: {c.message or c.finding}"]
        w = c.worst
        if w is not None and w.input is not None:
            lines.extend(format_input(w.input, w.location))
        if w is not None and w.replay:
            lines.append(f"{INDENT}replay: {w.replay}")
        return lines
    mark = {"pass": "ok  ", "fail": "FAIL", "unresolved": "unres"}[c.status]
    oracle = f"; oracle: {c.oracle}" if c.oracle else ""
    # Anything said beyond the oracle's name (a jump of the forward found at an unresolved
    # entry) is shown whatever the verdict.
    said = c.message.removeprefix("oracle: ")
    said = said.removeprefix(c.oracle).removeprefix("; ") if c.oracle else said
    if c.status == "unresolved":
        return [f"  {mark} {c.check}: {c.coverage()}{oracle}"] + ([INDENT + said] if said else [])
    lines = [f"  {mark}  {c.check}: {_figures(c)}; {c.coverage()}{oracle}"]
    if not c.failed:
        return lines + ([INDENT + said] if said and c.status == "pass" and c.ran else [])
    if c.message and not c.message.startswith("oracle: "):
        lines.append(INDENT + c.message)
    w = c.worst
    if w is None:
        return lines
    lines.append(
        f"{INDENT}worst: {w.what}: expected {_exact(w.expected)}, got {_exact(w.got)} "
        f"(abs error {fmt_figure(w.abs_error)}, tolerance {fmt_figure(w.tolerance)}, "
        f"{fmt_figure(w.ratio)} x tolerance)"
    )
    if w.location is not None and (w.location.input_index is not None or w.location.of > 1):
        lines.append(f"{INDENT}at {w.location.describe()}")
    if w.input is not None:
        lines.extend(format_input(w.input, w.location))
    if w.replay:
        lines.append(f"{INDENT}replay: {w.replay}")
    return lines


def _exact(x: float | None) -> str:
    return "n/a" if x is None else repr(x)


def _header(run: RunResult) -> str:
    head = "PASSED" if run.passed else "FAILED"
    n_failed = sum(1 for c in run.checks if c.failed)
    total = run.comparisons + run.unresolved
    parts = [
        f"{n_failed} of {len(run.checks)} checks failed"
        if n_failed
        else "no check failed"
        if run.findings
        else "all checks passed",
        f"{fmt_count(run.unresolved)} of {fmt_count(total)} comparisons unresolved",
    ]
    if run.rounding_limited:
        parts.append(f"{fmt_count(run.rounding_limited)} rounding-limited")
    if run.findings:
        n = len(run.findings)
        parts.insert(0, f"{n} finding{'s' if n != 1 else ''}")
    return f"{head}: spec {run.spec!r} in {run.dtype} ({run.examples} input(s)): " + ", ".join(
        parts
    )


def run_summary(run: RunResult) -> str:
    """A readable multi-line summary: findings first, once each; then the checks."""
    lines = [_header(run)]
    if run.finite_range:
        lines.append(f"  RANGE {run.finite_range}")
    by_check: dict[str, Finding] = {}
    for f in run.findings:
        by_check.update({name: f for name in f.checks})
        lines.append(f"  FINDING {f.kind}: {finding_line(f, run)}")
        if f.checks:
            lines.append(f"{INDENT}prevented: {', '.join(f.checks)}")
        if f.location is not None and (f.location.input_index is not None or f.location.of > 1):
            lines.append(f"{INDENT}at {f.location.describe()}")
        if f.input is not None:
            lines.extend(format_input(f.input, f.location))
        replays = [w.replay for c in run.checks if c.check in f.checks if (w := c.worst)]
        for r in [x for x in replays if x][:1]:
            lines.append(f"{INDENT}replay: {r}")
    for v in sorted(run.verdicts, key=lambda v: v.status != "fail"):
        lines.append(f"  {'FAIL' if v.status == 'fail' else 'ok  '}  {v.line()}")
    order = sorted(
        run.checks,
        key=lambda c: (
            0 if c.failed and c.finding is None else 1 if c.failed else 2,
            -(c.error_ratio or 0.0),
        ),
    )
    for c in order:
        lines.extend(_check_lines(c, by_check))
    if run.replay and not run.passed:
        lines.append(f"  rerun: {run.replay}")
    return "\n".join(lines)
