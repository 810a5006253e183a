"""A large Jacobian block of many probes: the complex step on every probe, central differences
on a sample of them (harness.checks.jacobian, ``_sampled_block``).

Softmax at (40, 30) has 40 probes and 48,000 block entries: above the size where every probe
gets central differences. The sampled oracle must keep the sensitivity of the full one (a
relative 1e-9 error fails, so does one wrong probe the sample may not visit), and a forward
the complex step cannot be trusted on must fall back to central differences everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness import Spec, verify_at
from specs import activations as act

Z = np.random.default_rng(7).standard_normal((40, 30))


def _softmax(name: str, vjp: Any, forward: Any = act.softmax_forward) -> Spec:
    return Spec(name=name, forward=forward, vjp=vjp, structure="columnwise")


def _scaled(factor: float) -> Any:
    def vjp(Z: np.ndarray, A: np.ndarray, dA: np.ndarray) -> np.ndarray:
        return act.softmax_backward(Z, A, dA) * factor

    return vjp


def _wrong_in_row(row: int) -> Any:
    def vjp(Z: np.ndarray, A: np.ndarray, dA: np.ndarray) -> np.ndarray:
        G = act.softmax_backward(Z, A, dA)
        G[row] *= 1.0 + 1e-7
        return G

    return vjp


def _jacobian(spec: Spec) -> Any:
    r = verify_at(spec, Z)
    return r, next(c for c in r.checks if c.check == "jacobian")


def test_correct_softmax_passes_with_the_sampled_complex_step() -> None:
    r, jac = _jacobian(_softmax("softmax", act.softmax_backward))
    assert r.passed, r.summary()
    assert "complex step" in jac.message and "on 8 of 40 probes" in jac.message, jac.message
    assert jac.unresolved == 0, r.summary()


def test_a_relative_1e9_error_fails() -> None:
    r, jac = _jacobian(_softmax("softmax-1e-9", _scaled(1.0 + 1e-9)))
    assert jac.status == "fail", r.summary()


@pytest.mark.parametrize("row", [0, 17, 39])
def test_an_error_in_one_probe_fails_wherever_the_sample_falls(row: int) -> None:
    """A VJP wrong by 1e-7 only in gradient row ``row``: the entries of that probe's column
    are compared against the complex step whether or not the sample visited it."""
    r, jac = _jacobian(_softmax(f"softmax-row-{row}", _wrong_in_row(row)))
    assert jac.status == "fail", r.summary()
    assert jac.worst is not None and jac.worst.location is not None
    assert jac.worst.location.input_index is not None
    assert jac.worst.location.input_index[0] == row, r.summary()


def _softmax_via_abs(Z: np.ndarray) -> np.ndarray:
    """Softmax normalised by ``sum |exp(z)|``: right on real input, but on complex input the
    denominator drops its imaginary part (not holomorphic), so the complex step misses the
    denominator's share of every derivative."""
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    return e / np.abs(e).sum(axis=0, keepdims=True)


def test_a_forward_the_complex_step_cannot_be_trusted_on_falls_back() -> None:
    r, jac = _jacobian(_softmax("softmax-abs", act.softmax_backward, _softmax_via_abs))
    assert r.passed, r.summary()
    assert jac.message.startswith("central differences (the complex step disagrees"), jac.message
    assert jac.unresolved == 0, r.summary()
