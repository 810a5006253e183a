"""Failing inputs kept between runs and tried first next time.

Hypothesis's own example database is not written when a run has an explicit seed, and every
harness run has one (so that it can be replayed). This store keeps what the database would:
the last shrunk counterexample of each spec and dtype, as an ``.npz`` file, handed back to
hypothesis as an explicit example at the start of the next run. A run that passes removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from harness.strategies import Example

__all__ = ["ExampleStore"]


class ExampleStore:
    """A directory of counterexamples, one file per spec and dtype."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, spec: str, dtype: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", spec)[:40]
        digest = hashlib.sha256(f"{spec}\0{dtype}".encode()).hexdigest()[:10]
        return self.root / f"{slug}-{dtype}-{digest}.npz"

    def load(self, spec: str, dtype: str) -> Example | None:
        """The stored counterexample, or None (also for an unreadable file)."""
        p = self.path(spec, dtype)
        try:
            with np.load(p, allow_pickle=False) as data:
                meta = [str(v) for v in data["meta"]]
                keys = sorted(
                    (k for k in data.files if k.startswith("a")), key=lambda k: int(k[1:])
                )
                arrays = tuple(np.array(data[k]) for k in keys)
        except (OSError, KeyError, ValueError):
            return None
        if not arrays or arrays[0].dtype.name != dtype or len(meta) != 3:
            return None
        family, layout, seed = meta
        return Example(arrays=arrays, family=family, layout=layout, probe_seed=int(seed))

    def save(self, spec: str, dtype: str, ex: Example) -> None:
        """Keep ``ex`` (atomically: a crash leaves the previous file or none)."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path(spec, dtype)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                meta: Any = np.array([ex.family, ex.layout, str(ex.probe_seed)])
                arrays: dict[str, Any] = {f"a{i}": a for i, a in enumerate(ex.arrays)}
                np.savez(fh, meta=meta, **arrays)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def clear(self, spec: str, dtype: str) -> None:
        """Forget the counterexample (the spec passes now)."""
        with contextlib.suppress(FileNotFoundError):
            self.path(spec, dtype).unlink()
