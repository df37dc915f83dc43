"""Narration of the Sobol' stage: notes, Markdown tables and key findings.

The estimators (:mod:`clustermodel.sobol`, :mod:`clustermodel.sensitivity`) return
numbers and flags; every sentence about them is written here:

- :func:`index_notes` and :func:`indices_markdown` for a
  :class:`~clustermodel.sobol.SobolIndicesResult` (any model);
- :func:`markdown` and :func:`findings` for a
  :class:`~clustermodel.sensitivity.SobolResult` (a study's weights and method choices),
  with the study's nouns (:class:`~clustermodel.nouns.Nouns`);
- :func:`write_outputs` writes a stage's JSON, Markdown, NetCDF and figures.
"""

from __future__ import annotations

import numpy as np

from clustermodel._display import cap
from clustermodel.reporting._text import counts_text, md_escape, md_escape as E, spec_text
from clustermodel.nouns import PAPER_NOUNS, Nouns

__all__ = ["index_notes", "indices_markdown", "method_sentence", "markdown", "findings", "write_outputs"]


def _listing(names, limit: int = 8) -> str:
    names = list(names)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def method_sentence(ix) -> str:
    """How the indices and their intervals were estimated, in one sentence."""
    pct = f"{ix.confidence_level:.0%}"
    d = len(ix.factors)
    if ix.method == "replicate":
        return (
            f"{ix.replicates} independent scrambled Sobol' designs of N = {ix.n} rows each ({ix.model_runs} model runs, "
            f"N (D + 2) = {ix.n * (d + 2)} per design); indices averaged over the designs, {pct} intervals "
            f"mean ± t({ix.replicates - 1}) · sd / √{ix.replicates} over them. S1 = first-order index (Saltelli et al. "
            "2010), ST = total index (Jansen 1999)."
        )
    return (
        f"One scrambled Sobol' design of N = {ix.n} rows ({ix.model_runs} model runs), {ix.n_resamples} bootstrap "
        f"resamples of its rows as in SALib, {pct} percentile intervals (these treat the quasi-random design as an "
        "i.i.d. sample and are too wide for smooth outputs; see docs/sensitivity.md). S1 = first-order index "
        "(Saltelli et al. 2010), ST = total index (Jansen 1999)."
    )


