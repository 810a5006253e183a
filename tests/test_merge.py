"""Sharded runs of the CLI merge into the report of one whole run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# A spec that fails, so that merged verdicts are compared on a failure too.
WRONG_MODULE = """
from harness import Spec, register
from specs import activations


def _vjp_wrong(Z, A, dA):
    return dA * A  # the derivative of the sigmoid is A * (1 - A)


register(Spec(name="sigmoid_wrong", forward=activations.sigmoid_forward, vjp=_vjp_wrong,
              structure="elementwise", dtypes=("float64",)))
"""

COMMON = [
    "--spec", "sigmoid", "--spec", "softmax", "--spec", "sigmoid_wrong",
    "--module", "wrong_sigmoid", "--profile", "quick", "--max-examples", "5", "--seed", "99",
    "--no-html", "-q",
]  # fmt: skip


def _cli(tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    # Each run in a directory of its own: the hypothesis database of one run (which replays
    # saved failures first) must not steer the next.
    cwd = tmp_path / name
    cwd.mkdir()
    path = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _verdicts(path: Path) -> dict[tuple[str, str], tuple[bool, dict[str, str]]]:
    """Per spec and dtype: passed, and each check's status."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {
        (s["name"], r["dtype"]): (r["passed"], {c["check"]: c["status"] for c in r["checks"]})
        for s in doc["specs"]
        for r in s["runs"]
    }


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """results.json of the whole run and of shards 1/2 and 2/2 (made once for the module)."""
    tmp_path = tmp_path_factory.mktemp("shards")
    (tmp_path / "wrong_sigmoid.py").write_text(WRONG_MODULE, encoding="utf-8")
    out = {}
    for name, extra in (
        ("whole", []),
        ("a", ["--splits", "2", "--group", "1"]),
        ("b", ["--splits", "2", "--group", "2"]),
    ):
        report = tmp_path / f"report-{name}"
        proc = _cli(tmp_path, name, "verify", *COMMON, *extra, "--report-dir", str(report))
        # The wrong spec fails its run in whichever shard it lands in.
        assert proc.returncode in (0, 1), proc.stderr
        out[name] = report / "results.json"
    return out


def test_shards_merge_to_the_whole_run(tmp_path: Path, shards: dict[str, Path]) -> None:
    a, b, whole = _verdicts(shards["a"]), _verdicts(shards["b"]), _verdicts(shards["whole"])
    assert a and b
    assert not set(a) & set(b)
    merged_dir = tmp_path / "merged"
    proc = _cli(
        tmp_path, "merge", "report", "--merge", str(shards["a"]), str(shards["b"]),
        "--report-dir", str(merged_dir), "--no-html",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # sigmoid_wrong fails, merged or not
    assert "FAILED" in proc.stdout
    merged = _verdicts(merged_dir / "results.json")
    assert merged == whole
    assert not whole["sigmoid_wrong", "float64"][0]
    doc = json.loads((merged_dir / "results.json").read_text(encoding="utf-8"))
    full = json.loads(shards["whole"].read_text(encoding="utf-8"))
    assert doc["summary"] == full["summary"]
    assert doc["passed"] is False
    assert doc["settings"]["merged_from"] == 2


def test_overlapping_shards_are_refused(tmp_path: Path, shards: dict[str, Path]) -> None:
    proc = _cli(
        tmp_path, "merge", "report", "--merge", str(shards["a"]), str(shards["a"]),
        "--report-dir", str(tmp_path / "merged"), "--no-html",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "overlap" in proc.stderr
    assert not (tmp_path / "merged" / "results.json").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["specs"][0]["runs"][0]["checks"][2].pop("status"),
            "specs[0].runs[0].checks[2].status: missing",
        ),
        (
            lambda d: d["specs"][0]["runs"][0]["checks"][0].update(error_ratio="inf"),
            "specs[0].runs[0].checks[0].error_ratio: expected a number or null",
        ),
        (lambda d: d["specs"][0].update(runs={}), "specs[0].runs: expected a list"),
        (lambda d: d.update(schema_version=7), "schema_version: unsupported version 7"),
    ],
)
def test_malformed_results_exit_2_naming_the_field(
    tmp_path: Path, shards: dict[str, Path], edit: Any, message: str
) -> None:
    doc = json.loads(shards["whole"].read_text(encoding="utf-8"))
    edit(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    proc = _cli(
        tmp_path, "merge", "report", "--merge", str(bad), "--report-dir", str(tmp_path / "out")
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"harness: error: {bad}: {message}" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_not_json_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    proc = _cli(tmp_path, "merge", "report", "--merge", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Cannot read results file" in proc.stderr
