"""What every check shares: the per-input context and the measurement of a comparison."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from harness.calls import Caller, CallFailure
from harness.errormodel import RESOLUTION, ErrorModel, eps_of
from harness.noise import DEFAULT_SPACING, derivative_rounding
from harness.oracle import Evaluator, Probe
from harness.results import Location
from harness.spec import COMPUTE_EPS, Spec
from harness.structure import Structure

__all__ = ["Context", "Location", "Measurement", "measure", "rank"]

T = TypeVar("T")
F64 = NDArray[np.float64]
Array = NDArray[Any]


@dataclass
class Context:
    """Everything a check needs about one input point of one spec in one dtype.

    Inputs are tuples with one array per spec input (constants included); ``diff`` gives the
    positions of the differentiable ones. Input-space vectors (tangents, gradients) are
    tuples over the differentiable inputs; output-space vectors are arrays of the output's
    shape.
    """

    spec: Spec
    caller: Caller
    evaluator: Evaluator
    model: ErrorModel
    X: tuple[Array, ...]  # the inputs, in the dtype under test
    A: Array  # forward(X) in the dtype under test
    x: tuple[F64, ...]  # X upcast to float64 (exactly)
    A64: F64  # the forward at x, evaluated in float64: the oracle's centre value
    oracle_dtype: np.dtype[Any]
    rng: np.random.Generator
    strict: bool = False
    layout: str = "C"
    detail: bool = False  # also collect heat maps and step curves
    max_jacobian_bytes: int = 2 << 30
    directions: int = 2
    # The inputs moved by a few ulps per entry (see harness.errormodel): Xp in the dtype under
    # test with Ap = forward(Xp), and how much the float64 forward moves, per output entry.
    Xp: tuple[Array, ...] | None = None
    Ap: Array | None = None
    noise_f: F64 | None = None
    # Output entries where the forward did not change along the noise stencil (harness.noise:
    # "flat"): finite differences there carry no information.
    noise_flat: NDArray[np.bool_] | None = None
    complex_step: bool = True  # try the complex-step oracle (cross-checked) in the jacobian
    cache: dict[str, Any] = field(default_factory=dict)  # work shared between checks

    # -- the spaces --------------------------------------------------------------------------
    @property
    def diff(self) -> tuple[int, ...]:
        return self.spec.diff_positions

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the differentiable inputs."""
        return self.spec.diff_inputs

    def structure(self, k: int) -> Structure:
        """Declared structure of the k-th differentiable input."""
        return self.spec.structures[self.names[k]]

    @property
    def Z(self) -> Array:
        """The first differentiable input (the one input of an activation)."""
        return self.X[self.diff[0]]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.Z.dtype

    @property
    def eps(self) -> float:
        """Epsilon of the implementation's arithmetic: its dtype's, or a narrower one declared."""
        eps = eps_of(self.Z.dtype)
        if self.spec.compute_dtype is not None:
            eps = max(eps, COMPUTE_EPS[self.spec.compute_dtype])
        return eps

    @property
    def eps_o(self) -> float:
        return eps_of(self.oracle_dtype)

    @property
    def c_out(self) -> float:
        """Weight of the output-scale rounding term (0 in strict mode)."""
        return 0.0 if self.strict else self.model.c_out

    @property
    def tiny(self) -> float:
        return float(np.finfo(self.Z.dtype).tiny)

    def probe(self, tangent: tuple[F64, ...]) -> Probe:
        """A probe over all inputs from a tangent over the differentiable ones."""
        P: list[F64 | None] = [None] * len(self.X)
        for k, pos in enumerate(self.diff):
            P[pos] = tangent[k]
        return tuple(P)

    def location(
        self,
        k: int | None,
        input_index: tuple[int, ...] | None = None,
        output_index: tuple[int, ...] | None = None,
    ) -> Location:
        """Where a comparison is: input k of the differentiable ones (None: all jointly)."""
        n = len(self.names)
        if k is None:
            return Location(None, None, n, None, output_index)
        pos = self.diff[k]
        return Location(self.names[k], pos + 1, len(self.X), input_index, output_index)

    # -- error-model terms -------------------------------------------------------------------
    def floor(self, k: int, v_abs: F64) -> F64:
        """Per entry of input k: the underflow allowance for upstream ``|v|``.

        ``tiny * c_tiny * sum |v|``, summed over the outputs the entry reaches under the
        declared structure. (The output-scale rounding allowance is :meth:`policy`, bounded
        by what rounding can do to the derivative.)
        """
        s = self.structure(k)
        shape = self.x[self.diff[k]].shape
        return self.tiny * self.model.c_tiny * s.out_to_in(v_abs, shape)

    def err_out(self) -> F64:
        """Per output entry: the forward's own rounding error in the dtype under test.

        ``eps |A|``, or the measured ``|A - A64|`` where larger (a forward that rounds an
        intermediate of size ~1: float32 ``s (1 - s)`` at z = 17 returns 0 for 4e-8), at most
        ``16 eps max(1, |A|)``.
        """
        a64 = np.abs(self.A64)
        with np.errstate(invalid="ignore", over="ignore"):
            got = np.abs(np.asarray(self.A, dtype=np.float64) - self.A64)
        got = np.where(np.isfinite(got), got, 0.0)
        cap = 16.0 * self.eps * np.maximum(1.0, a64)
        return np.asarray(np.minimum(np.maximum(self.eps * a64, got), cap), dtype=np.float64)

    def policy(self, d1: Any, d2: Any, err_out: Any, a_abs: Any, length: Any = 1.0) -> F64:
        """The rounding policy's allowance; 0 in strict mode.

        A derivative computed from a value rounded by ``err_out`` is the exact derivative at
        an input ``dz`` away, where the forward takes the rounded value; the allowance is
        ``c_out`` times what that move can do to the derivative: at most ``|f''| dz``
        (harness.noise.derivative_rounding, with ``d2`` an upper bound on ``|f''|``), and at
        most ``|f'| dz / length`` (over a move of one feature length the derivative may
        change by up to itself; ``length`` is 1, or more where steps grow with ``|z|``).
        At least the forward's own relative error in the dtype under test is carried over to
        the derivative, ``|f'| min(1, err_out / |A|)`` (a float32 ``s (1 - s)`` that returns
        0 at z = 20 for 2e-9 may have a derivative of 0); ``err_out`` is capped at
        ``16 eps max(1, |A|)`` (see :meth:`err_out`), so that term matters only for outputs
        below ~16 eps.
        """
        if self.strict:
            return np.zeros(np.broadcast(d1, d2, err_out, a_abs).shape)
        shape = np.broadcast(d1, d2, err_out, a_abs).shape
        a1 = np.abs(np.asarray(d1, dtype=np.float64))
        if not np.all(np.isfinite(a1)):
            a1 = np.where(np.isfinite(a1), a1, 0.0)
        with np.errstate(all="ignore"):
            # (err_out and a_abs may be per output, (n, 1): kept small until broadcast.)
            rel = np.where(a_abs > 0, np.minimum(1.0, err_out / a_abs), 0.0)
            bound = np.array(np.broadcast_to(np.minimum(a1, err_out / length), shape))
        # d2 NaN: f'' unknown (off the sampled probes of a large block): the other bounds.
        known = np.broadcast_to(~np.isnan(d2), shape)
        if known.all():
            np.minimum(derivative_rounding(err_out, d1, d2), bound, out=bound)
        elif known.any():
            e, f1, f2 = (np.broadcast_to(a, shape)[known] for a in (err_out, d1, d2))
            bound[known] = np.minimum(derivative_rounding(e, f1, f2), bound[known])
        a1 = a1 * rel  # the carried relative error
        np.maximum(bound, a1, out=bound)
        bound *= self.model.c_out
        return bound

    def flat_out(self) -> NDArray[np.bool_]:
        """Per output entry: the forward was flat along the noise stencil."""
        if self.noise_flat is None:
            return np.zeros(self.A64.shape, dtype=bool)
        return self.noise_flat

    def flat_bound(self) -> F64:
        """Per output entry: the largest derivative a flat forward can hide (0 if not flat).

        A forward constant over the noise stencil (8 points, 6.1e-5 apart) can still move by
        a rounding of its internal values, ``kappa eps max(1, |A|)``, over that span.
        """
        span = 7.0 * DEFAULT_SPACING
        b = self.model.kappa * self.eps_o * np.maximum(1.0, np.abs(self.A64)) / span
        return np.asarray(np.where(self.flat_out(), b, 0.0), dtype=np.float64)

    def fd_noise(self) -> F64:
        """Per output entry: measured rounding noise of the float64 forward (0 if unknown)."""
        if self.noise_f is None:
            return np.zeros(self.A64.shape)
        return self.model.c_noise * self.noise_f

    def vjp_noise(self, v: Array, G: tuple[F64, ...]) -> tuple[F64, ...]:
        """``c_noise * |vjp(Xp, Ap, v) - G|``: how much a few-ulp change of X moves the VJP."""
        if self.Xp is None or self.Ap is None:
            return tuple(np.zeros(g.shape) for g in G)
        Gp = self.caller.vjp(self.Xp, self.Ap, v)
        return tuple(
            self.model.c_noise * np.abs(np.asarray(gp, dtype=np.float64) - g)
            for gp, g in zip(Gp, G, strict=True)
        )

    def jvp_noise(self, u: tuple[Array, ...], W: F64) -> F64:
        """``c_noise * |jvp(Xp, Ap, u) - W|``."""
        if self.Xp is None or self.Ap is None:
            return np.zeros(W.shape)
        Wp = np.asarray(self.caller.jvp(self.Xp, self.Ap, u), dtype=np.float64)
        return self.model.c_noise * np.abs(Wp - W)

    def cast(self, a: F64) -> Array:
        """``a`` rounded to the dtype under test."""
        return np.asarray(a).astype(self.dtype)

    def random_signed(self, shape: tuple[int, ...] | None = None) -> F64:
        """A standard normal array, exactly representable in the dtype (input's shape default).

        Probes are signed: with non-negative probes a softmax Jacobian, which annihilates the
        all-ones direction, hides errors along it.
        """
        r = self.rng.standard_normal(self.Z.shape if shape is None else shape)
        return np.asarray(self.cast(r), dtype=np.float64)

    def safe_scale(self) -> float:
        """A power of two (at most 1) that keeps products with the output in range.

        Random cotangents and tangents of size ~1 overflow ``dA * exp(88)`` in float32; scaled
        by this factor (exactly, a power of two) they cannot, while every comparison, being
        linear in them, keeps its meaning.
        """
        cached = self.cache.get("safe_scale")
        if cached is None:
            fmax = float(np.finfo(self.dtype).max)
            a = np.abs(self.A64[np.isfinite(self.A64)])
            top = max(1.0, float(np.max(a, initial=0.0)))
            # log2 of the room, computed without overflow: fmax / (64 top size).
            room = np.log2(fmax) - 6.0 - np.log2(top) - np.log2(max(1, self.A64.size))
            cached = 1.0 if room >= 0.0 else float(2.0 ** np.floor(room))
            self.cache["safe_scale"] = cached
        return float(cached)

    def random_out(self) -> F64:
        """A signed random cotangent of the output's shape (scaled by ``safe_scale``)."""
        return self.random_signed(self.A64.shape) * self.safe_scale()

    def random_tangent(self) -> tuple[F64, ...]:
        """A signed random tangent over every differentiable input (``safe_scale``d)."""
        s = self.safe_scale()
        return tuple(self.random_signed(self.x[p].shape) * s for p in self.diff)


