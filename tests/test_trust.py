"""Trustworthy verdicts (issue 9), one group of tests per numbered item, public API only.

The rule every test here applies: correct code PASSES with no false alarm; wrong code FAILS
or is reported UNRESOLVED at the input where it is wrong, never passes; an error model that
cannot be formed is "unresolved", not "fail"; coverage (how many comparisons could not be
made) is part of the verdict.

The third field of ``NOISE_POINTS`` names what made a point hard for the earlier error model.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import ordinary_specs as ordi
import pytest
import wrong_by_family as wbf

import specs.second_order  # noqa: F401  (registers the second-order specs)
from harness import REGISTRY, RunResult, Spec, verify, verify_at
from harness.finite_range import finite_range
from specs import activations as act


def _unresolved(c: Any) -> int:
    """Unresolved comparisons of a check: the result's count where it has the field, else
    what its message states ("3 of 120 comparisons unresolved")."""
    n = int(getattr(c, "unresolved", 0) or 0)
    if not n:
        found = re.search(r"(\d+) of \d+ comparisons unresolved", c.message or "")
        n = int(found.group(1)) if found else 0
    return n + (1 if c.status == "unresolved" and not n else 0)


def _rounding_limited(c: Any) -> int:
    n = int(getattr(c, "rounding_limited", 0) or 0)
    if not n:
        found = re.search(r"(\d+) rounding-limited", c.message or "")
        n = int(found.group(1)) if found else 0
    return n


def assert_passes(r: RunResult) -> None:
    """Correct code: no check fails (unresolved comparisons are allowed and counted)."""
    assert r.passed, r.summary()
    assert not [c.check for c in r.checks if c.status == "fail"], r.summary()


def assert_not_passed(r: RunResult) -> None:
    """Wrong code: a check fails, or the input is reported unresolved; never a clean PASS."""
    failed = [c.check for c in r.checks if c.status == "fail"]
    unresolved = [c.check for c in r.checks if _unresolved(c)]
    assert failed or unresolved, "wrong code passed:\n" + r.summary()


def _like(spec: Spec, name: str, **changes: Any) -> Spec:
    keep = ("forward", "vjp", "jvp", "structure", "kinks", "dtypes", "max_abs_input")
    fields = {f: getattr(spec, f) for f in keep}
    fields.update(changes)
    return Spec(name=name, **fields)


# -- item 1: noise in the forward ------------------------------------------------------------------
NOISE_POINTS = [
    (ordi.softplus, -6.0, None),
    (ordi.softplus, -10.0, None),
    (ordi.softplus, -20.0, "the oracle assumes eps*|f| round-off; log(1+exp(z)) errs by eps"),
    (ordi.softplus, -30.0, "the oracle assumes eps*|f| round-off; log(1+exp(z)) errs by eps"),
    (ordi.softplus, -36.0, "the oracle assumes eps*|f| round-off; log(1+exp(z)) errs by eps"),
    (ordi.softplus, -50.0, "log(1+exp(z)) is exactly 0: the differences carry no information"),
    (ordi.elu1, -1e-2, None),
    (ordi.elu1, -1e-6, None),
    (ordi.elu1, -1e-8, "exp(z) - 1 cancels: noise eps, not eps*|f|"),
    (ordi.tanh_prime, 3.0, None),
    (ordi.tanh_prime, 6.0, "1 - tanh**2 cancels: noise eps, not eps*|f|"),
    (ordi.tanh_prime, 15.0, "1 - tanh**2 cancels: noise eps, not eps*|f|"),
    (ordi.sigmoid_prime, 5.0, None),
    (ordi.sigmoid_prime, 20.0, "s*(1-s) cancels: noise eps, not eps*|f|"),
    (ordi.sigmoid_prime, 30.0, "s*(1-s) cancels: noise eps, not eps*|f|"),
]


@pytest.mark.parametrize(
    ("spec", "z"),
    [pytest.param(s, z, id=f"{s.name}@{z:g}") for s, z, why in NOISE_POINTS],
)
def test_item1_noisy_forward_no_false_alarm(spec: Spec, z: float) -> None:
    assert_passes(verify_at(spec, np.array([[z]])))


@pytest.mark.parametrize(
    ("spec", "z"),
    [
        pytest.param(ordi.softplus, -20.0),
        pytest.param(ordi.tanh_prime, 8.0),
        pytest.param(ordi.sigmoid_prime, 25.0),
    ],
    ids=lambda v: v.name if isinstance(v, Spec) else f"{v:g}",
)
def test_item1_noisy_forward_whole_arrays(spec: Spec, z: float) -> None:
    """Noisy and ordinary entries side by side, in one array."""
    Z = np.array([[z, z - 3.0, 0.5], [z + 1.0, -1.0, 2.0 * z]])
    assert_passes(verify_at(spec, Z))


@pytest.mark.parametrize(
    ("spec", "dtype"),
    [
        pytest.param(ordi.softplus, "float64"),
        pytest.param(ordi.elu1, "float64"),
        pytest.param(ordi.tanh_prime, "float64"),
        pytest.param(ordi.sigmoid_prime, "float64"),
        pytest.param(ordi.softplus, "float32"),
        pytest.param(ordi.elu1, "float32"),
    ],
    ids=lambda v: v.name if isinstance(v, Spec) else v,
)
def test_item1_ordinary_forms_pass_generated_runs(spec: Spec, dtype: str) -> None:
    assert_passes(verify(spec, dtype=dtype, max_examples=40, database=None))


@pytest.mark.parametrize(("factor", "z"), [(1.01, -6.0), (1.01, -10.0), (1.1, -20.0)])
def test_item1_wrong_vjp_still_caught_where_the_forward_is_noisy(factor: float, z: float) -> None:
    wrong = _like(
        ordi.softplus,
        f"softplus-vjp-times-{factor}",
        vjp=lambda Z, A, dA: factor * ordi.softplus.vjp(Z, A, dA),
        jvp=None,
    )
    assert_not_passed(verify_at(wrong, np.array([[z]])))


# -- item 2: next to a declared kink ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "z"),
    [
        pytest.param(ordi.elu05, -3e-299),
        pytest.param(ordi.elu05, -1e-300),
        pytest.param(ordi.selu, -3e-299),
        pytest.param(ordi.selu, -1e-300),
        pytest.param(ordi.elu05, 3e-299),
        pytest.param(ordi.selu, -5e-324),
        pytest.param(ordi.elu1, -3e-299),
    ],
    ids=lambda v: v.name if isinstance(v, Spec) else f"{v:g}",
)
def test_item2_next_to_a_kink_is_a_subgradient_test(spec: Spec, z: float) -> None:
    assert_passes(verify_at(spec, np.array([[z]])))


@pytest.mark.parametrize("probe_seed", range(8))
@pytest.mark.parametrize("z", [-1e-10, -3e-10, -1e-9])
def test_item2_cancelling_forward_a_step_from_its_kink_no_false_alarm(
    z: float, probe_seed: int
) -> None:
    """SELU's ``alpha (exp(z) - 1)`` at z = -1e-10: the step is squeezed to 5e-11 by the kink
    at 0, where the forward (1.8e-10) errs by 2e-16 and the noise stencil cannot move the
    entry. Central differences there are 1e-7 off; the correct VJP must pass."""
    Z = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, z]])
    assert_passes(verify_at(ordi.selu, Z, probe_seed=probe_seed))


def test_item2_wrong_slope_next_to_a_kink_is_caught() -> None:
    """ELU(alpha=0.5) with ReLU's derivative (0 for z < 0): outside [0.5, 1] at z = -3e-299."""
    wrong = _like(ordi.elu05, "elu-with-relu-slope", vjp=lambda Z, A, dA: dA * (Z > 0), jvp=None)
    assert_not_passed(verify_at(wrong, np.array([[-3e-299]])))
    assert not verify_at(wrong, np.array([[-3e-299, -1.0]])).passed


