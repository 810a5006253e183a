"""The results document: built from results, written with the HTML as one atomic unit."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.errors import ReportError
from harness.results import (
    ResultsDocument,
    Settings,
    SpecReport,
    decode_document,
    load_results,
)
from harness.spec import Spec

__all__ = [
    "RESULTS_FILE",
    "as_document",
    "build_document",
    "environment",
    "load_document",
    "make_document",
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
        structure=structure_text(spec.structure),
        # Kinks of every input (PReLU declares them per input: {"Z": (0.0,)}).
        kinks=tuple(k for name in spec.inputs for k in spec.kinks_of(name)),
        equations=spec.equations,
        formula=spec.formula,
        doc=spec.description,
        runs=tuple(runs),
    )


def structure_text(structure: Any) -> str:
    """A spec's declared structure as the report shows it: a name, or per input."""
    if isinstance(structure, str):
        return structure
    if isinstance(structure, Mapping):
        return ", ".join(f"{k}: {structure_text(v)}" for k, v in structure.items())
    return str(structure)


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
    settings: Mapping[str, Any] | Settings,
    created: str | None = None,
) -> dict[str, Any]:
    """The results document of ``docs/results-schema.md``, as a JSON-ready dict."""
    return make_document(specs, settings=settings, created=created).to_dict()


def make_document(
    specs: Sequence[SpecReport],
    *,
    settings: Mapping[str, Any] | Settings,
    created: str | None = None,
    environment_: Mapping[str, str] | None = None,
) -> ResultsDocument:
    """The results document as the typed model."""
    st = settings if isinstance(settings, Settings) else Settings.from_mapping(settings)
    env = environment() if environment_ is None else environment_
    return ResultsDocument(
        created=created or _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        environment=tuple((str(k), str(v)) for k, v in env.items()),
        settings=st,
        specs=tuple(specs),
    )


def dumps(doc: Mapping[str, Any] | ResultsDocument) -> str:
    """The document as JSON text (strict JSON: no NaN or Infinity literals)."""
    d = doc.to_dict() if isinstance(doc, ResultsDocument) else doc
    return json.dumps(d, indent=1, allow_nan=False) + "\n"


def load_document(path: Path | str) -> ResultsDocument:
    """Read and strictly decode a results document (ReportError naming the field if not)."""
    return load_results(path)


def as_document(doc: Mapping[str, Any] | ResultsDocument) -> ResultsDocument:
    """A decoded document: dicts go through the strict decoder."""
    return doc if isinstance(doc, ResultsDocument) else decode_document(doc)


def merge_documents(docs: Sequence[ResultsDocument]) -> ResultsDocument:
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
        for sr in doc.specs:
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
            specs[sr.name] = replace(old, runs=old.runs + sr.runs)
    ordered = tuple(
        replace(s, runs=tuple(sorted(s.runs, key=lambda r: r.dtype, reverse=True)))
        for s in sorted(specs.values(), key=lambda s: s.name)
    )
    first = docs[0]
    return replace(
        first,
        specs=ordered,
        settings=replace(first.settings, merged_from=len(docs)),
        environment=first.environment,
    )


def write_report(
    doc: Mapping[str, Any] | ResultsDocument, out_dir: Path | str, *, html: bool = True
) -> list[Path]:
    """Write ``results.json`` and the HTML pages into ``out_dir``, all or nothing.

    Every file is rendered first and written to temporary files next to its target; only
    then are the targets replaced. A crash or Ctrl-C before that leaves the previous report
    as it was.
    """
    from harness.report.atomic import atomic_write_many

    model = as_document(doc)
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

        pages = render_pages(model)
        files.update({out / name: text for name, text in pages.items()})
    # results.json last: a reader that sees the new JSON also sees the pages made from it.
    files[out / RESULTS_FILE] = model.dumps()
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
