"""``verify`` (hypothesis-generated inputs) and ``verify_at`` (one given input)."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
from hypothesis import seed as hyp_seed
from hypothesis.errors import Flaky, HypothesisException
from numpy.typing import NDArray

from harness import commands
from harness.calls import CALL_FAILURE_KINDS, Caller, CallFailure, Counts
from harness.checks import CHECK_NAMES, CHECKS, Context, Measurement
from harness.checks.common import rank
from harness.domains import Domain, stencil_room
from harness.errormodel import DEFAULT_MODEL, ErrorModel
from harness.errors import HarnessError, JacobianTooLargeError, UsageError
from harness.exampledb import ExampleStore
from harness.noise import DEFAULT_SPACING, GROWTH, NoiseEstimate, forward_noise
from harness.options import DEFAULT_SEED, DEFAULT_TIMEOUT, default_profile
from harness.oracle import Evaluator
from harness.profiles import get_profile
from harness.registry import REGISTRY
from harness.results import (
    HIST_EDGES,
    CheckResult,
    Finding,
    Heatmap,
    InputRecord,
    InputVerdict,
    RatioHist,
    RunResult,
    Status,
    StepCurve,
    Worst,
    findings_from_checks,
    finite_or_none,
    fmt_figure,
)
from harness.spec import Spec
from harness.strategies import Example, finite_range_of, points

__all__ = ["DEFAULT_SEED", "assert_verified", "run_checks", "verify", "verify_at"]


def _resolve(spec: Spec | str) -> Spec:
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, str):
        return REGISTRY.get(spec)
    raise UsageError(f"Expected a Spec or a registered spec name; got {type(spec).__name__}.")


def _dtype(spec: Spec, dtype: Any) -> np.dtype[Any]:
    try:
        dt: np.dtype[Any] = np.dtype(dtype)
    except TypeError:
        raise UsageError(f"dtype {dtype!r} is not a numpy dtype.") from None
    if dt.name not in spec.dtypes:
        raise UsageError(
            f"Spec {spec.name!r} supports dtypes {', '.join(spec.dtypes)}; got {dt.name}. "
            f"Add it to the spec's `dtypes` if the function supports it."
        )
    return dt


def run_checks(
    spec: Spec,
    X: tuple[NDArray[Any], ...] | NDArray[Any],
    *,
    layout: str = "C",
    probe_seed: int = 0,
    strict: bool = False,
    model: ErrorModel = DEFAULT_MODEL,
    timeout: float | None = DEFAULT_TIMEOUT,
    detail: bool = False,
    directions: int = 2,
    max_jacobian_bytes: int = 2 << 30,
    jacobian: str = "auto",
    counts: Counts | None = None,
    checks: Sequence[str] | None = None,
    findings: dict[str, str] | None = None,
) -> list[Measurement]:
    """Run the checks at one input point; the building block of ``verify`` and ``verify_at``.

    ``X`` has one array per spec input (a bare array for a one-input spec). ``checks``
    restricts the run to the named checks (all by default), in their usual order.
    ``findings``, when given, receives the run's call-level findings (a result returned in
    another dtype than the contract's), one message per function.
    """
    if checks is not None:
        unknown = sorted(set(checks) - set(CHECK_NAMES))
        if unknown:
            raise UsageError(f"Unknown check(s) {unknown}; checks: {', '.join(CHECK_NAMES)}.")
    X = tuple(X) if isinstance(X, (tuple, list)) else (X,)
    selected = [(n, f) for n, f in CHECKS if checks is None or n in checks]
    dtype = X[spec.diff_positions[0]].dtype
    caller = Caller(spec, dtype, timeout)
    if counts is not None:
        caller.counts = counts
    caller.layout = layout
    evaluator = Evaluator(caller)
    x = tuple(a.astype(np.float64) for a in X)
    try:
        A = caller.forward(X)
        if dtype == np.float64:
            A64, oracle_dtype = A.astype(np.float64), np.dtype(np.float64)
        else:
            raw = caller.forward(x, oracle=True)
            A64, oracle_dtype = raw.astype(np.float64), raw.dtype
        Xp, Ap, noise_f, noise_flat = _perturbed(
            caller, evaluator, spec, X, x, A64, model, probe_seed
        )
    except CallFailure as exc:
        return [Measurement.call_failure(name, exc) for name, _ in selected]
    ctx = Context(
        spec=spec,
        caller=caller,
        evaluator=evaluator,
        model=model,
        X=X,
        A=A,
        x=x,
        A64=A64,
        oracle_dtype=oracle_dtype,
        rng=np.random.default_rng(probe_seed),
        strict=strict,
        layout=layout,
        detail=detail,
        directions=directions,
        max_jacobian_bytes=max_jacobian_bytes,
        Xp=Xp,
        Ap=Ap,
        noise_f=noise_f,
        noise_flat=noise_flat,
    )
    out = []
    for name, fn in selected:
        try:
            # The checks handle inf and NaN on purpose; numpy's warnings about them are noise.
            with np.errstate(all="ignore"):
                out.append(_strictly(fn(ctx), strict))
        except CallFailure as exc:
            # Every check turns its own call failures into verdicts; this catches the ones
            # met in a check's later steps (a stencil at a kink, a detail plot).
            out.append(Measurement.call_failure(name, exc))
        except JacobianTooLargeError as exc:
            if jacobian == "always":
                raise
            out.append(Measurement.skip(name, f"{exc}; verified by directional checks only"))
    if findings is not None:
        findings.update(caller.dtype_findings)
    return out


def _strictly(m: Measurement, strict: bool) -> Measurement:
    """Under ``strict``, a comparison that could not be made fails the check."""
    n = int(m.extra.get("unresolved", 0))
    if strict and n and m.status != "fail":
        m.status = "fail"
        m.ratio = max(m.ratio, float("inf"))
        m.message = (
            f"{n} comparison(s) unresolved (strict: the oracle could not decide them); "
            + (m.message or "")
        ).rstrip("; ")
    return m


def _perturbed(
    caller: Caller,
    evaluator: Evaluator,
    spec: Spec,
    X: tuple[NDArray[Any], ...],
    x: tuple[NDArray[np.float64], ...],
    A64: NDArray[np.float64],
    model: ErrorModel,
    seed: int,
) -> tuple[tuple[NDArray[Any], ...], NDArray[Any], NDArray[np.float64], NDArray[np.bool_]]:
    """The inputs moved by a few ulps per entry, their forward, and the forward's noise.

    See harness.errormodel: the few-ulp move measures the rounding that depends on the
    input's magnitude; harness.noise measures the float64 forward's own noise (ECnoise) per
    output entry, and which output entries are flat (no information). Constants are never
    moved, and no entry is moved out of its domain or across a kink.
    """
    rng = np.random.default_rng([seed, 1])
    eps_d = float(np.finfo(X[spec.diff_positions[0]].dtype).eps)
    eps64 = float(np.finfo(np.float64).eps)
    Xp, xp = list(X), list(x)
    rooms: dict[int, NDArray[np.float64]] = {}
    kinks = spec.kinks if spec.single else ()
    for pos in spec.diff_positions:
        dom = spec.domain_of(spec.inputs[pos])
        below, above = stencil_room(x[pos], dom if isinstance(dom, Domain) else None, kinks)
        room = np.minimum(below, above)
        rooms[pos] = room
        signs = rng.choice([-1.0, 1.0], size=X[pos].shape)
        fits = 2.0 * model.noise_ulps * eps_d * np.abs(x[pos]) < room
        Xp[pos] = np.where(fits, x[pos] * (1.0 + signs * model.noise_ulps * eps_d), x[pos]).astype(
            X[pos].dtype
        )
        xp[pos] = np.where(fits, x[pos] * (1.0 + signs * model.noise_ulps * eps64), x[pos])
    Ap = caller.forward(tuple(Xp))
    noise_f = np.abs(evaluator.forward64([tuple(xp)])[0] - A64)
    noise_f = np.where(np.isfinite(noise_f), noise_f, 0.0)
    flat = np.zeros(A64.shape, dtype=bool)
    est = _forward_noise(evaluator, spec, x, rooms, rng)
    if est is not None and est.sigma.shape == A64.shape:
        noise_f = np.maximum(noise_f, est.or_else(0.0))
        flat = est.flat
    return tuple(Xp), Ap, noise_f, flat


def _forward_noise(
    evaluator: Evaluator,
    spec: Spec,
    x: tuple[NDArray[np.float64], ...],
    rooms: dict[int, NDArray[np.float64]],
    rng: np.random.Generator,
) -> NoiseEstimate | None:
    """ECnoise along a random direction over the differentiable inputs (None if it fails).

    Each entry's share of the direction is kept so small that the widest stencil the
    estimate may try stays inside its room (domain edges, kinks); an entry with no room
    does not move.
    """
    positions = spec.diff_positions
    sizes = [x[p].size for p in positions]
    reach = 5.0 * DEFAULT_SPACING * GROWTH**2
    parts = []
    for p in positions:
        signs = rng.choice([-1.0, 1.0], size=x[p].shape)
        parts.append((signs * np.minimum(1.0, rooms[p] / reach)).ravel())
    direction = np.concatenate(parts)
    centre = np.concatenate([x[p].ravel() for p in positions])
    cuts = np.cumsum(sizes)[:-1]

    def point(vec: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
        pt = list(x)
        for p, piece in zip(positions, np.split(vec, cuts), strict=True):
            pt[p] = piece.reshape(x[p].shape)
        return tuple(pt)

    def evaluate(vecs: Sequence[NDArray[np.float64]]) -> list[NDArray[np.float64]]:
        return evaluator.forward64([point(v) for v in vecs])

    elementwise = spec.single and bool(spec.structures[spec.inputs[0]].elementwise)
    try:
        return forward_noise(
            lambda v: evaluate([v])[0],
            centre,
            direction,
            elementwise=elementwise,
            evaluate=(lambda vs: [y.reshape(x[positions[0]].shape) for y in evaluate(vs)])
            if elementwise
            else evaluate,
        )
    except CallFailure:
        return None


def _validate_inputs(spec: Spec, X: tuple[Any, ...]) -> tuple[NDArray[Any], ...]:
    """The inputs of ``verify_at``, checked against the spec; a UsageError says what is wrong."""
    names = spec.inputs
    if len(X) != len(names):
        raise UsageError(
            f"Spec {spec.name!r} takes {len(names)} input(s) ({', '.join(names)}), in that "
            f"order; got {len(X)}."
        )
    out = []
    for name, a in zip(names, X, strict=True):
        if not isinstance(a, np.ndarray):
            raise UsageError(f"`{name}` must be a numpy array; got {type(a).__name__}.")
        if spec.single and a.ndim != 2:
            raise UsageError(
                f"Z must have shape (n, m): n units by m examples, one example per column; "
                f"got {a.ndim} dimension(s), shape {a.shape}. Reshape a single example with "
                f"z.reshape(-1, 1)."
            )
        if a.size == 0:
            raise UsageError(f"`{name}` is empty (shape {a.shape}); give at least one entry.")
        if a.dtype.name not in spec.dtypes:
            raise UsageError(
                f"`{name}` has dtype {a.dtype}; spec {spec.name!r} supports "
                f"{', '.join(spec.dtypes)}."
            )
        if not np.isfinite(a).all():
            raise UsageError(f"`{name}` contains NaN or infinity; the checks need a finite input.")
        out.append(a)
    dts = {a.dtype for a in out}
    if len(dts) > 1:
        raise UsageError(
            f"Inputs of {spec.name!r} have different dtypes "
            f"({', '.join(f'{n}: {a.dtype}' for n, a in zip(names, out, strict=True))}); "
            f"give every input in the dtype under test."
        )
    try:
        spec.signature.bind(tuple(a.shape for a in out), names)
    except HarnessError as exc:
        raise UsageError(f"Inputs of {spec.name!r}: {exc}") from None
    if out[0].ndim >= 1 and out[0].shape[0] < spec.min_rows:
        raise UsageError(f"Spec {spec.name!r} needs at least {spec.min_rows} row(s).")
    return tuple(out)


@dataclass
class _Aggregate:
    """Per-check accumulation over the examples of a ``verify`` run."""

    worst: dict[str, tuple[Measurement, Example]] = field(default_factory=dict)
    last_failure: dict[str, tuple[Measurement, Example]] = field(default_factory=dict)
    hist: dict[str, list[int]] = field(default_factory=dict)
    maxima: dict[str, list[float]] = field(default_factory=dict)
    ulps: dict[str, float] = field(default_factory=dict)
    comparisons: Counter[str] = field(default_factory=Counter)
    unresolved: Counter[str] = field(default_factory=Counter)
    rounding_limited: Counter[str] = field(default_factory=Counter)
    ran: Counter[str] = field(default_factory=Counter)
    families: Counter[str] = field(default_factory=Counter)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    examples: int = 0

    def add(self, ex: Example, ms: list[Measurement]) -> None:
        self.examples += 1
        self.families[ex.family] += 1
        for m in ms:
            if m.status == "skip":
                self.worst.setdefault(m.check, (m, ex))
                continue
            self.ran[m.check] += 1
            merge_inputs(self.inputs, m)
            self.comparisons[m.check] += m.comparisons
            self.unresolved[m.check] += int(m.extra.get("unresolved", 0))
            self.rounding_limited[m.check] += int(m.extra.get("rounding_limited", 0))
            prev = self.worst.get(m.check)
            if (
                prev is None
                or prev[0].status in ("skip", "unresolved")
                or (m.status != "unresolved" and rank(m) > rank(prev[0]))
            ):
                self.worst[m.check] = (m, ex)
            if m.failed:
                self.last_failure[m.check] = (m, ex)
            h = self.hist.setdefault(m.check, [0] * (len(HIST_EDGES) - 1))
            h[_bin(m.ratio)] += 1
            mx = self.maxima.setdefault(m.check, [0.0, 0.0])
            mx[0] = max(mx[0], m.abs_error)
            mx[1] = max(mx[1], m.rel_error if m.rel_error is not None else 0.0)
            if m.ulps is not None:
                self.ulps[m.check] = max(self.ulps.get(m.check, 0.0), m.ulps)


def merge_inputs(acc: dict[str, dict[str, Any]], m: Measurement) -> None:
    """Fold one measurement's per-input shares into ``acc`` (name -> worst verdict)."""
    for name, v in m.extra.get("by_input", {}).items():
        v = {**v, "check": m.check}
        old = acc.get(name)
        # A failure wins; among failures, one with an entry index (the jacobian's) says most.
        rank = (v["status"] == "fail", v.get("index") is not None, v["ratio"])
        if old is None or rank > (
            old["status"] == "fail",
            old.get("index") is not None,
            old["ratio"],
        ):
            acc[name] = v


