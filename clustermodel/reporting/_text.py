"""Text from data made safe for the report's Markdown.

Unit, group and indicator names come from the user's tables and may contain
anything: ``|`` (which would split a Markdown table cell), ``*`` and ``_``
(emphasis), backquotes, brackets (links), ``<script>`` or ``<img onerror=…>``
(raw HTML, which Markdown passes through by default), ``&`` and newlines.
:func:`md_escape` turns such a string into Markdown that renders as the string
itself, on one line, in a table cell or in running text.
"""

from __future__ import annotations

import math
import re

__all__ = ["md_escape", "fmt", "figure", "spec_text", "counts_text"]

#: Characters with a meaning in inline Markdown, escaped with a backslash (the backslash first).
_BACKSLASHED = "\\`*_[]|"
#: Characters with a meaning in HTML, written as entities (the ampersand first).
_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
#: Line and paragraph separators that would end a table row or a list item.
_NEWLINES = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
#: Other control characters (C0, DEL, C1): not text; Python-Markdown also uses STX/ETX as placeholders.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f\x80-\x84\x86-\x9f]")
#: What would start a heading, list or numbered list if the text began a line.
_LINE_START = re.compile(r"^(\s*)(?:([#+-])|(\d+)\.(?=\s|$))")


def md_escape(text) -> str:
    """``text`` as Markdown that renders literally, on one line.

    Escapes ``\\``, backquote, ``*``, ``_``, ``[``, ``]`` and ``|`` with a
    backslash; writes ``&``, ``<`` and ``>`` as HTML entities (so no tag from
    the data reaches the HTML); turns every line break into a space and tabs
    into spaces; drops other control characters; and escapes a leading ``#``,
    ``+``, ``-`` or ``1. `` so that the text cannot start a heading, a list or a rule.
    Use it for every piece of data put into Markdown text or a table cell (not
    inside a code span or code block, which Markdown already shows literally).

    Parameters
    ----------
    text : object
        Converted with ``str`` (``None`` gives an empty string).

    Returns
    -------
    str

    Examples
    --------
    >>> md_escape("A|B <script> & *x*")
    'A\\\\|B &lt;script&gt; &amp; \\\\*x\\\\*'
    >>> md_escape("two\\nlines")
    'two lines'
    """
    s = "" if text is None else str(text)
    s = _NEWLINES.sub(" ", s).replace("\t", " ")
    s = _CONTROLS.sub("", s)
    for old, new in _ENTITIES:
        s = s.replace(old, new)
    s = "".join("\\" + c if c in _BACKSLASHED else c for c in s)
    return _LINE_START.sub(lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\."), s, count=1)


def fmt(x, digits: int = 3) -> str:
    """A number for a table: fixed decimals, 'n/a' for None or NaN; anything else escaped as text."""
    if x is None:
        return "n/a"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return md_escape(x)
    if v != v:
        return "n/a"
    return f"{v:.{digits}f}"


def figure(v, digits: int = 3) -> str:
    """A number in a sentence: ``digits`` decimals, a non-zero value too small for them in ``digits`` significant
    digits (4e-05, not 0.000), and a dash for None, NaN or infinity."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    v = float(v)
    if v != 0 and abs(v) < 10 ** -digits:
        return f"{v:.{digits}g}"
    return f"{v:.{digits}f}"


def seed_text(seed, spawn_key=()) -> str:
    """A recorded seed as a reader repeats it: ``20261130``, ``20261130 (spawned stream 2)``, ``None``."""
    if seed is None or not spawn_key:
        return str(seed)
    return f"{seed} (spawned stream {'.'.join(map(str, spawn_key))})"


def spec_text(spec) -> str:
    """A spec as ``field=value`` pairs, the fields that differ from the defaults (``'defaults'`` if none)."""
    from clustermodel.spec import IndexSpec

    d = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
    default = IndexSpec().to_dict()

    def val(v):
        if isinstance(v, dict):
            return ", ".join(f"{k}: {val(x)}" for k, x in v.items())
        return "/".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)

    changed = [f"{k}={val(v)}" for k, v in d.items() if v != default.get(k)]
    return ", ".join(changed) if changed else "defaults"


def counts_text(counts: dict) -> str:
    """Scenario counts as '3 supported, 14 lonely, 8 potential, 0 late'."""
    return ", ".join(f"{v} {k}" for k, v in counts.items())
