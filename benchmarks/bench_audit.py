"""Benchmark: the audit stage and the audit preset's rank intervals at 2000 units x 50 indicators in 10 pillars.

Times every part of ``workflow.run_audit`` (the report's audit stage, figures and files included) and the preset's
Monte Carlo rank intervals, with the peak resident memory of the process; and, as the fair baseline for the one
part a competent user would otherwise write in a line, the pairwise-complete correlation matrix of all 61 nodes
computed by pandas' ``DataFrame.corr`` against ours (both in this run, on the same table). Results are written to
``bench_audit_result.json`` beside this script.

    .venv/bin/python benchmarks/bench_audit.py [--units 2000] [--indicators 50] [--pillars 10]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from audit_helpers import make_study  # noqa: E402

from clustermodel._nodes import node_table  # noqa: E402
from clustermodel.coherence import pairwise_correlation  # noqa: E402


def _study(n_units, n_ind, n_pillars, seed=0):
    per = n_ind // n_pillars
    pillars = {f"P{p}": [f"x{p}_{k}" for k in range(per)] for p in range(n_pillars)}
    rng = np.random.default_rng(seed)
    missing = [(int(i), int(j)) for i, j in zip(rng.integers(0, n_units, n_units // 4), rng.integers(0, per * n_pillars, n_units // 4))]
    return make_study(n=n_units, seed=seed, pillars=pillars, missing_cells=missing)


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=2000)
    ap.add_argument("--indicators", type=int, default=50)
    ap.add_argument("--pillars", type=int, default=10)
    ap.add_argument("--samples", type=int, default=2000, help="Monte Carlo runs of the audit preset")
    args = ap.parse_args()
    from clustermodel.coherence import statistical_coherence
    from clustermodel.compare import outranking
    from clustermodel.config import validate_config
    from clustermodel.datastats import data_availability, indicator_statistics
    from clustermodel.importance import optimise_weights, weight_importance
    from clustermodel.removal import element_removal
    from clustermodel.uncertainty import audit_preset, rank_uncertainty
    from clustermodel.workflow import run_audit

    study = _study(args.units, args.indicators, args.pillars)
    times = {}

    def timed(name, f):
        t0 = time.perf_counter()
        out = f()
        times[name] = round(time.perf_counter() - t0, 3)
        return out

    timed("warm-up (imports, a 30-unit audit)", lambda: run_audit(_study(30, 10, 2), validate_config({"audit": {"n_resamples": 20}}), tempfile.mkdtemp()))
    timed("availability + statistics", lambda: (data_availability(study), indicator_statistics(study), indicator_statistics(study, stage="normalised")))
    timed("coherence (correlations, flags, alpha, PCA)", lambda: statistical_coherence(study))
    timed("importance (r2, correlation ratio, 200 resamples)", lambda: weight_importance(study, rng=1))
    timed("weight optimisation (10 pillars)", lambda: optimise_weights(study))
    timed("element removal (60 elements)", lambda: element_removal(study))
    timed("outranking", lambda: outranking(study))
    with tempfile.TemporaryDirectory() as out:
        timed("run_audit: the whole stage with files and figures", lambda: run_audit(study, validate_config({}), out))
    preset = timed("audit preset", lambda: audit_preset(study))
    timed(f"rank intervals ({args.samples} runs of the preset)", lambda: rank_uncertainty(study, preset, n_samples=args.samples, rng=1))

    # the fair baseline: pandas' pairwise-complete correlation of the same node table
    X = node_table(study).values
    df = pd.DataFrame(X)
    t0 = time.perf_counter()
    ours = pairwise_correlation(X)[0]
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = df.corr(min_periods=3).values
    t_pandas = time.perf_counter() - t0
    agree = float(np.nanmax(np.abs(ours - theirs)))

    result = {
        "study": f"{args.units} units x {args.indicators} indicators in {args.pillars} pillars, {args.units // 4} missing cells",
        "seconds": times,
        "peak_rss_mib": round(_peak_mib(), 1),
        "correlation_matrix": {"ours_s": round(t_ours, 4), "pandas_corr_s": round(t_pandas, 4), "ratio_pandas_over_ours": round(t_pandas / t_ours, 2), "max_abs_difference": agree},
    }
    for k, v in times.items():
        print(f"{v:8.2f} s  {k}")
    print(f"peak RSS {result['peak_rss_mib']} MiB")
    print(f"correlation matrix of {X.shape[1]} nodes: ours {t_ours:.3f} s, pandas {t_pandas:.3f} s (ratio {t_pandas / t_ours:.2f}x), max |difference| {agree:.1e}")
    (Path(__file__).with_name("bench_audit_result.json")).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
