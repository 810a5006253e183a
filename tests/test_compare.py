"""``report --compare OLD NEW``: what changed between two runs, as text and as a page."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from harness.report.compare import COMPARE_PAGE, compare
from harness.results import ResultsDocument, SpecReport, load_results

GOLD = Path(__file__).resolve().parent / "gold"
SMALL = GOLD / "small_results.json"
BAD_SPEC = "softmax <script>alert(1)</script> /rows"


def _set(doc: ResultsDocument, spec: str, dtype: str, check: str, **kw: object) -> ResultsDocument:
    """``doc`` with one check's fields replaced."""
    specs = []
    for s in doc.specs:
        runs = tuple(
            replace(
                r,
                checks=tuple(
                    replace(c, **kw)  # type: ignore[arg-type]
                    if (s.name, r.dtype, c.check) == (spec, dtype, check)
                    else c
                    for c in r.checks
                ),
            )
            for r in s.runs
        )
        specs.append(replace(s, runs=runs))
    return replace(doc, specs=tuple(specs))


@pytest.fixture(scope="module")
def old() -> ResultsDocument:
    return load_results(SMALL)


@pytest.fixture(scope="module")
def new(old: ResultsDocument) -> ResultsDocument:
    doc = _set(old, "sigmoid", "float64", "structure", status="fail", error_ratio=3.0)  # new fail
    doc = _set(doc, BAD_SPEC, "float64", "vjp_directional", status="pass", error_ratio=0.2)
    doc = _set(doc, "sigmoid", "float32", "vjp_directional", error_ratio=0.9)  # 0.12 -> 0.9
    doc = _set(doc, "sigmoid", "float64", "vjp_directional", error_ratio=0.62)  # 20x worse
    doc = _set(doc, "sigmoid", "float32", "jacobian", error_ratio=0.05)  # 12x better
    doc = _set(doc, "sigmoid", "float64", "hygiene", error_ratio=1e-4)  # 0 -> 1e-4: noise
    dense = next(s for s in doc.specs if s.name == "dense-layer")
    added = SpecReport("relu", "elementwise", (0.0,), "(1)", "", "", (dense.runs[1],))
    kept = tuple(
        replace(s, runs=s.runs[:1]) if s.name == BAD_SPEC else s
        for s in doc.specs
        if s.name != "dense-layer"
    )
    return replace(doc, specs=(*kept, replace(added, runs=(replace(dense.runs[1], spec="relu"),))))


def test_changes_per_spec_dtype_and_check(old: ResultsDocument, new: ResultsDocument) -> None:
    result = compare(old, new)
    got = {(c.kind, c.where) for c in result.changes}
    assert got == {
        ("new failure", "sigmoid float64 structure"),
        ("worse", "sigmoid float64 vjp_directional"),
        ("new pass", f"{BAD_SPEC} float64 vjp_directional"),
        ("better", "sigmoid float32 jacobian"),
        ("spec added", "relu"),
        ("spec removed", "dense-layer"),
        ("run removed", f"{BAD_SPEC} float32"),
    }
    assert result.regressed
    assert [c.kind for c in result.changes][:2] == ["new failure", "worse"]
    worse = result.of_kind("worse")[0]
    assert worse.factor == pytest.approx(20.0)
    assert "error/tolerance 0.031 -> 0.62 (20x)" in worse.describe()


def test_text_output(old: ResultsDocument, new: ResultsDocument) -> None:
    text = compare(old, new, old_label="a.json", new_label="b.json").text()
    lines = text.splitlines()
    assert lines[0] == "compare a.json -> b.json"
    assert lines[1] == (
        "REGRESSED: 1 new failure, 1 worse, 1 new pass, 1 better, 1 spec added, "
        "1 spec removed, 1 run removed"
    )
    assert any(
        ln.split() == ["new", "failure", "sigmoid", "float64", "structure:", "pass", "->",
                       "fail;", "error/tolerance", "0", "->", "3"]
        for ln in lines
    ), text  # fmt: skip
    assert "inf" not in text and "nan" not in text
    assert lines[-1] == "unchanged: 14 check(s)"


