"""Bad input to the harness: a clear error, never a verdict, a traceback or a half-written report.

Misuse raises a :class:`harness.HarnessError` subclass naming the problem (``SpecError``,
``RegistryError``, ``UsageError``, ``JacobianTooLargeError``); on the command line it is exit
code 2 with one ``harness: error:`` line and nothing written. Also here: a recorded replay
command reproduces the verdict, and two runs with the same seed write the same results.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import (
    REGISTRY,
    HarnessError,
    JacobianTooLargeError,
    Registry,
    RegistryError,
    Spec,
    SpecError,
    UsageError,
    register,
    verify,
    verify_at,
)
from harness.checks.jacobian import jacobian_bytes
from specs import activations as act

ROOT = Path(__file__).resolve().parents[1]
HELPER_MODULE = "bad_input_specs"

_HELPER_SOURCE = '''\
"""Specs for the CLI tests of tests/test_bad_input.py."""
from harness import Spec, register
from specs import activations as act


def sigmoid_forward(Z):
    return act.sigmoid_forward(Z)


def vjp_derivative_is_A(Z, A, dA):
    return dA * A


# Every callable defined here: the replay commands must name this module.
register(Spec(name="own-sigmoid-derivative-is-A", forward=sigmoid_forward,
              vjp=vjp_derivative_is_A, structure="elementwise"))
# The forward is the bundled one, the wrong vjp is defined here.
register(Spec(name="bundled-forward-wrong-vjp", forward=act.sigmoid_forward,
              vjp=vjp_derivative_is_A, structure="elementwise"))
'''


def _cli(tmp_path: Path, *args: str, module_source: str = _HELPER_SOURCE) -> Any:
    """``python -m harness ARGS`` in tmp_path, with the helper spec module importable."""
    (tmp_path / f"{HELPER_MODULE}.py").write_text(module_source)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _usage_error(proc: Any, *parts: str) -> None:
    """Exit 2, one ``harness: error:`` message with every part, no traceback, no verdict."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "harness: error:" in proc.stderr, proc.stderr
    for part in parts:
        assert part in proc.stderr, f"{part!r} not in {proc.stderr!r}"


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root (hypothesis's own cache aside), with file contents."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
        if ".hypothesis" not in p.parts and "__pycache__" not in p.parts
    }


VERIFY_FAST = ("--dtype", "float64", "--profile", "quick", "--max-examples", "3")


# -- invalid specs --------------------------------------------------------------------------
def _vjp_two_args(Z: Any, dA: Any) -> Any:
    return dA


def _spec_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "bad",
        "forward": act.sigmoid_forward,
        "vjp": act.sigmoid_backward,
        "structure": "elementwise",
    }
    fields.update(changes)
    return fields


INVALID_SPECS = {
    "forward-none": (_spec_fields(forward=None), "`forward` is required"),
    "vjp-none": (_spec_fields(vjp=None), "`vjp` is required"),
    "vjp-not-callable": (_spec_fields(vjp=42), "`vjp` must be a callable taking (Z, A, dA)"),
    "vjp-wrong-signature": (
        _spec_fields(vjp=_vjp_two_args),
        "cannot be called as vjp(Z, A, dA)",
    ),
    "jvp-wrong-signature": (
        _spec_fields(jvp=lambda Z: Z),
        "cannot be called as jvp(Z, A, dZ)",
    ),
    "jacobian-wrong-signature": (
        _spec_fields(jacobian=lambda z, a, extra: z),
        "cannot be called as jacobian(z, a)",
    ),
    "unknown-structure": (
        _spec_fields(structure="diagonal"),
        "unknown structure 'diagonal'; use one of 'elementwise', 'columnwise', 'rowwise', 'dense'",
    ),
    "kinks-on-columnwise": (
        _spec_fields(structure="columnwise", kinks=(0.0,)),
        "`kinks` are only supported for one-input specs of structure 'elementwise'",
    ),
    "kinks-not-numbers": (_spec_fields(kinks=("zero",)), "`kinks` must be a sequence of numbers"),
    "kinks-not-finite": (_spec_fields(kinks=(math.inf,)), "`kinks` must be finite"),
    "dtype-int32": (_spec_fields(dtypes=("float64", "int32")), "unsupported dtypes ['int32']"),
    "dtype-unknown": (_spec_fields(dtypes=("float65",)), "unsupported dtypes ['float65']"),
    "dtypes-empty": (_spec_fields(dtypes=()), "use a non-empty subset of"),
    "name-empty": (_spec_fields(name=""), "Spec name must be a non-empty string"),
    "name-blank": (_spec_fields(name="   "), "Spec name must be a non-empty string"),
    "max-abs-input-negative": (
        _spec_fields(max_abs_input=-1.0),
        "`max_abs_input` must be a positive number or None",
    ),
    "min-rows-zero": (_spec_fields(min_rows=0), "`min_rows` must be a positive int"),
}


