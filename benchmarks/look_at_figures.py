"""Render every figure of clustermodel.plots at three study sizes, for a person to look at.

(a) the paper's study (25 clusters x 4 indicators, 19 regions);
(b) a synthetic 51-unit x 49-indicator study in 8 pillars, 5 groups, 10 higher-level units;
(c) a synthetic 2000-unit x 30-indicator study, 12 groups, 50 higher-level units.

Result objects come from the library with small sample sizes (the figures' layout, not the
numbers, is what is checked). Every PNG goes to ``<out>/<study>/``, and the script prints each
file's size in pixels; open them (any image viewer) and read them at the size they are shown.

    .venv/bin/python benchmarks/look_at_figures.py [--out /tmp/figures] [--only paper,countries,large]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clustermodel.reporting.nouns import PAPER_NOUNS, Nouns  # noqa: E402

#: Names a user's table may hold: markup, table pipes, mathtext dollars, long and non-Latin names.
AWKWARD = ["<script>alert(1)</script>", "A|B & C", "Côte d'Ivoire", "$5 $ economy", "Bosnia and Herzegovina (Federation)", "日本", "x_y*z"]


def write_synthetic(folder: Path, *, units: int, indicators: int, pillars: int, groups: int, regions: int, seed: int) -> dict:
    """Unit table, structure file (index -> pillars -> indicators) and higher-level table in ``folder``."""
    rng = np.random.default_rng(seed)
    region = rng.integers(0, regions, size=units)
    region[:regions] = np.arange(regions)
    effect = rng.gamma(2.0, 1.0, size=regions)
    names = [f"ind_{j + 1:02d}" for j in range(indicators)]
    pillar_of = np.sort(np.arange(indicators) % pillars)
    # skewed indicators with different scales, a few missing cells, a couple of lower-is-better ones
    scale = rng.lognormal(0, 1.5, size=indicators)
    x = rng.gamma(2.0, 1.0, size=(units, indicators)) * scale * (1 + 0.4 * effect[region])[:, None]
    x[rng.random(x.shape) < 0.02] = np.nan
    unit_names = [AWKWARD[i] if i < len(AWKWARD) else f"Unit {i + 1} {'long name ' * (i % 3)}".strip() for i in range(units)]
    with open(folder / "units.csv", "w", encoding="utf-8") as fh:
        fh.write("id,name,group,region," + ",".join(names) + "\n")
        for i in range(units):
            nm = '"' + unit_names[i].replace('"', '""') + '"'
            cells = ",".join("" if np.isnan(v) else f"{v:.5g}" for v in x[i])
            fh.write(f"u{i + 1},{nm},g{i % groups + 1},h{region[i] + 1:02d},{cells}\n")
    with open(folder / "structure.csv", "w", encoding="utf-8") as fh:
        fh.write("node,parent,weight,direction\nindex,,,\n")
        for p in range(pillars):
            fh.write(f"pillar_{p + 1},index,{1 + p % 3},\n")
        for j, n in enumerate(names):
            fh.write(f"{n},pillar_{pillar_of[j] + 1},{rng.integers(1, 4)},{-1 if j % 11 == 5 else 1}\n")
    with open(folder / "regions.csv", "w", encoding="utf-8") as fh:
        fh.write("region,a,b,c,balance\n")
        for k in range(regions):
            a, b, c = rng.gamma(2.0, 1.0, size=3) * (1 + 0.3 * effect[k])
            fh.write(f"h{k + 1:02d},{a:.4f},{b:.4f},{c:.4f},{rng.normal():.4f}\n")
    return {"clusters": folder / "units.csv", "structure": folder / "structure.csv", "regions": folder / "regions.csv"}


def make_study(kind: str, folder: Path):
    from clustermodel.data import load_paper, load_study

    if kind == "paper":
        return load_paper(), PAPER_NOUNS
    shape = {
        "countries": dict(units=51, indicators=49, pillars=8, groups=5, regions=10, seed=51),
        "large": dict(units=2000, indicators=30, pillars=6, groups=12, regions=50, seed=2000),
    }[kind]
    files = write_synthetic(folder, **shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = load_study(files["clusters"], structure=files["structure"], regions=files["regions"], id_column="id", group_column="group", region_column="region")
    nouns = Nouns(unit="country", group="income group", higher="world region") if kind == "countries" else Nouns()
    return study, nouns


def render(kind: str, out: Path) -> list:
    from clustermodel import plots
    from clustermodel.bootstrap import weight_bootstrap
    from clustermodel.relationship import relationship_analysis
    from clustermodel.scenarios import evaluate
    from clustermodel.sensitivity import weight_sensitivity

    out.mkdir(parents=True, exist_ok=True)
    timings = {}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        study, nouns = make_study(kind, Path(tmp))
        spec = study.spec if kind != "paper" else study.spec.replace(aggregation="quadratic")
        large = study.indicators.sizes["cluster"] > 500
        ev = evaluate(study, spec)
        timings["study+evaluate"] = time.perf_counter() - t
        t = time.perf_counter()
        triggers = {"normalisation": ["minmax", "rank"], "aggregation": ["arithmetic", "quadratic"]} if kind != "paper" else {"aggregation": ["equation1", "quadratic", "arithmetic"]}
        sob = weight_sensitivity(study, spec, n=32 if large else 128, n_resamples=20 if large else 50, convergence_levels=3, rng=1, triggers=triggers)
        timings["sobol"] = time.perf_counter() - t
        t = time.perf_counter()
        boot = weight_bootstrap(study, spec, n_resamples=200, rng=2)
        timings["bootstrap"] = time.perf_counter() - t
        t = time.perf_counter()
        rel = relationship_analysis(study, spec, source="both" if kind == "paper" else "computed", n_resamples=99, rng=3)
        timings["relationship"] = time.perf_counter() - t

    t = time.perf_counter()
    ids = [str(v) for v in ev.cluster_index["cluster"].values]
    groups = [str(g) for g in study.clusters["group"].values] if study.has_groups else None
    written = [
        plots.scenario_plot(
            ev.cluster_index.values, ev.region_index_of_cluster.values, ids, groups,
            (float(ev.cluster_threshold), float(ev.region_threshold)),
            {s: int(c) for s, c in zip(ev.scenario_counts["scenario"].values, ev.scenario_counts.values)},
            out / "scores_scenarios.png", title="Scenarios under the nominal spec", nouns=nouns,
        ),
        plots.rank_uncertainty(boot, out / "bootstrap_ranks.png", nouns=nouns),
        plots.scenario_stability(boot, out / "bootstrap_scenarios.png", nouns=nouns),
        plots.correlation_figure(rel, out / "correlation.png", nouns=nouns),
        plots.sobol_bars(sob, out / "sobol_bars.png", nouns=nouns),
        plots.sobol_heatmap(sob, out / "sobol_heatmap.png", nouns=nouns),
        plots.sobol_convergence(sob, out / "sobol_convergence.png", nouns=nouns),
    ]
    if kind == "paper":
        from clustermodel.reproduction import reproduce

        written.append(plots.figure13(reproduce(study), out / "figure13.png", nouns=nouns))
    timings["figures"] = time.perf_counter() - t
    print(f"{kind}: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "clustermodel_figures")
    ap.add_argument("--only", default="paper,countries,large")
    args = ap.parse_args(argv)
    from PIL import Image

    for kind in args.only.split(","):
        for p in [q for q in render(kind, args.out / kind) if q is not None]:
            with Image.open(p) as im:
                print(f"  {p}  {im.size[0]} x {im.size[1]} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
