"""Several inputs: the dense layer, a 10,000-parameter network and softmax, in time and memory.

Usage (from the repository root)::

    python benchmarks/several_inputs.py           # the full section, a few minutes
    python benchmarks/several_inputs.py --quick   # tiny shapes, seconds

Three tables, measured in one run:

1. The dense layer ``Z = W A_prev + b`` (``specs/layers.py``) at W (256, 512), b (256, 1),
   A_prev (512, 64), float64, through :func:`harness.verify_at` with every check, the explicit
   Jacobian of every block included; beside it torch's ``gradcheck`` on the same numpy
   forward/backward. torch's default gradcheck builds dense Jacobians of 16,384 outputs by
   164,096 inputs (20 GiB each in float64): it is run at small shapes, its peak memory per
   Jacobian entry measured there, and at the full shape it runs only if the prediction fits
   the memory limit, else the row says ``not run: needs X GiB``.
2. A two-layer network (``specs/networks.py``: dense, ReLU, dense, softmax + cross-entropy)
   with 10,000 parameters (sizes 100, 90, 10) on m = 32 examples, through
   :func:`harness.verify_params` with ``max_examples=0``: every entry of every gradient.
3. Softmax (``specs/activations.py``, its registered spec: jvp and analytic Jacobian
   included) through ``verify_at`` at (100, 64) and (100, 256), and torch's ``gradcheck`` on
   the same numpy pair at (100, 64).

Every case runs in a fresh child process (``python -m benchmarks.several_inputs --child``)
with an address-space limit (4 GiB by default) and a time limit. Its **peak memory** is the
child's ``ru_maxrss`` after the check minus ``ru_maxrss`` just before it (inputs built,
imports done, baseline measured): the resident memory the check itself added at its peak,
numpy arrays and everything else. ``--in-process`` runs the cases in this process instead
and reports the ``tracemalloc`` peak of the check (numpy registers its array buffers with
tracemalloc); the smoke test uses that.

Times are one run each (a run is long enough not to need a median); ``x f+b`` divides by the
median time of one forward plus one backward call of the same function at the same shape,
measured in the same child just before. The children use one BLAS thread by default
(``--blas-threads``, 0 leaves the library's default): the harness and the baseline call small
matrix products one after another, and on a shared 2-core machine multi-threaded OpenBLAS made
one 256x512x64 product 5 to 15 times slower than one thread did.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if not __package__:
    sys.path.insert(0, str(ROOT))

__all__ = [
    "SECTION",
    "Case",
    "Config",
    "Target",
    "format_tables",
    "format_targets",
    "run",
    "run_case",
    "targets",
    "torch_prediction",
]

SECTION = "several-inputs"
GIB = 2**30
_MARK = "SEVERAL-INPUTS-RESULT "


@dataclass(frozen=True)
class Config:
    """What to measure. The defaults are ``make bench``; :meth:`quick` a smoke run."""

    dense: tuple[int, int, int] = (256, 512, 64)
    """(n, k, m): W (n, k), b (n, 1), A_prev (k, m)."""
    torch_calibration: tuple[tuple[int, int, int], ...] = ((32, 64, 8), (64, 128, 16))
    """Dense shapes torch's gradcheck runs at to measure its memory per Jacobian entry."""
    network: tuple[int, ...] = (100, 90, 10)
    network_m: int = 32
    softmax: tuple[tuple[int, int], ...] = ((100, 64), (100, 256))
    torch_softmax: tuple[int, int] | None = (100, 64)
    peers: bool = True
    isolated: bool = True
    """Each case in a fresh child (ru_maxrss); False: in this process (tracemalloc)."""
    blas_threads: int = 1
    memory_limit: int = 4 * GIB
    """RLIMIT_AS of each child, and the most a torch run is predicted to need to be started."""
    timeout: float = 600.0
    baseline_repeats: int = 30

    @classmethod
    def quick(cls) -> Config:
        return cls(
            dense=(16, 24, 8),
            torch_calibration=((4, 6, 2), (8, 12, 4)),
            network=(6, 5, 3),
            network_m=4,
            softmax=((5, 4), (5, 8)),
            torch_softmax=(5, 4),
            baseline_repeats=5,
        )


