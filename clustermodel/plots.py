"""Figures. Each function takes a result object and a path and writes one PNG.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: importing this module or drawing a figure changes no global
matplotlib state (the backend, the current figure, pyplot's figure list), so it
is safe inside a notebook or an application with its own backend.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from clustermodel._io import atomic_path, round_numbers

__all__ = [
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
]

#: Fixed metadata so that the same figure gives the same bytes.
PNG_METADATA = {"Software": None}


def save(fig, path, dpi: int = 130):
    """Save ``fig`` as PNG atomically with deterministic metadata."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", metadata=PNG_METADATA, bbox_inches="tight")
    return path


def _subplots(nrows: int = 1, ncols: int = 1, *, figsize, **kwargs):
    """``pyplot.subplots`` without pyplot: a standalone Figure that no global registry holds."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def scenario_plot(cluster_index, region_index, labels, groups, thresholds, counts, path, *, title, xlabel, ylabel):
    """Cluster index against its region's index, the threshold lines and the four quadrants named.

    Parameters
    ----------
    cluster_index, region_index : array (n,)
    labels : sequence of str, point labels
    groups : sequence of str or None, colours by group
    thresholds : (cluster, region) absolute thresholds
    counts : mapping scenario -> count, printed in each quadrant
    """
    x = np.asarray(cluster_index, dtype=float)
    y = np.asarray(region_index, dtype=float)
    groups = [g or "(no group)" for g in (groups if groups is not None else [None] * len(x))]
    names = sorted(set(groups))
    cmap = matplotlib.colormaps["tab10"]
    fig, ax = _subplots(figsize=(10, 7))
    for k, g in enumerate(names):
        m = np.array([gg == g for gg in groups])
        ax.scatter(y[m], x[m], s=45, color=cmap(k % 10), label=g, zorder=3, edgecolor="k", linewidth=0.4)
    for lab, xi, yi in zip(labels, x, y):
        ax.annotate(str(lab), (yi, xi), xytext=(4, 3), textcoords="offset points", fontsize=8)
    ct, rt = thresholds
    ax.axhline(ct, color="grey", ls="--", lw=1)
    ax.axvline(rt, color="grey", ls="--", lw=1)
    xmax = max(y.max(), rt) * 1.08
    ymax = max(x.max(), ct) * 1.1
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, ymax)
    style = dict(fontsize=10, color="0.3", weight="bold", ha="center", va="center")
    ax.text(rt / 2, ct + (ymax - ct) * 0.93, f"Lonely ({counts['lonely']})", **style)
    ax.text(rt + (xmax - rt) / 2, ct + (ymax - ct) * 0.93, f"Supported ({counts['supported']})", **style)
    ax.text(rt / 2, ct * 0.04, f"Potential ({counts['potential']})", **style)
    ax.text(rt + (xmax - rt) / 2, ct * 0.04, f"Late ({counts['late']})", **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), framealpha=0.9)
    ax.grid(alpha=0.3)
    return save(fig, path)


def figure13(result, path, *, title: str | None = None):
    """Replica of Figure 13 from a :class:`~clustermodel.reproduce.ReproductionResult`."""
    rows = result.clusters
    reg = {r["region"]: r["computed"] for r in result.regions}
    return scenario_plot(
        [r["computed"] for r in rows],
        [reg[r["region"]] for r in rows],
        [r["no"] for r in rows],
        [r["group"] for r in rows],
        (result.threshold_values["cluster"], result.threshold_values["region"]),
        result.scenario_counts,
        path,
        title=title or "Internationalization scenarios (replica of Figure 13)",
        xlabel="Regional foreign economic activity index (Table 6, recomputed)",
        ylabel="Cluster internationalization index (Table 5, recomputed)",
    )



#: Colours of the four scenarios (in the order of ``clustermodel.spec.SCENARIOS``).
SCENARIO_COLOURS = {"supported": "#1b9e77", "lonely": "#7570b3", "potential": "#d95f02", "late": "#e7298a"}


def _cluster_labels(table, order):
    names = table["name"].values if "name" in table.coords else None
    labels = []
    for i in order:
        no = table["cluster"].values[i]
        if names is None:
            labels.append(str(no))
        else:
            name = str(names[i])
            labels.append(f"{no}: {name if len(name) <= 42 else name[:40] + '…'}")
    return labels


def _by_nominal_rank(result):
    """The bootstrap's cluster table, the row order by nominal rank, and a figure tall enough for one row each."""
    t = result.cluster_table()
    order = np.argsort(t["rank_nominal"].values, kind="stable")
    fig, ax = _subplots(figsize=(9, 0.3 * len(order) + 1.8))
    return t, order, np.arange(len(order)), fig, ax


