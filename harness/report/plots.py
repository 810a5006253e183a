"""Figures of the HTML report, rendered to SVG text that can be inlined in a page.

matplotlib is imported inside the functions: importing it costs about half a second, and
a results run that writes no HTML report should not pay for it.

The output is reproducible: two renders of the same data give byte-identical SVG. That is
what makes the report diffable and its tests exact, and it needs a fixed ``svg.hashsalt``,
no date in the metadata, and element ids that depend only on the caller's ``id_prefix``.
"""

from __future__ import annotations

import html
import io
import itertools
import math
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap, Normalize
    from matplotlib.figure import Figure

    from harness.results import Heatmap, RatioHist, StepCurve

__all__ = ["heatmap_svg", "ratio_hist_svg", "step_curve_svg"]

_FIGSIZE = (5.6, 3.5)  # inches; about 540 px wide, half of a laptop screen's report column
# Drop every default metadata entry: they carry the date and, as RDF, several http URLs.
_METADATA: dict[str, Any] = {
    "Date": None,
    "Creator": None,
    "Format": None,
    "Type": None,
}
_FAIL_COLOR = "#c62828"
_REF_COLOR = "#9e9e9e"
_MAX_MARKED_CELLS = 1024


def _new_figure() -> tuple[Figure, Axes]:
    # A bare Figure, not pyplot: no global figure registry to leak into, and no GUI backend
    # is ever selected, so this works headless and from any thread.
    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIGSIZE, layout="constrained")
    ax = fig.add_subplot()
    return fig, ax


def _to_svg(fig: Figure, id_prefix: str, label: str) -> str:
    """Serialise ``fig`` into SVG markup that is safe to inline in an HTML5 page."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=_METADATA)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # the XML prolog and DOCTYPE are invalid inside HTML
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    # The HTML parser puts <svg> in the SVG namespace by itself; the xmlns URLs are noise
    # and `href` replaces the deprecated `xlink:href` in SVG 2.
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg, count=2)
    svg = svg.replace("xlink:href=", "href=")
    svg = _prefix_ids(svg, id_prefix)
    # Drop the fixed pt size so CSS can scale the figure; the viewBox keeps its aspect.
    svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"', "<svg", svg, count=1)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1)
    return svg.strip() + "\n"


def _prefix_ids(svg: str, prefix: str) -> str:
    """Make every id unique to this figure; several SVGs share one HTML id namespace."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    if not ids:
        return svg

    def sub(m: re.Match[str]) -> str:
        name = m.group(2)
        return f"{m.group(1)}{prefix}-{name}{m.group(3)}" if name in ids else m.group(0)

    svg = re.sub(r'(\bid=")([^"]+)(")', sub, svg)
    svg = re.sub(r"(url\(#)([^)]+)(\))", sub, svg)
    return re.sub(r'(\bhref="#)([^"]+)(")', sub, svg)


