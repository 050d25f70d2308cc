"""The review report: one self-contained, escaped HTML file with the verdict first, a contents list, one band
selector, and pages that fit a phone and a wide screen in a real browser."""

from __future__ import annotations

import base64
import html
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from eeg_gnn.review.report import format_ci, format_p, format_signed_ci, render_report

EVIL = "<script>alert(1)</script>"
SCRIPT_PATH = Path(__file__).resolve().parents[1] / "scripts" / "check_report_in_browser.py"


def make_png(path: Path, colour: str, width: float = 4.0) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 3.0))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [0, 1, 0], color=colour)
    fig.savefig(path, format="png", dpi=50)
    return path


def fake_review(pngs: list[Path]) -> dict[str, Any]:
    return {
        "title": "EEGMAT: rest vs arithmetic",
        "subtitle": "Review of run workload_eegmat_cheb_plv_20260101-120000",
        "verdict": {
            "headline": "The graph model is not distinguishable from logistic regression.",
            "items": [{"title": "against logistic regression", "verdict": "not distinguishable",
                       "text": "balanced accuracy 0.65 [0.50, 0.77] vs 0.60 [0.48, 0.73]"}],
            "facts": [["Cohort", "24 subjects"], ["Protocol", f"5 folds by subject {EVIL}"]],
            "blocks": [{"kind": "table", "columns": [{"label": "Class"}, {"label": "Subjects", "numeric": True}],
                        "rows": [["control", {"text": "12", "value": 12, "numeric": True}]]}],
            "caveats": ["Small cohort.", "Gamma is muscle."],
        },
        "footer": [["Version", "eeg-gnn 1.2"], ["Command", "`eeg-gnn train --task workload`"]],
        "bands": [{"name": "alpha", "count": 0}, {"name": "beta", "count": 47}],
        "band_title": "Band (significant pairs)",
        "default_band": "beta",
        "sections": [
            {"id": "performance", "title": "Performance", "open": True, "blocks": [
                {"kind": "paragraph", "text": "Scores on held-out subjects.", "lead": "Read this:"},
                {"kind": "table", "sortable": True, "columns": [{"label": "Model"}, {"label": "p", "numeric": True}],
                 "rows": [[EVIL, {"text": "0.03", "value": 0.031, "numeric": True}],
                          ["baseline", {"verdict": "better"}]]},
                {"kind": "figures", "items": [{"path": pngs[0], "caption": f"ROC curves {EVIL}"}]},
            ]},
            {"id": "differences", "title": "Connectivity: arithmetic vs rest", "blocks": [
                {"kind": "bands", "panels": {
                    "alpha": [{"kind": "paragraph", "css": "note", "text": "No pair survives in alpha."}],
                    "beta": [{"kind": "figures", "items": [{"path": str(pngs[1]), "caption": "beta map"}]}],
                }},
            ]},
            {"id": "files", "title": "Files", "blocks": [
                {"kind": "links", "items": [{"file": "brainnet/beta diff.edge", "description": "BrainNet"}]},
                {"kind": "facts", "items": [["Validation", "5-fold"]]},
                {"kind": "list", "ordered": True, "items": ["filter", "re-reference"]},
            ]},
            {"id": "caveats", "title": "Caveats", "blocks": [{"kind": "list", "items": ["Small cohort."]}]},
        ],
    }


@pytest.fixture
def pngs(tmp_path: Path) -> list[Path]:
    return [make_png(tmp_path / "roc.png", "tab:blue"), make_png(tmp_path / "map.png", "tab:red")]


@pytest.fixture
def rendered(tmp_path: Path, pngs: list[Path]) -> tuple[Path, str]:
    path = render_report(fake_review(pngs), tmp_path / "out" / "report.html")
    return path, path.read_text(encoding="utf-8")


def test_report_is_one_self_contained_html_file(rendered: tuple[Path, str], pngs: list[Path]) -> None:
    path, text = rendered
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.IGNORECASE)
    assert "http://" not in text and "https://" not in text and "@import" not in text and "url(" not in text
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert [base64.b64decode(s.split(",", 1)[1]) for s in sources] == [p.read_bytes() for p in pngs]
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "document.body.dataset.imagesOk" in text