def input_verdicts(spec: Spec, acc: dict[str, dict[str, Any]]) -> tuple[InputVerdict, ...]:
    """One verdict per differentiable input of a spec with several (none for one input)."""
    if len(spec.diff_inputs) < 2:
        return ()
    out = []
    for name in spec.diff_inputs:
        v = acc.get(name)
        pos = spec.inputs.index(name) + 1
        if v is None:
            out.append(InputVerdict(name, pos, len(spec.inputs), "skip", None, "", ""))
            continue
        out.append(
            InputVerdict(
                name=name,
                position=pos,
                of=len(spec.inputs),
                status="fail" if v["status"] == "fail" else "pass",
                error_ratio=finite_or_none(v["ratio"]),
                check=v["check"],
                what=v["what"] if v["status"] == "fail" else "",
                index=tuple(v["index"]) if v.get("index") else None,
                expected=finite_or_none(v["expected"]),
                got=finite_or_none(v["got"]),
            )
        )
    return tuple(out)


def _bin(ratio: float) -> int:
    if not ratio > 0:
        return 0
    lg = np.log10(ratio) if np.isfinite(ratio) else HIST_EDGES[-1]
    i = int(np.searchsorted(HIST_EDGES, lg, side="right")) - 1
    return min(max(i, 0), len(HIST_EDGES) - 2)


