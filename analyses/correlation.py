"""Tests of the cluster–region relationship and of the industry effect (issue 5).

Reads the paper's data and the `[correlation]` section of config.toml; writes
reports/correlation.md, reports/correlation.json, reports/correlation.nc and
reports/correlation.png.
"""

from __future__ import annotations

from clustermodel.commands.correlate import write_reports
from clustermodel.data import load_paper
from clustermodel.relationship import relationship_analysis
from clustermodel.spec import ScenarioThresholds


def main(config: dict, reports) -> dict:
    cfg = config["correlation"]
    thr = config.get("reproduction", {})
    result = relationship_analysis(
        load_paper(),
        source=cfg.get("source", "both"),
        thresholds=ScenarioThresholds(cluster=thr.get("cluster_threshold", 0.5), region=thr.get("region_threshold", 0.5)),
        n_resamples=cfg["n_resamples"],
        confidence_level=cfg["confidence_level"],
        rng=cfg["seed"],
    )
    write_reports(result, reports)
    return result.to_dict()


if __name__ == "__main__":
    from _common import run_script

    run_script(main)
