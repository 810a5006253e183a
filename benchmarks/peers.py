"""Run the gradient checkers people already use on a numpy forward/vjp pair, for comparison.

Peers: ``torch.autograd.gradcheck`` (default and ``fast_mode``), ``jax.test_util.check_grads``
and ``scipy.optimize.check_grad``. Each runs in its own ``spawn`` child process with a
wall-clock limit and an address-space limit, because the default torch gradcheck builds dense
Jacobians (O(N^2) memory for N = n*m inputs) and would otherwise hang or exhaust the machine.
The child counts forward and vjp calls in shared memory, so the counts survive even a child that
had to be killed.

torch and jax are optional (the ``bench`` extra: ``pip install -e .[bench]``) and are imported
only inside the child; scipy is a core dependency.

The forward/vjp callables must pickle (module-level functions, or instances such as
:class:`benchmarks.functions.ScaledVJP`), since the child is started with ``spawn``.
"""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import resource
import signal
import statistics
import time
import traceback
from collections.abc import Callable, MutableSequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from benchmarks.functions import Array, Counted, Forward, ScaledVJP, Vjp

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_TIMEOUT",
    "SCIPY_RTOL",
    "TOOLS",
    "PeerResult",
    "PeerUnavailableError",
    "baseline_seconds",
    "detection_sweep",
    "jax_check_grads",
    "peer_detects",
    "run_peer",
    "scipy_check_grad",
    "torch_gradcheck",
]

TORCH = "torch.gradcheck"
TORCH_FAST = "torch.gradcheck(fast)"
JAX = "jax.check_grads"
SCIPY = "scipy.check_grad"
TOOLS: tuple[str, ...] = (TORCH, TORCH_FAST, JAX, SCIPY)

DEFAULT_TIMEOUT = 120.0
"""Wall-clock seconds a child may run, imports included, before it is killed."""

DEFAULT_MEMORY_LIMIT = 16 * 2**30
"""RLIMIT_AS for the child, in bytes: well under the 24 GiB machine, so a runaway allocation
fails inside the child instead of bringing in the kernel's OOM killer."""

SCIPY_RTOL = 1e-5
"""scipy's check_grad returns an absolute error norm; it passes below this times |grad|."""

_SCIPY_SEED = 12345  # fixed so the scalar projection J(z) = sum(W * f(Z)) is reproducible
_MAX_MESSAGE = 2000  # torch's mismatch messages print whole Jacobians; the pipe needs no novel

_EXTRA_HINT = "install the optional 'bench' extra: pip install -e .[bench]"


class PeerUnavailableError(ImportError):
    """The library a peer needs (torch or jax) is not installed."""


@dataclass(frozen=True)
class PeerResult:
    """What one peer run produced.

    ``passed`` is the tool's verdict: True/False when it ran to a verdict, None when it crashed,
    ran out of memory or timed out (see ``error_message`` and ``timed_out``). ``seconds`` is
    the time of the check call alone inside the child (imports and process start-up excluded);
    ``process_seconds`` is the whole child's wall time as seen by the caller.
    """

    tool: str
    passed: bool | None
    seconds: float | None
    forward_calls: int
    vjp_calls: int
    error_message: str | None = None
    timed_out: bool = False
    process_seconds: float | None = None
    exit_code: int | None = None
    error_value: float | None = None
    """scipy.check_grad only: the returned absolute error ||grad - finite differences||."""
    relative_error: float | None = None
    """scipy.check_grad only: ``error_value / ||grad||``, compared against SCIPY_RTOL."""


@dataclass(frozen=True)
class _Outcome:
    passed: bool
    message: str | None = None
    error_value: float | None = None
    relative_error: float | None = None


_Check = Callable[[], _Outcome]


