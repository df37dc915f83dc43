"""Figures that read at any study size: 25, 50 or 2000 units, 4 or 50 factors.

Every function takes a result object and, optionally, a path:

- with ``path`` it writes one PNG and returns the path (what the report does);
- without it, it returns the :class:`matplotlib.figure.Figure` (or, where it
  accepts ``ax=``, draws onto that axes and returns it) for a notebook.

How the figures scale (ArviZ's forest plots and seaborn's heatmaps are the models):

- **factors** are ranked (by mean total Sobol' index) and the top ones shown; the
  rest are summarised in one row, column or grey bundle ("other 41 factors");
- **units** are sorted (by nominal rank); up to :data:`MAX_ROWS` get one labelled
  row each, more are drawn on one unlabelled sorted axis with only the notable
  ones named (the widest intervals, the least stable scenarios);
- **point labels** are placed only where they do not overlap another label, the
  most extreme points first, at most :data:`MAX_LABELS` of them for a large study;
- **colour scales** run from the values that occur (0 to a robust 98th
  percentile, with an arrow on the colour bar where values go beyond);
- **legends** have at most :data:`MAX_GROUPS` + 1 entries (the largest groups,
  then "other k groups") and sit outside the data;
- **sizes** are capped: no figure is larger than :data:`MAX_PIXELS` on either side.

Words come from a :class:`~clustermodel.nouns.Nouns` (``nouns=``):
a user's study is described in its own nouns (units, groups, higher-level units
by default), and the paper's words appear only when the caller passes
:data:`~clustermodel.nouns.PAPER_NOUNS`.

Importing this module changes neither matplotlib's backend nor its rcParams:
figures are :class:`matplotlib.figure.Figure` objects (no pyplot), and the
module's style is applied inside each function with :func:`matplotlib.rc_context`.
"""

from __future__ import annotations

import textwrap
import warnings

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullLocator

from clustermodel._display import cap
from clustermodel._errors import ClusterModelError
from clustermodel._io import atomic_path, round_numbers
from clustermodel.nouns import PAPER_NOUNS, Nouns

__all__ = [
    "draw",
    "save",
    "scenario_plot",
    "figure13",
    "rank_uncertainty",
    "scenario_stability",
    "SCENARIO_COLOURS",
    "correlation_figure",
    "sobol_bars",
    "sobol_heatmap",
    "sobol_convergence",
    "coherence_heatmap",
    "rank_intervals",
    "distribution_strips",
    "DPI",
    "MAX_PIXELS",
    "MAX_ROWS",
    "MAX_LABELS",
    "MAX_GROUPS",
    "TOP_FACTORS",
]

#: Fixed metadata so that the same figure gives the same bytes.
PNG_METADATA = {"Software": None}
#: Resolution of the saved PNGs.
DPI = 130
#: No saved figure is wider or taller than this many pixels.
MAX_PIXELS = 2000
#: Up to this many units get one labelled row each; more are drawn on one unlabelled sorted axis.
MAX_ROWS = 60
#: At most this many point labels in a scatter of more than :data:`_LABEL_ALL` units.
MAX_LABELS = 15
#: Colours for at most this many groups; the others are grey, as "other k groups".
MAX_GROUPS = 8
#: Factors shown one by one in the Sobol' bars and heatmap; the rest are summarised.
TOP_FACTORS = 10
#: Factors drawn in colour in the convergence figure; the rest are thin grey lines.
_TOP_LINES = 6
#: Up to this many scatter points every label is tried (where it fits).
_LABEL_ALL = 40
#: Units shown one by one in the scenario-stability chart of a large study.
_STABILITY_ROWS = 40

#: Colours of the four scenarios (in the order of ``clustermodel.spec.SCENARIOS``).
SCENARIO_COLOURS = {"supported": "#1b9e77", "lonely": "#7570b3", "potential": "#d95f02", "late": "#e7298a"}
#: Eight distinguishable colours for groups (Okabe-Ito without black); grey is kept for "other".
_GROUP_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
_OTHER = "#b0b0b0"
_MAX_INCHES = MAX_PIXELS / DPI * 0.98

_STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 11,
    "axes.grid": False,
    "image.interpolation": "nearest",
    "figure.autolayout": False,
    "figure.constrained_layout.use": False,
}

#: The paper's names of its two indices (used only with ``PAPER_NOUNS``).
_PAPER_AXES = {"unit": "Cluster internationalization index", "higher": "Regional foreign economic activity index"}


# ---------------------------------------------------------------------------------------------------- helpers
def _style():
    """The module's style, for the duration of one function (rcParams are restored afterwards)."""
    return matplotlib.rc_context(_STYLE)


def _nouns(nouns) -> Nouns:
    return Nouns() if nouns is None else nouns


def _index_name(nouns: Nouns, which: str) -> str:
    """'Unit index', 'Country index' …; the paper's index names under PAPER_NOUNS."""
    if nouns == PAPER_NOUNS:
        return _PAPER_AXES[which]
    return f"{cap(getattr(nouns, which))} index"


def _plain(text, limit: int | None = None) -> str:
    """Data as literal text: one line, ``$`` escaped (no mathtext), shortened to ``limit`` characters."""
    s = " ".join(str(text).split())
    if limit is not None and len(s) > limit:
        s = s[: limit - 1].rstrip() + "…"
    return s.replace("$", r"\$")


def _figure(width: float, height: float) -> Figure:
    """A constrained-layout Figure, never larger than MAX_PIXELS at DPI on either side."""
    return Figure(figsize=(min(width, _MAX_INCHES), min(height, _MAX_INCHES)), dpi=DPI, layout="constrained")


def _axes(ax, width: float, height: float):
    if ax is not None:
        return ax.figure, ax
    fig = _figure(width, height)
    return fig, fig.add_subplot()


def save(fig, path, dpi: int = DPI, *, then=None):
    """Save ``fig`` as PNG atomically with deterministic metadata; never more than MAX_PIXELS a side.

    Inside :func:`clustermodel._background.in_background` (a report run) the rendering happens in a forked child
    while the caller goes on; the run waits for every figure before it writes the report that embeds them.
    ``then(fig)``, if given, runs just before the rendering (there too): the last touches that need the final
    layout, such as values written into heatmap cells, cost the caller nothing.
    """
    from clustermodel._background import submit

    if submit(_render, fig, path, dpi, then, what=f"figure {getattr(path, 'name', path)}"):
        return path
    return _render(fig, path, dpi, then)


def draw(plot, *args, path, **kwargs):
    """``plot(*args, path, **kwargs)`` — build a figure and save it — in a forked child inside a report run, so the
    caller pays neither for drawing nor for rendering; elsewhere here. Returns ``path``; a failure is the run's error
    when it waits for its figures (:func:`clustermodel._background.in_background`)."""
    from functools import partial

    from clustermodel._background import submit

    job = partial(plot, *args, path, **kwargs)
    if not submit(job, what=f"figure {getattr(path, 'name', path)}"):
        job()
    return path


def _render(fig, path, dpi, then=None):
    if then is not None:
        then(fig)
    w, h = fig.get_size_inches()
    dpi = min(dpi, MAX_PIXELS / max(w, h, 1e-9))
    engine = fig.get_layout_engine()
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # a unit name in a script the font lacks is drawn as boxes; that is no reason to warn in a report run
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        if _lay_out(fig, dpi):  # savefig would draw every artist once without rendering just to run the layout
            fig.set_layout_engine("none")
            try:
                fig.savefig(tmp, dpi=dpi, format="png", metadata=PNG_METADATA)
            finally:
                fig.set_layout_engine(engine)
        else:
            fig.savefig(tmp, dpi=dpi, format="png", metadata=PNG_METADATA)
    if hasattr(fig, "canvas") and getattr(fig.canvas, "manager", None) is not None:  # a pyplot figure: release it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