@dataclass
class Case:
    """One measured row: a check of one function at one shape."""

    table: str  # "dense", "network", "softmax"
    label: str  # shape description
    method: str  # "harness: verify_at", "torch.gradcheck", ...
    verdict: str = "-"  # pass / FAIL / error / timeout / not run
    seconds: float | None = None
    baseline: float | None = None
    forward: int | None = None
    vjp: int | None = None
    jvp: int | None = None
    peak_bytes: int | None = None
    memory: str = ""  # how peak_bytes was measured: "ru_maxrss" or "tracemalloc"
    jacobian: str = ""  # the jacobian check's status (harness rows)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.seconds is None or not self.baseline:
            return None
        return self.seconds / self.baseline


# --- the cases, as they run (in a child or in process) -----------------------------------------


def _median_fb(fb: Callable[[], Any], repeats: int) -> float:
    fb()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fb()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _dense_inputs(n: int, k: int, m: int) -> tuple[np.ndarray[Any, Any], ...]:
    rng = np.random.default_rng(0)
    W = rng.standard_normal((n, k)) / np.sqrt(k)
    b = rng.standard_normal((n, 1))
    A_prev = rng.standard_normal((k, m))
    return W, b, A_prev


def _harness_fields(result: Any) -> dict[str, Any]:
    """Verdict, counts and the failing checks' first lines of a RunResult."""
    jac = next((c for c in result.checks if c.check == "jacobian"), None)
    failed = [c for c in result.checks if c.failed]
    note = "; ".join(f"{c.check}: {c.message}" for c in failed)
    if jac is not None and jac.status == "skip":
        note = (note + "; " if note else "") + f"jacobian skipped: {jac.message}"
    ev = result.evaluations
    return {
        "verdict": "pass" if result.passed else "FAIL",
        "forward": ev.get("forward"),
        "vjp": ev.get("vjp"),
        "jvp": ev.get("jvp"),
        "jacobian": "" if jac is None else jac.status,
        "note": note,
        "extra": {
            "summary": result.summary().splitlines()[:6],
            "comparisons": sum(c.comparisons for c in result.checks),
        },
    }


def _prepare_harness(kind: str, args: dict[str, Any]) -> tuple[Callable[[], Any], float, int]:
    """(the timed check, its f+b baseline, the baseline repeats)."""
    from harness import REGISTRY, verify_at, verify_params
    from specs import activations, layers, networks

    repeats = int(args.get("repeats", 30))
    if kind == "dense":
        n, k, m = args["shape"]
        W, b, A_prev = _dense_inputs(n, k, m)
        dZ = np.random.default_rng(1).standard_normal((n, m))

        def fb_dense() -> Any:
            Z = layers.dense_forward(W, b, A_prev)
            return layers.dense_backward(W, b, A_prev, Z, dZ)

        spec = REGISTRY.get("dense")
        return (lambda: verify_at(spec, W, b, A_prev)), _median_fb(fb_dense, repeats), repeats
    if kind == "network":
        sizes, m = list(args["sizes"]), int(args["m"])
        params = networks.init_params(sizes, seed=2)
        rng = np.random.default_rng(1)
        X = rng.standard_normal((sizes[0], m))
        Y = np.zeros((sizes[-1], m))
        Y[rng.integers(0, sizes[-1], size=m), np.arange(m)] = 1.0

        def fb_net() -> Any:
            networks.two_layer_loss(params, X, Y)
            return networks.two_layer_backward(params, X, Y)

        def check() -> Any:
            return verify_params(
                networks.two_layer_loss,
                networks.two_layer_backward,
                params,
                X,
                Y,
                name="two-layer-10k",
                max_examples=0,
            ).at_point

        return check, _median_fb(fb_net, repeats), repeats
    if kind == "softmax":
        Z = np.random.default_rng(0).standard_normal(tuple(args["shape"]))
        dA = np.random.default_rng(1).standard_normal(Z.shape)

        def fb_soft() -> Any:
            A = activations.softmax_forward(Z)
            return activations.softmax_backward(Z, A, dA)

        spec = activations.softmax
        return (lambda: verify_at(spec, Z)), _median_fb(fb_soft, repeats), repeats
    raise ValueError(f"unknown harness case {kind!r}")


