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

from harness.spec import Spec

__all__ = ["CALL_FAILURE_KINDS", "CallFailure", "Caller", "Counts", "fmt_index"]

Array = NDArray[Any]


# The `kind` of every CallFailure, which is also a Measurement's `what` for call failures.
CALL_FAILURE_KINDS: tuple[str, ...] = (
    "raised",
    "timeout",
    "inplace",
    "type",
    "shape",
    "dtype",
    "nonfinite",
    "structure",
)


class CallFailure(Exception):
    """A call into the function under test misbehaved; ``kind`` names how."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


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
        out_shape: tuple[int, ...],
        out_dtype: np.dtype[Any] | None,
        layout: str | None = None,
        check_finite: bool = True,
        fresh: bool = False,
    ) -> Array:
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
                "raised", f"{what} raised {type(exc).__name__}: {exc} (called with {shapes})"
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
                )
        if not isinstance(out, np.ndarray):
            raise CallFailure(
                "type",
                f"{what} returned {type(out).__name__}, expected a numpy.ndarray of shape "
                f"{out_shape}",
            )
        if out.shape != out_shape:
            hint = " (the transpose?)" if out.shape == out_shape[::-1] else ""
            raise CallFailure(
                "shape", f"{what} returned shape {out.shape}, expected {out_shape}{hint}"
            )
        if out_dtype is not None and out.dtype != out_dtype:
            raise CallFailure(
                "dtype",
                f"{what} returned dtype {out.dtype} for {self.dtype} input; expected "
                f"{out_dtype} (a silent change of precision)",
            )
        if not np.issubdtype(out.dtype, np.inexact):
            raise CallFailure("dtype", f"{what} returned non-floating dtype {out.dtype}")
        if check_finite and not np.isfinite(out).all():
            finite_in = all(np.isfinite(v).all() for v in args.values())
            if finite_in:
                bad = tuple(np.argwhere(~np.isfinite(out))[0])
                raise CallFailure(
                    "nonfinite",
                    f"{what} returned non-finite {out[bad]} at {fmt_index(bad)} for finite input",
                )
        return out

    # -- the three functions ----------------------------------------------------------------
    def forward(
        self,
        Z: Array,
        *,
        oracle: bool = False,
        layout: str | None = None,
        check_finite: bool = True,
        fresh: bool = False,
    ) -> Array:
        """``spec.forward(Z)``; ``oracle=True`` allows any floating output dtype.

        ``fresh=True`` hands over ``Z`` itself: for temporaries the harness never reads again
        (the stacked points of the finite-difference oracle), where a protective copy and the
        in-place check after the call would only cost time.
        """
        self.counts.forward += 1
        self.counts.forward_columns += Z.shape[1] if Z.ndim == 2 else 1
        out_dtype = None if oracle else Z.dtype
        return self._call(
            "forward",
            self.spec.forward,
            {"Z": Z},
            out_shape=Z.shape,
            out_dtype=out_dtype,
            layout=layout,
            check_finite=check_finite,
            fresh=fresh,
        )

    def vjp(self, Z: Array, A: Array, dA: Array, *, layout: str | None = None) -> Array:
        """``spec.vjp(Z, A, dA)``, output checked to have Z's shape and dtype."""
        self.counts.vjp += 1
        self.counts.vjp_columns += Z.shape[1] if Z.ndim == 2 else 1
        return self._call(
            "vjp",
            self.spec.vjp,
            {"Z": Z, "A": A, "dA": dA},
            out_shape=Z.shape,
            out_dtype=Z.dtype,
            layout=layout,
        )

    def jvp(self, Z: Array, A: Array, dZ: Array, *, layout: str | None = None) -> Array:
        """``spec.jvp(Z, A, dZ)``, output checked to have A's shape and dtype."""
        assert self.spec.jvp is not None
        self.counts.jvp += 1
        self.counts.jvp_columns += Z.shape[1] if Z.ndim == 2 else 1
        return self._call(
            "jvp",
            self.spec.jvp,
            {"Z": Z, "A": A, "dZ": dZ},
            out_shape=A.shape,
            out_dtype=Z.dtype,
            layout=layout,
        )

    def jacobian(self, z: Array, a: Array, shape: tuple[int, int]) -> Array:
        """``spec.jacobian(z, a)``, output checked to have ``shape``."""
        assert self.spec.jacobian is not None
        self.counts.jacobian += 1
        return self._call(
            "jacobian",
            self.spec.jacobian,
            {"z": z, "a": a},
            out_shape=shape,
            out_dtype=None,
        )