def _truncate(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + " ...[truncated]"


# --- The peers, as they run inside the child --------------------------------------------------
# Each _prepare_* does the imports and wiring (not timed) and returns the check itself (timed).
# A tool's own "gradient is wrong" exception becomes passed=False; anything else propagates
# and is reported as a crash (passed=None).


def _prepare_torch(counted: Counted, Z: Array, fast_mode: bool) -> _Check:
    import torch
    from torch.autograd.gradcheck import GradcheckError

    class NumpyFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, z: torch.Tensor) -> torch.Tensor:
            a = torch.from_numpy(np.asarray(counted.forward(z.detach().numpy())))
            ctx.save_for_backward(z, a)
            return a

        @staticmethod
        def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
            z, a = ctx.saved_tensors
            dz = counted.vjp(z.detach().numpy(), a.detach().numpy(), g.detach().numpy())
            return torch.from_numpy(np.asarray(dz))

    z = torch.from_numpy(Z.copy()).requires_grad_(True)

    def check() -> _Outcome:
        try:
            torch.autograd.gradcheck(NumpyFunction.apply, (z,), fast_mode=fast_mode)
        except GradcheckError as exc:
            return _Outcome(False, _truncate(str(exc)))
        return _Outcome(True)

    return check


def _prepare_jax(counted: Counted, Z: Array) -> _Check:
    import jax

    # Must precede any array creation, or jax silently computes in float32.
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.test_util import check_grads

    spec = jax.ShapeDtypeStruct(Z.shape, jnp.float64)

    def forward_cb(z: Array) -> Array:
        return np.asarray(counted.forward(np.asarray(z)), dtype=np.float64)

    def vjp_cb(z: Array, a: Array, g: Array) -> Array:
        dz = counted.vjp(np.asarray(z), np.asarray(a), np.asarray(g))
        return np.asarray(dz, dtype=np.float64)

    @jax.custom_vjp
    def f(z: Any) -> Any:
        return jax.pure_callback(forward_cb, spec, z)

    def f_fwd(z: Any) -> tuple[Any, tuple[Any, Any]]:
        a = jax.pure_callback(forward_cb, spec, z)
        return a, (z, a)

    def f_bwd(residuals: tuple[Any, Any], g: Any) -> tuple[Any]:
        z, a = residuals
        return (jax.pure_callback(vjp_cb, spec, z, a, g),)

    f.defvjp(f_fwd, f_bwd)
    z0 = jnp.asarray(Z)

    def check() -> _Outcome:
        try:
            check_grads(f, (z0,), order=1, modes=["rev"])
        except AssertionError as exc:
            return _Outcome(False, _truncate(str(exc).strip()))
        return _Outcome(True)

    return check


def _prepare_scipy(counted: Counted, Z: Array, fwd: Forward, vjp: Vjp) -> _Check:
    from scipy.optimize import check_grad

    shape = Z.shape
    W = np.random.default_rng(_SCIPY_SEED).standard_normal(shape)

    def objective(z: Array) -> float:
        return float(np.sum(W * counted.forward(z.reshape(shape))))

    def gradient(z: Array) -> Array:
        Zr = z.reshape(shape)
        return np.asarray(counted.vjp(Zr, counted.forward(Zr), W)).ravel()

    # The reference norm uses the uncounted pair so the counts are check_grad's alone.
    grad_norm = float(np.linalg.norm(vjp(Z, fwd(Z), W)))

    def check() -> _Outcome:
        err = float(check_grad(objective, gradient, Z.ravel()))
        rel = err / grad_norm if grad_norm > 0 else err
        passed = bool(rel <= SCIPY_RTOL)
        message = None if passed else f"relative error {rel:.3g} > {SCIPY_RTOL:g}"
        return _Outcome(passed, message, error_value=err, relative_error=rel)

    return check


def _prepare(tool: str, counted: Counted, Z: Array, fwd: Forward, vjp: Vjp) -> _Check:
    if tool == TORCH:
        return _prepare_torch(counted, Z, fast_mode=False)
    if tool == TORCH_FAST:
        return _prepare_torch(counted, Z, fast_mode=True)
    if tool == JAX:
        return _prepare_jax(counted, Z)
    if tool == SCIPY:
        return _prepare_scipy(counted, Z, fwd, vjp)
    raise ValueError(f"unknown peer tool {tool!r}; expected one of {', '.join(TOOLS)}")


