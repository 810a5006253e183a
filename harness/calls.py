"""Guarded calls into the functions under test.

The functions under test are suspect by definition. Every call goes through :class:`Caller`,
which hands the function fresh copies of its inputs (so nothing of ours can be corrupted),
checks afterwards that the copies were not modified, checks the output's type, shape, dtype
and finiteness, enforces a time limit, silences numpy floating-point warnings (so a verdict
does not depend on the warning filters in force), and counts evaluations. A misbehaving call
raises :class:`CallFailure`, which the checks turn into a failed verdict with its message.
"""

from __future__ import annotations

import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

# The `kind` of every CallFailure, which is also a Measurement's `what` for call failures
# (one list, in harness.results, so that reading a results file needs nothing of the engine).
from harness.results import CALL_FAILURE_KINDS
from harness.spec import Spec

__all__ = ["CALL_FAILURE_KINDS", "CallFailure", "Caller", "Counts", "fmt_index"]

Array = NDArray[Any]


class CallFailure(Exception):
    """A call into the function under test misbehaved; ``kind`` names how."""

    def __init__(self, kind: str, message: str, point: dict[str, Array] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        # The exact arguments of the call that misbehaved (shown in reports).
        self.point = dict(point) if point is not None else None


class _Timeout(BaseException):
    # BaseException so that a user's `except Exception` cannot swallow it.
    pass


@dataclass
class Counts:
    """Evaluations made, in calls and in columns (work relative to one call on the input)."""

    forward: int = 0
    vjp: int = 0
    jvp: int = 0
    jacobian: int = 0
    forward_columns: int = 0
    vjp_columns: int = 0
    jvp_columns: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"forward": self.forward, "vjp": self.vjp, "jvp": self.jvp}