def _lay_out(fig, dpi=None) -> bool:
    """Run the figure's layout engine once, at ``dpi`` (default the figure's), and return whether it has one.

    This is what a draw does first; matplotlib's ``savefig`` and ``draw_without_rendering`` then draw every
    artist (without rendering) as well, which for a figure of many texts costs as much as rendering it, and
    which positions nothing: the layout engine alone places the axes, colour bars and titles.
    """
    engine = fig.get_layout_engine()
    if engine is None or not fig.axes or isinstance(engine, PlaceHolderLayoutEngine):
        return False
    old = fig.dpi
    if dpi is not None and dpi != old:
        fig.dpi = dpi
    try:
        engine.execute(fig)
    finally:
        if fig.dpi != old:
            fig.dpi = old
    return True


def _freeze_layout(fig, *, draw: bool = True):
    """Run the constrained layout once (unless ``draw`` is False: it has just run) and keep it: artists added
    afterwards inside the axes move nothing, and saving draws the figure once instead of twice."""
    if draw:
        _lay_out(fig)
    fig.set_layout_engine(None)


def _finish(fig, path, given_ax=None, then=None):
    """Save and return the path; else the caller's axes, or the new figure (``then(fig)`` first, see :func:`save`)."""
    if path is not None:
        return save(fig, path, then=then)
    if then is not None:
        then(fig)
    return given_ax if given_ax is not None else fig


def _wrap(text: str, width: int = 100) -> str:
    return "\n".join(textwrap.fill(p, width) for p in str(text).split("\n"))


def _fit(text: str, width_inches: float, fontsize: float) -> str:
    """``text`` wrapped to lines that fit ``width_inches`` at ``fontsize`` points."""
    return _wrap(text, max(20, int(width_inches * 72 / (0.6 * fontsize))))  # DejaVu Sans averages ~0.6 em a character


def _num(v: float, digits: int = 3) -> str:
    """A number for a label, without a minus sign on a rounded zero."""
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _unit_labels(ids, names=None, limit: int = 42) -> list:
    """'3: Name of the unit' (or the id alone) for each unit, as literal text."""
    out = []
    for k, i in enumerate(ids):
        if names is None or names[k] is None or str(names[k]) in ("", str(i)):
            out.append(_plain(i, limit))
        else:
            out.append(_plain(f"{i}: {names[k]}", limit))
    return out


def _text_box(fig, text: str, fontsize: float):
    """Approximate (width, height) in pixels of one line of text."""
    px = fontsize * fig.dpi / 72.0
    return 0.6 * px * len(text) + 2, 1.25 * px


def _label_points(
    ax,
    x,
    y,
    labels,
    priority,
    *,
    limit: int | None,
    fontsize: float = 7.0,
    marker_size: float = 0.0,
    avoid=(),
    blockers=(),
    over_data: bool = False,
    drawn: bool = False,
) -> int:
    """Label points where a label fits: in ``priority`` order, at one of four offsets, never overlapping an
    earlier label or another point's marker (``marker_size`` in points², as ``scatter``'s ``s``) or the points
    in ``avoid`` (``(x, y, s)`` tuples), and never leaving the axes; at most ``limit`` labels (all that fit when
    None). ``blockers`` are artists (texts, boxes) no label may cover, besides the axes' legend. With
    ``over_data`` labels may cover the data (not each other) and get a white background. ``drawn``: the
    figure's layout is final already (else it is drawn once, without rendering, to find it).

    Returns the number of labels placed.
    """
    fig = ax.figure
    if not drawn:
        _lay_out(fig)  # final axes positions (the limits follow from the data when transData is read)
    box = ax.get_window_extent()
    k = fig.dpi / 72.0
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    pts = ax.transData.transform(np.column_stack([x, y]))
    # markers as boxes (x0, y0, x1, y1) in pixels; a label may touch its own point's marker only
    marks = [np.column_stack([pts - np.sqrt(marker_size) / 2 * k, pts + np.sqrt(marker_size) / 2 * k])]
    owner = [np.arange(len(x))]
    for ax_, ay_, s_ in avoid:
        q = ax.transData.transform(np.column_stack([np.asarray(ax_, float), np.asarray(ay_, float)]))
        marks.append(np.column_stack([q - np.sqrt(s_) / 2 * k, q + np.sqrt(s_) / 2 * k]))
        owner.append(np.full(len(q), -1))
    marks = np.vstack(marks)
    owner = np.concatenate(owner)
    centre = (marks[:, :2] + marks[:, 2:]) / 2
    marks[~np.all(np.isfinite(marks), axis=1)] = -1e9
    legend = ax.get_legend()
    fixed = [b for b in (*blockers, legend) if b is not None]  # never under the legend or a blocker
    extents = [b.get_window_extent() for b in fixed]
    placed = np.array([[e.x0, e.y0, e.x1, e.y1] for e in extents]).reshape(-1, 4)
    # offsets in points: right-above, right-below, left-above, left-below, above, below
    offsets = ((4, 3), (4, -10), (-4, 3), (-4, -10), (0, 6), (0, -14))
    for i in priority:
        if limit is not None and len(placed) - len(fixed) >= limit:
            break
        if not np.all(np.isfinite(pts[i])):
            continue
        w, h = _text_box(fig, labels[i], fontsize)
        for dx, dy in offsets:
            x0 = pts[i, 0] + dx * k - (w if dx < 0 else w / 2 if dx == 0 else 0)
            y0 = pts[i, 1] + dy * k
            r = np.array([x0, y0, x0 + w, y0 + h])
            if not (r[0] >= box.x0 and r[2] <= box.x1 and r[1] >= box.y0 and r[3] <= box.y1):
                continue
            # another point's marker, or an extra marker not centred on this point (a mean drawn over it)
            mine = (owner == i) | ((owner == -1) & (np.abs(centre - pts[i]).max(axis=1) < 1.5))
            others = marks[~mine]
            hits = lambda b: np.any((r[0] < b[:, 2]) & (b[:, 0] < r[2]) & (r[1] < b[:, 3]) & (b[:, 1] < r[3]))  # noqa: E731
            if hits(placed) or (not over_data and hits(others)):
                continue
            placed = np.vstack([placed, r])
            ax.annotate(
                labels[i],
                (x[i], y[i]),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=fontsize,
                ha="left" if dx > 0 else "right" if dx < 0 else "center",
                va="bottom",
                zorder=6,
                in_layout=False,
                bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none", alpha=0.8) if over_data else None,
            )
            break
    return len(placed) - len(fixed)


