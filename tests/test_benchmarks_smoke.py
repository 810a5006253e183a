"""Smoke tests of ``make bench`` (benchmarks/sensitivity.py, speed.py, bench.py).

Tiny configurations only: they check that the functions run and that their output has the
promised structure. Nothing here times anything or asserts speed; the peer parts that need torch
or jax are skipped when those are not installed.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import harness

ROOT = Path(__file__).resolve().parents[1]
# benchmarks/ is not an installed package; the peers' spawn children inherit this sys.path.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench, speed  # noqa: E402
from benchmarks import sensitivity as sens  # noqa: E402
from specs import activations as act  # noqa: E402

TINY = sens.SensitivityConfig(
    specs=("sigmoid",),
    dtypes=("float64",),
    deltas=(1e-1, 1e-13),
    shape=(4, 3),
    inputs=1,
    verify_seeds=(1,),
    fa_specs=("relu",),
    fa_inputs=4,
    fa_ordinary=("softplus",),
    fa_ordinary_inputs=2,
    fa_per_run=2,
    fa_profile="quick",
    workers=1,
)


# --- sensitivity ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_relative_vjp_scales_and_keeps_dtype(dtype: str) -> None:
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((3, 2)).astype(dtype)
    A = act.sigmoid_forward(Z)
    dA = np.ones_like(Z)
    right = act.sigmoid_backward(Z, A, dA)
    wrong = sens.RelativeVJP(act.sigmoid_backward, 1e-2)(Z, A, dA)
    assert wrong.dtype == Z.dtype
    np.testing.assert_allclose(wrong, right * 1.01, rtol=1e-6)


def test_entry_off_vjp_moves_one_entry_on_any_shape() -> None:
    vjp = sens.EntryOffVJP(act.sigmoid_backward, 0.5, row=7, col=40)
    for shape in [(10, 32), (3, 2), (1, 1)]:
        Z = np.random.default_rng(1).standard_normal(shape)
        A = act.sigmoid_forward(Z)
        dA = np.ones_like(Z)
        right = act.sigmoid_backward(Z, A, dA)
        diff = vjp(Z, A, dA) - right
        assert np.count_nonzero(diff) == 1
        i, j = 7 % shape[0], 40 % shape[1]
        assert diff[i, j] == pytest.approx(0.5 * np.max(np.abs(right)))


def test_wrong_specs_drop_jvp_and_analytic_jacobian() -> None:
    s = sens.scaled_spec("softmax", 1e-3)
    e = sens.entry_off_spec("softmax", 1e-3)
    for spec in (s, e):
        assert spec.jvp is None and spec.jacobian is None
        assert spec.structure == "columnwise"
    # delta = 0 is the control: the registered vjp itself.
    assert sens.scaled_spec("sigmoid", 0.0).vjp is act.sigmoid.vjp


def test_threshold_is_the_leading_run_of_full_detection() -> None:
    cells = [
        sens.Cell(1e-1, 5, 5),
        sens.Cell(1e-2, 5, 5),
        sens.Cell(1e-3, 4, 5),
        sens.Cell(1e-4, 5, 5),  # detected again below a gap: does not count
    ]
    assert sens.threshold(cells) == 1e-2
    assert sens.threshold([sens.Cell(1e-1, 0, 5)]) is None


def test_detection_sweep_structure() -> None:
    rows = sens.detection_sweep(TINY)
    assert [(r.spec, r.dtype, r.kind) for r in rows] == [
        ("sigmoid", "float64", "uniform"),
        ("sigmoid", "float64", "single-entry"),
    ]
    for r in rows:
        assert [c.delta for c in r.cells] == [1e-1, 1e-13]
        assert all(c.runs == 2 and 0 <= c.detected <= c.runs for c in r.cells)
        assert r.control is not None and r.control.delta == 0.0 and r.control.runs == 2
        assert r.target == sens.TARGETS["float64"]
        # A 10% error in every entry is not subtle; this is a sanity check, not a benchmark.
        if r.kind == "uniform":
            assert r.cells[0].all_detected
    text = sens.format_detection(rows, TINY)
    assert "sigmoid" in text and "single-entry" in text and "smallest" in text


def test_false_alarms_structure() -> None:
    rows = sens.false_alarms(TINY)
    assert [(r.spec, r.dtype) for r in rows] == [
        ("relu", "float64"),
        ("ordinary:softplus", "float64"),
    ]
    row, ordinary = rows
    assert (row.runs, ordinary.runs) == (2, 1)
    assert row.inputs >= 2 and ordinary.inputs >= 1
    for r in rows:
        assert r.failed_runs == len(r.alarms)
        for a in r.alarms:
            assert a.spec == r.spec and a.checks and a.replay
    text = sens.format_false_alarms(rows, TINY)
    assert "relu" in text and "ordinary:softplus" in text and "failed runs" in text


def test_peer_sensitivity_recorded_figures() -> None:
    rows = sens.peer_sensitivity(live=False)
    tools = {r.tool for r in rows}
    assert {"torch.gradcheck", "jax.check_grads", "scipy.check_grad"} <= tools
    assert all(r.source.startswith("recorded") and not r.verdicts for r in rows)
    assert "scipy.check_grad" in sens.format_peers(rows)


# --- speed ------------------------------------------------------------------------------------


def test_run_checks_can_be_narrowed_to_one_check() -> None:
    from harness.runner import run_checks

    spec = speed.bench_spec("sigmoid")
    Z = np.random.default_rng(0).standard_normal((4, 3))
    assert [m.check for m in run_checks(spec, Z, checks=("jacobian",))] == ["jacobian"]
    with pytest.raises(harness.UsageError):
        run_checks(spec, Z, checks=("no-such-check",))


def test_speed_rows_structure() -> None:
    cfg = speed.SpeedConfig(shapes=((4, 3),), peers=False, repeats=1, baseline_repeats=2)
    seen: list[speed.SpeedRow] = []
    rows = speed.speed_rows(cfg, progress=seen.append)
    assert rows == seen
    assert [(r.function, r.method) for r in rows] == [
        (f, m) for f in ("sigmoid", "softmax") for m in speed.HARNESS_METHODS
    ]
    for r in rows:
        assert r.shape == (4, 3)
        assert r.verdict == "pass", r.note
        assert r.seconds is not None and r.baseline > 0 and r.ratio is not None
        assert r.forward is not None and r.forward >= 1
        assert r.vjp is not None and r.vjp >= 1
        assert r.forward_work is not None and r.forward_work >= r.forward
    full = [r for r in rows if r.method == speed.VERIFY_AT]
    assert all(r.jacobian_status == "pass" for r in full)
    text = speed.format_speed(rows, cfg)
    assert "verify_at" in text and "baseline sigmoid 4x3" in text
    # The targets concern shapes not run here: all "not measured", none evaluated.
    ts = speed.targets(rows)
    assert len(ts) == 4 and all(t.met is None for t in ts)
    assert "not measured" in speed.format_targets(ts)


def test_machine_description() -> None:
    info = speed.machine()
    assert info["cpu"] and info["logical_cpus"] >= 1
    assert "numpy" in info["versions"]
    assert "Machine:" in speed.format_machine(info)


def test_scipy_peer_row() -> None:
    # scipy is a core dependency: its peer always runs (in a spawn child).
    cfg = speed.SpeedConfig(timeout=60.0)
    Z = np.random.default_rng(0).standard_normal((3, 2))
    row = speed._peer_row("scipy.check_grad", "sigmoid", Z, 1e-5, cfg)
    assert row.verdict == "pass", row.note
    assert row.forward is not None and row.forward >= 7  # N + 1 forward calls, N = 6


@pytest.mark.parametrize(
    ("tool", "module"),
    [
        ("torch.gradcheck", "torch"),
        ("torch.gradcheck(fast)", "torch"),
        ("jax.check_grads", "jax"),
    ],
)
def test_optional_peer_rows(tool: str, module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (the 'bench' extra)")
    cfg = speed.SpeedConfig(timeout=120.0)
    Z = np.random.default_rng(0).standard_normal((3, 2))
    row = speed._peer_row(tool, "softmax", Z, 1e-5, cfg)
    assert row.verdict in ("pass", "FAIL"), row.note
    assert row.forward is not None and row.forward >= 1


def test_speed_target_evaluation_on_synthetic_rows() -> None:
    def row(
        function: str, shape: tuple[int, int], method: str, seconds: float | None, **kw: Any
    ) -> speed.SpeedRow:
        return speed.SpeedRow(function, shape, method, "pass", seconds, 1e-3, **kw)

    rows = [
        row("sigmoid", (100, 64), speed.VERIFY_AT, 0.01, jacobian_status="pass"),
        row("sigmoid", (100, 64), "torch.gradcheck", 5.0),
        row("softmax", (100, 64), speed.VERIFY_AT, 0.5, jacobian_status="pass"),
        row("softmax", (100, 64), "torch.gradcheck", None, timed_out=True),
        row("softmax", (100, 256), speed.VERIFY_AT, 0.3, jacobian_status="pass"),
        row("sigmoid", (1000, 256), speed.VERIFY_AT, 0.01, jacobian_status="skip"),
    ]
    met = [t.met for t in speed.targets(rows, timeout=120.0)]
    # 500x; > 240x (timed out); 300 f+b; within 10 f+b but the Jacobian was skipped.
    assert met == [True, True, True, False]


# --- bench.py ---------------------------------------------------------------------------------


def test_bench_main_prints_a_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--sections", "peer-sensitivity", "--skip-peers"]) == 0
    out = capsys.readouterr().out
    assert "Machine:" in out and "Peers" in out and "Targets" in out


def test_bench_main_rejects_unknown_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--sections", "nonsense"]) == 2
    assert "unknown section" in capsys.readouterr().err


# --- several inputs ---------------------------------------------------------------------------


def test_several_inputs_section_structure() -> None:
    from benchmarks import several_inputs as several

    cfg = replace(
        several.Config.quick(),
        dense=(4, 5, 3),
        network=(3, 4, 2),
        network_m=3,
        softmax=((3, 2), (4, 3)),
        peers=False,
        isolated=False,
        baseline_repeats=2,
    )
    seen: list[several.Case] = []
    rows, prediction = several.run(cfg, progress=seen.append)
    assert rows == seen and prediction is None
    assert [(r.table, r.method) for r in rows] == [
        ("dense", "harness: verify_at"),
        ("network", "harness: verify_params(max_examples=0)"),
        ("softmax", "harness: verify_at"),
        ("softmax", "harness: verify_at"),
    ]
    for r in rows:
        assert r.verdict == "pass", r.note
        assert r.jacobian == "pass"
        assert r.seconds is not None and r.baseline is not None and r.ratio is not None
        assert r.forward is not None and r.forward >= 1 and r.vjp is not None
        assert r.peak_bytes is not None and r.memory == "tracemalloc"
    assert rows[1].extra["parameters"] == 3 * 4 + 4 + 4 * 2 + 2
    text = several.format_tables(rows, cfg)
    assert "| shape | method | verdict |" in text and "tracemalloc" in text
    ts = several.targets(rows, cfg)
    assert [t.met for t in ts[:2]] == [True, True]
    assert "not measured" in several.format_targets(ts)  # no torch row to compare with


def test_several_inputs_child_and_torch_prediction() -> None:
    from benchmarks import several_inputs as several

    cfg = replace(several.Config.quick(), peers=False, baseline_repeats=1, timeout=120.0)
    r = several.run_case("softmax", {"shape": [3, 2]}, cfg)
    assert r["verdict"] == "pass" and r["memory"] == "ru_maxrss", r
    assert r["seconds"] > 0 and r["peak_bytes"] >= 0
    # From two calibration rows: the slope per Jacobian entry, never below 16 bytes (two
    # float64 Jacobians); the full dense shape needs tens of GiB.
    calib = []
    for shape, peak in (((32, 64, 8), 40 * 2**20), ((64, 128, 16), 400 * 2**20)):
        c = several.Case("dense", str(shape), "torch.gradcheck", "pass", peak_bytes=peak)
        c.extra["shape"] = shape
        calib.append(c)
    p = several.torch_prediction(calib, (256, 512, 64))
    assert p.bytes_per_entry >= 16.0 and p.needs >= p.lower_bound
    assert p.lower_bound == 16.0 * 16_384 * 164_096
    assert several.torch_prediction([], (256, 512, 64)).needs == p.lower_bound
