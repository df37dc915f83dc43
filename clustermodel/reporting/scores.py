"""Narration of the scores stage: the construction of the index, its nominal scores, whether the weights matter."""

from __future__ import annotations

from clustermodel.reporting._text import fmt, md_escape
from clustermodel.spec import SCENARIOS

__all__ = ["markdown", "findings", "conclusions"]

#: Rows of the units table in the report (the CSV always holds every unit).
TABLE_ROWS = 30


def _spread_text(spreads: dict, n_draws: int) -> str:
    parts = [f"`{k}` {v:.3g}" for k, v in spreads.items()]
    return f"largest change of any score over {n_draws} weight vectors drawn around the nominal weights: " + ", ".join(parts)


def conclusions(data: dict, *, nouns) -> list[str]:
    """The stage's conclusion for the top of the report: do the weights matter?"""
    spreads = data["weight_spread"]["max_abs_spread"]
    n_draws = data["weight_spread"]["n_draws"]
    if "equation1" in spreads and len(spreads) > 1:
        return [
            f"**Under Equation 1 as printed the expert weights cancel**: over {n_draws} weight vectors no {nouns.unit}'s index "
            f"moves (largest change {spreads['equation1']:.1e}); they matter only under a variant of the formula (largest change "
            f"{spreads.get('quadratic', float('nan')):.2f} under the quadratic one), under which the analyses of the weights below are run. [scores](scores.md)"
        ]
    top = max(spreads.values()) if spreads else float("nan")
    return [
        f"**The weights move the scores by up to {top:.3g}** (largest change of any {nouns.unit}'s index over {n_draws} weight "
        "vectors drawn around the nominal weights). [scores](scores.md)"
    ]


def zero_index_text(zeros: list, *, nouns) -> str:
    """The units a geometric or harmonic mean sends to exactly 0, with the indicators at 0 that do it."""
    shown = "; ".join(f"{md_escape(z['id'])} ({', '.join(md_escape(v) for v in z['zero_indicators'][:3])})" for z in zeros[:6])
    more = f" and {len(zeros) - 6} more" if len(zeros) > 6 else ""
    return (
        f"**{len(zeros)} {nouns.unit if len(zeros) == 1 else nouns.units} score exactly 0** (scores stage): a geometric or "
        f"harmonic mean is 0 when one child is 0, and these {nouns.units} are at the bottom of the normalised scale on at "
        f"least one indicator: {shown}{more}. They tie at 0 and share one rank: the data do not order them; "
        "`normalised_range = [1, 100]` in the spec (COINr's usual scale) keeps every unit above 0."
    )


def findings(data: dict, *, nouns) -> list[str]:
    """Key findings of the scores stage (each names its analysis and spec)."""
    spec = data["spec"]
    agg = spec["aggregation"] if isinstance(spec["aggregation"], str) else " / ".join(spec["aggregation"])
    out = []
    spreads = data["weight_spread"]["max_abs_spread"]
    n_draws = data["weight_spread"]["n_draws"]
    if "equation1" in spreads and len(spreads) > 1:
        out.append(
            f"**Do the weights matter?** (scores stage, {n_draws} weight vectors) Under Equation 1 as printed no "
            f"{nouns.unit}'s index moves (largest spread {spreads['equation1']:.1e}): the weights cancel. Under the "
            "quadratic variant the largest spread is "
            f"{spreads.get('quadratic', float('nan')):.3f}, under the arithmetic one {spreads.get('arithmetic', float('nan')):.3f}. "
            "[scores](scores.md)"
        )
    else:
        out.append(
            f"**Nominal index** (scores stage, aggregation `{agg}`, normalisation `{spec['normalisation']}`): "
            f"{len(data['units'])} {nouns.units} scored; {_spread_text(spreads, n_draws)}. [scores](scores.md)"
        )
    log = data["construction"]
    if log["excluded"] or log["imputed"] or log["treated_indicators"]:
        out.append(
            f"**Construction** (scores stage): {len(log['excluded'])} {nouns.units} excluded by the availability screen, "
            f"{len(log['imputed'])} cells imputed ({spec['missing']}), {len(log['treated_indicators'])} indicators treated "
            "for outliers; every cell is listed in [construction.json](construction.json)."
        )
    zeros = data.get("zero_index")
    if zeros:
        out.append(zero_index_text(zeros, nouns=nouns) + " [scores](scores.md)")
    if data.get("scenario_counts"):
        counts = data["scenario_counts"]
        thr = data["thresholds"]
        out.append(
            "**Scenarios under the nominal spec** (scores stage): "
            + ", ".join(f"{counts[k]} {k}" for k in SCENARIOS)
            + f" (thresholds {thr['cluster']:g} and {thr['region']:g} of the attainable maximum). "
            "[scores](scores.md), [figure](scores_scenarios.png)"
        )
    return out


