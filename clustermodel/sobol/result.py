"""The frozen result of a Sobol' analysis, :class:`SobolIndicesResult`, with its exporters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from clustermodel._display import ResultDisplay, fmt, names

if TYPE_CHECKING:
    import pandas as pd

from clustermodel.sobol.constants import CONSTANT_RTOL


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class SobolIndicesResult(ResultDisplay):
    """First-order and total Sobol' indices of every output with respect to every factor.

    Attributes
    ----------
    S1, ST : ndarray, shape (n_outputs, n_factors)
        Point estimates: first order (Saltelli et al. 2010) and total (Jansen 1999). With
        ``method='replicate'`` the mean over the replicates; with ``'bootstrap'`` the estimate
        on the one design, identical to SALib's ``analyze(..., calc_second_order=False)``.
    S1_low, S1_high, ST_low, ST_high : ndarray, shape (n_outputs, n_factors)
        Confidence interval at ``confidence_level``: mean +/- t(R - 1) * sd / sqrt(R) over the
        replicates, or the bootstrap percentile interval. [0, 0] for a constant output; [0, 1]
        (nothing known) for an output too flat to estimate (fewer than two informative
        replicates).
    S1_conf, ST_conf : ndarray, shape (n_outputs, n_factors)
        Half-width of the interval (replicate), or SALib's normal half-width ``z * sd`` of
        the bootstrap distribution (bootstrap; not an interval by itself).
    S1_replicates, ST_replicates : ndarray, shape (replicates, n_outputs, n_factors)
        Each replicate's estimate (NaN where that replicate's A and B runs do not vary).
    S1_resamples, ST_resamples : ndarray, shape (n_resamples, n_outputs, n_factors) or None
        The bootstrap distribution (bootstrap method only).
    factors, outputs : tuple of str
    method : {'replicate', 'bootstrap'}
    n : int
        Base sample size N of each design (a power of two).
    replicates : int
        Number of independent designs R (1 for the bootstrap). The model ran
        ``model_runs = R * N * (D + 2)`` times.
    n_resamples : int
        Bootstrap resamples (0 for the replicate method).
    confidence_level : float
    seed : int or None
        The integer seed, if one was given.
    entropy : str
        Entropy of the root ``numpy.random.SeedSequence`` (as a string), from which every
        stream was spawned: ``rng=numpy.random.SeedSequence(int(entropy))`` repeats the run.
    constant : ndarray of bool, shape (n_outputs,)
        Outputs constant up to rounding over all runs (spread <= ``CONSTANT_RTOL`` x
        magnitude): S1 = ST = 0 exactly.
    flat_ab : ndarray of bool, shape (n_outputs,)
        Outputs that vary, but not over the A and B runs of any design: no estimate.
    informative : ndarray of int, shape (n_outputs,)
        Replicates whose A and B runs vary (the ones the estimate averages).
    binary : ndarray of bool, shape (n_outputs,)
        Outputs that only take the values 0 and 1.
    events : ndarray of int, shape (n_outputs,)
        For a 0/1 output, how often its rarer value occurred over the A and B runs of all designs;
        for any other output that left its most common value (in the pilot rows) in fewer than
        ``events_needed`` of those runs, how many runs it left it in.
    events_needed : int
        Events (over the A and B runs of all designs) below which a 0/1 output counts as rare
        (:data:`EVENTS_NEEDED`).
    n_needed : ndarray of int, shape (n_outputs,)
        For a rare 0/1 output, the base sample size per design (a power of two) that would give it
        ``events_needed`` events with the same number of designs; 0 otherwise.
    output_mean, output_std : ndarray, shape (n_outputs,)
        Mean and standard deviation of each output over the A and B runs of all designs.
    output_low, output_high : ndarray, shape (n_outputs,)
        5 % and 95 % quantiles over the A and B runs of the first ``quantile_rows`` rows of the
        first design (a balanced prefix of a scrambled Sobol' sequence).
    quantile_rows : int
    convergence : dict or None
        ``{"n": [...], "S1": (L, K, D), "S1_low": ..., "ST_high": ...}`` at N / 2^(L-1), ..., N.
    chunk_size : int
        Design rows per chunk (each chunk runs the model on chunk_size * (D + 2) rows).
    memory_estimate : int
        Estimated peak memory of the analysis in bytes.
    """

    S1: np.ndarray
    S1_low: np.ndarray
    S1_high: np.ndarray
    S1_conf: np.ndarray
    ST: np.ndarray
    ST_low: np.ndarray
    ST_high: np.ndarray
    ST_conf: np.ndarray
    S1_replicates: np.ndarray
    ST_replicates: np.ndarray
    S1_resamples: np.ndarray | None
    ST_resamples: np.ndarray | None
    factors: tuple
    outputs: tuple
    method: str
    n: int
    replicates: int
    n_resamples: int
    confidence_level: float
    seed: int | None
    entropy: str
    constant: np.ndarray
    flat_ab: np.ndarray
    informative: np.ndarray
    binary: np.ndarray
    events: np.ndarray
    events_needed: int
    n_needed: np.ndarray
    output_mean: np.ndarray
    output_std: np.ndarray
    output_low: np.ndarray
    output_high: np.ndarray
    quantile_rows: int
    convergence: dict | None = None
    chunk_size: int = 0
    memory_estimate: int = 0

    _narrator_ = "clustermodel.reporting.sobol:indices_markdown"

    @property
    def model_runs(self) -> int:
        """Model evaluations: replicates x N x (D + 2)."""
        return self.replicates * self.n * (len(self.factors) + 2)

    @property
    def rare(self) -> np.ndarray:
        """Outputs that change in fewer than ``events_needed`` of all A and B runs (0/1 or not; bool, per output)."""
        return self.n_needed > 0

    @property
    def estimable(self) -> np.ndarray:
        """Outputs with an interval: constant ones, or with at least two informative replicates."""
        need = 2 if self.method == "replicate" else 1
        return self.constant | (self.informative >= need)

    @property
    def notes(self) -> tuple:
        """Sentences on constant, flat and rare outputs (written by :mod:`clustermodel.reporting.sobol`)."""
        from clustermodel._display import call_narrator

        return tuple(call_narrator("clustermodel.reporting.sobol:index_notes", self))

    def _display_(self) -> tuple[str, list]:
        k, d = self.S1.shape
        head = f"{k} output{'s' if k != 1 else ''} x {d} factor{'s' if d != 1 else ''}, method {self.method!r}"
        rows: list = [
            ("design", f"N={self.n}, replicates={self.replicates}, {self.model_runs} model runs"),
            ("factors", names(self.factors)),
        ]
        varying = ~self.constant
        if varying.any() and d:
            mean_st = self.ST[varying].mean(axis=0)
            order = np.argsort(-mean_st, kind="stable")[:3]
            rows.append(("largest mean ST", ", ".join(f"{self.factors[j]} {fmt(mean_st[j])}" for j in order)))
        rows.append(("constant outputs", int(self.constant.sum())))
        if self.rare.any():
            rows.append(("rare 0/1 outputs", int(self.rare.sum())))
        rows.append(("tables", "to_frame(): S1, ST and their intervals per (output, factor)"))
        return head, rows

    def to_dataset(self) -> xr.Dataset:
        """Indices as an xarray Dataset with dims ``(output, factor)`` (and ``replicate``, ``resample``)."""
        dims = ("output", "factor")
        data = {k: (dims, getattr(self, k)) for k in ("S1", "S1_low", "S1_high", "S1_conf", "ST", "ST_low", "ST_high", "ST_conf")}
        data["S1_replicates"] = (("replicate",) + dims, self.S1_replicates)
        data["ST_replicates"] = (("replicate",) + dims, self.ST_replicates)
        for name in ("constant", "flat_ab", "informative", "binary", "events", "n_needed", "output_mean", "output_std", "output_low", "output_high"):
            data[name] = ("output", getattr(self, name))
        if self.convergence is not None:
            for k in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"):
                data[f"convergence_{k}"] = (("n_base",) + dims, self.convergence[k])
        coords = {"output": list(self.outputs), "factor": list(self.factors), "replicate": np.arange(self.replicates)}
        if self.convergence is not None:
            coords["n_base"] = list(self.convergence["n"])
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update(self.run_attrs())
        return ds

    def run_attrs(self) -> dict:
        """How the indices were computed (for NetCDF attributes and JSON)."""
        from clustermodel._version import __version__

        return {
            "method": self.method,
            "n": self.n,
            "replicates": self.replicates,
            "model_runs": self.model_runs,
            "n_resamples": self.n_resamples,
            "confidence_level": self.confidence_level,
            "seed": -1 if self.seed is None else self.seed,
            "entropy": self.entropy,
            "estimators": "S1: Saltelli et al. (2010); ST: Jansen (1999); each design as SALib.analyze.sobol.analyze",
            "interval": _INTERVALS[self.method],
            "constant_rtol": CONSTANT_RTOL,
            "events_needed": self.events_needed,
            "chunk_size": self.chunk_size,
            "clustermodel_version": __version__,
        }

    def to_records(self) -> list:
        """One dict per (output, factor)."""
        out = []
        for k, o in enumerate(self.outputs):
            for j, f in enumerate(self.factors):
                rec = {"output": o, "factor": f}
                for key in ("S1", "S1_low", "S1_high", "S1_conf", "ST", "ST_low", "ST_high", "ST_conf"):
                    rec[key] = float(getattr(self, key)[k, j])
                out.append(rec)
        return out

    def to_dataframe(self) -> pd.DataFrame:
        """The records as a pandas DataFrame indexed by (output, factor)."""
        import pandas as pd

        return pd.DataFrame(self.to_records()).set_index(["output", "factor"])

    def summary(self) -> str:
        """Markdown table of the indices with their intervals (:func:`clustermodel.reporting.sobol.indices_markdown`)."""
        from clustermodel._display import narrate

        return narrate(self)


#: What the interval of each method is (a label for attributes, not prose for reports).
_INTERVALS = {
    "replicate": "mean +/- t(R-1) sd/sqrt(R) over R independent scrambled Sobol' designs",
    "bootstrap": "percentile bootstrap over the N rows of one Saltelli design (as SALib)",
}


