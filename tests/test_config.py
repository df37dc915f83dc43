"""The analysis config: one default per setting, the whole file validated before any stage runs."""

from __future__ import annotations

import pytest

from clustermodel import ClusterModelError
from clustermodel.cli import main
from clustermodel.config import DEFAULTS, load_config, validate_config


@pytest.mark.parametrize(
    "text, message",
    [
        ("[sobol]\nrepliactes = 3\n", "[sobol] unknown key 'repliactes'; valid: seed, n, replicates"),
        ("[sobl]\nn = 64\n", "unknown table or key 'sobl'; valid: order, spec, study"),
        ("[scores]\nseed = 1.5\n", "[scores] seed must be an integer seed"),
        ("[scores]\nn_draws = 0\n", "[scores] n_draws must be an integer >= 1, got 0"),
        ("[sobol]\nn = 100\n", "[sobol] n must be a power of two"),
        ("[sobol]\nn_equation1 = 100\n", "[sobol] n_equation1 must be a power of two"),
        ('order = ["scores", "sobl"]\n', "`order` names unknown analysis 'sobl'"),
        ('[spec]\nnormalisation = "log"\n', "[spec] `normalisation` must be one of"),
        ('[spec]\nnormalization = "minmax"\n', "[spec] unknown key 'normalization'; valid: denominate"),
        ("[bootstrap]\nconcentration = 0\n", "[bootstrap] concentration must be"),
        ('[correlation]\nsource = "publshed"\n', "[correlation] source must be one of 'both', 'computed', 'published'"),
        ('[sobol]\ntriggers = ["placement"]\n', "[sobol] triggers: 'placement' is not a spec field that can be a trigger"),
    ],
)
def test_config_errors_name_file_table_and_key(tmp_path, capsys, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ClusterModelError) as e:
        load_config(path)
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value)
    out = tmp_path / "out"
    assert main(["report", "--config", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()  # nothing ran, nothing was written


def test_every_setting_has_one_default_and_the_paper_config_is_valid():
    cfg = load_config(__import__("clustermodel.config").config.paper_config_path())
    assert set(cfg) == set(DEFAULTS)
    assert validate_config({}) == DEFAULTS
    assert cfg["sobol"]["n"] & (cfg["sobol"]["n"] - 1) == 0


def test_command_line_spec_options_override_the_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('order = ["scores"]\n[scores]\nn_draws = 20\n[spec]\naggregation = "quadratic"\n')
    out = tmp_path / "o"
    assert main(["report", "--config", str(cfg), "--aggregation", "arithmetic", "--out", str(out)]) == 0
    import json

    assert json.loads((out / "manifest.json").read_text())["specs"]["scores"]["aggregation"] == "arithmetic"


# --- one default per setting: the schema, read alike by the CLI, the report and the API --------------------------

#: Settings the API takes as a generator (``rng``; numpy's convention: None draws fresh entropy) rather than a seed.
_RNG = {"seed", "check_seed"}

_STAGE_COMMANDS = [("sobol", "sobol"), ("bootstrap", "bootstrap"), ("correlate", "correlation"), ("reproduce", "reproduction")]


@pytest.mark.parametrize("command, table", _STAGE_COMMANDS)
def test_a_command_without_options_runs_with_the_schema_defaults(command, table):
    """The one default of every setting is the config schema's: a subcommand given no option runs its stage with
    exactly the config the report would use for the same study (the defaults for a study of one's own)."""
    from types import SimpleNamespace

    from clustermodel.cli import build_parser
    from clustermodel.commands._common import config_from_args

    args = build_parser().parse_args([command])
    module = __import__(f"clustermodel.commands.{command}", fromlist=["OPTIONS"])
    assert all(getattr(args, attr) is None for attr in module.OPTIONS.values())  # nothing of its own: the config decides
    config, source = config_from_args(args, SimpleNamespace(paper=False), table, module.OPTIONS)
    assert source is None and config == DEFAULTS
    assert set(module.OPTIONS) <= set(DEFAULTS[table])  # every option is a setting of the stage's table


@pytest.mark.parametrize("command, table", _STAGE_COMMANDS)
def test_each_option_sets_its_config_key_and_nothing_else(command, table):
    from types import SimpleNamespace

    from clustermodel.cli import build_parser
    from clustermodel.commands._common import config_from_args

    module = __import__(f"clustermodel.commands.{command}", fromlist=["OPTIONS"])
    samples = {"n": 64, "replicates": 3, "seed": 7, "check_seed": 8, "concentration": 9.0, "delta": 0.1, "n_resamples": 11,
               "confidence_level": 0.8, "convergence_levels": 2, "n_equation1": 32, "panel_size": 3, "chunk_size": 5,
               "equivalence_bound": 0.2, "memory_limit": "700MiB", "scheduler": "tcp://h:1"}
    parser = build_parser()
    for key, attr in module.OPTIONS.items():
        action = next(a for a in parser._subparsers._group_actions[0].choices[command]._actions if a.dest == attr)
        if action.const is True:  # a flag
            argv, expected = [action.option_strings[0]], True
        elif action.choices:
            expected = [c for c in action.choices if c != DEFAULTS[table][key]][0]
            argv = [action.option_strings[0], expected]
            expected = [expected] if action.nargs == "*" else expected
        elif action.nargs == "*":
            expected = [2.0] if key == "concentration_sensitivity" else ["index"]
            argv = [action.option_strings[0], *map(str, expected)]
        elif key == "experts":
            argv, expected = [action.option_strings[0], "experts.csv"], "experts.csv"
        else:
            argv, expected = [action.option_strings[0], str(samples[key])], samples[key]
        config, _ = config_from_args(parser.parse_args([command, *argv]), SimpleNamespace(paper=False), table, module.OPTIONS)
        changed = {k for k in DEFAULTS[table] if config[table][k] != DEFAULTS[table][k]}
        assert changed == {key} and config[table][key] == expected, (argv, changed)


@pytest.mark.parametrize(
    "function, table",
    [("weight_sensitivity", "sobol"), ("weight_bootstrap", "bootstrap"), ("cluster_bootstrap", "bootstrap"), ("relationship_analysis", "correlation")],
)
def test_every_api_default_is_the_schema_default(function, table):
    import inspect

    import clustermodel as cm
    from clustermodel.config import DEFAULTS

    params = inspect.signature(getattr(cm, function)).parameters
    shared = [k for k in DEFAULTS[table] if k in params and k not in _RNG]
    assert len(shared) >= 4
    for key in shared:
        default = params[key].default
        expected = DEFAULTS[table][key]
        assert (list(default) if isinstance(default, tuple) else default) == expected, f"{function}({key}=…)"


def test_the_default_memory_budget_follows_the_machine(monkeypatch):
    """No memory_limit: a quarter of what dask.distributed says this process may use (cgroup and rlimit aware),
    never below 512 MiB; every streamed estimator reads the same default."""
    import distributed.system

    from clustermodel import _dask

    monkeypatch.setattr(distributed.system, "memory_limit", lambda: 16 * 2**30)
    assert _dask.memory_limit_iv(None) == _dask.default_memory_limit() == 4 * 2**30
    monkeypatch.setattr(distributed.system, "memory_limit", lambda: 2**30)
    assert _dask.memory_limit_iv(None) == 512 * 2**20  # the floor
    assert _dask.memory_limit_iv("3GiB") == 3 * 2**30  # a given budget is kept
