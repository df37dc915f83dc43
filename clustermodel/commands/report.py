"""`clustermodel report`: every analysis on the paper's data or your own, one report."""

from __future__ import annotations

import tomllib
from pathlib import Path

from clustermodel._errors import ClusterModelError
from clustermodel._validation import config_number
from clustermodel.commands._common import add_data_arguments, check_comparable, input_file, load_from_args, output_folder

NAME = "report"
HELP = "run every analysis on a study and write report.md, report.html, manifest.json and all tables and figures"

_DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "analyses" / "config.toml"


def add_arguments(parser):
    add_data_arguments(parser)
    parser.add_argument("--config", type=input_file, default=None, help="TOML config with seeds and sample sizes (default: analyses/config.toml of the repository, else built-in defaults)")
    parser.add_argument("--only", nargs="+", default=None, metavar="STAGE", help="run only these stages (e.g. scores sobol)")
    parser.add_argument("--out", type=output_folder, default=Path("reports"), help="output folder (default: reports)")


_SIZE = {"kind": "int", "minimum": 1}
_POSITIVE = {"kind": "float", "minimum": 0, "exclusive_minimum": True}
_LEVEL = {"kind": "float", "minimum": 0, "maximum": 1, "exclusive_minimum": True, "exclusive_maximum": True}
#: The numbers of the config, checked before any stage runs: section -> key -> bounds (seeds are
#: integers from 0 to 2**64 - 1 by their name). Validating the config as a whole (types of every key,
#: unknown keys, choices) is left to the config layer; these are the ones that raised tracebacks.
CONFIG_NUMBERS = {
    "scores": {"seed": {}, "n_draws": _SIZE, "concentration": _POSITIVE},
    "sobol": {
        "seed": {},
        "check_seed": {},
        "n": {"kind": "int", "minimum": 2},
        "n_equation1": {"kind": "int", "minimum": 2},
        "n_resamples": _SIZE,
        "convergence_levels": _SIZE,
        "confidence_level": _LEVEL,
        "concentration": _POSITIVE,
        "delta": {**_LEVEL},
    },
    "bootstrap": {"seed": {}, "n_resamples": _SIZE, "panel_size": _SIZE, "concentration": _POSITIVE, "confidence_level": _LEVEL},
    "correlation": {"seed": {}, "n_resamples": _SIZE, "confidence_level": _LEVEL},
}


def check_config(config: dict, source) -> dict:
    """Check the numbers of a report config (:data:`CONFIG_NUMBERS`); every message names the file and the key."""
    for section, keys in CONFIG_NUMBERS.items():
        for key, bounds in keys.items():
            config_number(config, section, key, source=source, **bounds)
    return config


def run(args) -> int:
    from clustermodel.report import run_study

    path = args.config or (_DEFAULT_CONFIG if _DEFAULT_CONFIG.exists() else None)
    config = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                config = tomllib.load(fh)
        except FileNotFoundError:
            raise ClusterModelError(f"config file {path} not found; pass an existing --config") from None
        except tomllib.TOMLDecodeError as exc:
            raise ClusterModelError(f"{path}: not valid TOML ({exc})") from None
        except IsADirectoryError:
            raise ClusterModelError(f"config file {path} is a folder; pass a TOML file as --config") from None
        check_config(config, path)
    study = load_from_args(args)
    check_comparable(study, "a report (ranks, Sobol' indices, correlations)")
    done = run_study(study, config, args.out, stages=args.only)
    print(f"[clustermodel] {len(done)} analyses written to {args.out}/ (report.md, report.html, manifest.json)")
    return 0
