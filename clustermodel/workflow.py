"""Stage runners: each runs one analysis on a study and writes its outputs.

Every runner has the signature ``run_<name>(study, config, out) -> dict`` and
writes ``<out>/<name>.md`` (details), ``<out>/<name>.json`` (machine-readable,
with a ``findings`` list of Markdown sentences for the report's opening) and
its figures and NetCDF. The analysis scripts in ``analyses/`` call them on the
paper's data; ``clustermodel report`` calls them on a user's data. Outputs are
byte-deterministic for a given config (no timestamps, no absolute paths).
"""

from __future__ import annotations

import warnings

import numpy as np

from clustermodel.config import section
from clustermodel._io import ensure_dir, write_csv, write_json, write_netcdf, write_text
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds, weight_robustness_spec

__all__ = ["STAGES", "run_scores", "run_reproduction", "run_bootstrap", "run_correlation", "run_sobol", "run_audit", "write_json", "spec_from_config", "thresholds_from_config"]


def _note_weight_spec(found: list, study, config) -> list:
    """Say, beside the first finding, when weight robustness was measured under another aggregation than the
    study's (Equation 1 as printed cancels every weight)."""
    spec = spec_from_config(study, config)
    used = weight_robustness_spec(spec)
    if used == spec or not found:
        return found
    note = (
        f" — measured under `{used.aggregation}` because the study's aggregation `{spec.aggregation}` cancels every "
        f"positive weight; everything else as in the study's spec —"
    )
    head, sep, rest = found[0].partition("**")
    title, sep2, tail = rest.partition("**")
    found = list(found)
    found[0] = f"{head}{sep}{title}{sep2}{note}{tail}" if sep2 else found[0] + note
    return found


def spec_from_config(study, config: dict) -> IndexSpec:
    """The one spec every stage uses: the study's spec with the config's ``[spec]`` table applied."""
    return IndexSpec.from_dict({**study.spec.to_dict(), **config.get("spec", {})}, where="config [spec]")





def thresholds_from_config(config: dict) -> ScenarioThresholds:
    cfg = section(config, "scenarios")
    return ScenarioThresholds(cluster=cfg["cluster_threshold"], region=cfg["region_threshold"])


def _fmt(x, digits=3):
    return f"{x:.{digits}f}"


def _weight_draws(study, cfg, rng):
    """Weight vectors around the nominal weights: Dirichlet within each parent of the structure."""
    from clustermodel.sensitivity import weights_from_unit

    tree = study.structure
    U = rng.random((int(cfg["n_draws"]), len(tree.weighted)))
    return weights_from_unit(U, tree.weight_array(), parents=tree.parent_codes(), concentration=float(cfg["concentration"]))


