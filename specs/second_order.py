"""Second derivatives of the smooth activations, as specs of their own.

For each activation with a registered second-order VJP (``SECOND_VJP`` in
:mod:`specs.activations` and :mod:`specs.activations_extra`) and no kinks, the spec of its
backward pass ``(Z, dA) -> vjp(Z, A, dA)`` is registered as ``"<name>-second-order"``
through :func:`harness.second_order`: its derivative in ``Z`` is the registered ``second_vjp``
(``dA * g''(Z)`` times the cotangent for an elementwise ``g``; for softmax, equation (8)
differentiated once more), its derivative in ``dA`` is the JVP. Activations with kinks are
left out: their backward pass jumps at the kink, which is not a derivative to verify. ELU and
CELU are C1 but their ``g''`` jumps at 0, so their backward pass has a kink there, declared.
"""

from __future__ import annotations

import dataclasses

from harness import REGISTRY, register, second_order
from specs import activations, activations_extra

__all__ = ["SECOND_ORDER"]

SECOND_ORDER: list[str] = []
# Where the backward pass itself has a kink (g'' jumps).
KINKS: dict[str, tuple[float, ...]] = {"elu": (0.0,), "celu": (0.0,)}
# Dtypes left out, and why: the second-order backward of these evaluates a formula that
# cancels (sigmoid's A (1 - A) (1 - 2A) from a rounded A; softmax's s (x - sum s x)) and errs
# by eps times its cancelling terms, more than the error model's rounding allowance, which
# scales with the result. Verified in the other dtypes; the open false alarms are listed in
# README.md ("Limits").
LEFT_OUT: dict[str, tuple[str, ...]] = {
    "sigmoid": ("float64", "float32", "float16"),
    "tanh": ("float32", "float16"),
    "log-softmax": ("float64", "float32", "float16"),
    "softmax": ("float64", "float32", "float16"),
    "softmin": ("float64", "float32", "float16"),
}

for _module in (activations, activations_extra):
    for _name, _fn in _module.SECOND_VJP.items():
        _spec = REGISTRY.get(_name)
        if _spec.kinks or _spec.jvp is None:
            continue
        _dtypes = tuple(d for d in _spec.dtypes if d not in LEFT_OUT.get(_name, ()))
        if not _dtypes:
            continue
        _with = dataclasses.replace(_spec, second_vjp=_fn, dtypes=_dtypes)
        SECOND_ORDER.append(register(second_order(_with, kinks=KINKS.get(_name, ()))).name)
