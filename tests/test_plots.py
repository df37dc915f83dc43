"""clustermodel.plots draws on standalone Figures and leaves matplotlib's global state alone."""

import os
import subprocess
import sys
import textwrap

from conftest import ROOT


def test_import_and_drawing_leave_the_backend_and_pyplot_alone(tmp_path):
    # A fresh interpreter, so that no earlier test has imported pyplot or chosen a backend.
    code = textwrap.dedent(
        f"""
        import sys
        import matplotlib
        from clustermodel import plots
        plots.scenario_plot([0.2, 1.5], [0.4, 1.2], ["a", "b"], ["g", "h"], (1.0, 1.0), {{"supported": 1, "lonely": 1, "potential": 0, "late": 0}},
                            {str(tmp_path / "s.png")!r}, title="t", xlabel="x", ylabel="y")
        assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
        assert "matplotlib.pyplot" not in sys.modules, "plots imported pyplot"
        """
    )
    env = {**os.environ, "MPLBACKEND": "svg", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")
