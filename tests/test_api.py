"""The public API: ``import clustermodel as cm`` names, their documentation and type hints, and how results display.

Every exported name exists, is documented and is listed in the package docstring; the import stays light (no
xarray, scipy or matplotlib until a name is used); every exported signature is annotated; every result class prints
a short repr, an HTML summary that escapes the data, and exports through ``to_xarray()``/``to_frame()``.
"""

from __future__ import annotations

import dataclasses
import html.parser
import inspect
import subprocess
import sys
import warnings

import pandas as pd
import pytest
import xarray as xr

import clustermodel as cm
from clustermodel._display import MAX_VALUE, Display
from conftest import DATA, ROOT

EXPORTED = [n for n in cm.__all__ if n != "__version__"]

#: The names the tutorial and README promise (issue 14, item 4): every one must stay exported.
PROMISED = [
    "load_paper", "load_study", "load_structure", "load_spec", "Study", "Structure", "IndexSpec", "PAPER_SPEC",
    "construct", "compute_index", "compute_scores", "evaluate", "weight_sensitivity", "sobol_indices",
    "weight_bootstrap", "cluster_bootstrap", "relationship_analysis", "reproduce", "run_report", "load_config",
]


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter from the checkout (so ``import clustermodel`` is this tree's)."""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


# ------------------------------------------------------------------ names


def test_the_promised_names_are_exported():
    assert [n for n in PROMISED if n not in cm.__all__] == []


@pytest.mark.parametrize("name", EXPORTED)
def test_every_exported_name_exists_is_documented_and_listed(name):
    obj = getattr(cm, name)
    assert name in dir(cm)
    assert f"``{name}``" in cm.__doc__, f"{name} is missing from the table in clustermodel/__init__.py"
    if callable(obj):
        doc = inspect.getdoc(obj) or ""
        assert len(doc.split()) >= 5, f"{name} has no real docstring"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'correlate'"):
        cm.correlate  # noqa: B018


def test_run_report_is_the_one_orchestrator():
    from clustermodel.report import run_study

    assert cm.run_report is run_study


def test_import_clustermodel_loads_no_heavy_dependency():
    # the measurable proxy of a fast import: nothing beyond the spec until a name is used
    loaded = _python(
        "import sys, clustermodel; print(sorted(m for m in ('matplotlib', 'xarray', 'scipy', 'pandas', 'numpy', "
        "'dask') if m in sys.modules))"
    )
    assert loaded == "[]"


def test_using_every_name_never_imports_matplotlib():
    loaded = _python("import sys, clustermodel as cm\nfor n in cm.__all__: getattr(cm, n)\nprint('matplotlib' in sys.modules)")
    assert loaded == "False"


def test_the_reproduce_function_is_not_shadowed_by_a_module():
    out = _python(
        "import clustermodel.reproduction as r, clustermodel as cm\n"
        "import clustermodel.report, clustermodel.config\n"
        "print(type(r).__name__, cm.reproduce.__module__, callable(cm.reproduce))"
    )
    assert out == "module clustermodel.reproduction True"


# ------------------------------------------------------------------ type hints


def _unannotated(fn) -> list[str]:
    sig = inspect.signature(fn)
    missing = [p.name for p in sig.parameters.values() if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    if fn.__name__ != "__init__" and sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def _public_methods(cls):
    for klass in cls.__mro__[:-1]:
        if not klass.__module__.startswith("clustermodel"):
            continue
        for attr, member in vars(klass).items():
            if attr.startswith("_") and attr != "__init__":
                continue
            fn = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
            if inspect.isfunction(fn):
                yield f"{cls.__name__}.{attr}", fn


def _result_classes():
    from clustermodel.index import Construction
    from clustermodel.relationship import RelationshipResult
    from clustermodel.report import RunSummary
    from clustermodel.reproduction import ReproductionResult
    from clustermodel.scenarios import Evaluation
    from clustermodel.sensitivity import SobolResult
    from clustermodel.sobol import SobolIndicesResult

    return [Construction, Evaluation, SobolResult, SobolIndicesResult, RelationshipResult, ReproductionResult, RunSummary]


def _api_callables():
    seen = {}
    for name in EXPORTED:
        obj = getattr(cm, name)
        if inspect.isfunction(obj):
            seen[name] = obj
        elif inspect.isclass(obj):
            seen.update(_public_methods(obj))
    for cls in _result_classes():
        seen.update(_public_methods(cls))
    return seen


#: bootstrap.py belongs to the bootstrap developer and is not annotated yet (experts, nodes, memory_limit, client,
#: rng, study). Remove these entries when it is: the strict xfail then fails as a reminder.
_PENDING: set = set()


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="bootstrap.py signatures not annotated yet")) if n in _PENDING else n for n in _api_callables()],
)
def test_every_public_signature_is_annotated(name):
    assert _unannotated(_api_callables()[name]) == []


