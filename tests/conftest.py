"""Test-suite setup: our hypothesis profiles, chosen explicitly.

Under ``CI=true`` hypothesis would otherwise load its own ``ci`` profile; the harness's
profiles are registered and one of them is loaded by name (``HARNESS_PROFILE``, default
quick).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from harness.profiles import register_hypothesis_profiles

ROOT = Path(__file__).resolve().parents[1]
# The wrong-implementation catalogue lives beside the tests.
sys.path.insert(0, str(ROOT / "tests"))

register_hypothesis_profiles()
settings.load_profile(f"harness-{os.environ.get('HARNESS_PROFILE', 'quick')}")


# --------------------------------------------------------------------------- results schema
# Every results document a test writes follows the published JSON Schema: after each test,
# every results.json under pytest's temporary directories that is new or changed since the
# last look is validated against docs/results.schema.json.

RESULTS_SCHEMA = ROOT / "docs" / "results.schema.json"
_validated: set[tuple[Path, int]] = set()


@functools.cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(RESULTS_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validate_results(doc: Any) -> None:
    """Raise AssertionError naming every place ``doc`` departs from the results schema."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [
            f"{'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message}"
            for e in errors[:10]
        ]
        raise AssertionError("results document violates the schema:\n" + "\n".join(lines))


def validate_results_file(path: Path) -> None:
    try:
        validate_results(json.loads(path.read_text(encoding="utf-8")))
    except AssertionError as exc:
        raise AssertionError(f"{path}: {exc}") from None


@pytest.fixture(autouse=True)
def _written_results_follow_the_schema(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    yield
    for path in sorted(tmp_path_factory.getbasetemp().rglob("results.json")):
        try:
            key = (path, path.stat().st_mtime_ns)
        except FileNotFoundError:
            continue
        if key not in _validated:
            validate_results_file(path)
            _validated.add(key)