def _cluster_rows(ax, t, order, y):
    ax.set_yticks(y)
    ax.set_yticklabels(_cluster_labels(t, order), fontsize=7)
    ax.invert_yaxis()


def rank_uncertainty(result, path, *, title: str | None = None):
    """Rank-uncertainty plot of a weight bootstrap.

    Clusters sorted by nominal rank (top = rank 1); for each the median rank
    over the panels (dot), the percentile interval (bar) and the nominal rank
    (cross).

    Parameters
    ----------
    result : clustermodel.bootstrap.WeightBootstrapResult
    path : output PNG path
    """
    t, order, y, fig, ax = _by_nominal_rank(result)
    n = len(order)
    med = t["rank_median"].values[order]
    lo = t["rank_low"].values[order]
    hi = t["rank_high"].values[order]
    nom = t["rank_nominal"].values[order]
    lo_p, hi_p = 100 * (1 - result.confidence_level) / 2, 100 * (1 + result.confidence_level) / 2
    ax.hlines(y, lo, hi, color="0.35", lw=3, alpha=0.7, label=f"{lo_p:g}–{hi_p:g} % interval", zorder=2)
    ax.plot(med, y, "o", color="#1f77b4", ms=6, label="median rank", zorder=3)
    ax.plot(nom, y, "x", color="#d62728", ms=8, mew=2, label="nominal rank", zorder=4)
    _cluster_rows(ax, t, order, y)
    ax.set_xlim(0.5, n + 0.5)
    ax.set_xticks(np.arange(1, n + 1, 2 if n > 15 else 1))
    ax.set_xlabel("rank (1 = highest index)")
    ax.set_title(title or f"Rank uncertainty over {result.n_resamples} expert panels\n{result.mode_description}", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    return save(fig, path)


def scenario_stability(result, path, *, title: str | None = None):
    """Scenario-stability chart of a weight bootstrap.

    One horizontal bar per cluster (sorted by nominal rank) stacking the
    probabilities of the four scenarios over the panels; the nominal scenario
    is written at the bar's end.

    Parameters
    ----------
    result : clustermodel.bootstrap.WeightBootstrapResult
    path : output PNG path
    """
    t, order, y, fig, ax = _by_nominal_rank(result)
    n = len(order)
    p = t["scenario_probability"].values[order]
    scen = [str(s) for s in t["scenario"].values]
    left = np.zeros(n)
    for k, s in enumerate(scen):
        ax.barh(y, p[:, k], left=left, color=SCENARIO_COLOURS.get(s, f"C{k}"), label=s, height=0.8, edgecolor="white", linewidth=0.3)
        left += p[:, k]
    nominal = t["scenario_nominal"].values[order]
    for yi, code in zip(y, nominal):
        ax.text(1.01, yi, scen[int(code)], va="center", fontsize=7, color="0.3")
    _cluster_rows(ax, t, order, y)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability over expert panels (nominal scenario at the right)")
    ax.set_title(title or f"Scenario stability over {result.n_resamples} expert panels\n{result.mode_description}", fontsize=9)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.08 - 0.6 / n))
    return save(fig, path)


