"""The checks, one module each; ``CHECKS`` fixes their order in every result."""

from __future__ import annotations

from collections.abc import Callable

from harness.checks.common import Context, Measurement
from harness.checks.directional import check_adjoint, check_jvp_directional, check_vjp_directional
from harness.checks.hygiene import check_hygiene
from harness.checks.jacobian import check_jacobian
from harness.checks.structure import check_structure

__all__ = ["CHECKS", "CHECK_NAMES", "Context", "Measurement"]

CHECKS: tuple[tuple[str, Callable[[Context], Measurement]], ...] = (
    ("vjp_directional", check_vjp_directional),
    ("jvp_directional", check_jvp_directional),
    ("adjoint", check_adjoint),
    ("jacobian", check_jacobian),
    ("structure", check_structure),
    ("hygiene", check_hygiene),
)
CHECK_NAMES: tuple[str, ...] = tuple(n for n, _ in CHECKS)