def _prepare_torch(kind: str, args: dict[str, Any]) -> tuple[Callable[[], Any], float, int]:
    """torch's default gradcheck on the same numpy forward/backward, wrapped in a Function."""
    import torch
    from torch.autograd.gradcheck import GradcheckError

    from specs import activations, layers

    torch.set_num_threads(max(1, int(args.get("threads", 1))))
    calls = {"forward": 0, "vjp": 0}
    repeats = int(args.get("repeats", 30))

    def np_(t: Any) -> Any:
        return t.detach().numpy()

    if kind == "torch-dense":
        n, k, m = args["shape"]
        arrays = _dense_inputs(n, k, m)
        dZ = np.random.default_rng(1).standard_normal((n, m))

        class Dense(torch.autograd.Function):  # type: ignore[misc]
            @staticmethod
            def forward(ctx: Any, W: Any, b: Any, A: Any) -> Any:
                calls["forward"] += 1
                ctx.save_for_backward(W, b, A)
                return torch.from_numpy(layers.dense_forward(np_(W), np_(b), np_(A)))

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                calls["vjp"] += 1
                W, b, A = ctx.saved_tensors
                grads = layers.dense_backward(np_(W), np_(b), np_(A), None, np_(g))  # type: ignore[arg-type]
                return tuple(torch.from_numpy(np.ascontiguousarray(x)) for x in grads)

        fn: Any = Dense.apply

        def fb() -> Any:
            W, b, A = arrays
            return layers.dense_backward(W, b, A, layers.dense_forward(W, b, A), dZ)

    elif kind == "torch-softmax":
        shape = tuple(args["shape"])
        arrays = (np.random.default_rng(0).standard_normal(shape),)
        dA = np.random.default_rng(1).standard_normal(shape)

        class Softmax(torch.autograd.Function):  # type: ignore[misc]
            @staticmethod
            def forward(ctx: Any, z: Any) -> Any:
                calls["forward"] += 1
                a = torch.from_numpy(activations.softmax_forward(np_(z)))
                ctx.save_for_backward(z, a)
                return a

            @staticmethod
            def backward(ctx: Any, g: Any) -> Any:
                calls["vjp"] += 1
                z, a = ctx.saved_tensors
                return torch.from_numpy(activations.softmax_backward(np_(z), np_(a), np_(g)))

        fn = Softmax.apply

        def fb() -> Any:
            A = activations.softmax_forward(arrays[0])
            return activations.softmax_backward(arrays[0], A, dA)

    else:
        raise ValueError(f"unknown torch case {kind!r}")
    tensors = tuple(torch.from_numpy(a.copy()).requires_grad_(True) for a in arrays)
    baseline = _median_fb(fb, repeats)

    def check() -> dict[str, Any]:
        try:
            torch.autograd.gradcheck(fn, tensors)
            verdict, note = "pass", ""
        except GradcheckError as exc:
            verdict, note = "FAIL", str(exc).strip().splitlines()[0][:200]
        return {"verdict": verdict, "note": note, **calls}

    return check, baseline, repeats


_TINY: dict[str, dict[str, Any]] = {
    "dense": {"shape": [3, 4, 2]},
    "network": {"sizes": [3, 2, 2], "m": 2},
    "softmax": {"shape": [3, 2]},
    "torch-dense": {"shape": [3, 4, 2]},
    "torch-softmax": {"shape": [3, 2]},
}


def _execute(kind: str, args: dict[str, Any], memory: str) -> dict[str, Any]:
    """Prepare, then time and size the check. ``memory``: "ru_maxrss" or "tracemalloc"."""
    prepare = _prepare_torch if kind.startswith("torch-") else _prepare_harness
    # One untimed run at a tiny shape first: lazy imports and first-call set-up (torch's
    # gradcheck spends about a second on its first call) are not the check's cost.
    warm, _, _ = prepare(kind, {**args, **_TINY[kind], "repeats": 1})
    warm()
    check, baseline, _ = prepare(kind, args)
    if memory == "tracemalloc":
        tracemalloc.start()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
    else:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    result = check()
    seconds = time.perf_counter() - t0
    if memory == "tracemalloc":
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    out: dict[str, Any] = {"seconds": seconds, "baseline": baseline, "peak_bytes": int(peak)}
    if kind.startswith("torch-"):
        out.update(result)
    else:
        out.update(_harness_fields(result))
    return out


def _child_main(payload: str) -> None:
    spec = json.loads(payload)
    out = _execute(spec["kind"], spec["args"], "ru_maxrss")
    print(_MARK + json.dumps(out), flush=True)


def _limit_memory(limit: int) -> Callable[[], None]:
    def apply() -> None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        lim = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (lim, hard))

    return apply


