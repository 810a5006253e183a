"""A whole network's gradient check, from its parameter dictionary.

Students write ``params = {"W1": ..., "b1": ...}``, a ``loss(params, X, Y) -> J`` and a
``backward_propagation`` returning ``{"dW1": ..., "db1": ...}``. :func:`params_spec` turns
those into a :class:`~harness.Spec` whose inputs are the parameters (in the dictionary's order)
and the constants ``X`` and ``Y``, so every check of the harness applies, and
:func:`verify_params` runs it at the user's own point and around it, with one verdict per
parameter.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

from harness.errors import SpecError, UsageError
from harness.registry import REGISTRY, Registry
from harness.results import InputVerdict, RunResult
from harness.spec import Spec

__all__ = ["ParamsResult", "params_spec", "register_params", "verify_params"]

Array = NDArray[Any]
Loss = Callable[[dict[str, Array], Array, Array], Any]
Grads = Callable[[dict[str, Array], Array, Array], Mapping[str, Array]]


def _grad_key(grads: Mapping[str, Array], name: str) -> Array:
    """The gradient of parameter ``name``: key ``"d" + name`` (the seed's style) or ``name``."""
    for key in (f"d{name}", name):
        if key in grads:
            return grads[key]
    raise KeyError(
        f"the gradients have no entry for parameter `{name}` (looked for 'd{name}' and "
        f"'{name}'); keys returned: {sorted(grads)}"
    )


def _around(center: Array) -> Callable[[tuple[int, ...], Any], st.SearchStrategy[Array]]:
    """Points near the user's parameter, at its scale: the same shape, values moved."""
    scale = float(np.std(center)) or float(np.max(np.abs(center), initial=0.0)) or 1.0

    def strategy(shape: tuple[int, ...], dtype: Any) -> st.SearchStrategy[Array]:
        def build(seed: int) -> Array:
            rng = np.random.default_rng(seed)
            moved = center + 0.5 * scale * rng.standard_normal(center.shape)
            return np.asarray(moved, dtype=dtype)

        return st.one_of(
            st.just(np.asarray(center, dtype=dtype)), st.integers(0, 2**32 - 1).map(build)
        )

    return strategy


def _fixed(value: Array) -> Callable[[tuple[int, ...], Any], st.SearchStrategy[Array]]:
    def strategy(shape: tuple[int, ...], dtype: Any) -> st.SearchStrategy[Array]:
        return st.just(np.asarray(value, dtype=dtype))

    return strategy


def _validate(params: Any, X: Any, Y: Any) -> dict[str, Array]:
    if not isinstance(params, Mapping) or not params:
        raise UsageError(
            f"params must be a non-empty dict of parameter name to numpy array (e.g. "
            f"{{'W1': ..., 'b1': ...}}); got {type(params).__name__}."
        )
    out: dict[str, Array] = {}
    for k, v in params.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise UsageError(f"parameter names must be identifiers like 'W1'; got {k!r}.")
        if not isinstance(v, np.ndarray) or not np.issubdtype(v.dtype, np.floating):
            raise UsageError(
                f"parameter `{k}` must be a floating numpy array; got {type(v).__name__}"
                + (f" of dtype {v.dtype}" if isinstance(v, np.ndarray) else "")
                + "."
            )
        out[k] = v
    for name, a in (("X", X), ("Y", Y)):
        if not isinstance(a, np.ndarray):
            raise UsageError(f"{name} must be a numpy array; got {type(a).__name__}.")
    clash = [k for k in out if k in ("X", "Y")]
    if clash:
        raise UsageError(f"parameters may not be called {clash}: those names are the data.")
    return out


def params_spec(
    name: str,
    loss: Loss,
    grads: Grads,
    params: Mapping[str, Array],
    X: Array,
    Y: Array,
    *,
    around: bool = True,
    dtypes: tuple[str, ...] | None = None,
    description: str = "",
) -> Spec:
    """A spec of a network's loss over its parameters, with ``grads`` as its VJP.

    Parameters
    ----------
    name : str
        The spec's name.
    loss : callable
        ``loss(params, X, Y) -> J``, a scalar.
    grads : callable
        ``grads(params, X, Y) -> {"dW1": ..., ...}`` (keys ``"d" + name`` or ``name``).
    params : dict of str to ndarray
        The parameters; their order is the order of the spec's inputs.
    X, Y : ndarray
        The data (constants: never perturbed, no gradient).
    around : bool
        Generated points are the user's parameters moved at their own scale (True), with
        the user's X and Y; otherwise only the user's point is ever used.
    dtypes : tuple of str, optional
        Dtypes to verify; the parameters' dtype by default.

    Returns
    -------
    Spec
    """
    p = _validate(params, X, Y)
    names = tuple(p)
    if len(set(names) & {"X", "Y"}):
        raise SpecError("parameters may not be called X or Y")
    shapes = ",".join("(" + ",".join(str(d) for d in a.shape) + ")" for a in (*p.values(), X, Y))

    def forward(*arrays: Array) -> Any:
        return loss(dict(zip(names, arrays[: len(names)], strict=True)), arrays[-2], arrays[-1])

    def vjp(*args: Array) -> tuple[Array, ...]:
        arrays, dJ = args[: len(names) + 2], args[-1]
        g = grads(dict(zip(names, arrays[: len(names)], strict=True)), arrays[-2], arrays[-1])
        if not isinstance(g, Mapping):
            raise TypeError(f"grads returned {type(g).__name__}, expected a dict of gradients")
        return tuple(dJ * np.asarray(_grad_key(g, n)) for n in names)

    domains: dict[str, Any] = {n: (_around(a) if around else _fixed(a)) for n, a in p.items()}
    domains["X"], domains["Y"] = _fixed(X), _fixed(Y)
    dt = dtypes or (next(iter(p.values())).dtype.name,)
    return Spec(
        name=name,
        forward=forward,
        vjp=vjp,
        inputs=(*names, "X", "Y"),
        constants=("X", "Y"),
        shapes=f"{shapes}->()",
        domains=domains,
        dtypes=dt,
        description=description or (getattr(loss, "__doc__", "") or ""),
        formula="grads(params, X, Y) against the loss's finite differences, per parameter",
    )


@dataclass(frozen=True)
class ParamsResult:
    """A network's verification: one verdict per parameter, and the runs behind them."""

    at_point: RunResult
    around: RunResult | None

    @property
    def passed(self) -> bool:
        return self.at_point.passed and (self.around is None or self.around.passed)

    @property
    def verdicts(self) -> dict[str, InputVerdict]:
        """Per parameter, the worse of its verdicts at the user's point and around it."""
        out: dict[str, InputVerdict] = {v.name: v for v in self.at_point.verdicts}
        if self.around is not None:
            for v in self.around.verdicts:
                old = out.get(v.name)
                if old is None or (old.status != "fail" and v.status == "fail"):
                    out[v.name] = v
        return out

    def summary(self) -> str:
        head = "PASSED" if self.passed else "FAILED"
        lines = [f"{head}: {self.at_point.spec}, one verdict per parameter"]
        for v in self.verdicts.values():
            lines.append(f"  {'FAIL' if v.status == 'fail' else 'ok  '}  {v.line()}")
        for run in (self.at_point, self.around):
            if run is not None and not run.passed:
                lines.append("")
                lines.append(run.summary())
        return "\n".join(lines)


def verify_params(
    loss: Loss,
    grads: Grads,
    params: Mapping[str, Array],
    X: Array,
    Y: Array,
    *,
    name: str = "network",
    max_examples: int | None = 10,
    seed: int | None = 20261128,
    **kwargs: Any,
) -> ParamsResult:
    """Check ``grads`` against ``loss`` for every entry of every parameter.

    Runs every check at the user's own parameters and data, then on ``max_examples`` points
    around them (the parameters moved at their own scale; ``max_examples=0`` skips that).
    Nothing the user passed is modified.

    Examples
    --------
    >>> result = verify_params(loss, grads, params, X, Y)   # doctest: +SKIP
    >>> print(result.summary())                             # doctest: +SKIP
    """
    from harness.runner import verify, verify_at

    spec = params_spec(name, loss, grads, params, X, Y)
    p = _validate(params, X, Y)
    at = verify_at(spec, *p.values(), X, Y, **kwargs)
    around = None
    if max_examples:
        around = verify(
            spec, dtype=at.dtype, max_examples=max_examples, seed=seed, database=None, **kwargs
        )
    return ParamsResult(at, around)


def register_params(
    name: str,
    loss: Loss,
    grads: Grads,
    params: Mapping[str, Array],
    X: Array,
    Y: Array,
    *,
    registry: Registry | None = None,
    **kwargs: Any,
) -> Spec:
    """Register a network for ``make verify`` (see :func:`params_spec` for the arguments)."""
    reg = REGISTRY if registry is None else registry
    # Replay commands import the module that called us, where the network is defined.
    module = sys._getframe(1).f_globals.get("__name__")
    return reg.add(params_spec(name, loss, grads, params, X, Y, **kwargs), module=module)
