"""Narration of the audit stage: the data before the index, statistical coherence, weights against importance,
element removal, variants compared, and every unit's strengths and weaknesses.

Every number comes from the estimators (:mod:`clustermodel.datastats`, :mod:`clustermodel.coherence`,
:mod:`clustermodel.importance`, :mod:`clustermodel.removal`, :mod:`clustermodel.compare`); this module only writes
the sentences and tables, and says what each statistic can and cannot show.
"""

from __future__ import annotations

import numpy as np

from clustermodel.reporting._text import fmt, md_escape

__all__ = ["markdown", "findings", "conclusions"]

#: Rows of a long table in the report (the CSVs hold every row).
TABLE_ROWS = 30


def _table(header, rows) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _more(n_rows, shown, csv) -> list[str]:
    return ["", f"({shown} of {n_rows} rows shown; every row is in [{csv}]({csv}).)"] if n_rows > shown else []


def _flag_counts(b) -> dict:
    return b["coherence"].flags.counts()


def _nodes(k: int) -> str:
    return f"{k} node{'s' if k != 1 else ''}"


def _alpha_text(ok, lo) -> str:
    if len(ok) == 1:
        text = f"Cronbach's alpha {fmt(lo['alpha'], 2)} (`{md_escape(lo['node'])}`)"
    else:
        text = f"Cronbach's alpha from {fmt(lo['alpha'], 2)} (`{md_escape(lo['node'])}`) to {fmt(max(r['alpha'] for r in ok), 2)}"
    if lo["alpha"] < 0:
        text += " (a negative alpha: the children's covariances are negative on balance, so they do not measure one thing)"
    return text


def _alpha_range(b):
    ok = [r for r in b["coherence"].cronbach.records if r["code"] == "ok"]
    return ok


def conclusions(b, *, nouns) -> list[str]:
    """One conclusion for the top of the report: what the audit of the index's statistics says first."""
    rem = b["removal"]
    k = int(np.argmax(rem.mean_abs_shift))
    c = _flag_counts(b)
    imp = b["importance"].largest_gap()
    gap = ""
    if imp is not None:
        gap = (
            f"; the largest gap between weight and importance is `{md_escape(imp['child'])}` in `{md_escape(imp['parent'])}` "
            f"(weight {fmt(imp['weight'], 2)}, share of the correlation ratio {fmt(imp['share_S'], 2)})"
        )
    return [
        f"**Leaving out `{md_escape(rem.elements[k])}` moves the ranks most** (mean |rank shift| "
        f"{fmt(float(rem.mean_abs_shift[k]), 2)} over {nouns.count(len(rem.units))}); the correlation flags: "
        f"{c['collinear']} collinear and {c['negative']} negative sibling pairs, {_nodes(c['weak_with_parent'])} weak with their parent"
        f"{gap}. [audit](audit.md)"
    ]