def result_notes(result) -> list:
    """The notes of a weight-sensitivity run, one sentence per code of ``result.note_codes`` (in their order)."""
    from clustermodel.sensitivity import WEIGHT_DISTRIBUTIONS

    out = []
    for code, p in result.note_codes:
        if code == "independent_uniforms":
            out.append(
                "Factors are independent uniform inputs: one per indicator weight, mapped onto the simplex inside the model "
                f"({WEIGHT_DISTRIBUTIONS[p['distribution']]}), so Sobol's independence assumption holds although the weights "
                "sum to one. A weight factor's index measures the influence of that indicator's raw (pre-normalisation) "
                "draw, which acts on every weight through the normalisation."
            )
        elif code == "equation1_weights_inert":
            out.append(
                "Under Equation 1 as printed the outputs do not depend on the weights: every weight index is exactly 0. "
                "Why: alpha_j x_ij / max_i(alpha_j x_ij) = x_ij / max_i x_ij for any alpha_j > 0, so a positive weight "
                "cancels between numerator and maximum and Table 4's weights cannot move any score, rank or scenario. "
                "This is a property of the printed formula, not of the sample; use aggregation 'quadratic' or "
                "'arithmetic' for weights that act."
            )
        elif code == "equation1_weights_cancel":
            out.append(
                "Under Equation 1 as printed positive weights cancel; the weight factors matter here only through "
                "other factors or because some sampled weight underflowed to 0 (which drops its indicator)."
            )
        elif code == "every_output_constant":
            out.append("Every output is constant over the sample: no factor has any influence on this study under this spec.")
        elif code == "index_notes":
            out += index_notes(result.indices)
        elif code == "discrete_outputs" and p.get("scenarios", True):
            out.append(
                "Ranks, scenario counts and the 0/1 outputs (scenario kept, counts kept) are discrete; variance-based indices "
                "remain well defined for them and give the share of the variance of a rank, or of a flip probability, that "
                "each factor explains. A 0/1 output that rarely flips rests on few events (see the rare-events note, if any)."
            )
        elif code == "discrete_outputs":
            out.append(
                "Ranks are discrete; variance-based indices remain well defined for them and give the share of the "
                "variance of a rank that each factor explains."
            )
        elif code == "spec_moves_paper_counts":
            out.append(
                f"At the published weights this spec gives scenario counts {counts_text(p['counts'])}, not the paper's "
                f"{counts_text(p['paper'])}: the spec change alone moves the conclusion before any weight varies; 'kept' "
                "outputs compare with this spec's own nominal result."
            )
        elif code == "trigger_option_dropped":
            out.append(f"Trigger option {p['option']} was left out: it cannot be computed on this study ({p['reason']}).")
        elif code == "trigger_factors":
            options = p["options"]
            out.append(
                "Trigger factors split their uniform input into equal parts, one per option, in the order "
                + "; ".join(f"{t}: {o}" for t, o in options.items())
                + ". The nominal point is the base spec at the published weights."
                + (
                    " Index values under different aggregations are on different scales (a sum versus a square root), so "
                    "the aggregation trigger's influence on the index values includes that change of scale; ranks and "
                    "scenarios are comparable across aggregations."
                    if "aggregation" in options
                    else ""
                )
            )
        else:
            raise ValueError(f"no sentence for the weight-sensitivity note code {code!r}")
    return out


def index_notes(ix) -> list:
    """Sentences on the outputs whose indices need a caveat: constant, flat over A and B, rare 0/1."""
    notes = []
    outputs = list(ix.outputs)
    const = [o for o, c in zip(outputs, ix.constant) if c]
    if const:
        notes.append(
            f"{len(const)} of {len(outputs)} output(s) take the same value in every model run, up to rounding "
            f"(spread at most {_rtol()} of their magnitude) ({_listing(const)}): they do not depend on any "
            "factor, so S1 = ST = 0 exactly for them (SALib would divide by a zero or rounding-noise variance)."
        )
    flat = [o for o, c in zip(outputs, ix.flat_ab) if c]
    if flat:
        notes.append(
            f"{len(flat)} output(s) vary only in the cross-sampled runs, not over the A and B runs of any design "
            f"({_listing(flat)}); their variance estimate is 0, so nothing is known of their indices (interval "
            "[0, 1]): increase N to estimate them."
        )
    if ix.method == "replicate":
        short = [
            o for o, c, inf, fl in zip(outputs, ix.constant, ix.informative, ix.flat_ab)
            if not c and not fl and inf < ix.replicates
        ]
        if short:
            notes.append(
                f"{len(short)} output(s) do not vary over the A and B runs of every design ({_listing(short)}); their "
                "indices average the designs where they do (interval [0, 1] where fewer than two do)."
            )
    rare = [k for k in range(len(outputs)) if ix.n_needed[k] > 0]
    if rare:
        runs = 2 * ix.n * ix.replicates
        shown = [f"{outputs[k]} ({int(ix.events[k])} events, N ≥ {int(ix.n_needed[k])})" for k in rare]
        per = f" per design ({ix.replicates} designs)" if ix.replicates > 1 else ""
        notes.append(
            f"Rare events: {len(rare)} output(s) changed in fewer than {ix.events_needed} of the {runs} A and B runs "
            f"(0/1 outputs: runs with their rarer value; other outputs: runs away from their most common value): {_listing(shown)}. With so few events the intervals of such outputs miss the "
            "true indices far more often than the nominal rate (measured in docs/sensitivity.md); the N in "
            f"brackets{per}, from the observed event rate, would give about {ix.events_needed} events. Read these "
            "outputs as 'rarely changes' rather than through their indices."
        )
    artefacts = _artefacts(ix)
    if artefacts:
        notes.append(
            f"Estimator artefacts: {artefacts['n_st']} total index(es) above 1 and {artefacts['n_s1']} first-order index(es) below 0 "
            f"(largest ST {artefacts['max_st']:.3f}, smallest S1 {artefacts['min_s1']:.3f}). True indices lie in [0, 1]; the "
            "estimators are not constrained to it, so these values are sampling error: read them as 1 and 0 within their intervals."
        )
    return notes


