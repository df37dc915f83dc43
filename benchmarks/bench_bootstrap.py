"""Benchmark: the expert-panel bootstrap in batches vs one model call per panel, and the streamed bootstraps at scale.

1. **Baseline ratio** (the paper's study): 10 000 panels scored in one vectorised ``evaluate`` call vs one call
   per panel (timed on a sample and extrapolated); both must agree to 1e-12.
2. **Scale** (synthetic studies: units x 50 indicators in 5 pillars, min-max normalisation, arithmetic means,
   no region table): ``weight_bootstrap`` and ``cluster_bootstrap`` with the default memory budget (512 MiB),
   each run in its own child process so that its peak resident memory (``resource.getrusage(RUSAGE_SELF)``)
   is its own. The table shows time and peak RSS against units and ``n_resamples``: memory stays flat in
   ``n_resamples`` (summaries are streamed; only the chunk size depends on the budget).

    .venv/bin/python benchmarks/bench_bootstrap.py [--n 10000] [--loop-sample 300] [--skip-scale] [--quick]

Results of the last full run are written beside this script (``bench_bootstrap_result.json``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def synthetic_study(units: int, indicators: int = 50, pillars: int = 5, seed: int = 0):
    """A study of ``units`` x ``indicators`` (lognormal, 10 % lower-is-better) in ``pillars`` pillars, no regions."""
    import xarray as xr

    from clustermodel.data import Study
    from clustermodel.spec import IndexSpec
    from clustermodel.structure import Structure

    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(units, indicators))
    leaves = [f"i{j:02d}" for j in range(indicators)]
    nodes = ["index"] + [f"p{k}" for k in range(pillars)] + leaves
    parents = [None] + ["index"] * pillars + [f"p{j % pillars}" for j in range(indicators)]
    w = [np.nan] + list(rng.uniform(0.5, 2.0, len(nodes) - 1))
    directions = [1] * (1 + pillars) + [(-1 if j % 10 == 0 else 1) for j in range(indicators)]
    tree = Structure(nodes, parents, w, directions=directions)
    ds = xr.Dataset({"indicators": (("cluster", "indicator"), x)}, coords={"cluster": np.arange(units), "indicator": leaves})
    eff = xr.DataArray(tree.effective_weights(), dims=["indicator"], coords={"indicator": leaves})
    return Study(clusters=ds, weights=eff, structure=tree, spec=IndexSpec(normalisation="minmax", aggregation="arithmetic"))


def child(kind: str, units: int, n: int) -> None:
    import warnings

    import dask  # noqa: F401 - imported before the baseline RSS: a library, not the run's memory

    from clustermodel.bootstrap import cluster_bootstrap, weight_bootstrap

    warnings.simplefilter("ignore")
    study = synthetic_study(units)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    run = weight_bootstrap if kind == "weight" else cluster_bootstrap
    t0 = time.perf_counter()
    r = run(study, n_resamples=n, rng=1, progress=False)
    elapsed = time.perf_counter() - t0
    rec = {
        "kind": kind,
        "units": units,
        "n_resamples": n,
        "seconds": elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": base,
        "chunk_size": r.streaming["chunk_size"],
        "n_chunks": r.streaming["n_chunks"],
        "estimate_mb": r.streaming["memory_estimate"] / 2**20,
        "bins": r.streaming["bins"],
    }
    if kind == "weight":
        rec["rank_exact"] = bool(r.summary["rank_exact"].all())
        rec["max_score_error"] = float(r.summary["score_error"].max())
        rec["max_rank_error"] = float(r.summary["rank_error"].max())
    print(json.dumps(rec))


def run_child(kind: str, units: int, n: int) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(units), str(n)], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise SystemExit(f"child {kind} {units} {n} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_of(func, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return min(times)


def baseline(n: int, loop_sample: int) -> dict:
    from clustermodel.bootstrap import draw_panels, weight_bootstrap
    from clustermodel.data import load_paper
    from clustermodel.scenarios import evaluate
    from clustermodel.spec import PAPER_SPEC

    study = load_paper()
    spec = PAPER_SPEC.replace(aggregation="quadratic")
    w = draw_panels(study, n_resamples=n, rng=1).values

    t0 = time.perf_counter()
    batch = evaluate(study, spec, weights=w)
    t_batch = time.perf_counter() - t0

    k = min(loop_sample, n)
    t0 = time.perf_counter()
    one = [evaluate(study, spec, weights=w[i]) for i in range(k)]
    t_loop = (time.perf_counter() - t0) * n / k

    d_index = max(float(np.max(np.abs(batch.cluster_index.values[i] - e.cluster_index.values))) for i, e in enumerate(one))
    same_scen = all(np.array_equal(batch.scenario.values[i], e.scenario.values) for i, e in enumerate(one))
    print(f"vectorised evaluate: {n} panels in {t_batch:.3f} s")
    print(f"one evaluate per panel ({k} timed, extrapolated to {n}): {t_loop:.1f} s")
    print(f"agreement: max |d index| = {d_index:.2e}, scenarios identical: {same_scen}")
    print(f"speed ratio (per panel / vectorised): {t_loop / t_batch:.0f}x")
    if d_index > 1e-12 or not same_scen:
        raise SystemExit("batched and per-panel results differ")
    t_wb = best_of(lambda: weight_bootstrap(study, spec, n_resamples=n, rng=1, progress=False))
    print(f"weight_bootstrap (paper, streamed, {n} panels): {t_wb:.2f} s end to end")
    return {"n": n, "vectorised_s": t_batch, "loop_s": t_loop, "ratio": t_loop / t_batch, "weight_bootstrap_s": t_wb}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="expert panels of the baseline comparison")
    ap.add_argument("--loop-sample", type=int, default=300, help="panels timed one by one (extrapolated to --n)")
    ap.add_argument("--skip-scale", action="store_true", help="only the baseline ratio")
    ap.add_argument("--quick", action="store_true", help="a small scale table (minutes less)")
    ap.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    result = {"baseline": baseline(args.n, args.loop_sample)}
    if not args.skip_scale:
        if args.quick:
            grid = [("weight", 1000, 1000), ("weight", 1000, 10_000), ("cluster", 1000, 1000)]
        else:
            grid = [
                ("weight", 1000, 1000),
                ("weight", 1000, 10_000),
                ("weight", 1000, 30_000),
                ("weight", 10_000, 1000),
                ("weight", 10_000, 10_000),
                ("cluster", 1000, 1000),
                ("cluster", 1000, 10_000),
                ("cluster", 10_000, 100),
                ("cluster", 10_000, 1000),
            ]
        print()
        print("| bootstrap | units | n_resamples | time (s) | peak RSS (MB) | RSS before (MB) | chunk | chunks | estimate (MB) | bins |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        rows = []
        for kind, units, n in grid:
            rec = run_child(kind, units, n)
            rows.append(rec)
            print(
                f"| {kind} | {units} | {n} | {rec['seconds']:.1f} | {rec['peak_rss_mb']:.0f} | {rec['rss_before_mb']:.0f} | "
                f"{rec['chunk_size']} | {rec['n_chunks']} | {rec['estimate_mb']:.0f} | {rec['bins']} |",
                flush=True,
            )
        result["scale"] = rows
        for r in rows:
            if r["kind"] == "weight":
                print(
                    f"weight {r['units']} x {r['n_resamples']}: rank percentiles exact: {r['rank_exact']}, "
                    f"largest percentile error bound: scores {r['max_score_error']:.2g}, ranks {r['max_rank_error']:.2g}"
                )
        if not args.quick:
            (HERE / "bench_bootstrap_result.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
