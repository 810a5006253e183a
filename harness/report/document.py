"""The results document: built from results, written with the HTML as one atomic unit."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import shutil
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.errors import ReportError
from harness.results import SCHEMA, SCHEMA_VERSION, SpecReport
from harness.spec import Spec

__all__ = [
    "RESULTS_FILE",
    "build_document",
    "environment",
    "load_document",
    "merge_documents",
    "run_settings",
    "spec_report",
    "write_report",
]

RESULTS_FILE = "results.json"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def environment() -> dict[str, str]:
    """Versions of Python, the numerical stack and the harness, and the platform."""
    from harness import __version__

    return {
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "hypothesis": _version("hypothesis"),
        "harness": __version__,
        "platform": f"{platform.system()}-{platform.machine()}",
    }


def spec_report(spec: Spec, runs: Sequence[Any]) -> SpecReport:
    """A spec's description together with its runs."""
    return SpecReport(
        name=spec.name,
        structure=spec.structure,
        kinks=tuple(spec.kinks),
        equations=spec.equations,
        formula=spec.formula,
        doc=spec.description,
        runs=tuple(runs),
    )


def run_settings(
    *,
    profile: str,
    seed: int | None,
    max_examples: int | None,
    dtypes: Sequence[str],
    strict: bool,
    group: int = 1,
    splits: int = 1,
) -> dict[str, Any]:
    """The ``settings`` of a results document, the same whichever front end ran."""
    from harness.profiles import PROFILES

    return {
        "profile": profile,
        "seed": seed,
        "max_examples": max_examples or PROFILES[profile].max_examples,
        "dtypes": sorted(set(dtypes), reverse=True),
        "strict": strict,
        "shard": f"{group}/{splits}",
    }


def build_document(
    specs: Sequence[SpecReport],
    *,
    settings: dict[str, Any],
    created: str | None = None,
) -> dict[str, Any]:
    """The results document of ``docs/results-schema.md``."""
    runs = [r for s in specs for r in s.runs]
    checks = [c for r in runs for c in r.checks]
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": created or _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "passed": all(s.passed for s in specs),
        "environment": environment(),
        "settings": settings,
        "summary": {
            "specs": len(specs),
            "runs": len(runs),
            "checks": len(checks),
            "failed_checks": sum(1 for c in checks if not c.passed),
            "failed_runs": sum(1 for r in runs if not r.passed),
        },
        "specs": [s.to_dict() for s in specs],
    }


def dumps(doc: dict[str, Any]) -> str:
    """The document as JSON text (strict JSON: NaN and inf were encoded as strings)."""
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


def load_document(path: Path | str) -> dict[str, Any]:
    """Read and check a results document."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"No results file at {p}; run `make verify` first.") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"Cannot read results file {p}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ReportError(f"{p} is not a harness results document.")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ReportError(
            f"{p} has schema version {doc.get('schema_version')!r}; this harness reads "
            f"version {SCHEMA_VERSION}."
        )
    return doc


def merge_documents(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One document from several shards: runs of the same spec are combined.

    Raises
    ------
    ReportError
        Two shards both hold the same spec and dtype (the shards overlap).
    """
    if not docs:
        raise ReportError("Nothing to merge: give at least one results file.")
    specs: dict[str, SpecReport] = {}
    for doc in docs:
        for sd in doc["specs"]:
            sr = SpecReport.from_dict(sd)
            old = specs.get(sr.name)
            if old is None:
                specs[sr.name] = sr
                continue
            dtypes = {r.dtype for r in old.runs}
            clash = [r.dtype for r in sr.runs if r.dtype in dtypes]
            if clash:
                raise ReportError(
                    f"Shards overlap: spec {sr.name!r} in {', '.join(clash)} appears twice."
                )
            specs[sr.name] = SpecReport(**{**old.__dict__, "runs": old.runs + sr.runs})
    first = docs[0]
    ordered = sorted(specs.values(), key=lambda s: s.name)
    for s in ordered:
        object.__setattr__(s, "runs", tuple(sorted(s.runs, key=lambda r: r.dtype, reverse=True)))
    settings = dict(first.get("settings", {}))
    settings["merged_from"] = len(docs)
    return build_document(ordered, settings=settings, created=first.get("created"))


def write_report(doc: dict[str, Any], out_dir: Path | str, *, html: bool = True) -> list[Path]:
    """Write ``results.json`` and the HTML pages into ``out_dir``, all or nothing.

    Every file is rendered first and written to temporary files next to its target; only
    then are the targets replaced. A crash or Ctrl-C before that leaves the previous report
    as it was.
    """
    from harness.report.atomic import atomic_write_many

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"Cannot create report directory {out}: {exc.strerror}.") from None
    if not out.is_dir():
        raise ReportError(f"Report path {out} exists and is not a directory.")
    files: dict[Path, str] = {}
    pages: dict[str, str] = {}
    if html:
        from harness.report.html import render_pages

        pages = render_pages(doc)
        files.update({out / name: text for name, text in pages.items()})
    # results.json last: a reader that sees the new JSON also sees the pages made from it.
    files[out / RESULTS_FILE] = dumps(doc)
    staging = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=".harness-", dir=out))
        written = atomic_write_many(files, staging_dir=staging)
    except PermissionError as exc:
        raise ReportError(f"Cannot write the report into {out}: {exc.strerror}.") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    if html:
        from harness.report.html import remove_stale_pages

        remove_stale_pages(out, set(pages))
    return written
