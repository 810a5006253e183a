"""The calls themselves: deterministic, independent of memory layout, inputs untouched.

Shape, dtype, finiteness and in-place modification are guarded on every call by
:class:`harness.calls.Caller`; this check makes the calls that exercise them deliberately:
each function twice on the same input, and once in Fortran order and as a non-contiguous view.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.calls import CallFailure
from harness.checks.common import Context, Measurement, measure, worst_of

__all__ = ["check_hygiene"]


LAYOUT_LABELS = {
    "C": "the same input in C order",
    "F": "the same input in Fortran order",
    "strided": "the same input as a non-contiguous view",
}


def _describe(where: str, i: tuple[int, ...]) -> str:
    return f"{where}, entry {i[0]} of the flattened result"


def _flat(a: Any) -> NDArray[np.float64]:
    """One float64 vector of a result: an array, or the gradients of several inputs."""
    if isinstance(a, tuple):
        return np.concatenate([np.asarray(g, dtype=np.float64).ravel() for g in a])
    return np.asarray(a, dtype=np.float64).ravel()


def check_hygiene(ctx: Context) -> Measurement:
    """Determinism and layout independence of forward, vjp and jvp."""
    name = "hygiene"
    parts: list[Measurement] = []
    v = ctx.cast(ctx.random_out())
    try:
        base = {
            "forward": _flat(ctx.A),
            "vjp": _flat(ctx.caller.vjp(ctx.X, ctx.A, v)),
        }
        u = tuple(ctx.cast(a) for a in ctx.random_tangent())

        def call(fn: str, layout: str) -> NDArray[Any]:
            if fn == "forward":
                return _flat(ctx.caller.forward(ctx.X, layout=layout))
            if fn == "vjp":
                return _flat(ctx.caller.vjp(ctx.X, ctx.A, v, layout=layout))
            return _flat(ctx.caller.jvp(ctx.X, ctx.A, u, layout=layout))

        if ctx.spec.jvp is not None:
            base["jvp"] = _flat(ctx.caller.jvp(ctx.X, ctx.A, u))
        a_scale = float(np.max(np.abs(_flat(ctx.A)), initial=0.0))
        for fn in base:
            ref = base[fn]
            scale = np.abs(ref) + (a_scale if fn != "forward" else 0.0)
            tol = np.maximum(
                ctx.model.safety * ctx.model.c_rel * ctx.eps * scale,
                float(np.finfo(ctx.dtype).tiny),
            )
            # The repeat is made in the run's own layout, so a layout-dependent function is
            # not mistaken for a non-deterministic one; the other layouts follow.
            tests = [(ctx.layout, "a second identical call (non-determinism)")] + [
                (lay, LAYOUT_LABELS[lay]) for lay in ("C", "F", "strided") if lay != ctx.layout
            ]
            for layout, label in tests:
                again = call(fn, layout)
                where = f"{fn} with {label}"
                m = measure(
                    name,
                    again,
                    ref,
                    tol,
                    ctx.dtype,
                    functools.partial(_describe, where),
                )
                repeat = label.startswith("a second")
                m.extra["determinism"] = repeat
                if m.failed:
                    kind = "is not deterministic" if repeat else "depends on memory layout"
                    m.message = (
                        f"{fn} {kind}: results differ by up to {m.abs_error:.3g} "
                        f"(relative {m.rel_error:.3g}) with {label}"
                    )
                parts.append(m)
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    merged = worst_of(name, parts)
    # A noisy function also differs between layouts; name the cause, not the symptom.
    noisy = [p for p in parts if p.failed and p.extra.get("determinism")]
    if noisy:
        first = worst_of(name, noisy)
        first.comparisons = merged.comparisons
        return first
    return merged
