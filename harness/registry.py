"""The registry of specs that ``make verify``, the CLI and the pytest plugin all read."""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

from harness.errors import HarnessError, RegistryError, SpecError, UsageError
from harness.spec import Spec

__all__ = ["REGISTRY", "Registry", "load_modules", "register"]

T = TypeVar("T")


class Registry:
    """An ordered collection of uniquely named :class:`Spec` objects."""

    def __init__(self) -> None:
        self._specs: dict[str, Spec] = {}
        self._modules: dict[str, str] = {}

    def add(self, spec: Spec, *, replace: bool = False, module: str | None = None) -> Spec:
        """Register ``spec``; a second spec with the same name is an error unless ``replace``.

        ``module`` is where the registration happened, so that a replay command can import
        it again (``--module``).
        """
        if not isinstance(spec, Spec):
            raise SpecError(f"Only Spec objects can be registered; got {type(spec).__name__}.")
        old = self._specs.get(spec.name)
        if old is not None and old is not spec and not replace:
            raise RegistryError(
                f"A spec named {spec.name!r} is already registered; choose another name "
                f"or pass replace=True."
            )
        self._specs[spec.name] = spec
        if module:
            self._modules[spec.name] = module
        return spec

    def module_of(self, spec: Spec) -> str | None:
        """The module that registered ``spec`` here, if known."""
        if self._specs.get(spec.name) is not spec:
            return None
        return self._modules.get(spec.name)

    def get(self, name: str) -> Spec:
        """The spec called ``name``; unknown names suggest close matches."""
        try:
            return self._specs[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._specs, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            known = ", ".join(self._specs) or "(none registered)"
            raise RegistryError(f"No spec named {name!r}.{hint} Registered: {known}.") from None

    def select(self, names: list[str] | None) -> list[Spec]:
        """The specs named (all when ``names`` is empty or None), in registration order."""
        if not names:
            return list(self._specs.values())
        return [self.get(n) for n in dict.fromkeys(names)]

    def remove(self, name: str) -> None:
        """Forget the spec called ``name``."""
        self.get(name)
        del self._specs[name]

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._specs)

    def __iter__(self) -> Iterator[Spec]:
        return iter(list(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs


REGISTRY = Registry()


@overload
def register(obj: Spec, /, *, registry: Registry | None = None) -> Spec: ...
@overload
def register(obj: type, /, *, registry: Registry | None = None, **fields: Any) -> Spec: ...
@overload
def register(
    obj: None = None, /, *, registry: Registry | None = None, **fields: Any
) -> Callable[[Any], Spec]: ...
def register(
    obj: Any = None, /, *, registry: Registry | None = None, **fields: Any
) -> Spec | Callable[[Any], Spec]:
    """Register a spec with the registry; usable as a call or as a decorator.

    Parameters
    ----------
    obj : Spec or class, optional
        A :class:`Spec`, or a class with static methods ``forward``/``vjp`` (and optionally
        ``jvp``/``jacobian``) and attributes for the other Spec fields.
    registry : Registry, optional
        Where to register; the global registry by default.
    **fields
        Spec fields overriding the class's attributes (decorator form).

    Returns
    -------
    Spec
        The registered spec (the decorator form returns it too, bound to the class's name).

    Examples
    --------
    >>> register(Spec(name="square", forward=lambda Z: Z * Z,
    ...               vjp=lambda Z, A, dA: 2 * Z * dA, structure="elementwise"),
    ...          registry=Registry()).name
    'square'
    """
    reg = REGISTRY if registry is None else registry
    # The module calling register(), both as a call and as a decorator: replay commands
    # name it with --module so that the spec exists again in a new process.
    caller = sys._getframe(1).f_globals.get("__name__")

    def _do(target: Any) -> Spec:
        if isinstance(target, Spec):
            if fields:
                raise UsageError("register(spec) takes no extra fields; set them on the Spec.")
            return reg.add(target, module=caller)
        return reg.add(Spec.from_object(target, **fields), module=caller)

    if obj is None:
        return _do
    return _do(obj)


def load_modules(modules: list[str]) -> None:
    """Import modules (dotted names) whose import registers specs.

    Raises
    ------
    UsageError
        A module cannot be imported; the message names it and the import error.
    """
    for mod in modules:
        try:
            importlib.import_module(mod)
        except ImportError as exc:
            raise UsageError(
                f"Cannot import spec module {mod!r}: {exc}. Give a dotted module name "
                f"importable from the current directory or the installed packages."
            ) from None
        except HarnessError as exc:
            raise UsageError(f"In spec module {mod!r}: {exc}") from exc
        except Exception as exc:  # the user's module may fail in any way while importing
            raise UsageError(
                f"Importing spec module {mod!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