def _artefacts(ix) -> dict:
    """Counts of estimates outside [0, 1] beyond rounding (ST > 1, S1 < 0)."""
    st, s1 = np.asarray(ix.ST), np.asarray(ix.S1)
    tol = 1e-9
    n_st, n_s1 = int(np.sum(st > 1 + tol)), int(np.sum(s1 < -tol))
    if not (n_st or n_s1):
        return {}
    return {"n_st": n_st, "n_s1": n_s1, "max_st": float(st.max()), "min_s1": float(s1.min())}


def _rtol() -> str:
    from clustermodel.sobol import CONSTANT_RTOL

    return f"{CONSTANT_RTOL:g}"


def indices_markdown(ix) -> str:
    """Markdown table of every output's indices with their intervals, the method and the notes."""
    lines = [
        method_sentence(ix),
        "",
        "| output | factor | S1 | S1 interval | ST | ST interval |",
        "|---|---|---:|---|---:|---|",
    ]
    for r in ix.to_records():
        lines.append(
            f"| {E(r['output'])} | {E(r['factor'])} | {r['S1']:.3f} | [{r['S1_low']:.3f}, {r['S1_high']:.3f}] | "
            f"{r['ST']:.3f} | [{r['ST_low']:.3f}, {r['ST_high']:.3f}] |"
        )
    notes = index_notes(ix)
    if notes:
        lines += ["", *[f"- {t}" for t in notes]]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# A study's weights and method choices (clustermodel.sensitivity.SobolResult)
# --------------------------------------------------------------------------------------------

#: Units listed one by one in the Markdown tables; beyond this the least stable are shown.
MAX_UNITS_LISTED = 40
#: Factors named in the key finding on weights vs importance; beyond it, those furthest from their nominal weight.
LIST_FACTORS = 6


def _distribution(result) -> str:
    dist = result.distribution
    par = ", ".join(f"{k} = {v}" for k, v in dist.items() if k not in ("name", "description"))
    return f"{dist['name']} ({par})" if par else str(dist["name"])


def _units_shown(result, out, nouns):
    """Unit labels to list, and a sentence on those left out (large studies)."""
    units = list(result.cluster_names)
    if len(units) <= MAX_UNITS_LISTED:
        return units, ""
    if result.nominal_scenario:
        # the least likely to keep their scenario first
        key = {u: out.get(f"scenario_kept[{u}]", {}).get("mean", 1.0) for u in units}
        which = "least likely to keep their scenario"
    else:
        # no scenarios: the widest 5-95 % rank interval first
        key = {u: -(out[f"rank[{u}]"]["q95"] - out[f"rank[{u}]"]["q05"]) if f"rank[{u}]" in out else 0.0 for u in units}
        which = "with the widest 5–95 % rank interval"
    order = {u: i for i, u in enumerate(units)}
    shown = set(sorted(units, key=lambda u: (key[u], order[u]))[:MAX_UNITS_LISTED])
    shown = [u for u in units if u in shown]
    return shown, (
        f"The {len(shown)} of {len(units)} {nouns.units} {which} are listed (in table order); every "
        f"{nouns.unit} is in the CSV and NetCDF outputs."
    )


