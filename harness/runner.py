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

from harness.calls import CALL_FAILURE_KINDS, Caller, CallFailure, Counts
from harness.checks import CHECK_NAMES, CHECKS, Context, Measurement
from harness.errormodel import DEFAULT_MODEL, ErrorModel
from harness.errors import JacobianTooLargeError, UsageError
from harness.exampledb import ExampleStore
from harness.oracle import Evaluator
from harness.profiles import get_profile
from harness.registry import REGISTRY
from harness.results import (
    HIST_EDGES,
    CheckResult,
    Heatmap,
    InputRecord,
    Location,
    RatioHist,
    RunResult,
    StepCurve,
    Worst,
    findings_from_checks,
)
from harness.spec import Spec
from harness.strategies import Example, examples

__all__ = ["assert_verified", "run_checks", "verify", "verify_at"]

DEFAULT_SEED = 20261128
DEFAULT_TIMEOUT = 60.0


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


def _module_flag(spec: Spec) -> str:
    """``--module M`` naming the module that registered the spec, for replay commands."""
    mod = REGISTRY.module_of(spec)
    if not mod or mod == "__main__" or mod == "specs" or mod.startswith("specs."):
        return ""
    return f" --module {mod}"


def run_checks(
    spec: Spec,
    Z: NDArray[Any],
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
) -> list[Measurement]:
    """Run the checks on one input; the building block of ``verify`` and ``verify_at``.

    ``checks`` restricts the run to the named checks (all by default), in their usual order.
    """
    if checks is not None:
        unknown = sorted(set(checks) - set(CHECK_NAMES))
        if unknown:
            raise UsageError(f"Unknown check(s) {unknown}; checks: {', '.join(CHECK_NAMES)}.")
    selected = [(n, f) for n, f in CHECKS if checks is None or n in checks]
    caller = Caller(spec, Z.dtype, timeout)
    if counts is not None:
        caller.counts = counts
    caller.layout = layout
    evaluator = Evaluator(caller, spec.structure)
    x = Z.astype(np.float64)
    try:
        A = caller.forward(Z)
        if Z.dtype == np.float64:
            A64, oracle_dtype = A.astype(np.float64), np.dtype(np.float64)
        else:
            raw = caller.forward(x, oracle=True)
            A64, oracle_dtype = raw.astype(np.float64), raw.dtype
    except CallFailure as exc:
        return [Measurement.call_failure(name, exc) for name, _ in selected]
    evaluator.set_centre(x, A64)
    try:
        Zp, Ap, noise_f = _perturbed(caller, evaluator, Z, x, A64, model, probe_seed)
    except CallFailure as exc:
        return [Measurement.call_failure(name, exc) for name, _ in selected]
    ctx = Context(
        spec=spec,
        caller=caller,
        evaluator=evaluator,
        model=model,
        Z=Z,
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
        Zp=Zp,
        Ap=Ap,
        noise_f=noise_f,
    )
    out = []
    for name, fn in selected:
        try:
            # The checks handle inf and NaN on purpose; numpy's warnings about them are noise.
            with np.errstate(all="ignore"):
                out.append(fn(ctx))
        except CallFailure as exc:
            # Every check turns its own call failures into verdicts; this catches the ones
            # met in a check's later steps (a stencil at a kink, a detail plot).
            out.append(Measurement.call_failure(name, exc))
        except JacobianTooLargeError as exc:
            if jacobian == "always":
                raise
            out.append(Measurement.skip(name, f"{exc}; verified by directional checks only"))
    return out


def _perturbed(
    caller: Caller,
    evaluator: Evaluator,
    Z: NDArray[Any],
    x: NDArray[np.float64],
    A64: NDArray[np.float64],
    model: ErrorModel,
    seed: int,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.float64]]:
    """The input moved by a few ulps per entry, its forward, and the float64 forward's change.

    See harness.errormodel: this measures the rounding that depends on the input's magnitude.
    """
    signs = np.random.default_rng([seed, 1]).choice([-1.0, 1.0], size=Z.shape)
    eps_d = float(np.finfo(Z.dtype).eps)
    Zp = (x * (1.0 + signs * model.noise_ulps * eps_d)).astype(Z.dtype)
    Ap = caller.forward(Zp)
    xp = x * (1.0 + signs * model.noise_ulps * float(np.finfo(np.float64).eps))
    noise_f = np.abs(evaluator.forward64([xp], batch=False)[0] - A64)
    return Zp, Ap, np.where(np.isfinite(noise_f), noise_f, 0.0)


