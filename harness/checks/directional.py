"""Directional checks: the VJP and JVP against finite differences, and the adjoint test.

Input-space vectors are tuples with one array per differentiable input. Every check runs
jointly (a direction over all inputs at once) and, for a spec with several differentiable
inputs, once per input (a direction that moves that input only), so a wrong gradient is
attributed to the input it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.calls import CallFailure
from harness.checks.common import (
    Context,
    Location,
    Measurement,
    always,
    by_input,
    measure,
    worst_of,
)
from harness.oracle import LEVELS, Levels, grown, kink_distance, richardson

__all__ = ["check_adjoint", "check_jvp_directional", "check_vjp_directional"]

F64 = NDArray[np.float64]
Vec = tuple[F64, ...]


def _dot(a: Vec, b: Vec) -> float:
    return float(sum(float(np.sum(x * y)) for x, y in zip(a, b, strict=True)))


def _abs_dot(a: Vec, b: Vec) -> float:
    return float(sum(float(np.sum(np.abs(x * y))) for x, y in zip(a, b, strict=True)))


def _edge_distance(ctx: Context, k: int) -> F64:
    """Distance of each entry of differentiable input k to its domain's edges and kinks."""
    x = ctx.x[ctx.diff[k]]
    dom = ctx.spec.domain_of(ctx.names[k])
    lo, hi = float(getattr(dom, "lo", -np.inf)), float(getattr(dom, "hi", np.inf))
    dist = np.minimum(x - lo, hi - x)
    kinks = ctx.spec.kinks_of(ctx.names[k])
    if kinks:
        dist = np.minimum(dist, kink_distance(x, kinks))
    return np.asarray(dist, dtype=np.float64)


def _direction(ctx: Context, only: int | None) -> tuple[Vec, float]:
    """A signed random direction kept off kinks and domain edges, and the step along it.

    ``only``: move that differentiable input alone (None: all jointly). Entries so large that
    a step of the base size would span fewer than 16 ulps (|z| above ~2e11 in float64) are
    left out, so that one step suits every entry moved and the Richardson regime test speaks
    for all of them; the jacobian check covers those entries one by one with steps of their
    own.
    """
    t = ctx.model.base_step(ctx.oracle_dtype)
    u = []
    for k, pos in enumerate(ctx.diff):
        x = ctx.x[pos]
        r = ctx.random_signed(x.shape)
        if only is not None and k != only:
            u.append(np.zeros_like(r))
            continue
        coarse = grown(x, t, ctx.oracle_dtype)
        # A stencil that straddles a kink or leaves the domain is not evidence.
        near = t * np.abs(r) >= 0.5 * _edge_distance(ctx, k)
        u.append(np.where(near | coarse, 0.0, r))
    return tuple(u), t


@dataclass(frozen=True)
class _Probe:
    """One random direction pair and the finite-difference stencil along u."""

    only: int | None
    u: Vec
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
        targets: list[int | None] = [None] * ctx.directions
        if len(ctx.diff) > 1:
            targets += list(range(len(ctx.diff)))
        for only in targets:
            v = ctx.random_out()
            u, t = _direction(ctx, only)
            moving = any(a.any() for a in u)
            P = ctx.probe(tuple(t * a for a in u))
            lev = ctx.evaluator.levels(ctx.x, [P])[0] if moving else None
            cached.append(_Probe(only, u, t, v, lev))
        ctx.cache["probes"] = cached
    return list(cached)


def _touched(ctx: Context, u: Vec) -> NDArray[np.bool_]:
    """Outputs the direction can move under the declared structures."""
    out = np.zeros(ctx.A64.shape, dtype=bool)
    for k, a in enumerate(u):
        out |= ctx.structure(k).in_to_out(np.abs(a), ctx.A64.shape) > 0
    return out


