"""Stage 5: compare the recomputed index with the paper's Tables 5 and 6.

Nothing is fitted to the published values except the choice between the
documented spec options (which reference set, which negative policy) and the
scenario thresholds, which the paper does not state. Every row is compared
within half a unit of the published rounding; a row that does not reproduce is
reported with its terms and with the single changes that would close the gap.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from clustermodel._display import ResultDisplay, names, narrate
from clustermodel._errors import ClusterModelError
from clustermodel.aggregate import effective_weights
from clustermodel.diagnostics import threshold_proximity
from clustermodel.index import compute_index, group_codes
from clustermodel.normalise import normalise_array, reference_maxima
from clustermodel.paper import PAPER_COUNTS, PAPER_SUPPORTED_REGIONS
from clustermodel.scenarios import classify, evaluate
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel.data import Study

__all__ = ["ReproductionResult", "reproduce", "published_tolerance", "feasible_thresholds", "PAPER_COUNTS"]



def _decimals(x: float) -> int:
    """Decimal places of ``x`` as printed in its shortest form (0.06 -> 2, 1e-05 -> 5, 1e+16 -> 0)."""
    exponent = decimal.Decimal(repr(float(x))).normalize().as_tuple().exponent
    return max(-int(exponent), 0)


def published_tolerance(published: ArrayLike) -> float:
    """Half a unit of the last published decimal place (the table's finest)."""
    vals = np.asarray(published, dtype=float)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        raise ClusterModelError("no published values to compare with")
    return 0.5 * 10.0 ** (-max(_decimals(v) for v in vals))


def _within(computed, published, tol):
    # a relative epsilon guards values whose decimal representation sits on the edge
    return np.abs(np.asarray(computed) - np.asarray(published)) <= tol * (1 + 1e-9)


def _explain(x_row, ref_row, n_row, eff, published, tol, labels, aggregation):
    """Per-term breakdown of a non-reproducing row and the single changes that close the gap."""
    quadratic = aggregation in ("equation1", "quadratic")
    terms = eff * (n_row**2 if quadratic else n_row)
    total = terms.sum()
    lo, hi = max(published - tol, 0.0), published + tol
    t_lo, t_hi = (lo**2, hi**2) if quadratic else (lo, hi)
    out = []
    for j, name in enumerate(labels):
        rest = total - terms[j]
        need_lo, need_hi = (t_lo - rest), (t_hi - rest)
        rec = {
            "indicator": name,
            "value": None if np.isnan(x_row[j]) else float(x_row[j]),
            "reference_max": float(ref_row[j]) if np.isfinite(ref_row[j]) else None,
            "normalised": float(n_row[j]),
            "term": float(terms[j]),
            "reproduces_if_normalised_in": None,
        }
        if eff[j] > 0 and need_hi >= 0:
            a, b = max(need_lo, 0.0) / eff[j], need_hi / eff[j]
            if quadratic:
                a, b = np.sqrt(a), np.sqrt(b)
            a, b = float(a), float(min(b, 1.0))
            if a <= b:
                rec["reproduces_if_normalised_in"] = [a, b]
        out.append(rec)
    fixes = []
    for rec in out:
        rng = rec["reproduces_if_normalised_in"]
        if rng is None:
            continue
        if rng[0] == 0.0 and rec["normalised"] > 0:
            fixes.append(f"dropping {rec['indicator']} (normalised {rec['normalised']:.3f}) would reproduce it")
        else:
            txt = f"{rec['indicator']} normalised in [{rng[0]:.3f}, {rng[1]:.3f}] instead of {rec['normalised']:.3f}"
            if rec["reference_max"] and rec["reference_max"] > 0 and rec["value"] is not None:
                txt += (
                    f" (value {rng[0] * rec['reference_max']:.4g}–{rng[1] * rec['reference_max']:.4g} instead of "
                    f"{rec['value']:.4g} at reference maximum {rec['reference_max']:.4g})"
                )
            fixes.append(txt + " would reproduce it")
    summary = (
        "; ".join(fixes) if fixes else "no change to a single term reproduces it (at least two terms differ)"
    )
    return out, summary


def _row_table(indicators, weights, spec, published, tol):
    dim = [d for d in indicators.dims if d != "indicator"][0]
    x = indicators.transpose(dim, "indicator").values
    codes = group_codes(indicators, spec)
    n, _ = normalise_array(x, method=spec.normalisation, group_codes=codes, negative=spec.negative)
    ref = reference_maxima(x, group_codes=codes, negative=spec.negative)
    computed = compute_index(indicators, weights, spec).values
    w = np.asarray(weights.sel(indicator=indicators["indicator"].values).values, dtype=float)
    eff = effective_weights(w, spec.aggregation)
    ok = _within(computed, published, tol)
    labels = [str(v) for v in indicators["indicator"].values]
    rows = []
    for i in range(x.shape[0]):
        terms, why = _explain(x[i], ref[i], n[i], eff, published[i], tol, labels, spec.aggregation)
        rows.append(
            {
                "published": None if np.isnan(published[i]) else float(published[i]),
                "computed": float(computed[i]),
                "difference": float(computed[i] - published[i]),
                "reproduced": bool(ok[i]),
                "terms": terms,
                "explanation": None if ok[i] else why,
            }
        )
    return rows


def feasible_thresholds(
    cluster_values: ArrayLike,
    region_values: ArrayLike,
    cluster_max: float,
    region_max: float,
    cluster_regions: ArrayLike,
    *,
    counts: Mapping[str, int] | None = None,
    supported_regions: Sequence[str] = PAPER_SUPPORTED_REGIONS,
) -> list[dict[str, list[float]]]:
    """All threshold fractions that reproduce the paper's scenario counts.

    Tries every cut between consecutive distinct values on each axis
    (a unit is high when ``value >= fraction * max``) and keeps the pairs that
    give ``counts`` with the supported clusters all in ``supported_regions``.

    Returns
    -------
    list of dict
        Each ``{"cluster": [lo, hi], "region": [lo, hi]}``: fractions in the
        half-open interval ``(lo, hi]`` work on that axis (jointly).
    """
    counts = PAPER_COUNTS if counts is None else counts
    target = np.array([counts[s] for s in SCENARIOS])
    c = np.asarray(cluster_values, float) / cluster_max
    r = np.asarray(region_values, float) / region_max

    def cuts(v):
        u = np.unique(v)
        edges = np.concatenate([[0.0], u, [np.inf]])
        return list(zip(edges[:-1], edges[1:]))  # fraction in (a, b] makes values >= b high

    found = []
    allowed = np.isin(np.asarray(cluster_regions), list(supported_regions))
    for ca, cb in cuts(c):
        for ra, rb in cuts(r):
            codes = classify(c >= cb, r >= rb)
            got = np.array([(codes == k).sum() for k in range(4)])
            if np.array_equal(got, target) and np.all(allowed[codes == 0]):
                found.append({"cluster": [float(ca), float(cb)], "region": [float(ra), float(rb)]})
    return found


@dataclass(frozen=True, repr=False)
class ReproductionResult(ResultDisplay):
    """Row-by-row comparison of the recomputed and the published index.

    Attributes
    ----------
    clusters, regions : list of dict
        One record per row: identifiers, ``published``, ``computed``,
        ``difference``, ``reproduced``, ``terms`` (per-indicator value,
        reference maximum, normalised value and its contribution) and, for a
        row that does not reproduce, an ``explanation``. Cluster rows also hold
        the ``scenario`` from the computed indices and ``published_scenario``
        from the published ones.
    reference_search : dict
        How many rows each candidate option reproduces, per table.
    spec : IndexSpec
        The spec used for the rows (the best-reproducing one).
    thresholds : ScenarioThresholds
    threshold_values : dict
        The absolute thresholds ``{"cluster", "region"}`` on each axis.
    feasible : dict
        Threshold fractions that reproduce the paper's counts, from the
        computed and from the published values.
    scenario_counts, published_scenario_counts : dict
    tolerance : dict
        Half a unit of the last published decimal, per table.
    near_threshold : dict
        Units whose index could fall on either side of a scenario threshold:
        per axis (``cluster``, ``region``) the rows whose computed value lies
        within the published rounding of the threshold (``near``: position,
        label, computed, published, distance), the rows whose published value
        equals it (``published_ties``: their class depends on the tie rule
        ``>=``), and the ``margin`` of the nominal fraction to the nearest edge
        of the interval of fractions that reproduces the paper's counts.
    """

    clusters: list
    regions: list
    reference_search: dict
    spec: IndexSpec
    thresholds: ScenarioThresholds
    threshold_values: dict
    feasible: dict
    scenario_counts: dict
    published_scenario_counts: dict
    tolerance: dict
    near_threshold: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def n_reproduced(self) -> dict[str, int]:
        return {
            "clusters": sum(r["reproduced"] for r in self.clusters),
            "regions": sum(r["reproduced"] for r in self.regions),
        }

    def _display_(self) -> tuple[str, list]:
        n = self.n_reproduced
        head = f"{n['clusters']} of {len(self.clusters)} unit rows and {n['regions']} of {len(self.regions)} higher-level rows reproduce"
        rows: list = [("spec", f"reference={self.spec.reference}, negative={self.spec.negative}, aggregation={self.spec.aggregation}")]
        rows.append(("tolerance", ", ".join(f"{k} {v:g}" for k, v in self.tolerance.items())))
        for table, key in (("clusters", "no"), ("regions", "region")):
            bad = [r[key] for r in getattr(self, table) if not r["reproduced"]]
            if bad:
                rows.append((f"{table} not reproduced", names(bad)))
        rows.append(("scenario counts", ", ".join(f"{s} {c}" for s, c in self.scenario_counts.items())))
        rows.append(("tables", "to_frame('clusters' or 'regions'): one row per published row; summary(): the report"))
        return head, rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "tolerance": self.tolerance,
            "reference_search": self.reference_search,
            "n_reproduced": self.n_reproduced,
            "clusters": self.clusters,
            "regions": self.regions,
            "scenario_counts": self.scenario_counts,
            "published_scenario_counts": self.published_scenario_counts,
            "paper_scenario_counts": PAPER_COUNTS,
            "thresholds": self.threshold_values,
            "threshold_rule": {
                "basis": "fraction of the attainable maximum; a unit is high when index >= fraction * maximum",
                **self.thresholds.to_dict(),
            },
            "feasible_threshold_fractions": self.feasible,
            "near_threshold": self.near_threshold,
            "notes": list(self.notes),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataset(self) -> xr.Dataset:
        c = self.clusters
        ds = xr.Dataset(
            {
                "published": ("cluster", [np.nan if r["published"] is None else r["published"] for r in c]),
                "computed": ("cluster", [r["computed"] for r in c]),
                "reproduced": ("cluster", [r["reproduced"] for r in c]),
                "scenario": ("cluster", [r["scenario"] for r in c]),
                "region_published": ("region", [np.nan if r["published"] is None else r["published"] for r in self.regions]),
                "region_computed": ("region", [r["computed"] for r in self.regions]),
                "region_reproduced": ("region", [r["reproduced"] for r in self.regions]),
            },
            coords={
                "cluster": [r["no"] for r in c],
                "name": ("cluster", [r["name"] for r in c]),
                "group": ("cluster", [r["group"] for r in c]),
                "cluster_region": ("cluster", [r["region"] for r in c]),
                "region": [r["region"] for r in self.regions],
            },
        )
        ds.attrs.update(self.spec.to_attrs())
        return ds

    def to_dataframe(self, table: str = "clusters") -> pd.DataFrame:
        """One row per cluster (``table='clusters'``) or region (``'regions'``), without the per-term detail."""
        import pandas as pd

        if table not in ("clusters", "regions"):
            raise ClusterModelError(f"`table` must be 'clusters' or 'regions', got {table!r}")
        rows = [{k: v for k, v in r.items() if k != "terms"} for r in getattr(self, table)]
        return pd.DataFrame(rows).set_index("no" if table == "clusters" else "region")

    #: The narrator of :meth:`summary` (resolved by :mod:`clustermodel._display` when called: no estimator imports
    #: the reporting layer).
    _narrator_ = "clustermodel.reporting.reproduction:markdown"

    def summary(self) -> str:
        """Markdown narration (:func:`clustermodel.reporting.reproduction.markdown`)."""
        return narrate(self)


def reproduce(study: Study, spec: IndexSpec | None = None, *, thresholds: ScenarioThresholds | None = None) -> ReproductionResult:
    """Recompute Tables 5 and 6 and compare them row by row with the published values.

    Parameters
    ----------
    study : Study
        Needs ``published_index`` in both tables and a region table.
    spec : IndexSpec, optional
        If omitted, the reference set for clusters and the negative policy for
        regions are chosen as the options that reproduce the most rows (the
        other fields keep the paper's choices); the counts for every option
        are reported.
    thresholds : ScenarioThresholds, optional

    Returns
    -------
    ReproductionResult
    """
    if "published_index" not in study.clusters or study.regions is None or "published_index" not in study.regions:
        raise ClusterModelError(
            "reproduce needs published index values in both the cluster and the region table "
            "(a 'published_index' column)"
        )
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    pub_c = study.clusters["published_index"].values
    pub_r = study.regions["published_index"].values
    tol = {"clusters": published_tolerance(pub_c), "regions": published_tolerance(pub_r)}
    base = study.spec if spec is None else spec
    if not isinstance(base.aggregation, str) or base.aggregation not in ("equation1", "quadratic", "arithmetic") or not study.structure.is_flat:
        raise ClusterModelError(
            "reproduce compares a one-level index under the paper's Euclidean or arithmetic aggregation with its "
            f"published values; this study's structure has {study.structure.n_levels} levels and aggregation "
            f"{base.aggregation!r}"
        )

    def count(indicators, weights, s, pub, t):
        return int(_within(compute_index(indicators, weights, s).values, pub, t).sum())

    refs = ["sample", "group"] if study.has_groups else ["sample"]
    search_c = {f"reference={r}": count(study.indicators, study.weights, base.replace(reference=r), pub_c, tol["clusters"]) for r in refs}
    rspec = base.replace(reference="sample")
    negs = ["keep", "zero"]
    search_r = {
        f"negative={ng}": count(study.regions["indicators"], study.region_weights, rspec.replace(negative=ng), pub_r, tol["regions"])
        for ng in negs
    }
    if spec is None:
        best_ref = max(refs, key=lambda r: (search_c[f"reference={r}"], r == base.reference))
        best_neg = max(negs, key=lambda ng: (search_r[f"negative={ng}"], ng == base.negative))
        if best_neg != base.negative and any(np.nanmin(study.indicators.values, axis=0) < 0):
            best_neg = base.negative  # clusters with negatives would be affected: keep the paper's choice
        spec = base.replace(reference=best_ref, negative=best_neg)

    ev = evaluate(study, spec, thresholds=thresholds)
    crow = _row_table(study.indicators, study.weights, spec, pub_c, tol["clusters"])
    rrow = _row_table(study.regions["indicators"], study.region_weights, spec.replace(reference="sample"), pub_r, tol["regions"])
    labels = ev.scenario_labels()
    cl = study.clusters
    c_thr, r_thr = float(ev.cluster_threshold), float(ev.region_threshold)
    pub_roc = pub_r[study.region_of_cluster_index()]
    pub_codes = classify(pub_c >= c_thr, pub_roc >= r_thr)
    for i, row in enumerate(crow):
        row.update(
            {
                "no": cl["cluster"].values[i].item(),
                "name": str(cl["name"].values[i]) if "name" in cl.coords else None,
                "group": str(cl["group"].values[i]) if "group" in cl.coords else None,
                "region": str(cl["region"].values[i]),
                "scenario": str(labels[i]),
                "published_scenario": SCENARIOS[pub_codes[i]],
            }
        )
        crow[i] = {k: row[k] for k in ["no", "name", "group", "region", "published", "computed", "difference", "reproduced", "scenario", "published_scenario", "terms", "explanation"]}
    for i, row in enumerate(rrow):
        rrow[i] = {"region": str(study.regions["region"].values[i]), **row}

    c_max = c_thr / thresholds.cluster
    r_max = r_thr / thresholds.region
    regions_of = study.cluster_regions()
    feasible = {
        "computed": feasible_thresholds(ev.cluster_index.values, ev.region_index_of_cluster.values, c_max, r_max, regions_of),
        "published": feasible_thresholds(pub_c, pub_roc, c_max, r_max, regions_of),
    }
    notes = [
        "Equation 1 as printed divides alpha_j x_ij by max_i(alpha_j x_ij): every positive weight cancels, so "
        "Table 4's weights cannot change Table 5 under the printed formula.",
        "Regions have no industry group; Table 6 is normalised over the whole sample of 19 regions.",
    ]
    if search_r.get("negative=keep", 0) > search_r.get("negative=zero", 0):
        notes.append(
            "Table 6 reproduces only when negative trade surpluses are divided by the positive maximum and squared, "
            "so a deficit raises a region's index (Kaluga region's -7611.71 adds 1.55 to its sum of squares)."
        )
    near = {
        "cluster": _near(ev.cluster_index.values, pub_c, c_thr, tol["clusters"], [str(r["no"]) for r in crow], thresholds, feasible["computed"], "cluster"),
        "region": _near(np.asarray([r["computed"] for r in rrow], float), pub_r, r_thr, tol["regions"], [r["region"] for r in rrow], thresholds, feasible["computed"], "region"),
    }
    counts = {s: int(v) for s, v in zip(SCENARIOS, ev.scenario_counts.values)}
    pub_counts = {s: int((pub_codes == k).sum()) for k, s in enumerate(SCENARIOS)}
    return ReproductionResult(
        clusters=crow,
        regions=rrow,
        reference_search={"clusters": search_c, "regions": search_r},
        spec=spec,
        thresholds=thresholds,
        threshold_values={"cluster": c_thr, "region": r_thr},
        feasible=feasible,
        scenario_counts=counts,
        published_scenario_counts=pub_counts,
        tolerance=tol,
        near_threshold=near,
        notes=notes,
    )


def _near(computed, published, threshold, tolerance, labels, thresholds, feasible, axis) -> dict:
    """Rows within rounding of a threshold, published ties, and the margin of the fraction to the feasible edges."""
    prox = threshold_proximity(computed, threshold, tolerance)
    ties = np.flatnonzero(np.asarray(published, float) == threshold)
    margin = None
    tc, tr = thresholds.cluster, thresholds.region
    inside = [f[axis] for f in feasible if f["cluster"][0] < tc <= f["cluster"][1] and f["region"][0] < tr <= f["region"][1]]
    fraction = tc if axis == "cluster" else tr
    if inside:
        lo, hi = inside[0]
        margin = float(min(fraction - lo, hi - fraction))
    return {
        "threshold": float(threshold),
        "tolerance": float(tolerance),
        "near": [
            {"position": int(i), "label": labels[i], "computed": float(computed[i]), "published": float(published[i]), "distance": float(d)}
            for i, d in zip(prox.near, prox.distance)
        ],
        "published_ties": [labels[i] for i in ties],
        "margin": margin,
    }