# How measurements become results (harness/results.py): _record, _worst, _check_result,
# _run_result.


def _record(spec: Spec, ex: Example) -> InputRecord:
    return InputRecord.from_arrays(
        spec.inputs, ex.arrays, constants=spec.constants, layout=ex.layout, family=ex.family
    )


def _oracle(name: str, m: Measurement) -> str:
    if "oracle" in m.extra:
        return str(m.extra["oracle"])
    return (
        "central differences" if name in ("jacobian", "vjp_directional", "jvp_directional") else ""
    )


def _worst(m: Measurement, record: InputRecord | None, replay: str) -> Worst:
    call_failure = m.what in CALL_FAILURE_KINDS
    return Worst(
        what=m.what,
        expected=None if call_failure else m.expected,
        got=None if call_failure else m.got,
        abs_error=None if call_failure else abs(m.got - m.expected),
        rel_error=None if call_failure else m.rel_error,
        ulps=m.ulps,
        tolerance=None if call_failure else m.tolerance,
        ratio=m.ratio,
        location=m.location,
        input=record,
        replay=replay,
        scale=m.extra.get("scale"),
    )


def _coverage(m: Measurement, unresolved: int, limited: int, comparisons: int) -> dict[str, Any]:
    """The coverage of a check: its ``unresolved`` and ``rounding_limited`` counts and a
    message that states them."""
    out: dict[str, Any] = {}
    note = []
    if unresolved:
        where = "; ".join(m.extra.get("unresolved_where", [])[:2])
        note.append(
            f"{unresolved} of {comparisons + unresolved} comparisons unresolved"
            + (f" (e.g. {where})" if where else "")
        )
    if limited:
        note.append(f"{limited} rounding-limited (accepted by the rounding policy)")
    message = m.message
    # A call failure's message is its cause alone, so that checks it stopped share one finding.
    if note and "comparisons unresolved" not in message and m.what not in CALL_FAILURE_KINDS:
        message = "; ".join([*note, message] if message else note)
    out["message"] = message
    out["unresolved"] = unresolved
    out["rounding_limited"] = limited
    return out


