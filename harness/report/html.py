"""Static HTML report rendered from a results document.

The report is a handful of self-contained files: ``index.html`` (summary of every spec x
check x dtype, failures first), ``failures.html`` (the same table, failures only, so the
filter works without JavaScript) and one ``spec-<slug>-<hash>.html`` page per spec. Pages
carry inline CSS and inline SVG figures only: no script and no external resource, so they
open from a CI artefact or a mail attachment exactly as they do locally.

Output is deterministic: rendering the same document twice gives byte-identical files.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup

from harness.report import plots
from harness.report.atomic import atomic_write_many
from harness.report.model import (
    PlotKind,
    PlotRequest,
    ReportModel,
    check_rank,
    ordered_checks,
    spec_failed_checks,
    spec_worst_ratio,
)
from harness.report.text import finding_line
from harness.results import (
    ArrayRecord,
    CheckResult,
    Location,
    ResultsDocument,
    RunResult,
    SpecReport,
    finite_or_none,
    fmt_count,
)

__all__ = [
    "DEFAULT_MAX_PLOTS",
    "FAILURES_PAGE",
    "INDEX_PAGE",
    "MatrixView",
    "remove_stale_pages",
    "render_pages",
    "spec_page_name",
    "write_html",
]

INDEX_PAGE = "index.html"
FAILURES_PAGE = "failures.html"
DEFAULT_MAX_PLOTS = 40
MATRIX_MAX = 8  # rows and columns of a worst input shown before truncating

_SPEC_PAGE_RE = re.compile(r"^spec-[a-z0-9-]*-[0-9a-f]{10}\.html$")
_KNOWN_ENV_ORDER = ("python", "numpy", "scipy", "hypothesis", "harness", "platform")
_PLOT_TITLES: dict[PlotKind, str] = {
    "step_curve": "error vs step size",
    "ratio_hist": "error / tolerance",
    "heatmap": "Jacobian error",
}


# --------------------------------------------------------------------------- names


def _slug(text: str, max_len: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_len].rstrip("-")


def spec_page_name(name: str) -> str:
    """File name of the page of the spec called ``name``.

    Parameters
    ----------
    name : str
        The spec's name; any characters, including ``/``, spaces and markup.

    Returns
    -------
    str
        ``spec-<slug>-<hash>.html``: a lower-case ASCII slug for humans plus ten hex digits
        of the name's SHA-256, so two names that slug alike still get distinct files.
    """
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"spec-{_slug(name) or 'spec'}-{digest}.html"


def _check_anchor(run_index: int, run: RunResult, check_index: int, check: CheckResult) -> str:
    return f"r{run_index}c{check_index}-{_slug(run.dtype, 16)}-{_slug(check.check, 24)}"


# --------------------------------------------------------------------------- formatting


def _num(value: float | int | None, fmt: str = ".4g") -> str:
    """Format a figure for a table cell: "n/a" when absent or not finite, never inf/nan."""
    v = finite_or_none(value)
    if v is None:
        return "n/a"
    return format(int(v) if fmt == "d" else v, fmt)


def _exact(value: float | None) -> str:
    """Shortest text that reads back to the same float, so expected/got can be compared."""
    v = finite_or_none(value)
    return "n/a" if v is None else repr(v)


def _cell(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if value == 0.0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    return f"{value:.6g}"


def _is_bad_ratio(value: float | None) -> bool:
    return value is not None and value > 1.0


@dataclass(frozen=True)
class MatrixView:
    """A worst input, cut to at most ``MATRIX_MAX`` x ``MATRIX_MAX`` cells for display.

    Attributes
    ----------
    row_labels, col_labels : tuple of (int or None)
        Index of each displayed row/column in the full array; None marks an ellipsis.
    cells : tuple of tuple of (str or None)
        Formatted values; None for an ellipsis cell.
    highlight : tuple of (int, int) or None
        Display coordinates of the worst entry, when it is shown.
    note : str
        Human-readable truncation note, empty when the whole input is shown.
    """

    row_labels: tuple[int | None, ...]
    col_labels: tuple[int | None, ...]
    cells: tuple[tuple[str | None, ...], ...]
    highlight: tuple[int, int] | None
    note: str


def _window(n: int, focus: int | None) -> list[int | None]:
    """Indices to show out of ``n``, keeping ``focus`` in view, None where cut."""
    if n <= MATRIX_MAX:
        return list(range(n))
    start = 0 if focus is None else min(max(focus - MATRIX_MAX // 2 + 1, 0), n - MATRIX_MAX)
    shown: list[int | None] = list(range(start, start + MATRIX_MAX))
    if start > 0:
        shown.insert(0, None)
    if start + MATRIX_MAX < n:
        shown.append(None)
    return shown


def _matrix_view(rec: ArrayRecord, location: Location | None) -> MatrixView:
    """One array of a worst input, the located entry outlined and kept in view."""
    a = rec.array
    rows2 = a.reshape(1, -1) if a.ndim <= 1 else a.reshape(-1, a.shape[-1])
    n_rows, n_cols = rows2.shape
    focus: tuple[int, int] | None = None
    idx = None
    if (
        location is not None
        and location.input_index is not None
        and location.input in (rec.name, None)
    ):
        idx = location.input_index
    if idx is not None and len(idx) == a.ndim and a.ndim >= 1:
        if a.ndim == 1:
            focus = (0, idx[0])
        else:
            lead = idx[:-1]
            if all(0 <= i < n for i, n in zip(lead, a.shape[:-1], strict=True)):
                focus = (int(np.ravel_multi_index(lead, a.shape[:-1])), idx[-1])
    if focus is not None and not (0 <= focus[0] < n_rows and 0 <= focus[1] < n_cols):
        focus = None
    rows = _window(n_rows, None if focus is None else focus[0])
    cols = _window(n_cols, None if focus is None else focus[1])
    cells = tuple(
        tuple(None if r is None or c is None else _cell(float(rows2[r, c])) for c in cols)
        for r in rows
    )
    highlight = None
    if focus is not None:
        highlight = (rows.index(focus[0]), cols.index(focus[1]))
    note = ""
    if len(rows) != n_rows or len(cols) != n_cols:
        shown_r = [r for r in rows if r is not None]
        shown_c = [c for c in cols if c is not None]
        note = (
            f"showing rows {shown_r[0]}–{shown_r[-1]} and columns {shown_c[0]}–{shown_c[-1]}"
            f" of {n_rows} × {n_cols}"
        )
    return MatrixView(tuple(rows), tuple(cols), cells, highlight, note)


def _location_text(location: Location | None) -> str:
    return "" if location is None else location.describe()


# --------------------------------------------------------------------------- rendering


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num
    env.filters["exact"] = _exact
    env.filters["count"] = fmt_count
    env.globals.update(
        spec_page=spec_page_name,
        check_anchor=_check_anchor,
        matrix_view=_matrix_view,
        location_text=_location_text,
        finding_line=finding_line,
        ordered_checks=ordered_checks,
        check_rank=check_rank,
        failed_checks=spec_failed_checks,
        worst_ratio=spec_worst_ratio,
        is_bad_ratio=_is_bad_ratio,
        INDEX_PAGE=INDEX_PAGE,
        FAILURES_PAGE=FAILURES_PAGE,
    )
    return env


def _render_plots(
    model: ReportModel, max_plots: int
) -> dict[tuple[int, int, int], list[tuple[str, Markup]]]:
    """Draw the planned figures, keyed by (spec, run, check) index."""
    out: dict[tuple[int, int, int], list[tuple[str, Markup]]] = {}
    for req in model.plot_plan(max_plots):
        key = (req.spec_index, req.run_index, req.check_index)
        # Trusted markup: matplotlib escapes every text it writes, including our titles
        # (which contain check names and dtypes from the document).
        out.setdefault(key, []).append((_PLOT_TITLES[req.kind], Markup(_draw(model, req))))
    # On the page, figures follow the kinds' natural order, not the plan's priority order.
    order = list(_PLOT_TITLES.values())
    for figures in out.values():
        figures.sort(key=lambda f: order.index(f[0]))
    return out


def _draw(model: ReportModel, req: PlotRequest) -> str:
    run = model.specs[req.spec_index].runs[req.run_index]
    check = run.checks[req.check_index]
    title = f"{check.check} · {run.dtype}"
    prefix = f"s{req.spec_index}r{req.run_index}c{req.check_index}-{req.kind}"
    if req.kind == "step_curve":
        assert check.step_curve is not None
        return plots.step_curve_svg(check.step_curve, title=title, id_prefix=prefix)
    if req.kind == "ratio_hist":
        assert check.ratio_hist is not None
        return plots.ratio_hist_svg(check.ratio_hist, title=title, id_prefix=prefix)
    assert check.heatmap is not None
    return plots.heatmap_svg(check.heatmap, title=title, id_prefix=prefix)


def _common_context(model: ReportModel) -> dict[str, Any]:
    env = dict(model.environment)
    ordered = [(k, env[k]) for k in _KNOWN_ENV_ORDER if k in env]
    ordered += [(k, v) for k, v in model.environment if k not in _KNOWN_ENV_ORDER]
    return {
        "model": model,
        "environment": ordered,
        "n_failed": model.n_failed_checks,
        "n_failed_runs": model.n_failed_runs,
        "n_findings": model.n_findings,
        "coverage": model.coverage(),
    }


def _render_summary_page(model: ReportModel, *, only_failures: bool) -> str:
    template = _environment().get_template("index.html.j2")
    rows = model.derivative_failures() if only_failures else model.summary_rows()
    return template.render(
        **_common_context(model),
        rows=rows,
        only_failures=only_failures,
        n_rows_all=model.n_checks,
        page=FAILURES_PAGE if only_failures else INDEX_PAGE,
    )


def _render_spec_page(
    model: ReportModel,
    spec_index: int,
    spec: SpecReport,
    figures: Mapping[tuple[int, int, int], list[tuple[str, Markup]]],
) -> str:
    template = _environment().get_template("spec.html.j2")
    spec_figures = {(r, c): f for (s, r, c), f in figures.items() if s == spec_index}
    return template.render(
        **_common_context(model),
        spec=spec,
        spec_index=spec_index,
        figures=spec_figures,
        page=spec_page_name(spec.name),
    )


def render_pages(
    doc: Mapping[str, Any] | ResultsDocument | ReportModel,
    *,
    max_plots: int = DEFAULT_MAX_PLOTS,
) -> dict[str, str]:
    """Render every page of the report in memory.

    Parameters
    ----------
    doc : Mapping, ResultsDocument or ReportModel
        The results document (as loaded from JSON, decoded strictly) or its model.
    max_plots : int, optional
        Cap on the number of figures in the whole report (each takes ~0.3 s to draw).

    Returns
    -------
    dict of str to str
        File name to HTML text: ``index.html``, ``failures.html``, then one page per spec
        in report order (failing specs first).

    Raises
    ------
    ResultsFormatError
        If the document is not a valid results document (the message names the field).
    """
    model = doc if isinstance(doc, ReportModel) else ReportModel.from_dict(doc)
    figures = _render_plots(model, max_plots)
    pages = {
        INDEX_PAGE: _render_summary_page(model, only_failures=False),
        FAILURES_PAGE: _render_summary_page(model, only_failures=True),
    }
    for spec_index, spec in model.ordered_specs():
        name = spec_page_name(spec.name)
        if name in pages:
            raise ValueError(f"two specs share the name {spec.name!r}")
        pages[name] = _render_spec_page(model, spec_index, spec, figures)
    return pages


def write_html(
    doc: Mapping[str, Any] | ResultsDocument, out_dir: Path, *, max_plots: int = DEFAULT_MAX_PLOTS
) -> list[Path]:
    """Render the HTML report of a results document into ``out_dir``.

    Parameters
    ----------
    doc : Mapping
        The results document, as loaded from ``results.json``.
    out_dir : Path
        Report directory; created if missing. Files of an earlier report are replaced.
    max_plots : int, optional
        Cap on the number of figures in the whole report.

    Returns
    -------
    list of Path
        The files written: ``index.html``, ``failures.html``, then the spec pages.

    Raises
    ------
    ValueError
        If the document is not a supported results document.

    Notes
    -----
    All pages are rendered, then written to a temporary directory next to ``out_dir``
    (same file system), and only then moved into place one by one with :func:`os.replace`.
    If anything fails before that, including a KeyboardInterrupt, the previous report is
    left untouched and no temporary file remains. Spec pages of an earlier report whose
    spec is gone are removed afterwards, so every page in ``out_dir`` is current.
    """
    out_dir = Path(out_dir)
    model = ReportModel.from_dict(doc)
    parent = out_dir.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=parent))
    try:
        pages = render_pages(model, max_plots=max_plots)
        out_dir.mkdir(exist_ok=True)
        written = atomic_write_many(
            {out_dir / name: text for name, text in pages.items()}, staging_dir=staging
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    remove_stale_pages(out_dir, set(pages))
    return written


def remove_stale_pages(out_dir: Path, current: set[str]) -> None:
    """Delete spec pages of an earlier report whose spec is gone."""
    for stale in sorted(out_dir.iterdir()):
        if _SPEC_PAGE_RE.match(stale.name) and stale.name not in current:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
