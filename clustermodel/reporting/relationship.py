"""Narration of the relationship stage (:mod:`clustermodel.relationship`).

:func:`markdown` writes the stage's section of the report and :func:`findings`
its key findings. The section leads with what the primary interval and the
equivalence test say, then names the most influential higher-level unit and r
without it; every finding names the analysis (test identifier) and the spec
or values it comes from. Words come from :class:`~clustermodel.nouns.Nouns`;
names of places, groups and indicators appear only because the study's data
contains them.
"""

from __future__ import annotations

import math

from clustermodel._display import cap
from clustermodel.nouns import Nouns
from clustermodel.reporting._text import figure as _f, md_escape, spec_text
from clustermodel.spec import SCENARIOS

__all__ = ["markdown", "findings", "conclusions", "conclusion_text", "describe_test"]


# --------------------------------------------------------------------------- small helpers
def _p(v) -> str:
    if v is None:
        return "—"
    return "< 0.0001" if v < 1e-4 else f"{v:.4f}" if v < 0.001 else f"{v:.3f}"


def _ci(lo, hi, d: int = 2) -> str:
    return f"[{_f(lo, d)}, {_f(hi, d)}]"


def _fz(ci) -> str:
    """' (95% Fisher-z interval [a, b])', or nothing when it is undefined."""
    return "" if ci is None or ci[0] is None or ci[1] is None else f" (95% Fisher-z interval {_ci(*ci)})"


def _level(nouns: Nouns, level: str | None, plural: bool = False) -> str:
    if level == "cluster":
        return nouns.units if plural else nouns.unit
    if level == "region":
        return nouns.highers if plural else nouns.higher
    return level or ""


def _spec_text(result, source: str, **override) -> str:
    """Which values and spec a number comes from: the spec's fields that differ from the defaults."""
    if source == "published":
        return "published values as printed"
    return "computed values, spec " + spec_text(result.spec.replace(**override) if override else result.spec)


def _parts(method: str) -> dict:
    out = {}
    for item in (method or "").split(";"):
        if "=" in item:
            k, v = item.split("=", 1)
            out[k] = v
    return out


def describe_test(test: str, method: str, nouns: Nouns) -> str:
    """One sentence on what a test row is, in the study's nouns."""
    u, us, h, hs, g, gs = nouns.unit, nouns.units, nouns.higher, nouns.highers, nouns.group, nouns.groups
    stat, _, design = test.partition(":")
    parts = _parts(method)
    p = parts.get("p", "")
    perm = "exact permutation test" if ":exact" in p else f"permutation test ({p.rsplit(':', 1)[-1]} random permutations)"
    names = {"pearson": "Pearson's r", "spearman": "Spearman's rho", "kendall": "Kendall's tau-b"}
    if design == "region_mean":
        if stat == "tost":
            return (
                f"equivalence test (two one-sided tests on Fisher's z) of |rho| < {parts.get('p', '').split('bound=')[-1]} "
                f"for the mean {u} index of each {h} against its {h} index; the interval is the {parts.get('ci', '').split(':')[-1]} Fisher-z interval"
            )
        return (
            f"{names.get(stat, stat)} of the mean {u} index of each {h} with its {h} index (one independent pair per {h}); "
            f"{perm} of the {h} values among {hs}, two-sided; BCa interval from resampling {hs}"
        )
    if design == "region_block":
        return (
            f"{names.get(stat, stat)} over all {us}; {perm.replace('permutation test', 'block permutation test')} of the {h} values among "
            f"{hs} (the {us} of a {h} move together); BCa interval from a bootstrap of whole {hs}"
        )
    if design == "cluster" and stat in names:
        return f"naive: {names[stat]} with every {u} an independent pair ({perm} of pairings; BCa over {us}); too optimistic when {us} share a {h}"
    if test == "ols:wild_cluster":
        w = p.split(":")
        how = "every Rademacher sign vector" if "enumerated" in w else f"{w[-1]} draws of {w[2] if len(w) > 2 else ''} weights"
        return (
            f"OLS of the z-scored {u} index on the z-scored {h} index (slope = {u}-level r); restricted wild cluster bootstrap by {h} "
            f"({how}), interval by test inversion; `p_ref` is the CR1 t test with G - 1 df"
        )
    if test == "mixedlm:random_intercept":
        return f"linear mixed model with a random intercept per {h} (REML), z-scored variables; Wald z test and interval"
    if test == "wls:region_mean_weighted":
        return f"weighted least squares of the mean z-scored {u} index of each {h} on its z-scored index, weights = {us} per {h}; t test with G - 2 df"
    if stat == "fisher":
        lvl = us if design == "cluster" else hs
        return f"2x2 table of high/low {u} index x high/low {h} index over {lvl}, Fisher's exact test (two-sided); odds ratio with its exact conditional interval"
    if stat in ("kruskal", "anova"):
        what = "Kruskal-Wallis H (effect eta2_H)" if stat == "kruskal" else "one-way ANOVA F (effect eta2 with its noncentral-F interval)"
        ref = parts.get("reference")
        refs = f"; index normalised within {gs}" if ref == "group" else "; index normalised over the whole sample" if ref == "sample" else ""
        return f"{what} of the {u} index by {g}; permutation test of the {g} labels (upper tail){refs}"
    if stat == "power":
        return "smallest |r| detected with 80 % power at two-sided alpha = 0.05 (Fisher z): a planning number"
    return method