def correlation_figure(result, path):
    """Cluster index against regional index per value source, with region means and the clustered-OLS line.

    Parameters
    ----------
    result : clustermodel.relationship.RelationshipResult
    path : output PNG path
    """
    sources = list(result.sources)
    fig, axes = _subplots(1, len(sources), figsize=(7.5 * len(sources), 6.2), squeeze=False, sharey=True)
    regions = np.asarray(result.cluster_regions)
    names = np.asarray(result.region_names)
    for ax, s in zip(axes[0], sources):
        d = result.sources[s]
        x = np.asarray(d["region_index_of_cluster"], dtype=float)
        y = np.asarray(d["cluster_index"], dtype=float)
        shared = np.array([np.sum(regions == r) > 1 for r in regions])
        ax.scatter(x[~shared], y[~shared], s=40, color="tab:blue", edgecolor="k", linewidth=0.4, zorder=3, label="cluster (only one in its region)")
        ax.scatter(x[shared], y[shared], s=40, color="tab:orange", edgecolor="k", linewidth=0.4, zorder=3, label="cluster sharing its region")
        rx = np.array([x[regions == r][0] for r in names])
        ry = np.asarray(d["region_mean_cluster_index"], dtype=float)
        ax.scatter(rx, ry, s=110, marker="D", facecolor="none", edgecolor="k", linewidth=1.0, zorder=4, label="region mean (primary analysis)")
        for cid, xi, yi in zip(result.clusters, x, y):
            ax.annotate(str(cid), (xi, yi), xytext=(4, 3), textcoords="offset points", fontsize=7)
        ols = result.ols[s]
        grid = np.linspace(min(0.0, x.min()), x.max() * 1.05, 100)
        # drawn from values at the stated precision, so BLAS rounding noise in the fit cannot move a pixel
        ax.plot(grid, round_numbers(ols.fitted(grid)), color="tab:red", lw=1.5, zorder=2, label="OLS fit (region-clustered SE)")
        ax.axhline(d["cluster_threshold"], color="grey", ls="--", lw=0.8)
        ax.axvline(d["region_threshold"], color="grey", ls="--", lw=0.8)
        p = result.get(result.primary, s)
        lvl = f"{result.confidence_level:.0%}"
        fmt = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
        text = (
            f"region means: r = {p.statistic:.2f}, permutation p = {p.pvalue:.3f}, {lvl} CI [{fmt(p.ci_low)}, {fmt(p.ci_high)}] (n = {p.n})\n"
            f"clustered OLS slope (= cluster-level r) {ols.slope:.2f}, p = {ols.pvalue:.3f}, "
            f"{lvl} CI [{ols.ci_low:.2f}, {ols.ci_high:.2f}] ({ols.n_obs} clusters, {ols.n_groups} regions)"
        )
        ax.text(0.01, 0.99, text, transform=ax.transAxes, va="top", ha="left", fontsize=7, bbox=dict(facecolor="white", alpha=0.85, edgecolor="0.8"))
        ax.set_xlabel(f"Regional foreign economic activity index ({s})")
        ax.set_title(f"{s} values")
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0, top=max(y.max(), d["cluster_threshold"]) * 1.35)
    axes[0][0].set_ylabel("Cluster internationalization index")
    axes[0][0].legend(fontsize=7, loc="lower right", framealpha=0.9)
    fig.suptitle("Cluster index vs regional index: clusters, region means and the clustered-OLS fit")
    return save(fig, path)


def _sobol_cluster_matrix(result, quantity, key):
    ix = result.indices
    clusters = list(result.cluster_names)
    rows = [ix.outputs.index(f"{quantity}[{c}]") for c in clusters]
    return clusters, getattr(ix, key)[rows]