def run_scores(study, config: dict, out) -> dict:
    """Construction log, nominal scores of every node, ranks, scenarios, and whether the weights matter."""
    from clustermodel.index import compute_scores, construct, rank
    from clustermodel.reporting.scores import conclusions, findings, markdown
    from clustermodel.scenarios import StudyModel, evaluate

    out = ensure_dir(out)
    cfg = section(config, "scores")
    thresholds = thresholds_from_config(config)
    spec = spec_from_config(study, config)
    nouns = study.nouns
    c = construct(study, spec)
    tree = study.structure
    draws = _weight_draws(study, cfg, np.random.default_rng(cfg["seed"]))
    variants = [spec.aggregation] if not isinstance(spec.aggregation, str) else [spec.aggregation]
    if spec.aggregation == "equation1":
        variants = ["equation1", "quadratic", "arithmetic"]
    spreads = {}
    for agg in variants:
        model = StudyModel(study, spec.replace(aggregation=agg), thresholds=thresholds)
        idx = model.outputs(draws)["index"]
        key = model.spec.aggregation_label
        spreads[key] = float(np.nanmax(idx.max(axis=0) - idx.min(axis=0)))
    aggregates = sorted((v for v in tree.aggregates if v != tree.root), key=lambda v: (-tree.level(v), tree.nodes.index(v)))
    scores = compute_scores(study, spec=spec, nodes=[tree.root, *aggregates], construction=c)
    ranks = rank(scores, c.unit_dim)
    ev = evaluate(study, spec, thresholds=thresholds) if study.has_regions else None
    kept = study.clusters.sel({c.unit_dim: c.units})
    rows = []
    for i, unit in enumerate(c.units):
        row = {"id": unit.item() if hasattr(unit, "item") else unit}
        # a column the study does not have is not written (no empty name / group / region column)
        row.update({k: str(kept[k].values[i]) for k in ("name", "group", "region") if k in kept.coords})
        row |= {
            "index": float(scores.values[i, 0]),
            "rank": int(ranks.values[i, 0]),
            "nodes": {v: float(scores.values[i, k + 1]) for k, v in enumerate(aggregates)},
        }
        if ev is not None:
            row["region_index"] = float(ev.region_index_of_cluster.values[i])
            row["scenario"] = SCENARIOS[int(ev.scenario.values[i])]
        rows.append(row)
    counts = None if ev is None else {s: int(v) for s, v in zip(SCENARIOS, ev.scenario_counts.values)}
    zero_index = []
    aggs = {spec.aggregation} if isinstance(spec.aggregation, str) else set(spec.aggregation)
    from clustermodel.aggregate import aggregator

    if any(aggregator(a)[3] for a in aggs):  # a mean that a zero child sends to 0 (geometric, harmonic, genmean:p<0)
        for i in np.flatnonzero(scores.values[:, 0] == 0):
            zero_cols = [v for j, v in enumerate(tree.leaves) if c.present[i, j] and c.normalised[i, j] == 0]
            zero_index.append({"id": rows[i]["id"], "zero_indicators": zero_cols})
    if zero_index:
        from clustermodel._errors import ClusterModelWarning

        warnings.warn(
            f"{len(zero_index)} unit(s) score exactly 0 under a geometric or harmonic mean (a child at 0): "
            f"{', '.join(str(z['id']) for z in zero_index[:8])}{' …' if len(zero_index) > 8 else ''}; they tie at one rank, "
            "which the data cannot break; set normalised_range = [1, 100] in the spec to keep every unit above 0",
            ClusterModelWarning,
            stacklevel=2,
        )
    log = c.log()
    data = {
        "spec": spec.to_dict(),
        "thresholds": thresholds.to_dict(),
        "structure": tree.to_dict(),
        "effective_weights": dict(zip(tree.leaves, map(float, tree.effective_weights()))),
        "construction": log,
        "nodes": aggregates,
        "units": rows,
        "scenario_counts": counts,
        "zero_index": zero_index,
        "weight_spread": {"n_draws": len(draws), "concentration": float(cfg["concentration"]), "max_abs_spread": spreads},
    }
    data["findings"] = findings(data, nouns=nouns)
    data["headlines"] = conclusions(data, nouns=nouns)
    write_text(out / "scores.md", markdown(data, nouns=nouns, structure=tree))
    write_json(out / "scores.json", data)
    write_json(out / "construction.json", log)
    import pandas as pd

    flat = [{k: v for k, v in r.items() if k != "nodes"} | {f"score[{k}]": v for k, v in r["nodes"].items()} for r in rows]
    write_csv(out / "scores.csv", pd.DataFrame(flat).set_index("id"))
    ds = scores.to_dataset(name="score").assign(rank=ranks)
    if ev is not None:
        ds = ds.assign(scenario=ev.scenario, region_index_of_unit=ev.region_index_of_cluster)
    ds.attrs.update(spec.to_attrs())
    write_netcdf(out / "scores.nc", ds)
    if ev is not None:
        from clustermodel.plots import draw, scenario_plot

        draw(
            scenario_plot,
            ev.cluster_index.values,
            ev.region_index_of_cluster.values,
            [r["id"] for r in rows],
            [r["group"] for r in rows] if study.has_groups else None,
            (float(ev.cluster_threshold), float(ev.region_threshold)),
            counts,
            path=out / "scores_scenarios.png",
            title="Scenarios under the nominal spec",
            nouns=nouns,
        )
    return data