def conclusion_text(code: str, bound: float, nouns: Nouns, *, interval: bool = True) -> str:
    """The conclusion code in words; ``interval=False`` when the primary interval is undefined (read off the p-value)."""
    if not interval:
        return {
            "association": f"the primary interval is undefined with this few {nouns.highers}; the permutation test rejects no association",
            "equivalence": f"the primary interval is undefined; the equivalence test rejects |r| >= {bound:.2f}",
            "association_within_bound": "the primary interval is undefined; the permutation test rejects no association and the equivalence test a strong one",
            "inconclusive": (
                f"the primary interval is undefined with this few {nouns.highers}; the permutation test finds no evidence of an "
                "association and the equivalence test no evidence that it is absent"
            ),
        }.get(code, code)
    return {
        "association": "the interval excludes 0: evidence of an association",
        "equivalence": f"the equivalence test rejects |r| >= {bound:.2f}: evidence that any association is weaker than that",
        "association_within_bound": f"the interval excludes 0, and the equivalence test rejects |r| >= {bound:.2f}: an association, but a weak one",
        "inconclusive": (
            f"the interval contains 0 and reaches beyond |r| = {bound:.2f}: no evidence of an association, and no evidence that it is absent"
        ),
    }.get(code, code)


# --------------------------------------------------------------------------- sections
def _lead(result, nouns: Nouns) -> list[str]:
    cl = f"{result.confidence_level:.0%}"
    lines = []
    for s in result.sources:
        p = result.get(result.primary, s)
        eq = result.equivalence.get(s)
        text = (
            f"- **{s} values** (analysis `{p.test}`, {_spec_text(result, s)}): r = {_f(p.statistic)} over "
            f"{nouns.count(p.n, 'higher')}, {cl} BCa interval {_ci(p.ci_low, p.ci_high)}"
            + (f" ({p.note})" if p.ci_low is None else _mc_text(p))
            + f", permutation p = {_p(p.pvalue)}."
        )
        if eq is not None:
            text += " " + _equivalence_text(eq, nouns)
        defined = p.ci_low is not None and p.ci_high is not None
        text += f" **Conclusion: {result.conclusions.get(s, '—')}** — {conclusion_text(result.conclusions.get(s, ''), result.equivalence_bound, nouns, interval=defined)}."
        lines.append(text)
        frag = _fragility_text(result, s, nouns)
        if frag:
            lines.append("  " + frag)
    neg = _negative_beside(result, nouns)
    if neg:
        lines.append("- " + neg)
    return lines


def _mc_text(t) -> str:
    """' (Monte Carlo error of the end points ±a, ±b)' when known."""
    if t.ci_low_mcse is None or t.ci_high_mcse is None:
        return ""
    return f" (Monte Carlo error of its end points ±{_f(t.ci_low_mcse, 3)} and ±{_f(t.ci_high_mcse, 3)})"


def _equivalence_text(eq, nouns: Nouns) -> str:
    """What the equivalence test can say in this design: first whether it could succeed at all."""
    if eq.attainable_bound >= eq.bound:
        return (
            f"An equivalence test of |r| < {eq.bound:.2f} cannot succeed here: with {nouns.count(eq.n, 'higher')} no sample, "
            f"however close to r = 0, could establish a bound below |r| < {eq.attainable_bound:.2f} (TOST at alpha = {eq.alpha:g} per side), "
            "so its p-value is not a finding; read the interval instead."
        )
    return (
        f"Equivalence (`tost:region_mean`, bound |r| < {eq.bound:.2f}, two one-sided tests at alpha = {eq.alpha:g} each): "
        f"p = {_p(eq.pvalue)}, " + ("equivalent" if eq.equivalent else "not equivalent")
        + f"; the smallest bound these data would declare equivalent is |r| < {eq.min_bound:.2f}."
    )


