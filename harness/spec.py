"""What a registered function is: :class:`Spec`, validated when it is made."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from harness.errors import SpecError

__all__ = ["STRUCTURES", "SUPPORTED_DTYPES", "Spec", "Structure"]

Structure = Literal["elementwise", "columnwise", "dense"]
STRUCTURES: tuple[str, ...] = ("elementwise", "columnwise", "dense")
SUPPORTED_DTYPES: tuple[str, ...] = ("float64", "float32", "float16")

_NAME = re.compile(r"^[^\s].{0,119}$", re.DOTALL)

# (attribute, positional arguments it is called with, required)
_CALLABLES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("forward", ("Z",), True),
    ("vjp", ("Z", "A", "dA"), True),
    ("jvp", ("Z", "A", "dZ"), False),
    ("jacobian", ("z", "a"), False),
)


def _check_callable(spec_name: str, attr: str, fn: object, args: tuple[str, ...]) -> None:
    if not callable(fn):
        raise SpecError(
            f"Spec {spec_name!r}: `{attr}` must be a callable taking ({', '.join(args)}); "
            f"got {type(fn).__name__} {fn!r}."
        )
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # builtins and ufuncs carry no signature; they are checked when called
    try:
        sig.bind(*args)
    except TypeError as exc:
        raise SpecError(
            f"Spec {spec_name!r}: `{attr}{sig}` cannot be called as "
            f"{attr}({', '.join(args)}): {exc}. The harness calls it with exactly "
            f"{len(args)} positional argument(s)."
        ) from None


@dataclass(frozen=True, eq=False)
class Spec:
    """One function registered for verification.

    Parameters
    ----------
    name : str
        Unique name in the registry (shown in reports and used by ``--spec``).
    forward : callable
        ``forward(Z) -> A``. ``Z`` has shape ``(n, m)``: n units by m examples, one example per
        column. It must not modify ``Z`` and should return an array of ``Z``'s dtype.
    vjp : callable
        ``vjp(Z, A, dA) -> dZ``, the backward pass: the vector-Jacobian product that maps
        dJ/dA to dJ/dZ. ``A`` is ``forward(Z)``.
    jvp : callable, optional
        ``jvp(Z, A, dZ) -> dA``, the forward-mode derivative. Enables the ``jvp_directional``
        and ``adjoint`` checks.
    jacobian : callable, optional
        ``jacobian(z, a) -> J``, the analytic Jacobian. For ``"elementwise"`` and
        ``"columnwise"`` structure ``z`` and ``a`` are one column (shape ``(n,)``) and ``J`` is
        ``(n, n)`` with ``J[p, j] = d a_p / d z_j``; for ``"dense"`` they are the whole arrays and
        ``J`` is ``(n*m, n*m)`` over C-order flattening.
    structure : {"elementwise", "columnwise", "dense"}
        Declared dependency structure. ``"columnwise"``: column i of A depends only on column i
        of Z (softmax over axis 0). The harness uses it to assemble Jacobians with few probes
        and verifies it separately (the ``structure`` check), so a wrong declaration fails.
    kinks : tuple of float
        Inputs where an elementwise function is not differentiable (ReLU: ``(0.0,)``). There
        the analytic derivative must lie between the one-sided derivatives; elsewhere finite
        difference stencils are kept on one side of every kink.
    equations : str
        Where the formulas come from (e.g. the seed's ``"(3), (4)"``); shown in reports.
    formula : str
        One line describing the backward formula, shown in reports.
    description : str
        Free text; defaults to the forward's docstring.
    dtypes : tuple of str
        Floating dtypes the function supports; ``verify`` runs each.
    max_abs_input : float, optional
        Largest |z| the function is meant for; generated inputs stay within it. ``None``
        means up to the dtype's overflow range.
    min_rows : int
        Smallest n the function accepts.
    """

    name: str
    # Defaults of None only so that leaving one out is a SpecError naming it, not a TypeError.
    forward: Callable[..., Any] = None  # type: ignore[assignment]
    vjp: Callable[..., Any] = None  # type: ignore[assignment]
    jvp: Callable[..., Any] | None = None
    jacobian: Callable[..., Any] | None = None
    structure: Structure = "dense"
    kinks: tuple[float, ...] = ()
    equations: str = ""
    formula: str = ""
    description: str = ""
    dtypes: tuple[str, ...] = ("float64", "float32")
    max_abs_input: float | None = None
    min_rows: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or not _NAME.match(self.name):
            raise SpecError(
                f"Spec name must be a non-empty string of at most 120 characters not "
                f"starting with white space; got {self.name!r}."
            )
        for attr, args, required in _CALLABLES:
            fn = getattr(self, attr)
            if fn is None:
                if required:
                    raise SpecError(
                        f"Spec {self.name!r}: `{attr}` is required: pass a callable "
                        f"{attr}({', '.join(args)})."
                    )
                continue
            _check_callable(self.name, attr, fn, args)
        if self.structure not in STRUCTURES:
            raise SpecError(
                f"Spec {self.name!r}: unknown structure {self.structure!r}; "
                f"use one of {', '.join(repr(s) for s in STRUCTURES)}."
            )
        kinks = self.kinks
        if isinstance(kinks, (int, float)):
            kinks = (float(kinks),)
        try:
            kinks_t = tuple(float(k) for k in kinks)
        except (TypeError, ValueError):
            raise SpecError(
                f"Spec {self.name!r}: `kinks` must be a sequence of numbers; got {kinks!r}."
            ) from None
        if any(not math.isfinite(k) for k in kinks_t):
            raise SpecError(f"Spec {self.name!r}: `kinks` must be finite; got {kinks_t!r}.")
        if kinks_t and self.structure != "elementwise":
            raise SpecError(
                f"Spec {self.name!r}: `kinks` are only supported for structure "
                f"'elementwise' (got structure {self.structure!r}); a kink is a point of "
                f"one input where an elementwise function is not differentiable."
            )
        object.__setattr__(self, "kinks", tuple(sorted(set(kinks_t))))
        dtypes = (self.dtypes,) if isinstance(self.dtypes, str) else tuple(self.dtypes)
        dtypes = tuple(np.dtype(d).name if _is_dtype(d) else str(d) for d in dtypes)
        bad = [d for d in dtypes if d not in SUPPORTED_DTYPES]
        if bad or not dtypes:
            raise SpecError(
                f"Spec {self.name!r}: unsupported dtypes {bad or dtypes!r}; "
                f"use a non-empty subset of {SUPPORTED_DTYPES!r}."
            )
        object.__setattr__(self, "dtypes", dtypes)
        if self.max_abs_input is not None and not (
            isinstance(self.max_abs_input, (int, float)) and self.max_abs_input > 0
        ):
            raise SpecError(
                f"Spec {self.name!r}: `max_abs_input` must be a positive number or None; "
                f"got {self.max_abs_input!r}."
            )
        if not isinstance(self.min_rows, int) or self.min_rows < 1:
            raise SpecError(
                f"Spec {self.name!r}: `min_rows` must be a positive int; got {self.min_rows!r}."
            )
        if not self.description:
            object.__setattr__(self, "description", inspect.getdoc(self.forward) or "")

    @classmethod
    def from_object(cls, obj: Any, **overrides: Any) -> Spec:
        """Build a Spec from a class or namespace with ``forward``/``vjp``/... attributes.

        Parameters
        ----------
        obj : object
            Usually a class whose static methods are ``forward``, ``vjp`` and optionally
            ``jvp``/``jacobian``, and whose attributes give the other fields. ``name``
            defaults to the class name in lower case, ``description`` to its docstring.
        **overrides
            Fields that take precedence over the object's attributes.
        """
        fields: dict[str, Any] = {}
        for f in cls.__dataclass_fields__:
            if hasattr(obj, f):
                fields[f] = getattr(obj, f)
        if "name" not in fields:
            fields["name"] = getattr(obj, "__name__", type(obj).__name__).lower()
        if "description" not in fields and getattr(obj, "__doc__", None):
            fields["description"] = inspect.cleandoc(obj.__doc__)
        missing = [a for a, _, required in _CALLABLES if required and a not in fields]
        if missing:
            raise SpecError(
                f"Cannot register {fields['name']!r}: it has no attribute(s) "
                f"{', '.join(missing)}; define forward(Z) and vjp(Z, A, dA)."
            )
        fields.update(overrides)
        return cls(**fields)


def _is_dtype(d: object) -> bool:
    try:
        np.dtype(d)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True