# -- item 3: an error model that overflows is unresolved, not a failure ----------------------------
def test_item3_overflowed_error_model_is_unresolved() -> None:
    r = verify_at(ordi.exp, np.array([[709.0, 709.7]]))
    for name in ("vjp_directional", "jvp_directional"):
        c = r.check(name) if hasattr(r, "check") else next(x for x in r.checks if x.check == name)
        assert c.status != "fail", r.summary()


# -- item 4: the harness's own points stay inside the domain and the dtype's range -----------------
def _guarded_forward(Z: np.ndarray) -> np.ndarray:
    """2 z for |z| <= 100; NaN outside (the function is only meant for |z| <= 100)."""
    return np.where(np.abs(Z) <= 100, 2 * Z, np.nan).astype(Z.dtype)


guarded = Spec(
    name="guarded-double",
    forward=_guarded_forward,
    vjp=lambda Z, A, dA: 2 * dA,
    jvp=lambda Z, A, dZ: 2 * dZ,
    structure="elementwise",
    max_abs_input=100.0,
)
guarded_columns = Spec(
    name="guarded-softmax",
    forward=lambda Z: np.where(
        np.abs(Z) <= 100, act.softmax_forward(np.clip(Z, -100, 100)), np.nan
    ).astype(Z.dtype),
    vjp=act.softmax_backward,
    structure="columnwise",
    max_abs_input=100.0,
)


