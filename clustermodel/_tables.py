"""Reading a table file into text cells, with errors that name the file, line and column.

:func:`read_table` reads CSV (any of :data:`DELIMITERS`, sniffed from the header), XLSX and XLS into a
DataFrame of strings, one row per data line, each row remembering its line in the file; :func:`_numeric`
turns one column into floats, naming the cell of anything that is not a number. Used by :mod:`clustermodel.data`
(studies) and :mod:`clustermodel.structure` (structure files), below both.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from clustermodel._errors import InputError
from clustermodel._io import PathLike

__all__ = ["read_table", "MISSING_TOKENS", "DELIMITERS"]


#: Cell contents read as a missing value, in any capitalisation (``NA``, ``N/A``, ``NaN``, ``NAN`` …),
#: besides an empty cell.
MISSING_TOKENS = frozenset({"", "n/a", "na", "nan"})


#: Delimiters a CSV header is tried with, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


#: The numbers a cell may hold: ASCII digits, an optional sign, decimal point and exponent. Python's float()
#: also takes '1_20.5' (120.5), non-ASCII digits and surrounding text; none of those is a number in a table.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


_INFINITE = re.compile(r"[+-]?(?:inf|infinity)", re.IGNORECASE)


def _is_missing(cell: str) -> bool:
    return cell.casefold() in MISSING_TOKENS


def _line(df, i: int) -> int:
    """Line (as an editor shows it; for a spreadsheet, the row) of the ``i``-th data row of a :func:`read_table` frame."""
    if df.index.name == "line":
        return int(df.index[i])
    return i + 2  # a frame built elsewhere: header on line 1, no blank line


def _header_line(df) -> int:
    return int(df.attrs.get("header_line", 1))


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, read once (a pipe such as ``<(cat file)`` can be read only once)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found; check the path", file=path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file; give the path of the table", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc}); check the path and its permissions", file=path) from None


def _delimiter(header: str) -> str:
    """The delimiter of a CSV file, from its header line: the most frequent of :data:`DELIMITERS` outside quotes.

    Only the header is used: data lines of a semicolon file often hold decimal commas.
    """
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=counts.__getitem__)  # the first of equals: a comma wins a tie
    return best if counts[best] else ","


def _csv_records(data: bytes, path: Path):
    """(line, cells) of every non-blank record of a CSV file, the line being where the record starts."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8 CSV", file=path, line=line
        ) from None
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True, strict=True)
    records, end = [], 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if any(c.strip() for c in cells):  # a blank line, or one of delimiters only, holds no record
                records.append((start, cells))
    except csv.Error as exc:
        raise InputError(
            f"cannot be parsed as CSV ({exc}); a quote that opens a cell must close it, and a quote inside a "
            'quoted cell is written twice ("")',
            file=path,
            line=end + 1,
        ) from None
    return records, delimiter


