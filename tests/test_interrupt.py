"""Ctrl-C during ``python -m harness verify`` leaves the previous report exactly as it was.

A first complete run writes the report directory; a second run is interrupted with SIGINT
while it verifies (in a forward that sleeps) or while it renders the new report. It must exit
with 130 and leave every file of the report byte-identical, with no temporary files behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE = "interrupt_specs"
MARKER_ENV = "HARNESS_TEST_SLOW_MARKER"

_MODULE_SOURCE = f'''\
"""A sigmoid whose forward sleeps when {MARKER_ENV} is set (after touching that file)."""
import os
import time
from pathlib import Path

from harness import Spec, register
from specs import activations as act


def slow_forward(Z):
    marker = os.environ.get("{MARKER_ENV}")
    if marker:
        Path(marker).touch()
        time.sleep(0.2)
    return act.sigmoid_forward(Z)


register(Spec(name="slow-sigmoid", forward=slow_forward, vjp=act.sigmoid_backward,
              jvp=act.sigmoid_jvp, structure="elementwise"))
'''

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to a child process")


def _command(report_dir: str) -> list[str]:
    return [
        sys.executable, "-m", "harness", "verify",
        "--module", MODULE, "--no-default-specs", "--spec", "slow-sigmoid",
        "--dtype", "float64", "--profile", "quick", "--max-examples", "5",
        "--report-dir", report_dir,
    ]  # fmt: skip


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), **extra}


def _snapshot(directory: Path) -> dict[str, bytes | None]:
    """Every entry under directory, hidden ones included, with file contents."""
    return {
        str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(directory.rglob("*"))
    }


def _wait_for(predicate: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _finish(proc: subprocess.Popen[str], timeout: float = 60.0) -> tuple[str, str]:
    """Wait for the interrupted run, pressing Ctrl-C again every 5 s as a user would."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return proc.communicate(timeout=5.0)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            proc.send_signal(signal.SIGINT)


@contextlib.contextmanager
def _ctrl_c_enabled() -> Any:
    # A pytest-xdist worker ignores SIGINT, and an ignored signal is inherited by the child:
    # Python would then never raise KeyboardInterrupt. The child starts with the default.
    old = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _interrupt_while_verifying(tmp_path: Path, report_dir: str) -> subprocess.Popen[str]:
    marker = tmp_path / "forward-was-called"
    with _ctrl_c_enabled():
        proc = subprocess.Popen(
            _command(report_dir),
            cwd=tmp_path,
            env=_env(tmp_path, **{MARKER_ENV: str(marker)}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    try:
        _wait_for(lambda: marker.exists() or proc.poll() is not None, "the first forward call")
        time.sleep(0.3)  # well inside the run: each forward call sleeps 0.2 s
        proc.send_signal(signal.SIGINT)
    except BaseException:
        proc.kill()
        raise
    return proc


def _interrupt_while_rendering(tmp_path: Path, report_dir: str) -> subprocess.Popen[str]:
    with _ctrl_c_enabled():
        proc = subprocess.Popen(
            _command(report_dir),
            cwd=tmp_path,
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    try:
        assert proc.stdout is not None
        # The verdict line is printed (and flushed) before the report is built and written.
        for line in proc.stdout:
            if line.startswith("PASSED: slow-sigmoid in float64"):
                break
        proc.send_signal(signal.SIGINT)
    except BaseException:
        proc.kill()
        raise
    return proc


@pytest.fixture
def previous_report(tmp_path: Path) -> Path:
    """A complete report from a first, uninterrupted run."""
    (tmp_path / f"{MODULE}.py").write_text(_MODULE_SOURCE)
    first = subprocess.run(
        _command("reports"),
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    report = tmp_path / "reports"
    assert (report / "results.json").is_file()
    assert (report / "index.html").is_file()
    return report


@pytest.mark.parametrize(
    "interrupt",
    [_interrupt_while_verifying, _interrupt_while_rendering],
    ids=["while-verifying", "while-rendering"],
)
def test_sigint_leaves_the_previous_report_byte_identical(
    tmp_path: Path, previous_report: Path, interrupt: Any
) -> None:
    before = _snapshot(previous_report)
    results, index = before["results.json"], before["index.html"]
    proc = interrupt(tmp_path, "reports")
    stdout, stderr = _finish(proc)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted; the previous report was left as it was" in stderr
    assert "Traceback" not in stderr, stderr
    after = _snapshot(previous_report)
    assert after["results.json"] == results
    assert after["index.html"] == index
    # Nothing added, nothing removed, nothing changed: no temporary or staging files either.
    assert after == before
    assert not [name for name in after if name.startswith(".") or name.endswith(".tmp")]


def test_sigint_on_a_first_run_creates_no_report(tmp_path: Path) -> None:
    (tmp_path / f"{MODULE}.py").write_text(_MODULE_SOURCE)
    proc = _interrupt_while_verifying(tmp_path, "fresh/reports")
    stdout, stderr = _finish(proc)
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted" in stderr
    assert not (tmp_path / "fresh").exists()
