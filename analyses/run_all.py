"""Run every analysis in config order: data/ -> reports/ (the README's main command)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPORTS, load_config  # noqa: E402


def main() -> int:
    from clustermodel._io import staged_outputs
    from clustermodel.cli import run_guarded

    config = load_config()

    def run():
        REPORTS.mkdir(exist_ok=True)
        for name in config["order"]:
            print(f"[clustermodel] {name} …", flush=True)
            with staged_outputs(REPORTS) as stage:  # an analysis that fails leaves nothing half-written
                importlib.import_module(name).main(config, stage)
        print("[clustermodel] report …", flush=True)
        importlib.import_module("report").main(config, REPORTS)  # reads the published outputs
        print(f"[clustermodel] reports written to {REPORTS}", flush=True)
        return 0

    return run_guarded(run)


if __name__ == "__main__":
    sys.exit(main())
