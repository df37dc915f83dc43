"""Figures. Each function takes a result object and a path and writes one PNG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from clustermodel._io import atomic_path  # noqa: E402

__all__ = ["figure13", "scenario_plot", "save"]

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