@pytest.mark.parametrize(("fields", "message"), INVALID_SPECS.values(), ids=list(INVALID_SPECS))
def test_invalid_spec_raises_spec_error(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as info:
        Spec(**fields)
    assert message in str(info.value)
    assert isinstance(info.value, HarnessError)
    assert isinstance(info.value, ValueError)
    if fields["name"].strip():
        assert f"Spec {fields['name']!r}" in str(info.value)  # names the culprit


def test_class_without_vjp_cannot_be_registered() -> None:
    class Sigmoid:
        forward = staticmethod(act.sigmoid_forward)

    with pytest.raises(SpecError, match=r"'sigmoid'.*no attribute\(s\) vjp"):
        register(Sigmoid, registry=Registry())


def test_spec_without_vjp_argument_raises_spec_error() -> None:
    with pytest.raises(SpecError, match="`vjp` is required"):
        Spec(name="no-vjp", forward=act.sigmoid_forward)  # type: ignore[call-arg]


_MODULES = {
    "spec-error": (
        "from harness import Spec, register\n"
        "register(Spec(name='x', forward=lambda Z: Z, vjp=None))\n",
        "`vjp` is required",
    ),
    "duplicate-name": (
        "from harness import Spec, register\n"
        "from specs import activations as act\n"
        "register(Spec(name='sigmoid', forward=act.tanh_forward, vjp=act.tanh_backward))\n",
        "A spec named 'sigmoid' is already registered",
    ),
}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        *(pytest.param(*v, id=k) for k, v in _MODULES.items()),
        pytest.param(
            "from harness import Spec\nSpec(name='x', forward=lambda Z: Z)\n",
            "bad_input_specs",
            id="vjp-left-out",
        ),
        pytest.param(
            "import numpy as np\nnp.sigmoid\n",
            "bad_input_specs",
            id="attribute-error",
        ),
    ],
)
def test_broken_spec_module_is_a_usage_error(tmp_path: Path, source: str, message: str) -> None:
    proc = _cli(
        tmp_path,
        "verify", "--module", HELPER_MODULE, *VERIFY_FAST, "--report-dir", "out",
        module_source=source,
    )  # fmt: skip
    _usage_error(proc, message)
    assert not (tmp_path / "out").exists()


# -- the registry ---------------------------------------------------------------------------
def test_duplicate_name_in_registry_raises_registry_error() -> None:
    reg = Registry()
    first = reg.add(Spec(name="sig", forward=act.sigmoid_forward, vjp=act.sigmoid_backward))
    reg.add(first)  # the same spec again is harmless
    other = Spec(name="sig", forward=act.tanh_forward, vjp=act.tanh_backward)
    with pytest.raises(RegistryError) as info:
        reg.add(other)
    assert str(info.value) == (
        "A spec named 'sig' is already registered; choose another name or pass replace=True."
    )
    assert isinstance(info.value, HarnessError)
    assert reg.get("sig") is first  # the failed registration changed nothing
    assert len(reg) == 1
    with pytest.raises(RegistryError, match="already registered"):
        register(other, registry=reg)
    assert reg.add(other, replace=True) is other
    assert reg.get("sig") is other


def test_unknown_spec_name_suggests_the_close_one() -> None:
    assert "sigmoid" in REGISTRY  # the bundled specs are imported
    with pytest.raises(RegistryError) as info:
        REGISTRY.get("sigmoud")
    message = str(info.value)
    assert message.startswith("No spec named 'sigmoud'. Did you mean 'sigmoid'")
    assert "Registered: " in message
    with pytest.raises(RegistryError, match="Did you mean 'sigmoid'"):
        verify_at("sigmoud", np.ones((2, 2)))
    with pytest.raises(RegistryError, match="Did you mean 'sigmoid'"):
        verify("sigmoud", max_examples=1, database=None)


