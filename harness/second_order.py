"""Second derivatives: the VJP itself as a spec, verified like any other.

For a spec with one differentiable input ``Z``, :func:`second_order` builds the spec of
``(Z, dA) -> vjp(Z, forward(Z), dA)``. Its own VJP, for a cotangent ``g`` of ``Z``'s shape, is

* with respect to ``Z``: ``second_vjp(Z, A, dA, g)``, the gradient of ``<g, vjp(Z, A(Z), dA)>``
  (registered by the spec, or built by an adapter from the framework's double backward);
* with respect to ``dA``: ``jvp(Z, A, g)``, since the VJP is linear in ``dA`` with matrix
  ``J^T``.

Its JVP follows from the same two pieces: ``vjp(Z, dA)`` is the gradient of the scalar
``phi(Z) = <dA, f(Z)>``, so its derivative in ``Z`` is phi's Hessian, which is symmetric, and
``second_vjp`` applied to a tangent gives it.
"""

from __future__ import annotations

from typing import Any

from harness.errors import SpecError
from harness.spec import Spec

__all__ = ["second_order"]


def _fmt(dims: tuple[Any, ...]) -> str:
    return "(" + ",".join(str(d) for d in dims) + ")"


def _one(g: Any) -> Any:
    return g[0] if isinstance(g, tuple) and len(g) == 1 else g


def second_order(spec: Spec, *, name: str | None = None) -> Spec:
    """The spec of ``spec``'s VJP as a function of (inputs, cotangent).

    Parameters
    ----------
    spec : Spec
        A spec with one differentiable input, a ``jvp`` and a ``second_vjp``.
    name : str, optional
        Defaults to ``"<spec name>''"`` (two primes: the second derivative).

    Returns
    -------
    Spec
        Inputs ``(*spec.inputs, "d" + output name)``; verified with every check.
    """
    if len(spec.diff_inputs) != 1:
        raise SpecError(
            f"second_order({spec.name!r}): the spec has {len(spec.diff_inputs)} "
            f"differentiable inputs; second_order needs exactly one."
        )
    missing = [a for a in ("second_vjp", "jvp") if getattr(spec, a) is None]
    if missing:
        raise SpecError(
            f"second_order({spec.name!r}): the spec has no {' and no '.join(missing)}; "
            f"register second_vjp(*inputs, output, d_output, g) and jvp(*inputs, output, "
            f"tangent) (adapted torch/JAX specs get both from the framework)."
        )
    n_in = len(spec.inputs)
    z = spec.diff_inputs[0]
    d_out = "dA" if spec.inputs == ("Z",) else "d_output"
    if d_out in spec.inputs:
        d_out = "d_" + d_out
    sig = spec.signature
    z_dims = sig.inputs[spec.inputs.index(z)]
    shapes = ",".join(_fmt(d) for d in (*sig.inputs, sig.output)) + "->" + _fmt(z_dims)
    label = spec.structures[z].name
    same = z_dims == sig.output and label in ("elementwise", "columnwise", "rowwise")
    structure = {z: label, d_out: label} if same else "dense"

    def forward(*args: Any) -> Any:
        xs, dA = args[:n_in], args[n_in]
        return _one(spec.vjp(*xs, spec.forward(*xs), dA))

    def vjp(*args: Any) -> tuple[Any, Any]:
        xs, dA, g = args[:n_in], args[n_in], args[n_in + 2]
        A = spec.forward(*xs)
        assert spec.second_vjp is not None and spec.jvp is not None
        return _one(spec.second_vjp(*xs, A, dA, g)), spec.jvp(*xs, A, g)

    def jvp(*args: Any) -> Any:
        xs, dA = args[:n_in], args[n_in]
        tz, tdA = args[n_in + 2], args[n_in + 3]
        A = spec.forward(*xs)
        assert spec.second_vjp is not None
        return _one(spec.second_vjp(*xs, A, dA, tz)) + _one(spec.vjp(*xs, A, tdA))

    return Spec(
        name=name or f"{spec.name}''",
        forward=forward,
        vjp=vjp,
        jvp=jvp,
        inputs=(*spec.inputs, d_out),
        constants=spec.constants,
        shapes=shapes,
        domains=dict(spec.domains),
        structure=structure,
        dtypes=spec.dtypes,
        max_abs_input=spec.max_abs_input,
        min_rows=spec.min_rows,
        equations=spec.equations,
        formula=f"second derivative of {spec.name}: d/dZ <g, vjp(Z, dA)> and J g",
        description=f"The VJP of {spec.name!r} as a function of its input and cotangent.",
    )
