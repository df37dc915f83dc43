"""Tables 5 and 6 row by row, the scenario thresholds and the Figure 13 replica.

Writes reports/reproduction.md, reports/reproduction.json, reports/reproduction.nc
and reports/figure13.png.
"""

from __future__ import annotations

from clustermodel._io import atomic_path, staged_outputs, write_text
from clustermodel.data import load_paper
from clustermodel.plots import figure13
from clustermodel.reproduce import reproduce
from clustermodel.spec import ScenarioThresholds


def main(config: dict, reports) -> dict:
    cfg = config["reproduction"]
    result = reproduce(
        load_paper(),
        thresholds=ScenarioThresholds(cluster=cfg["cluster_threshold"], region=cfg["region_threshold"]),
    )
    with staged_outputs(reports) as out:  # every file of this analysis, or none
        write_text(out / "reproduction.md", result.summary())
        write_text(out / "reproduction.json", result.to_json() + "\n")
        with atomic_path(out / "reproduction.nc") as tmp:
            result.to_dataset().to_netcdf(tmp)
        figure13(result, out / "figure13.png")
    return result.to_dict()


if __name__ == "__main__":
    from _common import run_script

    run_script(main)