def _extremes_first(x, y, extra=None) -> list:
    """Point order for labelling: the three highest and lowest ``y``, then by robust distance from the centre
    (or by ``extra``, larger first)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = len(y)
    if extra is None:

        def z(v):
            med = np.nanmedian(v)
            iqr = np.subtract(*np.nanpercentile(v, [75, 25])) or (np.nanstd(v) or 1.0)
            return (v - med) / iqr

        extra = np.hypot(z(x), z(y))
    extra = np.where(np.isfinite(extra), extra, -np.inf)
    by_y = np.argsort(np.where(np.isfinite(y), -y, np.inf), kind="stable")
    first = list(by_y[:3]) + [i for i in by_y[::-1][:3]]
    rest = list(np.argsort(-extra, kind="stable"))
    seen, order = set(), []
    for i in first + rest:
        if i not in seen and i < n:
            seen.add(i)
            order.append(int(i))
    return order


def _marker_style(n: int) -> dict:
    """Scatter marker size, edge and transparency for n points."""
    if n <= 60:
        return dict(s=42, edgecolor="k", linewidth=0.4, alpha=1.0)
    if n <= 300:
        return dict(s=22, edgecolor="k", linewidth=0.25, alpha=0.85)
    return dict(s=float(np.clip(6000 / n, 4, 12)), edgecolor="none", linewidth=0, alpha=0.55)


def _group_colours(groups, nouns: Nouns):
    """Colour of every point and legend entries: the MAX_GROUPS largest groups, then grey 'other k groups'."""
    groups = ["(none)" if g is None or (isinstance(g, float) and np.isnan(g)) else str(g) for g in groups]
    names, counts = np.unique(groups, return_counts=True)
    order = sorted(range(len(names)), key=lambda k: (-counts[k], names[k]))
    if len(names) > MAX_GROUPS + 1:
        shown = [names[k] for k in order[:MAX_GROUPS]]
    else:
        shown = [names[k] for k in sorted(order, key=lambda k: names[k])]
    colour = {g: _GROUP_COLOURS[k % len(_GROUP_COLOURS)] for k, g in enumerate(shown)}
    point = [colour.get(g, _OTHER) for g in groups]
    # long names are wrapped, not cut: "Pharmaceutical, biotechnology and medical industry" is one group, whole
    entries = [(colour[g], textwrap.fill(f"{_plain(g, 90)} ({int(counts[list(names).index(g)])})", 34)) for g in shown]
    rest = [g for g in names if g not in colour]
    if rest:
        m = int(sum(counts[list(names).index(g)] for g in rest))
        entries.append((_OTHER, f"other {len(rest)} {nouns.groups} ({m})"))
    return point, entries


def _rank_ticks(ax, n: int, axis: str = "x"):
    """Ticks at rank 1 and at round multiples (5, 10, 50, 100 …) up to n."""
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10**9) if n / s <= 12)
    ticks = [1] + [t for t in range(step, n + 1, step) if t - 1 >= step / 2]
    getattr(ax, f"set_{axis}ticks")(ticks if axis == "x" else [t - 1 for t in ticks])
    if axis == "y":
        ax.set_yticklabels([str(t) for t in ticks])


def _headings(fig, ax, head: str, detail: str, own_figure: bool):
    """The heading as the figure's title and the detail as the axes' subtitle (both on ``ax`` when drawing
    into a caller's axes)."""
    if own_figure:
        fig.suptitle(head)
        ax.set_title(detail, fontsize=8, color="0.3")
    else:
        ax.set_title(head)


# ---------------------------------------------------------------------------------------------------- scenarios
def scenario_plot(
    cluster_index,
    region_index,
    labels,
    groups,
    thresholds,
    counts,
    path=None,
    *,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    nouns: Nouns | None = None,
    ax=None,
):
    """Unit index against its higher-level unit's index, the threshold lines and the four quadrants named.

    Parameters
    ----------
    cluster_index, region_index : array (n,)
        The unit index and the index of each unit's higher-level unit.
    labels : sequence of str
        Point labels; only those that fit are drawn (every one that fits up to
        40 units, then the most extreme ones, at most :data:`MAX_LABELS`).
    groups : sequence of str or None
        Colours by group: the :data:`MAX_GROUPS` largest groups, the rest grey.
    thresholds : (unit, higher) absolute thresholds
    counts : mapping scenario -> count, printed in each quadrant's corner
    path : path, optional
        Write a PNG here and return the path; without it return the figure (or ``ax``).
    title, xlabel, ylabel : str, optional
        Default from ``nouns``.
    nouns : Nouns, optional
        Default ``Nouns()`` (units and higher-level units).
    ax : matplotlib Axes, optional
        Draw onto this axes.
    """
    nouns = _nouns(nouns)
    x = np.asarray(cluster_index, dtype=float)
    y = np.asarray(region_index, dtype=float)
    n = len(x)
    with _style():
        fig, axx = _axes(ax, 9.5, 6.8)
        style = _marker_style(n)
        if groups is not None:
            colours, entries = _group_colours(groups, nouns)
        else:
            colours, entries = ["#0072B2"] * n, []
        axx.scatter(y, x, c=colours, zorder=3, **style)
        ct, rt = thresholds
        axx.axhline(ct, color="grey", ls="--", lw=1, zorder=1)
        axx.axvline(rt, color="grey", ls="--", lw=1, zorder=1)
        finite = lambda v: v[np.isfinite(v)] if np.isfinite(v).any() else np.array([0.0])  # noqa: E731
        xlo, xhi = min(0.0, finite(y).min()), max(finite(y).max(), rt)
        ylo, yhi = min(0.0, finite(x).min()), max(finite(x).max(), ct)
        axx.set_xlim(xlo - 0.02 * (xhi - xlo or 1), xhi + 0.06 * (xhi - xlo or 1))
        # empty bands above and below the data hold the quadrant names, so that they cover no point
        axx.set_ylim(ylo - 0.07 * (yhi - ylo or 1), yhi + 0.09 * (yhi - ylo or 1))
        box = dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="0.75", alpha=0.85)
        corner = dict(fontsize=9, color="0.25", weight="bold", transform=axx.transAxes, bbox=box, zorder=7)
        corners = [
            axx.text(0.01, 0.99, f"Lonely ({counts.get('lonely', 0)})", ha="left", va="top", **corner),
            axx.text(0.99, 0.99, f"Supported ({counts.get('supported', 0)})", ha="right", va="top", **corner),
            axx.text(0.01, 0.01, f"Potential ({counts.get('potential', 0)})", ha="left", va="bottom", **corner),
            axx.text(0.99, 0.01, f"Late ({counts.get('late', 0)})", ha="right", va="bottom", **corner),
        ]
        axx.set_xlabel(xlabel or _index_name(nouns, "higher"))
        axx.set_ylabel(ylabel or _index_name(nouns, "unit"))
        axx.grid(alpha=0.3)
        if entries:
            handles = [Line2D([], [], ls="", marker="o", mfc=c, mec="k", mew=0.4, ms=7) for c, _ in entries]
            axx.legend(handles, [t for _, t in entries], title=cap(nouns.group), loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        text = [_plain(v, 28) for v in labels]
        limit = None if n <= _LABEL_ALL else MAX_LABELS
        head = title or f"Scenarios of {nouns.count(n, 'unit')}"
        note = "\n(labels: {} of {} {}, the most extreme where they fit)"
        axx.set_title(head + (note.format(limit, n, nouns.units) if limit is not None else ""))  # lay out with the final line count
        placed = _label_points(axx, y, x, text, _extremes_first(y, x), limit=limit, fontsize=7.5 if n <= 60 else 7, marker_size=style["s"], blockers=corners)
        if placed < n:
            axx.set_title(head + note.format(placed, n, nouns.units))
        if ax is None:
            _freeze_layout(fig, draw=False)
        return _finish(fig, path, given_ax=ax)


def figure13(result, path=None, *, title: str | None = None, nouns: Nouns | None = None, ax=None):
    """The published scenario figure, recomputed, from a :class:`~clustermodel.reproduction.ReproductionResult`.

    With ``nouns=PAPER_NOUNS`` the axes carry the paper's names (Tables 5-6, Figure 13).
    """
    nouns = _nouns(nouns)
    rows = result.clusters
    reg = {r["region"]: r["computed"] for r in result.regions}
    paper = nouns == PAPER_NOUNS
    return scenario_plot(
        [r["computed"] for r in rows],
        [reg[r["region"]] for r in rows],
        [r["no"] for r in rows],
        [r["group"] for r in rows],
        (result.threshold_values["cluster"], result.threshold_values["region"]),
        result.scenario_counts,
        path,
        title=title or ("Internationalization scenarios (replica of Figure 13)" if paper else "Scenarios, recomputed (replica of the published figure)"),
        xlabel=f"{_index_name(nouns, 'higher')} ({'Table 6, ' if paper else ''}recomputed)",
        ylabel=f"{_index_name(nouns, 'unit')} ({'Table 5, ' if paper else ''}recomputed)",
        nouns=nouns,
        ax=ax,
    )


# ---------------------------------------------------------------------------------------------------- bootstrap
def _by_nominal_rank(result):
    """The bootstrap's unit table and the unit order by nominal rank."""
    t = result.cluster_table()
    order = np.argsort(t["rank_nominal"].values, kind="stable")
    return t, order


def _table_labels(t, order, limit: int = 42) -> list:
    ids = t["cluster"].values[order]
    names = t["name"].values[order] if "name" in t.coords else None
    return _unit_labels(ids, names, limit)


def _panel_text(result) -> str:
    return _wrap(f"{result.n_resamples} weight draws; {result.mode_description}", 110)


def rank_uncertainty(result, path=None, *, title: str | None = None, nouns: Nouns | None = None, ax=None):
    """Rank intervals of a weight bootstrap on one axis sorted by nominal rank (a forest plot).

    Up to :data:`MAX_ROWS` units: one labelled row each, with the median rank
    (dot), the percentile interval (bar) and the nominal rank (cross). More
    units: every interval as a thin line on an unlabelled axis sorted by
    nominal rank (the nominal ranks form the diagonal), the widest intervals
    and the top three named.

    Parameters
    ----------
    result : clustermodel.bootstrap.WeightBootstrapResult
    path : output PNG path, optional
    nouns : Nouns, optional
    ax : matplotlib Axes, optional
    """
    nouns = _nouns(nouns)
    t, order = _by_nominal_rank(result)
    n = len(order)
    med = t["rank_median"].values[order]
    lo = t["rank_low"].values[order]
    hi = t["rank_high"].values[order]
    nom = t["rank_nominal"].values[order]
    y = np.arange(n)
    lo_p, hi_p = 100 * (1 - result.confidence_level) / 2, 100 * (1 + result.confidence_level) / 2
    with _style():
        if n <= MAX_ROWS:
            fig, axx = _axes(ax, 9.5, 0.22 * n + 2.0)
            axx.hlines(y, lo, hi, color="0.35", lw=3, alpha=0.7, label=f"{lo_p:g}–{hi_p:g} % interval", zorder=2)
            axx.plot(med, y, "o", color="#0072B2", ms=5, label="median rank", zorder=3)
            axx.plot(nom, y, "x", color="#D55E00", ms=7, mew=2, label="nominal rank", zorder=4)
            axx.set_yticks(y)
            axx.set_yticklabels(_table_labels(t, order), fontsize=7 if n > 30 else 8)
            axx.set_ylim(n - 0.5, -0.5)
            note = ""
        else:
            fig, axx = _axes(ax, 9.5, 9.0)
            segs = np.stack([np.column_stack([lo, y]), np.column_stack([hi, y])], axis=1)
            axx.add_collection(LineCollection(segs, colors="0.35", linewidths=max(0.3, min(1.5, 600 / n)), alpha=0.6, label=f"{lo_p:g}–{hi_p:g} % interval"))
            axx.plot(med, y, ".", color="#0072B2", ms=1.5, alpha=0.6, label="median rank", zorder=3)
            axx.plot(nom, y, "-", color="#D55E00", lw=1.0, label="nominal rank", zorder=4)
            axx.set_ylim(n - 0.5, -0.5)
            axx.set_ylabel(f"{nouns.units} sorted by nominal rank")
            _rank_ticks(axx, n, "y")
            note = "\n(named: {} of {} {}, the top ranks and the widest intervals)"
        axx.set_xlim(0.5, n + 0.5)
        _rank_ticks(axx, n, "x")
        axx.set_xlabel("rank (1 = highest index)")
        axx.grid(axis="x", alpha=0.3)
        head = title or f"Rank uncertainty of {nouns.count(n, 'unit')}"
        _headings(fig, axx, head, _panel_text(result) + note.format(MAX_LABELS, n, nouns.units), ax is None)
        axx.legend(loc="upper right", framealpha=0.9)
        if n > MAX_ROWS:
            width = hi - lo
            priority = list(dict.fromkeys([*range(min(3, n)), *(int(i) for i in np.argsort(-width, kind="stable"))]))
            placed = _label_points(axx, hi, y.astype(float), _table_labels(t, order, 34), priority, limit=MAX_LABELS, fontsize=7, over_data=True)
            _headings(fig, axx, head, _panel_text(result) + note.format(placed, n, nouns.units), ax is None)
            if ax is None:  # once more: setting the heading again put it back where the layout had moved it from
                _freeze_layout(fig)
        return _finish(fig, path, given_ax=ax)


def scenario_stability(result, path=None, *, title: str | None = None, nouns: Nouns | None = None, ax=None):
    """Probability of each scenario over the weight draws, one stacked bar per unit.

    Up to :data:`MAX_ROWS` units: every unit, sorted by nominal rank, its
    nominal scenario written at the right. More units: the 40 units least sure
    of their nominal scenario (sorted by nominal rank) and one last bar for all
    the others (their mean probabilities).

    Parameters
    ----------
    result : clustermodel.bootstrap.WeightBootstrapResult
    path : output PNG path, optional
    nouns : Nouns, optional
    ax : matplotlib Axes, optional
    """
    nouns = _nouns(nouns)
    t, order = _by_nominal_rank(result)
    n = len(order)
    p_all = np.asarray(t["scenario_probability"].values, dtype=float)
    scen = [str(s) for s in t["scenario"].values]
    nominal_all = np.asarray(t["scenario_nominal"].values).astype(int)
    p_nominal = p_all[np.arange(n), nominal_all]
    labels_all = _table_labels(t, np.arange(n))
    if n <= MAX_ROWS:
        rows = list(order)
        rest = []
    else:  # the least sure, among those that ever leave their nominal scenario
        least = [i for i in np.argsort(p_nominal, kind="stable")[:_STABILITY_ROWS] if p_nominal[i] < 1]
        keep = set(int(i) for i in least)
        rows = [int(i) for i in order if int(i) in keep]
        rest = [int(i) for i in order if int(i) not in keep]
    p = p_all[rows]
    labels = [labels_all[i] for i in rows]
    right = [scen[nominal_all[i]] for i in rows]
    if rest:
        p = np.vstack([p, p_all[rest].mean(axis=0)])
        labels.append(f"other {len(rest)} {nouns.units} (mean)" if rows else f"all {len(rest)} {nouns.units} (mean)")
        low = float(p_nominal[rest].min())
        right.append("always nominal" if low >= 1 else f"P(nominal) ≥ {_num(low, 2)}")
    m = len(labels)
    y = np.arange(m)
    with _style():
        fig, axx = _axes(ax, 9.5, 0.22 * m + 2.2)
        left = np.zeros(m)
        for k, s in enumerate(scen):
            axx.barh(y, p[:, k], left=left, color=SCENARIO_COLOURS.get(s, f"C{k}"), label=s, height=0.8, edgecolor="white", linewidth=0.3)
            left += p[:, k]
        for yi, text in zip(y, right):
            axx.text(1.01, yi, text, va="center", fontsize=7, color="0.3", clip_on=False)
        axx.set_yticks(y)
        axx.set_yticklabels(labels, fontsize=7 if m > 30 else 8)
        if rest:
            axx.get_yticklabels()[-1].set_fontweight("bold")
        axx.set_ylim(m - 0.5, -0.5)
        axx.set_xlim(0, 1)
        axx.set_xlabel("probability over the weight draws (nominal scenario at the right)")
        head = title or f"Scenario stability of {nouns.count(n, 'unit')}"
        detail = _panel_text(result)
        if rest and rows:
            detail += f"\n(the {len(rows)} {nouns.units} least sure of their nominal scenario; the other {len(rest)} in the last bar)"
        elif rest:
            detail += f"\n(every {nouns.unit} keeps its nominal scenario in every draw; the bar shows the mean over all)"
        _headings(fig, axx, head, detail, ax is None)
        if ax is None:
            fig.legend(*axx.get_legend_handles_labels(), loc="outside lower center", ncol=len(scen))
        else:
            axx.legend(loc="lower left", ncol=len(scen))
        return _finish(fig, path, given_ax=ax)


# ---------------------------------------------------------------------------------------------------- relationship
def correlation_figure(result, path=None, *, nouns: Nouns | None = None):
    """Unit index against higher-level index per value source, with the higher-level means and the OLS line.

    Parameters
    ----------
    result : clustermodel.relationship.RelationshipResult
    path : output PNG path, optional
    nouns : Nouns, optional
    """
    nouns = _nouns(nouns)
    sources = list(result.sources)
    regions = np.asarray(result.cluster_regions)
    names = np.asarray(result.region_names)
    n = len(regions)
    _, inverse, counts = np.unique(regions, return_inverse=True, return_counts=True)
    shared = counts[inverse] > 1
    style = _marker_style(n)
    with _style():
        width = 6.8 * len(sources) + 0.4 if len(sources) > 1 else 8.5
        fig = _figure(width, 6.6)
        axes = fig.subplots(1, len(sources), squeeze=False, sharey=True)[0]
        pending = []
        for ax, s in zip(axes, sources):
            d = result.sources[s]
            x = np.asarray(d["region_index_of_cluster"], dtype=float)
            y = np.asarray(d["cluster_index"], dtype=float)
            for mask, colour, what in ((~shared, "#0072B2", f"{nouns.unit} (only one in its {nouns.higher})"), (shared, "#E69F00", f"{nouns.unit} sharing its {nouns.higher}")):
                if mask.any():
                    ax.scatter(x[mask], y[mask], color=colour, zorder=3, label=what, **style)
            rx = np.array([x[regions == r][0] if np.any(regions == r) else np.nan for r in names])
            ry = np.asarray(d["region_mean_cluster_index"], dtype=float)
            ax.scatter(rx, ry, s=90 if len(names) <= 60 else 40, marker="D", facecolor="none", edgecolor="k", linewidth=0.9, zorder=4, label=f"{nouns.higher} mean (primary analysis)")
            ols = result.ols.get(s) if hasattr(result.ols, "get") else None
            fx = x[np.isfinite(x)]
            if ols is not None and fx.size:
                grid = np.linspace(min(0.0, fx.min()), fx.max() * 1.05, 100)
                ax.plot(grid, round_numbers(ols.fitted(grid)), color="#CC0000", lw=1.5, zorder=5, label=f"OLS fit ({nouns.higher}-clustered SE)")
                resid = np.abs(y - ols.fitted(x))
            else:
                resid = None
            ax.axhline(d["cluster_threshold"], color="grey", ls="--", lw=0.8)
            ax.axvline(d["region_threshold"], color="grey", ls="--", lw=0.8)
            fy = y[np.isfinite(y)]
            top = max(fy.max() if fy.size else 0.0, d["cluster_threshold"])
            ax.set_ylim(bottom=min(0.0, fy.min() if fy.size else 0.0), top=top * 1.08)
            ax.set_xlabel(f"{_index_name(nouns, 'higher')} ({s} values)")
            ax.grid(alpha=0.3)
            lvl = f"{result.confidence_level:.0%}"
            fmt = lambda v: "—" if v is None or not np.isfinite(v) else f"{v:.2f}"  # noqa: E731
            lines = [f"{s} values"]
            pfmt = lambda v: "—" if v is None or not np.isfinite(v) else f"{v:.3f}"  # noqa: E731
            try:
                p = result.get(result.primary, s)
            except ClusterModelError:  # no primary test for this source: no line
                p = None
            if p is not None:
                lines.append(
                    f"{nouns.higher} means: r = {fmt(p.statistic)}, p = {pfmt(p.pvalue)}, {lvl} CI [{fmt(p.ci_low)}, {fmt(p.ci_high)}] "
                    f"(n = {p.n})"
                )
            if ols is not None:
                lines.append(
                    f"clustered OLS slope {fmt(ols.slope)}, p = {pfmt(ols.pvalue)}, {lvl} CI [{fmt(ols.ci_low)}, {fmt(ols.ci_high)}] "
                    f"({nouns.count(ols.n_obs, 'unit')}, {nouns.count(ols.n_groups, 'higher')})"
                )
            ax.set_title(_fit("\n".join(lines), width / len(sources), 8.5), fontsize=8.5)
            pending.append((ax, x, y, resid, rx, ry))
        axes[0].set_ylabel(_index_name(nouns, "unit"))
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=4 if len(sources) > 1 else 2)
        head = f"{cap(nouns.unit)} index vs {nouns.higher} index: {nouns.units}, {nouns.higher} means and the clustered-OLS fit"
        if n > _LABEL_ALL:
            head += f"\n(labelled: the {nouns.units} farthest from the fit, where labels fit)"
        fig.suptitle(_fit(head, width, 11))
        labels = [_plain(c, 24) for c in result.clusters]
        limit = None if n <= _LABEL_ALL else MAX_LABELS
        _freeze_layout(fig)  # the labels go where they fit in the final layout
        for ax, x, y, resid, rx, ry in pending:
            avoid = [(rx, ry, 90 if len(names) <= 60 else 40)]
            _label_points(ax, x, y, labels, _extremes_first(x, y, resid), limit=limit, fontsize=7, marker_size=style["s"], avoid=avoid, drawn=True)
        return _finish(fig, path)


