"""reporting/html.py and reporting/_text.py: the report as one safe, self-contained page.

Properties over arbitrary names are in tests/properties/test_html_properties.py;
the page in a real browser in tests/test_html_browser.py.
"""

from __future__ import annotations

import base64
import re

import pytest

from clustermodel.reporting._text import md_escape
from clustermodel.reporting.html import CONTENT_SECURITY_POLICY, markdown_to_html

PNG_1x1 = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


@pytest.mark.parametrize(
    "text, escaped",
    [
        ("A|B", r"A\|B"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("R&D", "R&amp;D"),
        ("&lt;", "&amp;lt;"),
        ("a\\b", "a\\\\b"),
        ("*bold* _it_ `code`", r"\*bold\* \_it\_ \`code\`"),
        ("[link](javascript:x)", r"\[link\](javascript:x)"),
        ("two\nlines\r\nand\rmore\u2028end", "two lines and more end"),
        ("tab\there", "tab here"),
        ("nul\x00stx\x02", "nulstx"),
        ("# not a heading", r"\# not a heading"),
        ("- not a list", r"\- not a list"),
        ("12. not a list", r"12\. not a list"),
        ("Côte d'Ivoire 日本", "Côte d'Ivoire 日本"),
        (None, ""),
        (3.5, "3.5"),
    ],
)
def test_md_escape(text, escaped):
    assert md_escape(text) == escaped


def test_a_pipe_in_a_name_keeps_the_columns():
    names = ["A|B", "x\\|y", "|", "a\nb|c"]
    md = "| id | name | n |\n|---|---|---|\n" + "".join(f"| {i} | {md_escape(v)} | {i} |\n" for i, v in enumerate(names))
    page = markdown_to_html(md, base=".", title="t")
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    cells = [re.findall(r"<td>(.*?)</td>", r, re.S) for r in rows]
    assert cells == [["0", "A|B", "0"], ["1", "x\\|y", "1"], ["2", "|", "2"], ["3", "a b|c", "3"]]


def test_raw_html_in_the_markdown_is_shown_as_text():
    page = markdown_to_html("# R\n\n<script>alert(1)</script>\n\ntext <img src=x onerror=alert(1)> <b>b</b>\n\n<div>block</div>\n", base=".", title="t")
    body = page[page.index("<main>") :]
    assert "<script" not in body and "<img" not in body and "<b>" not in body and "<div>block" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "&lt;img src=x onerror=alert(1)&gt;" in body


def test_the_page_allows_no_script_and_escapes_its_title():
    page = markdown_to_html("# R\n", base=".", title="</title><script>x()</script>")
    assert f'content="{CONTENT_SECURITY_POLICY}"' in page and "script-src" not in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "<title>&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;</title>" in page
    assert "<script" not in page


def test_images_are_embedded_and_figure_links_point_into_the_page(tmp_path):
    (tmp_path / "fig one.png").write_bytes(PNG_1x1)
    (tmp_path / "notes.txt").write_text("not an image")
    md = (
        "# R\n\n## Results\n\nSee [the figure](fig%20one.png), [the notes](notes.txt), [results](results.md).\n\n"
        "![Figure one](fig%20one.png)\n\n![gone](missing.png)\n\n![text](notes.txt)\n\n![up](../outside.png)\n\n<a id=\"results\"></a>\n"
    )
    (tmp_path.parent / "outside.png").write_bytes(PNG_1x1)
    page = markdown_to_html(md, base=tmp_path, title="t")
    assert page.count("data:image/png;base64,") == 1  # the figure, not the file outside the folder
    assert '<figure id="fig-fig-one"><img alt="Figure one"' in page and "<figcaption>Figure one</figcaption>" in page
    assert 'href="#fig-fig-one"' in page and 'href="notes.txt"' in page and 'href="#results"' in page
    assert "[figure 'missing.png' not found]" in page
    assert "[figure 'notes.txt' not an image]" in page
    assert "[figure '../outside.png' outside the report's folder]" in page


@pytest.mark.parametrize("href", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>x</script>", "file:///etc/passwd", "/etc/passwd", "vbscript:x"])
def test_unsafe_link_targets_are_dropped(href):
    page = markdown_to_html(f"[x]({href})\n", base=".", title="t")
    assert "href" not in page[page.index("<main>") :]


def test_safe_link_targets_are_kept():
    page = markdown_to_html("[a](https://doi.org/10.1/x) [b](mailto:a@b.c) [c](#top) [d](table.csv)\n", base=".", title="t")
    for href in ("https://doi.org/10.1/x", "mailto:a@b.c", "#top", "table.csv"):
        assert f'href="{href}"' in page


def test_table_of_contents_links_every_section_and_only_the_reports_anchors_are_kept():
    md = "# Report\n\n## Key findings\n\n## Scores &lt;x&gt;\n\n### Détails\n\n#### deep\n\n<a id=\"scores\"></a>\n\n<a id=\"x\" onclick=\"y\"></a>\n"
    page = markdown_to_html(md, base=".", title="t")
    nav = page[page.index("<nav") : page.index("</nav>")]
    hrefs = re.findall(r'href="#([^"]+)"', nav)
    assert len(hrefs) == 3  # levels 2 and 3
    for h in hrefs:
        assert f'id="{h}"' in page
    assert "Scores &lt;x&gt;" in nav
    assert '<a id="scores"></a>' in page  # the report's own anchor line
    assert '<p>&lt;a id="x" onclick="y"&gt;&lt;/a&gt;</p>' in page  # any other markup is text


def test_write_report_writes_the_self_contained_page(tmp_path):
    import json

    from clustermodel.report import write_report

    (tmp_path / "scores.json").write_text(json.dumps({"findings": [f"**Top** {md_escape('<b>A|B</b>')} [scores](scores.md), [figure](scores_x.png)"]}))
    (tmp_path / "scores.md").write_text("## Table\n\n| a | b |\n|---|---|\n| " + md_escape("x|y") + " | 1 |\n")
    (tmp_path / "scores_x.png").write_bytes(PNG_1x1)
    write_report(tmp_path, ["scores"], title="T <i>")
    page = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in page and 'href="#fig-scores_x"' in page and 'href="#scores"' in page
    assert "&lt;b&gt;A|B&lt;/b&gt;" in page and "<td>x|y</td>" in page
    assert "<title>T &lt;i&gt;</title>" in page
    md = (tmp_path / "report.md").read_text()
    assert md.startswith("# T &lt;i&gt;\n")
    # one contents list each: the Markdown's own section, the page's side bar (not both)
    assert "## Contents" in md and page.count(">Contents<") == 1
