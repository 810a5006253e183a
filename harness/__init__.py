"""Gradient-verification harness: is the backward pass you wrote right?

Register a function with its hand-written vector-Jacobian product, and the harness checks it
against central finite differences and the full explicit Jacobian on random and adversarial
inputs, with tolerances from an error model, and reports pass/fail with error magnitudes.

Public API
----------
Spec, register, REGISTRY, Registry
    What to verify.
verify, verify_at, assert_verified
    How to verify it.
RunResult, CheckResult, Worst, InputRecord
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
from harness.registry import REGISTRY, Registry, load_modules, register
from harness.results import CheckResult, InputRecord, RunResult, SpecReport, Worst
from harness.runner import assert_verified, verify, verify_at
from harness.spec import Spec

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "REGISTRY",
    "CheckResult",
    "ErrorModel",
    "HarnessError",
    "InputRecord",
    "JacobianTooLargeError",
    "Registry",
    "RegistryError",
    "ReportError",
    "RunResult",
    "Spec",
    "SpecError",
    "SpecReport",
    "UsageError",
    "Worst",
    "__version__",
    "assert_verified",
    "load_modules",
    "register",
    "verify",
    "verify_at",
]