def _check_result(
    spec: Spec,
    name: str,
    m: Measurement,
    ex: Example | None,
    agg: _Aggregate | None,
    replay: str,
) -> CheckResult:
    worst = None
    if m.status != "skip":
        worst = _worst(m, _record(spec, ex) if ex is not None else None, replay)
    heatmap = None if m.heatmap is None else Heatmap.from_measurement(m.heatmap)
    curve = None if m.step_curve is None else StepCurve.from_measurement(m.step_curve)
    oracle = "" if m.status == "skip" else _oracle(name, m)
    status: Status = (
        "skip"
        if m.status == "skip"
        else "fail"
        if m.failed
        else "unresolved"
        if m.status == "unresolved"
        else "pass"
    )
    if agg is None:
        unresolved, limited = (
            int(m.extra.get("unresolved", 0)),
            int(m.extra.get("rounding_limited", 0)),
        )
        comparisons = m.comparisons
    else:
        unresolved, limited = agg.unresolved[name], agg.rounding_limited[name]
        comparisons = agg.comparisons[name]
    cover = _coverage(m, unresolved, limited, comparisons)
    if agg is None:
        hist = [0] * (len(HIST_EDGES) - 1)
        if m.status != "skip":
            hist[_bin(m.ratio)] += 1
        return CheckResult(
            **cover,
            check=name,
            status=status,
            examples=0 if m.status == "skip" else 1,
            comparisons=m.comparisons,
            max_abs_error=m.abs_error,
            max_rel_error=m.rel_error,
            max_ulps=m.ulps,
            error_ratio=m.ratio,
            ratio_hist=RatioHist.of_counts(hist),
            worst=worst,
            heatmap=heatmap,
            step_curve=curve,
            oracle=oracle,
        )
    mx = agg.maxima.get(name, [m.abs_error, m.rel_error])
    return CheckResult(
        **cover,
        check=name,
        status=status,
        examples=agg.ran[name],
        comparisons=agg.comparisons[name],
        max_abs_error=mx[0],
        max_rel_error=mx[1],
        max_ulps=agg.ulps.get(name),
        error_ratio=m.ratio,
        ratio_hist=RatioHist.of_counts(agg.hist.get(name, [0] * (len(HIST_EDGES) - 1))),
        worst=worst,
        heatmap=heatmap,
        step_curve=curve,
        oracle=oracle,
    )


