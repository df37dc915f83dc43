"""Stage runners: each runs one analysis on a study and writes its outputs.

Every runner has the signature ``run_<name>(study, config, out) -> dict`` and
writes ``<out>/<name>.md`` (details), ``<out>/<name>.json`` (machine-readable,
with a ``findings`` list of Markdown sentences for the report's opening) and
its figures and NetCDF. The analysis scripts in ``analyses/`` call them on the
paper's data; ``clustermodel report`` calls them on a user's data. Outputs are
byte-deterministic for a given config (no timestamps, no absolute paths).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from clustermodel._io import atomic_path, ensure_dir, write_json, write_netcdf, write_text
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds, weight_robustness_spec

__all__ = ["STAGES", "run_scores", "run_reproduction", "run_bootstrap", "run_correlation", "run_sobol", "write_json", "spec_from_config", "thresholds_from_config"]


def write_csv(path, df) -> None:
    """CSV with the index written only when it is named (a plain row counter is left out)."""
    named = any(n is not None for n in df.index.names)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=named)


def spec_from_config(study, config: dict) -> IndexSpec:
    """The one spec every stage uses: the study's spec with the config's ``[spec]`` table applied."""
    return IndexSpec.from_dict({**study.spec.to_dict(), **config.get("spec", {})}, where="config [spec]")





def thresholds_from_config(config: dict) -> ScenarioThresholds:
    cfg = config.get("scenarios", {})
    return ScenarioThresholds(cluster=cfg.get("cluster_threshold", 0.5), region=cfg.get("region_threshold", 0.5))


def _fmt(x, digits=3):
    return f"{x:.{digits}f}"


def run_scores(study, config: dict, out) -> dict:
    """Nominal index, rank and scenario of every unit under the paper's spec, and whether weights matter."""
    from clustermodel.scenarios import evaluate

    out = ensure_dir(out)
    cfg = config.get("scores", {})
    thresholds = thresholds_from_config(config)
    base = spec_from_config(study, config)
    notes = []
    has_regions = study.has_regions
    rng = np.random.default_rng(cfg.get("seed", 0))
    w0 = study.weights.values
    draws = rng.dirichlet(cfg.get("concentration", 50.0) * w0 / w0.sum(), size=cfg.get("n_draws", 2000))
    rows, spreads = [], {}
    for placement in ("equation1", "quadratic", "arithmetic"):
        spec = base.replace(aggregation=placement)
        if has_regions:
            ev = evaluate(study, spec, weights=draws, thresholds=thresholds)
            idx = ev.cluster_index.values
        else:
            from clustermodel.index import compute_index

            idx = compute_index(study, draws, spec).values
        spreads[placement] = float(np.max(idx.max(axis=0) - idx.min(axis=0)))
    nominal = base
    from clustermodel.index import compute_index, rank

    idx = compute_index(study, spec=nominal)
    rk = rank(idx, idx.dims[-1])
    ev = evaluate(study, nominal, thresholds=thresholds) if has_regions else None
    cl = study.clusters
    for i, unit in enumerate(cl[idx.dims[-1]].values):
        row = {
            "id": unit.item() if hasattr(unit, "item") else unit,
            "name": str(cl["name"].values[i]) if "name" in cl.coords else None,
            "group": str(cl["group"].values[i]) if "group" in cl.coords else None,
            "region": str(cl["region"].values[i]) if "region" in cl.coords else None,
            "index": float(idx.values[i]),
            "rank": int(rk.values[i]),
        }
        if ev is not None:
            row["region_index"] = float(ev.region_index_of_cluster.values[i])
            row["scenario"] = SCENARIOS[int(ev.scenario.values[i])]
        rows.append(row)
    counts = None if ev is None else {s: int(v) for s, v in zip(SCENARIOS, ev.scenario_counts.values)}
    n_draws = len(draws)
    findings = [
        (
            f"**Do the weights matter?** Under Equation 1 as printed, {n_draws} weight vectors drawn around the "
            f"nominal weights change no unit's index (largest spread {spreads['equation1']:.1e}): the weights cancel. "
            f"Under the quadratic variant the largest spread is {spreads['quadratic']:.3f}, under the arithmetic one "
            f"{spreads['arithmetic']:.3f}. [scores](scores.md)"
        )
    ]
    if counts is not None:
        findings.append(
            "**Scenarios under the nominal spec**: "
            + ", ".join(f"{v} {k}" for k, v in counts.items())
            + f" (thresholds {thresholds.cluster:g} and {thresholds.region:g} of the attainable maximum). "
            "[scores](scores.md), [figure](scores_scenarios.png)"
        )
    data = {
        "spec": nominal.to_dict(),
        "thresholds": thresholds.to_dict(),
        "units": rows,
        "scenario_counts": counts,
        "weight_spread": {"n_draws": n_draws, "concentration": cfg.get("concentration", 50.0), "max_abs_spread": spreads},
        "findings": findings,
        "notes": notes,
    }
    lines = [
        "## Nominal scores",
        "",
        f"Spec: `{nominal.to_dict()}`.",
        "",
        *[f"Note: {t}\n" for t in notes],
        "Largest change of any unit's index over "
        f"{n_draws} Dirichlet weight draws (concentration {data['weight_spread']['concentration']:g}) around the nominal weights:",
        "",
        "| Aggregation | Largest spread |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {v:.3g} |" for k, v in spreads.items()]
    cols = ["id", "name", "group", "region", "index", "rank"] + (["region_index", "scenario"] if ev is not None else [])
    lines += ["", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r[c]) if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
    write_text(out / "scores.md", "\n".join(lines) + "\n")
    write_json(out / "scores.json", data)
    import pandas as pd

    write_csv(out / "scores.csv", pd.DataFrame(rows).set_index("id"))
    if ev is not None:
        ds = ev.to_dataset()
    else:
        import xarray as xr

        ds = xr.Dataset({"index": idx, "rank": rk})
        ds.attrs.update(nominal.to_attrs())
    write_netcdf(out / "scores.nc", ds)
    if ev is not None:
        from clustermodel.plots import scenario_plot

        scenario_plot(
            ev.cluster_index.values,
            ev.region_index_of_cluster.values,
            [r["id"] for r in rows],
            [r["group"] for r in rows] if study.has_groups else None,
            (float(ev.cluster_threshold), float(ev.region_threshold)),
            counts,
            out / "scores_scenarios.png",
            title="Scenarios under the nominal spec",
            xlabel="Regional index",
            ylabel="Cluster index",
        )
    return data


