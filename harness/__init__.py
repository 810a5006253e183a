"""Gradient-verification harness: is the backward pass you wrote right?

Register a function with its hand-written vector-Jacobian product, and the harness checks it
against central finite differences and the full explicit Jacobian on random and adversarial
inputs, with tolerances from an error model, and reports pass/fail with error magnitudes.

Public API
----------
Spec, Structure, register, REGISTRY, Registry
    What to verify (several inputs, constants, shapes and domains: see Spec;
    harness.domains for where inputs live).
verify, verify_at, assert_verified
    How to verify it.
verify_params, register_params, params_spec
    A whole network from its parameter dictionary, one verdict per parameter.
second_order
    A spec's VJP as a spec of its own: second derivatives.
RunResult, CheckResult, Worst, InputRecord, InputVerdict
    Results (immutable, JSON-serialisable).
HarnessError and subclasses
    Errors in the use of the harness (never a verdict).
"""

from harness.errormodel import DEFAULT_MODEL, ErrorModel
from harness.errors import (
    HarnessError,
    JacobianTooLargeError,
    RegistryError,
    ReportError,
    SpecError,
    UsageError,
)
from harness.params import ParamsResult, params_spec, register_params, verify_params
from harness.registry import REGISTRY, Registry, load_modules, register
from harness.results import CheckResult, InputRecord, InputVerdict, RunResult, SpecReport, Worst
from harness.runner import assert_verified, verify, verify_at
from harness.second_order import second_order
from harness.spec import Spec
from harness.structure import Structure

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "REGISTRY",
    "CheckResult",
    "ErrorModel",
    "HarnessError",
    "InputRecord",
    "InputVerdict",
    "JacobianTooLargeError",
    "ParamsResult",
    "Registry",
    "RegistryError",
    "ReportError",
    "RunResult",
    "Spec",
    "SpecError",
    "SpecReport",
    "Structure",
    "UsageError",
    "Worst",
    "__version__",
    "assert_verified",
    "load_modules",
    "params_spec",
    "register",
    "register_params",
    "second_order",
    "verify",
    "verify_at",
    "verify_params",
]
