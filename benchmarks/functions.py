"""Plain numpy forward/vjp pairs that the peer gradient checkers are run on.

Shapes follow the harness convention: ``Z`` is ``(n, m)``, n units by m examples, one example per
column. Every function here is defined at module level so that it pickles by reference and can
be sent to a ``spawn`` child process (see :mod:`benchmarks.peers`).

This module deliberately depends on numpy alone; the harness's own specs live elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, MutableSequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FUNCTIONS",
    "Counted",
    "Forward",
    "FunctionPair",
    "ScaledVJP",
    "Vjp",
    "sigmoid_forward",
    "sigmoid_vjp",
    "softmax_forward",
    "softmax_vjp",
]

Array = NDArray[np.float64]
Forward = Callable[[Array], Array]
Vjp = Callable[[Array, Array, Array], Array]


def sigmoid_forward(Z: Array) -> Array:
    """Logistic sigmoid ``1 / (1 + exp(-Z))``, elementwise.

    Only ``exp(-|Z|)`` is ever evaluated, which lies in (0, 1], so large inputs of either sign
    neither overflow nor raise warnings.
    """
    e = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_vjp(Z: Array, A: Array, dA: Array) -> Array:
    """Vector-Jacobian product of :func:`sigmoid_forward`: ``dA * A * (1 - A)``."""
    return dA * A * (1.0 - A)


def softmax_forward(Z: Array) -> Array:
    """Softmax over axis 0, so each column (one example) sums to 1.

    The column maximum is subtracted first: softmax is shift-invariant, and afterwards every
    exponent is <= 0, so nothing overflows.
    """
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    A: Array = e / e.sum(axis=0, keepdims=True)
    return A


def softmax_vjp(Z: Array, A: Array, dA: Array) -> Array:
    """Vector-Jacobian product of :func:`softmax_forward`: ``A * (dA - sum(dA * A, axis=0))``."""
    dZ: Array = A * (dA - np.sum(dA * A, axis=0, keepdims=True))
    return dZ


class FunctionPair(NamedTuple):
    """A forward function and its hand-written vector-Jacobian product."""

    forward: Forward
    vjp: Vjp


FUNCTIONS: dict[str, FunctionPair] = {
    "sigmoid": FunctionPair(sigmoid_forward, sigmoid_vjp),
    "softmax": FunctionPair(softmax_forward, softmax_vjp),
}


class ScaledVJP:
    """A vjp multiplied by ``1 + delta``: a deliberately wrong gradient of known size.

    A class rather than a closure so that it pickles into a ``spawn`` child.
    """

    def __init__(self, vjp: Vjp, delta: float) -> None:
        self.vjp = vjp
        self.delta = float(delta)

    def __call__(self, Z: Array, A: Array, dA: Array) -> Array:
        return (1.0 + self.delta) * self.vjp(Z, A, dA)

    def __repr__(self) -> str:
        return f"ScaledVJP({getattr(self.vjp, '__name__', self.vjp)!r}, delta={self.delta!r})"


class Counted:
    """Wraps a forward/vjp pair and counts how often each is called.

    ``counts`` is any two-slot mutable sequence (index 0: forward, index 1: vjp). By default a
    private list; :mod:`benchmarks.peers` passes a shared-memory array instead, so the parent
    can still read the counts of a child it had to kill.
    """

    def __init__(
        self,
        forward: Forward,
        vjp: Vjp,
        counts: MutableSequence[int] | None = None,
    ) -> None:
        self._forward = forward
        self._vjp = vjp
        self._counts: MutableSequence[int] = [0, 0] if counts is None else counts

    def forward(self, Z: Array) -> Array:
        """Call the wrapped forward and count the call."""
        self._counts[0] += 1
        return self._forward(Z)

    def vjp(self, Z: Array, A: Array, dA: Array) -> Array:
        """Call the wrapped vjp and count the call."""
        self._counts[1] += 1
        return self._vjp(Z, A, dA)

    @property
    def forward_calls(self) -> int:
        """Number of forward calls so far."""
        return int(self._counts[0])

    @property
    def vjp_calls(self) -> int:
        """Number of vjp calls so far."""
        return int(self._counts[1])

    def reset(self) -> None:
        """Set both counters back to zero."""
        self._counts[0] = 0
        self._counts[1] = 0
