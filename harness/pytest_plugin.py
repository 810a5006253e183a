"""Pytest plugin: every registered spec x dtype x check becomes its own test item.

Loaded through the ``pytest11`` entry point. A test that requests the ``harness_case``
argument is parametrized over the registered specs, their dtypes and the checks, with ids
such as ``sigmoid-float64-vjp_directional``::

    def test_registered(harness_case):
        harness_case.check()

``verify`` runs every check of one spec and dtype at once, so its result is computed once per
process and shared by that run's items; under pytest-xdist (``--dist load``, the default of
``-n``, or ``loadgroup``) the plugin's scheduler sends all items of one run to one worker.
Each run's result travels to the controller (or stays in the single process) as JSON in the
call report's ``user_properties``, and only the controller writes ``--harness-report``.

Options
-------
The options are those of ``python -m harness verify`` (generated from one table,
harness.options, into one :class:`~harness.options.RunOptions`), spelled ``--harness-*``,
with the same defaults and the same selection of specs:

--harness-profile NAME     quick, thorough or exhaustive (default: $HARNESS_PROFILE, else
                           thorough, as the CLI and harness.verify())
--harness-seed N|random    generation seed (default: the CLI's fixed seed)
--harness-max-examples N   inputs per spec and dtype (default: the profile's)
--harness-spec NAME        only this spec (repeatable)
--harness-dtype DTYPE      only this dtype (repeatable)
--harness-module MODULE    a spec module, dotted name or .py file path (repeatable); its specs
                           run alone, the bundled seed specs only when named or with
                           --harness-with-default-specs
--harness-strict           drop the output-scale rounding allowance
--harness-timeout S        time limit of one call of a function under test
--harness-report DIR       write results.json and the HTML report into DIR
--harness-no-html          ... results.json only
--harness-database DIR     where failing inputs are kept (default: beside the report, or none)
--harness-splits N         split the spec x dtype runs into N shards ...
--harness-group K          ... and run shard K (1-based), the same partition as the CLI's
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from harness.checks import CHECK_NAMES
from harness.errors import HarnessError, ReportError
from harness.options import RunOptions, add_pytest_options, check_report_dir, from_pytest, plan
from harness.profiles import register_hypothesis_profiles
from harness.registry import REGISTRY
from harness.results import RunResult
from harness.spec import Spec

__all__ = ["HarnessCase"]

CASE_ARG = "harness_case"
# The name under which a run's serialized result rides in a call report's user_properties.
RUN_PROPERTY = "harness_run"
_PLUGIN_NAME = "harness-session"


class _Session:
    """The plugin's per-process state and its per-session hooks (registered in configure)."""

    def __init__(
        self,
        config: pytest.Config,
        options: RunOptions,
        plan: list[tuple[Spec, str]],
        previous_profile: str | None,
    ) -> None:
        self.config = config
        self.options = options
        self.plan = plan
        # This process's verify outcomes: a result, or the text of the error verify raised.
        self.outcomes: dict[tuple[str, str], RunResult | str] = {}
        # Results computed here and not yet attached to a report.
        self.unsent: list[tuple[str, str]] = []
        # Serialized runs received from reports (all of them on the controller or the only
        # process; a worker's own otherwise), the first one per spec x dtype.
        self.received: dict[tuple[str, str], dict[str, Any]] = {}
        self.note = ""
        self.note_is_error = False
        self.previous_profile = previous_profile

    def run(self, spec: str, dtype: str) -> RunResult:
        """The result of verifying ``spec`` in ``dtype``, computed at most once per process."""
        __tracebackhide__ = True
        key = (spec, dtype)
        outcome = self.outcomes.get(key)
        if isinstance(outcome, str):
            pytest.fail(outcome, pytrace=False)
        if outcome is None:
            from harness.runner import verify

            try:
                outcome = verify(REGISTRY.get(spec), dtype=dtype, **self.options.verify_kwargs())
            except Exception as exc:
                # The first item shows the full traceback; its siblings only the message.
                self.outcomes[key] = (
                    f"verify({spec!r}, dtype={dtype}) raised {type(exc).__name__}: {exc}"
                )
                raise
            self.outcomes[key] = outcome
            self.unsent.append(key)
        return outcome

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrize ``harness_case`` over the planned spec x dtype runs and the checks."""
        if CASE_ARG not in metafunc.fixturenames:
            return
        metafunc.parametrize(CASE_ARG, [pytest.param(c, id=c.id) for c in self.cases()])

    def cases(self) -> list[HarnessCase]:
        """One case per planned spec x dtype run and check, in the plan's order."""
        return [
            HarnessCase(spec.name, dtype, check, self)
            for spec, dtype in self.plan
            for check in CHECK_NAMES
        ]

    def case_runs(self) -> dict[str, str]:
        """Test id -> the spec x dtype run it reads, for every planned item."""
        return {c.id: f"{c.spec}-{c.dtype}" for c in self.cases()}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Attach the runs computed during this call to its report, each once."""
        report = yield
        # Only the call report: junitxml writes the teardown report's properties, and the
        # serialized runs have no place in its XML.
        if call.when == "call" and self.unsent:
            for spec, dtype in self.unsent:
                run = self.outcomes[spec, dtype]
                assert isinstance(run, RunResult)
                payload = json.dumps({"spec": spec, "run": run.to_dict()})
                report.user_properties.append((RUN_PROPERTY, payload))
            self.unsent.clear()
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect the runs that reports carry; under xdist they arrive from the workers."""
        for name, value in report.user_properties:
            if name == RUN_PROPERTY:
                d = json.loads(str(value))
                self.received.setdefault((d["spec"], d["run"]["dtype"]), d["run"])

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write ``--harness-report`` from every run received (never on an xdist worker)."""
        if self.options.report_dir is None or _is_worker(self.config):
            return
        if not self.received:
            self.note = "harness: no spec x dtype run was verified; no report written"
            return
        from harness.report.document import build_document, spec_report, write_report

        order = {(s.name, dt): i for i, (s, dt) in enumerate(self.plan)}
        keys = sorted(self.received, key=lambda k: order.get(k, len(order)))
        runs: dict[str, list[RunResult]] = {}
        for spec, dtype in keys:
            runs.setdefault(spec, []).append(RunResult.from_dict(spec, self.received[spec, dtype]))
        reports = [spec_report(REGISTRY.get(name), rs) for name, rs in runs.items()]
        doc = build_document(reports, settings=self.options.settings([dt for _, dt in keys]))
        out = Path(self.options.report_dir)
        try:
            write_report(doc, out, html=self.options.html)
        except ReportError as exc:
            self.note, self.note_is_error = f"harness: report not written: {exc}", True
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        failed = sum(1 for k in keys if not self.received[k]["passed"])
        where = out / ("index.html" if self.options.html else "results.json")
        self.note = (
            f"harness: report written to {where} ({len(keys)} spec x dtype runs, {failed} failed)"
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Say where the report went, or why it did not."""
        if self.note:
            terminalreporter.write_line(self.note, red=self.note_is_error)

    def pytest_unconfigure(self) -> None:
        """Put back the hypothesis profile (matters when pytest runs in-process repeatedly)."""
        if self.previous_profile is not None:
            hypothesis_settings.load_profile(self.previous_profile)


