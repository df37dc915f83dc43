"""The analysis config of a report: every setting, its one default, and its validation.

A config is a TOML file (``--config``; the paper's is ``analyses/config.toml``) with these tables; every key is
optional and falls back to the default defined here, once, for every entry point (``clustermodel report``,
``python3 tasks.py report``, the Python API). :func:`validate_config` checks the whole file before any stage
runs: an unknown table or key is an error that lists the valid ones, and every value is checked with a message
naming the file, the table and the key.

``docs/config.md`` explains each default.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clustermodel._errors import ClusterModelError
from clustermodel._validation import SEED_MAX, check_number
from clustermodel.spec import IndexSpec

if TYPE_CHECKING:
    from clustermodel._typing import PathLike

__all__ = ["DEFAULTS", "STAGES", "COMMANDS", "validate_config", "check_setting", "load_config", "merged", "section", "paper_config_path"]

#: Analyses in the order a report runs them.
STAGES = ("scores", "reproduction", "audit", "sobol", "bootstrap", "correlation")

#: The subcommand that runs each stage alone (``clustermodel <command>``), where its name differs from the stage's.
COMMANDS = {"reproduction": "reproduce", "correlation": "correlate"}

_SEED = {"kind": "int", "minimum": 0, "maximum": SEED_MAX, "what": "an integer seed"}
_COUNT = {"kind": "int", "minimum": 1}
_POSITIVE = {"kind": "float", "minimum": 0, "exclusive_minimum": True}
_LEVEL = {"kind": "float", "minimum": 0, "maximum": 1, "exclusive_minimum": True, "exclusive_maximum": True}

#: table -> key -> (default, check). A check is a dict of bounds for numbers, a tuple of allowed strings, or a
#: callable (value, name) -> value. ``None`` as default means "not set" (the estimator decides, documented there).
SCHEMA = {
    "study": {
        "title": ("clustermodel report", str),
        "unit_noun": ("unit", str),
        "group_noun": ("group", str),
        "higher_noun": ("higher-level unit", str),
        "unit_noun_plural": ("", str),
        "group_noun_plural": ("", str),
        "higher_noun_plural": ("", str),
    },
    "scenarios": {
        "cluster_threshold": (0.5, {"kind": "float", "minimum": 0, "maximum": 1, "exclusive_minimum": True}),
        "region_threshold": (0.5, {"kind": "float", "minimum": 0, "maximum": 1, "exclusive_minimum": True}),
    },
    "scores": {
        "seed": (20261128, _SEED),
        "n_draws": (2000, _COUNT),
        "concentration": (50.0, _POSITIVE),
    },
    "sobol": {
        "seed": (20261129, _SEED),
        "n": (1024, {"kind": "int", "minimum": 2}),
        "replicates": (None, {"kind": "int", "minimum": 2}),  # None: 10 for method "replicate", 1 for "bootstrap"
        "method": ("replicate", ("replicate", "bootstrap")),
        "memory_limit": (None, "memory"),
        "chunk_size": (None, _COUNT),
        "scheduler": (None, str),
        "n_resamples": (100, _COUNT),
        "confidence_level": (0.95, _LEVEL),
        "concentration": (50.0, _POSITIVE),
        "distribution": ("dirichlet", ("dirichlet", "uniform")),
        "delta": (0.25, _LEVEL),
        "convergence_levels": (1, _COUNT),
        "triggers": ([], "triggers"),
        "n_equation1": (256, {"kind": "int", "minimum": 2}),
        "preset": ("none", ("none", "audit")),  # "audit": the JRC's standard uncertainty set (clustermodel.uncertainty)
        "uncertainty_samples": (2000, {"kind": "int", "minimum": 2}),
        "check_seed": (None, _SEED),
        "progress": (True, bool),
    },
    "reproduction": {
        "reference": ("auto", ("auto", "sample", "group")),  # "auto": the reference set that reproduces most rows
    },
    "bootstrap": {
        "seed": (20261130, _SEED),
        "n_resamples": (10000, _COUNT),
        "mode": (None, ("parametric", "nonparametric")),  # None: nonparametric when `experts` names a table, else parametric
        "experts": (None, str),  # None: no expert table (the paper publishes only the mean weights); else its path
        "panel_size": (None, _COUNT),  # None: 5 experts a panel (parametric), every expert (nonparametric)
        "concentration": (20.0, _POSITIVE),
        "concentration_sensitivity": ([], "numbers"),
        "confidence_level": (0.90, _LEVEL),
        "memory_limit": (None, "memory"),
        "chunk_size": (None, _COUNT),
        "scheduler": (None, str),
        "keep_draws": (False, bool),
        "progress": (True, bool),
        "quantiles": ("auto", ("auto", "exact", "histogram")),
        "nodes": (None, "names"),  # None: every aggregate; []: the index only
        "data_bootstrap": ("both", ("both", "resample", "fixed", "none")),  # which maxima rule(s) the data bootstrap runs
    },
    "audit": {
        "seed": (20261132, _SEED),
        "method": ("pearson", ("pearson", "spearman")),
        "values": ("normalised", ("normalised", "raw")),
        "collinear": (0.9, {"kind": "float", "minimum": 0, "maximum": 1, "exclusive_minimum": True}),
        "negative": (0.0, {"kind": "float", "minimum": -1, "maximum": 1, "exclusive_maximum": True}),
        "weak": (0.3, {"kind": "float", "minimum": -1, "maximum": 1}),
        "n_resamples": (200, {"kind": "int", "minimum": 0}),
        "confidence_level": (0.95, _LEVEL),
        "optimise_node": ("", str),  # "": the index
        "optimise_measure": ("pearson", ("pearson", "correlation_ratio")),
        "optimise_target": ({}, "shares"),  # {}: the nominal weights
        "variants": ({}, "variants"),  # {}: one-at-a-time changes of normalisation, aggregation, missing, treatment
        "profile_size": (3, _COUNT),
    },
    "correlation": {
        "seed": (20261131, _SEED),
        "n_resamples": (9999, _COUNT),
        "confidence_level": (0.95, _LEVEL),
        "source": ("both", ("both", "computed", "published")),
        "equivalence_bound": (0.3, _LEVEL),
        "keep_draws": (False, bool),
    },
}

#: Every default, as one config.
DEFAULTS = {"order": list(STAGES), "spec": {}, **{t: {k: v[0] for k, v in keys.items()} for t, keys in SCHEMA.items()}}


def _where(source):
    return f"{source}: " if source else ""


def _check_value(value, check, name):
    if isinstance(check, dict):
        return check_number(value, name, **check)
    if isinstance(check, tuple):
        if value not in check:
            raise ClusterModelError(f"{name} must be one of {', '.join(map(repr, check))}; got {value!r}")
        return value
    if check is str:
        if not isinstance(value, str):
            raise ClusterModelError(f"{name} must be a string, got {value!r}")
        return value
    if check is bool:
        if not isinstance(value, bool):
            raise ClusterModelError(f"{name} must be true or false, got {value!r}")
        return value
    if check == "memory":  # parsed here as the estimators parse it, so "lots" fails before any stage runs
        from clustermodel._dask import memory_limit_iv

        try:
            memory_limit_iv(value, 0)
        except ClusterModelError:
            raise ClusterModelError(f"{name} must be a size such as \"1 GiB\" or a positive number of bytes, got {value!r}") from None
        return value
    if check == "names":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ClusterModelError(f"{name} must be a list of node names, got {value!r}")
        return value
    if check == "numbers":
        if not isinstance(value, list):
            raise ClusterModelError(f"{name} must be a list of numbers, got {value!r}")
        return [check_number(v, f"{name}[{i}]", **_POSITIVE) for i, v in enumerate(value)]
    if check == "triggers":
        fields = [f for f in IndexSpec.fields() if f != "min_coverage"] + ["exclude"]
        items = value.items() if isinstance(value, dict) else ((v, None) for v in value) if isinstance(value, list) else None
        if items is None:
            raise ClusterModelError(f"{name} must be a list of spec fields or a table field = [options]; got {value!r}")
        for field, options in items:
            if field not in fields:
                raise ClusterModelError(f"{name}: {field!r} is not a spec field that can be a trigger; valid: {', '.join(fields)}")
            if options is not None and not isinstance(options, list):
                raise ClusterModelError(f"{name}.{field} must be a list of options, got {options!r}")
            for o in options or []:
                if field == "exclude":
                    continue  # node names: checked against the study's structure when the stage runs
                try:
                    IndexSpec().replace(**{field: o})
                except ClusterModelError as exc:
                    raise ClusterModelError(f"{name}.{field}: {exc}") from None
        return value
    if check == "shares":
        if not isinstance(value, dict):
            raise ClusterModelError(f"{name} must be a table node = share, got {value!r}")
        return {k: check_number(v, f"{name}.{k}", minimum=0) for k, v in value.items()}
    if check == "variants":
        if not isinstance(value, dict):
            raise ClusterModelError(f"{name} must be a table of variants, each a table of spec fields, e.g. [audit.variants.rank] normalisation = \"rank\"; got {value!r}")
        for vname, fields in value.items():
            if not isinstance(fields, dict):
                raise ClusterModelError(f"{name}.{vname} must be a table of spec fields, got {fields!r}")
            _check_spec_fields(fields, f"{name}.{vname}:", "unknown spec field")
        return value
    raise AssertionError(check)  # pragma: no cover


def _check_spec_fields(fields: dict, label: str, unknown_word: str) -> None:
    """A table of spec fields (the [spec] table, an audit variant): every key a field, every value valid."""
    unknown = [k for k in fields if k not in IndexSpec.fields()]
    if unknown:
        raise ClusterModelError(f"{label} {unknown_word} {', '.join(map(repr, unknown))}; valid: {', '.join(IndexSpec.fields())}")
    try:
        IndexSpec().replace(**fields)
    except (ClusterModelError, TypeError) as exc:
        raise ClusterModelError(f"{label} {exc}") from None


def validate_config(config: dict, source=None) -> dict:
    """Check a whole config; return it merged over :data:`DEFAULTS` (the input is not modified).

    Raises
    ------
    ClusterModelError
        Naming the file, the table and the key: an unknown table or key (with
        the valid ones), a value of the wrong type or out of range, an invalid
        spec field, an unknown stage in ``order``.
    """
    where = _where(source)
    if not isinstance(config, dict):
        raise ClusterModelError(f"{where}a config is a TOML table of tables")
    known = ["order", "spec", *SCHEMA]
    unknown = [k for k in config if k not in known]
    if unknown:
        raise ClusterModelError(f"{where}unknown table or key {', '.join(map(repr, unknown))}; valid: {', '.join(known)}")
    out = merged(config)
    order = config.get("order", DEFAULTS["order"])
    if not isinstance(order, list) or not order:
        raise ClusterModelError(f"{where}`order` must be a non-empty list of analyses among {', '.join(STAGES)}; got {order!r}")
    for name in order:
        if name not in STAGES:
            raise ClusterModelError(f"{where}`order` names unknown analysis {name!r}; known: {', '.join(STAGES)}")
    spec = config.get("spec", {})
    if not isinstance(spec, dict):
        raise ClusterModelError(f"{where}[spec] must be a table of spec fields, got {spec!r}")
    _check_spec_fields(spec, f"{where}[spec]", "unknown key")
    for table, keys in SCHEMA.items():
        given = config.get(table, {})
        if not isinstance(given, dict):
            raise ClusterModelError(f"{where}[{table}] must be a table of settings, got {given!r}")
        bad = [k for k in given if k not in keys]
        if bad:
            raise ClusterModelError(f"{where}[{table}] unknown key {', '.join(map(repr, bad))}; valid: {', '.join(keys)}")
        for key, value in given.items():
            if value is None and keys[key][0] is None:
                continue  # an unset optional setting (a config already merged over the defaults)
            out[table][key] = _check_value(value, keys[key][1], f"{where}[{table}] {key}")
    for key in _POWERS_OF_TWO:
        _power_of_two(out["sobol"][key], f"{where}[sobol] {key}")
    return out


#: [sobol] settings that must be powers of two.
_POWERS_OF_TWO = ("n", "n_equation1")


def _power_of_two(value, name):
    if value & (value - 1):
        raise ClusterModelError(f"{name} must be a power of two (Sobol' sequences lose their balance otherwise), got {value}")


def check_setting(table: str, key: str, value, name: str):
    """One setting of ``[table]`` checked as :func:`validate_config` checks it, the message naming it ``name`` (a
    command-line option, say); returns the value as the config holds it."""
    if value is None and SCHEMA[table][key][0] is None:
        return None
    value = _check_value(value, SCHEMA[table][key][1], name)
    if table == "sobol" and key in _POWERS_OF_TWO:
        _power_of_two(value, name)
    return value


def section(config: dict, table: str) -> dict:
    """The settings of one table of ``config``, each falling back to its default here (a config read by
    :func:`load_config` already holds every key; one built by hand in Python need not)."""
    return {**DEFAULTS[table], **(config.get(table) or {})}


def merged(config: dict) -> dict:
    """``config`` laid over :data:`DEFAULTS` (tables merged key by key)."""
    out = copy.deepcopy(DEFAULTS)
    for k, v in config.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(copy.deepcopy(v))
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_config(path: PathLike) -> dict[str, Any]:
    """Read and validate a TOML config file; errors name the file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ClusterModelError(f"config file {path} not found; pass an existing --config") from None
    except IsADirectoryError:
        raise ClusterModelError(f"config file {path} is a folder; pass a TOML file as --config") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ClusterModelError(f"{path}: not valid TOML ({exc})") from None
    return validate_config(raw, path)


def paper_config_path() -> Path:
    """The paper's analysis config (``analyses/config.toml``, shipped inside the package)."""
    from clustermodel._resources import resource

    return Path(resource("analyses/config.toml"))
