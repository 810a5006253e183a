"""Side by side: torch's gradcheck, gradgradcheck, fast-mode gradcheck and this harness.

Usage (from the repository root)::

    python benchmarks/compare_gradcheck.py          # the table, about a minute
    python benchmarks/compare_gradcheck.py --quick  # smaller inputs

The same ``torch.autograd.Function`` subclasses go to every tool, in float64 on the same
input: an elementwise function (sigmoid), softmax over dim 0, and a two-input bilinear map
``W @ X``. Each comes with deliberately wrong backward passes: the gradient scaled by
``1 + 1e-3``, ``1 + 1e-6``, ``1 + 1e-9``; one entry off by ``1e-4 * max |gradient|``; only the
gradient of one input (W) of two wrong; a correct first derivative whose double backward is
wrong (a detached saved output). The correct Function is a row too (a failure there is a
false alarm). Each cell says whether the tool caught the error, and its wall time.

The harness runs ``verify_at`` on the same input through :mod:`harness.extra.torch`. Rows that
need several inputs (the bilinear map, and ``harness.second_order`` whose spec has inputs
``(Z, dA)``) are coded against the multi-input Spec API; with a harness whose Spec takes one
input they print "needs the multi-input core".
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if not __package__:
    sys.path.insert(0, str(ROOT))

import harness  # noqa: E402

NEEDS_CORE = "needs the multi-input core"


@dataclass(frozen=True)
class Wrong:
    """How a backward is wrong: relative scale, one entry, which input, second order."""

    label: str
    rel: float = 0.0
    entry: float = 0.0  # one entry off by entry * max|gradient|
    only: str | None = None  # the one input whose gradient is wrong (two-input functions)
    second: bool = False  # correct first derivative, wrong double backward


WRONGS_ONE: tuple[Wrong, ...] = (
    Wrong("correct"),
    Wrong("x (1 + 1e-3)", rel=1e-3),
    Wrong("x (1 + 1e-6)", rel=1e-6),
    Wrong("x (1 + 1e-9)", rel=1e-9),
    Wrong("one entry + 1e-4 max|g|", entry=1e-4),
)
WRONGS_TWO: tuple[Wrong, ...] = (
    Wrong("correct"),
    Wrong("W only, x (1 + 1e-3)", rel=1e-3, only="W"),
    Wrong("W only, x (1 + 1e-6)", rel=1e-6, only="W"),
    Wrong("W only, x (1 + 1e-9)", rel=1e-9, only="W"),
)
WRONG_SECOND = Wrong("double backward wrong", second=True)


def _spoil(torch: Any, grad: Any, w: Wrong) -> Any:
    """``grad`` made wrong as ``w`` says, by differentiable operations (double backward works)."""
    if w.rel:
        grad = grad * (1.0 + w.rel)
    if w.entry:
        mask = torch.zeros_like(grad)
        mask[(1,) * grad.ndim] = 1.0
        grad = grad + mask * (w.entry * float(grad.detach().abs().max()))
    return grad


def functions(torch: Any) -> dict[str, Callable[[Wrong], type]]:
    """Factories of the three Functions, each taking how its backward is wrong."""

    def sigmoid(w: Wrong) -> type:
        class Sigmoid(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, z: Any) -> Any:
                a = torch.sigmoid(z)
                ctx.save_for_backward(a)
                return a

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (a,) = ctx.saved_tensors
                b = a.detach() if w.second else a  # detached: d/dz of (1 - a) is lost
                return _spoil(torch, g * a * (1 - b), w)

        return Sigmoid

    def softmax(w: Wrong) -> type:
        class Softmax(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, z: Any) -> Any:
                a = torch.softmax(z, dim=0)
                ctx.save_for_backward(a)
                return a

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                (a,) = ctx.saved_tensors
                return _spoil(torch, a * (g - (a * g).sum(dim=0, keepdim=True)), w)

        return Softmax

    def bilinear(w: Wrong) -> type:
        class Bilinear(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, W: Any, X: Any) -> Any:
                ctx.save_for_backward(W, X)
                return W @ X

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                W, X = ctx.saved_tensors
                dW, dX = g @ X.T, W.T @ g
                if w.only == "W":
                    dW = _spoil(torch, dW, w)
                elif w.only == "X":
                    dX = _spoil(torch, dX, w)
                return dW, dX

        return Bilinear

    return {"sigmoid": sigmoid, "softmax(dim=0)": softmax, "bilinear W @ X": bilinear}


def _timed(fn: Callable[[], str]) -> str:
    t0 = time.perf_counter()
    try:
        verdict = fn()
    except Exception as exc:  # a tool that crashes is a result, shown in its cell
        verdict = f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
    return f"{verdict} ({time.perf_counter() - t0:.2f} s)"


def _caught(ok: bool, correct: bool = False) -> str:
    if correct:
        return "pass" if ok else "**false alarm**"
    return "missed" if ok else "**caught**"


def _harness_first(fn: type, arrays: list[np.ndarray], structure: Any, correct: bool) -> str:
    from harness.extra import MultiInputCoreMissing
    from harness.extra.torch import from_function

    if len(arrays) == 1:
        spec = from_function(fn, structure=structure)
        return _caught(harness.verify_at(spec, arrays[0], detail=False).passed, correct)
    try:
        spec = from_function(
            fn,
            inputs=("W", "X"),
            shapes="(n,k),(k,m)->(n,m)",
            structure={"W": "rowwise", "X": "columnwise"},
        )
    except MultiInputCoreMissing:
        return NEEDS_CORE
    return _caught(_verify_at_many(spec, arrays), correct)


def _verify_at_many(spec: harness.Spec, arrays: list[np.ndarray]) -> bool:
    """``verify_at`` with several inputs (positional, as forward takes them)."""
    return bool(harness.verify_at(spec, *arrays, detail=False).passed)  # type: ignore[call-arg]


def _harness_second(fn: type, Z: np.ndarray) -> str:
    from harness.extra.torch import from_function

    second_order = getattr(harness, "second_order", None)
    if second_order is None:
        return NEEDS_CORE
    spec = second_order(from_function(fn, structure="elementwise"))
    d_out = np.random.default_rng(7).standard_normal(Z.shape)
    return _caught(_verify_at_many(spec, [Z, d_out]))


def _row(
    torch: Any,
    name: str,
    w: Wrong,
    fn: type,
    arrays: list[np.ndarray],
    structure: str,
    Z: np.ndarray,
) -> list[str]:
    correct = w.label == "correct"

    def tensors() -> tuple[Any, ...]:
        return tuple(torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays)

    def gc(fast: bool) -> str:
        ok = torch.autograd.gradcheck(fn.apply, tensors(), fast_mode=fast, raise_exception=False)
        return _caught(bool(ok), correct)

    def ggc() -> str:
        ok = torch.autograd.gradgradcheck(fn.apply, tensors(), raise_exception=False)
        return _caught(bool(ok), correct)

    def hs() -> str:
        if w.second:  # the first derivative is right: a failure there is a false alarm
            first = _harness_first(fn, arrays, structure, True)
            return f"first order: {first}; second_order: {_harness_second(fn, Z)}"
        return _harness_first(fn, arrays, structure, correct)

    return [
        name,
        w.label,
        _timed(lambda: gc(False)),
        _timed(lambda: gc(True)),
        _timed(ggc),
        _timed(hs),
    ]


def rows(quick: bool = False) -> list[list[str]]:
    """One table row per function and wrong backward."""
    import torch

    torch.set_num_threads(1)
    shape = (6, 8) if quick else (10, 32)
    rng = np.random.default_rng(20261128)
    Z = rng.standard_normal(shape) * 2.0
    W = rng.standard_normal((shape[0] - 2, shape[0]))
    out: list[list[str]] = []
    for name, make in functions(torch).items():
        two = name.startswith("bilinear")
        arrays = [W, Z] if two else [Z]
        cases = (
            WRONGS_TWO if two else (*WRONGS_ONE, *((WRONG_SECOND,) if name == "sigmoid" else ()))
        )
        structure = "elementwise" if name == "sigmoid" else "columnwise"
        for w in cases:
            out.append(_row(torch, name, w, make(w), arrays, structure, Z))
    return out


def format_table(table: list[list[str]], quick: bool = False) -> str:
    shape = "(6, 8)" if quick else "(10, 32)"
    head = (
        f"Same torch.autograd.Function, same float64 input (Z {shape}; bilinear: W "
        f"{'(4, 6)' if quick else '(8, 10)'} @ X {shape}); **caught** = the tool reports a "
        f"failure; on the correct rows a failure is a **false alarm**. Harness: verify_at through "
        f"harness.extra.torch.\n\n"
        "| function | backward | gradcheck | gradcheck(fast_mode) | gradgradcheck | harness |\n"
        "| --- | --- | --- | --- | --- | --- |"
    )
    return "\n".join([head, *("| " + " | ".join(r) + " |" for r in table)])


def run(quick: bool = False) -> None:
    """Print the side-by-side table (torch required; says so when it is missing)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not installed (pip install -e '.[torch]'): side-by-side table skipped")
        return
    print(format_table(rows(quick), quick), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs")
    args = parser.parse_args(argv)
    run(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
