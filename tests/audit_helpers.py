"""In-memory studies for the audit tests: a 30-unit, 8-indicator, 3-pillar index (not shaped like the paper)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from clustermodel.data import Study
from clustermodel.spec import IndexSpec
from clustermodel.structure import Structure

PILLARS = {"p1": ["a1", "a2", "a3"], "p2": ["b1", "b2", "b3"], "p3": ["c1", "c2"]}


def make_study(X=None, *, n=30, seed=0, missing_cells=(), spec=None, pillars=PILLARS, weights=None, directions=None, pillar_weights=None):
    """A study of ``n`` units on the indicators of ``pillars`` (X given, or drawn with a common factor per pillar)."""
    leaves = [v for kids in pillars.values() for v in kids]
    if X is None:
        rng = np.random.default_rng(seed)
        cols = []
        for kids in pillars.values():
            f = rng.normal(size=n)
            for _ in kids:
                cols.append(10 + 3 * f + 2 * rng.normal(size=n))
        X = np.column_stack(cols)
    X = np.array(X, dtype=float)
    for i, j in missing_cells:
        X[i, j] = np.nan
    n = X.shape[0]
    nodes = ["index", *pillars, *leaves]
    parents = [None, *["index"] * len(pillars), *[p for p, kids in pillars.items() for _ in kids]]
    w = [np.nan, *(pillar_weights or [1.0] * len(pillars)), *(weights or [1.0] * len(leaves))]
    dirs = [1] * (1 + len(pillars)) + list(directions or [1] * len(leaves))
    structure = Structure(nodes, parents, w, directions=dirs)
    ids = [f"U{i:02d}" for i in range(n)]
    ds = xr.Dataset({"indicators": (("cluster", "indicator"), X)}, coords={"cluster": ids, "indicator": leaves})
    eff = structure.effective_weights()
    wts = xr.DataArray(eff, dims=["indicator"], coords={"indicator": leaves})
    return Study(clusters=ds, weights=wts, structure=structure, spec=spec or IndexSpec(missing="rescale"))