def _validate_input(spec: Spec, Z: Any) -> NDArray[Any]:
    if not isinstance(Z, np.ndarray):
        raise UsageError(f"Z must be a numpy array of shape (n, m); got {type(Z).__name__}.")
    if Z.ndim != 2:
        raise UsageError(
            f"Z must have shape (n, m): n units by m examples, one example per column; "
            f"got {Z.ndim} dimension(s), shape {Z.shape}. Reshape a single example with "
            f"z.reshape(-1, 1)."
        )
    if Z.size == 0:
        raise UsageError(f"Z is empty (shape {Z.shape}); give at least one unit and example.")
    if Z.dtype.name not in spec.dtypes:
        raise UsageError(
            f"Z has dtype {Z.dtype}; spec {spec.name!r} supports {', '.join(spec.dtypes)}."
        )
    if not np.isfinite(Z).all():
        raise UsageError("Z contains NaN or infinity; the checks need a finite input.")
    if Z.shape[0] < spec.min_rows:
        raise UsageError(f"Spec {spec.name!r} needs at least {spec.min_rows} row(s).")
    return Z


@dataclass
class _Aggregate:
    """Per-check accumulation over the examples of a ``verify`` run."""

    worst: dict[str, tuple[Measurement, Example]] = field(default_factory=dict)
    last_failure: dict[str, tuple[Measurement, Example]] = field(default_factory=dict)
    hist: dict[str, list[int]] = field(default_factory=dict)
    maxima: dict[str, list[float]] = field(default_factory=dict)
    ulps: dict[str, float] = field(default_factory=dict)
    comparisons: Counter[str] = field(default_factory=Counter)
    ran: Counter[str] = field(default_factory=Counter)
    families: Counter[str] = field(default_factory=Counter)
    unresolved: Counter[str] = field(default_factory=Counter)
    rounding_limited: Counter[str] = field(default_factory=Counter)
    examples: int = 0

    def add(self, ex: Example, ms: list[Measurement]) -> None:
        self.examples += 1
        self.families[ex.family] += 1
        for m in ms:
            if m.status == "skip":
                self.worst.setdefault(m.check, (m, ex))
                continue
            self.ran[m.check] += 1
            self.comparisons[m.check] += m.comparisons
            self.unresolved[m.check] += int(m.extra.get("unresolved", 0))
            self.rounding_limited[m.check] += int(m.extra.get("rounding_limited", 0))
            prev = self.worst.get(m.check)
            if prev is None or prev[0].status == "skip" or m.ratio > prev[0].ratio:
                self.worst[m.check] = (m, ex)
            if m.failed:
                self.last_failure[m.check] = (m, ex)
            h = self.hist.setdefault(m.check, [0] * (len(HIST_EDGES) - 1))
            h[_bin(m.ratio)] += 1
            mx = self.maxima.setdefault(m.check, [0.0, 0.0])
            mx[0] = max(mx[0], m.abs_error)
            mx[1] = max(mx[1], m.rel_error)
            if m.ulps is not None:
                self.ulps[m.check] = max(self.ulps.get(m.check, 0.0), m.ulps)


def _bin(ratio: float) -> int:
    if not ratio > 0:
        return 0
    lg = np.log10(ratio) if np.isfinite(ratio) else HIST_EDGES[-1]
    i = int(np.searchsorted(HIST_EDGES, lg, side="right")) - 1
    return min(max(i, 0), len(HIST_EDGES) - 2)


# --------------------------------------------------------------------------- results model
# How this engine's measurements become results (schema 2, harness/results.py). Kept in these
# helpers only: _record, _location, _worst, _check_result, _run_result.


def _record(ex: Example) -> InputRecord:
    return InputRecord.from_array(ex.Z, layout=ex.layout, family=ex.family)


