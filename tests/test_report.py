"""The review report: one self-contained, escaped HTML file whose images load in a real browser."""

from __future__ import annotations

import base64
import copy
import html
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from eeg_gnn.review.report import format_ci, format_p, render_report

EVIL = "<script>alert(1)</script>"
SCRIPT_PATH = Path(__file__).resolve().parents[1] / "scripts" / "check_report_in_browser.py"


def make_png(path: Path, colour: str) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.0, 1.5))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [0, 1, 0], color=colour)
    fig.savefig(path, format="png", dpi=50)
    return path


def fake_review() -> dict[str, Any]:
    return {
        "title": "EEG brain graphs: rest vs mental arithmetic",
        "created": "2024-05-01T12:30:00+00:00",
        "run_dir": "runs/eegmat-gcn-plv-2024-05-01",
        "cohort": {
            "dataset": "EEG During Mental Arithmetic Tasks (PhysioNet eegmat)",
            "task": "rest vs mental arithmetic",
            "classes": ["rest", EVIL],
            "label_level": "recording",
            "n_subjects": 36,
            "n_recordings": 72,
            "n_windows": 4320,
            "per_class": {"rest": {"subjects": 36, "recordings": 36}, EVIL: {"subjects": 36, "recordings": 36}},
            "license": "ODC-By 1.0",
            "citation": "Zyma I. et al. (2019) Data 4(1):14 & PhysioNet",
        },
        "protocol": {
            "cv": "5-fold cross-validation with folds by subject, stratified by class",
            "n_folds": 5,
            "model": "GCN (2 layers)",
            "graph": "PLV, alpha band",
            "features": "differential entropy per band",
            "bands": {"theta": [4.0, 8.0], "alpha": [8.0, 13.0]},
            "window_s": 4.0,
            "preprocessing_steps": [
                {"name": "bandpass", "l_freq": 1.0, "h_freq": 40.0},
                {"name": "resample", "sfreq": 128},
                {"step": "average reference"},
            ],
        },
        "performance": {
            "level": "recording",
            "rows": [
                {"model": "GCN", "level": "recording", "balanced_accuracy": 0.6213,
                 "balanced_accuracy_ci": [0.5521, 0.6934], "roc_auc": 0.71, "roc_auc_ci": [0.62, 0.79],
                 "sensitivity": 0.64, "sensitivity_ci": [0.5, 0.78], "specificity": 0.6,
                 "specificity_ci": [0.45, 0.74], "n": 72},
                {"model": "baseline (logistic regression)", "level": "recording", "balanced_accuracy": 0.55,
                 "balanced_accuracy_ci": None, "roc_auc": None, "roc_auc_ci": None, "sensitivity": 0.5,
                 "sensitivity_ci": [0.35, 0.65], "specificity": 0.6, "specificity_ci": [0.45, 0.74], "n": 72},
            ],
        },
        "connectivity": {
            "method": "phase-locking value (PLV)",
            "test_description": "Paired t-test per electrode pair across subjects, Benjamini-Hochberg FDR",
            "bands": [
                {"band": "alpha", "describe": "Alpha PLV is higher at rest over parietal sites.",
                 "top_edges": [
                     {"node_a": "P3", "node_b": "P4", "mean_a": 0.61, "mean_b": 0.52, "difference": -0.09,
                      "effect_size": -0.83, "p_value": 0.00002, "p_fdr": 0.0004},
                     {"node_a": "O1", "node_b": "O2", "mean_a": 0.7, "mean_b": 0.66, "difference": -0.04,
                      "effect_size": -0.31, "p_value": 0.012, "p_fdr": 0.21},
                 ]},
                {"band": "theta", "describe": "No clear differences.", "top_edges": []},
            ],
        },
        "importance": {
            "method": "integrated gradients on edge weights",
            "top_edges": [{"node_a": "Fz", "node_b": "Pz", "importance": 0.12}],
            "top_nodes": [{"node": "Pz", "importance": 0.3}],
        },
        "exports": [
            {"file": "connectome_alpha.html", "description": "interactive 3-D connectome, alpha band"},
            {"file": "brainnet/alpha diff.edge", "description": "BrainNet Viewer edge file"},
        ],
        "caveats": ["Small cohort: 36 subjects.", "Labels are per recording; windows inherit them."],
    }


@pytest.fixture
def pngs(tmp_path: Path) -> list[Path]:
    return [make_png(tmp_path / "roc.png", "tab:blue"), make_png(tmp_path / "conn.png", "tab:red")]


@pytest.fixture
def figures_list(pngs: list[Path]) -> list[dict[str, Any]]:
    return [
        {"section": "performance", "path": pngs[0], "caption": "ROC curves of both models"},
        {"section": "connectivity", "path": str(pngs[1]), "caption": f"Alpha PLV {EVIL}"},
    ]


@pytest.fixture
def rendered(tmp_path: Path, figures_list: list[dict[str, Any]]) -> tuple[Path, str]:
    path = render_report(fake_review(), figures_list, tmp_path / "out" / "report.html")
    return path, path.read_text(encoding="utf-8")


def test_report_is_one_self_contained_html_file(rendered: tuple[Path, str], pngs: list[Path]) -> None:
    path, text = rendered
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]  # no side files, no temp files
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.IGNORECASE)
    assert "http://" not in text and "https://" not in text
    assert "@import" not in text and "url(" not in text
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert len(sources) == 2
    for source, png in zip(sources, pngs):
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]) == png.read_bytes()
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "document.body.dataset.imagesOk" in text