def test_item4_perturbations_respect_max_abs_input() -> None:
    assert_passes(verify_at(guarded_columns, np.array([[90.0, -50.0], [3.0, 99.0]])))


def test_item4_elementwise_stencils_respect_max_abs_input() -> None:
    assert_passes(verify_at(guarded, np.array([[90.0, -50.0], [3.0, 99.0]])))


def test_item4_cotangents_cannot_overflow() -> None:
    assert_passes(verify_at(ordi.exp, np.full((4, 8), 88.0, dtype=np.float32)))


def test_item4_float64_exp_at_the_edge() -> None:
    assert_passes(verify_at(ordi.exp, np.array([[709.0, 709.7], [-745.0, 700.0]])))


# -- item 5: overflow that is the function's, not the code's ---------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_item5_exp_generated_runs_pass_inside_the_finite_range(dtype: str) -> None:
    assert_passes(verify(ordi.exp, dtype=dtype, max_examples=40, database=None))


def test_item5_finite_range_per_dtype() -> None:
    f32 = finite_range(ordi.exp_forward, "float32")
    f64 = finite_range(ordi.exp_forward, "float64")
    assert "the forward overflows for z > 88.72" in f32.message()
    assert "the forward overflows for z > 709.78" in f64.message()
    assert (
        "the code overflows, not the function"
        in finite_range(ordi.softplus_forward, "float32").message()
    )


def test_item5_run_states_the_range_once() -> None:
    r = verify(ordi.exp, dtype="float32", max_examples=40, database=None)
    assert r.summary().count("overflows for z > 88.72") == 1


softplus_unbounded = _like(ordi.softplus, "softplus-ordinary-unbounded", max_abs_input=None)


def test_item5_code_overflow_is_told_apart_from_function_overflow() -> None:
    r = verify(softplus_unbounded, dtype="float32", max_examples=40, database=None)
    assert "the code overflows, not the function" in r.summary()
    r_exp = verify(ordi.exp, dtype="float32", max_examples=40, database=None)
    assert "the code overflows" not in r_exp.summary()


# -- item 6: the rounding policy, applied consistently ---------------------------------------------
@pytest.mark.parametrize(
    ("spec", "z"),
    [
        pytest.param(s, z)
        for s, z in (
            (ordi.sigmoid_prime_rounded, 9.0),
            (ordi.sigmoid_prime_rounded, 17.0),
            (ordi.sigmoid_prime_rounded, 20.0),
            (ordi.tanh_prime_rounded, 9.0),
        )
    ]
    + [
        pytest.param(ordi.tanh_prime_rounded, 17.0),
        pytest.param(ordi.tanh_prime_rounded, 20.0),
    ],
    ids=lambda v: v.name if isinstance(v, Spec) else f"{v:g}",
)
def test_item6_backward_from_a_rounded_sigmoid_or_tanh_is_rounding_limited(
    spec: Spec, z: float
) -> None:
    Z = np.array([[z, -z]], dtype=np.float32)
    assert_passes(verify_at(spec, Z))


def test_item6_rounding_limited_is_counted_and_strict_flags_it() -> None:
    Z = np.array([[17.0, 20.0]], dtype=np.float32)
    r = verify_at(ordi.sigmoid_prime_rounded, Z)
    assert_passes(r)
    assert any(_rounding_limited(c) for c in r.checks), r.summary()
    assert not verify_at(ordi.sigmoid_prime_rounded, Z, strict=True).passed


