"""The report as one self-contained, safe HTML file.

:func:`markdown_to_html` converts the report's Markdown (Python-Markdown, with
tables, fenced code and heading ids) into a single HTML page that can be mailed:

- every image ``![…](figure.png)`` is embedded as a ``data:`` URI (PNG, JPEG,
  GIF, WebP or SVG, recognised by their bytes; a missing file becomes a visible
  note, never a broken image);
- a table of contents, built from the level-2 and level-3 headings, links to
  their ids; links to a section's source file (``[sobol](sobol.md)``) or to an
  embedded figure (``[figure](sobol_bars.png)``) become links within the page;
- **no raw HTML passes**: Python-Markdown passes raw HTML by default, so the
  converter removes that ability and every ``<`` in the text reaches the page as
  ``&lt;``. Data should still be escaped with
  :func:`clustermodel.reporting._text.md_escape` before it enters Markdown (so a
  ``|`` in a name cannot shift a table column); the converter is the second
  line. The only markup it keeps is the report layer's own anchor lines
  ``<a id="name"></a>`` (a name of letters, digits, ``_`` and ``-``). Links keep
  only relative, ``#``, ``http(s)`` and ``mailto`` targets;
- a Content-Security-Policy forbids every script, and every resource that is
  not a ``data:`` image, so even a mistake elsewhere cannot run code.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree as etree

import markdown
from markdown.extensions import Extension
from markdown.extensions.toc import TocExtension, slugify_unicode
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

__all__ = ["markdown_to_html", "CSS", "CONTENT_SECURITY_POLICY"]

#: No script, no remote resource: styles inline, images only as data URIs.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --rule: #d1d9e0; --band: #f6f8fa; --link: #0550ae; }
* { box-sizing: border-box; }
html { font-size: 16px; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.55;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
.page { display: grid; grid-template-columns: minmax(0, 17rem) minmax(0, 1fr); gap: 2.5rem;
        max-width: 92rem; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
nav.toc { position: sticky; top: 1rem; align-self: start; max-height: calc(100vh - 2rem); overflow-y: auto;
          font-size: 0.85rem; border-right: 1px solid var(--rule); padding-right: 1rem; }
nav.toc .toc-title { font-weight: 600; margin: 0 0 0.5rem; }
nav.toc ul { list-style: none; margin: 0; padding-left: 0.9rem; }
nav.toc > div > ul { padding-left: 0; }
nav.toc li { margin: 0.2rem 0; }
main { min-width: 0; max-width: 62rem; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.8em 0 0.6em; }
h1 { font-size: 1.9rem; margin-top: 0.2em; }
h2 { font-size: 1.45rem; border-bottom: 1px solid var(--rule); padding-bottom: 0.25em; }
h3 { font-size: 1.2rem; }
h4 { font-size: 1.05rem; }
a { color: var(--link); }
a:target, h2:target, h3:target, h4:target { scroll-margin-top: 1rem; }
p, li { max-width: 48rem; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.88em;
       background: var(--band); padding: 0.1em 0.3em; border-radius: 4px; overflow-wrap: anywhere; }
pre { background: var(--band); padding: 0.8rem 1rem; border-radius: 6px; overflow-x: auto; }
pre code { background: none; padding: 0; }
.table-wrap { overflow-x: auto; margin: 1rem 0; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.88rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--rule); padding: 0.3rem 0.6rem; vertical-align: top; }
th { background: var(--band); text-align: left; }
tbody tr:nth-child(even) { background: #fbfcfd; }
figure { margin: 1.2rem 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--rule); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 0.85rem; margin-top: 0.3rem; }
.missing { color: #9a3412; background: #fff7ed; border: 1px solid #fed7aa; padding: 0.4rem 0.6rem; border-radius: 4px; }
@media (max-width: 60rem) {
  .page { display: block; padding: 1rem; }
  nav.toc { position: static; max-height: none; border-right: none; border-bottom: 1px solid var(--rule);
            padding: 0 0 1rem; margin-bottom: 1rem; }
}
@media print {
  .page { display: block; max-width: none; padding: 0; }
  nav.toc { position: static; max-height: none; border: none; }
  figure, table { break-inside: avoid; }
}
"""

#: The report layer's own anchor lines, the one piece of markup kept.
_ANCHOR_LINE = re.compile(r'^\s*<a id="([A-Za-z][A-Za-z0-9_-]{0,80})"></a>\s*$')
_SAFE_SCHEMES = {"http", "https", "mailto"}
_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _image_type(data: bytes) -> str | None:
    for magic, mime in _IMAGE_TYPES:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "image/svg+xml"  # as an <img>, an SVG's scripts never run
    return None


def _local(href: str) -> Path | None:
    """The relative file path a link or image source names, or None (a scheme, an absolute path, a '#')."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return None
    return Path(unquote(parts.path))


def _fig_id(name: str) -> str:
    return "fig-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).stem).strip("-") or "image")


class _KeepAnchors(Preprocessor):
    """Replace the report's own ``<a id="…"></a>`` lines by stashed HTML before raw HTML is disabled."""

    def __init__(self, md, ids: set):
        super().__init__(md)
        self.ids = ids

    def run(self, lines):
        out = []
        for line in lines:
            m = _ANCHOR_LINE.match(line)
            if m:
                self.ids.add(m.group(1))
                out.append(self.md.htmlStash.store(f'<a id="{m.group(1)}"></a>'))
            else:
                out.append(line)
        return out


