"""What every check shares: the per-input context and the measurement of a comparison."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from harness.calls import Caller, CallFailure, fmt_index
from harness.errormodel import ErrorModel, eps_of
from harness.oracle import Evaluator, Probe
from harness.spec import Spec
from harness.structure import Structure

__all__ = ["Context", "Location", "Measurement", "measure"]

T = TypeVar("T")
F64 = NDArray[np.float64]
Array = NDArray[Any]


@dataclass(frozen=True)
class Location:
    """Where a comparison is: which input (by name, position of how many) and which entries.

    ``input`` None means a direction over all differentiable inputs jointly.
    """

    input: str | None
    position: int | None
    of: int
    input_index: tuple[int, ...] | None = None
    output_index: tuple[int, ...] | None = None


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
        return eps_of(self.Z.dtype)

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
        """Per entry of input k: the output-scale and underflow allowance for upstream ``|v|``.

        ``eps * c_out * sum |v||A| + tiny * c_tiny * sum |v|``, sums over the outputs the
        entry reaches under the declared structure.
        """
        s = self.structure(k)
        shape = self.x[self.diff[k]].shape
        return self.eps * self.c_out * s.out_to_in(v_abs * np.abs(self.A64), shape) + (
            self.tiny * self.model.c_tiny * s.out_to_in(v_abs, shape)
        )

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

    def random_out(self) -> F64:
        """A signed random cotangent of the output's shape."""
        return self.random_signed(self.A64.shape)

    def random_tangent(self) -> tuple[F64, ...]:
        """A signed random tangent over every differentiable input."""
        return tuple(self.random_signed(self.x[p].shape) for p in self.diff)


@dataclass
class Measurement:
    """One check's verdict on one input."""

    check: str
    status: str  # "pass" | "fail" | "skip"
    ratio: float = 0.0
    abs_error: float = 0.0
    rel_error: float = 0.0
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
            rel_error=float("inf"),
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
) -> Measurement:
    """Compare ``got`` with ``expected`` entry by entry under tolerance ``tol``.

    ``err`` overrides ``|got - expected|`` (for interval tests). A non-finite ``got`` where
    ``expected`` is finite fails outright: NaN is never equal to NaN here. Entries where
    ``valid`` is False are left out (the oracle could not resolve them) and counted.
    """
    got = np.atleast_1d(np.asarray(got, dtype=np.float64))
    if valid is not None:
        valid = np.broadcast_to(np.atleast_1d(np.asarray(valid, dtype=bool)), got.shape)
        excluded = int(np.count_nonzero(~valid))
        if excluded:
            keep = valid | ~np.isfinite(got)  # a NaN from the implementation still counts
            m = measure(
                check,
                np.where(keep, got, 0.0),
                np.where(keep, np.asarray(expected, dtype=np.float64), 0.0),
                np.where(keep, np.asarray(tol, dtype=np.float64), 1.0),
                dtype,
                describe,
                err=None if err is None else np.where(keep, err, 0.0),
                location=location,
            )
            m.comparisons -= int(np.count_nonzero(~keep))
            m.extra["unresolved"] = int(np.count_nonzero(~keep))
            return m
    expected = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    tol = np.broadcast_to(np.atleast_1d(np.asarray(tol, dtype=np.float64)), got.shape)
    if err is None:
        with np.errstate(invalid="ignore"):
            err = np.abs(got - expected)
    err = np.broadcast_to(np.atleast_1d(np.asarray(err, dtype=np.float64)), got.shape)
    n = int(got.size)
    if n == 0:
        return Measurement(check=check, status="pass", comparisons=0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = err / tol
        # Not finite: x/0 or a NaN/inf error (a NaN from the implementation, or an oracle
        # that could not be formed). Only 0/0, exact agreement under a zero tolerance, passes.
        odd = ~np.isfinite(ratio)
        if odd.any():
            ratio[odd] = np.where(err[odd] == 0, 0.0, np.inf)
        # An overflowed tolerance would make the comparison vacuous: fail loudly instead.
        over = np.isinf(tol)
        if over.any():
            ratio[over & (err > 0)] = np.inf
        flat = int(np.argmax(ratio))
        idx = tuple(int(i) for i in np.unravel_index(flat, got.shape))
        mag = np.abs(expected)
        rel = err / mag
        spacing = np.spacing(mag.astype(dtype)).astype(np.float64)
        ulps = err / spacing
    bad_got = not np.isfinite(got[idx]) and np.isfinite(expected[idx])
    finite_err = err[np.isfinite(err)]
    finite_rel = rel[np.isfinite(rel)]
    worst_ratio = float(ratio[idx])
    status = "fail" if worst_ratio > 1.0 else "pass"
    message = ""
    if bad_got:
        message = f"non-finite value {got[idx]} where the oracle is finite ({expected[idx]!r})"
    elif status == "fail" and not np.isfinite(tol[idx]):
        message = (
            f"the error model overflowed (tolerance {float(tol[idx])}), so the comparison "
            f"could not be made; the input's magnitudes are near the dtype's limit"
        )
    elif status == "fail":
        message = f"error {float(err[idx]):.3g} is {worst_ratio:.3g} x the tolerance"
    return Measurement(
        check=check,
        status=status,
        ratio=worst_ratio,
        abs_error=float(np.max(finite_err)) if finite_err.size else float("inf"),
        rel_error=float(np.max(finite_rel)) if finite_rel.size else float("inf"),
        ulps=float(np.max(ulps[np.isfinite(ulps)])) if np.isfinite(ulps).any() else None,
        comparisons=n,
        message=message,
        what=describe(idx),
        expected=float(expected[idx]),
        got=float(got[idx]),
        tolerance=float(tol[idx]),
        location=location(idx) if location is not None else None,
    )


def worst_of(check: str, parts: list[Measurement]) -> Measurement:
    """Merge several measurements of one check: worst ratio wins, counts add up."""
    live = [p for p in parts if p.status != "skip"]
    if not live:
        return parts[0] if parts else Measurement.skip(check, "nothing to compare")
    worst = max(live, key=lambda p: p.ratio)
    merged = Measurement(**{**worst.__dict__})
    merged.extra = dict(worst.extra)
    unresolved = sum(int(p.extra.get("unresolved", 0)) for p in parts)
    if unresolved:
        merged.extra["unresolved"] = unresolved
    merged.check = check
    merged.comparisons = sum(p.comparisons for p in live)
    merged.abs_error = max(p.abs_error for p in live)
    merged.rel_error = max(p.rel_error for p in live)
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


def where_str(idx: tuple[int, ...]) -> str:
    return fmt_index(idx)