def run_reproduction(study, config: dict, out) -> dict | None:
    """Tables 5-6 row by row and Figure 13 (needs published values)."""
    from clustermodel.plots import figure13
    from clustermodel.reproduce import reproduce

    if "published_index" not in study.clusters or study.regions is None or "published_index" not in study.regions:
        return None
    out = ensure_dir(out)
    result = reproduce(study, thresholds=thresholds_from_config(config))
    data = result.to_dict()
    n = result.n_reproduced
    rs = result.reference_search
    bad = [r for r in result.clusters if not r["reproduced"]]
    data["findings"] = [
        (
            f"**Reproduction**: {n['clusters']} of {len(result.clusters)} cluster rows (Table 5) and {n['regions']} of "
            f"{len(result.regions)} region rows (Table 6) reproduce within the published rounding. Table 5 needs "
            f"within-group maxima ({rs['clusters'].get('reference=group', 'n/a')} rows; whole sample: "
            f"{rs['clusters']['reference=sample']}). "
            + (
                "Rows not reproduced: "
                + "; ".join(f"cluster {r['no']} (published {r['published']}, computed {r['computed']:.3f})" for r in bad)
                + ". "
                if bad
                else ""
            )
            + "[reproduction](reproduction.md)"
        ),
        (
            f"**Negative trade surpluses**: Table 6 reproduces in {rs['regions'].get('negative=keep')} of "
            f"{len(result.regions)} rows when deficits are squared as printed, {rs['regions'].get('negative=zero')} when "
            "treated as zero: the published regional index counts a deficit as foreign activity. [reproduction](reproduction.md)"
        ),
        (
            f"**Figure 13**: thresholds at half the attainable maximum ({result.threshold_values['cluster']:.3g} and "
            f"{result.threshold_values['region']:.3g}) give "
            + ", ".join(f"{v} {k}" for k, v in result.scenario_counts.items())
            + " (paper: 3 supported, 14 lonely, 8 potential, 0 late), supported clusters in "
            + " and ".join(sorted({r['region'] for r in result.clusters if r['scenario'] == 'supported'}))
            + f". Cut-offs from {result.feasible['computed'][0]['cluster'][0]:.3f} to "
            f"{result.feasible['computed'][0]['cluster'][1]:.3f} (clusters) and "
            f"{result.feasible['computed'][0]['region'][0]:.3f} to {result.feasible['computed'][0]['region'][1]:.3f} "
            "(regions) of the attainable maximum all give the paper's counts. "
            "[figure](figure13.png)"
        ),
    ]
    write_text(out / "reproduction.md", result.summary())
    write_json(out / "reproduction.json", data)
    write_netcdf(out / "reproduction.nc", result.to_dataset())
    write_csv(out / "reproduction_clusters.csv", result.to_dataframe("clusters"))
    write_csv(out / "reproduction_regions.csv", result.to_dataframe("regions"))
    figure13(result, out / "figure13.png")
    return data