# ---------------------------------------------------------------------------------------------------- Sobol'
def _sobol_rows(result, quantity):
    """Output rows of ``quantity[unit]`` for every unit, or None when the result has no such output."""
    ix = result.indices
    units = list(result.cluster_names)
    pos = {o: k for k, o in enumerate(ix.outputs)}
    rows = [pos.get(f"{quantity}[{c}]") for c in units]
    if not units or any(r is None for r in rows):
        return units, None
    return units, np.asarray(rows)


def _unit_order(result, units):
    """Units by nominal index, highest first (the report's rank order), when the index outputs exist."""
    _, rows = _sobol_rows(result, "index")
    if rows is None:
        return np.arange(len(units))
    v = np.asarray(result.nominal, dtype=float)[rows]
    return np.argsort(np.where(np.isfinite(v), -v, np.inf), kind="stable")


def _rank_factors(score, top: int):
    """(shown factor positions by score, the others) — all shown when only one would be left over."""
    order = list(np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable"))
    if len(order) <= top + 1:
        return order, []
    return order[:top], order[top:]


def _factor_label(name, limit: int = 26, labels=None) -> str:
    """A factor or node as a figure shows it: its label where ``labels`` (node -> label) has one, else its name."""
    return _plain((labels or {}).get(name, name), limit)


def _percentile(draws, level):
    a = (1 - level) / 2
    return np.nanpercentile(draws, 100 * a, axis=0), np.nanpercentile(draws, 100 * (1 - a), axis=0)


def _t_interval(values, level):
    """Mean over the rows of ``values`` (independent replicates) +- the t quantile times its standard error."""
    import scipy.stats

    r = np.sum(np.isfinite(values), axis=0)
    mean = np.nanmean(values, axis=0)
    half = scipy.stats.t.ppf(0.5 + level / 2, np.maximum(r - 1, 1)) * np.nanstd(values, axis=0, ddof=1) / np.sqrt(np.maximum(r, 1))
    return mean - half, mean + half


def sobol_bars(result, path=None, *, quantity: str = "index", title: str | None = None, nouns: Nouns | None = None, top: int = TOP_FACTORS, node_labels=None):
    """First-order and total Sobol' indices of every unit's ``quantity``, factors ranked, the rest summarised.

    One row per factor (the ``top`` factors by mean total index ST over the
    units, then one row "other k factors" with their summed indices): the mean
    S1 and ST over the units as bars with the interval of that mean (the spread over the
    designs of the replicate method, or the bootstrap's percentiles),
    and every unit's ST as a dot, so the spread over units shows at any number
    of units.

    Parameters
    ----------
    result : clustermodel.sensitivity.SobolResult
    path : output PNG path, optional
    quantity : {'index', 'rank', 'scenario_kept'}
        Which per-unit output to show.
    nouns : Nouns, optional
    top : int
        Factors shown one by one.
    node_labels : mapping node -> label, optional
        Shown instead of a weight factor's node code (:meth:`Structure.node_labels`).
    """
    nouns = _nouns(nouns)
    ix = result.indices
    units, rows = _sobol_rows(result, quantity)
    if rows is None:
        raise ClusterModelError(f"this Sobol' result has no per-unit output {quantity!r}; it has {sorted({o.split('[')[0] for o in ix.outputs})}")
    factors = list(ix.factors)
    s1 = np.asarray(ix.S1)[rows]
    st = np.asarray(ix.ST)[rows]
    shown, rest = _rank_factors(np.nanmean(st, axis=0), top)
    cols = [[j] for j in shown] + ([rest] if rest else [])
    names = [_factor_label(factors[j], labels=node_labels) for j in shown] + ([f"other {len(rest)} factors (sum)"] if rest else [])

    def collapse(m):  # (…, units or resamples, factors) -> (…, rows of the figure)
        return np.stack([m[..., c].sum(axis=-1) for c in cols], axis=-1)

    s1c, stc = collapse(s1), collapse(st)
    mean1, meant = np.nanmean(s1c, axis=0), np.nanmean(stc, axis=0)
    ci, how = {}, ""
    with warnings.catch_warnings():  # a resample or design where no unit's output was informative has no mean: NaN
        warnings.filterwarnings("ignore", message="(Mean of empty slice|Degrees of freedom <= 0)", category=RuntimeWarning)
        for key in ("S1", "ST"):
            draws = getattr(ix, f"{key}_resamples", None)
            reps = getattr(ix, f"{key}_replicates", None)
            if draws is not None and np.ndim(draws) == 3:  # SALib's bootstrap: percentiles of the resampled means
                ci[key] = _percentile(collapse(np.nanmean(np.asarray(draws)[:, rows, :], axis=1)), ix.confidence_level)
                how = "bootstrap intervals of the mean"
            elif reps is not None and np.ndim(reps) == 3 and len(reps) >= 2:  # the spread of the mean over designs
                ci[key] = _t_interval(collapse(np.nanmean(np.asarray(reps)[:, rows, :], axis=1)), ix.confidence_level)
                how = f"intervals of the mean from its spread over {len(reps)} designs"
    m = len(names)
    y = np.arange(m)
    n = len(units)
    with _style():
        fig = _figure(9.5, 0.5 * m + 2.2)
        ax = fig.add_subplot()
        h = 0.36
        ax.barh(y - h / 2, mean1, h, color="#56B4E9", label=f"S1, mean over {nouns.units}")
        ax.barh(y + h / 2, meant, h, color="#E69F00", label=f"ST, mean over {nouns.units}")
        for key, off, mean in (("S1", -h / 2, mean1), ("ST", h / 2, meant)):
            if key in ci:
                lo, hi = ci[key]
                ax.errorbar(mean, y + off, xerr=[np.maximum(mean - lo, 0), np.maximum(hi - mean, 0)], fmt="none", ecolor="k", lw=0.8, capsize=2)
        jitter = (np.random.default_rng(0).random(stc.shape) - 0.5) * 0.3
        alpha = float(np.clip(6 / np.sqrt(max(n, 1)), 0.08, 0.8))
        ax.scatter(stc.ravel(), (y[None, :] + h / 2 + jitter).ravel(), s=6 if n <= 100 else 3, color="0.2", alpha=alpha, lw=0, zorder=4, label=f"ST of one {nouns.unit}")
        ax.axvline(0, color="0.5", lw=0.6)
        right = max(np.nanmax(stc) if stc.size else 0, np.nanmax(meant), np.nanmax(mean1), *(np.nanmax(v[1]) for v in ci.values())) if m else 1
        ax.set_xlim(right=right * 1.02 + 0.12 * max(right, 0.05))
        for yi, a, b in zip(y, mean1, meant):
            ax.text(1.0, yi, f"S1 {_num(a)}\nST {_num(b)}", transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=7, color="0.25")
        ax.set_yticks(y)
        ax.set_yticklabels(names)
        if rest:
            ax.get_yticklabels()[-1].set_fontstyle("italic")
        ax.set_ylim(m - 0.5, -0.6)
        ax.set_xlabel(f"Sobol' index of each {nouns.unit}'s {quantity} (share of its variance)")
        ax.grid(axis="x", alpha=0.3)
        pct = f"{ix.confidence_level:.0%}"
        sub = f"{len(shown)} of {len(factors)} factors, ranked by mean ST" if rest else f"{len(factors)} factors, ranked by mean ST"
        ax.set_title(
            title
            or f"Sobol' indices of the {quantity} of {nouns.count(n, 'unit')}: {sub}\n"
            f"({pct + ' ' + how + '; ' if how else ''}N = {ix.n}; aggregation {result.spec.aggregation_label})"
        )
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3)
        return _finish(fig, path)


