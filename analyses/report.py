"""Assemble reports/report.md, reports/report.html and reports/manifest.json from the other scripts' outputs."""

from _common import ROOT

from clustermodel.data import load_paper
from clustermodel.report import write_manifest, write_report

PREAMBLE = (
    "Every number below is regenerated from `data/` by `python3 tasks.py report`; seeds and sample sizes are in "
    "`analyses/config.toml` and `manifest.json`. Method and caveats: `docs/method.md`."
)


def main(config: dict, reports) -> dict:
    stages = [n for n in config["order"] if (reports / f"{n}.json").exists()]
    write_report(reports, stages, title="clustermodel: the cluster internationalization index re-examined", preamble=PREAMBLE)
    write_manifest(reports, study=load_paper(), config=config, stages=stages, root=ROOT)
    return {"stages": stages}


if __name__ == "__main__":
    from _common import run_script

    run_script(main)