def test_report_sections_in_order_with_figures_in_place(rendered: tuple[Path, str]) -> None:
    _, text = rendered
    headings = re.findall(r"<h2 id=\"([^\"]+)\">", text)
    assert headings == ["cohort", "protocol", "performance", "connectivity-maps", "group-differences", "band-power",
                        "importance", "files", "caveats"]
    performance = text.index('id="performance"')
    maps = text.index('id="connectivity-maps"')
    differences = text.index('id="group-differences"')
    assert performance < text.index("ROC curves of both models") < maps
    assert maps < text.index("Alpha PLV &lt;script&gt;") < differences


def test_report_escapes_everything_from_the_review(rendered: tuple[Path, str]) -> None:
    _, text = rendered
    assert EVIL not in text
    assert html.escape(EVIL) in text
    assert text.count("<script>") == 1  # only the report's own script
    assert "Zyma I. et al. (2019) Data 4(1):14 &amp; PhysioNet" in text


def test_report_tables_format_numbers(rendered: tuple[Path, str]) -> None:
    _, text = rendered
    assert "0.62 [0.55, 0.69]" in text
    assert "0.71 [0.62, 0.79]" in text
    assert "0.55 [CI n/a]" in text
    assert '<td class="num">n/a</td>' in text  # baseline ROC AUC
    assert "&lt; 0.001" in text  # p-values below 0.001
    assert "0.21" in text and "-0.83" in text
    assert "P3 &ndash; P4" in text
    assert "mean in &lt;script&gt;alert(1)&lt;/script&gt; minus mean in rest" in text  # direction from the data
    assert "Folds are split by subject" in text
    assert "bandpass</span>: l_freq = 1.0, h_freq = 40.0" in text
    assert "alpha 8&ndash;13 Hz" in text
    assert text.count('<p class="explain">') >= 5  # a one-line explanation under every table
    assert 'href="brainnet/alpha%20diff.edge"' in text
    assert "<li>Small cohort: 36 subjects.</li>" in text


def test_formatters() -> None:
    assert format_ci(0.6213, [0.5521, 0.6934]) == "0.62 [0.55, 0.69]"
    assert format_ci(None, [0.1, 0.2]) == "n/a"
    assert format_ci(float("nan"), None) == "n/a"
    assert format_p(0.0004) == "< 0.001"
    assert format_p(0.0042) == "0.004"
    assert format_p(0.0312) == "0.03"
    assert format_p(None) == "n/a"


def test_report_without_importance(tmp_path: Path, figures_list: list[dict[str, Any]]) -> None:
    review = fake_review()
    del review["importance"]
    text = render_report(review, figures_list, tmp_path / "a.html").read_text(encoding="utf-8")
    assert "No importance analysis was run" in text
    review["importance"] = None
    text = render_report(review, [], tmp_path / "b.html").read_text(encoding="utf-8")
    assert "No importance analysis was run" in text
    assert "No connectivity maps." in text


def test_report_refuses_to_overwrite(rendered: tuple[Path, str], figures_list: list[dict[str, Any]]) -> None:
    path, text = rendered
    review = fake_review()
    review["title"] = "another"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        render_report(review, figures_list, path)
    assert path.read_text(encoding="utf-8") == text
    render_report(review, figures_list, path, overwrite=True)
    assert "<title>another</title>" in path.read_text(encoding="utf-8")


def test_report_checks_its_inputs(tmp_path: Path, figures_list: list[dict[str, Any]]) -> None:
    review = fake_review()
    del review["cohort"]
    with pytest.raises(ValueError, match="'cohort'"):
        render_report(review, figures_list, tmp_path / "r.html")
    review = fake_review()
    review["exports"].append({"file": "javascript:alert(1)", "description": "x"})
    with pytest.raises(ValueError, match="relative to the report"):
        render_report(review, figures_list, tmp_path / "r.html")
    bad_section = copy.deepcopy(figures_list)
    bad_section[0]["section"] = "appendix"
    with pytest.raises(ValueError, match="'appendix'"):
        render_report(fake_review(), bad_section, tmp_path / "r.html")
    missing = [{"section": "performance", "path": tmp_path / "nope.png", "caption": ""}]
    with pytest.raises(FileNotFoundError, match="nope.png"):
        render_report(fake_review(), missing, tmp_path / "r.html")
    (tmp_path / "fake.png").write_text("not a png")
    with pytest.raises(ValueError, match="not a PNG"):
        render_report(fake_review(), [{"section": "importance", "path": tmp_path / "fake.png", "caption": ""}],
                      tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


# --------------------------------------------------------------------------------------------- browser


def load_checker() -> Any:
    spec = importlib.util.spec_from_file_location("check_report_in_browser", SCRIPT_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checker() -> Any:
    module = load_checker()
    if not any(shutil.which(name) for name in module.BROWSERS):
        message = f"no Chromium on PATH (tried {', '.join(module.BROWSERS)}); apt-get install chromium"
        if os.environ.get("EEG_GNN_REQUIRE_BROWSER", "") == "1":
            pytest.fail(f"{message} (EEG_GNN_REQUIRE_BROWSER=1, so this is an error, not a skip)", pytrace=False)
        pytest.skip(message)
    return module


def test_all_images_load_in_chromium(checker: Any, rendered: tuple[Path, str]) -> None:
    path, text = rendered
    n_images = text.count("<img ")
    assert checker.check_report(path) == (n_images, n_images)
    assert checker.main([str(path)]) == 0


def test_chromium_check_sees_a_broken_image(checker: Any, rendered: tuple[Path, str], tmp_path: Path) -> None:
    path, text = rendered
    broken = tmp_path / "broken.html"
    start = text.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken.write_text(text[:start] + "AAAA" + text[start + 4 :], encoding="utf-8")
    assert checker.check_report(broken) == (1, 2)
    assert checker.main([str(broken)]) == 1
