"""The declared structure, verified on the forward and on the VJP, input by input.

A perturbation of one entry (or one line) of an input may only move the outputs the
structure allows, and a unit upstream gradient may only reach the input entries it allows.
This sees what no gradient comparison can: a softmax that normalises rows in both forward
and backward is self-consistent, but it moves other columns. Every perturbed point stays
inside the input's domain and the dtype's range.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.calls import CallFailure
from harness.checks.common import Context, Measurement, measure, worst_of

__all__ = ["check_structure", "moved_value"]

F64 = NDArray[np.float64]


def moved_value(z: F64, lo: float, hi: float, frac: F64 | float = 0.5) -> F64:
    """Entries moved by a finite amount, staying inside ``(lo, hi)`` and the input's range.

    Bounded domains move a fraction of the way to their middle; a half-bounded one scales
    towards its bound; the real line moves toward zero (|z| > 1) or by ``frac`` (|z| <= 1).
    Nothing moves outward, so no point the check evaluates leaves the range it was given.
    """
    z = np.asarray(z, dtype=np.float64)
    frac = np.asarray(frac, dtype=np.float64)
    if np.isfinite(lo) and np.isfinite(hi):
        mid = 0.5 * (lo + hi)
        away = np.where(z == mid, mid + 0.5 * (hi - mid), mid)
        return np.asarray(z + frac * (away - z))
    if np.isfinite(lo):
        return np.asarray(lo + (z - lo) * (1.0 - 0.5 * frac))
    if np.isfinite(hi):
        return np.asarray(hi - (hi - z) * (1.0 - 0.5 * frac))
    big = np.abs(z) > 1.0
    return np.asarray(np.where(big, z * (1.0 - frac), z + np.where(z <= 0, frac, -frac)))


def _leak(
    ctx: Context, what: str, moved: F64, scale: F64, allowed: NDArray[np.bool_], k: int, where: str
) -> Measurement:
    """Entries outside ``allowed`` must not move beyond rounding of their own scale."""
    tol = ctx.model.safety * ctx.model.c_rel * ctx.eps * scale
    # An exact zero tolerance would flag a leak of one ulp at a zero output; floor it at the
    # smallest normal number of the dtype.
    tol = np.maximum(tol, float(np.finfo(ctx.dtype).tiny))
    got = np.where(allowed, 0.0, moved)
    label = ctx.structure(k).name

    def describe(i: tuple[int, ...]) -> str:
        return (
            f"{what}: {where} entry {list(i)} responded, but the declared {label} structure "
            f"of `{ctx.names[k]}` says it cannot"
        )

    def locate(i: tuple[int, ...]) -> Any:
        if where == "output":
            return ctx.location(k, None, tuple(int(v) for v in i))
        return ctx.location(k, tuple(int(v) for v in i), None)

    return measure("structure", got, np.zeros_like(got), tol, ctx.dtype, describe, location=locate)


def _same_mapped(ctx: Context, k: int, q: tuple[int, ...]) -> NDArray[np.bool_]:
    """Entries of input k that share q's indices on the mapped axes."""
    shape = ctx.x[ctx.diff[k]].shape
    mask = np.zeros(shape, dtype=bool)
    sl: list[Any] = [slice(None)] * len(shape)
    for a in ctx.structure(k).axes:
        sl[a] = q[a]
    mask[tuple(sl)] = True
    return mask


def _forward_with(ctx: Context, k: int, Xk: Any) -> F64:
    X = list(ctx.X)
    X[ctx.diff[k]] = Xk
    return np.asarray(ctx.caller.forward(tuple(X)), dtype=np.float64)


