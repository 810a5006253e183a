"""harness.extra.torch: torch Functions, modules and callables verified through the adapter.

torch is installed by ``make venv`` (the ``torch`` extra); under CI these tests must run, so a
missing torch is an error there and a skip elsewhere.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

if os.environ.get("CI"):
    import torch
else:
    torch = pytest.importorskip("torch")

import harness
from harness.extra import MultiInputCoreMissing
from harness.extra._common import HAS_MULTI_INPUT
from harness.extra.torch import from_callable, from_function, from_module, to_spec

# Tiny tensors gain nothing from intra-op threads, and torch 2.13's CPU softmax over dim 0 of
# a (4, 5) tensor takes ~15 ms per call on 2 threads (5 us on one).
torch.set_num_threads(1)

Z = np.random.default_rng(12).standard_normal((4, 5)) * 3.0
DTYPES = (np.float64, np.float32)


def sigmoid_function(backward, jvp=None, name="Sigmoid"):
    """A torch.autograd.Function computing sigmoid, with the given backward(a, g) rule."""

    def forward(ctx, z):
        a = torch.sigmoid(z)
        ctx.save_for_backward(a)
        ctx.save_for_forward(a)
        return a

    def bw(ctx, g):
        (a,) = ctx.saved_tensors
        return backward(a, g)

    body = {"forward": staticmethod(forward), "backward": staticmethod(bw)}
    if jvp is not None:

        def fw(ctx, u):
            (a,) = ctx.saved_tensors
            return jvp(a, u)

        body["jvp"] = staticmethod(fw)
    return type(name, (torch.autograd.Function,), body)


def right(a, g):
    return g * a * (1 - a)


def one_entry(a, g):
    d = g * a * (1 - a)
    d = d.clone()
    d[1, 2] = d[1, 2] * 1.5 + 0.1
    return d


WRONG = {
    # name: (backward, dtypes it is run in, the failing check's message must contain)
    "relative-1e-6": (lambda a, g: right(a, g) * (1 + 1e-6), (np.float64,), "x the tolerance"),
    "relative-1e-3": (lambda a, g: right(a, g) * (1 + 1e-3), DTYPES, "x the tolerance"),
    "one-entry": (one_entry, DTYPES, "x the tolerance"),
    "none": (lambda a, g: None, DTYPES, "Sigmoid.backward returned None for input 'Z'"),
    "two-gradients": (
        lambda a, g: (right(a, g), g),
        DTYPES,
        "Sigmoid.backward returned 2 gradient(s) for the 1 input(s)",
    ),
    "transposed": (lambda a, g: right(a, g).T, DTYPES, "(the transpose?) for input 'Z'"),
    "dtype-cast": (
        lambda a, g: right(a, g).to(torch.float64 if a.dtype == torch.float32 else torch.float32),
        DTYPES,
        "torch casts it to",
    ),
}


def failed_messages(result):
    return {c.check: c.message for c in result.checks if c.status == "fail"}


@pytest.mark.parametrize("dtype", DTYPES)
def test_correct_function_passes_verify_at(dtype):
    spec = from_function(sigmoid_function(right), structure="elementwise")
    result = harness.verify_at(spec, Z.astype(dtype))
    assert result.passed, result.summary()
    assert {c.check for c in result.checks if c.status == "pass"} >= {
        "vjp_directional",
        "jvp_directional",
        "adjoint",
        "jacobian",
        "structure",
        "hygiene",
    }


@pytest.mark.parametrize("dtype", DTYPES)
def test_correct_function_passes_verify(dtype):
    spec = from_function(sigmoid_function(right), structure="elementwise")
    result = harness.verify(spec, dtype=dtype, max_examples=10, seed=1, database=None)
    assert result.passed, result.summary()


@pytest.mark.parametrize(
    ("wrong", "dtype"),
    [pytest.param(k, d, id=f"{k}-{np.dtype(d).name}") for k, v in WRONG.items() for d in v[1]],
)
def test_wrong_backward_fails_with_its_name(wrong, dtype):
    backward, _, expected = WRONG[wrong]
    spec = from_function(sigmoid_function(backward), structure="elementwise")
    result = harness.verify_at(spec, Z.astype(dtype))
    messages = failed_messages(result)
    assert not result.passed and messages, result.summary()
    assert any(expected in m for m in messages.values()), result.summary()
    assert "Traceback" not in result.summary()


def test_wrong_backward_fails_verify():
    spec = from_function(
        sigmoid_function(lambda a, g: right(a, g) * (1 + 1e-6)), structure="elementwise"
    )
    result = harness.verify(spec, max_examples=10, seed=1, database=None)
    assert not result.passed


def test_forward_mode_jvp_is_the_functions_own():
    good = from_function(sigmoid_function(right, jvp=right), structure="elementwise")
    assert "forward-mode AD" in good.description
    assert harness.verify_at(good, Z).passed
    bad = from_function(
        sigmoid_function(right, jvp=lambda a, u: right(a, u) * 1.01), structure="elementwise"
    )
    result = harness.verify_at(bad, Z)
    assert "jvp_directional" in failed_messages(result), result.summary()
    assert result["vjp_directional"].passed


def test_double_vjp_jvp_without_a_jvp_rule():
    spec = from_function(sigmoid_function(right), structure="elementwise")
    assert "double-VJP" in spec.description
    u = np.random.default_rng(0).standard_normal(Z.shape)
    a = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(spec.jvp(Z, a, u), u * a * (1 - a), rtol=1e-13)


def test_second_vjp_is_the_double_backward():
    a = 1 / (1 + np.exp(-Z))
    d_out = np.random.default_rng(1).standard_normal(Z.shape)
    g = np.random.default_rng(2).standard_normal(Z.shape)
    expected = g * d_out * a * (1 - a) * (1 - 2 * a)  # sigmoid'' = s (1 - s) (1 - 2 s)
    spec = from_function(sigmoid_function(right), structure="elementwise")
    np.testing.assert_allclose(spec.second_vjp(Z, a, d_out, g), expected, rtol=1e-12)
    # A backward that detaches its saved output has a wrong (here zero) second derivative.
    detached = from_function(
        sigmoid_function(lambda a, g: g * a.detach() * (1 - a.detach())), structure="elementwise"
    )
    assert not np.allclose(detached.second_vjp(Z, a, d_out, g), expected)
    # The double backward verified as a spec of its own (what gradgradcheck checks).
    assert harness.verify_at(harness.second_order(spec), Z, d_out).passed
    assert not harness.verify_at(harness.second_order(detached), Z, d_out).passed


@pytest.mark.parametrize("dtype", DTYPES)
def test_callables_and_modules(dtype):
    softmax = from_callable(
        lambda z: torch.softmax(z, dim=0), name="softmax", structure="columnwise"
    )
    # (not gelu: torch's float32 gelu backward loses ~eps absolute at z = -5.7, where the
    # derivative is ~6e-4: docs/framework-findings.md)
    silu = to_spec(torch.nn.functional.silu, structure="elementwise")
    tanh = from_module(torch.nn.Tanh(), structure="elementwise")
    torch.manual_seed(0)
    linear = from_module(torch.nn.Linear(4, 4), params="fixed", structure="columnwise")
    for spec in (softmax, silu, tanh, linear):
        result = harness.verify_at(spec, Z.astype(dtype))
        assert result.passed, result.summary()


def test_float16_run():
    spec = from_callable(torch.tanh, structure="elementwise", dtypes=("float16",))
    result = harness.verify_at(spec, Z.astype(np.float16))
    assert result.passed, result.summary()


def test_bfloat16_evaluates_in_bfloat16_and_exchanges_float32():
    spec = from_callable(torch.tanh, structure="elementwise", torch_dtype=torch.bfloat16)
    assert spec.compute_dtype == "bfloat16"
    out = spec.forward(Z.astype(np.float32))
    assert out.dtype == np.float32
    ref = torch.tanh(torch.from_numpy(Z.astype(np.float32)).to(torch.bfloat16)).float().numpy()
    np.testing.assert_array_equal(out, ref)
    assert spec.forward(Z).dtype == np.float64  # the oracle stays float64


def test_forward_that_changes_dtype_is_named():
    spec = from_callable(lambda z: z.double() * 2, name="double", structure="elementwise")
    result = harness.verify_at(spec, Z.astype(np.float32))
    assert not result.passed
    assert "dtype" in result.summary()


def test_parameters_as_inputs_need_the_multi_input_core():
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2)
    if HAS_MULTI_INPUT:
        spec = from_module(layer)
        assert spec.inputs == ("X", "weight", "bias")
    else:
        with pytest.raises(MultiInputCoreMissing, match="multi-input core"):
            from_module(layer)


def test_two_input_function_vjp():
    class Mul(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w

        @staticmethod
        def backward(ctx, g):
            _, w = ctx.saved_tensors
            return g * w, None  # None for w, which needs a gradient

    if not HAS_MULTI_INPUT:
        with pytest.raises(MultiInputCoreMissing):
            from_function(Mul, inputs=("x", "w"))
    # The adapter itself works today: its vjp names the missing gradient.
    from harness.extra.torch import TorchAdapter

    adapter = TorchAdapter(Mul.apply, name="Mul", inputs=("x", "w"), function=Mul)
    with pytest.raises(harness.extra.FrameworkFailure, match="returned None for input 'w'"):
        adapter.vjp(Z, Z, Z, Z)


# torch's first forward-mode AD through addmm loads a decomposition with torch.jit.script,
# which warns (DeprecationWarning) once per process; the harness's Caller silences warnings
# around every call, this test calls the adapter directly.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("jvp", ["forward_ad", "double_vjp"])
def test_module_parameters_as_inputs_adapter(jvp):
    # What the multi-input core will call: forward(X, weight, bias), vjp(..., A, dA) -> 3
    # gradients, jvp(..., A, dX, dW, db). nn.Linear(3, 2) sees X (3, m) transposed.
    from harness.extra.torch import module_adapter

    torch.manual_seed(0)
    adapter, shapes = module_adapter(torch.nn.Linear(3, 2), name="Linear", jvp=jvp)
    assert adapter.inputs == ("X", "weight", "bias")
    assert shapes == "(3,m),(2,3),(2)->(2,m)"
    rng = np.random.default_rng(3)
    X, W, b = rng.standard_normal((3, 5)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    A = adapter.forward(X, W, b)
    np.testing.assert_allclose(A, W @ X + b[:, None], rtol=1e-14)
    dA = rng.standard_normal(A.shape)
    dX, dW, db = adapter.vjp(X, W, b, A, dA)
    np.testing.assert_allclose(dX, W.T @ dA, rtol=1e-13)
    np.testing.assert_allclose(dW, dA @ X.T, rtol=1e-13)
    np.testing.assert_allclose(db, dA.sum(axis=1), rtol=1e-13)
    tX, tW, tb = rng.standard_normal(X.shape), rng.standard_normal(W.shape), rng.standard_normal(2)
    np.testing.assert_allclose(
        adapter.jvp(X, W, b, A, tX, tW, tb), tW @ X + W @ tX + tb[:, None], rtol=1e-13
    )


def test_constants_get_no_gradient():
    from harness.extra.torch import TorchAdapter

    def bce(a, y):
        return -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).mean()

    adapter = TorchAdapter(bce, name="bce", inputs=("A", "Y"), constants=("Y",))
    A = np.full((1, 4), 0.25)
    Y = np.array([[1.0, 0.0, 1.0, 0.0]])
    J = adapter.forward(A, Y)
    assert J.shape == ()
    grad = adapter.vjp(A, Y, J, np.array(1.0))
    np.testing.assert_allclose(grad, (-(Y / A) + (1 - Y) / (1 - A)) / 4, rtol=1e-14)


def test_a_bfloat16_function_is_judged_by_bfloat16_rounding():
    # Where tanh' is not rounding-limited in bfloat16 (1 - tanh^2 is 0 there beyond |z| ~ 3).
    Z32 = np.clip(Z, -1.0, 1.0).astype(np.float32)
    spec = from_callable(torch.tanh, structure="elementwise", torch_dtype=torch.bfloat16)
    result = harness.verify_at(spec, Z32)
    assert result.passed, result.summary()

    def off(z: Any) -> Any:
        return _ScaledBackward.apply(z, 1.05)

    wrong = from_callable(off, name="tanh-bf16-wrong", structure="elementwise",
                          torch_dtype=torch.bfloat16)  # fmt: skip
    assert not harness.verify_at(wrong, Z32).passed


class _ScaledBackward(torch.autograd.Function):
    """tanh whose backward is off by a factor: 5% is far beyond bfloat16's rounding."""

    @staticmethod
    def forward(ctx: Any, z: Any, factor: float) -> Any:
        a = torch.tanh(z)
        ctx.save_for_backward(a)
        ctx.factor = factor
        return a

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (a,) = ctx.saved_tensors
        return g * (1 - a * a) * ctx.factor, None
