"""Sensitivity and false alarms: how small a vjp error the harness catches, and how often it
cries wolf on a correct one.

Three measurements, each a table:

* **Uniform error** (:func:`detection_sweep`, kind ``"uniform"``): the vjp multiplied by
  ``1 + delta`` for delta = 1e-1, 1e-2, ..., 1e-13. For each delta the wrong spec is run through
  :func:`harness.verify_at` on R standard-normal inputs of shape (10, 32) and through
  :func:`harness.verify` (profile ``quick``) with a few seeds. A run *detects* the error when it
  does not pass. The threshold reported is the smallest delta such that it and every larger delta
  were detected on every run.
* **Single-entry error** (kind ``"single-entry"``): the vjp correct except one element of dZ, at a
  fixed random position, off by ``delta * max|dZ|``.
* **False alarms** (:func:`false_alarms`): the correct specs (relu, sigmoid, tanh, softmax) through
  :func:`harness.verify` with profile ``thorough`` over several seeds, >= 10,000 generated inputs
  per spec and dtype, and the ordinary, less stable forms of ``tests/ordinary_specs.py``
  (``log(1 + exp(z))``, ``alpha (exp(z) - 1)``, ``1 - tanh(z)**2``, ``s (1 - s)``, ``exp``)
  with 2,000 each. Every failed run is a false alarm; its shrunk input is kept for the report.

The wrong specs keep the forward and the (perturbed) vjp only. A correct jvp would let the
``adjoint`` test (no finite differences, exact to rounding) catch any vjp error down to rounding
level, which says nothing about the finite-difference checks; real users rarely have a jvp that
is right when their vjp is wrong. The analytic softmax Jacobian is dropped too (it is compared
against finite differences, never against the vjp).

For comparison the peers' thresholds come from :func:`benchmarks.peers.detection_sweep`, measured
live when their libraries are installed, or else the figures recorded in the README.
"""

from __future__ import annotations

import importlib.util
import math
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

import specs  # noqa: F401  (registers the seed activations)
from harness import REGISTRY, RunResult, Spec, verify, verify_at

__all__ = [
    "DELTAS",
    "PEER_DELTAS",
    "RECORDED_PEER_THRESHOLDS",
    "TARGETS",
    "Cell",
    "DetectionRow",
    "EntryOffVJP",
    "FalseAlarm",
    "FalseAlarmRow",
    "PeerRow",
    "RelativeVJP",
    "SensitivityConfig",
    "detection_sweep",
    "entry_off_spec",
    "entry_position",
    "false_alarms",
    "fmt_delta",
    "format_detection",
    "format_false_alarms",
    "format_peers",
    "peer_sensitivity",
    "scaled_spec",
    "standard_normal_input",
    "threshold",
]

Array = NDArray[Any]
T = TypeVar("T")
R = TypeVar("R")

DELTAS: tuple[float, ...] = tuple(10.0**-k for k in range(1, 14))
"""Relative vjp errors tried: 1e-1 down to 1e-13."""

PEER_DELTAS: tuple[float, ...] = tuple(10.0**-k for k in range(1, 8))
"""Relative vjp errors tried on the peers (none of them gets near 1e-7)."""

TARGETS: dict[str, float] = {"float64": 1e-9, "float32": 1e-4}
"""Largest acceptable detection threshold per dtype, uniform and single-entry alike."""

RECORDED_PEER_THRESHOLDS: dict[str, float | None] = {
    "torch.gradcheck": 1e-2,
    "torch.gradcheck(fast)": None,  # misses a 10% error on softmax (see README)
    "jax.check_grads": 1e-4,
    "scipy.check_grad": 1e-5,
}
"""Thresholds from ``detection_sweep`` at 10x32 float64, shown when a peer cannot run live."""

ENTRY_SEED = 20261128
"""Seed of the fixed position of the single-entry error."""


# --- The wrong vjps -----------------------------------------------------------------------------


class RelativeVJP:
    """``vjp * (1 + delta)``, computed in float64 and rounded back to the vjp's dtype.

    In float32 a delta below about 6e-8 rounds away entirely; that is the dtype's resolution,
    not a limit of the checker. A class (not a closure) so that it pickles into worker processes.
    """

    def __init__(self, vjp: Callable[..., Array], delta: float) -> None:
        self.vjp = vjp
        self.delta = float(delta)

    def __call__(self, Z: Array, A: Array, dA: Array) -> Array:
        out = np.asarray(self.vjp(Z, A, dA))
        return (out.astype(np.float64) * (1.0 + self.delta)).astype(out.dtype)


