"""The first hour of a new user: their own module, by name or by path, alone, in parallel.

Each test runs ``python -m harness`` (or pytest with the plugin) in a fresh directory holding
the user's module, as a user would, with no PYTHONPATH: the harness is installed, the module
is theirs. Printed commands are run as pasted: split like a shell, from another directory.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import harness
from specs import activations as act

MY_LAYERS = '''\
"""A user's spec module: a right softplus and a wrong one."""
import numpy as np

from harness import Spec, register
from my_helpers import sigmoid


register(Spec(name="my-softplus", forward=lambda Z: np.logaddexp(0, Z),
              vjp=lambda Z, A, dA: dA * sigmoid(Z), structure="elementwise",
              dtypes=("float64",)))
register(Spec(name="my-softplus-wrong", forward=lambda Z: np.logaddexp(0, Z),
              vjp=lambda Z, A, dA: dA * A, structure="elementwise", dtypes=("float64",)))
'''
MY_HELPERS = "import numpy as np\n\n\ndef sigmoid(Z):\n    return 1 / (1 + np.exp(-Z))\n"
FAST = ("--profile", "quick", "--max-examples", "4")


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "HARNESS_DATABASE") and not k.startswith("PYTEST_XDIST")
    }
    return {**env, "HARNESS_PROFILE": "quick"}


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300, check=False
    )


def _harness(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "harness", *args], cwd)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: pkg/my_layers.py (not a package) with a helper module beside it."""
    pkg = tmp_path / "project" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "my_layers.py").write_text(MY_LAYERS)
    (pkg / "my_helpers.py").write_text(MY_HELPERS)
    return tmp_path / "project"


def _doc(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _names(doc: dict[str, Any]) -> list[str]:
    return [s["name"] for s in doc["specs"]]


def test_module_by_file_path_runs_alone_and_its_commands_work_when_pasted(
    project: Path,
) -> None:
    proc = _harness(project, "verify", "--module", "./pkg/my_layers.py", *FAST,
                    "--report-dir", "out", "--no-html")  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = _doc(project / "out" / "results.json")
    # The user's module alone: none of the bundled seed specs.
    assert _names(doc) == ["my-softplus", "my-softplus-wrong"]
    assert "PASSED: my-softplus in float64" in proc.stdout
    (run,) = doc["specs"][1]["runs"]
    module = str(project / "pkg" / "my_layers.py")
    assert run["replay"].startswith(f"{sys.executable} -m harness verify ")
    assert f"--module {module}" in run["replay"]
    failing = [c for c in run["checks"] if c["status"] == "fail"]
    replay = failing[0]["worst"]["replay"]
    assert f"replay {project / 'out' / 'results.json'} " in replay
    # Pasted into another shell, in another directory: both reproduce the failure.
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    again = _run(shlex.split(replay), elsewhere)
    assert again.returncode == 1, again.stdout + again.stderr
    assert f"FAIL  {failing[0]['check']}" in again.stdout
    rerun = _run(shlex.split(run["replay"]), elsewhere)
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    verdict = next(line for line in proc.stdout.splitlines() if "FAILED: spec" in line)
    assert verdict in rerun.stdout
    # The rerun wrote no report where it was pasted.
    assert list(elsewhere.iterdir()) == []


def test_module_by_dotted_name_and_the_bundled_specs_only_when_asked(project: Path) -> None:
    pkg = project / "pkg"
    listed = _harness(pkg, "list", "--module", "my_layers")
    assert listed.returncode == 0, listed.stderr
    assert [line.split(":")[0] for line in listed.stdout.splitlines()] == [
        "my-softplus",
        "my-softplus-wrong",
    ]
    both = _harness(pkg, "list", "--module", "my_layers", "--with-default-specs")
    names = [line.split(":")[0] for line in both.stdout.splitlines()]
    assert names[:6] == [
        "my-softplus", "my-softplus-wrong", "relu", "sigmoid", "tanh", "softmax",
    ]  # fmt: skip
    assert "dense" in names and "two-layer-network" in names
    # Naming a bundled spec is asking for it.
    proc = _harness(pkg, "verify", "--module", "my_layers", "--spec", "my-softplus",
                    "--spec", "relu", "--dtype", "float64", *FAST, "--no-report")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASSED: 2 passed, 0 failed" in proc.stdout
    # Without any module: the bundled specs, as before.
    bundled = _harness(project, "list")
    import specs  # noqa: F401  (the bundled specs, as a run without modules registers them)

    names = [line.split(":")[0] for line in bundled.stdout.splitlines()]
    assert names[:4] == ["relu", "sigmoid", "tanh", "softmax"]
    assert {"dense", "two-layer-network", "softplus"} <= set(names)
    assert not {"my-softplus", "my-softplus-wrong"} & set(names)


IMPORT_ERRORS = {
    "missing-inner-import": (
        "import numpy as np\nimport torchh\n",
        "my_layers.py imports `torchh`, which is not installed: ModuleNotFoundError: "
        "No module named 'torchh'",
    ),
    "bad-name-from-import": (
        "from numpy import no_such_function\n",
        "my_layers.py was found, but one of its imports failed: ImportError: cannot import "
        "name 'no_such_function'",
    ),
}


@pytest.mark.parametrize(("source", "message"), IMPORT_ERRORS.values(), ids=list(IMPORT_ERRORS))
def test_a_failing_import_inside_the_module_is_named(
    tmp_path: Path, source: str, message: str
) -> None:
    (tmp_path / "my_layers.py").write_text(source)
    for module in ("my_layers.py", "my_layers"):
        proc = _harness(tmp_path, "verify", "--module", module, *FAST)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        shown = message if module.endswith(".py") else message.replace("my_layers.py", module)
        assert shown in proc.stderr, proc.stderr
        assert "line " in proc.stderr  # where, in the user's file
        assert "Cannot import spec module" not in proc.stderr  # the module itself was found


def test_a_missing_module_says_what_module_accepts(tmp_path: Path) -> None:
    by_name = _harness(tmp_path, "verify", "--module", "my_layerz", *FAST)
    assert by_name.returncode == 2
    assert "Cannot import spec module 'my_layerz'" in by_name.stderr
    assert "file path" in by_name.stderr
    by_path = _harness(tmp_path, "verify", "--module", "my_layerz.py", *FAST)
    assert by_path.returncode == 2
    assert f"there is no file {tmp_path / 'my_layerz.py'}" in by_path.stderr


def test_jobs_2_gives_the_results_of_jobs_1(project: Path) -> None:
    args = ("verify", "--module", "pkg/my_layers.py", "--spec", "my-softplus-wrong", "--spec",
            "my-softplus", "--spec", "softmax", "--spec", "relu", "--dtype", "float64",
            "--dtype", "float32", "--seed", "99", *FAST, "--no-html")  # fmt: skip
    docs, outputs = [], []
    for jobs in ("1", "2"):
        proc = _harness(project, *args, "--report-dir", "out", "-j", jobs)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        doc = _doc(project / "out" / "results.json")
        del doc["created"]
        for sd in doc["specs"]:
            for run in sd["runs"]:
                del run["elapsed_s"]
        docs.append(doc)
        outputs.append([line.split(" (")[0] for line in proc.stdout.splitlines()])
    assert [len(s["runs"]) for s in docs[0]["specs"]] == [1, 1, 2, 2]
    assert docs[0] == docs[1]
    assert outputs[0][:-1] == outputs[1][:-1]  # the last line has the time


def test_verify_keeps_nothing_in_the_directory_it_is_called_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = harness.Spec(
        name="first-hour-wrong-sigmoid",
        forward=act.sigmoid_forward,
        vjp=lambda Z, A, dA: dA * A,
        structure="elementwise",
    )
    monkeypatch.chdir(tmp_path)
    run = harness.verify(wrong, dtype="float64", max_examples=3)
    assert not run.passed
    assert not (tmp_path / ".hypothesis" / "harness").exists()
    # Hypothesis may keep its own cache there; the harness keeps no counterexample anywhere.
    assert not [p for p in tmp_path.rglob("*.npz")]
    # No replay line names a results file that was never written.
    text = run.summary()
    assert "results.json" not in text
    # Asked for, the store is where it was told.
    harness.verify(wrong, dtype="float64", max_examples=3, database=tmp_path / "db")
    assert len(list((tmp_path / "db").glob("*.npz"))) == 1


def test_the_cli_keeps_counterexamples_beside_the_report(project: Path) -> None:
    work = project / "work"
    work.mkdir()
    proc = _harness(work, "verify", "--module", "../pkg/my_layers.py", *FAST,
                    "--report-dir", str(project / "rep"), "--no-html", "-q")  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert len(list((project / ".hypothesis" / "harness").glob("*.npz"))) == 1
    assert list(work.iterdir()) == []


def test_the_plugin_runs_a_module_given_by_path_alone(project: Path) -> None:
    (project / "test_gradients.py").write_text(
        "def test_gradients(harness_case):\n    harness_case.check()\n"
    )
    proc = _run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only",
         "--harness-module", "pkg/my_layers.py"],
        project,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ids = [line for line in proc.stdout.splitlines() if "test_gradients[" in line]
    assert ids and all("[my-softplus" in line for line in ids), proc.stdout
    asked = _run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only",
         "--harness-module", "pkg/my_layers.py", "--harness-with-default-specs"],
        project,
    )  # fmt: skip
    assert any("[relu-float64-" in line for line in asked.stdout.splitlines()), asked.stdout
