"""Result objects: small, immutable, and serialisable to the JSON schema in docs/.

Floats JSON cannot carry (NaN, +-inf) are written as the strings "nan", "inf", "-inf"; every
other float round-trips exactly (Python writes floats with ``repr``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

__all__ = [
    "HIST_EDGES",
    "CheckResult",
    "InputRecord",
    "InputVerdict",
    "RunResult",
    "SpecReport",
    "Worst",
    "decode_float",
    "encode_float",
]

SCHEMA = "harness-results"
SCHEMA_VERSION = 1
# log10(error / tolerance) bins of the per-example histogram.
HIST_EDGES: tuple[float, ...] = tuple(float(x) for x in np.arange(-12.0, 6.01, 0.5))


def encode_float(x: float | None) -> float | str | None:
    """A float as JSON can carry it."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def decode_float(x: float | str | None) -> float | None:
    """Inverse of :func:`encode_float`."""
    if x is None:
        return None
    return float(x)


def _encode_nested(a: Any) -> Any:
    if isinstance(a, list):
        return [_encode_nested(x) for x in a]
    return encode_float(a)


@dataclass(frozen=True, eq=False)
class InputRecord:
    """An input array as recorded in a report: exact values, layout and origin.

    The values are kept as a read-only float64 array (exact for every supported dtype) and
    turned into nested lists only when serialised.
    """

    shape: tuple[int, ...]
    dtype: str
    array: np.ndarray[Any, Any]
    layout: str = "C"
    family: str = "given"

    @classmethod
    def from_array(
        cls, Z: np.ndarray[Any, Any], layout: str = "C", family: str = "given"
    ) -> InputRecord:
        arr = np.array(Z, dtype=np.float64, copy=True)
        arr.flags.writeable = False
        return cls(
            shape=tuple(int(s) for s in Z.shape),
            dtype=str(Z.dtype),
            array=arr,
            layout=layout,
            family=family,
        )

    @property
    def values(self) -> list[Any]:
        """The values as nested lists of floats."""
        return list(self.array.tolist())

    def to_array(self) -> np.ndarray[Any, Any]:
        return self.array.astype(self.dtype).reshape(self.shape)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "dtype": self.dtype,
            "layout": self.layout,
            "family": self.family,
            "values": _encode_nested(self.array.tolist()),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputRecord:
        arr = np.array(_decode_nested(d["values"]), dtype=np.float64).reshape(d["shape"])
        arr.flags.writeable = False
        return cls(
            shape=tuple(d["shape"]),
            dtype=d["dtype"],
            array=arr,
            layout=d.get("layout", "C"),
            family=d.get("family", "given"),
        )


def _decode_nested(a: Any) -> Any:
    if isinstance(a, list):
        return [_decode_nested(x) for x in a]
    return decode_float(a)


@dataclass(frozen=True)
class Worst:
    """The worst comparison a check made: where, expected vs got, and in units of tolerance."""

    what: str
    expected: float
    got: float
    abs_error: float
    rel_error: float
    ulps: float | None
    tolerance: float
    ratio: float
    location: Any = None
    input: InputRecord | None = None
    replay: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": _location_json(self.location),
            "what": self.what,
            "expected": encode_float(self.expected),
            "got": encode_float(self.got),
            "abs_error": encode_float(self.abs_error),
            "rel_error": encode_float(self.rel_error),
            "ulps": encode_float(self.ulps),
            "tolerance": encode_float(self.tolerance),
            "ratio": encode_float(self.ratio),
            "input": self.input.to_dict() if self.input is not None else None,
            "replay": self.replay,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Worst:
        return cls(
            what=d["what"],
            expected=_f(d["expected"]),
            got=_f(d["got"]),
            abs_error=_f(d["abs_error"]),
            rel_error=_f(d["rel_error"]),
            ulps=decode_float(d.get("ulps")),
            tolerance=_f(d["tolerance"]),
            ratio=_f(d["ratio"]),
            location=tuple(d["location"]) if d.get("location") is not None else None,
            input=InputRecord.from_dict(d["input"]) if d.get("input") else None,
            replay=d.get("replay", ""),
        )


def _location_json(loc: Any) -> Any:
    """A location as JSON: the index within the input (or output) it names."""
    if loc is None:
        return None
    if isinstance(loc, tuple):
        return list(loc)
    idx = loc.input_index if loc.input_index is not None else loc.output_index
    return list(idx) if idx is not None else None


