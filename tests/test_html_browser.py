"""The HTML report in a real browser: headless Chromium loads it, every image decodes, no link is broken.

A small report is written by :func:`clustermodel.report.write_report` from two
stages whose Markdown, findings and figures carry hostile unit names. A harness
page loads it in an iframe (``--allow-file-access-from-files`` makes the file
same-origin), inspects it after the load event and writes its findings into its
own DOM, which ``--dump-dom`` prints. The same harness loads a control page with
a broken image and a broken anchor, to show that the checks can fail. A
screenshot of the report is written for a person to look at (its path is
printed; set ``CLUSTERMODEL_SCREENSHOT_DIR`` to keep it somewhere else than
pytest's temporary folder).

Skipped where Chromium is absent (Debian package ``chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (Debian package `chromium`; .ci/run installs it)"
)

EVIL = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "A|B & C", "x_y*z", "[l](javascript:alert(3))", "日本 & Côte d'Ivoire"]

HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<pre id="result">pending</pre>
<iframe id="report" src="report.html" width="1280" height="900"></iframe>
<iframe id="control" src="control.html" width="600" height="300"></iframe>
<script>
function inspect(frame) {
  var doc = document.getElementById(frame).contentDocument;
  var ids = new Set(Array.from(doc.querySelectorAll("[id]")).map(function (e) { return e.id; }));
  var links = Array.from(doc.querySelectorAll("a[href]")).map(function (a) { return a.getAttribute("href"); });
  var handlers = Array.from(doc.querySelectorAll("*")).filter(function (e) {
    return Array.from(e.attributes).some(function (a) { return a.name.toLowerCase().indexOf("on") === 0; });
  }).length;
  return {
    title: doc.title,
    images: Array.from(doc.images).map(function (i) { return {complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}; }),
    anchors: links.filter(function (h) { return h.charAt(0) === "#"; }),
    broken: links.filter(function (h) { return h.charAt(0) === "#" && !ids.has(decodeURIComponent(h.slice(1))); }),
    files: links.filter(function (h) { return h.charAt(0) !== "#"; }),
    scripts: doc.scripts.length,
    handlers: handlers,
    text: doc.body.innerText.slice(0, 20000)
  };
}
window.addEventListener("load", function () {
  var out = document.getElementById("result");
  try { out.textContent = JSON.stringify({report: inspect("report"), control: inspect("control")}); }
  catch (e) { out.textContent = JSON.stringify({error: String(e)}); }
});
</script></body></html>
"""

CONTROL = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>control</title></head><body>
<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAAB=broken">
<a href="#nowhere">a broken anchor</a></body></html>
"""


def _chromium(*args, user_data: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={user_data}",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=timeout)


def _write_report(out: Path) -> Path:
    """Two stages with hostile names in their findings, tables and figures; then write_report."""
    from clustermodel import plots
    from clustermodel.report import write_report
    from clustermodel.reporting._text import md_escape

    rng = np.random.default_rng(0)
    n = len(EVIL)
    x, y = rng.random(n), rng.random(n)
    plots.scenario_plot(x, y, EVIL, ["g1", "g2"] * (n // 2), (0.5, 0.5), {"lonely": 1}, out / "scores_scenarios.png")
    boot_labels = [f"u{i}" for i in range(n)]
    plots.scenario_plot(y, x, boot_labels, None, (0.5, 0.5), {}, out / "correlation.png")
    table = ["| id | name | index |", "|---|---|---:|"] + [f"| u{i} | {md_escape(name)} | {v:.3f} |" for i, (name, v) in enumerate(zip(EVIL, x))]
    (out / "scores.md").write_text("## Nominal scores\n\n" + "\n".join(table) + "\n\n### Notes on " + md_escape(EVIL[0]) + "\n\nText.\n", encoding="utf-8")
    (out / "scores.json").write_text(
        json.dumps({
            "findings": [f"**Top unit** {md_escape(EVIL[1])} ranks first. [scores](scores.md), [figure](scores_scenarios.png)"],
            "headlines": [f"**{md_escape(EVIL[2])} leads.** Its index is 0.9. [scores](scores.md)"],
        }),
        encoding="utf-8",
    )
    (out / "correlation.md").write_text("## Relationship\n\nNo evidence. See [the scores](#scores) and a [table](scores.csv).\n", encoding="utf-8")
    (out / "correlation.json").write_text(json.dumps({"findings": ["**r** = 0.1. [correlation](correlation.md), [figure](correlation.png)"]}), encoding="utf-8")
    (out / "scores.csv").write_text("id\n", encoding="utf-8")
    write_report(out, ["scores", "correlation"], title="Report on <b>units</b>")
    return out / "report.html"


def test_report_in_chromium(tmp_path):
    start = time.perf_counter()
    out = tmp_path / "report"
    out.mkdir()
    page = _write_report(out)
    (out / "harness.html").write_text(HARNESS, encoding="utf-8")
    (out / "control.html").write_text(CONTROL, encoding="utf-8")

    run = _chromium("--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom", (out / "harness.html").as_uri(), user_data=tmp_path / "profile")
    assert run.returncode == 0, run.stderr[-2000:]
    m = re.search(r'<pre id="result">(.*?)</pre>', run.stdout, re.S)
    assert m, run.stdout[:2000]
    found = json.loads(html.unescape(m.group(1)))
    assert "error" not in found, found
    report, control = found["report"], found["control"]

    # every image decodes
    assert len(report["images"]) == 3  # the headline figure, then each section's own
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in report["images"]), report["images"]
    # no broken link: every #anchor exists, every other link is a file next to the report
    assert report["anchors"] and report["broken"] == [], report["broken"]
    assert {"#scores", "#correlation", "#fig-scores_scenarios", "#fig-correlation"} <= set(report["anchors"])
    for href in report["files"]:
        assert (out / href).is_file(), href
    # the data is text: no script, no handler, the names shown as written
    assert report["scripts"] == 0 and report["handlers"] == 0
    assert report["title"] == "Report on <b>units</b>"
    for name in EVIL:
        assert name in report["text"], name
    # the checks can fail: the control page's broken image and anchor are seen
    assert control["images"][0]["width"] == 0 and control["broken"] == ["#nowhere"]

    # a screenshot for a person to look at
    shots = Path(os.environ.get("CLUSTERMODEL_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "report_screenshot.png"
    run = _chromium(f"--screenshot={shot}", "--window-size=1280,1800", "--hide-scrollbars", page.as_uri(), user_data=tmp_path / "profile2")
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1280, 1800)
        lo, hi = im.convert("L").getextrema()
        assert hi - lo > 100  # not a blank page
    print(f"\nscreenshot of the report: {shot} ({time.perf_counter() - start:.1f} s)")