def _kappa_row(result) -> dict:
    """The numbers of one row of the concentration-sensitivity table (a weight bootstrap at one κ)."""
    t = result.cluster_table()
    width = (t["rank_high"] - t["rank_low"]).values
    st = result.study_summary()
    row = {
        "concentration": result.concentration,
        "mean_rank_interval_width": float(np.nanmean(width)),
        "max_rank_interval_width": float(np.nanmax(width)),
        "mean_rank_shift": st["mean_rank_shift"][result.index_node]["mean"],
        "clusters_with_unstable_scenario": None,
        "min_p_nominal_scenario": None,
        "p_nominal_counts": None,
        "p_reference_counts": None,
        "correlation_low": None,
        "correlation_high": None,
    }
    if result.has_regions:
        p = t["scenario_probability"].values
        nominal = t["scenario_nominal"].values.astype(int)
        p_nominal = p[np.arange(p.shape[0]), nominal]
        sc = st["scenario_counts"]
        row.update(
            clusters_with_unstable_scenario=int((p_nominal < 0.95).sum()),
            min_p_nominal_scenario=float(p_nominal.min()),
            p_nominal_counts=sc["p_nominal_counts"],
            p_reference_counts=sc["p_reference_counts"],
            correlation_low=st["correlation"]["low"],
            correlation_high=st["correlation"]["high"],
        )
    return row