@dataclass
class Measurement:
    """One check's verdict on one input."""

    check: str
    status: str  # "pass" | "fail" | "skip"
    ratio: float = 0.0
    abs_error: float = 0.0
    rel_error: float | None = 0.0
    ulps: float | None = None
    comparisons: int = 0
    message: str = ""
    what: str = ""
    expected: float = 0.0
    got: float = 0.0
    tolerance: float = 0.0
    location: Location | None = None
    heatmap: dict[str, Any] | None = None
    step_curve: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def skip(cls, check: str, why: str) -> Measurement:
        return cls(check=check, status="skip", message=why)

    @classmethod
    def call_failure(cls, check: str, exc: CallFailure) -> Measurement:
        return cls(
            check=check,
            status="fail",
            ratio=float("inf"),
            abs_error=float("inf"),
            rel_error=None,
            message=exc.message,
            what=exc.kind,
            expected=float("nan"),
            got=float("nan"),
        )

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def always(value: T) -> Callable[[tuple[int, ...]], T]:
    """A describe/location callback of ``measure`` for a comparison of one number."""

    def const(_i: tuple[int, ...]) -> T:
        return value

    return const


def measure(
    check: str,
    got: Any,
    expected: Any,
    tol: Any,
    dtype: np.dtype[Any],
    describe: Callable[[tuple[int, ...]], str],
    *,
    err: Any = None,
    location: Callable[[tuple[int, ...]], Location | None] | None = None,
    valid: Any = None,
    policy: Any = None,
    scale: Any = None,
    flat: Any = None,
    skip: Any = None,
    resolve: bool = False,
    least_scale: Any = None,
    zero_floor: float = 0.0,
) -> Measurement:
    """Compare ``got`` with ``expected`` entry by entry under tolerance ``tol``.

    Each comparison ends in one of four outcomes (harness.errormodel):

    * *unresolved* (counted, never the worst comparison, never a failure): the oracle could
      not resolve it (``valid`` False), the tolerance is not finite (the error model
      overflowed), the oracle is ``flat`` there and the values disagree, or (with
      ``resolve=True``, for comparisons against an oracle) the tolerance without the
      rounding policy is not clearly smaller than the ``scale`` compared (default
      ``max(|expected|, |got|)``; ``RESOLUTION`` of it);
    * *fail*: ``err > tol``, or a non-finite ``got`` where ``expected`` is finite (NaN is
      never equal to NaN here);
    * *rounding-limited*: passes only thanks to ``policy``, the part of ``tol`` that is the
      rounding policy's allowance;
    * *pass*.

    ``least_scale`` (with ``resolve``): a scale the comparison is never judged against less
    than, per comparison (the jacobian check's ``|A|`` over the feature length: a derivative
    of exactly 0 of an output of size 1, a one-row softmax, is resolved by a tolerance of
    1e-16).

    ``zero_floor``: tolerances below it are resolved even against a scale of 0 (at least
    ``16 tiny / eps``; the jacobian check passes the complex step's resolution, 1e-272, below
    which no oracle can tell a derivative from 0).

    ``err`` overrides ``|got - expected|`` (for interval tests). Entries where ``skip`` is
    True are compared elsewhere (at a kink) and not counted here.
    """
    got = np.atleast_1d(np.asarray(got, dtype=np.float64))
    shape = got.shape
    n = int(got.size)
    if n == 0:
        return Measurement(check=check, status="pass", comparisons=0)
    expected = np.broadcast_to(np.atleast_1d(np.asarray(expected, dtype=np.float64)), shape)
    tol = np.broadcast_to(np.atleast_1d(np.asarray(tol, dtype=np.float64)), shape)
    with np.errstate(invalid="ignore", over="ignore"):
        if err is None:
            err = np.abs(got - expected)
        err = np.broadcast_to(np.atleast_1d(np.asarray(err, dtype=np.float64)), shape)
        pol = (
            np.zeros(shape)
            if policy is None
            else np.broadcast_to(np.atleast_1d(np.asarray(policy, dtype=np.float64)), shape)
        )
        if scale is None:
            sc = np.abs(expected)
            np.maximum(sc, np.abs(got), out=sc)
        else:
            sc = np.array(
                np.broadcast_to(np.atleast_1d(np.asarray(scale, dtype=np.float64)), shape)
            )
        core = tol - pol
        # An entry far below the largest of its comparisons (softmax's exp(-1e150) next to
        # 0.25) is resolved by an absolute tolerance below that largest entry's rounding:
        # the scale of resolution is never below eps times it.
        fin_e = np.isfinite(expected)
        usable = fin_e
        if valid is not None:
            usable = fin_e & np.broadcast_to(np.asarray(valid, dtype=bool), shape)
        ref = float(np.max(np.abs(expected), where=usable, initial=0.0))
        np.maximum(sc, float(np.finfo(dtype).eps) * ref, out=sc)
        if least_scale is not None:
            np.maximum(sc, least_scale, out=sc)
    bad_got = ~np.isfinite(got) & fin_e
    # Tolerances below this are resolved even against a scale of 0 (exact zeros compared
    # near the underflow range).
    fi = np.finfo(dtype)
    floor = max(16.0 * float(fi.tiny) / float(fi.eps), zero_floor)
    with np.errstate(invalid="ignore", over="ignore"):
        unresolved = ~np.isfinite(tol) | ~fin_e
        if resolve:
            unresolved |= (core >= RESOLUTION * sc) & (core > floor)
        if valid is not None:
            unresolved |= ~np.broadcast_to(np.atleast_1d(np.asarray(valid, dtype=bool)), shape)
        if flat is not None:
            # ``flat``: per comparison, the largest derivative the flat oracle cannot see (0
            # where it is not flat). A disagreement within it is unresolved; beyond it, a
            # failure (ReLU's 0 on its negative side is exact, softplus' 1.9e-22 at z = -50 is
            # invisible).
            fb = np.broadcast_to(np.atleast_1d(np.asarray(flat, dtype=np.float64)), shape)
            unresolved |= (fb > 0) & ~(err <= tol) & (err <= fb)
        unresolved &= ~bad_got
        skipped = np.zeros(shape, dtype=bool)
        if skip is not None:
            skipped = np.broadcast_to(np.atleast_1d(np.asarray(skip, dtype=bool)), shape)
            unresolved &= ~skipped
        resolved = ~unresolved
        ratio = err / tol
        ratio[~(resolved & ~skipped)] = 0.0
        # Not finite: x/0 or a NaN/inf error. Only 0/0, exact agreement under a zero
        # tolerance, passes.
        odd = resolved & ~np.isfinite(ratio)
        if odd.any():
            ratio[odd] = np.where(err[odd] == 0, 0.0, np.inf)
        ratio[bad_got] = np.inf
        limited = resolved & ~skipped & ~(ratio > 1.0) & (err > core)
    n_unresolved = int(np.count_nonzero(unresolved))
    n_limited = int(np.count_nonzero(limited))
    n_skipped = int(np.count_nonzero(skipped))
    if n_unresolved + n_skipped == n and n_unresolved:
        first = tuple(int(i) for i in np.unravel_index(0, shape))
        m = Measurement(
            check=check,
            status="unresolved",
            comparisons=0,
            message=(
                f"{n} comparison(s) unresolved: the oracle cannot resolve the derivative "
                f"here (e.g. {describe(first)})"
            ),
            what=describe(first),
            expected=float(expected[first]) if np.isfinite(expected[first]) else 0.0,
            got=float(got[first]) if np.isfinite(got[first]) else 0.0,
            tolerance=float(tol[first]) if np.isfinite(tol[first]) else 0.0,
            location=location(first) if location is not None else None,
        )
        m.extra["unresolved"] = n_unresolved
        m.extra["unresolved_where"] = [describe(first)]
        return m
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        flat_i = int(np.argmax(np.where(resolved, ratio, -1.0)))
        # A pass shows its worst comparison among those resolved without the rounding
        # policy's help, whose whole tolerance is clearly below their scale (rounding-limited
        # ones are counted, not shown as the worst), when there is one.
        clean = resolved & ~skipped & ~limited & (tol < RESOLUTION * sc)
        if not ratio.flat[flat_i] > 1.0 and clean.any():
            flat_i = int(np.argmax(np.where(clean, ratio, -1.0)))
        elif not ratio.flat[flat_i] > 1.0 and (resolved & ~skipped & ~limited).any():
            flat_i = int(np.argmax(np.where(resolved & ~skipped & ~limited, ratio, -1.0)))
        idx = tuple(int(i) for i in np.unravel_index(flat_i, shape))
        # Relative error and ulps against one stated scale: the largest |expected| of the
        # resolved comparisons (or of the ``scale`` given, sum |v J u| for a directional one),
        # so that an exact zero entry does not make them infinite.
        if scale is None:
            block = float(np.max(np.abs(expected), where=resolved & fin_e, initial=0.0))
        else:
            block = float(np.max(np.abs(sc), where=resolved & np.isfinite(sc), initial=0.0))
        fin_err = resolved & np.isfinite(err)
        top_err = float(np.max(err, where=fin_err, initial=0.0)) if fin_err.any() else None
        spacing = float(np.spacing(np.asarray(block, dtype=dtype)))
        rel_error = top_err / block if top_err is not None and block > 0 else None
        ulps = top_err / spacing if top_err is not None and block > 0 else None
    worst_ratio = float(ratio[idx])
    status = "fail" if worst_ratio > 1.0 else "pass"
    message = ""
    if bad_got[idx]:
        message = f"non-finite value {got[idx]} where the oracle is finite ({expected[idx]!r})"
    elif status == "fail":
        message = f"error {float(err[idx]):.3g} is {worst_ratio:.3g} x the tolerance"
    m = Measurement(
        check=check,
        status=status,
        ratio=worst_ratio,
        abs_error=float("inf") if top_err is None else top_err,
        rel_error=rel_error,
        ulps=ulps,
        comparisons=n - n_unresolved - n_skipped,
        message=message,
        what=describe(idx),
        expected=float(expected[idx]),
        got=float(got[idx]),
        tolerance=float(tol[idx]),
        location=location(idx) if location is not None else None,
        extra={"scale": block} if block > 0 else {},
    )
    if n_unresolved:
        m.extra["unresolved"] = n_unresolved
        where = np.argwhere(unresolved)[:3]
        m.extra["unresolved_where"] = [describe(tuple(int(v) for v in w)) for w in where]
    if n_limited:
        m.extra["rounding_limited"] = n_limited
    if not clean[idx]:
        # Shown only for want of a comparison resolved without the policy's help.
        m.extra["worst_wide"] = True
    return m


