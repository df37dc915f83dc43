"""Bootstrap uncertainty of scores, ranks and scenarios: over the expert weights and over the units.

Two separate questions are answered here and kept apart:

1. **Weight bootstrap** (:func:`weight_bootstrap`): had another panel of
   experts been asked, how would every unit's index, every pillar's score,
   their ranks and (with a higher-level index) the scenarios change? The data
   stay fixed; only the panel-mean weights of every level vary.

   - ``mode='parametric'``: each expert's weights are drawn, within each
     parent of the structure, from a Dirichlet distribution centred on the
     nominal weights (normalised within the parent) with concentration
     ``kappa``; a panel is the mean of ``panel_size`` experts. The draws are a
     stated model of expert disagreement, not data.
   - ``mode='nonparametric'``: a user's own expert table (:func:`load_experts`)
     is resampled with replacement and each panel's weights are the mean of
     its experts (Efron 1979).

2. **Cluster (data) bootstrap** (:func:`cluster_bootstrap`): how much do the
   study-level statistics that depend on the sample (the mean score of the
   index and of every pillar, and with a higher-level index the correlation of
   the two indices and the scenario counts) move when the units are resampled
   with replacement? The construction steps that depend on the sample (the
   normaliser's reference statistics, imputation, treatment) are redone in
   every resample unless ``maxima='fixed'``.

Both are **streaming reductions**: the resamples are evaluated in chunks
(scheduled by dask: the local threaded scheduler, or a ``dask.distributed``
client), and each chunk is folded into running statistics — counts per
category, per-unit histograms of ranks and of scores on aligned power-of-two
grids, minimum, maximum and shifted sums of values and squares — so memory
does not grow with ``n_resamples``. Percentiles of ranks are exact whenever
the rank histogram has one bin per rank (always when the study has at most
``4 * bins`` units); percentiles of real-valued outputs are exact (the values
are kept) when every value fits in a quarter of the memory budget, and
otherwise come from a histogram whose per-unit error bound is reported. The
draws are made in fixed blocks of resamples, each from its own random stream,
so the numbers do not depend on the chunk size or the scheduler.

This module returns numbers; :mod:`clustermodel.reporting.bootstrap` words them.
All intervals are equal-tailed percentile intervals computed as numpy's
default (``'linear'``, Hyndman and Fan type 7) quantile method does.
"""

from __future__ import annotations

import json
import math
import numbers
import tracemalloc
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from clustermodel._version import __version__
from clustermodel._dask import client_iv, memory_limit_iv, one_blas_thread, workers as dask_workers
from clustermodel._display import ResultDisplay, names
from clustermodel._typing import PathLike, RNGLike
from clustermodel._errors import ClusterModelError, ClusterModelWarning, InputError
from clustermodel._validation import as_rng, check_choice, check_positive_int, check_probability, seed_record
from clustermodel.aggregate import aggregate_tree, aggregator
from clustermodel.index import rank_values
from clustermodel.scenarios import classify, pearson
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds

if TYPE_CHECKING:
    from clustermodel.data import Study

__all__ = [
    "MODES",
    "MAXIMA",
    "QUANTILES",
    "DEFAULT_CONCENTRATION",
    "DEFAULT_PANEL_SIZE",
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_BINS",
    "ROW_SUM_TOLERANCE",
    "ZERO_SPREAD_RTOL",
    "load_experts",
    "check_experts",
    "draw_panels",
    "weight_bootstrap",
    "cluster_bootstrap",
    "percentile_interval",
    "WeightBootstrapResult",
    "ClusterBootstrapResult",
]

#: The two ways of drawing expert panels: Dirichlet draws around the nominal weights, or a resampled expert table.
MODES = ("parametric", "nonparametric")

#: How the cluster bootstrap treats the sample-dependent construction steps (the normaliser's reference
#: statistics, imputation, treatment): redone in every resample, or kept at the full sample's.
MAXIMA = ("resample", "fixed")

#: How percentiles of real-valued outputs are obtained: ``'exact'`` keeps every value, ``'histogram'``
#: reads them off a per-unit histogram (error bound reported), ``'auto'`` keeps the values that fit in a
#: quarter of the memory budget.
QUANTILES = ("auto", "exact", "histogram")

#: Default Dirichlet concentration kappa (sum of the Dirichlet parameters within one parent).
#: One expert's weight for a node with nominal share a then has standard deviation
#: sqrt(a (1 - a) / (kappa + 1)), i.e. 0.089-0.101 for shares of 0.21-0.31: experts typically disagree
#: by about +-0.1 on a weight of 0.2-0.3 (a coefficient of variation of about one third). It is a
#: modelling assumption, not an estimate; vary it (``concentration=``) to see how the conclusions
#: depend on it.
DEFAULT_CONCENTRATION = 20.0

#: Default number of experts per panel (the paper's panel: five cluster managers).
DEFAULT_PANEL_SIZE = 5

#: Expert rows whose weights (within each parent) sum to within this distance of one are accepted
#: (renormalised, with a warning, if not within 1e-9); further away they are rejected. 0.01 admits
#: weights written with two decimals.
ROW_SUM_TOLERANCE = 0.01
_ROW_SUM_EXACT = 1e-9

#: A unit's index "does not vary" when max - min over the panels is at most this fraction of its magnitude
#: (the batched model may differ in the last bit between batch shapes).
ZERO_SPREAD_RTOL = 1e-12

#: Kept for code that imported it: the smallest default budget. Unless ``memory_limit=`` says otherwise a bootstrap
#: takes a share of this machine's memory (:func:`clustermodel._dask.default_memory_limit`).
DEFAULT_MEMORY_LIMIT = 512 * 2**20

#: Histogram bins per unit and real-valued output (rank histograms have up to 4 times as many).
DEFAULT_BINS = 1024

_PERCENTILE_METHOD = "linear"
#: Fewest histogram bins the memory planner may fall back to.
_MIN_BINS = 64
#: Random numbers per block of resamples: a block is the unit of the random streams.
_BLOCK_ELEMENTS = 2**18
_MAX_BLOCK = 256
#: Distinct scenario-count vectors tracked exactly; beyond this the joint distribution is not reported.
_JOINT_LIMIT = 10_000
#: Working memory of dask's bookkeeping and the result assembly, counted in every estimate.
_OVERHEAD = 16 * 2**20
#: Pilot chunk sizes (resamples) whose traced peak memory gives the memory per resample.
_PILOT = (1, 3)
_ONE = np.ones(1, np.int32)
#: Values copied at once when exact percentiles are computed.
_PERCENTILE_CELLS = 2**21
#: Histogram cells re-binned at once when a unit's range grows.
_REBIN_CELLS = 2**18
#: Working memory of one default chunk: larger chunks are no faster, only hungrier.
_CHUNK_TARGET = 64 * 2**20
#: Safety factor on a chunk's traced memory (tracemalloc sees what is allocated; the allocator keeps some freed
#: blocks of the worker threads, see benchmarks/bench_bootstrap.py for resident memory against the estimate).
_CHUNK_MARGIN = 1.5


# --------------------------------------------------------------------------- expert tables


def _columns_of(reference):
    """(structure or None, allowed column sets) of what an expert table is checked against."""
    from clustermodel.structure import Structure

    if reference is None:
        return None, None
    if hasattr(reference, "structure") and hasattr(reference, "clusters"):  # a Study
        reference = reference.structure
    if isinstance(reference, Structure):
        return reference, (list(reference.weighted), list(reference.leaves))
    if isinstance(reference, xr.DataArray):
        dim = "indicator" if "indicator" in reference.dims else "node"
        names = [str(v) for v in reference[dim].values]
    else:
        names = [str(v) for v in reference]
    return None, (names, names)


def _groups(columns, structure):
    """[(parent or None, column positions)]: the sets of columns whose weights must sum to one."""
    if structure is None:
        return [(None, list(range(len(columns))))]
    by_parent = {}
    for j, c in enumerate(columns):
        by_parent.setdefault(structure.parent(c), []).append(j)
    return list(by_parent.items())


def _check_columns(columns, reference):
    """Order the table's columns like the reference; raise (problem, column) for an unknown or lacking one."""
    structure, allowed = _columns_of(reference)
    if allowed is None:
        return columns, None
    nodes, leaves = allowed
    unknown = [c for c in columns if c not in nodes]
    if unknown:
        return None, (f"{'node' if structure is not None and not structure.is_flat else 'indicator'} {unknown[0]!r} "
                      f"is not in the data; the data's {'weighted nodes' if nodes != leaves else 'indicators'} are "
                      f"{', '.join(nodes)}", unknown[0])
    aggregates = [c for c in columns if c not in leaves]
    want = nodes if aggregates else leaves
    lacking = [k for k in want if k not in columns]
    if lacking:
        what = "weighted node" if aggregates else "indicator"
        return None, (
            f"no column for {what}(s) {', '.join(repr(k) for k in lacking)}; the expert table needs one weight column "
            f"per indicator of the data ({', '.join(leaves)})"
            + (f" or one per weighted node ({', '.join(nodes)})" if nodes != leaves else "")
            + "; give 0 for a node an expert would drop",
            None,
        )
    return [c for c in want], structure


def load_experts(path, indicators=None) -> xr.DataArray:
    """Read an expert table: one row per expert, one weight column per indicator (or per weighted node).

    Parameters
    ----------
    path : path
        CSV (or Excel) with a header ``expert,<node>,<node>,...``. Every weight
        must be a non-negative number. Within each parent of the structure the
        weights of one expert must sum to one within :data:`ROW_SUM_TOLERANCE`
        (a row within the tolerance but not exactly one is renormalised with a
        warning); without a structure, each whole row must.
    indicators : Study, Structure, DataArray or sequence of str, optional
        What the table is checked against. With a Study or Structure the
        columns must be either every weighted node (indicators, pillars,
        sub-indices: weights of every level) or only the indicators (the
        aggregates' weights then stay nominal in the bootstrap); otherwise the
        given indicator names. The result is ordered like them.

    Returns
    -------
    xarray.DataArray
        Dims ``(expert, node)``, ``attrs['source']`` = the path.

    Raises
    ------
    InputError
        Naming the file, the line and the column: a missing ``expert`` column,
        a column the data lacks (with the list of known names), a node of the
        data without a column, a missing, non-numeric or negative weight, or a
        parent's weights not summing to one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "experts.csv"
    >>> _ = p.write_text("expert,a,b\\nE1,0.4,0.6\\nE2,0.5,0.5\\n")
    >>> load_experts(p).sum("node").values.tolist()
    [1.0, 1.0]
    """
    from clustermodel.data import _line, _numeric, _require, _unique_labels, read_table

    path = Path(path)
    df = read_table(path)
    _require(df, ["expert"], path)
    columns = [c for c in df.columns if c != "expert"]
    if not columns:
        raise InputError("no weight column besides 'expert'; add one weight column per indicator", file=path, line=1)
    ordered, problem = _check_columns(columns, indicators)
    if ordered is None:
        text, column = problem
        raise InputError(text, file=path, line=1, column=column)
    structure = problem
    columns = ordered
    labels = _unique_labels(df, "expert", path)
    w = np.column_stack([_numeric(df, c, path) for c in columns])
    for i in range(w.shape[0]):
        for j, c in enumerate(columns):
            if np.isnan(w[i, j]):
                raise InputError("weight is missing; every expert needs a weight for every column (0 to drop it)", file=path, line=_line(df, i), column=c)
            if w[i, j] < 0:
                raise InputError(f"negative weight {w[i, j]!r}; weights must be >= 0", file=path, line=_line(df, i), column=c)
    renormalised = 0
    for parent, js in _groups(columns, structure):
        totals = w[:, js].sum(axis=1)
        names = ", ".join(columns[j] for j in js)
        for i, t in enumerate(totals):
            if abs(t - 1) > ROW_SUM_TOLERANCE:
                raise InputError(
                    f"expert {labels[i]!r}: the weights in columns {names}"
                    + (f" (the children of {parent!r})" if parent is not None and structure is not None and not structure.is_flat else "")
                    + f" sum to {t:.6g}, not 1 (tolerance {ROW_SUM_TOLERANCE}); fix the row so that they sum to one",
                    file=path,
                    line=_line(df, i),
                )
        off = np.abs(totals - 1) > _ROW_SUM_EXACT
        if off.any():
            renormalised += int(off.sum())
            w[:, js] = w[:, js] / totals[:, None]
    if renormalised:
        warnings.warn(
            f"{path}: {renormalised} expert row(s) sum to within {ROW_SUM_TOLERANCE} of one but not exactly; "
            "renormalised to sum to one",
            ClusterModelWarning,
            stacklevel=2,
        )
    return xr.DataArray(
        w,
        dims=["expert", "node"],
        coords={"expert": np.array(labels, dtype=object).astype(str), "node": list(columns)},
        name="expert_weights",
        attrs={"source": str(path)},
    )


