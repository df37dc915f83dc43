"""Figures at 25, 51 and 2000 units and 4 to 59 factors: sizes, legends, labels, words, matplotlib state.

The scale tests use small stand-ins for the result objects (only the attributes
the figures read), so that a 2000-unit figure is tested in a second; one test
draws every figure from the paper's real results.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text

from clustermodel import IndexSpec, plots
from clustermodel.nouns import PAPER_NOUNS, Nouns

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("supported", "lonely", "potential", "late")
#: Words of the paper that a user's figure must not contain ("clustered" standard errors are statistics, not the paper).
PAPER_WORDS = re.compile(r"\b(clusters?|regions?|regional|industry|industries|table [456]|moscow|figure 13|internationali[sz]ation)\b")
#: Unit names a user's table may hold.
AWKWARD = ["<script>alert(1)</script>", "A|B & C", "$5 $ economy", "x_y*z", "a\nb", "Bosnia and Herzegovina (Federation of Bosnia and Herzegovina)"]


def _names(n):
    return [AWKWARD[i] if i < len(AWKWARD) else f"Unit {i + 1}" for i in range(n)]


# ------------------------------------------------------------------------------------------------ stand-ins
def fake_bootstrap(n, *, seed=0, unstable=True):
    rng = np.random.default_rng(seed)
    nominal = rng.permutation(n) + 1
    width = rng.gamma(2.0, 0.02 * n + 1, size=n)
    low = np.clip(nominal - width / 2, 1, n)
    high = np.clip(nominal + width / 2, 1, n)
    p = rng.dirichlet(np.ones(4) * 0.3, size=n) if unstable else np.eye(4)[rng.integers(0, 4, n)]
    table = xr.Dataset(
        {
            "rank_nominal": ("cluster", nominal),
            "rank_median": ("cluster", np.clip(nominal + rng.normal(0, 1, n), 1, n)),
            "rank_low": ("cluster", low),
            "rank_high": ("cluster", high),
            "scenario_nominal": ("cluster", p.argmax(axis=1)),
            "scenario_probability": (("cluster", "scenario"), p),
        },
        coords={"cluster": [f"u{i + 1}" for i in range(n)], "name": ("cluster", _names(n)), "scenario": list(SCENARIOS)},
    )
    return SimpleNamespace(cluster_table=lambda: table, confidence_level=0.9, n_resamples=200, mode_description="parametric: Dirichlet, kappa=20")


def fake_sobol(n_units, n_factors, *, quantities=("index", "rank", "scenario_kept"), seed=0):
    rng = np.random.default_rng(seed)
    units = [f"u{i + 1}" for i in range(n_units)]
    outputs = [f"{q}[{u}]" for q in quantities for u in units] + ["mean_rank_shift", "correlation", "counts_kept"]
    k = len(outputs)
    st = rng.gamma(0.3, 0.1, size=(k, n_factors))
    st[:, 0] += 0.6  # one dominant factor
    s1 = st * rng.uniform(0.5, 1.0, size=st.shape) - 0.01
    r = 5
    levels = 3
    conv = {"n": [32, 64, 128]}
    for key, m in (("S1", s1), ("ST", st)):
        conv[key] = np.stack([m + rng.normal(0, 0.05, m.shape) for _ in range(levels)])
        conv[f"{key}_low"] = conv[key] - 0.1
        conv[f"{key}_high"] = conv[key] + 0.1
    ix = SimpleNamespace(
        S1=s1,
        ST=st,
        S1_resamples=s1[None] + rng.normal(0, 0.02, (r, k, n_factors)),
        ST_resamples=st[None] + rng.normal(0, 0.02, (r, k, n_factors)),
        factors=tuple(f"indicator_{j + 1}" for j in range(n_factors)),
        outputs=tuple(outputs),
        n=128,
        confidence_level=0.95,
        convergence=conv,
        method="bootstrap",
        replicates=1,
    )
    return SimpleNamespace(
        indices=ix,
        cluster_names=dict(zip(units, _names(n_units))),
        nominal=rng.random(k),
        spec=IndexSpec(aggregation="arithmetic"),
    )


class _Ols(SimpleNamespace):
    def fitted(self, x):
        return self.intercept + self.slope * np.asarray(x, float)


def fake_relationship(n_units, n_higher, *, sources=("computed",), seed=0):
    rng = np.random.default_rng(seed)
    region = np.array([f"h{k}" for k in rng.integers(0, n_higher, n_units)])
    region[:n_higher] = [f"h{k}" for k in range(n_higher)]
    names = np.array([f"h{k}" for k in range(n_higher)])
    level = dict(zip(names, rng.random(n_higher)))
    x = np.array([level[r] for r in region])
    y = 0.2 + 0.3 * x + rng.normal(0, 0.1, n_units)
    means = np.array([y[region == r].mean() for r in names])
    src = {"region_index_of_cluster": x, "cluster_index": y, "region_mean_cluster_index": means, "cluster_threshold": 0.5, "region_threshold": 0.5}
    primary = SimpleNamespace(statistic=0.3, pvalue=0.04, ci_low=0.01, ci_high=0.55, n=n_higher)
    ols = _Ols(intercept=0.2, slope=0.3, pvalue=0.01, ci_low=0.1, ci_high=0.5, n_obs=n_units, n_groups=n_higher)
    return SimpleNamespace(
        sources={s: src for s in sources},
        cluster_regions=region,
        region_names=names,
        clusters=np.array(_names(n_units)),
        ols={s: ols for s in sources},
        primary="pearson:region_mean",
        get=lambda test, source=None: primary,
        confidence_level=0.95,
    )


def scatter_args(n, groups=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.gamma(2, 0.1, n)
    y = rng.gamma(2, 0.1, n)
    return dict(
        cluster_index=x,
        region_index=y,
        labels=_names(n),
        groups=[f"group {i % groups}" for i in range(n)],
        thresholds=(0.5, 0.5),
        counts={"supported": 1, "lonely": 2, "potential": 3, "late": 4},
    )


def figures(n_units, n_factors, n_higher):
    """Every figure (as Figure objects) of a study of this size, with the default nouns (51 units are drawn
    by ``benchmarks/look_at_figures.py``; here the two extremes)."""
    boot = fake_bootstrap(n_units)
    sob = fake_sobol(n_units, n_factors)
    rel = fake_relationship(n_units, n_higher)
    return {
        "scenario_plot": plots.scenario_plot(**scatter_args(n_units, groups=max(2, n_units // 100 + 3))),
        "rank_uncertainty": plots.rank_uncertainty(boot),
        "scenario_stability": plots.scenario_stability(boot),
        "correlation_figure": plots.correlation_figure(rel),
        "sobol_bars": plots.sobol_bars(sob),
        "sobol_heatmap": plots.sobol_heatmap(sob),
        "sobol_convergence": plots.sobol_convergence(sob),
    }


def texts(fig):
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def _renderer(fig):
    """The Agg renderer of ``fig`` after one draw (drawn once per figure)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


