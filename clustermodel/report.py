"""The one orchestrator: every analysis on a study, one report, one transaction.

:func:`run_study` serves both ``clustermodel report`` and ``python3 tasks.py report``. It validates the whole
config before any stage runs (:mod:`clustermodel.config`), derives the one spec every stage uses, runs the stages
in order — a stage that cannot run on this study is named with its reason, in the terminal and in the report —
and writes report.md, report.html and manifest.json. The whole run is one transaction on the output folder
(:mod:`clustermodel._transaction`): locked against a second run, staged, and published at once or not at all;
the report contains only the outputs of the run that wrote it.

The report opens with at most seven conclusions the stages drew (one number, one interval and one link each) and
one headline figure; each stage's section then opens with its findings in brief (each naming the analysis and spec
it comes from) before its details. ``manifest.json`` records the package
version, the git commit, the SHA-256 of every input, the config (seeds, sizes, spec), each stage's spec, the
stages skipped and why, and the SHA-256 of every output.

It holds no timestamp, so two runs with the same seed on the same checkout and environment give the
same bytes in every file; the run's time goes into ``run.json``, which is not tracked.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path

from dataclasses import dataclass
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from clustermodel._version import __version__
from clustermodel._errors import ClusterModelError
from clustermodel._io import json_text, write_text
from clustermodel._transaction import published, raise_if_interrupted

if TYPE_CHECKING:
    from clustermodel._typing import PathLike
    from clustermodel.data import Study

__all__ = ["run_study", "run_analysis", "write_report", "write_manifest", "RunSummary", "StageRun"]

def stage_titles(nouns=None, *, paper: bool = False) -> dict:
    """The report's section title of every stage, in the study's words."""
    from clustermodel.nouns import Nouns

    n = nouns or Nouns()
    return {
        "scores": "Nominal scores and whether the weights matter",
        "reproduction": "Reproduction of the paper (Tables 5-6, Figure 13)" if paper else "Reproduction of the published values",
        "audit": "Audit of the index: data, coherence, importance, removal, variants",
        "sobol": "Sobol' sensitivity to the weights and the method",
        "bootstrap": f"Bootstrap over expert panels and over {n.units}",
        "correlation": f"The {n.unit}–{n.higher} relationship and the {n.group} effect",
    }


TITLES = stage_titles()


#: Files of a run that the manifest does not hash: itself and the run's untracked time stamp.
_UNHASHED = {"manifest.json", "run.json"}
#: Nor the NetCDF files: they hold every number at full precision, whose last bits differ between machines,
#: and are not tracked; hashing them would make the tracked manifest differ wherever the report is rerun.
_UNHASHED_SUFFIXES = {".nc", ".xlsx"}  # the workbook: a copy of the hashed CSVs, its zip entries time-stamped


def _relative(path: str, root: Path) -> str:
    """The input's path relative to ``root``, else as given: never its bare file name, which two inputs
    may share (one hash would be dropped) and which names a pipe ``<(cat file)`` only by its descriptor."""
    from clustermodel._resources import repository_path

    shipped = repository_path(path)  # the paper's files: data/... whether from a checkout or a wheel
    if shipped is not None:
        return shipped
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


#: Conclusions at the top of the report (each stage gives one or two, in stage order).
MAX_CONCLUSIONS = 7
#: The report's one headline figure: the first of these a run wrote.
HEADLINE_FIGURES = ("scores_scenarios.png", "correlation.png", "sobol_audit_ranks.png", "bootstrap_ranks.png")


def write_report(out, stages, *, skipped=None, title: str = "clustermodel report", preamble: str = "", nouns=None, paper: bool = False) -> Path:
    """Assemble report.md and report.html from the stages' JSON and Markdown in ``out`` (this run's staging folder).

    ``skipped`` maps a stage that did not run to its reason; the report names each one. report.html is one
    self-contained page (:func:`clustermodel.reporting.html.markdown_to_html`): the figures embedded, a table of
    contents, no raw HTML from the Markdown, no script.
    """
    from clustermodel.reporting._text import md_escape
    from clustermodel.reporting.html import markdown_to_html


    TITLES = stage_titles(nouns, paper=paper)
    out = Path(out)
    lines = [f"# {md_escape(title)}", ""]
    if preamble:
        lines += [preamble, ""]
    present, found, concluded = [], {}, []
    for name in stages:
        js = out / f"{name}.json"
        if not js.exists():
            continue
        present.append(name)
        data = json.loads(js.read_text(encoding="utf-8"))
        found[name] = data.get("findings", [])
        concluded += data.get("headlines", [])
    lines += ["## Conclusions", ""]
    lines += [f"{k}. {c}" for k, c in enumerate(concluded[:MAX_CONCLUSIONS], 1)] or ["No stage drew a conclusion."]
    headline = next((png for png in HEADLINE_FIGURES if (out / png).exists()), None)
    if headline:
        lines += ["", f"![{headline}]({headline})"]
    lines += ["", "Each section below opens with its findings in brief, with the analysis and spec each number comes from."]
    if skipped:
        lines += ["", "## Analyses not run", ""]
        lines += [f"- **{TITLES.get(n, n) if n in TITLES else n}**: {reason}" for n, reason in skipped.items()]
    at = len(lines)  # the Markdown's contents list goes here; the HTML page has its own in the side bar
    contents = ["", "## Contents", "", *[f"- [{TITLES.get(n, n)}](#{n})" for n in present]]
    for name in present:
        md = out / f"{name}.md"
        lines += ["", f'<a id="{name}"></a>', "", f"## {TITLES.get(name, name)}", ""]
        if found.get(name):
            lines += ["### In brief", "", *[f"- {f}" for f in found[name]], ""]
        if md.exists():
            lines.append(_nest_headings(md.read_text(encoding="utf-8"), top=3))
        pngs = sorted(p.name for p in out.glob(f"{name}*.png")) + (["figure13.png"] if name == "reproduction" else [])
        for png in pngs:
            if (out / png).exists():
                lines += ["", f"![{png}]({png})"]
    write_text(out / "report.md", "\n".join(lines[:at] + contents + lines[at:]) + "\n")
    write_text(out / "report.html", markdown_to_html("\n".join(lines) + "\n", base=out, title=title))
    return out / "report.md"


def write_manifest(out, *, study, config: dict, stages, skipped=None, partial=None, root: Path | None = None) -> Path:
    """manifest.json (no timestamp) and run.json (the time of the run; not tracked).

    manifest.json: package version, checkout state (commit, modified or not, the modified paths outside
    ``out``), environment (Python, platform, every dependency's version), input hashes (named relative to
    ``root``, default the current folder; the paper's files as ``data/...``), config, stage specs and the
    hashes of the outputs (NetCDF excluded: full precision, untracked).
    """
    from clustermodel._provenance import checkout_state, environment

    out = Path(out)
    root = Path(root) if root is not None else Path.cwd()
    outputs, unhashed = {}, ["run.json"]
    for p in sorted(out.iterdir()):
        if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json":
            if p.name in _UNHASHED or p.suffix in _UNHASHED_SUFFIXES:
                unhashed.append(p.name)
            else:
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
        "skipped": dict(skipped or {}),
        "parts_skipped": dict(partial or {}),
        "outputs": outputs,
        "unhashed_outputs": sorted(set(unhashed)),  # full-precision NetCDF and the run's time: not compared across machines
    }
    write_text(out / "manifest.json", json_text(manifest))
    run = {"created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "manifest": "manifest.json"}
    write_text(out / "run.json", json_text(run))
    return out / "manifest.json"


@dataclass(frozen=True)
class RunSummary:
    """What a report run did: the stages that ran, and those skipped with the reason."""

    done: tuple
    skipped: dict
    out: Path

    def __len__(self) -> int:
        return len(self.done)

    def __iter__(self):
        return iter(self.done)


def _nouns_for(study, config: dict):
    from clustermodel.nouns import Nouns

    given = {k: v for k, v in config.get("_given_study", {}).items()}
    base = getattr(study, "nouns", None) or Nouns()
    if not any(k.endswith("_noun") or k.endswith("_plural") for k in given):
        return base
    kw = base.to_dict()
    for name in ("unit", "group", "higher"):
        if f"{name}_noun" in given:
            kw[name] = given[f"{name}_noun"]
            kw[name + "s"] = ""
        if f"{name}_noun_plural" in given:
            kw[name + "s"] = given[f"{name}_noun_plural"]
    return Nouns(**kw)


def _refuse_inputs_inside(study, out: Path) -> None:
    root = out.resolve()
    for src in study.sources:
        p = Path(src)
        try:
            inside = p.exists() and root in p.resolve().parents
        except OSError:
            inside = False
        if inside:
            raise ClusterModelError(
                f"input {src} is inside the output folder {out}; a report replaces that folder's outputs: move the input "
                "or choose another --out"
            )


def _prepared(study, config, config_source):
    """The config validated as a whole and merged over the defaults, the study in its nouns, and the one spec every
    stage uses checked against the study before any stage runs."""
    from clustermodel.config import validate_config
    from clustermodel.workflow import spec_from_config

    given_study = dict(config.get("study", {})) if isinstance(config, dict) else {}
    config = validate_config(config, config_source)
    config["_given_study"] = given_study
    nouns = _nouns_for(study, config)
    study = study.replace(nouns=nouns)
    spec_from_config(study, config)  # a bad [spec] or a spec the study cannot take fails before any stage runs
    return study, config, nouns


def _output_folder(study, out) -> Path:
    out = Path(out)
    if str(out) == "":
        raise ClusterModelError("an empty output folder; name one, e.g. --out reports")
    _refuse_inputs_inside(study, out)
    return out


def _run_stage(name, study, config, stage, say, *, say_skipped: bool = True) -> tuple[str | None, dict]:
    """Run one stage's runner into ``stage``; return (the reason it could not run or None, {part: why} of the parts
    of it that could not), each said to ``say`` (the reason only with ``say_skipped``)."""
    from clustermodel._io import unit_key
    from clustermodel.paper import file_unit_key
    from clustermodel.workflow import STAGES

    with unit_key(file_unit_key(study)):
        result = STAGES[name](study, config, stage)
    reason = result.get("skipped") if isinstance(result, dict) else ("not applicable to this study" if result is None else None)
    if isinstance(reason, dict):  # the stage ran; some of its parts could not (its report names them)
        for part, why in reason.items():
            say(f"[clustermodel] {name}: {part} skipped: {why}")
        return None, dict(reason)
    if isinstance(reason, str) and reason:
        if say_skipped:
            say(f"[clustermodel] {name} skipped: {reason}")
        return reason, {}
    return None, {}


@dataclass(frozen=True)
class StageRun:
    """One analysis run alone (:func:`run_analysis`): its record and the text of its two main files."""

    name: str
    #: ``<name>.md`` as written: the analysis in words and tables.
    markdown: str
    #: ``<name>.json`` as written: every number of the analysis, machine-readable.
    json: str
    #: Where its files were published, or None (computed in a temporary folder and not kept).
    out: Path | None


def run_analysis(
    study: Study,
    config: dict[str, Any],
    name: str,
    out: PathLike | None = None,
    *,
    progress: Callable[[str], object] | None = None,
    config_source: PathLike | None = None,
) -> StageRun:
    """Run one analysis of the report alone: what ``clustermodel sobol``, ``bootstrap``, ``correlate`` and
    ``reproduce`` do.

    The same runner (:data:`clustermodel.workflow.STAGES`), the same validated config and the same spec as in
    :func:`run_study`, so a subcommand and the report write byte-identical files for the same settings. With ``out``
    the files are published into it as one transaction (locked, staged, all or nothing; files already there are
    replaced only where this run writes the same name, and nothing is deleted); without it they are written into a
    temporary folder that is removed after its Markdown and JSON are read.

    Raises
    ------
    ClusterModelError
        If the analysis cannot run on this study (the reason is the message), or for a bad config.
    """
    import tempfile

    from clustermodel._background import in_background
    from clustermodel.workflow import STAGES

    if name not in STAGES:
        raise ClusterModelError(f"unknown analysis {name!r}; known: {', '.join(STAGES)}")
    study, config, _ = _prepared(study, config, config_source)
    say = progress or (lambda *_: None)

    def run(stage: Path) -> StageRun:
        with in_background() as figures:
            reason, _ = _run_stage(name, study, config, stage, say, say_skipped=False)  # the error below says it
            if reason:
                from clustermodel.config import COMMANDS

                raise ClusterModelError(f"{COMMANDS.get(name, name)} cannot run on this study: {reason}")
            if figures is not None:
                figures.wait()
        text = lambda suffix: (stage / f"{name}{suffix}").read_text(encoding="utf-8")  # noqa: E731
        return StageRun(name=name, markdown=text(".md"), json=text(".json"), out=None if out is None else Path(out))

    if out is None:
        with tempfile.TemporaryDirectory(prefix="clustermodel-") as tmp:
            return run(Path(tmp))
    with published(_output_folder(study, out), replace_previous=False, say=say) as stage:
        return run(stage)


def run_study(
    study: Study,
    config: dict[str, Any],
    out: PathLike,
    *,
    stages: Sequence[str] | None = None,
    title: str | None = None,
    preamble: str = "",
    progress: Callable[[str], object] | None = print,
    config_source: PathLike | None = None,
    root: Path | None = None,
    excel: bool = False,
) -> RunSummary:
    """Run every stage on ``study`` as one transaction on ``out``, then write the report and the manifest.

    Parameters
    ----------
    study : Study
    config : dict
        The analysis config (validated here as a whole, merged over the defaults of :mod:`clustermodel.config`).
    out : path
        The output folder; locked for the run, published at once at the end.
    stages : sequence of str, optional
        Run only these (default: the config's ``order``).
    progress : callable or None
        Receives one line per stage (``print`` by default).
    config_source : path, optional
        Where the config came from, for messages.
    excel : bool
        Also write ``report.xlsx``: every CSV table of the run as a sheet (:func:`clustermodel.workbook.write_workbook`).

    Returns
    -------
    RunSummary
    """
    from clustermodel.workflow import STAGES

    study, config, nouns = _prepared(study, config, config_source)
    names = list(stages or config["order"])
    for name in names:
        if name not in STAGES:
            raise ClusterModelError(f"unknown analysis {name!r}; known: {', '.join(STAGES)}")
    given_study = config["_given_study"]
    title = title or (config["study"]["title"] if "title" in given_study else getattr(study, "title", None) or "clustermodel report")
    out = _output_folder(study, out)
    say = progress or (lambda *_: None)
    from clustermodel._background import in_background

    with published(out, replace_previous=True, say=say) as stage, in_background() as figures:
        done, skipped, partial = [], {}, {}
        for name in names:
            raise_if_interrupted()
            say(f"[clustermodel] {name} …")
            reason, parts = _run_stage(name, study, config, stage, say)
            if reason:
                skipped[name] = reason
            else:
                done.append(name)
                partial.update({f"{name}: {part}": why for part, why in parts.items()})
        config.pop("_given_study", None)
        if figures is not None:  # every figure is in the folder before the report that embeds them
            figures.wait()
        if excel:
            from clustermodel.workbook import write_workbook

            write_workbook(stage, stage / "report.xlsx")
        write_report(stage, done, skipped={**skipped, **partial}, title=title, preamble=preamble, nouns=nouns, paper=bool(getattr(study, "paper", False)))
        write_manifest(stage, study=study, config=config, stages=done, skipped=skipped, partial=partial, root=root)
    return RunSummary(done=tuple(done), skipped=skipped, out=out)
