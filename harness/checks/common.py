"""What every check shares: the per-input context and the measurement of a comparison."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.calls import Caller, CallFailure, fmt_index
from harness.errormodel import ErrorModel, eps_of
from harness.oracle import Evaluator
from harness.spec import Spec

__all__ = ["Context", "Measurement", "block_sum", "measure"]

F64 = NDArray[np.float64]
Array = NDArray[Any]


@dataclass
class Context:
    """Everything a check needs about one input of one spec in one dtype."""

    spec: Spec
    caller: Caller
    evaluator: Evaluator
    model: ErrorModel
    Z: Array  # the input, in the dtype under test
    A: Array  # forward(Z) in the dtype under test
    x: F64  # Z upcast to float64 (exactly)
    A64: F64  # the forward at x, evaluated in float64: the oracle's centre value
    oracle_dtype: np.dtype[Any]
    rng: np.random.Generator
    strict: bool = False
    layout: str = "C"
    detail: bool = False  # also collect heat maps and step curves
    max_jacobian_bytes: int = 2 << 30
    directions: int = 2
    # The input moved by a few ulps per entry (see harness.errormodel): Zp in the dtype under
    # test with Ap = forward(Zp), and how much the float64 forward moves, per output entry.
    Zp: Array | None = None
    Ap: Array | None = None
    noise_f: F64 | None = None
    complex_step: bool = True  # try the complex-step oracle (cross-checked) in the jacobian
    cache: dict[str, Any] = field(default_factory=dict)  # work shared between checks

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

    def floor(self, v_abs: F64) -> F64:
        """Per input entry: the output-scale and underflow allowance for upstream ``|v|``.

        ``eps * c_out * sum |v||A| + tiny * c_tiny * sum |v|``, sums over the entry's block.
        """
        s = self.spec.structure
        return self.eps * self.c_out * block_sum(s, v_abs * np.abs(self.A64)) + (
            self.tiny * self.model.c_tiny * block_sum(s, v_abs)
        )

    def fd_noise(self) -> F64:
        """Per output entry: measured rounding noise of the float64 forward (0 if unknown)."""
        if self.noise_f is None:
            return np.zeros(self.x.shape)
        return self.model.c_noise * self.noise_f

    def vjp_noise(self, v: Array, G: F64) -> F64:
        """``c_noise * |vjp(Zp, Ap, v) - G|``: how much a few-ulp change of Z moves the VJP."""
        if self.Zp is None or self.Ap is None:
            return np.zeros(G.shape)
        Gp = np.asarray(self.caller.vjp(self.Zp, self.Ap, v), dtype=np.float64)
        return self.model.c_noise * np.abs(Gp - G)

    def jvp_noise(self, u: Array, W: F64) -> F64:
        """``c_noise * |jvp(Zp, Ap, u) - W|``."""
        if self.Zp is None or self.Ap is None:
            return np.zeros(W.shape)
        Wp = np.asarray(self.caller.jvp(self.Zp, self.Ap, u), dtype=np.float64)
        return self.model.c_noise * np.abs(Wp - W)

    def cast(self, a: F64) -> Array:
        """``a`` rounded to the dtype under test."""
        return a.astype(self.dtype)

    def random_signed(self) -> F64:
        """A standard normal array of the input's shape, exactly representable in the dtype.

        Probes are signed: with non-negative probes a softmax Jacobian, which annihilates the
        all-ones direction, hides errors along it.
        """
        r = self.rng.standard_normal(self.Z.shape)
        return np.asarray(self.cast(r), dtype=np.float64)


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
    location: tuple[int, ...] | None = None
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


def block_sum(structure: str, M: F64) -> F64:
    """For each entry, the sum of ``M`` over the entries its output block depends on."""
    if structure == "elementwise":
        return M
    if structure == "columnwise" and M.ndim == 2:
        return np.broadcast_to(M.sum(axis=0, keepdims=True), M.shape).copy()
    return np.full(M.shape, float(M.sum()))


def measure(
    check: str,
    got: Any,
    expected: Any,
    tol: Any,
    dtype: np.dtype[Any],
    describe: Callable[[tuple[int, ...]], str],
    *,
    err: Any = None,
    location: Callable[[tuple[int, ...]], tuple[int, ...] | None] | None = None,
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
        location=location(idx) if location is not None else idx,
    )


def worst_of(check: str, parts: list[Measurement]) -> Measurement:
    """Merge several measurements of one check: worst ratio wins, counts add up."""
    live = [p for p in parts if p.status != "skip"]
    if not live:
        return parts[0] if parts else Measurement.skip(check, "nothing to compare")
    worst = max(live, key=lambda p: p.ratio)
    merged = Measurement(**{**worst.__dict__})
    merged.check = check
    merged.comparisons = sum(p.comparisons for p in live)
    merged.abs_error = max(p.abs_error for p in live)
    merged.rel_error = max(p.rel_error for p in live)
    ulps = [p.ulps for p in live if p.ulps is not None]
    merged.ulps = max(ulps) if ulps else None
    return merged


def where_str(idx: tuple[int, ...]) -> str:
    return fmt_index(idx)