def test_item8_a_pass_shows_a_comparison_resolved_without_the_policy_as_its_worst() -> None:
    """Rounding-limited entries (z = 17, 20) beside ordinary ones: the jacobian's worst
    comparison is an ordinary entry, with a tolerance clearly below its scale."""
    Z = np.array([[17.0, 20.0, 0.5, -1.0]], dtype=np.float32)
    r = verify_at(ordi.sigmoid_prime_rounded, Z)
    assert_passes(r)
    jac = next(c for c in r.checks if c.check == "jacobian")
    assert _rounding_limited(jac) > 0, r.summary()
    w = jac.worst
    assert w is not None and w.location is not None and w.location.input_index is not None
    assert w.location.input_index[1] in (2, 3), r.summary()
    assert w.tolerance is not None and w.expected is not None and w.got is not None
    assert w.tolerance < 0.5 * max(abs(w.expected), abs(w.got)), r.summary()


# -- item 7: tolerances bounded by what rounding can do to the derivative -------------------------
@pytest.mark.parametrize(
    ("wrong", "Z"),
    [pytest.param(w.spec, Z) for w in (wbf.affine,) for Zs in w.inputs.values() for Z in Zs]
    + [
        pytest.param(
            wbf.relu_halved.spec,
            np.array([[1e13]]),
        ),
        pytest.param(
            wbf.relu_halved.spec,
            np.array([[1e16]]),
        ),
        pytest.param(
            wbf.above_1e3.spec,
            np.array([[1e200]]),
        ),
        pytest.param(
            wbf.above_1e3.spec,
            np.array([[1e30]], dtype=np.float32),
        ),
    ],
    ids=lambda v: v.name if isinstance(v, Spec) else f"{v.dtype}{v.ravel()[0]:g}",
)
def test_item7_wrong_slope_at_large_outputs_is_caught(wrong: Spec, Z: np.ndarray) -> None:
    r = verify_at(wrong, Z)
    assert not r.passed, r.summary()


def test_item7_relu_halved_above_1e12_fails_a_generated_run() -> None:
    r = verify(wbf.relu_halved.spec, dtype="float64", profile="thorough", database=None)
    assert not r.passed


# -- item 8: comparisons that cannot fail are unresolved, never part of a PASS ---------------------
HUGE_TIES = np.full((3, 1), 9.49e162)
NEAR_TIES = np.array([[1e150], [1e150], [-3.0]])  # (with + 1e136 the softmax is one-hot)


@pytest.mark.parametrize(
    "Z",
    [pytest.param(Z) for Z in wbf.huge_logits.inputs["float64"]],
    ids=lambda Z: f"{Z.ravel()[0]:.3g}",
)
def test_item8_softmax_zero_at_huge_logits_never_passes(Z: np.ndarray) -> None:
    assert_not_passed(verify_at(wbf.huge_logits.spec, Z))


def test_item8_no_vacuous_comparison_in_a_pass() -> None:
    """Correct softmax at tied logits of 9.49e162: central differences resolve nothing there
    (step 3.4e148); the jacobian check must resolve the entries another way or count them
    unresolved, and no PASS may rest on them."""
    r = verify_at(act.softmax, HUGE_TIES)
    assert_passes(r)
    jac = next(c for c in r.checks if c.check == "jacobian")
    bad = verify_at(wbf.huge_logits.spec, HUGE_TIES)
    bad_jac = next(c for c in bad.checks if c.check == "jacobian")
    # Either counted unresolved, or really resolved: then the zeros VJP fails there.
    assert _unresolved(jac) > 0 or bad_jac.status == "fail", r.summary()
    for c in r.checks:
        w = c.worst
        if c.status == "pass" and w is not None and w.tolerance > 0:
            scale = max(abs(w.expected), abs(w.got))
            assert w.tolerance < 0.1 * scale or scale == 0, (c.check, w)


@pytest.mark.parametrize(
    ("wrong", "Z"),
    [
        pytest.param(
            w.spec,
            Z,
            id=f"{w.family}:{w.spec.name}:{Z.dtype}{Z.ravel()[0]:.3g}",
        )
        for w in wbf.BY_FAMILY
        for Zs in w.inputs.values()
        for Z in Zs
    ],
)
def test_item8_wrong_by_family_caught_or_unresolved(wrong: Spec, Z: np.ndarray) -> None:
    assert_not_passed(verify_at(wrong, Z))