def _fd_residual(
    ctx: Context, u: Vec, t: float, v: F64, analytic: Vec | None, lev: Levels
) -> tuple[float, float, float, float, float, float]:
    """Richardson-extrapolated ``<v, J u>`` minus the analytic model, and error terms.

    With ``analytic = G`` (a VJP result, so that ``<v, J d> = <G, d>`` for every d) the
    residual at level k is ``<v, f(x + P_k) - f(x - P_k)> - <G, realised step>``, which uses
    the realised steps exactly. Without it, returns the plain directional derivative.
    Returns (value, truncation estimate, round-off estimate, largest relative deviation of a
    realised step from the nominal one, the rounding policy's allowance for ``<v, J u>``, and
    the scale of ``<v, J u>``: ``sum |v (J u)|``).
    """
    r = []
    dev = 0.0
    for k in range(LEVELS):
        tk = t / 2**k
        num = float(np.sum(v * (lev.plus[k] - lev.minus[k])))
        deltas = tuple(lev.delta[k][pos] for pos in ctx.diff)
        if analytic is not None:
            num -= _dot(analytic, tuple(d if d is not None else 0.0 for d in deltas))  # type: ignore[misc]
        r.append(num / (2.0 * tk))
        for a, d in zip(u, deltas, strict=True):
            moved = a != 0
            if d is not None and moved.any():
                rel = np.abs(d[moved] / (2.0 * tk) - a[moved]) / np.abs(a[moved])
                dev = max(dev, float(np.max(rel)))
    # Outputs the direction cannot reach (the structure check verifies that) add no rounding;
    # leaving them out also keeps huge unperturbed outputs (ReLU at 1e308) from overflowing
    # the estimate.
    yp, ym = lev.plus[-1], lev.minus[-1]
    touched = _touched(ctx, u)
    noise = ctx.model.kappa * ctx.eps_o * (np.abs(yp) + np.abs(ym)) + 2.0 * ctx.fd_noise()
    scale = _scaled_sum(np.abs(v[touched]) * noise[touched])
    t_small = t / 2 ** (LEVELS - 1)
    roundoff = 1.5 * scale / (2.0 * t_small)
    value, trunc = richardson(r[0], r[1], r[2], noise=roundoff)
    if analytic is not None:
        roundoff += ctx.eps_o * _abs_dot(analytic, u)
    # First and second derivatives along u per output, from the smallest level, for the
    # rounding policy (what the forward's rounding can do to a derivative computed from it).
    with np.errstate(all="ignore"):
        d1 = (yp - ym) / (2.0 * t_small)
        # Second differences, less what their noise can make up.
        y0p, y0m = lev.plus[0], lev.minus[0]
        # (An upper bound on |f''|: plus what the noise can hide. The directional checks are
        # lenient here; the jacobian check, entry by entry, takes the lower bound.)
        d2 = (np.abs(y0p + y0m - 2.0 * ctx.A64) + 2.0 * noise) / (t * t)
        err_out = ctx.err_out()
        pol = ctx.policy(d1, d2, err_out, np.abs(ctx.A64))
        flat = ctx.flat_out()
        if not ctx.strict:
            pol = np.where(flat, ctx.model.c_out * err_out, pol)
        pol = np.where(np.isfinite(pol), pol, 0.0)
        policy = _scaled_sum(np.abs(v[touched]) * pol[touched])
        fd_scale = _scaled_sum(np.where(np.isfinite(d1), np.abs(v * d1), 0.0)[touched])
    # The largest <v, J u> a flat forward could hide along u (0 when nothing is flat).
    fb = ctx.flat_bound()
    umax = max((float(np.max(np.abs(a), initial=0.0)) for a in u), default=0.0)
    # Outputs the stencil did not move at all (quantised) can hide a rounding of their internal
    # values over its smallest span.
    still = np.all([lev.plus[k] == lev.minus[k] for k in range(LEVELS)], axis=0)
    hide = ctx.model.kappa * ctx.eps_o * np.maximum(1.0, np.abs(ctx.A64)) / (2.0 * t_small)
    fb = np.maximum(fb, np.where(still, hide, 0.0))
    ctx.cache["flat_touched"] = _scaled_sum(np.abs(v[touched]) * fb[touched]) * umax
    return float(value), float(trunc), roundoff, dev, policy, fd_scale


def _all_near_kinks(name: str) -> Measurement:
    return Measurement.skip(
        name,
        "every entry is on or next to a kink or a domain edge, or too large for a common "
        "step; see the jacobian check",
    )


def _scaled_sum(a: F64) -> float:
    """``sum(a)`` for non-negative ``a`` without overflow in the partial sums."""
    top = float(np.max(a, initial=0.0))
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.sum(a / top))


def _unresolved(name: str) -> Measurement:
    m = Measurement(
        check=name,
        status="unresolved",
        message=(
            "finite differences cannot resolve the derivative at this input (the stencil is "
            "not in its asymptotic regime); the jacobian check compares entry by entry"
        ),
    )
    m.extra["unresolved"] = 1
    m.extra["unresolved_where"] = ["a random direction (stencil out of its regime)"]
    return m