def _robust_limit(values) -> float:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 1.0
    hi = float(np.quantile(v, 0.98))
    if hi <= 0:
        hi = float(v.max())
    return hi if hi > 0 else 1.0


def _cell_values(ax, data, light, *, fontsize: float):
    """Write each finite cell's value (two decimals) at its centre: black on light cells, white on dark ones.

    The values are one collection of glyph outlines (:class:`~matplotlib.textpath.TextPath`, one per distinct
    string, centred on the cell), not one Text artist per cell: a heatmap of 25 units x 8 factors x 3 panels has
    600 values, and matplotlib lays out and rasterises every Text on its own (about 2 ms each), which made this
    one figure take seconds. The outlines are the font's, at the same size.
    """
    from matplotlib.collections import PathCollection
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    prop = FontProperties(size=fontsize)
    shapes, paths, offsets, colours = {}, [], [], []
    for (i, j), v in np.ndenumerate(data):
        if not np.isfinite(v):
            continue
        text = f"{v:.2f}"
        if text not in shapes:
            tp = TextPath((0, 0), text, size=fontsize, prop=prop)
            lo, hi = tp.vertices.min(axis=0), tp.vertices.max(axis=0)  # control points: a cheap, close box
            shapes[text] = tp.transformed(Affine2D().translate(*(-(lo + hi) / 2)))
        paths.append(shapes[text])
        offsets.append((j, i))
        colours.append("k" if light[i, j] else "w")
    if not paths:
        return None
    fig = ax.figure
    while getattr(fig, "figure", fig) is not fig:  # a subfigure: its parent figure holds the dpi
        fig = fig.figure
    values = PathCollection(
        paths,
        offsets=offsets,
        offset_transform=ax.transData,
        facecolors=colours,
        edgecolors="none",
        linewidths=0,
        zorder=3,
    )
    values.set_transform(Affine2D().scale(1 / 72) + fig.dpi_scale_trans)  # outlines in points, at any dpi
    ax.add_collection(values, autolim=False)
    return values


