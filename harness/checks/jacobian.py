"""The explicit Jacobian, assembled three ways and compared entry by entry.

Rows come from the VJP applied to unit vectors, columns from central differences, and, when
registered, the analytic Jacobian. The declared structure says which probes can share a call
(Curtis-Powell-Reid grouping: an elementwise Jacobian needs one probe, a columnwise one n);
the ``structure`` check verifies that declaration separately, so an entry the structure says
is zero is still compared there. At a declared kink the test is the subgradient one: the
analytic value must lie between the one-sided derivatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.calls import CallFailure
from harness.checks.common import Context, Measurement, measure, worst_of
from harness.errors import JacobianTooLargeError
from harness.oracle import LEVELS, Levels, central_steps, fd_step, kink_distance, richardson

__all__ = ["check_jacobian", "jacobian_bytes"]

F64 = NDArray[np.float64]
HEATMAP_MAX = 64


def fmt_bytes(n: int) -> str:
    """A byte count for people: 1000 bytes, 9.4 KiB, 2.0 GiB."""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024.0
        if value < 1024.0:
            return f"{value:.1f} {unit}"
    return f"{value / 1024.0:.1f} TiB"


def jacobian_bytes(structure: str, shape: tuple[int, ...]) -> int:
    """Memory the assembled Jacobians need (several float64 copies of the stored entries)."""
    n, m = shape
    entries = {"elementwise": n * m, "columnwise": m * n * n}.get(structure, (n * m) ** 2)
    return 12 * 8 * entries


@dataclass
class _Assembled:
    """A Jacobian in the storage its structure allows.

    elementwise: ``(n, m)`` diagonal; columnwise: ``(m, n, n)`` blocks ``B[c, p, j] = dA[p, c]
    / dZ[j, c]``; dense: ``(N, N)`` over C-order flattening.
    """

    fd: F64
    trunc: F64
    roundoff: F64
    absA: F64  # |A| of the output each entry belongs to, broadcast like fd


def _numerator_noise(ctx: Context, lev: Levels) -> F64:
    """Round-off in ``f(x + P) - f(x - P)`` at the smallest step, per output entry.

    ``kappa`` ulps of each value, plus the measured change of the forward under a few-ulp
    change of its input (twice: one for each stencil point).
    """
    yp, ym = lev.plus[-1], lev.minus[-1]
    noise = ctx.model.kappa * ctx.eps_o * (np.abs(yp) + np.abs(ym)) + 2.0 * ctx.fd_noise()
    return np.asarray(noise, dtype=np.float64)


def _quotients(lev: Levels, delta: list[Any], noise: F64) -> tuple[F64, F64, F64]:
    """Richardson-extrapolated quotients, their truncation and round-off estimates."""
    with np.errstate(divide="ignore", invalid="ignore"):
        D = [(lev.plus[k] - lev.minus[k]) / delta[k] for k in range(LEVELS)]
        # Richardson weights 4/3 and 1/3 on the two smallest steps' round-off.
        roundoff = 1.5 * noise / np.abs(delta[-1])
        fd, trunc = richardson(D[0], D[1], D[2], noise=roundoff)
    return fd, trunc, roundoff


def _fd_elementwise(ctx: Context, h: F64) -> _Assembled:
    lev = ctx.evaluator.levels(ctx.x, [h])[0]
    fd, trunc, roundoff = _quotients(lev, list(lev.delta), _numerator_noise(ctx, lev))
    return _Assembled(fd, trunc, roundoff, np.abs(ctx.A64))


def _fd_columnwise(ctx: Context, h: F64) -> _Assembled:
    """n probes, probe j moving row j of every column, as n column blocks of one array.

    Block j of the stacked input (columns ``j*m .. (j+1)*m``) is Z with row j moved, so one
    forward call per step level and sign evaluates every probe, and the quotients come out
    as one ``(n, n, m)`` array ``[p, j, c]`` with no loop over probes.
    """
    n, m = ctx.x.shape
    rows = np.arange(n)
    P3 = np.zeros((n, n, m))
    P3[rows, rows, :] = h
    P = P3.reshape(n, n * m)
    X = np.tile(ctx.x, (1, n))
    plus, minus, deltas = [], [], []
    for k in range(LEVELS):
        Pk = P / float(2**k)
        xp, xm = X + Pk, X - Pk
        yp, ym = ctx.evaluator.forward64([xp, xm], fresh=True)
        plus.append(yp.reshape(n, n, m))
        minus.append(ym.reshape(n, n, m))
        # The realised step of probe j in its own block: row j of block j.
        deltas.append((xp - xm).reshape(n, n, m)[rows, rows, :][None, :, :])
    noise = ctx.model.kappa * ctx.eps_o * (np.abs(plus[-1]) + np.abs(minus[-1])) + (
        2.0 * ctx.fd_noise()[:, None, :]
    )
    lev = Levels(plus=tuple(plus), minus=tuple(minus), delta=tuple(deltas))
    fd, trunc, roundoff = _quotients(lev, deltas, noise)
    absA = np.broadcast_to(np.abs(ctx.A64).T[:, :, None], (m, n, n))
    # [p, j, c] -> [c, p, j]
    return _Assembled(
        np.ascontiguousarray(fd.transpose(2, 0, 1)),
        np.ascontiguousarray(trunc.transpose(2, 0, 1)),
        np.ascontiguousarray(roundoff.transpose(2, 0, 1)),
        np.asarray(absA),
    )


def _fd_dense(ctx: Context, h: F64) -> _Assembled:
    N = ctx.x.size
    probes = []
    for q in range(N):
        P = np.zeros(N)
        P[q] = h.flat[q]
        probes.append(P.reshape(ctx.x.shape))
    levs = ctx.evaluator.levels(ctx.x, probes)
    fd = np.empty((N, N))
    trunc = np.empty((N, N))
    roundoff = np.empty((N, N))
    for q, lev in enumerate(levs):
        deltas = [float(lev.delta[k].flat[q]) for k in range(LEVELS)]
        r, e, ro = _quotients(lev, deltas, _numerator_noise(ctx, lev))
        fd[:, q], trunc[:, q], roundoff[:, q] = r.ravel(), e.ravel(), ro.ravel()
    absA = np.broadcast_to(np.abs(ctx.A64).ravel()[:, None], (N, N))
    return _Assembled(fd, trunc, roundoff, np.asarray(absA))


CS_STEP = 1e-20  # complex step: no subtraction, so it can be tiny
CS_MAX_ENTRIES = 1024  # beyond this, the complex step only for single-probe Jacobians


def _complex_step(ctx: Context, h: F64, fd_shape: tuple[int, ...]) -> F64 | None:
    """The Jacobian by the complex step, Im f(x + i t P) / t, in the FD storage layout.

    None when the forward does not take complex input. Callers must cross-check the values
    against central differences: code with abs, comparisons or where on the real part is
    not holomorphic and returns a wrong (often zero) derivative without complaint.
    """
    structure = ctx.spec.structure
    x = ctx.x
    n = x.shape[0]
    if structure == "elementwise":
        probes = [np.ones_like(x)]
    elif structure == "columnwise":
        probes = []
        for j in range(n):
            P = np.zeros_like(x)
            P[j, :] = 1.0
            probes.append(P)
    else:
        probes = [np.eye(1, x.size, q).reshape(x.shape) for q in range(x.size)]
    step = CS_STEP * np.maximum(1.0, np.abs(x))
    ys = ctx.evaluator.forward_complex([x + 1j * step * P for P in probes])
    if ys is None:
        return None
    out = np.empty(fd_shape)
    for k, y in enumerate(ys):
        if structure == "elementwise":
            out[...] = np.imag(y) / step
        elif structure == "columnwise":
            out[:, :, k] = (np.imag(y) / step[k, :]).T
        else:
            out[:, k] = (np.imag(y) / step.flat[k]).ravel()
    return out


def _use_complex_step(ctx: Context, asm: _Assembled, resolved: NDArray[np.bool_], h: F64) -> str:
    """Replace the FD oracle by the complex step where it is supported and agrees.

    Returns a note for the report. The complex step is trusted only if it agrees with the
    central differences on every resolved entry within their error estimate; its error is
    then taken as its own round-off plus the measured disagreement, so a subtly wrong complex
    step cannot tighten the tolerance below what the central differences support.
    """
    cs = _complex_step(ctx, h, asm.fd.shape)
    if cs is None:
        return (
            "oracle: central differences (the forward does not take complex input, or drops "
            "its imaginary part)"
        )
    gap = np.abs(cs - asm.fd)
    fd_err = ctx.model.safety * (asm.trunc + asm.roundoff)
    ok = ~resolved | (gap <= fd_err)
    if not (np.all(ok) and np.all(np.isfinite(cs[resolved]))):
        return (
            "oracle: central differences (the complex step disagrees with them, so the "
            "forward is not holomorphic-safe: abs, comparisons or where on the real part)"
        )
    rel_noise = ctx.fd_noise() / np.maximum(np.abs(ctx.A64), ctx.tiny)
    if ctx.spec.structure == "columnwise":
        rel_noise = rel_noise.T[:, :, None]
    elif ctx.spec.structure == "dense":
        rel_noise = rel_noise.ravel()[:, None]
    cs_err = np.abs(cs) * (ctx.model.kappa * ctx.eps_o + rel_noise) + gap
    asm.fd = np.where(resolved, cs, asm.fd)
    asm.trunc = np.where(resolved, cs_err, asm.trunc)
    asm.roundoff = np.where(resolved, 0.0, asm.roundoff)
    return "oracle: complex step, cross-checked against central differences"


def _vjp_rows(ctx: Context, Z: Any, A: Any) -> F64:
    """The Jacobian's rows at Z from the VJP of unit vectors, grouped by the structure."""
    n, m = ctx.x.shape
    structure = ctx.spec.structure
    if structure == "elementwise":
        ones = np.ones_like(Z)
        return np.asarray(ctx.caller.vjp(Z, A, ones), dtype=np.float64)
    if structure == "columnwise":
        # One call: n copies of the input side by side, copy p probing row p of every block.
        Zt = np.tile(Z, (1, n))
        At = np.tile(A, (1, n))
        V = np.zeros((n, n * m), dtype=ctx.dtype)
        for p in range(n):
            V[p, p * m : (p + 1) * m] = 1
        G = np.asarray(ctx.caller.vjp(Zt, At, V), dtype=np.float64)
        rows = np.empty((m, n, n))
        for p in range(n):
            rows[:, p, :] = G[:, p * m : (p + 1) * m].T
        return rows
    N = n * m
    J = np.empty((N, N))
    for p in range(N):
        V = np.zeros(N, dtype=ctx.dtype)
        V[p] = 1
        J[p, :] = np.asarray(ctx.caller.vjp(Z, A, V.reshape(n, m)), dtype=np.float64).ravel()
    return J