class EntryOffVJP:
    """The vjp with one element of dZ off by ``delta * max|dZ|``.

    The element is ``(row % n, col % m)`` of whatever shape the call has, so that the error is
    present on every call (the harness also calls the vjp on tiled and small inputs).
    """

    def __init__(self, vjp: Callable[..., Array], delta: float, row: int, col: int) -> None:
        self.vjp = vjp
        self.delta = float(delta)
        self.row = int(row)
        self.col = int(col)

    def __call__(self, Z: Array, A: Array, dA: Array) -> Array:
        out = np.array(self.vjp(Z, A, dA), copy=True)
        n, m = out.shape
        big = float(np.max(np.abs(out.astype(np.float64)), initial=0.0))
        i, j = self.row % n, self.col % m
        out[i, j] = out.dtype.type(float(out[i, j]) + self.delta * big)
        return out


def _base(name: str) -> Spec:
    return REGISTRY.get(name)


def _stripped(base: Spec, name: str, vjp: Callable[..., Array]) -> Spec:
    """The base spec's forward with ``vjp``; no jvp, no analytic Jacobian (see module doc)."""
    return Spec(
        name=name,
        forward=base.forward,
        vjp=vjp,
        structure=base.structure,
        kinks=base.kinks,
        dtypes=base.dtypes,
        max_abs_input=base.max_abs_input,
        min_rows=base.min_rows,
    )


def scaled_spec(name: str, delta: float) -> Spec:
    """Registered spec ``name`` with its vjp multiplied by ``1 + delta`` (0 for the control)."""
    base = _base(name)
    vjp = base.vjp if delta == 0 else RelativeVJP(base.vjp, delta)
    return _stripped(base, f"{name}*(1+{delta:g})", vjp)


def entry_position(shape: tuple[int, int] = (10, 32), seed: int = ENTRY_SEED) -> tuple[int, int]:
    """The fixed random position of the single-entry error."""
    rng = np.random.default_rng(seed)
    return int(rng.integers(shape[0])), int(rng.integers(shape[1]))


def entry_off_spec(name: str, delta: float, position: tuple[int, int] | None = None) -> Spec:
    """Registered spec ``name`` with one element of dZ off by ``delta * max|dZ|``."""
    base = _base(name)
    row, col = entry_position() if position is None else position
    vjp = base.vjp if delta == 0 else EntryOffVJP(base.vjp, delta, row, col)
    return _stripped(base, f"{name}[{row},{col}]+{delta:g}*max", vjp)


# --- Configuration ------------------------------------------------------------------------------


ORDINARY_PREFIX = "ordinary:"
ORDINARY_FORMS: tuple[str, ...] = (
    "softplus",
    "elu1",
    "elu05",
    "selu",
    "tanh_prime",
    "sigmoid_prime",
    "exp",
)
_ORDINARY_PATH = Path(__file__).resolve().parent.parent / "tests" / "ordinary_specs.py"