def test_the_package_is_typed():
    assert (ROOT / "clustermodel" / "py.typed").exists()


# ------------------------------------------------------------------ results display themselves

HOSTILE = "<script>alert('x')</script> & <img src=x>"


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)


def _tags(markup: str) -> set:
    p = _Tags()
    p.feed(markup)
    return p.tags


ALLOWED_TAGS = {"table", "caption", "b", "tbody", "tr", "th", "td"}


@pytest.fixture(scope="module")
def hostile_study(tmp_path_factory):
    """The shipped flat example with markup in every unit name and sector."""
    d = tmp_path_factory.mktemp("hostile")
    lines = (DATA / "examples" / "clusters.csv").read_text(encoding="utf-8").splitlines()
    rows = [lines[0]]
    for ln in lines[1:]:
        cells = ln.split(",")
        cells[1] = f'"{HOSTILE} {cells[1]}"'
        cells[2] = f"<i>{cells[2]}</i>"
        rows.append(",".join(cells))
    (d / "clusters.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cm.ClusterModelWarning)
        return cm.load_study(
            d / "clusters.csv",
            DATA / "examples" / "weights.csv",
            regions=DATA / "examples" / "regions.csv",
            id_column="id",
            group_column="sector",
            region_column="area",
        )


@pytest.fixture(scope="module")
def results(paper, hostile_study):
    """One small instance of every result class (a few seconds in all)."""
    hierarchy = DATA / "examples" / "hierarchy"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cm.ClusterModelWarning)
        cities = cm.load_study(hierarchy / "cities.csv", structure=hierarchy / "structure.csv", spec=hierarchy / "spec.toml", id_column="city")
        construction = cm.construct(cities)
    quadratic = cm.PAPER_SPEC.replace(aggregation="quadratic")
    sobol = cm.weight_sensitivity(paper, quadratic, n=32, replicates=2, rng=1, progress=False)
    return {
        "Study": hostile_study,
        "Structure": cities.structure,
        "Construction": construction,
        "Evaluation": cm.evaluate(hostile_study),
        "SobolResult": sobol,
        "SobolIndicesResult": sobol.indices,
        "RelationshipResult": cm.relationship_analysis(hostile_study, source="computed", n_resamples=99, rng=2),
        "ReproductionResult": cm.reproduce(paper),
        "WeightBootstrapResult": cm.weight_bootstrap(hostile_study, n_resamples=50, rng=3, progress=False),
        "ClusterBootstrapResult": cm.cluster_bootstrap(hostile_study, n_resamples=50, rng=4, progress=False),
    }


RESULTS = ["Study", "Structure", "Construction", "Evaluation", "SobolResult", "SobolIndicesResult", "RelationshipResult", "ReproductionResult",
           "WeightBootstrapResult", "ClusterBootstrapResult"]
EXPORTING = [r for r in RESULTS if r != "Study"]


@pytest.mark.parametrize("kind", RESULTS)
def test_repr_is_a_few_short_lines(results, kind):
    text = repr(results[kind])
    lines = text.splitlines()
    assert lines[0].startswith(f"<{kind}: ") and lines[0].endswith(">")
    assert len(lines) <= 12 and len(text) <= 1500, text
    assert all(len(ln) <= MAX_VALUE + 45 for ln in lines), text


