"""Figures: each function writes one readable PNG (or HTML page), refuses to overwrite, checks its inputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from eeg_gnn.review import figures
from eeg_gnn.signal import montage

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NODES = montage.node_sets()["10-20"]
BANDS = ["theta", "alpha"]


def symmetric(seed: int, *, signed: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(len(NODES), len(NODES))) if signed else rng.random((len(NODES), len(NODES)))
    matrix = (matrix + matrix.T) / 2
    np.fill_diagonal(matrix, 1.0)
    return matrix


def assert_png(path: Path, min_width: int = 300, min_height: int = 200) -> None:
    """A PNG file that matplotlib reads back as an image of non-trivial size and content."""
    from matplotlib.image import imread

    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = imread(path)
    assert image.ndim == 3
    height, width = image.shape[:2]
    assert width >= min_width and height >= min_height, image.shape
    assert float(image[..., :3].std()) > 0.02  # not a blank canvas
    assert not list(path.parent.glob(".*.tmp")), "a temporary file was left behind"


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    """No function may leave a figure open in pyplot's registry."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before


def test_connectome_png_writes_png_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "alpha.png"
    node_values = np.random.default_rng(1).random(len(NODES))
    written = figures.connectome_png(symmetric(0), NODES, path, title="alpha PLV", node_values=node_values)
    assert written == path
    assert_png(path, min_width=800)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        figures.connectome_png(symmetric(0), NODES, path, title="again")
    assert path.read_bytes() == before
    figures.connectome_png(symmetric(2), NODES, path, title="replaced", overwrite=True, kind="scalp")
    assert_png(path)
    assert path.read_bytes() != before


def test_connectome_png_signed_difference(tmp_path: Path) -> None:
    path = figures.connectome_png(symmetric(3, signed=True), NODES, tmp_path / "diff.png", title="difference",
                                  signed=True, edge_threshold="80%")
    assert_png(path)


def test_connectome_png_checks_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="negative values.*signed=True"):
        figures.connectome_png(symmetric(3, signed=True), NODES, tmp_path / "a.png", title="t")
    with pytest.raises(ValueError, match="not symmetric"):
        figures.connectome_png(np.triu(symmetric(0)), NODES, tmp_path / "a.png", title="t")
    with pytest.raises(ValueError, match="'95'"):
        figures.connectome_png(symmetric(0), NODES, tmp_path / "a.png", title="t", edge_threshold="95")
    with pytest.raises(ValueError, match="node_values has shape"):
        figures.connectome_png(symmetric(0), NODES, tmp_path / "a.png", title="t", node_values=[1.0, 2.0])
    with pytest.raises(ValueError, match="'kind'"):
        figures.connectome_png(symmetric(0), NODES, tmp_path / "a.png", title="t", kind="skull")
    assert not list(tmp_path.iterdir())


def test_connectome_html_is_one_offline_page_with_node_names(tmp_path: Path) -> None:
    path = figures.connectome_html(symmetric(4), NODES, tmp_path / "alpha.html", title="alpha PLV")
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html")
    for name in NODES:
        assert f'"{name}"' in text
    # nothing is fetched from a server: no script, style sheet, icon, image or frame with an http(s) address
    # (plotly's bundled JavaScript still holds URL strings, such as its logo's link, that load nothing)
    assert not re.search(r"""<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*["']?\s*(https?:)?//""", text,
                         re.IGNORECASE)
    assert "raw.githubusercontent.com" not in text
    with pytest.raises(FileExistsError):
        figures.connectome_html(symmetric(4), NODES, path, title="again")


def test_connectome_html_shares_a_given_colour_scale(tmp_path: Path) -> None:
    difference = symmetric(4) - 0.5
    own = figures.connectome_html(difference, NODES, tmp_path / "own.html", title="d", signed=True,
                                  edge_threshold=0.0).read_text(encoding="utf-8")
    largest = float(np.abs(difference - np.diag(np.diag(difference))).max())
    assert float(re.search(r'"line_cmax": ([-0-9.e]+)', own).group(1)) == pytest.approx(largest, rel=1e-5)
    shared = figures.connectome_html(difference, NODES, tmp_path / "shared.html", title="d", signed=True,
                                     edge_threshold=0.0, vmax=2.5).read_text(encoding="utf-8")
    assert '"line_cmin": -2.5' in shared and '"line_cmax": 2.5' in shared
    unsigned = figures.connectome_html(symmetric(4), NODES, tmp_path / "class.html", title="c", vmin=0.2,
                                       vmax=0.9).read_text(encoding="utf-8")
    assert '"line_cmin": 0.2' in unsigned and '"line_cmax": 0.9' in unsigned