def ordinary_spec(name: str) -> Spec:
    """One spec of ``tests/ordinary_specs.py`` by its attribute name (loaded from the file)."""
    module = sys.modules.get("ordinary_specs")
    if module is None:
        spec = importlib.util.spec_from_file_location("ordinary_specs", _ORDINARY_PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["ordinary_specs"] = module
        spec.loader.exec_module(module)
    found = getattr(module, name)
    assert isinstance(found, Spec)
    return found


@dataclass(frozen=True)
class SensitivityConfig:
    """What to sweep. The defaults are the full ``make bench`` run; :meth:`quick` a smoke run."""

    specs: tuple[str, ...] = ("sigmoid", "tanh", "softmax")
    dtypes: tuple[str, ...] = ("float64", "float32")
    kinds: tuple[str, ...] = ("uniform", "single-entry")
    deltas: tuple[float, ...] = DELTAS
    shape: tuple[int, int] = (10, 32)
    inputs: int = 20
    """R: verify_at runs per delta, on standard-normal inputs with seeds 0..R-1."""
    verify_seeds: tuple[int, ...] = (1, 2, 3)
    """Seeds of the ``verify`` (profile quick) runs per delta."""
    verify_profile: str = "quick"
    control: bool = True
    """Also run the correct spec (delta = 0) the same way: any failure there is a false alarm."""
    fa_specs: tuple[str, ...] = ("relu", "sigmoid", "tanh", "softmax")
    fa_inputs: int = 10_000
    """Generated inputs per spec and dtype in the false-alarm count."""
    fa_ordinary: tuple[str, ...] = ORDINARY_FORMS
    """Specs of ``tests/ordinary_specs.py`` (the ordinary, less stable forms people write:
    ``log(1 + exp(z))``, ``alpha (exp(z) - 1)``, ``1 - tanh(z)**2``, ...), also counted."""
    fa_ordinary_inputs: int = 2_000
    """Generated inputs per ordinary-form spec and dtype."""
    fa_per_run: int = 200
    fa_profile: str = "thorough"
    fa_seed0: int = 1000
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)

    @classmethod
    def quick(cls, workers: int | None = None) -> SensitivityConfig:
        """A smoke configuration: a few deltas, few inputs, ~200 false-alarm inputs."""
        return cls(
            deltas=(1e-1, 1e-4, 1e-9),
            inputs=2,
            verify_seeds=(1,),
            fa_inputs=200,
            fa_ordinary_inputs=100,
            fa_per_run=100,
            **({} if workers is None else {"workers": workers}),
        )


# --- Parallel map -------------------------------------------------------------------------------


def _map(fn: Callable[[T], R], tasks: Sequence[T], workers: int) -> list[R]:
    """``[fn(t) for t in tasks]``, in ``workers`` processes when that is more than one."""
    if workers <= 1 or len(tasks) <= 1:
        return [fn(t) for t in tasks]
    # spawn, not fork: numpy's BLAS threads make fork unsafe (and warn from Python 3.12 on).
    # The children inherit sys.path, so they import benchmarks.* as the parent does.
    with ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)), mp_context=mp.get_context("spawn")
    ) as pool:
        return list(pool.map(fn, tasks, chunksize=1))


# --- Detection sweep ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _DetectTask:
    spec: str
    dtype: str
    kind: str
    delta: float
    shape: tuple[int, int]
    inputs: int
    verify_seeds: tuple[int, ...]
    profile: str


@dataclass(frozen=True)
class Cell:
    """Runs at one delta: how many failed, out of how many, and the ones that did not."""

    delta: float
    detected: int
    runs: int
    unexpected: tuple[str, ...] = ()
    """Runs that went the wrong way: for an error, those that passed (e.g. ``"verify_at seed
    3"``); for the control (delta = 0), those that failed, with the failing checks."""

    @property
    def all_detected(self) -> bool:
        return self.detected == self.runs


def _wrong_spec(task: _DetectTask) -> Spec:
    if task.kind == "uniform":
        return scaled_spec(task.spec, task.delta)
    if task.kind == "single-entry":
        return entry_off_spec(task.spec, task.delta)
    raise ValueError(f"unknown kind {task.kind!r}; expected 'uniform' or 'single-entry'")