def run_bootstrap(study, config: dict, out) -> dict:
    """Weight bootstrap over expert panels and, separately, the cluster (data) bootstrap, for any study.

    Numbers come from :mod:`clustermodel.bootstrap`; every word of ``bootstrap.md`` and of the findings from
    :mod:`clustermodel.reporting.bootstrap`. Returns ``{"skipped": reason}`` when nothing can run; parts that
    cannot run (the Equation 1 run, scenarios, the data bootstrap) are listed under ``"skipped"`` in the payload.
    """
    from clustermodel.bootstrap import cluster_bootstrap, weight_bootstrap
    from clustermodel.reporting.bootstrap import findings, markdown, reference_counts_for, skip_reason
    from clustermodel.reporting.nouns import PAPER_NOUNS
    from clustermodel.scenarios import StudyModel

    nouns = getattr(study, "nouns", None) or PAPER_NOUNS
    cfg = config.get("bootstrap", {})
    seed = int(cfg.get("seed", 0))
    n = int(cfg.get("n_resamples", 10000))
    cl = float(cfg.get("confidence_level", 0.90))
    kappas = [float(k) for k in cfg.get("concentration_sensitivity", [])]
    study_spec = spec_from_config(study, config)
    spec = weight_robustness_spec(study_spec)
    thresholds = thresholds_from_config(config)
    n_units = len(StudyModel(study, spec, thresholds=thresholds).units)
    if n_units < 2:
        return {"skipped": skip_reason("too_few_units", nouns)}
    structure = study.structure
    weights_vary = any(len(structure.children(v)) > 1 for v in structure.aggregates)
    reference = reference_counts_for(study) if study.has_regions else None
    reference_label = "the paper's counts" if reference is not None else None
    # one independent stream per run, spawned in a fixed order from the config seed
    spawned = np.random.default_rng(seed).spawn(4 + len(kappas))
    streams = iter(spawned)
    keep = bool(cfg.get("keep_draws", False))  # every draw in bootstrap.nc / bootstrap_data.nc (large for big studies)
    common = dict(
        n_resamples=n,
        confidence_level=cl,
        thresholds=thresholds,
        reference_counts=reference,
        memory_limit=cfg.get("memory_limit"),
        chunk_size=cfg.get("chunk_size"),
        client=cfg.get("scheduler"),
        progress=bool(cfg.get("progress", True)),
    )
    panels = dict(panel_size=int(cfg.get("panel_size", 5)), mode="parametric")
    concentration = float(cfg.get("concentration", 20.0))
    skipped = {}
    main_run = eq1 = None
    sensitivity = []
    if weights_vary:
        main_run = weight_bootstrap(study, spec, concentration=concentration, keep_draws=keep, rng=next(streams), **panels, **common)
        eq1_stream = next(streams)
        if study_spec.aggregation == "equation1":  # the study's own spec: show that its weights cancel
            eq1 = weight_bootstrap(study, study_spec, concentration=concentration, rng=eq1_stream, **panels, **common)
    else:
        next(streams), next(streams)
        skipped["weight_bootstrap"] = "no_weight_varies"
    data_runs = {
        m: cluster_bootstrap(study, spec, maxima=m, keep_draws=keep and m == "resample", rng=next(streams), **common)
        for m in ("resample", "fixed")
    }
    if weights_vary:
        sensitivity = [
            _kappa_row(weight_bootstrap(study, spec, concentration=k, rng=next(streams), **panels, **common))
            for k in kappas
        ]
    if not study.has_regions:
        skipped["scenarios"] = "no_higher_level"

    if main_run is not None:
        main_run = dataclasses.replace(main_run, seed=f"{seed} (spawned stream 0)")
    if eq1 is not None:
        eq1 = dataclasses.replace(eq1, seed=f"{seed} (spawned stream 1)")
    data_runs = {m: dataclasses.replace(r, seed=f"{seed} (spawned stream {2 + k})") for k, (m, r) in enumerate(data_runs.items())}
    bundle = {
        "weight": main_run,
        "equation1": eq1,
        "concentration": sensitivity,
        "data": data_runs,
        "skipped": skipped,
        "seed": seed,
        "n_resamples": n,
        "confidence_level": cl,
    }
    payload = {
        "seed": seed,
        "spec": spec.to_dict(),
        "weight_bootstrap": None if main_run is None else main_run.to_dict(),
        "equation1": None
        if eq1 is None
        else {
            "spec": eq1.spec.to_dict(),
            "zero_spread": eq1.zero_spread,
            "weights_cancel": eq1.weights_cancel,
            "max_index_spread": eq1.study_summary()["max_index_spread"],
            "max_rank_spread": int(np.nanmax((eq1.summary["rank_max"] - eq1.summary["rank_min"]).isel(node=0).values)),
            "scenario_counts": eq1.study_summary()["scenario_counts"] if eq1.has_regions else None,
        },
        "concentration_sensitivity": sensitivity,
        "data_bootstrap": {m: r.to_dict() for m, r in data_runs.items()},
        "skipped": {k: skip_reason(v, nouns) for k, v in skipped.items()},
    }
    links = ["[bootstrap](bootstrap.md)"]
    if main_run is not None:
        links.append("[ranks](bootstrap_ranks.png)")
        if main_run.has_regions:
            links.append("[scenarios](bootstrap_scenarios.png)")
    found = findings(bundle, nouns=nouns, reference_label=reference_label)
    payload["findings"] = [f + " " + (", ".join(links) if k == 0 and main_run is not None else "[bootstrap](bootstrap.md)") for k, f in enumerate(found)]

    reports = ensure_dir(out)
    write_text(reports / "bootstrap.md", markdown(bundle, nouns=nouns, reference_label=reference_label))
    write_json(reports / "bootstrap.json", payload)
    if main_run is not None:
        from clustermodel.plots import rank_uncertainty, scenario_stability
        from clustermodel.reporting.bootstrap import figure_titles

        titles = figure_titles(main_run, nouns)
        write_netcdf(reports / "bootstrap.nc", main_run.to_dataset(), compress=True)
        write_csv(reports / "bootstrap.csv", main_run.to_dataframe())
        rank_uncertainty(main_run, reports / "bootstrap_ranks.png", title=titles["ranks"])
        if main_run.has_regions:
            scenario_stability(main_run, reports / "bootstrap_scenarios.png", title=titles["scenarios"])
    write_netcdf(reports / "bootstrap_data.nc", data_runs["resample"].to_dataset(), compress=True)
    if main_run is None:
        import pandas as pd

        write_csv(reports / "bootstrap.csv", pd.DataFrame([{"maxima": m, **r.to_dict()["mean_index"]} for m, r in data_runs.items()]))
    return payload


