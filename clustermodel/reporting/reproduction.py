"""Narration of the reproduction stage: the paper's tables row by row (this stage runs on published values only)."""

from __future__ import annotations

from clustermodel.reporting._text import counts_text, md_escape, spec_text
from clustermodel.nouns import PAPER_NOUNS
from clustermodel.reproduction import PAPER_COUNTS

__all__ = ["markdown", "findings", "conclusions"]


def markdown(result, *, nouns=PAPER_NOUNS) -> str:
    """The reproduction section: the verdict, the search over options, and both tables (names escaped)."""
    self = result
    n = self.n_reproduced
    lines = [
        "## Reproduction of Tables 5 and 6",
        "",
        f"Spec: {spec_text(self.spec)} (other fields at their defaults). A row reproduces when |computed − published| ≤ half a unit of the "
        f"published rounding (clusters ±{self.tolerance['clusters']:g}, regions ±{self.tolerance['regions']:g}).",
        "",
        f"- Clusters (Table 5): **{n['clusters']} of {len(self.clusters)}** rows reproduce.",
        f"- Regions (Table 6): **{n['regions']} of {len(self.regions)}** rows reproduce.",
    ]
    for table, search in self.reference_search.items():
        lines.append(f"- {table}: " + ", ".join(f"`{k}` reproduces {v}" for k, v in search.items()))
    lines += [
        f"- Scenario counts from the computed index: {counts_text(self.scenario_counts)} (paper: {counts_text(PAPER_COUNTS)}); "
        f"from the published index: {counts_text(self.published_scenario_counts)}.",
        f"- Thresholds: cluster {self.threshold_values['cluster']:.4g}, region {self.threshold_values['region']:.4g} "
        f"(fractions {self.thresholds.cluster:g} and {self.thresholds.region:g} of the attainable maximum).",
    ]
    for src, boxes in self.feasible.items():
        if boxes:
            b = boxes[0]
            lines.append(
                f"- Fractions reproducing the paper's counts ({src} values): cluster in "
                f"({b['cluster'][0]:.4f}, {b['cluster'][1]:.4f}], region in ({b['region'][0]:.4f}, {b['region'][1]:.4f}]"
                + (f" (and {len(boxes) - 1} more boxes)" if len(boxes) > 1 else "")
            )
        else:
            lines.append(f"- No thresholds reproduce the paper's counts from the {src} values.")
    lines += _knife_edge(self)
    lines += ["", "### Rows that do not reproduce", ""]
    bad = [("cluster", r, r["no"]) for r in self.clusters if not r["reproduced"]]
    bad += [("region", r, r["region"]) for r in self.regions if not r["reproduced"]]
    if not bad:
        lines.append("None.")
    for kind, r, key in bad:
        lines.append(
            f"- {kind} {key}: published {r['published']}, computed {r['computed']:.3f}. {r['explanation']}."
        )
    lines += [
        "",
        "### Clusters",
        "",
        "| No. | Cluster | Group | Region | Published | Computed | Reproduced | Scenario |",
        "|---:|---|---|---|---:|---:|:---:|---|",
    ]
    for r in self.clusters:
        lines.append(
            f"| {r['no']} | {md_escape(r['name'])} | {md_escape(r['group'])} | {md_escape(r['region'])} | {r['published']} | "
            f"{r['computed']:.3f} | {'yes' if r['reproduced'] else '**no**'} | {r['scenario']} |"
        )
    lines += ["", "### Regions", "", "| Region | Published | Computed | Reproduced |", "|---|---:|---:|:---:|"]
    for r in self.regions:
        lines.append(
            f"| {md_escape(r['region'])} | {r['published']} | {r['computed']:.3f} | {'yes' if r['reproduced'] else '**no**'} |"
        )
    if self.notes:
        lines += ["", "### Notes", ""] + [f"- {t}" for t in self.notes]
    return "\n".join(lines) + "\n"


def _knife_edge(result) -> list[str]:
    """Units that could fall on either side of a threshold, and how close the nominal cut-off is to the feasible edge."""
    out = []
    for axis, word in (("cluster", "clusters"), ("region", "regions")):
        nt = result.near_threshold.get(axis)
        if not nt:
            continue
        near = ", ".join(f"{md_escape(r['label'])} ({r['computed']:.4f})" for r in nt["near"])
        text = (
            f"- Near the {axis} threshold {nt['threshold']:.4g}: "
            + (f"{len(nt['near'])} {word} computed within the published rounding (±{nt['tolerance']:g}) of it: {near}" if nt["near"] else f"no {axis} computed within ±{nt['tolerance']:g} of it")
            + (
                f"; {len(nt['published_ties'])} published values exactly at it ({', '.join(md_escape(x) for x in nt['published_ties'])}), high only because the rule is `>=`"
                if nt["published_ties"]
                else ""
            )
            + (f"; the nominal fraction is {nt['margin']:.4f} from the nearest edge of the fractions that reproduce the paper's counts" if nt["margin"] is not None else "")
            + "."
        )
        out.append(text)
    return out