def standard_normal_input(seed: int, shape: tuple[int, int], dtype: str) -> Array:
    """The sweep's input number ``seed``: standard normal, rounded to ``dtype``."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _detect(task: _DetectTask) -> Cell:
    spec = _wrong_spec(task)
    failed: list[str] = []
    passed: list[str] = []
    # For the control (the correct spec) a failure is a false alarm: keep its whole summary,
    # which prints the exact input.
    full = task.delta == 0
    for seed in range(task.inputs):
        Z = standard_normal_input(seed, task.shape, task.dtype)
        r = verify_at(spec, Z, probe_seed=seed, detail=False)
        label = f"verify_at seed {seed}"
        (passed if r.passed else failed).append(label + _why(r, full))
    for seed in task.verify_seeds:
        r = verify(spec, dtype=task.dtype, profile=task.profile, seed=seed, database=None)
        label = f"verify seed {seed}"
        (passed if r.passed else failed).append(label + _why(r, full))
    runs = len(failed) + len(passed)
    if task.delta == 0:
        # The control: what matters is which runs failed.
        return Cell(task.delta, len(failed), runs, tuple(failed))
    return Cell(task.delta, len(failed), runs, tuple(passed))


def _why(r: RunResult, full: bool = False) -> str:
    """Which checks failed, by how much, on what input (``full``: the whole summary)."""
    if r.passed:
        return ""
    if full:
        return ":\n" + r.summary()
    parts = []
    for c in r.failures:
        where = ""
        if c.worst is not None and c.worst.input is not None:
            rec = c.worst.input
            where = f" on {rec.family} input {'x'.join(map(str, rec.shape))}"
        parts.append(f"{c.check} {c.error_ratio:.3g}x tol{where}")
    return " (" + "; ".join(parts) + ")"


@dataclass(frozen=True)
class DetectionRow:
    """One spec, dtype and kind of error across the deltas."""

    spec: str
    dtype: str
    kind: str
    cells: tuple[Cell, ...]
    control: Cell | None
    seconds: float

    @property
    def threshold(self) -> float | None:
        """Smallest delta detected on every run, with every larger delta too."""
        return threshold(self.cells)

    @property
    def target(self) -> float:
        return TARGETS.get(self.dtype, math.inf)

    @property
    def meets_target(self) -> bool:
        t = self.threshold
        control_ok = self.control is None or self.control.detected == 0
        return t is not None and t <= self.target * (1 + 1e-9) and control_ok


def threshold(cells: Iterable[Cell]) -> float | None:
    """The smallest delta of the leading run of all-detected cells (deltas in falling order)."""
    best = None
    for cell in sorted(cells, key=lambda c: -c.delta):
        if not cell.all_detected:
            break
        best = cell.delta
    return best


def detection_sweep(config: SensitivityConfig) -> list[DetectionRow]:
    """Run the uniform and single-entry sweeps of ``config`` (see the module docstring)."""
    combos = [(s, d, k) for k in config.kinds for s in config.specs for d in config.dtypes]
    deltas = ((0.0,) if config.control else ()) + tuple(config.deltas)
    tasks = [
        _DetectTask(
            s, d, k, delta, config.shape, config.inputs, config.verify_seeds, config.verify_profile
        )
        for s, d, k in combos
        for delta in deltas
    ]
    t0 = time.perf_counter()
    cells = _map(_detect, tasks, config.workers)
    seconds = (time.perf_counter() - t0) / max(1, len(combos))
    rows = []
    per = len(deltas)
    for i, (s, d, k) in enumerate(combos):
        chunk = cells[i * per : (i + 1) * per]
        control = chunk[0] if config.control else None
        rows.append(
            DetectionRow(s, d, k, tuple(chunk[1:] if config.control else chunk), control, seconds)
        )
    return rows


def fmt_delta(d: float | None) -> str:
    """A delta as ``1e-9`` (``none`` for None)."""
    if d is None:
        return "none"
    return f"{d:.0e}".replace("e-0", "e-").replace("e+0", "e")


def format_detection(rows: Sequence[DetectionRow], config: SensitivityConfig) -> str:
    """The sweep as a table: per delta, how many runs detected the error ("all" / count)."""
    if not rows:
        return "(no detection rows)"
    deltas = [c.delta for c in rows[0].cells]
    runs = rows[0].cells[0].runs if rows[0].cells else 0
    head = ["spec", "dtype", "kind", "ctrl"] + [fmt_delta(d) for d in deltas]
    head += ["smallest", "target", "ok"]
    widths = [8, 8, 12, 5] + [6] * len(deltas) + [9, 7, 4]
    lines = [
        f"Runs per cell: {runs} = {config.inputs} verify_at on N(0,1) {config.shape[0]}x"
        f"{config.shape[1]} inputs + {len(config.verify_seeds)} verify "
        f"(profile {config.verify_profile}). Cell: runs that FAILED ('all' = every run).",
        "ctrl: failures of the correct spec run the same way (must be 0). smallest: smallest "
        "delta detected on every run, with every larger delta too (* = the smallest delta "
        "tried: the true threshold may be lower).",
        "",
        _row(head, widths),
        _row(["-" * w for w in widths], widths),
    ]
    for r in rows:
        cells = ["all" if c.all_detected else str(c.detected) for c in r.cells]
        smallest = fmt_delta(r.threshold)
        if r.threshold is not None and r.threshold == min(deltas):
            smallest += "*"
        ctrl = "-" if r.control is None else str(r.control.detected)
        lines.append(
            _row(
                [
                    r.spec,
                    r.dtype,
                    r.kind,
                    ctrl,
                    *cells,
                    smallest,
                    f"<={fmt_delta(r.target)}",
                    "yes" if r.meets_target else "NO",
                ],
                widths,
            )
        )
    notes = []
    for r in rows:
        if r.control is not None and r.control.detected:
            notes.append(
                f"FALSE ALARM in control {r.spec} {r.dtype} {r.kind}: "
                + "; ".join(r.control.unexpected)
            )
        for c in r.cells:
            # A run that missed an error at or above the target is worth naming.
            if not c.all_detected and c.delta >= r.target:
                notes.append(
                    f"missed {r.spec} {r.dtype} {r.kind} delta={fmt_delta(c.delta)}: "
                    + ", ".join(c.unexpected[:6])
                    + (" ..." if len(c.unexpected) > 6 else "")
                )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


# --- False alarms -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FATask:
    spec: str
    dtype: str
    seed: int
    examples: int
    profile: str


@dataclass(frozen=True)
class FalseAlarm:
    """One failed run of a correct spec: enough to replay it."""

    spec: str
    dtype: str
    seed: int
    checks: tuple[str, ...]
    summary: str
    replay: str


@dataclass(frozen=True)
class _FAOutcome:
    examples: int
    alarm: FalseAlarm | None
    seconds: float


def _fa_run(task: _FATask) -> _FAOutcome:
    t0 = time.perf_counter()
    spec: Spec | str = task.spec
    if task.spec.startswith(ORDINARY_PREFIX):
        spec = ordinary_spec(task.spec[len(ORDINARY_PREFIX) :])
    r = verify(
        spec,
        dtype=task.dtype,
        max_examples=task.examples,
        profile=task.profile,
        seed=task.seed,
        database=None,
    )
    alarm = None
    if not r.passed:
        alarm = FalseAlarm(
            task.spec,
            task.dtype,
            task.seed,
            tuple(c.check for c in r.failures),
            r.summary(),
            r.replay,
        )
    return _FAOutcome(r.examples, alarm, time.perf_counter() - t0)


@dataclass(frozen=True)
class FalseAlarmRow:
    """One correct spec in one dtype: runs, inputs generated, runs that failed."""

    spec: str
    dtype: str
    runs: int
    inputs: int
    alarms: tuple[FalseAlarm, ...]
    seconds: float

    @property
    def failed_runs(self) -> int:
        return len(self.alarms)


def false_alarms(config: SensitivityConfig) -> list[FalseAlarmRow]:
    """Correct specs through ``verify`` (profile ``config.fa_profile``), several seeds each.

    ``verify`` stops at the first failing input of a run (and then shrinks it), so the count is
    of failed runs; each stands for at least one failing input. With no failure, every run
    generates its full ``fa_per_run`` inputs.
    """
    combos = [(s, d, config.fa_inputs) for s in config.fa_specs for d in config.dtypes] + [
        (f"{ORDINARY_PREFIX}{s}", d, config.fa_ordinary_inputs)
        for s in config.fa_ordinary
        for d in config.dtypes
    ]
    tasks = []
    spans = []
    for s, d, total in combos:
        per = max(1, min(config.fa_per_run, total))
        n_runs = max(1, math.ceil(total / per))
        spans.append((len(tasks), len(tasks) + n_runs))
        tasks += [_FATask(s, d, config.fa_seed0 + k, per, config.fa_profile) for k in range(n_runs)]
    outcomes = _map(_fa_run, tasks, config.workers)
    rows = []
    for (s, d, _), (lo, hi) in zip(combos, spans, strict=True):
        chunk = outcomes[lo:hi]
        rows.append(
            FalseAlarmRow(
                spec=s,
                dtype=d,
                runs=len(chunk),
                inputs=sum(o.examples for o in chunk),
                alarms=tuple(o.alarm for o in chunk if o.alarm is not None),
                seconds=sum(o.seconds for o in chunk),
            )
        )
    return rows


def format_false_alarms(rows: Sequence[FalseAlarmRow], config: SensitivityConfig) -> str:
    """The false-alarm table, then every alarm's summary (with its exact input)."""
    widths = [max([8, *(len(r.spec) for r in rows)]), 8, 6, 8, 12, 10, 6]
    head = ["spec", "dtype", "runs", "inputs", "failed runs", "cpu s", "target"]
    lines = [
        f"Correct specs through verify(profile={config.fa_profile!r}, max_examples="
        f"{config.fa_per_run}, seeds {config.fa_seed0}..., database=None). Target: 0 failed "
        f"runs.",
        "",
        _row(head, widths),
        _row(["-" * w for w in widths], widths),
    ]
    for r in rows:
        lines.append(
            _row(
                [
                    r.spec,
                    r.dtype,
                    str(r.runs),
                    str(r.inputs),
                    str(r.failed_runs),
                    f"{r.seconds:.0f}",
                    "ok" if r.failed_runs == 0 else "NO",
                ],
                widths,
            )
        )
    total = sum(r.failed_runs for r in rows)
    inputs = sum(r.inputs for r in rows)
    lines.append(f"\nTotal: {total} failed run(s) over {inputs} generated inputs.")
    for r in rows:
        for a in r.alarms:
            lines += [
                "",
                f"FALSE ALARM {a.spec} {a.dtype} seed {a.seed}: {', '.join(a.checks)}",
                a.summary,
                f"rerun: {a.replay}",
            ]
    return "\n".join(lines)