def findings(b, *, nouns) -> list[str]:
    """The audit's findings in brief (each names the analysis it comes from)."""
    av, st = b["availability"], b["stats_raw"]
    out = []
    flagged = [r["indicator"] for r in st.records if r["flags"]]
    out.append(
        f"**Data** (audit, before imputation): {fmt(float(av.observed.mean()) * 100, 1)} % of the "
        f"{av.observed.size} cells observed; {int(av.screened.sum())} {nouns.units} screened out by the availability rule; "
        f"{len(flagged)} of {len(st.records)} indicators flagged in the statistics table"
        + (f" ({', '.join('`' + md_escape(v) + '`' for v in flagged[:5])}{' …' if len(flagged) > 5 else ''})" if flagged else "")
        + ". [audit](audit.md)"
    )
    ok = _alpha_range(b)
    c = _flag_counts(b)
    if ok:
        lo = min(ok, key=lambda r: r["alpha"])
        out.append(
            f"**Coherence** (audit, {b['coherence'].correlations.method} correlations of {b['coherence'].correlations.values} values): "
            f"{c['collinear']} collinear sibling pairs (|r| > {fmt(b['coherence'].flags.thresholds['collinear'], 2)}), "
            f"{c['negative']} negative ones, {_nodes(c['weak_with_parent'])} with r < {fmt(b['coherence'].flags.thresholds['weak'], 2)} "
            f"with their parent; {_alpha_text(ok, lo)}. [audit](audit.md), [figure](audit_correlation.png)"
        )
    opt = b.get("optimised")
    if opt is not None:
        out.append(
            f"**Weights against importance** (audit, {opt.measure} importance of the children of `{md_escape(opt.node)}`"
            + (f", under aggregation `{md_escape(b['optimise_aggregation'])}` since the study's cancels its weights" if b.get("optimise_aggregation") else "")
            + "): at the "
            f"nominal weights the importance shares miss their target by {fmt(opt.nominal_loss, 4)} (sum of squares); the "
            f"optimised weights reach {fmt(opt.loss, 4)} ({'converged' if opt.success else 'not converged: ' + md_escape(opt.message)}), "
            f"written as a structure file [audit_optimised_structure.csv](audit_optimised_structure.csv). [audit](audit.md)"
        )
    cmp = b.get("comparison")
    if cmp is not None:
        pf = cmp.pairs_frame()
        base = pf[pf["variant_a"] == cmp.variants[0]]
        if len(base):
            worst = base.loc[base["mean_abs_rank_shift"].idxmax()]
            out.append(
                f"**Variants** (audit, {len(cmp.variants) - 1} one-at-a-time changes of the spec): the largest change of the ranking is "
                f"`{md_escape(worst['variant_b'])}` (mean |rank shift| {fmt(worst['mean_abs_rank_shift'], 2)}, Spearman rho "
                f"{fmt(worst['spearman'], 3)} with the nominal ranking)"
                + "".join(f"; under `{md_escape(v)}` {g} of {m} {nouns.units} tie at one rank, so its shift measures ties" for v, g, m in _degenerate_variants(cmp))
                + ". [audit](audit.md)"
            )
    return out


def _data_section(b, nouns) -> list[str]:
    av, st, sn = b["availability"], b["stats_raw"], b["stats_normalised"]
    lines = ["## The data before the index", ""]
    lines += [
        f"Availability is counted before imputation, on every {nouns.unit} of the table (the availability screen "
        f"`min_coverage = {fmt(av.min_coverage, 2)}` excludes {int(av.screened.sum())}). Statistics are of the raw values "
        "(after denomination, before imputation and treatment) of the units kept; skewness and kurtosis are the "
        "bias-adjusted estimators the treatment rule uses (excess kurtosis: 0 for a normal distribution). Flags: "
        + "; ".join(f"`{k}` {md_escape(v.replace('`', ''))}" for k, v in b["stat_flags"].items())
        + f" (thresholds: {', '.join(f'{k} {fmt(v, 2)}' for k, v in st.thresholds.items())}).",
        "",
        "Figure: [each indicator's distribution before and after construction](audit_distributions.png).",
        "",
    ]
    rows = []
    for r in st.records[:TABLE_ROWS * 2]:
        rows.append([
            md_escape(r["indicator"]), str(r["n"]), fmt(r["missing_share"], 2), fmt(r["min"], 3), fmt(r["max"], 3), fmt(r["mean"], 3),
            fmt(r["sd"], 3), fmt(r["skew"], 2), fmt(r["kurtosis"], 2), fmt(r["zeros_share"], 2), str(r["n_unique"]), str(r["n_outliers"]),
            md_escape(" ".join(r["flags"])) or "–",
        ])
    lines += _table(["indicator", "n", "missing", "min", "max", "mean", "sd", "skew", "kurtosis", "zeros", "distinct", "outliers (1.5 IQR)", "flags"], rows)
    lines += _more(len(st.records), len(rows), "audit_statistics.csv")
    changed = [(a, b2) for a, b2 in zip(st.records, sn.records) if "skew_kurtosis" in a["flags"]]
    if changed:
        lines += ["", "Skewness before and after imputation, treatment and normalisation, for the indicators the outlier rule flags:", ""]
        lines += _table(["indicator", "skew (raw)", "kurtosis (raw)", "skew (normalised)", "kurtosis (normalised)"], [
            [md_escape(a["indicator"]), fmt(a["skew"], 2), fmt(a["kurtosis"], 2), fmt(b2["skew"], 2), fmt(b2["kurtosis"], 2)] for a, b2 in changed
        ])
    order = np.argsort(av.unit_share, kind="stable")[:10]
    low = [k for k in order if av.unit_share[k] < 1]
    lines += [""]
    if low:
        lines += [f"The {nouns.units} with the fewest indicators observed (every {nouns.unit} in [audit_availability.csv](audit_availability.csv)):", ""]
        lines += _table([nouns.unit, "observed", "share", "screened out"], [
            [md_escape(av.units[k]), str(int(av.observed[k].sum())), fmt(float(av.unit_share[k]), 2), "yes" if av.screened[k] else "no"] for k in low
        ])
    else:
        lines += [f"Every {nouns.unit} is observed on every indicator."]
    return lines + [""]