@pytest.mark.parametrize("kind", RESULTS)
def test_html_repr_is_a_compact_table_that_escapes_the_data(results, kind):
    markup = results[kind]._repr_html_()
    assert markup.startswith('<table class="clustermodel-result">') and len(markup) <= 3000
    assert _tags(markup) <= ALLOWED_TAGS, markup
    assert "<script" not in markup and "<img" not in markup and "<i>" not in markup


def test_data_strings_reach_the_html_escaped(results):
    markup = results["Evaluation"]._repr_html_() + results["Study"]._repr_html_()
    assert "&lt;script&gt;" in markup and "&lt;i&gt;" in markup


def test_display_escapes_every_label_and_value():
    @dataclasses.dataclass(frozen=True, repr=False)
    class Probe(Display):
        text: str

        def _display_(self):
            return self.text, [(self.text, self.text), ("n", 3), ("x", 0.12345), ("none", None)]

    p = Probe(HOSTILE + " " + "y" * 300)
    markup = p._repr_html_()
    assert _tags(markup) <= ALLOWED_TAGS
    assert markup.count("&lt;script&gt;") == 3  # headline, label and value
    assert "<td" in markup and ">0.123<" in markup and ">n/a<" in markup
    assert max(len(ln) for ln in repr(p).splitlines()) < 2 * MAX_VALUE + 10  # long values are cut


@pytest.mark.parametrize("kind", EXPORTING)
def test_to_xarray_and_to_frame(results, kind):
    r = results[kind]
    ds = r.to_xarray()
    assert isinstance(ds, xr.Dataset) and ds.data_vars
    xr.testing.assert_identical(ds, r.to_dataset())
    df = r.to_frame()
    assert isinstance(df, pd.DataFrame) and len(df) > 0
    pd.testing.assert_frame_equal(df, r.to_dataframe())


def test_evaluation_dataset_keeps_each_units_scenario_and_region(results):
    ev = results["Evaluation"]
    ds = ev.to_xarray()
    assert ds["cluster_scenario"].dims == ("cluster",) and ds["cluster_region"].dims == ("cluster",)
    assert ds["scenario_counts"].sum() == ds.sizes["cluster"]
    df = ev.to_frame()
    assert set(df["scenario"]) <= set(cm.SCENARIOS)
    assert list(df.columns[:3]) == ["index", "rank", "region_index_of_cluster"]


def test_construction_table_marks_imputed_and_treated_cells(results):
    c = results["Construction"]
    ds = c.to_xarray()
    assert int(ds["imputed"].sum()) == len(c.imputed) > 0
    assert int(ds["treated"].sum()) == len(c.treated_cells())
    assert c.to_frame().index.names == [c.unit_dim, "indicator"]


def test_reproduction_frames_by_table(results):
    r = results["ReproductionResult"]
    assert len(r.to_frame("regions")) == len(r.regions) and len(r.to_frame()) == len(r.clusters)


def test_structure_dataset_holds_text_netcdf_can_store(results, tmp_path):
    ds = results["Structure"].to_xarray()
    assert ds["parent"].dtype.kind in "OU" and all(isinstance(v, str) for v in ds["parent"].values)
    ds.to_netcdf(tmp_path / "structure.nc")


def test_dir_of_the_package_is_its_public_api():
    import clustermodel as cm

    assert dir(cm) == sorted(cm.__all__)
    assert not {"Any", "TYPE_CHECKING", "annotations", "importlib"} & set(dir(cm))
    for name in cm.__all__:  # every listed name resolves
        assert getattr(cm, name) is not None


def test_the_readme_python_example_runs_from_any_folder(tmp_path):
    """The README's Python block, run in a folder that is not the checkout: it reads the shipped example data through
    cm.example_path, not paths relative to the repository."""
    import os
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert "example_path" in code
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