def sobol_heatmap(result, path=None, *, quantities=("index", "rank", "scenario_kept"), title: str | None = None, nouns: Nouns | None = None, top: int = TOP_FACTORS, node_labels=None):
    """Total Sobol' indices, units x factors, one panel per per-unit output.

    Columns: the ``top`` factors by mean ST over the units and the panels, then
    one column "other k" (their sum). Rows: the units sorted by nominal index
    (highest first), labelled up to :data:`MAX_ROWS` units, an unlabelled
    sorted axis beyond. Each panel has its own colour scale from 0 to the 98th
    percentile of its values (the bar's arrow marks values beyond); cells carry
    their value when they are large enough to read.

    Parameters
    ----------
    result : clustermodel.sensitivity.SobolResult
    path : output PNG path, optional
    quantities : sequence of str
        Per-unit outputs, one panel each (those the result lacks are left out).
    nouns : Nouns, optional
    top : int
    node_labels : mapping node -> label, optional
        Shown instead of a weight factor's node code.
    """
    nouns = _nouns(nouns)
    ix = result.indices
    factors = list(ix.factors)
    mats, qs, units = [], [], []
    for q in quantities:
        units, rows = _sobol_rows(result, q)
        if rows is not None:
            mats.append(np.asarray(ix.ST)[rows])
            qs.append(q)
    if not mats:
        raise ClusterModelError(f"this Sobol' result has none of the per-unit outputs {list(quantities)}")
    score = np.mean([np.nanmean(np.clip(mm, 0, None), axis=0) for mm in mats], axis=0)
    shown, rest = _rank_factors(score, top)
    cols = [[j] for j in shown] + ([rest] if rest else [])
    names = [_factor_label(factors[j], 22, node_labels) for j in shown] + ([f"other {len(rest)} (sum)"] if rest else [])
    order = _unit_order(result, units)
    n, c = len(units), len(cols)
    labelled = n <= MAX_ROWS
    annotate = n <= 30 and c <= 12
    width = len(qs) * (0.42 * c + 1.9) + 1.2
    height = (0.2 * n + 2.6) if labelled else 9.0
    with _style():
        fig = _figure(max(width, 6.0), height)
        axes = fig.subplots(1, len(qs), squeeze=False, sharey=True)[0]
        cells = []
        artefacts = 0
        for ax, q, mm in zip(axes, qs, mats):
            data = np.stack([mm[:, cc].sum(axis=1) for cc in cols], axis=1)[order]
            vmax = _robust_limit(np.clip(data, 0, None))
            extend = "both" if (np.nanmin(data) < 0 and np.nanmax(data) > vmax) else "max" if np.nanmax(data) > vmax else "min" if np.nanmin(data) < 0 else "neither"
            im = ax.imshow(data, norm=PowerNorm(0.5, vmin=0, vmax=vmax), cmap="viridis", aspect="auto", interpolation="nearest")
            # a single factor's ST above 1 is an estimator artefact (the true index is at most 1): outline it
            over = np.argwhere(data[:, : len(shown)] > 1 + 1e-9)
            for i, j in over:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#d62728", linewidth=1.4))
            artefacts += len(over)
            if annotate:
                rgb = im.get_cmap()(im.norm(np.nan_to_num(data)))[..., :3]
                light = rgb @ np.array([0.299, 0.587, 0.114]) > 0.55
                cells.append((ax, data, light))
            ax.set_xticks(range(c))
            ax.set_xticklabels(names, rotation=55, ha="right", rotation_mode="anchor", fontsize=7.5)
            if rest:
                ax.get_xticklabels()[-1].set_fontstyle("italic")
            ax.set_title(f"ST of {q}")
            fig.colorbar(im, ax=ax, shrink=0.6, aspect=30, extend=extend, extendfrac=0.03, pad=0.02, label="ST" if q != qs[-1] else "ST (square-root scale, 0 to the 98th percentile)")
        if labelled:
            axes[0].set_yticks(range(n))
            axes[0].set_yticklabels(_unit_labels([units[i] for i in order], [result.cluster_names.get(units[i]) for i in order], 24), fontsize=7 if n > 30 else 8)
            axes[0].set_ylabel(f"{nouns.unit} (highest nominal index at the top)")
        else:
            _rank_ticks(axes[0], n, "y")
            axes[0].set_ylabel(f"{nouns.units} by nominal index (rank, 1 = highest)")
        sub = f"the {len(shown)} of {len(factors)} factors with the largest mean ST" if rest else f"{len(factors)} factors by mean ST"
        fig.suptitle(_fit(title or f"Total Sobol' indices of {nouns.count(n, 'unit')} × {sub} (N = {ix.n}, aggregation {result.spec.aggregation_label})", fig.get_figwidth(), 11))
        if artefacts:
            fig.supxlabel(f"Red outline: ST > 1 in {artefacts} cell(s), an estimator artefact (a true total index is at most 1).", fontsize=7.5, color="#d62728")
        def annotate(fig):  # the values in the cells, once the layout is fixed (so that they are drawn once, not twice)
            _freeze_layout(fig)
            for ax, data, light in cells:
                _cell_values(ax, data, light, fontsize=6.5)

        return _finish(fig, path, then=annotate if cells else None)