# -- item 9: resolve what can be resolved (complex step with an absolute step) --------------------
@pytest.mark.parametrize("Z", [HUGE_TIES, NEAR_TIES], ids=lambda Z: f"{Z.ravel()[0]:.3g}")
def test_item9_complex_step_resolves_huge_logits(Z: np.ndarray) -> None:
    r = verify_at(act.softmax, Z)
    assert_passes(r)
    jac = next(c for c in r.checks if c.check == "jacobian")
    assert _unresolved(jac) == 0, r.summary()
    assert "complex step" in jac.message
    bad = verify_at(wbf.huge_logits.spec, Z)
    assert next(c for c in bad.checks if c.check == "jacobian").status == "fail", bad.summary()


def _softmax_vjp_leaks_into_the_small_logit(Z: np.ndarray, A: np.ndarray, dA: np.ndarray) -> Any:
    """Right, except that the last row's gradient picks up 1e-9 of the first row's cotangent:
    wrong only in entries whose true value is exp(-1e150), i.e. 0."""
    G = act.softmax_backward(Z, A, dA)
    G[-1] += 1e-9 * dA[0]
    return G


def test_item9_entries_far_below_their_block_are_resolved() -> None:
    """Next to entries of 0.25, an entry of exp(-1e150) is resolved by an absolute tolerance
    far below the block's rounding: a VJP wrong by 1e-9 there fails, the correct one passes
    with every entry resolved."""
    leak = Spec(
        name="softmax-leaks-1e-9",
        forward=act.softmax_forward,
        vjp=_softmax_vjp_leaks_into_the_small_logit,
        structure="columnwise",
    )
    bad = verify_at(leak, NEAR_TIES)
    jac = next(c for c in bad.checks if c.check == "jacobian")
    assert jac.status == "fail", bad.summary()
    assert jac.worst is not None and jac.worst.location is not None
    assert jac.worst.location.input_index == (2, 0), bad.summary()


def _jacobian_of(r: RunResult) -> Any:
    return next(c for c in r.checks if c.check == "jacobian")


@pytest.mark.parametrize(
    "Z",
    [
        # A derivative of 1.7e-305 next to a logit of 795: the complex step's imaginary part
        # underflows to 0, which must not veto it.
        pytest.param(
            np.array([[700.0, -7.7, -5.9, 795.3, 3.0, -20.0, 5.0, -2.2]]).T, id="underflow"
        ),
        # A one-row softmax is constant: its derivative is exactly 0, resolved.
        pytest.param(np.array([[0.0, 1.0, -3.0]]), id="one-row"),
        # Dominant logits: every column exactly one-hot, every derivative 0 (exp(-1e302)).
        pytest.param(np.array([[3.9e302, 1.0], [1.0, 5.3e79], [-1.0, 1.0]]), id="one-hot"),
    ],
)
def test_item9_softmax_fully_resolved_at_adversarial_inputs(Z: np.ndarray) -> None:
    r = verify_at(act.softmax, Z)
    assert_passes(r)
    jac = _jacobian_of(r)
    assert _unresolved(jac) == 0, r.summary()


def test_item9_coarse_central_differences_do_not_veto_the_complex_step() -> None:
    """Tied logits of 1e122 beside an ordinary column: central differences with a step of 16
    ulps of 1e122 return ~1e-122 +- 1e-120 for 0.1875; they must not veto the complex step,
    which then catches a VJP that returns zeros for that column."""
    Z = np.array([[1e122, 0.5], [1e122, -1.0], [1e122, 2.0], [1e122, 0.0]])
    r = verify_at(act.softmax, Z)
    assert_passes(r)
    oracle = "complex step, cross-checked against central differences"
    assert oracle in _jacobian_of(r).message, r.summary()
    bad = verify_at(wbf.huge_logits.spec, Z)
    assert _jacobian_of(bad).status == "fail", bad.summary()


def _softmax_vjp_plus_tiny(Z: np.ndarray, A: np.ndarray, dA: np.ndarray) -> Any:
    """Right, plus 1e-200 of the cotangent in every entry: wrong where the Jacobian is 0."""
    return act.softmax_backward(Z, A, dA) + 1e-200 * dA