def test_no_change_is_no_regression(old: ResultsDocument) -> None:
    result = compare(old, old)
    assert not result.regressed and result.changes == ()
    assert result.headline() == "NO REGRESSION: nothing changed"
    better = compare(_set(old, "sigmoid", "float64", "vjp_directional", error_ratio=0.62), old)
    assert not better.regressed and [c.kind for c in better.changes] == ["better"]


def test_a_failing_check_of_a_new_spec_is_a_new_failure(old: ResultsDocument) -> None:
    fewer = replace(old, specs=old.specs[:1])
    result = compare(fewer, old)
    kinds = [(c.kind, c.where) for c in result.changes]
    assert ("spec added", BAD_SPEC) in kinds
    assert ("new failure", f"{BAD_SPEC} float64 jacobian") in kinds
    # A call failure's checks are new failures too, and say what stopped them.
    stopped = [c for c in result.changes if c.where == "dense-layer float64 jacobian"]
    assert stopped and stopped[0].kind == "new failure"
    assert result.regressed


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "report", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _write(path: Path, doc: ResultsDocument) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc.dumps(), encoding="utf-8")
    return path


def test_cli_exit_codes_and_page(
    tmp_path: Path, old: ResultsDocument, new: ResultsDocument
) -> None:
    a = _write(tmp_path / "old" / "results.json", old)
    b = _write(tmp_path / "new" / "results.json", new)
    proc = _cli(tmp_path, "--compare", str(a), str(b), "--report-dir", "cmp")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[1].startswith("REGRESSED")
    page = (tmp_path / "cmp" / COMPARE_PAGE).read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "://" not in page
    assert 'id="new-failure"' in page and 'id="worse"' in page
    assert "&lt;script&gt;" in page  # the spec's name, escaped
    # Default: the page goes beside NEW.
    same = _cli(tmp_path, "--compare", str(a), str(a))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "NO REGRESSION: nothing changed" in same.stdout
    assert (tmp_path / "old" / COMPARE_PAGE).is_file()
    back = _cli(tmp_path, "--compare", str(b), str(a), "--no-html")
    assert back.returncode == 1  # the softmax's vjp fails again in OLD
    assert any(
        ln.split()[:2] == ["new", "failure"] and f"{BAD_SPEC} float64 vjp_directional" in ln
        for ln in back.stdout.splitlines()
    ), back.stdout
    assert not (tmp_path / "new" / COMPARE_PAGE).exists()


def test_cli_malformed_input_exits_2(tmp_path: Path, old: ResultsDocument) -> None:
    a = _write(tmp_path / "a.json", old)
    doc = json.loads(old.dumps())
    del doc["specs"][0]["runs"][0]["checks"][0]["status"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    proc = _cli(tmp_path, "--compare", str(a), str(bad))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "specs[0].runs[0].checks[0].status: missing" in proc.stderr
    assert not (tmp_path / COMPARE_PAGE).exists()
    both = _cli(tmp_path, "--compare", str(a), "--merge", str(a))
    assert both.returncode == 2


def test_merge_and_compare_need_one_of_them(tmp_path: Path) -> None:
    proc = _cli(tmp_path)
    assert proc.returncode == 2 and "one of the arguments --merge --compare" in proc.stderr


def test_compare_across_the_schema_upgrade(tmp_path: Path) -> None:
    """A version 1 document compares with a version 2 one (it is converted when read)."""
    v1 = GOLD / "v1_results.json"
    proc = _cli(tmp_path, "--compare", str(v1), str(SMALL), "--report-dir", "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # new specs that fail
    assert "spec removed" in proc.stdout and "spec added" in proc.stdout
    assert (tmp_path / "out" / COMPARE_PAGE).is_file()
