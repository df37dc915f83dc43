"""Stage 6: the reviewer-ready report (report.md, report.html, manifest.json).

The report opens with the findings every stage recorded in its JSON (each with
its number and a link to the table or figure), then includes every stage's
details. ``manifest.json`` records the package version, the checkout (commit
and whether the working tree was modified), Python, the platform and every
dependency's version, the SHA-256 of every input and output and the config
(seeds, sizes, spec). It holds no timestamp, so two runs with the same seed on
the same checkout and environment give the same bytes in every file; the run's
time goes into ``run.json``, which is not tracked.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path

from clustermodel import __version__
from clustermodel._io import ensure_dir, json_text, staged_outputs, write_text

__all__ = ["run_study", "write_report", "write_manifest"]

TITLES = {
    "scores": "Nominal scores and whether the weights matter",
    "reproduction": "Reproduction of the paper (Tables 5-6, Figure 13)",
    "sobol": "Sobol sensitivity to the weights and the method",
    "bootstrap": "Bootstrap over expert panels and over clusters",
    "correlation": "The cluster-region relationship and the industry effect",
}


#: Files of a run that the manifest does not hash: itself and the run's untracked time stamp.
_UNHASHED = {"manifest.json", "run.json"}
#: Nor the NetCDF files: they hold every number at full precision, whose last bits differ between machines,
#: and are not tracked; hashing them would make the tracked manifest differ wherever the report is rerun.
_UNHASHED_SUFFIXES = {".nc"}


def _relative(path: str, root: Path) -> str:
    from clustermodel._resources import repository_path

    shipped = repository_path(path)  # the paper's files: data/... whether from a checkout or a wheel
    if shipped is not None:
        return shipped
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return Path(path).name


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
    """Assemble report.md and report.html from the stages' JSON and Markdown in ``out``."""
    import markdown

    out = Path(out)
    lines = [f"# {title}", ""]
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
    html_body = markdown.markdown(text, extensions=["tables", "fenced_code"])
    html = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
        + title
        + "</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
        "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px}"
        "img{max-width:100%}</style></head><body>\n"
        + html_body
        + "\n</body></html>\n"
    )
    write_text(out / "report.html", html)
    return out / "report.md"


def write_manifest(out, *, study, config: dict, stages, root: Path | None = None) -> Path:
    """manifest.json (no timestamp) and run.json (the time of the run; not tracked).

    manifest.json: package version, checkout state (commit, modified or not, the modified paths outside
    ``out``), environment (Python, platform, every dependency's version), input hashes (named relative to
    ``root``, default the current folder; the paper's files as ``data/...``), config, stage specs and the
    hashes of the outputs (NetCDF excluded: full precision, untracked).
    """
    from clustermodel._provenance import checkout_state, environment

    out = Path(out)
    root = Path(root) if root is not None else Path.cwd()
    outputs = {}
    for p in sorted(out.iterdir()):
        if p.is_file() and p.name not in _UNHASHED and p.suffix not in _UNHASHED_SUFFIXES and not p.name.startswith("."):
            outputs[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    manifest = {
        "package": "clustermodel",
        "version": __version__,
        "checkout": checkout_state(exclude=out),
        "environment": environment(),
        "inputs": {_relative(k, root): v for k, v in study.sources.items()},
        "config": config,
        "specs": {n: json.loads((out / f"{n}.json").read_text(encoding="utf-8")).get("spec") for n in stages if (out / f"{n}.json").exists()},
        "stages": list(stages),
        "outputs": outputs,
    }
    write_text(out / "manifest.json", json_text(manifest))
    run = {"created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "manifest": "manifest.json"}
    write_text(out / "run.json", json_text(run))
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
