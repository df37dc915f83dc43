"""Every analysis on the paper's data, in config order: data/ -> reports/ (the README's main command).

The same orchestrator as `clustermodel report` (clustermodel.report.run_study): the config is validated as a
whole first, every stage uses the one spec of data/spec.toml, and reports/ is replaced as one transaction.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CONFIG_PATH, REPORTS, ROOT  # noqa: E402

PREAMBLE = (
    "Every number below is regenerated from `data/` by `python3 tasks.py report`; seeds and sample sizes are in "
    "`analyses/config.toml` and `manifest.json`. Method and caveats: `docs/method.md`."
)


def main(argv=None) -> int:
    from clustermodel.cli import run_guarded
    from clustermodel.config import load_config
    from clustermodel.data import load_paper
    from clustermodel.report import run_study

    stages = list(argv if argv is not None else sys.argv[1:]) or None

    def run():
        config = load_config(CONFIG_PATH)
        summary = run_study(load_paper(), config, REPORTS, stages=stages, preamble=PREAMBLE, config_source=CONFIG_PATH, root=ROOT)
        print(f"[clustermodel] reports written to {REPORTS} ({', '.join(summary.done)})", flush=True)
        return 0

    return run_guarded(run)


if __name__ == "__main__":
    sys.exit(main())
