"""The calls themselves: deterministic, independent of memory layout, inputs untouched.

Shape, dtype, finiteness and in-place modification are guarded on every call by
:class:`harness.calls.Caller`; this check makes the calls that exercise them deliberately:
each function twice on the same input, and once in Fortran order and as a non-contiguous view.
"""

from __future__ import annotations

import numpy as np

from harness.calls import CallFailure
from harness.checks.common import Context, Measurement, measure, worst_of

__all__ = ["check_hygiene"]


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
        calls = {
            "forward": lambda layout: ctx.caller.forward(ctx.Z, layout=layout),
            "vjp": lambda layout: ctx.caller.vjp(ctx.Z, ctx.A, v, layout=layout),
        }
        if ctx.spec.jvp is not None:
            u = ctx.cast(ctx.random_signed())
            base["jvp"] = np.asarray(ctx.caller.jvp(ctx.Z, ctx.A, u), dtype=np.float64)
            calls["jvp"] = lambda layout: ctx.caller.jvp(ctx.Z, ctx.A, u, layout=layout)
        for fn, call in calls.items():
            ref = base[fn]
            scale = np.abs(ref) + (np.abs(np.asarray(ctx.A, dtype=np.float64)) if fn != "forward"
                                   else 0.0)
            tol = np.maximum(
                ctx.model.safety * ctx.model.c_rel * ctx.eps * scale,
                float(np.finfo(ctx.dtype).tiny),
            )
            for layout, label in (
                ("C", "a second identical call (non-determinism)"),
                ("F", "the same input in Fortran order"),
                ("strided", "the same input as a non-contiguous view"),
            ):
                again = np.asarray(call(layout), dtype=np.float64)
                m = measure(
                    name,
                    again,
                    ref,
                    tol,
                    ctx.dtype,
                    lambda i, fn=fn, label=label: f"{fn} at [{i[0]}, {i[1]}] with {label}",
                )
                if m.failed:
                    kind = "is not deterministic" if layout == "C" else "depends on memory layout"
                    m.message = (
                        f"{fn} {kind}: results differ by up to {m.abs_error:.3g} "
                        f"(relative {m.rel_error:.3g}) with {label}"
                    )
                parts.append(m)
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    return worst_of(name, parts)
