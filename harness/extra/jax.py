"""Specs from JAX code: a function with ``jax.custom_vjp`` or ``jax.custom_jvp``, or any other.

The spec's functions take numpy arrays and convert them to jax arrays of the same dtype.
float64 needs jax's 64-bit mode: each call of a float64 (or complex128) evaluation runs inside
``jax.enable_x64(True)``, every other one inside ``jax.enable_x64(False)``, so the user's code
sees the dtype it would see in its own float32 program (``jnp.zeros(n)`` stays float32) and
the process-wide setting is left alone.

* **VJP**: ``jax.vjp``; for a ``custom_vjp`` function that runs its own ``bwd`` rule, for a
  ``custom_jvp`` one the transpose of its ``jvp`` rule, otherwise jax's derivative.
* **JVP**: ``jax.jvp`` (a ``custom_jvp`` rule, or jax's derivative). jax cannot run forward mode
  through a ``custom_vjp`` function; there the JVP is the VJP of the VJP (the ``bwd`` rule's
  transpose: the ``adjoint`` check then cannot fail and ``jvp_directional`` re-checks ``bwd``).
* **Second order**: ``second_vjp`` is ``jax.vjp`` of the VJP, so ``harness.second_order(spec)``
  verifies what ``check_grads(order=2)`` checks, at the harness's tolerances.
* ``jit=True`` compiles the forward, the VJP, the JVP and the second-order VJP with
  ``jax.jit`` (once per input shape and dtype).

Named framework failures: a ``bwd`` rule that returns None for an input that needs a gradient
(jax treats it as zero silently), the wrong number of cotangents, a cotangent of the wrong
shape, or of another dtype than its input (jax passes a float64 cotangent for a float32 input
through), a forward that returns a tuple. ``None`` and dtype detection need the ``custom_vjp``
object itself (not a ``jax.jit`` of it), since the adapter observes its ``bwd`` rule.
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
    import jax
    import jax.numpy as jnp
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("harness.extra.jax needs JAX: pip install -e '.[jax]'") from _exc

__all__ = ["JaxAdapter", "from_jax"]

Array = NDArray[Any]


def _wide(arrays: Sequence[Array]) -> bool:
    return any(
        np.asarray(a).dtype.itemsize >= 8 and np.asarray(a).dtype.kind in "fc" for a in arrays
    )


class JaxAdapter:
    """Calls one jax function on numpy arrays: forward, VJP, JVP and second-order VJP.

    Parameters
    ----------
    fn : callable
        ``fn(*arrays) -> array``, in the order of ``inputs``.
    name : str
        Name used in messages.
    inputs, constants : tuple of str
        Argument names, and those that get no gradient.
    jit : bool
        Compile every evaluation with ``jax.jit``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str,
        inputs: tuple[str, ...],
        constants: tuple[str, ...] = (),
        jit: bool = False,
    ) -> None:
        unknown = [c for c in constants if c not in inputs]
        if unknown:
            raise SpecError(f"{name}: constants {unknown} are not among the inputs {inputs}.")
        self.name = name
        self.inputs = inputs
        self.constants = constants
        self.diff = tuple(i for i, n in enumerate(inputs) if n not in constants)
        if not self.diff:
            raise SpecError(f"{name}: every input is a constant; nothing to differentiate.")
        self.custom_vjp = isinstance(fn, jax.custom_vjp)
        self._problems: dict[Any, FrameworkFailure] = {}
        self._key: Any = None
        self._dtypes: tuple[Any, ...] = ()
        self.fn = self._observed(fn) if self.custom_vjp else fn
        wrap: Callable[[Callable[..., Any]], Callable[..., Any]] = jax.jit if jit else _same
        self._forward = wrap(self.fn)
        self._vjp = wrap(self._vjp_impl)
        self._jvp = wrap(self._jvp_impl)
        self._second = wrap(self._second_impl)

    # -- the custom_vjp's bwd rule, observed ------------------------------------------------
    def _observed(self, fn: Any) -> Any:
        bwd = fn.bwd
        nondiff = tuple(fn.nondiff_argnums)
        primal = [i for i in range(len(self.inputs)) if i not in nondiff]
        rule = f"{getattr(fn, '__name__', self.name)}'s bwd rule"

        def observed(*args: Any) -> Any:
            out = bwd(*args)
            if isinstance(out, tuple) and len(out) == len(primal):
                for slot, (i, c) in enumerate(zip(primal, out, strict=True)):
                    label = f"input {self.inputs[i]!r} (input {i + 1} of {len(self.inputs)})"
                    if c is None and i in self.diff:
                        self._problems.setdefault(
                            self._key,
                            FrameworkFailure(
                                "type",
                                f"{rule} returned None for {label}, which needs a gradient "
                                f"(jax takes None as a zero cotangent)",
                            ),
                        )
                    elif c is not None and i < len(self._dtypes):
                        got = np.dtype(getattr(c, "dtype", np.float64))
                        want = self._dtypes[i]
                        if got != want and slot < len(out):
                            self._problems.setdefault(
                                self._key,
                                FrameworkFailure(
                                    "dtype",
                                    f"{rule} returned a {got} cotangent for the {want} {label} "
                                    f"(jax passes it through: a silent change of precision)",
                                ),
                            )
            return out

        new = jax.custom_vjp(fn.fun, nondiff_argnums=nondiff)
        new.defvjp(fn.fwd, observed, symbolic_zeros=bool(getattr(fn, "symbolic_zeros", False)))
        return new

    # -- pure functions of jax arrays (jitted when asked) -----------------------------------
    def _closed(self, consts: dict[int, Any]) -> Callable[..., Any]:
        def f(*diff: Any) -> Any:
            args: list[Any] = [None] * len(self.inputs)
            for i, d in zip(self.diff, diff, strict=True):
                args[i] = d
            for i, c in consts.items():
                args[i] = c
            return self.fn(*args)

        return f

    def _parts(self, xs: Sequence[Any]) -> tuple[list[Any], dict[int, Any]]:
        return [xs[i] for i in self.diff], {i: x for i, x in enumerate(xs) if i not in self.diff}

    def _vjp_impl(self, xs: tuple[Any, ...], d_out: Any) -> Any:
        diff, consts = self._parts(xs)
        _, pullback = jax.vjp(self._closed(consts), *diff)
        return pullback(d_out)

    def _jvp_impl(self, xs: tuple[Any, ...], tangents: tuple[Any, ...]) -> Any:
        diff, consts = self._parts(xs)
        f = self._closed(consts)
        if not self.custom_vjp:
            return jax.jvp(f, tuple(diff), tuple(tangents))[1]
        y, pullback = jax.vjp(f, *diff)
        _, transpose = jax.vjp(pullback, jnp.zeros_like(y))
        return transpose(tuple(tangents))[0]

    def _second_impl(self, xs: tuple[Any, ...], d_out: Any, g: Any) -> Any:
        diff, consts = self._parts(xs)
        f = self._closed(consts)

        def grad_of(z: Any) -> Any:
            return jax.vjp(f, z)[1](d_out)[0]

        return jax.vjp(grad_of, diff[0])[1](g)[0]

    # -- the spec's functions ---------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], arrays: Sequence[Array], *rest: Any) -> Any:
        arrays = [np.asarray(a) for a in arrays]
        self._dtypes = tuple(a.dtype for a in arrays)
        wide = _wide(list(arrays) + [np.asarray(r) for r in rest if isinstance(r, np.ndarray)])
        self._key = (what, wide, tuple((a.shape, a.dtype.str) for a in arrays))
        try:
            with jax.enable_x64(wide):
                xs = tuple(jnp.asarray(a) for a in arrays)
                more = [
                    tuple(jnp.asarray(t) for t in r) if isinstance(r, tuple) else jnp.asarray(r)
                    for r in rest
                ]
                out = fn(xs, *more) if what != "forward" else fn(*xs)
                out = jax.tree_util.tree_map(np.asarray, out)
        except FrameworkFailure:
            raise
        except Exception as exc:
            if self._key in self._problems:
                raise self._problems[self._key] from None
            raise self._translate(what, exc) from None
        if self._key in self._problems:
            raise self._problems[self._key]
        return out

    def _translate(self, what: str, exc: Exception) -> FrameworkFailure:
        text = first_line(exc)
        if "bwd rule must produce" in text and "tuple of length" in str(exc):
            return FrameworkFailure(
                "type",
                f"{self.name}'s bwd rule returned the wrong number of cotangents (one per "
                f"input of the primal function, {', '.join(self.inputs)}): {text}",
            )
        if "bwd rule" in text and "shapes do not match" in str(exc):
            return FrameworkFailure(
                "shape", f"{self.name}'s bwd rule returned a cotangent of the wrong shape: {text}"
            )
        if "JVP rule" in str(exc) or "custom_jvp" in str(exc):
            return FrameworkFailure("type", f"{self.name}'s jvp rule: {text}")
        return FrameworkFailure(
            "raised", f"{self.name} {what} raised {type(exc).__name__} in jax: {text}"
        )

    def _array(self, out: Any, what: str) -> Array:
        if not isinstance(out, np.ndarray):
            raise FrameworkFailure(
                "type",
                f"{self.name}: {what} is {type(out).__name__}, expected an array"
                + (
                    " (the harness verifies functions of one output)"
                    if isinstance(out, tuple)
                    else ""
                ),
            )
        return np.array(out, copy=True)

    def forward(self, *arrays: Array) -> Array:
        """``forward(*inputs) -> output`` on numpy arrays."""
        return self._array(self._call("forward", self._forward, arrays), "forward's output")

    def vjp(self, *args: Array) -> Any:
        """``vjp(*inputs, output, d_output)``: one gradient per differentiable input."""
        n = len(self.inputs)
        arrays, d_out = args[:n], args[n + 1]
        cot = self._call("vjp", self._vjp, arrays, np.asarray(d_out))
        grads = [
            self._array(c, f"the gradient for {self.inputs[i]!r}")
            for i, c in zip(self.diff, cot, strict=True)
        ]
        for i, gr in zip(self.diff, grads, strict=True):
            want = np.asarray(arrays[i]).shape
            if gr.shape != want:
                raise FrameworkFailure(
                    "shape",
                    f"{self.name}: the gradient for {self.inputs[i]!r} has "
                    f"{shape_mismatch(gr.shape, want)}",
                )
        return grads[0] if len(grads) == 1 else tuple(grads)

    def jvp(self, *args: Array) -> Array:
        """``jvp(*inputs, output, *tangents)``: the output's tangent."""
        n = len(self.inputs)
        arrays, tangents = args[:n], tuple(np.asarray(t) for t in args[n + 1 :])
        return self._array(self._call("jvp", self._jvp, arrays, tangents), "the JVP")

    def second_vjp(self, *args: Array) -> Array:
        """``second_vjp(*inputs, output, d_output, g)``: grad wrt Z of ``<g, vjp(Z, dA)>``."""
        n = len(self.inputs)
        if len(self.diff) != 1:
            raise FrameworkFailure(
                "raised", f"{self.name}: a second-order VJP needs exactly one differentiable input"
            )
        arrays, d_out, g = args[:n], np.asarray(args[n + 1]), np.asarray(args[n + 2])
        out = self._call("second_vjp", self._second, arrays, d_out, g)
        return self._array(out, "the second-order VJP")


