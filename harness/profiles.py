"""Named settings profiles: how many examples and how large, for tests and for ``make verify``.

The harness never relies on hypothesis's global profile (under ``CI=true`` hypothesis loads
its own ``ci`` profile); ``verify`` builds its settings from one of these explicitly. The same
names are registered with hypothesis, prefixed ``harness-``, for test suites that use
``@given`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, settings

from harness.errors import UsageError
from harness.strategies import Sizes

__all__ = ["PROFILES", "Profile", "get_profile", "register_hypothesis_profiles"]


@dataclass(frozen=True)
class Profile:
    """How thoroughly to verify.

    Attributes
    ----------
    name : str
    max_examples : int
        Generated inputs per spec and dtype.
    sizes : Sizes
        Bounds of the generated shapes.
    directions : int
        Random direction pairs per input in the directional checks.
    """

    name: str
    max_examples: int
    sizes: Sizes
    directions: int = 2


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", max_examples=25, sizes=Sizes(max_n=5, max_m=4)),
    "thorough": Profile("thorough", max_examples=200, sizes=Sizes(max_n=10, max_m=8)),
    "exhaustive": Profile("exhaustive", max_examples=2000, sizes=Sizes(max_n=12, max_m=10)),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(
            f"Unknown profile {name!r}; choose one of {', '.join(PROFILES)}."
        ) from None


def register_hypothesis_profiles() -> None:
    """Register ``harness-quick``/``harness-thorough``/... with hypothesis (not loaded)."""
    for p in PROFILES.values():
        settings.register_profile(
            f"harness-{p.name}",
            # From hypothesis's defaults, not from whatever profile is loaded (under CI=true
            # that is its `ci` profile, which would switch off the example database).
            parent=settings.get_profile("default"),
            max_examples=p.max_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            print_blob=True,
        )