def sobol_convergence(result, path=None, *, outputs=("mean_rank_shift", "correlation", "counts_kept"), title: str | None = None, nouns: Nouns | None = None, top: int = _TOP_LINES, node_labels=None):
    """S1 and ST of the study-level outputs against the base sample size N, with their intervals.

    The ``top`` factors (by largest ST at the largest N over the outputs shown)
    are drawn in colour with their intervals shaded; the others as thin grey
    lines summarised by one legend entry.
    """
    nouns = _nouns(nouns)
    ix = result.indices
    conv = ix.convergence
    if conv is None:
        raise ClusterModelError("this result has no convergence study; run with convergence_levels > 1")
    present = [o for o in outputs if o in ix.outputs]
    if not present:
        present = [o for o in ix.outputs if "[" not in o][:3] or list(ix.outputs[:1])
    ks = [ix.outputs.index(o) for o in present]
    ns = np.asarray(conv["n"])
    st_last = np.asarray(conv["ST"])[-1][ks]  # (outputs, factors)
    shown, rest = _rank_factors(np.nanmax(np.abs(st_last), axis=0), top)
    factors = list(ix.factors)
    colours = {j: _GROUP_COLOURS[k % len(_GROUP_COLOURS)] for k, j in enumerate(shown)}
    with _style():
        fig = _figure(4.2 * len(present) + 0.6, 6.8)
        axes = fig.subplots(2, len(present), sharex=True, squeeze=False)
        for col, (o, k) in enumerate(zip(present, ks)):
            for row, key in enumerate(("S1", "ST")):
                ax = axes[row, col]
                vals = np.asarray(conv[key])[:, k, :]
                for j in rest:
                    ax.plot(ns, vals[:, j], color=_OTHER, lw=0.6, alpha=0.7, zorder=1)
                for j in shown:
                    ax.plot(ns, vals[:, j], marker="o", ms=3, color=colours[j], lw=1.4, zorder=3, label=_factor_label(factors[j], 30, node_labels))
                    ax.fill_between(ns, np.asarray(conv[f"{key}_low"])[:, k, j], np.asarray(conv[f"{key}_high"])[:, k, j], color=colours[j], alpha=0.12, lw=0)
                ax.set_xscale("log", base=2)
                ax.set_xticks(ns, [f"{int(v)}" for v in ns])
                ax.xaxis.set_minor_locator(NullLocator())
                ax.set_title(f"{key} of {_plain(o, 40)}", fontsize=9)
                ax.axhline(0, color="0.5", lw=0.5)
                ax.grid(alpha=0.3)
                if row == 1:
                    ax.set_xlabel("base sample size N")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        if rest:
            handles.append(Line2D([], [], color=_OTHER, lw=1))
            labels.append(f"other {len(rest)} factors")
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4))
        pct = f"{ix.confidence_level:.0%}"
        sub = f"; the {len(shown)} of {len(factors)} factors with the largest ST in colour" if rest else ""
        how = "bootstrap intervals" if ix.method == "bootstrap" else f"intervals from the spread over {ix.replicates} designs"
        fig.suptitle(_fit(title or f"Convergence of the Sobol' indices ({pct} {how} shaded{sub})", fig.get_figwidth(), 11))
        return _finish(fig, path)