def markdown(data: dict, *, nouns, structure) -> str:
    """The scores stage's section."""
    spec = data["spec"]
    log = data["construction"]
    lines = ["## Construction", "", "Spec (every construction choice, in the order applied):", ""]
    from clustermodel.spec import IndexSpec

    lines += [f"- {md_escape(line)}" for line in IndexSpec.from_dict(spec).describe().splitlines()]
    lines += [
        "",
        f"{len(log['excluded'])} {nouns.units} excluded by the availability screen, {len(log['imputed'])} cells imputed, "
        f"{len(log['missing'])} cells left missing, {len(log['treated_indicators'])} indicators treated for outliers "
        "(every one listed in `construction.json`).",
        "",
    ]
    if log["treated_indicators"]:
        lines += ["| Indicator | Treatment | Points high / low | Skew before → after | Kurtosis before → after |", "|---|---|---:|---|---|"]
        for t in log["treated_indicators"]:
            lines.append(
                f"| {md_escape(t['indicator'])} | {t['method']} | {t['winsorised_high']} / {t['winsorised_low']} | "
                f"{fmt(t['skew_before'], 2)} → {fmt(t['skew_after'], 2)} | {fmt(t['kurtosis_before'], 2)} → {fmt(t['kurtosis_after'], 2)} |"
            )
        lines.append("")
    frame = structure.to_frame()
    lines += [
        "### Structure and effective weights",
        "",
        "Weights are relative within their parent; the effective weight of a node is the product of the "
        "normalised weights on its path to the index (an aggregate's is the sum of its indicators'; it is the share of "
        "the index the node carries where every level is an arithmetic mean).",
        "",
    ]
    labels = dict(zip(structure.nodes, structure.labels)) if structure.labels else {}
    units = dict(zip(structure.nodes, structure.units)) if structure.units else {}
    show_label, show_unit = any(labels.values()), any(units.values())
    lines += [
        "| Node |" + (" Label |" if show_label else "") + (" Unit |" if show_unit else "")
        + " Parent | Level | Weight | Weight in parent | Effective weight | Direction |",
        "|---|" + ("---|" if show_label else "") + ("---|" if show_unit else "") + "---|---:|---:|---:|---:|---:|",
    ]
    order, stack = [], [structure.root]
    while stack:  # depth first from the index, children in table order
        v = stack.pop()
        order.append(v)
        stack.extend(reversed(structure.children(v)))
    for node in order:
        r = frame.loc[node]
        parent = r["parent"] if isinstance(r["parent"], str) else None
        lines.append(
            f"| {md_escape(node)} |"
            + (f" {md_escape(labels.get(node) or '')} |" if show_label else "")
            + (f" {md_escape(units.get(node) or '')} |" if show_unit else "")
            + f" {md_escape(parent) if parent else '—'} | {r['level']} | {fmt(r['weight'], 3)} | "
            f"{fmt(r['weight_in_parent'], 3)} | {fmt(r['effective_weight'], 3)} | {'−1' if r['direction'] < 0 else '+1'} |"
        )
    spreads = data["weight_spread"]
    lines += [
        "",
        "## Nominal scores",
        "",
        f"Largest change of any {nouns.unit}'s index over {spreads['n_draws']} weight vectors drawn around the nominal "
        f"weights (Dirichlet within each parent, concentration {spreads['concentration']:g}):",
        "",
        "| Aggregation | Largest spread |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {v:.3g} |" for k, v in spreads["max_abs_spread"].items()]
    units = sorted(data["units"], key=lambda r: r["rank"])
    nodes = data.get("nodes", [])[:8]
    cols = ["rank", "id", "name", "group", "region", "index"] + [f"node:{v}" for v in nodes]
    if data.get("scenario_counts"):
        cols += ["region_index", "scenario"]
    cols = [c for c in cols if any(r.get(c.split(":")[0] if not c.startswith("node:") else "nodes") is not None for r in units)]
    head = {"id": nouns.unit, "group": nouns.group, "region": nouns.higher, "region_index": f"{nouns.higher} index"}
    shown = units if len(units) <= TABLE_ROWS else units[: TABLE_ROWS - 5] + units[-5:]
    lines += [
        "",
        (f"All {len(units)} {nouns.units}, by rank:" if len(units) <= TABLE_ROWS else f"The top {TABLE_ROWS - 5} and the bottom 5 of {len(units)} {nouns.units} (every one in `scores.csv`):"),
        "",
        "| " + " | ".join(md_escape(head.get(c, c[5:] if c.startswith("node:") else c)) for c in cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for r in shown:
        cells = []
        for c in cols:
            v = r["nodes"].get(c[5:]) if c.startswith("node:") else r.get(c)
            cells.append(fmt(v) if isinstance(v, float) else md_escape(v) if v is not None else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
