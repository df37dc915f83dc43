"""Benchmark: the expert-panel bootstrap scored in one vectorised call vs one call per panel.

Both sides run in this process on the same 10 000 panels (drawn once); the
per-panel baseline is timed on a sample of panels and extrapolated. The script
checks that both give the same indices and scenarios and prints the speed
ratio, then the end-to-end timings of `weight_bootstrap` and `cluster_bootstrap`.

    .venv/bin/python benchmarks/bench_bootstrap.py [--n 10000] [--loop-sample 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from clustermodel.bootstrap import cluster_bootstrap, draw_panels, weight_bootstrap
from clustermodel.data import load_paper
from clustermodel.scenarios import evaluate
from clustermodel.spec import IndexSpec, PAPER_SPEC


def best_of(func, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="expert panels")
    ap.add_argument("--loop-sample", type=int, default=300, help="panels timed one by one (extrapolated to --n)")
    args = ap.parse_args()
    study = load_paper()
    spec = PAPER_SPEC.replace(aggregation="quadratic")
    panels = draw_panels(study.weights, n_resamples=args.n, rng=1)
    w = panels.values

    t0 = time.perf_counter()
    batch = evaluate(study, spec, weights=w)
    t_batch = time.perf_counter() - t0

    k = min(args.loop_sample, args.n)
    t0 = time.perf_counter()
    one = [evaluate(study, spec, weights=w[i]) for i in range(k)]
    t_loop = (time.perf_counter() - t0) * args.n / k

    d_index = max(float(np.max(np.abs(batch.cluster_index.values[i] - e.cluster_index.values))) for i, e in enumerate(one))
    same_scen = all(np.array_equal(batch.scenario.values[i], e.scenario.values) for i, e in enumerate(one))
    print(f"vectorised evaluate: {args.n} panels in {t_batch:.3f} s")
    print(f"one evaluate per panel ({k} timed, extrapolated to {args.n}): {t_loop:.1f} s")
    print(f"agreement: max |d index| = {d_index:.2e}, scenarios identical: {same_scen}")
    print(f"speed ratio (per panel / vectorised): {t_loop / t_batch:.0f}x")
    if d_index > 1e-12 or not same_scen:
        raise SystemExit("batched and per-panel results differ")
    print()
    for n in (1_000, 10_000, 100_000):
        t = best_of(lambda: weight_bootstrap(study, spec, n_resamples=n, rng=1))
        print(f"weight_bootstrap  n_resamples={n:>7}: {t:.3f} s end to end")
    for n in (1_000, 10_000):
        t = best_of(lambda: cluster_bootstrap(study, spec, n_resamples=n, rng=1))
        print(f"cluster_bootstrap n_resamples={n:>7}: {t:.3f} s end to end")


if __name__ == "__main__":
    main()