def _limit_address_space(limit: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _child_main(
    tool: str,
    fwd: Forward,
    vjp: Vjp,
    Z: Array,
    counts: MutableSequence[int],
    conn: Connection,
    memory_limit: int | None,
) -> None:
    """Entry point of the child: run one peer and send a small dict back through ``conn``."""
    # Before any heavy import, so the libraries' own allocations are under the limit too.
    if memory_limit is not None:
        _limit_address_space(memory_limit)
    counted = Counted(fwd, vjp, counts)
    report: dict[str, Any] = {"passed": None, "seconds": None}
    started: float | None = None
    try:
        check = _prepare(tool, counted, Z, fwd, vjp)
        started = time.perf_counter()
        outcome = check()
        report["seconds"] = time.perf_counter() - started
        report.update(
            passed=outcome.passed,
            error_message=outcome.message,
            error_value=outcome.error_value,
            relative_error=outcome.relative_error,
        )
    except BaseException as exc:  # MemoryError and KeyboardInterrupt included: report them all
        if started is not None:
            report["seconds"] = time.perf_counter() - started
        where = "during the check" if started is not None else "while setting up"
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        origin = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
        report["error_message"] = _truncate(f"{type(exc).__name__} {where}{origin}: {exc}")
    conn.send(report)
    conn.close()


# --- The caller's side ------------------------------------------------------------------------


def _require(tool: str) -> None:
    module = {TORCH: "torch", TORCH_FAST: "torch", JAX: "jax"}.get(tool)
    if tool not in TOOLS:
        raise ValueError(f"unknown peer tool {tool!r}; expected one of {', '.join(TOOLS)}")
    # find_spec imports nothing, so the caller stays free of torch/jax.
    if module is not None and importlib.util.find_spec(module) is None:
        raise PeerUnavailableError(f"{tool} needs {module}, which is not installed; {_EXTRA_HINT}")


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "child did not exit"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (likely the kernel's OOM killer)" if -code == signal.SIGKILL else ""
        return f"child killed by {name}{hint}"
    return f"child exited with code {code} without reporting"


def run_peer(
    tool: str,
    fwd: Forward,
    vjp: Vjp,
    Z: Array,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
) -> PeerResult:
    """Run one peer (a name from :data:`TOOLS`) in a ``spawn`` child and collect its result.

    ``timeout`` bounds the child's whole wall time (start-up and imports included); past it the
    child is killed and the result has ``timed_out=True``. ``memory_limit`` (bytes, or None for
    none) is applied as RLIMIT_AS in the child. Neither a timeout, an out-of-memory error nor a
    crashed child raises here: each becomes a result with ``passed=None``.

    Raises :class:`PeerUnavailableError` if the peer's library is not installed.
    """
    _require(tool)
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    ctx = mp.get_context("spawn")
    counts = ctx.RawArray("q", 2)
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child_main,
        args=(tool, fwd, vjp, Z, counts, sender, memory_limit),
        name=f"peer:{tool}",
        daemon=True,  # never outlive the caller
    )
    started = time.perf_counter()
    child.start()
    # Drop our copy of the write end: a dead child then shows up as EOF instead of a hang.
    sender.close()

    report: dict[str, Any] | None = None
    timed_out = False
    if receiver.poll(timeout):
        try:
            report = receiver.recv()
        except EOFError:
            report = None  # the child died without sending
        # Having reported, it should exit at once; the grace period only covers teardown.
        child.join(10.0)
    else:
        timed_out = True
    if child.is_alive():
        child.kill()
        child.join()
    process_seconds = time.perf_counter() - started
    receiver.close()

    forward_calls, vjp_calls = int(counts[0]), int(counts[1])
    if timed_out:
        return PeerResult(
            tool=tool,
            passed=None,
            seconds=None,
            forward_calls=forward_calls,
            vjp_calls=vjp_calls,
            error_message=f"timed out after {timeout:g} s; killed",
            timed_out=True,
            process_seconds=process_seconds,
            exit_code=child.exitcode,
        )
    if report is None:
        return PeerResult(
            tool=tool,
            passed=None,
            seconds=None,
            forward_calls=forward_calls,
            vjp_calls=vjp_calls,
            error_message=_describe_exit(child.exitcode),
            process_seconds=process_seconds,
            exit_code=child.exitcode,
        )
    return PeerResult(
        tool=tool,
        passed=report["passed"],
        seconds=report["seconds"],
        forward_calls=forward_calls,
        vjp_calls=vjp_calls,
        error_message=report.get("error_message"),
        process_seconds=process_seconds,
        exit_code=child.exitcode,
        error_value=report.get("error_value"),
        relative_error=report.get("relative_error"),
    )


def torch_gradcheck(
    fwd: Forward,
    vjp: Vjp,
    Z: Array,
    fast_mode: bool,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
) -> PeerResult:
    """``torch.autograd.gradcheck`` with its defaults (or ``fast_mode=True``) on the pair.

    The pair is wrapped in a ``torch.autograd.Function`` whose forward and backward call the
    numpy functions. The default mode builds the full numerical and analytical Jacobians.
    """
    return run_peer(
        TORCH_FAST if fast_mode else TORCH,
        fwd,
        vjp,
        Z,
        timeout=timeout,
        memory_limit=memory_limit,
    )


def jax_check_grads(
    fwd: Forward,
    vjp: Vjp,
    Z: Array,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
) -> PeerResult:
    """``jax.test_util.check_grads(f, (Z,), order=1, modes=["rev"])`` in float64.

    ``f`` is a ``jax.custom_vjp`` whose forward and backward reach the numpy functions through
    ``jax.pure_callback``.
    """
    return run_peer(JAX, fwd, vjp, Z, timeout=timeout, memory_limit=memory_limit)


def scipy_check_grad(
    fwd: Forward,
    vjp: Vjp,
    Z: Array,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
) -> PeerResult:
    """``scipy.optimize.check_grad`` on the scalar ``J(z) = sum(W * f(Z))``, z = Z flattened.

    W is a fixed random matrix, so the gradient is ``vjp(Z, f(Z), W)``. Passes when the returned
    error is at most :data:`SCIPY_RTOL` times the gradient's norm; the result carries both the
    absolute (``error_value``) and relative (``relative_error``) error.
    """
    return run_peer(SCIPY, fwd, vjp, Z, timeout=timeout, memory_limit=memory_limit)


def baseline_seconds(fwd: Forward, vjp: Vjp, Z: Array, repeats: int = 100) -> float:
    """Median wall time of one forward call followed by one vjp call, in this process.

    Peer times divided by this give "cost in forward+backward calls". One untimed warm-up call
    comes first so that first-touch allocation does not skew small repeat counts.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    dA = np.random.default_rng(0).standard_normal(Z.shape)
    vjp(Z, fwd(Z), dA)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        A = fwd(Z)
        vjp(Z, A, dA)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peer_detects(
    tool: str,
    fwd: Forward,
    vjp_scaled: Vjp,
    Z: Array,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
) -> bool | None:
    """Whether ``tool`` rejects a deliberately wrong vjp (e.g. a ScaledVJP with some delta).

    True: the peer reported a mismatch. False: it passed the wrong gradient. None: it reached no
    verdict (crash, out of memory, timeout).
    """
    result = run_peer(tool, fwd, vjp_scaled, Z, timeout=timeout, memory_limit=memory_limit)
    return None if result.passed is None else not result.passed


def detection_sweep(
    tool: str,
    fwd: Forward,
    vjp: Vjp,
    Z: Array,
    deltas: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7),
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
) -> dict[float, bool | None]:
    """:func:`peer_detects` for ``vjp`` scaled by ``1 + delta``, for each delta."""
    return {
        delta: peer_detects(
            tool, fwd, ScaledVJP(vjp, delta), Z, timeout=timeout, memory_limit=memory_limit
        )
        for delta in deltas
    }
