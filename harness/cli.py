"""``python -m harness``: verify registered specs, replay a counterexample, merge reports.

Exit codes: 0 every check passed, 1 a check failed, 2 a usage error (bad arguments, unknown
spec, unwritable report directory), 130 interrupted (the previous report is left intact).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError, ReportError, UsageError
from harness.options import (
    RunOptions,
    add_cli_options,
    check_report_dir,
    from_cli,
    plan,
    plan_runs,
    shard_runs,
)
from harness.registry import REGISTRY, select_specs
from harness.results import RunResult, fmt_figure
from harness.spec import SUPPORTED_DTYPES

__all__ = ["check_report_dir", "main", "plan_runs", "shard_runs"]

_HYPOTHESIS_HOME = "HYPOTHESIS_STORAGE_DIRECTORY"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own exit code 2, our wording
        self.print_usage(sys.stderr)
        self.exit(2, f"harness: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    v = sub.add_parser(
        "verify",
        help="verify registered specs and write the report",
        description="Verify specs on generated inputs and write results.json and the HTML "
        "report. With --module, that module's specs run alone; without, the bundled seed "
        "specs (relu, sigmoid, tanh, softmax).",
    )
    add_cli_options(v, "verify")

    r = sub.add_parser(
        "replay",
        help="re-run the checks on a recorded counterexample",
        description="Re-run every check on the input recorded for one check in a results "
        "file, and print the verdict.",
    )
    r.add_argument("results", help="a results.json written by `verify`")
    r.add_argument("--spec", required=True, metavar="NAME", help="the spec's name")
    r.add_argument("--dtype", required=True, choices=SUPPORTED_DTYPES, help="the dtype of the run")
    r.add_argument(
        "--check", required=True, metavar="CHECK", help="the check whose input to replay"
    )
    r.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="MODULE_OR_FILE",
        help="the spec module (dotted name or file path) the replay command names",
    )
    r.add_argument("--strict", action="store_true", help="as --strict of the run that recorded it")

    m = sub.add_parser(
        "report",
        help="build the report from results files (merge shards, compare two runs)",
        description="Merge results files (the shards of a --splits run) into one report, or "
        "compare two runs.",
    )
    what = m.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--merge", nargs="+", metavar="RESULTS_JSON", help="merge shards into one report"
    )
    what.add_argument(
        "--compare",
        nargs=2,
        metavar=("OLD", "NEW"),
        help="what changed from OLD to NEW results.json (exit 1 if something regressed)",
    )
    m.add_argument(
        "--report-dir",
        default=None,
        metavar="DIR",
        help="where to write (default: reports for --merge; NEW's directory for --compare)",
    )
    m.add_argument("--no-html", action="store_true", help="write no HTML")

    ls = sub.add_parser(
        "list",
        help="list the specs a verify with the same options would run",
        description="List the specs (name, structure, kinks, dtypes, equations) that "
        "`verify` with the same --module/--spec options would verify.",
    )
    add_cli_options(ls, "list")
    return p


def _load(modules: Sequence[str], defaults: bool) -> None:
    """Import spec modules (names or file paths) and, with ``defaults``, the bundled specs."""
    select_specs([], modules, with_default_specs=defaults)


def _verify_in_worker(opts: RunOptions, name: str, dtype: str) -> RunResult:
    """One spec x dtype run in a worker process of ``--jobs``."""
    from harness.runner import verify

    with np.errstate(all="ignore"):
        return verify(REGISTRY.get(name), dtype=dtype, **opts.verify_kwargs())


def _init_worker(opts: RunOptions) -> None:
    """Make a worker process's registry like the parent's; Ctrl-C is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    select_specs(opts.specs, opts.modules, with_default_specs=opts.with_default_specs)