def _edge_sentence(result) -> str:
    nt = result.near_threshold.get("cluster") or {}
    if not nt:
        return ""
    parts = []
    if nt.get("margin") is not None:
        parts.append(f"the cluster cut-off is {nt['margin']:.4f} inside the interval of cut-offs that gives these counts")
    if nt.get("near"):
        parts.append(f"clusters {', '.join(md_escape(r['label']) for r in nt['near'])} are computed within the printed rounding (±{nt['tolerance']:g}) of the threshold")
    if nt.get("published_ties"):
        parts.append(f"clusters {', '.join(md_escape(x) for x in nt['published_ties'])} are printed exactly at it and count as high only under the tie rule `>=`")
    return ("The counts sit on a knife edge: " + "; ".join(parts) + ".") if parts else ""


def conclusions(result, *, paper: bool = True) -> list[str]:
    """The stage's conclusion for the top of the report."""
    n = result.n_reproduced
    tables = ("Table 5", "Table 6") if paper else ("the unit table", "the higher-level table")
    return [
        f"**The published index reproduces: {tables[0]} in {n['clusters']} of {len(result.clusters)} rows, {tables[1]} in "
        f"{n['regions']} of {len(result.regions)}** (within the printed rounding), and the scenario counts "
        f"{'/'.join(str(v) for v in result.scenario_counts.values())}. {_edge_sentence(result)} [reproduction](reproduction.md)"
    ]


def findings(result, *, paper: bool = True) -> list[str]:
    """Key findings of the reproduction stage."""
    n = result.n_reproduced
    rs = result.reference_search
    bad = [r for r in result.clusters if not r["reproduced"]]
    tables = ("Table 5", "Table 6") if paper else ("the published unit index", "the published higher-level index")
    out = [
        (
            f"**Reproduction** (reproduction stage, spec `{result.spec.aggregation}`, reference `{result.spec.reference}`): "
            f"{n['clusters']} of {len(result.clusters)} cluster rows ({tables[0]}) and {n['regions']} of "
            f"{len(result.regions)} region rows ({tables[1]}) reproduce within the published rounding. {tables[0]} needs "
            f"within-group maxima ({rs['clusters'].get('reference=group', 'n/a')} rows; whole sample: "
            f"{rs['clusters']['reference=sample']}). "
            + (
                "Rows not reproduced: "
                + "; ".join(f"cluster {r['no']} (published {r['published']}, computed {r['computed']:.3f})" for r in bad)
                + ". "
                if bad
                else ""
            )
            + "[reproduction](reproduction.md)"
        ),
        (
            f"**Negative values** (reproduction stage): {tables[1]} reproduces in {rs['regions'].get('negative=keep')} of "
            f"{len(result.regions)} rows when deficits are kept (and squared, as printed), {rs['regions'].get('negative=zero')} "
            "when treated as zero: the published regional index counts a deficit as foreign activity. [reproduction](reproduction.md)"
        ),
    ]
    feasible = result.feasible["computed"]
    if feasible:
        out.append(
            f"**Figure 13** (reproduction stage): thresholds at half the attainable maximum ({result.threshold_values['cluster']:.3g} and "
            f"{result.threshold_values['region']:.3g}) give "
            + ", ".join(f"{v} {k}" for k, v in result.scenario_counts.items())
            + " (paper: 3 supported, 14 lonely, 8 potential, 0 late), supported clusters in "
            + " and ".join(sorted({md_escape(r['region']) for r in result.clusters if r['scenario'] == 'supported'}))
            + f". Cut-offs from {feasible[0]['cluster'][0]:.3f} to {feasible[0]['cluster'][1]:.3f} (clusters) and "
            f"{feasible[0]['region'][0]:.3f} to {feasible[0]['region'][1]:.3f} (regions) of the attainable maximum all give "
            f"the paper's counts. {_edge_sentence(result)} [figure](figure13.png)"
        )
    return out
