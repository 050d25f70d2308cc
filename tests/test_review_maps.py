"""Labelled views: electrodes where a clinician expects them, only the edges asked for, titled colour scales."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from eeg_gnn.review.maps import (
    HEAD_FILL,
    Scale,
    draw_head_connectome,
    head_connectome_png,
    head_layout,
    matrix_png,
    node_bars_png,
    psd_png,
    region_order,
)
from eeg_gnn.signal.montage import node_sets

NAMES = node_sets()["10-20"]
PNG = b"\x89PNG\r\n\x1a\n"


def _symmetric(seed: int = 0) -> np.ndarray:
    matrix = np.random.default_rng(seed).normal(0, 0.05, (19, 19))
    matrix = (matrix + matrix.T) / 2
    np.fill_diagonal(matrix, 0.0)
    return matrix


def test_head_layout_puts_electrodes_where_a_clinician_expects_them():
    xy = dict(zip(["Cz", "Fz", "Pz", "T7", "T8", "Fpz", "Oz"],
                  head_layout(["Cz", "Fz", "Pz", "T7", "T8", "Fpz", "Oz"]), strict=True))
    assert np.linalg.norm(xy["Cz"]) < 0.05  # the vertex in the middle
    assert xy["Fz"][1] > 0.2 > -0.2 > xy["Pz"][1]  # nose up
    assert xy["T7"][0] < -0.8 and xy["T8"][0] > 0.8  # left on the left
    for name in ("T7", "T8", "Fpz"):  # the 10-20 horizon near the rim, inside the head
        assert np.linalg.norm(xy[name]) == pytest.approx(HEAD_FILL, abs=0.06)
    assert 0.6 < np.linalg.norm(xy["Oz"]) < HEAD_FILL


def test_only_the_masked_edges_are_drawn_and_every_electrode_is_named():
    matrix = _symmetric()
    mask = np.zeros((19, 19), dtype=bool)
    mask[0, 5] = mask[5, 0] = mask[3, 17] = mask[17, 3] = True
    mask[2, 2] = True  # the diagonal is never an edge
    ax = Figure().add_subplot()
    lines = draw_head_connectome(ax, matrix, NAMES, scale=Scale.symmetric(matrix, "difference (PLV)"), mask=mask)
    assert sorted(line.get_label() for line in lines) == ["F3-O1", "Fp1-F4"]
    assert abs(matrix[0, 5]) >= abs(matrix[3, 17]) or lines[0].get_label() == "Fp1-F4"  # weakest drawn first
    assert {text.get_text() for text in ax.texts} >= set(NAMES)


def test_an_empty_mask_draws_no_edge_and_says_so(tmp_path: Path):
    ax = Figure().add_subplot()
    lines = draw_head_connectome(ax, _symmetric(), NAMES, scale=Scale.symmetric([0.1], "d"),
                                 mask=np.zeros((19, 19), bool), empty_text="no pair survives the correction")
    assert lines == []
    assert "no pair survives the correction" in {text.get_text() for text in ax.texts}
    path = head_connectome_png(_symmetric(), NAMES, tmp_path / "empty.png", title="alpha", mask=np.zeros((19, 19)),
                               scale=Scale.symmetric([0.1], "PLV difference (unitless)"), note="0 of 171 pairs")
    assert path.read_bytes().startswith(PNG)


def test_signed_scale_is_symmetric_without_its_pale_middle():
    scale = Scale.symmetric([-0.02, 0.11, 0.05], "PLV difference")
    assert (scale.vmin, scale.vmax) == (-0.11, 0.11)
    colours = scale.colormap()
    just_above, just_below = to_rgb(colours(0.5 + 1e-3)), to_rgb(colours(0.5 - 1e-3))
    assert just_above[0] > just_above[2] + 0.2  # red above 0
    assert just_below[2] > just_below[0] + 0.2  # blue below 0
    assert min(sum(just_above), sum(just_below)) < 2.6  # neither is the near-white of the full map's middle
    assert Scale.symmetric([], "empty").vmax == 1.0


def test_matrix_and_bars_write_pngs_and_check_shapes(tmp_path: Path):
    matrix = _symmetric(1)
    mask = np.abs(matrix) > 0.05
    assert matrix_png(matrix, NAMES, tmp_path / "m.png", title="beta", scale=Scale.symmetric(matrix[mask], "d"),
                      mask=mask, mask_label="not significant").read_bytes().startswith(PNG)
    with pytest.raises(ValueError, match=r"matrix has shape \(3, 3\), expected \(19, 19\)"):
        matrix_png(np.eye(3), NAMES, tmp_path / "bad.png", title="x", scale=Scale.spanning([0, 1], "x"))
    with pytest.raises(ValueError, match=r"mask has shape \(2, 2\)"):
        matrix_png(matrix, NAMES, tmp_path / "bad.png", title="x", scale=Scale.spanning([0, 1], "x"),
                   mask=np.ones((2, 2)))
    assert node_bars_png(np.arange(19.0), NAMES, tmp_path / "b.png", title="importance",
                         xlabel="mean |gradient x input|").read_bytes().startswith(PNG)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        node_bars_png(np.arange(19.0), NAMES, tmp_path / "b.png", title="importance", xlabel="x")


def test_region_order_runs_front_to_back_and_left_to_right():
    order = [NAMES[i] for i in region_order(NAMES)]
    assert order[:2] == ["Fp1", "Fp2"] and order[-2:] == ["O1", "O2"]
    assert order.index("F7") < order.index("F3") < order.index("Fz") < order.index("F4") < order.index("F8")


def test_psd_checks_its_shape(tmp_path: Path):
    freqs = np.arange(0, 64.5, 0.5)
    psd = {"rest": np.full((3, 19, freqs.size), 1e-11), "task": np.full((3, 19, freqs.size), 2e-11)}
    bands = {"alpha": (8.0, 13.0), "beta": (13.0, 30.0)}
    assert psd_png(freqs, psd, NAMES, bands, tmp_path / "psd.png", title="spectra").read_bytes().startswith(PNG)
    with pytest.raises(ValueError, match=r"psd\['rest'\] has shape \(3, 19, 4\)"):
        psd_png(freqs, {"rest": np.ones((3, 19, 4))}, NAMES, bands, tmp_path / "bad.png", title="x")
