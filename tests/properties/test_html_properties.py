"""Data in the report as properties: any name keeps its table column and never becomes markup.

For arbitrary Unicode names (with ``|``, ``<``, ``&``, backslashes, emphasis and
link characters, newlines and control characters mixed in), a Markdown table
built with :func:`md_escape` and converted by :func:`markdown_to_html` has, in
every row, exactly the columns it was built with, each holding the name itself;
and the page contains no element or attribute that the data could have put there.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from clustermodel.reporting._text import md_escape
from clustermodel.reporting.html import markdown_to_html

#: Characters with a meaning in Markdown or HTML, drawn often.
SPECIAL = "|<>&\\`*_[]()!#+-.:=~{}\"' \n\r\t\x00\x02\x03\x0b\x1c\x85\u2028"
names = st.text(
    alphabet=st.one_of(st.sampled_from(SPECIAL), st.characters(exclude_categories=("Cs",))),
    max_size=40,
)
#: Every element the page may contain: the page frame and what Markdown makes of headings, tables and text.
ALLOWED = {"html", "head", "meta", "title", "style", "body", "div", "nav", "main", "p", "ul", "li", "a", "h1", "h2", "table", "thead", "tbody", "tr", "th", "td"}


def _expected(name: str) -> str:
    """What a table cell shows: line breaks and tabs as spaces, control characters dropped, spaces at the ends stripped (as the tables extension does)."""
    s = re.sub(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\t]", " ", name)
    s = re.sub(r"[\x00-\x08\x0e-\x1b\x1f\x7f\x80-\x84\x86-\x9f]", "", s)
    return s.strip(" ")


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.rows = [], [], []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _page(markdown_text: str) -> _Page:
    p = _Page()
    p.feed(markdown_to_html(markdown_text, base=Path("."), title="t"))
    p.close()
    return p


@given(st.lists(st.tuples(names, names), min_size=1, max_size=6))
def test_a_name_keeps_its_column_and_its_text(rows):
    table = ["# Units", "", "## Table", "", "| id | name | label |", "|---|---|---|"]
    table += [f"| {k} | {md_escape(a)} | {md_escape(b)} |" for k, (a, b) in enumerate(rows)]
    page = _page("\n".join(table) + "\n")
    assert page.rows[0] == ["id", "name", "label"]
    assert page.rows[1:] == [[str(k), _expected(a), _expected(b)] for k, (a, b) in enumerate(rows)]


@given(names, names)
def test_no_markup_from_the_data(heading, text):
    """A name in a heading (and so in the table of contents), in running text and in a list: only the page's
    own elements, no event-handler attribute, no link target taken from the data."""
    md = f"# Report\n\n## {md_escape(heading)}\n\nThe unit {md_escape(text)} ranks first.\n\n- {md_escape(text)}\n"
    page = _page(md)
    assert set(page.tags) <= ALLOWED, set(page.tags) - ALLOWED
    assert not [a for a in page.attrs if a[1].lower().startswith("on")]
    hrefs = [v for tag, k, v in page.attrs if k == "href"]
    assert all(v.startswith("#") for v in hrefs), hrefs  # only the table of contents links
