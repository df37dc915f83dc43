"""`clustermodel report`: every analysis on the paper's data or your own, one report."""

from __future__ import annotations

import tomllib
from pathlib import Path

from clustermodel._errors import ClusterModelError
from clustermodel._resources import resource
from clustermodel.commands._common import add_data_arguments, load_from_args

NAME = "report"
HELP = "run every analysis on a study and write report.md, report.html, manifest.json and all tables and figures"

#: The default config: the repository's analyses/config.toml, shipped inside the package.
DEFAULT_CONFIG = "analyses/config.toml"


def add_arguments(parser):
    add_data_arguments(parser)
    parser.add_argument("--config", type=Path, default=None, help="TOML config with seeds and sample sizes (default: the paper's analyses/config.toml, shipped with clustermodel)")
    parser.add_argument("--only", nargs="+", default=None, metavar="STAGE", help="run only these stages (e.g. scores sobol)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports)")


def run(args) -> int:
    from clustermodel.report import run_study

    path = args.config or resource(DEFAULT_CONFIG)
    try:
        with open(path, "rb") as fh:
            config = tomllib.load(fh)
    except FileNotFoundError:
        raise ClusterModelError(f"config file {path} not found; pass an existing --config") from None
    except tomllib.TOMLDecodeError as exc:
        raise ClusterModelError(f"{path}: not valid TOML ({exc})") from None
    study = load_from_args(args)
    done = run_study(study, config, args.out, stages=args.only)
    print(f"[clustermodel] {len(done)} analyses written to {args.out}/ (report.md, report.html, manifest.json)")
    return 0
