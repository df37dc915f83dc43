"""Every table of a run in one Excel workbook (COINr's ``export_to_excel``): one sheet per CSV file, plus a contents
sheet naming the file each sheet comes from.

The CSV files stay the record (``manifest.json`` hashes them); the workbook is a copy for reading in a spreadsheet,
written with openpyxl (the ``excel`` extra: ``pip install clustermodel[excel]``). Its bytes hold a time stamp of the
zip format, so the manifest lists it without a hash.
"""

from __future__ import annotations

from pathlib import Path

from clustermodel._errors import ClusterModelError
from clustermodel._io import atomic_path

__all__ = ["write_workbook", "sheet_names"]

#: Excel's limit on a sheet name.
SHEET_NAME_MAX = 31


def sheet_names(stems) -> dict:
    """file stem -> a unique sheet name of at most 31 characters (Excel's limit), the stem itself where it fits."""
    out, used = {}, {"contents"}
    for stem in stems:
        name = stem[:SHEET_NAME_MAX]
        k = 2
        while name.lower() in used:  # Excel compares sheet names without case
            suffix = f"~{k}"
            name = stem[: SHEET_NAME_MAX - len(suffix)] + suffix
            k += 1
        used.add(name.lower())
        out[stem] = name
    return out


def write_workbook(folder, path) -> Path:
    """Write every ``*.csv`` of ``folder`` (in name order) as a sheet of the workbook ``path``; return ``path``.

    The cells are the CSV's cells as pandas reads them (numbers as numbers, empty cells empty); the first sheet,
    ``contents``, lists each sheet with its file and its size.
    """
    import pandas as pd

    import importlib.util

    if importlib.util.find_spec("openpyxl") is None:  # the engine pandas writes with
        raise ClusterModelError("an Excel workbook needs openpyxl: pip install 'clustermodel[excel]' (or openpyxl)")
    folder = Path(folder)
    files = sorted(p for p in folder.glob("*.csv") if p.is_file())
    if not files:
        raise ClusterModelError(f"{folder} holds no CSV table to put in a workbook")
    names = sheet_names([p.stem for p in files])
    tables = {p.stem: pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in files}
    contents = pd.DataFrame(
        [{"sheet": names[s], "file": f"{s}.csv", "rows": len(t), "columns": t.shape[1]} for s, t in tables.items()]
    )
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            contents.to_excel(writer, sheet_name="contents", index=False)
            for stem, table in tables.items():
                table.to_excel(writer, sheet_name=names[stem], index=False)
    return Path(path)