def run_case(kind: str, args: dict[str, Any], config: Config) -> dict[str, Any]:
    """Run one case (in a fresh child unless ``config.isolated`` is False); never raises.

    Returns the measurement dict, or ``{"verdict": "error" | "timeout", "note": ...}``.
    """
    args = {**args, "repeats": config.baseline_repeats, "threads": max(1, config.blas_threads)}
    if not config.isolated:
        try:
            return {**_execute(kind, args, "tracemalloc"), "memory": "tracemalloc"}
        except Exception as exc:  # a benchmark reports, it does not crash the section
            return {"verdict": "error", "note": f"{type(exc).__name__}: {exc}"[:300]}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    if config.blas_threads > 0:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(config.blas_threads)
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.several_inputs",
        "--child",
        json.dumps({"kind": kind, "args": args}),
    ]
    try:
        proc = subprocess.run(
            cmd,
            cwd=str(ROOT),
            env=env,
            capture_output=True,
            text=True,
            timeout=config.timeout,
            preexec_fn=_limit_memory(config.memory_limit),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"verdict": "timeout", "note": f"killed after {config.timeout:g} s"}
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            return {**json.loads(line[len(_MARK) :]), "memory": "ru_maxrss"}
    tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    return {"verdict": "error", "note": f"child failed (exit {proc.returncode}): {tail[:300]}"}


def _case(table: str, label: str, method: str, r: dict[str, Any]) -> Case:
    keys = ("verdict", "seconds", "baseline", "forward", "vjp", "jvp", "peak_bytes", "memory")
    kw = {k: r[k] for k in keys if k in r}
    return Case(
        table,
        label,
        method,
        jacobian=r.get("jacobian", ""),
        note=r.get("note", ""),
        extra=r.get("extra", {}),
        **kw,
    )


# --- torch's memory at the full dense shape -----------------------------------------------------


def jacobian_entries(shape: tuple[int, int, int]) -> int:
    """Entries of the dense layer's full Jacobian: outputs n*m by inputs n*k + n + k*m."""
    n, k, m = shape
    return n * m * (n * k + n + k * m)


@dataclass(frozen=True)
class Prediction:
    """torch gradcheck's predicted peak memory at a shape, and how it was obtained."""

    bytes_per_entry: float
    needs: float
    lower_bound: float
    basis: str


def torch_prediction(calibration: Sequence[Case], shape: tuple[int, int, int]) -> Prediction:
    """Peak bytes of the default gradcheck at ``shape``, from its measured bytes per entry.

    The default (slow-mode) gradcheck materialises the numerical Jacobian (2 forward calls
    per input entry) and the analytical one (one backward call per output entry, made twice
    for its reentrancy check), each a dense float64 tensor per input of (input entries,
    output entries): at least two full Jacobians, 16 bytes per entry. The calibration runs
    measure the actual multiple; the largest calibration shape sets the prediction.
    """
    entries = jacobian_entries(shape)
    lower = 16.0 * entries
    measured = [
        (jacobian_entries(c.extra["shape"]), float(c.peak_bytes), c)
        for c in calibration
        if c.peak_bytes is not None and c.verdict in ("pass", "FAIL")
    ]
    if not measured:
        return Prediction(16.0, lower, lower, "algorithm only (two float64 Jacobians)")
    e2, p2, c2 = measured[-1]
    if len(measured) >= 2 and e2 > measured[-2][0]:
        e1, p1, c1 = measured[-2]
        per = (p2 - p1) / (e2 - e1)
        basis = (
            f"{max(per, 16.0):.1f} bytes per Jacobian entry, the slope of its measured peak "
            f"between {c1.label} and {c2.label}"
        )
    else:
        per = p2 / e2
        basis = f"{max(per, 16.0):.1f} bytes per Jacobian entry measured at {c2.label}"
    per = max(per, 16.0)
    return Prediction(per, max(lower, p2 + per * (entries - e2)), lower, basis)


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# --- the section --------------------------------------------------------------------------------


def _shape3(s: tuple[int, int, int]) -> str:
    n, k, m = s
    return f"W ({n}, {k}), b ({n}, 1), A_prev ({k}, {m})"


