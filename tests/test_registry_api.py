"""Registering specs: as a call, as a decorator on a class, and the registry's behaviour."""

from __future__ import annotations

import numpy as np
import pytest

import harness
from harness import Registry, Spec, register


def _square():
    return Spec(
        name="square",
        forward=lambda Z: Z * Z,
        vjp=lambda Z, A, dA: 2 * Z * dA,
        structure="elementwise",
    )


def test_register_as_call_returns_the_spec():
    reg = Registry()
    spec = register(_square(), registry=reg)
    assert reg.get("square") is spec
    assert reg.names() == ["square"]


def test_register_as_class_decorator_with_overrides():
    reg = Registry()

    @register(registry=reg, structure="elementwise")
    class Cube:
        """z -> z^3."""

        @staticmethod
        def forward(Z):
            return Z**3

        @staticmethod
        def vjp(Z, A, dA):
            return 3 * Z**2 * dA

    assert isinstance(Cube, Spec)
    assert reg.get("cube") is Cube
    assert Cube.description == "z -> z^3."
    assert harness.verify_at(Cube, np.array([[1.0, -2.0]])).passed


def test_duplicate_and_unknown_names_are_clear_errors():
    reg = Registry()
    register(_square(), registry=reg)
    with pytest.raises(harness.RegistryError, match="already registered"):
        register(_square(), registry=reg)
    with pytest.raises(harness.RegistryError, match="Did you mean 'square'"):
        reg.get("sqare")


def test_user_verifies_own_function_in_under_ten_lines():
    # The README's example, verbatim in spirit.
    spec = Spec(
        name="softplus",
        forward=lambda Z: np.logaddexp(0, Z),
        vjp=lambda Z, A, dA: dA / (1 + np.exp(-Z)),
        structure="elementwise",
    )
    harness.assert_verified(spec, max_examples=10, database=None)
    with pytest.raises(AssertionError, match="FAILED"):
        harness.assert_verified(
            Spec(
                name="softplus-wrong",
                forward=spec.forward,
                vjp=lambda Z, A, dA: dA * A,
                structure="elementwise",
            ),
            max_examples=10,
            database=None,
        )
