"""The pytest plugin (harness.pytest_plugin), driven through pytest in a subprocess.

Every run is a fresh process: the registry is global, and a spec module imported by one run
must not leak into the next (nor into this session).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import specs  # noqa: F401  (registers the bundled specs)
from harness import REGISTRY
from harness.checks import CHECK_NAMES

pytest_plugins = ["pytester"]

BUNDLED = ("relu", "sigmoid", "tanh", "softmax")
DTYPES = ("float64", "float32", "float16")
SEED = 4321
# Small and fast; the same numbers go to the CLI where results are compared.
FAST = ["--harness-profile", "quick", "--harness-seed", str(SEED), "--harness-max-examples", "5"]
SELECTED = ["--harness-spec", "sigmoid", "--harness-spec", "softmax"]

WRONG_MODULE = """
from harness import Spec, register
from specs import activations


def _vjp_wrong(Z, A, dA):
    return dA * A  # the derivative of the sigmoid is A * (1 - A)


register(Spec(name="sigmoid_wrong", forward=activations.sigmoid_forward, vjp=_vjp_wrong,
              structure="elementwise", dtypes=("float64",)))
"""

# Records, from every process, each verify() and each write_report() call.
RECORDER = """
import os
import sys
from pathlib import Path

import harness.report.document as document

# The plugin imports verify from harness.runner; patch it there.
verify_module = sys.modules["harness.runner"]

LOG = Path(__file__).with_name("calls.log")
WHO = os.environ.get("PYTEST_XDIST_WORKER", "controller")
_write, _verify = document.write_report, verify_module.verify


def _log(line):
    with LOG.open("a") as f:
        f.write(line + "\\n")


def write_report(*args, **kwargs):
    _log(f"write {WHO}")
    return _write(*args, **kwargs)


def verify(spec, **kwargs):
    _log(f"verify {WHO} {spec.name} {kwargs['dtype']}")
    return _verify(spec, **kwargs)