# --- Peers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerRow:
    """A peer's detection on one function: measured verdicts per delta, or a recorded figure."""

    tool: str
    function: str
    verdicts: dict[float, bool | None]
    threshold: float | None
    source: str  # "live" or "recorded" (and why)


def _peer_threshold(verdicts: dict[float, bool | None]) -> float | None:
    best = None
    for delta in sorted(verdicts, reverse=True):
        if verdicts[delta] is not True:
            break
        best = delta
    return best


def peer_sensitivity(
    *,
    functions: Sequence[str] = ("sigmoid", "softmax"),
    shape: tuple[int, int] = (10, 32),
    deltas: Sequence[float] = PEER_DELTAS,
    live: bool = True,
    timeout: float = 120.0,
    seed: int = 0,
) -> list[PeerRow]:
    """Each peer's smallest detected delta on the benchmark functions at ``shape`` (float64).

    ``live=False``, or a peer whose library is not installed, gives the recorded figure.
    """
    from benchmarks import peers
    from benchmarks.functions import FUNCTIONS

    Z = np.random.default_rng(seed).standard_normal(shape)
    rows = []
    for tool in peers.TOOLS:
        module = {
            "torch.gradcheck": "torch",
            "torch.gradcheck(fast)": "torch",
            "jax.check_grads": "jax",
        }.get(tool)
        available = module is None or importlib.util.find_spec(module) is not None
        for function in functions:
            if not live or not available:
                why = "not installed" if not available else "--quick"
                rows.append(
                    PeerRow(
                        tool, function, {}, RECORDED_PEER_THRESHOLDS.get(tool), f"recorded ({why})"
                    )
                )
                continue
            fwd, vjp = FUNCTIONS[function]
            verdicts = peers.detection_sweep(tool, fwd, vjp, Z, tuple(deltas), timeout=timeout)
            rows.append(PeerRow(tool, function, verdicts, _peer_threshold(verdicts), "live"))
    return rows


def format_peers(rows: Sequence[PeerRow], shape: tuple[int, int] = (10, 32)) -> str:
    """The peers' detection table (float64, vjp * (1 + delta), one input)."""
    deltas = sorted({d for r in rows for d in r.verdicts}, reverse=True) or list(PEER_DELTAS)
    head = ["tool", "function", *(fmt_delta(d) for d in deltas), "smallest", "source"]
    widths = [22, 9] + [6] * len(deltas) + [9, 24]
    marks = {True: "yes", False: "miss", None: "err"}
    lines = [
        f"Peers on vjp * (1 + delta), float64, one N(0,1) {shape[0]}x{shape[1]} input "
        f"(benchmarks/functions.py). yes = rejected the wrong vjp.",
        "",
        _row(head, widths),
        _row(["-" * w for w in widths], widths),
    ]
    for r in rows:
        cells = [marks[r.verdicts[d]] if d in r.verdicts else "" for d in deltas]
        lines.append(_row([r.tool, r.function, *cells, fmt_delta(r.threshold), r.source], widths))
    return "\n".join(lines)