def _location(name: str, m: Measurement, structure: str, shape: tuple[int, ...]) -> Location:
    """Where the worst comparison was, for the one input ``Z``."""
    loc = m.location
    if loc is None or m.what in CALL_FAILURE_KINDS:
        return Location(input="Z", position=1, of=1)
    if name != "jacobian":
        return Location(input="Z", position=1, of=1, input_index=tuple(loc))
    if structure == "elementwise":
        return Location(input="Z", position=1, of=1, input_index=loc, output_index=loc)
    # Columnwise and dense jacobian locations are (row, column) of J over C-order flattening.
    size = int(np.prod(shape))

    def unflat(i: int) -> tuple[int, ...]:
        return tuple(int(v) for v in np.unravel_index(i, shape)) if i < size else (i,)

    return Location(
        input="Z", position=1, of=1, input_index=unflat(loc[1]), output_index=unflat(loc[0])
    )


def _worst(
    name: str, m: Measurement, record: InputRecord | None, replay: str, structure: str
) -> Worst:
    call_failure = m.what in CALL_FAILURE_KINDS
    shape = record.shape if record is not None else ()
    return Worst(
        what=m.what,
        expected=None if call_failure else m.expected,
        got=None if call_failure else m.got,
        abs_error=abs(m.got - m.expected) if m.what not in ("", None) else m.abs_error,
        rel_error=m.rel_error,
        ulps=m.ulps,
        tolerance=m.tolerance,
        ratio=m.ratio,
        location=_location(name, m, structure, shape),
        input=record,
        replay=replay,
        # This engine's relative error is entry-wise: relative to |expected| of the entry.
        scale=m.extra.get("scale", abs(m.expected)),
    )


def _oracle(name: str, m: Measurement) -> str:
    if "oracle" in m.extra:
        return str(m.extra["oracle"])
    if m.message.startswith("oracle: "):
        return m.message.removeprefix("oracle: ")
    return "central differences" if name in ("jacobian", "vjp_directional") else ""


