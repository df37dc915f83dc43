"""`clustermodel index`: the index of every cluster under any spec, ranked."""

from __future__ import annotations

import numpy as np

from clustermodel._io import staged_outputs, write_json, write_text
from clustermodel.commands._common import (
    add_data_arguments,
    add_output_arguments,
    add_spec_arguments,
    emit_json,
    load_from_args,
    spec_from_args,
)
from clustermodel.index import compute_index, index_maximum, rank

NAME = "index"
HELP = "compute the index of every cluster under a chosen spec (reference set, weight placement, missing and negative policies)"


def add_arguments(parser):
    add_data_arguments(parser)
    add_spec_arguments(parser)
    add_output_arguments(parser)


def _table(study, spec) -> dict:
    ind = study.indicators
    idx = compute_index(ind, study.weights, spec)
    ranks = rank(idx, "cluster")
    rows = []
    for i in range(ind.sizes["cluster"]):
        row = {"cluster": ind["cluster"].values[i].item()}
        for c in ("name", "group", "region"):
            if c in ind.coords:
                row[c] = str(ind[c].values[i])
        v = float(idx.values[i])
        row["index"] = None if np.isnan(v) else v
        row["rank"] = int(ranks.values[i])
        rows.append(row)
    return {
        "spec": spec.to_dict(),
        "attainable_maximum": float(index_maximum(study.weights, ind, spec)),
        "weights": {str(k): float(v) for k, v in zip(study.weights["indicator"].values, study.weights.values)},
        "clusters": rows,
    }


def _markdown(table) -> str:
    lines = [
        "## Cluster index",
        "",
        f"Spec: `{table['spec']}`; attainable maximum {table['attainable_maximum']:.4g}.",
        "",
        "| Rank | Cluster | Name | Index |",
        "|---:|---|---|---:|",
    ]
    for r in sorted(table["clusters"], key=lambda r: r["rank"]):
        value = "n/a" if r["index"] is None else f"{r['index']:.3f}"
        lines.append(f"| {r['rank']} | {r['cluster']} | {r.get('name', '')} | {value} |")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    study = load_from_args(args)
    table = _table(study, spec_from_args(args))
    if args.out is not None:
        with staged_outputs(args.out) as out:
            write_text(out / "index.md", _markdown(table))
            write_json(out / "index.json", table)
    if args.json:
        emit_json(table)
    elif args.out is None:
        print(_markdown(table), end="")
    return 0
