"""What the framework adapters share: building the Spec, naming framework failures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.calls import CallFailure
from harness.errors import SpecError
from harness.spec import Spec

__all__ = [
    "HAS_MULTI_INPUT",
    "HAS_SECOND_VJP",
    "FrameworkFailure",
    "MultiInputCoreMissing",
    "make_spec",
    "shape_mismatch",
]

_FIELDS = getattr(Spec, "__dataclass_fields__", {})
HAS_MULTI_INPUT: bool = "inputs" in _FIELDS
"""Whether this harness's Spec takes several inputs (``inputs=``, ``constants=``, ``shapes=``)."""
HAS_SECOND_VJP: bool = "second_vjp" in _FIELDS
"""Whether this harness's Spec has a ``second_vjp`` field (else it is set as an attribute)."""


class FrameworkFailure(CallFailure):
    """The framework code misbehaved in a way the harness names (not a wrong value).

    A :class:`harness.calls.CallFailure`, so the harness reports it with its ``kind`` and
    message instead of a traceback: ``"type"`` for a backward that returns None for an input
    that needs a gradient or the wrong number of gradients, ``"shape"`` for a gradient of the
    wrong shape, ``"dtype"`` for a gradient the framework would silently cast, ``"raised"`` for
    anything the framework raised.
    """


class MultiInputCoreMissing(SpecError):
    """The spec needs several inputs, and this harness's Spec takes one."""


def shape_mismatch(got: Sequence[int], want: Sequence[int]) -> str:
    """``(3, 2) for ... of shape (2, 3) (the transpose?)``-style detail."""
    g, w = tuple(int(s) for s in got), tuple(int(s) for s in want)
    hint = " (the transpose?)" if len(g) == 2 and g == w[::-1] else ""
    return f"shape {g}, expected {w}{hint}"


def first_line(exc: BaseException, limit: int = 400) -> str:
    """The first line of an exception's message, shortened: never a traceback."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def make_spec(
    *,
    name: str,
    forward: Callable[..., Any],
    vjp: Callable[..., Any],
    jvp: Callable[..., Any] | None,
    second_vjp: Callable[..., Any] | None,
    inputs: tuple[str, ...],
    constants: tuple[str, ...],
    shapes: str | None,
    fields: dict[str, Any],
) -> Spec:
    """A Spec, with the multi-input fields only when they are needed.

    With one differentiable input and no constants the spec is an ordinary single-input Spec
    (today's engine runs it). Otherwise it uses the several-input Spec API (``inputs``,
    ``constants``, ``shapes``) and raises :class:`MultiInputCoreMissing` when the Spec class
    does not have it. ``second_vjp`` is a field when the Spec has one, else an attribute of
    the returned spec, where ``harness.second_order`` looks for it.
    """
    kwargs: dict[str, Any] = dict(fields)
    kwargs.update(name=name, forward=forward, vjp=vjp, jvp=jvp)
    multi = len(inputs) != 1 or bool(constants) or shapes is not None
    if multi:
        if not HAS_MULTI_INPUT:
            raise MultiInputCoreMissing(
                f"Spec {name!r} has inputs {inputs}"
                + (f" (constants {constants})" if constants else "")
                + ": this harness's Spec takes one input array; it needs the multi-input "
                "core (Spec(inputs=..., constants=..., shapes=...)). For an nn.Module, "
                "params='fixed' verifies the gradient with respect to its input alone."
            )
        kwargs.update(inputs=inputs, constants=constants, shapes=shapes)
    if second_vjp is not None and HAS_SECOND_VJP:
        kwargs["second_vjp"] = second_vjp
    spec = Spec(**kwargs)
    if second_vjp is not None and not HAS_SECOND_VJP:
        # Frozen dataclass without slots: an extra attribute for harness.second_order.
        object.__setattr__(spec, "second_vjp", second_vjp)
    return spec