def run_reproduction(study, config: dict, out) -> dict | None:
    """Tables 5-6 row by row and Figure 13 (needs published values)."""
    from clustermodel.plots import draw, figure13
    from clustermodel.reporting.reproduction import conclusions, findings, markdown
    from clustermodel.reproduction import reproduce

    if "published_index" not in study.clusters or study.regions is None or "published_index" not in study.regions:
        return {"skipped": "no published index to compare with (a 'published_index' column in both the unit and the higher-level table)"}
    if not study.structure.is_flat or study.spec.top_aggregation not in ("equation1", "quadratic", "arithmetic"):
        return {"skipped": "the row-by-row comparison covers one-level Euclidean or arithmetic indices like the paper's"}
    out = ensure_dir(out)
    reference = section(config, "reproduction")["reference"]
    spec = None if reference == "auto" else study.spec.replace(reference=reference)  # None: the set that reproduces most rows
    result = reproduce(study, spec, thresholds=thresholds_from_config(config))
    data = result.to_dict()
    data["findings"] = findings(result, paper=bool(study.paper))
    data["headlines"] = conclusions(result, paper=bool(study.paper))
    write_text(out / "reproduction.md", markdown(result, nouns=study.nouns))
    write_json(out / "reproduction.json", data)
    write_netcdf(out / "reproduction.nc", result.to_dataset())
    write_csv(out / "reproduction_clusters.csv", result.to_dataframe("clusters"))
    write_csv(out / "reproduction_regions.csv", result.to_dataframe("regions"))
    draw(figure13, result, path=out / "figure13.png", nouns=study.nouns)
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
    from clustermodel.reporting.bootstrap import conclusions, findings, markdown, reference_counts_for, skip_reason
    from clustermodel.scenarios import StudyModel

    nouns = study.nouns
    cfg = section(config, "bootstrap")
    seed = int(cfg["seed"])
    n = int(cfg["n_resamples"])
    cl = float(cfg["confidence_level"])
    kappas = [float(k) for k in cfg["concentration_sensitivity"]]
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
    spawned = np.random.SeedSequence(seed).spawn(4 + len(kappas))  # each result records (seed, its spawn key)
    streams = iter(spawned)
    keep = bool(cfg["keep_draws"])  # every draw in bootstrap.nc / bootstrap_data.nc (large for big studies)
    common = dict(
        n_resamples=n,
        confidence_level=cl,
        thresholds=thresholds,
        reference_counts=reference,
        memory_limit=cfg["memory_limit"],
        chunk_size=cfg["chunk_size"],
        client=cfg["scheduler"],
        progress=bool(cfg["progress"]),
        quantiles=cfg["quantiles"],
        nodes=cfg["nodes"],
    )
    experts = cfg["experts"] or None  # a path (relative to where the command runs), or none
    mode = cfg["mode"] or ("nonparametric" if experts else "parametric")
    panels = dict(panel_size=cfg["panel_size"], mode=mode, experts=experts)
    concentration = float(cfg["concentration"])
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
    rules = {"both": ("resample", "fixed"), "none": ()}.get(cfg["data_bootstrap"], (cfg["data_bootstrap"],))
    first = rules[0] if rules else None  # the run whose draws bootstrap.nc keeps and bootstrap_data.nc holds
    data_runs = {}
    for m in ("resample", "fixed"):  # each rule keeps its own stream whichever rules run
        stream = next(streams)
        if m in rules:
            data_runs[m] = cluster_bootstrap(study, spec, maxima=m, keep_draws=keep and m == first, rng=stream, **common)
    if not rules:
        skipped["data_bootstrap"] = "not_requested"
    if weights_vary and mode == "parametric":  # κ is the parametric panels' concentration
        sensitivity = [
            _kappa_row(weight_bootstrap(study, spec, concentration=k, rng=next(streams), **panels, **common))
            for k in kappas
        ]
    if not study.has_regions:
        skipped["scenarios"] = "no_higher_level"

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
    found = _note_weight_spec(findings(bundle, nouns=nouns, reference_label=reference_label), study, config)
    payload["findings"] = [f + " " + (", ".join(links) if k == 0 and main_run is not None else "[bootstrap](bootstrap.md)") for k, f in enumerate(found)]
    payload["headlines"] = conclusions(bundle, nouns=nouns)

    reports = ensure_dir(out)
    write_text(reports / "bootstrap.md", markdown(bundle, nouns=nouns, reference_label=reference_label))
    write_json(reports / "bootstrap.json", payload)
    if main_run is not None:
        from clustermodel.plots import draw, rank_uncertainty, scenario_stability
        from clustermodel.reporting.bootstrap import figure_titles

        titles = figure_titles(main_run, nouns)
        write_netcdf(reports / "bootstrap.nc", main_run.to_dataset(), compress=True)
        write_csv(reports / "bootstrap.csv", main_run.to_dataframe())
        draw(rank_uncertainty, main_run, path=reports / "bootstrap_ranks.png", title=titles["ranks"], nouns=nouns)
        if main_run.has_regions:
            draw(scenario_stability, main_run, path=reports / "bootstrap_scenarios.png", title=titles["scenarios"], nouns=nouns)
    if first is not None:
        write_netcdf(reports / "bootstrap_data.nc", data_runs[first].to_dataset(), compress=True)
    if main_run is None and data_runs:
        import pandas as pd

        write_csv(reports / "bootstrap.csv", pd.DataFrame([{"maxima": m, **r.to_dict()["mean_index"]} for m, r in data_runs.items()]))
    return payload