def test_topomap_grid_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    values = {"rest": rng.random((len(NODES), len(BANDS))), "task": rng.random((len(NODES), len(BANDS)))}
    path = figures.topomap_grid_png(values, BANDS, NODES, tmp_path / "power.png", title="Band power",
                                    difference=values["task"] - values["rest"], difference_label="task - rest",
                                    colorbar_label="relative power")
    assert_png(path)
    from PIL import Image

    with Image.open(path) as image:
        assert image.mode == "P" and len(image.getcolors(256)) > 16  # a palette of its own colours, not a few greys
    with pytest.raises(FileExistsError):
        figures.topomap_grid_png(values, BANDS, NODES, path, title="again")
    with pytest.raises(ValueError, match=r"values\['rest'\] has shape \(19, 3\)"):
        figures.topomap_grid_png({"rest": rng.random((19, 3))}, BANDS, NODES, tmp_path / "x.png", title="t")
    marked = np.zeros((len(NODES), len(BANDS)), dtype=bool)
    marked[4, 1] = True
    assert_png(figures.topomap_grid_png(values, BANDS, NODES, tmp_path / "marked.png", title="Band power",
                                        difference=values["task"] - values["rest"], significant=marked))
    with pytest.raises(ValueError, match="needs difference and shape"):
        figures.topomap_grid_png(values, BANDS, NODES, tmp_path / "y.png", title="t", significant=marked)


def test_topomap_positions_put_the_horizon_on_the_head_circle() -> None:
    """Fpz, T7, Oz and T8 lie near the head circle, Cz near its centre (the MNI offset is removed)."""
    from mne.channels.layout import _find_topomap_coords

    names = ["Fpz", "T7", "Oz", "T8", "Cz"]
    info = figures._topomap_info(names)
    radius = figures._head_sphere()[3]
    pos = _find_topomap_coords(info, None, sphere=np.array([0.0, 0.0, 0.0, radius]))
    distance = np.linalg.norm(pos, axis=1) / radius
    assert np.all(np.abs(distance[:4] - 1.0) < 0.15), distance
    assert distance[4] < 0.1
    assert pos[0, 1] > 0 > pos[2, 1]  # Fpz at the nose, Oz at the back
    assert pos[1, 0] < 0 < pos[3, 0]  # T7 left, T8 right


@pytest.mark.parametrize("n_classes", [2, 3])
def test_roc_png(tmp_path: Path, n_classes: int) -> None:
    rng = np.random.default_rng(n_classes)
    y_true = np.arange(60) % n_classes
    good = np.eye(n_classes)[y_true] + rng.random((60, n_classes))
    probas = {"GCN": good / good.sum(1, keepdims=True), "baseline": rng.dirichlet(np.ones(n_classes), 60)}
    names = ["rest", "task", "other"][:n_classes]
    path = figures.roc_png(y_true, probas, names, tmp_path / "roc.png", title="ROC")
    assert_png(path)
    with pytest.raises(FileExistsError):
        figures.roc_png(y_true, probas, names, path, title="ROC")
    with pytest.raises(ValueError, match="samples of class '(rest|task)'; its ROC curve is undefined"):
        figures.roc_png(np.zeros(60, int), probas, names, tmp_path / "r2.png", title="ROC")
    with pytest.raises(ValueError, match=r"probas\['GCN'\] has shape"):
        figures.roc_png(y_true, {"GCN": probas["GCN"][:10]}, names, tmp_path / "r3.png", title="ROC")


def test_confusion_png(tmp_path: Path) -> None:
    path = figures.confusion_png([[10, 2], [3, 12]], ["rest", "task"], tmp_path / "confusion.png",
                                 title="Recordings")
    assert_png(path, min_width=200)
    with pytest.raises(FileExistsError):
        figures.confusion_png([[10, 2], [3, 12]], ["rest", "task"], path, title="Recordings")


def test_connectome_pages_share_one_copy_of_the_library_and_the_brain(tmp_path: Path) -> None:
    alone = figures.connectome_html(symmetric(4), NODES, tmp_path / "alone.html", title="alone")
    first = figures.connectome_html(symmetric(4), NODES, tmp_path / "views" / "a.html", title="a",
                                    share_scripts=True)
    second = figures.connectome_html(symmetric(5), NODES, tmp_path / "views" / "b.html", title="b",
                                     share_scripts=True)
    shared = sorted(p.name for p in (tmp_path / "views").glob("*.js"))
    assert [name.split("-")[0] for name in shared] == ["brain", "viewer"]
    for page in (first, second):
        text = page.read_text()
        assert page.stat().st_size < alone.stat().st_size / 10
        assert all(f'<script src="{name}"></script>' in text for name in shared)
        assert text.index(shared[1]) < text.index(shared[0]) < text.index("Object.assign(")
        assert "plotly.js" not in text and '"pial_left"' not in text
    assert "plotly.js" in (tmp_path / "views" / shared[1]).read_text()
    assert (tmp_path / "views" / shared[0]).read_text().startswith('window.eegGnnBrain = {"pial_left"')


def test_topomap_grid_names_every_electrode_on_every_map(tmp_path: Path, monkeypatch) -> None:
    drawn = []
    save = figures._save_figure
    monkeypatch.setattr(figures, "_save_figure", lambda fig, path, overwrite: drawn.append(
        [[text.get_text() for text in ax.texts] for ax in fig.axes if ax.texts]) or save(fig, path,
                                                                                          overwrite=overwrite))
    rng = np.random.default_rng(0)
    values = {"rest": rng.random((len(NODES), 2)), "task": rng.random((len(NODES), 2))}
    figures.topomap_grid_png(values, ["theta", "alpha"], NODES, tmp_path / "power.png", title="power",
                             difference=values["task"] - values["rest"])
    (maps,) = drawn
    assert len(maps) == 6 and all(set(NODES) <= set(texts) for texts in maps)  # (and the row labels)
