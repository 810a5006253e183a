"""harness.extra.jax: custom_vjp / custom_jvp functions verified through the adapter.

jax is installed by ``make venv`` (the ``jax`` extra); under CI these tests must run, so a
missing jax is an error there and a skip elsewhere.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("CI"):
    import jax
else:
    jax = pytest.importorskip("jax")
import jax.numpy as jnp

import harness
from harness.extra import FrameworkFailure
from harness.extra.jax import JaxAdapter, from_jax

Z = np.random.default_rng(12).standard_normal((4, 5)) * 3.0
DTYPES = (np.float64, np.float32)


def sigmoid_vjp(bwd_rule, name="sig"):
    """sigmoid as a jax.custom_vjp with the given bwd(a, g) rule."""

    def sig(z):
        return jax.nn.sigmoid(z)

    sig.__name__ = name
    f = jax.custom_vjp(sig)

    def fwd(z):
        a = jax.nn.sigmoid(z)
        return a, a

    f.defvjp(fwd, lambda a, g: bwd_rule(a, g))
    return f


def right(a, g):
    return (g * a * (1 - a),)


WRONG = {
    # name: (bwd rule, dtypes, text the failing check's message must contain)
    "relative-1e-6": (
        lambda a, g: (right(a, g)[0] * (1 + 1e-6),),
        (np.float64,),
        "x the tolerance",
    ),
    "one-entry": (
        lambda a, g: (right(a, g)[0].at[1, 2].multiply(1.5),),
        DTYPES,
        "x the tolerance",
    ),
    "none": (lambda a, g: (None,), DTYPES, "sig's bwd rule returned None for input 'Z'"),
    "two-cotangents": (lambda a, g: (*right(a, g), g), DTYPES, "wrong number of cotangents"),
    "transposed": (lambda a, g: (right(a, g)[0].T,), DTYPES, "cotangent of the wrong shape"),
    # Without x64 jax has no float64, so a float32 run cannot cast up; float64 can cast down.
    "dtype-cast": (
        lambda a, g: (right(a, g)[0].astype(jnp.float32),),
        (np.float64,),
        "returned a float32 cotangent for the float64 input 'Z'",
    ),
}


# Built once: jax compiles per function and shape, so tests sharing a spec share compilations.
RIGHT = {
    jit: from_jax(sigmoid_vjp(right), structure="elementwise", jit=jit) for jit in (False, True)
}


def failed_messages(result):
    return {c.check: c.message for c in result.checks if c.status == "fail"}


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_correct_custom_vjp_passes_verify_at(dtype, jit):
    result = harness.verify_at(RIGHT[jit], Z.astype(dtype))
    assert result.passed, result.summary()
    assert result["jacobian"].passed and result["adjoint"].passed


@pytest.mark.parametrize("dtype", DTYPES)
def test_correct_custom_vjp_passes_verify(dtype):
    # jax compiles once per new shape: about 1 s per generated input, so few inputs here.
    result = harness.verify(RIGHT[False], dtype=dtype, max_examples=3, seed=1, database=None)
    assert result.passed, result.summary()


@pytest.mark.parametrize(
    ("wrong", "dtype"),
    [pytest.param(k, d, id=f"{k}-{np.dtype(d).name}") for k, v in WRONG.items() for d in v[1]],
)
def test_wrong_bwd_fails_with_its_name(wrong, dtype):
    rule, _, expected = WRONG[wrong]
    spec = from_jax(sigmoid_vjp(rule), structure="elementwise")
    result = harness.verify_at(spec, Z.astype(dtype))
    messages = failed_messages(result)
    assert not result.passed and messages, result.summary()
    assert any(expected in m for m in messages.values()), result.summary()
    assert "Traceback" not in result.summary()


def test_custom_jvp_and_plain_functions():
    @jax.custom_jvp
    def softplus(z):
        return jnp.logaddexp(0.0, z)

    @softplus.defjvp
    def softplus_jvp(primals, tangents):
        (z,), (u,) = primals, tangents
        return softplus(z), u * jax.nn.sigmoid(z)

    @jax.custom_jvp
    def softplus_wrong(z):
        return jnp.logaddexp(0.0, z)

    @softplus_wrong.defjvp
    def softplus_wrong_jvp(primals, tangents):
        (z,), (u,) = primals, tangents
        return softplus_wrong(z), u * jax.nn.sigmoid(z) * (1 + 1e-6)

    assert harness.verify_at(from_jax(softplus, structure="elementwise"), Z).passed
    bad = harness.verify_at(from_jax(softplus_wrong, structure="elementwise"), Z)
    assert not bad.passed
    softmax = from_jax(
        lambda z: jax.nn.softmax(z, axis=0), name="softmax", structure="columnwise", jit=True
    )
    result = harness.verify_at(softmax, Z.astype(np.float32))
    assert result.passed, result.summary()


def test_second_vjp():
    a = 1 / (1 + np.exp(-Z))
    d_out = np.random.default_rng(1).standard_normal(Z.shape)
    g = np.random.default_rng(2).standard_normal(Z.shape)
    expected = g * d_out * a * (1 - a) * (1 - 2 * a)
    spec = RIGHT[False]
    np.testing.assert_allclose(spec.second_vjp(Z, a, d_out, g), expected, rtol=1e-12)
    # A bwd rule that stops the gradient through its residual has the wrong second derivative.
    stopped = from_jax(
        sigmoid_vjp(lambda a, g: right(jax.lax.stop_gradient(a), g)), structure="elementwise"
    )
    assert not np.allclose(stopped.second_vjp(Z, a, d_out, g), expected)
    assert harness.verify_at(harness.second_order(spec), Z, d_out).passed
    assert not harness.verify_at(harness.second_order(stopped), Z, d_out).passed


def test_float64_does_not_leak_x64_into_float32_runs():
    seen = []

    def f(z):
        seen.append(jnp.zeros(1).dtype)
        return jnp.tanh(z)

    spec = from_jax(f, structure="elementwise")
    assert spec.forward(Z).dtype == np.float64
    assert spec.forward(Z.astype(np.float32)).dtype == np.float32
    assert seen == [jnp.float64, jnp.float32]
    assert not jax.config.jax_enable_x64


def test_two_input_adapter_names_a_missing_cotangent():
    f = jax.custom_vjp(lambda x, w: x * w)
    f.defvjp(lambda x, w: (x * w, (x, w)), lambda res, g: (g * res[1], None))
    adapter = JaxAdapter(f, name="mul", inputs=("x", "w"))
    with pytest.raises(FrameworkFailure, match="returned None for input 'w'"):
        adapter.vjp(Z, Z, Z, Z)
    # With w a constant, None is its proper cotangent.
    adapter = JaxAdapter(f, name="mul", inputs=("x", "w"), constants=("w",))
    np.testing.assert_allclose(adapter.vjp(Z, Z, Z, np.ones_like(Z)), Z)


def test_two_input_adapter_vjp_and_jvp():
    adapter = JaxAdapter(lambda W, X: W @ X, name="matmul", inputs=("W", "X"))
    rng = np.random.default_rng(4)
    W, X = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    A = adapter.forward(W, X)
    dA = rng.standard_normal(A.shape)
    dW, dX = adapter.vjp(W, X, A, dA)
    np.testing.assert_allclose(dW, dA @ X.T, rtol=1e-13)
    np.testing.assert_allclose(dX, W.T @ dA, rtol=1e-13)
    tW, tX = rng.standard_normal(W.shape), rng.standard_normal(X.shape)
    np.testing.assert_allclose(adapter.jvp(W, X, A, tW, tX), tW @ X + W @ tX, rtol=1e-13)
