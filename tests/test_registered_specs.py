"""Every registered spec x dtype x check as its own test item (see harness.pytest_plugin)."""

from harness.pytest_plugin import HarnessCase


def test_registered(harness_case: HarnessCase) -> None:
    harness_case.check()