def sobol_bars(result, path, *, quantity: str = "index", title: str | None = None):
    """Per-cluster first-order and total Sobol' indices with their intervals, one panel per cluster.

    Parameters
    ----------
    result : clustermodel.sensitivity.SobolResult
    path : output PNG path
    quantity : {'index', 'rank', 'scenario_kept'}
        Which per-cluster output to show.
    """
    ix = result.indices
    clusters, s1 = _sobol_cluster_matrix(result, quantity, "S1")
    _, s1l = _sobol_cluster_matrix(result, quantity, "S1_low")
    _, s1h = _sobol_cluster_matrix(result, quantity, "S1_high")
    _, st = _sobol_cluster_matrix(result, quantity, "ST")
    _, stl = _sobol_cluster_matrix(result, quantity, "ST_low")
    _, sth = _sobol_cluster_matrix(result, quantity, "ST_high")
    factors = list(ix.factors)
    ncol = 5
    nrow = int(np.ceil(len(clusters) / ncol))
    fig, axes = _subplots(nrow, ncol, figsize=(2.6 * ncol, 2.1 * nrow + 0.8), sharex=True, sharey=True, squeeze=False)
    x = np.arange(len(factors))
    width = 0.38
    for k, c in enumerate(clusters):
        ax = axes[k // ncol, k % ncol]
        ax.bar(x - width / 2, s1[k], width, color="tab:blue", label="S1 (first order)")
        ax.bar(x + width / 2, st[k], width, color="tab:orange", label="ST (total)")
        ax.errorbar(x - width / 2, s1[k], yerr=[np.maximum(s1[k] - s1l[k], 0), np.maximum(s1h[k] - s1[k], 0)], fmt="none", ecolor="k", lw=0.7, capsize=1.5)
        ax.errorbar(x + width / 2, st[k], yerr=[np.maximum(st[k] - stl[k], 0), np.maximum(sth[k] - st[k], 0)], fmt="none", ecolor="k", lw=0.7, capsize=1.5)
        ax.set_title(f"cluster {c}", fontsize=8)
        ax.axhline(0, color="0.5", lw=0.5)
        ax.grid(axis="y", alpha=0.3)
    for k in range(len(clusters), nrow * ncol):
        axes[k // ncol, k % ncol].axis("off")
    short = [f if len(f) <= 12 else f[:11] + "…" for f in factors]
    for ax in axes[-1]:
        ax.set_xticks(x)
        ax.set_xticklabels(short, rotation=60, ha="right", fontsize=7)
    for k in range(len(clusters) - ncol, len(clusters)):
        if k >= 0:
            ax = axes[k // ncol, k % ncol]
            ax.set_xticks(x)
            ax.set_xticklabels(short, rotation=60, ha="right", fontsize=7)
            ax.tick_params(labelbottom=True)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=8)
    pct = f"{ix.confidence_level:.0%}"
    fig.suptitle(
        title or f"Sobol' indices of each cluster's {quantity} ({pct} bootstrap intervals, N = {ix.n}, spec {result.spec.aggregation})",
        fontsize=10,
    )
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.14, top=0.9, wspace=0.12, hspace=0.35)
    return save(fig, path)


def sobol_heatmap(result, path, *, quantities=("index", "rank", "scenario_kept"), title: str | None = None):
    """Total Sobol' indices, clusters x factors, one panel per per-cluster output."""
    ix = result.indices
    quantities = [q for q in quantities if q in result.quantity]  # scenario_kept only with a region table
    factors = list(ix.factors)
    fig, axes = _subplots(1, len(quantities), figsize=(1.0 + 0.75 * len(factors) * len(quantities) + 1.5, 8.5), squeeze=False)
    im = None
    for ax, q in zip(axes[0], quantities):
        clusters, st = _sobol_cluster_matrix(result, q, "ST")
        im = ax.imshow(np.clip(st, 0, 1), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for i in range(st.shape[0]):
            for j in range(st.shape[1]):
                ax.text(j, i, f"{st[i, j]:.2f}", ha="center", va="center", fontsize=6, color="w" if st[i, j] < 0.6 else "k")
        ax.set_xticks(range(len(factors)))
        ax.set_xticklabels(factors, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(clusters)))
        ax.set_yticklabels([str(c) for c in clusters], fontsize=7)
        ax.set_title(f"ST of {q}", fontsize=9)
        ax.set_ylabel("cluster")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.6, label="total index ST (clipped to [0, 1])")
    fig.suptitle(title or f"Total Sobol' indices, clusters × factors (N = {ix.n}, spec {result.spec.aggregation})", fontsize=10)
    return save(fig, path)



def sobol_convergence(result, path, *, outputs=("mean_rank_shift", "correlation", "counts_kept"), title: str | None = None):
    """S1 and ST of the conclusion outputs against the base sample size N, with their intervals."""
    ix = result.indices
    outputs = [o for o in outputs if o in ix.outputs]
    conv = ix.convergence
    if conv is None:
        from clustermodel._errors import ClusterModelError

        raise ClusterModelError("this result has no convergence study; run with convergence_levels > 1")
    ns = np.asarray(conv["n"])
    cmap = matplotlib.colormaps["tab10"]
    fig, axes = _subplots(2, len(outputs), figsize=(4.2 * len(outputs), 6.4), sharex=True, squeeze=False)
    for col, o in enumerate(outputs):
        k = ix.outputs.index(o)
        for row, key in enumerate(("S1", "ST")):
            ax = axes[row, col]
            for j, f in enumerate(ix.factors):
                ax.plot(ns, conv[key][:, k, j], marker="o", ms=3, color=cmap(j % 10), label=f)
                ax.fill_between(ns, conv[f"{key}_low"][:, k, j], conv[f"{key}_high"][:, k, j], color=cmap(j % 10), alpha=0.15)
            ax.set_xscale("log", base=2)
            ax.set_title(f"{key} of {o}", fontsize=9)
            ax.axhline(0, color="0.5", lw=0.5)
            ax.grid(alpha=0.3)
            if row == 1:
                ax.set_xlabel("base sample size N")
    axes[0, 0].legend(fontsize=7)
    pct = f"{ix.confidence_level:.0%}"
    fig.suptitle(title or f"Convergence of the Sobol' indices ({pct} bootstrap intervals shaded)", fontsize=10)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.09, top=0.9, wspace=0.25, hspace=0.3)
    return save(fig, path)


