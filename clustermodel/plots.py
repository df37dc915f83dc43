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
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.1 * nrow + 0.8), sharex=True, sharey=True, squeeze=False)
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
        title or f"Sobol' indices of each cluster's {quantity} ({pct} bootstrap intervals, N = {ix.n}, spec {result.spec.weights})",
        fontsize=10,
    )
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.14, top=0.9, wspace=0.12, hspace=0.35)
    return save(fig, path)


def sobol_heatmap(result, path, *, quantities=("index", "rank", "scenario_kept"), title: str | None = None):
    """Total Sobol' indices, clusters x factors, one panel per per-cluster output."""
    ix = result.indices
    factors = list(ix.factors)
    fig, axes = plt.subplots(1, len(quantities), figsize=(1.0 + 0.75 * len(factors) * len(quantities) + 1.5, 8.5), squeeze=False)
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
    fig.suptitle(title or f"Total Sobol' indices, clusters × factors (N = {ix.n}, spec {result.spec.weights})", fontsize=10)
    return save(fig, path)



def sobol_convergence(result, path, *, outputs=("mean_rank_shift", "correlation", "counts_kept"), title: str | None = None):
    """S1 and ST of the conclusion outputs against the base sample size N, with their intervals."""
    ix = result.indices
    conv = ix.convergence
    if conv is None:
        from clustermodel._errors import ClusterModelError

        raise ClusterModelError("this result has no convergence study; run with convergence_levels > 1")
    ns = np.asarray(conv["n"])
    cmap = plt.get_cmap("tab10")
    fig, axes = plt.subplots(2, len(outputs), figsize=(4.2 * len(outputs), 6.4), sharex=True, squeeze=False)
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


__all__ += ["sobol_bars", "sobol_heatmap", "sobol_convergence"]