def test_item9_a_tiny_error_where_the_jacobian_is_exactly_zero_fails() -> None:
    wrong = Spec(
        name="softmax-plus-1e-200",
        forward=act.softmax_forward,
        vjp=_softmax_vjp_plus_tiny,
        structure="columnwise",
    )
    r = verify_at(wrong, np.array([[3.9e302, 1.0], [1.0, 5.3e79], [-1.0, 1.0]]))
    assert _jacobian_of(r).status == "fail", r.summary()


def test_item9_outputs_of_exactly_zero_do_not_widen_the_complex_step() -> None:
    """tanh's VJP as a function of (Z, dA) at dA = 0: every output is 0, so the forward has no
    relative precision there; d out / d dA = sech(Z)**2 is still resolved by the complex step
    (only d out / d Z, exactly 0 with no scale to judge it by, stays unresolved)."""
    r = verify_at(REGISTRY.get("tanh-second-order"), np.array([[0.5], [1.0]]), np.zeros((2, 1)))
    assert_passes(r)
    jac = _jacobian_of(r)
    assert jac.comparisons == 4 and _unresolved(jac) == 4, r.summary()


# -- item 10: coverage is part of the verdict ------------------------------------------------------
def _real_only_softmax(Z: np.ndarray) -> np.ndarray:
    """softmax that drops an imaginary part (so no complex step can resolve huge logits)."""
    return act.softmax_forward(np.real(Z).astype(np.float64 if np.iscomplexobj(Z) else Z.dtype))


softmax_real = Spec(
    name="softmax-real-only",
    forward=_real_only_softmax,
    vjp=act.softmax_backward,
    structure="columnwise",
)


def test_item10_coverage_in_results_and_strict() -> None:
    r = verify_at(softmax_real, HUGE_TIES)
    assert_passes(r)
    counted = [c for c in r.checks if _unresolved(c)]
    assert counted, r.summary()
    for c in counted:
        d = c.to_dict()
        assert "unresolved" in d or "comparisons unresolved" in d["message"]
    assert not verify_at(softmax_real, HUGE_TIES, strict=True).passed


def test_item10_coverage_in_the_summary_line() -> None:
    r = verify_at(softmax_real, HUGE_TIES)
    assert "unresolved" in r.summary().splitlines()[0]
    assert all("unresolved" in c.to_dict() for c in r.checks)


def test_item10_fully_resolved_run_reports_no_unresolved() -> None:
    r = verify_at(act.sigmoid, np.array([[0.5, -1.0], [2.0, 3.0]]))
    assert_passes(r)
    assert all(_unresolved(c) == 0 for c in r.checks)


# -- the ordinary specs are correct (50-digit arithmetic) ------------------------------------------
@pytest.mark.parametrize("spec", ordi.ORDINARY, ids=lambda s: s.name)
def test_ordinary_vjps_are_correct_to_a_few_ulps(spec: Spec) -> None:
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    alpha = {"elu-ordinary-alpha1": 1.0, "elu-ordinary-alpha0.5": 0.5}.get(spec.name)

    def true(z: float) -> Any:
        x = mp.mpf(z)
        if spec.name == "softplus-ordinary":
            return 1 / (1 + mp.exp(-x))
        if alpha is not None:
            return mp.mpf(1) if x > 0 else alpha * mp.exp(x)
        if spec.name == "selu-ordinary":
            s, a = mp.mpf(ordi.SELU_SCALE), mp.mpf(ordi.SELU_ALPHA)
            return s if x > 0 else s * a * mp.exp(x)
        if spec.name == "tanh-prime-ordinary":
            return -2 * mp.tanh(x) / mp.cosh(x) ** 2
        if spec.name == "sigmoid-prime-ordinary":
            s = 1 / (1 + mp.exp(-x))
            return s * (1 - s) * (1 - 2 * s)
        return mp.exp(x)

    zs = [-50.0, -30.0, -20.0, -6.0, -1.0, -1e-3, -1e-8, 1e-8, 0.5, 3.0, 9.0, 20.0, 30.0]
    Z = np.array([zs])
    A = spec.forward(Z)
    G = spec.vjp(Z, A, np.ones_like(Z))
    for z, g in zip(zs, G.ravel(), strict=True):
        t = true(z)
        err = abs(mp.mpf(float(g)) - t)
        assert err <= 4 * 2.0**-52 * abs(t) + 1e-300, (spec.name, z, float(g), float(t))