def _jvp_cols(ctx: Context, h: F64) -> F64:
    """The Jacobian's columns from the JVP of unit vectors, grouped by the structure."""
    n, m = ctx.x.shape
    structure = ctx.spec.structure
    if structure == "elementwise":
        ones = np.ones_like(ctx.Z)
        return np.asarray(ctx.caller.jvp(ctx.Z, ctx.A, ones), dtype=np.float64)
    if structure == "columnwise":
        # One call, as for the VJP rows: copy j of the input probes column j of every block.
        U = np.zeros((n, n * m), dtype=ctx.dtype)
        for j in range(n):
            U[j, j * m : (j + 1) * m] = 1
        W = np.asarray(
            ctx.caller.jvp(np.tile(ctx.Z, (1, n)), np.tile(ctx.A, (1, n)), U), dtype=np.float64
        )
        cols = np.empty((m, n, n))
        for j in range(n):
            cols[:, :, j] = W[:, j * m : (j + 1) * m].T
        return cols
    N = n * m
    J = np.empty((N, N))
    for q in range(N):
        U = np.zeros(N, dtype=ctx.dtype)
        U[q] = 1
        J[:, q] = np.asarray(
            ctx.caller.jvp(ctx.Z, ctx.A, U.reshape(n, m)), dtype=np.float64
        ).ravel()
    return J