def run_correlation(study, config: dict, out) -> dict | None:
    """Tests of the relationship between the unit index and the higher-level index, and of the group effect.

    Numbers come from :func:`clustermodel.relationship.relationship_analysis`; every word of
    ``correlation.md`` and of the findings from :mod:`clustermodel.reporting.relationship`.
    """
    from clustermodel._errors import ClusterModelError
    from clustermodel.plots import correlation_figure, draw
    from clustermodel.relationship import index_values, relationship_analysis
    from clustermodel.reporting.relationship import conclusions, findings, markdown

    if not study.has_regions:
        return {
            "skipped": f"no higher-level index: give a table of {study.nouns.highers} (--regions) and the column naming each "
            f"{study.nouns.unit}'s {study.nouns.higher} (--region-column)"
        }
    out = ensure_dir(out)
    cfg = section(config, "correlation")
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
        source=cfg["source"] if has_published else "computed",
        thresholds=thresholds_from_config(config),
        n_resamples=int(cfg["n_resamples"]),
        confidence_level=float(cfg["confidence_level"]),
        equivalence_bound=float(cfg["equivalence_bound"]),
        alternatives=alternatives,
        keep_draws=bool(cfg["keep_draws"]),
        rng=int(cfg["seed"]),
    )
    nouns = study.nouns
    data = result.to_dict()
    found = [f + " [correlation](correlation.md)" for f in findings(result, nouns=nouns)]
    if found:
        found[0] += ", [figure](correlation.png)"
    data["findings"] = found
    data["headlines"] = conclusions(result, nouns=nouns)
    write_text(out / "correlation.md", markdown(result, nouns=nouns))
    write_json(out / "correlation.json", data)
    write_netcdf(out / "correlation.nc", result.to_dataset())
    draw(correlation_figure, result, path=out / "correlation.png", nouns=nouns)
    write_csv(out / "correlation.csv", result.to_dataframe())
    return data


def _seed_check(first, second) -> dict:
    """A second seed's estimates against the first run's intervals, over the non-constant outputs."""
    a, b = first.indices, second.indices
    varying = ~(a.constant | b.constant)
    from clustermodel.diagnostics import expected_overlap

    out = {"seeds": [first.seed, second.seed], "n": a.n, "replicates": a.replicates, "method": a.method}
    # calibrated intervals: the second estimate falls inside the first's t interval with this probability
    if a.method == "replicate":
        out["expected_share"] = expected_overlap(a.replicates, a.confidence_level)
        out["expected_basis"] = f"two estimates of equal error and a t interval with {a.replicates - 1} degrees of freedom"
    else:
        out["expected_share"] = expected_overlap(None, a.confidence_level)
        out["expected_basis"] = "two estimates of equal error and a normal-theory interval"
    for key in ("S1", "ST"):
        lo, hi = getattr(a, f"{key}_low")[varying], getattr(a, f"{key}_high")[varying]
        est_b = getattr(b, key)[varying]
        inside = (est_b >= lo) & (est_b <= hi)
        overlap = (lo <= getattr(b, f"{key}_high")[varying]) & (getattr(b, f"{key}_low")[varying] <= hi)
        diff = np.abs(getattr(a, key) - getattr(b, key))
        out[key] = {
            "share_of_second_estimates_inside_first_intervals": float(inside.mean()) if inside.size else 1.0,
            "share_of_interval_pairs_overlapping": float(overlap.mean()) if overlap.size else 1.0,
            "max_abs_difference": float(diff.max()) if diff.size else 0.0,
        }
    return out


