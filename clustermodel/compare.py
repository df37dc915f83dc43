"""Comparing constructions side by side, the outranking matrix, and every unit's strengths and weaknesses.

- :func:`compare_variants`: two or more constructions of one index (specs, structure files, or both) scored on
  the same units: each unit's score, rank and rank change against the first variant, Spearman's rho and the mean
  absolute rank shift between every pair of variants (COINr ``compare_coins`` / ``compare_coins_multi``). A unit
  screened out by one variant has no rank there; pairs are compared over the units both rank, re-ranked among
  themselves.
- :func:`outranking`: for every pair of units, the weighted share of indicators on which the first does better
  than the second (a tie counts half), with each indicator's effective weight: the non-compensatory view of the
  data (Munda & Nardo 2009), on which a Copeland score is built.
- :func:`unit_profile`: each unit's best and worst indicators by its rank among the units on each one (COINr
  ``get_str_weak``).

Numbers and codes only; :mod:`clustermodel.reporting.audit` narrates them.

References
----------
Munda, G. and Nardo, M. (2009). Noncompensatory/nonlinear composite indicators for ranking countries: a defensible
setting. *Applied Economics* 41(12), 1513-1523. https://doi.org/10.1080/00036840601019364
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.stats
import xarray as xr

from clustermodel._display import ResultDisplay, fmt
from clustermodel._errors import ClusterModelError
from clustermodel.index import _py, compute_index, construct, rank_values, resolve
from clustermodel.spec import IndexSpec
from clustermodel.structure import Structure

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import DataLike

__all__ = ["ComparisonResult", "compare_variants", "OutrankingResult", "outranking", "UnitProfile", "unit_profile"]



def _variant(value, name):
    """(spec, structure) of one variant given as an IndexSpec, a Structure, a (spec, structure) pair or a dict."""
    if isinstance(value, IndexSpec):
        return value, None
    if isinstance(value, Structure):
        return None, value
    if isinstance(value, dict):
        return IndexSpec.from_dict(value, where=f"variant {name!r}"), None
    if isinstance(value, tuple) and len(value) == 2 and (value[0] is None or isinstance(value[0], IndexSpec)) and (value[1] is None or isinstance(value[1], Structure)):
        return value
    raise ClusterModelError(
        f"`variants`: {name!r} must be an IndexSpec, a Structure, a (spec, structure) pair or a dict of spec fields; "
        f"got {type(value).__name__}"
    )


@dataclass(frozen=True, repr=False)
class ComparisonResult(ResultDisplay):
    """Scores and ranks of the same units under several constructions.

    Attributes
    ----------
    unit_dim : str
    units : tuple
        Every unit scored by at least one variant.
    variants : tuple of str
        The first is the base of ``rank_change``.
    score, rank : ndarray (n_variants, n_units)
        NaN where a variant screens the unit out; ranks 1 = best among the units the variant scores.
    specs : tuple of dict
    spearman, mean_abs_shift : ndarray (n_variants, n_variants)
        Between every pair of variants over the units both rank (re-ranked among them).
    """

    unit_dim: str
    units: tuple
    variants: tuple
    score: np.ndarray
    rank: np.ndarray
    specs: tuple
    spearman: np.ndarray
    mean_abs_shift: np.ndarray

    @property
    def tied_units(self) -> np.ndarray:
        """Per variant, how many units share their rank with another (exactly equal scores; NaN not counted)."""
        return np.array([int(c[c > 1].sum()) for c in self._rank_counts()])

    @property
    def largest_tie(self) -> np.ndarray:
        """Per variant, the size of the largest group of units tied at one rank (1 when no two tie)."""
        return np.array([max(int(c.max(initial=0)), 1) for c in self._rank_counts()])

    def _rank_counts(self) -> list:
        """Per variant, how many units hold each rank it gives."""
        return [np.unique(r[np.isfinite(r)], return_counts=True)[1] for r in self.rank]

    @property
    def rank_change(self) -> np.ndarray:
        """Rank under each variant minus the rank under the first (positive: the unit falls)."""
        return self.rank - self.rank[:1]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per unit: score, rank and rank change under every variant."""
        import pandas as pd

        cols = {}
        for k, v in enumerate(self.variants):
            cols[f"score[{v}]"] = self.score[k]
            cols[f"rank[{v}]"] = self.rank[k]
            if k:
                cols[f"rank_change[{v}]"] = self.rank_change[k]
        return pd.DataFrame(cols, index=pd.Index(self.units, name=self.unit_dim))

    def pairs_frame(self) -> pd.DataFrame:
        """One row per pair of variants: Spearman's rho and the mean absolute rank shift."""
        import pandas as pd

        rows = [
            {"variant_a": self.variants[a], "variant_b": self.variants[b], "spearman": self.spearman[a, b], "mean_abs_rank_shift": self.mean_abs_shift[a, b]}
            for a in range(len(self.variants))
            for b in range(a + 1, len(self.variants))
        ]
        return pd.DataFrame(rows)

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset(
            {
                "score": (("variant", self.unit_dim), self.score),
                "rank": (("variant", self.unit_dim), self.rank),
                "spearman": (("variant", "variant_b"), self.spearman),
                "mean_abs_rank_shift": (("variant", "variant_b"), self.mean_abs_shift),
            },
            coords={"variant": list(self.variants), "variant_b": list(self.variants), self.unit_dim: list(self.units)},
        )

    def to_dict(self) -> dict:
        return {
            "variants": [
                {"name": v, "spec": s, "tied_units": int(t), "largest_tie": int(g)}
                for v, s, t, g in zip(self.variants, self.specs, self.tied_units, self.largest_tie)
            ],
            "pairs": self.pairs_frame().to_dict(orient="records"),
        }

    def _display_(self):
        facts = [(f"{a} vs {b}", f"rho {fmt(r)}, mean |shift| {fmt(m, 2)}") for a, b, r, m in self.pairs_frame().itertuples(index=False)]
        return f"{len(self.variants)} variants of {len(self.units)} units", facts[:6]