def _analytic(ctx: Context) -> tuple[F64, Measurement | None]:
    """The registered analytic Jacobian in the structure's storage.

    For an elementwise spec the off-diagonal entries it returns are compared with zero here.
    """
    n, m = ctx.x.shape
    structure = ctx.spec.structure
    if structure == "dense":
        J = ctx.caller.jacobian(ctx.Z, ctx.A, (n * m, n * m))
        return np.asarray(J, dtype=np.float64), None
    blocks = np.empty((m, n, n))
    for c in range(m):
        blocks[c] = np.asarray(
            ctx.caller.jacobian(ctx.Z[:, c].copy(), ctx.A[:, c].copy(), (n, n)), dtype=np.float64
        )
    if structure == "columnwise":
        return blocks, None
    diag = np.einsum("cjj->jc", blocks)
    off = blocks.copy()
    idx = np.arange(n)
    off[:, idx, idx] = 0.0
    zero_tol = ctx.model.safety * ctx.eps * ctx.model.c_rel * np.abs(ctx.A64).T[:, :, None]
    off_m = measure(
        "jacobian",
        off,
        np.zeros_like(off),
        np.broadcast_to(zero_tol, off.shape),
        ctx.dtype,
        lambda i: (
            f"analytic jacobian of column {i[0]}: off-diagonal entry [{i[1]}, {i[2]}] of "
            f"an elementwise function (must be 0)"
        ),
        location=lambda i: (i[1], i[2]),
    )
    return np.asarray(diag), off_m