class _Embed(Treeprocessor):
    """Embed images, make local links point within the page, drop unsafe link targets, wrap tables."""

    def __init__(self, md, base: Path, anchors: set):
        super().__init__(md)
        self.base = base
        self.anchors = anchors

    def _data_uri(self, src: str):
        rel = _local(src)
        if rel is None:
            return None, "not a file next to the report"
        try:
            path = (self.base / rel).resolve()
            path.relative_to(self.base.resolve())
        except (ValueError, OSError):
            return None, "outside the report's folder"
        try:
            data = path.read_bytes()
        except OSError:
            return None, "not found"
        mime = _image_type(data)
        if mime is None:
            return None, "not an image"
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", None

    def run(self, root):
        parents = {child: parent for parent in root.iter() for child in parent}
        ids = set(self.anchors) | {e.get("id") for e in root.iter() if e.get("id")}
        embedded = {}
        for img in list(root.iter("img")):
            src = img.get("src", "")
            alt = img.get("alt", "")
            uri, problem = self._data_uri(src)
            parent = parents.get(img)
            if uri is None:
                note = etree.Element("span", {"class": "missing"})
                note.text = f"[figure {src!r} {problem}]"
                note.tail = img.tail
                if parent is not None:
                    parent[list(parent).index(img)] = note
                continue
            fid = _fig_id(unquote(urlsplit(src).path))
            n, base_id = 1, fid
            while fid in ids:
                n += 1
                fid = f"{base_id}-{n}"
            ids.add(fid)
            embedded.setdefault(Path(unquote(urlsplit(src).path)).name, fid)
            img.attrib = {"src": uri, "alt": alt, "loading": "eager", "decoding": "sync"}
            # an image alone in its paragraph becomes a figure with its alt text as the caption
            if parent is not None and parent.tag == "p" and len(parent) == 1 and not (parent.text or "").strip() and not (img.tail or "").strip():
                parent.tag = "figure"
                parent.attrib = {"id": fid}
                img.tail = None
                if alt:
                    cap = etree.SubElement(parent, "figcaption")
                    cap.text = alt
            else:
                img.set("id", fid)
        for a in root.iter("a"):
            href = a.get("href")
            if href is None:
                continue
            parts = urlsplit(href)
            rel = _local(href)
            if href.startswith("#"):
                continue
            if rel is not None and rel.name in embedded:
                a.set("href", "#" + embedded[rel.name])
            elif rel is not None and rel.suffix == ".md" and rel.stem in ids:
                a.set("href", "#" + rel.stem)
            elif rel is None and parts.scheme.lower() not in _SAFE_SCHEMES:
                del a.attrib["href"]  # javascript:, data:, file:, vbscript:, an absolute path …
        for table in list(root.iter("table")):
            parent = parents.get(table)
            if parent is not None and not (parent.tag == "div" and parent.get("class") == "table-wrap"):
                wrap = etree.Element("div", {"class": "table-wrap"})
                wrap.tail = table.tail
                table.tail = None
                parent[list(parent).index(table)] = wrap
                wrap.append(table)


class _ReportExtension(Extension):
    """No raw HTML (except the report's anchor lines); images embedded; local links resolved."""

    def __init__(self, base: Path, **kwargs):
        self.base = base
        self.anchors: set = set()
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.preprocessors.register(_KeepAnchors(md, self.anchors), "keep_anchors", 21)
        md.treeprocessors.register(_Embed(md, self.base, self.anchors), "embed", 1)


def markdown_to_html(markdown_text: str, *, base: Path, title: str) -> str:
    """Convert the report's Markdown into one self-contained HTML page.

    Parameters
    ----------
    markdown_text : str
        The report. Data in it should have gone through
        :func:`~clustermodel.reporting._text.md_escape`; raw HTML is shown as
        text in any case.
    base : Path
        The folder relative to which image sources and links are resolved
        (the report's folder); images outside it are not embedded.
    title : str
        The page title (escaped).

    Returns
    -------
    str
        ``<!DOCTYPE html>…``: figures as data URIs, a table of contents, CSS and
        a Content-Security-Policy that allows no script.

    Examples
    --------
    >>> page = markdown_to_html("# Report\\n\\n## Scores\\n\\n| a |\\n|---|\\n| &lt;b&gt; |\\n\\n<b>raw</b>", base=Path("."), title="R")
    >>> "<b>" in page, "&lt;b&gt;raw&lt;/b&gt;" in page, 'href="#scores"' in page
    (False, True, True)
    """
    ext = _ReportExtension(Path(base))
    md = markdown.Markdown(
        extensions=["tables", "fenced_code", "sane_lists", TocExtension(toc_depth="2-3", slugify=slugify_unicode, marker="", title=""), ext],
        output_format="html",
    )
    body = md.convert(str(markdown_text))
    toc = md.toc if getattr(md, "toc_tokens", None) else ""
    nav = f'<nav class="toc" aria-label="Contents"><p class="toc-title">Contents</p>\n{toc}</nav>\n' if toc else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{html.escape(str(title))}</title>\n<style>{CSS}</style>\n</head>\n"
        f'<body>\n<div class="page">\n{nav}<main>\n{body}\n</main>\n</div>\n</body>\n</html>\n'
    )
