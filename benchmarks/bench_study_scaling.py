#!/usr/bin/env python3
"""Scaling of the weight-robustness Sobol' stage on whole studies: time and peak memory against N and units.

A synthetic study (``bench_relationship_scale.write_study``: gamma-distributed indicators, 6 groups, equal
weights, no higher-level units) of U units x K indicators is analysed by
:func:`clustermodel.weight_sensitivity` with its defaults (replicate method, Dirichlet weights, every per-unit
output: index, rank) at N = 2^k per design. Each (U, K, N) runs in a fresh child process; its peak resident
memory is the child's own ``ru_maxrss`` (``os.wait4``), so it includes the study, the model's chunks and the
running sums. The column "outputs in memory" is what the model outputs Y would take if they were held at
once (the estimator before it streamed): peak memory should stay flat while that grows, and time should
grow linearly in N and in units.

Usage::

    python benchmarks/bench_study_scaling.py --points 25x20x10 1000x50x12 10000x50x12 [--replicates 2]
        [--memory-limit 1GiB] [--json FILE]

A point is UNITSxINDICATORSxLOG2N.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_POINTS = ["25x20x10", "25x20x12", "25x20x14", "1000x20x10", "1000x50x10", "1000x50x12", "1000x50x14", "10000x20x10", "10000x50x10", "10000x50x12"]


def child(args) -> None:
    sys.path.insert(0, str(ROOT))
    from clustermodel.data import load_study
    from clustermodel.sensitivity import weight_sensitivity

    folder = Path(args.folder)
    study = load_study(folder / "units.csv", folder / "weights.csv", id_column="id", group_column="group")
    t0 = time.perf_counter()
    res = weight_sensitivity(study, n=2**args.log2n, replicates=args.replicates, rng=1, memory_limit=None if args.memory_limit == "default" else args.memory_limit, progress=False)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "model_runs": int(res.indices.model_runs), "chunk_size": int(res.indices.chunk_size), "outputs": len(res.quantity)}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", nargs="+", default=DEFAULT_POINTS, help="UNITSxINDICATORSxLOG2N, e.g. 1000x50x12")
    parser.add_argument("--replicates", type=int, default=2, help="designs of the replicate method (default 2)")
    parser.add_argument("--memory-limit", default="1GiB", help="memory budget of the Sobol' run (default 1GiB, the config's; 'default': the package's, a quarter of the memory available)")
    parser.add_argument("--json", type=Path, default=None, help="write the table to this JSON file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--log2n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    from bench_relationship_scale import write_study

    print(f"weight_sensitivity, {args.replicates} designs, memory_limit {args.memory_limit}; each point in a fresh child process", flush=True)
    print(f"{'units':>6} {'ind.':>5} {'N':>6} {'model runs':>11} {'time s':>8} {'peak RSS MiB':>13} {'chunk':>6} {'Y in memory MiB':>16}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for point in args.points:
            units, indicators, log2n = (int(v) for v in point.split("x"))
            folder = Path(tmp) / f"{units}x{indicators}"
            if not folder.exists():
                folder.mkdir()
                write_study(folder, units=units, regions=min(50, units), indicators=indicators, groups=6, seed=13)
            cmd = [sys.executable, __file__, "--child", "--folder", str(folder), "--log2n", str(log2n),
                   "--replicates", str(args.replicates), "--memory-limit", args.memory_limit]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status):
                print(f"{point}: the child failed with status {os.waitstatus_to_exitcode(status)}", flush=True)
                continue
            res = json.loads(out.strip().splitlines()[-1])
            peak = usage.ru_maxrss * 1024  # kilobytes on Linux
            held = res["model_runs"] * res["outputs"] * 8  # every model output, float64
            row = {"units": units, "indicators": indicators, "n": 2**log2n, **res, "peak_rss_bytes": peak, "outputs_in_memory_bytes": held}
            rows.append(row)
            print(f"{units:6d} {indicators:5d} {2**log2n:6d} {res['model_runs']:11d} {res['seconds']:8.1f} {peak / 2**20:13.0f} "
                  f"{res['chunk_size']:6d} {held / 2**20:16.0f}", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps({"settings": {k: v for k, v in vars(args).items() if k not in ("child", "folder", "log2n")} | {"json": str(args.json)}, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