_NEEDS_JVP = ("jvp_directional", "adjoint")


def _run_result(
    spec: Spec,
    dtype: str,
    checks: Sequence[CheckResult],
    dtype_findings: dict[str, str],
    inputs: dict[str, dict[str, Any]],
    **kw: Any,
) -> RunResult:
    """The run: each call failure grouped into one finding with the checks it prevented, a
    result dtype that breaks the contract as one finding, and one verdict per input.

    A check that needs a JVP is a skip when none is registered, whatever else went wrong.
    """
    if spec.jvp is None:
        checks = [
            CheckResult(check=c.check, status="skip", message="no jvp registered")
            if c.check in _NEEDS_JVP
            else c
            for c in checks
        ]
    findings, grouped = findings_from_checks(checks)
    dtype_notes = tuple(
        Finding(kind="dtype", message=_dtype_message(msg, grouped), checks=())
        for _, msg in sorted(dtype_findings.items())
    )
    return RunResult(
        spec=spec.name,
        dtype=dtype,
        checks=tuple(grouped),
        findings=dtype_notes + tuple(findings),
        inputs=spec.inputs,
        constants=spec.constants,
        verdicts=input_verdicts(spec, inputs),
        **kw,
    )


def _dtype_message(msg: str, checks: Sequence[CheckResult]) -> str:
    """ "vjp returns float64 for float32 input; values correct" (or wrong by how much)."""
    failed = [c for c in checks if c.failed and c.finding is None]
    if not failed:
        return f"{msg}; values correct"
    worst = max(failed, key=lambda c: c.error_ratio or 0.0)
    err = worst.worst.abs_error if worst.worst is not None else None
    return f"{msg}; values wrong by {fmt_figure(err)} ({worst.check})"


