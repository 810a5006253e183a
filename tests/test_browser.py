"""The HTML report as a person sees it, in a real headless Chromium.

Needs Debian's ``/usr/bin/chromium`` and the ``playwright`` package (its own browser
download is never used). Without them the test is skipped on a developer machine, but in
CI (``CI=true``) a missing browser is an error: the test must not pass by not running.
Screenshots go to ``reports/screenshots/`` at the repository root.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.report.html import spec_page_name, write_html

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
    assert rows.count() == 16
    first = rows.nth(0)
    assert first.is_visible()
    assert first.get_attribute("class") == "fail"
    cells = first.locator("td")
    # The name is shown as text, markup and all: escaped, not executed.
    assert cells.nth(0).inner_text().strip() == BAD_SPEC
    assert cells.nth(3).inner_text().strip() == "FAIL"
    first_box = first.bounding_box()
    assert first_box is not None and first_box["y"] < LAPTOP["height"]  # above the fold
    banner = page.locator(".banner.fail")
    assert banner.is_visible()
    assert "2 failed checks" in banner.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "index.png"), full_page=True)

    page.locator("a.failtab").click()
    assert page.url.endswith("/failures.html")
    assert page.locator("table.summary tbody tr.fail").count() == 2
    assert page.locator("table.summary tbody tr").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "failures.png"), full_page=True)
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
    assert page.locator("table.matrix td.hl").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "spec-failing.png"), full_page=True)
    tab.assert_quiet()
