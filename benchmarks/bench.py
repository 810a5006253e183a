"""``make bench``: sensitivity, false alarms and speed of the harness, next to the peer checkers.

Usage (from the repository root)::

    python benchmarks/bench.py            # the full run: about half an hour on 2 cores
    python benchmarks/bench.py --quick    # a smoke run, under a minute
    python benchmarks/bench.py --skip-peers --sections speed
    python benchmarks/bench.py --sections several-inputs

Prints one combined report: the machine, the detection sweep (uniform and single-entry vjp
errors), the false-alarm count, the peers' detection thresholds, the speed table, the
several-input figures (the dense layer, a 10,000-parameter network, softmax: time, forward+
backward equivalents, peak memory, beside torch's gradcheck), and every
target with met / MISSED. Benchmarks report, they do not gate: the exit status is 0 whatever
the results; it is 1 only when a section itself crashed (its traceback is printed and the other
sections still run).

torch and jax are optional (``pip install -e .[bench]``); without them the peers' rows say so
and the recorded peer thresholds are shown instead.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

# Run as a script, Python puts benchmarks/ itself on sys.path rather than the repository root;
# the spawn children of the peers inherit sys.path, so fixing it here lets them import too.
ROOT = Path(__file__).resolve().parent.parent
if not __package__:
    sys.path.insert(0, str(ROOT))

from benchmarks import sensitivity as sens  # noqa: E402
from benchmarks import several_inputs as several  # noqa: E402
from benchmarks import speed  # noqa: E402

SECTIONS: tuple[str, ...] = (
    "sensitivity",
    "false-alarms",
    "peer-sensitivity",
    "speed",
    "several-inputs",
    "gradcheck-side-by-side",
)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: few deltas and inputs, ~200 false-alarm inputs, small "
        "shapes, peers on sigmoid 10x32 only (under a minute)",
    )
    parser.add_argument(
        "--skip-peers",
        action="store_true",
        help="do not run torch/jax/scipy (recorded peer figures are shown)",
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for the sensitivity and false-alarm runs "
        "(default: %(default)s; the speed section always runs alone)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="wall-clock seconds per peer run (default: %(default)g)",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads in the several-inputs children (default: %(default)s; 0 leaves "
        "the library's default)",
    )
    parser.add_argument(
        "--fa-inputs",
        type=int,
        default=None,
        help="generated inputs per spec and dtype in the false-alarm count "
        "(default: 10000, or 200 with --quick)",
    )
    return parser


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _title(text: str) -> None:
    print(f"\n{'=' * 100}\n{text}\n{'=' * 100}", flush=True)


class Report:
    """Runs sections, prints them as they finish, and collects the target lines."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.crashed: list[str] = []

    def section(self, title: str, body: Callable[[], None]) -> None:
        _title(title)
        t0 = time.perf_counter()
        try:
            body()
        except Exception:
            self.crashed.append(title)
            print(f"SECTION CRASHED: {title}\n{traceback.format_exc()}", flush=True)
        print(f"\n[{title}: {time.perf_counter() - t0:.1f} s]", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; returns the exit status (0 unless a section crashed)."""
    args = _build_parser().parse_args(argv)
    wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SECTIONS))
    if unknown:
        print(
            f"unknown section(s): {', '.join(unknown)}; choose from {', '.join(SECTIONS)}",
            file=sys.stderr,
        )
        return 2
    workers = max(1, args.workers)
    scfg = (
        sens.SensitivityConfig.quick(workers=workers)
        if args.quick
        else sens.SensitivityConfig(workers=workers)
    )
    if args.fa_inputs is not None:
        scfg = replace(scfg, fa_inputs=args.fa_inputs)
    pcfg = speed.SpeedConfig.quick() if args.quick else speed.SpeedConfig()
    pcfg = replace(pcfg, peers=not args.skip_peers, timeout=args.timeout)
    report = Report()
    started = time.perf_counter()

    print(
        f"make bench{' --quick' if args.quick else ''}: "
        f"{_dt.datetime.now().isoformat(timespec='seconds')}, commit {_git_commit()}"
    )
    print(speed.format_machine())

    if "sensitivity" in wanted:

        def run_sensitivity() -> None:
            rows = sens.detection_sweep(scfg)
            print(sens.format_detection(rows, scfg))
            for r in rows:
                ok = "met   " if r.meets_target else "MISSED"
                report.targets.append(
                    f"[{ok}] {r.spec} {r.dtype} {r.kind}: smallest delta detected on every "
                    f"run {sens.fmt_delta(r.threshold)} (target <= "
                    f"{sens.fmt_delta(r.target)}, control failures "
                    f"{'-' if r.control is None else r.control.detected})"
                )

        report.section("Sensitivity: smallest vjp error detected on every run", run_sensitivity)

    if "false-alarms" in wanted:

        def run_false_alarms() -> None:
            rows = sens.false_alarms(scfg)
            print(sens.format_false_alarms(rows, scfg))
            for r in rows:
                ok = "met   " if r.failed_runs == 0 else "MISSED"
                report.targets.append(
                    f"[{ok}] {r.spec} {r.dtype}: zero false alarms over {r.inputs} inputs "
                    f"({r.failed_runs} failed run(s))"
                )

        report.section("False alarms: correct specs on generated inputs", run_false_alarms)

    if "peer-sensitivity" in wanted:

        def run_peer_sensitivity() -> None:
            live = not (args.quick or args.skip_peers)
            rows = sens.peer_sensitivity(live=live, timeout=args.timeout)
            print(sens.format_peers(rows))

        report.section("Peers: smallest vjp error detected (for comparison)", run_peer_sensitivity)

    if "speed" in wanted:

        def run_speed() -> None:
            if hasattr(os, "getloadavg"):
                load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
                print(
                    f"Load average before timing (1, 5, 15 min): {load} "
                    f"on {os.cpu_count()} CPU(s); other load skews the times.\n"
                )
            print(speed.format_header(), flush=True)
            rows = speed.speed_rows(
                pcfg, progress=lambda r: print(speed.format_row(r, pcfg.timeout), flush=True)
            )
            print()
            print("\n".join(speed.format_notes(rows)))
            ts = speed.format_targets(speed.targets(rows, pcfg.timeout))
            print()
            print(ts)
            report.targets += ts.splitlines()

        report.section(
            "Speed: wall time and calls, as multiples of one forward+backward call", run_speed
        )

    if "several-inputs" in wanted:

        def run_several() -> None:
            cfg = several.Config.quick() if args.quick else several.Config()
            cfg = replace(cfg, peers=not args.skip_peers, blas_threads=args.blas_threads)
            if hasattr(os, "getloadavg"):
                load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
                print(f"Load average before timing (1, 5, 15 min): {load}\n", flush=True)
            rows, _ = several.run(
                cfg,
                progress=lambda c: print(
                    f"  measured: {c.label}, {c.method}: {c.verdict}", flush=True
                ),
            )
            print()
            print(several.format_tables(rows, cfg))
            ts = several.format_targets(several.targets(rows, cfg))
            print()
            print(ts)
            report.targets += ts.splitlines()

        report.section(
            "Several inputs: the dense layer, a 10,000-parameter network and softmax, "
            "time and memory",
            run_several,
        )

    if "gradcheck-side-by-side" in wanted:
        from benchmarks import compare_gradcheck

        report.section(
            "Side by side: torch gradcheck, gradgradcheck, fast mode and the harness",
            lambda: compare_gradcheck.run(quick=args.quick),
        )

    _title("Targets")
    print("\n".join(report.targets) if report.targets else "(no targets evaluated)")
    if report.crashed:
        print(f"\nCrashed sections: {', '.join(report.crashed)}")
    print(f"\nTotal: {time.perf_counter() - started:.0f} s")
    return 1 if report.crashed else 0


if __name__ == "__main__":
    sys.exit(main())