def verify_at(
    spec: Spec | str,
    *inputs: NDArray[Any],
    layout: str = "C",
    probe_seed: int = 0,
    strict: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    model: ErrorModel = DEFAULT_MODEL,
    directions: int = 2,
    detail: bool = True,
    jacobian: str = "auto",
    max_jacobian_bytes: int = 2 << 30,
) -> RunResult:
    """Run every check on one given input, with no generation.

    Use it to replay a counterexample, to check a function on your own data, and in
    benchmarks. The input is not modified.

    Parameters
    ----------
    spec : Spec or str
        The spec, or the name of a registered one.
    *inputs : ndarray
        One array per spec input, positional, in ``spec.inputs`` order (for an activation
        one ``Z`` of shape (n, m)), all in one of the spec's dtypes (the run's dtype).
        Nothing is modified.
    layout : {"C", "F", "strided"}
        Memory layout the inputs are handed to the functions in.
    probe_seed : int
        Seed of the random probe directions.
    strict : bool
        Drop the output-scale rounding allowance (flags rounding-limited derivatives).
    timeout : float or None
        Seconds one call of the function under test may take.
    directions : int
        Random direction pairs in the directional checks.
    detail : bool
        Also compute the Jacobian heat map and the error-versus-step curve.
    jacobian : {"auto", "always"}
        When the explicit Jacobian would exceed ``max_jacobian_bytes``: "auto" skips that
        check and says so in the result; "always" raises :class:`JacobianTooLargeError`.

    Returns
    -------
    RunResult
    """
    spec = _resolve(spec)
    X = _validate_inputs(spec, inputs)
    if layout not in ("C", "F", "strided"):
        raise UsageError(f"layout must be 'C', 'F' or 'strided'; got {layout!r}.")
    if jacobian not in ("auto", "always"):
        raise UsageError(f"jacobian must be 'auto' or 'always'; got {jacobian!r}.")
    X = tuple(np.array(a, copy=True) for a in X)
    counts = Counts()
    t0 = time.perf_counter()
    findings: dict[str, str] = {}
    ms = run_checks(
        spec,
        X,
        layout=layout,
        probe_seed=probe_seed,
        strict=strict,
        model=model,
        timeout=timeout,
        detail=detail,
        directions=directions,
        jacobian=jacobian,
        max_jacobian_bytes=max_jacobian_bytes,
        counts=counts,
        findings=findings,
    )
    elapsed = time.perf_counter() - t0
    ex = Example(arrays=X, family="given", layout=layout, probe_seed=probe_seed)
    checks = tuple(_check_result(spec, m.check, m, ex, None, "") for m in ms)
    acc: dict[str, dict[str, Any]] = {}
    for m in ms:
        merge_inputs(acc, m)
    return _run_result(
        spec,
        X[spec.diff_positions[0]].dtype.name,
        checks,
        findings,
        acc,
        examples=1,
        seed=probe_seed,
        elapsed_s=elapsed,
        evaluations=counts.as_dict(),
        families={"given": 1},
        strict=strict,
    )


