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
    return f"{where}, entry [{i[0]}, {i[1]}]"


def check_hygiene(ctx: Context) -> Measurement:
    """Determinism and layout independence of forward, vjp and jvp."""
    name = "hygiene"
    parts: list[Measurement] = []
    v = ctx.cast(ctx.random_signed())
    try:
        base = {
            "forward": np.asarray(ctx.A, dtype=np.float64),
            "vjp": np.asarray(ctx.caller.vjp(ctx.Z, ctx.A, v), dtype=np.float64),
        }
        u = ctx.cast(ctx.random_signed())

        def call(fn: str, layout: str) -> NDArray[Any]:
            if fn == "forward":
                return ctx.caller.forward(ctx.Z, layout=layout)
            if fn == "vjp":
                return ctx.caller.vjp(ctx.Z, ctx.A, v, layout=layout)
            return ctx.caller.jvp(ctx.Z, ctx.A, u, layout=layout)

        if ctx.spec.jvp is not None:
            base["jvp"] = np.asarray(ctx.caller.jvp(ctx.Z, ctx.A, u), dtype=np.float64)
        for fn in base:
            ref = base[fn]
            scale = np.abs(ref) + (
                np.abs(np.asarray(ctx.A, dtype=np.float64)) if fn != "forward" else 0.0
            )
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
                again = np.asarray(call(fn, layout), dtype=np.float64)
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