def _same(f: Callable[..., Any]) -> Callable[..., Any]:
    return f


def from_jax(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    inputs: Sequence[str] = ("Z",),
    constants: Sequence[str] = (),
    shapes: str | None = None,
    jit: bool = False,
    jvp: bool = True,
    second_order: bool = True,
    **fields: Any,
) -> Spec:
    """A Spec from a jax function (``custom_vjp``, ``custom_jvp`` or plain).

    Parameters
    ----------
    fn : callable
        ``fn(*arrays) -> array``. Pass the ``custom_vjp`` object itself (not a ``jax.jit`` of
        it) so that its ``bwd`` rule can be observed; ``jit=True`` compiles instead.
    name : str, optional
        Defaults to ``fn.__name__``.
    inputs, constants, shapes
        As for a several-input Spec (one input ``"Z"`` by default: today's engine).
    jit : bool
        Compile every evaluation with ``jax.jit``.
    jvp : bool
        Provide a JVP (see the module docstring for how it is computed).
    second_order : bool
        Provide ``second_vjp`` for ``harness.second_order``.
    **fields
        Any other Spec field: ``structure``, ``kinks``, ``dtypes``, ...
    """
    if not callable(fn):
        raise SpecError(f"from_jax takes a callable; got {type(fn).__name__}.")
    nm = str(name or getattr(fn, "__name__", type(fn).__name__))
    adapter = JaxAdapter(fn, name=nm, inputs=tuple(inputs), constants=tuple(constants), jit=jit)
    kind = (
        "its custom_vjp bwd rule"
        if adapter.custom_vjp
        else ("the transpose of its custom_jvp rule" if isinstance(fn, jax.custom_jvp) else "jax")
    )
    how = (
        f"VJP: jax.vjp ({kind}); JVP: "
        + ("the VJP's transpose" if adapter.custom_vjp else "jax.jvp")
        + (" (jitted)." if jit else ".")
    )
    doc = inspect.getdoc(fn) or ""
    fields.setdefault("description", f"{doc}\n\n{how}".strip())
    spec = make_spec(
        name=nm,
        forward=adapter.forward,
        vjp=adapter.vjp,
        jvp=adapter.jvp if jvp else None,
        second_vjp=adapter.second_vjp if second_order and len(adapter.diff) == 1 else None,
        inputs=adapter.inputs,
        constants=adapter.constants,
        shapes=shapes,
        fields=fields,
    )
    object.__setattr__(spec, "adapter", adapter)
    return spec
