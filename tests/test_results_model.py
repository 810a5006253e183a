"""The results model: every class round-trips, the strict decoder names the field it rejects,
documents follow the published JSON Schema, and version 1 documents are read by conversion."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import RESULTS_SCHEMA, validate_results

from harness.report.text import format_array
from harness.results import (
    ArrayRecord,
    CheckResult,
    Finding,
    Heatmap,
    InputRecord,
    Location,
    RatioHist,
    ResultsDocument,
    ResultsFormatError,
    RunResult,
    Settings,
    SpecReport,
    StepCurve,
    Worst,
    decode_document,
    fmt_figure,
    load_results,
)

GOLD = Path(__file__).resolve().parent / "gold"
SMALL = GOLD / "small_results.json"
V1 = GOLD / "v1_results.json"


def small() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SMALL.read_text(encoding="utf-8"))
    return doc


def roundtrip(obj: Any, decode: Any) -> Any:
    """Through JSON text and back, as a reader would see it."""
    return decode(json.loads(json.dumps(obj.to_dict(), allow_nan=False)), "x")


# --------------------------------------------------------------------------- round trips

ARRAY = ArrayRecord.from_array("b", np.array([[-0.0], [1e-300], [5e-324]]), role="constant")
INPUT = InputRecord.from_arrays(
    ("W", "b"), (np.arange(6, dtype=np.float32).reshape(2, 3) / 3, np.ones((2, 1))),
    constants=("b",), layout="F", family="kinks",
)  # fmt: skip
LOC = Location("W", 1, 2, (1, 2), (0, 2))
WORST = Worst("d A / d W", 0.25, 0.5, 0.25, 1.0, 2.0**50, 1e-13, 2.5e12, LOC, INPUT, "cmd", 0.25)


@pytest.mark.parametrize(
    ("obj", "decode"),
    [
        (ARRAY, ArrayRecord.from_dict),
        (INPUT, InputRecord.from_dict),
        (LOC, Location.from_dict),
        (Location(None, None, 3), Location.from_dict),
        (WORST, Worst.from_dict),
        (Finding("dtype", "vjp returns float64", (), INPUT, LOC), Finding.from_dict),
        (Finding("raised", "boom", ("jacobian", "hygiene")), Finding.from_dict),
        (RatioHist.of_counts([1] * 36), RatioHist.from_dict),
        (Heatmap(2, 2, ((0.5, None), (-1.0, 2.0)), "t"), Heatmap.from_dict),
        (StepCurve((0.1, 0.01), (1e-3, None), 0.05, "float32", (0, 1)), StepCurve.from_dict),
        (
            CheckResult(
                "jacobian",
                "fail",
                "msg",
                3,
                100,
                2,
                5,
                0.25,
                1.0,
                9.0,
                2.5e12,
                RatioHist.of_counts([0] * 36),
                WORST,
                Heatmap(1, 1, ((1.0,),)),
                StepCurve((0.1,), (0.2,), None, "float64"),
                "complex step",
                None,
            ),
            CheckResult.from_dict,
        ),
        (CheckResult("adjoint", "skip", "no jvp registered"), CheckResult.from_dict),
        (CheckResult("jacobian", "unresolved", unresolved=12), CheckResult.from_dict),
        (Settings("quick", 1, 5, ("float64",), True, "1/2", 2), Settings.from_dict),
    ],
    ids=lambda x: type(x).__name__ if not callable(x) else "",
)
def test_every_class_round_trips(obj: Any, decode: Any) -> None:
    assert roundtrip(obj, decode) == obj


def test_run_spec_and_document_round_trip() -> None:
    doc = load_results(SMALL)
    again = decode_document(json.loads(doc.dumps()))
    assert again == doc
    assert again.dumps() == SMALL.read_text(encoding="utf-8")
    run = doc.specs[2].runs[0]
    assert RunResult.from_dict(run.spec, json.loads(json.dumps(run.to_dict()))) == run
    spec = doc.specs[1]
    assert SpecReport.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_arrays_keep_exact_values_and_dtype() -> None:
    back = roundtrip(INPUT, InputRecord.from_dict)
    w = back["W"].to_array()
    assert w.dtype == np.float32 and w.shape == (2, 3)
    assert np.array_equal(w, np.arange(6, dtype=np.float32).reshape(2, 3) / 3)
    b = roundtrip(ARRAY, ArrayRecord.from_dict)
    assert math.copysign(1.0, float(b.array[0, 0])) < 0  # -0.0 survives
    assert float(b.array[2, 0]) == 5e-324
    assert back.names == ("W", "b") and back["b"].role == "constant"


def test_figures_are_finite_or_none() -> None:
    c = CheckResult("x", "fail", max_abs_error=math.inf, max_ulps=math.nan, error_ratio=math.inf)
    assert (c.max_abs_error, c.max_ulps, c.error_ratio) == (None, None, None)
    w = Worst("raised", math.nan, math.nan, math.inf, math.inf, None, 0.0, math.inf)
    assert w.to_dict()["expected"] is None and w.tolerance == 0.0
    assert fmt_figure(math.inf) == fmt_figure(None) == "n/a"
    assert fmt_figure(0.25) == "0.25"


def test_location_names_the_input() -> None:
    assert Location("b", 2, 3).describe() == "`b` (input 2 of 3)"
    assert Location("Z", 1, 1, (0, 1)).describe() == "`Z` (input 1 of 1) entry [0, 1]"
    assert Location(None, None, 3).describe() == "a joint direction over all inputs"


# --------------------------------------------------------------------------- strict decoder


def _at(doc: dict[str, Any], path: str) -> tuple[Any, str]:
    """The container and key of a dotted path like specs.1.runs.0.checks.2.status."""
    *parts, last = path.split(".")
    node: Any = doc
    for p in parts:
        node = node[int(p)] if isinstance(node, list) else node[p]
    return node, last


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("specs.1.runs.0.checks.2.status", None, "specs[1].runs[0].checks[2].status: missing"),
        ("specs.1.runs.0.checks.2.status", "maybe",
         "specs[1].runs[0].checks[2].status: expected one of"),
        ("specs.0.runs.1.checks.3.unresolved", -1,
         "specs[0].runs[1].checks[3].unresolved: expected an integer >= 0"),
        ("specs.0.runs.0.checks.0.max_rel_error", "inf",
         "specs[0].runs[0].checks[0].max_rel_error: expected a number or null"),
        ("specs.0.runs.0.checks.0.worst.location.of", 0,
         "specs[0].runs[0].checks[0].worst.location.of: expected an integer >= 1"),
        ("specs.0.runs.0.checks.0.worst.input.arrays.0.values", [[1.0]],
         "specs[0].runs[0].checks[0].worst.input.arrays[0].values: shape (1, 1) does not "
         "match shape (2, 3)"),
        ("specs.0.runs.0.checks.0.worst.input.arrays.0.role", "weights",
         "specs[0].runs[0].checks[0].worst.input.arrays[0].role: expected one of"),
        ("specs.2.runs.0.findings.0.kind", "oops", "specs[2].runs[0].findings[0].kind"),
        ("specs.2.runs.0.findings", None, "specs[2].runs[0].findings: missing"),
        ("specs.0.runs.0.checks.0.surprise", 1,
         "specs[0].runs[0].checks[0].surprise: unexpected key"),
        ("specs.0.runs.0.passed", False,
         "specs[0].runs[0].passed: is false but the checks and findings say true"),
        ("summary.failed_checks", 1, "summary.failed_checks: is 1 but the runs say 5"),
        ("specs.0.runs.0.checks.3.ratio_hist.counts", [1, 2],
         "specs[0].runs[0].checks[3].ratio_hist: 37 edges for 2 counts"),
        ("settings.strict", "no", "settings.strict: expected true or false"),
    ],
)  # fmt: skip
def test_strict_decoder_names_the_field(path: str, value: Any, message: str) -> None:
    doc = copy.deepcopy(small())
    node, key = _at(doc, path)
    if value is None and key in node:
        del node[key]
    else:
        node[key] = value
    with pytest.raises(ResultsFormatError) as info:
        decode_document(doc)
    assert str(info.value).startswith(message), str(info.value)


def test_load_results_names_the_file(tmp_path: Path) -> None:
    doc = small()
    del doc["specs"][0]["runs"][1]["checks"][2]["status"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ResultsFormatError, match=r"bad\.json: specs\[0\]\.runs\[1\]\.checks\[2\]"):
        load_results(path)


def test_cli_replay_of_a_malformed_file_exits_2(tmp_path: Path) -> None:
    doc = small()
    doc["specs"][0]["runs"][0]["checks"][0]["worst"]["input"] = {"arrays": []}
    path = tmp_path / "results.bad"
    path.write_text(json.dumps(doc), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "replay", str(path), "--spec", "sigmoid",
         "--dtype", "float64", "--check", "jacobian"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "specs[0].runs[0].checks[0].worst.input.layout: missing" in proc.stderr


# --------------------------------------------------------------------------- JSON Schema


def test_published_schema_accepts_the_gold_document() -> None:
    validate_results(small())
    schema = json.loads(RESULTS_SCHEMA.read_text(encoding="utf-8"))
    assert schema["properties"]["schema_version"] == {"const": 2}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("specs.0.runs.0.checks.0.error_ratio", "inf"),
        ("specs.0.runs.0.checks.0.status", "maybe"),
        ("specs.0.runs.0.checks.0.worst.location", [1, 2]),
        ("schema_version", 1),
    ],
)
def test_published_schema_rejects(path: str, value: Any) -> None:
    doc = copy.deepcopy(small())
    node, key = _at(doc, path)
    node[key] = value
    with pytest.raises(AssertionError, match="violates the schema"):
        validate_results(doc)


# --------------------------------------------------------------------------- version 1


def test_version_1_documents_are_converted() -> None:
    """v1_results.json was written by the version 1 writer (commit e3fa6b4)."""
    raw = json.loads(V1.read_text(encoding="utf-8"))
    assert raw["schema_version"] == 1
    doc = load_results(V1)
    validate_results(doc.to_dict())  # the converted document is a valid version 2 one
    assert decode_document(json.loads(doc.dumps())) == doc
    by_name = {s.name: s for s in doc.specs}
    wrong = by_name["sigmoid-derivative-is-A"].runs[0]
    jac = wrong["jacobian"]
    assert jac.failed and jac.error_ratio is not None and jac.error_ratio > 1e9
    assert jac.worst is not None and jac.worst.location == Location("Z", 1, 1, (0, 0), (0, 0))
    assert jac.worst.input is not None and jac.worst.input.names == ("Z",)
    raising = by_name["raising-vjp"].runs[0]
    (finding,) = raising.findings
    assert finding.kind == "raised" and "boom" in finding.message
    assert set(finding.checks) == {"vjp_directional", "jacobian", "hygiene"}
    assert all(raising[c].finding == "raised" for c in finding.checks)
    # inf figures of v1 are None now: nothing a person reads is inf.
    assert raising["jacobian"].error_ratio is None
    soft = by_name["softmax"].runs[0]
    assert soft.passed and soft["jacobian"].oracle.startswith("complex step")
    # A columnwise jacobian location indexed J in v1: it is not claimed as an input index.
    w = soft["jacobian"].worst
    assert w is not None and w.location is not None and w.location.input_index is None
    assert "inf" not in raising.summary() and "nan" not in raising.summary()


def test_version_1_problems_are_still_named() -> None:
    raw = json.loads(V1.read_text(encoding="utf-8"))
    del raw["specs"][0]["runs"][0]["checks"][1]["status"]
    with pytest.raises(ResultsFormatError, match=r"^specs\[0\]\.runs\[0\]\.checks\[1\]\.status"):
        decode_document(raw)


# --------------------------------------------------------------------------- console text


def test_failing_entry_is_shown_in_its_neighbourhood() -> None:
    rec = ArrayRecord.from_array("Z", np.arange(400, dtype=np.float64).reshape(20, 20))
    lines = format_array(rec, (13, 17))
    text = "\n".join(lines)
    assert "[277.0]" in text  # 13 * 20 + 17, marked
    assert lines[0].split() == ["15", "16", "17", "18", "19"]
    assert [ln.split(":")[0].strip() for ln in lines[1:6]] == ["11", "12", "13", "14", "15"]
    assert lines[-1] == "(rows 11-15 of 20, columns 15-19 of 20)"
    assert "..." not in text


def test_summary_shows_each_cause_once() -> None:
    doc = load_results(SMALL)
    dense64, dense32 = doc.specs[2].runs
    text = dense64.summary()
    assert text.count("operands could not be broadcast together") == 1
    assert "prevented: vjp_directional, jacobian, hygiene" in text
    assert "FAIL  jacobian: not run, prevented by the raised finding above" in text
    assert "input W (input 1 of 3" in text and "input A_prev (input 3 of 3" in text
    assert "skip  adjoint: no jvp registered" in text
    assert (
        "FINDING dtype: vjp returns float64 for float32 input (gradient for `W`); values correct"
        in dense32.summary()
    )
    sig32 = doc.specs[0].runs[1].summary()
    assert "3 of 93,917 comparisons unresolved, 12 rounding-limited" in sig32.splitlines()[0]
    bad = doc.specs[1].runs[0].summary()
    assert "oracle: central differences (the forward does not take complex input)" in bad
    for run in doc.runs:
        for word in ("inf", "nan", "NaN"):
            assert f" {word}" not in run.summary()


def test_values_wrong_by_names_the_error() -> None:
    doc = load_results(SMALL)
    run = doc.specs[2].runs[1]
    wrong = CheckResult("jacobian", "fail", examples=1, comparisons=4, max_abs_error=1.8e-4,
                        error_ratio=30.0)  # fmt: skip
    checks = tuple(wrong if c.check == "jacobian" else c for c in run.checks)
    text = RunResult(run.spec, run.dtype, checks, run.findings).summary()
    assert "; values wrong by 0.00018" in text


def test_document_of_nothing() -> None:
    doc = ResultsDocument("", (), Settings(), ())
    assert doc.passed and decode_document(json.loads(doc.dumps())) == doc


def test_a_raising_forward_is_one_finding_and_jvp_checks_stay_skipped() -> None:
    import harness
    from harness import Spec

    def forward(Z: np.ndarray) -> np.ndarray:
        raise ValueError("no forward today")

    spec = Spec(name="raising-forward", forward=forward, vjp=lambda Z, A, dA: dA,
                structure="elementwise")  # fmt: skip
    run = harness.verify_at(spec, np.ones((2, 3)))
    (finding,) = run.findings
    assert finding.kind == "raised" and "no forward today" in finding.message
    assert "jvp_directional" not in finding.checks and "adjoint" not in finding.checks
    assert run["adjoint"].status == "skip" and run["adjoint"].message == "no jvp registered"
    text = run.summary()
    assert text.count("no forward today") == 1
    assert "skip  jvp_directional: no jvp registered" in text


def test_a_prevented_check_alone_names_its_cause_without_figures() -> None:
    run = load_results(SMALL).specs[2].runs[0]
    alone = RunResult(run.spec, run.dtype, (run["jacobian"],))
    text = alone.summary()
    assert "FAIL  jacobian: not run: vjp raised ValueError" in text
    assert "n/a x tolerance" not in text and "expected n/a" not in text
    assert "input b (input 2 of 3" in text
