"""Declared dependency structure between one input and the output: :class:`Structure`.

A structure maps input axes to output axes. Output entry ``o`` may depend on input entry
``q`` only if ``q[a] == o[b]`` for every mapped pair ``a -> b``. That one rule covers every
shape the harness meets:

* ``"elementwise"``: every axis mapped to itself (ReLU, sigmoid);
* ``"columnwise"``: ``{1: 1}``, column i of the output depends only on column i of the input
  (softmax over axis 0, or the dense layer's ``A_prev``);
* ``"rowwise"``: ``{0: 0}`` (the dense layer's ``W`` and ``b``; ``b``'s broadcast over
  columns needs no declaration, its axis 1 is simply not mapped);
* ``"dense"``: ``{}``, everything may depend on everything (a cost, a network's loss).

The harness uses a declared structure to assemble explicit Jacobians with few probes (one
probe per index of the *unmapped* input axes, one VJP per index of the unmapped output axes)
and never trusts it: the ``structure`` check verifies it separately.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.errors import SpecError

__all__ = ["ALIASES", "Structure", "as_structure"]

ALIASES: tuple[str, ...] = ("elementwise", "columnwise", "rowwise", "dense")

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Structure:
    """Which input axes are the same index as which output axes.

    Parameters
    ----------
    axes : mapping of int to int
        ``{input_axis: output_axis}``. Empty means dense.
    name : str
        A label for reports (the alias it came from, or ``"axes {...}"``).
    """

    axes: Mapping[int, int] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        axes = dict(self.axes)
        if any(not isinstance(k, int) or not isinstance(v, int) for k, v in axes.items()):
            raise SpecError(f"Structure axes must map int to int; got {axes!r}.")
        if len(set(axes.values())) != len(axes):
            raise SpecError(
                f"Structure axes {axes!r} map two input axes to one output axis; each output "
                f"axis can be the same index as at most one input axis."
            )
        object.__setattr__(self, "axes", dict(sorted(axes.items())))
        if not self.name:
            object.__setattr__(self, "name", _alias_of(axes) or f"axes {axes}")

    @property
    def is_dense(self) -> bool:
        return not self.axes

    @property
    def elementwise(self) -> bool:
        return self.name == "elementwise"

    # -- index bookkeeping -----------------------------------------------------------------
    def free_in(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Input axes not mapped: one finite-difference probe per index over them."""
        return tuple(a for a in range(len(in_shape)) if a not in self.axes)

    def free_out(self, out_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Output axes not mapped: one VJP row probe per index over them."""
        mapped = set(self.axes.values())
        return tuple(b for b in range(len(out_shape)) if b not in mapped)

    def n_probes(self, in_shape: tuple[int, ...]) -> int:
        return math.prod(in_shape[a] for a in self.free_in(in_shape))

    def n_rows(self, out_shape: tuple[int, ...]) -> int:
        return math.prod(out_shape[b] for b in self.free_out(out_shape))

    def input_index(
        self, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
    ) -> NDArray[np.intp]:
        """``Q[o, r]``: flat input index of the entry that probe ``r`` moves for output ``o``.

        Probes enumerate the free input axes in C order; outputs are C-order flat.
        """
        free = self.free_in(in_shape)
        out_idx = (
            np.indices(out_shape).reshape(len(out_shape), -1)
            if out_shape
            else np.zeros((0, 1), dtype=np.intp)
        )  # (out.ndim, O)
        R = self.n_probes(in_shape)
        free_idx = (
            np.indices(tuple(in_shape[a] for a in free)).reshape(len(free), -1)
            if free
            else np.zeros((0, 1), dtype=np.intp)
        )
        coords = []
        for a in range(len(in_shape)):
            if a in self.axes:
                coords.append(
                    np.broadcast_to(out_idx[self.axes[a]][:, None], (out_idx.shape[1], R))
                )
            else:
                coords.append(
                    np.broadcast_to(free_idx[free.index(a)][None, :], (out_idx.shape[1], R))
                )
        if not in_shape:
            return np.zeros((out_idx.shape[1], R), dtype=np.intp)
        return np.ravel_multi_index(tuple(coords), in_shape).astype(np.intp)

    def row_of_output(self, out_shape: tuple[int, ...]) -> NDArray[np.intp]:
        """For each C-order output entry, the index of the VJP row probe that covers it."""
        free = self.free_out(out_shape)
        if not free:
            return np.zeros(math.prod(out_shape), dtype=np.intp)
        idx = np.indices(out_shape).reshape(len(out_shape), -1)
        flat: NDArray[np.intp] = np.ravel_multi_index(
            tuple(idx[b] for b in free), tuple(out_shape[b] for b in free)
        ).astype(np.intp)
        return flat

    def probe_mask(self, in_shape: tuple[int, ...], r: int) -> NDArray[np.bool_]:
        """Input entries moved by probe ``r`` (all indices of the mapped axes)."""
        free = self.free_in(in_shape)
        mask = np.zeros(in_shape, dtype=bool)
        if not free:
            mask[...] = True
            return mask
        sub = np.unravel_index(r, tuple(in_shape[a] for a in free))
        sl: list[Any] = [slice(None)] * len(in_shape)
        for a, i in zip(free, sub, strict=True):
            sl[a] = int(i)
        mask[tuple(sl)] = True
        return mask

    def row_mask(self, out_shape: tuple[int, ...], s: int) -> NDArray[np.bool_]:
        """Output entries seeded by VJP row probe ``s``."""
        free = self.free_out(out_shape)
        mask = np.zeros(out_shape, dtype=bool)
        if not free:
            mask[...] = True
            return mask
        sub = np.unravel_index(s, tuple(out_shape[b] for b in free))
        sl: list[Any] = [slice(None)] * len(out_shape)
        for b, i in zip(free, sub, strict=True):
            sl[b] = int(i)
        mask[tuple(sl)] = True
        return mask

    def outputs_of(
        self, in_shape: tuple[int, ...], out_shape: tuple[int, ...], q: tuple[int, ...]
    ) -> NDArray[np.bool_]:
        """Output entries that may depend on input entry ``q``."""
        mask = np.zeros(out_shape, dtype=bool)
        sl: list[Any] = [slice(None)] * len(out_shape)
        for a, b in self.axes.items():
            sl[b] = q[a]
        mask[tuple(sl)] = True
        return mask

    def inputs_of(
        self, in_shape: tuple[int, ...], out_shape: tuple[int, ...], o: tuple[int, ...]
    ) -> NDArray[np.bool_]:
        """Input entries that output entry ``o`` may depend on."""
        mask = np.zeros(in_shape, dtype=bool)
        sl: list[Any] = [slice(None)] * len(in_shape)
        for a, b in self.axes.items():
            sl[a] = o[b]
        mask[tuple(sl)] = True
        return mask

    def out_to_in(self, M: F64, in_shape: tuple[int, ...]) -> F64:
        """Per input entry q: the sum of ``M`` (output-shaped) over the outputs q may reach."""
        M = np.asarray(M, dtype=np.float64)
        mapped = list(self.axes.items())  # (a, b) sorted by a
        keep = [b for _, b in mapped]
        drop = tuple(b for b in range(M.ndim) if b not in keep)
        S = M.sum(axis=drop) if drop else M
        # S's axes are the kept output axes in increasing order; put them in input-axis order.
        order = sorted(keep)
        S = np.transpose(S, [order.index(b) for b in keep]) if keep else S
        shape = [1] * len(in_shape)
        for a, b in mapped:
            shape[a] = M.shape[b]
        return np.broadcast_to(np.reshape(S, shape), in_shape).astype(np.float64)

    def in_to_out(self, M: F64, out_shape: tuple[int, ...]) -> F64:
        """Per output entry o: the sum of ``M`` (input-shaped) over the inputs o may depend on."""
        M = np.asarray(M, dtype=np.float64)
        mapped = sorted(self.axes.items(), key=lambda ab: ab[1])  # by output axis
        keep = [a for a, _ in mapped]
        drop = tuple(a for a in range(M.ndim) if a not in keep)
        S = M.sum(axis=drop) if drop else M
        order = sorted(keep)
        S = np.transpose(S, [order.index(a) for a in keep]) if keep else S
        shape = [1] * len(out_shape)
        for a, b in mapped:
            shape[b] = M.shape[a]
        return np.broadcast_to(np.reshape(S, shape), out_shape).astype(np.float64)


def _alias_of(axes: Mapping[int, int]) -> str:
    if not axes:
        return "dense"
    if dict(axes) == {1: 1}:
        return "columnwise"
    if dict(axes) == {0: 0}:
        return "rowwise"
    if all(a == b for a, b in axes.items()) and sorted(axes) == list(range(len(axes))):
        return "elementwise" if len(axes) >= 2 else ""
    return ""


def as_structure(value: Any, ndim: int = 2, *, where: str = "structure") -> Structure:
    """A :class:`Structure` from an alias, a mapping of axes, or a Structure."""
    if isinstance(value, Structure):
        return value
    if isinstance(value, str):
        if value == "elementwise":
            return Structure({a: a for a in range(ndim)}, name="elementwise")
        if value == "columnwise":
            return Structure({1: 1}, name="columnwise")
        if value == "rowwise":
            return Structure({0: 0}, name="rowwise")
        if value == "dense":
            return Structure({}, name="dense")
        raise SpecError(
            f"{where}: unknown structure {value!r}; use one of "
            f"{', '.join(repr(s) for s in ALIASES)} or Structure(axes={{input_axis: output_axis}})."
        )
    if isinstance(value, Mapping):
        return Structure(dict(value))
    raise SpecError(
        f"{where}: a structure is an alias ({', '.join(ALIASES)}), a mapping of input axes to "
        f"output axes, or a Structure; got {type(value).__name__} {value!r}."
    )
