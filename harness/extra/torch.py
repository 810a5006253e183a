"""Specs from PyTorch code: a ``torch.autograd.Function``, an ``nn.Module``, any tensor function.

The spec's functions take numpy arrays (what the harness generates and compares) and convert
them to CPU tensors of the same dtype: float64 for the harness's oracle, the dtype under test
(float32, float16) otherwise. Nothing is cast on the way back, so a Function that computes in
another dtype than it was given is caught by the harness's dtype check.

* **VJP**: ``torch.autograd.grad`` through the Function's own ``backward`` (or ``vjp``); for a
  module or a plain callable, autograd's derivative of the operations it uses.
* **JVP** (``jvp=``): ``"forward_ad"`` runs forward-mode AD (``torch.autograd.forward_ad``), which
  calls a Function's own ``jvp`` staticmethod and is independent of its backward; the default
  for modules, callables and Functions that define ``jvp``. ``"double_vjp"`` differentiates the
  VJP with respect to its cotangent (``grad(grad(y, x, v, create_graph=True), v, u)``): it works
  for any Function whose backward is differentiable, but it is the backward's transpose, so the
  ``adjoint`` check cannot fail and ``jvp_directional`` re-checks the backward; the default for
  Functions without ``jvp``. ``None``: no JVP.
* **Second order**: ``second_vjp(*inputs, output, d_output, g)`` is the double backward
  (``torch.autograd.grad`` with ``create_graph=True``, then the gradient of ``<g, vjp>``), so
  ``harness.second_order(spec)`` verifies the Function's double backward (what
  ``gradgradcheck`` checks).

Named framework failures (reported as the harness's call failures, never as a traceback): a
``backward`` that returns None for an input that needs a gradient, the wrong number of
gradients, a gradient of the wrong shape, a gradient of another dtype than its input (which
torch casts back silently), a forward that returns a tuple or a non-tensor.

**Layout.** The harness's arrays are ``(n, m)``: n units by m examples, one example per column.
``layout="columns"`` (the default for Functions and callables) hands that array over as is;
``layout="rows"`` (the default for modules, which take ``(batch, features)``) transposes the
first input and the output, so the module sees m examples of n features.

**bfloat16.** numpy has no bfloat16. ``torch_dtype=torch.bfloat16`` evaluates the float32 run
in bfloat16 (the harness exchanges float32 arrays, exactly representable) and returns float32;
the float64 oracle is unchanged. The spec declares ``compute_dtype="bfloat16"``, so the
error model's rounding allowances use bfloat16's epsilon (2**-7), not float32's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.errors import SpecError
from harness.extra._common import FrameworkFailure, first_line, make_spec, shape_mismatch
from harness.spec import Spec

try:
    import torch
    from torch.autograd import forward_ad
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "harness.extra.torch needs PyTorch: pip install -e '.[torch]' (torch==2.13.0)"
    ) from _exc

__all__ = [
    "TorchAdapter",
    "from_callable",
    "from_function",
    "from_module",
    "module_adapter",
    "to_spec",
]

Array = NDArray[Any]
JVP_MODES: tuple[str, ...] = ("forward_ad", "double_vjp")

_TORCH_OF: dict[str, Any] = {
    "float64": torch.float64,
    "float32": torch.float32,
    "float16": torch.float16,
    "complex128": torch.complex128,
    "complex64": torch.complex64,
}


def _user_backward_name(cls: type) -> str:
    """``"vjp"`` if the Function overrides ``vjp``, else ``"backward"`` (torch's own rule)."""
    base = torch.autograd.Function
    return "vjp" if getattr(cls, "vjp", base.vjp) is not base.vjp else "backward"


class TorchAdapter:
    """Calls one torch function on numpy arrays: forward, VJP, JVP and second-order VJP.

    Parameters
    ----------
    call : callable
        ``call(*tensors) -> tensor``, in the order of ``inputs``.
    name : str
        Name used in messages (the Function's class name, say).
    inputs : tuple of str
        Names of the arrays, in call order.
    constants : tuple of str
        Inputs that get no gradient.
    function : type, optional
        The ``torch.autograd.Function`` subclass ``call`` applies; its backward's raw return
        values are then inspected (None, count, shape, dtype) before autograd sees them.
    layout : {"columns", "rows"}
        ``"rows"`` transposes the first input and the output (see the module docstring).
    torch_dtype : torch.dtype, optional
        ``torch.bfloat16``: evaluate float32 runs in bfloat16.
    jvp : {"forward_ad", "double_vjp"} or None
        How the JVP is computed.
    """

    def __init__(
        self,
        call: Callable[..., Any],
        *,
        name: str,
        inputs: tuple[str, ...],
        constants: tuple[str, ...] = (),
        function: type | None = None,
        layout: str = "columns",
        torch_dtype: Any = None,
        jvp: str | None = "forward_ad",
    ) -> None:
        if layout not in ("columns", "rows"):
            raise SpecError(f"{name}: layout must be 'columns' or 'rows'; got {layout!r}.")
        if jvp is not None and jvp not in JVP_MODES:
            raise SpecError(f"{name}: jvp must be one of {JVP_MODES} or None; got {jvp!r}.")
        if torch_dtype is not None and torch_dtype != torch.bfloat16:
            raise SpecError(
                f"{name}: torch_dtype may only be torch.bfloat16 (numpy dtypes cover the "
                f"others); got {torch_dtype!r}."
            )
        unknown = [c for c in constants if c not in inputs]
        if unknown:
            raise SpecError(f"{name}: constants {unknown} are not among the inputs {inputs}.")
        self.call = call
        self.name = name
        self.inputs = inputs
        self.constants = constants
        self.diff = tuple(i for i, n in enumerate(inputs) if n not in constants)
        if not self.diff:
            raise SpecError(f"{name}: every input is a constant; nothing to differentiate.")
        self.layout = layout
        self.torch_dtype = torch_dtype
        self.jvp_mode = jvp
        self.function = function
        self._recorded: list[tuple[Any, tuple[bool, ...]]] = []
        self._last: list[Any] = []
        self._apply = self.call if function is None else self._checked_apply(function)

    # -- the Function's backward, observed ------------------------------------------------
    def _checked_apply(self, cls: type) -> Callable[..., Any]:
        which = _user_backward_name(cls)
        user = getattr(cls, which)
        recorded = self._recorded

        def observed(ctx: Any, *grads: Any) -> Any:
            out = user(ctx, *grads)
            recorded.append((out, tuple(getattr(ctx, "needs_input_grad", ()))))
            return out

        checked = type(cls.__name__, (cls,), {which: staticmethod(observed)})
        apply: Callable[..., Any] = checked.apply  # type: ignore[attr-defined]
        return apply

    def _check_recorded(self, tensors: Sequence[Any]) -> None:
        """Raise a FrameworkFailure for what the backward returned, if it was wrong."""
        records, self._recorded[:] = list(self._recorded), []
        fn = self.function
        where = f"{fn.__name__}.{_user_backward_name(fn)}" if fn is not None else self.name
        n = len(tensors)
        for out, needs in records:
            grads = out if isinstance(out, tuple) else (out,)
            if len(grads) != n:
                raise FrameworkFailure(
                    "type",
                    f"{where} returned {len(grads)} gradient(s) for the {n} input(s) of "
                    f"forward ({', '.join(self.inputs)}); return one per input, None for "
                    f"the constants",
                )
            for i, (g, t) in enumerate(zip(grads, tensors, strict=True)):
                label = f"input {self.inputs[i]!r} (input {i + 1} of {n})"
                wanted = needs[i] if i < len(needs) else i in self.diff
                if g is None:
                    if wanted:
                        raise FrameworkFailure(
                            "type",
                            f"{where} returned None for {label}, which needs a gradient; "
                            f"return a tensor (of zeros, if that is its gradient)",
                        )
                    continue
                if not isinstance(g, torch.Tensor):
                    raise FrameworkFailure(
                        "type",
                        f"{where} returned {type(g).__name__} for {label}, expected a tensor",
                    )
                if tuple(g.shape) != tuple(t.shape):
                    raise FrameworkFailure(
                        "shape",
                        f"{where} returned a gradient of "
                        f"{shape_mismatch(g.shape, t.shape)} for {label}",
                    )
                if g.dtype != t.dtype:
                    raise FrameworkFailure(
                        "dtype",
                        f"{where} returned a {_dt(g.dtype)} gradient for the {_dt(t.dtype)} "
                        f"{label}; torch casts it to {_dt(t.dtype)} silently, so the "
                        f"backward is not computed in the precision under test",
                    )

    # -- conversions ----------------------------------------------------------------------
    def _tensor(self, a: Array, *, grad: bool = False) -> Any:
        a = np.asarray(a)
        if a.dtype.name not in _TORCH_OF:
            raise FrameworkFailure("dtype", f"{self.name}: no torch dtype for numpy {a.dtype}")
        # from_numpy keeps the array's strides (Fortran order, views), so memory-layout
        # dependence of the torch code stays visible to the hygiene check.
        t = torch.from_numpy(np.array(a, copy=True) if a.strides and min(a.strides) < 0 else a)
        if self.torch_dtype is not None and a.dtype == np.float32:
            t = t.to(self.torch_dtype)
        if grad:
            t = t.detach().requires_grad_(True)
        return t

    def _expected_dtype(self, arrays: Sequence[Array]) -> Any:
        a = np.asarray(arrays[0])
        if self.torch_dtype is not None and a.dtype == np.float32:
            return self.torch_dtype
        return _TORCH_OF.get(a.dtype.name)

    def _numpy(self, t: Any, what: str) -> Array:
        if not isinstance(t, torch.Tensor):
            raise FrameworkFailure(
                "type",
                f"{self.name}: {what} is {type(t).__name__}, expected a tensor"
                + (
                    " (the harness verifies functions of one output)"
                    if isinstance(t, tuple)
                    else ""
                ),
            )
        t = t.detach()
        if self.torch_dtype is not None and t.dtype == self.torch_dtype:
            t = t.to(torch.float32)
        if t.is_conj():
            t = t.resolve_conj()
        return np.array(t.cpu().numpy(), copy=True)

    def _in(self, t: Any, i: int) -> Any:
        return t.T if self.layout == "rows" and i == 0 and t.ndim == 2 else t

    def _out(self, y: Any) -> Any:
        if self.layout == "rows" and isinstance(y, torch.Tensor) and y.ndim == 2:
            return y.T
        return y

    def _run(self, tensors: Sequence[Any]) -> Any:
        try:
            y = self._apply(*[self._in(t, i) for i, t in enumerate(tensors)])
        except FrameworkFailure:
            raise
        except Exception as exc:
            raise FrameworkFailure(
                "raised", f"{self.name} forward raised {type(exc).__name__}: {first_line(exc)}"
            ) from None
        if not isinstance(y, torch.Tensor):
            self._numpy(y, "forward's output")  # raises the named failure
        return self._out(y)

    def _split(self, args: Sequence[Array], extra: int) -> tuple[list[Array], list[Array]]:
        n = len(self.inputs)
        if len(args) != n + extra:
            raise FrameworkFailure(
                "raised", f"{self.name}: called with {len(args)} arrays, expected {n + extra}"
            )
        return list(args[:n]), list(args[n:])

    def _grad(self, outputs: Any, inputs: Sequence[Any], cot: Any, **kw: Any) -> tuple[Any, ...]:
        try:
            grads: tuple[Any, ...] = torch.autograd.grad(
                outputs, list(inputs), cot, allow_unused=True, **kw
            )
        except FrameworkFailure:
            raise
        except Exception as exc:
            if self.function is not None:
                self._check_recorded(self._last)  # the named cause, if we saw one
            raise FrameworkFailure(
                "raised",
                f"torch.autograd.grad through {self.name} raised {type(exc).__name__}: "
                f"{first_line(exc)}",
            ) from None
        return grads

    def _check_output_dtype(self, y: Any, arrays: Sequence[Array], what: str) -> None:
        want = self._expected_dtype(arrays)
        if want is not None and y.dtype != want:
            raise FrameworkFailure(
                "dtype",
                f"{self.name} {what} returned {_dt(y.dtype)} for {_dt(want)} input (a silent "
                f"change of precision)",
            )

    # -- the spec's functions ---------------------------------------------------------------
    def forward(self, *arrays: Array) -> Array:
        """``forward(*inputs) -> output`` on numpy arrays."""
        with torch.no_grad():
            tensors = [self._tensor(a) for a in arrays]
            return self._numpy(self._run(tensors), "forward's output")

    def vjp(self, *args: Array) -> Any:
        """``vjp(*inputs, output, d_output)``: one gradient per differentiable input."""
        arrays, (_, d_out) = self._split(args, 2)
        tensors = [self._tensor(a, grad=i in self.diff) for i, a in enumerate(arrays)]
        self._last = tensors
        self._recorded.clear()
        with torch.enable_grad():
            y = self._run(tensors)
            self._check_output_dtype(y, arrays, "forward")
            wrt = [tensors[i] for i in self.diff]
            if not y.requires_grad:
                grads: tuple[Any, ...] = (None,) * len(wrt)
            else:
                grads = self._grad(y, wrt, self._tensor(d_out).to(y.dtype))
        if self.function is not None:
            self._check_recorded(tensors)
        out = []
        for i, g in zip(self.diff, grads, strict=True):
            if g is None:
                if self.function is not None:
                    raise FrameworkFailure(
                        "type",
                        f"{self.name}: autograd gives no gradient for input "
                        f"{self.inputs[i]!r} (its output does not depend on it in the graph)",
                    )
                g = torch.zeros_like(tensors[i])
            out.append(self._numpy(g, f"the gradient for {self.inputs[i]!r}"))
        return out[0] if len(out) == 1 else tuple(out)

    def jvp(self, *args: Array) -> Array:
        """``jvp(*inputs, output, *tangents)``: the output's tangent."""
        arrays, rest = self._split(args, 1 + len(self.diff))
        tangents = rest[1:]
        if self.jvp_mode == "double_vjp":
            return self._jvp_double_vjp(arrays, tangents)
        tensors = [self._tensor(a) for a in arrays]
        self._last = tensors
        try:
            with torch.no_grad(), forward_ad.dual_level():
                duals = list(tensors)
                for i, u in zip(self.diff, tangents, strict=True):
                    duals[i] = forward_ad.make_dual(tensors[i], self._tensor(u))
                y = self._run(duals)
                _, dy = forward_ad.unpack_dual(y)
        except FrameworkFailure:
            raise
        except Exception as exc:
            raise FrameworkFailure(
                "raised",
                f"forward-mode AD through {self.name} raised {type(exc).__name__}: "
                f"{first_line(exc)} (jvp='double_vjp' derives the JVP from the backward "
                f"instead)",
            ) from None
        if dy is None:
            dy = torch.zeros_like(y)
        return self._numpy(dy, "the JVP")

    def _jvp_double_vjp(self, arrays: Sequence[Array], tangents: Sequence[Array]) -> Array:
        tensors = [self._tensor(a, grad=i in self.diff) for i, a in enumerate(arrays)]
        self._last = tensors
        self._recorded.clear()
        with torch.enable_grad():
            y = self._run(tensors)
            if not y.requires_grad:
                return self._numpy(torch.zeros_like(y), "the JVP")
            v = torch.zeros_like(y).requires_grad_(True)
            wrt = [tensors[i] for i in self.diff]
            grads = self._grad(y, wrt, v, create_graph=True)
            if self.function is not None:
                self._check_recorded(tensors)
            total: Any = None
            for g, u in zip(grads, tangents, strict=True):
                if g is not None and g.requires_grad:
                    term = (g * self._tensor(u).to(g.dtype)).sum()
                    total = term if total is None else total + term
            if total is None:
                return self._numpy(torch.zeros_like(y), "the JVP")
            (dy,) = self._grad(total, [v], None)
        return self._numpy(dy if dy is not None else torch.zeros_like(y), "the JVP")

    def second_vjp(self, *args: Array) -> Array:
        """``second_vjp(*inputs, output, d_output, g)``: grad wrt Z of ``<g, vjp(Z, dA)>``."""
        arrays, (_, d_out, g) = self._split(args, 3)
        if len(self.diff) != 1:
            raise FrameworkFailure(
                "raised", f"{self.name}: a second-order VJP needs exactly one differentiable input"
            )
        (k,) = self.diff
        tensors = [self._tensor(a, grad=i == k) for i, a in enumerate(arrays)]
        self._last = tensors
        self._recorded.clear()
        with torch.enable_grad():
            y = self._run(tensors)
            if not y.requires_grad:
                return self._numpy(torch.zeros_like(tensors[k]), "the second-order VJP")
            (gz,) = self._grad(y, [tensors[k]], self._tensor(d_out).to(y.dtype), create_graph=True)
            if self.function is not None:
                self._check_recorded(tensors)
            if gz is None or not gz.requires_grad:
                h = None  # the backward does not depend on Z differentiably: zero
            else:
                (h,) = self._grad(gz, [tensors[k]], self._tensor(g).to(gz.dtype))
        if h is None:
            h = torch.zeros_like(tensors[k])
        return self._numpy(h, "the second-order VJP")


def _dt(d: Any) -> str:
    return str(d).removeprefix("torch.")


def _spec(
    adapter: TorchAdapter,
    *,
    name: str,
    shapes: str | None,
    description: str,
    second_order: bool,
    fields: dict[str, Any],
) -> Spec:
    fields = dict(fields)
    fields.setdefault("description", description)
    if adapter.torch_dtype is not None:
        fields.setdefault("dtypes", ("float64", "float32"))
    spec = make_spec(
        name=name,
        forward=adapter.forward,
        vjp=adapter.vjp,
        jvp=adapter.jvp if adapter.jvp_mode is not None else None,
        second_vjp=adapter.second_vjp if second_order and len(adapter.diff) == 1 else None,
        inputs=adapter.inputs,
        constants=adapter.constants,
        shapes=shapes,
        fields=fields,
    )
    object.__setattr__(spec, "adapter", adapter)
    if adapter.torch_dtype is not None:
        object.__setattr__(spec, "compute_dtype", "bfloat16")
    return spec


def _how(adapter: TorchAdapter, vjp: str) -> str:
    jvp = {
        "forward_ad": "forward-mode AD",
        "double_vjp": "the double-VJP trick (the backward's transpose)",
        None: "none",
    }[adapter.jvp_mode]
    return f"VJP: {vjp}; JVP: {jvp}."


def from_function(
    function: type,
    *,
    name: str | None = None,
    inputs: Sequence[str] = ("Z",),
    constants: Sequence[str] = (),
    shapes: str | None = None,
    layout: str = "columns",
    torch_dtype: Any = None,
    jvp: str | None = "auto",
    second_order: bool = True,
    **fields: Any,
) -> Spec:
    """A Spec from a ``torch.autograd.Function`` subclass.

    Parameters
    ----------
    function : type
        The Function subclass; the spec calls ``function.apply(*tensors)``.
    name : str, optional
        Defaults to the class name.
    inputs : sequence of str
        Names of ``apply``'s arguments, in order (several inputs need the multi-input Spec).
    constants : sequence of str
        Inputs that get no gradient (their backward may return None).
    shapes : str, optional
        gufunc signature for several inputs, e.g. ``"(n,k),(k,m)->(n,m)"``.
    layout : {"columns", "rows"}
        See the module docstring.
    torch_dtype : torch.bfloat16, optional
        Evaluate float32 runs in bfloat16 (see the module docstring).
    jvp : {"auto", "forward_ad", "double_vjp"} or None
        ``"auto"``: forward-mode AD through the Function's ``jvp`` if it defines one, else the
        double-VJP trick.
    second_order : bool
        Provide ``second_vjp`` (the Function's double backward) for ``harness.second_order``.
    **fields
        Any other Spec field: ``structure``, ``kinks``, ``dtypes``, ``max_abs_input``, ...
    """
    if not (isinstance(function, type) and issubclass(function, torch.autograd.Function)):
        raise SpecError(
            f"from_function takes a torch.autograd.Function subclass; got {function!r} "
            f"(use from_callable for a function of tensors, from_module for an nn.Module)."
        )
    if jvp == "auto":
        base = torch.autograd.Function
        has_jvp = getattr(function, "jvp", base.jvp) is not base.jvp
        jvp = "forward_ad" if has_jvp else "double_vjp"
    nm = name or function.__name__
    adapter = TorchAdapter(
        function.apply,  # type: ignore[attr-defined]
        name=nm,
        inputs=tuple(inputs),
        constants=tuple(constants),
        function=function,
        layout=layout,
        torch_dtype=torch_dtype,
        jvp=jvp,
    )
    doc = inspect.getdoc(function) or ""
    how = _how(adapter, f"torch.autograd.grad through {function.__name__}'s own backward")
    return _spec(
        adapter,
        name=nm,
        shapes=shapes,
        description=f"{doc}\n\n{how}".strip(),
        second_order=second_order,
        fields=fields,
    )


def from_callable(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    inputs: Sequence[str] = ("Z",),
    constants: Sequence[str] = (),
    shapes: str | None = None,
    layout: str = "columns",
    torch_dtype: Any = None,
    jvp: str | None = "forward_ad",
    second_order: bool = True,
    **fields: Any,
) -> Spec:
    """A Spec from any function of tensors; its VJP is autograd's.

    ``fn(*tensors) -> tensor``, e.g. ``torch.nn.functional.gelu`` or
    ``lambda z: torch.softmax(z, dim=0)``. This verifies the derivatives torch defines for the
    operations ``fn`` uses against the harness's finite differences. The other parameters are
    those of :func:`from_function` (``jvp`` defaults to forward-mode AD).
    """
    if not callable(fn):
        raise SpecError(f"from_callable takes a callable; got {type(fn).__name__}.")
    nm = str(name or getattr(fn, "__name__", type(fn).__name__))
    adapter = TorchAdapter(
        fn,
        name=nm,
        inputs=tuple(inputs),
        constants=tuple(constants),
        layout=layout,
        torch_dtype=torch_dtype,
        jvp=jvp,
    )
    doc = inspect.getdoc(fn) or ""
    doc = doc.split("\n\n")[0] if doc else ""
    return _spec(
        adapter,
        name=nm,
        shapes=shapes,
        description=f"{doc}\n\n{_how(adapter, 'torch autograd')}".strip(),
        second_order=second_order,
        fields=fields,
    )


def from_module(
    module: Any,
    *,
    name: str | None = None,
    params: str = "inputs",
    input_name: str = "X",
    shapes: str | None = None,
    layout: str = "rows",
    torch_dtype: Any = None,
    jvp: str | None = "forward_ad",
    second_order: bool = True,
    **fields: Any,
) -> Spec:
    """A Spec from an ``nn.Module``.

    Parameters
    ----------
    module : torch.nn.Module
        Called through ``torch.func.functional_call`` with the harness's arrays as its
        parameters, converted to the run's dtype (floating buffers too, held fixed).
    params : {"inputs", "fixed"}
        ``"inputs"``: the parameters become differentiable inputs after the input, named as
        ``module.named_parameters()`` names them (``X, weight, bias`` for ``nn.Linear``); the
        harness generates their values. Needs the multi-input Spec. ``"fixed"``: the module's
        current parameter values are held fixed and the spec is a function of its input alone
        (today's single-input engine runs it).
    input_name : str
        Name of the module's input.
    shapes : str, optional
        gufunc signature for ``params="inputs"``; by default built from the parameters' shapes
        (frozen dimensions) and, for modules with ``in_features``/``out_features``, the input's
        and output's.
    layout : {"rows", "columns"}
        ``"rows"`` (default): the module sees the harness's ``(n, m)`` array transposed, as m
        examples of n features.
    **fields
        Other Spec fields and the parameters of :func:`from_function`.
    """
    if not isinstance(module, torch.nn.Module):
        raise SpecError(f"from_module takes a torch.nn.Module; got {type(module).__name__}.")
    if params not in ("inputs", "fixed"):
        raise SpecError(f"params must be 'inputs' or 'fixed'; got {params!r}.")
    nm = name or type(module).__name__
    adapter, default_shapes = module_adapter(
        module,
        name=nm,
        params=params,
        input_name=input_name,
        layout=layout,
        torch_dtype=torch_dtype,
        jvp=jvp,
    )
    shapes = shapes if shapes is not None else default_shapes
    inputs = adapter.inputs
    pnames = inputs[1:]
    what = "fixed parameters" if len(inputs) == 1 else f"parameters {', '.join(pnames)} as inputs"
    return _spec(
        adapter,
        name=nm,
        shapes=shapes,
        description=f"{module!r} ({what}).\n\n{_how(adapter, 'torch autograd')}",
        second_order=second_order,
        fields=fields,
    )


def module_adapter(
    module: Any,
    *,
    name: str,
    params: str = "inputs",
    input_name: str = "X",
    layout: str = "rows",
    torch_dtype: Any = None,
    jvp: str | None = "forward_ad",
) -> tuple[TorchAdapter, str | None]:
    """The adapter :func:`from_module` builds, and its default gufunc signature (or None).

    Usable on its own (its ``forward``/``vjp``/``jvp`` take numpy arrays in the order of
    ``adapter.inputs``) where the Spec class takes one input.
    """
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    pnames = [n for n, _ in named]
    state = {
        n: b.detach().cpu().numpy().astype(np.float64)
        for n, b in module.named_buffers()
        if b.is_floating_point()
    }
    fixed = {n: p.detach().cpu().numpy().astype(np.float64) for n, p in named}

    def dtype_dict(d: dict[str, Array], like: Any) -> dict[str, Any]:
        return {k: torch.from_numpy(v).to(like.dtype) for k, v in d.items()}

    shapes: str | None = None
    if params == "fixed" or not pnames:

        def call_fixed(x: Any) -> Any:
            tensors = dtype_dict(fixed, x) | dtype_dict(state, x)
            return torch.func.functional_call(module, tensors, (x,))

        call: Callable[..., Any] = call_fixed
        inputs: tuple[str, ...] = (input_name,)
    else:

        def call_params(x: Any, *ps: Any) -> Any:
            tensors = dict(zip(pnames, ps, strict=True)) | dtype_dict(state, x)
            return torch.func.functional_call(module, tensors, (x,))

        call = call_params
        inputs = (input_name, *pnames)
        shapes = _module_shapes(module, named, layout)
    adapter = TorchAdapter(
        call, name=name, inputs=inputs, layout=layout, torch_dtype=torch_dtype, jvp=jvp
    )
    return adapter, shapes


def _module_shapes(module: Any, named: Sequence[tuple[str, Any]], layout: str) -> str | None:
    dims = ",".join
    n_in = getattr(module, "in_features", None)
    n_out = getattr(module, "out_features", None)
    x = f"({n_in},m)" if isinstance(n_in, int) else "(n,m)"
    y = f"({n_out},m)" if isinstance(n_out, int) else ("(n,m)" if n_in is None else None)
    if y is None or layout != "rows":
        return None  # no default: pass shapes=
    ps = [f"({dims(str(int(s)) for s in p.shape)})" for _, p in named]
    return f"{','.join([x, *ps])}->{y}"


def to_spec(obj: Any, **kwargs: Any) -> Spec:
    """:func:`from_function`, :func:`from_module` or :func:`from_callable`, by ``obj``'s type."""
    if isinstance(obj, type) and issubclass(obj, torch.autograd.Function):
        return from_function(obj, **kwargs)
    if isinstance(obj, torch.nn.Module):
        return from_module(obj, **kwargs)
    return from_callable(obj, **kwargs)