def _check_input(ctx: Context, k: int) -> list[Measurement]:
    s = ctx.structure(k)
    pos = ctx.diff[k]
    Zk = ctx.X[pos]
    in_shape, out_shape = Zk.shape, ctx.A64.shape
    dom = ctx.spec.domain_of(ctx.names[k])
    lo, hi = float(getattr(dom, "lo", -np.inf)), float(getattr(dom, "hi", np.inf))
    A = np.asarray(ctx.A, dtype=np.float64)
    parts: list[Measurement] = []
    q = tuple(int(ctx.rng.integers(d)) for d in in_shape)
    name = ctx.names[k]
    # Forward, one entry moved by a finite amount.
    Z1 = Zk.copy()
    Z1[q] = ctx.cast(moved_value(np.asarray(float(Zk[q])), lo, hi))
    A1 = _forward_with(ctx, k, Z1)
    allowed = s.outputs_of(in_shape, out_shape, q)
    parts.append(
        _leak(
            ctx,
            f"forward after changing {name}{list(q)}",
            np.abs(A1 - A),
            np.maximum(np.abs(A1), np.abs(A)),
            allowed,
            k,
            "output",
        )
    )
    # Forward, a whole line moved (a column of a 2-D input: normalising over the wrong axis).
    line = np.zeros(in_shape, dtype=bool)
    if len(in_shape) == 2:
        line[:, q[1]] = True
    else:
        line[...] = True
    frac = ctx.rng.uniform(0.25, 0.75, size=in_shape)
    Z2 = Zk.copy()
    Z2[line] = ctx.cast(moved_value(np.asarray(Zk, dtype=np.float64), lo, hi, frac)[line])
    A2 = _forward_with(ctx, k, Z2)
    line_name = f"column {q[1]}" if len(in_shape) == 2 else "every entry"
    allowed2 = s.in_to_out(line.astype(np.float64), out_shape) > 0
    parts.append(
        _leak(
            ctx,
            f"forward after changing {line_name} of {name}",
            np.abs(A2 - A),
            np.maximum(np.abs(A2), np.abs(A)),
            allowed2,
            k,
            "output",
        )
    )
    # VJP of a unit upstream gradient: only the allowed input entries may receive gradient.
    o = tuple(int(ctx.rng.integers(d)) for d in out_shape)
    E = np.zeros(out_shape, dtype=ctx.dtype)
    E[o] = 1
    G = np.asarray(ctx.caller.vjp(ctx.X, ctx.A, E)[k], dtype=np.float64)
    feeds = s.inputs_of(in_shape, out_shape, o)
    scale = np.full(in_shape, float(np.max(np.abs(np.where(feeds, G, 0.0)), initial=0.0)))
    scale += np.abs(A[o])
    parts.append(
        _leak(
            ctx, f"vjp of a unit gradient at output {list(o)}", np.abs(G), scale, feeds, k, "input"
        )
    )
    # VJP locality with a dense random upstream gradient: the gradient reaching the entries
    # that share q's mapped indices must not change when every upstream entry they cannot
    # reach is zeroed.
    v = ctx.cast(ctx.random_out())
    Gfull = np.asarray(ctx.caller.vjp(ctx.X, ctx.A, v)[k], dtype=np.float64)
    vloc = np.where(allowed, v, 0).astype(ctx.dtype)
    Gloc = np.asarray(ctx.caller.vjp(ctx.X, ctx.A, vloc)[k], dtype=np.float64)
    vv = np.abs(np.asarray(v, dtype=np.float64))
    same = _same_mapped(ctx, k, q)
    scale = np.abs(Gfull) + np.abs(Gloc) + float(np.sum(np.where(allowed, vv * np.abs(A), 0)))
    parts.append(
        _leak(
            ctx,
            "vjp with a dense random upstream gradient vs the same gradient restricted to the "
            f"outputs {name}{list(q)} reaches",
            np.where(same, np.abs(Gfull - Gloc), 0.0),
            scale,
            ~same,
            k,
            "input",
        )
    )
    return parts


def check_structure(ctx: Context) -> Measurement:
    """Perturb one entry and one line per input; only the allowed outputs and inputs may respond."""
    name = "structure"
    todo = [k for k in range(len(ctx.diff)) if not ctx.structure(k).is_dense]
    if not todo:
        return Measurement.skip(name, "structure 'dense' allows every dependency")
    if all(ctx.x[ctx.diff[k]].size * ctx.A64.size == 1 for k in todo):
        return Measurement.skip(name, "a single entry has no other entries to leak into")
    parts: list[Measurement] = []
    try:
        for k in todo:
            parts.extend(_check_input(ctx, k))
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    result = worst_of(name, parts)
    if result.failed:
        result.message = f"declared structure {ctx.spec.structure_label!r} violated: {result.what}"
    return result
