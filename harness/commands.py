"""The commands printed to reproduce a run (``rerun``) and a check on its input (``replay``).

They must work where they are pasted: in another shell, in another directory. So they name
the interpreter by its absolute path (``sys.executable``: the one with the harness and the
user's dependencies installed), the results file by its absolute path, and the module that
registered the spec so that a new process finds it from any directory: by absolute file path,
or by dotted name when it is installed. A spec of the bundled ``specs`` package needs no
module; a spec no command line can find (defined in an interactive session, never registered)
gets the Python call that reproduces it instead.
"""

from __future__ import annotations

import shlex
import sys
import sysconfig
from pathlib import Path

from harness.registry import REGISTRY, is_bundled
from harness.spec import Spec

__all__ = ["harness_command", "module_argument", "replay_command", "rerun_command"]


def harness_command() -> str:
    """``/abs/path/python -m harness``: the harness of this interpreter, from anywhere."""
    return f"{shlex.quote(sys.executable or 'python3')} -m harness"


def quote_name(name: str) -> str:
    """A spec name as one shell word, always in single quotes (``'sigmoid'``)."""
    return "'" + name.replace("'", "'\"'\"'") + "'"


def _installed(path: Path) -> bool:
    """Whether ``path`` lies in this interpreter's installed packages."""
    roots = {sysconfig.get_paths().get(k) for k in ("purelib", "platlib")}
    return any(r and path.is_relative_to(Path(r).resolve()) for r in roots)


def module_argument(spec: Spec) -> str | None:
    """`` --module X`` that makes ``spec`` exist in a new process started anywhere.

    Returns ``""`` for a bundled spec (found by name), and None when no module can register
    the spec again (it was not registered, or registered by code with no file).
    """
    mod = REGISTRY.module_of(spec)
    if mod is None:
        return None
    if is_bundled(mod):
        return ""
    module = sys.modules.get(mod)
    file = getattr(module, "__file__", None)
    if not file or not str(file).endswith(".py"):
        # A namespace package or an extension: its dotted name, if installed, is all we have.
        return None if mod == "__main__" or module is None else f" --module {mod}"
    path = Path(file).resolve()
    if mod != "__main__" and _installed(path):
        return f" --module {mod}"
    return f" --module {shlex.quote(str(path))}"


def rerun_command(
    spec: Spec, dtype: str, *, seed: int, max_examples: int, profile: str, strict: bool
) -> str:
    """The command (or Python call) that repeats a ``verify`` run: same seed, same verdict."""
    module = module_argument(spec)
    if module is None:
        # Not in the registry: the command line cannot find it, the same call can.
        return (
            f"harness.verify(spec, dtype=np.{dtype}, seed={seed}, "
            f"max_examples={max_examples}, profile={profile!r}"
            + (", strict=True" if strict else "")
            + ")"
        )
    return (
        f"{harness_command()} verify --spec {quote_name(spec.name)} --dtype {dtype} "
        f"--seed {seed} --max-examples {max_examples} --profile {profile}"
        + (" --strict" if strict else "")
        + " --no-report"
        + module
    )


def replay_command(
    spec: Spec, dtype: str, check: str, *, results_path: str | None, strict: bool
) -> str:
    """The command that re-runs the checks on the input recorded for ``check``.

    Empty without a results file (``verify()`` called from Python, ``--no-report``, the
    pytest plugin without ``--harness-report``): there is no recorded input to read, and the
    run's rerun command reproduces the failure from its seed.
    """
    module = module_argument(spec)
    if module is None:
        return "harness.verify_at(spec, Z, layout=...) with Z and the layout shown above"
    if results_path is None:
        return ""
    results = shlex.quote(str(Path(results_path).resolve()))
    return (
        f"{harness_command()} replay {results} --spec {quote_name(spec.name)} --dtype {dtype} "
        f"--check {check}" + (" --strict" if strict else "") + module
    )