def _f(x: Any) -> float:
    v = decode_float(x)
    return float("nan") if v is None else v


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check for one spec and dtype, over all examples run."""

    check: str
    status: str  # "pass" | "fail" | "skip"
    message: str = ""
    examples: int = 0
    comparisons: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    max_ulps: float | None = None
    error_ratio: float = 0.0
    ratio_hist: tuple[int, ...] = ()
    worst: Worst | None = None
    heatmap: dict[str, Any] | None = None
    step_curve: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        """True unless the check failed (a skipped check does not fail a run)."""
        return self.status != "fail"

    def to_dict(self) -> dict[str, Any]:
        hist = list(self.ratio_hist) or [0] * (len(HIST_EDGES) - 1)
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "examples": self.examples,
            "comparisons": self.comparisons,
            "max_abs_error": encode_float(self.max_abs_error),
            "max_rel_error": encode_float(self.max_rel_error),
            "max_ulps": encode_float(self.max_ulps),
            "error_ratio": encode_float(self.error_ratio),
            "ratio_hist": {"log10_edges": list(HIST_EDGES), "counts": hist},
            "worst": self.worst.to_dict() if self.worst is not None else None,
            "heatmap": self.heatmap,
            "step_curve": self.step_curve,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckResult:
        return cls(
            check=d["check"],
            status=d["status"],
            message=d.get("message", ""),
            examples=d.get("examples", 0),
            comparisons=d.get("comparisons", 0),
            max_abs_error=_f(d.get("max_abs_error", 0.0)),
            max_rel_error=_f(d.get("max_rel_error", 0.0)),
            max_ulps=decode_float(d.get("max_ulps")),
            error_ratio=_f(d.get("error_ratio", 0.0)),
            ratio_hist=tuple(d.get("ratio_hist", {}).get("counts", ())),
            worst=Worst.from_dict(d["worst"]) if d.get("worst") else None,
            heatmap=d.get("heatmap"),
            step_curve=d.get("step_curve"),
        )


@dataclass(frozen=True)
class InputVerdict:
    """One differentiable input's verdict over every check: is its gradient right?"""

    name: str
    position: int
    of: int
    status: str  # "pass" | "fail" | "skip"
    error_ratio: float
    check: str
    what: str = ""
    index: tuple[int, ...] | None = None
    expected: float = 0.0
    got: float = 0.0

    def line(self) -> str:
        """ "gradient for `b` (input 2 of 3): wrong at [3, 1] ..." or "...: correct"."""
        head = f"gradient for `{self.name}` (input {self.position} of {self.of})"
        if self.status == "skip":
            return f"{head}: not compared"
        if self.status == "pass":
            return f"{head}: correct (worst error/tolerance {self.error_ratio:.3g})"
        at = f" at {list(self.index)}" if self.index is not None else ""
        return (
            f"{head}: wrong{at} ({self.check}: expected {self.expected!r}, got {self.got!r}, "
            f"{self.error_ratio:.3g} x tolerance)"
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["index"] = list(self.index) if self.index is not None else None
        for k in ("error_ratio", "expected", "got"):
            d[k] = encode_float(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputVerdict:
        return cls(
            name=d["name"],
            position=d["position"],
            of=d["of"],
            status=d["status"],
            error_ratio=_f(d["error_ratio"]),
            check=d["check"],
            what=d.get("what", ""),
            index=tuple(d["index"]) if d.get("index") is not None else None,
            expected=_f(d.get("expected", 0.0)),
            got=_f(d.get("got", 0.0)),
        )


@dataclass(frozen=True)
class RunResult:
    """All checks of one spec in one dtype: what ``verify`` and ``verify_at`` return.

    Attributes
    ----------
    spec : str
        The spec's name.
    dtype : str
        The dtype the implementation ran in.
    checks : tuple of CheckResult
        One entry per check, in a fixed order.
    passed : bool
        True when no check failed.
    """

    spec: str
    dtype: str
    checks: tuple[CheckResult, ...]
    examples: int = 1
    seed: int | None = None
    elapsed_s: float = 0.0
    evaluations: dict[str, int] = field(default_factory=dict)
    families: dict[str, int] = field(default_factory=dict)
    replay: str = ""
    strict: bool = False
    findings: tuple[dict[str, Any], ...] = ()
    verdicts: tuple[InputVerdict, ...] = ()

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and not self.findings

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """The failed checks."""
        return tuple(c for c in self.checks if not c.passed)

    def __getitem__(self, check: str) -> CheckResult:
        for c in self.checks:
            if c.check == check:
                return c
        raise KeyError(f"no check {check!r}; checks: {[c.check for c in self.checks]}")

    def summary(self) -> str:
        """A readable multi-line summary, failures first and explained."""
        head = "PASSED" if self.passed else "FAILED"
        lines = [f"{head}: spec {self.spec!r} in {self.dtype} ({self.examples} input(s))"]
        for f in self.findings:
            lines.append(f"  FAIL  {f['kind']}: {f['message']}")
        for v in sorted(self.verdicts, key=lambda v: v.status != "fail"):
            lines.append(f"  {'FAIL' if v.status == 'fail' else 'ok  '}  {v.line()}")
        order = sorted(self.checks, key=lambda c: (c.passed, -c.error_ratio))
        for c in order:
            if c.status == "skip":
                lines.append(f"  skip  {c.check}: {c.message}")
                continue
            mark = "ok  " if c.passed else "FAIL"
            lines.append(
                f"  {mark}  {c.check}: error/tolerance {c.error_ratio:.3g}, max abs error "
                f"{c.max_abs_error:.3g}, max rel error {c.max_rel_error:.3g}"
            )
            if not c.passed:
                if c.message:
                    lines.append(f"        {c.message}")
                w = c.worst
                if w is not None:
                    lines.append(
                        f"        worst: {w.what}: expected {w.expected!r}, got {w.got!r} "
                        f"(abs error {w.abs_error:.3g}, tolerance {w.tolerance:.3g}, "
                        f"{w.ratio:.3g} x tolerance)"
                    )
                    if w.input is not None:
                        arr = w.input.to_array()
                        text = np.array2string(arr, precision=17, threshold=64)
                        text = text.replace("\n", "\n               ")
                        lines.append(
                            f"        input Z ({w.input.family}, {w.input.layout}-order, "
                            f"shape {arr.shape}): {text}"
                        )
                    if w.replay:
                        lines.append(f"        replay: {w.replay}")
        if self.replay and not self.passed:
            lines.append(f"  rerun: {self.replay}")
        return "\n".join(lines)

    def with_replay(self, replay: str) -> RunResult:
        return replace(self, replay=replay)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "passed": self.passed,
            "examples": self.examples,
            "seed": self.seed,
            "elapsed_s": round(self.elapsed_s, 3),
            "evaluations": dict(self.evaluations),
            "families": dict(self.families),
            "replay": self.replay,
            "strict": self.strict,
            "findings": [dict(f, checks=list(f["checks"])) for f in self.findings],
            "verdicts": [v.to_dict() for v in self.verdicts],
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, spec: str, d: dict[str, Any]) -> RunResult:
        return cls(
            spec=spec,
            dtype=d["dtype"],
            checks=tuple(CheckResult.from_dict(c) for c in d["checks"]),
            examples=d.get("examples", 1),
            seed=d.get("seed"),
            elapsed_s=d.get("elapsed_s", 0.0),
            evaluations=dict(d.get("evaluations", {})),
            families=dict(d.get("families", {})),
            replay=d.get("replay", ""),
            strict=d.get("strict", False),
            findings=tuple(
                {**f, "checks": tuple(f.get("checks", ()))} for f in d.get("findings", ())
            ),
            verdicts=tuple(InputVerdict.from_dict(v) for v in d.get("verdicts", ())),
        )


@dataclass(frozen=True)
class SpecReport:
    """One spec's description and its runs (one per dtype), as written to the report."""

    name: str
    structure: str
    kinks: tuple[float, ...]
    equations: str
    formula: str
    doc: str
    runs: tuple[RunResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.runs)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kinks"] = list(self.kinks)
        d["runs"] = [r.to_dict() for r in self.runs]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SpecReport:
        return cls(
            name=d["name"],
            structure=d["structure"],
            kinks=tuple(d.get("kinks", ())),
            equations=d.get("equations", ""),
            formula=d.get("formula", ""),
            doc=d.get("doc", ""),
            runs=tuple(RunResult.from_dict(d["name"], r) for r in d["runs"]),
        )