def fmt_index(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _layout_copy(a: Array, layout: str) -> Array:
    """A fresh copy of ``a`` in the requested memory layout."""
    if layout == "F":
        return np.asfortranarray(a.copy())
    if layout == "strided":
        # A non-contiguous view: every other element of a buffer twice as wide.
        buf = np.zeros((a.shape[0], 2 * a.shape[1]), dtype=a.dtype)
        view = buf[:, ::2]
        view[...] = a
        return view
    return np.ascontiguousarray(a.copy())


def _same_bits(a: Array, b: Array) -> bool:
    """Equality of two arrays of the same dtype, NaN equal to NaN, whatever their layout."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    # The common case, finite and unchanged, without the cost of NaN handling.
    return bool(np.array_equal(a, b)) or bool(np.array_equal(a, b, equal_nan=True))


class Caller:
    """Calls one spec's functions for one dtype, with the guards described above.

    Parameters
    ----------
    spec : Spec
        The function under test.
    dtype : numpy dtype
        The dtype of this run: outputs must come back in it.
    timeout : float or None
        Seconds one call may take; ``None`` disables the limit. The limit uses a timer
        signal, so it interrupts Python code; it applies in the main thread only.
    """

    def __init__(self, spec: Spec, dtype: np.dtype[Any], timeout: float | None = 60.0) -> None:
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.timeout = timeout
        self.layout = "C"  # memory layout the inputs are handed over in
        self.counts = Counts()
        # A function that once ran out of time is not called again on this input: every
        # later call would cost the full limit again.
        self.timed_out: dict[str, CallFailure] = {}
        # Results returned in another dtype than the contract's, by function: one finding
        # each, and the values are still checked.
        self.dtype_findings: dict[str, str] = {}
        self._out_shapes: dict[tuple[tuple[int, ...], ...], tuple[int, ...]] = {}

    # -- the guard ------------------------------------------------------------------------
    @contextmanager
    def _time_limit(self, what: str) -> Iterator[None]:
        use = (
            self.timeout is not None
            and self.timeout > 0
            and threading.current_thread() is threading.main_thread()
            and hasattr(signal, "setitimer")
        )
        if not use:
            yield
            return

        def _on_alarm(signum: int, frame: Any) -> None:
            raise _Timeout()

        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(self.timeout))  # type: ignore[arg-type]
        try:
            yield
        except _Timeout:
            failure = CallFailure(
                "timeout",
                f"{what} did not return within the time limit of {self.timeout:g} s "
                f"(set timeout= or --timeout to change it)",
            )
            self.timed_out[what] = failure
            raise failure from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0.0)
            signal.signal(signal.SIGALRM, old)

    def _call(
        self,
        what: str,
        fn: Callable[..., Any],
        args: dict[str, Array],
        *,
        layout: str | None = None,
        fresh: bool = False,
    ) -> Any:
        """Call ``fn`` on copies of ``args``; raise CallFailure on exceptions and in-place edits."""
        if what in self.timed_out:
            raise self.timed_out[what]
        lay = self.layout if layout is None else layout
        if fresh:
            # The arguments are temporaries of the harness, used once: no copy to protect.
            passed = dict(args)
        else:
            passed = {k: _layout_copy(v, lay) if v.ndim == 2 else v.copy() for k, v in args.items()}
        t0 = time.perf_counter()
        try:
            with (
                self._time_limit(what),
                np.errstate(all="ignore"),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore")
                out = fn(*passed.values())
        except CallFailure:
            raise
        except (Exception, SystemExit) as exc:  # the function under test may raise anything
            shapes = ", ".join(f"{k}: {v.shape} {v.dtype}" for k, v in args.items())
            raise CallFailure(
                "raised",
                f"{what} raised {type(exc).__name__}: {exc} (called with {shapes})",
                point=args,
            ) from None
        finally:
            self.counts.seconds[what] = self.counts.seconds.get(what, 0.0) + (
                time.perf_counter() - t0
            )
        for k, v in args.items():
            if not fresh and not _same_bits(passed[k], v):
                raise CallFailure(
                    "inplace",
                    f"{what} modifies {k} in place: the harness passed a copy and found it "
                    f"changed after the call; compute into new arrays instead",
                    point=args,
                )
        return out

    def _result(
        self,
        what: str,
        out: Any,
        args: dict[str, Array],
        *,
        out_shape: tuple[int, ...],
        check_dtype: bool,
        check_finite: bool = True,
        label: str = "",
    ) -> Array:
        """Check one returned array's type, shape, dtype and finiteness."""
        label = label or what
        if isinstance(out, float) and not out_shape and not isinstance(out, np.floating):
            # A Python float carries no dtype: a scalar cost in the run's dtype.
            out = np.asarray(out, dtype=self.dtype)
        elif isinstance(out, np.generic):
            out = np.asarray(out)
        if not isinstance(out, np.ndarray):
            raise CallFailure(
                "type",
                f"{label} returned {type(out).__name__}, expected a numpy.ndarray of shape "
                f"{out_shape}",
                point=args,
            )
        if out.shape != out_shape:
            raise CallFailure(
                "shape",
                f"{label} returned shape {out.shape}, expected {out_shape}"
                + self._shape_hint(out.shape, out_shape),
                point=args,
            )
        if not np.issubdtype(out.dtype, np.inexact) or (np.iscomplexobj(out) and check_dtype):
            raise CallFailure(
                "dtype", f"{label} returned non-floating dtype {out.dtype}", point=args
            )
        if check_dtype and out.dtype != self.expected_dtype:
            self.dtype_findings.setdefault(
                label,
                f"{label} returns {out.dtype} for {self.dtype} input (expected "
                f"{self.expected_dtype}); values checked as returned",
            )
        if check_finite and not np.isfinite(out).all():
            finite_in = all(np.isfinite(v).all() for v in args.values())
            if finite_in:
                bad = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
                raise CallFailure(
                    "nonfinite",
                    f"{label} returned non-finite {out[bad]} at {fmt_index(bad)} for finite input",
                    point=args,
                )
        return out

    def _shape_hint(self, got: tuple[int, ...], want: tuple[int, ...]) -> str:
        if got == want[::-1] and got != want:
            return " (the transpose?)"
        return ""

    @property
    def expected_dtype(self) -> np.dtype[Any]:
        """The dtype results must have: the run's, or the spec's declared ``output_dtype``."""
        if self.spec.output_dtype is not None:
            return np.dtype(self.spec.output_dtype)
        return self.dtype

    # -- naming of the arguments ------------------------------------------------------------
    @property
    def _legacy(self) -> bool:
        return self.spec.inputs == ("Z",)

    def _names(self) -> tuple[str, str]:
        """Names of the output and its cotangent in messages."""
        return ("A", "dA") if self._legacy else ("output", "d_output")

    def output_shape(self, xs: tuple[Array, ...]) -> tuple[int, ...]:
        """The output's shape for inputs of these shapes (from the signature)."""
        key = tuple(x.shape for x in xs)
        shape = self._out_shapes.get(key)
        if shape is None:
            sig = self.spec.signature
            sizes = sig.bind(key, self.spec.inputs)
            shape = sig.output_shape(sizes)
            self._out_shapes[key] = shape
        return shape

    # -- the functions ------------------------------------------------------------------------
    def forward(
        self,
        xs: tuple[Array, ...] | Array,
        *,
        oracle: bool = False,
        layout: str | None = None,
        check_finite: bool = True,
        fresh: bool = False,
    ) -> Array:
        """``spec.forward(*xs)``; ``oracle=True`` allows any floating output dtype.

        ``fresh=True`` hands over the arrays themselves: for temporaries the harness never
        reads again, where a protective copy and the in-place check would only cost time.
        """
        xs = _as_tuple(xs)
        self.counts.forward += 1
        self.counts.forward_columns += xs[0].shape[-1] if xs[0].ndim == 2 else 1
        args = dict(zip(self.spec.inputs, xs, strict=True))
        out = self._call("forward", self.spec.forward, args, layout=layout, fresh=fresh)
        if isinstance(out, np.generic):
            out = np.asarray(out)  # a numpy scalar (a cost): a 0-d array
        if oracle and isinstance(out, np.ndarray) and np.iscomplexobj(out):
            return out
        return self._result(
            "forward",
            out,
            args,
            out_shape=self.output_shape(xs),
            check_dtype=not oracle,
            check_finite=check_finite,
        )

    def vjp(
        self, xs: tuple[Array, ...] | Array, A: Array, dA: Array, *, layout: str | None = None
    ) -> tuple[Array, ...]:
        """``spec.vjp(*xs, A, dA)``: one gradient per differentiable input, each checked.

        Returns a tuple even for one input (the spec may return a bare array then).
        """
        xs = _as_tuple(xs)
        self.counts.vjp += 1
        self.counts.vjp_columns += xs[0].shape[-1] if xs[0].ndim == 2 else 1
        out_name, d_name = self._names()
        args = dict(zip(self.spec.inputs, xs, strict=True))
        args[out_name] = A
        args[d_name] = dA
        out = self._call("vjp", self.spec.vjp, args, layout=layout)
        grads = self._plumbing(out, xs, args)
        diff = self.spec.diff_inputs
        return tuple(
            self._result(
                "vjp",
                g,
                args,
                out_shape=xs[self.spec.inputs.index(n)].shape,
                check_dtype=True,
                label="vjp" if len(diff) == 1 else f"vjp's gradient for `{n}`",
            )
            for n, g in zip(diff, grads, strict=True)
        )

    def _plumbing(self, out: Any, xs: tuple[Array, ...], args: dict[str, Array]) -> tuple[Any, ...]:
        """The gradients as a tuple, or a CallFailure that says what is wrong with them."""
        diff = self.spec.diff_inputs
        if len(diff) == 1 and not isinstance(out, tuple):
            return (out,)
        if not isinstance(out, (tuple, list)):
            raise CallFailure(
                "gradients",
                f"vjp returned one {type(out).__name__}; expected a tuple of {len(diff)} "
                f"gradients, one per differentiable input ({', '.join(diff)}) in that order",
                point=args,
            )
        grads = tuple(out)
        if len(grads) != len(diff):
            extra = ""
            if len(grads) == len(self.spec.inputs) and self.spec.constants:
                consts = ", ".join(f"`{c}`" for c in self.spec.constants)
                extra = f"; it seems to return a gradient for the constant(s) {consts} too"
            raise CallFailure(
                "gradients",
                f"vjp returned {len(grads)} gradient(s); expected {len(diff)}, one per "
                f"differentiable input ({', '.join(diff)}) in that order{extra}",
                point=args,
            )
        shapes = {n: xs[self.spec.inputs.index(n)].shape for n in diff}
        for i, (n, g) in enumerate(zip(diff, grads, strict=True)):
            if g is None:
                raise CallFailure(
                    "gradients",
                    f"vjp returned None for `{n}` (gradient {i + 1} of {len(diff)}); every "
                    f"differentiable input needs a gradient (zeros if it has no effect)",
                    point=args,
                )
            shape = getattr(g, "shape", None)
            if shape is None or tuple(shape) == shapes[n]:
                continue
            out_shape = self.output_shape(xs)
            summed = len(shapes[n]) == len(out_shape) and any(
                w == 1 and o != 1 for w, o in zip(shapes[n], out_shape, strict=True)
            )
            if tuple(shape) == out_shape and summed:
                raise CallFailure(
                    "gradients",
                    f"gradient for `{n}` has shape {tuple(shape)}; expected {shapes[n]} (the "
                    f"output's shape: a sum over the axis `{n}` is broadcast along missing?)",
                    point=args,
                )
            owners = [o for o in diff if shapes[o] == tuple(shape) and o != n]
            if owners:
                raise CallFailure(
                    "gradients",
                    f"gradient {i + 1} has shape {tuple(shape)}, which is `{owners[0]}`'s, not "
                    f"`{n}`'s {shapes[n]}: are the gradients in the order of `inputs` "
                    f"({', '.join(diff)})?",
                    point=args,
                )
            raise CallFailure(
                "gradients",
                f"gradient for `{n}` has shape {tuple(shape)}; expected {shapes[n]}",
                point=args,
            )
        return grads

    def jvp(
        self,
        xs: tuple[Array, ...] | Array,
        A: Array,
        tangents: tuple[Array, ...] | Array,
        *,
        layout: str | None = None,
    ) -> Array:
        """``spec.jvp(*xs, A, *tangents)``, output checked to have A's shape."""
        assert self.spec.jvp is not None
        xs = _as_tuple(xs)
        tangents = _as_tuple(tangents)
        self.counts.jvp += 1
        self.counts.jvp_columns += xs[0].shape[-1] if xs[0].ndim == 2 else 1
        out_name, _ = self._names()
        args = dict(zip(self.spec.inputs, xs, strict=True))
        args[out_name] = A
        for n, t in zip(self.spec.diff_inputs, tangents, strict=True):
            args["dZ" if self._legacy else f"d{n}"] = t
        out = self._call("jvp", self.spec.jvp, args, layout=layout)
        return self._result("jvp", out, args, out_shape=A.shape, check_dtype=True)

    def jacobian(self, z: Array, a: Array, shape: tuple[int, int]) -> Array:
        """``spec.jacobian(z, a)``, output checked to have ``shape``."""
        assert self.spec.jacobian is not None
        self.counts.jacobian += 1
        args = {"z": z, "a": a}
        out = self._call("jacobian", self.spec.jacobian, args)
        return self._result("jacobian", out, args, out_shape=shape, check_dtype=False)


def _as_tuple(x: Any) -> tuple[Array, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)
