"""Run options: one object for ``python -m harness verify``, the pytest plugin and ``verify()``.

:class:`RunOptions` holds every setting of a verification run. The command line builds it from
its arguments (:func:`from_cli`), the pytest plugin from its ``--harness-*`` options
(:func:`from_pytest`); both sets of options are generated from the one table below
(:data:`OPTIONS`), so a flag, its default and its help text are written once. Every value is
checked by :func:`validate`, the one place that knows what is allowed, and a bad one is a
:class:`~harness.errors.UsageError` that names the option as the user spelled it.

``verify()`` takes the same settings as keyword arguments with the same defaults
(:data:`DEFAULT_SEED`, :func:`default_profile`, :data:`DEFAULT_TIMEOUT`).

Defaults
--------
profile
    ``$HARNESS_PROFILE`` if set, else ``thorough``: the same for ``verify()``, the CLI and the
    pytest plugin.
seed
    :data:`DEFAULT_SEED`, a fixed seed, so a run gives the same result every time.
database
    Where the last counterexample of each spec and dtype is kept (an exploring run,
    ``--seed random``, tries it first): ``$HARNESS_DATABASE`` if set (``none`` keeps nothing),
    else ``.hypothesis/harness`` beside the report directory when a report is written, else
    nowhere. ``verify()`` called from Python keeps nothing unless given ``database=``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from harness.errors import UsageError
from harness.profiles import PROFILES
from harness.spec import SUPPORTED_DTYPES

__all__ = [
    "DATABASE_ENV",
    "DEFAULT_PROFILE",
    "DEFAULT_SEED",
    "DEFAULT_TIMEOUT",
    "OPTIONS",
    "PROFILE_ENV",
    "RunOptions",
    "add_cli_options",
    "add_pytest_options",
    "check_report_dir",
    "default_profile",
    "flag",
    "from_cli",
    "from_pytest",
    "validate",
]

DEFAULT_SEED = 20261128
DEFAULT_PROFILE = "thorough"
DEFAULT_TIMEOUT = 60.0
PROFILE_ENV = "HARNESS_PROFILE"
DATABASE_ENV = "HARNESS_DATABASE"
RANDOM = "random"  # --seed random
AUTO = "auto"  # --jobs auto
NONE = "none"  # --database none
RESULTS_FILE = "results.json"

Origin = Literal["python", "cli", "pytest"]


def default_profile() -> str:
    """``$HARNESS_PROFILE`` if set, else :data:`DEFAULT_PROFILE` (``thorough``)."""
    return os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE


@dataclass(frozen=True)
class RunOptions:
    """Every setting of a verification run, validated when made.

    Attributes
    ----------
    profile : str
        quick, thorough or exhaustive (sizes, example counts, directions).
    seed : int or None
        Generation seed; None draws a new one per run (an exploring run).
    max_examples : int or None
        Generated inputs per spec and dtype; None takes the profile's.
    strict : bool
        Drop the output-scale rounding allowance.
    timeout : float
        Seconds one call of a function under test may take.
    specs : tuple of str
        Spec names to verify; empty: the user's modules' specs, or the bundled ones.
    dtypes : tuple of str
        Only these dtypes; empty: each spec's own.
    modules : tuple of str
        Spec modules to import: dotted names, or ``.py`` file paths (made absolute).
    with_default_specs : bool
        Also verify the bundled seed specs when ``modules`` are given.
    report_dir : str or None
        Absolute path of the report directory; None writes no report.
    html : bool
        Write the HTML report beside results.json.
    jobs : int
        Worker processes for the spec x dtype runs (the CLI's ``-j``).
    splits, group : int
        Run shard ``group`` of ``splits`` (1-based, round robin over the runs).
    database : str or None
        Absolute path of the counterexample store; None keeps nothing.
    quiet : bool
        Print failures only.
    origin : {"python", "cli", "pytest"}
        Who built the options: error messages name the options as that caller spells them.
    """

    profile: str = field(default_factory=default_profile)
    seed: int | None = DEFAULT_SEED
    max_examples: int | None = None
    strict: bool = False
    timeout: float = DEFAULT_TIMEOUT
    specs: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    with_default_specs: bool = False
    report_dir: str | None = None
    html: bool = True
    jobs: int = 1
    splits: int = 1
    group: int = 1
    database: str | None = None
    quiet: bool = False
    origin: Origin = field(default="python", compare=False)

    def __post_init__(self) -> None:
        validate(self)

    @property
    def results_path(self) -> str | None:
        """Absolute path of the results file the report writes (None: no report)."""
        if self.report_dir is None:
            return None
        return str(Path(self.report_dir) / RESULTS_FILE)

    def verify_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``harness.verify`` these options stand for."""
        return {
            "profile": self.profile,
            "seed": self.seed,
            "max_examples": self.max_examples,
            "strict": self.strict,
            "timeout": self.timeout,
            "database": self.database,
            "results_path": self.results_path,
        }

    def settings(self, dtypes: list[str]) -> dict[str, Any]:
        """The results document's settings, the same for the CLI and the pytest plugin."""
        from harness.report.document import run_settings

        return run_settings(
            profile=self.profile,
            seed=self.seed,
            max_examples=self.max_examples,
            dtypes=dtypes,
            strict=self.strict,
            group=self.group,
            splits=self.splits,
        )

    def with_(self, **changes: Any) -> RunOptions:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


# -- the options, once for both front ends --------------------------------------------------
@dataclass(frozen=True)
class Option:
    """One run option: its command-line and pytest spellings, argparse keywords and help.

    ``cli`` is empty for an option the command line does not have (and ``pytest`` None for
    one the plugin does not have). ``kwargs`` go to ``argparse.add_argument`` and to pytest's
    ``addoption`` alike; ``cli_kwargs``/``pytest_kwargs`` override them for one front end.
    """

    dest: str
    cli: tuple[str, ...]
    pytest: str | None
    help: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    cli_kwargs: Mapping[str, Any] = field(default_factory=dict)
    pytest_kwargs: Mapping[str, Any] = field(default_factory=dict)
    commands: tuple[str, ...] = ("verify",)  # CLI subcommands that take it


def _seed(text: str) -> int | str:
    if text == RANDOM:
        return RANDOM
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'random', got {text!r}") from None


def _jobs(text: str) -> int | str:
    if text == AUTO:
        return AUTO
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'auto', got {text!r}") from None


_PROFILES = ", ".join(PROFILES)
_DTYPES = ", ".join(SUPPORTED_DTYPES)

OPTIONS: tuple[Option, ...] = (
    Option(
        "specs",
        ("--spec",),
        "--harness-spec",
        "only this spec (repeatable); naming a bundled spec (relu, sigmoid, tanh, "
        "softmax) loads the bundled specs. Default: the specs registered by --module, or the "
        "bundled specs when no module is given",
        {"action": "append", "default": [], "metavar": "NAME"},
        commands=("verify", "list"),
    ),
    Option(
        "dtypes",
        ("--dtype",),
        "--harness-dtype",
        f"verify only this dtype (repeatable; one of {_DTYPES}). Default: each spec's own",
        {"action": "append", "default": [], "metavar": "DTYPE"},
    ),
    Option(
        "modules",
        ("--module",),
        "--harness-module",
        "import this spec module and verify the specs it registers (repeatable): a dotted "
        "name importable from the current directory or the installed packages (my_layers, "
        "pkg.my_layers), or a file path (my_layers.py, ./pkg/my_layers.py). Its specs run "
        "alone unless --spec or --with-default-specs asks for the bundled ones",
        {"action": "append", "default": [], "metavar": "MODULE_OR_FILE"},
        commands=("verify", "list"),
    ),
    Option(
        "with_default_specs",
        ("--with-default-specs",),
        "--harness-with-default-specs",
        "with --module, also verify the bundled seed specs (relu, sigmoid, tanh, softmax)",
        {"action": "store_true", "default": False},
        commands=("verify", "list"),
    ),
    Option(
        "no_default_specs",
        ("--no-default-specs",),
        None,
        "do not verify the bundled seed specs (the default when --module is given; kept for "
        "old scripts)",
        {"action": "store_true", "default": False},
        commands=("verify", "list"),
    ),
    Option(
        "profile",
        ("--profile",),
        "--harness-profile",
        f"how thoroughly to verify: one of {_PROFILES} (default: ${PROFILE_ENV} if set, "
        f"else {DEFAULT_PROFILE}; the same default as harness.verify())",
        {"default": None, "metavar": "NAME"},
    ),
    Option(
        "max_examples",
        ("--max-examples",),
        "--harness-max-examples",
        "generated inputs per spec and dtype (default: the profile's: "
        + ", ".join(f"{p.name} {p.max_examples}" for p in PROFILES.values())
        + ")",
        {"type": int, "default": None, "metavar": "N"},
    ),
    Option(
        "seed",
        ("--seed",),
        "--harness-seed",
        f"generation seed (default: {DEFAULT_SEED}, fixed, so a run is reproducible; the same "
        "as harness.verify()); 'random' explores with a new seed and first retries the kept "
        "counterexamples",
        {"type": _seed, "default": None, "metavar": "N|random"},
    ),
    Option(
        "strict",
        ("--strict",),
        "--harness-strict",
        "flag rounding-limited derivatives (drop the output-scale rounding allowance)",
        {"action": "store_true", "default": False},
    ),
    Option(
        "timeout",
        ("--timeout",),
        "--harness-timeout",
        f"time limit of one call of a function under test (default {DEFAULT_TIMEOUT:g})",
        {"type": float, "default": DEFAULT_TIMEOUT, "metavar": "SECONDS"},
    ),
    Option(
        "report_dir",
        ("--report-dir",),
        "--harness-report",
        "",
        {"metavar": "DIR"},
        cli_kwargs={
            "default": "reports",
            "help": "where results.json and the HTML report go (default: reports)",
        },
        pytest_kwargs={
            "default": None,
            "help": "write results.json and the HTML report of the verified runs into DIR",
        },
    ),
    Option(
        "no_report",
        ("--no-report",),
        None,
        "write no report files",
        {"action": "store_true", "default": False},
    ),
    Option(
        "no_html",
        ("--no-html",),
        "--harness-no-html",
        "write results.json only, no HTML",
        {"action": "store_true", "default": False},
    ),
    Option(
        "database",
        ("--database",),
        "--harness-database",
        f"where failing inputs are kept between runs ('{NONE}': nowhere). Default: "
        f"${DATABASE_ENV} if set, else .hypothesis/harness beside the report directory, "
        "else nowhere",
        {"default": None, "metavar": "DIR"},
    ),
    Option(
        "jobs",
        ("-j", "--jobs"),
        None,
        "spread the spec x dtype runs over N worker processes ('auto': one per core); the "
        "results are the same as with -j 1 (default: 1)",
        {"type": _jobs, "default": 1, "metavar": "N"},
    ),
    Option(
        "splits",
        ("--splits",),
        "--harness-splits",
        "split the spec x dtype runs into N shards (round robin) ...",
        {"type": int, "default": 1, "metavar": "N"},
    ),
    Option(
        "group",
        ("--group",),
        "--harness-group",
        "... and verify shard K (1-based); merge the shards' results with "
        "`python -m harness report --merge`",
        {"type": int, "default": 1, "metavar": "K"},
    ),
    Option(
        "quiet",
        ("-q", "--quiet"),
        None,
        "print failures only",
        {"action": "store_true", "default": False},
    ),
)

_BY_DEST = {o.dest: o for o in OPTIONS}
# Fields whose option has another name (or is made of two options).
_FIELD_OPTION = {"html": "no_html", "with_default_specs": "with_default_specs"}


def flag(name: str, origin: Origin) -> str:
    """How ``origin`` spells the option of field (or option) ``name``."""
    opt = _BY_DEST.get(_FIELD_OPTION.get(name, name))
    if origin == "cli" and opt is not None and opt.cli:
        return opt.cli[-1]
    if origin == "pytest" and opt is not None and opt.pytest:
        return opt.pytest
    return name


def _cli_dest(o: Option) -> str:
    return o.dest


def _pytest_dest(o: Option) -> str:
    return f"harness_{o.dest}"


def add_cli_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Add the options of CLI subcommand ``command`` to ``parser``."""
    for o in OPTIONS:
        if not o.cli or command not in o.commands:
            continue
        kw = {"help": o.help, **o.kwargs, **o.cli_kwargs}
        parser.add_argument(*o.cli, dest=_cli_dest(o), **kw)


def add_pytest_options(group: Any) -> None:
    """Add the ``--harness-*`` options to a pytest option group."""
    for o in OPTIONS:
        if o.pytest is None:
            continue
        kw = {"help": o.help, **o.kwargs, **o.pytest_kwargs}
        group.addoption(o.pytest, dest=_pytest_dest(o), **kw)


def from_cli(args: argparse.Namespace, cwd: str | os.PathLike[str] | None = None) -> RunOptions:
    """The run options of ``python -m harness verify`` (or ``list``) from its arguments."""
    return _build(lambda dest: getattr(args, dest, None), "cli", Path(cwd or os.getcwd()))


def from_pytest(config: Any) -> RunOptions:
    """The run options of the pytest plugin from its ``--harness-*`` options."""

    def get(dest: str) -> Any:
        o = _BY_DEST[dest]
        return config.getoption(_pytest_dest(o)) if o.pytest else None

    return _build(get, "pytest", Path(config.invocation_params.dir))


def _build(get: Callable[[str], Any], origin: Origin, base: Path) -> RunOptions:
    """Raw option values to RunOptions: names resolved, relative paths made absolute."""

    def usage(dest: str, message: str) -> UsageError:
        return UsageError(f"{flag(dest, origin)} {message}")

    no_report = bool(get("no_report"))
    no_html = bool(get("no_html"))
    if no_report and no_html:
        raise UsageError(
            f"{flag('no_report', origin)} and {flag('no_html', origin)} contradict each other; "
            f"give one."
        )
    report = None if no_report else get("report_dir")
    report_dir = str((base / report).resolve()) if report else None
    seed = get("seed")
    seed = None if seed == RANDOM else DEFAULT_SEED if seed is None else seed
    jobs = get("jobs")
    if jobs == AUTO:
        jobs = os.cpu_count() or 1
    database = get("database")
    if database is None:
        database = os.environ.get(DATABASE_ENV) or None
        if database is None and report_dir is not None:
            # Beside the report directory; the report in the working directory itself keeps
            # it there, not one level up.
            beside = base.resolve() if Path(report_dir) == base.resolve() else None
            database = str((beside or Path(report_dir).parent) / ".hypothesis" / "harness")
    if database is not None and database.strip().lower() == NONE:
        database = None
    elif database is not None:
        database = str((base / database).resolve())
    modules = tuple(_module_argument(m, base) for m in get("modules") or ())
    if get("no_default_specs") and get("with_default_specs"):
        raise usage("no_default_specs", "contradicts --with-default-specs; give one.")
    if get("no_default_specs") and not modules:
        raise usage("no_default_specs", "leaves nothing to verify; give --module too.")
    return RunOptions(
        profile=get("profile") or default_profile(),
        seed=seed,
        max_examples=get("max_examples"),
        strict=bool(get("strict")),
        timeout=DEFAULT_TIMEOUT if get("timeout") is None else get("timeout"),
        specs=tuple(get("specs") or ()),
        dtypes=tuple(get("dtypes") or ()),
        modules=modules,
        with_default_specs=bool(get("with_default_specs")),
        report_dir=report_dir,
        html=not no_html,
        jobs=1 if jobs is None else jobs,
        splits=1 if get("splits") is None else get("splits"),
        group=1 if get("group") is None else get("group"),
        database=database,
        quiet=bool(get("quiet")),
        origin=origin,
    )


def _module_argument(text: str, base: Path) -> str:
    """A ``--module`` value: file paths made absolute (from ``base``), dotted names kept."""
    from harness.registry import looks_like_path

    if looks_like_path(text):
        return str((base / os.path.expanduser(text)).resolve())
    return text


def validate(opts: RunOptions) -> None:
    """Check every run option; raise UsageError naming the option and what to give instead.

    The one place that knows what is allowed: RunOptions calls it when made, whoever makes
    them (the CLI, the pytest plugin, Python code).
    """
    o = opts.origin

    def bad(name: str, message: str) -> UsageError:
        return UsageError(f"{flag(name, o)} {message}")

    if opts.profile not in PROFILES:
        env = f" (or ${PROFILE_ENV})" if o != "python" else ""
        raise UsageError(
            f"{flag('profile', o)}{env}: invalid choice: {opts.profile!r}; choose one of "
            f"{_PROFILES}."
        )
    for dt in opts.dtypes:
        if dt not in SUPPORTED_DTYPES:
            raise UsageError(f"{flag('dtypes', o)}: invalid choice: {dt!r}; choose from {_DTYPES}.")
    if opts.max_examples is not None and (
        isinstance(opts.max_examples, bool) or opts.max_examples < 1
    ):
        raise bad("max_examples", f"must be at least 1; got {opts.max_examples}.")
    if not opts.timeout > 0:
        raise bad("timeout", f"must be positive (seconds); got {opts.timeout}.")
    if opts.jobs < 1:
        raise bad("jobs", f"must be at least 1 (or 'auto', one per core); got {opts.jobs}.")
    if opts.splits < 1:
        raise bad("splits", f"must be at least 1; got {opts.splits}.")
    if not 1 <= opts.group <= opts.splits:
        raise bad(
            "group",
            f"must be between 1 and {flag('splits', o)} ({opts.splits}); got {opts.group}.",
        )
    if opts.report_dir is None and not opts.html:
        raise bad(
            "html",
            f"asks for results.json only, but no report is written without "
            f"{flag('report_dir', o)}; give both or neither.",
        )
    for m in opts.modules:
        if not m.strip():
            raise bad("modules", "is empty; give a dotted module name or a .py file path.")
    for name in ("report_dir", "database"):
        value = getattr(opts, name)
        if value is not None and not Path(value).is_absolute():
            raise bad(name, f"must be an absolute path here; got {value!r}.")


def check_report_dir(path: str | os.PathLike[str], option: str = "--report-dir") -> Path:
    """The report directory, checked to be a writable directory (UsageError if not)."""
    out = Path(path)
    probe = out if out.exists() else out.parent if str(out.parent) else Path(".")
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {out} exists and is not a directory.")
    if not probe.is_dir():
        raise UsageError(f"{option} {out}: {probe} is a file, not a directory.")
    if not os.access(probe, os.W_OK):
        raise UsageError(f"{option} {out} is not writable (checked {probe}).")
    return out


def plan_runs(specs: Iterable[Any], dtypes: Iterable[str]) -> list[tuple[Any, str]]:
    """The spec x dtype runs to make, in the order of ``specs``."""
    wanted = set(dtypes)
    return [(spec, dt) for spec in specs for dt in spec.dtypes if not wanted or dt in wanted]


def shard_runs(plan: list[Any], splits: int, group: int) -> list[Any]:
    """Shard ``group`` of ``splits`` (1-based), round robin over the plan."""
    if splits < 1 or not 1 <= group <= splits:
        raise UsageError(f"--group must be between 1 and --splits ({splits}); got {group}.")
    return [item for i, item in enumerate(plan) if i % splits == group - 1]


def plan(opts: RunOptions) -> tuple[list[Any], list[tuple[Any, str]]]:
    """Import the spec modules, select the specs and cut this shard's spec x dtype runs.

    Returns the selected specs and the runs, both in order. Raises UsageError when nothing
    is left to verify.
    """
    from harness.registry import select_specs

    specs = select_specs(opts.specs, opts.modules, with_default_specs=opts.with_default_specs)
    if not specs:
        raise UsageError(
            f"No specs to verify; give {flag('modules', opts.origin)} to import some, or "
            f"{flag('with_default_specs', opts.origin)} for the bundled ones."
        )
    runs = shard_runs(plan_runs(specs, opts.dtypes), opts.splits, opts.group)
    if not runs:
        raise UsageError(
            "Nothing to verify: none of the selected specs supports the dtypes asked for"
            + (" in this shard." if opts.splits > 1 else ".")
        )
    return specs, runs
