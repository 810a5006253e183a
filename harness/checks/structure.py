"""The declared structure, verified on the forward and on the VJP.

A perturbation of one entry (or one column) of Z may only move the outputs the structure
allows, and a unit upstream gradient may only reach the inputs it allows. This sees what no
gradient comparison can: a softmax that normalises rows in both forward and backward is
self-consistent, but it moves other columns.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from harness.calls import CallFailure
from harness.checks.common import Context, Measurement, measure, worst_of

__all__ = ["allowed_mask", "check_structure"]

F64 = NDArray[np.float64]


def allowed_mask(structure: str, shape: tuple[int, ...], i: int, c: int) -> NDArray[np.bool_]:
    """Entries that may depend on (or feed) entry ``(i, c)`` under the declared structure."""
    mask = np.zeros(shape, dtype=bool)
    if structure == "elementwise":
        mask[i, c] = True
    elif structure == "columnwise":
        mask[:, c] = True
    else:
        mask[...] = True
    return mask


def _leak(
    ctx: Context, what: str, moved: F64, scale: F64, allowed: NDArray[np.bool_]
) -> Measurement:
    """Entries outside ``allowed`` must not move beyond rounding of their own scale."""
    tol = ctx.model.safety * ctx.model.c_rel * ctx.eps * scale
    # An exact zero tolerance would flag a leak of one ulp at a zero output; floor it at the
    # smallest normal number of the dtype.
    tol = np.maximum(tol, float(np.finfo(ctx.dtype).tiny))
    got = np.where(allowed, 0.0, moved)
    return measure(
        "structure",
        got,
        np.zeros_like(got),
        tol,
        ctx.dtype,
        lambda i: (
            f"{what}: entry [{i[0]}, {i[1]}] responded, but the declared "
            f"{ctx.spec.structure} structure says it cannot"
        ),
    )


def check_structure(ctx: Context) -> Measurement:
    """Perturb one entry and one column; only the allowed outputs and inputs may respond."""
    name = "structure"
    structure = ctx.spec.structure
    if structure == "dense":
        return Measurement.skip(name, "structure 'dense' allows every dependency")
    n, m = ctx.Z.shape
    if n * m == 1:
        return Measurement.skip(name, "a single entry has no other entries to leak into")
    parts: list[Measurement] = []
    i, c = int(ctx.rng.integers(n)), int(ctx.rng.integers(m))
    A = np.asarray(ctx.A, dtype=np.float64)
    try:
        # Forward, one entry moved by a finite amount.
        Z1 = ctx.Z.copy()
        z = float(Z1[i, c])
        Z1[i, c] = ctx.cast(np.asarray(z + 0.5 * max(1.0, abs(z)) * (1 if z <= 0 else -1)))
        A1 = np.asarray(ctx.caller.forward(Z1), dtype=np.float64)
        allowed = allowed_mask(structure, (n, m), i, c)
        parts.append(
            _leak(
                ctx,
                f"forward after changing Z[{i}, {c}]",
                np.abs(A1 - A),
                np.maximum(np.abs(A1), np.abs(A)),
                allowed,
            )
        )
        # Forward, a whole column moved (catches normalising over the wrong axis).
        Z2 = ctx.Z.copy()
        col = np.asarray(Z2[:, c], dtype=np.float64)
        Z2[:, c] = ctx.cast(col + ctx.rng.standard_normal(n) * np.maximum(1.0, np.abs(col)))
        A2 = np.asarray(ctx.caller.forward(Z2), dtype=np.float64)
        colmask = np.zeros((n, m), dtype=bool)
        colmask[:, c] = True
        parts.append(
            _leak(
                ctx,
                f"forward after changing column {c} of Z",
                np.abs(A2 - A),
                np.maximum(np.abs(A2), np.abs(A)),
                colmask,
            )
        )
        # VJP of a unit upstream gradient: only the allowed inputs may receive gradient.
        E = np.zeros((n, m), dtype=ctx.dtype)
        E[i, c] = 1
        G = np.asarray(ctx.caller.vjp(ctx.Z, ctx.A, E), dtype=np.float64)
        scale = np.full((n, m), float(np.max(np.abs(np.where(allowed, G, 0.0)), initial=0.0)))
        scale += np.abs(A[i, c])
        parts.append(
            _leak(ctx, f"vjp of a unit gradient at A[{i}, {c}]", np.abs(G), scale, allowed)
        )
        # VJP locality with a dense random upstream gradient: the gradient reaching the allowed
        # inputs must not change when every other upstream entry is zeroed.
        v = ctx.cast(ctx.random_signed())
        Gfull = np.asarray(ctx.caller.vjp(ctx.Z, ctx.A, v), dtype=np.float64)
        vloc = np.where(allowed, v, 0).astype(ctx.dtype)
        Gloc = np.asarray(ctx.caller.vjp(ctx.Z, ctx.A, vloc), dtype=np.float64)
        vv = np.abs(np.asarray(v, dtype=np.float64))
        scale = np.abs(Gfull) + np.abs(Gloc) + float(np.sum(np.where(allowed, vv * np.abs(A), 0)))
        parts.append(
            _leak(
                ctx,
                "vjp with a dense random upstream gradient vs the same gradient restricted to "
                f"the block of A[{i}, {c}]",
                np.where(allowed, np.abs(Gfull - Gloc), 0.0),
                scale,
                ~allowed,
            )
        )
    except CallFailure as exc:
        return Measurement.call_failure(name, exc)
    result = worst_of(name, parts)
    if result.failed:
        result.message = f"declared structure {structure!r} violated: {result.what}"
    return result
