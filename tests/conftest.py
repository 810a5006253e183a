"""Test-suite setup: our hypothesis profiles, chosen explicitly.

Under ``CI=true`` hypothesis would otherwise load its own ``ci`` profile; the harness's
profiles are registered and one of them is loaded by name (``HARNESS_PROFILE``, default
quick).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

from harness.profiles import register_hypothesis_profiles

ROOT = Path(__file__).resolve().parents[1]
# The wrong-implementation catalogue lives beside the tests.
sys.path.insert(0, str(ROOT / "tests"))

register_hypothesis_profiles()
settings.load_profile(f"harness-{os.environ.get('HARNESS_PROFILE', 'quick')}")
