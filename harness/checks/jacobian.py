"""The explicit Jacobian, one block per differentiable input, compared entry by entry.

Rows come from the VJP applied to unit cotangents, columns from central differences (and the
complex step where the forward is holomorphic), from the JVP when registered, and from the
analytic Jacobian of a one-input spec. The declared structure of each input says which
probes can share a call (Curtis-Powell-Reid grouping): a block is stored as ``(outputs,
probes)``, entry ``[o, r]`` being the derivative of output o with respect to the one input
entry that probe r moves for it (``Structure.input_index``). An elementwise block needs one
probe, a columnwise one n, the dense layer's ``W`` k; the ``structure`` check verifies the
declaration separately. At a declared kink the test is the subgradient one: the analytic
value must lie between the one-sided derivatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.calls import CallFailure
from harness.checks.common import (
    Context,
    Location,
    Measurement,
    measure,
    verdict_of,
    worst_of,
)
from harness.domains import Domain, stencil_room
from harness.errormodel import RESOLUTION
from harness.errors import JacobianTooLargeError
from harness.jumps import classify_step_curve, estimate_jump
from harness.oracle import LEVELS, central_steps, fd_step, grown, kink_distance, richardson

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


def jacobian_bytes(
    spec: Any, in_shapes: tuple[tuple[int, ...], ...], out_shape: tuple[int, ...]
) -> int:
    """Memory the assembled blocks need (several float64 copies of the stored entries)."""
    n_out = int(np.prod(out_shape, dtype=np.int64))
    entries = 0
    for n in spec.diff_inputs:
        entries += n_out * spec.structures[n].n_probes(in_shapes[spec.inputs.index(n)])
    return 12 * 8 * entries


@dataclass
class _Block:
    """The finite-difference oracle of one block, ``(outputs, probes)``, and its error terms."""

    fd: F64
    trunc: F64
    roundoff: F64
    absA: F64  # |A| of the output each entry belongs to, broadcast like fd
    d2: F64  # upper bound on |f''| from second differences (for the rounding policy)
    cs_used: NDArray[np.bool_] | None = None  # entries the complex step replaced
    probes: Any = field(default_factory=lambda: slice(None))  # its columns: all probes, or some
    still_hide: F64 | None = None  # where the stencil did not move: the derivative it can hide
    zero_floor: float = 0.0  # the complex step's resolution of a derivative of 0


@dataclass(frozen=True)
class _Geometry:
    """Index bookkeeping of one block: input k's structure against the output."""

    k: int
    pos: int
    name: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    Q: NDArray[np.intp]  # (n_out, R): flat input index moved by probe r for output o
    R: int

    def describe(self, ctx: Context, source: str) -> Any:
        legacy = ctx.spec.inputs == ("Z",)
        out_name, in_name = ("A", "Z") if legacy else ("out", self.name)

        def text(i: tuple[int, ...]) -> str:
            o, q = self.indices(i)
            return f"d {out_name}{_fmt(o)} / d {in_name}{_fmt(q)}: {source}"

        return text

    def indices(self, i: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        o_flat, r = int(i[0]), int(i[1])
        o = (
            tuple(int(v) for v in np.unravel_index(o_flat, self.out_shape))
            if self.out_shape
            else ()
        )
        q_flat = int(self.Q[o_flat, r])
        q = tuple(int(v) for v in np.unravel_index(q_flat, self.in_shape)) if self.in_shape else ()
        return o, q

    def locate(self, ctx: Context) -> Any:
        def loc(i: tuple[int, ...]) -> Location:
            o, q = self.indices(i)
            return ctx.location(self.k, q, o)

        return loc


def _fmt(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(v) for v in idx) + "]"


def _geometry(ctx: Context, k: int) -> _Geometry:
    pos = ctx.diff[k]
    s = ctx.structure(k)
    in_shape, out_shape = ctx.x[pos].shape, ctx.A64.shape
    return _Geometry(
        k=k,
        pos=pos,
        name=ctx.names[k],
        in_shape=in_shape,
        out_shape=out_shape,
        Q=s.input_index(in_shape, out_shape),
        R=s.n_probes(in_shape),
    )


def _steps(ctx: Context, g: _Geometry) -> tuple[F64, NDArray[np.bool_]]:
    """Per-entry steps of input k, kept off kinks and inside its domain."""
    x = ctx.x[g.pos]
    kinks = ctx.spec.kinks_of(g.name)
    h, on_kink = central_steps(x, kinks, ctx.model, ctx.oracle_dtype)
    dom = ctx.spec.domain_of(g.name)
    lo, hi = float(getattr(dom, "lo", -np.inf)), float(getattr(dom, "hi", np.inf))
    if np.isfinite(lo) or np.isfinite(hi):
        # Near an edge the function's features shrink with the distance to it (log(A) at
        # A = 5e-17): a step of an eighth of that distance keeps Richardson's estimate honest.
        h = np.minimum(h, 0.125 * np.minimum(x - lo, hi - x))
    return h, on_kink


def _fd_block(ctx: Context, g: _Geometry, h: F64, probes: Sequence[int] | None = None) -> _Block:
    """Central differences, one probe per index of the free input axes, three levels each
    (``probes``: only those columns of the block, in that order)."""
    s = ctx.structure(g.k)
    n_out = int(np.prod(g.out_shape, dtype=np.int64))
    which = list(range(g.R)) if probes is None else list(probes)
    shape = (n_out, len(which))
    D = [np.empty(shape) for _ in range(LEVELS)]
    noise = np.empty(shape)
    small = np.empty(shape)
    curv = np.empty(shape)
    still = np.empty(shape, dtype=bool)
    centre = ctx.A64.ravel()
    fd_noise = 2.0 * ctx.fd_noise().ravel()
    # A value that underflows (PReLU's a * Z at 1e-355) is off by up to half the smallest
    # subnormal, however small the value itself: the finite differences cannot see less.
    underflow = 2.0 * ctx.model.kappa * float(np.finfo(ctx.oracle_dtype).smallest_subnormal)
    # A step squeezed below the base step by a kink or a domain edge works where the noise
    # stencil could hardly move the entry, and where forwards cancel (ELU's alpha (exp(z) - 1)
    # at z = -1e-10 is 1.8e-10 with an error of 2e-16): intermediates of size max(1, |A|) are
    # assumed there.
    squeezed = (h < ctx.model.base_step(ctx.oracle_dtype)).ravel()
    cancel = 2.0 * ctx.model.kappa * ctx.eps_o * np.maximum(1.0, np.abs(centre))
    for c, r in enumerate(which):
        P = np.where(s.probe_mask(g.in_shape, r), h, 0.0)
        probe: list[F64 | None] = [None] * len(ctx.x)
        probe[g.pos] = P
        lev = ctx.evaluator.levels(ctx.x, [tuple(probe)])[0]
        q = g.Q[:, r]
        for lv in range(LEVELS):
            delta = lev.delta[lv][g.pos]
            assert delta is not None
            D[lv][:, c] = (lev.plus[lv] - lev.minus[lv]).ravel() / delta.ravel()[q]
        noise[:, c] = (
            ctx.model.kappa * ctx.eps_o * (np.abs(lev.plus[-1]) + np.abs(lev.minus[-1])).ravel()
            + fd_noise
            + underflow
            + np.where(squeezed[g.Q[:, r]], cancel, 0.0)
        )
        last = lev.delta[-1][g.pos]
        first = lev.delta[0][g.pos]
        assert last is not None and first is not None
        small[:, c] = np.abs(last.ravel()[q])
        # The forward did not move at all across the stencil (quantised: 1 + exp(-30)).
        still[:, c] = np.all(
            [lev.plus[k].ravel() == lev.minus[k].ravel() for k in range(LEVELS)], axis=0
        )
        with np.errstate(all="ignore"):
            # Second differences at the largest step, plus what their noise can hide: an
            # upper bound on |f''|.
            half = np.abs(first.ravel()[q]) / 2.0
            num = np.abs(lev.plus[0].ravel() + lev.minus[0].ravel() - 2.0 * centre)
            curv[:, c] = (num + 2.0 * noise[:, c]) / (half * half)
    # Richardson weights 4/3 and 1/3 on the two smallest steps' round-off.
    roundoff = 1.5 * noise / small
    fd, trunc = richardson(D[0], D[1], D[2], noise=roundoff)
    absA = np.broadcast_to(np.abs(ctx.A64).ravel()[:, None], fd.shape)
    blk = _Block(fd, trunc, roundoff, np.asarray(absA), curv)
    # What a forward that did not move can hide: a rounding of its internal values (kappa eps
    # max(1, |A|)) over the stencil's smallest span.
    hide = ctx.model.kappa * ctx.eps_o * np.maximum(1.0, absA) / np.maximum(small, 1e-300)
    blk.still_hide = np.where(still, hide, 0.0)
    if probes is not None:
        blk.probes = which
    return blk


CS_STEP = 1e-20  # complex step: no subtraction, so it can be tiny, and absolute
CS_WEAK = float(np.finfo(np.float64).tiny) / float(np.finfo(np.float64).eps)
CS_TRUST = 1e-6  # central differences this accurate (relative) can vouch for the complex step
CS_MAX_ENTRIES = 1024  # beyond this, a block of many probes cross-checks on a sample
CS_SAMPLE = 8  # probes whose central differences cross-check the complex step on a large block


def _complex_step(ctx: Context, g: _Geometry) -> tuple[F64, F64] | None:
    """The block by the complex step, Im f(x + i t P) / t, or None without complex support.

    Callers must cross-check the values against central differences: code with abs,
    comparisons or where on the real part is not holomorphic and returns a wrong (often
    zero) derivative without complaint.
    """
    return _complex_step_at(ctx, g, ctx.x)


def _complex_step_at(
    ctx: Context, g: _Geometry, xs: tuple[F64, ...], probes: Sequence[int] | None = None
) -> tuple[F64, F64] | None:
    """The complex-step block at the point ``xs`` (an absolute step: nothing is subtracted,
    so the step need not grow with |z|, and it resolves softmax at tied logits of 1e162),
    and its resolution floor per entry; the columns of ``probes`` only, when given."""
    s = ctx.structure(g.k)
    x = xs[g.pos]
    # Near a domain edge the function's features shrink to the distance to it (log(1 - A)
    # at A = 1 - 9e-16): the step stays far below that distance.
    dom = ctx.spec.domain_of(g.name)
    below, above = stencil_room(x, dom if isinstance(dom, Domain) else None)
    step = np.minimum(CS_STEP, 2.0**-30 * np.minimum(below, above))
    step = np.where(step > 0, step, CS_STEP)
    which = list(range(g.R)) if probes is None else list(probes)
    out = np.empty((int(np.prod(g.out_shape, dtype=np.int64)), len(which)))
    floor = np.zeros(out.shape)
    flat_step = step.ravel()
    # One probe at a time: the complex points and outputs of all probes together would take
    # R times the input's size (1 GiB for the dense layer's W).
    for c, r in enumerate(which):
        pt: list[Any] = list(xs)
        pt[g.pos] = x + 1j * np.where(s.probe_mask(g.in_shape, r), step, 0.0)
        ys = ctx.evaluator.forward_complex([tuple(pt)])
        if ys is None:
            return None
        im = np.imag(ys[0]).ravel()
        st = flat_step[g.Q[:, r]]
        # An imaginary part near the underflow range has lost its precision (or all of it):
        # the value is only known to within CS_WEAK / step there (an exact 0, ReLU's
        # derivative below its kink, is 0 to that resolution, not unknown).
        weak = np.abs(im) < CS_WEAK
        out[:, c] = im / st
        floor[:, c] = np.where(weak, CS_WEAK / st, 0.0)
    return out, floor


def _trusted_elsewhere(ctx: Context, g: _Geometry, probes: Any = None) -> bool:
    """Whether the complex step agrees with central differences at an ordinary point
    (on the block's ``probes`` only, when given: a large block's sample).

    Used when central differences resolve no entry of this input reliably (softmax at tied
    logits of 1e162, softplus at z = -50): the input with magnitudes moved into [0.5, 2]
    (same signs, same ties), where they are reliable and the derivatives are not ~0. Only for
    inputs on the whole real line.
    """
    dom = ctx.spec.domain_of(g.name)
    if np.isfinite(float(getattr(dom, "lo", -np.inf))) or np.isfinite(
        float(getattr(dom, "hi", np.inf))
    ):
        return False
    x = ctx.x[g.pos]
    # Same signs and ties, magnitudes moved into [0.5, 2]: derivatives there are not ~0, so
    # agreement means something (abs-based code gives 0 by both methods next to 0).
    aux = np.where(x < 0, -1.0, 1.0) * np.clip(np.abs(x), 0.5, 2.0)
    xs = list(ctx.x)
    xs[g.pos] = aux
    point = tuple(xs)
    which = list(range(g.R)) if probes is None else list(probes)
    got = _complex_step_at(ctx, g, point, which)
    if got is None:
        return False
    cs = np.where(got[1] > 0, np.nan, got[0])  # only entries the step resolves vouch
    s = ctx.structure(g.k)
    h = fd_step(aux, ctx.model.base_step(ctx.oracle_dtype), ctx.oracle_dtype)
    n_out = int(np.prod(g.out_shape, dtype=np.int64))
    D = [np.empty((n_out, len(which))) for _ in range(LEVELS)]
    roundoff = np.empty((n_out, len(which)))
    for c, r in enumerate(which):
        P = np.where(s.probe_mask(g.in_shape, r), h, 0.0)
        probe: list[F64 | None] = [None] * len(ctx.x)
        probe[g.pos] = P
        lev = ctx.evaluator.levels(point, [tuple(probe)])[0]
        for lv in range(LEVELS):
            delta = lev.delta[lv][g.pos]
            assert delta is not None
            D[lv][:, c] = (lev.plus[lv] - lev.minus[lv]).ravel() / delta.ravel()[g.Q[:, r]]
        small = np.abs(lev.delta[-1][g.pos].ravel()[g.Q[:, r]])  # type: ignore[union-attr]
        noise = ctx.model.kappa * ctx.eps_o * (np.abs(lev.plus[-1]) + np.abs(lev.minus[-1]))
        roundoff[:, c] = 1.5 * noise.ravel() / small
    fd, trunc = richardson(D[0], D[1], D[2], noise=roundoff)
    trunc = trunc + roundoff
    ok = np.isfinite(trunc) & ~np.isnan(cs)
    if not ok.any():
        return False
    scale = max(1e-300, float(np.max(np.abs(fd[ok]))))
    tol = ctx.model.safety * (trunc + 1e-10 * scale)
    meaningful = ok & (np.abs(fd) > 1e3 * tol)
    return bool(
        meaningful.any()
        and np.all(np.abs(cs[ok] - fd[ok]) <= tol[ok])
        and np.all(np.isfinite(cs[ok]))
    )


def _cs_rel_noise(ctx: Context, g: _Geometry) -> F64:
    """The forward's measured noise relative to each output, as a share of the complex step's
    error (a forward that computes in a narrower precision limits its imaginary part too).

    Left out for outputs that depend on entries of ``|z|`` above ~2e11 of input k: the noise
    stencil cannot be finer than an ulp there, and what it measures is the function changing
    over an ulp (0.75 across one ulp at tied logits of 1e122), not the forward's precision.
    """
    base = ctx.model.base_step(ctx.oracle_dtype)
    x = ctx.x[g.pos]
    coarse = grown(x, base, ctx.oracle_dtype).astype(np.float64)
    reaches = ctx.structure(g.k).in_to_out(coarse, ctx.A64.shape) > 0
    a = np.abs(ctx.A64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = ctx.fd_noise() / a
    # An output that is exactly 0 (a cotangent of 0) has no relative precision of its own:
    # the forward's typical one, the median over the other outputs, stands in for it.
    known = (a > 0) & np.isfinite(rel) & ~reaches
    typical = float(np.median(rel[known])) if known.any() else 0.0
    rel = np.where(a > 0, rel, typical)
    return np.asarray(np.where(reaches, 0.0, rel), dtype=np.float64).ravel()[:, None]


def _use_complex_step(
    ctx: Context,
    g: _Geometry,
    blk: _Block,
    resolved: NDArray[np.bool_],
    smooth: NDArray[np.bool_],
    got: tuple[F64, F64] | None = None,
) -> str:
    """Replace the FD oracle by the complex step where it is supported and trusted.

    Trust is established where central differences are reliable: the complex step must agree
    with them on every entry they resolve (within their error estimate), and there must be
    such entries, here or at an ordinary point (:func:`_trusted_elsewhere`). It is then used
    on every smooth entry, including those central differences cannot resolve. Its error is
    its own round-off plus the measured disagreement, so a subtly wrong complex step cannot
    tighten the tolerance below what the central differences support. ``got``: the complex
    step's block and floor already evaluated (the columns of ``blk``).
    """
    if got is None:
        got = _complex_step(ctx, g)
    if got is None:
        return (
            "oracle: central differences (the forward does not take complex input, or drops "
            "its imaginary part)"
        )
    cs, cs_floor = got
    gap = np.abs(cs - blk.fd)
    fd_err = ctx.model.safety * (blk.trunc + blk.roundoff)
    # Entries that lost precision to underflow are used but do not vouch; an exact 0 does
    # vouch: it is ReLU's derivative below its kink, or code that drops the imaginary part
    # (abs, where on the real part), which the agreement test must see.
    known = ~np.isnan(cs) & ((cs_floor == 0) | (cs == 0))
    # Only entries central differences resolve can vouch or object: their error clearly below
    # the entry (or below the block's rounding, for entries near 0). Softmin at tied logits
    # of 2.5e16, where 16 ulps of z span its features, gives -0.024 +- 0.03 for -0.22.
    # Nor can entries whose step had to grow past the base step to span 16 ulps (|z| above
    # ~2e11): with features of size ~1 such a step sees a jump, and its quotient, ~1e-122 at
    # tied logits of 1e122, passes the round-off test while the derivative is 0.19.
    base = ctx.model.base_step(ctx.oracle_dtype)
    coarse = grown(ctx.x[g.pos], base, ctx.oracle_dtype).ravel()[g.Q[:, blk.probes]]
    with np.errstate(invalid="ignore"):
        finite_fd = np.abs(blk.fd[resolved & ~coarse & np.isfinite(blk.fd)])
        floor = ctx.eps_o * float(np.max(finite_fd, initial=0.0))
        fd_resolves = resolved & ~coarse & (fd_err < RESOLUTION * np.maximum(np.abs(blk.fd), floor))
    resolved = fd_resolves & known
    # An imaginary part that underflowed to 0 says only |f'| < its floor (1e-272): softmax's
    # 1.7e-305 next to a logit of 795 agrees with it.
    ok = ~resolved | (gap <= fd_err + cs_floor)
    if not (np.all(ok) and np.all(np.isfinite(cs[resolved]))):
        return (
            "oracle: central differences (the complex step disagrees with them, so the "
            "forward is not holomorphic-safe: abs, comparisons or where on the real part)"
        )
    # Trust needs agreement where central differences are reliable (error below 1e-6 of the
    # block's scale), here or at an ordinary point.
    scale = float(np.max(np.abs(blk.fd[resolved]), initial=0.0))
    reliable = resolved & (fd_err <= CS_TRUST * scale) & (np.abs(blk.fd) > 0)
    # Agreement next to 0 proves little (numpy's complex sign(z) = z / |z| gives tanh(z) / z
    # for tanh's derivative, right only near 0): trust needs a reliable entry of ordinary
    # magnitude, here or at the ordinary point.
    mag = np.abs(ctx.x[g.pos]).ravel()[g.Q[:, blk.probes]]
    ordinary = reliable & (mag >= 0.25) & (mag <= 4.0)
    sample = None if isinstance(blk.probes, slice) else blk.probes
    if not ordinary.any() and not _trusted_elsewhere(ctx, g, sample):
        return "oracle: central differences (no entry where the complex step could be trusted)"
    rel_noise = _cs_rel_noise(ctx, g)
    # Its error: its own round-off, plus the disagreement where central differences are
    # reliable enough to measure one.
    cs_err = (
        np.abs(cs) * (ctx.model.kappa * ctx.eps_o + rel_noise)
        + np.where(reliable, gap, 0.0)
        + cs_floor
    )
    # Where central differences resolve the entry, the complex step is not allowed to be
    # tighter than they are: a non-holomorphic term smaller than their error (the stable
    # softplus' log1p(exp(-|z|)) at z = 30, 9e-14) would pass the cross-check unseen. Where
    # they cannot resolve it (their error not clearly below the derivative: z = 1e12, where a
    # step of 16 ulps of z leaves round-off of the order of the derivative), the complex
    # step's own precision serves.
    cs_err = np.maximum(cs_err, np.where(fd_resolves, blk.trunc + blk.roundoff, 0.0))
    use = smooth & np.isfinite(cs)
    blk.fd = np.where(use, cs, blk.fd)
    blk.trunc = np.where(use, cs_err, blk.trunc)
    blk.roundoff = np.where(use, 0.0, blk.roundoff)
    blk.cs_used = use
    blk.zero_floor = ctx.model.safety * float(np.max(np.where(use, cs_floor, 0.0), initial=0.0))
    return "oracle: complex step, cross-checked against central differences"


def _cramp(ctx: Context, g: _Geometry, h: F64, blk: _Block) -> None:
    """A step squeezed by a domain edge to fewer than 16 ulps of the entry (a probability 4
    ulps below 1) cannot be resolved by central differences: unresolved, unless the complex
    step resolves it."""
    x_in = ctx.x[g.pos]
    cramped = (h > 0) & (h < 16.0 * np.spacing(np.abs(x_in)))
    if cramped.any():
        blk.trunc = np.where(cramped.ravel()[g.Q[:, blk.probes]], np.inf, blk.trunc)


def _sampled_block(
    ctx: Context, g: _Geometry, h: F64, smooth: NDArray[np.bool_], got: tuple[F64, F64]
) -> tuple[_Block, str] | None:
    """A large block of many probes (softmax at (100, 256): 100 probes, 2.56 million entries)
    by the complex step, one complex forward per probe, cross-checked against central
    differences on a random sample of ``CS_SAMPLE`` probes (six forwards each) instead of
    all of them. The trust rules are those of :func:`_use_complex_step`, applied to the
    sample; elsewhere the complex step's error is its own round-off, and never below the
    relative error central differences reach on the sample (the full block's rule that it is
    never tighter than they are). ``got``: the complex step's whole block. None when it is not
    trusted or not finite on some smooth entry: the caller then takes central differences
    everywhere.
    """
    sample = sorted(int(r) for r in ctx.rng.choice(g.R, size=CS_SAMPLE, replace=False))
    cs, cs_floor = got
    if not np.all(np.isfinite(cs[smooth])):
        return None
    part = _fd_block(ctx, g, h, sample)
    _cramp(ctx, g, h, part)
    sm = smooth[:, sample]
    note = _use_complex_step(
        ctx, g, part, sm & np.isfinite(part.trunc), sm, (cs[:, sample], cs_floor[:, sample])
    )
    if part.cs_used is None:
        return None
    # Central differences' relative precision where they resolve the sample: the complex
    # step is not trusted beyond it on the probes they did not visit.
    fd_err = part.trunc  # after _use_complex_step: the complex step's error, never below theirs
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = fd_err / np.abs(cs[:, sample])
    ok = np.isfinite(rel) & (rel < RESOLUTION)
    rel_cd = float(np.median(rel[ok])) if ok.any() else 0.0
    rel_noise = _cs_rel_noise(ctx, g)
    trunc = np.abs(cs)
    trunc *= ctx.model.kappa * ctx.eps_o + rel_noise + rel_cd
    trunc += cs_floor
    trunc[:, sample] = part.trunc
    # f'' is unknown off the sample (the policy's other bounds hold there); read-only views
    # keep a block of 8 million entries from costing four more copies of itself.
    d2 = np.broadcast_to(np.float64(np.nan), cs.shape)
    zero = np.broadcast_to(np.float64(0.0), cs.shape)
    hide: F64 = zero
    assert part.still_hide is not None
    if np.any(part.still_hide):
        hide = np.zeros(cs.shape)
        hide[:, sample] = part.still_hide
    absA = np.broadcast_to(np.abs(ctx.A64).ravel()[:, None], cs.shape)
    blk = _Block(cs, trunc, zero, absA, d2)
    blk.still_hide = hide
    blk.cs_used = smooth.copy()
    blk.zero_floor = ctx.model.safety * float(np.max(cs_floor, initial=0.0))
    return blk, f"{note} on {len(sample)} of {g.R} probes"


def _vjp_rows(ctx: Context, g: _Geometry, X: Any, A: Any) -> F64:
    """Block k's rows from the VJP of unit cotangents, one call per free-output index.

    Calls are shared between inputs whose structures leave the same output axes free.
    """
    s = ctx.structure(g.k)
    free = s.free_out(g.out_shape)
    store: dict[tuple[Any, int], dict[int, F64]] = ctx.cache.setdefault("vjp_rows", {})
    key = (free, id(X))
    stacked = store.get(key)
    if stacked is None:
        # Only the inputs whose structure leaves the same output axes free can use these
        # calls: their gradients are kept, stacked (row, entry); the others' are dropped
        # (the dense layer's 256 calls would otherwise keep 336 MB of W's gradients).
        share = [
            kk for kk in range(len(ctx.diff)) if ctx.structure(kk).free_out(g.out_shape) == free
        ]
        parts: dict[int, list[F64]] = {kk: [] for kk in share}
        for srow in range(s.n_rows(g.out_shape)):
            e = s.row_mask(g.out_shape, srow).astype(ctx.dtype)
            G = ctx.caller.vjp(X, A, e)
            for kk in share:
                parts[kk].append(np.asarray(G[kk], dtype=np.float64).ravel())
        stacked = {kk: np.stack(v) for kk, v in parts.items()}
        store[key] = stacked
    rowmap = s.row_of_output(g.out_shape)
    # Entry [o, r] is gradient row rowmap[o] at the input entry Q[o, r]: one gather.
    rows: F64 = stacked[g.k][rowmap[:, None], g.Q]
    return rows


def _jvp_cols(ctx: Context, g: _Geometry) -> F64:
    """Block k's columns from the JVP of unit tangents on input k, one call per probe."""
    s = ctx.structure(g.k)
    n_out = int(np.prod(g.out_shape, dtype=np.int64))
    cols = np.empty((n_out, g.R))
    for r in range(g.R):
        tangents = []
        for kk, p in enumerate(ctx.diff):
            t = np.zeros(ctx.X[p].shape, dtype=ctx.dtype)
            if kk == g.k:
                t[s.probe_mask(g.in_shape, r)] = 1
            tangents.append(t)
        cols[:, r] = np.asarray(
            ctx.caller.jvp(ctx.X, ctx.A, tuple(tangents)), dtype=np.float64
        ).ravel()
    return cols


def _analytic(ctx: Context, g: _Geometry) -> tuple[F64, Measurement | None]:
    """The registered analytic Jacobian of a one-input spec, in the block's storage.

    For an elementwise spec the off-diagonal entries it returns are compared with zero here.
    """
    Z, A = ctx.X[0], ctx.A
    n, m = g.in_shape
    label = ctx.structure(0).name
    if label not in ("elementwise", "columnwise"):
        J = np.asarray(ctx.caller.jacobian(Z, A, (n * m, n * m)), dtype=np.float64)
        return J[np.arange(n * m)[:, None], g.Q], None
    blocks = np.empty((m, n, n))
    for c in range(m):
        blocks[c] = np.asarray(
            ctx.caller.jacobian(Z[:, c].copy(), A[:, c].copy(), (n, n)), dtype=np.float64
        )
    if label == "columnwise":
        # output o = (p, c), probe r = j: blocks[c][p, j]
        return np.ascontiguousarray(blocks.transpose(1, 0, 2).reshape(n * m, n)), None
    diag = np.einsum("cjj->jc", blocks).reshape(n * m, 1)
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
        location=lambda i: ctx.location(0, (i[2], i[0]), (i[1], i[0])),
    )
    return diag, off_m


def _heatmap(ratio: F64, g: _Geometry, worst: tuple[int, ...] | None) -> dict[str, Any]:
    """log10(error / tolerance), reduced by block maxima to at most 64 x 64."""
    if g.R == 1 and len(g.out_shape) == 2:
        mat = ratio.reshape(g.out_shape)
        title = f"d out / d {g.name} at matching entries, as the output's shape"
    else:
        mat = ratio
        title = f"block d out / d {g.name}: outputs (rows) x probes (columns)"
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


def _kink_subgradients(
    ctx: Context, g: _Geometry, G: F64, on_kink: NDArray[np.bool_], moved: F64
) -> Measurement:
    """At entries on a kink, the analytic derivative must lie between the one-sided ones.

    Elementwise blocks only: ``G``, ``on_kink`` and ``moved`` have the input's shape.
    """
    x = ctx.x[g.pos]
    kinks = ctx.spec.kinks_of(g.name)
    # One-sided steps, kept off any *other* kink.
    h = fd_step(x, ctx.model.one_sided_step(ctx.oracle_dtype), ctx.oracle_dtype)
    # Distance to every kink but the nearest one (the one this entry is at or next to).
    ks = np.asarray(kinks, dtype=np.float64)
    dist = np.abs(x[..., None] - ks)
    nearest = np.argmin(dist, axis=-1)
    dist = np.where(np.arange(ks.size) == nearest[..., None], np.inf, dist)
    others = np.min(dist, axis=-1)
    h = np.where(on_kink, np.minimum(h, 0.5 * others), 0.0)

    def at(xk: F64) -> tuple[F64, ...]:
        pt = list(ctx.x)
        pt[g.pos] = xk
        return tuple(pt)

    pts = [at(x + h), at(x + h / 2), at(x - h), at(x - h / 2)]
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
            f"d out / d {g.name} at kink entry {tuple(int(v) for v in sel[i[0]])} "
            f"(z = {x[tuple(sel[i[0]])]!r}): must lie in the one-sided interval "
            f"[{lo_s[i[0]]:.17g}, {hi_s[i[0]]:.17g}]"
        ),
        err=err[on_kink],
        location=lambda i: ctx.location(
            g.k, tuple(int(v) for v in sel[i[0]]), tuple(int(v) for v in sel[i[0]])
        ),
    )
    if m.failed:
        m.message = f"not a subgradient at a kink: {m.message}"
    return m