def _fragility_text(result, s: str, nouns: Nouns) -> str:
    """How far the primary result rests on one higher-level unit, and whether its interval covers."""
    f, inf = result.fragility.get(s), result.influence.get(s)
    if f is None or inf is None:
        return ""
    h, u, us = nouns.higher, nouns.unit, nouns.units
    k = inf.most_influential_index
    w, sp = f.without_most, f.split
    G = len(inf.names)
    ranks = [result.get(t, s) for t in ("spearman:region_mean", "kendall:region_mean") if any(x.test == t and x.source == s for x in result.tests)]
    flip = (inf.r_units > 0) != (inf.r_units_without[k] > 0)
    head = {"sign": f"Its sign rests on one {h}.", "most": f"Most of it comes from one {h}."}.get(_dependence(inf), f"Its most influential {h}.")
    text = (
        f"**{head}** {inf.most_influential} has leverage {_f(inf.leverage[k], 2)} (the mean is {_f(2 / G, 2)}) and Cook's distance "
        f"{_f(inf.cooks_distance[k], 2)}; without it r = {_f(w.statistic)}, {result.confidence_level:.0%} BCa interval {_ci(w.ci_low, w.ci_high)}, "
        f"permutation p = {_p(w.pvalue)} ({nouns.count(w.n, 'higher')}). The {u}-level r is {_f(inf.r_units)} with its {us} and "
        f"{_f(inf.r_units_without[k])} without them" + (" (the sign changes)" if flip else "") + "."
    )
    if ranks:
        text += " Rank correlations of the same pairs: " + ", ".join(
            f"{'Spearman' if t.test.startswith('spearman') else 'Kendall'} {_f(t.statistic)} (p = {_p(t.pvalue)})" for t in ranks
        ) + "."
    text += (
        f" {sp.share_without:.0%} of the bootstrap resamples lack {inf.most_influential} (the expected share is (1 - 1/{G})^{G}); their median r is "
        f"{_f(sp.median_without, 2)} against {_f(sp.median_with, 2)} in those that contain it, so the bootstrap distribution the interval is read "
        "from is a mixture of the two."
    )
    c = f.coverage
    if c is not None:
        text += (
            f" Drawing {c.n_outer} samples of {G} from the observed pairs (true r = {_f(c.truth)}), the {c.nominal:.0%} BCa interval covered in "
            f"{c.coverage:.1%} ± {c.mc_se:.1%} of them ({c.below:.1%} wholly below, {c.above:.1%} wholly above): in this design it holds its "
            "level when the observed pairs are the population, which says nothing of populations unlike them."
        )
    return text


def _without_interval(result, s: str) -> str:
    """The interval of r without the most influential unit: the primary BCa when computed, else Fisher's z."""
    f = result.fragility.get(s)
    if f is not None and f.without_most.ci_low is not None:
        return f" ({result.confidence_level:.0%} BCa interval {_ci(f.without_most.ci_low, f.without_most.ci_high)})"
    return _fz(result.influence[s].ci_without_most)


def _dependence(inf) -> str:
    """'sign' when leaving the most influential unit out flips the sign of r, 'most' when it removes over half of r, else ''."""
    r, w = inf.r, inf.r_without_most
    if r == 0 or not math.isfinite(w):
        return ""
    if (r > 0) != (w > 0):
        return "sign"
    return "most" if abs(r - w) > abs(r) / 2 else ""


def _negative_beside(result, nouns: Nouns) -> str:
    sens = result.sensitivity
    if sens is None or not sens.negative_indicators:
        return ""
    a, b = sens.policies
    ca, cb = sens.correlations[a], sens.correlations[b]
    return (
        f"**Under `negative={b}`** (negative {nouns.higher} values counted as zero instead of squared, which raises an index; see the section on "
        f"negative values): r = {_f(cb['region_pearson'])}, permutation p = {_p(cb['region_pearson_p'])}, against r = {_f(ca['region_pearson'])} "
        f"under `negative={a}`."
    )


def _why_primary(nouns: Nouns) -> str:
    u, us, h, hs = nouns.unit, nouns.units, nouns.higher, nouns.highers
    return (
        f"The {h} index takes one value per {h}, and the {us} of one {h} share it, so they are not independent "
        f"observations of it. The primary analysis is therefore the Pearson correlation of the {h} index with the mean "
        f"{u} index of each {h} (one independent pair per {h}), with a permutation p-value ({h} values permuted among "
        f"{hs}; no normality assumed) and a BCa interval from resampling {hs}; Pearson because the claim under test is a "
        "linear reading of a scatter plot. Conclusions are read off its interval; every other design below is a sensitivity "
        f"analysis of the same hypothesis (not adjusted, not confirmatory), and the naive {u}-level tests are shown only for "
        f"comparison. {CHOICE_HISTORY}"
    )


#: What the history of the code establishes about when the primary tests and the bound were chosen.
CHOICE_HISTORY = (
    "None of these choices was pre-registered: clustermodel chose the primary relationship test when it wrote the analysis, "
    "before its first report; it chose the primary group test (`kruskal:reference=sample`) and the equivalence bound 0.3 "
    "after the paper's data had first been analysed and the results published. Every alternative is shown below."
)