def _check_result(
    name: str,
    m: Measurement,
    ex: Example | None,
    agg: _Aggregate | None,
    replay: str,
    record: InputRecord | None = None,
    structure: str = "dense",
) -> CheckResult:
    worst = None
    if m.status != "skip":
        rec = record if record is not None else (_record(ex) if ex is not None else None)
        worst = _worst(name, m, rec, replay, structure)
    heatmap = None if m.heatmap is None else Heatmap.from_measurement(m.heatmap)
    curve = None if m.step_curve is None else StepCurve.from_measurement(m.step_curve)
    oracle = "" if m.status == "skip" else _oracle(name, m)
    if agg is None:
        hist = [0] * (len(HIST_EDGES) - 1)
        if m.status != "skip":
            hist[_bin(m.ratio)] += 1
        return CheckResult(
            check=name,
            status="skip" if m.status == "skip" else "fail" if m.failed else "pass",
            message=m.message,
            examples=0 if m.status == "skip" else 1,
            comparisons=m.comparisons,
            unresolved=int(m.extra.get("unresolved", 0)),
            rounding_limited=int(m.extra.get("rounding_limited", 0)),
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
        check=name,
        status="skip" if m.status == "skip" else "fail" if m.failed else "pass",
        message=m.message,
        examples=agg.ran[name],
        comparisons=agg.comparisons[name],
        unresolved=agg.unresolved[name],
        rounding_limited=agg.rounding_limited[name],
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


def _run_result(spec: Spec, dtype: str, checks: Sequence[CheckResult], **kw: Any) -> RunResult:
    """The run, each call failure grouped into one finding with the checks it prevented.

    A check that needs a JVP is a skip when none is registered, whatever else went wrong.
    """
    if spec.jvp is None:
        checks = [
            CheckResult(check=c.check, status="skip", message="no jvp registered")
            if c.check in _NEEDS_JVP
            else c
            for c in checks
        ]
    findings, checks = findings_from_checks(checks)
    return RunResult(
        spec=spec.name,
        dtype=dtype,
        checks=tuple(checks),
        findings=findings,
        inputs=("Z",),
        constants=(),
        **kw,
    )


def verify_at(
    spec: Spec | str,
    Z: NDArray[Any],
    *,
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
    Z : ndarray, shape (n, m)
        The input, in one of the spec's dtypes (the run's dtype is Z's).
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
    Z = _validate_input(spec, Z)
    if layout not in ("C", "F", "strided"):
        raise UsageError(f"layout must be 'C', 'F' or 'strided'; got {layout!r}.")
    if jacobian not in ("auto", "always"):
        raise UsageError(f"jacobian must be 'auto' or 'always'; got {jacobian!r}.")
    Z = np.array(Z, copy=True)
    counts = Counts()
    t0 = time.perf_counter()
    ms = run_checks(
        spec,
        Z,
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
    )
    elapsed = time.perf_counter() - t0
    ex = Example(Z=Z, family="given", layout=layout, probe_seed=probe_seed)
    record = _record(ex)
    checks = tuple(_check_result(m.check, m, ex, None, "", record, spec.structure) for m in ms)
    return _run_result(
        spec,
        Z.dtype.name,
        checks,
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
    profile: str = "quick",
    strict: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    model: ErrorModel = DEFAULT_MODEL,
    database: str | os.PathLike[str] | None = ".hypothesis/harness",
    results_path: str = "reports/results.json",
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
        Seed of the generation, for exact replay; ``None`` draws one at random.
    profile : {"quick", "thorough", "exhaustive"}
        Sizes and example counts.
    strict : bool
        Drop the output-scale rounding allowance.
    timeout : float or None
        Seconds one call of the function under test may take.
    database : path or None
        Where the last counterexample of each spec and dtype is kept between runs (see
        harness.exampledb); a run with ``seed=None`` tries it first. None keeps nothing.
    results_path : str
        Path shown in the replay commands of the result.

    Returns
    -------
    RunResult
        ``.passed``, and per check the worst error in units of its tolerance with the input
        it was found on (shrunk by hypothesis when the check failed).
    """
    spec = _resolve(spec)
    dt = _dtype(spec, dtype)
    prof = get_profile(profile)
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
    @given(examples(spec, dt, prof.sizes))
    def _run(ex: Example) -> None:
        ms = run_checks(
            spec,
            ex.Z,
            layout=ex.layout,
            probe_seed=ex.probe_seed,
            strict=strict,
            model=model,
            timeout=timeout,
            directions=prof.directions,
            counts=counts,
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
    registered = REGISTRY.module_of(spec) is not None
    if registered:
        run_replay = (
            f"python -m harness verify --spec {spec.name!r} --dtype {dt.name} --seed {seed} "
            f"--max-examples {n_examples} --profile {profile}"
            + (" --strict" if strict else "")
            + _module_flag(spec)
        )
    else:
        # Not in the registry: the command line cannot find it, the same call can.
        run_replay = (
            f"harness.verify(spec, dtype=np.{dt.name}, seed={seed}, "
            f"max_examples={n_examples}, profile={profile!r}"
            + (", strict=True" if strict else "")
            + ")"
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
        replay = (
            f"python -m harness replay {results_path} --spec {spec.name!r} --dtype {dt.name} "
            f"--check {name}" + _module_flag(spec)
            if registered
            else "harness.verify_at(spec, Z, layout=...) with Z and the layout shown above"
        )
        cr = _check_result(name, m, ex, agg, replay, structure=spec.structure)
        if cr.status == "fail" and note:
            cr = replace(cr, message=cr.message + note)
        results.append(cr)
    return _run_result(
        spec,
        dt.name,
        results,
        examples=agg.examples,
        seed=seed,
        elapsed_s=elapsed,
        evaluations=counts.as_dict(),
        families=dict(agg.families),
        replay=run_replay,
        strict=strict,
    )


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
    ms = run_checks(spec, ex.Z, layout=ex.layout, probe_seed=ex.probe_seed, detail=True, **kw)
    again = next(x for x in ms if x.check == name)
    # Determinism is checked elsewhere; keep the verdict that was measured in the run.
    m.heatmap, m.step_curve = again.heatmap, again.step_curve
    return m


def assert_verified(
    spec: Spec | str,
    Z: NDArray[Any] | None = None,
    *,
    dtypes: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[RunResult]:
    """Verify and raise ``AssertionError`` with a readable summary on any failure.

    For a user's own pytest file: ``assert_verified(my_spec)`` verifies on generated inputs
    in every dtype the spec supports; ``assert_verified(my_spec, Z)`` on one given input.
    Keyword arguments go to :func:`verify` or :func:`verify_at`.
    """
    __tracebackhide__ = True
    spec = _resolve(spec)
    runs: list[RunResult] = []
    if Z is not None:
        runs.append(verify_at(spec, Z, **kwargs))
    else:
        for dt in dtypes or spec.dtypes:
            runs.append(verify(spec, dtype=dt, **kwargs))
    failed = [r for r in runs if not r.passed]
    if failed:
        raise AssertionError("\n\n".join(r.summary() for r in failed))
    return runs
