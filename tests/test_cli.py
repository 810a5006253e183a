"""``python -m harness``: exit codes and output for a right and a registered wrong derivative."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FAST = ["--profile", "quick", "--max-examples", "5", "--dtype", "float64"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)])}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_correct_spec_exits_0_and_writes_both_report_files(tmp_path):
    proc = _run("verify", "--spec", "sigmoid", *FAST, "--report-dir", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASSED: 1 passed, 0 failed" in proc.stdout
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["passed"] is True and doc["schema_version"] == 2
    assert (tmp_path / "out" / "index.html").is_file()


def test_registered_wrong_derivative_exits_1_and_explains(tmp_path):
    proc = _run(
        "verify", "--module", "wrong_registered", "--spec", "sigmoid-derivative-is-A",
        "--spec", "relu", *FAST, "--report-dir", "out", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED: spec 'sigmoid-derivative-is-A' in float64" in proc.stdout
    assert "PASSED: relu in float64" in proc.stdout
    assert f"replay: {sys.executable} -m harness replay {tmp_path / 'out'}" in proc.stdout
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    verdicts = {s["name"]: s["runs"][0]["passed"] for s in doc["specs"]}
    assert verdicts == {"sigmoid-derivative-is-A": False, "relu": True}
    # The replay command printed for the failure reproduces it.
    replay = next(
        c["worst"]["replay"] for c in doc["specs"][0]["runs"][0]["checks"] if c["status"] == "fail"
    )
    # ... as pasted into another shell: another directory, no PYTHONPATH.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = subprocess.run(
        shlex.split(replay), cwd=elsewhere, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 1 and "FAIL" in again.stdout, again.stdout + again.stderr


def test_list_shows_the_seed_specs_with_their_equations(tmp_path):
    proc = _run("list", cwd=tmp_path)
    assert proc.returncode == 0
    for line in ("relu: elementwise, kinks [0.0]", "softmax: columnwise", "(7), (8)"):
        assert line in proc.stdout


def test_usage_error_exits_2(tmp_path):
    proc = _run("verify", "--spec", "sigmoud", *FAST, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Did you mean 'sigmoid'" in proc.stderr
