"""Sobol' sensitivity of the scores, ranks and conclusions to the expert weights (and the method choices).

Writes into reports/:

- sobol.json, sobol.md, sobol.nc, sobol_bars.png, sobol_heatmap.png: the four Table 4 weights drawn from
  Dirichlet(concentration x published weights) under the [sobol] placement, with a convergence study;
- sobol_triggers.*: the same plus the spec's discrete choices as trigger factors;
- sobol_equation1.json/.md/.nc: Equation 1 as printed, where the weights cancel (the degenerate finding);
- sobol_seed_check.json: a second seed's estimates against the first run's intervals.
"""

from __future__ import annotations

import json

import numpy as np

from clustermodel._io import write_text
from clustermodel.commands.sobol import write_outputs
from clustermodel.data import load_paper
from clustermodel.sensitivity import weight_sensitivity
from clustermodel.spec import IndexSpec


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


def main(config: dict, reports) -> dict:
    cfg = config["sobol"]
    study = load_paper()
    spec = IndexSpec(weights=cfg["placement"])
    common = dict(
        n=cfg["n"],
        distribution=cfg.get("distribution", "dirichlet"),
        concentration=cfg["concentration"],
        delta=cfg.get("delta", 0.25),
        n_resamples=cfg["n_resamples"],
        confidence_level=cfg["confidence_level"],
    )
    main_run = weight_sensitivity(study, spec, rng=cfg["seed"], convergence_levels=cfg.get("convergence_levels", 1), **common)
    write_outputs(main_run, reports, stem="sobol")

    triggers = weight_sensitivity(study, spec, rng=cfg["seed"], triggers=cfg.get("triggers", []), **common)
    write_outputs(triggers, reports, stem="sobol_triggers")

    degenerate = weight_sensitivity(study, IndexSpec(weights="equation1"), rng=cfg["seed"], **{**common, "n": cfg.get("n_equation1", 1024)})
    write_outputs(degenerate, reports, stem="sobol_equation1", figures=False)

    second = weight_sensitivity(study, spec, rng=cfg["check_seed"], **common)
    check = _seed_check(main_run, second)
    write_text(reports / "sobol_seed_check.json", json.dumps(check, indent=2) + "\n")
    return {
        "main": {"n": main_run.indices.n, "notes": list(main_run.notes)},
        "equation1_all_zero": bool(np.all(degenerate.indices.S1 == 0) and np.all(degenerate.indices.ST == 0)),
        "seed_check": check,
    }


if __name__ == "__main__":
    from _common import run_script

    run_script(main)
