"""Directional checks: the VJP and JVP against finite differences, and the adjoint test."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from harness.calls import CallFailure
from harness.checks.common import Context, Measurement, measure, worst_of
from harness.oracle import LEVELS, kink_distance, richardson

__all__ = ["check_adjoint", "check_jvp_directional", "check_vjp_directional"]

F64 = NDArray[np.float64]


def _direction(ctx: Context) -> tuple[F64, float]:
    """A signed random direction scaled per entry, kept off kinks, and the step along it."""
    x = ctx.x
    t = ctx.model.base_step(ctx.oracle_dtype)
    u = ctx.rng.standard_normal(x.shape) * np.maximum(1.0, np.abs(x))
    # A stencil that straddles a kink is not evidence: entries whose stencil would reach
    # within half the distance to a kink are left out here (the jacobian check covers them).
    near = t * np.abs(u) >= 0.5 * kink_distance(x, ctx.spec.kinks)
    fmax = float(np.finfo(np.float64).max)
    near |= t * np.abs(u) >= 0.25 * (fmax - np.abs(x))
    return np.where(near, 0.0, u), t


def _fd_residual(
    ctx: Context, u: F64, t: float, v: F64, analytic: F64 | None
) -> tuple[float, float, float]:
    """Richardson-extrapolated ``<v, J u>`` minus the analytic model, and error terms.

    With ``analytic = G`` (a VJP result, so that ``<v, J d> = <G, d>`` for every d) the
    residual at level k is ``<v, f(x + P_k) - f(x - P_k)> - <G, realised step>``, which uses
    the realised steps exactly. Without it, returns the plain directional derivative.
    Returns (value, truncation estimate, round-off estimate).
    """
    lev = ctx.evaluator.levels(ctx.x, [t * u])[0]
    r = []
    for k in range(LEVELS):
        tk = t / 2**k
        num = float(np.sum(v * (lev.plus[k] - lev.minus[k])))
        if analytic is not None:
            num -= float(np.sum(analytic * lev.delta[k]))
        r.append(num / (2.0 * tk))
    value, trunc = richardson(r[0], r[1], r[2])
    scale = float(np.sum(np.abs(v) * (np.abs(lev.plus[-1]) + np.abs(lev.minus[-1]))))
    t_small = t / 2 ** (LEVELS - 1)
    roundoff = 1.5 * ctx.model.kappa * ctx.eps_o * scale / (2.0 * t_small)
    if analytic is not None:
        roundoff += ctx.eps_o * float(np.sum(np.abs(analytic) * np.abs(u)))
    return float(value), float(trunc), roundoff


def _impl_rounding(ctx: Context, u: F64, v: F64, g: F64) -> float:
    """Rounding the implementation may commit in ``<g, u>`` (see harness.errormodel)."""
    n_sum = ctx.x.shape[0] if ctx.spec.structure != "elementwise" else 1
    rel = ctx.model.c_rel * ctx.model.summation_factor(n_sum) * float(np.sum(np.abs(u * g)))
    return ctx.eps * rel + float(np.sum(np.abs(u) * ctx.floor(np.abs(v))))


def check_vjp_directional(ctx: Context) -> Measurement:
    """``<vjp(Z, A, v), u>`` against central differences ``<v, (f(Z+hu) - f(Z-hu)) / 2h>``."""
    name = "vjp_directional"
    parts = []
    try:
        for _ in range(ctx.directions):
            v = ctx.random_signed()
            u, t = _direction(ctx)
            if not u.any():
                return Measurement.skip(
                    name, "every entry is on or next to a kink; see the jacobian check"
                )
            G = np.asarray(ctx.caller.vjp(ctx.Z, ctx.A, ctx.cast(v)), dtype=np.float64)
            res, trunc, roundoff = _fd_residual(ctx, u, t, v, G)
            got = float(np.sum(G * u))
            tol = ctx.model.safety * (trunc + roundoff + _impl_rounding(ctx, u, v, G))
            parts.append(
                measure(
                    name,
                    got,
                    got + res,
                    tol,
                    ctx.dtype,
                    lambda _i: "<vjp(Z, A, v), u> vs central differences of <v, f> along u",
                    err=abs(res),
                    location=lambda _i: None,
                )
            )
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    return worst_of(name, parts)


def check_jvp_directional(ctx: Context) -> Measurement:
    """``<v, jvp(Z, A, u)>`` against central differences along u."""
    name = "jvp_directional"
    if ctx.spec.jvp is None:
        return Measurement.skip(name, "no jvp registered")
    parts = []
    try:
        for _ in range(ctx.directions):
            v = ctx.random_signed()
            u, t = _direction(ctx)
            if not u.any():
                return Measurement.skip(
                    name, "every entry is on or next to a kink; see the jacobian check"
                )
            u = np.asarray(ctx.cast(u), dtype=np.float64)
            W = np.asarray(ctx.caller.jvp(ctx.Z, ctx.A, ctx.cast(u)), dtype=np.float64)
            fd, trunc, roundoff = _fd_residual(ctx, u, t, v, None)
            got = float(np.sum(v * W))
            # The FD stencil realises x +- t u only to float64 rounding of x; bound the effect.
            realise = (
                ctx.eps_o
                * float(np.sum(np.abs(ctx.x)))
                / t
                * float(np.max(np.abs(v) * (np.abs(W) + np.abs(ctx.A64)), initial=0.0))
            )
            impl = ctx.eps * ctx.model.c_rel * ctx.model.summation_factor(
                ctx.x.shape[0]
            ) * float(np.sum(np.abs(v * W))) + float(np.sum(np.abs(u) * ctx.floor(np.abs(v))))
            tol = ctx.model.safety * (trunc + roundoff + realise + impl)
            parts.append(
                measure(
                    name,
                    got,
                    fd,
                    tol,
                    ctx.dtype,
                    lambda _i: "<v, jvp(Z, A, u)> vs central differences of <v, f> along u",
                    location=lambda _i: None,
                )
            )
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    return worst_of(name, parts)


def check_adjoint(ctx: Context) -> Measurement:
    """The dot-product test ``<jvp(u), v> == <u, vjp(v)>``, to rounding error, no FD."""
    name = "adjoint"
    if ctx.spec.jvp is None:
        return Measurement.skip(name, "no jvp registered")
    parts = []
    try:
        for _ in range(ctx.directions):
            u = ctx.random_signed()
            v = ctx.random_signed()
            W = np.asarray(ctx.caller.jvp(ctx.Z, ctx.A, ctx.cast(u)), dtype=np.float64)
            G = np.asarray(ctx.caller.vjp(ctx.Z, ctx.A, ctx.cast(v)), dtype=np.float64)
            lhs = float(np.sum(W * v))
            rhs = float(np.sum(u * G))
            sf = ctx.model.summation_factor(ctx.x.size)
            rel = ctx.model.c_rel * sf * float(np.sum(np.abs(W * v)) + np.sum(np.abs(u * G)))
            floor = 2.0 * float(np.sum(np.abs(u) * ctx.floor(np.abs(v))))
            tol = ctx.model.safety * (ctx.eps * rel + floor)
            parts.append(
                measure(
                    name,
                    lhs,
                    rhs,
                    tol,
                    ctx.dtype,
                    lambda _i: "<jvp(Z, A, u), v> vs <u, vjp(Z, A, v)>",
                    location=lambda _i: None,
                )
            )
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    return worst_of(name, parts)