class _Failed(AssertionError):
    pass


def verify(
    spec: Spec | str,
    *,
    dtype: Any = np.float64,
    max_examples: int | None = None,
    seed: int | None = DEFAULT_SEED,
    profile: str | None = None,
    strict: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    model: ErrorModel = DEFAULT_MODEL,
    database: str | os.PathLike[str] | None = None,
    results_path: str | None = None,
) -> RunResult:
    """Verify a spec on hypothesis-generated inputs, random and adversarial.

    Parameters
    ----------
    spec : Spec or str
        The spec, or the name of a registered one.
    dtype : numpy dtype
        The dtype the implementation runs in; the oracle is always float64.
    max_examples : int, optional
        Inputs to generate; defaults to the profile's.
    seed : int or None
        Seed of the generation, for exact replay; ``None`` draws one at random. The default
        is the fixed seed ``python -m harness verify`` uses too.
    profile : {"quick", "thorough", "exhaustive"}, optional
        Sizes and example counts; default ``$HARNESS_PROFILE`` if set, else "thorough",
        as for the command line and the pytest plugin.
    strict : bool
        Drop the output-scale rounding allowance.
    timeout : float or None
        Seconds one call of the function under test may take.
    database : path or None
        Where the last counterexample of each spec and dtype is kept between runs (see
        harness.exampledb); a run with ``seed=None`` tries it first. None (the default)
        keeps nothing and writes nothing.
    results_path : str, optional
        The results file the caller writes this run into, named in the replay commands;
        None (no file): no replay commands, the rerun command reproduces a failure.

    Returns
    -------
    RunResult
        ``.passed``, and per check the worst error in units of its tolerance with the input
        it was found on (shrunk by hypothesis when the check failed).
    """
    spec = _resolve(spec)
    dt = _dtype(spec, dtype)
    prof = get_profile(profile or default_profile())
    n_examples = prof.max_examples if max_examples is None else int(max_examples)
    if n_examples < 1:
        raise UsageError(f"max_examples must be at least 1; got {max_examples!r}.")
    store = ExampleStore(database) if database is not None else None
    # A seeded run is a function of its seed alone (two runs give the same result); a run
    # with a random seed explores, and retries the kept counterexample first.
    known = store.load(spec.name, dt.name) if store is not None and seed is None else None
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31))
    agg = _Aggregate()
    counts = Counts()
    run_findings: dict[str, str] = {}

    hyp_settings = settings(
        max_examples=n_examples,
        deadline=None,
        # With an explicit seed hypothesis writes no database; ExampleStore does instead.
        database=None,
        derandomize=False,
        print_blob=False,
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )

    @hyp_seed(seed)
    @hyp_settings
    @given(points(spec, dt, prof.sizes))
    def _run(ex: Example) -> None:
        ms = run_checks(
            spec,
            ex.arrays,
            layout=ex.layout,
            probe_seed=ex.probe_seed,
            strict=strict,
            model=model,
            timeout=timeout,
            directions=prof.directions,
            counts=counts,
            findings=run_findings,
        )
        agg.add(ex, ms)
        failed = [m.check for m in ms if m.failed]
        if failed:
            raise _Failed(", ".join(failed))

    test = example(known)(_run) if known is not None else _run
    t0 = time.perf_counter()
    note = ""
    try:
        test()
    except _Failed:
        pass
    except Flaky as exc:
        note = f" (hypothesis could not reproduce the failure: {type(exc).__name__})"
    except HypothesisException as exc:
        raise UsageError(f"input generation failed for {spec.name!r}: {exc}") from exc
    elapsed = time.perf_counter() - t0

    if store is not None:
        failures = [agg.last_failure[c][1] for c in CHECK_NAMES if c in agg.last_failure]
        if failures:
            store.save(spec.name, dt.name, failures[0])
        else:
            store.clear(spec.name, dt.name)
    run_replay = commands.rerun_command(
        spec, dt.name, seed=seed, max_examples=n_examples, profile=prof.name, strict=strict
    )
    results = []
    for name in CHECK_NAMES:
        chosen = agg.last_failure.get(name) or agg.worst.get(name)
        if chosen is None:
            results.append(CheckResult(check=name, status="skip", message="no input was run"))
            continue
        m, ex = chosen
        if m.status != "skip":
            m = _detail(
                spec,
                ex,
                name,
                m,
                strict=strict,
                model=model,
                timeout=timeout,
                directions=prof.directions,
            )
        replay = commands.replay_command(
            spec, dt.name, name, results_path=results_path, strict=strict
        )
        cr = _check_result(spec, name, m, ex, agg, replay)
        if cr.status == "fail" and note:
            cr = replace(cr, message=cr.message + note)
        results.append(cr)
    return _run_result(
        spec,
        dt.name,
        results,
        run_findings,
        agg.inputs,
        examples=agg.examples,
        seed=seed,
        elapsed_s=elapsed,
        evaluations=counts.as_dict(),
        families=dict(agg.families),
        replay=run_replay,
        strict=strict,
        finite_range=_range_note(spec, dt),
    )