def test_unknown_spec_name_in_cli_exits_2_and_suggests(tmp_path: Path) -> None:
    proc = _cli(tmp_path, "verify", "--spec", "sigmoud", *VERIFY_FAST, "--report-dir", "out")
    _usage_error(proc, "No spec named 'sigmoud'. Did you mean 'sigmoid'")
    assert "PASSED" not in proc.stdout
    assert not (tmp_path / "out").exists()


# -- the command line -----------------------------------------------------------------------
BAD_OPTIONS = {
    "no-report-and-no-html": (("--no-report", "--no-html"), "contradict each other"),
    "max-examples-0": (("--max-examples", "0"), "--max-examples must be at least 1"),
    "timeout-0": (("--timeout", "0"), "--timeout must be positive"),
    "group-beyond-splits": (("--splits", "2", "--group", "3"), "--group must be between 1"),
    "dtype-float128": (("--dtype", "float128"), "invalid choice: 'float128'"),
    "profile-unknown": (("--profile", "slow"), "invalid choice: 'slow'"),
    "module-missing": (("--module", "no_such_spec_module"), "Cannot import spec module"),
    "max-examples-not-int": (("--max-examples", "many"), "invalid int value"),
}


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS.values(), ids=list(BAD_OPTIONS))
def test_bad_cli_options_exit_2_and_write_nothing(
    tmp_path: Path, options: tuple[str, ...], message: str
) -> None:
    proc = _cli(
        tmp_path, "verify", "--spec", "sigmoid", *VERIFY_FAST, "--report-dir", "out", *options
    )
    _usage_error(proc, message)
    assert "PASSED" not in proc.stdout  # refused before verifying anything
    assert not (tmp_path / "out").exists()


BAD_REPLAY = {
    "no-results-file": (("missing.json", "--check", "jacobian"), "No results file at"),
    "unknown-check": (("missing.json", "--check", "jacobean"), "Unknown check 'jacobean'"),
}


@pytest.mark.parametrize(("args", "message"), BAD_REPLAY.values(), ids=list(BAD_REPLAY))
def test_bad_replay_exits_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    proc = _cli(tmp_path, "replay", args[0], "--spec", "sigmoid", "--dtype", "float64", *args[1:])
    _usage_error(proc, message)


def _report_dir(tmp_path: Path, kind: str) -> str:
    if kind == "existing-file":
        (tmp_path / "taken").write_text("not a directory\n")
        return "taken"
    if kind == "under-a-file":
        (tmp_path / "taken").write_text("not a directory\n")
        return "taken/reports"
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(0o500)
    return "read-only/reports"


_AS_ROOT = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root may write into a read-only directory",
)


@pytest.mark.parametrize(
    "kind",
    ["existing-file", "under-a-file", pytest.param("read-only-dir", marks=_AS_ROOT)],
)
def test_unwritable_report_dir_exits_2_and_writes_nothing(tmp_path: Path, kind: str) -> None:
    target = _report_dir(tmp_path, kind)
    before = _tree(tmp_path)
    proc = _cli(tmp_path, "verify", "--spec", "sigmoid", *VERIFY_FAST, "--no-html",
                "--report-dir", target)  # fmt: skip
    _usage_error(proc, target)
    (tmp_path / f"{HELPER_MODULE}.py").unlink()
    assert _tree(tmp_path) == {k: v for k, v in before.items() if k != f"{HELPER_MODULE}.py"}


def test_report_dir_under_a_file_is_refused_before_verifying(tmp_path: Path) -> None:
    target = _report_dir(tmp_path, "under-a-file")
    proc = _cli(tmp_path, "verify", "--spec", "sigmoid", *VERIFY_FAST, "--no-html",
                "--report-dir", target)  # fmt: skip
    _usage_error(proc, target)
    assert "PASSED" not in proc.stdout


# -- verify_at on bad input -----------------------------------------------------------------
FLOAT64_ONLY = Spec(
    name="sigmoid-float64-only",
    forward=act.sigmoid_forward,
    vjp=act.sigmoid_backward,
    structure="elementwise",
    dtypes=("float64",),
    min_rows=2,
)