def run(
    config: Config, progress: Callable[[Case], None] | None = None
) -> tuple[list[Case], Prediction | None]:
    """Measure every case; ``progress`` sees each row as it finishes."""
    rows: list[Case] = []

    def add(c: Case) -> None:
        rows.append(c)
        if progress is not None:
            progress(c)

    import importlib.util

    have_torch = config.peers and importlib.util.find_spec("torch") is not None
    # 1. the dense layer
    r = run_case("dense", {"shape": list(config.dense)}, config)
    add(_case("dense", _shape3(config.dense), "harness: verify_at", r))
    prediction = None
    if config.peers and not have_torch:
        add(
            Case(
                "dense",
                _shape3(config.dense),
                "torch.gradcheck",
                "n/a",
                note="torch is not installed",
            )
        )
    elif have_torch:
        calib = []
        for s in config.torch_calibration:
            c = _case(
                "dense",
                _shape3(s),
                "torch.gradcheck",
                run_case("torch-dense", {"shape": list(s)}, config),
            )
            c.extra["shape"] = s
            c.extra["entries"] = jacobian_entries(s)
            calib.append(c)
            add(c)
        prediction = torch_prediction(calib, config.dense)
        avail = _available_memory()
        limit = config.memory_limit if avail is None else min(config.memory_limit, avail)
        full = Case("dense", _shape3(config.dense), "torch.gradcheck")
        full.extra["entries"] = jacobian_entries(config.dense)
        if prediction.needs > limit:
            full.verdict = f"not run: needs {prediction.needs / GIB:.1f} GiB"
            full.note = (
                f"predicted from {prediction.basis}; at least "
                f"{prediction.lower_bound / GIB:.1f} GiB for its two dense float64 Jacobians "
                f"of {full.extra['entries']:,} entries; limit {limit / GIB:.1f} GiB"
            )
            add(full)
        else:
            res = run_case("torch-dense", {"shape": list(config.dense)}, config)
            add(_case("dense", _shape3(config.dense), "torch.gradcheck", res))
    # 2. the network
    sizes = config.network
    n_params = sum(sizes[i] * sizes[i - 1] + sizes[i] for i in range(1, len(sizes)))
    label = f"sizes {list(sizes)}, {n_params:,} parameters, m = {config.network_m}"
    r = run_case("network", {"sizes": list(sizes), "m": config.network_m}, config)
    c = _case("network", label, "harness: verify_params(max_examples=0)", r)
    c.extra["parameters"] = n_params
    add(c)
    # 3. softmax
    for shape in config.softmax:
        label = f"{shape[0]}x{shape[1]}"
        add(
            _case(
                "softmax",
                label,
                "harness: verify_at",
                run_case("softmax", {"shape": list(shape)}, config),
            )
        )
        if config.peers and config.torch_softmax == shape:
            if have_torch:
                res = run_case("torch-softmax", {"shape": list(shape)}, config)
                add(_case("softmax", label, "torch.gradcheck", res))
            else:
                add(Case("softmax", label, "torch.gradcheck", "n/a", note="torch is not installed"))
    return rows, prediction


# --- formatting --------------------------------------------------------------------------------


def _g(x: float | None, fmt: str = ".3g") -> str:
    return "-" if x is None else format(x, fmt)


def _mem(c: Case) -> str:
    if c.peak_bytes is None:
        return "-"
    return f"{c.peak_bytes / 2**20:,.1f} MiB"


def _table(rows: Sequence[Case], first: str) -> list[str]:
    head = (
        f"| {first} | method | verdict | seconds | x f+b | f+b call | forward | vjp | jvp "
        f"| peak memory |"
    )
    lines = [head, "|" + " --- |" * 10]
    for c in rows:
        base = "-" if c.baseline is None else f"{c.baseline * 1e3:.3g} ms"
        lines.append(
            f"| {c.label} | {c.method} | {c.verdict} | {_g(c.seconds)} | {_g(c.ratio, '.0f')} "
            f"| {base} | {_g(c.forward, 'd')} | {_g(c.vjp, 'd')} | {_g(c.jvp, 'd')} "
            f"| {_mem(c)} |"
        )
    return lines


def format_tables(rows: Sequence[Case], config: Config) -> str:
    """The three markdown tables, each with its notes underneath."""
    how = {c.memory for c in rows if c.memory}
    mem = (
        "peak memory = the child's ru_maxrss after the check minus before it (fresh process "
        "per row)"
        if how == {"ru_maxrss"}
        else "peak memory = tracemalloc peak during the check (numpy buffers included)"
        if how == {"tracemalloc"}
        else "peak memory: " + ", ".join(sorted(how))
    )
    threads = (
        f"{config.blas_threads} BLAS thread(s) in every child"
        if config.blas_threads > 0
        else "the BLAS library's default threads"
    )
    out: list[str] = [
        f"{mem}; {threads}; x f+b = seconds / one forward+backward call at that shape, "
        f"measured in the same process just before.",
        "",
    ]
    titles = {
        "dense": "Dense layer, float64, every check incl. every block's explicit Jacobian",
        "network": "Two-layer network, every entry of every gradient (verify_params)",
        "softmax": "Softmax (registered spec: jvp and analytic Jacobian), float64",
    }
    firsts = {"dense": "shape", "network": "network", "softmax": "shape"}
    for table in ("dense", "network", "softmax"):
        sel = [c for c in rows if c.table == table]
        if not sel:
            continue
        out.append(f"**{titles[table]}**")
        out.append("")
        out += _table(sel, firsts[table])
        notes = [f"- {c.label}, {c.method}: {c.note}" for c in sel if c.note]
        if notes:
            out.append("")
            out += notes
        out.append("")
    return "\n".join(out).rstrip()


