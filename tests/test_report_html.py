"""Tests of the HTML report: content, escaping, determinism, gold summary, atomic writes.

Regenerate ``tests/gold/summary_table.html`` after an intended change with
``HARNESS_UPDATE_GOLD=1 pytest tests/test_report_html.py``.
"""

from __future__ import annotations

import copy
import html
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
from harness.report.model import ReportModel, decode_float

GOLD = Path(__file__).resolve().parent / "gold"
SMALL_RESULTS = GOLD / "small_results.json"
SUMMARY_GOLD = GOLD / "summary_table.html"
BAD_SPEC = "softmax <script>alert(1)</script> /rows"
SUMMARY_RE = re.compile(r'<table class="summary">.*?</table>', re.DOTALL)


# --------------------------------------------------------------------------- helpers


def load_small() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SMALL_RESULTS.read_text(encoding="utf-8"))
    return doc


class _TableRows(HTMLParser):
    """Collect ``(tr class, [cell texts])`` of the first ``<table class="summary">`` body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[str, list[str]]] = []
        self._in_table = self._in_body = self._done = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("class") == "summary" and not self._done:
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


def summary_rows(page: str) -> list[tuple[str, list[str]]]:
    parser = _TableRows()
    parser.feed(page)
    return parser.rows


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
        ["index.html", "failures.html", spec_page_name("sigmoid"), spec_page_name(BAD_SPEC)]
    )


def test_failure_listed_first(pages: dict[str, str]) -> None:
    rows = summary_rows(pages["index.html"])
    assert len(rows) == 16
    first_class, first = rows[0]
    assert first_class == "fail"
    assert first[0] == BAD_SPEC
    assert first[1:4] == ["jacobian", "float64", "FAIL"]
    statuses = [cells[3] for _, cells in rows]
    assert statuses == sorted(statuses, key=["FAIL", "pass", "skip"].index)

    def ratio(text: str) -> float:
        return -math.inf if text == "—" else float(text)

    for status in ("FAIL", "pass"):
        ratios = [ratio(cells[4]) for _, cells in rows if cells[3] == status]
        assert ratios == sorted(ratios, reverse=True)


def test_failures_are_impossible_to_miss(pages: dict[str, str]) -> None:
    index = pages["index.html"]
    banner = re.search(r'<div class="banner fail"[^>]*>(.*?)</div></div>', index, re.DOTALL)
    assert banner is not None
    assert "2 failed checks" in " ".join(banner.group(1).split())
    assert 'href="failures.html"' in banner.group(1)
    # The banner comes before the table.
    assert index.index('class="banner fail"') < index.index('<table class="summary">')


def test_failures_page_lists_only_failures(pages: dict[str, str]) -> None:
    rows = summary_rows(pages["failures.html"])
    assert [(cls, cells[1], cells[2]) for cls, cells in rows] == [
        ("fail", "jacobian", "float64"),
        ("fail", "vjp_directional", "float64"),
    ]
    assert "<script" not in pages["failures.html"].lower()


def test_summary_row_columns(pages: dict[str, str]) -> None:
    rows = dict(((c[0], c[1], c[2]), c) for _, c in summary_rows(pages["index.html"]))
    vjp = rows[(BAD_SPEC, "vjp_directional", "float64")]
    assert vjp[4:9] == ["37.5", "7.50e-11", "1.88e-09", "3", "40"]
    assert vjp[9] == "random 24 log-magnitude 16 saturation 0 kinks 0"
    assert rows[(BAD_SPEC, "jacobian", "float64")][7] == "inf"  # decoded from "inf"
    assert rows[("sigmoid", "adjoint", "float64")][3:8] == ["skip", "—", "—", "—", "—"]


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
    # Values of the 3 x 4 worst input, including -0.0 and a subnormal-range value.
    for cell in ("<td>-0</td>", "<td>1e-300</td>", '<td class="hl">-7.5</td>', "<td>0.125</td>"):
        assert cell in page
    # The 10 x 12 input of the jacobian check is cut to 8 x 8.
    assert "showing rows 0–7 and columns 0–7 of 10 × 12" in page
    assert "dZ = A * (dA - sum(A * dA, axis=0))" in page
    assert "(7)" in page
    # Figures: step curve + histogram for vjp, histogram + heatmap for jacobian (float64),
    # histogram for the worst check of the float32 run.
    assert page.count("<svg ") == 5
    assert "<?xml" not in page


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


def test_summary_table_matches_gold(pages: dict[str, str]) -> None:
    match = SUMMARY_RE.search(pages["index.html"])
    assert match is not None
    table = match.group(0) + "\n"
    if os.environ.get("HARNESS_UPDATE_GOLD") == "1":
        SUMMARY_GOLD.write_text(table, encoding="utf-8", newline="\n")
    assert SUMMARY_GOLD.exists(), "run with HARNESS_UPDATE_GOLD=1 to create the gold file"
    assert table == SUMMARY_GOLD.read_text(encoding="utf-8"), (
        "summary table changed; if intended, regenerate with HARNESS_UPDATE_GOLD=1"
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
    target = tmp_path / "sub" / "results.json"
    atomic_write_text(target, "one\n")
    assert target.read_text(encoding="utf-8") == "one\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    target.chmod(0o640)
    atomic_write_text(target, "two\r\n")  # written as is, no newline translation
    assert target.read_bytes() == b"two\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.json"]


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
    with pytest.raises(ValueError, match="not a harness results document"):
        ReportModel.from_dict({**doc, "schema": "something-else"})
    with pytest.raises(ValueError, match="unsupported results schema_version 2"):
        ReportModel.from_dict({**doc, "schema_version": 2})
    with pytest.raises(ValueError, match="schema_version True"):
        ReportModel.from_dict({**doc, "schema_version": True})
    with pytest.raises(ValueError, match="not a harness results document"):
        write_html({"schema_version": 1}, Path("never-created"))
    assert not Path("never-created").exists()


def test_model_error_names_the_location() -> None:
    doc = copy.deepcopy(load_small())
    del doc["specs"][1]["runs"][0]["checks"][1]["status"]
    with pytest.raises(ValueError, match=r"specs\[1\]\.runs\[0\]\.checks\[1\]: missing key"):
        ReportModel.from_dict(doc)
    doc = copy.deepcopy(load_small())
    doc["specs"][0]["runs"][0]["checks"][0]["max_abs_error"] = "lots"
    with pytest.raises(ValueError, match=r"checks\[0\]\.max_abs_error: expected a number"):
        ReportModel.from_dict(doc)


def test_decode_float() -> None:
    assert math.isnan(decode_float("nan"))
    assert decode_float("inf") == math.inf
    assert decode_float("-inf") == -math.inf
    assert math.copysign(1.0, decode_float(-0.0)) < 0
    assert decode_float(3) == 3.0
    for bad in ("NaN", "1.5", None, True, [1.0]):
        with pytest.raises(ValueError):
            decode_float(bad)


def test_model_decodes_non_finite_and_orders_nan_as_worst() -> None:
    doc = copy.deepcopy(load_small())
    model = ReportModel.from_dict(doc)
    bad_run = model.specs[1].runs[0]
    assert bad_run.checks[1].max_ulps == math.inf
    heat = bad_run.checks[1].heatmap
    assert heat is not None and heat.log10_ratio[4][1] == math.inf
    assert math.isnan(heat.log10_ratio[5][5])
    # A NaN ratio outranks any finite ratio among checks of the same status.
    doc["specs"][0]["runs"][0]["checks"][3]["error_ratio"] = "nan"
    rows = ReportModel.from_dict(doc).summary_rows()
    first_pass = next(r for r in rows if r.result.status == "pass")
    assert (first_pass.spec.name, first_pass.result.check) == ("sigmoid", "structure")
    assert [r.result.status for r in rows[:2]] == ["fail", "fail"]


def test_plot_plan_prefers_failures_and_respects_cap() -> None:
    model = ReportModel.from_dict(load_small())
    plan = model.plot_plan()
    assert len(plan) == 9  # 2 failures (2 + 2) + worst check of each of 4 runs (1 + 2 + 2)
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
    curve, hist, heat = checks[0].step_curve, checks[0].ratio_hist, checks[1].heatmap
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
