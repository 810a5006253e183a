"""The HTML report as a person sees it, in a real headless Chromium.

Needs Debian's ``/usr/bin/chromium`` and the ``playwright`` package (its own browser
download is never used). Without them the test is skipped on a developer machine, but in
CI (``CI=true``) a missing browser is an error: the test must not pass by not running.
Screenshots go to ``reports/screenshots/`` at the repository root.

Covered: the first screen (the spec x dtype matrix above the table of every check), the
failures page grouped by cause, a failing spec's page, and the ``report --compare`` page.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.report.compare import compare, write_compare_page
from harness.report.html import spec_page_name, write_html
from harness.results import load_results

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SMALL_RESULTS = Path(__file__).resolve().parent / "gold" / "small_results.json"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "reports" / "screenshots"
BAD_SPEC = "softmax <script>alert(1)</script> /rows"
LAPTOP = {"width": 1366, "height": 768}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "html"
    doc: dict[str, Any] = json.loads(SMALL_RESULTS.read_text(encoding="utf-8"))
    write_html(doc, out)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return out


@dataclass
class Tab:
    """A page plus what it did behind the scenes: dialogs opened and URLs requested."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def assert_quiet(self) -> None:
        # JavaScript stays enabled on purpose: an unescaped `<script>alert(1)</script>` in a
        # spec name would run and open a dialog here.
        assert self.dialogs == []
        assert self.page.locator("script").count() == 0
        assert all(u.startswith("file://") for u in self.requests), self.requests


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context(viewport=LAPTOP)
    t = Tab(context.new_page())

    def on_dialog(dialog: Any) -> None:
        t.dialogs.append(dialog.message)
        dialog.dismiss()

    t.page.on("dialog", on_dialog)
    t.page.on("request", lambda r: t.requests.append(r.url))
    try:
        yield t
    finally:
        context.close()


def test_summary_page(tab: Tab, report: Path) -> None:
    page = tab.page
    page.goto((report / "index.html").as_uri())
    table = page.locator("table.summary")
    assert table.is_visible()
    rows = table.locator("tbody tr")
    assert rows.count() == 36
    first = rows.nth(0)
    assert first.is_visible()
    assert first.get_attribute("class") == "fail"
    cells = first.locator("td")
    # The name is shown as text, markup and all: escaped, not executed.
    assert cells.nth(0).inner_text().strip() == BAD_SPEC
    assert cells.nth(3).inner_text().strip() == "FAIL"
    # The first screen is the spec x dtype matrix (test_matrix_is_the_first_screen); the worst
    # failure of this table follows right after it, within the second screen.
    first_box = first.bounding_box()
    assert first_box is not None and first_box["y"] < 2 * LAPTOP["height"]
    banner = page.locator(".banner.fail")
    assert banner.is_visible()
    assert "5 failed checks, 2 call failures" in banner.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "index.png"), full_page=True)

    page.locator("a.failtab").click()
    assert page.url.endswith("/failures.html")
    # Derivative failures first, then the call failures, one row per cause.
    assert page.locator("table.summary tbody tr.fail").count() == 2
    assert page.locator("table.summary tbody tr").count() == 2
    derivative = page.locator("#derivative-failures").bounding_box()
    calls = page.locator("#call-failures").bounding_box()
    assert derivative is not None and calls is not None and derivative["y"] < calls["y"]
    findings = page.locator("table.findings tbody tr")
    assert findings.count() == 2
    assert page.locator("h3#cause-raised").is_visible()
    assert "`b` (input 2 of 3)" in page.locator("table.findings").nth(1).inner_text()
    page.screenshot(path=str(SCREENSHOTS / "failures.png"), full_page=True)
    tab.assert_quiet()