# --- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    what: str
    measured: str
    met: bool | None


def _find(
    rows: Sequence[Case], table: str, method_prefix: str, label: str | None = None
) -> Case | None:
    for c in rows:
        if (
            c.table == table
            and c.method.startswith(method_prefix)
            and (label is None or c.label == label)
        ):
            return c
    return None


def targets(rows: Sequence[Case], config: Config) -> list[Target]:
    """The issue's targets, evaluated on ``rows`` (None: not measured)."""
    out = []
    d = _find(rows, "dense", "harness", _shape3(config.dense))
    what = (
        f"dense {_shape3(config.dense)}: verify_at within 60 s and 2 GiB, every block's "
        f"Jacobian verified"
    )
    if d is None or d.seconds is None:
        out.append(Target(what, "not measured" if d is None else d.verdict, None))
    else:
        mem_ok = d.peak_bytes is not None and d.peak_bytes <= 2 * GIB
        met = d.seconds <= 60 and mem_ok and d.jacobian in ("pass", "fail")
        out.append(
            Target(
                what,
                f"{d.seconds:.1f} s, {_mem(d)} ({d.memory}), jacobian {d.jacobian}, "
                f"verdict {d.verdict}",
                met,
            )
        )
    net = _find(rows, "network", "harness")
    what = "network of ~10,000 parameters: verify_params(max_examples=0) within 30 s"
    if net is None or net.seconds is None:
        out.append(Target(what, "not measured" if net is None else net.verdict, None))
    else:
        out.append(
            Target(
                what,
                f"{net.seconds:.1f} s ({_g(net.ratio, '.0f')} x f+b), verdict {net.verdict}",
                net.seconds <= 30,
            )
        )
    if config.torch_softmax is not None:
        label = f"{config.torch_softmax[0]}x{config.torch_softmax[1]}"
        ours = _find(rows, "softmax", "harness", label)
        theirs = _find(rows, "softmax", "torch", label)
        what = f"softmax {label}: verify_at >= 100x faster than torch.gradcheck"
        if ours is None or theirs is None or ours.seconds is None or theirs.seconds is None:
            out.append(Target(what, "not measured", None))
        else:
            sp = theirs.seconds / ours.seconds
            out.append(
                Target(
                    what, f"{sp:.0f}x ({theirs.seconds:.3g} s / {ours.seconds:.3g} s)", sp >= 100
                )
            )
    big = max(config.softmax, key=lambda s: s[0] * s[1])
    label = f"{big[0]}x{big[1]}"
    ours = _find(rows, "softmax", "harness", label)
    what = f"softmax {label}: verify_at within 600 f+b call equivalents"
    if ours is None or ours.ratio is None:
        out.append(Target(what, "not measured", None))
    else:
        out.append(
            Target(
                what,
                f"{ours.ratio:.0f} x f+b ({ours.seconds:.3g} s), jacobian {ours.jacobian}",
                ours.ratio <= 600 and ours.jacobian in ("pass", "fail"),
            )
        )
    return out


def format_targets(ts: Sequence[Target]) -> str:
    mark = {True: "met   ", False: "MISSED", None: "  -   "}
    return "\n".join(f"[{mark[t.met]}] {t.what}: {t.measured}" for t in ts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="tiny shapes")
    parser.add_argument("--skip-peers", action="store_true", help="no torch rows")
    parser.add_argument("--in-process", action="store_true", help="no children; tracemalloc")
    parser.add_argument("--blas-threads", type=int, default=1, help="0: library default")
    args = parser.parse_args(argv)
    if args.child:
        _child_main(args.child)
        return 0
    cfg = Config.quick() if args.quick else Config()
    cfg = replace(
        cfg, peers=not args.skip_peers, isolated=not args.in_process, blas_threads=args.blas_threads
    )
    rows, _ = run(cfg)
    print(format_tables(rows, cfg))
    print()
    print(format_targets(targets(rows, cfg)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