# ------------------------------------------------------------------------------------------------ tests
@pytest.fixture(scope="module", params=[(25, 4, 19), (2000, 49, 50)], ids=["25x4", "2000x49"])
def sized(request):
    return request.param, figures(*request.param)


def test_figures_fit_the_pixel_cap(sized):
    (n, _, _), figs = sized
    for name, fig in figs.items():
        assert isinstance(fig, Figure), name
        w, h = fig.get_size_inches() * plots.DPI
        assert w <= plots.MAX_PIXELS and h <= plots.MAX_PIXELS, (name, w, h)


def test_legends_and_ticks_stay_readable(sized):
    (n, d, _), figs = sized
    for name, fig in figs.items():
        for legend in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]:
            assert len(legend.get_texts()) <= plots.MAX_GROUPS + 1, name
        renderer = _renderer(fig)
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                ticks = [t for t in axis.get_ticklabels() if t.get_text()]
                assert len(ticks) <= plots.MAX_ROWS + 1, (name, len(ticks))
                boxes = [t.get_window_extent(renderer) for t in ticks]
                for t, a, b in zip(ticks, boxes, boxes[1:]):  # neighbouring tick labels never overlap
                    if t.get_rotation() % 180:  # slanted: their bounding boxes overlap; their lines must not
                        assert abs(b.x1 - a.x1) >= t.get_fontsize() * fig.dpi / 72, (name, axis.axis_name)
                    else:
                        assert not a.overlaps(b), (name, axis.axis_name)
    # the factors are ranked and the rest summarised
    if d > plots.TOP_FACTORS + 1:
        heat = texts(figs["sobol_heatmap"])
        assert any(t.startswith(f"other {d - plots.TOP_FACTORS} ") for t in heat)
        assert any(t.startswith(f"other {d - plots.TOP_FACTORS} factors") for t in texts(figs["sobol_bars"]))
        assert f"other {d - 6} factors" in texts(figs["sobol_convergence"])


def test_point_labels_are_few_and_never_overlap(sized):
    (n, _, _), figs = sized
    for name in ("scenario_plot", "correlation_figure", "rank_uncertainty"):
        fig = figs[name]
        renderer = _renderer(fig)
        notes = [a for a in fig.findobj(Annotation)]
        if n > 40:
            assert len(notes) <= plots.MAX_LABELS * len(fig.axes), name
        boxes = [a.get_window_extent(renderer) for a in notes]
        for i in range(len(boxes)):
            for j in range(i):
                assert not boxes[i].overlaps(boxes[j]), (name, notes[i].get_text(), notes[j].get_text())
        for a, b in zip(notes, boxes):  # inside its axes
            ax = a.axes.get_window_extent(renderer)
            assert ax.x0 - 1 <= b.x0 and b.x1 <= ax.x1 + 1 and ax.y0 - 1 <= b.y0 and b.y1 <= ax.y1 + 1, (name, a.get_text())


