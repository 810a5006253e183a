"""Print how the peer gradient checkers fare on sigmoid and softmax: verdict, time, call counts.

Usage (from the repository root; torch and jax come with ``pip install -e .[bench]``)::

    python benchmarks/run_peers.py
    python benchmarks/run_peers.py --shapes 10x32,100x64,100x256 --timeout 120
    python benchmarks/run_peers.py --sensitivity --shapes 10x32

Each peer runs in its own child process; a peer that runs past ``--timeout`` is killed and shown
as ``>TIMEOUT s``, one that fails (e.g. out of memory under ``--memory-limit-gib``) as ``error``
with its message listed under the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Run as a script, Python puts benchmarks/ itself on sys.path rather than the repository root;
# the spawn children inherit sys.path, so fixing it here also lets them import benchmarks.*.
if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.functions import FUNCTIONS, ScaledVJP
from benchmarks.peers import (
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TIMEOUT,
    TOOLS,
    PeerResult,
    PeerUnavailableError,
    baseline_seconds,
    peer_detects,
    run_peer,
)

_COLUMNS = (
    ("function", 9),
    ("shape", 10),
    ("tool", 22),
    ("passed", 7),
    ("seconds", 9),
    ("x f+b", 10),
    ("forward", 9),
    ("vjp", 7),
)


def _parse_shape(text: str) -> tuple[int, int]:
    try:
        n, m = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not NxM, e.g. 100x64") from None
    if n < 1 or m < 1:
        raise argparse.ArgumentTypeError(f"shape {text!r} must be positive")
    return n, m


def _parse_list(text: str, choices: tuple[str, ...], what: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in items if item not in choices]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(choices)})"
        )
    return items


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--functions",
        type=lambda s: _parse_list(s, tuple(FUNCTIONS), "function"),
        default=list(FUNCTIONS),
        help=f"comma-separated (default: {','.join(FUNCTIONS)})",
    )
    parser.add_argument(
        "--shapes",
        type=lambda s: [_parse_shape(part) for part in s.split(",") if part.strip()],
        default=[(10, 32), (100, 64)],
        help="comma-separated NxM list, replacing the default 10x32,100x64",
    )
    parser.add_argument(
        "--tools",
        type=lambda s: _parse_list(s, TOOLS, "tool"),
        default=list(TOOLS),
        help="comma-separated (default: all)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="wall-clock seconds per peer run (default: %(default)g)",
    )
    parser.add_argument(
        "--memory-limit-gib",
        type=float,
        default=DEFAULT_MEMORY_LIMIT / 2**30,
        help="address-space limit of each peer's process, 0 for none (default: %(default)g)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=200,
        help="forward+backward calls timed for the baseline median (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for Z (default: %(default)s)")
    parser.add_argument(
        "--sensitivity",
        action="store_true",
        help="instead of timing, report which peers reject the vjp scaled by 1+delta",
    )
    parser.add_argument(
        "--deltas",
        type=lambda s: [float(part) for part in s.split(",")],
        default=[1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6],
        help="relative vjp errors tried by --sensitivity",
    )
    return parser


def _row(cells: list[str]) -> str:
    return "  ".join(cell.ljust(width) for cell, (_, width) in zip(cells, _COLUMNS, strict=True))


def _cells(
    function: str, shape: tuple[int, int], result: PeerResult, baseline: float, timeout: float
) -> list[str]:
    if result.timed_out:
        seconds, ratio = f">{timeout:g} s", f">{timeout / baseline:.3g}"
        passed = "timeout"
    else:
        passed = {True: "yes", False: "NO", None: "error"}[result.passed]
        if result.seconds is None:
            seconds = ratio = "-"
        else:
            seconds, ratio = f"{result.seconds:.3g}", f"{result.seconds / baseline:.3g}"
    return [
        function,
        f"{shape[0]}x{shape[1]}",
        result.tool,
        passed,
        seconds,
        ratio,
        str(result.forward_calls),
        str(result.vjp_calls),
    ]


def _timing_table(args: argparse.Namespace, memory_limit: int | None) -> int:
    rng = np.random.default_rng(args.seed)
    notes: list[str] = []
    print(_row([name for name, _ in _COLUMNS]))
    print(_row(["-" * width for _, width in _COLUMNS]))
    for shape in args.shapes:
        Z = rng.standard_normal(shape)
        for function in args.functions:
            fwd, vjp = FUNCTIONS[function]
            baseline = baseline_seconds(fwd, vjp, Z, args.repeats)
            notes.append(f"{function} {shape[0]}x{shape[1]}: one f+b call = {baseline:.3g} s")
            for tool in args.tools:
                try:
                    result = run_peer(
                        tool, fwd, vjp, Z, timeout=args.timeout, memory_limit=memory_limit
                    )
                except PeerUnavailableError as exc:
                    notes.append(str(exc))
                    continue
                # Rows appear as they finish: the slow peers can take minutes.
                print(_row(_cells(function, shape, result, baseline, args.timeout)), flush=True)
                if result.relative_error is not None:
                    notes.append(
                        f"{function} {shape[0]}x{shape[1]} {tool}: relative error "
                        f"{result.relative_error:.3g} (absolute {result.error_value:.3g})"
                    )
                if result.error_message and not result.passed:
                    first = result.error_message.strip().splitlines()[0]
                    notes.append(f"{function} {shape[0]}x{shape[1]} {tool}: {first}")
    print()
    for note in notes:
        print(note)
    return 0


def _sensitivity_table(args: argparse.Namespace, memory_limit: int | None) -> int:
    rng = np.random.default_rng(args.seed)
    marks = {True: "caught", False: "missed", None: "error"}
    print("rejects vjp * (1 + delta)? " + ", ".join(f"delta={d:g}" for d in args.deltas))
    for shape in args.shapes:
        Z = rng.standard_normal(shape)
        for function in args.functions:
            fwd, vjp = FUNCTIONS[function]
            for tool in args.tools:
                try:
                    verdicts = [
                        peer_detects(
                            tool,
                            fwd,
                            ScaledVJP(vjp, delta),
                            Z,
                            timeout=args.timeout,
                            memory_limit=memory_limit,
                        )
                        for delta in args.deltas
                    ]
                except PeerUnavailableError as exc:
                    print(exc)
                    continue
                cells = "  ".join(marks[v].ljust(7) for v in verdicts)
                print(f"{function:9}  {shape[0]}x{shape[1]:<7}  {tool:22}  {cells}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = _build_parser().parse_args(argv)
    memory_limit = int(args.memory_limit_gib * 2**30) if args.memory_limit_gib > 0 else None
    if args.sensitivity:
        return _sensitivity_table(args, memory_limit)
    return _timing_table(args, memory_limit)


if __name__ == "__main__":
    sys.exit(main())