def _step_curve(ctx: Context, g: _Geometry, raw: tuple[int, ...], got: float) -> dict[str, Any]:
    """|central difference(h) - analytic| over h for the worst entry of a block."""
    o, q = g.indices(raw)
    x = ctx.x[g.pos]
    base = ctx.model.base_step(ctx.oracle_dtype)
    scale = float(fd_step(x, base, ctx.oracle_dtype)[q]) / base
    rel = np.logspace(-15, -0.5, 30)
    dist = float(kink_distance(x, ctx.spec.kinks_of(g.name))[q])
    dom = ctx.spec.domain_of(g.name)
    lo, hi = float(getattr(dom, "lo", -np.inf)), float(getattr(dom, "hi", np.inf))
    dist = min(dist, float(x[q]) - lo, hi - float(x[q]))
    rel = rel[rel * scale < 0.5 * dist] if np.isfinite(dist) else rel
    steps: list[float] = []
    errors: list[float] = []
    quotients: list[float] = []
    for r in rel:
        P = np.zeros(x.shape)
        P[q] = r * scale
        xp, xm = list(ctx.x), list(ctx.x)
        xp[g.pos], xm[g.pos] = x + P, x - P
        yp, ym = ctx.evaluator.forward64([tuple(xp), tuple(xm)])
        delta = float((xp[g.pos] - xm[g.pos])[q])
        if delta == 0:
            continue
        d = (float(yp[o]) - float(ym[o])) / delta
        steps.append(float(r * scale))
        quotients.append(d)
        errors.append(abs(d - got))
    return {
        "steps": steps,
        "errors": errors,
        "quotients": quotients,
        "chosen": float(base * scale),
        "dtype": str(ctx.dtype),
        "entry": [
            int(np.ravel_multi_index(o, g.out_shape)) if g.out_shape else 0,
            int(np.ravel_multi_index(q, g.in_shape)) if g.in_shape else 0,
        ],
        "output_index": [int(v) for v in o],
        "input_index": [int(v) for v in q],
        "input": g.name,
    }


