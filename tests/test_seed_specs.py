"""The seed's four activations, and one spec of each other kind, pass every check; the
precision policy holds. (Every registered spec is `make verify`'s job.)"""

from __future__ import annotations

import numpy as np
import pytest

import harness
import specs  # noqa: F401  (registers the seed's activations)

# The seed's four, and one of each other kind: several inputs, a cost with labels, a
# network from its parameter dictionary, a parameter of its own, a second derivative.
NAMES = ("relu", "sigmoid", "tanh", "softmax", "dense", "binary-cross-entropy",
         "two-layer-network", "prelu", "tanh-second-order")  # fmt: skip
RUNS = [
    pytest.param(name, dt, id=f"{name}-{dt}")
    for name in NAMES
    for dt in harness.REGISTRY.get(name).dtypes
]


@pytest.mark.parametrize(("name", "dtype"), RUNS)
def test_registered_spec_passes(name, dtype):
    result = harness.verify(name, dtype=dtype, seed=7, database=None)
    assert result.passed, result.summary()
    assert result.examples >= 25
    ran = [c for c in result.checks if c.status == "pass"]
    assert {"vjp_directional", "jacobian", "hygiene"} <= {c.check for c in ran}


def test_every_seed_activation_is_registered_with_its_equations():
    names = set(harness.REGISTRY.names())
    assert {"relu", "sigmoid", "tanh", "softmax"} <= names
    assert harness.REGISTRY.get("softmax").structure == "columnwise"
    assert harness.REGISTRY.get("softmax").jacobian is not None
    assert harness.REGISTRY.get("relu").kinks == (0.0,)
    for name, eq in [
        ("relu", "(1), (2)"),
        ("sigmoid", "(3), (4)"),
        ("tanh", "(5), (6)"),
        ("softmax", "(7), (8)"),
    ]:
        assert harness.REGISTRY.get(name).equations == eq


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax", "relu"])
def test_forward_and_backward_stay_finite_at_extremes(name):
    spec = harness.REGISTRY.get(name)
    Z = np.array([[-1e308, -800.0, -50.0, 0.0], [1e308, 800.0, 50.0, -0.0]])
    A = spec.forward(Z)
    dZ = spec.vjp(Z, A, np.ones_like(Z))
    assert np.isfinite(A).all() and np.isfinite(dZ).all()
    assert harness.verify_at(spec, Z).passed


def test_float32_sigmoid_rounding_limited_passes_by_default_and_strict_flags_it():
    # A(1 - A) in float32 is exactly 0 for z >= 17, where the true derivative is ~4e-8:
    # within float32 rounding of the output scale, so it passes by default...
    Z = np.array([[17.0, 20.0, 25.0], [0.5, -1.0, 2.0]], dtype=np.float32)
    default = harness.verify_at("sigmoid", Z)
    assert default.passed, default.summary()
    jac = default["jacobian"]
    # Relative error and ulps against the block's scale (its largest |entry|, 0.25 here).
    assert jac.max_rel_error is not None and 0 < jac.max_rel_error < 1e-6
    assert jac.max_ulps is not None and jac.max_ulps >= 1
    # ...while strict mode flags it.
    strict = harness.verify_at("sigmoid", Z, strict=True)
    assert not strict["jacobian"].passed
    assert strict["jacobian"].worst.location.input_index[0] == 0


def test_float32_bug_still_caught_against_float64_oracle():
    spec = harness.REGISTRY.get("sigmoid")
    bad = harness.Spec(
        name="sigmoid-f32-off-1e-4",
        forward=spec.forward,
        vjp=lambda Z, A, dA: dA * A * (1 - A) * Z.dtype.type(1 + 1e-4),
        structure="elementwise",
    )
    Z = np.random.default_rng(0).standard_normal((10, 32)).astype(np.float32)
    assert not harness.verify_at(bad, Z).passed
    assert harness.verify_at(spec, Z).passed
