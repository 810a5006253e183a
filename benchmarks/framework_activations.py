"""Verify torch's and jax's own activation functions through the adapters; print a table.

Usage (from the repository root)::

    python benchmarks/framework_activations.py                 # torch and jax, float64+float32
    python benchmarks/framework_activations.py --frameworks torch --max-examples 25
    python benchmarks/framework_activations.py --only softplus,gelu

Each function is verified twice per dtype: ``verify`` on generated inputs (the quick profile's
families, fixed seed) and ``verify_at`` on one probe column of telling values (kinks,
saturation bands, softplus' threshold at 20). Piecewise functions declare their kinks, the
normalisations over axis 0 are "columnwise", the rest "elementwise". For each failing check
the worst comparison is printed (input entry, expected vs got, error/tolerance) and, for
elementwise functions, what finite differences of the forward say about the implementation's
derivative at that entry (``harness.jumps``): a jump of the forward (their difference grows
like 1/h), a constant difference (a kink, or the derivative is off), or a difference that
shrinks with h (the derivative is right to within the FD error: look at the tolerance).

The tables in docs/framework-findings.md come from this script. torch and jax are the
``torch``/``jax`` extras; a framework that is not installed is skipped with a note.
"""

from __future__ import annotations

import argparse
import re
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
from harness.jumps import classify_step_curve, estimate_jump  # noqa: E402

PROBE = np.array(
    [-50.0, -20.0, -6.0, -3.0, -1.0, -1e-8, 0.0, 1e-8, 0.5, 1.0, 3.0, 6.0, 19.9, 20.0, 20.1, 50.0]
).reshape(-1, 1)


@dataclass(frozen=True)
class Act:
    """One activation: how torch and jax spell it, its structure and kinks."""

    name: str
    torch: Callable[[Any], Any] | None
    jax: Callable[[Any], Any] | None
    structure: str = "elementwise"
    kinks: tuple[float, ...] = ()


def activations() -> list[Act]:
    """The activations of the issue, with torch's and (where it has one) jax's version."""
    try:
        import torch.nn.functional as F
    except ImportError:
        F = None  # type: ignore[assignment]
    try:
        import jax.nn as jn
        import jax.numpy as jnp
    except ImportError:
        jn = jnp = None  # type: ignore[assignment]

    def t(f: Callable[[Any], Any]) -> Callable[[Any], Any] | None:
        return f if F is not None else None

    def j(f: Callable[[], Callable[[Any], Any]]) -> Callable[[Any], Any] | None:
        return f() if jn is not None else None

    return [
        Act("relu", t(lambda z: F.relu(z)), j(lambda: jn.relu), kinks=(0.0,)),
        Act(
            "leaky_relu", t(lambda z: F.leaky_relu(z, 0.01)), j(lambda: jn.leaky_relu), kinks=(0.0,)
        ),
        Act("elu", t(lambda z: F.elu(z)), j(lambda: jn.elu), kinks=(0.0,)),
        Act("selu", t(lambda z: F.selu(z)), j(lambda: jn.selu), kinks=(0.0,)),
        Act("celu", t(lambda z: F.celu(z)), j(lambda: jn.celu), kinks=(0.0,)),
        Act(
            "gelu(erf)",
            t(lambda z: F.gelu(z)),
            j(lambda: lambda z: jn.gelu(z, approximate=False)),
        ),
        Act(
            "gelu(tanh)",
            t(lambda z: F.gelu(z, approximate="tanh")),
            j(lambda: lambda z: jn.gelu(z, approximate=True)),
        ),
        Act("softplus", t(lambda z: F.softplus(z)), j(lambda: jn.softplus)),
        Act("silu", t(lambda z: F.silu(z)), j(lambda: jn.silu)),
        Act("mish", t(lambda z: F.mish(z)), j(lambda: getattr(jn, "mish", None))),
        Act("hardtanh", t(lambda z: F.hardtanh(z)), j(lambda: jn.hard_tanh), kinks=(-1.0, 1.0)),
        Act(
            "hardsigmoid",
            t(lambda z: F.hardsigmoid(z)),
            j(lambda: jn.hard_sigmoid),
            kinks=(-3.0, 3.0),
        ),
        Act(
            "hardswish",
            t(lambda z: F.hardswish(z)),
            j(lambda: jn.hard_swish),
            kinks=(-3.0, 3.0),
        ),
        Act("relu6", t(lambda z: F.relu6(z)), j(lambda: jn.relu6), kinks=(0.0, 6.0)),
        Act(
            "log_softmax(dim=0)",
            t(lambda z: F.log_softmax(z, dim=0)),
            j(lambda: lambda z: jn.log_softmax(z, axis=0)),
            "columnwise",
        ),
        Act("softmin(dim=0)", t(lambda z: F.softmin(z, dim=0)), None, "columnwise"),
        Act("sigmoid", t(lambda z: F.sigmoid(z)), j(lambda: jn.sigmoid)),
        Act("tanh", t(lambda z: F.tanh(z)), j(lambda: jnp.tanh)),
        Act(
            "softmax(dim=0)",
            t(lambda z: F.softmax(z, dim=0)),
            j(lambda: lambda z: jn.softmax(z, axis=0)),
            "columnwise",
        ),
    ]


def make_spec(framework: str, act: Act) -> harness.Spec | None:
    fn = act.torch if framework == "torch" else act.jax
    if fn is None:
        return None
    fields: dict[str, Any] = {"structure": act.structure, "kinks": act.kinks}
    name = f"{framework}.{act.name}"
    if framework == "torch":
        from harness.extra.torch import from_callable

        return from_callable(fn, name=name, **fields)
    from harness.extra.jax import from_jax

    return from_jax(fn, name=name, **fields)


