"""Figures. Each function takes a result object and a path and writes one PNG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from clustermodel._io import atomic_path  # noqa: E402

__all__ = ["figure13", "save", "correlation_figure"]

#: Fixed metadata so that the same figure gives the same bytes.
PNG_METADATA = {"Software": None}


def save(fig, path, dpi: int = 130):
    """Save ``fig`` as PNG atomically with deterministic metadata, then close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", metadata=PNG_METADATA, bbox_inches="tight")
    plt.close(fig)
    return path


def figure13(result, path, *, title: str | None = None):
    """Replica of Figure 13: cluster index against the regional index with the four quadrants.

    Parameters
    ----------
    result : ReproductionResult
    path : output PNG path
    """
    rows = result.clusters
    x = np.array([r["computed"] for r in rows])
    reg = {r["region"]: r["computed"] for r in result.regions}
    y = np.array([reg[r["region"]] for r in rows])
    groups = sorted({r["group"] or "" for r in rows})
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(9, 7))
    for k, g in enumerate(groups):
        m = np.array([(r["group"] or "") == g for r in rows])
        ax.scatter(y[m], x[m], s=45, color=cmap(k % 10), label=g or "(no group)", zorder=3, edgecolor="k", linewidth=0.4)
    for r, xi, yi in zip(rows, x, y):
        ax.annotate(str(r["no"]), (yi, xi), xytext=(4, 3), textcoords="offset points", fontsize=8)
    ct, rt = result.threshold_values["cluster"], result.threshold_values["region"]
    ax.axhline(ct, color="grey", ls="--", lw=1)
    ax.axvline(rt, color="grey", ls="--", lw=1)
    xmax = max(y.max(), rt) * 1.08
    ymax = max(x.max(), ct) * 1.1
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, ymax)
    n = result.scenario_counts
    style = dict(fontsize=10, color="0.3", weight="bold", ha="center", va="center")
    ax.text(rt / 2, ct + (ymax - ct) * 0.92, f"Lonely ({n['lonely']})", **style)
    ax.text(rt + (xmax - rt) / 2, ct + (ymax - ct) * 0.92, f"Supported ({n['supported']})", **style)
    ax.text(rt / 2, ct * 0.05, f"Potential ({n['potential']})", **style)
    ax.text(rt + (xmax - rt) / 2, ct * 0.05, f"Late ({n['late']})", **style)
    ax.set_xlabel("Regional foreign economic activity index (Table 6, recomputed)")
    ax.set_ylabel("Cluster internationalization index (Table 5, recomputed)")
    ax.set_title(title or "Internationalization scenarios (replica of Figure 13)")
    ax.legend(fontsize=7, loc="center right", framealpha=0.9)
    ax.grid(alpha=0.3)
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
