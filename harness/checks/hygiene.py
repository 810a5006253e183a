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


def _as64(a: Any) -> NDArray[np.float64]:
    return np.asarray(a, dtype=np.float64)


def _grads(ctx: Context, v: Any) -> tuple[Any, ...]:
    return ctx.caller.vjp(ctx.X, ctx.A, v)


def _forward_noise(ctx: Context) -> NDArray[np.float64]:
    """``c_noise * |forward(Xp) - forward(X)|`` in the dtype under test (0 if unknown)."""
    if ctx.Ap is None:
        return np.zeros(np.shape(ctx.A))
    d = np.abs(_as64(ctx.Ap) - _as64(ctx.A))
    d = np.where(np.isfinite(d), d, 0.0)
    # The float64 forward's measured noise, in the run's precision: a sum that cancels errs
    # by eps times its terms whatever order it is taken in.
    d = np.maximum(d, ctx.fd_noise() / ctx.model.c_noise * (ctx.eps / ctx.eps_o))
    return np.asarray(ctx.model.c_noise * d)


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
        # A result that cancels (a cost: logsumexp - Y.Z) moves with the order of its sums by
        # eps times its terms, not its value; what a few-ulp change of the input does to it
        # (measured, see harness.errormodel) bounds that.
        moved = {"forward": _flat(_forward_noise(ctx))}
        moved["vjp"] = _flat(ctx.vjp_noise(v, tuple(_as64(g) for g in _grads(ctx, v))))
        if ctx.spec.jvp is not None:
            moved["jvp"] = _flat(ctx.jvp_noise(u, _as64(ctx.caller.jvp(ctx.X, ctx.A, u))))
        for fn in base:
            ref = base[fn]
            scale = np.abs(ref) + (a_scale if fn != "forward" else 0.0)
            tiny = float(np.finfo(ctx.dtype).tiny)
            exact = np.maximum(ctx.model.safety * ctx.model.c_rel * ctx.eps * scale, tiny)
            # Another layout may sum in another order: allow what rounding of the input
            # moves the result; a second identical call must agree to rounding alone.
            reordered = exact + ctx.model.safety * moved[fn]
            # The repeat is made in the run's own layout, so a layout-dependent function is
            # not mistaken for a non-deterministic one; the other layouts follow.
            tests = [(ctx.layout, "a second identical call (non-determinism)")] + [
                (lay, LAYOUT_LABELS[lay]) for lay in ("C", "F", "strided") if lay != ctx.layout
            ]
            for layout, label in tests:
                again = call(fn, layout)
                where = f"{fn} with {label}"
                repeat = label.startswith("a second")
                m = measure(
                    name,
                    again,
                    ref,
                    exact if repeat else reordered,
                    ctx.dtype,
                    functools.partial(_describe, where),
                )
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