def _split_cmap() -> Colormap:
    """Blues below 0, saturated reds above: no pale colours on the failing side."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    blues, reds = colormaps["Blues"], colormaps["Reds"]
    lower = [blues(0.95 - 0.8 * i / 127) for i in range(128)]
    upper = [reds(0.55 + 0.45 * i / 127) for i in range(128)]
    return ListedColormap(lower + upper, name="harness_split").with_extremes(bad="black")


def _split_norm(lo: float, hi: float) -> Normalize:
    from matplotlib.colors import TwoSlopeNorm

    return TwoSlopeNorm(vmin=lo, vcenter=0.0, vmax=hi)


def _render(draw: Callable[[Figure, Axes], None], id_prefix: str, label: str) -> str:
    import matplotlib

    with matplotlib.rc_context(
        {
            "svg.hashsalt": "harness",
            # Text as <text>, not glyph paths: smaller SVG, and no glyph ids shared between
            # the figures of one page.
            "svg.fonttype": "none",
            "font.size": 9.0,
            "axes.titlesize": 10.0,
        }
    ):
        fig, ax = _new_figure()
        try:
            draw(fig, ax)
            return _to_svg(fig, id_prefix, label)
        finally:
            fig.clear()


def step_curve_svg(curve: StepCurve, *, title: str = "", id_prefix: str = "step") -> str:
    """Plot finite-difference error against step size on log-log axes.

    Parameters
    ----------
    curve : StepCurve
        Steps and errors measured on the worst input; ``curve.chosen`` is the step the
        check used, marked with a vertical line.
    title : str, optional
        Figure title, drawn as plain text (no mathtext).
    id_prefix : str, optional
        Prefix for every SVG element id; must be unique within the HTML page.

    Returns
    -------
    str
        An ``<svg>`` element, without XML prolog, ready to inline.

    Notes
    -----
    Two faint reference lines show the expected regimes: truncation error grows like
    ``h**2`` at large steps, round-off error like ``1/h`` at small steps. Both go through
    the smallest measured error, where the two regimes meet.
    """

    def draw(fig: Figure, ax: Axes) -> None:
        pts = [
            (h, e)
            for h, e in zip(curve.steps, curve.errors, strict=True)
            if e is not None
            if h > 0 and math.isfinite(h) and e > 0 and math.isfinite(e)
        ]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("finite-difference step h", parse_math=False)
        ax.set_ylabel("|error| (worst input)", parse_math=False)
        ax.set_title(title, parse_math=False)
        ax.grid(True, which="major", color="#e0e0e0", linewidth=0.6)
        if not pts:
            ax.text(
                0.5, 0.5, "no finite positive errors to plot", ha="center", va="center",
                transform=ax.transAxes, parse_math=False,
            )  # fmt: skip
            ax.set_xlim(1e-12, 1.0)
            ax.set_ylim(1e-16, 1.0)
            return
        pts.sort()
        hs = [h for h, _ in pts]
        es = [e for _, e in pts]
        h_lo, h_hi = hs[0] / 2, hs[-1] * 2
        e_lo, e_hi = min(es), max(es)
        ax.set_xlim(h_lo, h_hi)
        # Fix the y range from the data first, so the reference lines cannot stretch it.
        ax.set_ylim(e_lo / 10, e_hi * 10)
        h0, e0 = min(pts, key=lambda p: p[1])
        grid = [h_lo * (h_hi / h_lo) ** (i / 60) for i in range(61)]
        ax.plot(
            grid, [e0 * (h / h0) ** 2 for h in grid], linestyle="--", color=_REF_COLOR,
            linewidth=0.8, alpha=0.7, label="truncation, slope 2",
        )  # fmt: skip
        ax.plot(
            grid, [e0 * (h0 / h) for h in grid], linestyle=":", color=_REF_COLOR,
            linewidth=1.0, alpha=0.8, label="round-off, slope −1",
        )  # fmt: skip
        ax.plot(hs, es, marker="o", markersize=3.5, color="#1565c0", linewidth=1.4,
                label="measured error")  # fmt: skip
        if curve.chosen is not None and curve.chosen > 0 and math.isfinite(curve.chosen):
            ax.axvline(
                curve.chosen, color=_FAIL_COLOR, linewidth=1.2,
                label=f"chosen h = {curve.chosen:.3g}",
            )  # fmt: skip
        ax.legend(loc="best", fontsize=7.5, frameon=False)

    return _render(draw, id_prefix, f"error versus step size: {title}")


def ratio_hist_svg(hist: RatioHist, *, title: str = "", id_prefix: str = "hist") -> str:
    """Plot the histogram of log10(error / tolerance) over all comparisons of a check.

    Parameters
    ----------
    hist : RatioHist
        Bin edges (in log10 units) and counts. The first and last bins also hold the
        values below and above the range.
    title : str, optional
        Figure title, drawn as plain text.
    id_prefix : str, optional
        Prefix for every SVG element id; must be unique within the HTML page.

    Returns
    -------
    str
        An ``<svg>`` element, without XML prolog, ready to inline.
    """

    def draw(fig: Figure, ax: Axes) -> None:
        from matplotlib.ticker import MaxNLocator

        edges = list(hist.log10_edges)
        counts = list(hist.counts)
        # Bins right of 0 are failures; colour them so a single bad comparison is visible.
        colors = ["#1565c0" if hi <= 0 else _FAIL_COLOR for hi in edges[1:]]
        widths = [hi - lo for lo, hi in itertools.pairwise(edges)]
        ax.bar(edges[:-1], counts, width=widths, align="edge", color=colors, linewidth=0)
        ax.axvline(0.0, color=_FAIL_COLOR, linewidth=1.2, linestyle="--")
        ax.text(
            0.0, 0.97, " tolerance (ratio 1)", color=_FAIL_COLOR, fontsize=7.5, ha="left",
            va="top", transform=ax.get_xaxis_transform(), parse_math=False,
        )  # fmt: skip
        if edges:
            ax.set_xlim(min(edges[0], -1.0), max(edges[-1], 1.0))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("log10(error / tolerance)", parse_math=False)
        ax.set_ylabel("comparisons", parse_math=False)
        n_bad = sum(n for n, hi in zip(counts, edges[1:], strict=True) if hi > 0)
        # A bin straddling 0 cannot be split, so its count is only an upper bound.
        bound = "" if 0.0 in edges or not n_bad else "≤ "
        ax.set_title(f"{title} ({bound}{n_bad} above tolerance)", parse_math=False)
        ax.grid(True, axis="y", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)

    return _render(draw, id_prefix, f"histogram of error over tolerance: {title}")


def heatmap_svg(heatmap: Heatmap, *, title: str = "", id_prefix: str = "heat") -> str:
    """Plot the entry-wise error of a Jacobian, in units of the tolerance.

    Parameters
    ----------
    heatmap : Heatmap
        log10(error / tolerance) for each (block of) Jacobian entries.
    title : str, optional
        Figure title, drawn as plain text.
    id_prefix : str, optional
        Prefix for every SVG element id; must be unique within the HTML page.

    Returns
    -------
    str
        An ``<svg>`` element, without XML prolog, ready to inline.

    Notes
    -----
    The colour scale breaks at 0 (error equal to tolerance): passing entries are pale to
    dark blue, failing ones jump straight to saturated red, and each failing entry is also
    outlined so it stands out even as a single cell of a 64 x 64 map. NaN entries are black.
    """

    def draw(fig: Figure, ax: Axes) -> None:
        import numpy as np
        from matplotlib.patches import Rectangle
        from matplotlib.ticker import MaxNLocator

        data = np.array(
            [[np.nan if v is None else v for v in row] for row in heatmap.log10_ratio],
            dtype=np.float64,
        ).reshape(heatmap.rows, heatmap.cols)
        finite = data[np.isfinite(data)]
        lo = min(float(finite.min()) if finite.size else -1.0, -1.0)
        hi = max(float(finite.max()) if finite.size else 1.0, 1.0)
        # +inf means error unbounded relative to tolerance: show it at the top of the scale.
        shown = np.where(np.isposinf(data), hi, np.where(np.isneginf(data), lo, data))
        im = ax.imshow(
            np.ma.masked_invalid(shown), cmap=_split_cmap(), norm=_split_norm(lo, hi),
            interpolation="nearest", aspect="auto",
        )  # fmt: skip
        bad_r, bad_c = np.nonzero(~(data <= 0))  # NaN counts as failing, as in the check
        if 0 < bad_r.size <= _MAX_MARKED_CELLS:
            # A dark and a light outline: visible on pale red, dark red and black cells alike.
            for r, c in zip(bad_r.tolist(), bad_c.tolist(), strict=True):
                for color, width in (("black", 2.4), ("#ffd600", 1.1)):
                    ax.add_patch(
                        Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor=color,
                                  linewidth=width)
                    )  # fmt: skip
        cbar = fig.colorbar(im, ax=ax, shrink=0.9)
        cbar.set_label("log10(error / tolerance); > 0 fails", parse_math=False)
        cbar.ax.axhline(0.0, color="black", linewidth=1.0)
        # Entries are indices: a 1 x 1 map must not get ticks at -0.4, -0.2, ...
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("input entry (column of J)", parse_math=False)
        ax.set_ylabel("output entry (row of J)", parse_math=False)
        n_bad = int(bad_r.size)
        ax.set_title(
            f"{title} ({n_bad} entr{'y' if n_bad == 1 else 'ies'} above tolerance)",
            parse_math=False,
        )

    return _render(draw, id_prefix, f"Jacobian error heatmap: {title}")