def _block_measurements(ctx: Context, g: _Geometry) -> tuple[list[Measurement], F64 | None, str]:
    """Every comparison of one block; the ratio matrix for the heat map; the oracle note."""
    name = "jacobian"
    h, on_kink = _steps(ctx, g)
    kink_entry = on_kink.ravel()[g.Q]
    smooth = ~kink_entry
    large = g.R > CS_SAMPLE and ctx.x[g.pos].size > CS_MAX_ENTRIES
    sampled = None
    got = None  # the complex step's block, evaluated once for a large block
    if ctx.complex_step and large:
        try:
            got = _complex_step(ctx, g)
            sampled = _sampled_block(ctx, g, h, smooth, got) if got is not None else None
        except CallFailure:
            sampled = None
    if sampled is not None:
        blk, note = sampled
        got = None  # its floor is in blk now: not kept alive beside the block
    else:
        blk = _fd_block(ctx, g, h)
        _cramp(ctx, g, h, blk)
        note = ""
    rows = _vjp_rows(ctx, g, ctx.X, ctx.A)
    sources: list[tuple[str, F64]] = [("vjp row vs central differences", rows)]
    # How far a few-ulp change of the inputs moves the rows: the implementation's own
    # rounding that grows with |z| (see harness.errormodel).
    moved = np.zeros(rows.shape)
    if ctx.Xp is not None and ctx.Ap is not None:
        moved = ctx.model.c_noise * np.abs(_vjp_rows(ctx, g, ctx.Xp, ctx.Ap) - rows)
        moved = np.where(np.isfinite(moved), moved, 0.0)
    if ctx.spec.jvp is not None:
        sources.append(("jvp column vs central differences", _jvp_cols(ctx, g)))
    extra: list[Measurement] = []
    if ctx.spec.jacobian is not None and ctx.spec.single:
        analytic, off = _analytic(ctx, g)
        sources.append(("analytic jacobian vs central differences", analytic))
        if off is not None:
            extra.append(off)
    if sampled is not None:
        pass
    elif ctx.complex_step:
        try:
            note = _use_complex_step(ctx, g, blk, smooth & np.isfinite(blk.trunc), smooth, got)
        except CallFailure as exc:
            note = f"oracle: central differences (complex input failed: {exc.kind})"
    else:
        note = "oracle: central differences"
    ctx.cache[f"cs_used {g.k}"] = blk.cs_used
    n_sum = ctx.structure(g.k).n_rows(g.out_shape)
    impl = np.abs(blk.fd)
    impl *= ctx.eps * ctx.model.c_rel * ctx.model.summation_factor(n_sum)
    impl += ctx.model.c_tiny * ctx.tiny
    impl += moved
    # The rounding policy, bounded by what the forward's rounding can do to the derivative;
    # where the forward is flat the differences give no f'', and eps |A| bounds it instead.
    err_out = np.broadcast_to(ctx.err_out().ravel()[:, None], blk.fd.shape)
    flat = np.broadcast_to(ctx.flat_out().ravel()[:, None], blk.fd.shape)
    flat_bound = np.broadcast_to(ctx.flat_bound().ravel()[:, None], blk.fd.shape)
    if blk.still_hide is not None:
        flat_bound = np.maximum(flat_bound, blk.still_hide)
    if blk.cs_used is not None:
        flat = flat & ~blk.cs_used
        flat_bound = np.where(blk.cs_used, 0.0, flat_bound)
    # The feature length: 1, or more where 16 ulps of z in the dtype under test exceed the
    # base step (a rounding of A at z = 1e30 in float32 is a move of z by 1e23, which a
    # function with features of size ~1 could not support, but a scale-free one does).
    base = ctx.model.base_step(ctx.oracle_dtype)
    length_in = np.maximum(1.0, 16.0 * ctx.eps * np.abs(ctx.x[g.pos]) / base)
    length: Any = length_in.ravel()[g.Q] if np.any(length_in > 1.0) else 1.0
    policy = ctx.policy(
        blk.fd, blk.d2, ctx.err_out().ravel()[:, None], np.abs(ctx.A64).ravel()[:, None], length
    )
    if not ctx.strict:
        if flat.any():
            policy = np.where(flat, ctx.model.c_out * err_out, policy)
        if blk.cs_used is not None and blk.still_hide is not None:
            # Where even the float64 forward does not move over the stencil (1 - tanh(z)**2
            # at z = 20 is 0), the complex step still sees the true derivative (-3.4e-17); code
            # that computes it from the same rounded intermediates may return 0 for it: the
            # rounding policy's case, accepted as rounding-limited.
            still_cs = blk.cs_used & (blk.still_hide > 0)
            if still_cs.any():
                # (The derivative itself and a quarter: 0 passes, three times it does not.)
                policy = np.where(
                    still_cs,
                    np.maximum(policy, 1.25 * np.abs(blk.fd) / ctx.model.safety),
                    policy,
                )
    tol = ctx.model.safety * (blk.trunc + blk.roundoff + impl + policy)
    # The derivative's natural scale where its value is ~0: the output's size over the
    # feature length (a one-row softmax is constant 1: its 0 is resolved by 1e-16).
    least = blk.absA / length if not isinstance(length, float) else blk.absA
    everywhere = bool(smooth.all())  # no kink entry: no masking needed (large blocks)
    if not everywhere:
        tol = np.where(smooth, tol, 1.0)
    resolved = ~smooth | np.isfinite(blk.trunc)
    parts: list[Measurement] = list(extra)
    ratios = []
    for source, J in sources:
        m = measure(
            name,
            J if everywhere else np.where(smooth, J, 0.0),
            blk.fd if everywhere else np.where(smooth, blk.fd, 0.0),
            tol,
            ctx.dtype,
            g.describe(ctx, source),
            valid=None if resolved.all() else resolved,
            location=g.locate(ctx),
            policy=ctx.model.safety * policy,
            flat=flat_bound if np.any(flat_bound) else None,
            skip=None if everywhere else ~smooth,
            resolve=True,
            least_scale=least,
            zero_floor=1.01 * blk.zero_floor,
        )
        m.extra["block"] = g.k
        parts.append(m)
        if ctx.detail:
            with np.errstate(invalid="ignore", divide="ignore"):
                ratios.append(np.where(smooth & resolved, np.abs(J - blk.fd) / tol, 0.0))
        if kink_entry.any():
            shape = g.in_shape
            parts.append(
                _kink_subgradients(ctx, g, J.reshape(shape), on_kink, moved.reshape(shape))
            )
    ratio = np.maximum.reduce(ratios) if ratios else None
    if ctx.detail:
        # The first few entries the oracle could not resolve, with the VJP's value there:
        # a jump of the forward (not a wrong derivative) is named from their step curves.
        core = tol - ctx.model.safety * policy
        with np.errstate(invalid="ignore"):
            wide = core >= RESOLUTION * np.maximum(np.abs(blk.fd), np.abs(rows))
        for o, r in np.argwhere(smooth & (~np.isfinite(blk.trunc) | wide))[:3]:
            ctx.cache.setdefault("unresolved entries", []).append(
                (g, (int(o), int(r)), float(rows[o, r]))
            )
    return parts, ratio, note