def run_correlation(study, config: dict, out) -> dict | None:
    """Tests of the relationship between the unit index and the higher-level index, and of the group effect.

    Numbers come from :func:`clustermodel.relationship.relationship_analysis`; every word of
    ``correlation.md`` and of the findings from :mod:`clustermodel.reporting.relationship`.
    """
    from clustermodel._errors import ClusterModelError
    from clustermodel.plots import correlation_figure
    from clustermodel.relationship import index_values, relationship_analysis
    from clustermodel.reporting.nouns import PAPER_NOUNS
    from clustermodel.reporting.relationship import findings, markdown

    if not study.has_regions:
        return None
    out = ensure_dir(out)
    cfg = config.get("correlation", {})
    has_published = "published_index" in study.clusters and "published_index" in study.regions
    spec = spec_from_config(study, config)
    # r under each one-at-a-time change of the index definition
    changes = (
        ("reference", "sample"),
        ("reference", "group"),
        ("normalisation", "max"),
        ("normalisation", "minmax"),
        ("aggregation", "equation1"),
        ("aggregation", "quadratic"),
        ("aggregation", "arithmetic"),
        ("missing", "zero"),
        ("missing", "rescale"),
        ("negative", "keep"),
        ("negative", "zero"),
    )
    alternatives = {}
    for name, value in changes:
        if getattr(spec, name) == value or (name == "reference" and not study.has_groups):
            continue
        try:
            alternatives[f"{name}={value}"] = index_values(study, spec.replace(**{name: value}))
        except ClusterModelError:
            continue
    result = relationship_analysis(
        study,
        spec,
        source=cfg.get("source", "both") if has_published else "computed",
        thresholds=thresholds_from_config(config),
        n_resamples=int(cfg.get("n_resamples", 9999)),
        confidence_level=float(cfg.get("confidence_level", 0.95)),
        equivalence_bound=float(cfg.get("equivalence_bound", 0.3)),
        alternatives=alternatives,
        keep_draws=bool(cfg.get("keep_draws", False)),
        rng=int(cfg.get("seed", 0)),
    )
    nouns = getattr(study, "nouns", None) or PAPER_NOUNS
    data = result.to_dict()
    found = [f + " [correlation](correlation.md)" for f in findings(result, nouns=nouns)]
    if found:
        found[0] += ", [figure](correlation.png)"
    data["findings"] = found
    write_text(out / "correlation.md", markdown(result, nouns=nouns))
    write_json(out / "correlation.json", data)
    write_netcdf(out / "correlation.nc", result.to_dataset())
    correlation_figure(result, out / "correlation.png")
    write_csv(out / "correlation.csv", result.to_dataframe())
    return data


def _seed_check(first, second) -> dict:
    out = {"seeds": [first.seed, second.seed], "n": first.indices.n}
    for key in ("S1", "ST"):
        a, b = first.indices, second.indices
        lo, hi = getattr(a, f"{key}_low"), getattr(a, f"{key}_high")
        inside = (getattr(b, key) >= lo) & (getattr(b, key) <= hi)
        overlap = (lo <= getattr(b, f"{key}_high")) & (getattr(b, f"{key}_low") <= hi)
        out[key] = {
            "share_of_second_estimates_inside_first_intervals": float(inside.mean()),
            "share_of_interval_pairs_overlapping": float(overlap.mean()),
            "max_abs_difference": float(np.max(np.abs(getattr(a, key) - getattr(b, key)))),
        }
    return out


def _output(result, name):
    return next(o for o in result.to_dict()["outputs"] if o["output"] == name)


def _record(result, output, factor):
    return next((r for r in result.to_records() if r["output"] == output and r["factor"] == factor), None)


