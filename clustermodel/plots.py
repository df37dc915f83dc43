"""Figures. Each function takes a result object and a path and writes one PNG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from clustermodel._io import atomic_path  # noqa: E402

__all__ = ["figure13", "save"]

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