def markdown(result, *, nouns: Nouns = PAPER_NOUNS) -> str:
    """The Sobol' stage's section: the run, weights against importance, the conclusions, the indices.

    Parameters
    ----------
    result : clustermodel.sensitivity.SobolResult
    nouns : Nouns
        What the study's units and higher-level units are called.
    """
    ix = result.indices
    lines = [
        "## Sobol' sensitivity to the weights" + (" and the method choices" if result.triggers else ""),
        "",
        f"Spec: {spec_text(result.spec)}; weights drawn as **{_distribution(result)}**: {result.distribution['description']}.",
        f"Trigger factors: {', '.join(f'{k} ∈ {list(v)}' for k, v in result.triggers.items()) or 'none'}.",
        f"Seed {result.seed}. " + method_sentence(ix),
        "",
        "### Weights against importance",
        "",
        "Nominal weight beside the indicator's effective share in the formula, its linear first-order importance "
        f"in the nominal index across {nouns.units} (Paruolo, Saisana & Saltelli 2013; squared Pearson r, and as a "
        "share of the total) and the Sobol' indices of the weight's own uncertainty.",
        "",
        "| indicator | nominal weight | effective share | importance r² | importance share | mean S1 (index) | mean ST (index) | S1 (rank shift) | ST (rank shift) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result.importance:
        lines.append(
            f"| {E(r['indicator'])} | {r['nominal_weight']:.3f} | {r['effective_weight']:.3f} | {r['linear_importance']:.3f} | "
            f"{r['linear_importance_share']:.3f} | {r['mean_index_S1']:.3f} | {r['mean_index_ST']:.3f} | "
            f"{r['rank_shift_S1']:.3f} | {r['rank_shift_ST']:.3f} |"
        )
    out = {r["output"]: r for r in result.output_table()}
    scenarios = [s for s in result.scenario if s]
    lines += ["", "### Do the conclusions survive?", ""]
    if scenarios:
        counts = {s: out[f"scenario_count[{s}]"] for s in scenarios}
        kept = out.get("counts_kept")
        lines.append(
            "- Nominal scenario counts: " + ", ".join(f"{s} {int(counts[s]['nominal'])}" for s in scenarios)
            + (f"; all {len(scenarios)} counts unchanged in **{kept['mean']:.1%}** of the weight draws." if kept else ".")
        )
        lines.append("- Count ranges (5–95 %): " + ", ".join(f"{s} {counts[s]['q05']:.0f}–{counts[s]['q95']:.0f}" for s in scenarios) + ".")
    if "mean_rank_shift" in out:
        shift = out["mean_rank_shift"]
        lines.append(
            f"- Mean absolute rank shift against the nominal ranking: mean {shift['mean']:.2f}, 95th percentile "
            f"{shift['q95']:.2f} places."
        )
    if "correlation" in out:
        cor = out["correlation"]
        lines.append(
            f"- {cap(nouns.unit)}–{nouns.higher} correlation: nominal {cor['nominal']:.3f}, 5–95 % "
            f"[{cor['q05']:.3f}, {cor['q95']:.3f}]."
        )
    shown, left_out = _units_shown(result, out, nouns)
    if shown and all(f"rank[{u}]" in out for u in shown):
        scenarios = bool(result.nominal_scenario)  # a study without higher-level units has none: no columns for them
        lines += [
            "",
            f"| {nouns.unit} | name | nominal rank | rank 5–95 % |" + (" nominal scenario | P(scenario kept) |" if scenarios else ""),
            "|---:|---|---:|---|" + ("---|---:|" if scenarios else ""),
        ]
        for u in shown:
            rk = out[f"rank[{u}]"]
            kept = out.get(f"scenario_kept[{u}]")
            p_kept = "" if kept is None else f"{kept['mean']:.1%}"
            lines.append(
                f"| {E(u)} | {E(result.cluster_names[u])} | {int(rk['nominal'])} | {rk['q05']:.0f}–{rk['q95']:.0f} |"
                + (f" {E(result.nominal_scenario.get(u, '?'))} | {p_kept} |" if scenarios else "")
            )
        if left_out:
            lines += ["", left_out]
    lines += [
        "",
        "### Indices of the study-level outputs",
        "",
        "| output | factor | S1 | S1 interval | ST | ST interval |",
        "|---|---|---:|---|---:|---|",
    ]
    for k in [k for k, c in enumerate(result.cluster) if c is None]:
        for j, f in enumerate(ix.factors):
            lines.append(
                f"| {E(ix.outputs[k])} | {E(f)} | {ix.S1[k, j]:.3f} | [{ix.S1_low[k, j]:.3f}, {ix.S1_high[k, j]:.3f}] | "
                f"{ix.ST[k, j]:.3f} | [{ix.ST_low[k, j]:.3f}, {ix.ST_high[k, j]:.3f}] |"
            )
    per_unit = [q for q in ("index", "rank", "scenario_kept") if q in result.quantity]
    if shown and per_unit:
        lines += ["", f"### Total indices of each {nouns.unit}'s {', '.join(per_unit)} (ST per factor)", ""]
        lines.append(f"| {nouns.unit} | output | " + " | ".join(E(f) for f in ix.factors) + " |")
        lines.append("|---:|---|" + "---:|" * len(ix.factors))
        for u in shown:
            for q in per_unit:
                name = f"{q}[{u}]"
                if name in ix.outputs:
                    k = ix.outputs.index(name)
                    lines.append(f"| {E(u)} | {q} | " + " | ".join(f"{v:.3f}" for v in ix.ST[k]) + " |")
    conv = result.convergence_table()
    if conv:
        ns = [w["n"] for w in conv["median_interval_width"]]
        study_level = [o for o, c in zip(ix.outputs, result.cluster) if c is None]
        lines += [
            "",
            "### Convergence",
            "",
            "Median width of the intervals over all non-constant outputs: "
            + ", ".join(f"N = {w['n']}: S1 {w['S1']:.3f}, ST {w['ST']:.3f}" for w in conv["median_interval_width"])
            + f" (N per design, {ix.replicates} design(s)). Total indices of the study-level outputs at each N:",
            "",
            "| output | factor | " + " | ".join(f"ST at N = {n}" for n in ns) + " |",
            "|---|---|" + "---|" * len(ns),
        ]
        by = {(r["output"], r["factor"], r["n"]): r for r in conv["records"]}
        for o in study_level:
            if o.startswith("scenario_count["):
                continue
            for f in ix.factors:
                cells = [by[(o, f, n)] for n in ns]
                lines.append(f"| {E(o)} | {E(f)} | " + " | ".join(f"{r['ST']:.3f} [{r['ST_low']:.3f}, {r['ST_high']:.3f}]" for r in cells) + " |")
    if result.notes:
        lines += ["", "### Notes", "", *[f"- {t}" for t in result.notes]]
    return "\n".join(lines) + "\n"


def conclusions(result, *, nouns: Nouns = PAPER_NOUNS, stem: str = "sobol") -> list:
    """The stage's conclusion for the top of the report: do the scenario counts survive the weights?"""
    kept = _output(result, "counts_kept")
    shift = _output(result, "mean_rank_shift")
    if kept is None and shift is None:
        return []
    agg = result.spec.aggregation_label
    if kept is not None:
        share = 100 * kept["mean"]
        text = (
            f"**The scenario counts change in {100 - share:.0f} % of weight draws** ({_distribution(result)}, aggregation `{agg}`: "
            f"its nominal counts {_nominal_counts(result)} hold in {share:.0f} %)"
        )
        if shift is not None:
            text += f"; ranks move by {shift['mean']:.2f} places on average"
    else:
        text = f"**Weight draws move ranks by {shift['mean']:.2f} places on average** ({_distribution(result)}, aggregation `{agg}`)"
    return [text + f". [{stem}]({stem}.md)"]


def _nominal_counts(result) -> str:
    """'3/12/10/0' of the nominal scenario counts of a run."""
    rows = {o["output"]: o for o in result.output_table()}
    vals = [rows.get(f"scenario_count[{s}]") for s in result.scenario if s]
    return "/".join(str(int(v["nominal"])) for v in vals if v is not None)


def _output(result, name):
    return next((o for o in result.output_table() if o["output"] == name), None)


def findings(result, *, nouns: Nouns = PAPER_NOUNS, equation1=None, triggers=None, seed_check=None, stem: str = "sobol") -> list:
    """Key findings of the Sobol' stage, each naming the analysis and spec it comes from.

    Parameters
    ----------
    result : SobolResult
        The main run.
    nouns : Nouns
    equation1 : SobolResult, optional
        The run under the aggregation 'equation1' (the formula as printed, whose weights cancel).
    triggers : SobolResult, optional
        The run with the method choices as trigger factors.
    seed_check : dict, optional
        A second seed's estimates against the main run's intervals (``workflow`` writes it).
    stem : str
        File stem of the main run's outputs, for the links.
    """
    ix = result.indices
    wvi = result.importance
    shift = _output(result, "mean_rank_shift")
    kept = _output(result, "counts_kept")
    design = (
        f"{ix.replicates} designs × N = {ix.n}" if ix.method == "replicate" else f"N = {ix.n}, bootstrap"
    )
    # An importance share is a share of the whole index: it compares with the indicator's effective weight (the
    # product of the normalised weights down the tree), which is its nominal weight in a one-level structure.
    nested = any(abs(w["effective_weight"] - w["nominal_weight"]) > 1e-12 for w in wvi)
    weight = "effective weight" if nested else "nominal weight"
    shown, which = wvi, ""
    if len(wvi) > LIST_FACTORS:  # a long list says nothing: the factors whose importance departs most from their weight
        gap = [abs(w["linear_importance_share"] - w["effective_weight"]) for w in wvi]
        keep = sorted(np.argsort(gap, kind="stable")[::-1][:LIST_FACTORS])
        shown = [wvi[i] for i in keep]
        which = f" (the {LIST_FACTORS} of {len(wvi)} indicators furthest from their {weight}; every one in [{stem}]({stem}.md))"
    text = (
        f"**Sobol' sensitivity to the weights** (aggregation `{result.spec.aggregation_label}`, {_distribution(result)}, "
        f"{design}, {ix.model_runs} model runs): {weight} vs squared-correlation importance share (Paruolo et al. 2013: "
        f"the share of the index's variance across {nouns.units} each indicator explains linearly, not a Sobol' index){which} — "
        + "; ".join(f"{w['indicator']} {w['effective_weight']:.2f} vs {w['linear_importance_share']:.2f}" for w in shown)
        + "."
    )
    if shift is not None:
        text += f" Ranks move by {shift['mean']:.2f} places on average"
        text += (
            f"; the scenario counts at the nominal weights under `{result.spec.aggregation_label}` ({_nominal_counts(result)}"
            f"{', not the paper' + chr(39) + 's' if result.spec.aggregation_label != 'equation1' else ''}) are unchanged in "
            f"{100 * kept['mean']:.0f} % of weight draws."
            if kept
            else "."
        )
    text += f" [{stem}]({stem}.md), [bars]({stem}_bars.png), [heatmap]({stem}_heatmap.png)"
    out = [text]
    if equation1 is not None:
        zero = bool(np.all(equation1.indices.S1 == 0) and np.all(equation1.indices.ST == 0))
        out.append(
            f"**Aggregation `{equation1.spec.aggregation_label}`** (the formula as printed): every weight's Sobol' index is "
            f"{'exactly 0' if zero else 'NOT zero'}"
            + (" (the outputs do not depend on the weights, which cancel)" if zero else "")
            + f". [{stem}_equation1]({stem}_equation1.md)"
        )
    if triggers is not None:
        t_kept = _output(triggers, "counts_kept")
        rec = [r for r in triggers.to_records() if r["output"] == "mean_rank_shift" and r["factor_kind"] != "weight"]
        top = max(rec, key=lambda r: r["S1"]) if rec else None
        text = f"**Method choices as trigger factors** ({', '.join(triggers.triggers)})"
        if t_kept is not None:
            text += (
                f": the nominal scenario counts hold in {100 * t_kept['mean']:.1f} % of runs over the menu of options above, each "
                "option equally likely (a statement about this menu, not about how plausible each option is)"
            )
        if top:
            text += (
                f"; `{top['factor']}` alone explains S1 = {top['S1']:.2f} [{top['S1_low']:.2f}, {top['S1_high']:.2f}] "
                "of the variance of the mean rank shift"
            )
        out.append(text + f". [{stem}_triggers]({stem}_triggers.md)")
    rare = int(np.sum(ix.rare))
    if rare:
        units = [o for o, q, r in zip(ix.outputs, result.quantity, ix.rare) if r]
        out.append(
            f"**Rare events** ({stem}, aggregation `{result.spec.aggregation_label}`): {rare} output(s) change in fewer than "
            f"{ix.events_needed} of the {2 * ix.n * ix.replicates} A and B runs ({_listing(units, 5)}); their indices "
            f"and intervals are not reliable at this N (the notes give the N each would need). [{stem}]({stem}.md)"
        )
    if seed_check:
        share = seed_check["S1"]["share_of_second_estimates_inside_first_intervals"]
        share_t = seed_check["ST"]["share_of_second_estimates_inside_first_intervals"]
        out.append(
            f"**Seed check** ({stem}, aggregation `{result.spec.aggregation_label}`): a second seed's S1 and ST estimates fall inside "
            f"the first run's {ix.confidence_level:.0%} intervals for {share:.0%} and {share_t:.0%} of the "
            f"non-constant indices; {seed_check.get('expected_share', float('nan')):.1%} is expected of calibrated intervals "
            f"({seed_check.get('expected_basis', '')}). [{stem}_seed_check]({stem}_seed_check.json)"
        )
    return out


def write_outputs(result, out, *, stem: str = "sobol", figures: bool = True, extra: dict | None = None, nouns: Nouns | None = None, appendix: str = "", node_labels: dict | None = None) -> list:
    """Write ``<stem>.json``, ``<stem>.md``, ``<stem>.nc`` and (optionally) the figures into ``out``.

    ``<stem>.nc`` holds every index (output x factor) at full resolution; ``<stem>.json`` is the run's summary:
    ``result.to_dict()`` without its ``records`` (a third copy of the same numbers: 72 MB at 2000 units), with
    ``full_resolution`` naming the NetCDF file instead.

    ``appendix`` is Markdown added at the end of ``<stem>.md`` (the audit preset's rank intervals).

    Figures: ``<stem>_bars.png`` (per-unit S1/ST with intervals), ``<stem>_heatmap.png`` (ST,
    units x factors) and, with a convergence study, ``<stem>_convergence.png``; a weight factor is named by its
    node's label where ``node_labels`` has one.
    """
    from clustermodel._io import ensure_dir, write_json, write_netcdf, write_text

    out = ensure_dir(out)
    summary = result.to_dict(records=False)  # every record is in the NetCDF file once
    summary["full_resolution"] = {"file": f"{stem}.nc", "contents": "S1, ST and their intervals for every output x factor"}
    written = [
        write_json(out / f"{stem}.json", {**summary, **(extra or {})}),
        write_text(out / f"{stem}.md", result.summary(nouns=nouns) + (("\n\n" + appendix) if appendix else "")),
        write_netcdf(out / f"{stem}.nc", result.to_dataset()),
    ]
    if figures:
        from clustermodel.plots import draw, sobol_bars, sobol_convergence, sobol_heatmap

        written.append(draw(sobol_bars, result, path=out / f"{stem}_bars.png", nouns=nouns, node_labels=node_labels))
        written.append(draw(sobol_heatmap, result, path=out / f"{stem}_heatmap.png", nouns=nouns, node_labels=node_labels))
        if result.indices.convergence is not None:
            written.append(draw(sobol_convergence, result, path=out / f"{stem}_convergence.png", nouns=nouns, node_labels=node_labels))
    return written


def _option(o) -> str:
    return " / ".join(o) if isinstance(o, (list, tuple)) else str(o)


def audit_markdown(preset, ranks, *, nouns: Nouns | None = None) -> str:
    """The audit preset's factors, each option with its plausibility, and every unit's rank interval."""
    nouns = nouns or Nouns()
    lo, hi = (1 - ranks.level) / 2 * 100, (1 + ranks.level) / 2 * 100
    lines = [
        "## The standard uncertainty set (audit preset)",
        "",
        f"Every factor below varies together, each option equally plausible; the weights vary by up to ±{preset.delta:.0%} "
        f"each ({preset.distribution}, renormalised within their parent). Min-max and rank are mapped onto "
        f"[{preset.spec.normalised_range[0]:g}, {preset.spec.normalised_range[1]:g}] in every run so that a geometric mean "
        f"is defined for every {nouns.unit}; this moves {preset.rank_changes} nominal rank(s). The Sobol' indices of these "
        "factors are in the tables above; below, each unit's rank over "
        f"{ranks.n_samples} Monte Carlo runs: the median and the {lo:g}th-{hi:g}th percentiles (an interval of the ranks the "
        "stated alternatives produce, not a confidence interval: it is as wide as the alternatives are, and would change "
        "with other alternatives or other plausibilities).",
        "",
        "| factor | options (each equally likely) |",
        "|---|---|",
        *[f"| {md_escape(k)} | {', '.join(md_escape(_option(o)) for o in v)} |" for k, v in preset.triggers.items()],
        f"| weights | nominal × (1 ± {preset.delta:g}), uniform |",
    ]
    if preset.dropped:
        lines += ["", "Left out: " + "; ".join(f"`{md_escape(k)}` ({md_escape(v)})" for k, v in preset.dropped.items()) + "."]
    order = np.argsort(ranks.nominal, kind="stable")
    lines += ["", f"| {nouns.unit} | nominal rank | median rank | {lo:g}-{hi:g} % interval |", "|---|---|---|---|"]
    for k in order[:60]:
        lines.append(f"| {md_escape(ranks.units[k])} | {int(ranks.nominal[k])} | {ranks.median[k]:g} | {ranks.low[k]:g}-{ranks.high[k]:g} |")
    if len(order) > 60:
        lines += ["", f"(60 of {len(order)} rows; every {nouns.unit} in sobol_audit_ranks.csv.)"]
    return "\n".join(lines) + "\n"


def audit_finding(preset, ranks, *, nouns: Nouns | None = None) -> str:
    nouns = nouns or Nouns()
    w = ranks.high - ranks.low
    k = int(np.argmax(w))
    return (
        f"**Standard uncertainty set** (audit preset: {', '.join(preset.triggers)} and the weights ±{preset.delta:.0%}, "
        f"{ranks.n_samples} runs): the median width of the {ranks.level:.0%} rank intervals is {np.median(w):g} places; widest "
        f"`{md_escape(ranks.units[k])}` (nominal {int(ranks.nominal[k])}, {ranks.low[k]:g}-{ranks.high[k]:g}). "
        "[sobol_audit](sobol_audit.md), [figure](sobol_audit_ranks.png)"
    )
