"""``python -m harness``: verify registered specs, replay a counterexample, merge reports.

Exit codes: 0 every check passed, 1 a check failed, 2 a usage error (bad arguments, unknown
spec, unwritable report directory), 130 interrupted (the previous report is left intact).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError, ReportError, UsageError
from harness.profiles import PROFILES
from harness.registry import REGISTRY, load_modules
from harness.results import RunResult, fmt_figure
from harness.spec import SUPPORTED_DTYPES

__all__ = ["main"]

DEFAULT_MODULES = ["specs"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own exit code 2, our wording
        self.print_usage(sys.stderr)
        self.exit(2, f"harness: error: {message}\n")


RANDOM = "random"  # --seed random


def _seed(text: str) -> int | str:
    if text == RANDOM:
        return RANDOM
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'random', got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    v = sub.add_parser("verify", help="verify registered specs and write the report")
    v.add_argument(
        "--spec",
        action="append",
        default=[],
        metavar="NAME",
        help="verify only this spec (repeatable); default: all registered",
    )
    v.add_argument(
        "--dtype",
        action="append",
        default=[],
        choices=SUPPORTED_DTYPES,
        help="only this dtype (repeatable); default: each spec's own dtypes",
    )
    v.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE to register more specs (repeatable)",
    )
    v.add_argument(
        "--no-default-specs", action="store_true", help="do not import the bundled `specs` package"
    )
    v.add_argument(
        "--profile",
        default=os.environ.get("HARNESS_PROFILE", "thorough"),
        choices=sorted(PROFILES),
        help="how thoroughly (default: thorough)",
    )
    v.add_argument(
        "--max-examples",
        type=int,
        default=None,
        metavar="N",
        help="generated inputs per spec and dtype (default: the profile's)",
    )
    v.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="generation seed (default: fixed, for reproducible runs); 'random' explores "
        "with a new seed and first retries kept counterexamples",
    )
    v.add_argument(
        "--strict",
        action="store_true",
        help="flag rounding-limited derivatives (no output-scale allowance)",
    )
    v.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="time limit of one call of a function under test (default 60)",
    )
    v.add_argument(
        "--report-dir",
        default="reports",
        metavar="DIR",
        help="where results.json and the HTML go (default: reports)",
    )
    v.add_argument("--no-report", action="store_true", help="write no report files")
    v.add_argument("--no-html", action="store_true", help="write results.json only")
    v.add_argument(
        "--splits",
        type=int,
        default=1,
        metavar="N",
        help="split the spec x dtype runs into N shards ...",
    )
    v.add_argument(
        "--group", type=int, default=1, metavar="K", help="... and run shard K (1-based)"
    )
    v.add_argument("-q", "--quiet", action="store_true", help="print failures only")

    r = sub.add_parser("replay", help="re-run the checks on a recorded counterexample")
    r.add_argument("results", help="a results.json written by `verify`")
    r.add_argument("--spec", required=True, metavar="NAME")
    r.add_argument("--dtype", required=True, choices=SUPPORTED_DTYPES)
    r.add_argument("--check", required=True, metavar="CHECK")
    r.add_argument("--module", action="append", default=[], metavar="MODULE")
    r.add_argument("--strict", action="store_true")

    m = sub.add_parser(
        "report", help="build the report from results files (merge shards, compare two runs)"
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

    ls = sub.add_parser("list", help="list the registered specs")
    ls.add_argument("--module", action="append", default=[], metavar="MODULE")
    ls.add_argument("--no-default-specs", action="store_true")
    return p


def _load(modules: Sequence[str], defaults: bool) -> None:
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # so --module finds the user's own modules
    load_modules(([*DEFAULT_MODULES] if defaults else []) + list(modules))


def check_report_dir(path: str) -> Path:
    """The report directory, checked to be a writable directory (UsageError if not)."""
    out = Path(path)
    probe = out if out.exists() else out.parent if str(out.parent) else Path(".")
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if out.exists() and not out.is_dir():
        raise UsageError(f"--report-dir {out} exists and is not a directory.")
    if not probe.is_dir():
        raise UsageError(f"--report-dir {out}: {probe} is a file, not a directory.")
    if not os.access(probe, os.W_OK):
        raise UsageError(f"--report-dir {out} is not writable (checked {probe}).")
    return out


def plan_runs(specs: list[Any], dtypes: list[str]) -> list[tuple[Any, str]]:
    """The spec x dtype runs to make, in registration order."""
    plan = []
    for spec in specs:
        for dt in spec.dtypes:
            if not dtypes or dt in dtypes:
                plan.append((spec, dt))
    return plan


def shard_runs(plan: list[Any], splits: int, group: int) -> list[Any]:
    """Shard ``group`` of ``splits`` (1-based), round robin over the plan."""
    if splits < 1 or not 1 <= group <= splits:
        raise UsageError(f"--group must be between 1 and --splits ({splits}); got {group}.")
    return [item for i, item in enumerate(plan) if i % splits == group - 1]


def _cmd_verify(args: argparse.Namespace) -> int:
    from harness.report.document import build_document, run_settings, spec_report, write_report
    from harness.runner import DEFAULT_SEED, verify

    if args.no_report and args.no_html:
        raise UsageError("--no-report and --no-html contradict each other; give one.")
    if args.max_examples is not None and args.max_examples < 1:
        raise UsageError(f"--max-examples must be at least 1; got {args.max_examples}.")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive; got {args.timeout}.")
    _load(args.module, not args.no_default_specs)
    specs = REGISTRY.select(args.spec)
    if not specs:
        raise UsageError("No specs are registered; give --module to import some.")
    plan = shard_runs(plan_runs(specs, args.dtype), args.splits, args.group)
    if not plan:
        raise UsageError(
            "Nothing to verify: none of the selected specs supports the dtypes asked for."
        )
    out = None if args.no_report else check_report_dir(args.report_dir)
    seed: int | None = DEFAULT_SEED if args.seed is None else args.seed
    if args.seed == RANDOM:
        seed = None
    results_path = str((out or Path("reports")) / "results.json")
    runs: dict[str, list[RunResult]] = {}
    t0 = time.perf_counter()
    for spec, dt in plan:
        r = verify(
            spec,
            dtype=dt,
            max_examples=args.max_examples,
            seed=seed,
            profile=args.profile,
            strict=args.strict,
            timeout=args.timeout,
            results_path=results_path,
        )
        runs.setdefault(spec.name, []).append(r)
        if not r.passed:
            print(r.summary(), flush=True)
        elif not args.quiet:
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
        doc = build_document(
            reports,
            settings=run_settings(
                profile=args.profile,
                seed=seed,
                max_examples=args.max_examples,
                dtypes=[dt for _, dt in plan],
                strict=args.strict,
                group=args.group,
                splits=args.splits,
            ),
        )
        write_report(doc, out, html=not args.no_html)
        where = out / ("results.json" if args.no_html else "index.html")
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
            Z = worst.input.to_array()
            result = verify_at(spec, Z, layout=worst.input.layout, strict=args.strict)
            print(
                f"replaying {args.spec} {args.dtype} {args.check} on the recorded input "
                f"(shape {Z.shape}, {worst.input.family}, {worst.input.layout}-order)"
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
    _load(args.module, not args.no_default_specs)
    for spec in REGISTRY:
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