document.write_report = write_report
verify_module.verify = verify
"""


@pytest.fixture(autouse=True)
def _outside_xdist(monkeypatch: pytest.MonkeyPatch) -> None:
    # When this suite itself runs under xdist, its worker's variables would reach the runs
    # below and make their controller look like a worker.
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with the one-line harness test, warnings as errors like ours."""
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\nfilterwarnings = error\n")
    pytester.makepyfile(
        test_registered="def test_registered(harness_case):\n    harness_case.check()\n"
    )
    pytester.makepyfile(wrong_sigmoid=WRONG_MODULE)
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*args, timeout=120)


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _cli_verdicts(pytester: pytest.Pytester, *args: str) -> dict[Any, Any]:
    """The CLI's verdicts for the FAST settings, from a hypothesis database of its own."""
    proc = _cli(
        pytester.path,
        "verify", "--profile", "quick", "--seed", str(SEED), "--max-examples", "5",
        "--report-dir", "cli", "--no-html", "-q", *args,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    # Failing examples saved by one run are replayed first by the next; start the next clean.
    shutil.rmtree(pytester.path / ".hypothesis", ignore_errors=True)
    return _verdicts(pytester.path / "cli" / "results.json")


def _verdicts(path: Path) -> dict[tuple[str, str], tuple[bool, dict[str, str]]]:
    """Per spec and dtype: passed, and each check's status."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {
        (s["name"], r["dtype"]): (r["passed"], {c["check"]: c["status"] for c in r["checks"]})
        for s in doc["specs"]
        for r in s["runs"]
    }


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Test id -> PASSED/FAILED/SKIPPED, from -v output (xdist's group suffix dropped)."""
    found = {}
    for line in result.outlines:
        m = re.search(r"test_registered\[([^\]]+)\](?:@\S+)? (PASSED|FAILED|SKIPPED)", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def test_items_have_readable_ids_for_the_bundled_specs(suite: pytest.Pytester) -> None:
    result = _run(suite, "--collect-only", "-q")
    result.assert_outcomes()
    ids = [m.group(1) for line in result.outlines if (m := re.search(r"\[(.+)\]$", line))]
    expected = [
        f"{spec.name}-{dtype}-{check}"
        for spec in REGISTRY
        for dtype, check in itertools.product(spec.dtypes, CHECK_NAMES)
    ]
    assert ids == expected
    assert {i.split("-float")[0] for i in ids} >= set(BUNDLED)
    assert "sigmoid-float64-vjp_directional" in ids


def test_a_wrong_spec_fails_readably_and_the_others_pass(suite: pytest.Pytester) -> None:
    result = _run(
        suite, *FAST, "--harness-spec", "sigmoid", "--harness-spec", "sigmoid_wrong",
        "--harness-module", "wrong_sigmoid", "--harness-dtype", "float64", "-v",
    )  # fmt: skip
    outcomes = _outcomes(result)
    assert {k: v for k, v in outcomes.items() if k.startswith("sigmoid-")} == {
        f"sigmoid-float64-{check}": "PASSED" for check in CHECK_NAMES
    }
    wrong = {k: v for k, v in outcomes.items() if k.startswith("sigmoid_wrong-")}
    assert wrong["sigmoid_wrong-float64-vjp_directional"] == "FAILED"
    assert wrong["sigmoid_wrong-float64-jacobian"] == "FAILED"
    # No JVP registered: those checks are skipped, with the reason.
    assert wrong["sigmoid_wrong-float64-adjoint"] == "SKIPPED"
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    for piece in (
        "FAILED: spec 'sigmoid_wrong' in float64",
        "FAIL  vjp_directional: error/tolerance",
        "expected ",
        ", got ",
        "x tolerance",
        "input Z (",
        "replay: python -m harness replay",
        "rerun: python -m harness verify --spec 'sigmoid_wrong' --dtype float64",
    ):
        assert piece in text
    # The failure points at the test, not into the plugin.
    assert "pytest_plugin.py" not in text


def test_report_matches_the_cli(suite: pytest.Pytester) -> None:
    # float64 only: rendering the HTML is the slow part, and one dtype shows it is written.
    args = ["--spec", "sigmoid", "--spec", "softmax", "--spec", "sigmoid_wrong"]
    expected = _cli_verdicts(suite, *args, "--module", "wrong_sigmoid", "--dtype", "float64")
    result = _run(
        suite, *FAST, *SELECTED, "--harness-spec", "sigmoid_wrong", "--harness-dtype", "float64",
        "--harness-module", "wrong_sigmoid", "--harness-report", "rep",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["harness: report written to *index.html (3 spec x dtype runs, 1 failed)"]
    )
    rep = suite.path / "rep"
    assert (rep / "index.html").is_file()
    assert _verdicts(rep / "results.json") == expected
    assert not expected["sigmoid_wrong", "float64"][0]
    ours = json.loads((rep / "results.json").read_text(encoding="utf-8"))
    cli = json.loads((suite.path / "cli" / "results.json").read_text(encoding="utf-8"))
    assert ours["settings"] == cli["settings"]
    assert [s["name"] for s in ours["specs"]] == [s["name"] for s in cli["specs"]]


def test_xdist_controller_writes_one_report_with_every_run(suite: pytest.Pytester) -> None:
    expected = _cli_verdicts(suite, "--spec", "sigmoid", "--spec", "softmax")
    suite.makeconftest(RECORDER)
    # Plain -n: the plugin itself switches to grouped distribution.
    result = _run(
        suite, "-n", "2", *FAST, *SELECTED, "--harness-report", "rep", "--harness-no-html", "-v"
    )
    result.assert_outcomes(passed=36)
    assert _verdicts(suite.path / "rep" / "results.json") == expected
    calls = (suite.path / "calls.log").read_text(encoding="utf-8").split("\n")
    assert [c for c in calls if c.startswith("write")] == ["write controller"]
    verified = [c.split()[1:] for c in calls if c.startswith("verify")]
    # One verify per spec x dtype, all on workers: the items of a run stayed together.
    assert sorted((spec, dt) for _, spec, dt in verified) == sorted(expected)
    assert all(who.startswith("gw") for who, _, _ in verified)
    assert len({who for who, _, _ in verified}) == 2


def test_shards_merge_to_the_whole_run(suite: pytest.Pytester) -> None:
    expected = _cli_verdicts(suite, "--spec", "sigmoid", "--spec", "softmax")
    parts = []
    for group in (1, 2):
        out = f"shard{group}"
        result = _run(
            suite, *FAST, *SELECTED, "--harness-splits", "2", "--harness-group", str(group),
            "--harness-report", out, "--harness-no-html",
        )  # fmt: skip
        result.assert_outcomes(passed=18)
        parts.append(_verdicts(suite.path / out / "results.json"))
        shutil.rmtree(suite.path / ".hypothesis", ignore_errors=True)
    assert not set(parts[0]) & set(parts[1])
    proc = _cli(
        suite.path, "report", "--merge", "shard1/results.json", "shard2/results.json",
        "--report-dir", "merged", "--no-html",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert _verdicts(suite.path / "merged" / "results.json") == expected


def test_hypothesis_uses_our_profile_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
        from hypothesis import given, settings, strategies as st

        def test_profile():
            assert settings.get_current_profile_name() == "harness-thorough"
            assert settings.default.max_examples == 200

        @given(st.integers())
        def test_given(x):
            assert isinstance(x, int)
        """
    )
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("HARNESS_PROFILE", "thorough")
    result = _run(pytester, "-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--harness-spec", "sigmod"], "No spec named 'sigmod'. Did you mean 'sigmoid'"),
        (["--harness-splits", "2", "--harness-group", "3"], "--harness-group must be between"),
        (["--harness-profile", "fast"], "--harness-profile (or $HARNESS_PROFILE) must be one"),
        (["--harness-module", "no_such_module"], "Cannot import spec module 'no_such_module'"),
    ],
)
def test_usage_errors(suite: pytest.Pytester, args: list[str], message: str) -> None:
    result = _run(suite, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
