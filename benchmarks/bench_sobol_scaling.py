#!/usr/bin/env python3
"""Scaling of the streamed Sobol' estimator: time and peak memory against N.

A synthetic vectorised model with many outputs, Y = (X W)^2 + sin(X_1) for a fixed random
D x K matrix W (default D = 20 factors, K = 1000 outputs), is analysed with the default replicate
method at N = 2^10 ... 2^14 per design. Each run happens in a fresh child process; its peak
resident memory is the child's own ``ru_maxrss`` from ``os.wait4`` (the per-child form of
``resource.getrusage(RUSAGE_CHILDREN)``, which would report the largest child so far).

The table also gives the size the model outputs would take if they were held in memory at once
(what the estimator did before it streamed), to show that peak memory stays flat in N while that
size grows with it, and that time grows linearly. Usage::

    python benchmarks/bench_sobol_scaling.py [--log2n 10 11 12 13 14] [--outputs 1000] [--factors 20]
        [--replicates 4] [--memory-limit 1GiB] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class SyntheticModel:
    """Y = (X W)^2 + sin(X_1): D factors on [0, 1] to K outputs, vectorised over rows."""

    def __init__(self, d: int, k: int, seed: int = 0):
        import numpy as np

        self.W = np.random.default_rng(seed).normal(size=(d, k)) / d**0.5

    def __call__(self, X):
        import numpy as np

        Y = X @ self.W
        np.square(Y, out=Y)
        Y += np.sin(X[:, :1])
        return Y


def child(args) -> None:
    sys.path.insert(0, str(ROOT))
    from clustermodel.sobol import sobol_indices

    d, k = args.factors, args.outputs
    problem = {"num_vars": d, "names": [f"x{j}" for j in range(d)], "bounds": [[0.0, 1.0]] * d}
    model = SyntheticModel(d, k)
    t0 = time.perf_counter()
    res = sobol_indices(model, problem, n=2**args.log2n[0], replicates=args.replicates, rng=1,
                        memory_limit=args.memory_limit, progress=False)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "chunk_size": res.chunk_size, "model_runs": res.model_runs,
                      "memory_estimate": res.memory_estimate, "S1_sum_first_output": float(res.S1[0].sum())}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log2n", type=int, nargs="+", default=[10, 11, 12, 13, 14], help="N = 2**log2n per design")
    parser.add_argument("--outputs", type=int, default=1000, help="model outputs K (default 1000)")
    parser.add_argument("--factors", type=int, default=20, help="factors D (default 20)")
    parser.add_argument("--replicates", type=int, default=4, help="designs of the replicate method (default 4)")
    parser.add_argument("--memory-limit", default="1GiB", help="memory budget passed to sobol_indices (default 1GiB)")
    parser.add_argument("--json", type=Path, default=None, help="write the table to this JSON file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    rows = []
    print(f"synthetic model: D = {args.factors} factors, K = {args.outputs} outputs, {args.replicates} designs, "
          f"memory_limit {args.memory_limit}; each N in a fresh child process", flush=True)
    print(f"{'N':>7} {'model runs':>11} {'time s':>8} {'peak RSS MiB':>13} {'chunk':>6} {'estimate MiB':>13} {'Y in memory MiB':>16}")
    for log2n in args.log2n:
        cmd = [sys.executable, __file__, "--child", "--log2n", str(log2n), "--outputs", str(args.outputs),
               "--factors", str(args.factors), "--replicates", str(args.replicates), "--memory-limit", args.memory_limit]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            print(f"child for N = 2^{log2n} failed with status {proc.returncode}")
            return 1
        res = json.loads(out.strip().splitlines()[-1])
        peak = usage.ru_maxrss * 1024  # kilobytes on Linux
        held = res["model_runs"] * args.outputs * 8
        row = {"n": 2**log2n, **res, "peak_rss_bytes": peak, "outputs_in_memory_bytes": held}
        rows.append(row)
        print(f"{2**log2n:7d} {res['model_runs']:11d} {res['seconds']:8.2f} {peak / 2**20:13.0f} {res['chunk_size']:6d} "
              f"{res['memory_estimate'] / 2**20:13.0f} {held / 2**20:16.0f}", flush=True)
    peaks = [r["peak_rss_bytes"] for r in rows]
    times = [r["seconds"] for r in rows]
    print(f"peak RSS ranges over {min(peaks) / 2**20:.0f}-{max(peaks) / 2**20:.0f} MiB while N grows "
          f"{rows[-1]['n'] // rows[0]['n']}x; time grows {times[-1] / times[0]:.1f}x")
    if args.json is not None:
        args.json.write_text(json.dumps({"settings": vars(args) | {"json": str(args.json)}, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