def check_jacobian(ctx: Context) -> Measurement:
    """Entry-by-entry comparison of every block from the VJP, FD, JVP and analytic forms."""
    name = "jacobian"
    in_shapes = tuple(a.shape for a in ctx.x)
    need = jacobian_bytes(ctx.spec, in_shapes, ctx.A64.shape)
    if need > ctx.max_jacobian_bytes:
        shapes = ", ".join(f"{n} {in_shapes[ctx.spec.inputs.index(n)]}" for n in ctx.names)
        raise JacobianTooLargeError(
            f"the explicit Jacobian of {ctx.spec.name!r} at {shapes} "
            f"({ctx.spec.structure_label}) needs about {fmt_bytes(need)}, over the budget of "
            f"{fmt_bytes(ctx.max_jacobian_bytes)}; raise max_jacobian_bytes or check a "
            f"smaller input"
        )
    parts: list[Measurement] = []
    notes: list[str] = []
    detail: list[tuple[_Geometry, F64 | None, list[Measurement]]] = []
    try:
        for k in range(len(ctx.diff)):
            g = _geometry(ctx, k)
            ps, ratio, note = _block_measurements(ctx, g)
            _drop_rows_no_later_block_needs(ctx, g, k)
            parts.extend(ps)
            notes.append(note if len(ctx.diff) == 1 else f"`{g.name}`: {note}")
            detail.append((g, ratio, ps))
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    result = worst_of(name, parts)
    result.extra["by_input"] = {g.name: verdict_of(worst_of(name, ps)) for g, _, ps in detail}
    result.extra["oracle"] = "; ".join(dict.fromkeys(n.replace("oracle: ", "") for n in notes))
    if not result.message:
        result.message = result.extra["oracle"]
    if ctx.detail:
        _name_jumps(ctx, result)
    if ctx.detail and detail:
        k = int(result.extra.get("block", 0))
        g, ratio, _ = detail[k]
        loc = result.location
        raw = None
        if (
            loc is not None
            and loc.output_index is not None
            and loc.input_index is not None
            and g.R >= 1
        ):
            raw = _raw_index(g, loc)
        if ratio is not None:
            result.heatmap = _heatmap(ratio, g, raw)
        if raw is not None and result.status != "skip":
            result.step_curve = _step_curve(ctx, g, raw, result.got)
            cs_used = ctx.cache.get(f"cs_used {k}")
            # A step curve that grows like 1/h names a jump only where central differences
            # were the oracle: the complex step's value does not come from that curve.
            if result.failed and (cs_used is None or not cs_used[raw]):
                _name_a_jump(ctx, result)
    return result