def _sobol_options(cfg: dict) -> dict:
    """Estimator options of the [sobol] config section (N per design, replicates, method, scheduling)."""
    opts = {
        "n": int(cfg["n"]),
        "method": cfg["method"],
        "n_resamples": int(cfg["n_resamples"]),
        "confidence_level": float(cfg["confidence_level"]),
        "memory_limit": cfg["memory_limit"],
        "client": cfg["scheduler"] or None,
    }
    if cfg["replicates"] is not None:
        opts["replicates"] = int(cfg["replicates"])
    if cfg["chunk_size"] is not None:
        opts["chunk_size"] = int(cfg["chunk_size"])
    return opts


def run_sobol(study, config: dict, out) -> dict | None:
    """Sobol' sensitivity of scores, ranks and conclusions to the weights (and the method choices)."""
    from clustermodel.reporting.sobol import conclusions, findings, write_outputs
    from clustermodel.sensitivity import weight_sensitivity

    out = ensure_dir(out)
    nouns = study.nouns
    labels = study.structure.node_labels()
    cfg = section(config, "sobol")
    spec = weight_robustness_spec(spec_from_config(study, config))
    seed = int(cfg["seed"])
    common = dict(
        distribution=cfg["distribution"],
        concentration=float(cfg["concentration"]),
        delta=float(cfg["delta"]),
        progress=bool(cfg["progress"]),
        **_sobol_options(cfg),
    )
    triggers_list = cfg["triggers"]
    main_run = weight_sensitivity(study, spec, rng=seed, convergence_levels=int(cfg["convergence_levels"]), **common)
    triggers = None
    if triggers_list:
        triggers = weight_sensitivity(study, spec, rng=seed, triggers=triggers_list, **common)
        write_outputs(triggers, out, stem="sobol_triggers", nouns=nouns, node_labels=labels)
    degenerate = None
    if spec_from_config(study, config).aggregation == "equation1":  # the study's own formula cancels its weights: show it
        degenerate = weight_sensitivity(
            study, spec.replace(aggregation="equation1"), rng=seed, **{**common, "n": int(cfg["n_equation1"])}
        )
        write_outputs(degenerate, out, stem="sobol_equation1", figures=False, nouns=nouns)
    audit_found = []
    if cfg["preset"] == "audit":
        from clustermodel.plots import draw, rank_intervals
        from clustermodel.reporting.sobol import audit_finding, audit_markdown
        from clustermodel.uncertainty import audit_preset, rank_uncertainty

        preset = audit_preset(study, spec_from_config(study, config))
        if preset.triggers:
            audit_run = weight_sensitivity(
                study, preset.spec, rng=seed, triggers=preset.triggers,
                **{**common, "distribution": preset.distribution, "delta": preset.delta},
            )
            ranks = rank_uncertainty(
                study, preset, n_samples=int(cfg["uncertainty_samples"]), rng=seed + 2, thresholds=thresholds_from_config(config)
            )
            extra_audit = {"preset": preset.to_dict(), "rank_uncertainty": ranks.to_dict()}
            write_outputs(audit_run, out, stem="sobol_audit", extra=extra_audit, nouns=nouns, appendix=audit_markdown(preset, ranks, nouns=nouns), node_labels=labels)
            write_csv(out / "sobol_audit_ranks.csv", ranks.to_dataframe().rename_axis("id"))
            draw(rank_intervals, ranks, path=out / "sobol_audit_ranks.png", nouns=nouns)
            audit_found.append(audit_finding(preset, ranks, nouns=nouns))
    check_seed = cfg["check_seed"]
    second = weight_sensitivity(study, spec, rng=int(seed + 1 if check_seed is None else check_seed), **common)
    check = _seed_check(main_run, second)
    write_json(out / "sobol_seed_check.json", check)

    eq1_zero = None if degenerate is None else bool(np.all(degenerate.indices.S1 == 0) and np.all(degenerate.indices.ST == 0))
    found = _note_weight_spec(findings(main_run, nouns=nouns, equation1=degenerate, triggers=triggers, seed_check=check), study, config) + audit_found
    extra = {"findings": found, "headlines": conclusions(main_run, nouns=nouns) + audit_found, "equation1_all_zero": eq1_zero, "seed_check": check}
    write_outputs(main_run, out, stem="sobol", extra=extra, nouns=nouns, node_labels=labels)
    data = {**main_run.to_dict(records=False), **extra}  # the stage's summary; the records are in sobol.nc / sobol.csv
    frame = main_run.to_dataframe()
    if not study.has_regions:  # no scenarios: no empty scenario column
        frame = frame.drop(columns="scenario")
    write_csv(out / "sobol.csv", frame)
    return data