def _excel_text(value) -> str:
    """A spreadsheet value as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value).strip()


def _excel_records(data: bytes, path: Path):
    """(row, cells) of every non-blank row of the first sheet of an .xlsx/.xlsm workbook.

    Values are those the spreadsheet saved. A formula whose result was never saved (a workbook written
    by openpyxl or pandas and not opened in a spreadsheet since) has no value to read: it is refused,
    naming its cells, rather than read as a missing value.
    """
    try:
        import openpyxl
        from openpyxl.utils import get_column_letter
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError as exc:
        raise InputError(f"cannot read Excel files: {exc}; install clustermodel[excel]", file=path) from None
    try:
        values = openpyxl.load_workbook(io.BytesIO(data), data_only=True).worksheets[0]
        formulas = openpyxl.load_workbook(io.BytesIO(data), data_only=False).worksheets[0]
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError) as exc:
        raise InputError(
            f"cannot be read as an Excel workbook ({exc}); save it again from a spreadsheet, or as UTF-8 CSV", file=path
        ) from None
    records, unsaved = [], []
    for vrow, frow in zip(values.iter_rows(), formulas.iter_rows()):
        cells = []
        for v, f in zip(vrow, frow):
            if v.value is None and f.data_type == "f":
                unsaved.append((f.row, f.column, f.coordinate, str(getattr(f.value, "text", f.value))))
            cells.append(_excel_text(v.value))
        if any(cells):
            records.append((vrow[0].row, cells))
    if unsaved:
        header = records[0][1] if records else []
        row, col, ref, formula = unsaved[0]
        others = [u[2] for u in unsaved[1:]]
        more = ""
        if others:
            shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            more = f"; so do {shown}"
        in_data = bool(records) and row > records[0][0] and col <= len(header)
        raise InputError(
            f"cell {ref} holds a formula ({formula}) whose result was never saved{more}: clustermodel reads the "
            "values a spreadsheet saved, not formulas; open the file in Excel or LibreOffice and save it (which "
            "stores the results), or replace the formulas by their values",
            file=path,
            line=row,
            column=str(header[col - 1]).strip() if in_data else None,
        )
    return records, get_column_letter


def read_table(path: PathLike) -> pd.DataFrame:
    """Read a CSV or Excel file as strings, one row per record.

    CSV files are UTF-8 (a byte-order mark is allowed); the delimiter (comma, semicolon, tab or vertical
    bar) is the one the header line uses most. Blank lines, and lines of delimiters only, are skipped. An
    ``.xlsx``/``.xlsm`` workbook (recognised by its content, so a pipe works too) is read from its first
    sheet. Every cell is returned stripped of surrounding spaces.

    Returns
    -------
    pandas.DataFrame
        Strings; the index (named ``line``) holds the line each record starts on, as an editor shows it
        (the spreadsheet row for a workbook), so messages stay right after a blank line or a quoted
        multi-line cell. ``attrs`` holds ``sha256`` (of the bytes read), ``header_line`` and ``delimiter``.

    Raises
    ------
    InputError
        If the file does not exist, cannot be parsed, holds no data row, has duplicate or
        ragged columns, or (a workbook) a formula without a saved result.
    """
    path = Path(path)
    data = _read_bytes(path)
    sha = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    delimiter = None
    column_ref = None
    if data.startswith(b"PK\x03\x04") or suffix in {".xlsx", ".xlsm"}:
        records, letter = _excel_records(data, path)
        column_ref = letter
    elif data.startswith(b"\xd0\xcf\x11\xe0") or suffix == ".xls":
        records = _xls_records(data, path)
    else:
        records, delimiter = _csv_records(data, path)
    if not records:
        raise InputError("the file is empty; it needs a header line and at least one data line", file=path)
    header_line, raw_header = records[0]
    if len(records) == 1:
        raise InputError("the file has a header but no data line", file=path)
    width = len(raw_header)
    rows, lines = [], []
    for line, cells in records[1:]:
        cells = [c.strip() for c in cells]
        if len(cells) > width:
            if any(cells[width:]):
                sep = _DELIMITER_NAMES.get(delimiter, repr(delimiter))
                raise InputError(
                    f"the line has {len(cells)} cells but the header has {width}; quote a cell that contains "
                    f'the delimiter ({sep}), e.g. "1,205", or remove the extra cells',
                    file=path,
                    line=line,
                )
            cells = cells[:width]
        rows.append(cells + [""] * (width - len(cells)))
        lines.append(line)
    names = [str(c).strip() for c in raw_header]
    keep = [k for k, n in enumerate(names) if n or any(r[k] for r in rows)]  # drop trailing empty columns
    names = [names[k] or f"Unnamed: {k}" for k in keep]
    ref = column_ref or (lambda k: str(k))
    first = {}
    for pos, name in zip(keep, names):
        if name in first:
            raise InputError(
                f"columns {ref(first[name] + 1)} and {ref(pos + 1)} of the header are both named {name!r}; "
                "rename one of them (every column needs its own name)",
                file=path,
                line=header_line,
            )
        first[name] = pos
    df = pd.DataFrame(
        [[r[k] for k in keep] for r in rows],
        columns=names,
        index=pd.Index(lines, name="line"),
        dtype=object,
    )
    df.attrs.update(sha256=sha, header_line=header_line, delimiter=delimiter)
    return df


def _xls_records(data: bytes, path: Path):
    """Rows of an old-format ``.xls`` workbook through pandas (needs xlrd)."""
    try:
        df = pd.read_excel(io.BytesIO(data), dtype=str, keep_default_na=False, header=None)
    except ImportError as exc:
        raise InputError(f"cannot read .xls files: {exc}; save the sheet as .xlsx or UTF-8 CSV", file=path) from None
    except ValueError as exc:
        raise InputError(f"cannot be read as an Excel workbook ({exc}); save it as .xlsx or UTF-8 CSV", file=path) from None
    return [(i + 1, [str(c) for c in row]) for i, row in enumerate(df.itertuples(index=False)) if any(str(c).strip() for c in row)]


def _require(df, columns, path, *, fix: str = "add it to the header line"):
    missing = [c for c in columns if c not in df.columns]
    if missing:
        hint = ""
        if len(df.columns) == 1 and len(str(df.columns[0]).split()) > 1:
            hint = " (one column only: are the columns separated by spaces? save the file as CSV with commas)"
        raise InputError(
            f"required column(s) {', '.join(repr(m) for m in missing)} not found; the header has "
            f"{', '.join(repr(c) for c in df.columns)}{hint}: {fix}",
            file=path,
            line=_header_line(df),
        )


def _number_hint(cell: str) -> str:
    """How to write ``cell`` (which is not a number) as one."""
    body = cell.lstrip("+-")
    sign = cell[: len(cell) - len(body)]
    if re.fullmatch(r"[0-9]{1,3}(?:,[0-9]{3})+", body):
        plain = sign + body.replace(",", "")
        if body.count(",") > 1:
            return f"remove the thousands separators: write {plain}"
        return f"write {plain} if the comma separates thousands, or {sign}{body.replace(',', '.')} if it is a decimal comma"
    if re.fullmatch(r"[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]*", body):
        return f"remove the thousands separators: write {sign}{body.replace(',', '')}"
    if re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]*", body):
        return f"write {sign}{body.replace('.', '').replace(',', '.')}: a decimal point, and no thousands separator"
    if re.fullmatch(r"[0-9]*,[0-9]+", body):
        return "use a decimal point, not a comma"
    if "_" in body and _NUMBER.fullmatch(cell.replace("_", "")):
        return "remove the underscore: a number is written with the digits 0-9, a sign, a decimal point and an exponent only"
    if re.fullmatch(r"[0-9]{1,3}(?:[ \u00a0\u202f'][0-9]{3})+(?:\.[0-9]*)?", body):
        plain = re.sub(r"[ \u00a0\u202f']", "", body)
        return f"remove the thousands separators: write {sign}{plain}"
    return "write a number, or leave the cell empty for a missing value"


def _numeric(df, column, path) -> np.ndarray:
    """The cells of ``column`` as floats; NaN for a missing cell (:data:`MISSING_TOKENS`, any capitalisation)."""
    out = np.empty(len(df))
    for i, cell in enumerate(df[column]):
        if _is_missing(cell):
            out[i] = np.nan
            continue
        if not _NUMBER.fullmatch(cell):
            problem = "is not a finite number" if _INFINITE.fullmatch(cell) else f"is not a number; {_number_hint(cell)}"
            raise InputError(f"{cell!r} {problem}", file=path, line=_line(df, i), column=column)
        value = float(cell)
        if not math.isfinite(value):  # e.g. 1e999
            raise InputError(f"{cell!r} is not a finite number", file=path, line=_line(df, i), column=column)
        out[i] = value
    return out
