"""Speed: the harness and the peer checkers on the same numpy functions and the same inputs.

For sigmoid and softmax (``benchmarks/functions.py``) at each shape, one standard-normal input
is drawn and timed through:

* ``harness: vjp_directional``: the directional VJP check alone (two random direction pairs,
  central differences at three steps with Richardson extrapolation);
* ``harness: jacobian``: the explicit-Jacobian check alone (every entry from the VJP compared
  with central differences, entry by entry);
* ``harness: verify_at``: the whole default :func:`harness.verify_at` (every check, heat map and
  step curve included);
* the peers of :mod:`benchmarks.peers` (torch gradcheck default and fast mode, jax check_grads,
  scipy check_grad), each in its own subprocess with a time limit (shown as ``>120 s``).

The two single-check rows go through :func:`harness.runner.run_checks`, the function
``verify_at`` itself calls, narrowed to the one check with ``checks=``. That measures exactly
the code path of ``verify_at`` (guarded calls, input copies, the float64 oracle) minus the
other checks. ``verify_at`` with a narrower spec
would not do it: every check runs for every spec, and a spec without a jvp already skips the
jvp-based ones.

The harness specs are built from the benchmark functions with no jvp and no analytic
Jacobian, because the peers get only the forward and the vjp.

Every time is also given as a ratio to one forward+backward call
(:func:`benchmarks.peers.baseline_seconds`, median of many calls in this process): "x f+b", or
call equivalents. Call counts are the harness's forward/vjp calls (``fwd work`` is the number
of input-sized forward evaluations they add up to, since the harness batches stencil points
into one call as extra columns) and the peers' counts from their child process.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks import peers as _peers
from benchmarks.functions import FUNCTIONS
from harness import Spec, verify_at
from harness.calls import Counts
from harness.runner import run_checks

__all__ = [
    "HARNESS_METHODS",
    "SHAPES",
    "SpeedConfig",
    "SpeedRow",
    "Target",
    "bench_spec",
    "format_header",
    "format_machine",
    "format_notes",
    "format_row",
    "format_speed",
    "format_targets",
    "machine",
    "speed_rows",
    "targets",
]

SHAPES: tuple[tuple[int, int], ...] = ((10, 32), (100, 64), (100, 256), (1000, 256))
DIRECTIONAL = "harness: vjp_directional"
JACOBIAN = "harness: jacobian"
VERIFY_AT = "harness: verify_at"
HARNESS_METHODS: tuple[str, ...] = (DIRECTIONAL, JACOBIAN, VERIFY_AT)
_STRUCTURE = {"sigmoid": "elementwise", "softmax": "columnwise"}


@dataclass(frozen=True)
class SpeedConfig:
    """What to time. The defaults are the full ``make bench`` run; :meth:`quick` a smoke run."""

    functions: tuple[str, ...] = ("sigmoid", "softmax")
    shapes: tuple[tuple[int, int], ...] = SHAPES
    peer_shapes: tuple[tuple[int, int], ...] = SHAPES
    peer_functions: tuple[str, ...] = ("sigmoid", "softmax")
    tools: tuple[str, ...] = _peers.TOOLS
    peers: bool = True
    repeats: int = 3
    """Timed runs of each harness method; the median is reported."""
    baseline_repeats: int = 200
    timeout: float = _peers.DEFAULT_TIMEOUT
    memory_limit: int | None = _peers.DEFAULT_MEMORY_LIMIT
    seed: int = 0

    @classmethod
    def quick(cls) -> SpeedConfig:
        """A smoke configuration: two small shapes, peers on sigmoid 10x32 only, one run."""
        return cls(
            shapes=((10, 32), (100, 64)),
            peer_shapes=((10, 32),),
            peer_functions=("sigmoid",),
            repeats=1,
            baseline_repeats=50,
        )


@dataclass(frozen=True)
class SpeedRow:
    """One method on one function and shape."""

    function: str
    shape: tuple[int, int]
    method: str
    verdict: str  # "pass", "FAIL", "skip", "timeout", "error", "n/a"
    seconds: float | None
    baseline: float
    forward: int | None = None
    vjp: int | None = None
    forward_work: float | None = None
    timed_out: bool = False
    note: str = ""
    jacobian_status: str | None = None
    """For ``verify_at``: the jacobian check's status ("pass" = every entry verified)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """Time in forward+backward call equivalents."""
        if self.seconds is None or not self.baseline > 0:
            return None
        return self.seconds / self.baseline


def bench_spec(function: str) -> Spec:
    """A harness spec of the benchmark function: forward and vjp only, as the peers get them."""
    fwd, vjp = FUNCTIONS[function]
    return Spec(
        name=f"bench-{function}",
        forward=fwd,
        vjp=vjp,
        structure=_STRUCTURE[function],
        dtypes=("float64",),
    )


