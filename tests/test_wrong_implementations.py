"""Every deliberately wrong implementation must fail, and say where.

The catalogue is ``tests/wrong_specs.py``; each entry names the kind of bug and the checks
of which at least one must catch it.
"""

from __future__ import annotations

import numpy as np
import pytest

import harness

from wrong_specs import RIGHT, WRONG

CASES = [pytest.param(w, dt, id=f"{name}-{dt}") for name, w in WRONG.items() for dt in w.dtypes]


@pytest.mark.parametrize(("wrong", "dtype"), CASES)
def test_wrong_implementation_fails(wrong, dtype):
    result = harness.verify(
        wrong.spec, dtype=dtype, max_examples=wrong.max_examples, seed=1, database=None
    )
    failed = {c.check: c for c in result.checks if not c.passed}
    assert not result.passed
    assert failed.keys() & set(wrong.catches), (
        f"expected one of {wrong.catches} to fail, got {sorted(failed)}\n{result.summary()}"
    )
    for check in failed.values():
        # A failure explains itself: the input it was found on, expected vs got, a replay.
        assert check.worst is not None and check.worst.input is not None
        assert check.worst.replay.startswith("harness.verify_at(spec, Z")
        assert check.message
    if wrong.message:
        assert any(wrong.message in c.message for c in failed.values()), result.summary()
    summary = result.summary()
    assert "FAILED" in summary and "input Z" in summary


def test_counterexample_is_shrunk_and_replays():
    wrong = WRONG["sigmoid-derivative-is-A"]
    result = harness.verify(wrong.spec, max_examples=50, seed=3, database=None)
    worst = result["jacobian"].worst
    assert worst is not None and worst.input is not None
    Z = worst.input.to_array()
    assert Z.size <= 2  # hypothesis shrinks to a tiny input
    replay = harness.verify_at(wrong.spec, Z, layout=worst.input.layout)
    assert not replay["jacobian"].passed


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_alternative_correct_conventions_pass_thorough(name):
    # ReLU with derivative 1 at 0 is as valid a subgradient as 0 (the seed's choice).
    result = harness.verify(RIGHT[name], profile="thorough", seed=2, database=None)
    assert result.passed, result.summary()


def test_relu_either_convention_passes_at_the_kink_itself():
    Z = np.array([[0.0, -0.0, 1e-300], [-1e-300, 5e-324, -5e-324]])
    for spec in (harness.REGISTRY.get("relu"), RIGHT["relu-derivative-1-at-0"]):
        result = harness.verify_at(spec, Z)
        assert result.passed, result.summary()
    thresholded = WRONG["relu-threshold-1e-3"].spec
    bad = harness.verify_at(thresholded, np.array([[5e-4, -2.0]]))
    assert not bad["jacobian"].passed


# Every check, shown to fail on its own on a wrong derivative (hygiene: see
# tests/test_misbehaving.py, whose non-deterministic and layout-dependent VJPs fail it).
EACH_CHECK = {
    "vjp_directional": "sigmoid-derivative-is-A",
    "jvp_directional": "sigmoid-jvp-wrong",
    "adjoint": "softmax-jvp-wrong",
    "jacobian": "sigmoid-one-entry-off-1e-9",
    "structure": "softmax-declared-elementwise",
}


@pytest.mark.parametrize(("check", "name"), EACH_CHECK.items(), ids=list(EACH_CHECK))
def test_each_check_fails_on_a_wrong_derivative(check, name):
    result = harness.verify(WRONG[name].spec, max_examples=40, seed=5, database=None)
    assert not result[check].passed, result.summary()
