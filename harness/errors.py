"""The harness's own error hierarchy.

Every error the harness raises on purpose derives from :class:`HarnessError`, so a caller can
tell "the harness was used wrongly" (a usage error, exit code 2) apart from "the function under
test is wrong" (a failed verdict, exit code 1), which is never an exception but a result.
"""

from __future__ import annotations

__all__ = [
    "HarnessError",
    "JacobianTooLargeError",
    "RegistryError",
    "ReportError",
    "SpecError",
    "UsageError",
]


class HarnessError(Exception):
    """Base class of every error the harness raises on purpose."""


class SpecError(HarnessError, ValueError):
    """A :class:`~harness.Spec` is malformed (missing callable, unknown structure, ...)."""


class RegistryError(HarnessError, KeyError):
    """A registry lookup or registration failed (unknown or duplicate name)."""

    def __str__(self) -> str:
        # KeyError quotes its argument; our messages are sentences.
        return str(self.args[0]) if self.args else ""


class UsageError(HarnessError, ValueError):
    """An argument to ``verify``/``verify_at``/the CLI is invalid."""


class JacobianTooLargeError(UsageError):
    """An explicit Jacobian was requested that would not fit the memory budget."""


class ReportError(HarnessError):
    """A report could not be read or written."""
