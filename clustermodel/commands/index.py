"""`clustermodel index`: every unit's index and the scores of every aggregate under a spec, ranked."""

from __future__ import annotations

from clustermodel._io import finite_or_none, staged_outputs, unit_key, write_csv, write_json, write_text
from clustermodel.commands._common import (
    add_data_arguments,
    add_output_arguments,
    add_spec_arguments,
    emit_json,
    load_from_args,
    spec_from_args,
)

NAME = "index"
HELP = "compute every unit's index and the scores of its pillars under a spec (every construction choice is an option)"


def add_arguments(parser):
    add_data_arguments(parser)
    add_spec_arguments(parser)
    add_output_arguments(parser)


def _table(study, spec) -> dict:
    from clustermodel.index import compute_scores, construct, index_maximum, rank

    c = construct(study, spec)
    tree = study.structure
    aggregates = sorted(tree.aggregates, key=lambda v: (-tree.level(v), tree.nodes.index(v)))  # the index, then each level below it
    scores = compute_scores(study, spec=spec, nodes=aggregates, construction=c)
    ranks = rank(scores, c.unit_dim)
    dim = c.unit_dim
    rows = []
    for i, unit in enumerate(c.units):
        row = {"unit": unit.item() if hasattr(unit, "item") else unit}
        for k in ("name", "group", "region"):
            if k in scores.coords and dim in scores[k].dims:
                row[k] = str(scores[k].values[i])
        row["index"] = finite_or_none(scores.values[i, 0])
        row["rank"] = int(ranks.values[i, 0])
        row["nodes"] = {v: {"score": finite_or_none(scores.values[i, k]), "rank": int(ranks.values[i, k])} for k, v in enumerate(aggregates[1:], 1)}
        rows.append(row)
    frame = tree.to_frame()
    return {
        "spec": spec.to_dict(),
        "attainable_maximum": finite_or_none(index_maximum(study, spec=spec, construction=c)),
        "structure": tree.to_dict(),
        "effective_weights": {v: float(frame.loc[v, "effective_weight"]) for v in tree.leaves},
        "construction": c.log(),
        "units": rows,
    }


def _markdown(table) -> str:
    from clustermodel.reporting._text import md_escape, spec_text

    nodes = list(table["units"][0]["nodes"]) if table["units"] else []
    log = table["construction"]
    lines = [
        "## Index",
        "",
        f"Spec: {md_escape(spec_text(table['spec']))}; attainable maximum "
        + ("undefined" if table["attainable_maximum"] is None else f"{table['attainable_maximum']:.4g}") + ".",
        "",
    ]
    if log["excluded"] or log["imputed"] or log["treated_indicators"] or log["missing"]:
        lines += [
            f"Construction: {len(log['excluded'])} unit(s) excluded by the availability screen, {len(log['imputed'])} cell(s) "
            f"imputed, {len(log['missing'])} cell(s) left missing, {len(log['treated_indicators'])} indicator(s) treated "
            "for outliers (the JSON output lists every one).",
            "",
        ]
    named = any("name" in r for r in table["units"])  # no Name column for a table without names
    head = ["Rank", "Unit"] + (["Name"] if named else []) + ["Index"] + nodes
    lines += ["| " + " | ".join(head) + " |", "|---:|---|" + ("---|" if named else "") + "---:|" + "---:|" * len(nodes)]
    for r in sorted(table["units"], key=lambda r: r["rank"]):
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        cells = [str(r["rank"]), md_escape(str(r["unit"]))] + ([md_escape(r.get("name", ""))] if named else []) + [fmt(r["index"])] + [fmt(r["nodes"][v]["score"]) for v in nodes]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _frame(table):
    """One row per unit: id, name/group/region where the table has them, index, rank, then score and rank of each
    aggregate below the index."""
    import pandas as pd

    rows = []
    for r in table["units"]:
        row = {k: v for k, v in r.items() if k != "nodes"}
        for node, v in r["nodes"].items():
            row[f"score[{node}]"], row[f"rank[{node}]"] = v["score"], v["rank"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("unit")


def run(args) -> int:
    from clustermodel.paper import file_unit_key

    study = load_from_args(args)
    table = _table(study, spec_from_args(args, study))
    with unit_key(file_unit_key(study)):
        if args.out is not None:
            with staged_outputs(args.out) as out:
                write_text(out / "index.md", _markdown(table))
                write_json(out / "index.json", table)
                write_csv(out / "index.csv", _frame(table))
        if args.json:
            emit_json(table)
        elif args.out is None:
            print(_markdown(table), end="")
    return 0
