"""A memory budget that holds (issue 23.4): the peak resident memory a streamed analysis adds stays within its
``memory_limit`` plus a stated fixed overhead, measured in a fresh child process (``ru_maxrss``, Linux).

The overhead, :data:`OVERHEAD`, covers what is outside the chunked engine's budget: the study model's arrays, the
nominal values and the result (per-output summaries). Imports the run makes (dask, distributed, scipy.stats) are
loaded before the baseline is read, so they do not count. The study is large enough that an unchunked run would need
several times the budget: 2000 units x 30 indicators.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

MiB = 2**20
#: Memory a run may take beyond its memory_limit (docs/sensitivity.md, docs/bootstrap.md).
OVERHEAD = 64 * MiB

CHILD = r"""
import json, resource, sys, warnings
warnings.simplefilter("ignore")
import clustermodel as cm
import dask, dask.array, distributed, scipy.stats, threadpoolctl, tqdm  # imported by the run: outside the budget
folder, kind, limit = sys.argv[1], sys.argv[2], sys.argv[3]
study = cm.load_study(folder + "/units.csv", folder + "/weights.csv", id_column="id")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if kind == "sobol":
    res = cm.weight_sensitivity(study, n=512, replicates=2, rng=1, memory_limit=limit, progress=False)
    chunks = res.indices.chunk_size
elif kind == "weight_bootstrap":
    res = cm.weight_bootstrap(study, n_resamples=4000, rng=1, memory_limit=limit, progress=False)
    chunks = res.streaming["n_chunks"]
else:
    res = cm.cluster_bootstrap(study, n_resamples=600, rng=1, memory_limit=limit, progress=False)
    chunks = res.streaming["n_chunks"]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"added": after - before, "chunks": chunks}))
"""


@pytest.fixture(scope="module")
def large_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("large")
    g = np.random.default_rng(13)
    values = g.gamma(2.0, 1.0, size=(2000, 30))
    names = [f"i{j}" for j in range(30)]
    rows = "\n".join(f"{i + 1}," + ",".join(f"{v:.4f}" for v in row) for i, row in enumerate(values))
    (folder / "units.csv").write_text("id," + ",".join(names) + "\n" + rows + "\n")
    w = np.array([k % 3 + 1 for k in range(30)], dtype=float)
    (folder / "weights.csv").write_text("indicator,weight\n" + "".join(f"{n},{v:.15f}\n" for n, v in zip(names, w / w.sum())))
    return folder


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB is Linux's")
@pytest.mark.parametrize("kind, limit", [("sobol", 256 * MiB), ("weight_bootstrap", 128 * MiB), ("cluster_bootstrap", 128 * MiB)])
def test_a_run_stays_within_its_memory_limit_plus_the_stated_overhead(large_study, kind, limit):
    out = subprocess.run([sys.executable, "-c", CHILD, str(large_study), kind, str(limit)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["added"] <= limit + OVERHEAD, f"{kind}: added {got['added'] / MiB:.0f} MiB for a budget of {limit / MiB:.0f} MiB"
    assert got["chunks"] > 1 or kind == "sobol"  # the budget made the run chunk: the test measures the engine