def _median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _harness_row(
    method: str,
    function: str,
    spec: Spec,
    Z: np.ndarray[Any, Any],
    baseline: float,
    repeats: int,
) -> SpeedRow:
    m = Z.shape[1]
    if method == VERIFY_AT:
        seconds, result = _median_time(lambda: verify_at(spec, Z), repeats)
        # verify_at does not expose its column counts; one untimed run_checks with the same
        # arguments makes the same calls.
        counts = Counts()
        run_checks(spec, Z, counts=counts, detail=True)
        jac = result["jacobian"]
        note = "" if jac.status == "pass" else f"jacobian {jac.status}: {jac.message}"
        failed = ", ".join(c.check for c in result.failures)
        if failed:
            note = f"failed: {failed}" + (f"; {note}" if note else "")
        return SpeedRow(
            function,
            Z.shape,
            method,
            "pass" if result.passed else "FAIL",
            seconds,
            baseline,
            forward=result.evaluations.get("forward"),
            vjp=result.evaluations.get("vjp"),
            forward_work=counts.forward_columns / m,
            note=note,
            jacobian_status=jac.status,
        )
    check = {DIRECTIONAL: "vjp_directional", JACOBIAN: "jacobian"}[method]
    holder: dict[str, Counts] = {}

    def once() -> Any:
        holder["counts"] = Counts()
        return run_checks(spec, Z, counts=holder["counts"], checks=(check,))

    seconds, ms = _median_time(once, repeats)
    meas = ms[0]
    counts = holder["counts"]
    verdict = {"pass": "pass", "fail": "FAIL", "skip": "skip"}[meas.status]
    return SpeedRow(
        function,
        Z.shape,
        method,
        verdict,
        seconds if meas.status != "skip" else None,
        baseline,
        forward=counts.forward,
        vjp=counts.vjp,
        forward_work=counts.forward_columns / m,
        note=meas.message if verdict != "pass" else "",
    )


def _peer_row(
    tool: str, function: str, Z: np.ndarray[Any, Any], baseline: float, config: SpeedConfig
) -> SpeedRow:
    fwd, vjp = FUNCTIONS[function]
    try:
        res = _peers.run_peer(
            tool, fwd, vjp, Z, timeout=config.timeout, memory_limit=config.memory_limit
        )
    except _peers.PeerUnavailableError as exc:
        return SpeedRow(function, Z.shape, tool, "n/a", None, baseline, note=str(exc))
    if res.timed_out:
        verdict = "timeout"
    else:
        verdict = {True: "pass", False: "FAIL", None: "error"}[res.passed]
    note = ""
    if res.error_message and not res.passed:
        note = res.error_message.strip().splitlines()[0][:300]
    return SpeedRow(
        function,
        Z.shape,
        tool,
        verdict,
        res.seconds,
        baseline,
        forward=res.forward_calls,
        vjp=res.vjp_calls,
        timed_out=res.timed_out,
        note=note,
        extra={"process_seconds": res.process_seconds},
    )


def speed_rows(
    config: SpeedConfig, progress: Callable[[SpeedRow], None] | None = None
) -> list[SpeedRow]:
    """Time every method of ``config``; ``progress`` is called with each row as it finishes."""
    rows: list[SpeedRow] = []
    for function in config.functions:
        # One untimed warm-up so that first-call costs do not land on the first shape.
        spec = bench_spec(function)
        verify_at(spec, np.random.default_rng(1).standard_normal((4, 3)))
    for shape in config.shapes:
        Z = np.random.default_rng(config.seed).standard_normal(shape)
        for function in config.functions:
            fwd, vjp = FUNCTIONS[function]
            spec = bench_spec(function)
            baseline = _peers.baseline_seconds(fwd, vjp, Z, config.baseline_repeats)
            methods: list[str] = list(HARNESS_METHODS)
            if config.peers and shape in config.peer_shapes and function in config.peer_functions:
                methods += list(config.tools)
            for method in methods:
                if method in HARNESS_METHODS:
                    row = _harness_row(method, function, spec, Z, baseline, config.repeats)
                else:
                    row = _peer_row(method, function, Z, baseline, config)
                rows.append(row)
                if progress is not None:
                    progress(row)
    return rows


# --- Formatting ---------------------------------------------------------------------------------

_COLUMNS = (
    ("function", 8),
    ("shape", 9),
    ("method", 24),
    ("verdict", 7),
    ("seconds", 9),
    ("x f+b", 9),
    ("forward", 8),
    ("vjp", 7),
    ("fwd work", 8),
)


def _g(x: float) -> str:
    return f"{x:.3g}"


def format_header() -> str:
    """The speed table's column header (two lines)."""
    return "\n".join(
        [
            "  ".join(name.ljust(w) for name, w in _COLUMNS).rstrip(),
            "  ".join("-" * w for _, w in _COLUMNS),
        ]
    )