#: One-at-a-time changes of the spec compared in the audit when the config names no variants.
AUDIT_VARIANTS = (
    ("normalisation", "zscore"),
    ("normalisation", "rank"),
    ("normalisation", "minmax"),
    ("aggregation", "arithmetic"),
    ("aggregation", "geometric"),
    ("missing", "mean"),
    ("missing", "rescale"),
    ("treatment", "winsorise"),
    ("treatment", "none"),
)


def _audit_variants(study, spec, cfg) -> tuple[dict, dict]:
    """name -> spec of the variants the audit compares (the nominal first), and the ones dropped with the reason."""
    from clustermodel._errors import ClusterModelError
    from clustermodel.index import compute_index, construct

    given = cfg["variants"]
    candidates = {}
    if given:
        for name, fields in given.items():
            candidates[name] = spec.replace(**fields)
    else:
        for field, value in AUDIT_VARIANTS:
            if getattr(spec, field) != value:
                candidates[f"{field}={value}"] = spec.replace(**{field: value})
    variants, dropped = {"nominal": spec}, {}
    for name, v in candidates.items():
        try:
            compute_index(study, spec=v, construction=construct(study, v, warn=False))
        except ClusterModelError as exc:
            dropped[name] = str(exc)
            continue
        variants[name] = v
    return variants, dropped


