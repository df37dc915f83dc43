"""How result objects show themselves: a short text ``__repr__``, a compact ``_repr_html_`` and the export aliases.

A result class inherits :class:`Display` (or :class:`ResultDisplay`, which adds ``to_xarray``/``to_frame``) and
implements ``_display_()``: a one-line headline and a few ``(label, value)`` facts. This module lays them out:

- ``repr(result)`` is the headline and one line per fact, each value cut to :data:`MAX_VALUE` characters, so a
  result prints in a few lines however large the study (the full numbers are in ``to_xarray()`` /
  ``to_frame()``);
- ``result._repr_html_()`` is the same facts as a two-column HTML table, which Jupyter shows instead of the text;
  every string is passed through :func:`html.escape`, so a unit named ``<b>`` shows as text.

A dataclass using them must be declared with ``repr=False`` (otherwise the generated ``__repr__`` wins).
Estimators compute the facts; the layout lives here (STYLE items 13 and 15).
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = ["Display", "ResultDisplay", "fmt", "names", "narrate", "MAX_VALUE"]

#: Longest value shown in a repr line or an HTML cell (longer ones end in an ellipsis).
MAX_VALUE = 100


def fmt(x: Any, digits: int = 3) -> str:
    """A number at ``digits`` decimals (integers as they are, NaN/None as 'n/a'); anything else as ``str``."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, numbers.Real):
        v = float(x)
        if math.isnan(v):
            return "n/a"
        return f"{v:.{digits}f}"
    return str(x)


def format_bytes(n: float) -> str:
    """A size as memory messages show it, in binary units (``'1.10 GiB'``; dask's ``format_bytes``, so it reads back
    with ``parse_bytes`` as a ``memory_limit``)."""
    from dask.utils import format_bytes as _dask_format

    return _dask_format(int(n))


def cap(word: str) -> str:
    """``word`` with its first letter upper-case and the rest as it is (``'rIM'`` stays ``'RIM'``, not ``'Rim'``)."""
    return word[:1].upper() + word[1:]


def names(items: Sequence[Any], limit: int = 5) -> str:
    """The first ``limit`` items joined by commas, then how many more."""
    items = [str(getattr(v, "item", lambda: v)()) for v in items]
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f", … ({len(items) - limit} more)"
    return shown


def _cut(text: str) -> str:
    text = " ".join(str(text).split())  # one line
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


class Display:
    """Mixin: ``__repr__`` and ``_repr_html_`` from ``_display_()``."""

    __slots__ = ()

    def _display_(self) -> tuple[str, list[tuple[str, Any]]]:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def _facts(self) -> tuple[str, list[tuple[str, str]]]:
        headline, rows = self._display_()
        return _cut(headline), [(_cut(label), _cut(fmt(value))) for label, value in rows]

    def __repr__(self) -> str:
        headline, rows = self._facts()
        lines = [f"<{type(self).__name__}: {headline}>"]
        width = max((len(label) for label, _ in rows), default=0)
        lines += [f"  {label:<{width}}  {value}" for label, value in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        headline, rows = self._facts()
        esc = html.escape
        body = "".join(
            f'<tr><th style="text-align:left">{esc(label)}</th><td style="text-align:left">{esc(value)}</td></tr>'
            for label, value in rows
        )
        return (
            f'<table class="clustermodel-result"><caption style="text-align:left"><b>{esc(type(self).__name__)}</b>: '
            f"{esc(headline)}</caption><tbody>{body}</tbody></table>"
        )


def narrate(result: Any, **kwargs: Any) -> str:
    """``result.summary()``: the sentences of ``result`` from the reporting function its class names in
    ``_narrator_`` (``"module:function"``), imported only when a summary is asked for. The estimator layer thus
    never imports the reporting layer (tests/test_architecture.py forbids it), while a result still prints its own
    summary, as a statsmodels result hands its ``summary()`` to ``iolib``."""
    return call_narrator(type(result)._narrator_, result, **kwargs)


def call_narrator(path: str, result: Any, **kwargs: Any) -> Any:
    """Call the reporting function named ``"module:function"`` on ``result`` (imported only now)."""
    import importlib

    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)(result, **kwargs)


class ResultDisplay(Display):
    """:class:`Display` plus ``to_xarray()`` and ``to_frame()``, the xarray/pandas names of ``to_dataset()`` and
    ``to_dataframe()``."""

    __slots__ = ()

    def to_xarray(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        """The full result as an :class:`xarray.Dataset` (the same as ``to_dataset()``)."""
        return self.to_dataset(*args, **kwargs)  # type: ignore[attr-defined, no-any-return]

    def to_frame(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        """The result's main table as a :class:`pandas.DataFrame` (the same as ``to_dataframe()``)."""
        return self.to_dataframe(*args, **kwargs)  # type: ignore[attr-defined, no-any-return]
