"""Shape signatures in numpy's gufunc grammar: ``"(n,k),(n,1),(k,m)->(n,m)"``.

A dimension is a name (bound consistently across all arrays) or a literal size; ``()`` is a
scalar (a cost's output). The same grammar is read by hypothesis'
``mutually_broadcastable_shapes(signature=...)``; the harness parses it itself to bind names
to sizes, to generate the shapes where bugs hide, and to validate given arrays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.errors import SpecError

__all__ = ["Signature", "parse_signature"]

Dim = str | int
_ARRAY = re.compile(r"\(\s*([^()]*?)\s*\)")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Signature:
    """Parsed shapes of the inputs and the output.

    Attributes
    ----------
    inputs : tuple of tuple of (str or int)
        One core shape per input, dims by name or literal size.
    output : tuple of (str or int)
        The output's shape; ``()`` for a scalar.
    text : str
        The signature as written.
    """

    inputs: tuple[tuple[Dim, ...], ...]
    output: tuple[Dim, ...]
    text: str

    @property
    def names(self) -> tuple[str, ...]:
        """Dimension names in order of first appearance."""
        seen: dict[str, None] = {}
        for shape in (*self.inputs, self.output):
            for d in shape:
                if isinstance(d, str):
                    seen.setdefault(d, None)
        return tuple(seen)

    def bind(self, shapes: Sequence[tuple[int, ...]], names: Sequence[str]) -> dict[str, int]:
        """Sizes of the named dims from actual input shapes; a clear error on mismatch."""
        sizes: dict[str, int] = {}
        for name, want, got in zip(names, self.inputs, shapes, strict=True):
            if len(want) != len(got):
                raise SpecError(
                    f"`{name}` has shape {tuple(got)}, but the signature {self.text!r} gives it "
                    f"{len(want)} dimension(s) {_fmt(want)}."
                )
            for d, g in zip(want, got, strict=True):
                if isinstance(d, int):
                    if d != g:
                        raise SpecError(
                            f"`{name}` has shape {tuple(got)}; the signature {self.text!r} "
                            f"fixes that dimension at {d} ({_fmt(want)})."
                        )
                elif sizes.setdefault(d, g) != g:
                    raise SpecError(
                        f"`{name}` has shape {tuple(got)}, which makes {d} = {g}, but an "
                        f"earlier input made {d} = {sizes[d]} (signature {self.text!r})."
                    )
        return sizes

    def shape_of(self, dims: tuple[Dim, ...], sizes: Mapping[str, int]) -> tuple[int, ...]:
        return tuple(d if isinstance(d, int) else sizes[d] for d in dims)

    def output_shape(self, sizes: Mapping[str, int]) -> tuple[int, ...]:
        return self.shape_of(self.output, sizes)

    def input_shapes(self, sizes: Mapping[str, int]) -> tuple[tuple[int, ...], ...]:
        return tuple(self.shape_of(s, sizes) for s in self.inputs)


def _fmt(dims: tuple[Dim, ...]) -> str:
    return "(" + ",".join(str(d) for d in dims) + ")"


def _dims(text: str, where: str, full: str) -> tuple[Dim, ...]:
    if not text.strip():
        return ()
    out: list[Dim] = []
    for part in text.split(","):
        p = part.strip()
        if p.isdigit():
            out.append(int(p))
        elif _NAME.match(p):
            out.append(p)
        else:
            raise SpecError(
                f"shapes {full!r}: {where} has dimension {p!r}, which is neither a name "
                f'(like n) nor a size (like 1). Write e.g. "(n,k),(k,m)->(n,m)".'
            )
    return tuple(out)


def parse_signature(text: str, n_inputs: int) -> Signature:
    """Parse ``text`` for a function of ``n_inputs`` arrays, or raise SpecError saying why."""
    if not isinstance(text, str) or "->" not in text:
        raise SpecError(
            f"shapes must be a gufunc signature string like \"(n,k),(k,m)->(n,m)\" with '->' "
            f"before the output; got {text!r}."
        )
    lhs, _, rhs = text.partition("->")
    ins = _ARRAY.findall(lhs)
    rest = _ARRAY.sub("", lhs)
    if rest.replace(",", "").strip() or not ins or rest.count(",") != len(ins) - 1:
        raise SpecError(
            f"shapes {text!r}: the inputs part {lhs!r} is not a comma-separated list of "
            f"parenthesised shapes like (n,k),(k,m)."
        )
    outs = _ARRAY.findall(rhs)
    if len(outs) != 1 or _ARRAY.sub("", rhs).strip():
        raise SpecError(
            f"shapes {text!r}: the output part {rhs!r} must be one parenthesised shape, "
            f"e.g. (n,m), or () for a scalar cost."
        )
    if len(ins) != n_inputs:
        raise SpecError(
            f"shapes {text!r} describes {len(ins)} input(s) but the spec has {n_inputs} "
            f"(`inputs`); give one shape per input, in order."
        )
    inputs = tuple(_dims(s, f"input {i + 1}", text) for i, s in enumerate(ins))
    output = _dims(outs[0], "the output", text)
    sig = Signature(inputs=inputs, output=output, text=text)
    known = {d for s in inputs for d in s if isinstance(d, str)}
    unknown = [d for d in output if isinstance(d, str) and d not in known]
    if unknown:
        raise SpecError(
            f"shapes {text!r}: output dimension(s) {unknown} appear in no input, so the "
            f"harness cannot know their size."
        )
    return sig