def run_audit(study, config: dict, out) -> dict:
    """The statistical audit of the index: data tables, coherence, weights against importance (and weights that close
    the gap), element removal, variants compared, strengths and weaknesses.

    Numbers come from :mod:`clustermodel.datastats`, :mod:`clustermodel.coherence`, :mod:`clustermodel.importance`,
    :mod:`clustermodel.removal` and :mod:`clustermodel.compare`; every word from :mod:`clustermodel.reporting.audit`.
    """
    import pandas as pd

    from clustermodel._errors import ClusterModelError
    from clustermodel.coherence import statistical_coherence
    from clustermodel.compare import compare_variants, outranking, unit_profile
    from clustermodel.datastats import STAT_FLAGS, data_availability, indicator_statistics
    from clustermodel.importance import optimise_weights, weight_importance
    from clustermodel.index import construct
    from clustermodel.plots import coherence_heatmap, distribution_strips, draw
    from clustermodel.removal import element_removal
    from clustermodel.reporting._text import spec_text
    from clustermodel.reporting.audit import conclusions, findings, markdown

    out = ensure_dir(out)
    cfg = section(config, "audit")
    nouns = study.nouns
    spec = spec_from_config(study, config)
    tree = study.structure
    c = construct(study, spec, warn=False)
    if len(c.units) < 3:
        return {"skipped": f"fewer than 3 {nouns.units} to audit"}
    bundle = {"spec_text": spec_text(spec), "stat_flags": STAT_FLAGS}
    bundle["availability"] = data_availability(study, spec)
    bundle["stats_raw"] = indicator_statistics(study, spec, stage="raw")
    bundle["stats_normalised"] = indicator_statistics(study, spec, stage="normalised")
    bundle["coherence"] = statistical_coherence(
        study, spec, method=cfg["method"], values=cfg["values"], collinear=cfg["collinear"], negative=cfg["negative"], weak=cfg["weak"]
    )
    bundle["importance"] = weight_importance(
        study, spec, n_resamples=int(cfg["n_resamples"]), confidence_level=float(cfg["confidence_level"]), rng=int(cfg["seed"]), values=cfg["values"]
    )
    opt_spec = weight_robustness_spec(spec)
    node = cfg["optimise_node"] or tree.root
    bundle["optimised"] = None
    if node not in tree.aggregates or len(tree.children(node)) < 2:
        bundle["optimise_skipped"] = f"`{node}` is not an aggregate with two or more children"
    else:
        try:
            bundle["optimised"] = optimise_weights(study, opt_spec, node=node, measure=cfg["optimise_measure"], target=cfg["optimise_target"] or None)
        except ClusterModelError as exc:
            bundle["optimise_skipped"] = str(exc)
    bundle["removal"] = element_removal(study, spec)
    variants, dropped = _audit_variants(study, spec, cfg)
    bundle["variants_dropped"] = dropped
    bundle["comparison"] = compare_variants(study, variants) if len(variants) > 1 else None
    if bundle["comparison"] is None:
        bundle["comparison_skipped"] = "; ".join(f"{k}: {v}" for k, v in dropped.items()) or "no variant differs from the spec"
    bundle["profile"] = unit_profile(study, spec, n=int(cfg["profile_size"]))
    bundle["outranking"] = outranking(study, spec)
    bundle["nominal_rank"] = bundle["removal"].nominal_rank
    bundle["optimise_aggregation"] = None if opt_spec == spec else opt_spec.aggregation_label

    opt = bundle["optimised"]
    data = {
        "spec": spec.to_dict(),
        "availability": bundle["availability"].to_dict(),
        "statistics": {"raw": bundle["stats_raw"].to_dict(), "normalised": bundle["stats_normalised"].to_dict()},
        "coherence": {k: v for k, v in bundle["coherence"].to_dict().items() if k != "correlations"},
        "importance": bundle["importance"].to_dict(),
        "optimised_weights": None if opt is None else {**opt.to_dict(), "spec": opt_spec.to_dict()},
        "optimise_spec_differs": opt_spec != spec,
        "optimise_skipped": bundle.get("optimise_skipped"),
        "removal": bundle["removal"].to_dict(),
        "variants": None if bundle["comparison"] is None else bundle["comparison"].to_dict(),
        "variants_dropped": dropped,
        "findings": findings(bundle, nouns=nouns),
        "headlines": conclusions(bundle, nouns=nouns),
    }
    write_text(out / "audit.md", markdown(bundle, nouns=nouns))
    write_json(out / "audit.json", data)
    write_csv(out / "audit_statistics.csv", pd.concat({"raw": bundle["stats_raw"].to_dataframe(), "normalised": bundle["stats_normalised"].to_dataframe()}, names=["stage"]))
    write_csv(out / "audit_availability.csv", bundle["availability"].to_dataframe())
    write_csv(out / "audit_correlations.csv", bundle["coherence"].correlations.to_dataframe().set_index(["node_a", "node_b"]))
    write_csv(out / "audit_flags.csv", bundle["coherence"].flags.to_dataframe().set_index("kind"))
    write_csv(out / "audit_aggregates.csv", bundle["coherence"].to_dataframe())
    write_csv(out / "audit_importance.csv", bundle["importance"].to_dataframe())
    write_csv(out / "audit_removal.csv", bundle["removal"].to_dataframe())
    write_csv(out / "audit_removal_units.csv", bundle["removal"].unit_frame())
    if bundle["comparison"] is not None:
        write_csv(out / "audit_variants.csv", bundle["comparison"].to_dataframe())
    prof = bundle["profile"].to_dataframe()
    prof["copeland"] = bundle["outranking"].copeland
    write_csv(out / "audit_profiles.csv", prof)
    if opt is not None:
        write_csv(out / "audit_optimised_structure.csv", opt.structure.file_frame().set_index("node"))
    labels = tree.node_labels()
    draw(coherence_heatmap, bundle["coherence"].correlations, path=out / "audit_correlation.png", node_labels=labels)
    raw = np.where(np.isfinite(c.raw), c.raw, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column is NaN, drawn as nothing
        lo, hi = np.nanmin(raw, axis=0), np.nanmax(raw, axis=0)
        before = (raw - lo) / np.where(hi > lo, hi - lo, 1.0)
        after = np.where(c.present, c.normalised, np.nan)
        amin = np.nanmin(after, axis=0)
        amax = np.nanmax(after, axis=0)
        after = (after - amin) / np.where(amax > amin, amax - amin, 1.0)  # z-scores too, so both panels share [0, 1]
    flagged = [r["indicator"] for r in bundle["stats_raw"].records if r["flags"]]
    draw(distribution_strips, tree.leaves, before, after, path=out / "audit_distributions.png", flagged=flagged, node_labels=labels)
    return data


#: Stage name -> runner, in dependency order.
STAGES = {
    "scores": run_scores,
    "reproduction": run_reproduction,
    "audit": run_audit,
    "sobol": run_sobol,
    "bootstrap": run_bootstrap,
    "correlation": run_correlation,
}