def _coherence_section(b, nouns) -> list[str]:
    co = b["coherence"]
    corr = co.correlations
    lines = ["## Statistical coherence", ""]
    lines += [
        f"{'Pearson' if corr.method == 'pearson' else 'Spearman'} correlations across {nouns.count(co.n_units)}, each pair over the "
        f"{nouns.units} observing both, of the indicators' {corr.values} values and the aggregates' scores. A correlation "
        "shows a monotone (Spearman) or linear (Pearson) association over this sample; with few units it is imprecise "
        f"(with {co.n_units} units a correlation must exceed about {fmt(_critical_r(co.n_units), 2)} in size to differ from 0 at the 5 % level). "
        "An indicator correlates with its own parent partly because it is part of it.",
        "",
        "Figure: [the correlation matrix](audit_correlation.png).",
        "",
    ]
    wp = corr.with_parent()
    rows = [[md_escape(v), str(int(r.level)), md_escape(r.parent), fmt(r.r_parent, 2), fmt(r.r_index, 2), str(int(r.n))] for v, r in wp.iterrows()]
    lines += _table(["node", "level", "parent", "r with parent", "r with index", "n"], rows[: TABLE_ROWS * 2])
    lines += _more(len(rows), min(len(rows), TABLE_ROWS * 2), "audit_correlations.csv")
    recs = co.flags.records
    lines += [""]
    if recs:
        lines += [f"Flags ({len(recs)}; thresholds: collinear |r| > {fmt(co.flags.thresholds['collinear'], 2)}, negative r < "
                  f"{fmt(co.flags.thresholds['negative'], 2)}, weak r with parent < {fmt(co.flags.thresholds['weak'], 2)}):", ""]
        lines += _table(["flag", "node", "other", "parent", "r", "n"], [
            [md_escape(r["kind"]), md_escape(r["node"]), md_escape(r["other"]), md_escape(r["parent"]), fmt(r["r"], 2), str(r["n"])] for r in recs[:TABLE_ROWS]
        ])
        lines += _more(len(recs), min(len(recs), TABLE_ROWS), "audit_flags.csv")
    else:
        lines += ["No sibling pair is collinear or negatively correlated, and every node correlates with its parent above the weak threshold."]
    lines += [
        "",
        "Cronbach's alpha and the principal components of each aggregate's children, over the units observed on all of "
        "them (complete cases). Alpha grows with the number of children and with their mean correlation; a high alpha "
        "is consistent with one underlying dimension but does not establish it (the first component's share and the "
        "number of eigenvalues above 1 speak to that; Kaiser's rule is a convention, not a test).",
        "",
    ]
    pca = {r["node"]: r for r in co.pca.records}
    rows = []
    for r in co.cronbach.records:
        p = pca[r["node"]]
        rows.append([
            md_escape(r["node"]), str(r["level"]), str(r["k"]), str(r["n_complete"]), fmt(r["alpha"], 2),
            fmt(p["first_share"], 2), str(p["n_above_one"]) if p["code"] == "ok" else "n/a", r["code"].replace("_", " "),
        ])
    lines += _table(["aggregate", "level", "children", "complete units", "Cronbach's alpha", "first component's share", "eigenvalues > 1", "note"], rows)
    return lines + [""]


def _critical_r(n: int) -> float:
    from scipy.stats import t

    if n <= 3:
        return float("nan")
    q = t.ppf(0.975, n - 2)
    return float(q / np.sqrt(n - 2 + q * q))


