"""Narration of the bootstrap stage (:mod:`clustermodel.bootstrap`).

:func:`markdown` writes the stage's section of the report and :func:`findings`
its key findings, from a :class:`~clustermodel.bootstrap.WeightBootstrapResult`,
a :class:`~clustermodel.bootstrap.ClusterBootstrapResult`, or a mapping of the
runs one report holds (see :func:`markdown`). Every sentence is built from
the results' numbers and flags; words for the units come from
:class:`~clustermodel.nouns.Nouns`, and the published scenario
counts of a paper appear only when the caller passes them as the reference
(:func:`reference_counts_for` does so for the paper's own data).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from clustermodel._display import cap
from clustermodel.reporting._text import md_escape as E
from clustermodel.reporting._text import figure as _f, seed_text
from clustermodel.nouns import Nouns
from clustermodel.spec import SCENARIOS

__all__ = [
    "markdown",
    "findings",
    "weight_markdown",
    "cluster_markdown",
    "weight_notes",
    "cluster_notes",
    "mode_text",
    "figure_titles",
    "reference_counts_for",
    "skip_reason",
    "SKIP_REASONS",
]

#: Maximum number of unit rows in a Markdown table (the CSV holds them all).
MAX_ROWS = 30

#: Reason codes of an analysis (or a part of one) that did not run.
SKIP_REASONS = ("too_few_units", "no_weight_varies", "no_higher_level", "weights_do_not_cancel", "not_requested")


# --------------------------------------------------------------------------- small helpers
def _g(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{float(v):g}"


def _g3(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{float(v):.3g}"


def _pct(cl: float) -> tuple[str, str]:
    return f"{100 * (1 - cl) / 2:g}", f"{100 * (1 + cl) / 2:g}"


def _counts_text(counts: dict) -> str:
    return "/".join(str(counts[s]) for s in SCENARIOS)


def _p_label(reference_label: str | None) -> str:
    """'P(paper's counts)' for the reference label "the paper's counts"; 'P(nominal counts)' without one."""
    if not reference_label:
        return "P(nominal counts)"
    label = reference_label[4:] if reference_label.startswith("the ") else reference_label
    return f"P({label})"


def reference_counts_for(study) -> dict | None:
    """The paper's published scenario counts when ``study`` is the paper's (:func:`clustermodel.paper.is_paper`),
    else None."""
    from clustermodel.paper import PAPER_COUNTS, is_paper

    return dict(PAPER_COUNTS) if is_paper(study) else None


def skip_reason(code: str, nouns: Nouns) -> str:
    """A reason code of :data:`SKIP_REASONS` in words."""
    return {
        "too_few_units": f"the study has fewer than two {nouns.units}: there is nothing to rank or to resample",
        "no_weight_varies": "every node is its parent's only child, so no weight can vary",
        "no_higher_level": f"the study has no {nouns.higher} table, so there are no scenarios and no correlation of the two indices",
        "weights_do_not_cancel": "the study's aggregation uses its weights, so there is no Equation 1 run to show that they cancel",
        "not_requested": "not asked for (`data_bootstrap = \"none\"` in [bootstrap], or --data-bootstrap none)",
    }.get(code, code)


def mode_text(result, nouns: Nouns | None = None) -> str:
    """How the panels were drawn, in words."""
    if result.mode == "parametric":
        return (
            f"parametric: each expert's weights drawn within every parent from a Dirichlet centred on the nominal weights, "
            f"κ={result.concentration:g}, panels of {result.panel_size}"
        )
    src = Path(result.experts_source).name if result.experts_source else "an expert table"
    what = "the indicators' weights only" if result.expert_columns == "indicators" else "the weights of every node"
    return f"nonparametric: {result.panel_size} of {result.n_experts} experts resampled with replacement from {src} ({what})"


def figure_titles(result, nouns: Nouns) -> dict:
    """Titles of the rank-uncertainty and scenario-stability figures of a weight bootstrap."""
    return {
        "ranks": f"Rank uncertainty of the {nouns.units} over {result.n_resamples} expert panels (aggregation {result.spec.aggregation_label})",
        "scenarios": f"Scenario stability of the {nouns.units} over {result.n_resamples} expert panels (aggregation {result.spec.aggregation_label})",
    }