def _terms_per_gradient_entry(ctx: Context) -> int:
    """Most outputs any gradient entry sums over (rounding grows with the sum's length)."""
    shape = ctx.A64.shape
    return max(ctx.structure(k).n_rows(shape) for k in range(len(ctx.diff)))


def _terms_per_output_entry(ctx: Context) -> int:
    """Most input entries any output entry depends on."""
    return sum(ctx.structure(k).n_probes(ctx.x[p].shape) for k, p in enumerate(ctx.diff))


def _tangent(ctx: Context, u: Vec) -> tuple[tuple[Any, ...], float]:
    """``u`` in the dtype under test, scaled by ``safe_scale`` (exact): ``(u_cast, scale)``."""
    sc = ctx.safe_scale()
    return tuple(ctx.cast(a * sc) for a in u), sc


def _impl_rounding(ctx: Context, u: Vec, v: F64, g: Vec) -> float:
    """Rounding the implementation may commit in ``<g, u>`` (see harness.errormodel)."""
    sf = ctx.model.summation_factor(_terms_per_gradient_entry(ctx))
    rel = ctx.model.c_rel * sf * _abs_dot(u, g)
    floor = sum(float(np.sum(np.abs(a) * ctx.floor(k, np.abs(v)))) for k, a in enumerate(u))
    return ctx.eps * rel + floor


def _what(ctx: Context, template: str, only: int | None) -> str:
    if len(ctx.diff) == 1:
        return template
    if only is None:
        return f"{template} (a direction over all inputs jointly)"
    return f"{template} (direction along `{ctx.names[only]}` only)"


def _where(ctx: Context, only: int | None) -> Location:
    """The input a direction moved: the one input, the one moved alone, or all (None)."""
    if len(ctx.diff) == 1:
        return ctx.location(0)
    return ctx.location(only)


def _vjp64(ctx: Context, v: F64) -> Vec:
    G = ctx.caller.vjp(ctx.X, ctx.A, ctx.cast(v))
    return tuple(np.asarray(g, dtype=np.float64) for g in G)


def check_vjp_directional(ctx: Context) -> Measurement:
    """``<vjp(X, A, v), u>`` against central differences ``<v, (f(X+hu) - f(X-hu)) / 2h>``."""
    name = "vjp_directional"
    parts = []
    try:
        for probe in _probes(ctx):
            u, t, v, lev = probe.u, probe.t, probe.v, probe.levels
            if lev is None:
                parts.append(_all_near_kinks(name))
                continue
            G = _vjp64(ctx, v)
            moved = _abs_dot(u, ctx.vjp_noise(ctx.cast(v), G))
            res, trunc, roundoff, _, policy, fd_scale = _fd_residual(ctx, u, t, v, G, lev)
            if not np.isfinite(trunc):
                parts.append(_unresolved(name))
                continue
            got = _dot(G, u)
            core = trunc + roundoff + _impl_rounding(ctx, u, v, G) + moved
            tol = ctx.model.safety * (core + policy)
            what = _what(
                ctx, "<vjp(Z, A, v), u> vs central differences of <v, f> along u", probe.only
            )
            where = _where(ctx, probe.only)
            parts.append(
                measure(
                    name,
                    got,
                    got + res,
                    tol,
                    ctx.dtype,
                    always(what),
                    err=abs(res),
                    location=always(where),
                    policy=ctx.model.safety * policy,
                    scale=max(_abs_dot(G, u), fd_scale),
                    flat=ctx.cache.get("flat_touched", False),
                    resolve=True,
                )
            )
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    return _with_inputs(ctx, name, parts)


def _with_inputs(ctx: Context, name: str, parts: list[Measurement]) -> Measurement:
    """The worst of the parts, with each input's share from the directions that moved it alone."""
    result = worst_of(name, parts)
    if len(ctx.diff) > 1:
        per: dict[str, list[Measurement]] = {n: [] for n in ctx.names}
        for p in parts:
            if p.location is not None and p.location.input is not None:
                per[p.location.input].append(p)
        result.extra["by_input"] = by_input(name, per)
    return result