def compare_variants(data: DataLike, variants: dict, *, base_spec: IndexSpec | None = None) -> ComparisonResult:
    """Score the same units under several constructions.

    Parameters
    ----------
    data : Study, Dataset or DataArray
    variants : mapping name -> variant
        Each an :class:`IndexSpec`, a :class:`Structure` (the study's spec, another structure: other weights or
        another grouping), a ``(spec, structure)`` pair (``None`` for the study's) or a dict of spec fields laid
        over the study's spec. At least two; the first is the base of the rank changes.
    base_spec : IndexSpec, optional
        The spec a dict variant is laid over; default the study's.

    Returns
    -------
    ComparisonResult
    """
    if not isinstance(variants, dict) or len(variants) < 2:
        raise ClusterModelError("`variants` must be a mapping of at least two names to specs or structures")
    _, _, structure0, spec0, _ = resolve(data, None, base_spec, None)
    scored = []
    specs = []
    for name, value in variants.items():
        if isinstance(value, dict):
            value = IndexSpec.from_dict({**spec0.to_dict(), **value}, where=f"variant {name!r}")
        spec, structure = _variant(value, name)
        spec = spec or spec0
        structure = structure or structure0
        c = construct(data, spec, structure=structure, warn=False)
        idx = compute_index(data, spec=spec, structure=structure, construction=c)
        scored.append(dict(zip((_py(u) for u in c.units), idx.values)))
        specs.append(spec.to_dict())
        dim = c.unit_dim
    units = list(dict.fromkeys(u for s in scored for u in s))
    V, n = len(scored), len(units)
    S = np.full((V, n), np.nan)
    for k, s in enumerate(scored):
        S[k] = [s.get(u, np.nan) for u in units]
    R = np.full((V, n), np.nan)
    for k in range(V):
        ok = np.isfinite(S[k])
        R[k, ok] = rank_values(S[k, ok])
    rho = np.eye(V)
    shift = np.zeros((V, V))
    for a in range(V):
        for b in range(a + 1, V):
            both = np.isfinite(S[a]) & np.isfinite(S[b])
            ra = rank_values(S[a, both])
            rb = rank_values(S[b, both])
            rho[a, b] = rho[b, a] = scipy.stats.spearmanr(S[a, both], S[b, both]).statistic if both.sum() > 2 else np.nan
            shift[a, b] = shift[b, a] = float(np.abs(ra - rb).mean()) if both.any() else np.nan
    return ComparisonResult(
        unit_dim=dim,
        units=tuple(units),
        variants=tuple(str(v) for v in variants),
        score=S,
        rank=R,
        specs=tuple(specs),
        spearman=rho,
        mean_abs_shift=shift,
    )


@dataclass(frozen=True, repr=False)
class OutrankingResult(ResultDisplay):
    """Pairwise outranking of units over the indicators.

    Attributes
    ----------
    unit_dim : str
    units : tuple
    matrix : ndarray (n, n)
        ``matrix[a, b]``: the effective-weight share of the indicators both observe on which ``a`` does better than
        ``b``, a tie counting half; ``matrix[a, b] + matrix[b, a] = 1`` and NaN on the diagonal.
    copeland : ndarray (n,)
        Pairwise majorities won minus lost (a share of exactly 1/2 counts neither).
    """

    unit_dim: str
    units: tuple
    matrix: np.ndarray
    copeland: np.ndarray

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.matrix, index=pd.Index(self.units, name=self.unit_dim), columns=list(self.units))

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset(
            {"outranking": ((self.unit_dim, "other"), self.matrix), "copeland": ((self.unit_dim,), self.copeland)},
            coords={self.unit_dim: list(self.units), "other": list(self.units)},
        )

    def to_dict(self) -> dict:
        return {"units": list(self.units), "copeland": self.copeland.tolist()}

    def _display_(self):
        best = int(np.argmax(self.copeland))
        return f"outranking of {len(self.units)} units", [("Copeland winner", f"{self.units[best]} ({int(self.copeland[best])})")]