def _importance_section(b, nouns) -> list[str]:
    imp = b["importance"]
    lines = ["## Weights against importance", ""]
    lines += [
        "For each child of an aggregate: its nominal weight within the parent, its linear importance (r², Pearson) and "
        "its correlation ratio S = V[E(parent | child)] / V(parent), estimated by a penalised cubic spline and adjusted "
        "for the noise a smoother fits (as adjusted R² is), with a bootstrap interval over units "
        f"({imp.n_resamples} resamples, {fmt(imp.confidence_level * 100, 0)} %, the smoothing penalty held fixed). The "
        "interval is too narrow at the sizes of most indices: in a simulation nominal 90 % intervals covered 82 % at "
        "30 and 60 units and 87 % at 200. Shares are each child's part of its siblings' total importance, to be read "
        "against the weights (Paruolo, Saisana & Saltelli 2013): a child whose share is far below its weight counts "
        "less than its weight says.",
        "",
    ]
    rows = [
        [md_escape(r["parent"]), md_escape(r["child"]), fmt(r["weight"], 3), fmt(r["r2"], 3), fmt(r["S"], 3),
         f"[{fmt(r['S_low'], 2)}, {fmt(r['S_high'], 2)}]" if np.isfinite(r["S_low"]) else "n/a", fmt(r["share_r2"], 3), fmt(r["share_S"], 3)]
        for r in imp.records
    ]
    lines += _table(["parent", "child", "weight", "r²", "S", "interval of S", "share (r²)", "share (S)"], rows[: TABLE_ROWS * 2])
    lines += _more(len(rows), min(len(rows), TABLE_ROWS * 2), "audit_importance.csv")
    opt = b.get("optimised")
    if opt is not None:
        lines += [
            "",
            f"**Weights that give the target importance.** The weights of the children of `{md_escape(opt.node)}` were optimised "
            + (f"under aggregation `{md_escape(b['optimise_aggregation'])}` (the study's cancels every weight) " if b.get("optimise_aggregation") else "")
            + f"(L-BFGS-B over log-weights, {opt.n_iterations} steps, {opt.n_evaluations} evaluations, {'converged' if opt.success else 'did not converge: ' + md_escape(opt.message)}) "
            f"so that their {opt.measure} importance shares match the target (the nominal weights unless the config gives one); "
            f"sum of squared differences {fmt(opt.nominal_loss, 4)} at the nominal weights, {fmt(opt.loss, 4)} at the optimum. "
            "A loss that stays well above 0 means no weights can give that importance (children that move together cannot be "
            "told apart). The optimised structure: [audit_optimised_structure.csv](audit_optimised_structure.csv); the other "
            "levels' weights are unchanged.",
            "",
        ]
        lines += _table(["child", "target", "nominal weight", "share at nominal", "optimised weight", "share at optimum"], [
            [md_escape(c), fmt(t, 3), fmt(w0, 3), fmt(s0, 3), fmt(w1, 3), fmt(s1, 3)]
            for c, t, w0, s0, w1, s1 in zip(opt.children, opt.target, opt.nominal_weights, opt.nominal_shares, opt.weights, opt.shares)
        ])
    elif b.get("optimise_skipped"):
        lines += ["", f"Weight optimisation did not run: {md_escape(b['optimise_skipped'])}."]
    return lines + [""]


def _removal_section(b, nouns) -> list[str]:
    rem = b["removal"]
    df = rem.to_dataframe().sort_values("mean_abs_rank_shift", ascending=False, kind="stable")
    lines = ["## Removing elements", ""]
    lines += [
        f"Each node below the index left out in turn (its weight set to 0, its siblings' weights renormalised within the "
        f"parent; an only child takes its parent with it) and every {nouns.unit}'s rank recomputed. The mean |rank shift| "
        f"is over the {nouns.count(len(rem.units))}; exactly tied {nouns.units} share a rank, so a tie that a removal breaks shows as a shift.",
        "",
    ]
    rows = [
        [md_escape(e), str(int(r.level)), fmt(r.mean_abs_rank_shift, 2), str(int(r.max_abs_rank_shift)), md_escape(r.most_moved), f"{int(r.most_moved_change):+d}"]
        for e, r in df.iterrows()
    ]
    lines += _table(["left out", "level", "mean abs rank shift", "largest shift", f"{nouns.unit} moved most", "its change"], rows[: TABLE_ROWS * 2])
    lines += _more(len(rows), min(len(rows), TABLE_ROWS * 2), "audit_removal.csv")
    return lines + [""]


def _degenerate_variants(cmp) -> list[tuple[str, int, int]]:
    """(variant, largest tie, units scored) of the variants where at least a fifth of the units tie at one rank."""
    n = np.isfinite(cmp.rank).sum(axis=1)
    return [(v, int(g), int(m)) for v, g, m in zip(cmp.variants, cmp.largest_tie, n) if m and g >= max(2, 0.2 * m)]