def check_jvp_directional(ctx: Context) -> Measurement:
    """``<v, jvp(X, A, u)>`` against central differences along u."""
    name = "jvp_directional"
    if ctx.spec.jvp is None:
        return Measurement.skip(name, "no jvp registered")
    parts = []
    try:
        for probe in _probes(ctx):
            u, t, v, lev = probe.u, probe.t, probe.v, probe.levels
            if lev is None:
                parts.append(_all_near_kinks(name))
                continue
            # Everything in units of the scaled tangent (sc u), so that nothing overflows
            # where the derivative is near the dtype's limit (exp at 709.7).
            uc, sc = _tangent(ctx, u)
            W = np.asarray(ctx.caller.jvp(ctx.X, ctx.A, uc), dtype=np.float64)
            moved = float(np.sum(np.abs(v) * ctx.jvp_noise(uc, W)))
            fd, trunc, roundoff, dev, policy, fd_scale = _fd_residual(ctx, u, t, v, None, lev)
            if not np.isfinite(trunc):
                parts.append(_unresolved(name))
                continue
            fd, trunc, roundoff, policy, fd_scale = (
                fd * sc,
                trunc * sc,
                roundoff * sc,
                policy * sc,
                fd_scale * sc,
            )
            got = float(np.sum(v * W))
            # The stencil realises x +- t u only to the float64 spacing of x, so the finite
            # differences see a direction off from u by up to `dev` (relative) per entry.
            vw = float(np.sum(np.abs(v * W)))
            realise = 2.0 * dev * vw
            sf = ctx.model.summation_factor(_terms_per_output_entry(ctx))
            impl = ctx.eps * ctx.model.c_rel * sf * vw + sc * sum(
                float(np.sum(np.abs(a) * ctx.floor(k, np.abs(v)))) for k, a in enumerate(u)
            )
            tol = ctx.model.safety * (trunc + roundoff + realise + impl + moved + policy)
            what = _what(
                ctx, "<v, jvp(Z, A, u)> vs central differences of <v, f> along u", probe.only
            )
            where = _where(ctx, probe.only)
            parts.append(
                measure(
                    name,
                    got,
                    fd,
                    tol,
                    ctx.dtype,
                    always(what),
                    location=always(where),
                    policy=ctx.model.safety * policy,
                    scale=max(vw, fd_scale),
                    flat=sc * ctx.cache.get("flat_touched", 0.0),
                    resolve=True,
                )
            )
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    return _with_inputs(ctx, name, parts)


def check_adjoint(ctx: Context) -> Measurement:
    """The dot-product test ``<jvp(u), v> == <u, vjp(v)>``, to rounding error, no FD."""
    name = "adjoint"
    if ctx.spec.jvp is None:
        return Measurement.skip(name, "no jvp registered")
    parts = []
    try:
        for _ in range(ctx.directions):
            u = ctx.random_tangent()
            v = ctx.random_out()
            uc = tuple(ctx.cast(a) for a in u)
            W = np.asarray(ctx.caller.jvp(ctx.X, ctx.A, uc), dtype=np.float64)
            G = _vjp64(ctx, v)
            moved = float(np.sum(np.abs(v) * ctx.jvp_noise(uc, W))) + _abs_dot(
                u, ctx.vjp_noise(ctx.cast(v), G)
            )
            lhs = float(np.sum(W * v))
            rhs = _dot(u, G)
            size = sum(a.size for a in u) + v.size
            sf = ctx.model.summation_factor(size)
            rel = ctx.model.c_rel * sf * (float(np.sum(np.abs(W * v))) + _abs_dot(u, G))
            floor = 2.0 * sum(
                float(np.sum(np.abs(a) * ctx.floor(k, np.abs(v)))) for k, a in enumerate(u)
            )
            # The rounding policy, bounded by the forward's rounding and by the JVP itself.
            # (No oracle here, so no f'' to bound it by: the output-scale allowance, as the
            # jacobian and directional checks bound the derivatives themselves.)
            policy = 0.0
            if not ctx.strict:
                va = np.abs(v) * np.abs(ctx.A64)
                policy = (
                    2.0
                    * ctx.model.c_out
                    * ctx.eps
                    * sum(
                        _scaled_sum(np.abs(a) * ctx.structure(k).out_to_in(va, a.shape))
                        for k, a in enumerate(u)
                    )
                )
            tol = ctx.model.safety * (ctx.eps * rel + floor + moved + policy)
            what = "<jvp(Z, A, u), v> vs <u, vjp(Z, A, v)>"
            where = ctx.location(None) if len(ctx.diff) > 1 else ctx.location(0)
            parts.append(
                measure(
                    name,
                    lhs,
                    rhs,
                    tol,
                    ctx.dtype,
                    always(what),
                    location=always(where),
                    policy=ctx.model.safety * policy,
                    scale=max(float(np.sum(np.abs(W * v))), _abs_dot(u, G)),
                )
            )
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    return worst_of(name, parts)