def outranking(data: DataLike, spec: IndexSpec | None = None) -> OutrankingResult:
    """Weighted share of indicators on which each unit beats each other (normalised values, directions applied).

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional

    Returns
    -------
    OutrankingResult
    """
    c = construct(data, spec, warn=False)
    w = c.structure.effective_weights()
    X = np.where(c.present, c.normalised, np.nan)
    ok = np.isfinite(X)
    n = X.shape[0]
    M = np.empty((n, n))
    block = max(1, int(2**23 // max(1, n * X.shape[1])))  # rows of a per block: ~64 MB of pairwise differences
    for lo in range(0, n, block):
        a = slice(lo, lo + block)
        both = ok[a, None, :] & ok[None, :, :]
        d = X[a, None, :] - X[None, :, :]
        win = np.where(both, (d > 0) + 0.5 * (d == 0), 0.0) @ w
        tot = both.astype(float) @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            M[a] = win / tot
    np.fill_diagonal(M, np.nan)
    cope = np.nansum(M > 0.5, axis=1) - np.nansum(M < 0.5, axis=1)
    return OutrankingResult(unit_dim=c.unit_dim, units=tuple(_py(u) for u in c.units), matrix=M, copeland=cope.astype(float))


@dataclass(frozen=True, repr=False)
class UnitProfile(ResultDisplay):
    """Each unit's best and worst indicators.

    Attributes
    ----------
    unit_dim : str
    units : tuple
    indicators : tuple
    ranks : ndarray (n_units, n_indicators)
        The unit's rank among the units observing the indicator (1 = best; ties share the lowest rank), NaN where
        it is missing.
    n_observed : ndarray (n_indicators,)
    strengths, weaknesses : tuple of tuple of str
        Per unit, up to ``n`` indicators with its best / worst ranks (ties in structure order).
    """

    unit_dim: str
    units: tuple
    indicators: tuple
    ranks: np.ndarray
    n_observed: np.ndarray
    strengths: tuple
    weaknesses: tuple

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {"strengths": [", ".join(s) for s in self.strengths], "weaknesses": [", ".join(s) for s in self.weaknesses]},
            index=pd.Index(self.units, name=self.unit_dim),
        )

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset(
            {"rank": ((self.unit_dim, "indicator"), self.ranks)},
            coords={self.unit_dim: list(self.units), "indicator": list(self.indicators)},
        )

    def to_dict(self) -> dict:
        return {"units": [{"id": u, "strengths": list(s), "weaknesses": list(w)} for u, s, w in zip(self.units, self.strengths, self.weaknesses)]}

    def _display_(self):
        return f"strengths and weaknesses of {len(self.units)} units", [(str(self.units[0]), f"best {', '.join(self.strengths[0])}")]


def unit_profile(data: DataLike, spec: IndexSpec | None = None, *, n: int = 3) -> UnitProfile:
    """Every unit's ``n`` best and ``n`` worst indicators by its rank among the units (COINr ``get_str_weak``).

    Ranks use the normalised values (directions applied, so rank 1 is the best performer whatever the
    indicator's direction); an indicator a unit misses is neither a strength nor a weakness.
    """
    from clustermodel._validation import check_number

    n = check_number(n, "`n`", kind="int", minimum=1)
    c = construct(data, spec, warn=False)
    X = np.where(c.present, c.normalised, np.nan)
    R = np.full(X.shape, np.nan)
    for j in range(X.shape[1]):
        ok = np.isfinite(X[:, j])
        R[ok, j] = rank_values(X[ok, j])
    leaves = c.structure.leaves
    strong, weak = [], []
    for i in range(X.shape[0]):
        obs = np.flatnonzero(np.isfinite(R[i]))
        order = obs[np.argsort(R[i, obs], kind="stable")]
        strong.append(tuple(leaves[j] for j in order[:n]))
        back = obs[np.argsort(-R[i, obs], kind="stable")]
        weak.append(tuple(leaves[j] for j in back[:n]))
    return UnitProfile(
        unit_dim=c.unit_dim,
        units=tuple(_py(u) for u in c.units),
        indicators=tuple(leaves),
        ranks=R,
        n_observed=np.isfinite(X).sum(axis=0),
        strengths=tuple(strong),
        weaknesses=tuple(weak),
    )