def _drop_rows_no_later_block_needs(ctx: Context, g: _Geometry, k: int) -> None:
    """Free the VJP rows (of X and of its few-ulp move) that no block after k shares."""
    later = {ctx.structure(kk).free_out(g.out_shape) for kk in range(k + 1, len(ctx.diff))}
    store = ctx.cache.get("vjp_rows", {})
    for key in [key for key in store if key[0] not in later]:
        del store[key]


def _name_jumps(ctx: Context, result: Measurement) -> None:
    """Say where the entries left out as unresolved are jumps of the forward."""
    found = []
    base = ctx.model.base_step(ctx.oracle_dtype)
    for g, raw, _got in ctx.cache.pop("unresolved entries", []):
        o, q = g.indices(raw)
        x = ctx.x[g.pos]

        def along(
            t: float, g: _Geometry = g, o: tuple[int, ...] = o, q: tuple[int, ...] = q
        ) -> float:
            pt = list(ctx.x)
            moved = ctx.x[g.pos].copy()
            moved[q] = t
            pt[g.pos] = moved
            return float(ctx.evaluator.forward64([tuple(pt)])[0][o])

        z = float(x[q])
        radius = float(fd_step(np.asarray(z), base, ctx.oracle_dtype))
        jump = estimate_jump(along, z, radius=radius)
        if not jump.continuous:
            found.append(
                f"the forward jumps by {jump.size:.3g} between {g.name} = {jump.left!r} and "
                f"{jump.right!r} (a discontinuity, not a kink: no derivative to compare "
                f"at {g.name}{list(q)} = {z!r})"
            )
    if found:
        result.extra["jumps"] = found
        note = "; ".join(found)
        result.message = f"{result.message}; {note}" if result.message else note