def test_default_nouns_speak_of_units_not_of_the_paper(sized):
    _, figs = sized
    for name, fig in figs.items():
        words = " ".join(texts(fig)).lower()
        assert not PAPER_WORDS.search(words), (name, PAPER_WORDS.search(words))


def test_user_nouns_and_paper_nouns():
    nouns = Nouns(unit="country", group="income group", higher="world region")
    fig = plots.scenario_plot(**scatter_args(30), nouns=nouns)
    words = " ".join(texts(fig))
    assert "Country index" in words and "World region index" in words and "Income group" in words
    fig = plots.correlation_figure(fake_relationship(30, 8), nouns=PAPER_NOUNS)
    assert "Cluster internationalization index" in texts(fig)


def test_large_scatter_caps_groups_and_labels():
    fig = plots.scenario_plot(**scatter_args(2000, groups=20))
    legend = fig.axes[0].get_legend()
    entries = [t.get_text() for t in legend.get_texts()]
    assert len(entries) == plots.MAX_GROUPS + 1
    assert entries[-1].startswith("other 12 groups")
    assert 0 < len(fig.findobj(Annotation)) <= plots.MAX_LABELS


def test_stability_of_a_large_study_shows_the_unsure_and_summarises_the_rest():
    fig = plots.scenario_stability(fake_bootstrap(2000))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 41 and labels[-1] == "other 1960 units (mean)"
    fig = plots.scenario_stability(fake_bootstrap(2000, unstable=False))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["all 2000 units (mean)"]


def test_data_is_drawn_literally(tmp_path):
    """A '$' pair in a name is text, not mathtext; a newline is a space; long names are shortened."""
    fig = plots.rank_uncertainty(fake_bootstrap(6))
    shown = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert r"u3: \$5 \$ economy" in shown  # escaped for matplotlib, drawn as '$5 $ economy'
    assert "u5: a b" in shown
    assert [t for t in shown if t.startswith("u6: Bosnia")] == ["u6: Bosnia and Herzegovina (Federation of…"]
    plots.save(fig, tmp_path / "literal.png")


def test_save_writes_a_capped_png_and_returns_the_path(tmp_path):
    from PIL import Image

    path = plots.sobol_bars(fake_sobol(70, 30), tmp_path / "bars.png")
    assert path == tmp_path / "bars.png"
    with Image.open(path) as im:
        assert max(im.size) <= plots.MAX_PIXELS
    big = Figure(figsize=(40, 30))  # a caller's oversized figure is saved at a lower resolution
    big.add_subplot().plot([0, 1])
    with Image.open(plots.save(big, tmp_path / "big.png")) as im:
        assert max(im.size) <= plots.MAX_PIXELS


def test_draws_into_a_callers_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.rank_uncertainty(fake_bootstrap(10), ax=ax) is ax
    assert plots.scenario_plot(**scatter_args(10), ax=ax) is ax


def test_importing_and_drawing_leave_matplotlib_alone():
    """No backend switch, no pyplot, no rcParams change: at import, and after drawing and saving."""
    code = r"""
import json, sys, matplotlib
def snap():
    return {k: repr(dict.__getitem__(matplotlib.rcParams, k)) for k in dict.keys(matplotlib.rcParams)}
before = snap()
import clustermodel.plots as plots
after_import = snap()
plots.scenario_plot([0.1, 0.6, 0.3], [0.2, 0.4, 0.9], ["a", "b", "c"], ["g", "h", "g"], (0.5, 0.5), {}, sys.argv[1])
after_draw = snap()
print(json.dumps({"import": [k for k in before if before[k] != after_import[k]],
                  "draw": [k for k in before if before[k] != after_draw[k]],
                  "pyplot": "matplotlib.pyplot" in sys.modules}))
"""
    out = subprocess.run([sys.executable, "-c", code, "/dev/null"], capture_output=True, text=True, cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"import": [], "draw": [], "pyplot": False}


def test_rc_context_restores_the_callers_rcparams():
    with matplotlib.rc_context({"font.size": 17}):
        plots.sobol_bars(fake_sobol(5, 4))
        assert matplotlib.rcParams["font.size"] == 17


