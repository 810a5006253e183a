"""The README's walkthrough of a failure is what the harness prints, byte for byte.

The quoted block starts with the command (after ``$``); it is run from the repository root
and its output compared line by line with the rest of the block. Only what differs between
machines is normalised: the repository's path (``/path/to/proj``), the interpreter, and
elapsed seconds.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"## Reading a failure\n\n```\n(.*?)```", re.S)


def normalise(text: str) -> str:
    text = text.replace(sys.executable, "/path/to/proj/.venv/bin/python")
    text = text.replace(str(ROOT), "/path/to/proj")
    return re.sub(r"in \d+(?:\.\d+)? s\b", "in 0.1 s", text)


def walkthrough() -> tuple[list[str], list[str]]:
    """The README's command (as arguments) and the output it quotes."""
    match = BLOCK.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert match, "README.md has no '## Reading a failure' block"
    first, *quoted = match.group(1).rstrip("\n").splitlines()
    return shlex.split(first.split("$ ", 1)[1]), quoted


def run_walkthrough() -> subprocess.CompletedProcess[str]:
    args, _ = walkthrough()
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_PROFILE"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, *args[1:]], cwd=ROOT, capture_output=True, text=True, env=env,
        timeout=600,
    )  # fmt: skip


def test_the_readme_failure_walkthrough_is_what_the_harness_prints() -> None:
    _, quoted = walkthrough()
    proc = run_walkthrough()
    assert proc.returncode == 1, proc.stderr
    assert normalise(proc.stdout).rstrip("\n").splitlines() == quoted


if __name__ == "__main__":  # print the block to paste into the README
    args, _ = walkthrough()
    print("$ " + shlex.join(args))
    print(normalise(run_walkthrough().stdout), end="")