def _range_note(spec: Spec, dt: np.dtype[Any]) -> str:
    """Where the forward overflows in this dtype, and whose fault it is ("" when it does not
    or the spec is not probed)."""
    fr = finite_range_of(spec, dt)
    return fr.message() if fr is not None else ""


def _detail(
    spec: Spec,
    ex: Example,
    name: str,
    m: Measurement,
    **kw: Any,
) -> Measurement:
    """Re-run one check's worst input with heat map and step curve collection on."""
    if name != "jacobian" or m.what in CALL_FAILURE_KINDS:
        return m
    ms = run_checks(spec, ex.arrays, layout=ex.layout, probe_seed=ex.probe_seed, detail=True, **kw)
    again = next(x for x in ms if x.check == name)
    # Determinism is checked elsewhere; keep the verdict that was measured in the run, unless
    # the closer look found the forward discontinuous there (no derivative to compare).
    m.heatmap, m.step_curve = again.heatmap, again.step_curve
    if again.status == "unresolved" and m.failed:
        m.status, m.message = again.status, again.message
        m.extra["unresolved"] = int(m.extra.get("unresolved", 0)) + 1
    return m


def assert_verified(
    spec: Spec | str,
    *inputs: NDArray[Any],
    dtypes: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[RunResult]:
    """Verify and raise ``AssertionError`` with a readable summary on any failure.

    For a user's own pytest file: ``assert_verified(my_spec)`` verifies on generated inputs
    in every dtype the spec supports; ``assert_verified(my_spec, Z)`` (or, for several
    inputs, ``assert_verified(dense, W, b, A_prev)``) on one given point.
    Keyword arguments go to :func:`verify` or :func:`verify_at`.
    """
    __tracebackhide__ = True
    spec = _resolve(spec)
    runs: list[RunResult] = []
    if inputs:
        runs.append(verify_at(spec, *inputs, **kwargs))
    else:
        for dt in dtypes or spec.dtypes:
            runs.append(verify(spec, dtype=dt, **kwargs))
    failed = [r for r in runs if not r.passed]
    if failed:
        raise AssertionError("\n\n".join(r.summary() for r in failed))
    return runs