def check_experts(experts, indicators=None) -> xr.DataArray:
    """Validate an in-memory expert table (dims ``expert`` and ``node`` or ``indicator``).

    The same rules as :func:`load_experts` (non-negative, finite, the weights
    of every parent summing to one within :data:`ROW_SUM_TOLERANCE`, columns
    matching the data's); the messages name the expert and the column. A path
    is read with :func:`load_experts`. Returns dims ``(expert, node)``.
    """
    if isinstance(experts, (str, Path)):
        return load_experts(experts, indicators)
    if isinstance(experts, xr.DataArray) and "indicator" in experts.dims and "node" not in experts.dims:
        experts = experts.rename({"indicator": "node"})
    if not isinstance(experts, xr.DataArray) or set(experts.dims) != {"expert", "node"}:
        raise ClusterModelError(
            "`experts` must be a path to an expert table or a DataArray with dims ('expert', 'node') or "
            f"('expert', 'indicator'); got {type(experts).__name__}"
            + (f" with dims {experts.dims}" if isinstance(experts, xr.DataArray) else "")
        )
    experts = experts.transpose("expert", "node")
    if experts.sizes["expert"] == 0:
        raise ClusterModelError("`experts` has no expert row; supply at least one")
    if "node" not in experts.coords:
        raise ClusterModelError("`experts` needs a 'node' (or 'indicator') coordinate naming the columns")
    cols = [str(v) for v in experts["node"].values]
    ordered, problem = _check_columns(cols, indicators)
    if ordered is None:
        raise ClusterModelError(f"`experts`: {problem[0]}")
    structure = problem
    experts = experts.assign_coords(node=cols).sel(node=ordered)
    cols = ordered
    w = np.array(experts.values, dtype=float)
    names = [str(v) for v in experts["expert"].values] if "expert" in experts.coords else [str(i) for i in range(w.shape[0])]
    bad = np.argwhere(~np.isfinite(w))
    if bad.size:
        i, j = bad[0]
        raise ClusterModelError(f"`experts`: expert {names[i]!r}, column {cols[j]!r}: weight is missing or not finite")
    bad = np.argwhere(w < 0)
    if bad.size:
        i, j = bad[0]
        raise ClusterModelError(
            f"`experts`: expert {names[i]!r}, column {cols[j]!r}: negative weight {w[i, j]!r}; weights must be >= 0"
        )
    renormalised = False
    for parent, js in _groups(cols, structure):
        totals = w[:, js].sum(axis=1)
        far = np.abs(totals - 1) > ROW_SUM_TOLERANCE
        if far.any():
            i = int(np.argmax(far))
            raise ClusterModelError(
                f"`experts`: the weights of expert {names[i]!r} in columns {', '.join(cols[j] for j in js)} sum to "
                f"{totals[i]:.6g}, not 1 (tolerance {ROW_SUM_TOLERANCE}); every expert's weights must sum to one"
                + (" within each parent" if structure is not None and not structure.is_flat else "")
            )
        if np.any(np.abs(totals - 1) > _ROW_SUM_EXACT):
            renormalised = True
            w[:, js] = w[:, js] / totals[:, None]
    if renormalised:
        warnings.warn("`experts`: rows summing to nearly one were renormalised", ClusterModelWarning, stacklevel=2)
    out = experts.copy(data=w)
    out.attrs = dict(experts.attrs)
    return out


def _check_concentration(concentration) -> float:
    if isinstance(concentration, (bool, np.bool_)) or not isinstance(concentration, numbers.Real):
        raise ClusterModelError(f"`concentration` must be a positive number, got {concentration!r}")
    k = float(concentration)
    if not math.isfinite(k) or k <= 0:
        raise ClusterModelError(
            f"`concentration` must be a positive finite number (the Dirichlet's kappa, e.g. {DEFAULT_CONCENTRATION:g}), "
            f"got {concentration!r}"
        )
    return k


_NEEDS_EXPERTS = (
    "mode='nonparametric' needs `experts` (an expert table: expert,<one weight column per indicator>); when only "
    "the panel mean is published, use mode='parametric'"
)


# --------------------------------------------------------------------------- random draws in fixed blocks


def _block_size(row_elements: int) -> int:
    """Resamples per random block: at most 256 and about 2**18 random numbers; a power of two."""
    b = _MAX_BLOCK
    while b > 1 and b * max(row_elements, 1) > _BLOCK_ELEMENTS:
        b //= 2
    return b


def _root_seed(gen: np.random.Generator) -> np.random.SeedSequence:
    """A seed sequence drawn from ``gen``: the root of the per-block streams."""
    return np.random.SeedSequence([int(v) for v in gen.integers(0, 2**32, size=4, dtype=np.uint64)])


class _Blocks:
    """Rows ``lo:hi`` of a sequence of random draws made in fixed blocks, block b from its own stream.

    Block b's stream is the b-th child of the root seed sequence (the child
    ``SeedSequence.spawn`` would make), so any range of rows is the same
    whatever the chunks asking for it.
    """

    def __init__(self, root: np.random.SeedSequence, block: int):
        self.root = root
        self.block = int(block)

    def _draw(self, gen, m):  # pragma: no cover - abstract
        raise NotImplementedError

    def _stream(self, b: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.root.entropy, spawn_key=(*self.root.spawn_key, b)))

    def rows(self, lo: int, hi: int) -> np.ndarray:
        b0, b1 = lo // self.block, (hi - 1) // self.block
        parts = [self._draw(self._stream(b), self.block) for b in range(b0, b1 + 1)]
        arr = parts[0] if len(parts) == 1 else np.concatenate(parts)
        start = lo - b0 * self.block
        return arr[start : start + (hi - lo)]


class _DirichletPanels(_Blocks):
    """Panel means of ``size`` experts, each a Dirichlet(kappa * a_p) within every parent p."""

    def __init__(self, root, alpha, codes, n_parents, size):
        super().__init__(root, _block_size(size * len(alpha)))
        self.alpha = np.asarray(alpha, float)
        self.codes = np.asarray(codes, np.intp)
        self.onehot = (self.codes[:, None] == np.arange(n_parents)).astype(float)
        self.size = int(size)

    def _draw(self, gen, m):
        g = gen.standard_gamma(self.alpha, size=(m, self.size, len(self.alpha)))
        totals = g @ self.onehot  # independent gammas normalised within a parent are Dirichlet
        return (g / totals[..., self.codes]).mean(axis=1)


class _ExpertPanels(_Blocks):
    """Panel means of ``size`` experts drawn with replacement from a table (E, K)."""

    def __init__(self, root, table, size):
        super().__init__(root, _block_size(size * table.shape[1]))
        self.table = np.asarray(table, float)
        self.size = int(size)

    def _draw(self, gen, m):
        idx = gen.integers(0, self.table.shape[0], size=(m, self.size))
        return self.table[idx].mean(axis=1)


class _Positions(_Blocks):
    """Resamples of ``n`` unit positions drawn with replacement."""

    def __init__(self, root, n):
        super().__init__(root, _block_size(n))
        self.n = int(n)

    def _draw(self, gen, m):
        return gen.integers(0, self.n, size=(m, self.n))


def _nominal_shares(structure) -> np.ndarray:
    """The structure's weights normalised within each parent (K,)."""
    return structure.normalise_weights(structure.weight_array())


def _structure_of(weights):
    """A Structure from a Study, a Structure, or a vector of indicator weights (a one-level structure)."""
    from clustermodel.structure import Structure

    if hasattr(weights, "structure") and hasattr(weights, "clusters"):
        return weights.structure
    if isinstance(weights, Structure):
        return weights
    if isinstance(weights, xr.DataArray):
        w = weights.rename({"node": "indicator"}) if "node" in weights.dims else weights
        if w.dims != ("indicator",):
            raise ClusterModelError(f"`weights` must be one vector with dim 'indicator', got dims {weights.dims}")
        if "indicator" not in w.coords:
            w = w.assign_coords(indicator=[f"x{j + 1}" for j in range(w.sizes["indicator"])])
        return Structure.flat(w)
    a = np.asarray(weights, dtype=float)
    if a.ndim != 1:
        raise ClusterModelError(f"`weights` must be one vector of weights, got shape {a.shape}")
    return Structure.flat(dict(zip([f"x{j + 1}" for j in range(a.size)], a)))


@dataclass(frozen=True)
class _PanelDesign:
    """How panels are drawn: the sampler, the centre (nominal panel weights) and what describes them."""

    sampler: _Blocks
    centre: np.ndarray
    mode: str
    panel_size: int
    concentration: float | None
    n_experts: int | None
    experts_source: str | None
    expert_columns: str | None


def _panel_design(structure, *, mode, experts, panel_size, concentration, root, stacklevel=3) -> _PanelDesign:
    """Validate the panel options and build the sampler of panel-mean weight vectors over ``structure.weighted``."""
    mode = check_choice(mode, "mode", list(MODES))
    if mode == "parametric":
        if experts is not None:
            raise ClusterModelError(
                "`experts` was given but `mode` is 'parametric'; use mode='nonparametric' to resample your experts"
            )
        kappa = _check_concentration(concentration)
        size = DEFAULT_PANEL_SIZE if panel_size is None else check_positive_int(panel_size, "panel_size")
        a = _nominal_shares(structure)
        positive = a[a > 0]
        if positive.size and kappa * positive.min() < 1:
            warnings.warn(
                f"`concentration`={kappa:g} gives a Dirichlet parameter {kappa * positive.min():.3g} < 1: single "
                "experts would often put almost no weight on a node (a U-shaped marginal); is such disagreement "
                "intended?",
                ClusterModelWarning,
                stacklevel=stacklevel,
            )
        sampler = _DirichletPanels(root, kappa * a, structure.parent_codes(), len(structure.aggregates), size)
        return _PanelDesign(sampler, a, mode, size, kappa, None, None, None)
    if experts is None:
        raise ClusterModelError(_NEEDS_EXPERTS)
    e = check_experts(experts, structure)
    n_experts = e.sizes["expert"]
    if n_experts < 2:
        warnings.warn(
            "the expert table has a single expert: resampling it cannot show any spread", ClusterModelWarning, stacklevel=stacklevel
        )
    cols = [str(v) for v in e["node"].values]
    table = np.broadcast_to(_nominal_shares(structure), (n_experts, len(structure.weighted))).copy()
    pos = {v: k for k, v in enumerate(structure.weighted)}
    table[:, [pos[c] for c in cols]] = e.values
    size = n_experts if panel_size is None else check_positive_int(panel_size, "panel_size")
    columns = "nodes" if len(cols) == len(structure.weighted) else "indicators"
    return _PanelDesign(
        _ExpertPanels(root, table, size), table.mean(axis=0), mode, size, None, n_experts, str(e.attrs.get("source", "in memory")), columns
    )


def draw_panels(
    weights=None,
    *,
    mode: str = "parametric",
    experts=None,
    panel_size: int | None = None,
    concentration: float = DEFAULT_CONCENTRATION,
    n_resamples: int = 10_000,
    rng=None,
) -> xr.DataArray:
    """Draw ``n_resamples`` expert panels and return each panel's mean weight vector.

    Parameters
    ----------
    weights : Study, Structure or DataArray (indicator,)
        What the panels weight: a study's or a structure's weighted nodes, or
        (a one-level structure) a vector of indicator weights. The parametric
        Dirichlet of every parent is centred on its children's nominal weights,
        normalised within the parent.
    mode : {'parametric', 'nonparametric'}
        ``'parametric'``: each expert's weights of a parent's children are a
        draw from ``Dirichlet(concentration * a)``, ``a`` their nominal shares.
        ``'nonparametric'``: experts are drawn with replacement from ``experts``.
    experts : DataArray (expert, node) or path, optional
        The expert table (required for ``mode='nonparametric'``).
    panel_size : int, optional
        Experts per panel. Default: 5 for the parametric mode, the number of
        experts in the table for the nonparametric one.
    concentration : float
        Dirichlet concentration kappa (parametric mode only).
    n_resamples : int
        Number of panels.
    rng : numpy.random.Generator, int or None
        The same seed gives the same panels as :func:`weight_bootstrap`.

    Returns
    -------
    xarray.DataArray
        Dims ``(draw, node)`` over the weighted nodes; the weights of every
        parent's children sum to one in every row.

    Notes
    -----
    If one expert's weights of a parent's children are Dirichlet(kappa * a)
    with sum(a) = 1, weight j has mean a_j and variance a_j (1 - a_j) /
    (kappa + 1); the mean of a panel of k independent experts has mean a_j and
    variance a_j (1 - a_j) / ((kappa + 1) k). (The panel mean is not itself
    Dirichlet.) A Dirichlet is drawn as independent gamma variates normalised
    within each parent. A node with nominal weight 0 keeps weight 0.

    References
    ----------
    .. [1] Kotz, S., Balakrishnan, N. and Johnson, N. L. (2000). Continuous
       Multivariate Distributions, Vol. 1, ch. 49 (Dirichlet).
       https://doi.org/10.1002/0471722065
    .. [2] Efron, B. (1979). Bootstrap methods: another look at the jackknife.
       Annals of Statistics 7(1), 1-26. https://doi.org/10.1214/aos/1176344552

    Examples
    --------
    >>> import xarray as xr
    >>> w = xr.DataArray([0.5, 0.5], dims="indicator", coords={"indicator": ["a", "b"]})
    >>> draw_panels(w, n_resamples=3, rng=1).sizes["draw"]
    3
    """
    if weights is None:
        raise ClusterModelError("`weights` (a Study, a Structure or the nominal indicator weights) is needed")
    structure = _structure_of(weights)
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    gen = as_rng(rng)
    design = _panel_design(structure, mode=mode, experts=experts, panel_size=panel_size, concentration=concentration, root=_root_seed(gen))
    panels = design.sampler.rows(0, n_resamples)
    attrs = {"mode": design.mode, "panel_size": design.panel_size}
    if design.concentration is not None:
        attrs["concentration"] = design.concentration
    if design.n_experts is not None:
        attrs.update(n_experts=design.n_experts, experts_source=design.experts_source)
    return xr.DataArray(
        panels,
        dims=["draw", "node"],
        coords={"node": list(structure.weighted), "parent": ("node", [structure.parent(v) for v in structure.weighted])},
        name="panel_weights",
        attrs=attrs,
    )