_ENTRY = re.compile(r"d Z\[(\d+), (\d+)\]")


def _scalar(spec: harness.Spec, Z: np.ndarray, i: int, j: int) -> Callable[[float], float]:
    """The forward's entry (i, j) as a function of Z[i, j] alone (float64)."""
    base = Z.astype(np.float64)

    def f(t: float) -> float:
        x = base.copy()
        x[i, j] = t
        return float(spec.forward(x)[i, j])

    return f


def explain(spec: harness.Spec, check: Any) -> str:
    """What the finite differences say at the worst entry of a failed check."""
    w = check.worst
    if w is None or w.input is None or check.check in ("hygiene", "structure", "adjoint"):
        return "no finite differences involved"
    Z = w.input.to_array()
    m = _ENTRY.search(w.what)
    if m is None:
        return "a directional comparison: see the jacobian row for the entry"
    if spec.structure != "elementwise":
        return "columnwise: not classified automatically"
    i, j = int(m.group(1)), int(m.group(2))
    z = float(Z[i, j])
    f = _scalar(spec, Z, i, j)
    steps = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6]
    qs = [(f(z + h) - f(z - h)) / ((z + h) - (z - h)) for h in steps]
    eps = float(np.finfo(np.float64).eps)
    # Against the implementation's derivative: a jump makes |q - got| grow like 1/h, a wrong
    # derivative (or a kink) keeps it constant, a right one lets it shrink.
    verdict = classify_step_curve(steps, qs, float(w.got), rounding=4 * eps * abs(f(z)))
    text = f"{verdict.kind} (FD slope {verdict.slope:.2f})"
    if verdict.kind == "kink" and not any(abs(z - k) < 1e-2 for k in spec.kinks):
        text = (
            f"derivative off: no kink here, the FD error is constant in h (slope "
            f"{verdict.slope:.2f}), neither a jump nor round-off"
        )
    jump = estimate_jump(f, z, radius=1e-2)
    if not jump.continuous:
        text += f"; forward jumps by {jump.size:.3g} at z = {jump.left:.17g}"
    return text


def _fmt(x: float) -> str:
    return f"{x:.6g}" if np.isfinite(x) else "n/a"


def describe(spec: harness.Spec, result: Any) -> tuple[str, list[str]]:
    """``(status, [details])`` of one run, details one line per failed check."""
    failed = [c for c in result.checks if c.status == "fail"]
    if not failed:
        return "pass", []
    lines = []
    for c in failed:
        w = c.worst
        if w is None or not np.isfinite(w.expected) or not np.isfinite(w.got):
            where = ""
            if w is not None and w.input is not None:
                where = f" (input {np.array2string(w.input.to_array().ravel(), precision=6)})"
            lines.append(f"{c.check}: {c.message[:200]}{where}")
            continue
        z = ""
        if w.input is not None:
            Z = w.input.to_array()
            m = _ENTRY.search(w.what)
            if m is not None:
                z = f" at z = {Z[int(m.group(1)), int(m.group(2))]!r}"
            else:
                z = f" on input of shape {Z.shape}"
        lines.append(
            f"{c.check}: {w.what}{z}: expected {_fmt(w.expected)}, got {_fmt(w.got)} "
            f"({_fmt(w.ratio)} x tolerance {_fmt(w.tolerance)}); {explain(spec, c)}"
        )
    return "FAIL " + ",".join(c.check for c in failed), lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--frameworks", default="torch,jax")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--max-examples", type=int, default=25, help="per torch run")
    parser.add_argument(
        "--jax-max-examples",
        type=int,
        default=8,
        help="per jax run (jax compiles per new shape: ~1 s per input)",
    )
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--only", default="", help="comma-separated activation names")
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    try:
        import torch

        torch.set_num_threads(1)  # tiny tensors; 2 threads make an odd-shaped softmax ~15 ms
    except ImportError:
        pass
    print(
        "| function | framework | dtype | verify (generated inputs) | verify_at (probe column) "
        "| time |\n| --- | --- | --- | --- | --- | --- |"
    )
    details: list[str] = []
    for framework in [f.strip() for f in args.frameworks.split(",") if f.strip()]:
        try:
            acts = activations()
            __import__(framework)
        except ImportError:
            print(f"| (all) | {framework} | - | not installed | - | - |")
            continue
        for act in acts:
            if only and act.name not in only:
                continue
            spec = make_spec(framework, act)
            if spec is None:
                print(f"| {act.name} | {framework} | - | (no such function) | - | - |")
                continue
            for dtype in [d.strip() for d in args.dtypes.split(",") if d.strip()]:
                t0 = time.perf_counter()
                n = args.max_examples if framework == "torch" else args.jax_max_examples
                gen = harness.verify(
                    spec, dtype=dtype, max_examples=n, seed=args.seed, database=None
                )
                at = harness.verify_at(spec, PROBE.astype(dtype))
                dt = time.perf_counter() - t0
                s1, d1 = describe(spec, gen)
                s2, d2 = describe(spec, at)
                print(
                    f"| {act.name} | {framework} | {dtype} | {s1} ({gen.examples}) | {s2} "
                    f"| {dt:.1f} s |",
                    flush=True,
                )
                for label, ds in (("verify", d1), ("verify_at probe", d2)):
                    details += [f"- {framework}.{act.name} {dtype} {label}: {d}" for d in ds]
    if details:
        print("\nFailures (worst comparison of each failed check; classification at that entry):\n")
        print("\n".join(details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
