"""The registry of specs that ``make verify``, the CLI and the pytest plugin all read."""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar, overload

from harness.errors import HarnessError, RegistryError, SpecError, UsageError
from harness.spec import Spec

__all__ = [
    "BUNDLED_MODULES",
    "REGISTRY",
    "Registry",
    "import_spec_module",
    "is_bundled",
    "load_modules",
    "looks_like_path",
    "register",
    "select_specs",
]

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


BUNDLED_MODULES = ("specs",)


def is_bundled(module: str | None) -> bool:
    """Whether ``module`` is (part of) the bundled ``specs`` package of seed specs."""
    return bool(module) and any(
        module == b or str(module).startswith(b + ".") for b in BUNDLED_MODULES
    )


def looks_like_path(text: str) -> bool:
    """Whether a ``--module`` value is a file path (``my_layers.py``, ``./pkg/x``) not a name."""
    seps = [os.sep, *([os.altsep] if os.altsep else []), "/"]
    return text.endswith(".py") or any(sep in text for sep in seps) or text.startswith("~")


def _module_for_path(text: str, base: Path) -> tuple[str, Path]:
    """The dotted name under which file (or package directory) ``text`` is imported.

    A file inside packages (directories with ``__init__.py``) is imported as their submodule,
    with the directory above the outermost package on ``sys.path``, so that its own relative
    and sibling imports work; a plain file is imported by its stem with its directory on
    ``sys.path``.
    """
    path = (base / os.path.expanduser(text)).resolve()
    if path.is_dir():
        if not (path / "__init__.py").is_file():
            raise UsageError(
                f"Cannot import spec module {text!r}: {path} is a directory without "
                f"__init__.py. Give the .py file that registers the specs."
            )
        path = path / "__init__.py"
    if not path.is_file():
        raise UsageError(
            f"Cannot import spec module {text!r}: there is no file {path}. Give a .py file "
            f"path (relative to {base}) or a dotted module name."
        )
    if path.suffix != ".py":
        raise UsageError(
            f"Cannot import spec module {text!r}: {path} is not a .py file. Give a Python "
            f"file or a dotted module name."
        )
    parts = [] if path.stem == "__init__" else [path.stem]
    root = path.parent
    while (root / "__init__.py").is_file() and root != root.parent:
        parts.insert(0, root.name)
        root = root.parent
    name = ".".join(parts)
    if not parts or not all(p.isidentifier() for p in parts):
        raise UsageError(
            f"Cannot import spec module {text!r}: {name!r} is not a valid module name; "
            f"rename the file to a Python identifier (letters, digits, underscores)."
        )
    loaded = sys.modules.get(name)
    loaded_file = getattr(loaded, "__file__", None)
    if loaded is not None and loaded_file and Path(loaded_file).resolve() != path:
        raise UsageError(
            f"Cannot import spec module {text!r} as {name!r}: a different module of that name "
            f"is already imported from {loaded_file}. Rename the file."
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return name, path


def _where(exc: BaseException) -> str:
    """`` (file, line N)`` of the innermost frame outside the import machinery."""
    tb = exc.__traceback__
    found = ""
    while tb is not None:
        code = tb.tb_frame.f_code.co_filename
        if not code.startswith("<frozen") and "importlib" not in code:
            found = f" ({code}, line {tb.tb_lineno})"
        tb = tb.tb_next
    return found


def import_spec_module(text: str, base: str | os.PathLike[str] | None = None) -> str:
    """Import one spec module, a dotted name or a file path; return its module name.

    Raises
    ------
    UsageError
        The module cannot be found (named, with where it was looked for), or it was found and
        failed while importing: one of its own imports is missing (that import is named), or
        its code raised (the error and the line).
    """
    where = Path(base) if base is not None else Path.cwd()
    if looks_like_path(text):
        name, _ = _module_for_path(text, where)
    else:
        name = text
        if str(where) not in sys.path:
            sys.path.insert(0, str(where))  # a module of the user's, beside them
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not missing or name == missing or name.startswith(missing + "."):
            raise UsageError(
                f"Cannot import spec module {text!r}: no module named {missing or name!r} in "
                f"{where} or the installed packages. Give a dotted module name importable "
                f"from the current directory (my_layers for my_layers.py) or a file path "
                f"(my_layers.py, ./pkg/my_layers.py)."
            ) from None
        raise UsageError(
            f"{text} imports `{missing}`, which is not installed: ModuleNotFoundError: "
            f"{exc}{_where(exc)}. Install it into this Python ({sys.executable}) or correct "
            f"the import."
        ) from None
    except ImportError as exc:
        raise UsageError(
            f"{text} was found, but one of its imports failed: ImportError: {exc}{_where(exc)}."
        ) from None
    except HarnessError as exc:
        raise UsageError(f"In spec module {text!r}: {exc}") from exc
    except Exception as exc:  # the user's module may fail in any way while importing
        raise UsageError(
            f"Importing spec module {text!r} failed: {type(exc).__name__}: {exc}{_where(exc)}"
        ) from exc
    return name


def load_modules(
    modules: Iterable[str], *, base: str | os.PathLike[str] | None = None
) -> list[str]:
    """Import spec modules (dotted names or file paths) whose import registers specs.

    Parameters
    ----------
    modules : iterable of str
        Dotted module names (importable from ``base`` or the installed packages) or paths of
        ``.py`` files (relative to ``base``).
    base : path, optional
        The directory relative names resolve from; the current directory by default.

    Returns
    -------
    list of str
        The names of the specs these modules registered (their own, and those of modules they
        import, the bundled seed specs aside unless a bundled module was named), in
        registration order.

    Raises
    ------
    UsageError
        A module cannot be imported; the message names it, or the import inside it that
        failed.
    """
    before = set(REGISTRY.names())
    names = [import_spec_module(m, base) for m in modules]
    asked_bundled = any(is_bundled(n) for n in names)

    def theirs(spec: Spec) -> bool:
        mod = REGISTRY.module_of(spec)
        if is_bundled(mod) and not asked_bundled:
            return False
        if spec.name not in before:
            return True
        return any(mod == n or str(mod).startswith(n + ".") for n in names)

    return [s.name for s in REGISTRY if theirs(s)]


def select_specs(
    specs: Iterable[str],
    modules: Iterable[str],
    *,
    with_default_specs: bool = False,
    base: str | os.PathLike[str] | None = None,
) -> list[Spec]:
    """The specs a run verifies: what the CLI and the pytest plugin both select.

    The modules are imported first. Then: the specs named (a bundled spec's name loads the
    bundled specs); else the modules' own specs, plus the bundled seed specs with
    ``with_default_specs``; else, with no modules, the bundled seed specs and whatever else
    is registered.
    """
    modules = list(modules)
    wanted = list(dict.fromkeys(specs))
    own = load_modules(modules, base=base)
    need_bundled = not modules or with_default_specs or any(name not in REGISTRY for name in wanted)
    bundled: list[str] = []
    if need_bundled:
        for b in BUNDLED_MODULES:
            import_spec_module(b, base)
        bundled = [s.name for s in REGISTRY if is_bundled(REGISTRY.module_of(s))]
    if wanted:
        extra = [n for n in bundled if with_default_specs and n not in wanted]
        return REGISTRY.select(wanted + extra)
    if not modules:
        return list(REGISTRY)
    chosen = set(own) | (set(bundled) if with_default_specs else set())
    return [s for s in REGISTRY if s.name in chosen]