def test_verdict_first_then_sections_in_the_order_of_the_contents(rendered: tuple[Path, str]) -> None:
    _, text = rendered
    contents = re.findall(r'<li><a href="#([^"]+)">', text)
    assert contents == ["verdict", "performance", "differences", "files", "caveats"]
    positions = [text.index(f'id="{anchor}"') for anchor in contents]
    assert positions == sorted(positions)
    verdict = text[positions[0]:positions[1]]
    assert "not distinguishable from logistic regression" in verdict
    assert '<span class="pill not-distinguishable">' in verdict and '<a href="#caveats">' in verdict
    assert text.count('<details class="section"') == 4 and text.count(" open>") == 1  # folded unless marked open
    assert '<details class="section" id="performance" open>' in text
    assert '<td data-label="Class">control</td>' in verdict  # the summary's own tables
    footer = text[text.index('<footer class="run">'):]
    assert "<dd>eeg-gnn 1.2</dd>" in footer and "<code>eeg-gnn train --task workload</code>" in footer


def test_one_band_selector_switches_every_band_panel(rendered: tuple[Path, str]) -> None:
    _, text = rendered
    assert re.findall(r'<input type="radio" class="band-choice" name="band" id="band-(\w+)"[^>]*?( checked)?>',
                      text) == [("alpha", ""), ("beta", " checked")]
    assert '<label for="band-beta">beta <span class="count">47</span></label>' in text
    assert "#band-alpha:checked ~ .layout .band-alpha { display: block; }" in text
    assert '<div class="band-panel band-alpha">' in text and '<div class="band-panel band-beta">' in text
    assert text.index('class="band-choice"') < text.index('<div class="layout">')  # siblings of the layout


def test_report_escapes_everything_and_formats_cells(rendered: tuple[Path, str]) -> None:
    _, text = rendered
    assert EVIL not in text and html.escape(EVIL) in text
    assert text.count("<script>") == 1
    assert '<td class="num" data-label="p" data-value="0.031">0.03</td>' in text
    assert '<span class="pill better">better</span>' in text
    assert '<th data-sort="text">Model</th><th class="num" data-sort="number">p</th>' in text
    assert '<p class="note">No pair survives in alpha.</p>' in text
    assert "<strong>Read this:</strong> Scores" in text
    assert 'href="brainnet/beta%20diff.edge"' in text
    assert "<ol><li>filter</li><li>re-reference</li></ol>" in text


def test_formatters() -> None:
    assert format_ci(0.6213, [0.5521, 0.6934]) == "0.62 [0.55, 0.69]"
    assert format_ci(None, [0.1, 0.2]) == "n/a"
    assert format_ci(0.5, None) == "0.50 [CI n/a]"
    assert format_signed_ci(0.042, [-0.125, 0.188], 3) == "+0.042 [-0.125, +0.188]"
    assert format_signed_ci(float("nan"), [0, 1]) == "n/a"
    assert format_p(0.0004) == "< 0.001"
    assert format_p(0.0042) == "0.004"
    assert format_p(0.0312) == "0.03"
    assert format_p(None) == "n/a"


def test_report_refuses_to_overwrite(rendered: tuple[Path, str], pngs: list[Path]) -> None:
    path, text = rendered
    review = fake_review(pngs)
    review["title"] = "another"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        render_report(review, path)
    assert path.read_text(encoding="utf-8") == text
    render_report(review, path, overwrite=True)
    assert "<title>another</title>" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("change", "error", "match"), [
    (lambda r: r.pop("sections"), ValueError, "'sections'"),
    (lambda r: r["sections"][0]["blocks"].append({"kind": "video"}), ValueError, "'video'"),
    (lambda r: r["sections"][2]["blocks"][0]["items"].append({"file": "/home/me/x.edge"}), ValueError,
     "relative to the report"),
    (lambda r: r["sections"][2]["blocks"][0]["items"].append({"file": "javascript:alert(1)"}), ValueError,
     "relative to the report"),
    (lambda r: r["sections"][1]["blocks"][0]["panels"].update(gamma=[]), ValueError, "band selector"),
    (lambda r: r["sections"].append({"id": "files", "title": "again"}), ValueError, "repeated: \\['files'\\]"),
    (lambda r: r.update(default_band="delta"), ValueError, "'delta', not one of the bands"),
    (lambda r: r["sections"][0]["blocks"][1]["rows"].append(["one cell"]), ValueError, "1 cells for 2 columns"),
    (lambda r: r["sections"][0]["blocks"][2]["items"].append({"path": "nope.png"}), FileNotFoundError, "nope.png"),
], ids=["no-sections", "unknown-block", "absolute-link", "url-link", "unknown-band", "duplicate-id", "bad-default",
        "short-row", "missing-png"])
