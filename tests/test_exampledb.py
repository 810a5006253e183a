"""The example store: a failing input is kept and tried first on the next run."""

from __future__ import annotations

import numpy as np

import harness
from harness.exampledb import ExampleStore
from harness.strategies import Example

from wrong_specs import RIGHT, WRONG


def test_counterexample_is_kept_and_tried_first(tmp_path):
    wrong = WRONG["relu-wrong-only-near-kink"].spec
    first = harness.verify(wrong, max_examples=150, seed=1, database=tmp_path)
    assert not first.passed
    kept = ExampleStore(tmp_path).load(wrong.name, "float64")
    assert kept is not None
    assert np.array_equal(kept.Z, first["jacobian"].worst.input.to_array())
    # An exploring run (no seed) tries the kept input first, and fails on it at once.
    second = harness.verify(wrong, max_examples=150, seed=None, database=tmp_path)
    assert not second.passed and second.examples == 1
    assert np.array_equal(second["jacobian"].worst.input.to_array(), kept.Z)


def test_a_passing_run_forgets_the_counterexample(tmp_path):
    spec = RIGHT["relu-derivative-1-at-0"]
    store = ExampleStore(tmp_path)
    store.save(spec.name, "float64", Example((np.zeros((2, 2)),), "kinks", "C", 0))
    assert harness.verify(spec, max_examples=5, seed=None, database=tmp_path).passed
    assert store.load(spec.name, "float64") is None


def test_a_seeded_run_does_not_depend_on_the_store(tmp_path):
    wrong = WRONG["relu-wrong-only-near-kink"].spec
    runs = [harness.verify(wrong, max_examples=150, seed=4, database=tmp_path) for _ in "ab"]
    assert runs[0].to_dict() | {"elapsed_s": 0} == runs[1].to_dict() | {"elapsed_s": 0}


def test_an_unreadable_store_file_is_ignored(tmp_path):
    spec = RIGHT["relu-derivative-1-at-0"]
    store = ExampleStore(tmp_path)
    store.path(spec.name, "float64").parent.mkdir(parents=True, exist_ok=True)
    store.path(spec.name, "float64").write_bytes(b"not an npz file")
    assert store.load(spec.name, "float64") is None
    assert harness.verify(spec, max_examples=5, seed=None, database=tmp_path).passed