def _results(opts: RunOptions, runs: list[tuple[Any, str]]) -> Iterator[RunResult]:
    """The runs' results in plan order: verified here (-j 1) or by worker processes."""
    from harness.runner import verify

    if opts.jobs <= 1 or len(runs) <= 1:
        for spec, dt in runs:
            yield verify(spec, dtype=dt, **opts.verify_kwargs())
        return
    # spawn: a fresh interpreter per worker, the same on every platform; each imports the
    # spec modules again (sys.path and the working directory come from this process).
    pool = ProcessPoolExecutor(
        max_workers=min(opts.jobs, len(runs)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(opts,),
    )
    try:
        futures = [pool.submit(_verify_in_worker, opts, s.name, dt) for s, dt in runs]
        for f in futures:
            yield f.result()
    except BaseException:
        # Interrupted, or a run raised: stop our own workers (by their process objects).
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in workers:
            if proc.is_alive():
                proc.terminate()
        raise
    pool.shutdown()


def _hypothesis_storage(opts: RunOptions) -> None:
    """Hypothesis's own cache goes beside our counterexample store, not into the cwd.

    This process (and its workers, through the environment) is ours; hypothesis keeps a
    cache of source constants in ``.hypothesis/`` of the current directory unless told.
    """
    if opts.database is None or os.environ.get(_HYPOTHESIS_HOME):
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    home = str(Path(opts.database).parent)
    os.environ[_HYPOTHESIS_HOME] = home
    set_hypothesis_home_dir(home)


def _cmd_verify(args: argparse.Namespace) -> int:
    from harness.report.document import build_document, spec_report, write_report

    opts = from_cli(args)
    specs, runs_planned = plan(opts)
    _hypothesis_storage(opts)
    out = None if opts.report_dir is None else check_report_dir(opts.report_dir)
    runs: dict[str, list[RunResult]] = {}
    t0 = time.perf_counter()
    for (spec, dt), r in zip(runs_planned, _results(opts, runs_planned), strict=True):
        runs.setdefault(spec.name, []).append(r)
        if not r.passed:
            print(r.summary(), flush=True)
        elif not opts.quiet:
            print(
                f"PASSED: {spec.name} in {dt} ({r.examples} inputs, {r.elapsed_s:.1f} s, "
                f"worst error/tolerance {fmt_figure(r.worst_ratio)})",
                flush=True,
            )
    reports = [spec_report(s, runs[s.name]) for s in specs if s.name in runs]
    passed = all(sr.passed for sr in reports)
    failed = sum(1 for sr in reports for r in sr.runs if not r.passed)
    total = sum(len(sr.runs) for sr in reports)
    if out is not None:
        doc = build_document(reports, settings=opts.settings([dt for _, dt in runs_planned]))
        write_report(doc, out, html=opts.html)
        where = out / ("index.html" if opts.html else "results.json")
        print(f"report: {where}")
    print(
        f"{'PASSED' if passed else 'FAILED'}: {total - failed} passed, {failed} failed "
        f"(spec x dtype runs) in {time.perf_counter() - t0:.1f} s"
    )
    return 0 if passed else 1


def _cmd_replay(args: argparse.Namespace) -> int:
    from harness.checks import CHECK_NAMES
    from harness.report.document import load_document
    from harness.runner import verify_at

    if args.check not in CHECK_NAMES:
        raise UsageError(f"Unknown check {args.check!r}; checks: {', '.join(CHECK_NAMES)}.")
    doc = load_document(args.results)
    _load(args.module, True)
    spec = REGISTRY.get(args.spec)
    for sr in doc.specs:
        if sr.name != args.spec:
            continue
        for run in sr.runs:
            if run.dtype != args.dtype:
                continue
            try:
                worst = run[args.check].worst
            except KeyError:
                raise UsageError(
                    f"{args.results} has no check {args.check!r} in that run."
                ) from None
            if worst is None or worst.input is None:
                raise UsageError(f"No recorded input for check {args.check!r}.")
            arrays = worst.input.to_arrays()
            result = verify_at(spec, *arrays, layout=worst.input.layout, strict=args.strict)
            shapes = ", ".join(f"{a.name} {a.shape}" for a in worst.input.arrays)
            print(
                f"replaying {args.spec} {args.dtype} {args.check} on the recorded input "
                f"({shapes}, {worst.input.family}, {worst.input.layout}-order)"
            )
            print(result.summary())
            return 0 if result.passed else 1
    raise UsageError(f"{args.results} has no run of spec {args.spec!r} in {args.dtype}.")


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.report.document import load_document, merge_documents, write_report

    if args.compare:
        return _cmd_compare(args)
    docs = [load_document(p) for p in args.merge]
    doc = merge_documents(docs)
    out = check_report_dir(args.report_dir or "reports")
    write_report(doc, out, html=not args.no_html)
    print(f"merged {len(args.merge)} file(s) into {out}: {'PASSED' if doc.passed else 'FAILED'}")
    return 0 if doc.passed else 1


def _cmd_compare(args: argparse.Namespace) -> int:
    from harness.report.compare import compare, write_compare_page
    from harness.report.document import load_document

    old_path, new_path = args.compare
    old, new = load_document(old_path), load_document(new_path)
    result = compare(old, new, old_label=str(old_path), new_label=str(new_path))
    print(result.text(), end="")
    if not args.no_html:
        out = check_report_dir(args.report_dir or str(Path(new_path).parent))
        page = write_compare_page(result, out)
        print(f"compare page: {page}")
    return 1 if result.regressed else 0


def _cmd_list(args: argparse.Namespace) -> int:
    opts = from_cli(args)
    specs = select_specs(opts.specs, opts.modules, with_default_specs=opts.with_default_specs)
    for spec in specs:
        kinks = f", kinks {list(spec.kinks)}" if spec.kinks else ""
        print(
            f"{spec.name}: {spec.structure}{kinks}, dtypes {', '.join(spec.dtypes)}"
            + (f", equations {spec.equations}" if spec.equations else "")
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    commands = {
        "verify": _cmd_verify,
        "replay": _cmd_replay,
        "report": _cmd_report,
        "list": _cmd_list,
    }
    try:
        with np.errstate(all="ignore"):
            return commands[args.command](args)
    except (UsageError, ReportError, HarnessError) as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted; the previous report was left as it was", file=sys.stderr)
        return 130
