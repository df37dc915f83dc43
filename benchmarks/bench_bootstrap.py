"""Timing of the bootstrap on the paper's data (not a test: run `python benchmarks/bench_bootstrap.py`).

Shows that 10 000 expert panels are one vectorised evaluation (no Python loop over panels).
"""

from __future__ import annotations

import time

from clustermodel.bootstrap import cluster_bootstrap, weight_bootstrap
from clustermodel.data import load_paper
from clustermodel.spec import IndexSpec


def best_of(func, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    study = load_paper()
    spec = IndexSpec(weights="quadratic")
    for n in (1_000, 10_000, 100_000):
        t = best_of(lambda: weight_bootstrap(study, spec, n_resamples=n, rng=1))
        print(f"weight_bootstrap  n_resamples={n:>7}: {t:.3f} s")
    for n in (1_000, 10_000):
        t = best_of(lambda: cluster_bootstrap(study, spec, n_resamples=n, rng=1))
        print(f"cluster_bootstrap n_resamples={n:>7}: {t:.3f} s")


if __name__ == "__main__":
    main()
