"""Benchmark: the relationship stage on a synthetic study of 2000 units in 50 higher-level units.

Writes a synthetic study (units x indicators with a group and a higher-level
column, a higher-level table with a negative indicator) into a temporary
folder, then runs the relationship stage in a child process, once as the
report runs it (``workflow.run_correlation``: every test, figure, NetCDF, JSON,
CSV) and once the estimator alone (``relationship_analysis``), and prints for
each the wall time, the child's peak resident memory (``resource.getrusage``)
and the size of the files written. For comparison it prints what the former
implementation's mid-rank array would have needed (resamples per batch x
units x units x 8 bytes).

    .venv/bin/python benchmarks/bench_relationship_scale.py [--units 2000] [--regions 50] [--n-resamples 9999]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def write_study(folder: Path, units: int, regions: int, indicators: int, groups: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    region = rng.integers(0, regions, size=units)
    region[:regions] = np.arange(regions)
    effect = rng.gamma(2.0, 1.0, size=regions)
    names = [f"i{j}" for j in range(indicators)]
    with open(folder / "units.csv", "w") as fh:
        fh.write("id,group,region," + ",".join(names) + "\n")
        for i in range(units):
            vals = rng.gamma(2.0, 1.0, size=indicators) * (1 + 0.3 * effect[region[i]])
            fh.write(f"{i + 1},g{i % groups},h{region[i]:03d}," + ",".join(f"{v:.4f}" for v in vals) + "\n")
    with open(folder / "weights.csv", "w") as fh:
        fh.write("indicator,weight\n" + "".join(f"{n},{1 / indicators:.6f}\n" for n in names))
    with open(folder / "regions.csv", "w") as fh:
        fh.write("region,a,b,c,balance\n")
        for k in range(regions):
            a, b, c = rng.gamma(2.0, 1.0, size=3) * (1 + 0.3 * effect[k])
            fh.write(f"h{k:03d},{a:.4f},{b:.4f},{c:.4f},{rng.normal():.4f}\n")


CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from clustermodel.data import load_study
folder, mode, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
study = load_study(folder / "units.csv", folder / "weights.csv", regions=folder / "regions.csv", id_column="id", group_column="group", region_column="region")
t = time.perf_counter()
if mode == "stage":
    from clustermodel.workflow import run_correlation
    out = folder / "out"
    run_correlation(study, {{"correlation": {{"n_resamples": n, "seed": 1, "source": "computed"}}}}, out)
    sizes = {{p.name: p.stat().st_size for p in sorted(out.iterdir())}}
else:
    from clustermodel.relationship import relationship_analysis
    relationship_analysis(study, source="computed", n_resamples=n, rng=1)  # the study's spec
    sizes = {{}}
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "sizes": sizes}}))
"""


def run_child(folder: Path, mode: str, n_resamples: int) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), str(folder), mode, str(n_resamples)],
        capture_output=True,
        text=True,
        env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"},
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall"] = wall
    res["children_maxrss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=2000)
    ap.add_argument("--regions", type=int, default=50)
    ap.add_argument("--indicators", type=int, default=30)
    ap.add_argument("--groups", type=int, default=6)
    ap.add_argument("--n-resamples", type=int, default=9999, help="the default config's resamples per test")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_study(folder, args.units, args.regions, args.indicators, args.groups, args.seed)
        print(
            f"synthetic study: {args.units} units x {args.indicators} indicators, {args.regions} higher-level units, "
            f"{args.groups} groups; {args.n_resamples} resamples per test"
        )
        old = 1000 * args.units * args.units * 8
        print(f"former mid-rank array (1000 resamples x {args.units} x {args.units} floats): {old / 2**30:.1f} GiB\n")
        for mode, what in (("analysis", "relationship_analysis (estimator only)"), ("stage", "run_correlation (estimator + report files + figure)")):
            res = run_child(folder, mode, args.n_resamples)
            print(f"{what}: {res['seconds']:.1f} s (process wall {res['wall']:.1f} s), peak RSS {res['maxrss_kib'] / 1024:.0f} MiB")
            if res["sizes"]:
                print("  files: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in res["sizes"].items()))


if __name__ == "__main__":
    main()
