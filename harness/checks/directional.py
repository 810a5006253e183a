"""Directional checks: the VJP and JVP against finite differences, and the adjoint test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from harness.calls import CallFailure
from harness.checks.common import Context, Measurement, block_sum, measure, worst_of
from harness.oracle import LEVELS, Levels, fd_step, kink_distance, richardson

__all__ = ["check_adjoint", "check_jvp_directional", "check_vjp_directional"]

F64 = NDArray[np.float64]


def _direction(ctx: Context) -> tuple[F64, float]:
    """A signed random direction kept off kinks, and the step along it.

    Entries so large that a step of the base size would span fewer than 16 ulps (|z| above
    ~2e11 in float64) are left out, so that one step suits every entry moved and the
    Richardson regime test speaks for all of them; the jacobian check covers those entries
    one by one with steps of their own.
    """
    x = ctx.x
    t = ctx.model.base_step(ctx.oracle_dtype)
    # Representable in the dtype under test, so a JVP sees exactly the direction the finite
    # differences take.
    u = ctx.random_signed()
    coarse = fd_step(x, t, ctx.oracle_dtype) > t
    # A stencil that straddles a kink is not evidence: entries whose stencil would reach
    # within half the distance to a kink are left out here (the jacobian check covers them).
    near = t * np.abs(u) >= 0.5 * kink_distance(x, ctx.spec.kinks)
    return np.where(near | coarse, 0.0, u), t


@dataclass(frozen=True)
class _Probe:
    """One random direction pair and the finite-difference stencil along u."""

    u: F64
    t: float
    v: F64
    levels: Levels | None  # None when u is zero everywhere (all entries next to kinks)


def _probes(ctx: Context) -> list[_Probe]:
    """The direction pairs of this input, made once and shared by the VJP and JVP checks.

    Both compare against the same central differences ``<v, J u>``, so the stencil (six
    evaluations of the forward) is paid once for the two checks.
    """
    cached = ctx.cache.get("probes")
    if cached is None:
        cached = []
        for _ in range(ctx.directions):
            v = ctx.random_signed()
            u, t = _direction(ctx)
            lev = ctx.evaluator.levels(ctx.x, [t * u], batch=False)[0] if u.any() else None
            cached.append(_Probe(u, t, v, lev))
        ctx.cache["probes"] = cached
    return list(cached)


def _fd_residual(
    ctx: Context, u: F64, t: float, v: F64, analytic: F64 | None, lev: Levels
) -> tuple[float, float, float, float]:
    """Richardson-extrapolated ``<v, J u>`` minus the analytic model, and error terms.

    With ``analytic = G`` (a VJP result, so that ``<v, J d> = <G, d>`` for every d) the
    residual at level k is ``<v, f(x + P_k) - f(x - P_k)> - <G, realised step>``, which uses
    the realised steps exactly. Without it, returns the plain directional derivative.
    Returns (value, truncation estimate, round-off estimate, largest relative deviation of a
    realised step from the nominal one).
    """
    r = []
    dev = 0.0
    for k in range(LEVELS):
        tk = t / 2**k
        num = float(np.sum(v * (lev.plus[k] - lev.minus[k])))
        if analytic is not None:
            num -= float(np.sum(analytic * lev.delta[k]))
        r.append(num / (2.0 * tk))
        moved = u != 0
        if moved.any():
            rel = np.abs(lev.delta[k][moved] / (2.0 * tk) - u[moved]) / np.abs(u[moved])
            dev = max(dev, float(np.max(rel)))
    # Outputs whose block the direction leaves untouched cannot change (the structure check
    # verifies that), so they add no rounding; leaving them out also keeps huge unperturbed
    # outputs (ReLU at 1e308) from overflowing the estimate.
    yp, ym = lev.plus[-1], lev.minus[-1]
    touched = block_sum(ctx.spec.structure, np.abs(u)) > 0
    noise = ctx.model.kappa * ctx.eps_o * (np.abs(yp) + np.abs(ym)) + 2.0 * ctx.fd_noise()
    scale = _scaled_sum(np.abs(v[touched]) * noise[touched])
    t_small = t / 2 ** (LEVELS - 1)
    roundoff = 1.5 * scale / (2.0 * t_small)
    value, trunc = richardson(r[0], r[1], r[2], noise=roundoff)
    if analytic is not None:
        roundoff += ctx.eps_o * float(np.sum(np.abs(analytic) * np.abs(u)))
    return float(value), float(trunc), roundoff, dev


def _all_near_kinks(name: str) -> Measurement:
    return Measurement.skip(
        name,
        "every entry is on or next to a kink, or too large for a common step; see the "
        "jacobian check",
    )


def _scaled_sum(a: F64) -> float:
    """``sum(a)`` for non-negative ``a`` without overflow in the partial sums."""
    top = float(np.max(a, initial=0.0))
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.sum(a / top))


def _unresolved(name: str) -> Measurement:
    m = Measurement.skip(
        name,
        "finite differences cannot resolve the derivative at this input (the stencil is "
        "not in its asymptotic regime); the jacobian check compares entry by entry",
    )
    m.extra["unresolved"] = 1
    return m


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
        for probe in _probes(ctx):
            u, t, v, lev = probe.u, probe.t, probe.v, probe.levels
            if lev is None:
                return _all_near_kinks(name)
            G = np.asarray(ctx.caller.vjp(ctx.Z, ctx.A, ctx.cast(v)), dtype=np.float64)
            moved = float(np.sum(np.abs(u) * ctx.vjp_noise(ctx.cast(v), G)))
            res, trunc, roundoff, _ = _fd_residual(ctx, u, t, v, G, lev)
            if not np.isfinite(trunc):
                parts.append(_unresolved(name))
                continue
            got = float(np.sum(G * u))
            tol = ctx.model.safety * (trunc + roundoff + _impl_rounding(ctx, u, v, G) + moved)
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
        for probe in _probes(ctx):
            u, t, v, lev = probe.u, probe.t, probe.v, probe.levels
            if lev is None:
                return _all_near_kinks(name)
            W = np.asarray(ctx.caller.jvp(ctx.Z, ctx.A, ctx.cast(u)), dtype=np.float64)
            moved = float(np.sum(np.abs(v) * ctx.jvp_noise(ctx.cast(u), W)))
            fd, trunc, roundoff, dev = _fd_residual(ctx, u, t, v, None, lev)
            if not np.isfinite(trunc):
                parts.append(_unresolved(name))
                continue
            got = float(np.sum(v * W))
            # The stencil realises x +- t u only to the float64 spacing of x, so the finite
            # differences see a direction off from u by up to `dev` (relative) per entry.
            realise = 2.0 * dev * float(np.sum(np.abs(v * W)))
            impl = ctx.eps * ctx.model.c_rel * ctx.model.summation_factor(ctx.x.shape[0]) * float(
                np.sum(np.abs(v * W))
            ) + float(np.sum(np.abs(u) * ctx.floor(np.abs(v))))
            tol = ctx.model.safety * (trunc + roundoff + realise + impl + moved)
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
            moved = float(np.sum(np.abs(v) * ctx.jvp_noise(ctx.cast(u), W))) + float(
                np.sum(np.abs(u) * ctx.vjp_noise(ctx.cast(v), G))
            )
            lhs = float(np.sum(W * v))
            rhs = float(np.sum(u * G))
            sf = ctx.model.summation_factor(ctx.x.size)
            rel = ctx.model.c_rel * sf * float(np.sum(np.abs(W * v)) + np.sum(np.abs(u * G)))
            floor = 2.0 * float(np.sum(np.abs(u) * ctx.floor(np.abs(v))))
            tol = ctx.model.safety * (ctx.eps * rel + floor + moved)
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