def run_sobol(study, config: dict, out) -> dict | None:
    """Sobol' sensitivity of scores, ranks and conclusions to the weights (and the method choices)."""
    from clustermodel.commands.sobol import write_outputs
    from clustermodel.sensitivity import weight_sensitivity

    if not study.has_regions:
        return None
    out = ensure_dir(out)
    cfg = config.get("sobol", {})
    spec = weight_robustness_spec(spec_from_config(study, config))
    seed = int(cfg.get("seed", 0))
    common = dict(
        n=int(cfg.get("n", 4096)),
        distribution=cfg.get("distribution", "dirichlet"),
        concentration=float(cfg.get("concentration", 50.0)),
        delta=float(cfg.get("delta", 0.25)),
        n_resamples=int(cfg.get("n_resamples", 200)),
        confidence_level=float(cfg.get("confidence_level", 0.95)),
    )
    triggers_list = cfg.get("triggers", [])
    main_run = weight_sensitivity(study, spec, rng=seed, convergence_levels=int(cfg.get("convergence_levels", 1)), **common)
    triggers = None
    if triggers_list:
        triggers = weight_sensitivity(study, spec, rng=seed, triggers=triggers_list, **common)
        write_outputs(triggers, out, stem="sobol_triggers")
    degenerate = weight_sensitivity(
        study, spec.replace(aggregation="equation1"), rng=seed, **{**common, "n": int(cfg.get("n_equation1", 1024))}
    )
    write_outputs(degenerate, out, stem="sobol_equation1", figures=False)
    second = weight_sensitivity(study, spec, rng=int(cfg.get("check_seed", seed + 1)), **common)
    check = _seed_check(main_run, second)
    write_json(out / "sobol_seed_check.json", check)

    d = main_run.to_dict()
    wvi = d["weights_vs_importance"]
    kept = _output(main_run, "counts_kept")["mean"]
    shift = _output(main_run, "mean_rank_shift")["mean"]
    eq1_zero = bool(np.all(degenerate.indices.S1 == 0) and np.all(degenerate.indices.ST == 0))
    findings = [
        (
            f"**Sobol' sensitivity to the weights** (aggregation `{spec.aggregation}`, {d['distribution']['name']} "
            f"κ = {common['concentration']:g}, N = {common['n']}, {d['model_runs']} model runs): nominal weight vs "
            "share of measured importance — "
            + "; ".join(f"{w['indicator']} {w['nominal_weight']:.2f} vs {w['linear_importance_share']:.2f}" for w in wvi)
            + f". Ranks move by {shift:.2f} places on average; the scenario counts at the nominal weights hold in "
            f"{100 * kept:.0f} % of weight draws. [sobol](sobol.md), [bars](sobol_bars.png), [heatmap](sobol_heatmap.png)"
        ),
        (
            f"**Equation 1 as printed**: every weight's Sobol' index is {'exactly 0' if eq1_zero else 'NOT zero'} "
            "(the outputs do not depend on the weights, which cancel). [sobol_equation1](sobol_equation1.md)"
        ),
    ]
    if triggers is not None:
        t_kept = _output(triggers, "counts_kept")["mean"]
        rec = [r for r in triggers.to_records() if r["output"] == "mean_rank_shift" and r["factor_kind"] != "weight"]
        top = max(rec, key=lambda r: r["S1"]) if rec else None
        findings.append(
            "**Method choices as trigger factors** ("
            + ", ".join(triggers_list)
            + f"): the scenario counts hold in {100 * t_kept:.1f} % of runs"
            + (
                f"; `{top['factor']}` alone explains S1 = {top['S1']:.2f} of the variance of the mean rank shift"
                if top
                else ""
            )
            + ". [sobol_triggers](sobol_triggers.md)"
        )
    extra = {"findings": findings, "equation1_all_zero": eq1_zero, "seed_check": check}
    write_outputs(main_run, out, stem="sobol", extra=extra)
    data = {**d, **extra}
    write_csv(out / "sobol.csv", main_run.to_dataframe())
    return data


#: Stage name -> runner, in dependency order.
STAGES = {
    "scores": run_scores,
    "reproduction": run_reproduction,
    "sobol": run_sobol,
    "bootstrap": run_bootstrap,
    "correlation": run_correlation,
}