def _name_a_jump(ctx: Context, result: Measurement) -> None:
    """A failure whose finite-difference error grows like 1/h is a jump of the forward.

    A wrong derivative errs by a constant as the step shrinks; only a discontinuity (softplus
    switching to ``x`` at its ``threshold``) makes ``|q(h) - d|`` grow like ``1/h``. Such a
    comparison says nothing about the derivative: it is reported as unresolved, by name.
    """
    curve = result.step_curve
    if not curve or len(curve.get("steps", ())) < 3:
        return
    scale = float(np.max(np.abs(ctx.A64), initial=0.0))
    verdict = classify_step_curve(
        curve["steps"],
        curve["quotients"],
        result.got,
        rounding=ctx.model.kappa * ctx.eps_o * scale,
    )
    if verdict.kind == "jump":
        result.status = "unresolved"
        result.extra["unresolved"] = int(result.extra.get("unresolved", 0)) + 1
        result.message = (
            f"the forward jumps here (a discontinuity, not a wrong derivative): {verdict.message}"
        )


def _raw_index(g: _Geometry, loc: Location) -> tuple[int, int] | None:
    """(output flat index, probe) of a location inside block g."""
    assert loc.output_index is not None and loc.input_index is not None
    o = int(np.ravel_multi_index(loc.output_index, g.out_shape)) if g.out_shape else 0
    q = int(np.ravel_multi_index(loc.input_index, g.in_shape)) if g.in_shape else 0
    hits = np.flatnonzero(g.Q[o] == q)
    return (o, int(hits[0])) if hits.size else None