def _tie_note(cmp, nouns) -> list[str]:
    bad = _degenerate_variants(cmp)
    if not bad:
        return []
    said = "; ".join(f"`{md_escape(v)}`: {g} of {m} {nouns.units} tie at one rank" for v, g, m in bad)
    return [
        "",
        f"Tied {nouns.units} share the best rank of their group (\"1224\"). Where many tie, a variant's rank shift and rho "
        f"measure the ties more than a reordering: {said} (under a geometric or harmonic mean, typically {nouns.units} "
        "that score exactly 0 because one indicator is at the bottom of its scale).",
    ]


def _variants_section(b, nouns) -> list[str]:
    cmp = b.get("comparison")
    lines = ["## Variants compared", ""]
    if cmp is None:
        return lines + [f"No variant could be computed on this study: {md_escape(b.get('comparison_skipped', ''))}.", ""]
    lines += [
        f"The index under each variant of the spec, against the nominal one (`{md_escape(cmp.variants[0])}`): Spearman's rho of the "
        "two sets of scores and the mean |rank shift|, over the units both score. "
        + ("Variants that could not be computed on this study: " + "; ".join(f"`{md_escape(k)}` ({md_escape(v)})" for k, v in b["variants_dropped"].items()) + ". " if b.get("variants_dropped") else ""),
        "",
    ]
    pf = cmp.pairs_frame()
    base = pf[pf["variant_a"] == cmp.variants[0]]
    tied = dict(zip(cmp.variants, cmp.tied_units))
    lines += _table(["variant", "Spearman rho", "mean abs rank shift", f"tied {nouns.units}"], [
        [md_escape(r.variant_b), fmt(r.spearman, 3), fmt(r.mean_abs_rank_shift, 2), str(int(tied[r.variant_b]))] for r in base.itertuples()
    ])
    lines += _tie_note(cmp, nouns)
    shift = np.nanmax(np.abs(cmp.rank_change[1:]), axis=0) if len(cmp.variants) > 1 else np.zeros(len(cmp.units))
    order = np.argsort(-shift, kind="stable")[:10]
    lines += ["", f"The {nouns.units} whose rank moves most across the variants (every {nouns.unit} in [audit_variants.csv](audit_variants.csv)):", ""]
    head = [nouns.unit, f"rank ({md_escape(cmp.variants[0])})"] + [md_escape(v) for v in cmp.variants[1:]]
    rows = []
    for k in order:
        rows.append([md_escape(cmp.units[k]), fmt(cmp.rank[0, k], 0)] + [fmt(cmp.rank[v, k], 0) for v in range(1, len(cmp.variants))])
    lines += _table(head, rows)
    return lines + [""]


def _profile_section(b, nouns) -> list[str]:
    prof, out = b["profile"], b["outranking"]
    lines = ["## Strengths and weaknesses", ""]
    lines += [
        f"Each {nouns.unit}'s best and worst indicators by its rank among the {nouns.units} observing them (normalised values, "
        "so rank 1 is the best performer whatever the indicator's direction). The Copeland score counts the other "
        f"{nouns.units} it beats on a weighted majority of the indicators minus those that beat it (the non-compensatory view: "
        "a large lead on one indicator cannot make up for many small deficits).",
        "",
    ]
    nominal = b["nominal_rank"]
    order = np.argsort(nominal, kind="stable")[:TABLE_ROWS]
    cope = dict(zip(out.units, out.copeland))
    rows = [
        [md_escape(prof.units[k]), str(int(nominal[k])), fmt(cope.get(prof.units[k]), 0), ", ".join(md_escape(v) for v in prof.strengths[k]), ", ".join(md_escape(v) for v in prof.weaknesses[k])]
        for k in order
    ]
    lines += _table([nouns.unit, "rank", "Copeland score", "strengths", "weaknesses"], rows)
    lines += _more(len(prof.units), len(rows), "audit_profiles.csv")
    return lines + [""]


def markdown(b, *, nouns) -> str:
    """audit.md: every table of the audit, with what each statistic can and cannot show."""
    lines = [
        "# Audit of the index's statistics",
        "",
        f"Spec: {md_escape(b['spec_text'])}. Every table below is also a CSV beside this file.",
        "",
    ]
    for part in (_data_section, _coherence_section, _importance_section, _removal_section, _variants_section, _profile_section):
        lines += part(b, nouns)
    return "\n".join(lines).rstrip() + "\n"
