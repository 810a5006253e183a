"""Run options: one object, one table of options, one validation, the same defaults everywhere.

In process: the CLI's parser and a stand-in for pytest's config feed the same builder, and
``harness.verify`` keeps the defaults the options have.
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import harness
from harness.cli import _parser, main
from harness.errors import UsageError
from harness.options import (
    DEFAULT_PROFILE,
    DEFAULT_SEED,
    DEFAULT_TIMEOUT,
    OPTIONS,
    RunOptions,
    from_cli,
    from_pytest,
)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_PROFILE", raising=False)
    monkeypatch.delenv("HARNESS_DATABASE", raising=False)


def _cli(*argv: str, cwd: Path | None = None) -> RunOptions:
    return from_cli(_parser().parse_args(["verify", *argv]), cwd=cwd)


class _Config:
    """What the plugin reads from pytest's config: its options as pytest parsed them."""

    def __init__(self, tmp_path: Path, **given: Any) -> None:
        parser = argparse.ArgumentParser()
        group = SimpleNamespace(addoption=parser.add_argument)
        from harness.options import add_pytest_options

        add_pytest_options(group)
        argv = []
        for key, value in given.items():
            flag = "--harness-" + key.replace("_", "-")
            if value is True:
                argv.append(flag)
            else:
                argv += [flag, str(value)]
        self.values = vars(parser.parse_args(argv))
        self.invocation_params = SimpleNamespace(dir=tmp_path)

    def getoption(self, name: str) -> Any:
        return self.values[name]


def test_verify_the_cli_and_the_plugin_have_the_same_defaults(tmp_path: Path) -> None:
    params = inspect.signature(harness.verify).parameters
    cli = _cli("--no-report")
    plugin = from_pytest(_Config(tmp_path))
    assert cli.seed == plugin.seed == params["seed"].default == DEFAULT_SEED
    assert cli.profile == plugin.profile == DEFAULT_PROFILE == "thorough"
    assert params["profile"].default is None  # resolved like the options' default
    assert cli.timeout == plugin.timeout == params["timeout"].default == DEFAULT_TIMEOUT
    assert cli.max_examples is plugin.max_examples is params["max_examples"].default is None
    assert cli.strict is plugin.strict is params["strict"].default is False
    # Nothing kept without a report, the same for the library call.
    assert cli.database is plugin.database is params["database"].default is None
    assert params["results_path"].default is None
    # And verify() does use that profile: its rerun command says which one ran.
    run = harness.verify("relu", max_examples=1)
    assert f"--profile {DEFAULT_PROFILE}" in run.replay and f"--seed {DEFAULT_SEED}" in run.replay


def test_harness_profile_sets_every_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_PROFILE", "quick")
    assert _cli().profile == from_pytest(_Config(tmp_path)).profile == RunOptions().profile
    assert "--profile quick" in harness.verify("relu", max_examples=1).replay
    assert _cli("--profile", "exhaustive").profile == "exhaustive"


def test_cli_and_plugin_build_equal_options_from_the_same_settings(tmp_path: Path) -> None:
    (tmp_path / "my_layers.py").write_text("")
    cli = _cli(
        "--profile", "quick", "--seed", "7", "--max-examples", "3", "--strict",
        "--timeout", "5", "--spec", "a", "--dtype", "float32", "--module", "my_layers.py",
        "--module", "pkg.mod", "--with-default-specs", "--report-dir", "rep", "--no-html",
        "--splits", "2", "--group", "2", cwd=tmp_path,
    )  # fmt: skip
    plugin = from_pytest(
        _Config(
            tmp_path, profile="quick", seed=7, max_examples=3, strict=True, timeout=5,
            spec="a", dtype="float32", module="my_layers.py", with_default_specs=True,
            report="rep", no_html=True, splits=2, group=2,
        )
    )  # fmt: skip
    # --module pkg.mod has no pytest twin in this call; compare the rest.
    assert cli.with_(modules=cli.modules[:1]) == plugin
    assert cli.modules == (str(tmp_path / "my_layers.py"), "pkg.mod")  # paths made absolute
    assert cli.report_dir == str(tmp_path / "rep")
    assert cli.results_path == str(tmp_path / "rep" / "results.json")
    # The counterexample store sits beside the report directory, not in the cwd.
    assert cli.database == str(tmp_path / ".hypothesis" / "harness")
    assert cli.verify_kwargs() == plugin.verify_kwargs()