def _influence_section(result, nouns: Nouns, top: int = 10) -> list[str]:
    if not result.influence:
        return []
    h, hs, us = nouns.higher, nouns.highers, nouns.units
    lines = ["", f"### Influence of single {hs}", ""]
    for s, inf in result.influence.items():
        k = inf.most_influential_index
        lo, hi = inf.r_range
        ulo, uhi = inf.r_units_range
        lines.append(
            f"- {s} values (`{result.primary}`, {_spec_text(result, s)}): the most influential {h} is **{inf.most_influential}** "
            f"({nouns.count(int(inf.n_units[k]), 'unit')}, leverage {_f(inf.leverage[k], 2)}, Cook's distance {_f(inf.cooks_distance[k], 2)}); without it r = "
            f"{_f(inf.r_without_most)}{_without_interval(result, s)}, against {_f(inf.r)} with it. "
            f"Leaving one {h} out, r ranges over [{_f(lo)}, {_f(hi)}]; the {nouns.unit}-level r (each {h}'s {us} removed together) over "
            f"[{_f(ulo)}, {_f(uhi)}]."
        )
    s = next(iter(result.influence))
    df = result.influence[s].to_dataframe()
    df["delta"] = (df["r_without"] - result.influence[s].r).abs()
    df = df.sort_values("delta", ascending=False)
    shown = df.head(top)
    lines += [
        "",
        f"{s} values, the {min(top, len(df))} {hs} whose removal moves r most"
        + (f" (of {len(df)})" if len(df) > top else "")
        + ". DFBETAS and Cook's distance from statsmodels `OLSInfluence` of the standardised "
        + f"{h}-level regression (slope = r); the last two columns delete a {h}'s {us} from the {nouns.unit}-level regression.",
        "",
        f"| {cap(h)} | {cap(us)} | r without | change | leverage | DFBETAS | Cook's D | {nouns.unit}-level r without | group Cook's D |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    r0 = result.influence[s].r
    for name, row in shown.iterrows():
        lines.append(
            f"| {md_escape(name)} | {int(row['n_units'])} | {_f(row['r_without'])} | {_f(row['r_without'] - r0)} | {_f(row['leverage'], 2)} | {_f(row['dfbetas'], 2)} | "
            f"{_f(row['cooks_distance'], 2)} | {_f(row['r_units_without'])} | {_f(row['cooks_distance_units'], 2)} |"
        )
    return lines


def _wild_mc_text(result, s: str) -> str:
    """' (Monte Carlo error over 10 reruns: p ±a, end points ±b and ±c)' when it was measured."""
    m = result.mc_error.get(s) or {}
    if not m.get("replicates") or any(m.get(k) is None for k in ("pvalue", "ci_low", "ci_high")):
        return ""
    return (
        f" (Monte Carlo error, the standard deviation over {m['replicates']} runs with independent seeds: p ±{_f(m['pvalue'], 3)}, "
        f"end points ±{_f(m['ci_low'], 3)} and ±{_f(m['ci_high'], 3)})"
    )


def _regression_section(result, nouns: Nouns) -> list[str]:
    h, u = nouns.higher, nouns.unit
    cl = f"{result.confidence_level:.0%}"
    lines = ["", f"### Regression with inference by {h}", ""]
    for s, o in result.ols.items():
        w = o.wild
        how = f"Rademacher weights, all {w.n_resamples} sign vectors (exact)" if w.enumerated else f"{cap(w.weights)} weights, {w.n_resamples} draws"
        lines.append(
            f"- {s} values (`ols:wild_cluster`, {_spec_text(result, s)}): slope (= {u}-level r) {_f(o.slope)}; restricted wild cluster "
            f"bootstrap p = {_p(o.pvalue)} ({how}), {cl} interval {_ci(o.ci_low, o.ci_high)} by test inversion{_wild_mc_text(result, s)}. The CR1 t test "
            f"(p = {_p(o.pvalue_cr1)}, interval {_ci(o.ci_low_cr1, o.ci_high_cr1)}) is given for reference only: with {nouns.count(o.n_groups, 'higher')} "
            "its size can be far above nominal (see docs/relationship.md)."
        )
        for kind, m in result.models.get(s, {}).items():
            if kind == "random_intercept":
                extra = f"; {h} variance {_f(m.group_variance)}, residual variance {_f(m.residual_variance)}" + (" (at the boundary: no between-" + h + " variance left)" if m.boundary else "")
                extra += "" if m.converged else "; the fit did not converge"
                lines.append(f"- {s} values (`mixedlm:random_intercept`): random intercept per {h}, slope {_f(m.slope)}, Wald p = {_p(m.pvalue)}, {cl} interval {_ci(m.ci_low, m.ci_high)}{extra}.")
            else:
                lines.append(
                    f"- {s} values (`wls:region_mean_weighted`): {h} means weighted by their number of {nouns.units}, slope {_f(m.slope)}, "
                    f"p = {_p(m.pvalue)} (t, {int(m.df)} df), {cl} interval {_ci(m.ci_low, m.ci_high)}."
                )
    return lines


def _rounding_section(result, nouns: Nouns) -> list[str]:
    rr = result.rounding
    if rr is None:
        return []
    u, h = nouns.unit, nouns.higher
    a, b = rr.statistics[result.primary], rr.statistics["pearson:cluster"]
    return [
        "",
        "### Rounding of the published values",
        "",
        f"The published {u} index is printed with {rr.decimals_unit} decimal(s) and the {h} index with {rr.decimals_higher}, so each true "
        f"value lies within +/- {rr.half_width_unit:g} and +/- {rr.half_width_higher:g} of the printed one. Over every pair of index vectors "
        f"consistent with that rounding, the primary r (`{result.primary}`, published values) lies in **[{_f(a['low'])}, {_f(a['high'])}]** "
        f"(printed values: {_f(a['rounded'])}) and the {u}-level r (`pearson:cluster`) in [{_f(b['low'])}, {_f(b['high'])}] "
        f"(printed: {_f(b['rounded'])}).",
        "",
        "Method: bounded optimisation of Pearson's r over the box (L-BFGS-B with the analytic gradient, started from the printed "
        f"values, from the vertex that the linearised r favours and from {rr.n_starts} random points; the best value is kept). "
        f"For the primary r the box is taken on the {h} means. First-order bounds for comparison: [{_f(a['low_linear'])}, {_f(a['high_linear'])}].",
    ]


def _index_sensitivity_section(result, nouns: Nouns, top: int = 20) -> list[str]:
    isens = result.index_sensitivity
    if isens is None:
        return []
    lo, hi = isens.r_range
    lines = [
        "",
        "### Sensitivity of r to the index definition",
        "",
        f"r recomputed under each alternative definition of the index (one change at a time from the analysed spec): the primary r ranges over "
        f"[{_f(lo)}, {_f(hi)}].",
        "",
        f"| Definition | r ({nouns.higher} means) | r ({nouns.unit} level) |",
        "|---|---:|---:|",
    ]
    for lab, a, b in list(zip(isens.labels, isens.r_region_mean, isens.r_cluster))[:top]:
        lines.append(f"| {lab} | {_f(a)} | {_f(b)} |")
    return lines


def _tests_table(result, nouns: Nouns) -> list[str]:
    lines = [
        "",
        "### All tests",
        "",
        "`role`: primary (the test a claim is read off, chosen as described above, not pre-registered; `p_adj` is Holm-adjusted over the primary tests of the study's claims), equivalence, "
        f"sensitivity (other designs of the same hypothesis, unadjusted), naive (every {nouns.unit} independent; comparison only), "
        "planning. `p_ref` is a reference p-value of the same statistic (textbook parametric; CR1 for the regression). "
        "`effect` is r² for correlations, eta² for the group tests.",
        "",
        "| Source | Test | Role | Statistic | p | p_adj | p_ref | CI | Effect | n | Level |",
        "|---|---|---|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for t in result.tests:
        name = f"**`{t.test}`**" if t.primary else f"`{t.test}`"
        eff = "—" if t.effect is None else f"{t.effect_name} {_f(t.effect, 3)}" + ("" if t.effect_low is None else f" {_ci(t.effect_low, t.effect_high)}")
        lines.append(
            f"| {t.source or ''} | {name} | {t.role} | {_f(t.statistic)} | {_p(t.pvalue)} | {_p(t.p_adjusted)} | {_p(t.pvalue_parametric)} | "
            f"{_ci(t.ci_low, t.ci_high) if t.ci_low is not None or t.ci_high is not None else '—'} | {eff} | {t.n} | {_level(nouns, t.unit)} |"
        )
    lines += ["", "### Methods", ""]
    seen = set()
    for t in result.tests:
        if t.test in seen:
            continue
        seen.add(t.test)
        lines.append(f"- `{t.test}`: {describe_test(t.test, t.method, nouns)}." + (f" ({t.note})" if t.note else ""))
    return lines


def _scenario_section(result, nouns: Nouns) -> list[str]:
    if not any(result.scenario_tables.values()):
        return []
    lines = ["", "### Scenario tables (Fisher's exact test)", ""]
    for s, d in result.scenario_tables.items():
        for lvl, tab in d.items():
            c = tab.counts
            lines.append(
                f"- {s} values, {_level(nouns, lvl)} level (n = {tab.n}): "
                + ", ".join(f"{k} {c[k]}" for k in SCENARIOS)
                + f"; odds ratio {_f(tab.odds_ratio, 3)}, Fisher p = {_p(tab.pvalue)}"
                + (f" ({tab.note})" if tab.note else "")
            )
    lines += ["", f"At {nouns.higher} level a {nouns.higher} counts as 'high' on the {nouns.unit} side when the mean index of its {nouns.units} reaches the {nouns.unit} threshold."]
    return lines


def _negative_section(result, nouns: Nouns, top: int = 30) -> list[str]:
    sens = result.sensitivity
    if sens is None:
        return []
    a, b = sens.policies
    u, us, h = nouns.unit, nouns.units, nouns.higher
    if not sens.negative_indicators:
        return ["", f"### Negative values in the {h} index", "", f"No {h} indicator has a negative value, so the treatment of negative values (`negative={a}` or `{b}`) does not matter."]
    which = f" ({', '.join(f'`{i}`' for i in sens.negative_indicators)})" if sens.negative_indicators else ""
    lines = [
        "",
        f"### Sensitivity to the treatment of negative values in the {h} index (`negative={a}` vs `negative={b}`)",
        "",
        f"Negative values{which} are either kept with their sign (`{a}`: the Euclidean aggregators square them, so they raise the index) or counted as zero (`{b}`).",
        "",
        f"| Quantity | `{a}` | `{b}` |",
        "|---|---:|---:|",
    ]
    ca, cb = sens.correlations[a], sens.correlations[b]
    for key, label in [
        ("pearson", f"Pearson r ({us})"),
        ("spearman", f"Spearman rho ({us})"),
        ("kendall", f"Kendall tau-b ({us})"),
        ("region_pearson", f"Pearson r ({h} means)"),
        ("region_pearson_p", f"permutation p ({h} means)"),
        ("block_pearson_p", f"{h}-block permutation p"),
    ]:
        lines.append(f"| {label} | {_f(ca[key])} | {_f(cb[key])} |")
    for s in SCENARIOS:
        lines.append(f"| {s} {us} | {sens.scenario_counts[a][s]} | {sens.scenario_counts[b][s]} |")
    lines += [
        "",
        "The p-values here come from their own permutation streams, so for the analysed policy they differ from the table of all "
        "tests by Monte Carlo error only.",
        "",
    ]
    changed = [r for r in sens.clusters if r["scenario_changed"]]
    rows = sens.clusters if len(sens.clusters) <= top else changed[:top]
    lines += [
        f"{nouns.count(len(sens.clusters), 'unit')} in {nouns.highers} whose index changes ({h} threshold {sens.region_threshold:.3g}), "
        f"{len(changed)} of them changing scenario"
        + ("" if rows is sens.clusters else f"; shown: {'the first ' + str(len(rows)) + ' of ' if len(changed) > top else ''}those that change scenario")
        + ":",
        "",
        f"| {cap(u)} | {cap(h)} | {cap(h)} index (`{a}`) | (`{b}`) | Scenario (`{a}`) | (`{b}`) |",
        "|---:|---|---:|---:|---|---|",
    ]
    for r in rows:
        mark = " **changed**" if r["scenario_changed"] else ""
        lines.append(f"| {r['cluster']} | {r['region']} | {r[f'region_index_{a}']:.4f} | {r[f'region_index_{b}']:.4f} | {r[f'scenario_{a}']} | {r[f'scenario_{b}']}{mark} |")
    if not rows:
        lines.append(f"| — | {'no ' + h + ' index changes' if not sens.clusters else 'no scenario changes'} | | | | |")
    return lines


def _group_caveat(nouns: Nouns) -> str:
    g, gs, u, us = nouns.group, nouns.groups, nouns.unit, nouns.units
    return (
        f"Under within-{g} normalisation (`reference=group`) every {g} contains the maximum of every indicator, so each {u} is "
        f"scored against its own {g}'s leader: differences in the *level* of the index between {gs} are attenuated by construction "
        f"(each {g}'s top scores are pulled to the same maximum; levels can still differ below it), so a non-significant Kruskal-Wallis "
        f"or ANOVA test there says little beyond that the {gs} spread similarly below their leaders. It cannot support a statement that the "
        f"{g} does not matter. The `reference=sample` rows (one maximum over all {us}) keep the level differences; the primary test of a "
        f"{g} effect is therefore `kruskal:reference=sample`. Effect sizes: eta² is biased upwards (under no effect its mean is (k - 1)/(n - 1)), "
        "so omega², close to unbiased and negative when the groups differ less than noise would make them, is given beside it; eta2_H is "
        "printed unclipped for the same reason."
    )


def _effect_text(t, d: int = 2, level: float | None = None) -> str:
    """'eta2 = 0.21, 95% interval [0.00, 0.34] (omega2 = 0.00; 0.21 expected with no effect)'."""
    lvl = f", {level:.0%} interval" if level is not None else ""
    out = f"{t.effect_name} = {_f(t.effect, d)}" + ("" if t.effect_low is None else f"{lvl} {_ci(t.effect_low, t.effect_high, d)}")
    extra = []
    if t.effect_adjusted is not None:
        extra.append(f"{t.effect_adjusted_name} = {_f(t.effect_adjusted, d)}")
    if t.effect_null is not None:
        extra.append(f"{_f(t.effect_null, d)} expected with no effect")
    return out + (f" ({'; '.join(extra)})" if extra else "")


def _group_section(result, nouns: Nouns) -> list[str]:
    rows = [t for t in result.tests if t.test.startswith(("kruskal", "anova"))]
    if not rows:
        return []
    lines = ["", f"### {cap(nouns.group)} effect", ""]
    for t in rows:
        eff = _effect_text(t, 3)
        lines.append(f"- {t.source} values, `{t.test}` ({t.role}): statistic {_f(t.statistic)}, permutation p = {_p(t.pvalue)}, {eff}.")
    lines += ["", _group_caveat(nouns)]
    return lines


def _skipped_lines(result, nouns: Nouns) -> list[str]:
    out = []
    for s in result.skipped:
        a, src, lvl, why = s.get("analysis"), s.get("source"), s.get("level"), s.get("reason")
        where = f"{src} values" if src else "any values"
        if why == "empty_margin":
            out.append(
                f"no Fisher test for {where} at {_level(nouns, lvl)} level: every {_level(nouns, lvl)} is on the same side of the "
                f"{_level(nouns, s.get('side'))} threshold, so the 2x2 table has an empty margin (change the thresholds)."
            )
        elif a == "power":
            out.append(f"No power calculation for {nouns.count(s.get('n', 0), 'unit' if lvl == 'cluster' else 'higher')}: Fisher's z needs at least four.")
        elif a == "equivalence":
            out.append(f"No equivalence test for {where}: Fisher's z needs at least four {nouns.highers} and |r| < 1 (n = {s.get('n')}, r = {_f(s.get('r'))}).")
        elif a == "influence":
            out.append(f"No influence analysis for {where}: leaving one of {nouns.count(s.get('n', 0), 'higher')} out leaves too few to correlate.")
        elif why == "too_few_groups":
            out.append(f"No {nouns.group} tests for {where}: every {nouns.unit} is in the same {nouns.group}, so there is nothing to compare.")
        elif why == "no_groups":
            out.append(f"No {nouns.group} tests: the study has no {nouns.group} column.")
        elif why == "needs_computed_values":
            out.append("No sensitivity to negative values: it needs recomputed values (source 'computed' or 'both').")
        else:
            out.append(f"No {str(a).replace('_', ' ')} for {where}: {s.get('detail', why)}.")
    if result.unused_regions:
        out.append(f"{cap(nouns.highers)} without a {nouns.unit} do not enter the analysis: {', '.join(result.unused_regions)}.")
    out += list(result.notes)
    return out


# --------------------------------------------------------------------------- public
def markdown(result, *, nouns: Nouns) -> str:
    """The relationship stage's section of the report, in the study's nouns."""
    u, h = nouns.unit, nouns.higher
    lines = [f"## {cap(u)}–{h} relationship and the {nouns.group} effect", ""]
    lines += [
        f"Spec of the computed values: {_spec_text(result, 'computed').removeprefix('computed values, spec ')} (other fields at their defaults); thresholds: fractions {result.thresholds.cluster:g} ({u}) and "
        f"{result.thresholds.region:g} ({h}) of the attainable maximum; {result.n_resamples} resamples, "
        f"{result.confidence_level:.0%} intervals, equivalence bound |r| < {result.equivalence_bound:.2f}, seed {result.seed}.",
        "",
        f"### What the interval says (primary analysis `{result.primary}`)",
        "",
    ]
    lines += _lead(result, nouns)
    lines += ["", f"**Primary analysis: `{result.primary}`.** {_why_primary(nouns)}"]
    lines += _influence_section(result, nouns)
    lines += _regression_section(result, nouns)
    lines += _rounding_section(result, nouns)
    lines += _index_sensitivity_section(result, nouns)
    lines += _tests_table(result, nouns)
    lines += _scenario_section(result, nouns)
    lines += _negative_section(result, nouns)
    lines += _group_section(result, nouns)
    if result.power:
        lines += ["", "### Planning: smallest detectable correlation", ""]
        for n_, r in result.power.items():
            lines.append(f"- n = {n_}: |r| >= {r:.3f} is detected with 80 % power at two-sided alpha = 0.05.")
        lines.append("- These are planning numbers; the conclusions above are read off the intervals and the equivalence test.")
    skipped = _skipped_lines(result, nouns)
    if skipped:
        lines += ["", "### Not run, and why", ""] + [f"- {t}" for t in skipped]
    return "\n".join(lines) + "\n"


def findings(result, *, nouns: Nouns) -> list[str]:
    """Key findings, one sentence each, each naming its analysis and the values/spec it comes from."""
    u, h = nouns.unit, nouns.higher
    out = []
    srcs = list(result.sources)
    lead = srcs[0]
    p = result.get(result.primary, lead)
    eq = result.equivalence.get(lead)
    text = (
        f"**{cap(u)}–{h} relationship** (primary analysis `{p.test}`, {_spec_text(result, lead)}): r = {_f(p.statistic)} over "
        f"{nouns.count(p.n, 'higher')}, {result.confidence_level:.0%} BCa interval {_ci(p.ci_low, p.ci_high)}"
    )
    text += f" — {conclusion_text(result.conclusions.get(lead, ''), result.equivalence_bound, nouns, interval=p.ci_low is not None and p.ci_high is not None)}"
    if eq is not None and eq.attainable_bound >= eq.bound:
        text += f". An equivalence test of |r| < {eq.bound:.2f} could not succeed with {nouns.count(eq.n, 'higher')} (none can establish a bound below {eq.attainable_bound:.2f})"
    elif eq is not None:
        text += f"; equivalence (`tost:region_mean`, |r| < {eq.bound:.2f}, alpha = {eq.alpha:g} per side): p = {_p(eq.pvalue)}, " + ("equivalent" if eq.equivalent else "not equivalent")
    for s in srcs[1:]:
        q = result.get(result.primary, s)
        text += f". Same analysis on the {_spec_text(result, s)}: r = {_f(q.statistic)}, interval {_ci(q.ci_low, q.ci_high)} ({result.conclusions.get(s, '—')})"
    out.append(text + ".")
    inf, frag = result.influence.get(lead), result.fragility.get(lead)
    if inf is not None:
        lo, hi = inf.r_range
        k = inf.most_influential_index
        w = frag.without_most if frag is not None else None
        out.append(
            f"**Most influential {h}** (leave-one-{h}-out on `{result.primary}`, {_spec_text(result, lead)}): {inf.most_influential} "
            f"(leverage {_f(inf.leverage[k], 2)}, mean {_f(2 / len(inf.names), 2)}); without it r = {_f(inf.r_without_most)}"
            + (f", {result.confidence_level:.0%} BCa interval {_ci(w.ci_low, w.ci_high)}" if w is not None else _fz(inf.ci_without_most))
            + f", instead of {_f(inf.r)}; the {u}-level r goes from {_f(inf.r_units)} to {_f(inf.r_units_without[k])} without its {nouns.units}; "
            f"leaving any one {h} out, r ranges over [{_f(lo)}, {_f(hi)}]."
        )
    o = result.ols.get(lead)
    if o is not None:
        w = o.wild
        out.append(
            f"**Clustered regression** (`ols:wild_cluster`, {_spec_text(result, lead)}): slope = {u}-level r = {_f(o.slope)}, wild cluster "
            f"bootstrap p = {_p(o.pvalue)} ({'exact enumeration' if w.enumerated else f'{w.n_resamples} draws of {cap(w.weights)} weights'}); "
            f"the CR1 t test's p = {_p(o.pvalue_cr1)} is reported for reference only (it over-rejects with {nouns.count(o.n_groups, 'higher')})."
        )
    if result.rounding is not None:
        a = result.rounding.statistics[result.primary]
        out.append(
            f"**Rounding of the published indices** (`{result.primary}`, published values as printed, {result.rounding.decimals_unit} and "
            f"{result.rounding.decimals_higher} decimals): r = {_f(a['rounded'])} at the printed values, and anywhere in "
            f"[{_f(a['low'])}, {_f(a['high'])}] for values consistent with the rounding."
        )
    sens = result.sensitivity
    if sens is not None and sens.negative_indicators:
        a, b = sens.policies
        changed = [c for c in sens.clusters if c["scenario_changed"]]
        counts = sens.scenario_counts
        out.append(
            f"**If negative values in the {h} index counted as zero** (analysis `negative_policy`, {_spec_text(result, 'computed', negative=b)} "
            f"vs negative={a}): scenario counts "
            + "/".join(str(counts[b][k]) for k in SCENARIOS)
            + " instead of "
            + "/".join(str(counts[a][k]) for k in SCENARIOS)
            + f" ({'/'.join(SCENARIOS)})"
            + (
                f"; {nouns.count(len(changed), 'unit')} changing scenario: "
                + ", ".join(f"{c['cluster']} ({c['region']}: {c[f'scenario_{a}']} → {c[f'scenario_{b}']})" for c in changed[:10])
                + (f" and {len(changed) - 10} more" if len(changed) > 10 else "")
                if changed
                else f"; no {u} changes scenario"
            )
            + f"; r over {h} means {_f(sens.correlations[a]['region_pearson'], 2)} → {_f(sens.correlations[b]['region_pearson'], 2)}."
        )
    group_rows = [t for t in result.tests if t.test.startswith(("kruskal", "anova")) and t.source == ("computed" if "computed" in srcs else lead)]
    if group_rows:
        prim = [t for t in group_rows if t.primary]
        lead_row = prim[0] if prim else group_rows[0]
        ref = _parts(lead_row.method).get("reference")
        an = next((t for t in group_rows if t.test == f"anova:reference={ref}"), None)
        out.append(
            f"**{cap(nouns.group)} effect** (`{lead_row.test}`, {lead_row.role}, "
            f"{_spec_text(result, lead_row.source, **({'reference': ref} if ref else {}))}): permutation p = {_p(lead_row.pvalue)}, "
            f"{_effect_text(lead_row)}"
            + (f"; ANOVA {_effect_text(an, level=result.confidence_level)}" if an is not None and an.effect is not None else "")
            + f". Under within-{nouns.group} normalisation every {nouns.group} holds each indicator's maximum by construction, which attenuates level differences between {nouns.groups}."
        )
    return out


_HEADLINE = {
    "association": "an association",
    "association_within_bound": "an association, and a weak one",
    "equivalence": "at most a weak association",
    "inconclusive": "no evidence either way",
}


def conclusions(result, *, nouns: Nouns) -> list[str]:
    """The stage's one or two conclusions for the top of the report: one number, one interval, one link each."""
    u, h = nouns.unit, nouns.higher
    lead = next(iter(result.sources))
    p = result.get(result.primary, lead)
    code = result.conclusions.get(lead, "")
    text = (
        f"**{cap(u)}–{h} association: {_HEADLINE.get(code, code)}.** r = {_f(p.statistic)} over {nouns.count(p.n, 'higher')} "
        f"({result.confidence_level:.0%} BCa interval {_ci(p.ci_low, p.ci_high)}, {lead} values)"
    )
    inf = result.influence.get(lead)
    dep = _dependence(inf) if inf is not None else ""
    if dep:
        what = "its sign rests on" if dep == "sign" else "most of it comes from"
        text += f"; {what} {inf.most_influential}, without which r = {_f(inf.r_without_most, 2)}"
    out = [text + ". [correlation](correlation.md)"]
    rows = [t for t in result.tests if t.primary and t.test.startswith(("kruskal", "anova"))]
    if rows:
        t = rows[0]
        an = next((x for x in result.tests if x.source == t.source and x.test == t.test.replace("kruskal", "anova")), None)
        seen = t.pvalue is not None and t.pvalue < 1 - result.confidence_level
        out.append(
            f"**{cap(nouns.group)} effect: {'evidence of one' if seen else 'no evidence'}.** Permutation p = {_p(t.pvalue)} (`{t.test}`, {t.source} values)"
            + (f"; omega² = {_f(an.effect_adjusted, 2)} (eta² = {_f(an.effect, 2)}, and {_f(an.effect_null, 2)} is what no effect gives)" if an is not None and an.effect_adjusted is not None else "")
            + ". [correlation](correlation.md)"
        )
    return out
