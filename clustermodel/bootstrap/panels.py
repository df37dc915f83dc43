"""Random draws in fixed blocks (the same stream for any chunking): Dirichlet and resampled-expert panels, resampled
unit positions, and the panel design of a structure."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from clustermodel._errors import ClusterModelError, ClusterModelWarning
from clustermodel._validation import as_rng, check_choice, check_number, check_positive_int
from clustermodel.bootstrap.constants import DEFAULT_CONCENTRATION, DEFAULT_PANEL_SIZE, MODES, _BLOCK_ELEMENTS, _MAX_BLOCK
from clustermodel.bootstrap.experts import _NEEDS_EXPERTS, check_experts


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
        kappa = check_number(concentration, "`concentration`", minimum=0, exclusive_minimum=True)
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


