"""What a registered function is: :class:`Spec`, validated when it is made."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from harness.errors import SpecError
from harness.signature import Signature, parse_signature
from harness.structure import ALIASES, Structure, as_structure

__all__ = ["STRUCTURES", "SUPPORTED_DTYPES", "Spec", "StructureName"]

StructureName = Literal["elementwise", "columnwise", "rowwise", "dense"]
STRUCTURES: tuple[str, ...] = ALIASES
SUPPORTED_DTYPES: tuple[str, ...] = ("float64", "float32", "float16")

_NAME = re.compile(r"^[^\s].{0,119}$", re.DOTALL)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
        ``forward(*inputs) -> output``. For one input ``forward(Z) -> A`` with ``Z`` of shape
        ``(n, m)``: n units by m examples, one example per column. It must not modify its
        inputs and should return an array of the inputs' dtype (a 0-d array or a float for a
        scalar cost).
    vjp : callable
        ``vjp(*inputs, output, d_output) -> gradients``, the backward pass: one gradient per
        differentiable (non-constant) input, in ``inputs`` order, as a tuple (a bare array
        when there is one). For one input this is ``vjp(Z, A, dA) -> dZ``.
    jvp : callable, optional
        ``jvp(*inputs, output, *tangents) -> d_output``, one tangent per differentiable
        input. Enables the ``jvp_directional`` and ``adjoint`` checks.
    jacobian : callable, optional
        One-input specs only: ``jacobian(z, a) -> J``, the analytic Jacobian. For
        ``"elementwise"`` and ``"columnwise"`` structure ``z`` and ``a`` are one column
        (shape ``(n,)``) and ``J`` is ``(n, n)`` with ``J[p, j] = d a_p / d z_j``; for
        ``"dense"`` they are the whole arrays and ``J`` is ``(n*m, n*m)`` over C-order
        flattening.
    inputs : tuple of str
        Names of the forward's positional arguments, in order. Default ``("Z",)``.
    constants : tuple of str
        Inputs that are data, not differentiated (labels ``Y``, a network's ``X``): never
        perturbed, no gradient; the harness still checks that nothing modifies them.
    shapes : str, optional
        A gufunc signature such as ``"(n,k),(n,1),(k,m)->(n,m)"``; ``->()`` is a scalar
        output. Default ``"(n,m)->(n,m)"`` for one input; required for several.
    domains : dict, optional
        Per input name, where it lives: a :class:`harness.domains.Domain` (``real()`` by
        default) or a function ``(shape, dtype) -> hypothesis strategy``.
    structure : str, Structure or dict
        Declared dependency structure (see :mod:`harness.structure`): ``"elementwise"``,
        ``"columnwise"`` (column i of the output depends only on column i of the input),
        ``"rowwise"``, ``"dense"`` (the default), a :class:`~harness.structure.Structure`,
        or a dict giving one per differentiable input. Used to assemble Jacobians with few
        probes; verified separately by the ``structure`` check.
    kinks : tuple of float
        One-input elementwise specs: inputs where the function is not differentiable
        (ReLU: ``(0.0,)``). There the analytic derivative must lie between the one-sided
        derivatives; elsewhere stencils are kept on one side of every kink.
    second_vjp : callable, optional
        ``second_vjp(*inputs, output, d_output, g)``: the gradient with respect to the one
        differentiable input of ``<g, vjp(*inputs, output, d_output)>`` (the output taken
        as a function of the input). With ``jvp``, it lets :func:`harness.second_order`
        verify the VJP's own derivative.
    output_dtype : str, optional
        ``None``: every result must have the inputs' dtype. A dtype name (``"float64"``)
        declares that the spec returns that dtype on purpose.
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
        Smallest n (rows of the first input) the function accepts.
    """

    name: str
    # Defaults of None only so that leaving one out is a SpecError naming it, not a TypeError.
    forward: Callable[..., Any] = None  # type: ignore[assignment]
    vjp: Callable[..., Any] = None  # type: ignore[assignment]
    jvp: Callable[..., Any] | None = None
    jacobian: Callable[..., Any] | None = None
    structure: Any = "dense"
    kinks: tuple[float, ...] = ()
    equations: str = ""
    formula: str = ""
    description: str = ""
    dtypes: tuple[str, ...] = ("float64", "float32")
    max_abs_input: float | None = None
    min_rows: int = 1
    inputs: tuple[str, ...] = ("Z",)
    constants: tuple[str, ...] = ()
    shapes: str | None = None
    domains: Mapping[str, Any] = field(default_factory=dict)
    second_vjp: Callable[..., Any] | None = None
    output_dtype: str | None = None
    # Derived when made (not arguments).
    signature: Signature = field(init=False, repr=False)
    structures: Mapping[str, Structure] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or not _NAME.match(self.name):
            raise SpecError(
                f"Spec name must be a non-empty string of at most 120 characters not "
                f"starting with white space; got {self.name!r}."
            )
        self._validate_names()
        for attr, args, required in self._callables():
            fn = getattr(self, attr)
            if fn is None:
                if required:
                    raise SpecError(
                        f"Spec {self.name!r}: `{attr}` is required: pass a callable "
                        f"{attr}({', '.join(args)})."
                    )
                continue
            _check_callable(self.name, attr, fn, args)
        if self.jacobian is not None and len(self.inputs) != 1:
            raise SpecError(
                f"Spec {self.name!r}: `jacobian` is supported for one-input specs only; "
                f"the harness assembles the Jacobian blocks of several inputs itself."
            )
        self._validate_shapes()
        self._validate_structure()
        self._validate_kinks()
        self._validate_dtypes()
        self._validate_domains()
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

    # -- derived views ---------------------------------------------------------------------
    @property
    def diff_inputs(self) -> tuple[str, ...]:
        """The differentiable inputs (not constants), in ``inputs`` order."""
        return tuple(n for n in self.inputs if n not in self.constants)

    @property
    def diff_positions(self) -> tuple[int, ...]:
        """Positions of the differentiable inputs among ``inputs``."""
        return tuple(i for i, n in enumerate(self.inputs) if n not in self.constants)

    @property
    def single(self) -> bool:
        """One input, differentiable: the activations' shape of spec."""
        return len(self.inputs) == 1 and not self.constants

    @property
    def structure_label(self) -> str:
        """The declared structure as a short text for reports."""
        names = {n: s.name for n, s in self.structures.items()}
        if len(set(names.values())) == 1:
            return next(iter(names.values()))
        return ", ".join(f"{n}: {s}" for n, s in names.items())

    def domain_of(self, name: str) -> Any:
        """The domain of input ``name`` (``real()`` unless declared)."""
        from harness.domains import real

        return self.domains.get(name) or real()

    # -- validation, one concern each ------------------------------------------------------
    def _callables(self) -> tuple[tuple[str, tuple[str, ...], bool], ...]:
        ins = tuple(self.inputs)
        tangents = tuple(f"d{n}" for n in self.diff_inputs)
        out, d_out = ("A", "dA") if ins == ("Z",) else ("output", "d_output")
        return (
            ("forward", ins, True),
            ("vjp", (*ins, out, d_out), True),
            ("jvp", (*ins, out, *tangents), False),
            ("jacobian", ("z", "a"), False),
            ("second_vjp", (*ins, out, d_out, "g"), False),
        )

    def _validate_names(self) -> None:
        inputs = (self.inputs,) if isinstance(self.inputs, str) else tuple(self.inputs)
        constants = (self.constants,) if isinstance(self.constants, str) else tuple(self.constants)
        if not inputs or not all(isinstance(n, str) and _IDENT.match(n) for n in inputs):
            raise SpecError(
                f"Spec {self.name!r}: `inputs` must be a non-empty tuple of identifiers naming "
                f"the forward's positional arguments; got {self.inputs!r}."
            )
        dup = sorted({n for n in inputs if inputs.count(n) > 1})
        if dup:
            raise SpecError(f"Spec {self.name!r}: input(s) {dup} named twice in `inputs`.")
        stray = [c for c in constants if c not in inputs]
        if stray:
            raise SpecError(
                f"Spec {self.name!r}: constant(s) {stray} are not inputs; `constants` names "
                f"inputs (from {inputs}) that are data, not differentiated."
            )
        if len(set(constants)) == len(inputs):
            raise SpecError(
                f"Spec {self.name!r}: every input is a constant; at least one input must be "
                f"differentiable."
            )
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "constants", tuple(dict.fromkeys(constants)))

    def _validate_shapes(self) -> None:
        if self.shapes is None:
            if len(self.inputs) != 1:
                raise SpecError(
                    f"Spec {self.name!r} has {len(self.inputs)} inputs; give `shapes`, a "
                    f'signature like "(n,k),(n,1),(k,m)->(n,m)" (one shape per input).'
                )
            sig = parse_signature("(n,m)->(n,m)", 1)
        else:
            try:
                sig = parse_signature(self.shapes, len(self.inputs))
            except SpecError as exc:
                raise SpecError(f"Spec {self.name!r}: {exc}") from None
        object.__setattr__(self, "signature", sig)

    def _validate_structure(self) -> None:
        raw = self.structure
        diff = self.diff_inputs
        out_nd = len(self.signature.output)
        per: dict[str, Structure] = {}
        if isinstance(raw, Mapping) and not all(isinstance(k, int) for k in raw):
            unknown = [k for k in raw if k not in diff]
            if unknown:
                raise SpecError(
                    f"Spec {self.name!r}: `structure` names {unknown}, which are not "
                    f"differentiable inputs ({', '.join(diff)})."
                )
            for n in diff:
                per[n] = as_structure(
                    raw.get(n, "dense"), out_nd, where=f"Spec {self.name!r}, structure of `{n}`"
                )
        else:
            for n in diff:
                per[n] = as_structure(raw, out_nd, where=f"Spec {self.name!r}")
        sig = self.signature
        for n, s in per.items():
            dims = sig.inputs[self.inputs.index(n)]
            for a, b in s.axes.items():
                if a >= len(dims) or b >= out_nd:
                    raise SpecError(
                        f"Spec {self.name!r}: structure {s.name!r} of `{n}` maps axis {a} to "
                        f"output axis {b}, but the signature {sig.text!r} gives `{n}` "
                        f"{len(dims)} and the output {out_nd} dimension(s)."
                    )
                if dims[a] != sig.output[b]:
                    raise SpecError(
                        f"Spec {self.name!r}: structure {s.name!r} of `{n}` says its axis {a} "
                        f"({dims[a]}) is output axis {b} ({sig.output[b]}); the signature "
                        f"{sig.text!r} gives them different sizes."
                    )
        object.__setattr__(self, "structures", per)
        if isinstance(raw, str) and raw not in ALIASES:
            raise SpecError(
                f"Spec {self.name!r}: unknown structure {raw!r}; use one of "
                f"{', '.join(repr(s) for s in ALIASES)}."
            )

    def _validate_kinks(self) -> None:
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
        if kinks_t and not (self.single and self.structures[self.inputs[0]].elementwise):
            raise SpecError(
                f"Spec {self.name!r}: `kinks` are only supported for one-input specs of "
                f"structure 'elementwise' (got structure {self.structure_label!r}); a kink is "
                f"a point of one input where an elementwise function is not differentiable."
            )
        object.__setattr__(self, "kinks", tuple(sorted(set(kinks_t))))

    def _validate_dtypes(self) -> None:
        dtypes = (self.dtypes,) if isinstance(self.dtypes, str) else tuple(self.dtypes)
        dtypes = tuple(np.dtype(d).name if _is_dtype(d) else str(d) for d in dtypes)
        bad = [d for d in dtypes if d not in SUPPORTED_DTYPES]
        if bad or not dtypes:
            raise SpecError(
                f"Spec {self.name!r}: unsupported dtypes {bad or dtypes!r}; "
                f"use a non-empty subset of {SUPPORTED_DTYPES!r}."
            )
        object.__setattr__(self, "dtypes", dtypes)
        if self.output_dtype is not None:
            if (
                not _is_dtype(self.output_dtype)
                or np.dtype(self.output_dtype).name not in SUPPORTED_DTYPES
            ):
                raise SpecError(
                    f"Spec {self.name!r}: `output_dtype` must be None or one of "
                    f"{SUPPORTED_DTYPES}; got {self.output_dtype!r}."
                )
            object.__setattr__(self, "output_dtype", np.dtype(self.output_dtype).name)

    def _validate_domains(self) -> None:
        if not isinstance(self.domains, Mapping):
            raise SpecError(
                f"Spec {self.name!r}: `domains` must be a dict of input name to domain; got "
                f"{type(self.domains).__name__}."
            )
        unknown = [k for k in self.domains if k not in self.inputs]
        if unknown:
            raise SpecError(
                f"Spec {self.name!r}: `domains` names {unknown}, which are not inputs "
                f"({', '.join(self.inputs)})."
            )
        for k, d in self.domains.items():
            if getattr(d, "discrete", False) and k not in self.constants:
                raise SpecError(
                    f"Spec {self.name!r}: `{k}` has the discrete domain {getattr(d, 'name', d)!r}"
                    f" but is differentiable; a discrete input (labels) must be a constant: "
                    f"add {k!r} to `constants`."
                )
            if not (hasattr(d, "strategy") or callable(d)):
                raise SpecError(
                    f"Spec {self.name!r}: the domain of `{k}` must be a harness.domains "
                    f"Domain or a function (shape, dtype) -> hypothesis strategy; got {d!r}."
                )
        object.__setattr__(self, "domains", dict(self.domains))

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
        for f, spec_field in cls.__dataclass_fields__.items():
            if spec_field.init and hasattr(obj, f):
                fields[f] = getattr(obj, f)
        if "name" not in fields:
            fields["name"] = getattr(obj, "__name__", type(obj).__name__).lower()
        if "description" not in fields and getattr(obj, "__doc__", None):
            fields["description"] = inspect.cleandoc(obj.__doc__)
        missing = [a for a in ("forward", "vjp") if a not in fields and a not in overrides]
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