def format_row(row: SpeedRow, timeout: float = _peers.DEFAULT_TIMEOUT) -> str:
    """One row of the speed table."""
    if row.timed_out:
        seconds, ratio = f">{timeout:g} s", f">{_g(timeout / row.baseline)}"
    elif row.seconds is None:
        seconds = ratio = "-"
    else:
        seconds, ratio = _g(row.seconds), _g(row.seconds / row.baseline)
    cells = [
        row.function,
        f"{row.shape[0]}x{row.shape[1]}",
        row.method,
        row.verdict,
        seconds,
        ratio,
        "-" if row.forward is None else str(row.forward),
        "-" if row.vjp is None else str(row.vjp),
        "-" if row.forward_work is None else f"{row.forward_work:.0f}",
    ]
    return "  ".join(c.ljust(w) for c, (_, w) in zip(cells, _COLUMNS, strict=True)).rstrip()


def format_speed(rows: Sequence[SpeedRow], config: SpeedConfig) -> str:
    """The whole speed table with baselines and notes underneath."""
    lines = [format_header()]
    lines += [format_row(r, config.timeout) for r in rows]
    lines.append("")
    lines += format_notes(rows)
    return "\n".join(lines)


def format_notes(rows: Sequence[SpeedRow]) -> list[str]:
    """Baselines per function and shape, then the notes of rows that did not simply pass."""
    out = []
    seen = set()
    for r in rows:
        key = (r.function, r.shape)
        if key not in seen:
            seen.add(key)
            out.append(
                f"baseline {r.function} {r.shape[0]}x{r.shape[1]}: one forward+vjp "
                f"call = {r.baseline * 1e6:.3g} us"
            )
    for r in rows:
        if r.note:
            out.append(f"{r.function} {r.shape[0]}x{r.shape[1]} {r.method}: {r.note}")
    return out


# --- Targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One speed target and whether it was met (None: not measured in this run)."""

    what: str
    measured: str
    met: bool | None


def _find(
    rows: Sequence[SpeedRow], function: str, shape: tuple[int, int], method: str
) -> SpeedRow | None:
    for r in rows:
        if r.function == function and r.shape == shape and r.method == method:
            return r
    return None


def targets(rows: Sequence[SpeedRow], timeout: float = _peers.DEFAULT_TIMEOUT) -> list[Target]:
    """The speed targets of the brief, evaluated on ``rows``."""
    out = []
    for function in ("sigmoid", "softmax"):
        what = f"{function} 100x64: verify_at >= 100x faster than torch.gradcheck (default)"
        ours = _find(rows, function, (100, 64), VERIFY_AT)
        theirs = _find(rows, function, (100, 64), _peers.TORCH)
        if ours is None or theirs is None or ours.seconds is None:
            out.append(Target(what, "not measured", None))
        elif theirs.timed_out:
            speedup = timeout / ours.seconds
            out.append(Target(what, f"> {speedup:.0f}x (torch timed out)", speedup >= 100))
        elif theirs.seconds is None:
            out.append(Target(what, f"torch {theirs.verdict}: {theirs.note[:60]}", None))
        else:
            speedup = theirs.seconds / ours.seconds
            out.append(Target(what, f"{speedup:.0f}x", speedup >= 100))
    for function, shape, limit in (("softmax", (100, 256), 400), ("sigmoid", (1000, 256), 50)):
        what = (
            f"{function} {shape[0]}x{shape[1]}: verify_at within {limit} f+b call "
            f"equivalents, full Jacobian verified"
        )
        ours = _find(rows, function, shape, VERIFY_AT)
        if ours is None or ours.ratio is None:
            out.append(Target(what, "not measured", None))
            continue
        full = ours.jacobian_status == "pass"
        measured = f"{ours.ratio:.0f} x f+b, jacobian {ours.jacobian_status}"
        out.append(Target(what, measured, ours.ratio <= limit and full))
    return out


def format_targets(ts: Sequence[Target]) -> str:
    """Targets as lines: met / MISSED / not measured."""
    mark = {True: "met   ", False: "MISSED", None: "  -   "}
    return "\n".join(f"[{mark[t.met]}] {t.what}: {t.measured}" for t in ts)


# --- The machine --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model and core counts (from /proc/cpuinfo where there is one), and versions."""
    model, logical, physical = platform.processor() or platform.machine(), os.cpu_count(), None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        text = ""
    cores = set()
    phys_id, core_id = "", ""
    n_proc = 0
    seen_model = False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "model name" and not seen_model:
            model, seen_model = value, True
        elif key == "processor":
            n_proc += 1
        elif key == "physical id":
            phys_id = value
        elif key == "core id":
            core_id = value
            cores.add((phys_id, core_id))
    if n_proc:
        logical = n_proc
    if cores:
        physical = len(cores)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = logical
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for pkg in ("scipy", "hypothesis", "torch", "jax"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "cpu": model,
        "logical_cpus": logical,
        "physical_cores": physical,
        "usable_cpus": usable,
        "versions": versions,
    }


def format_machine(info: dict[str, Any] | None = None) -> str:
    """One or two lines describing the machine."""
    info = machine() if info is None else info
    phys = info["physical_cores"]
    cores = f"{info['logical_cpus']} logical CPU(s)"
    if phys:
        cores += f", {phys} physical core(s)"
    cores += f", {info['usable_cpus']} usable by this process"
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return f"Machine: {info['cpu']}; {cores}\nVersions: {versions}"