# --------------------------------------------------------------------------- percentiles


def _tails(confidence_level: float) -> tuple:
    tail = round(50.0 * (1.0 - confidence_level), 10)  # 5.0, not 4.999999999999999, for cl = 0.9
    return (50.0, tail, 100.0 - tail)


def percentile_interval(sample, confidence_level: float = 0.90, *, axis: int = 0):
    """Equal-tailed percentile interval and median along ``axis``.

    Uses :func:`numpy.nanpercentile` with its default ``'linear'`` method (type
    7 of Hyndman and Fan 1996). For ``confidence_level=0.90`` the interval runs
    from the 5th to the 95th percentile.

    Returns
    -------
    median, low, high : ndarray

    References
    ----------
    .. [1] Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical
       packages. The American Statistician 50(4), 361-365.
       https://doi.org/10.1080/00031305.1996.10473566

    Examples
    --------
    >>> [float(v) for v in percentile_interval([1.0, 2.0, 3.0, 4.0, 5.0])]
    [3.0, 1.2, 4.8]
    """
    cl = check_probability(confidence_level, "confidence_level")
    x = np.asarray(sample, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN slice gives NaN, which is what we want
        med, lo, hi = np.nanpercentile(x, list(_tails(cl)), axis=axis, method=_PERCENTILE_METHOD)
    return med, lo, hi


def _lerp(a, b, t):
    """numpy's linear interpolation of two order statistics (``numpy.lib._function_base_impl._lerp``)."""
    diff = b - a
    out = a + diff * t
    return np.where(t >= 0.5, b - diff * (1 - t), out)


def _order_positions(count, q):
    """(previous, next, gamma) as numpy's 'linear' quantile computes them for samples of ``count`` values."""
    virtual = (count - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= count - 1
    below = virtual < 0
    prev = np.where(above, count - 1, np.where(below, 0, prev))
    nxt = np.where(above, count - 1, np.where(below, 0, nxt))
    gamma = virtual - np.where(above, -1, prev)  # as numpy: the 'previous' index of an above-range value is -1
    return prev.astype(np.int64), nxt.astype(np.int64), gamma


# --------------------------------------------------------------------------- streaming statistics


class _Hist:
    """Per-unit histograms on aligned power-of-two grids.

    Unit u's bins have width ``w_u = 2**(k_u + e0)`` and bin j covers
    ``[(o_u + j) w_u, (o_u + j + 1) w_u)``. With ``a`` and ``b`` the bins (at
    width w) of the unit's smallest and largest value over every resample
    seen, the window starts at ``o = floor(a / q) q`` (``q = bins // 4``: it
    moves in quarter-histogram steps, so a growing range seldom forces a
    re-bin) and ``k_u`` is the smallest k >= 0 with ``b - o < bins``. Both are
    functions of the unit's range alone, and a re-bin is exact (a bin of width
    w lies inside one bin of width 2w), so the histogram after any sequence
    of chunks equals the histogram of all the values at once: it does not
    depend on the chunking. A window needs at most ``range / w + q`` bins, so
    ``w < 2 range / (bins - q - 1)``.
    """

    def __init__(self, units: int, bins: int, e0: int, integer: bool):
        self.bins, self.e0, self.integer = int(bins), int(e0), bool(integer)
        self.q = max(1, self.bins // 4)
        self.k = np.full(units, -1, np.int64)  # -1: no value yet
        self.o = np.zeros(units, np.int64)
        self.mn = np.full(units, np.inf)
        self.mx = np.full(units, -np.inf)
        self.counts = np.zeros((units, self.bins), np.int32)

    @property
    def nbytes(self) -> int:
        return self.counts.nbytes + 4 * self.k.nbytes

    def _index(self, x, k):
        return np.floor(np.ldexp(x, -(k + self.e0))).astype(np.int64)

    def _start(self, mn, k):
        return np.floor_divide(self._index(mn, k), self.q) * self.q

    def _fit(self, mn, mx, k):
        k = np.maximum(k, 0)
        span = mx - mn
        with np.errstate(divide="ignore"):
            guess = np.where(span > 0, np.frexp(span / self.bins)[1] - 1 - self.e0, 0)  # a lower bound
        k = np.maximum(k, guess)
        big = np.maximum(np.abs(mn), np.abs(mx))
        while True:
            with np.errstate(over="ignore", invalid="ignore"):
                bad = (self._index(mx, k) - self._start(mn, k) >= self.bins) | (np.ldexp(big, -(k + self.e0)) >= 2.0**52)
            if not bad.any():
                return k
            k = k + bad

    def add(self, x: np.ndarray) -> None:
        """Fold values ``x`` (B, units); NaN is not counted."""
        fin = np.isfinite(x)
        dense = bool(fin.all())
        if dense:
            u = np.arange(x.shape[1])
            xs, fs = x, None
            mn = np.minimum(self.mn, x.min(axis=0))
            mx = np.maximum(self.mx, x.max(axis=0))
        else:
            has = fin.any(axis=0)
            if not has.any():
                return
            u = np.flatnonzero(has)
            xs = x[:, u]
            fs = fin[:, u]
            mn = np.minimum(self.mn[u], np.where(fs, xs, np.inf).min(axis=0))
            mx = np.maximum(self.mx[u], np.where(fs, xs, -np.inf).max(axis=0))
        k_old, o_old = self.k[u], self.o[u]
        changed = (mn != self.mn[u]) | (mx != self.mx[u])
        k_new, o_new = k_old.copy(), o_old.copy()
        c = np.flatnonzero(changed)
        if c.size:
            k_new[c] = self._fit(mn[c], mx[c], k_old[c])
            o_new[c] = self._start(mn[c], k_new[c])
        moved = c[(k_old[c] >= 0) & ((k_new[c] != k_old[c]) | (o_new[c] != o_old[c]))]
        step = max(1, _REBIN_CELLS // self.bins)  # in blocks of units: temporaries stay small
        for s in range(0, moved.size, step):
            m = moved[s : s + step]
            rows = u[m]
            # a bin's new position is non-decreasing along the row, so merged bins are sums of runs
            new = ((o_old[m][:, None] + np.arange(self.bins)) >> (k_new[m] - k_old[m])[:, None]) - o_new[m][:, None]
            new = np.clip(new, 0, self.bins - 1)  # only empty bins fall outside the new window; clipping keeps the order
            key = (np.arange(rows.size)[:, None] * self.bins + new).ravel()
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            out = np.zeros(rows.size * self.bins, np.int32)
            out[key[starts]] = np.add.reduceat(self.counts[rows].ravel(), starts)
            self.counts[rows] = out.reshape(rows.size, self.bins)
        self.k[u], self.o[u], self.mn[u], self.mx[u] = k_new, o_new, mn, mx
        if self.integer and self.e0 == 0 and not (k_new > 0).any():
            idx = xs.astype(np.int64) if dense else np.where(fs, xs, mn).astype(np.int64)
        else:
            idx = self._index(xs if dense else np.where(fs, xs, mn), k_new)
        # unit-major order: the increments of one unit are adjacent in memory
        flat = (idx - o_new).T + (u * self.bins)[:, None]
        np.add.at(self.counts.reshape(-1), flat.ravel() if dense else flat[fs.T], _ONE)  # a typed 1: numpy's fast path

    def width(self) -> np.ndarray:
        """Bin width of every unit (NaN before any value)."""
        return np.where(self.k >= 0, np.ldexp(1.0, np.maximum(self.k, 0) + self.e0), np.nan)

    def exact(self) -> np.ndarray:
        """True where every bin holds a single value (integer data in unit-width bins, or one distinct value)."""
        one = self.mn == self.mx
        return one | ((self.k == 0) & self.integer & (self.e0 == 0)) | (self.k < 0)

    def error(self) -> np.ndarray:
        """Bound on the error of every percentile: half a bin width (0 where exact)."""
        return np.where(self.exact(), 0.0, self.width() / 2)

    def percentiles(self, percents) -> np.ndarray:
        """Percentiles (len(percents), units) as numpy's 'linear' method gives them from the binned values.

        A value is read as its bin's midpoint clamped to the exact minimum and
        maximum (its lowest integer for unit-width integer bins), so each
        order statistic, and the interpolation between two, is within half a
        bin width of numpy's.
        """
        qs = np.true_divide(np.asarray(percents, float), 100)
        units = self.counts.shape[0]
        out = np.full((len(qs), units), np.nan)
        step = max(1, 2**22 // self.bins)
        for s in range(0, units, step):
            c = self.counts[s : s + step].astype(np.int64)
            n = c.sum(axis=1)
            cum = np.cumsum(c, axis=1)
            ok = n > 0
            k = np.maximum(self.k[s : s + step], 0)
            o = self.o[s : s + step]
            mn, mx = self.mn[s : s + step], self.mx[s : s + step]
            exact_int = self.integer & (self.k[s : s + step] == 0) & (self.e0 == 0)

            def value(r):
                b = np.argmax(cum > r[:, None], axis=1)
                lowest = np.ldexp((o + b).astype(float), k + self.e0)
                mid = np.ldexp((o + b).astype(float) + 0.5, k + self.e0)
                return np.where(exact_int, lowest, np.clip(mid, mn, mx))

            for i, q in enumerate(qs):
                prev, nxt, gamma = _order_positions(n, q)
                v = _lerp(value(prev), value(nxt), gamma)
                out[i, s : s + step] = np.where(ok, v, np.nan)
        return out


@dataclass
class _Output:
    """One output of a chunk: its name, kind and per-resample shape, and how it is summarised.

    Kinds: ``'real'`` (sums, extremes, percentiles), ``'int'`` (integers in a
    small range: exact sums, histogram percentiles, optional distribution),
    ``'cat'`` (codes 0..categories-1: counts), ``'flag'`` (0/1: a count),
    ``'draw'`` (only kept, with ``keep=True``).
    """

    name: str
    kind: str
    shape: tuple
    centre: np.ndarray | None = None
    categories: int = 0
    bins: int = 0
    exact: bool = False
    keep: bool = False
    joint: bool = False
    distribution: bool = False
    draw_dtype: object = None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def bytes_per_draw(self) -> int:
        return self.size * np.dtype(self.draw_dtype or (np.float64 if self.kind == "real" else np.int32)).itemsize


def _integer_bins(values: int) -> int:
    """Bins that hold any range of ``values`` consecutive integers at unit width (see :class:`_Hist`)."""
    return math.ceil(4 * (values - 1) / 3) + 2


def _e0(centre) -> int:
    """Base-width exponent of a real output: about 1e-12 of its nominal magnitude."""
    c = np.asarray(centre, float)
    c = c[np.isfinite(c)]
    scale = float(np.max(np.abs(c))) if c.size and np.max(np.abs(c)) > 0 else 1.0
    return int(np.frexp(scale)[1]) - 40


class _Running:
    """Running statistics of every output: what each chunk folds into.

    Values kept for exact percentiles or as draws go into arrays of
    ``n_resamples`` rows allocated once (pages are touched as they fill).
    """

    def __init__(self, outputs, n_resamples: int):
        self.outputs = {o.name: o for o in outputs}
        self.n_resamples = int(n_resamples)
        self.reset()

    def reset(self):
        self.n = 0
        self.s = {}
        for o in self.outputs.values():
            u = o.size
            st = {}
            if o.kind in ("real", "int"):
                st["centre"] = np.zeros(u) if o.centre is None else np.nan_to_num(np.asarray(o.centre, float).reshape(u))
                if o.kind == "int":
                    st["centre"] = np.round(st["centre"]).astype(np.int64)
                dt = float if o.kind == "real" else np.int64
                st["s1"], st["s2"] = np.zeros(u, dt), np.zeros(u, dt)
                st["count"] = np.zeros(u, np.int64)
                st["mn"], st["mx"] = np.full(u, np.inf), np.full(u, -np.inf)
                if o.kind == "int" or not o.exact:
                    st["hist"] = _Hist(u, o.bins, 0 if o.kind == "int" else _e0(st["centre"]), o.kind == "int")
            elif o.kind == "cat":
                st["counts"] = np.zeros((u, o.categories), np.int64)
            elif o.kind == "flag":
                st["count"] = np.zeros(u, np.int64)
            if o.exact or o.keep:
                dt = o.draw_dtype or (np.float64 if o.kind == "real" else np.int32)
                st["draws"] = np.empty((self.n_resamples, *o.shape), dt)
            if o.joint:
                st["joint"] = Counter()
            self.s[o.name] = st

    def nbytes(self) -> int:
        """Bytes of the running statistics (the kept values are counted per resample by the planner)."""
        total = 0
        for st in self.s.values():
            for k, v in st.items():
                total += v.nbytes if isinstance(v, (np.ndarray, _Hist)) and k != "draws" else 0
        return total

    def fold(self, chunk: dict) -> None:
        b = None
        for name, o in self.outputs.items():
            x = np.asarray(chunk[name])
            b = x.shape[0]
            st = self.s[name]
            flat = x.reshape(b, o.size)
            if o.kind in ("real", "int"):
                fin = np.isfinite(flat) if o.kind == "real" else np.ones(flat.shape, bool)
                d = np.where(fin, flat - st["centre"], 0)
                st["s1"] += d.sum(axis=0)
                st["s2"] += (d * d).sum(axis=0)
                st["count"] += fin.sum(axis=0)
                st["mn"] = np.minimum(st["mn"], np.where(fin, flat, np.inf).min(axis=0))
                st["mx"] = np.maximum(st["mx"], np.where(fin, flat, -np.inf).max(axis=0))
                if "hist" in st:
                    st["hist"].add(flat.astype(float) if o.kind == "int" else flat)
            elif o.kind == "cat":
                codes = flat.astype(np.int64) + np.arange(o.size) * o.categories
                st["counts"] += np.bincount(codes.ravel(), minlength=o.size * o.categories).reshape(o.size, o.categories)
            elif o.kind == "flag":
                st["count"] += flat.astype(bool).sum(axis=0)
            if "draws" in st:
                st["draws"][self.n : self.n + b] = x
            if o.joint and st["joint"] is not None:
                st["joint"].update(map(tuple, flat.astype(np.int64).tolist()))
                if len(st["joint"]) > _JOINT_LIMIT:
                    st["joint"] = None
        self.n += b or 0

    def draws(self, name) -> np.ndarray | None:
        st = self.s[name]
        return st["draws"][: self.n] if "draws" in st else None

    def summary(self, name, confidence_level) -> dict:
        """Summaries of one output, each an array of the output's per-resample shape."""
        o = self.outputs[name]
        st = self.s[name]
        shape = o.shape
        r = lambda a: np.asarray(a).reshape(shape)  # noqa: E731
        if o.kind == "cat":
            return {"probability": (st["counts"] / max(self.n, 1)).reshape(*shape, o.categories), "counts": st["counts"].reshape(*shape, o.categories)}
        if o.kind == "flag":
            return {"probability": r(st["count"] / max(self.n, 1)), "count": r(st["count"])}
        n = st["count"]
        s1 = st["s1"].astype(float)
        s2 = st["s2"].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = st["centre"] + s1 / n
            var = np.where(n > 1, (s2 - s1 * s1 / n) / (n - 1), np.nan)
        sd = np.sqrt(np.maximum(var, 0.0))
        sd = np.where(n > 1, sd, np.nan)
        percents = _tails(confidence_level)
        if o.exact:
            med, lo, hi = _exact_percentiles(self.draws(name).reshape(self.n, o.size), percents)
            error = np.zeros(o.size)
        else:
            h = st["hist"]
            med, lo, hi = h.percentiles(percents)
            error = h.error()
        out = {
            "count": r(n),
            "mean": r(np.where(n > 0, mean, np.nan)),
            "sd": r(sd),
            "min": r(np.where(n > 0, st["mn"], np.nan)),
            "max": r(np.where(n > 0, st["mx"], np.nan)),
            "median": r(med),
            "low": r(lo),
            "high": r(hi),
            "error": r(error),
        }
        if o.distribution and "hist" in st:
            h = st["hist"]
            out["hist"] = (h.o.reshape(shape), h.k.reshape(shape), h.counts.reshape(*shape, h.bins))
        if o.joint:
            out["joint"] = st["joint"]
        return out


def _exact_percentiles(values: np.ndarray, percents) -> np.ndarray:
    """numpy's percentiles of every column, in blocks of columns (the copies numpy makes stay small).

    Columns without NaN use :func:`numpy.percentile` (vectorised), the others
    :func:`numpy.nanpercentile` (a loop over columns); both give numpy's values.
    """
    n, u = values.shape
    out = np.full((len(percents), u), np.nan)
    step = max(1, _PERCENTILE_CELLS // max(n, 1))
    for s in range(0, u, step):
        v = values[:, s : s + step].astype(float)
        nan = np.isnan(v).any(axis=0)
        block = out[:, s : s + step]
        if (~nan).any():
            block[:, ~nan] = np.percentile(v[:, ~nan], list(percents), axis=0, method=_PERCENTILE_METHOD)
        if nan.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column gives NaN
                block[:, nan] = np.nanpercentile(v[:, nan], list(percents), axis=0, method=_PERCENTILE_METHOD)
    return out


# --------------------------------------------------------------------------- chunks, memory and scheduling


def _size(b: float) -> str:
    from dask.utils import format_bytes

    return format_bytes(int(b)).replace(" ", "")


def _pilot(fn, ctx, running, n_resamples) -> tuple:
    """(bytes per resample, bytes per chunk) of evaluating and folding one chunk, traced with tracemalloc.

    Each pilot chunk is folded into empty statistics; the re-binning a later
    chunk may need (bounded by :data:`_REBIN_CELLS`) is added to the per-chunk bytes.
    """
    sizes = sorted({min(s, n_resamples) for s in _PILOT})
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    peaks = []
    try:
        for b in sizes:
            running.reset()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            running.fold(fn(ctx, 0, b))
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
    finally:
        if not tracing:
            tracemalloc.stop()
        running.reset()
    cells = [st["hist"].counts.size for st in running.s.values() if "hist" in st]
    rebin = 32.0 * min(_REBIN_CELLS, max(cells, default=0))  # the re-binning temporaries of a later chunk
    if len(sizes) == 1:
        return peaks[0] / sizes[0], rebin
    slope = max((peaks[-1] - peaks[0]) / (sizes[-1] - sizes[0]), peaks[-1] / sizes[-1] / 4, 8.0)
    return slope, max(0.0, peaks[-1] - slope * sizes[-1]) + rebin


def _plan(*, what, n_resamples, workers, state, kept, per_resample, per_chunk, limit, chunk_size, block, parts_fix):
    """Resamples per chunk and the estimated peak memory; a one-line error naming the option that fixes an excess.

    ``state`` is the running statistics, ``kept`` the bytes kept per resample
    (exact values, requested draws); ``parts_fix`` maps each fixed part to the
    option that shrinks it.
    """
    margin = _CHUNK_MARGIN
    fixed = state + kept * n_resamples + _OVERHEAD

    def need(b):
        return fixed + min(workers, math.ceil(n_resamples / b)) * margin * (per_chunk + per_resample * b)

    if chunk_size is not None:
        b = min(check_positive_int(chunk_size, "chunk_size"), n_resamples)
        if need(b) > limit:
            room = (limit - fixed) / (workers * margin) - per_chunk
            fit = int(room // per_resample) if room > 0 else 0
            hint = f"chunk_size <= {fit}" if fit >= 1 else f"memory_limit='{_size(1.25 * need(1))}'"
            raise ClusterModelError(
                f"the {what} would need about {_size(need(b))} with chunk_size={b} ({min(workers, math.ceil(n_resamples / b))} "
                f"chunk(s) at once) but `memory_limit` is {_size(limit)}; use {hint}"
            )
        return b, need(b)
    if need(1) > limit:
        parts = {"state": state, "kept": kept * n_resamples, "chunk": workers * margin * (per_chunk + per_resample), "overhead": _OVERHEAD}
        parts_fix = {**parts_fix, "overhead": ("dask's bookkeeping and the result assembly", "")}
        big = max(parts, key=parts.get)
        raise ClusterModelError(
            f"the {what} needs at least {_size(need(1))} ({parts_fix[big][0]}: {_size(parts[big])}) but `memory_limit` "
            f"is {_size(limit)}; pass memory_limit='{_size(1.25 * need(1))}'{parts_fix[big][1]}"
        )
    hi = max(1, math.ceil(n_resamples / workers), 1)
    hi = min(hi, max(1, int((_CHUNK_TARGET - per_chunk) // per_resample)))
    lo = 1
    while lo < hi:  # the largest chunk that fits (need is increasing in b)
        mid = (lo + hi + 1) // 2
        if need(mid) <= limit:
            lo = mid
        else:
            hi = mid - 1
    b = lo
    if b >= block:
        b -= b % block
    return b, need(b)


def _execute(fn, ctx, ranges, fold, *, client, workers, progress, desc):
    """Evaluate ``fn(ctx, lo, hi)`` for every range with dask and fold the results in range order.

    Locally the chunks run in waves of ``workers`` on dask's threaded
    scheduler; with a ``dask.distributed`` client at most ``workers`` chunks
    are in flight. Either way at most ``workers`` chunk results exist at once
    and the fold order is the range order, so the result does not depend on
    the scheduler.
    """
    from tqdm.auto import tqdm

    with tqdm(total=len(ranges), disable=None if progress else True, desc=desc, unit="chunk", leave=False) as bar:
        if client is None:
            import dask

            with one_blas_thread():
                for s in range(0, len(ranges), workers):
                    tasks = [dask.delayed(fn, pure=False)(ctx, lo, hi) for lo, hi in ranges[s : s + workers]]
                    for res in dask.compute(*tasks, scheduler="threads", num_workers=workers):
                        fold(res)
                        bar.update(1)
            return
        shared = client.scatter(ctx, broadcast=True, hash=False)
        pending = {}
        nxt = 0
        for i, (lo, hi) in enumerate(ranges):
            pending[i] = client.submit(fn, shared, lo, hi, pure=False)
            while len(pending) >= workers or (i == len(ranges) - 1 and pending):
                fold(pending.pop(nxt).result())
                nxt += 1
                bar.update(1)


def _ranges(n: int, b: int) -> list:
    return [(s, min(s + b, n)) for s in range(0, n, b)]


def _stream(fn, ctx, outputs, *, what, n_resamples, memory_limit, chunk_size, client, progress, parts_fix):
    """Plan, run and fold every chunk; returns (running statistics, streaming record)."""
    limit = memory_limit_iv(memory_limit)
    client, owned = client_iv(client)
    try:
        workers = dask_workers(client)
        kept = sum(o.bytes_per_draw() for o in outputs if o.exact or o.keep)
        if kept * n_resamples + _OVERHEAD > limit and kept * n_resamples > _OVERHEAD:  # before allocating them
            need = kept * n_resamples + _OVERHEAD
            raise ClusterModelError(
                f"the {what} needs at least {_size(need)} ({parts_fix['kept'][0]}: {_size(kept * n_resamples)}) but "
                f"`memory_limit` is {_size(limit)}; pass memory_limit='{_size(1.25 * need)}'{parts_fix['kept'][1]}"
            )
        running = _Running(outputs, n_resamples)
        state = running.nbytes()
        per_resample, per_chunk = _pilot(fn, ctx, running, n_resamples)
        block = ctx.sampler.block
        b, need = _plan(
            what=what, n_resamples=n_resamples, workers=workers, state=state, kept=kept, per_resample=per_resample,
            per_chunk=per_chunk, limit=limit, chunk_size=chunk_size, block=block, parts_fix=parts_fix,
        )
        ranges = _ranges(n_resamples, b)
        _execute(fn, ctx, ranges, running.fold, client=client, workers=min(workers, len(ranges)), progress=progress, desc=what)
    finally:
        if owned:
            client.close()
    record = {
        "chunk_size": b,
        "n_chunks": len(ranges),
        "workers": workers,
        "scheduler": "threads" if client is None else "distributed",
        "memory_limit": limit,
        "memory_estimate": int(need),
        "bytes_per_resample": float(per_resample),
    }
    return running, record


def _bins_for(outputs_of_bins, limit, bins):
    """Largest bins (a power of two, at most ``bins``) whose histograms fit in half the budget, else None."""
    b = bins
    while b >= _MIN_BINS:
        if outputs_of_bins(b) <= limit / 2:
            return b
        b //= 2
    return None


def _check_quantiles(quantiles) -> str:
    return check_choice(quantiles, "quantiles", list(QUANTILES))


def _plan_outputs(outputs, *, n_resamples, limit, quantiles, bins, what):
    """Decide which real outputs keep their values (exact percentiles) and how many bins the histograms get."""
    bins = DEFAULT_BINS if bins is None else check_positive_int(bins, "bins", minimum=_MIN_BINS)
    real = sorted((o for o in outputs if o.kind == "real"), key=lambda o: o.size)
    budget = limit / 4
    used = 0.0
    for o in real:
        need = 8.0 * o.size * n_resamples
        if quantiles == "exact" or (quantiles == "auto" and (o.keep or used + need <= budget)):
            o.exact = True
            used += 0 if o.keep else need
        else:
            o.exact = False
    if quantiles == "exact" and used > budget * 2:
        raise ClusterModelError(
            f"quantiles='exact' keeps every value of the {what} ({_size(used)}) but `memory_limit` is {_size(limit)}; "
            f"use quantiles='auto' or memory_limit='{_size(4 * used)}'"
        )

    def hist_bytes(b):
        total = 0
        for o in outputs:
            if o.kind == "real" and not o.exact:
                total += 4 * o.size * b
            elif o.kind == "int":
                total += 4 * o.size * min(o.bins or b, 4 * b)
        return total

    chosen = _bins_for(hist_bytes, limit, bins)
    if chosen is None:
        raise ClusterModelError(
            f"the running statistics of the {what} need at least {_size(hist_bytes(_MIN_BINS))} for {_MIN_BINS}-bin "
            f"histograms but `memory_limit` is {_size(limit)}; pass memory_limit='{_size(2.5 * hist_bytes(_MIN_BINS))}' "
            "or fewer `nodes`"
        )
    for o in outputs:
        if o.kind == "real":
            o.bins = chosen
        elif o.kind == "int":
            o.bins = min(o.bins or chosen, 4 * chosen)
    return chosen


# --------------------------------------------------------------------------- summaries to JSON


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _attr_value(v):
    if v is None:
        return "none"
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    return v


def _stat(ds: xr.Dataset, prefix: str, nominal=None, sel=None) -> dict:
    """A scalar output's summary as JSON: nominal, median, interval, mean, sd, min, max, bias."""
    def get(k):
        if f"{prefix}_{k}" not in ds:
            return None
        v = ds[f"{prefix}_{k}"]
        return v.sel(sel) if sel else v

    nominal = _num(get("nominal") if nominal is None else nominal)
    lo, hi = _num(get("low")), _num(get("high"))
    mean = _num(get("mean"))
    n_undefined = get("n_undefined")
    return {
        "nominal": nominal,
        "median": _num(get("median")),
        "low": lo,
        "high": hi,
        "mean": mean,
        "sd": _num(get("sd")),
        "min": _num(get("min")),
        "max": _num(get("max")),
        "bias": None if mean is None or nominal is None else mean - nominal,
        "nominal_in_interval": None if lo is None or hi is None or nominal is None else bool(lo <= nominal <= hi),
        "n_undefined": 0 if n_undefined is None else int(n_undefined),
        "percentile_error": _num(get("error")),
    }


_SUMMARY_KEYS = ("mean", "sd", "min", "max", "median", "low", "high", "error")


def _entries(prefix: str, summary: dict, dims: list, keys=_SUMMARY_KEYS) -> dict:
    """The summary's variables ``<prefix>_<key>``, to add to a dataset in one ``update``."""
    return {f"{prefix}_{k}": (dims, np.asarray(summary[k])) for k in keys if k in summary}


def _count_tables(summary, n_units: int):
    """(distribution over counts 0..n per scenario (scenario, count), most common joint vectors) from an int output."""
    o, k, counts = summary["hist"]
    dist = np.zeros((len(SCENARIOS), n_units + 1))
    total = counts.sum(axis=-1)
    for s in range(len(SCENARIOS)):
        if total[s] == 0:
            continue
        values = (o[s] + np.arange(counts.shape[-1])) << max(int(k[s]), 0)  # a bin's lowest count (exact when k == 0)
        ok = (values >= 0) & (values <= n_units) & (counts[s] > 0)
        np.add.at(dist[s], values[ok], counts[s][ok] / total[s])
    joint = summary.get("joint")
    return dist, joint


def _joint_records(joint, n_draws, top=5):
    if joint is None:
        return None
    items = sorted(joint.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [{"counts": {s: int(v) for s, v in zip(SCENARIOS, vec)}, "probability": c / n_draws} for vec, c in items]


def _counts_summary(ds: xr.Dataset, prefix: str = "scenario_count") -> dict:
    """The scenario counts of a result as JSON."""
    scen = list(SCENARIOS)
    out = {
        "nominal": {s: int(v) for s, v in zip(scen, ds[f"{prefix}_nominal"].values)},
        "median": {s: float(v) for s, v in zip(scen, ds[f"{prefix}_median"].values)},
        "low": {s: float(v) for s, v in zip(scen, ds[f"{prefix}_low"].values)},
        "high": {s: float(v) for s, v in zip(scen, ds[f"{prefix}_high"].values)},
        "mean": {s: float(v) for s, v in zip(scen, ds[f"{prefix}_mean"].values)},
        "min": {s: int(v) for s, v in zip(scen, ds[f"{prefix}_min"].values)},
        "max": {s: int(v) for s, v in zip(scen, ds[f"{prefix}_max"].values)},
        "distribution": {
            s: {int(c): float(p) for c, p in enumerate(ds[f"{prefix}_distribution"].values[k]) if p > 0} for k, s in enumerate(scen)
        },
        "p_nominal_counts": float(ds["p_nominal_counts"]),
        "reference_counts": None,
        "p_reference_counts": None,
    }
    out["most_common"] = json.loads(ds.attrs.get("joint_counts", "null"))
    n = float(sum(out["nominal"].values()))
    out["mean_share"] = {s: out["mean"][s] / n if n else None for s in scen}
    if "p_reference_counts" in ds:
        out["reference_counts"] = {s: int(v) for s, v in zip(scen, ds["reference_counts"].values)}
        out["p_reference_counts"] = float(ds["p_reference_counts"])
    return out


def _reference_iv(reference_counts):
    if reference_counts is None:
        return None
    if not isinstance(reference_counts, dict) or set(reference_counts) != set(SCENARIOS):
        raise ClusterModelError(
            f"`reference_counts` must map every scenario ({', '.join(SCENARIOS)}) to a count, got {reference_counts!r}"
        )
    vals = []
    for s in SCENARIOS:
        v = reference_counts[s]
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ClusterModelError(f"`reference_counts`[{s!r}] must be a non-negative integer, got {v!r}")
        vals.append(int(v))
    return np.array(vals, np.int64)


#: Streaming diagnostics measured by tracing the pilot chunk: kept on the result, left out of its files
#: (they vary by a few bytes between runs, and the files are byte-deterministic).
_MEASURED = ("memory_estimate", "bytes_per_resample")


def _record(streaming: dict) -> dict:
    return {k: v for k, v in streaming.items() if k not in _MEASURED}


def _weights_cancel(spec: IndexSpec, structure) -> bool:
    """True when every aggregation level's aggregator ignores positive weights (Equation 1 as printed)."""
    levels = sorted({structure.level(v) for v in structure.aggregates})
    return all(aggregator(spec.aggregation_at(lv, structure.n_levels))[4] for lv in levels)


def _output_nodes(structure, nodes) -> list:
    """The aggregate nodes besides the index whose scores and ranks are summarised."""
    others = [v for v in structure.aggregates if v != structure.root]
    if nodes is None:
        return [v for v in structure.nodes if v in others]
    if isinstance(nodes, str):
        nodes = [nodes]
    out = []
    for v in nodes:
        structure._node(v)
        if v == structure.root:
            continue
        if v not in others:
            raise ClusterModelError(
                f"`nodes`: {v!r} is an indicator; its normalised values do not depend on the weights. Name aggregates: "
                f"{', '.join(others) or '(the structure has none besides the index)'}"
            )
        if v not in out:
            out.append(v)
    return out


def _unit_coords(construction) -> dict:
    dim = "cluster"
    coords = {dim: construction.units}
    for k, v in construction.coords.items():
        if k in ("name", "group", "region") and len(v.dims) == 1:
            coords[k] = (dim, np.asarray(v.values).astype(str))
    return coords


# --------------------------------------------------------------------------- weight bootstrap


@dataclass(frozen=True, repr=False)
class WeightBootstrapResult(ResultDisplay):
    """Distribution of every unit's scores, ranks and scenario over expert panels, as running summaries.

    Attributes
    ----------
    summary : xarray.Dataset
        Every summary. Per unit and output node (dims ``cluster``, ``node``;
        the index first, then every pillar / sub-index): ``score_nominal``,
        ``score_mean``, ``score_sd``, ``score_min``, ``score_max``,
        ``score_median``, ``score_low``, ``score_high``, ``score_error``
        (bound on the percentile error, 0 where exact), and the same for
        ``rank_*`` (integer ranks, 1 = highest). Per output node:
        ``rank_exact`` (every rank percentile exact), ``mean_rank_shift_*``
        (the mean absolute rank shift of Saisana et al. 2005, over units).
        Per weighted node (dim ``weight_node``, coordinate ``parent``):
        ``weight_centre`` (nominal panel weights), ``weight_study`` (the
        study's weights normalised within the parent) and ``weight_*``. With a
        higher-level index: ``scenario_nominal`` (cluster),
        ``scenario_probability`` (cluster, scenario), ``scenario_count_*``
        (scenario), ``scenario_count_distribution`` (scenario, count),
        ``correlation_*``, ``p_nominal_counts`` and, with reference counts,
        ``reference_counts`` and ``p_reference_counts``. Always
        ``p_zero_weight`` (the share of panels in which some weight is 0).
    draws : xarray.Dataset or None
        Every panel's weights and outputs (dim ``draw``), only with ``keep_draws=True``.
    spec, thresholds : the choices used
    mode : {'parametric', 'nonparametric'}
    panel_size : int
    concentration : float or None
        kappa (parametric mode only).
    n_experts : int or None
    experts_source : str or None
        The expert table's file (nonparametric mode only).
    expert_columns : {'nodes', 'indicators'} or None
        Whether the expert table weighs every node or only the indicators (the
        aggregates' weights then stay nominal).
    confidence_level : float
    seed : int or None
        The integer seed (or a SeedSequence's entropy) the run was given, else None.
    spawn_key : tuple of int
        The spawn key of that SeedSequence: ``(k,)`` for the k-th stream spawned from ``seed``; empty for a plain seed.
    n_resamples : int
    zero_spread : bool
        True when no unit's index varies over the panels beyond rounding (:data:`ZERO_SPREAD_RTOL`).
    weights_cancel : bool
        True when the spec's aggregation ignores positive weights at every
        level (``'equation1'`` as printed): only a zero weight can move anything.
    centre_differs : bool
        True when the panels' centre (the expert table's mean) differs from the
        study's weights by more than 0.005 on some node.
    has_regions : bool
    streaming : dict
        Chunk size, number of chunks, workers, scheduler, memory limit and
        estimate, bins, and which outputs have exact percentiles.
    """

    summary: xr.Dataset
    draws: xr.Dataset | None
    spec: IndexSpec
    thresholds: ScenarioThresholds
    mode: str
    panel_size: int
    concentration: float | None
    n_experts: int | None
    experts_source: str | None
    expert_columns: str | None
    confidence_level: float
    seed: int | None
    n_resamples: int
    zero_spread: bool
    weights_cancel: bool
    centre_differs: bool
    has_regions: bool
    streaming: dict = field(default_factory=dict)
    spawn_key: tuple[int, ...] = ()

    def _display_(self) -> tuple[str, list]:
        head = f"Expert-panel bootstrap: {self.n_resamples} panels, {self.summary.sizes['cluster']} units x {len(self.nodes)} node(s)"
        rows = [
            ("panels", self.mode_description),
            ("spec", f"aggregation={self.spec.aggregation}, normalisation={self.spec.normalisation}"),
            ("nodes", names(self.nodes)),
            ("weights cancel", self.weights_cancel),
            ("zero spread", self.zero_spread),
            ("draws", "kept (to_xarray())" if self.draws is not None else "summaries only"),
            ("tables", "to_frame(node): one row per unit; to_xarray(): every summary"),
        ]
        return head, rows

    @property
    def nodes(self) -> list:
        """The output nodes: the index first, then the other aggregates."""
        return [str(v) for v in self.summary["node"].values]

    @property
    def index_node(self) -> str:
        return self.nodes[0]

    @property
    def mode_description(self) -> str:
        """A short label of how the panels were drawn (for figure titles)."""
        if self.mode == "parametric":
            return f"parametric, κ={self.concentration:g}, panels of {self.panel_size}"
        return f"nonparametric, {self.panel_size} of {self.n_experts} experts per panel"

    @property
    def index_spread(self) -> xr.DataArray:
        """max - min of every unit's index over the panels."""
        s = self.summary.sel(node=self.index_node)
        return (s["score_max"] - s["score_min"]).rename("index_spread")

    def scenario_probabilities(self) -> xr.DataArray:
        """P(scenario) per unit, dims (cluster, scenario); rows sum to one."""
        self._need_regions("scenario probabilities")
        return self.summary["scenario_probability"]

    def _need_regions(self, what):
        if not self.has_regions:
            raise ClusterModelError(f"this study has no higher-level index, so no {what}")

    def node_table(self, node: str | None = None) -> xr.Dataset:
        """Per-unit summary of one output node (default the index) with the variables named ``index_*``/``rank_*``."""
        node = self.index_node if node is None else node
        if node not in self.nodes:
            raise ClusterModelError(f"`node` {node!r} is not an output node; output nodes are {', '.join(self.nodes)}")
        s = self.summary.sel(node=node, drop=True)
        out = xr.Dataset(coords={k: v for k, v in s.coords.items() if v.dims == ("cluster",)})
        new = {f"index_{q}": s[f"score_{q}"] for q in ("nominal", "median", "low", "high", "mean", "sd", "min", "max", "error")}
        new["index_spread"] = s["score_max"] - s["score_min"]
        new.update({f"rank_{q}": s[f"rank_{q}"] for q in ("nominal", "median", "low", "high", "mean", "sd", "min", "max")})
        if self.has_regions and node == self.index_node:
            new["scenario_nominal"] = self.summary["scenario_nominal"]
            new["scenario_probability"] = self.summary["scenario_probability"]
        out.update(new)  # one merge, not one per variable
        return out

    def cluster_table(self) -> xr.Dataset:
        """Per-unit summary of the index: nominal, median and interval of index and rank, scenario probabilities."""
        return self.node_table(self.index_node)

    def to_dataframe(self, node: str | None = None):
        """The per-unit table of a node as a pandas DataFrame, one column per scenario probability."""
        t = self.node_table(node)
        p = t.get("scenario_probability")
        df = t.drop_vars(["scenario_probability"], errors="ignore").drop_dims("scenario", errors="ignore").to_dataframe()
        if p is not None:
            for k, s in enumerate(p["scenario"].values):
                df[f"p_{s}"] = p.values[:, k]
            df["scenario_nominal"] = [SCENARIOS[int(c)] for c in df["scenario_nominal"]]
        return df

    def weight_table(self) -> dict:
        """Per weighted node: parent, centre, study weight, mean, sd, median, interval, min, max of the panel weights."""
        s = self.summary
        out = {}
        for j, v in enumerate(s["weight_node"].values):
            out[str(v)] = {
                "parent": str(s["parent"].values[j]),
                "centre": float(s["weight_centre"].values[j]),
                "study": float(s["weight_study"].values[j]),
                **{q: _num(s[f"weight_{q}"].values[j]) for q in ("mean", "sd", "median", "low", "high", "min", "max")},
            }
            if out[str(v)]["sd"] is None:
                out[str(v)]["sd"] = 0.0
        return out

    def study_summary(self) -> dict:
        """Study-level summaries: largest index spread, mean rank shift per node, correlation and scenario counts."""
        s = self.summary
        out = {
            "max_index_spread": _num(self.index_spread.max()),
            "mean_rank_shift": {v: _stat(s, "mean_rank_shift", nominal=0.0, sel={"node": v}) for v in self.nodes},
            "p_zero_weight": float(s["p_zero_weight"]),
        }
        if self.has_regions:
            out["correlation"] = _stat(s, "correlation")
            out["scenario_counts"] = _counts_summary(s)
        return out

    def to_dict(self) -> dict:
        s = self.summary
        units = []
        coords = {k: s[k].values for k in ("name", "group", "region") if k in s.coords}
        nodes, index_node = self.nodes, self.index_node
        stats = ("nominal", "median", "low", "high", "mean", "sd", "min", "max")
        # every (statistic, node) column as a numpy array once, not one xarray selection per unit
        col = {(f, v): s[f].sel(node=v).values for v in nodes for f in (f"{k}_{q}" for k in ("score", "rank") for q in stats)}
        for i, u in enumerate(s["cluster"].values):
            rec = {"id": u.item() if hasattr(u, "item") else u}
            for k, vals in coords.items():
                rec[k] = str(vals[i])
            for v in nodes:
                node = {}
                first = v == index_node  # the index in full; the other nodes' medians and intervals
                for q in stats[: 8 if first else 4]:
                    node[f"score_{q}"] = _num(col[f"score_{q}", v][i])
                for q in stats[: 8 if first else 4]:
                    x = col[f"rank_{q}", v][i]
                    node[f"rank_{q}"] = int(x) if q in ("nominal", "min", "max") else _num(x)
                if first:
                    rec.update({k.replace("score_", "index_"): val for k, val in node.items()})
                else:
                    rec.setdefault("nodes", {})[v] = node
            if self.has_regions:
                rec["scenario_nominal"] = SCENARIOS[int(s["scenario_nominal"].values[i])]
                rec["scenario_probabilities"] = {sc: float(p) for sc, p in zip(SCENARIOS, s["scenario_probability"].values[i])}
            units.append(rec)
        return {
            "kind": "weight_bootstrap",
            "mode": self.mode,
            "panel_size": self.panel_size,
            "concentration": self.concentration,
            "n_experts": self.n_experts,
            "experts_source": self.experts_source,
            "expert_columns": self.expert_columns,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "spawn_key": list(self.spawn_key),
            "confidence_level": self.confidence_level,
            "percentiles": list(_tails(self.confidence_level)),
            "percentile_method": _PERCENTILE_METHOD,
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "zero_spread": self.zero_spread,
            "weights_cancel": self.weights_cancel,
            "centre_differs": self.centre_differs,
            "has_regions": self.has_regions,
            "nodes": self.nodes,
            "weights": self.weight_table(),
            "units": units,
            "study": self.study_summary(),
            "streaming": _record(self.streaming),
            "version": __version__,
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataset(self) -> xr.Dataset:
        """The summaries and, if the run kept them (``keep_draws=True``), every panel.

        ``attrs`` hold the spec, thresholds, mode, panel size, concentration,
        seed, confidence level, percentile method, streaming record and package version.
        """
        ds = self.summary.copy()
        if self.draws is not None:
            ds = ds.merge(self.draws)
        for v in ds.data_vars.values():
            v.attrs = {}
        if "scenario_nominal" in ds:
            ds["scenario_nominal"].attrs["codes"] = ", ".join(f"{i}={s}" for i, s in enumerate(SCENARIOS))
        joint = self.summary.attrs.get("joint_counts")
        ds.attrs = {
            "title": "clustermodel weight bootstrap (expert panels)",
            **self.spec.to_attrs(),
            **{f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()},
            "mode": self.mode,
            "panel_size": self.panel_size,
            "concentration": _attr_value(self.concentration),
            "n_experts": _attr_value(self.n_experts),
            "experts_source": _attr_value(self.experts_source),
            "expert_columns": _attr_value(self.expert_columns),
            "n_resamples": self.n_resamples,
            "seed": _attr_value(self.seed),
            "spawn_key": " ".join(map(str, self.spawn_key)),
            "confidence_level": self.confidence_level,
            "percentile_method": _PERCENTILE_METHOD,
            "zero_spread": int(self.zero_spread),
            "weights_cancel": int(self.weights_cancel),
            "centre_differs": int(self.centre_differs),
            **({"joint_counts": joint} if joint else {}),
            **{f"streaming_{k}": _attr_value(v) for k, v in _record(self.streaming).items() if not isinstance(v, (dict, list))},
            "clustermodel_version": __version__,
        }
        return ds


class _WeightTask:
    """Everything a chunk of the weight bootstrap needs (picklable, shared by every chunk)."""

    def __init__(self, model, sampler, nodes, nominal, nominal_rank, reference):
        self.model = model
        self.sampler = sampler
        self.nodes = list(nodes)
        self.nominal = nominal
        self.nominal_rank = nominal_rank
        self.reference = reference


def _weight_outputs(task: _WeightTask, W: np.ndarray) -> dict:
    """Every output of the weight bootstrap for panel weights W (B, K)."""
    out = task.model.outputs(W, nominal=task.nominal)
    scores = np.stack([out["index"]] + [out[f"score[{v}]"] for v in task.nodes], axis=-1)  # (B, n, P)
    ranks = np.empty(scores.shape, np.int32)
    ranks[..., 0] = out["rank"]
    ranks[..., 1:] = rank_values(scores[..., 1:], axis=-2, dtype=np.int32)  # every other node, one call
    res = {
        "weights": W,
        "score": scores,
        "rank": ranks,
        "mean_rank_shift": np.abs(ranks - task.nominal_rank).mean(axis=1),
        "zero_weight": (W == 0).any(axis=-1),
    }
    if task.model.has_regions:
        counts = out["scenario_count"].astype(np.int64)
        res["scenario"] = out["scenario"]
        res["scenario_count"] = counts
        res["correlation"] = out["correlation"]
        res["counts_kept"] = out["counts_kept"].astype(bool)
        if task.reference is not None:
            res["reference_kept"] = np.all(counts == task.reference, axis=-1)
    return res


def _weight_chunk(task: _WeightTask, lo: int, hi: int) -> dict:
    return _weight_outputs(task, task.sampler.rows(lo, hi))


def weight_bootstrap(
    study: Study,
    spec: IndexSpec | None = None,
    *,
    mode: str | None = None,
    experts: PathLike | xr.DataArray | None = None,
    panel_size: int | None = None,
    concentration: float = DEFAULT_CONCENTRATION,
    n_resamples: int = 10_000,
    thresholds: ScenarioThresholds | None = None,
    confidence_level: float = 0.90,
    nodes: list[str] | None = None,
    reference_counts: dict | None = None,
    keep_draws: bool = False,
    quantiles: str = "auto",
    bins: int | None = None,
    chunk_size: int | None = None,
    memory_limit: int | str | None = None,
    client: object = None,
    progress: bool = True,
    rng: RNGLike = None,
) -> WeightBootstrapResult:
    """Bootstrap the expert panel behind the weights of every level: score, rank and scenario uncertainty.

    Parameters
    ----------
    study : clustermodel.data.Study
        Any study: units and a structure. Scenarios and the correlation of the
        two indices are added when it has a higher-level (region) table.
    spec : IndexSpec, optional
        Default: the study's spec. Under ``aggregation='equation1'`` every
        positive weight cancels: ``weights_cancel`` is then True and the panels
        show zero spread unless a panel weight is exactly 0.
    mode : {'parametric', 'nonparametric'}, optional
        Default: 'nonparametric' if ``experts`` is given, else 'parametric'.
    experts : path or DataArray (expert, node), optional
        Your own expert table (see :func:`load_experts`): weights for every
        weighted node, or only for the indicators (the aggregates' weights then
        stay nominal).
    panel_size : int, optional
        Experts per panel; default 5 (parametric) or the number of experts in
        the table (nonparametric).
    concentration : float
        Dirichlet kappa of the parametric mode, the same within every parent.
    n_resamples : int
        Number of panels (default 10 000).
    thresholds : ScenarioThresholds, optional
        Fractions of the attainable maximum, applied per panel.
    confidence_level : float
        Of the percentile intervals; 0.90 gives the 5-95 % interval.
    nodes : sequence of str, optional
        Aggregates besides the index whose scores and ranks are summarised;
        default every pillar and sub-index; ``()`` for the index only.
    reference_counts : dict, optional
        Scenario counts to compare every panel's counts with (e.g. the
        published ones); the share of panels matching them is reported.
    keep_draws : bool
        Keep every panel's weights and outputs (``draws``; memory grows with
        ``n_resamples``). Default: summaries only.
    quantiles : {'auto', 'exact', 'histogram'}
        How percentiles of scores and weights are obtained (see Notes).
    bins : int, optional
        Histogram bins per unit and real-valued output (default
        :data:`DEFAULT_BINS`, fewer if the memory budget requires); ranks get
        up to ``4 * bins``.
    chunk_size : int, optional
        Panels per chunk; default the largest that fits ``memory_limit``.
    memory_limit : int or str, optional
        Memory budget (bytes or a size such as ``'2GiB'``; default a quarter of the memory available to this process,
        at least 512 MiB: :func:`clustermodel._dask.default_memory_limit`).
        The need is estimated before the first chunk (a traced pilot chunk);
        if it cannot be met a one-line :class:`ClusterModelError` names the
        option that fixes it.
    client : dask.distributed.Client or str, optional
        Run the chunks on a ``dask.distributed`` cluster (a Client or a
        scheduler address). Default: dask's local threaded scheduler.
    progress : bool
        A progress bar (tqdm) when standard error is a terminal.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    WeightBootstrapResult

    Raises
    ------
    ClusterModelError
        For a bad mode, concentration, panel size, node or expert table (a
        parent's weights not summing to one, a negative weight, a column the
        data lacks), or a memory budget the run cannot meet.

    Notes
    -----
    Only the panel-mean weights vary; the data, the normalisation, the
    higher-level index and its threshold are fixed. Panels are evaluated in
    chunks by :class:`clustermodel.scenarios.StudyModel` and folded into
    running statistics: category counts (scenario probabilities), exact
    integer sums and per-unit histograms of ranks (exact percentiles while a
    unit's ranks span at most the histogram's bins), minimum, maximum and sums
    shifted by the nominal value (mean and sd to rounding), and per-unit
    values (``quantiles='exact'``, or ``'auto'`` while they fit in a quarter of
    the budget) or histograms on aligned power-of-two grids (``'histogram'``):
    then each percentile is within ``score_error`` (half a bin width, at most
    range / (0.75 bins - 1)) of numpy's. Ranks are competition ranks (exactly tied units share one).
    The panels are drawn in fixed blocks, each from its own stream spawned
    from ``rng``, so the result does not depend on ``chunk_size`` or the scheduler.

    References
    ----------
    .. [1] Efron, B. and Tibshirani, R. J. (1993). An Introduction to the
       Bootstrap. Chapman & Hall. https://doi.org/10.1201/9780429246593
    .. [2] Saisana, M., Saltelli, A. and Tarantola, S. (2005). Uncertainty and
       sensitivity analysis techniques as tools for the quality assessment of
       composite indicators. JRSS A 168(2), 307-323.
       https://doi.org/10.1111/j.1467-985X.2005.00350.x

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> r = weight_bootstrap(load_paper(), IndexSpec(aggregation="quadratic"), n_resamples=200, rng=1, progress=False)
    >>> r.zero_spread
    False
    """
    from clustermodel.scenarios import StudyModel

    spec = study.spec if spec is None else spec
    if not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(spec).__name__}")
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    cl = check_probability(confidence_level, "confidence_level")
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    if n_resamples >= 2**31:
        raise ClusterModelError(f"`n_resamples` must be below 2**31, got {n_resamples}")
    quantiles = _check_quantiles(quantiles)
    reference = _reference_iv(reference_counts)
    if mode is None:
        mode = "parametric" if experts is None else "nonparametric"
    structure = study.structure
    out_nodes = _output_nodes(structure, nodes)
    seed, spawn_key = seed_record(rng)
    gen = as_rng(rng)
    design = _panel_design(structure, mode=mode, experts=experts, panel_size=panel_size, concentration=concentration, root=_root_seed(gen))
    limit = memory_limit_iv(memory_limit)

    model = StudyModel(study, spec, thresholds=thresholds, nodes=out_nodes)
    c = model.construction
    n = len(c.units)
    nominal = model.outputs(design.centre[None, :])
    nominal_scores = np.stack([nominal["index"][0]] + [nominal[f"score[{v}]"][0] for v in out_nodes], axis=-1)
    nominal_ranks = np.empty(nominal_scores.shape, np.int32)
    nominal_ranks[:, 0] = nominal["rank"][0]
    nominal_ranks[:, 1:] = rank_values(nominal_scores[:, 1:], axis=0, dtype=np.int32)
    task = _WeightTask(model, design.sampler, out_nodes, nominal, nominal_ranks, reference)

    K, P = len(structure.weighted), 1 + len(out_nodes)
    regions = model.has_regions
    outputs = [
        _Output("weights", "real", (K,), centre=design.centre, keep=keep_draws),
        _Output("score", "real", (n, P), centre=nominal_scores, keep=keep_draws),
        _Output("rank", "int", (n, P), centre=nominal_ranks, bins=_integer_bins(n), keep=keep_draws, draw_dtype=np.int32),
        _Output("mean_rank_shift", "real", (P,), centre=np.zeros(P), keep=keep_draws),
        _Output("zero_weight", "flag", (), keep=keep_draws, draw_dtype=bool),
    ]
    if regions:
        nominal_counts = nominal["scenario_count"][0].astype(np.int64)
        outputs += [
            _Output("scenario", "cat", (n,), categories=len(SCENARIOS), keep=keep_draws, draw_dtype=np.int8),
            _Output("scenario_count", "int", (len(SCENARIOS),), centre=nominal_counts, bins=_integer_bins(n + 1), keep=keep_draws,
                    joint=True, distribution=True, draw_dtype=np.int32),
            _Output("correlation", "real", (), centre=np.atleast_1d(np.nan_to_num(nominal["correlation"])), keep=keep_draws),
            _Output("counts_kept", "flag", (), keep=keep_draws, draw_dtype=bool),
        ]
        if reference is not None:
            outputs.append(_Output("reference_kept", "flag", (), keep=keep_draws, draw_dtype=bool))
    chosen_bins = _plan_outputs(outputs, n_resamples=n_resamples, limit=limit, quantiles=quantiles, bins=bins, what="weight bootstrap")
    running, record = _stream(
        _weight_chunk, task, outputs, what="weight bootstrap", n_resamples=n_resamples, memory_limit=limit,
        chunk_size=chunk_size, client=client, progress=progress,
        parts_fix={
            "state": ("the running statistics", " or fewer `nodes`, or quantiles='histogram'"),
            "kept": ("the values kept for exact percentiles and draws", " or keep_draws=False, or quantiles='histogram'"),
            "chunk": ("one panel per worker", ""),
        },
    )
    record["bins"] = chosen_bins
    record["quantiles"] = {o.name: "exact" if o.exact else "histogram" for o in outputs if o.kind == "real"}

    # ---- assemble the summaries
    node_coords = {"node": [structure.root, *out_nodes], "level": ("node", [structure.level(v) for v in [structure.root, *out_nodes]])}
    ucoords = _unit_coords(c)
    # (variables added in batches: each single assignment to a Dataset is a merge of the whole dataset)
    ds = xr.Dataset(coords={**ucoords, **node_coords})
    sc = running.summary("score", cl)
    rk = running.summary("rank", cl)
    new = {"score_nominal": (("cluster", "node"), nominal_scores), **_entries("score", sc, ["cluster", "node"])}
    new["score_n_undefined"] = (("cluster", "node"), n_resamples - sc["count"])
    new["rank_nominal"] = (("cluster", "node"), nominal_ranks)
    new.update(_entries("rank", rk, ["cluster", "node"]))
    for k in ("rank_min", "rank_max"):
        new[k] = (new[k][0], new[k][1].astype(np.int32))
    new["rank_exact"] = ("node", (rk["error"] == 0).all(axis=0))
    new.update(_entries("mean_rank_shift", running.summary("mean_rank_shift", cl), ["node"]))
    ds.update(new)
    wt = running.summary("weights", cl)
    ds = ds.assign_coords(weight_node=list(structure.weighted), parent=("weight_node", [structure.parent(v) for v in structure.weighted]))
    new = {"weight_centre": ("weight_node", design.centre), "weight_study": ("weight_node", _nominal_shares(structure))}
    new.update(_entries("weight", wt, ["weight_node"]))
    new["p_zero_weight"] = float(running.summary("zero_weight", cl)["probability"])
    ds.update(new)
    if regions:
        ds = ds.assign_coords(scenario=list(SCENARIOS))
        new = {
            "scenario_nominal": ("cluster", nominal["scenario"][0].astype(np.int8)),
            "scenario_probability": (("cluster", "scenario"), running.summary("scenario", cl)["probability"]),
        }
        cs = running.summary("scenario_count", cl)
        new["scenario_count_nominal"] = ("scenario", nominal_counts)
        new.update(_entries("scenario_count", cs, ["scenario"]))
        dist, joint = _count_tables(cs, n)
        new["scenario_count_distribution"] = (("scenario", "count"), dist)
        ds.attrs["joint_counts"] = json.dumps(_joint_records(joint, n_resamples))
        co = running.summary("correlation", cl)
        new["correlation_nominal"] = float(nominal["correlation"][0])
        new.update(_entries("correlation", co, []))
        new["correlation_n_undefined"] = n_resamples - int(co["count"])
        new["p_nominal_counts"] = float(running.summary("counts_kept", cl)["probability"])
        if reference is not None:
            new["reference_counts"] = ("scenario", reference)
            new["p_reference_counts"] = float(running.summary("reference_kept", cl)["probability"])
        ds.update(new)

    # zero to rounding: batched matrix products may differ in the last bit between batch shapes
    top, bottom = ds["score_max"].isel(node=0).values, ds["score_min"].isel(node=0).values
    scale = np.nan_to_num(np.maximum(np.abs(top), np.abs(bottom)))
    zero = bool(np.all(np.nan_to_num(top - bottom) <= ZERO_SPREAD_RTOL * scale))
    study_w = _nominal_shares(structure)
    draws = _weight_draws(running, outputs, ds, structure) if keep_draws else None
    return WeightBootstrapResult(
        summary=ds,
        draws=draws,
        spec=spec,
        thresholds=thresholds,
        mode=design.mode,
        panel_size=design.panel_size,
        concentration=design.concentration,
        n_experts=design.n_experts,
        experts_source=design.experts_source,
        expert_columns=design.expert_columns,
        confidence_level=cl,
        seed=seed,
        spawn_key=spawn_key,
        n_resamples=n_resamples,
        zero_spread=zero,
        weights_cancel=_weights_cancel(spec, structure),
        centre_differs=bool(np.max(np.abs(study_w - design.centre)) > 0.005),
        has_regions=regions,
        streaming=record,
    )


def _weight_draws(running, outputs, ds, structure) -> xr.Dataset:
    dims = {
        "weights": ["draw", "weight_node"],
        "score": ["draw", "cluster", "node"],
        "rank": ["draw", "cluster", "node"],
        "mean_rank_shift": ["draw", "node"],
        "zero_weight": ["draw"],
        "scenario": ["draw", "cluster"],
        "scenario_count": ["draw", "scenario"],
        "correlation": ["draw"],
        "counts_kept": ["draw"],
        "reference_kept": ["draw"],
    }
    names = {"weights": "panel_weights", "score": "score_draws", "rank": "rank_draws", "mean_rank_shift": "mean_rank_shift_draws",
             "scenario": "scenario_draws", "scenario_count": "scenario_count_draws", "correlation": "correlation_draws"}
    out = xr.Dataset()
    for o in outputs:
        d = running.draws(o.name)
        if d is not None:
            out[names.get(o.name, o.name)] = (dims[o.name], d)
    return out


# --------------------------------------------------------------------------- cluster bootstrap


@dataclass(frozen=True, repr=False)
class ClusterBootstrapResult(ResultDisplay):
    """Distribution of sample-dependent study statistics over unit resamples, as running summaries.

    Attributes
    ----------
    summary : xarray.Dataset
        Per output node (dim ``node``, the index first): ``mean_score_*``, the
        mean score over the resampled units. ``maxima_changed_*`` (the share of
        resampled cells whose normalised value differs from the full sample's:
        a reference statistic such as a group's maximum changed) and
        ``p_maxima_changed``. With a higher-level index: ``correlation_*``,
        ``scenario_count_*`` and ``scenario_share_*`` (scenario),
        ``scenario_count_distribution``, ``p_nominal_counts`` and, with
        reference counts, ``p_reference_counts``. Every ``*_nominal`` is the
        statistic on the original sample.
    draws : xarray.Dataset or None
        Every resample's positions and statistics (dim ``resample``), only
        with ``keep_draws=True``.
    maxima : {'resample', 'fixed'}
    spec, thresholds, confidence_level, seed, spawn_key, n_resamples
    n_units : int
    has_regions : bool
    streaming : dict
    """

    summary: xr.Dataset
    draws: xr.Dataset | None
    spec: IndexSpec
    thresholds: ScenarioThresholds
    confidence_level: float
    seed: int | None
    n_resamples: int
    n_units: int
    maxima: str
    has_regions: bool
    streaming: dict = field(default_factory=dict)
    spawn_key: tuple[int, ...] = ()

    def _display_(self) -> tuple[str, list]:
        head = f"Unit (data) bootstrap: {self.n_resamples} resamples of {self.n_units} units"
        rows = [
            ("maxima", self.maxima),
            ("spec", f"aggregation={self.spec.aggregation}, normalisation={self.spec.normalisation}"),
            ("nodes", names(self.nodes)),
            ("draws", "kept (to_xarray())" if self.draws is not None else "summaries only"),
            ("tables", "to_frame(): one row per summary statistic; to_xarray(): every summary"),
        ]
        return head, rows

    def to_dataframe(self):
        """The summaries as a table: one row per (node, statistic) where they have those dimensions, else one row."""
        return self.summary.to_dataframe() if self.summary.dims else self.summary.to_pandas().to_frame().T

    @property
    def nodes(self) -> list:
        return [str(v) for v in self.summary["node"].values]

    def to_dict(self) -> dict:
        s = self.summary
        out = {
            "kind": "cluster_bootstrap",
            "n_resamples": self.n_resamples,
            "n_units": self.n_units,
            "seed": self.seed,
            "spawn_key": list(self.spawn_key),
            "confidence_level": self.confidence_level,
            "percentiles": list(_tails(self.confidence_level)),
            "percentile_method": _PERCENTILE_METHOD,
            "maxima": self.maxima,
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "has_regions": self.has_regions,
            "nodes": self.nodes,
            "mean_index": _stat(s, "mean_score", sel={"node": self.nodes[0]}),
            "mean_score": {v: _stat(s, "mean_score", sel={"node": v}) for v in self.nodes},
            "maxima_changed": {
                "p_any": float(s["p_maxima_changed"]),
                "mean_share_of_cells": _num(s["maxima_changed_mean"]),
            },
            "streaming": _record(self.streaming),
            "version": __version__,
        }
        if self.has_regions:
            out["correlation"] = _stat(s, "correlation")
            out["scenario_counts"] = _counts_summary(s)
            out["scenario_shares"] = {
                sc: {q: _num(s[f"scenario_share_{q}"].values[k]) for q in ("nominal", "median", "low", "high")}
                for k, sc in enumerate(SCENARIOS)
            }
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataset(self) -> xr.Dataset:
        """The summaries and, if the run kept them (``keep_draws=True``), every resample."""
        ds = self.summary.copy()
        if self.draws is not None:
            ds = ds.merge(self.draws)
        for v in ds.data_vars.values():
            v.attrs = {}
        joint = self.summary.attrs.get("joint_counts")
        ds.attrs = {
            "title": "clustermodel cluster (data) bootstrap",
            **self.spec.to_attrs(),
            **{f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()},
            "n_resamples": self.n_resamples,
            "n_units": self.n_units,
            "maxima": self.maxima,
            "seed": _attr_value(self.seed),
            "spawn_key": " ".join(map(str, self.spawn_key)),
            "confidence_level": self.confidence_level,
            "percentile_method": _PERCENTILE_METHOD,
            **({"joint_counts": joint} if joint else {}),
            **{f"streaming_{k}": _attr_value(v) for k, v in _record(self.streaming).items() if not isinstance(v, (dict, list))},
            "clustermodel_version": __version__,
        }
        return ds


def _cluster_statistics(study, spec, thresholds, positions, maxima="resample", *, model=None, nodes=()):
    """Study statistics for a batch of resamples given as positions (B, n); vectorised over B.

    The construction steps that depend on the sample (imputation, treatment,
    the normaliser's reference statistics) are redone inside every resample
    unless ``maxima == 'fixed'``. Returns ``mean_index`` (B,), ``mean_score``
    (B, 1 + len(nodes)), ``maxima_changed`` (B,) and, with a region table,
    ``correlation`` (B,) and ``scenario_counts`` (B, 4).
    """
    from clustermodel.index import construct_arrays
    from clustermodel.scenarios import StudyModel

    model = StudyModel(study, spec, thresholds=thresholds) if model is None else model
    c = model.construction
    tree = study.structure
    W = tree.weight_vector().values
    keep = [tree.root, *nodes]
    agg = dict(structure=tree, aggregation_at=lambda lv: spec.aggregation_at(lv, tree.n_levels), missing=spec.missing, keep=keep)
    positions = np.asarray(positions)
    B = positions.shape[0]
    if maxima == "fixed":
        res = aggregate_tree(np.vstack([c.normalised, c.top[None]]), np.vstack([c.present, np.ones_like(c.top, bool)[None]]), W, **agg)
        full = {v: res[v][:-1][positions] for v in keep}
        top = np.full(B, res[tree.root][-1])
        changed = np.zeros(B)
    else:
        kept = study.clusters.sel(cluster=c.units)
        den = kept.get("denominators")
        codes = None
        if spec.reference == "group":
            _, codes = np.unique(kept["group"].values, return_inverse=True)
            codes = codes[positions]
        arrs = construct_arrays(
            c.raw[positions] if den is None else kept["indicators"].sel(indicator=list(tree.leaves)).values[positions],
            structure=tree,
            spec=spec.replace(denominate=spec.denominate and den is not None),
            denominators=None if den is None else den.values[positions],
            denominator_names=() if den is None else [str(v) for v in den["denominator"].values],
            group_codes=codes,
        )
        vals = np.concatenate([arrs["normalised"], arrs["top"][:, None, :]], axis=1)
        pres = np.concatenate([arrs["present"], np.ones((B, 1, vals.shape[-1]), bool)], axis=1)
        res = aggregate_tree(vals, pres, W, **agg)
        full = {v: res[v][:, :-1] for v in keep}
        top = res[tree.root][:, -1]
        changed = (~np.isclose(arrs["normalised"], c.normalised[positions], rtol=1e-12, atol=0) & arrs["present"]).mean(axis=(-2, -1))
        del arrs, vals, pres, res
    ci = full[tree.root]
    # the mean over the units that have a score (as numpy's nanmean, without its warning: this runs in worker
    # threads, where warnings.catch_warnings is not safe); NaN where a node is missing in every drawn unit
    means = []
    for v in keep:
        ok = ~np.isnan(full[v])
        with np.errstate(invalid="ignore", divide="ignore"):
            means.append(np.where(ok, full[v], 0.0).sum(axis=-1) / ok.sum(axis=-1))
    means = np.stack(means, axis=-1)
    out = {"mean_index": means[:, 0], "mean_score": means, "maxima_changed": changed}
    if model.has_regions:
        roc = model.region_index_of_unit[positions]
        sc = classify(ci >= thresholds.cluster * top[:, None], roc >= model.region_threshold)
        out["scenario_counts"] = np.stack([(sc == k).sum(axis=-1) for k in range(len(SCENARIOS))], axis=-1)
        out["correlation"] = pearson(ci, roc, axis=-1)
    return out


class _ClusterTask:
    """Everything a chunk of the cluster bootstrap needs (picklable, shared by every chunk)."""

    def __init__(self, study, spec, thresholds, model, sampler, maxima, nodes, nominal_counts, reference, keep_positions):
        self.study, self.spec, self.thresholds, self.model = study, spec, thresholds, model
        self.sampler, self.maxima, self.nodes = sampler, maxima, list(nodes)
        self.nominal_counts, self.reference, self.keep_positions = nominal_counts, reference, keep_positions


def _cluster_chunk(task: _ClusterTask, lo: int, hi: int) -> dict:
    positions = task.sampler.rows(lo, hi)
    st = _cluster_statistics(task.study, task.spec, task.thresholds, positions, task.maxima, model=task.model, nodes=task.nodes)
    res = {
        "mean_score": st["mean_score"],
        "maxima_changed": st["maxima_changed"],
        "maxima_changed_any": st["maxima_changed"] > 0,
    }
    if task.keep_positions:
        res["positions"] = positions.astype(np.int32)
    if task.model.has_regions:
        counts = st["scenario_counts"].astype(np.int64)
        res["scenario_count"] = counts
        res["correlation"] = st["correlation"]
        res["counts_kept"] = np.all(counts == task.nominal_counts, axis=-1)
        if task.reference is not None:
            res["reference_kept"] = np.all(counts == task.reference, axis=-1)
    return res


def cluster_bootstrap(
    study: Study,
    spec: IndexSpec | None = None,
    *,
    n_resamples: int = 10_000,
    thresholds: ScenarioThresholds | None = None,
    confidence_level: float = 0.90,
    maxima: str = "resample",
    nodes: list[str] | None = None,
    reference_counts: dict | None = None,
    keep_draws: bool = False,
    quantiles: str = "auto",
    bins: int | None = None,
    chunk_size: int | None = None,
    memory_limit: int | str | None = None,
    client: object = None,
    progress: bool = True,
    rng: RNGLike = None,
    batch_size: int | None = None,
) -> ClusterBootstrapResult:
    """Resample the units with replacement and recompute the sample-dependent study statistics.

    Parameters
    ----------
    study : clustermodel.data.Study
        Any study with at least two units; the correlation of the two indices
        and the scenario counts are added when it has a higher-level table.
    spec : IndexSpec, optional
        Default: the study's spec.
    n_resamples : int
        Number of resamples (each of the same size as the sample).
    thresholds : ScenarioThresholds, optional
    confidence_level : float
        Of the percentile intervals (0.90 = 5-95 %).
    maxima : {'resample', 'fixed'}
        ``'resample'`` (default) redoes the sample-dependent construction steps
        (the normaliser's reference statistics such as a group's maximum,
        imputation, treatment) within every resample, as the study would have
        had it sampled those units; ``'fixed'`` keeps the full sample's, so
        every unit keeps its scores and only the composition varies.
    nodes : sequence of str, optional
        Aggregates besides the index whose mean score is summarised; default
        every pillar and sub-index.
    reference_counts : dict, optional
        Scenario counts to compare every resample's counts with.
    keep_draws : bool
        Keep every resample's positions and statistics (memory grows with
        ``n_resamples``). Default: summaries only.
    quantiles, bins, chunk_size, memory_limit, client, progress
        As in :func:`weight_bootstrap`.
    rng : numpy.random.Generator, int or None
    batch_size : int, optional
        The former name of ``chunk_size``.

    Returns
    -------
    ClusterBootstrapResult

    Notes
    -----
    The weights stay at the study's, so this is separate from the weight
    bootstrap. Every resampled unit keeps its higher-level unit and that
    unit's index (the higher-level table is not resampled). With
    ``reference='group'`` a resample that lacks a group's leader on an
    indicator rescales that group; the share of cells whose normalised value
    changed is reported (``maxima_changed``). Duplicated units count once per
    draw. The bootstrap is known to be unreliable for statistics driven by a
    sample maximum (Bickel and Freedman 1981). Chunks of resamples are
    constructed and aggregated by :func:`clustermodel.index.construct_arrays`
    and :func:`clustermodel.aggregate.aggregate_tree` in vectorised batches
    and folded into running statistics, as in :func:`weight_bootstrap`.

    References
    ----------
    .. [1] Efron, B. (1979). Bootstrap methods: another look at the jackknife.
       Annals of Statistics 7(1), 1-26. https://doi.org/10.1214/aos/1176344552
    .. [2] Davison, A. C. and Hinkley, D. V. (1997). Bootstrap Methods and
       their Application. Cambridge University Press.
       https://doi.org/10.1017/CBO9780511802843
    .. [3] Bickel, P. J. and Freedman, D. A. (1981). Some asymptotic theory
       for the bootstrap. Annals of Statistics 9(6), 1196-1217.
       https://doi.org/10.1214/aos/1176345637

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> r = cluster_bootstrap(load_paper(), n_resamples=100, rng=1, progress=False)
    >>> r.n_resamples
    100
    """
    from clustermodel.scenarios import StudyModel

    spec = study.spec if spec is None else spec
    if not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(spec).__name__}")
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    if batch_size is not None:
        if chunk_size is not None:
            raise ClusterModelError("give `chunk_size` or its former name `batch_size`, not both")
        chunk_size = check_positive_int(batch_size, "batch_size")
    cl = check_probability(confidence_level, "confidence_level")
    maxima = check_choice(maxima, "maxima", list(MAXIMA))
    quantiles = _check_quantiles(quantiles)
    reference = _reference_iv(reference_counts)
    out_nodes = _output_nodes(study.structure, nodes)
    seed, spawn_key = seed_record(rng)
    gen = as_rng(rng)
    limit = memory_limit_iv(memory_limit)
    model = StudyModel(study, spec, thresholds=thresholds)
    n = len(model.units)
    if n < 2:
        raise ClusterModelError(f"the cluster bootstrap needs at least 2 units, the study has {n}")
    sampler = _Positions(_root_seed(gen), n)
    nominal = _cluster_statistics(study, spec, thresholds, np.arange(n)[None, :], model=model, nodes=out_nodes)
    regions = model.has_regions
    nominal_counts = nominal["scenario_counts"][0].astype(np.int64) if regions else None
    task = _ClusterTask(study, spec, thresholds, model, sampler, maxima, out_nodes, nominal_counts, reference, keep_draws)
    P = 1 + len(out_nodes)
    outputs = [
        _Output("mean_score", "real", (P,), centre=nominal["mean_score"][0], keep=keep_draws),
        _Output("maxima_changed", "real", (), centre=np.zeros(1), keep=keep_draws),
        _Output("maxima_changed_any", "flag", (), keep=keep_draws, draw_dtype=bool),
    ]
    if keep_draws:
        outputs.append(_Output("positions", "draw", (n,), keep=True, draw_dtype=np.int32))
    if regions:
        outputs += [
            _Output("scenario_count", "int", (len(SCENARIOS),), centre=nominal_counts, bins=_integer_bins(n + 1), keep=keep_draws,
                    joint=True, distribution=True, draw_dtype=np.int32),
            _Output("correlation", "real", (), centre=np.atleast_1d(np.nan_to_num(nominal["correlation"])), keep=keep_draws),
            _Output("counts_kept", "flag", (), keep=keep_draws, draw_dtype=bool),
        ]
        if reference is not None:
            outputs.append(_Output("reference_kept", "flag", (), keep=keep_draws, draw_dtype=bool))
    chosen_bins = _plan_outputs(outputs, n_resamples=n_resamples, limit=limit, quantiles=quantiles, bins=bins, what="cluster bootstrap")
    running, record = _stream(
        _cluster_chunk, task, outputs, what="cluster bootstrap", n_resamples=n_resamples, memory_limit=limit,
        chunk_size=chunk_size, client=client, progress=progress,
        parts_fix={
            "state": ("the running statistics", " or fewer `nodes`"),
            "kept": ("the draws kept", " or keep_draws=False"),
            "chunk": ("one resample per worker", ""),
        },
    )
    record["bins"] = chosen_bins
    record["quantiles"] = {o.name: "exact" if o.exact else "histogram" for o in outputs if o.kind == "real"}

    # (variables added in batches: each single assignment to a Dataset is a merge of the whole dataset)
    ds = xr.Dataset(coords={"node": [study.structure.root, *out_nodes]})
    ms = running.summary("mean_score", cl)
    new = {"mean_score_nominal": ("node", nominal["mean_score"][0]), **_entries("mean_score", ms, ["node"])}
    new["mean_score_n_undefined"] = ("node", n_resamples - ms["count"])
    new["maxima_changed_nominal"] = 0.0
    new.update(_entries("maxima_changed", running.summary("maxima_changed", cl), []))
    new["p_maxima_changed"] = float(running.summary("maxima_changed_any", cl)["probability"])
    ds.update(new)
    if regions:
        ds = ds.assign_coords(scenario=list(SCENARIOS))
        cs = running.summary("scenario_count", cl)
        new = {"scenario_count_nominal": ("scenario", nominal_counts), **_entries("scenario_count", cs, ["scenario"])}
        ds.update(new)
        ds.update({f"scenario_share_{q}": ds[f"scenario_count_{q}"] / n for q in ("nominal", "median", "low", "high", "mean")})
        dist, joint = _count_tables(cs, n)
        new = {"scenario_count_distribution": (("scenario", "count"), dist)}
        ds.attrs["joint_counts"] = json.dumps(_joint_records(joint, n_resamples))
        co = running.summary("correlation", cl)
        new["correlation_nominal"] = float(nominal["correlation"][0])
        new.update(_entries("correlation", co, []))
        new["correlation_n_undefined"] = n_resamples - int(co["count"])
        new["p_nominal_counts"] = float(running.summary("counts_kept", cl)["probability"])
        if reference is not None:
            new["reference_counts"] = ("scenario", reference)
            new["p_reference_counts"] = float(running.summary("reference_kept", cl)["probability"])
        ds.update(new)
    draws = None
    if keep_draws:
        dims = {"mean_score": ["resample", "node"], "maxima_changed": ["resample"], "maxima_changed_any": ["resample"],
                "positions": ["resample", "slot"], "scenario_count": ["resample", "scenario"], "correlation": ["resample"],
                "counts_kept": ["resample"], "reference_kept": ["resample"]}
        draws = xr.Dataset()
        for o in outputs:
            d = running.draws(o.name)
            if d is not None:
                draws[o.name if o.name in ("positions",) else f"{o.name}_draws"] = (dims[o.name], d)
    return ClusterBootstrapResult(
        summary=ds,
        draws=draws,
        spec=spec,
        thresholds=thresholds,
        confidence_level=cl,
        seed=seed,
        spawn_key=spawn_key,
        n_resamples=n_resamples,
        n_units=n,
        maxima=maxima,
        has_regions=regions,
        streaming=record,
    )
