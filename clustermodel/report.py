"""Stage 6: the reviewer-ready report (report.md, report.html, manifest.json).

The report opens with the findings every stage recorded in its JSON (each with
its number and a link to the table or figure), then includes every stage's
details. ``manifest.json`` records the package version, the git commit, the
SHA-256 of every input, the config (seeds, sizes, spec) and a timestamp — the
only thing that changes between two runs with the same seed.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import subprocess
from pathlib import Path

from clustermodel import __version__
from clustermodel._io import ensure_dir, staged_outputs, write_text

__all__ = ["run_study", "write_report", "write_manifest"]

TITLES = {
    "scores": "Nominal scores and whether the weights matter",
    "reproduction": "Reproduction of the paper (Tables 5-6, Figure 13)",
    "sobol": "Sobol sensitivity to the weights and the method",
    "bootstrap": "Bootstrap over expert panels and over clusters",
    "correlation": "The cluster-region relationship and the industry effect",
}


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _relative(path: str, root: Path) -> str:
    """The input's path relative to ``root``, else as given: never its bare file name, which two inputs
    may share (one hash would be dropped) and which names a pipe ``<(cat file)`` only by its descriptor."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except (ValueError, OSError):
        return str(path)


def _heading_level(line: str) -> int:
    stripped = line.lstrip("#")
    return len(line) - len(stripped) if line.startswith("#") and stripped.startswith(" ") else 0


def _nest_headings(body: str, *, top: int) -> str:
    """Shift Markdown headings so that the shallowest becomes level ``top`` (code blocks untouched)."""
    lines = body.splitlines()
    levels = [_heading_level(ln) for ln in lines]
    shallowest = min((lv for lv in levels if lv), default=top)
    shift = top - shallowest
    return "\n".join(("#" * (lv + shift) + ln[lv:]) if lv else ln for ln, lv in zip(lines, levels))


def write_report(out, stages, *, title: str = "clustermodel report", preamble: str = "") -> Path:
    """Assemble report.md and report.html from the stages' JSON and Markdown in ``out``.

    report.html is one self-contained page (:func:`clustermodel.reporting.html.markdown_to_html`): the
    figures embedded, a table of contents, no raw HTML from the Markdown, no script.
    """
    from clustermodel.reporting._text import md_escape
    from clustermodel.reporting.html import markdown_to_html

    out = Path(out)
    lines = [f"# {md_escape(title)}", ""]
    if preamble:
        lines += [preamble, ""]
    lines += ["## Key findings", ""]
    present = []
    for name in stages:
        js = out / f"{name}.json"
        if not js.exists():
            continue
        present.append(name)
        for f in json.loads(js.read_text(encoding="utf-8")).get("findings", []):
            lines.append(f"- {f}")
    lines += ["", "## Contents", ""]
    lines += [f"- [{TITLES.get(n, n)}](#{n})" for n in present]
    for name in present:
        md = out / f"{name}.md"
        lines += ["", f'<a id="{name}"></a>', "", f"## {TITLES.get(name, name)}", ""]
        if md.exists():
            lines.append(_nest_headings(md.read_text(encoding="utf-8"), top=3))
        pngs = sorted(p.name for p in out.glob(f"{name}*.png")) + (["figure13.png"] if name == "reproduction" else [])
        for png in pngs:
            if (out / png).exists():
                lines += ["", f"![{png}]({png})"]
    text = "\n".join(lines) + "\n"
    write_text(out / "report.md", text)
    write_text(out / "report.html", markdown_to_html(text, base=out, title=title))
    return out / "report.md"


def write_manifest(out, *, study, config: dict, stages, root: Path | None = None) -> Path:
    """manifest.json: version, commit, input hashes, config, output hashes and a timestamp."""
    out = Path(out)
    root = Path(root) if root is not None else Path.cwd()
    outputs = {}
    for p in sorted(out.iterdir()):
        if p.is_file() and p.name != "manifest.json" and not p.name.startswith("."):
            outputs[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    manifest = {
        "package": "clustermodel",
        "version": __version__,
        "git_commit": _git_commit(root),
        "inputs": {_relative(k, root): v for k, v in study.sources.items()},
        "config": config,
        "specs": {n: json.loads((out / f"{n}.json").read_text(encoding="utf-8")).get("spec") for n in stages if (out / f"{n}.json").exists()},
        "stages": list(stages),
        "outputs": outputs,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_text(out / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return out / "manifest.json"


def run_study(study, config: dict, out, *, stages=None, title: str = "clustermodel report", preamble: str = "", progress=print):
    """Run every stage on ``study``, then write the report and the manifest."""
    from clustermodel.workflow import STAGES

    out = ensure_dir(out)
    names = list(stages or config.get("order", STAGES))
    for name in names:
        if name not in STAGES:
            from clustermodel._errors import ClusterModelError

            raise ClusterModelError(f"unknown analysis {name!r} in the config's `order`; known: {', '.join(STAGES)}")
    done = []
    for name in names:
        if progress:
            progress(f"[clustermodel] {name} …")
        with staged_outputs(out) as stage:  # a stage that fails leaves nothing behind
            if STAGES[name](study, config, stage) is not None:
                done.append(name)
    write_report(out, done, title=title, preamble=preamble)
    write_manifest(out, study=study, config=config, stages=done)
    return done
