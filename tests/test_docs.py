"""The documentation site builds with Sphinx with warnings as errors: API pages from the docstrings, the user
guide and the gallery (its light examples run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BUILT = ("index.html", "api.html", "guide/data.html", "guide/results.html", "guide/measured_options.html",
         "auto_examples/index.html", "auto_examples/plot_graph_from_windows.html",
         "generated/eeg_gnn.load_bids.html", "generated/eeg_gnn.GraphClassifier.html")


@pytest.mark.slow
def test_the_docs_build_without_a_warning(tmp_path):
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "myst_parser"):
        pytest.importorskip(module, reason="the [docs] extra builds the documentation: pip install -e '.[docs]'")
    source = tmp_path / "docs"
    # a copy, so that the pages Sphinx generates (API stubs, the gallery) never land in the checkout
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("_build", "generated", "auto_examples",
                                                                 "sg_execution_times.rst"))
    environment = {**os.environ, "MPLBACKEND": "Agg",
                   "PYTHONPATH": os.pathsep.join([str(DOCS.parent), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                             str(source), str(tmp_path / "html"), "-d", str(tmp_path / "doctrees")],
                            capture_output=True, text=True, env=environment, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    for page in BUILT:
        assert (tmp_path / "html" / page).is_file(), page
    example = (tmp_path / "html" / "auto_examples" / "plot_graph_classifier.html").read_text()
    assert "balanced accuracy" in example  # the light example ran and its output is shown
    shown = (tmp_path / "html" / "auto_examples" / "run_cross_validation.html").read_text()
    assert "run_cv" in shown