# ---------------------------------------------------------------------------------------------------- audit
def coherence_heatmap(result, path=None, *, title: str | None = None, max_nodes: int = 80, node_labels=None):
    """Correlations of every pair of nodes (a :class:`~clustermodel.coherence.CorrelationResult`), lower triangle.

    Nodes are ordered as the structure groups them (each aggregate after its children, the index last); a thin line
    separates the children of one parent from the next. The colour scale is diverging and fixed at [-1, 1], so two
    studies' figures read alike; values are written in the cells when there are at most 16 nodes. With more than
    ``max_nodes`` nodes only the indicators are shown. ``node_labels`` (node -> label) names the nodes that have a
    label.
    """
    nodes, levels, parents = list(result.nodes), list(result.levels), list(result.parents)
    order = _tree_order(nodes, parents, result.root)
    if len(order) > max_nodes:
        order = [k for k in order if levels[k] == 1]
    R = np.asarray(result.r)[np.ix_(order, order)]
    n = len(order)
    mask = np.triu(np.ones((n, n), dtype=bool), k=1)
    shown = np.where(mask, np.nan, R)
    side = min(max(4.5, 0.22 * n + 2.5), _MAX_INCHES)
    with _style():
        fig = _figure(side + 1.0, side)
        ax = fig.add_subplot()
        im = ax.imshow(shown, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        labels = [_factor_label(nodes[k], 18, node_labels) for k in order]
        fs = 8 if n <= 30 else 6.5 if n <= 60 else 5
        ax.set_xticks(range(n))
        ax.set_xticklabels(labels, rotation=90, fontsize=fs)
        ax.set_yticks(range(n))
        ax.set_yticklabels(labels, fontsize=fs)
        for i, k in enumerate(order):  # aggregates in bold, so a reader sees where each group ends
            if levels[k] > 1:
                ax.get_xticklabels()[i].set_fontweight("bold")
                ax.get_yticklabels()[i].set_fontweight("bold")
        for i in range(1, n):
            if parents[order[i]] != parents[order[i - 1]]:
                ax.axhline(i - 0.5, color="0.35", linewidth=0.5)
                ax.axvline(i - 0.5, color="0.35", linewidth=0.5)
        fig.colorbar(im, ax=ax, shrink=0.7, label=f"{result.method} correlation")
        ax.set_title(_fit(title or f"Correlations of {n} nodes ({result.method}, {result.values} indicator values; aggregates in bold)", side, 10))
        def annotate(fig):  # the values, once the layout is fixed
            _freeze_layout(fig)
            for i in range(n):
                for j in range(i + 1):
                    v = shown[i, j]
                    if np.isfinite(v):
                        ax.text(j, i, _num(v, 2), ha="center", va="center", fontsize=6.5, color="white" if abs(v) > 0.6 else "black")

        return _finish(fig, path, then=annotate if n <= 16 else None)


def _tree_order(nodes, parents, root):
    """Positions of the nodes depth-first, each aggregate after its children."""
    kids = {}
    for k, p in enumerate(parents):
        if p is not None:
            kids.setdefault(p, []).append(k)
    out = []

    def walk(k):
        for c in kids.get(nodes[k], []):
            walk(c)
        out.append(k)

    walk(nodes.index(root))
    return out


def distribution_strips(indicators, before, after, path=None, *, title: str | None = None, flagged=(), max_rows: int = 60, node_labels=None):
    """Each indicator's values before and after treatment and normalisation, as strips of points on [0, 1].

    ``before`` and ``after`` are arrays (units, indicators) already on [0, 1] (the caller rescales the raw values by
    their range; NaN = missing). Indicators in ``flagged`` are named in red, by their label where ``node_labels``
    has one. At most ``max_rows`` indicators (the first ones) are drawn.
    """
    indicators = list(indicators)[:max_rows]
    m = len(indicators)
    before = np.asarray(before, dtype=float)[:, :m]
    after = np.asarray(after, dtype=float)[:, :m]
    n = before.shape[0]
    rng = np.random.default_rng(0)  # vertical jitter only: fixed, so the figure's bytes are reproducible
    jitter = (rng.random(n) - 0.5) * 0.5
    height = min(max(3.0, 0.24 * m + 1.6), _MAX_INCHES)
    with _style():
        fig = _figure(9.0, height)
        axes = fig.subplots(1, 2, sharey=True)
        size = 9 if n <= 100 else 3 if n <= 1000 else 1
        for ax, X, head in ((axes[0], before, "raw values, rescaled to their range"), (axes[1], after, "normalised values (imputed, treated; right = better)")):
            ys = np.repeat(np.arange(m)[None, :], n, axis=0) + jitter[:, None]
            ok = np.isfinite(X)
            ax.scatter(X[ok], ys[ok], s=size, color="#1f77b4", alpha=0.6 if n <= 200 else 0.3, linewidths=0)
            ax.set_title(head)
            ax.set_xlim(-0.03, 1.03)
            ax.set_ylim(m - 0.5, -0.5)
        axes[0].set_yticks(range(m))
        axes[0].set_yticklabels([_factor_label(v, 22, node_labels) for v in indicators], fontsize=8 if m <= 30 else 6.5)
        for lab, v in zip(axes[0].get_yticklabels(), indicators):
            if v in set(flagged):
                lab.set_color("#d62728")
        fig.suptitle(_fit(title or f"Distributions of {m} indicators over {n} units (names in red: flagged in the statistics table)", 9.0, 11))
        return _finish(fig, path)


def rank_intervals(ranks, path=None, *, title: str | None = None, nouns: Nouns | None = None):
    """Every unit's nominal rank (dot), median rank (bar) and rank interval (line) of a
    :class:`~clustermodel.uncertainty.RankUncertainty`, sorted by median rank (COINr's ``plot_uncertainty``)."""
    nouns = _nouns(nouns)
    order = np.lexsort((ranks.nominal, ranks.median))
    n = len(order)
    labelled = n <= MAX_ROWS
    with _style():
        fig = _figure(7.5, (0.2 * n + 1.8) if labelled else 8.0)
        ax = fig.add_subplot()
        y = np.arange(n)
        ax.hlines(y, ranks.low[order], ranks.high[order], color="#1f77b4", linewidth=2.2 if labelled else 0.8, alpha=0.8, label=f"{ranks.level:.0%} interval")
        ax.scatter(ranks.median[order], y, marker="|", s=60 if labelled else 10, color="black", label="median rank", zorder=3)
        ax.scatter(ranks.nominal[order], y, s=14 if labelled else 2, color="#d62728", label="nominal rank", zorder=4)
        ax.set_ylim(n - 0.5, -0.5)
        if labelled:
            ax.set_yticks(y)
            names = [ranks.names[k] for k in order] if ranks.names else None
            ax.set_yticklabels(_unit_labels([ranks.units[k] for k in order], names, 24), fontsize=7 if n > 30 else 8)
        else:
            ax.set_yticks([])
            ax.set_ylabel(f"{nouns.units} by median rank")
        ax.set_xlabel("rank (1 = highest)")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=7, frameon=False)
        ax.set_title(_fit(title or f"Rank of every {nouns.unit} over {ranks.n_samples} runs of the standard uncertainty set", 7.5, 10))
        return _finish(fig, path)
