"""Write the gold files of the report tests with the writer itself.

``small_results.json`` is built from the results model (harness/results.py) and serialised by
``ResultsDocument.dumps`` -- never written by hand -- and ``summary_table.html`` is the summary
table the HTML renderer makes of it. After an intended change of the model or the report:

    .venv/bin/python tests/gold/make_gold.py

``tests/test_report_html.py::test_gold_files_are_what_the_writer_writes`` fails while the
committed files differ from what this script writes now.

The document covers what the report must show: a passing spec in two dtypes (with unresolved
and rounding-limited comparisons), a failing one whose name and docstring carry markup (two
derivative failures, a 10 x 12 input cut around the failing entry, -0.0 and 1e-300 among the
values), and a three-input spec with call failures (a raised exception that prevented three
checks, and a wrong dtype whose values were still right).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from harness.results import (
    HIST_EDGES,
    CheckResult,
    Finding,
    Heatmap,
    InputRecord,
    Location,
    RatioHist,
    ResultsDocument,
    RunResult,
    Settings,
    SpecReport,
    StepCurve,
    Worst,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "small_results.json"
SUMMARY = HERE / "summary_table.html"
BAD_SPEC = "softmax <script>alert(1)</script> /rows"
SEED = 20261128
ENVIRONMENT = (
    ("python", "3.11.7"),
    ("numpy", "2.4.6"),
    ("scipy", "1.17.1"),
    ("hypothesis", "6.170.17"),
    ("harness", "0.1.0"),
    ("platform", "Linux-x86_64"),
)
N_BINS = len(HIST_EDGES) - 1


def hist(*at: tuple[float, int]) -> RatioHist:
    """A histogram with ``count`` examples at each ``log10(ratio)``."""
    counts = [0] * N_BINS
    for lg, n in at:
        i = int(np.searchsorted(HIST_EDGES, lg, side="right")) - 1
        counts[min(max(i, 0), N_BINS - 1)] += n
    return RatioHist.of_counts(counts)


def z(input_index: tuple[int, ...] | None = None, output_index=None) -> Location:
    return Location("Z", 1, 1, input_index, output_index)


def skip(check: str, why: str = "no jvp registered") -> CheckResult:
    return CheckResult(check=check, status="skip", message=why)


def replay(spec: str, dtype: str, check: str) -> str:
    return (
        f"python -m harness replay reports/results.json --spec '{spec}' --dtype {dtype} "
        f"--check {check}"
    )


def rerun(spec: str, dtype: str) -> str:
    return f"python -m harness verify --spec '{spec}' --dtype {dtype} --seed {SEED}"


def sigmoid_run(dtype: str) -> RunResult:
    f32 = dtype == "float32"
    inp = InputRecord.from_array(
        np.array([[0.5, -1.0, 2.0], [0.25, 8.0, -3.5]], dtype=dtype), family="random"
    )
    vjp = CheckResult(
        check="vjp_directional",
        status="pass",
        examples=40,
        comparisons=80,
        max_abs_error=6.2e-14 if not f32 else 3.1e-8,
        max_rel_error=1.55e-12 if not f32 else 7.4e-7,
        max_ulps=3.0,
        error_ratio=0.031 if not f32 else 0.12,
        ratio_hist=hist((-3.0, 10), (-2.0, 20), (-1.5, 10)),
        worst=Worst(
            what="<vjp(Z, A, v), u> vs central differences of <v, f> along u",
            expected=0.19661193324148185,
            got=0.19661193324154694,
            abs_error=6.50868248186498e-14,
            rel_error=3.31042087555841e-13,
            ulps=12.0,
            tolerance=2.1e-12,
            ratio=0.030993726104118956,
            location=z(),
            input=inp,
            replay=replay("sigmoid", dtype, "vjp_directional"),
            scale=0.19661193324148185,
        ),
        step_curve=StepCurve(
            steps=(0.1, 0.01, 0.001, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8),
            errors=(2.1e-3, 2.1e-5, 2.1e-7, 2.1e-9, 2.3e-11, 1.9e-10, 2.2e-9, None),
            chosen=7.4e-4,
            dtype=dtype,
            entry=(1, 1),
        ),
        oracle="central differences",
    )
    jac = CheckResult(
        check="jacobian",
        status="pass",
        message="oracle: complex step, cross-checked against central differences",
        examples=40,
        comparisons=92634,
        unresolved=3,
        rounding_limited=12 if f32 else 0,
        max_abs_error=1.1e-16 if not f32 else 2.9e-8,
        max_rel_error=4.4e-16 if not f32 else 1.0,
        max_ulps=1.0 if not f32 else 3.0e7,
        error_ratio=0.004 if not f32 else 0.6,
        ratio_hist=hist((-2.5, 30), (-4.0, 10)),
        worst=Worst(
            what="d A[1, 1] / d Z[1, 1]: vjp row vs central differences",
            expected=3.3523767075636815e-4,
            got=3.3523767075636826e-4,
            abs_error=1.1e-19,
            rel_error=3.3e-16,
            ulps=1.0,
            tolerance=2.7e-17,
            ratio=0.004,
            location=z((1, 1), (1, 1)),
            input=inp,
            replay=replay("sigmoid", dtype, "jacobian"),
            scale=3.3523767075636815e-4,
        ),
        oracle="complex step, cross-checked against central differences",
    )
    structure = CheckResult(
        check="structure",
        status="pass",
        examples=40,
        comparisons=480,
        max_abs_error=0.0,
        max_rel_error=0.0,
        max_ulps=0.0,
        error_ratio=0.0,
        ratio_hist=hist((-12.0, 40)),
    )
    hygiene = CheckResult(
        check="hygiene",
        status="pass",
        examples=40,
        comparisons=720,
        max_abs_error=0.0,
        max_rel_error=0.0,
        max_ulps=0.0,
        error_ratio=0.0,
        ratio_hist=hist((-12.0, 40)),
    )
    return RunResult(
        spec="sigmoid",
        dtype=dtype,
        checks=(vjp, skip("jvp_directional"), skip("adjoint"), jac, structure, hygiene),
        examples=40,
        seed=SEED,
        elapsed_s=0.42,
        evaluations={"forward": 720, "vjp": 120, "jvp": 0},
        families={"random": 20, "log-magnitude": 10, "saturation": 10, "kinks": 0},
        replay=rerun("sigmoid", dtype),
    )


def bad_runs() -> tuple[RunResult, RunResult]:
    small = InputRecord.from_array(
        np.array([[0.5, -1.25, 3.0, 0.75], [-0.0, 1e-300, -7.5, 2.0], [0.125, 33.0, -2.0, 4.0]]),
        layout="F",
        family="random",
    )
    big = InputRecord.from_array(
        np.arange(120, dtype=np.float64).reshape(10, 12) / 8 - 7, family="log-magnitude"
    )
    vjp = CheckResult(
        check="vjp_directional",
        status="fail",
        message="vjp disagrees with central differences: error 7.9e-11 is 37.5 x the tolerance",
        examples=40,
        comparisons=80,
        max_abs_error=7.5e-11,
        max_rel_error=1.875e-9,
        max_ulps=3.0,
        error_ratio=37.5,
        ratio_hist=hist((-2.0, 30), (1.5, 10)),
        worst=Worst(
            what="dZ[1, 2] from vjp vs central differences",
            expected=0.04,
            got=0.04000000007500001,
            abs_error=7.500000730000002e-11,
            rel_error=1.8750001825000005e-9,
            ulps=3.0,
            tolerance=2e-12,
            ratio=37.50000365,
            location=z((1, 2)),
            input=small,
            replay=replay(BAD_SPEC, "float64", "vjp_directional"),
            scale=0.04,
        ),
        step_curve=StepCurve(
            steps=(0.1, 0.01, 0.001, 1e-4, 1e-5, 1e-6),
            errors=(1e-3, 1e-5, 1e-7, 7.6e-11, 7.5e-11, 7.7e-11),
            chosen=7.4e-4,
            dtype="float64",
            entry=(1, 2),
        ),
        oracle="central differences",
    )
    heat = tuple(
        tuple(
            2.4 if (r, c) == (5, 9) else 0.3 if (r, c) == (4, 1) else -3.0 - 0.1 * ((r + c) % 5)
            for c in range(12)
        )
        for r in range(10)
    )
    jac = CheckResult(
        check="jacobian",
        status="fail",
        message="2 Jacobian entries exceed the tolerance",
        examples=40,
        comparisons=1200,
        unresolved=0,
        max_abs_error=3.2e-5,
        max_rel_error=0.8,
        max_ulps=2.9e11,
        error_ratio=7.2e7,
        ratio_hist=hist((-3.0, 39), (7.9, 1)),
        worst=Worst(
            what="column 9: d A[5, 9] / d Z[2, 9]: vjp row vs central differences",
            expected=4e-5,
            got=8e-6,
            abs_error=3.2e-5,
            rel_error=0.8,
            ulps=2.9e11,
            tolerance=4.4e-13,
            ratio=7.2e7,
            location=z((5, 9), (2, 9)),
            input=big,
            replay=replay(BAD_SPEC, "float64", "jacobian"),
            scale=4e-5,
        ),
        heatmap=Heatmap(rows=10, cols=12, log10_ratio=heat, title="column 9: n x n block"),
        oracle="central differences (the forward does not take complex input)",
    )
    ok = CheckResult(
        check="hygiene",
        status="pass",
        examples=40,
        comparisons=720,
        max_abs_error=0.0,
        max_rel_error=0.0,
        max_ulps=0.0,
        error_ratio=0.0,
        ratio_hist=hist((-12.0, 40)),
    )
    structure = CheckResult(
        check="structure",
        status="pass",
        examples=40,
        comparisons=960,
        max_abs_error=0.0,
        max_rel_error=0.0,
        max_ulps=0.0,
        error_ratio=0.0,
        ratio_hist=hist((-12.0, 40)),
    )
    f64 = RunResult(
        spec=BAD_SPEC,
        dtype="float64",
        checks=(vjp, skip("jvp_directional"), skip("adjoint"), jac, structure, ok),
        examples=40,
        seed=SEED,
        elapsed_s=1.9,
        evaluations={"forward": 1440, "vjp": 240, "jvp": 0},
        families={"random": 24, "log-magnitude": 16, "saturation": 0, "kinks": 0},
        replay=rerun(BAD_SPEC, "float64"),
    )
    f32 = RunResult(
        spec=BAD_SPEC,
        dtype="float32",
        checks=(
            CheckResult(
                check="vjp_directional",
                status="pass",
                examples=40,
                comparisons=80,
                max_abs_error=2e-8,
                max_rel_error=1e-6,
                max_ulps=8.0,
                error_ratio=0.5,
                ratio_hist=hist((-0.3, 40)),
                oracle="central differences",
            ),
            skip("jvp_directional"),
            skip("adjoint"),
            CheckResult(
                check="jacobian",
                status="unresolved",
                message="every entry was left out: the steps exceed the function's features",
                examples=40,
                comparisons=0,
                unresolved=1200,
                oracle="central differences",
            ),
            structure,
            ok,
        ),
        examples=40,
        seed=SEED,
        elapsed_s=1.1,
        evaluations={"forward": 1440, "vjp": 240, "jvp": 0},
        families={"random": 24, "log-magnitude": 16, "saturation": 0, "kinks": 0},
        replay=rerun(BAD_SPEC, "float32"),
    )
    return f64, f32


def dense_runs() -> tuple[RunResult, RunResult]:
    names = ("W", "b", "A_prev")
    rng = np.random.default_rng(7)
    arrays = [np.round(rng.standard_normal(s), 3) for s in ((3, 2), (3, 1), (2, 4))]
    inp = InputRecord.from_arrays(names, arrays, family="random")
    where = Location("b", 2, 3, None, None)
    message = (
        "vjp raised ValueError: operands could not be broadcast together (called with "
        "W: (3, 2) float64, b: (3, 1) float64, A_prev: (2, 4) float64, Z: (3, 4) float64, "
        "dZ: (3, 4) float64)"
    )
    prevented = ("vjp_directional", "jacobian", "hygiene")

    def stopped(check: str) -> CheckResult:
        return CheckResult(
            check=check,
            status="fail",
            message=message,
            examples=1,
            worst=Worst(
                what="raised",
                expected=None,
                got=None,
                abs_error=None,
                rel_error=None,
                ulps=None,
                tolerance=None,
                ratio=None,
                location=where,
                input=inp,
                replay=replay("dense-layer", "float64", check),
            ),
            finding="raised",
        )

    f64 = RunResult(
        spec="dense-layer",
        dtype="float64",
        checks=(
            stopped("vjp_directional"),
            skip("jvp_directional"),
            skip("adjoint"),
            stopped("jacobian"),
            skip("structure", "dense: no structure to check"),
            stopped("hygiene"),
        ),
        findings=(Finding("raised", message, prevented, inp, where),),
        examples=1,
        seed=SEED,
        elapsed_s=0.05,
        evaluations={"forward": 3, "vjp": 1, "jvp": 0},
        families={"random": 1},
        replay=rerun("dense-layer", "float64"),
        inputs=names,
    )
    inp32 = InputRecord.from_arrays(names, [a.astype(np.float32) for a in arrays], family="random")
    f32 = RunResult(
        spec="dense-layer",
        dtype="float32",
        checks=(
            CheckResult(
                check="vjp_directional",
                status="pass",
                examples=40,
                comparisons=80,
                max_abs_error=1e-7,
                max_rel_error=2e-7,
                max_ulps=2.0,
                error_ratio=0.02,
                ratio_hist=hist((-1.7, 40)),
                oracle="central differences",
            ),
            skip("jvp_directional"),
            skip("adjoint"),
            CheckResult(
                check="jacobian",
                status="pass",
                examples=40,
                comparisons=4200,
                max_abs_error=1.2e-7,
                max_rel_error=1.5e-7,
                max_ulps=1.0,
                error_ratio=0.05,
                ratio_hist=hist((-1.3, 40)),
                oracle="central differences",
            ),
            skip("structure", "dense: no structure to check"),
            CheckResult(
                check="hygiene",
                status="pass",
                examples=40,
                comparisons=400,
                max_abs_error=0.0,
                max_rel_error=0.0,
                max_ulps=0.0,
                error_ratio=0.0,
                ratio_hist=hist((-12.0, 40)),
            ),
        ),
        findings=(
            Finding(
                "dtype",
                "vjp returns float64 for float32 input (gradient for `W`)",
                (),
                inp32,
                Location("W", 1, 3, None, None),
            ),
        ),
        examples=40,
        seed=SEED,
        elapsed_s=0.8,
        evaluations={"forward": 800, "vjp": 160, "jvp": 0},
        families={"random": 40},
        replay=rerun("dense-layer", "float32"),
        inputs=names,
    )
    return f64, f32


def build() -> ResultsDocument:
    """The gold results document, as the model builds it."""
    sigmoid = SpecReport(
        name="sigmoid",
        structure="elementwise",
        kinks=(),
        equations="(3), (4)",
        formula="dZ = dA * A * (1 - A)",
        doc="Sigmoid activation A = 1 / (1 + exp(-Z)).\n\nThe backward pass reuses A.",
        runs=(sigmoid_run("float64"), sigmoid_run("float32")),
    )
    bad = SpecReport(
        name=BAD_SPEC,
        structure="columnwise",
        kinks=(),
        equations="(7)",
        formula="dZ = A * (dA - sum(A * dA, axis=0))",
        doc=(
            "Column-wise softmax with a deliberately wrong backward pass "
            "(the <b>sum</b> uses axis=1 & so on)."
        ),
        runs=bad_runs(),
    )
    dense = SpecReport(
        name="dense-layer",
        structure="W: rowwise, b: rowwise, A_prev: columnwise",
        kinks=(),
        equations="",
        formula="Z = W @ A_prev + b",
        doc="A dense layer whose float64 VJP raises and whose float32 VJP returns float64.",
        runs=dense_runs(),
    )
    return ResultsDocument(
        created="2026-11-28T08:00:00+00:00",
        environment=ENVIRONMENT,
        settings=Settings(
            profile="quick",
            seed=SEED,
            max_examples=40,
            dtypes=("float64", "float32"),
            strict=False,
        ),
        specs=(sigmoid, bad, dense),
    )


def summary_table(doc: ResultsDocument) -> str:
    """The summary table of the rendered index page, as the gold file holds it."""
    from harness.report.html import render_pages

    index = render_pages(doc, max_plots=0)["index.html"]
    match = re.search(r'<table class="summary">.*?</table>', index, re.DOTALL)
    assert match is not None
    return match.group(0) + "\n"


def main() -> int:
    doc = build()
    RESULTS.write_text(doc.dumps(), encoding="utf-8", newline="\n")
    SUMMARY.write_text(summary_table(doc), encoding="utf-8", newline="\n")
    print(f"wrote {RESULTS} and {SUMMARY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