BAD_Z = {
    "1-D": (np.ones(3), "got 1 dimension(s), shape (3,)"),
    "0-D": (np.array(1.0), "got 0 dimension(s)"),
    "3-D": (np.ones((2, 2, 2)), "got 3 dimension(s)"),
    "no-rows": (np.ones((0, 3)), "`Z` is empty (shape (0, 3))"),
    "no-columns": (np.ones((3, 0)), "`Z` is empty (shape (3, 0))"),
    "nan": (np.array([[1.0, np.nan], [0.0, 2.0]]), "`Z` contains NaN or infinity"),
    "inf": (np.array([[1.0, -np.inf], [0.0, 2.0]]), "`Z` contains NaN or infinity"),
    "list": ([[1.0, 2.0], [3.0, 4.0]], "`Z` must be a numpy array; got list"),
    "int64": (np.ones((2, 2), dtype=np.int64), "`Z` has dtype int64"),
    "complex": (np.ones((2, 2), dtype=np.complex128), "`Z` has dtype complex128"),
    "float32-unsupported": (np.ones((2, 2), dtype=np.float32), "supports float64"),
    "too-few-rows": (np.ones((1, 3)), "needs at least 2 row(s)"),
}


@pytest.mark.parametrize(("Z", "message"), BAD_Z.values(), ids=list(BAD_Z))
def test_verify_at_on_bad_input_raises_usage_error(Z: Any, message: str) -> None:
    with pytest.raises(UsageError) as info:
        verify_at(FLOAT64_ONLY, Z)
    assert message in str(info.value)


BAD_OPTIONS_AT = {
    "layout": ({"layout": "K"}, "layout must be 'C', 'F' or 'strided'"),
    "jacobian": ({"jacobian": "never"}, "jacobian must be 'auto' or 'always'"),
}


