"""Figures. Each function takes a result object and a path and writes one PNG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from clustermodel._io import atomic_path  # noqa: E402

__all__ = ["figure13", "scenario_plot", "save", "correlation_figure"]

#: Fixed metadata so that the same figure gives the same bytes.
PNG_METADATA = {"Software": None}


def save(fig, path, dpi: int = 130):
    """Save ``fig`` as PNG atomically with deterministic metadata, then close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", metadata=PNG_METADATA, bbox_inches="tight")
    plt.close(fig)
    return path


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
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(10, 7))
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


__all__ += ["rank_uncertainty", "scenario_stability", "SCENARIO_COLOURS"]

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
    t = result.cluster_table()
    order = np.argsort(t["rank_nominal"].values, kind="stable")
    n = len(order)
    y = np.arange(n)
    med = t["rank_median"].values[order]
    lo = t["rank_low"].values[order]
    hi = t["rank_high"].values[order]
    nom = t["rank_nominal"].values[order]
    lo_p, hi_p = 100 * (1 - result.confidence_level) / 2, 100 * (1 + result.confidence_level) / 2
    fig, ax = plt.subplots(figsize=(9, 0.3 * n + 1.8))
    ax.hlines(y, lo, hi, color="0.35", lw=3, alpha=0.7, label=f"{lo_p:g}–{hi_p:g} % interval", zorder=2)
    ax.plot(med, y, "o", color="#1f77b4", ms=6, label="median rank", zorder=3)
    ax.plot(nom, y, "x", color="#d62728", ms=8, mew=2, label="nominal rank", zorder=4)
    ax.set_yticks(y)
    ax.set_yticklabels(_cluster_labels(t, order), fontsize=7)
    ax.invert_yaxis()
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
    t = result.cluster_table()
    order = np.argsort(t["rank_nominal"].values, kind="stable")
    n = len(order)
    y = np.arange(n)
    p = t["scenario_probability"].values[order]
    scen = [str(s) for s in t["scenario"].values]
    fig, ax = plt.subplots(figsize=(9, 0.3 * n + 1.8))
    left = np.zeros(n)
    for k, s in enumerate(scen):
        ax.barh(y, p[:, k], left=left, color=SCENARIO_COLOURS.get(s, f"C{k}"), label=s, height=0.8, edgecolor="white", linewidth=0.3)
        left += p[:, k]
    nominal = t["scenario_nominal"].values[order]
    for yi, code in zip(y, nominal):
        ax.text(1.01, yi, scen[int(code)], va="center", fontsize=7, color="0.3")
    ax.set_yticks(y)
    ax.set_yticklabels(_cluster_labels(t, order), fontsize=7)
    ax.invert_yaxis()
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
    fig, axes = plt.subplots(1, len(sources), figsize=(7.5 * len(sources), 6.2), squeeze=False, sharey=True)
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
        ax.plot(grid, ols.fitted(grid), color="tab:red", lw=1.5, zorder=2, label="OLS fit (region-clustered SE)")
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