def _describe(structure: str, source: str) -> Any:
    if structure == "elementwise":
        return lambda i: f"d A[{i[0]}, {i[1]}] / d Z[{i[0]}, {i[1]}]: {source}"
    if structure == "columnwise":
        return lambda i: f"column {i[0]}: d A[{i[1]}, {i[0]}] / d Z[{i[2]}, {i[0]}]: {source}"
    return lambda i: f"J[{i[0]}, {i[1]}] (C-order flat indices): {source}"


def _location(structure: str, shape: tuple[int, ...]) -> Any:
    """(row, column) of the worst entry: in A for elementwise, in the Jacobian otherwise."""
    m = shape[1]
    if structure == "elementwise":
        return lambda i: (i[0], i[1])
    if structure == "columnwise":
        # Jacobian row/column over C-order flattening of (n, m).
        return lambda i: (i[1] * m + i[0], i[2] * m + i[0])
    return lambda i: (i[0], i[1])


def _heatmap(ratio: F64, structure: str, worst: tuple[int, ...] | None) -> dict[str, Any]:
    """log10(error / tolerance), reduced by block maxima to at most 64 x 64."""
    if structure == "columnwise":
        c = worst[0] if worst is not None else 0
        mat = ratio[c]
        title = f"column {c}: n x n block"
    else:
        mat = ratio
        title = "diagonal as (n, m)" if structure == "elementwise" else "full Jacobian"
    r, c_ = mat.shape
    fr, fc = -(-r // HEATMAP_MAX), -(-c_ // HEATMAP_MAX)
    pad = np.full((fr * -(-r // fr), fc * -(-c_ // fc)), 0.0)
    pad[:r, :c_] = np.where(np.isfinite(mat), mat, 1e30)
    red = pad.reshape(pad.shape[0] // fr, fr, pad.shape[1] // fc, fc).max(axis=(1, 3))
    with np.errstate(divide="ignore"):
        logr = np.log10(np.maximum(red, 1e-300))
    logr = np.clip(logr, -20.0, 30.0)
    return {
        "rows": int(red.shape[0]),
        "cols": int(red.shape[1]),
        "title": title,
        "log10_ratio": [[round(float(v), 3) for v in row] for row in logr],
    }


def _kink_subgradients(ctx: Context, G: F64, on_kink: NDArray[np.bool_], moved: F64) -> Measurement:
    """At entries on a kink, the analytic derivative must lie between the one-sided ones."""
    x = ctx.x
    kinks = ctx.spec.kinks
    # One-sided steps, kept off any *other* kink.
    h = fd_step(x, ctx.model.one_sided_step(ctx.oracle_dtype), ctx.oracle_dtype)
    others = np.full(x.shape, np.inf)
    for k in kinks:
        d = np.abs(x - k)
        others = np.minimum(others, np.where(d == 0.0, np.inf, d))
    h = np.where(on_kink, np.minimum(h, 0.5 * others), 0.0)
    pts = [x + h, x + h / 2, x - h, x - h / 2]
    fp1, fp2, fm1, fm2 = ctx.evaluator.forward64(pts)
    f0 = ctx.A64
    with np.errstate(divide="ignore", invalid="ignore"):
        dp1, dp2 = (x + h) - x, (x + h / 2) - x
        dm1, dm2 = x - (x - h), x - (x - h / 2)
        r1, r2 = (fp1 - f0) / dp1, (fp2 - f0) / dp2
        l1, l2 = (f0 - fm1) / dm1, (f0 - fm2) / dm2
        right, left = 2 * r2 - r1, 2 * l2 - l1
        k = ctx.model.kappa * ctx.eps_o
        noise = 2.0 * ctx.fd_noise()
        e_right = np.abs(r2 - r1) + 3 * (k * (np.abs(fp2) + np.abs(f0)) + noise) / dp2
        e_left = np.abs(l2 - l1) + 3 * (k * (np.abs(fm2) + np.abs(f0)) + noise) / dm2
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    impl = (
        ctx.eps * (ctx.model.c_rel * np.maximum(np.abs(lo), np.abs(hi)) + ctx.c_out * np.abs(f0))
        + ctx.model.c_tiny * ctx.tiny
        + moved
    )
    tol = ctx.model.safety * (np.maximum(e_left, e_right) + impl)
    err = np.where(lo > G, lo - G, np.where(hi < G, G - hi, 0.0))
    sel = np.argwhere(on_kink)
    got = G[on_kink]
    mid = ((lo + hi) / 2)[on_kink]
    lo_s, hi_s = lo[on_kink], hi[on_kink]
    m = measure(
        "jacobian",
        got,
        mid,
        tol[on_kink],
        ctx.dtype,
        lambda i: (
            f"d A / d Z at kink entry {tuple(int(v) for v in sel[i[0]])} "
            f"(z = {x[tuple(sel[i[0]])]!r}): must lie in the one-sided interval "
            f"[{lo_s[i[0]]:.17g}, {hi_s[i[0]]:.17g}]"
        ),
        err=err[on_kink],
        location=lambda i: tuple(int(v) for v in sel[i[0]]),
    )
    if m.failed:
        m.message = f"not a subgradient at a kink: {m.message}"
    return m


def _step_curve(ctx: Context, fd_entry: tuple[int, int, int], got: float) -> dict[str, Any]:
    """|central difference(h) - analytic| over h for one Jacobian entry (out p, in j)."""
    p, j, _ = fd_entry
    entry = [int(p), int(j)]
    x = ctx.x
    if ctx.spec.structure != "dense":
        # Under the declared (and separately verified) structure only the column of entry j
        # matters: evaluate that column alone rather than the whole input 60 times.
        m = x.shape[1]
        col = j % m
        x = x[:, col : col + 1].copy()
        p, j = p // m, j // m
    base = ctx.model.base_step(ctx.oracle_dtype)
    scale = float(fd_step(x, base, ctx.oracle_dtype).flat[j]) / base
    rel = np.logspace(-15, -0.5, 30)
    dist = float(kink_distance(x, ctx.spec.kinks).flat[j])
    rel = rel[rel * scale < 0.5 * dist] if np.isfinite(dist) else rel
    pts: list[F64] = []
    for r in rel:
        P = np.zeros(x.size)
        P[j] = r * scale
        pts.extend((x + P.reshape(x.shape), x - P.reshape(x.shape)))
    ys = ctx.evaluator.forward64(pts)
    steps, errors = [], []
    for i, r in enumerate(rel):
        delta = float((pts[2 * i] - pts[2 * i + 1]).flat[j])
        if delta == 0:
            continue
        d = (float(ys[2 * i].flat[p]) - float(ys[2 * i + 1].flat[p])) / delta
        steps.append(float(r * scale))
        errors.append(abs(d - got))
    return {
        "steps": steps,
        "errors": errors,
        "chosen": float(ctx.model.base_step(ctx.oracle_dtype) * scale),
        "dtype": str(ctx.dtype),
        "entry": entry,
    }


def check_jacobian(ctx: Context) -> Measurement:
    """Entry-by-entry comparison of the Jacobian from the VJP, FD, JVP and analytic forms."""
    name = "jacobian"
    structure = ctx.spec.structure
    need = jacobian_bytes(structure, ctx.x.shape)
    if need > ctx.max_jacobian_bytes:
        raise JacobianTooLargeError(
            f"the explicit Jacobian of {ctx.spec.name!r} at shape {ctx.x.shape} "
            f"({structure}) needs about {fmt_bytes(need)}, over the budget of "
            f"{fmt_bytes(ctx.max_jacobian_bytes)}; raise max_jacobian_bytes or check a "
            f"smaller input"
        )
    h, on_kink = central_steps(ctx.x, ctx.spec.kinks, ctx.model, ctx.oracle_dtype)
    try:
        if structure == "elementwise":
            asm = _fd_elementwise(ctx, h)
        elif structure == "columnwise":
            asm = _fd_columnwise(ctx, h)
        else:
            asm = _fd_dense(ctx, h)
        rows = _vjp_rows(ctx, ctx.Z, ctx.A)
        sources: list[tuple[str, F64]] = [("vjp row vs central differences", rows)]
        # How far a few-ulp change of Z moves the rows: the implementation's own rounding
        # that grows with |z| (see harness.errormodel).
        moved = np.zeros(rows.shape)
        if ctx.Zp is not None and ctx.Ap is not None:
            moved = ctx.model.c_noise * np.abs(_vjp_rows(ctx, ctx.Zp, ctx.Ap) - rows)
            moved = np.where(np.isfinite(moved), moved, 0.0)
        if ctx.spec.jvp is not None:
            sources.append(("jvp column vs central differences", _jvp_cols(ctx, h)))
        extra: list[Measurement] = []
        if ctx.spec.jacobian is not None:
            analytic, off = _analytic(ctx)
            sources.append(("analytic jacobian vs central differences", analytic))
            if off is not None:
                extra.append(off)
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)

    smooth = ~on_kink if structure == "elementwise" else np.ones(asm.fd.shape, dtype=bool)
    note = ""
    # The complex step costs one complex forward (about three real ones) per probe. It is
    # added where that is cheap: an elementwise Jacobian needs one probe; a columnwise or
    # dense one needs n or N, and there the three-level central differences already meet the
    # error model's sensitivity, so the complex step is used only on small inputs.
    probes = {"elementwise": 1, "columnwise": ctx.x.shape[0]}.get(structure, ctx.x.size)
    if ctx.complex_step and (probes == 1 or ctx.x.size <= CS_MAX_ENTRIES):
        try:
            note = _use_complex_step(ctx, asm, smooth & np.isfinite(asm.trunc), h)
        except CallFailure as exc:
            note = f"oracle: central differences (complex input failed: {exc.kind})"
    n_sum = ctx.x.shape[0] if structure != "elementwise" else 1
    impl_rel = ctx.model.c_rel * ctx.model.summation_factor(n_sum) * np.abs(asm.fd)
    impl = ctx.eps * (impl_rel + ctx.c_out * asm.absA) + ctx.model.c_tiny * ctx.tiny + moved
    tol = ctx.model.safety * (asm.trunc + asm.roundoff + impl)
    tol = np.where(smooth, tol, np.inf)
    resolved = ~smooth | np.isfinite(asm.trunc)
    parts: list[Measurement] = list(extra)
    ratios = []
    locate = _location(structure, ctx.x.shape)
    for source, J in sources:
        got = np.where(smooth, J, 0.0)
        exp = np.where(smooth, asm.fd, 0.0)
        m = measure(name, got, exp, tol, ctx.dtype, _describe(structure, source), valid=resolved)
        if m.location is not None:
            m.extra["raw_index"] = m.location
            m.location = locate(m.location)
        parts.append(m)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios.append(np.where(smooth & resolved, np.abs(J - asm.fd) / tol, 0.0))
        if structure == "elementwise" and on_kink.any():
            parts.append(_kink_subgradients(ctx, J, on_kink, moved))
    result = worst_of(name, parts)
    result.extra["oracle"] = note.removeprefix("oracle: ") if note else "central differences"
    if note and not result.message:
        result.message = note
    if ctx.detail and ratios:
        ratio = np.maximum.reduce(ratios)
        raw = result.extra.get("raw_index")
        result.heatmap = _heatmap(ratio, structure, raw)
        if raw is not None and result.status != "skip":
            result.step_curve = _curve_for(ctx, structure, raw, result.got)
    return result


def _curve_for(
    ctx: Context, structure: str, raw: tuple[int, ...], got: float
) -> dict[str, Any] | None:
    m = ctx.x.shape[1]
    if structure == "elementwise":
        flat = raw[0] * m + raw[1]
        return _step_curve(ctx, (flat, flat, 0), got)
    if structure == "columnwise":
        c, p, j = raw
        return _step_curve(ctx, (p * m + c, j * m + c, 0), got)
    return _step_curve(ctx, (raw[0], raw[1], 0), got)
