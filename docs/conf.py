"""Sphinx configuration of the eeg-gnn documentation: ``sphinx-build -W docs docs/_build/html``.

Needs the ``[docs]`` extra. API pages are generated from the numpydoc docstrings; the gallery runs the examples
whose file name starts with ``plot_`` (light ones) and shows the others without running them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "eeg_gnn").is_dir():  # a checkout: document its code (a copy of docs/ elsewhere uses the installed one)
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
# the gallery's graph models are tiny: one thread each avoids the contention that makes every step far slower
os.environ.setdefault("OMP_NUM_THREADS", "1")

import eeg_gnn  # noqa: E402

project = "eeg-gnn"
author = "the eeg-gnn authors"
copyright = "eeg-gnn authors, BSD-3-Clause"
release = version = eeg_gnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
# the results pages (docs/results/*.md) are written by scripts/make_readme_results.py in Markdown
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}

exclude_patterns = ["_build", "gallery", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.md5", "auto_examples/*.json", "auto_examples/*.codeobj.json"]
templates_path = ["_templates"]
html_static_path = []
html_theme = "pydata_sphinx_theme"
html_title = f"eeg-gnn {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False

# API pages from the docstrings (numpydoc format)
autosummary_generate = True
autodoc_default_options = {"members": False, "inherited-members": False}
autodoc_typehints = "none"
autodoc_mock_imports = []
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# links to the libraries eeg-gnn builds on; no network: the inventories are not fetched in the test build
intersphinx_mapping = {}
if os.environ.get("EEG_GNN_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "mne": ("https://mne.tools/stable/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
    }

sphinx_gallery_conf = {
    "examples_dirs": ["gallery"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",            # run the light examples only
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
}

suppress_warnings = ["config.cache"]