@pytest.mark.parametrize(("kwargs", "message"), BAD_OPTIONS_AT.values(), ids=list(BAD_OPTIONS_AT))
def test_verify_at_with_bad_options_raises_usage_error(kwargs: Any, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        verify_at(FLOAT64_ONLY, np.ones((2, 2)), **kwargs)


BAD_VERIFY = {
    "dtype-unsupported": ({"dtype": np.float32}, "supports dtypes float64; got float32"),
    "dtype-not-a-dtype": ({"dtype": "double-ish"}, "is not a numpy dtype"),
    "max-examples-0": ({"max_examples": 0}, "max_examples must be at least 1"),
    "profile-unknown": ({"profile": "slow"}, "Unknown profile 'slow'"),
}


@pytest.mark.parametrize(("kwargs", "message"), BAD_VERIFY.values(), ids=list(BAD_VERIFY))
def test_verify_with_bad_options_raises_usage_error(kwargs: Any, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        verify(FLOAT64_ONLY, database=None, **{"max_examples": 1, **kwargs})


# -- the Jacobian memory budget -------------------------------------------------------------
Z_SOFTMAX = np.linspace(-2.0, 2.0, 20).reshape(5, 4)


def test_jacobian_over_budget_is_skipped_with_its_size() -> None:
    Z = Z_SOFTMAX.copy()
    run = verify_at(act.softmax, Z, max_jacobian_bytes=1000)
    result = run["jacobian"]
    assert result.status == "skip"
    assert "'softmax' at Z (5, 4) (columnwise)" in result.message
    assert "over the budget" in result.message
    assert "verified by directional checks only" in result.message
    # A skip is not a failure: the directional checks carry the verdict.
    assert run.passed
    assert run["vjp_directional"].status == "pass"
    assert run["adjoint"].status == "pass"
    np.testing.assert_array_equal(Z, Z_SOFTMAX)


def test_jacobian_over_budget_with_always_raises() -> None:
    with pytest.raises(JacobianTooLargeError) as info:
        verify_at(act.softmax, Z_SOFTMAX.copy(), max_jacobian_bytes=1000, jacobian="always")
    assert "'softmax' at Z (5, 4)" in str(info.value)
    assert "raise max_jacobian_bytes" in str(info.value)
    assert isinstance(info.value, UsageError)


_UNITS = {"B": 1, "bytes": 1, "kB": 1e3, "KiB": 2**10, "MB": 1e6, "MiB": 2**20, "GB": 1e9,
          "GiB": 2**30}  # fmt: skip


def test_jacobian_over_budget_message_gives_a_readable_size() -> None:
    run = verify_at(act.softmax, Z_SOFTMAX.copy(), max_jacobian_bytes=1000)
    message = run["jacobian"].message
    sizes = re.findall(r"([0-9.]+) ?(B|bytes|kB|KiB|MB|MiB|GB|GiB)\b", message)
    assert len(sizes) == 2, message
    need, budget = (float(v) * _UNITS[u] for v, u in sizes)
    assert need == pytest.approx(jacobian_bytes(act.softmax, ((5, 4),), (5, 4)), rel=0.05)
    assert budget == pytest.approx(1000, rel=0.05)


# -- replay and reproducibility -------------------------------------------------------------
def _failing_checks(doc: dict[str, Any], spec: str) -> list[dict[str, Any]]:
    (sd,) = [s for s in doc["specs"] if s["name"] == spec]
    (run,) = sd["runs"]
    return [c for c in run["checks"] if c["status"] == "fail"]


def _run_replay(tmp_path: Path, replay: str) -> Any:
    # The printed command names the interpreter and the files by absolute path: it works as
    # pasted, from another directory, without the PYTHONPATH of the run.
    argv = shlex.split(replay)
    assert argv[:4] == [sys.executable, "-m", "harness", "replay"], replay
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return subprocess.run(argv, cwd=elsewhere, capture_output=True, text=True, timeout=120)


def test_replay_of_a_failing_check_reproduces_the_verdict(tmp_path: Path) -> None:
    spec = "own-sigmoid-derivative-is-A"
    proc = _cli(tmp_path, "verify", "--module", HELPER_MODULE, "--spec", spec, *VERIFY_FAST,
                "--no-html", "--report-dir", "out")  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    failing = _failing_checks(doc, spec)
    assert {c["check"] for c in failing} >= {"vjp_directional", "jacobian"}
    for check in failing:
        replay = check["worst"]["replay"]
        assert f"--check {check['check']}" in replay
        assert f"--module {tmp_path / HELPER_MODULE}.py" in replay
        again = _run_replay(tmp_path, replay)
        assert again.returncode == 1, again.stdout + again.stderr
        shape = tuple(check["worst"]["input"]["arrays"][0]["shape"])
        assert f"on the recorded input (Z {shape}" in again.stdout
        assert f"FAIL  {check['check']}" in again.stdout, again.stdout


def test_replay_names_the_module_of_a_vjp_defined_elsewhere(tmp_path: Path) -> None:
    spec = "bundled-forward-wrong-vjp"
    proc = _cli(tmp_path, "verify", "--module", HELPER_MODULE, "--spec", spec, *VERIFY_FAST,
                "--no-html", "--report-dir", "out")  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    check = _failing_checks(doc, spec)[0]
    again = _run_replay(tmp_path, check["worst"]["replay"])
    assert again.returncode == 1, again.stdout + again.stderr
    assert f"FAIL  {check['check']}" in again.stdout


def _without_timing(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    del doc["created"]
    for sd in doc["specs"]:
        for run in sd["runs"]:
            del run["elapsed_s"]
    return doc


def test_same_seed_twice_gives_identical_results_json(tmp_path: Path) -> None:
    args = (
        "verify", "--module", HELPER_MODULE,
        "--spec", "own-sigmoid-derivative-is-A", "--spec", "softmax", "--spec", "relu",
        "--dtype", "float64", "--dtype", "float32", "--profile", "quick",
        "--max-examples", "4", "--seed", "12345", "--no-html", "--report-dir", "out",
    )  # fmt: skip
    first = _cli(tmp_path, *args)
    assert first.returncode == 1, first.stdout + first.stderr
    text = (tmp_path / "out" / "results.json").read_text()
    second = _cli(tmp_path, *args)
    assert second.returncode == 1, second.stdout + second.stderr
    again = (tmp_path / "out" / "results.json").read_text()
    a, b = json.loads(text), json.loads(again)
    assert a["settings"]["seed"] == 12345
    assert [len(s["runs"]) for s in a["specs"]] == [2, 2, 2]
    assert _without_timing(a) == _without_timing(b)


def test_same_seed_twice_gives_identical_results_in_process() -> None:
    def once() -> dict[str, Any]:
        run = verify(act.softmax, max_examples=4, seed=99, database=None)
        d = run.to_dict()
        del d["elapsed_s"]
        return d

    assert once() == once()
