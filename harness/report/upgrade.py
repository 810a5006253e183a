"""Reading version 1 results documents: converted to version 2 before the strict decoder.

Version 1 had one input named ``Z``, locations as bare index lists, non-finite figures as the
strings "nan" / "inf", no findings and no coverage counts. The conversion keeps every value a
version 1 document holds; what version 1 did not record is left empty (0 unresolved, no
rounding-limited count, the oracle only where the jacobian's message named it). Anything it
does not recognise is passed on unchanged, so the strict decoder names the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["upgrade_v1"]

_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_FIGURES = ("max_abs_error", "max_rel_error", "max_ulps", "error_ratio")
_WORST_FIGURES = ("expected", "got", "abs_error", "rel_error", "ulps", "tolerance", "ratio")
_CALL_FAILURE_KINDS = ("raised", "timeout", "inplace", "type", "shape", "dtype", "nonfinite")


def _figure(v: Any) -> Any:
    """A version 1 figure as version 2 stores it: finite number or None."""
    if isinstance(v, str) and v in _SPECIAL:
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _input(d: Any) -> Any:
    if not isinstance(d, Mapping):
        return d
    return {
        "layout": d.get("layout", "C"),
        "family": d.get("family", "given"),
        "arrays": [
            {
                "name": "Z",
                "role": "input",
                "shape": d.get("shape"),
                "dtype": d.get("dtype"),
                "values": d.get("values"),
            }
        ],
    }


def _worst(d: Any, check: str, structure: Any) -> Any:
    if not isinstance(d, Mapping):
        return d
    out = {k: v for k, v in d.items() if k not in ("location", "input")}
    for k in _WORST_FIGURES:
        if k in out:
            out[k] = _figure(out[k])
    # v1's relative error was entry-wise: relative to |expected| of that entry.
    exp = out.get("expected")
    out["scale"] = abs(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
    loc = d.get("location")
    # v1 jacobian locations of non-elementwise specs index the Jacobian, not the input.
    on_input = check != "jacobian" or structure == "elementwise"
    out["location"] = (
        None
        if not isinstance(loc, list)
        else {
            "input": "Z",
            "position": 1,
            "of": 1,
            "input_index": loc if on_input else None,
            "output_index": loc if check == "jacobian" and on_input else None,
        }
    )
    out["input"] = None if d.get("input") is None else _input(d.get("input"))
    return out


def _check(d: Any, structure: Any) -> Any:
    if not isinstance(d, Mapping):
        return d
    out = dict(d)
    for k in _FIGURES:
        if k in out:
            out[k] = _figure(out[k])
    message = out.get("message")
    oracle = ""
    if (
        out.get("check") == "jacobian"
        and isinstance(message, str)
        and message.startswith("oracle: ")
    ):
        oracle = message.removeprefix("oracle: ").split(" (")[0]
    out.setdefault("oracle", oracle)
    out.setdefault("unresolved", 0)
    out.setdefault("rounding_limited", 0)
    worst = out.get("worst")
    kind = worst.get("what") if isinstance(worst, Mapping) else None
    out.setdefault(
        "finding", kind if out.get("status") == "fail" and kind in _CALL_FAILURE_KINDS else None
    )
    if "worst" in out:
        out["worst"] = _worst(worst, str(out.get("check")), structure)
    for k in ("heatmap", "step_curve"):
        v = out.get(k)
        if isinstance(v, Mapping):
            out[k] = _figure_data(k, v)
    return out


def _figure_data(kind: str, d: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(d)
    if kind == "heatmap":
        rows = out.get("log10_ratio")
        if isinstance(rows, list):
            out["log10_ratio"] = [
                [_figure(x) for x in r] if isinstance(r, list) else r for r in rows
            ]
        out.setdefault("title", "")
    else:
        for k in ("errors", "steps"):
            if isinstance(out.get(k), list):
                out[k] = [_figure(x) for x in out[k]]
        out["chosen"] = _figure(out.get("chosen"))
        out.setdefault("entry", None)
    return out


def _findings(checks: list[Any]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for c in checks:
        if not isinstance(c, Mapping) or c.get("finding") is None:
            continue
        w = c.get("worst") or {}
        key = (str(c["finding"]), str(c.get("message", "")))
        if key not in groups:
            groups[key] = {
                "kind": key[0],
                "message": key[1],
                "checks": [],
                "input": w.get("input"),
                "location": w.get("location"),
            }
        groups[key]["checks"].append(c.get("check"))
    return list(groups.values())


def _run(d: Any, structure: Any) -> Any:
    if not isinstance(d, Mapping):
        return d
    out = dict(d)
    checks = out.get("checks")
    if isinstance(checks, list):
        out["checks"] = [_check(c, structure) for c in checks]
        out.setdefault("findings", _findings(out["checks"]))
    out.setdefault("inputs", ["Z"])
    out.setdefault("constants", [])
    return out


def upgrade_v1(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A version 1 document, as the version 2 document it would be."""
    out = dict(doc)
    out["schema_version"] = 2
    specs = out.get("specs")
    if isinstance(specs, list):
        new_specs = []
        for s in specs:
            if isinstance(s, Mapping):
                s = dict(s)
                runs = s.get("runs")
                if isinstance(runs, list):
                    s["runs"] = [_run(r, s.get("structure")) for r in runs]
            new_specs.append(s)
        out["specs"] = new_specs
    return out
