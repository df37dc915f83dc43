"""Text helpers of the report layer: escaping user data for Markdown tables and inline text."""

from __future__ import annotations

import html
import re

__all__ = ["md_escape", "fmt"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def md_escape(value) -> str:
    """Text from data, safe inside a Markdown table cell or sentence.

    HTML is escaped (``<script>`` becomes text, not a tag), Markdown's special characters are backslash-escaped
    (a ``|`` never opens a new table cell) and line breaks become spaces.

    Examples
    --------
    >>> md_escape("a|b <i>")
    'a\\\\|b &lt;i&gt;'
    """
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text)


def fmt(x, digits: int = 3) -> str:
    """A number for a table: fixed decimals, 'n/a' for None or NaN."""
    if x is None:
        return "n/a"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return md_escape(x)
    if v != v:
        return "n/a"
    return f"{v:.{digits}f}"