def test_bars_of_a_design_without_any_informative_unit_draw_without_warnings():
    # replicate method: in one design no unit's output varied (NaN for every unit); the interval uses the others
    sob = fake_sobol(6, 3)
    ix = sob.indices
    reps = np.stack([ix.S1 + d for d in (0.0, 0.01, -0.01)])
    reps[0] = np.nan
    ix.S1_resamples = ix.ST_resamples = None
    ix.S1_replicates, ix.ST_replicates = reps, reps.copy()
    ix.method, ix.replicates = "replicate", 3
    fig = plots.sobol_bars(sob)
    assert any("spread over 3 designs" in t for t in texts(fig))


def test_every_figure_from_the_papers_results(paper):
    """The real result objects of the paper (small samples), with the paper's nouns."""
    from clustermodel.bootstrap import weight_bootstrap
    from clustermodel.relationship import relationship_analysis
    from clustermodel.reproduction import reproduce
    from clustermodel.sensitivity import weight_sensitivity

    spec = paper.spec.replace(aggregation="quadratic")
    sob = weight_sensitivity(paper, spec, n=16, n_resamples=10, convergence_levels=2, rng=1)
    boot = weight_bootstrap(paper, spec, n_resamples=20, rng=2)
    rel = relationship_analysis(paper, spec, source="computed", n_resamples=99, rng=3)
    figs = [
        plots.rank_uncertainty(boot, nouns=PAPER_NOUNS),
        plots.scenario_stability(boot, nouns=PAPER_NOUNS),
        plots.correlation_figure(rel, nouns=PAPER_NOUNS),
        plots.sobol_bars(sob, nouns=PAPER_NOUNS),
        plots.sobol_heatmap(sob, nouns=PAPER_NOUNS),
        plots.sobol_convergence(sob, nouns=PAPER_NOUNS),
    ]
    for fig in figs:
        assert isinstance(fig, Figure) and max(fig.get_size_inches() * plots.DPI) <= plots.MAX_PIXELS
    # the replicate method (the default) has no bootstrap resamples: the bars' intervals come from the designs,
    # and the titles say so instead of promising bootstrap intervals
    bars = figs[3]
    assert any("spread over 10 designs" in t for t in texts(bars)) and not any("bootstrap" in t for t in texts(bars))
    assert len(bars.axes[0].containers) == 4  # two bar containers and two error bars (S1, ST)
    assert not any("bootstrap" in t for t in texts(figs[5]))
    fig = plots.figure13(reproduce(paper), nouns=PAPER_NOUNS)
    labels = [a.get_text() for a in fig.findobj(Annotation)]
    assert sorted(labels, key=int) == [str(i) for i in range(1, 26)]  # all 25 clusters labelled, as in the paper
    assert "Cluster internationalization index (Table 5, recomputed)" in texts(fig)


def test_sobol_heatmap_outlines_total_indices_above_one():
    from matplotlib.patches import Rectangle

    sob = fake_sobol(6, 3)
    st = sob.indices.ST
    st[:] = np.clip(st, 0, 0.9)
    st[0, 0] = 1.2  # index[u1], first factor: an estimator artefact
    st[7, 1] = 1.05  # rank[u2]
    fig = plots.sobol_heatmap(sob)
    outlined = [p for ax in fig.axes for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert len(outlined) == 2
    assert any("ST > 1 in 2 cell(s)" in t for t in texts(fig))
    st[0, 0], st[7, 1] = 0.9, 0.9
    clean = plots.sobol_heatmap(sob)
    assert not [p for ax in clean.axes for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]


def test_figures_name_nodes_by_their_structure_label_where_they_have_one():
    from clustermodel.structure import Structure

    tree = Structure(
        ["idx", "indicator_1", "indicator_2", "indicator_3"], [None, "idx", "idx", "idx"], [float("nan"), 1, 1, 1],
        labels=[None, "Broadband coverage", "", "Patents per capita"],
    )
    labels = tree.node_labels()
    assert labels == {"indicator_1": "Broadband coverage", "indicator_3": "Patents per capita"}  # blank = no label
    sob = fake_sobol(5, 3)
    for fig in (plots.sobol_bars(sob, node_labels=labels), plots.sobol_heatmap(sob, node_labels=labels), plots.sobol_convergence(sob, node_labels=labels)):
        shown = texts(fig)
        assert any("Broadband coverage" in t for t in shown) and any("Patents per capita" in t for t in shown)
        assert any(t == "indicator_2" for t in shown)  # no label: the code
        assert not any(t == "indicator_1" for t in shown)
    strips = plots.distribution_strips(list(tree.leaves), np.random.default_rng(0).random((6, 3)), np.random.default_rng(1).random((6, 3)), node_labels=labels)
    assert [t.get_text() for t in strips.axes[0].get_yticklabels()] == ["Broadband coverage", "indicator_2", "Patents per capita"]