def _spec_fields(spec) -> str:
    from clustermodel.spec import IndexSpec

    default = IndexSpec().to_dict()
    changed = [f"{k}={'/'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in spec.to_dict().items() if v != default.get(k)]
    return ", ".join(changed) if changed else "the defaults"


# --------------------------------------------------------------------------- notes (what the flags mean)
def weight_notes(result, *, nouns: Nouns, reference_label: str | None = None) -> list[str]:
    """Sentences explaining the weight bootstrap's flags, most important first."""
    s = result.summary
    us = nouns.units
    notes = []
    if result.weights_cancel and result.zero_spread:
        notes.append(
            f"Zero spread: under the aggregation `{result.spec.aggregation_label}` (Equation 1 as printed) every positive weight "
            f"cancels — each weight multiplies both a value and the maximum it is divided by — so every panel gives the same "
            f"index, rank and scenario for every {nouns.unit}; the experts' weights cannot matter. An aggregation that uses "
            "the weights (e.g. `quadratic`, weights after normalisation) shows their effect."
        )
    elif result.weights_cancel:
        notes.append(
            f"Under `{result.spec.aggregation_label}` positive weights cancel; the spread seen here comes only from the "
            f"{100 * float(s['p_zero_weight']):.1f} % of panels in which some node's weight is exactly zero, so that node is dropped."
        )
    elif result.zero_spread:
        notes.append(f"Zero spread: every panel gave the same index for every {nouns.unit} (the panels' weights do not vary).")
    if result.mode == "parametric":
        a = s["weight_centre"].values
        k = result.concentration
        sd = np.sqrt(a * (1 - a) / (k + 1))
        names = [str(v) for v in s["weight_node"].values]
        shown = ", ".join(f"{n} {v:.3f}" for n, v in list(zip(names, sd))[:12]) + (" …" if len(names) > 12 else "")
        notes.append(
            f"The parametric mode draws each expert's weights of every parent's children from Dirichlet(κ·a), a the "
            f"children's nominal weights normalised within the parent, κ={k:g} — a stated model of expert disagreement, "
            f"not elicited data. One expert's weight then has sd sqrt(a(1−a)/(κ+1)): {shown}."
        )
    if result.centre_differs:
        notes.append(
            "The expert table's mean weights differ from the study's weights; the nominal scores, ranks and scenarios "
            "here are those at the expert table's mean (`weight_centre` against `weight_study`)."
        )
    if result.expert_columns == "indicators" and len(set(map(str, s["parent"].values))) > 1:
        notes.append(
            "The expert table weighs only the indicators; the weights of the aggregates (pillars, sub-indices) stay at "
            "their nominal values in every panel."
        )
    if result.has_regions:
        cs = result.study_summary()["scenario_counts"]
        ref = cs.get("reference_counts")
        if ref is not None and cs["nominal"] != ref:
            notes.append(
                f"At the centre weights this spec gives the counts {_counts_text(cs['nominal'])}, not "
                f"{reference_label or 'the reference counts'} {_counts_text(ref)}; {_p_label(reference_label)} therefore measures how "
                "often a panel moves the classification onto them, not whether they are stable."
            )
    quant = result.streaming.get("quantiles", {})
    if any(v == "histogram" for v in quant.values()):
        err = float(np.nanmax(s["score_error"].values)) if "score_error" in s else float("nan")
        notes.append(
            f"Percentiles of {', '.join(k for k, v in quant.items() if v == 'histogram')} are read off "
            f"{result.streaming.get('bins')}-bin histograms per {nouns.unit}: each is within {_g(err)} of the exact percentile "
            "(`score_error` per unit)."
        )
    if "rank_exact" in s and not bool(s["rank_exact"].all()):
        bad = [str(v) for v, ok in zip(s["node"].values, s["rank_exact"].values) if not ok]
        notes.append(
            f"Some {us}' ranks span more ranks than the rank histogram has bins ({', '.join(bad)}): their rank percentiles "
            "are within `rank_error` of the exact ones."
        )
    notes.append(
        f"The data are fixed in this bootstrap (same {us}, same normalisation"
        + (f", same {nouns.higher} index" if result.has_regions else "")
        + "); see the data bootstrap for sampling uncertainty."
    )
    return notes


def cluster_notes(result, *, nouns: Nouns) -> list[str]:
    """Sentences explaining how the cluster (data) bootstrap was done and what limits it."""
    s = result.summary
    us, h = nouns.units, nouns.higher
    notes = [
        f"{cap(us)} are resampled with replacement"
        + (f"; each keeps its {h}, and the {h} table (so its index and threshold) is not resampled" if result.has_regions else "")
        + ". The weights stay at the study's."
    ]
    p_any = 100 * float(s["p_maxima_changed"])
    share = 100 * float(s["maxima_changed_mean"])
    if result.maxima == "resample":
        notes.append(
            "The construction steps that depend on the sample (the normaliser's reference statistics"
            + (f" within each {nouns.group}" if result.spec.reference == "group" else "")
            + f", imputation, treatment) are redone in every resample: in {p_any:.1f} % of resamples some normalised value "
            f"differs from the full sample's (on average {share:.1f} % of the cells). A resample holds about 63 % distinct "
            f"{us}, so a reference {nouns.unit} (e.g. a maximum) is often missing and the others' normalised values move: the "
            "bootstrap distribution of such a statistic is shifted (see the bias), and the bootstrap is known to be "
            "unreliable for statistics driven by a sample maximum (Bickel and Freedman 1981). maxima='fixed' keeps the full "
            "sample's reference statistics and varies only the composition."
        )
    else:
        notes.append(
            f"The reference statistics of the full sample are kept (maxima='fixed'): every {nouns.unit} keeps its scores "
            "and only the composition of the sample varies."
        )
    notes.append(
        f"Percentile intervals from a bootstrap of {nouns.count(result.n_units)} are rough; duplicated {us} count once per draw."
    )
    if result.has_regions:
        und = int(s["correlation_n_undefined"])
        if und:
            notes.append(f"The correlation is undefined (a constant side) in {und} resamples; they are left out of its interval.")
    return notes


# --------------------------------------------------------------------------- weight bootstrap section
def _units_table(result, nouns: Nouns, lo_p, hi_p, max_rows: int) -> list[str]:
    t = result.cluster_table()
    n = t.sizes["cluster"]
    width = (t["rank_high"] - t["rank_low"]).values
    order = np.argsort(t["rank_nominal"].values, kind="stable")
    if n > max_rows:
        widest = np.argsort(-width, kind="stable")[:max_rows]
        order = widest[np.argsort(t["rank_nominal"].values[widest], kind="stable")]
    has_names = "name" in t.coords
    scen = result.has_regions
    head = (
        f"| Rank | {cap(nouns.unit)} | Index | Median [{lo_p}, {hi_p}] | Rank median [{lo_p}, {hi_p}] |"
        + (" Nominal scenario | " + " | ".join(f"P({s})" for s in SCENARIOS) + " |" if scen else "")
    )
    lines = [
        "",
        f"### {cap(nouns.units)} (sorted by nominal rank)"
        + (f": the {max_rows} of {n} with the widest rank intervals; every {nouns.unit} is in the CSV" if n > max_rows else ""),
        "",
        head,
        "|---:|---|---:|---|---|" + ("---|" + "---:|" * len(SCENARIOS) if scen else ""),
    ]
    for i in order:
        label = E(str(t["cluster"].values[i]) + (f" {t['name'].values[i]}" if has_names else ""))
        row = (
            f"| {int(t['rank_nominal'].values[i])} | {label} | {_f(t['index_nominal'].values[i])} | "
            f"{_f(t['index_median'].values[i])} [{_f(t['index_low'].values[i])}, {_f(t['index_high'].values[i])}] | "
            f"{_g(t['rank_median'].values[i])} [{_g(t['rank_low'].values[i])}, {_g(t['rank_high'].values[i])}] |"
        )
        if scen:
            p = t["scenario_probability"].values[i]
            row += f" {SCENARIOS[int(t['scenario_nominal'].values[i])]} | " + " | ".join(f"{v:.3f}" for v in p) + " |"
        lines.append(row)
    return lines


def _nodes_table(result, nouns: Nouns, lo_p, hi_p) -> list[str]:
    s = result.summary
    if len(result.nodes) < 2:
        return []
    lines = [
        "",
        "### Every level: the index and each aggregate",
        "",
        f"| Node | Level | Mean abs. rank shift (median [{lo_p}, {hi_p}]) | Mean width of the rank interval | Widest | Largest score spread |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for v in result.nodes:
        sel = s.sel(node=v)
        width = (sel["rank_high"] - sel["rank_low"]).values
        spread = (sel["score_max"] - sel["score_min"]).values
        lines.append(
            f"| {E(v)} | {int(sel['level'])} | {_f(sel['mean_rank_shift_median'], 2)} [{_f(sel['mean_rank_shift_low'], 2)}, "
            f"{_f(sel['mean_rank_shift_high'], 2)}] | {_f(np.nanmean(width), 2)} | {_g(np.nanmax(width))} | {_g(np.nanmax(spread))} |"
        )
    return lines


def weight_markdown(result, *, nouns: Nouns, reference_label: str | None = None, title: str | None = None, max_rows: int = MAX_ROWS) -> str:
    """The weight bootstrap's section: how it was run, what varies, the study-level summaries and the unit table."""
    lo_p, hi_p = _pct(result.confidence_level)
    st = result.study_summary()
    d = result.weight_table()
    lines = [
        f"## {title or 'Weight bootstrap: expert panels (data fixed)'}",
        "",
        f"- Mode: **{mode_text(result, nouns)}**.",
        f"- {result.n_resamples} panels, seed {seed_text(result.seed, result.spawn_key)}; aggregation `{result.spec.aggregation_label}`, spec {_spec_fields(result.spec)}"
        + (f"; thresholds {result.thresholds.cluster:g} / {result.thresholds.region:g} of the attainable maximum" if result.has_regions else "")
        + ".",
        f"- Intervals: equal-tailed {lo_p}–{hi_p} % percentile intervals (numpy's linear method).",
        f"- Largest spread (max − min over panels) of any {nouns.unit}'s index: {_g3(st['max_index_spread'])}"
        + (" — **zero: the weights have no effect**." if result.zero_spread else "."),
        f"- Mean absolute rank shift of the index (Saisana et al. 2005): median {_f(st['mean_rank_shift'][result.index_node]['median'], 2)}, "
        f"[{_f(st['mean_rank_shift'][result.index_node]['low'], 2)}, {_f(st['mean_rank_shift'][result.index_node]['high'], 2)}] places.",
    ]
    if result.has_regions:
        c, sc = st["correlation"], st["scenario_counts"]
        lines.append(
            f"- Correlation of the {nouns.unit} index with its {nouns.higher}'s index: nominal {_f(c['nominal'])}, median {_f(c['median'])}, "
            f"{lo_p}–{hi_p} %: [{_f(c['low'])}, {_f(c['high'])}]."
        )
        text = f"- Scenario counts at the centre weights: {_counts_text(sc['nominal'])} ({'/'.join(SCENARIOS)}); they hold in **{100 * sc['p_nominal_counts']:.1f} %** of panels"
        if sc.get("reference_counts") is not None:
            text += f"; {reference_label or 'the reference counts'} {_counts_text(sc['reference_counts'])} hold in **{100 * sc['p_reference_counts']:.1f} %**"
        lines.append(text + ".")
    lines += ["", f"| Node | Parent | Nominal | Panel mean | Panel sd | {lo_p} % | {hi_p} % |", "|---|---|---:|---:|---:|---:|---:|"]
    for k, v in d.items():
        lines.append(f"| {E(k)} | {E(v['parent'])} | {v['centre']:.3f} | {_f(v['mean'])} | {_f(v['sd'])} | {_f(v['low'])} | {_f(v['high'])} |")
    if result.has_regions:
        sc = st["scenario_counts"]
        lines += ["", "Scenario counts over panels:", "", f"| Scenario | Nominal | Median | {lo_p} % | {hi_p} % | Mean share |", "|---|---:|---:|---:|---:|---:|"]
        for s in SCENARIOS:
            lines.append(f"| {s} | {sc['nominal'][s]} | {sc['median'][s]:g} | {sc['low'][s]:g} | {sc['high'][s]:g} | {_f(sc['mean_share'][s])} |")
        if sc.get("most_common"):
            lines += ["", f"Most frequent count vectors ({'/'.join(SCENARIOS)}):", ""]
            for m in sc["most_common"]:
                lines.append(f"- {_counts_text(m['counts'])}: {100 * m['probability']:.1f} %")
    lines += _nodes_table(result, nouns, lo_p, hi_p)
    lines += _units_table(result, nouns, lo_p, hi_p, max_rows)
    notes = weight_notes(result, nouns=nouns, reference_label=reference_label)
    lines += ["", "### Notes", ""] + [f"- {t}" for t in notes]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- cluster bootstrap section
def cluster_markdown(result, *, nouns: Nouns, reference_label: str | None = None, title: str | None = None) -> str:
    """The cluster (data) bootstrap's section."""
    d = result.to_dict()
    lo_p, hi_p = _pct(result.confidence_level)
    m = d["mean_index"]
    lines = [
        f"## {title or f'Data bootstrap: {nouns.units} resampled, weights fixed'}",
        "",
        f"- {result.n_resamples} resamples of {nouns.count(result.n_units)} with replacement"
        + (f" ({nouns.highers} intact)" if result.has_regions else "")
        + f", seed {seed_text(result.seed, result.spawn_key)}; aggregation `{result.spec.aggregation_label}`, spec {_spec_fields(result.spec)}; reference statistics: "
        + ("**recomputed in every resample**" if result.maxima == "resample" else "**kept at the full sample's**")
        + ".",
    ]
    if result.has_regions:
        c = d["correlation"]
        lines.append(
            f"- Correlation of the {nouns.unit} index with its {nouns.higher}'s index: nominal {_f(c['nominal'])}, median {_f(c['median'])}, "
            f"{lo_p}–{hi_p} %: [{_f(c['low'])}, {_f(c['high'])}], bootstrap bias {_f(c['bias'])}"
            + (f" (undefined in {c['n_undefined']} resamples)" if c["n_undefined"] else "")
            + "."
        )
    lines.append(
        f"- Mean {nouns.unit} index: nominal {_f(m['nominal'])}, median {_f(m['median'])}, [{_f(m['low'])}, {_f(m['high'])}], "
        f"bootstrap bias {_f(m['bias'])}"
        + ("" if m["nominal_in_interval"] in (True, None) else " — **the nominal value lies outside the interval**")
        + "."
    )
    if result.has_regions:
        sc = d["scenario_counts"]
        text = f"- The nominal counts {_counts_text(sc['nominal'])} hold in {100 * sc['p_nominal_counts']:.1f} % of resamples"
        if sc.get("reference_counts") is not None:
            text += f"; {reference_label or 'the reference counts'} {_counts_text(sc['reference_counts'])} in {100 * sc['p_reference_counts']:.1f} %"
        lines.append(text + ".")
    if result.maxima == "resample":
        lines.append(
            f"- Reference statistics changed in {100 * d['maxima_changed']['p_any']:.1f} % of resamples (on average "
            f"{100 * (d['maxima_changed']['mean_share_of_cells'] or 0):.1f} % of the cells)."
        )
    if len(result.nodes) > 1:
        lines += ["", f"| Node | Nominal mean score | Median | {lo_p} % | {hi_p} % | Bias |", "|---|---:|---:|---:|---:|---:|"]
        for v, st in d["mean_score"].items():
            lines.append(f"| {E(v)} | {_f(st['nominal'])} | {_f(st['median'])} | {_f(st['low'])} | {_f(st['high'])} | {_f(st['bias'])} |")
    if result.has_regions:
        sc = d["scenario_counts"]
        lines += ["", f"| Scenario | Nominal share | Median share | {lo_p} % | {hi_p} % | Count median [{lo_p}, {hi_p}] |", "|---|---:|---:|---:|---:|---|"]
        for s in SCENARIOS:
            sh = d["scenario_shares"][s]
            lines.append(
                f"| {s} | {_f(sh['nominal'])} | {_f(sh['median'])} | {_f(sh['low'])} | {_f(sh['high'])} | "
                f"{sc['median'][s]:g} [{sc['low'][s]:g}, {sc['high'][s]:g}] |"
            )
    lines += ["", "### Notes", ""] + [f"- {t}" for t in cluster_notes(result, nouns=nouns)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the stage
def _is_weight(r) -> bool:
    return hasattr(r, "mode") and hasattr(r, "panel_size")


def _kappa_table(rows, lo_p, hi_p, nouns, reference_label) -> list[str]:
    if not rows:
        return []
    scen = any(r.get("clusters_with_unstable_scenario") is not None for r in rows)
    head = f"| κ | mean width of the {lo_p}–{hi_p} % rank interval | widest | mean abs. rank shift |"
    rule = "|---:|---:|---:|---:|"
    if scen:
        head += f" {nouns.units} with P(nominal scenario) < 0.95 | min P(nominal scenario) | {_p_label(reference_label)} | correlation interval |"
        rule += "---:|---:|---:|---|"
    lines = [
        "## Sensitivity to the assumed expert disagreement (Dirichlet κ)",
        "",
        "κ is an assumption about how far single experts stray from the nominal weights, not an estimate; smaller κ = more disagreement.",
        "",
        head,
        rule,
    ]
    for r in rows:
        row = f"| {r['concentration']:g} | {r['mean_rank_interval_width']:.2f} | {r['max_rank_interval_width']:g} | {_f(r.get('mean_rank_shift'), 2)} |"
        if scen:
            p = r.get("p_reference_counts") if reference_label else r.get("p_nominal_counts")
            row += (
                f" {r['clusters_with_unstable_scenario']} | {_f(r['min_p_nominal_scenario'])} | {_f(p)} | "
                f"[{_f(r['correlation_low'])}, {_f(r['correlation_high'])}] |"
            )
        lines.append(row)
    return lines + [""]


def markdown(results, *, nouns: Nouns, reference_label: str | None = None) -> str:
    """The bootstrap stage's Markdown.

    Parameters
    ----------
    results : WeightBootstrapResult, ClusterBootstrapResult or mapping
        One result, or a mapping of the runs of one report: ``'weight'`` (the
        main weight bootstrap), ``'equation1'`` (the same under Equation 1 as
        printed, optional), ``'concentration'`` (rows of the κ sensitivity,
        optional), ``'data'`` (mapping maxima -> ClusterBootstrapResult,
        optional), ``'skipped'`` (mapping part -> reason code, optional),
        ``'seed'``, ``'n_resamples'`` and ``'confidence_level'``.
    nouns : Nouns
    reference_label : str, optional
        What the reference counts are called (e.g. ``"the paper's counts"``);
        give it only when the results were computed with ``reference_counts``.
    """
    if not isinstance(results, Mapping):
        if _is_weight(results):
            return weight_markdown(results, nouns=nouns, reference_label=reference_label)
        return cluster_markdown(results, nouns=nouns, reference_label=reference_label)
    cl = results.get("confidence_level", 0.9)
    lo_p, hi_p = _pct(cl)
    md = [
        f"# Bootstrap: how uncertain are the {nouns.units}' scores" + (", ranks and scenarios?" if _has_regions(results) else " and ranks?"),
        "",
        f"Config `[bootstrap]`: seed {results.get('seed')} (independent streams spawned per run), {results.get('n_resamples')} resamples, "
        f"percentile intervals {lo_p}–{hi_p} %.",
        "",
    ]
    skipped = results.get("skipped") or {}
    for part, code in skipped.items():
        md += [f"- Not run: {part.replace('_', ' ')} — {skip_reason(code, nouns)}.", ""]
    eq1 = results.get("equation1")
    main = results.get("weight")
    if eq1 is not None:
        st = eq1.study_summary()
        rank_spread = int(np.nanmax((eq1.summary["rank_max"] - eq1.summary["rank_min"]).isel(node=0).values))
        text = (
            f"Under aggregation `{eq1.spec.aggregation_label}` the largest spread (max − min over {eq1.n_resamples} panels) of any "
            f"{nouns.unit}'s index is {_g(st['max_index_spread'])} and of any rank {rank_spread}: "
            + ("**zero**. " if eq1.zero_spread else "not zero. ")
            + weight_notes(eq1, nouns=nouns, reference_label=reference_label)[0]
        )
        if eq1.has_regions:
            sc = st["scenario_counts"]
            text += f" The scenario counts are {_counts_text(sc['nominal'])} in {100 * sc['p_nominal_counts']:.1f} % of panels"
            if sc.get("reference_counts") is not None:
                text += f" ({_p_label(reference_label)} = {sc['p_reference_counts']:.3f})"
            text += "."
        md += ["## Equation 1 as printed: the weights cancel", "", text, ""]
        if main is not None and main.spec.aggregation != eq1.spec.aggregation:
            md += [
                f"The weight bootstrap below therefore uses the aggregation `{main.spec.aggregation_label}` (weights after normalisation), "
                "so that the weights have something to move.",
                "",
            ]
    if main is not None:
        md.append(weight_markdown(main, nouns=nouns, reference_label=reference_label))
    md += _kappa_table(results.get("concentration") or [], lo_p, hi_p, nouns, reference_label)
    data = results.get("data") or {}
    if data:
        md += [
            "# Data bootstrap (separate from the weight bootstrap)",
            "",
            f"{cap(nouns.units)} resampled with replacement"
            + (f", {nouns.highers} kept intact" if _has_regions(results) else "")
            + ", weights fixed at the study's. "
            + (
                "Shown twice: with the sample-dependent construction steps redone in every resample (the index as the study would "
                "have computed it on that sample) and with the full sample's reference statistics (only the composition varies). "
                "The gap between the two is the effect of the reference statistics."
                if len(data) > 1
                else ""
            ),
            "",
        ]
        for m, r in data.items():
            md.append(cluster_markdown(r, nouns=nouns, reference_label=reference_label, title=f"Data bootstrap, maxima={m}"))
    if _has_regions(results):
        md.append(f"Scenario order in every table: {', '.join(SCENARIOS)}.")
    return "\n".join(md) + "\n"


def _has_regions(results) -> bool:
    for r in (results.get("weight"), results.get("equation1"), *(results.get("data") or {}).values()):
        if r is not None:
            return bool(r.has_regions)
    return False


def _weight_sentence(r, nouns: Nouns, reference_label, equation1=None) -> str:
    t = r.cluster_table()
    width = (t["rank_high"] - t["rank_low"]).values
    lo_p, hi_p = _pct(r.confidence_level)
    st = r.study_summary()
    text = (
        f"**Expert-panel bootstrap** ({mode_text(r, nouns)}; {r.n_resamples} panels; aggregation `{r.spec.aggregation_label}`): the "
        f"{lo_p}–{hi_p} % rank interval of the index is {np.nanmean(width):.2f} places wide on average (widest {_g(np.nanmax(width))} of "
        f"{nouns.count(t.sizes['cluster'])}); ranks move by {_f(st['mean_rank_shift'][r.index_node]['mean'], 2)} places on average"
    )
    if r.zero_spread:
        text += " — zero spread"
    if r.has_regions:
        p = t["scenario_probability"].values
        nominal = t["scenario_nominal"].values.astype(int)
        pn = p[np.arange(p.shape[0]), nominal]
        sc = st["scenario_counts"]
        text += (
            f"; {int((pn < 0.95).sum())} {nouns.units if int((pn < 0.95).sum()) != 1 else nouns.unit} keep their nominal scenario in fewer "
            f"than 95 % of panels (lowest {pn.min():.2f}); the nominal counts {_counts_text(sc['nominal'])} hold in "
            f"{100 * sc['p_nominal_counts']:.1f} % of panels"
        )
        if sc.get("reference_counts") is not None:
            text += f", {_p_label(reference_label)} = {sc['p_reference_counts']:.3f}"
    text += "."
    if len(r.nodes) > 1:
        shift = {v: st["mean_rank_shift"][v]["mean"] or 0.0 for v in r.nodes[1:]}
        top = max(shift, key=shift.get)
        text += f" Of the {len(shift)} aggregates below the index, `{top}` moves most (mean rank shift {shift[top]:.2f})."
    if equation1 is not None:
        text += f" Under Equation 1 as printed the spread is {'zero' if equation1.zero_spread else 'not zero'}: the weights cancel."
    return text


def _data_sentence(data: dict, nouns: Nouns) -> str:
    parts = []
    first = next(iter(data.values()))
    lo_p, hi_p = _pct(first.confidence_level)
    for m, r in data.items():
        d = r.to_dict()
        how = "reference statistics recomputed per resample" if m == "resample" else "the full sample's reference statistics"
        if r.has_regions:
            c = d["correlation"]
            parts.append(f"[{_f(c['low'], 2)}, {_f(c['high'], 2)}] with {how}")
    if not first.has_regions:
        r = data.get("resample", first)
        mc = r.to_dict()["maxima_changed"]
        return (
            f"**Resampling the {nouns.units}** (weights fixed): the normalisation's reference values change in {mc['p_any']:.0%} of "
            f"resamples ({mc['mean_share_of_cells']:.0%} of the cells on average), so each score depends on which {nouns.units} are "
            "in the sample; the per-unit intervals are in the section."
        )
    what = f"the correlation of the {nouns.unit} and {nouns.higher} indices has the {lo_p}–{hi_p} % interval"
    return (
        f"**Resampling the {nouns.units}** (weights fixed; a comparison only: the {nouns.units} of one {nouns.higher} are not independent, "
        f"and the relationship section, which treats the {nouns.higher} as the unit, carries the conclusion): {what} " + "; ".join(parts) + "."
    )


def conclusions(results, *, nouns: Nouns) -> list[str]:
    """The stage's conclusion for the top of the report (the expert-panel bootstrap only)."""
    r = results.get("weight") if isinstance(results, Mapping) else results
    if r is None or not _is_weight(r):
        return []
    st = r.study_summary()
    text = (
        f"**Expert disagreement moves ranks by {_f(st['mean_rank_shift'][r.index_node]['mean'], 2)} places on average** "
        f"({mode_text(r, nouns)}, aggregation `{r.spec.aggregation_label}`)"
    )
    if r.has_regions:
        t = r.cluster_table()
        p = t["scenario_probability"].values
        pn = p[np.arange(p.shape[0]), t["scenario_nominal"].values.astype(int)]
        k = int((pn < 0.95).sum())
        text += f"; {k} of {nouns.count(p.shape[0])} keep their nominal scenario in fewer than 95 % of panels"
    return [text + ". [bootstrap](bootstrap.md)"]


def findings(results, *, nouns: Nouns, reference_label: str | None = None) -> list[str]:
    """Key findings: one sentence on the expert-panel bootstrap, one on the data bootstrap.

    ``results`` as in :func:`markdown`.
    """
    if not isinstance(results, Mapping):
        results = {"weight": results} if _is_weight(results) else {"data": {results.maxima: results}}
    out = []
    main = results.get("weight")
    if main is not None:
        out.append(_weight_sentence(main, nouns, reference_label, results.get("equation1")))
    data = results.get("data") or {}
    if data:
        out.append(_data_sentence(data, nouns))
    # a part that did not run is named once, in bootstrap.md's "Not run" line and the report's "Analyses not run"
    return out