def test_report_checks_its_inputs(tmp_path: Path, pngs: list[Path], change, error, match) -> None:
    review = fake_review(pngs)
    change(review)
    with pytest.raises(error, match=match):
        render_report(review, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_a_file_that_is_not_a_png_is_refused(tmp_path: Path, pngs: list[Path]) -> None:
    (tmp_path / "fake.png").write_text("not a png")
    review = fake_review(pngs)
    review["sections"][0]["blocks"][2]["items"][0]["path"] = tmp_path / "fake.png"
    with pytest.raises(ValueError, match="not a PNG"):
        render_report(review, tmp_path / "r.html")


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


def test_report_fits_a_phone_and_a_wide_screen_in_chromium(checker: Any, rendered: tuple[Path, str],
                                                           tmp_path: Path) -> None:
    path, text = rendered
    results = checker.check_report(path, screenshots=tmp_path / "shots")
    assert [r.width for r in results] == [1400, 480]
    for result in results:
        assert result.problems == [], result.problems
        assert (result.images, result.images_ok) == (2, 2)
        assert result.sections == ["#verdict", "#performance", "#differences", "#files", "#caveats"]
        assert result.screenshot.read_bytes().startswith(b"\x89PNG")
    assert checker.main([str(path)]) == 0
    printed = checker.check_print(path, tmp_path / "pdf")
    assert [r.paper for r in printed] == ["A4", "Letter"]
    for result in printed:
        assert result.problems == [], result.problems
        assert result.pages >= 1 and result.pdf.read_bytes().startswith(b"%PDF")


def test_print_check_sees_a_table_cut_at_the_right_margin(checker: Any, rendered: tuple[Path, str],
                                                          tmp_path: Path) -> None:
    path, text = rendered
    # a cell holding an image wider than A4's printable width (the page's CSP allows no inline style to make one)
    image = re.search(r'src="(data:image/png;base64,[^"]+)"', text).group(1)
    wide = text.replace("<main>", f'<main><table><tr><td><img width="900" height="20" src="{image}" alt="wide">'
                        "</td></tr></table>", 1)
    bad = tmp_path / "wide.html"
    bad.write_text(wide, encoding="utf-8")
    a4, letter = checker.check_print(bad, tmp_path / "pdf")
    assert "wider than the printable width of A4 (703 px)" in "; ".join(a4.problems)
    assert "img" in a4.overflowing[0]
    assert letter.problems
    assert checker.main([str(bad), "--widths", "1400", "--print", str(tmp_path / "pdf")]) == 1


def test_chromium_check_sees_broken_images_overflow_and_missing_sections(checker: Any, rendered: tuple[Path, str],
                                                                         tmp_path: Path) -> None:
    path, text = rendered
    start = text.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken = text[:start] + "AAAA" + text[start + 4:]
    broken = broken.replace('<li><a href="#files">', '<li><a href="#appendix">', 1)
    # a table wider than a phone outside any scrolling box: the page would scroll sideways
    broken = broken.replace("<main>", "<main><table><tr><td>" + "x" * 90 + "</td></tr></table>", 1)
    bad = tmp_path / "broken.html"
    bad.write_text(broken, encoding="utf-8")
    wide, narrow = checker.check_report(bad, widths=(1400, 480))
    assert "1 of 2 image(s) failed to load" in "; ".join(wide.problems)
    assert wide.missing_sections == ["#appendix"]
    assert not any("overflow" in problem for problem in wide.problems)
    assert any("overflow the 480 px viewport" in problem for problem in narrow.problems)
    assert checker.main([str(bad)]) == 1
