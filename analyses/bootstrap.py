"""Bootstrap over the expert weights (and, separately, over the clusters).

Reads data/ only (the paper's Tables 4-6); writes reports/bootstrap.md,
reports/bootstrap.json, reports/bootstrap.nc (every panel), reports/bootstrap_data.nc
(every cluster resample), reports/bootstrap_ranks.png and reports/bootstrap_scenarios.png.

The paper publishes only the mean of its five experts' weights, so the weight
bootstrap is the parametric one (Dirichlet centred on Table 4). It is run
under the placement of the config (weights after normalisation, 'quadratic')
and, to record the finding, under Equation 1 as printed, where the weights
cancel and the bootstrap shows zero spread. The concentration is varied over
``concentration_sensitivity`` because it is an assumption, not an estimate.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from clustermodel._io import atomic_path, write_text
from clustermodel.bootstrap import cluster_bootstrap, weight_bootstrap
from clustermodel.data import load_paper
from clustermodel.plots import rank_uncertainty, scenario_stability
from clustermodel.spec import SCENARIOS, IndexSpec


def _compressed(ds):
    return {name: {"zlib": True, "complevel": 4} for name, v in ds.data_vars.items() if v.dtype.kind in "fiub"}


def _kappa_row(result) -> dict:
    t = result.cluster_table()
    width = (t["rank_high"] - t["rank_low"]).values
    p = t["scenario_probability"].values
    nominal = t["scenario_nominal"].values.astype(int)
    p_nominal = p[np.arange(p.shape[0]), nominal]
    st = result.study_summary()
    return {
        "concentration": result.concentration,
        "mean_rank_interval_width": float(width.mean()),
        "max_rank_interval_width": float(width.max()),
        "clusters_with_unstable_scenario": int((p_nominal < 0.95).sum()),
        "min_p_nominal_scenario": float(p_nominal.min()),
        "p_paper_counts": st["scenario_counts"]["p_paper_counts"],
        "correlation_low": st["correlation"]["low"],
        "correlation_high": st["correlation"]["high"],
    }


def main(config: dict, reports) -> dict:
    cfg = config["bootstrap"]
    seed = int(cfg["seed"])
    n = int(cfg["n_resamples"])
    cl = float(cfg.get("confidence_level", 0.90))
    kappas = [float(k) for k in cfg.get("concentration_sensitivity", [])]
    study = load_paper()
    spec = IndexSpec(weights=cfg["placement"])
    # one independent stream per run, spawned in a fixed order from the config seed
    spawned = np.random.default_rng(seed).spawn(4 + len(kappas))
    streams = iter(spawned)
    common = dict(panel_size=int(cfg["panel_size"]), n_resamples=n, confidence_level=cl)

    main_run = weight_bootstrap(study, spec, mode="parametric", concentration=float(cfg["concentration"]), rng=next(streams), **common)
    eq1 = weight_bootstrap(
        study, spec.replace(weights="equation1"), mode="parametric", concentration=float(cfg["concentration"]), rng=next(streams), **common
    )
    data_runs = {
        m: cluster_bootstrap(study, spec, n_resamples=n, confidence_level=cl, maxima=m, rng=next(streams))
        for m in ("resample", "fixed")
    }
    sensitivity = [
        _kappa_row(weight_bootstrap(study, spec, mode="parametric", concentration=k, rng=next(streams), **common))
        for k in kappas
    ]

    main_run = dataclasses.replace(main_run, seed=f"{seed} (spawned stream 0)")
    data_runs = {m: dataclasses.replace(r, seed=f"{seed} (spawned stream {2 + k})") for k, (m, r) in enumerate(data_runs.items())}

    eq1_finding = {
        "spec": eq1.spec.to_dict(),
        "zero_spread": eq1.zero_spread,
        "max_index_spread": float(eq1.index_spread.max()),
        "max_rank_spread": int((eq1.cluster_rank.max("draw") - eq1.cluster_rank.min("draw")).max()),
        "scenario_counts": eq1.study_summary()["scenario_counts"]["nominal"],
        "p_paper_counts": eq1.study_summary()["scenario_counts"]["p_paper_counts"],
        "note": eq1.notes[0],
    }
    payload = {
        "seed": seed,
        "weight_bootstrap": main_run.to_dict(),
        "equation1": eq1_finding,
        "concentration_sensitivity": sensitivity,
        "data_bootstrap": {m: r.to_dict() for m, r in data_runs.items()},
    }

    lo_p, hi_p = 100 * (1 - cl) / 2, 100 * (1 + cl) / 2
    md = [
        "# Bootstrap: how uncertain are ranks and scenarios?",
        "",
        f"Config `[bootstrap]`: seed {seed} (independent streams spawned per run), {n} resamples, "
        f"percentile intervals {lo_p:g}–{hi_p:g} %.",
        "",
        "## Equation 1 as printed: the weights cancel",
        "",
        f"Under `{eq1.spec.to_dict()}` the largest spread (max − min over {n} panels) of any cluster's index is "
        f"{eq1_finding['max_index_spread']:g} and of any rank {eq1_finding['max_rank_spread']}: "
        + ("**zero**. " if eq1.zero_spread else "not zero. ")
        + eq1_finding["note"]
        + f" The scenario counts are {eq1_finding['scenario_counts']} in every panel "
        f"(P(paper's counts) = {eq1_finding['p_paper_counts']:.3f}).",
        "",
        main_run.summary().replace("## ", "## ", 1),
        "## Sensitivity to the assumed expert disagreement (Dirichlet κ)",
        "",
        "κ is not estimable from the paper (only the panel mean is published). Smaller κ = more disagreement.",
        "",
        f"| κ | mean width of the {lo_p:g}–{hi_p:g} % rank interval | widest | clusters with P(nominal scenario) < 0.95 | "
        "min P(nominal scenario) | P(paper's counts) | correlation interval |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in sensitivity:
        md.append(
            f"| {r['concentration']:g} | {r['mean_rank_interval_width']:.2f} | {r['max_rank_interval_width']:g} | "
            f"{r['clusters_with_unstable_scenario']} | {r['min_p_nominal_scenario']:.3f} | {r['p_paper_counts']:.3f} | "
            f"[{r['correlation_low']:.3f}, {r['correlation_high']:.3f}] |"
        )
    md += [
        "",
        "# Data bootstrap (separate from the weight bootstrap)",
        "",
        "Clusters resampled with replacement, regions kept intact, weights fixed at Table 4. Shown twice: with the "
        "normalisation maxima recomputed in every resample (the index as the study would have computed it) and with "
        "the full sample's maxima (only the composition varies). The gap between the two is the effect of the maxima.",
        "",
    ]
    for m, r in data_runs.items():
        md.append(r.summary().replace("## Cluster (data) bootstrap", f"## Cluster (data) bootstrap, maxima={m}", 1))
    md.append(f"Scenario order in every table: {', '.join(SCENARIOS)}.")

    write_text(reports / "bootstrap.md", "\n".join(md) + "\n")
    write_text(reports / "bootstrap.json", json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    ds = main_run.to_dataset()
    with atomic_path(reports / "bootstrap.nc") as tmp:
        ds.to_netcdf(tmp, encoding=_compressed(ds))
    dds = data_runs["resample"].to_dataset()
    with atomic_path(reports / "bootstrap_data.nc") as tmp:
        dds.to_netcdf(tmp, encoding=_compressed(dds))
    rank_uncertainty(main_run, reports / "bootstrap_ranks.png")
    scenario_stability(main_run, reports / "bootstrap_scenarios.png")
    return payload


if __name__ == "__main__":
    from _common import run_script

    run_script(main)