def test_matrix_is_the_first_screen(tab: Tab, report: Path) -> None:
    page = tab.page
    page.goto((report / "index.html").as_uri())
    matrix = page.locator("table.overview")
    assert matrix.is_visible()
    box = matrix.bounding_box()
    assert box is not None and box["y"] < LAPTOP["height"]  # above the fold
    summary = page.locator("table.summary").bounding_box()
    assert summary is not None and box["y"] < summary["y"]
    headers = [h.strip() for h in matrix.locator("thead th").all_inner_texts()]
    assert headers == ["Spec", "float64", "float32"]
    rows = matrix.locator("tbody tr")
    assert rows.count() == 3
    first = rows.nth(0).locator("td")
    assert first.nth(0).inner_text().strip() == BAD_SPEC  # failures first
    cell = first.nth(1)
    assert "fail" in (cell.get_attribute("class") or "")
    text = cell.inner_text()
    assert "error/tol 7.2e+07" in text and "rounding-limited 0" in text
    assert "unresolved 1,200 of 2,960" in first.nth(2).inner_text()
    body = page.locator("body").inner_text()
    for word in (" inf", " nan", "Infinity"):
        assert word not in body
    # A cell leads to that run on the spec's page.
    cell.locator("a").click()
    assert page.url.endswith("/" + spec_page_name(BAD_SPEC) + "#run-0")
    assert page.locator("section#run-0").is_visible()
    tab.assert_quiet()


def test_compare_page(tab: Tab, report: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    old = load_results(SMALL_RESULTS)
    new = replace(old, specs=old.specs[:2])  # the dense layer is gone...
    sig = new.specs[0]
    run = sig.runs[0]
    checks = tuple(
        replace(c, status="fail", error_ratio=40.0) if c.check == "structure" else c
        for c in run.checks
    )  # ...and sigmoid's structure check fails
    new = replace(new, specs=(replace(sig, runs=(replace(run, checks=checks), *sig.runs[1:])),
                              *new.specs[1:]))  # fmt: skip
    path = write_compare_page(compare(old, new, old_label="old.json", new_label="new.json"),
                              tmp_path)  # fmt: skip
    page = tab.page
    page.goto(path.as_uri())
    banner = page.locator(".banner.fail")
    assert banner.is_visible()
    assert banner.inner_text().strip().startswith("✖ REGRESSED: 1 new failure")
    table = page.locator("#new-failure + table")
    assert table.is_visible()
    cells = [t.strip() for t in table.locator("tbody tr").nth(0).locator("td").all_inner_texts()]
    assert cells[:6] == ["sigmoid", "float64", "structure", "pass → fail", "0", "40"]
    assert page.locator("#spec-removed + table").inner_text().count("dense-layer") == 1
    page.screenshot(path=str(SCREENSHOTS / "compare.png"), full_page=True)
    tab.assert_quiet()


def test_failing_spec_page(tab: Tab, report: Path) -> None:
    page = tab.page
    page.goto((report / "index.html").as_uri())
    page.locator("table.summary tbody tr").nth(0).locator("td").nth(0).locator("a").click()
    assert page.url.endswith("/" + spec_page_name(BAD_SPEC))
    assert page.locator("h1").inner_text().strip().endswith(BAD_SPEC)
    failing = page.locator("details.check.fail")
    assert failing.count() == 2
    for i in range(2):
        assert failing.nth(i).locator("summary").is_visible()
        svgs = failing.nth(i).locator("figure.plot svg")
        assert svgs.count() == 2
        for j in range(2):
            assert svgs.nth(j).is_visible()
            box = svgs.nth(j).bounding_box()
            assert box is not None and box["width"] > 250 and box["height"] > 150
    replay = failing.nth(0).locator("pre.cmd code")
    assert replay.is_visible()
    assert "python -m harness replay" in replay.inner_text()
    assert page.locator("table.matrix td.hl").count() == 2  # vjp's input and jacobian's
    page.screenshot(path=str(SCREENSHOTS / "spec-failing.png"), full_page=True)
    tab.assert_quiet()
