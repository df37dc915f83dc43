#!/usr/bin/env python3
"""Benchmark: the main job, ``clustermodel report``, end to end — wall time of each stage and peak memory.

Each run is the real command line (``python -m clustermodel report … --out <tmp>``) in a child process; the
parent reads the child's progress lines (one per stage, ``[clustermodel] <stage> …``) as they arrive and times
the gaps between them, so a stage's time is from its line to the next one (the last stage's includes writing
report.md, report.html and the manifest, and ``start-up`` is the imports and reading the data). Peak resident memory is the child's own ``ru_maxrss``
(``os.wait4``).

Studies:

``paper``
    the paper's data with its committed config (``analyses/config.toml``), run twice: the first run warms the
    file-system, font and byte-code caches, the second is the one quoted ("warm"). Issue 23's target: <= 10 s.
``units-2000``
    a synthetic study of 2000 units x 30 indicators in 6 groups and no higher-level units, with the built-in
    default config (what a user gets without ``--config``). Issue 23's target: <= 30 s. Printed beside it: the
    Sobol' stage's physical floor on this machine (:func:`sobol_floor`, measured in the same run).
``units-2000-regions-50``
    the same units in 50 higher-level units (regions), so scenarios and the relationship stage run as well.

Usage::

    python benchmarks/bench_report.py [--studies paper units-2000 units-2000-regions-50] [--json FILE]
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

from bench_relationship_scale import write_study  # noqa: E402  (one synthetic study for every benchmark)

PREFIX = "[clustermodel] "


def run_report(args: list[str], out: Path) -> dict:
    """Run ``clustermodel report`` with ``args`` into ``out``; per-stage seconds, total, peak RSS."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "clustermodel", "report", *args, "--out", str(out)]
    start = time.perf_counter()
    # the stage lines are on standard error (they are not data): read both streams as one
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    marks: list[tuple[str, float]] = []
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip())
        text = line.strip()
        if text.startswith(PREFIX) and text.endswith("…"):
            marks.append((text[len(PREFIX):-1].strip(), time.perf_counter()))
    err = "\n".join(lines[-20:])
    _, status, usage = os.wait4(proc.pid, 0)
    end = time.perf_counter()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"report failed (exit {code}):\n" + "\n".join(lines[-10:]) + "\n" + err[-3000:])
    stages = {}
    bounds = marks + [("write", None)]
    for (name, t0), (_, t1) in zip(marks, bounds[1:]):
        stages[name if t1 is not None else f"{name} + report"] = (t1 if t1 is not None else end) - t0
    if marks:  # the start-up (imports, reading the data) before the first stage
        stages = {"start-up": marks[0][1] - start, **stages}
    files = list(out.rglob("*"))
    return {
        "seconds": end - start,
        "stages": stages,
        "peak_rss_bytes": usage.ru_maxrss * 1024,
        "files": sum(1 for p in files if p.is_file()),
        "bytes_written": sum(p.stat().st_size for p in files if p.is_file()),
        "skipped": [ln[len(PREFIX):] for ln in lines if ln.startswith(PREFIX) and "skipped" in ln],
    }


def study_args(name: str, folder: Path) -> list[str]:
    if name == "paper":
        return []
    if name in ("units-2000", "units-2000-regions-50"):
        if not (folder / "units.csv").exists():
            write_study(folder, units=2000, regions=50, indicators=30, groups=6, seed=13)
        args = ["--clusters", str(folder / "units.csv"), "--weights", str(folder / "weights.csv"), "--id-column", "id", "--group-column", "group"]
        if name.endswith("regions-50"):
            args += ["--regions", str(folder / "regions.csv"), "--region-column", "region"]
        return args
    raise SystemExit(f"unknown study {name!r}")


def sobol_floor(units: int, indicators: int, runs: int) -> dict:
    """What the default Sobol' stage cannot go below on this machine, measured now: the model's weighted sums
    (one matrix product per block of runs, on every core) and one ordinal ranking of the units per run (numpy's
    vectorised sort), for ``runs`` model runs; the estimator's sums and the outputs' memory traffic come on top.

    The default [sobol] config makes 2 x replicates x N x (D + 2) runs (the main run and the second-seed check)."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.random((units, indicators))
    W = rng.dirichlet(np.ones(indicators), size=2048)
    t = time.perf_counter()
    for _ in range(3):
        Y = W @ X.T
    gemm = (time.perf_counter() - t) / 3 / len(W)
    t = time.perf_counter()
    np.argsort(-Y, axis=-1)
    sort = (time.perf_counter() - t) / len(W) / (os.cpu_count() or 1)  # the stage sorts on every core
    return {"runs": runs, "model_s": gemm * runs, "ranks_s": sort * runs, "floor_s": (gemm + sort) * runs}


def show(name: str, res: dict) -> None:
    print(f"{name}: {res['seconds']:.1f} s, peak RSS {res['peak_rss_bytes'] / 2**20:.0f} MiB, "
          f"{res['files']} files ({res['bytes_written'] / 2**20:.1f} MiB)")
    for stage, sec in res["stages"].items():
        print(f"  {stage:<22} {sec:7.1f} s")
    for line in res["skipped"]:
        print(f"  ({line})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", nargs="+", default=["paper", "units-2000", "units-2000-regions-50"])
    ap.add_argument("--json", type=Path, help="also write the measurements here")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        data.mkdir()
        for name in args.studies:
            argv = study_args(name, data)
            if name == "paper":
                cold = run_report(argv, tmp / "paper-cold")
                print(f"paper (first run, caches cold): {cold['seconds']:.1f} s")
            res = run_report(argv, tmp / name)
            show(name + (" (warm)" if name == "paper" else ""), res)
            if name.startswith("units-2000"):  # the default config: N = 1024, 10 replicates, 30 weights (+ 2)
                floor = sobol_floor(2000, 30, runs=2 * 10 * 1024 * 32)
                res["sobol_physical_floor"] = floor
                print(f"  sobol physical floor   {floor['floor_s']:7.1f} s  ({floor['runs']} runs: weighted sums "
                      f"{floor['model_s']:.1f} s + ranks {floor['ranks_s']:.1f} s, measured now) against "
                      f"{res['stages'].get('sobol', float('nan')):.1f} s measured")
            results[name] = res
    if args.json:
        args.json.write_text(json.dumps({"python": sys.version.split()[0], "cpus": os.cpu_count(), "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