def rank(m: Measurement) -> tuple[bool, bool, float]:
    """Order of measurements for "the worst": failures first, then comparisons resolved
    without the rounding policy's help and with a tolerance clearly below their scale, then
    by error / tolerance."""
    return (m.ratio > 1.0, not m.extra.get("worst_wide", False), m.ratio)


def worst_of(check: str, parts: list[Measurement]) -> Measurement:
    """Merge several measurements of one check: worst ratio wins, counts add up."""
    live = [p for p in parts if p.status != "skip"]
    if not live:
        return parts[0] if parts else Measurement.skip(check, "nothing to compare")
    resolved = [p for p in live if p.status != "unresolved"]
    worst = max(resolved or live, key=rank)
    merged = Measurement(**{**worst.__dict__})
    merged.extra = dict(worst.extra)
    for key in ("unresolved", "rounding_limited"):
        total = sum(int(p.extra.get(key, 0)) for p in parts)
        if total:
            merged.extra[key] = total
        else:
            merged.extra.pop(key, None)
    where = [w for p in parts for w in p.extra.get("unresolved_where", [])]
    if where:
        merged.extra["unresolved_where"] = where[:3]
    merged.check = check
    merged.comparisons = sum(p.comparisons for p in live)
    merged.abs_error = max(p.abs_error for p in live)
    rels = [p.rel_error for p in live if p.rel_error is not None]
    merged.rel_error = max(rels) if rels else None
    ulps = [p.ulps for p in live if p.ulps is not None]
    merged.ulps = max(ulps) if ulps else None
    return merged


def verdict_of(m: Measurement) -> dict[str, Any]:
    """One input's share of a check: status, worst error/tolerance and where."""
    loc = m.location
    return {
        "status": m.status,
        "ratio": m.ratio,
        "what": m.what,
        "index": list(loc.input_index) if loc is not None and loc.input_index else None,
        "expected": m.expected,
        "got": m.got,
    }


def by_input(check: str, parts: dict[str, list[Measurement]]) -> dict[str, dict[str, Any]]:
    """Per input name, the verdict of its measurements (inputs with none left out)."""
    return {n: verdict_of(worst_of(check, ms)) for n, ms in parts.items() if ms}
