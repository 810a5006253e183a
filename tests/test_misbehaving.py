"""Misbehaving implementations: every one is a failed verdict that says what went wrong.

A function under test that raises, returns the wrong shape, dtype or type, modifies its
inputs, is not deterministic, depends on memory layout, returns inf or NaN for a finite input,
or hangs must never crash the harness nor corrupt the caller's arrays: the check that met it
fails with a message naming the problem, and a run over several specs goes on with the next.

Each case is run twice: with ``verify_at`` on an input of our own (the verdict, the message,
and our array unchanged), and through ``python -m harness verify`` in a subprocess with a
well-behaved spec after the misbehaving one (exit code 1, both specs in results.json, the
message there too). The subprocess imports this module to register the specs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import RunResult, Spec, verify_at
from specs import activations as act

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
HELPER_MODULE = "misbehaving_cli"
GOOD = "well-behaved-tanh"

# Our own inputs (rows of a 2 x 3 Z). Non-square, so that a transpose has the wrong shape.
Z0 = ((0.5, -1.0, 2.0), (1.5, -0.25, 0.75))
Z_SATURATED = ((0.5, -40.0, 2.0), (1.5, -0.25, 35.0))  # |z| > 30 at [0, 1] and [1, 2]
Z_OVERFLOW = ((0.5, 800.0, 2.0), (1.5, -0.25, 0.75))  # exp(800) = inf at [0, 1]
Z_NONNEGATIVE = ((0.0, 1.0, 2.0), (0.5, 0.25, 0.0))  # only a stencil at the kink goes below 0


# -- the misbehaving functions -------------------------------------------------------------
def _forward_raises(Z: Any) -> Any:
    raise RuntimeError("the forward cache is empty")


def _vjp_raises(Z: Any, A: Any, dA: Any) -> Any:
    return dA[Z.shape[0]]  # one row too far: IndexError on every input


def _jvp_raises(Z: Any, A: Any, dZ: Any) -> Any:
    raise ValueError("jvp exploded")


def _vjp_transposed(Z: Any, A: Any, dA: Any) -> Any:
    return act.sigmoid_backward(Z, A, dA).T


def _vjp_float32(Z: Any, A: Any, dA: Any) -> Any:
    return act.sigmoid_backward(Z, A, dA).astype(np.float32)


def _forward_with_cache(Z: Any) -> Any:
    A = act.sigmoid_forward(Z)
    return A, {"Z": Z}


def _vjp_list(Z: Any, A: Any, dA: Any) -> Any:
    return act.sigmoid_backward(Z, A, dA).tolist()


def _relu_forward_in_place(Z: Any) -> Any:
    Z[Z < 0] = 0
    return Z


def _relu_forward_rejects_negative(Z: Any) -> Any:
    if (Z < 0).any():
        raise ValueError("negative input")
    return act.relu_forward(Z)


def _relu_forward_nan_below_0(Z: Any) -> Any:
    return np.where(Z < 0, np.nan, act.relu_forward(Z))


def _vjp_modifies_A(Z: Any, A: Any, dA: Any) -> Any:
    A *= 1 - A
    return dA * A


def _vjp_modifies_dA(Z: Any, A: Any, dA: Any) -> Any:
    dA *= A * (1 - A)
    return dA


def _jvp_modifies_dZ(Z: Any, A: Any, dZ: Any) -> Any:
    dZ *= A * (1 - A)
    return dZ


_NOISE = np.random.default_rng()


def _vjp_noisy(Z: Any, A: Any, dA: Any) -> Any:
    dZ = act.sigmoid_backward(Z, A, dA)
    return dZ * (1 + 1e-10 * _NOISE.standard_normal(dZ.shape))


def _vjp_layout_dependent(Z: Any, A: Any, dA: Any) -> Any:
    dZ = act.sigmoid_backward(Z, A, dA)
    return dZ if dA.flags.c_contiguous else dZ * 1.01


def _vjp_nan_beyond_30(Z: Any, A: Any, dA: Any) -> Any:
    return np.where(np.abs(Z) > 30, np.nan, act.sigmoid_backward(Z, A, dA))


def _softplus_naive_forward(Z: Any) -> Any:
    return np.log1p(np.exp(Z))  # inf for z > ~709.8


def _softplus_backward(Z: Any, A: Any, dA: Any) -> Any:
    return dA * act.sigmoid_forward(Z)


def _vjp_sleeps(Z: Any, A: Any, dA: Any) -> Any:
    time.sleep(5)
    return act.sigmoid_backward(Z, A, dA)


def _vjp_spins_after(n: int) -> Any:
    calls = 0

    def vjp(Z: Any, A: Any, dA: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > n:
            while True:
                pass
        return act.sigmoid_backward(Z, A, dA)

    return vjp


def _misbehaving(name: str, **changes: Any) -> Spec:
    """The bundled sigmoid with some of its fields changed, named misbehaving-NAME."""
    fields: dict[str, Any] = {
        "forward": act.sigmoid_forward,
        "vjp": act.sigmoid_backward,
        "jvp": act.sigmoid_jvp,
        "structure": "elementwise",
        "dtypes": ("float64", "float32"),
    }
    fields.update(changes)
    return Spec(name=f"misbehaving-{name}", **fields)


# -- the cases ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """A misbehaving spec and what the harness must say about it."""

    spec: Spec
    check: str  # a check that must fail, with the message
    message: tuple[str, ...]  # substrings of that check's message, whatever the input
    Z: tuple[tuple[float, ...], ...] = Z0  # our input for verify_at
    at_Z: tuple[str, ...] = ()  # further substrings of the message at Z
    unaffected: tuple[str, ...] = ()  # checks that must not fail at Z
    examples: int = 5  # --max-examples of the CLI run


RAISES = {
    "forward": Case(
        _misbehaving("forward-raises", forward=_forward_raises),
        "vjp_directional",
        ("forward raised RuntimeError: the forward cache is empty", "(called with Z: ("),
        at_Z=("(called with Z: (2, 3) float64)",),
    ),
    "vjp": Case(
        _misbehaving("vjp-raises", vjp=_vjp_raises),
        "vjp_directional",
        ("vjp raised IndexError", "is out of bounds for axis 0", "(called with Z: ("),
        at_Z=("(called with Z: (2, 3) float64, A: (2, 3) float64, dA: (2, 3) float64)",),
        unaffected=("jvp_directional",),
    ),
    "jvp": Case(
        _misbehaving("jvp-raises", jvp=_jvp_raises),
        "jvp_directional",
        ("jvp raised ValueError: jvp exploded", "(called with Z: ("),
        at_Z=("(called with Z: (2, 3) float64, A: (2, 3) float64, dZ: (2, 3) float64)",),
        unaffected=("vjp_directional", "structure"),
    ),
}

WRONG_OUTPUT = {
    "vjp-transposed": Case(
        _misbehaving("vjp-transposed", vjp=_vjp_transposed),
        "vjp_directional",
        ("vjp returned shape", "the transpose"),
        Z=Z0,
        at_Z=("vjp returned shape (3, 2), expected (2, 3) (the transpose?)",),
        unaffected=("jvp_directional",),
        examples=10,  # a square or 1 x 1 input would hide a transpose
    ),
    "forward-tuple": Case(
        _misbehaving("forward-returns-tuple", forward=_forward_with_cache),
        "vjp_directional",
        ("forward returned tuple, expected a numpy.ndarray",),
        at_Z=("of shape (2, 3)",),
    ),
    "vjp-list": Case(
        _misbehaving("vjp-returns-list", vjp=_vjp_list),
        "vjp_directional",
        ("vjp returned list, expected a numpy.ndarray",),
        unaffected=("jvp_directional",),
    ),
}

IN_PLACE = {
    "forward-Z": Case(
        _misbehaving(
            "forward-modifies-Z",
            forward=_relu_forward_in_place,
            vjp=act.relu_backward,
            jvp=act.relu_jvp,
            kinks=(0.0,),
        ),
        "vjp_directional",
        ("forward modifies Z in place",),
    ),
    "vjp-A": Case(
        _misbehaving("vjp-modifies-A", vjp=_vjp_modifies_A),
        "vjp_directional",
        ("vjp modifies A in place",),
        unaffected=("jvp_directional",),
    ),
    "vjp-dA": Case(
        _misbehaving("vjp-modifies-dA", vjp=_vjp_modifies_dA),
        "vjp_directional",
        ("vjp modifies dA in place",),
        unaffected=("jvp_directional",),
    ),
    "jvp-dZ": Case(
        _misbehaving("jvp-modifies-dZ", jvp=_jvp_modifies_dZ),
        "jvp_directional",
        ("jvp modifies dZ in place",),
        unaffected=("vjp_directional",),
    ),
}

NONDETERMINISTIC = Case(
    _misbehaving("vjp-noisy", vjp=_vjp_noisy),
    "hygiene",
    ("vjp ", "results differ by up to"),
)

LAYOUT_DEPENDENT = Case(
    _misbehaving("vjp-layout-dependent", vjp=_vjp_layout_dependent),
    "hygiene",
    ("vjp depends on memory layout",),
    unaffected=("vjp_directional", "jvp_directional", "adjoint", "jacobian", "structure"),
    examples=10,
)

NONFINITE = {
    "vjp-nan-beyond-30": Case(
        _misbehaving("vjp-nan-beyond-30", vjp=_vjp_nan_beyond_30),
        "vjp_directional",
        ("vjp returned non-finite nan at [", "for finite input"),
        Z=Z_SATURATED,
        at_Z=("vjp returned non-finite nan at [0, 1] for finite input",),
        unaffected=("jvp_directional",),
        examples=10,
    ),
    "forward-overflows": Case(
        _misbehaving(
            "softplus-forward-overflows",
            forward=_softplus_naive_forward,
            vjp=_softplus_backward,
            jvp=None,
        ),
        "vjp_directional",
        ("forward returned non-finite inf at [", "for finite input"),
        Z=Z_OVERFLOW,
        at_Z=("forward returned non-finite inf at [0, 1] for finite input",),
        examples=10,
    ),
}


def _relu_like(name: str, forward: Any) -> Spec:
    return _misbehaving(
        name, forward=forward, vjp=act.relu_backward, jvp=act.relu_jvp, kinks=(0.0,)
    )


# Forwards that fail only below 0: at a non-negative input with entries at the kink, the first
# call that sees a negative entry is the jacobian check's one-sided stencil at the kink.
STENCIL_ONLY = {
    "raises-below-0": Case(
        _relu_like("relu-rejects-negative-input", _relu_forward_rejects_negative),
        "jacobian",
        ("forward raised ValueError: negative input",),
        Z=Z_NONNEGATIVE,
    ),
    "nan-below-0": Case(
        _relu_like("relu-nan-below-0", _relu_forward_nan_below_0),
        "jacobian",
        ("forward returned non-finite nan",),
        Z=Z_NONNEGATIVE,
    ),
}

SLEEPS = Case(
    _misbehaving("vjp-sleeps", vjp=_vjp_sleeps, jvp=None),
    "vjp_directional",
    ("vjp did not return within the time limit of 0.5 s",),
)

SPINS = Case(
    _misbehaving("vjp-spins-after-3-calls", vjp=_vjp_spins_after(3), jvp=None),
    "vjp_directional",
    ("vjp did not return within the time limit of 0.5 s",),
    examples=3,
)

# Every spec above by name, for the CLI helper module.
CASES: dict[str, Case] = {
    c.spec.name: c
    for c in (
        *RAISES.values(),
        *WRONG_OUTPUT.values(),
        *IN_PLACE.values(),
        NONDETERMINISTIC,
        LAYOUT_DEPENDENT,
        *NONFINITE.values(),
        *STENCIL_ONLY.values(),
        SLEEPS,
        SPINS,
    )
}
WELL_BEHAVED = Spec(
    name=GOOD,
    forward=act.tanh_forward,
    vjp=act.tanh_backward,
    jvp=act.tanh_jvp,
    structure="elementwise",
)

_HELPER_SOURCE = '''\
"""Registers one misbehaving spec of tests/test_misbehaving.py, then a well-behaved one."""
import os

from harness import register
from test_misbehaving import CASES, WELL_BEHAVED

register(CASES[os.environ["MISBEHAVING_SPEC"]].spec)
register(WELL_BEHAVED)
'''


# -- the two routes -------------------------------------------------------------------------
def _same_bits(a: Any, b: Any) -> bool:
    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and bool(np.array_equal(a, b, equal_nan=True))
        and bool(np.array_equal(np.signbit(a), np.signbit(b)))
    )


def _run_at(case: Case, **kwargs: Any) -> RunResult:
    """verify_at on our own array: the verdict and message at Z, and Z left as it was."""
    Z = np.array(case.Z, dtype=np.float64)
    before = Z.copy()
    run = verify_at(case.spec, Z, **kwargs)
    assert _same_bits(Z, before), "verify_at changed the caller's array"
    assert Z.flags.writeable
    assert not run.passed
    result = run[case.check]
    assert result.status == "fail", run.summary()
    for part in case.message + case.at_Z:
        assert part in result.message, f"{part!r} not in {result.message!r}"
    for name in case.unaffected:
        assert run[name].status != "fail", run.summary()
    return run


def _run_cli(case: Case, tmp_path: Path, *extra: str) -> dict[str, Any]:
    """The CLI on the misbehaving spec, then a well-behaved one: exit 1, both reported.

    Returns the misbehaving spec's ``case.check`` entry of results.json.
    """
    (tmp_path / f"{HELPER_MODULE}.py").write_text(_HELPER_SOURCE)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), str(TESTS)]),
        "MISBEHAVING_SPEC": case.spec.name,
    }
    cmd = [
        sys.executable, "-m", "harness", "verify",
        "--module", HELPER_MODULE, "--no-default-specs",
        "--spec", case.spec.name, "--spec", GOOD,
        "--dtype", "float64", "--profile", "quick",
        "--max-examples", str(case.examples),
        "--no-html", "--report-dir", "out", *extra,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert f"PASSED: {GOOD} in float64" in proc.stdout, proc.stdout
    assert "FAILED: 1 passed, 1 failed" in proc.stdout, proc.stdout
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [s["name"] for s in doc["specs"]] == [case.spec.name, GOOD]
    assert doc["passed"] is False
    bad, good = doc["specs"]
    assert [r["passed"] for r in good["runs"]] == [True]
    (run,) = bad["runs"]
    assert run["passed"] is False
    entry = next(c for c in run["checks"] if c["check"] == case.check)
    assert entry["status"] == "fail", json.dumps(run["checks"], indent=1)[:3000]
    for part in case.message:
        assert part in entry["message"], f"{part!r} not in {entry['message']!r}"
    # The verdict came from an input the report records, so it can be replayed.
    assert entry["worst"]["input"]["shape"]
    return entry


def _called_with(entry: dict[str, Any]) -> str:
    shape = tuple(entry["worst"]["input"]["shape"])
    return f"(called with Z: {shape} float64"


# -- the tests ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", RAISES.values(), ids=list(RAISES))
def test_raising_function_fails_with_type_message_and_shape(case: Case, tmp_path: Path) -> None:
    run = _run_at(case)
    # Every check that failed failed because of the raising function.
    assert run.failures
    for result in run.failures:
        assert case.message[0] in result.message, result.message
        assert result.worst is not None
        assert result.worst.what == "raised"
    entry = _run_cli(case, tmp_path)
    # The shape in the message is the shape of the recorded input.
    assert _called_with(entry) in entry["message"]


@pytest.mark.parametrize("case", WRONG_OUTPUT.values(), ids=list(WRONG_OUTPUT))
def test_wrong_output_shape_dtype_or_type_fails(case: Case, tmp_path: Path) -> None:
    run = _run_at(case)
    assert run[case.check].worst is not None
    assert run[case.check].worst.what in ("shape", "dtype", "type")
    _run_cli(case, tmp_path)


def test_a_wrong_dtype_is_one_finding_and_the_values_are_still_checked() -> None:
    # A float32 run whose VJP computes in float64 (np.eye(n) style): correct values.
    Z = np.array([[0.5, -1.0, 2.0], [1.5, -0.25, 0.75]], dtype=np.float32)

    def widened(Z: Any, A: Any, dA: Any) -> Any:
        return act.sigmoid_backward(Z, A, dA).astype(np.float64)

    right = verify_at(_misbehaving("vjp-float64", vjp=widened), Z)
    assert not right.passed
    assert [f["kind"] for f in right.findings] == ["dtype"]
    assert "vjp returns float64 for float32 input" in right.findings[0]["message"]
    # The values are right, so every numeric check has its say and passes.
    assert all(c.status != "fail" for c in right.checks), right.summary()

    def wrong_widened(Z: Any, A: Any, dA: Any) -> Any:
        return (1.001 * act.sigmoid_backward(Z, A, dA)).astype(np.float64)

    wrong = verify_at(_misbehaving("vjp-float64-wrong", vjp=wrong_widened), Z)
    assert [f["kind"] for f in wrong.findings] == ["dtype"]
    assert wrong["jacobian"].status == "fail"
    # A float64 run whose VJP returns float32: one finding, and float32 accuracy fails.
    narrowed = verify_at(_misbehaving("vjp-float32", vjp=_vjp_float32), Z.astype(np.float64))
    assert [f["kind"] for f in narrowed.findings] == ["dtype"]
    assert "vjp returns float32 for float64 input" in narrowed.findings[0]["message"]


@pytest.mark.parametrize("case", IN_PLACE.values(), ids=list(IN_PLACE))
def test_in_place_modification_fails_and_leaves_arrays_alone(case: Case) -> None:
    run = _run_at(case)
    assert run[case.check].worst is not None
    assert run[case.check].worst.what == "inplace"
    assert "compute into new arrays instead" in run[case.check].message


@pytest.mark.parametrize("case", IN_PLACE.values(), ids=list(IN_PLACE))
def test_in_place_modification_in_cli_run_continues(case: Case, tmp_path: Path) -> None:
    entry = _run_cli(case, tmp_path)
    assert "compute into new arrays instead" in entry["message"]


@pytest.mark.parametrize("case", STENCIL_ONLY.values(), ids=list(STENCIL_ONLY))
def test_failure_met_only_at_a_kink_stencil_is_a_verdict(case: Case) -> None:
    run = _run_at(case)
    assert run["jacobian"].worst is not None
    assert run["jacobian"].worst.what in ("raised", "nonfinite")


def test_failure_met_only_at_a_kink_stencil_in_cli_run_continues(tmp_path: Path) -> None:
    entry = _run_cli(STENCIL_ONLY["nan-below-0"], tmp_path)  # asserts exit 1, both specs
    assert "non-finite" in entry["message"]


def _numbers_after(text: str, label: str) -> float:
    match = re.search(rf"{label} ([0-9.]+(?:e[-+]?[0-9]+)?)", text)
    assert match, f"no {label!r} number in {text!r}"
    return float(match.group(1))


def test_nondeterministic_vjp_fails_hygiene_with_the_size(tmp_path: Path) -> None:
    case = NONDETERMINISTIC
    run = _run_at(case)
    message = run["hygiene"].message
    assert "results differ by up to" in message
    assert _numbers_after(message, "differ by up to") > 0
    # 1e-10 relative noise in each of two calls: a few times 1e-10 apart.
    assert 0 < _numbers_after(message, r"\(relative") < 1e-8
    entry = _run_cli(case, tmp_path)
    assert 0 < _numbers_after(entry["message"], r"\(relative") < 1e-8


def test_nondeterminism_is_not_blamed_on_memory_layout() -> None:
    Z = np.array(Z0)
    messages = [verify_at(NONDETERMINISTIC.spec, Z)["hygiene"].message for _ in range(10)]
    for message in messages:
        assert "vjp is not deterministic" in message, message


@pytest.mark.parametrize(
    "layout",
    [
        "C",
        pytest.param(
            "F",
        ),
        pytest.param(
            "strided",
        ),
    ],
)
def test_layout_dependent_vjp_fails_hygiene_in_every_layout(layout: str) -> None:
    case = LAYOUT_DEPENDENT
    Z = np.array(case.Z)
    before = Z.copy()
    run = verify_at(case.spec, Z, layout=layout)
    assert _same_bits(Z, before)
    assert run["hygiene"].status == "fail"
    assert "depends on memory layout" in run["hygiene"].message, run["hygiene"].message
    assert "not deterministic" not in run["hygiene"].message


def test_layout_dependent_vjp_fails_hygiene(tmp_path: Path) -> None:
    case = LAYOUT_DEPENDENT
    run = _run_at(case)
    # In C order only hygiene can see it: every other check passes.
    assert [c.check for c in run.failures] == ["hygiene"]
    assert "Fortran order" in run["hygiene"].message or "non-contiguous" in run["hygiene"].message
    _run_cli(case, tmp_path)


@pytest.mark.parametrize("case", NONFINITE.values(), ids=list(NONFINITE))
def test_nonfinite_output_for_finite_input_fails(case: Case, tmp_path: Path) -> None:
    run = _run_at(case)
    assert run[case.check].worst is not None
    assert run[case.check].worst.what == "nonfinite"
    entry = _run_cli(case, tmp_path)
    # The recorded input is finite, and holds the entry that went non-finite.
    values = np.array(entry["worst"]["input"]["values"], dtype=np.float64)
    assert np.isfinite(values).all()
    idx = tuple(int(i) for i in re.findall(r"at \[(\d+), (\d+)\]", entry["message"])[0])
    assert abs(values[idx]) > 30


@pytest.fixture(scope="module")
def sleeping_run() -> tuple[RunResult, float, int]:
    """verify_at on a vjp that sleeps 5 s, with a 0.5 s limit: result, seconds, vjp calls."""
    if not hasattr(signal, "setitimer"):
        pytest.skip("the time limit needs signal.setitimer")
    calls = 0

    def counting_sleep(Z: Any, A: Any, dA: Any) -> Any:
        nonlocal calls
        calls += 1
        return _vjp_sleeps(Z, A, dA)

    spec = _misbehaving("vjp-sleeps-counted", vjp=counting_sleep, jvp=None)
    handler = signal.getsignal(signal.SIGALRM)
    t0 = time.perf_counter()
    run = _run_at(Case(spec, SLEEPS.check, SLEEPS.message), timeout=0.5)
    elapsed = time.perf_counter() - t0
    # The timer is off again and the previous handler back.
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is handler
    return run, elapsed, calls


def test_hanging_vjp_fails_with_time_limit(sleeping_run: tuple[RunResult, float, int]) -> None:
    run, elapsed, calls = sleeping_run
    assert "set timeout= or --timeout" in run["vjp_directional"].message
    assert run["vjp_directional"].worst is not None
    assert run["vjp_directional"].worst.what == "timeout"
    # The forward is fine: hygiene reaches the vjp and times out too, nothing else breaks.
    assert all("time limit" in c.message for c in run.failures)
    # Every call was cut off after 0.5 s: not one sleep of 5 s was waited out.
    assert calls >= 1
    assert elapsed < 0.5 * calls + 2.0


def test_hanging_vjp_costs_one_time_limit_per_input(
    sleeping_run: tuple[RunResult, float, int],
) -> None:
    _, elapsed, calls = sleeping_run
    assert calls == 1
    assert elapsed < 1.5


def test_hanging_vjp_in_cli_run_continues_with_next_spec(tmp_path: Path) -> None:
    if not hasattr(signal, "setitimer"):
        pytest.skip("the time limit needs signal.setitimer")
    t0 = time.perf_counter()
    entry = _run_cli(SPINS, tmp_path, "--timeout", "0.5")
    assert "time limit" in entry["message"]
    # Bounded by a few limits, not by the spin (which never ends).
    assert time.perf_counter() - t0 < 60


def test_summary_of_a_misbehaving_run_names_the_problem() -> None:
    run = _run_at(IN_PLACE["vjp-dA"])
    text = run.summary()
    assert text.startswith("FAILED: spec 'misbehaving-vjp-modifies-dA' in float64")
    assert "FAIL  vjp_directional" in text
    assert "vjp modifies dA in place" in text