@dataclass(frozen=True, eq=False)
class HarnessCase:
    """One check of one registered spec in one dtype: the value of ``harness_case``.

    Attributes
    ----------
    spec : str
        The spec's registered name.
    dtype : str
        The dtype the implementation runs in.
    check_name : str
        One of ``harness.checks.CHECK_NAMES``.
    """

    spec: str
    dtype: str
    check_name: str
    _session: _Session = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        """The test id, ``<spec>-<dtype>-<check>``."""
        return f"{self.spec}-{self.dtype}-{self.check_name}"

    def result(self) -> RunResult:
        """The run of all checks of this spec and dtype (shared with the sibling items).

        Returns
        -------
        RunResult
        """
        __tracebackhide__ = True
        return self._session.run(self.spec, self.dtype)

    def check(self) -> None:
        """Pass, fail or skip as this check's verdict says.

        Raises
        ------
        AssertionError
            The check failed; the message names the check, the (shrunk) input, expected and
            got, the error in units of tolerance, and the commands that replay it.
        """
        __tracebackhide__ = True
        run = self.result()
        verdict = run[self.check_name]
        if verdict.status == "skip":
            pytest.skip(f"{self.id}: {verdict.message}")
        if not verdict.passed:
            # A run holding only this check reuses RunResult's wording of a failure.
            one = RunResult(
                spec=run.spec,
                dtype=run.dtype,
                checks=(verdict,),
                examples=run.examples,
                seed=run.seed,
                replay=run.replay,
                strict=run.strict,
            )
            raise AssertionError(one.summary())


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--harness-*`` options (the same table as the CLI's, harness.options)."""
    add_pytest_options(parser.getgroup("harness", "gradient-verification harness"))


def _options(config: pytest.Config) -> RunOptions:
    try:
        return from_pytest(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None


def _plan(config: pytest.Config, opts: RunOptions) -> list[tuple[Spec, str]]:
    # The CLI's own selection, planning and sharding: both cut the runs into the same shards.
    here = str(config.invocation_params.dir)
    if here not in sys.path:
        sys.path.insert(0, here)  # dotted --harness-module names resolve from where pytest ran
    try:
        return plan(opts)[1]
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Load our hypothesis profile, the specs, and plan the runs of this process."""
    opts = _options(config)
    # Snapshot now: test modules imported later may register specs of their own.
    plan = _plan(config, opts)
    if opts.report_dir is not None and not _is_worker(config):
        try:
            check_report_dir(opts.report_dir, "--harness-report")
        except HarnessError as exc:
            raise pytest.UsageError(str(exc)) from None
    # Before hypothesis's own plugin, so that an explicit --hypothesis-profile (or verbosity)
    # still applies on top; without one, CI=true must not leave hypothesis's `ci` profile on.
    # After the usage errors above: a run that stops there must leave the profile alone.
    register_hypothesis_profiles()
    # Older hypothesis releases cannot name the current profile; then there is none to restore.
    current = getattr(hypothesis_settings, "get_current_profile_name", None)
    previous_profile = current() if current is not None else None
    hypothesis_settings.load_profile(f"harness-{opts.profile}")
    config.pluginmanager.register(_Session(config, opts, plan, previous_profile), _PLUGIN_NAME)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``--dist load`` or ``loadgroup``, send each spec x dtype run to one worker.

    An xdist hook. xdist's own ``loadgroup`` finds groups in node ids it rewrites, which
    pytest >= 9.2 no longer lets it do (pytest-xdist issue #1386); grouping by our own ids
    does not depend on that. Other tests are distributed as ``--dist`` says.
    """
    session = config.pluginmanager.get_plugin(_PLUGIN_NAME)
    dist = config.getoption("dist")
    if not isinstance(session, _Session) or not session.plan or dist not in ("load", "loadgroup"):
        return None
    return _run_scheduler(config, log, session.case_runs(), by_mark=dist == "loadgroup")


def _run_scheduler(config: pytest.Config, log: Any, runs: dict[str, str], by_mark: bool) -> Any:
    # xdist ships no type information; only this function touches it.
    from xdist.scheduler import LoadGroupScheduling  # type: ignore[import-untyped]

    # The parametrize id, before any "@group" suffix xdist may have added to the node id.
    param_id = re.compile(r"\[([^\[\]]*)\](?:@[^\[\]]*)?$")

    class RunScheduling(LoadGroupScheduling):  # type: ignore[misc]
        """Work units: one per spec x dtype run, one per other test (or xdist_group)."""

        def _split_scope(self, nodeid: str) -> str:
            m = param_id.search(nodeid)
            run = runs.get(m.group(1)) if m else None
            if run is not None:
                return f"harness:{run}"
            return super()._split_scope(nodeid) if by_mark else nodeid

    return RunScheduling(config, log)