def test_random_seed_jobs_auto_and_the_database_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _cli("--seed", "random").seed is None
    assert _cli("-j", "auto").jobs >= 1
    assert _cli("--jobs", "3").jobs == 3
    assert _cli("--database", "none").database is None
    assert _cli("--database", "db", cwd=tmp_path).database == str(tmp_path / "db")
    assert _cli("--no-report").database is None
    here = _cli("--report-dir", ".", cwd=tmp_path).database
    assert here == str(tmp_path.resolve() / ".hypothesis" / "harness")
    monkeypatch.setenv("HARNESS_DATABASE", str(tmp_path / "cache"))
    assert _cli().database == str(tmp_path / "cache")
    assert from_pytest(_Config(tmp_path)).database == str(tmp_path / "cache")


CLI_ERRORS = {
    "max-examples": (("--max-examples", "0"), "--max-examples must be at least 1; got 0."),
    "timeout": (("--timeout", "-1"), "--timeout must be positive"),
    "jobs": (("-j", "0"), "--jobs must be at least 1 (or 'auto', one per core); got 0."),
    "group": (("--splits", "2", "--group", "3"), "--group must be between 1 and --splits (2)"),
    "splits": (("--splits", "0"), "--splits must be at least 1"),
    "profile": (("--profile", "slow"), "--profile (or $HARNESS_PROFILE): invalid choice: 'slow'"),
    "dtype": (("--dtype", "float128"), "--dtype: invalid choice: 'float128'; choose from"),
    "no-report-no-html": (("--no-report", "--no-html"), "contradict each other"),
    "default-specs": (("--no-default-specs",), "--no-default-specs leaves nothing to verify"),
}


@pytest.mark.parametrize(("argv", "message"), CLI_ERRORS.values(), ids=list(CLI_ERRORS))
def test_one_validation_names_the_cli_option(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError) as info:
        _cli(*argv)
    assert message in str(info.value)


PLUGIN_ERRORS = {
    "max-examples": ({"max_examples": 0}, "--harness-max-examples must be at least 1"),
    "group": ({"splits": 2, "group": 3}, "--harness-group must be between 1 and --harness-splits"),
    "profile": ({"profile": "slow"}, "--harness-profile (or $HARNESS_PROFILE): invalid choice"),
    "timeout": ({"timeout": 0}, "--harness-timeout must be positive"),
    "no-html": ({"no_html": True}, "--harness-no-html asks for results.json only"),
}


@pytest.mark.parametrize(("given", "message"), PLUGIN_ERRORS.values(), ids=list(PLUGIN_ERRORS))
def test_one_validation_names_the_plugin_option(
    tmp_path: Path, given: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as info:
        from_pytest(_Config(tmp_path, **given))
    assert message in str(info.value)


def test_options_made_in_python_are_validated_too() -> None:
    with pytest.raises(UsageError, match="max_examples must be at least 1"):
        RunOptions(max_examples=0)
    with pytest.raises(UsageError, match="report_dir must be an absolute path"):
        RunOptions(report_dir="reports")


def test_every_option_of_every_subcommand_has_a_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        for action in parser._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)
    with pytest.raises(SystemExit) as info:
        main(["list", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for piece in ("--module MODULE_OR_FILE", "file path", "--with-default-specs", "--spec NAME"):
        assert piece in out


def test_every_run_option_is_in_the_one_table() -> None:
    # Both front ends are generated from OPTIONS; every field but `origin` comes from it.
    dests = {o.dest for o in OPTIONS}
    fields = set(inspect.signature(RunOptions).parameters) - {"origin"}
    assert fields - {"html"} <= dests and "no_html" in dests
    pytest_flags = [o.pytest for o in OPTIONS if o.pytest]
    assert len(pytest_flags) == len(set(pytest_flags))
    assert all(f.startswith("--harness-") for f in pytest_flags)
