"""Tests of the HTML report: content, escaping, determinism, gold files, atomic writes.

The gold files are written by the writer: ``.venv/bin/python tests/gold/make_gold.py``
regenerates both after an intended change, and a test here fails while they differ.
"""

from __future__ import annotations

import copy
import html
import importlib.util
import json
import math
import os
import re
import stat
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from harness.report import atomic, plots
from harness.report import html as report_html
from harness.report.atomic import atomic_write_many, atomic_write_text
from harness.report.html import render_pages, spec_page_name, write_html
from harness.report.model import ReportModel
from harness.results import ResultsFormatError

GOLD = Path(__file__).resolve().parent / "gold"
SMALL_RESULTS = GOLD / "small_results.json"
SUMMARY_GOLD = GOLD / "summary_table.html"
BAD_SPEC = "softmax <script>alert(1)</script> /rows"
DENSE = "dense-layer"
SUMMARY_RE = re.compile(r'<table class="summary">.*?</table>', re.DOTALL)
NON_FINITE_TEXT = re.compile(r">\s*[-+]?(inf|nan|infinity)\s*<", re.IGNORECASE)


# --------------------------------------------------------------------------- helpers


def load_small() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SMALL_RESULTS.read_text(encoding="utf-8"))
    return doc


class _TableRows(HTMLParser):
    """Collect ``(tr class, [cell texts])`` of the first ``<table class="...">`` body."""

    def __init__(self, table_class: str = "summary") -> None:
        super().__init__(convert_charrefs=True)
        self.table_class = table_class
        self.rows: list[tuple[str, list[str]]] = []
        self._in_table = self._in_body = self._done = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("class") == self.table_class and not self._done:
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append((a.get("class") or "", []))
        elif self._in_body and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1][1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._in_table:
            self._in_table = self._in_body = False
            self._done = True

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def summary_rows(page: str, table_class: str = "summary") -> list[tuple[str, list[str]]]:
    parser = _TableRows(table_class)
    parser.feed(page)
    return parser.rows


def make_gold() -> Any:
    """The gold writer, tests/gold/make_gold.py, as a module."""
    spec = importlib.util.spec_from_file_location("make_gold", GOLD / "make_gold.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_all(out_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out_dir.iterdir())}


def leftovers(root: Path) -> list[Path]:
    """Temporary files or directories left anywhere under ``root``."""
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or ".tmp" in p.name]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "html"
    write_html(load_small(), out)
    return out


@pytest.fixture(scope="module")
def pages(report: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in report.iterdir()}


# --------------------------------------------------------------------------- content


def test_files_written(report: Path) -> None:
    names = sorted(p.name for p in report.iterdir())
    assert names == sorted(
        [
            "index.html",
            "failures.html",
            spec_page_name("sigmoid"),
            spec_page_name(BAD_SPEC),
            spec_page_name(DENSE),
        ]
    )


def _rank(cells: list[str]) -> int:
    if cells[3] == "FAIL":
        return 0
    if cells[3].startswith("FAIL"):
        return 1  # not run: a call failure stopped it
    return ["unresolved", "pass", "skip"].index(cells[3]) + 2


def test_failure_listed_first(pages: dict[str, str]) -> None:
    rows = summary_rows(pages["index.html"])
    assert len(rows) == 36
    first_class, first = rows[0]
    assert first_class == "fail"
    assert first[0] == BAD_SPEC
    assert first[1:4] == ["jacobian", "float64", "FAIL"]
    ranks = [_rank(cells) for _, cells in rows]
    assert ranks == sorted(ranks)
    # Derivative failures before the checks a call failure prevented.
    assert [cells[1] for _, cells in rows[:2]] == ["jacobian", "vjp_directional"]
    assert {cells[0] for _, cells in rows[2:5]} == {DENSE}

    def ratio(text: str) -> float:
        return -math.inf if text == "n/a" else float(text)

    for rank in (0, 3):
        ratios = [ratio(cells[4]) for _, cells in rows if _rank(cells) == rank]
        assert ratios == sorted(ratios, reverse=True)


def test_matrix_of_specs_by_dtype_comes_first(pages: dict[str, str]) -> None:
    index = pages["index.html"]
    assert index.index('<table class="overview">') < index.index('<table class="summary">')
    rows = summary_rows(index, "overview")
    assert [cells[0] for _, cells in rows] == [BAD_SPEC, DENSE, "sigmoid"]
    header = re.search(r'<table class="overview">\s*<thead>(.*?)</thead>', index, re.DOTALL)
    assert header is not None
    assert re.findall(r"<th>([^<]*)</th>", header.group(1)) == ["Spec", "float64", "float32"]
    bad64, bad32 = rows[0][1][1], rows[0][1][2]
    assert bad64.startswith("FAIL") and "error/tol 7.2e+07" in bad64
    assert "2 failed checks" in bad64
    assert "unresolved 1,200 of 2,960" in bad32 and bad32.startswith("pass")
    dense64 = rows[1][1][1]
    assert "error/tol n/a" in dense64 and "1 call failure" in dense64
    sig32 = rows[2][1][2]
    assert "unresolved 3 of 93,917" in sig32 and "rounding-limited 12" in sig32


def test_failures_are_impossible_to_miss(pages: dict[str, str]) -> None:
    index = pages["index.html"]
    banner = re.search(r'<div class="banner fail"[^>]*>(.*?)</div></div>', index, re.DOTALL)
    assert banner is not None
    text = " ".join(banner.group(1).split())
    assert "5 failed checks, 2 call failures" in text
    assert 'href="failures.html"' in banner.group(1)
    # The banner comes before the matrix and the table.
    assert index.index('class="banner fail"') < index.index('<table class="overview">')


def test_failures_page_groups_by_cause_derivatives_first(pages: dict[str, str]) -> None:
    page = pages["failures.html"]
    rows = summary_rows(page)
    assert [(cls, cells[1], cells[2]) for cls, cells in rows] == [
        ("fail", "jacobian", "float64"),
        ("fail", "vjp_directional", "float64"),
    ]
    assert page.index('id="derivative-failures"') < page.index('id="call-failures"')
    causes = re.findall(r'<h3 id="cause-([a-z]+)">', page)
    assert causes == ["dtype", "raised"]
    tables = re.findall(r'<table class="findings">.*?</table>', page, re.DOTALL)
    findings = [row for t in tables for row in summary_rows(t, "findings")]
    assert len(findings) == 2  # one row per cause, not one per check it prevented
    raised = next(cells for _, cells in findings if "ValueError" in cells[2])
    assert raised[0] == DENSE and raised[1] == "float64"
    assert raised[3] == "vjp_directional, jacobian, hygiene"
    assert raised[4] == "`b` (input 2 of 3)"
    assert page.count("operands could not be broadcast") == 1
    dtype = next(cells for _, cells in findings if cells[1] == "float32")
    assert dtype[2].endswith("(gradient for `W`); values correct")
    assert "<script" not in page.lower()


def test_summary_row_columns(pages: dict[str, str]) -> None:
    rows = dict(((c[0], c[1], c[2]), c) for _, c in summary_rows(pages["index.html"]))
    vjp = rows[(BAD_SPEC, "vjp_directional", "float64")]
    assert vjp[4:11] == ["37.5", "7.50e-11", "1.87e-09", "3", "0", "0", "40"]
    assert vjp[11] == "random 24 log-magnitude 16 saturation 0 kinks 0"
    assert rows[("sigmoid", "jacobian", "float32")][8:10] == ["3", "12"]
    assert rows[("sigmoid", "adjoint", "float64")][3:8] == ["skip", "n/a", "n/a", "n/a", "n/a"]
    prevented = rows[(DENSE, "jacobian", "float64")]
    assert prevented[3] == "FAIL not run: raised"
    assert prevented[4:8] == ["n/a", "n/a", "n/a", "n/a"]


def test_no_page_shows_inf_or_nan(pages: dict[str, str]) -> None:
    for name, text in pages.items():
        assert not NON_FINITE_TEXT.search(text), (name, NON_FINITE_TEXT.search(text))


def test_spec_page_shows_counterexample(pages: dict[str, str]) -> None:
    page = pages[spec_page_name(BAD_SPEC)]
    doc = load_small()
    run = doc["specs"][1]["runs"][0]
    vjp = run["checks"][0]
    worst = vjp["worst"]
    assert f"<code>{escape(worst['replay'])}</code>" in page
    assert f"<code>{escape(run['replay'])}</code>" in page
    assert repr(worst["expected"]) in page
    assert repr(worst["got"]) in page
    assert escape(vjp["message"]) in page
    # The location names the input and the entry.
    assert "at `Z` (input 1 of 1) entry [1, 2]" in page
    # Values of the 3 x 4 worst input, including -0.0 and a subnormal-range value.
    for cell in ("<td>-0</td>", "<td>1e-300</td>", '<td class="hl">-7.5</td>', "<td>0.125</td>"):
        assert cell in page
    # The 10 x 12 input of the jacobian check is cut to 8 x 8 around the failing entry.
    assert "showing rows 2–9 and columns 4–11 of 10 × 12" in page
    assert '<td class="hl">1.625</td>' in page
    assert "oracle: central differences (the forward does not take complex input)" in page
    assert "dZ = A * (dA - sum(A * dA, axis=0))" in page
    assert "(7)" in page
    # Figures: step curve + histogram for vjp, histogram + heatmap for jacobian (float64),
    # histogram for the worst check of the float32 run.
    assert page.count("<svg ") == 5
    assert "<?xml" not in page


def test_spec_page_of_several_inputs_names_each(pages: dict[str, str]) -> None:
    page = pages[spec_page_name(DENSE)]
    for name, pos in (("W", 1), ("b", 2), ("A_prev", 3)):
        assert f"input <b>{name}</b> (input {pos} of 3)" in page
    assert "at `b` (input 2 of 3)" in page
    # The cause once per run, with the checks it prevented; the dtype finding says the values
    # were still checked.
    assert page.count("operands could not be broadcast together") == 1
    assert "Checks it prevented: vjp_directional, jacobian, hygiene" in page
    assert "none (the values were still checked)" in page


def test_markup_in_names_is_escaped(report: Path) -> None:
    escaped = html.escape(BAD_SPEC, quote=False)
    for path in report.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text.lower(), path.name
        assert "alert(1)</" not in text, path.name
    index = (report / "index.html").read_text(encoding="utf-8")
    assert escaped in index
    spec_page = (report / spec_page_name(BAD_SPEC)).read_text(encoding="utf-8")
    assert "&lt;b&gt;sum&lt;/b&gt;" in spec_page  # docstring markup shown, not applied
    assert f"<title>{escaped} — gradient verification report</title>" in spec_page


def test_no_external_urls_or_scripts(report: Path) -> None:
    for path in report.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text, path.name
        assert "https://" not in text, path.name
        for needle in ("<script", "<link", "<iframe", "@import", ' src="', "javascript:"):
            assert needle not in text.lower(), (path.name, needle)


def test_environment_section(pages: dict[str, str]) -> None:
    index = pages["index.html"]
    section = index[index.index('id="environment"') :]
    for key, value in [
        ("python", "3.11.7"),
        ("numpy", "2.4.6"),
        ("scipy", "1.17.1"),
        ("hypothesis", "6.170.17"),
        ("harness", "0.1.0"),
        ("seed", "20261128"),
        ("profile", "quick"),
        ("date", "2026-11-28T08:00:00+00:00"),
    ]:
        assert f"<dt>{key}</dt><dd><code>{value}</code></dd>" in section


# --------------------------------------------------------------------------- determinism, gold


def test_render_twice_is_byte_identical(report: Path, tmp_path: Path) -> None:
    again = tmp_path / "html"
    # Into a directory that already holds a (different) report, to cover replacement too.
    write_html({**load_small(), "created": "2000-01-01T00:00:00+00:00"}, again, max_plots=0)
    write_html(load_small(), again)
    assert read_all(again) == read_all(report)


def test_gold_files_are_what_the_writer_writes(pages: dict[str, str]) -> None:
    gold = make_gold()
    doc = gold.build()
    assert doc.dumps() == SMALL_RESULTS.read_text(encoding="utf-8"), (
        "tests/gold/small_results.json is stale: run tests/gold/make_gold.py"
    )
    match = SUMMARY_RE.search(pages["index.html"])
    assert match is not None
    table = match.group(0) + "\n"
    assert table == gold.summary_table(doc)
    assert table == SUMMARY_GOLD.read_text(encoding="utf-8"), (
        "summary table changed; if intended, run tests/gold/make_gold.py"
    )


# --------------------------------------------------------------------------- atomic writes


def _failing_after(n: int, exc: BaseException, real: Callable[..., Any]) -> Callable[..., Any]:
    calls = {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > n:
            raise exc
        return real(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("exc", [RuntimeError("renderer broke"), KeyboardInterrupt()])
def test_render_failure_leaves_previous_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    out = tmp_path / "html"
    write_html(load_small(), out, max_plots=0)
    before = read_all(out)
    changed = copy.deepcopy(load_small())
    changed["specs"][0]["name"] = "sigmoid renamed"
    # The first spec page renders, the second raises: midway through the render.
    monkeypatch.setattr(
        report_html,
        "_render_spec_page",
        _failing_after(1, exc, report_html._render_spec_page),
    )
    with pytest.raises(type(exc)):
        write_html(changed, out, max_plots=0)
    assert read_all(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["html"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_write_failure_leaves_previous_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    out = tmp_path / "html"
    write_html(load_small(), out, max_plots=0)
    before = read_all(out)
    changed = copy.deepcopy(load_small())
    changed["created"] = "2027-01-01T00:00:00+00:00"
    # Two temporary files are written, the third raises: nothing may be replaced yet.
    monkeypatch.setattr(atomic, "_write_temp", _failing_after(2, exc, atomic._write_temp))
    with pytest.raises(type(exc)):
        write_html(changed, out, max_plots=0)
    assert read_all(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["html"]
    assert leftovers(tmp_path) == []


def test_stale_spec_pages_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "html"
    out.mkdir()
    stale = out / spec_page_name("a spec that no longer exists")
    stale.write_text("old", encoding="utf-8")
    unrelated = out / "notes.txt"
    unrelated.write_text("mine", encoding="utf-8")
    written = write_html(load_small(), out, max_plots=0)
    assert not stale.exists()
    assert unrelated.read_text(encoding="utf-8") == "mine"
    assert [p.name for p in written][:2] == ["index.html", "failures.html"]
    assert all(p.exists() for p in written)


def test_atomic_write_text(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.txt"
    atomic_write_text(target, "one\n")
    assert target.read_text(encoding="utf-8") == "one\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    target.chmod(0o640)
    atomic_write_text(target, "two\r\n")  # written as is, no newline translation
    assert target.read_bytes() == b"two\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.txt"]


def test_atomic_write_many_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    atomic_write_many({a: "a1", b: "b1"})
    assert (a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")) == ("a1", "b1")
    monkeypatch.setattr(
        atomic, "_write_temp", _failing_after(1, KeyboardInterrupt(), atomic._write_temp)
    )
    with pytest.raises(KeyboardInterrupt):
        atomic_write_many({a: "a2", b: "b2"})
    assert (a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")) == ("a1", "b1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_atomic_write_many_replace_failure_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    monkeypatch.setattr(os, "replace", _failing_after(0, OSError("nope"), os.replace))
    with pytest.raises(OSError, match="nope"):
        atomic_write_many({a: "a", b: "b"})
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_many_rejects_duplicates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="twice"):
        atomic_write_many({tmp_path / "x": "1", tmp_path / "sub" / ".." / "x": "2"})


# --------------------------------------------------------------------------- model


def test_model_rejects_wrong_schema() -> None:
    doc = load_small()
    with pytest.raises(ResultsFormatError, match="not a harness results document"):
        ReportModel.from_dict({**doc, "schema": "something-else"})
    with pytest.raises(ResultsFormatError, match="unsupported version 3"):
        ReportModel.from_dict({**doc, "schema_version": 3})
    with pytest.raises(ResultsFormatError, match="unsupported version True"):
        ReportModel.from_dict({**doc, "schema_version": True})
    with pytest.raises(ResultsFormatError, match="not a harness results document"):
        write_html({"schema_version": 2}, Path("never-created"))
    assert not Path("never-created").exists()


def test_model_error_names_the_location() -> None:
    doc = copy.deepcopy(load_small())
    del doc["specs"][1]["runs"][0]["checks"][1]["status"]
    with pytest.raises(
        ResultsFormatError, match=r"^specs\[1\]\.runs\[0\]\.checks\[1\]\.status: missing$"
    ):
        ReportModel.from_dict(doc)
    doc = copy.deepcopy(load_small())
    doc["specs"][0]["runs"][0]["checks"][0]["max_abs_error"] = "lots"
    with pytest.raises(ResultsFormatError, match=r"checks\[0\]\.max_abs_error: expected a number"):
        ReportModel.from_dict(doc)


def test_plot_plan_prefers_failures_and_respects_cap() -> None:
    model = ReportModel.from_dict(load_small())
    plan = model.plot_plan()
    # 2 derivative failures (2 + 2) + the worst check that ran in each run: sigmoid (2, 1),
    # the softmax's float32 (1), the dense layer's float32 (1); its float64 run ran nothing.
    assert len(plan) == 9
    assert {(p.spec_index, p.run_index) for p in plan[:4]} == {(1, 0)}
    capped = model.plot_plan(limit=3)
    assert capped == plan[:3]
    pages = render_pages(model, max_plots=3)
    assert sum(text.count("<svg ") for text in pages.values()) == 3


# --------------------------------------------------------------------------- names and plots


def test_spec_page_names_are_safe_and_distinct() -> None:
    names = ["a b", "a/b", "A B", "a-b", "", "<script>", "../../etc/passwd", "ünïcode", "x" * 300]
    files = [spec_page_name(n) for n in names]
    assert len(set(files)) == len(files)
    for f in files:
        assert re.fullmatch(r"spec-[a-z0-9-]*-[0-9a-f]{10}\.html", f), f
        assert len(f) < 80
    assert spec_page_name("a b") == spec_page_name("a b")  # stable across calls


def test_plots_are_deterministic_and_inlinable() -> None:
    checks = ReportModel.from_dict(load_small()).specs[1].runs[0].checks
    curve, hist, heat = checks[0].step_curve, checks[0].ratio_hist, checks[3].heatmap
    assert curve is not None and hist is not None and heat is not None
    makers: list[Callable[[], str]] = [
        lambda: plots.step_curve_svg(curve, title="t", id_prefix="a"),
        lambda: plots.ratio_hist_svg(hist, title="t", id_prefix="b"),
        lambda: plots.heatmap_svg(heat, title="t", id_prefix="c"),
    ]
    for make in makers:
        first, second = make(), make()
        assert first == second
        assert first.startswith("<svg ")
        assert "<?xml" not in first and "<!DOCTYPE" not in first
        assert "http" not in first
        ids = re.findall(r'\bid="([^"]+)"', first)
        assert ids and len(ids) == len(set(ids))
        prefix = ids[0].split("-")[0]
        assert all(i.startswith(prefix + "-") for i in ids)
