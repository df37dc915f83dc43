"""Benchmark: 10^5 weight vectors over every level of a 3-level, 50-indicator, 1000-unit index in one call.

The index: 50 indicators (10 of them lower-is-better, 4 % of cells missing) in 8 pillars in 2 sub-indices;
min-max normalisation, arithmetic pillars, geometric sub-indices and index. The weight batch perturbs all 60
weights (indicators, pillars, sub-indices) at once. The baseline is the fair per-vector loop: the same function
called once per weight vector on the construction computed once (``construction=``, as a competent user would),
timed on a sample in this run and extrapolated; both must agree to 1e-12. The vectorised call runs in a
child process so that its peak resident memory (``ru_maxrss``) is its own.

    .venv/bin/python benchmarks/bench_hierarchy.py [--n 100000] [--units 1000] [--loop-sample 300]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import xarray as xr

from clustermodel.index import compute_index, construct
from clustermodel.spec import IndexSpec
from clustermodel.structure import Structure

SPEC = IndexSpec(normalisation="minmax", missing="rescale", aggregation=("arithmetic", "geometric", "geometric"))


def study(units: int, indicators: int = 50, pillars: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(units, indicators))
    x[rng.random(x.shape) < 0.04] = np.nan
    x[np.all(np.isnan(x), axis=1), 0] = 1.0
    leaves = [f"i{j:02d}" for j in range(indicators)]
    nodes = ["index", "sub0", "sub1"] + [f"p{k}" for k in range(pillars)] + leaves
    parents = [None, "index", "index"] + [f"sub{k % 2}" for k in range(pillars)] + [f"p{j % pillars}" for j in range(indicators)]
    weights = [np.nan] + list(rng.uniform(0.5, 2.0, len(nodes) - 1))
    directions = [1] * (3 + pillars) + [(-1 if j % 5 == 0 else 1) for j in range(indicators)]
    tree = Structure(nodes, parents, weights, directions=directions)
    data = xr.DataArray(x, dims=("unit", "indicator"), coords={"indicator": leaves, "unit": np.arange(units)})
    return data, tree


def weights(tree, n, seed=1):
    return tree.weight_array() * np.random.default_rng(seed).uniform(0.5, 1.5, size=(n, len(tree.weighted)))


def child(n: int, units: int) -> None:
    data, tree = study(units)
    W = weights(tree, n)
    t0 = time.perf_counter()
    out = compute_index(data, W, SPEC, structure=tree)
    elapsed = time.perf_counter() - t0
    np.save(sys.argv[-1], out.values[:50])
    print(json.dumps({"seconds": elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "shape": list(out.shape)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="weight vectors in the batch")
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--loop-sample", type=int, default=300, help="vectors timed one by one (extrapolated to --n)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("out", nargs="?", default="/tmp/bench_hierarchy_head.npy", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.n, args.units)
        return
    proc = subprocess.run([sys.executable, __file__, "--child", "--n", str(args.n), "--units", str(args.units), args.out], capture_output=True, text=True, check=True)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    data, tree = study(args.units)
    W = weights(tree, args.n)
    k = min(args.loop_sample, args.n)
    c = construct(data, SPEC, structure=tree)
    t0 = time.perf_counter()
    loop = np.stack([compute_index(data, W[i], SPEC, structure=tree, construction=c).values for i in range(k)])
    t_loop = (time.perf_counter() - t0) * args.n / k
    head = np.load(args.out)
    err = float(np.max(np.abs(head - loop[: len(head)])))
    print(f"index: {len(tree.leaves)} indicators, {len(tree.aggregates) - 1} pillars/sub-indices, {tree.n_levels - 1} aggregation levels, {args.units} units")
    print(f"vectorised: {args.n} weight vectors (60 weights each) in one call: {res['seconds']:.2f} s, peak RSS {res['peak_rss_mb']:.0f} MB (child process)")
    print(f"loop (one call per vector, {k} timed, extrapolated to {args.n}): {t_loop:.0f} s")
    print(f"max |difference| on the first {len(head)} vectors = {err:.2e}")
    print(f"speed ratio (loop / vectorised): {t_loop / res['seconds']:.0f}x")
    if err > 1e-12:
        raise SystemExit("batched and one-by-one results differ")


if __name__ == "__main__":
    main()
