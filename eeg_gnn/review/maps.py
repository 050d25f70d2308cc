"""Labelled views of brain graphs for the review: the head seen from above with every electrode named, the
connectivity matrix with named rows and columns, electrode bars and power spectra.

Every view draws exactly the edges it is given (``mask``): which edges count (significant ones, a threshold) is
decided once by the caller, so that the static maps, the matrices, the 3-D views and the BrainNet files agree.
Colour scales are :class:`Scale` objects that several views share (one scale across the bands of a difference,
one per band for the classes); every colour bar carries a title with the quantity and its unit, and signed values
use a diverging map centred on 0.

The head view places each electrode by its direction from the centre of the head (azimuthal equidistant
projection, as EEGLAB and MNE topographic maps do): the vertex in the middle, the Fpz-T7-Oz-T8 horizon on a
circle, nose up, the left hemisphere on the left.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from eeg_gnn.review.figures import REGION_COLOURS, _head_sphere, _save_figure
from eeg_gnn.signal import montage
from eeg_gnn.utils.files import check_destination

__all__ = [
    "Scale",
    "draw_head_connectome",
    "head_connectome_png",
    "head_layout",
    "matrix_png",
    "node_bars_png",
    "psd_png",
    "region_order",
]

PathLike = str | os.PathLike

SEQUENTIAL_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"
#: The pale middle of the diverging map left out for signed edges: a drawn edge is always clearly red or blue.
DIVERGING_GAP = 0.44
NOT_SHOWN_COLOUR = "#ececec"
HEAD_LINE = "#333333"
UNKNOWN_REGION_COLOUR = "#666666"
#: The 10-20 horizon is drawn at this fraction of the head circle, so that Fp1, T7, O1 and their labels sit
#: inside the head.
HEAD_FILL = 0.88


@dataclass(frozen=True)
class Scale:
    """A colour scale shared by several views.

    Attributes
    ----------
    vmin, vmax : float
    cmap : str
        A matplotlib colour map name.
    label : str
        Colour bar title: the quantity and its unit, e.g. ``'PLV difference, task − rest (unitless, 0 to 1)'``.
    signed : bool
        Diverging around 0 (its pale middle left out, :data:`DIVERGING_GAP`).
    """

    vmin: float
    vmax: float
    cmap: str
    label: str
    signed: bool = False

    @classmethod
    def symmetric(cls, values: ArrayLike, label: str, cmap: str = DIVERGING_CMAP) -> Scale:
        """A diverging scale from ``-m`` to ``m``, ``m`` the largest ``|value|`` (1 when there is none)."""
        array = np.abs(np.asarray(values, dtype=float))
        largest = float(array.max()) if array.size else 0.0
        largest = largest if largest > 0 else 1.0
        return cls(-largest, largest, cmap, label, signed=True)

    @classmethod
    def spanning(cls, values: ArrayLike, label: str, cmap: str = SEQUENTIAL_CMAP) -> Scale:
        """A sequential scale from the smallest to the largest value."""
        array = np.asarray(values, dtype=float)
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 1.0)
        return cls(low, high if high > low else low + 1.0, cmap, label)

    def colormap(self):
        """The matplotlib colour map (a diverging one without its pale middle)."""
        from matplotlib import colormaps
        from matplotlib.colors import ListedColormap

        base = colormaps[self.cmap]
        if not self.signed:
            return base
        half = 128
        low = base(np.linspace(0.0, 0.5 - DIVERGING_GAP / 2, half))
        high = base(np.linspace(0.5 + DIVERGING_GAP / 2, 1.0, half))
        return ListedColormap(np.vstack([low, high]), name=f"{self.cmap}_no_middle")

    def norm(self):
        from matplotlib.colors import Normalize

        return Normalize(self.vmin, self.vmax)


# --------------------------------------------------------------------------------------------- layout


def head_layout(node_names: Sequence[str]) -> np.ndarray:
    """2-D positions of the nodes on the head map, in head radii.

    Parameters
    ----------
    node_names : list of str, length n_nodes

    Returns
    -------
    ndarray, shape (n_nodes, 2)
        x to the right, y to the nose; the 10-20 horizon at :data:`HEAD_FILL`.
    """
    *centre, _ = _head_sphere()
    relative = montage.positions(node_names, kind="scalp") - 1000.0 * np.array(centre)
    unit = relative / np.linalg.norm(relative, axis=1, keepdims=True)
    polar = np.arccos(np.clip(unit[:, 2], -1.0, 1.0)) / (np.pi / 2)
    azimuth = np.arctan2(unit[:, 1], unit[:, 0])
    return HEAD_FILL * np.column_stack([polar * np.cos(azimuth), polar * np.sin(azimuth)])


def region_order(node_names: Sequence[str]) -> list[int]:
    """Node indices grouped by region (prefrontal ... occipital), left to right within a region."""
    names = montage.resolve_nodes(node_names)
    codes = [code for code, _ in montage.regions(names)]
    x = montage.positions(names, kind="scalp")[:, 0]
    return sorted(range(len(names)), key=lambda i: (codes[i], x[i]))


def _region_colours(names: Sequence[str]) -> list[str]:
    return [REGION_COLOURS.get(code, UNKNOWN_REGION_COLOUR) for code, _ in montage.regions(names)]


def _check_square(matrix: ArrayLike, n_nodes: int, name: str) -> np.ndarray:
    array = np.asarray(matrix, dtype=float)
    if array.shape != (n_nodes, n_nodes):
        raise ValueError(f"{name} has shape {array.shape}, expected ({n_nodes}, {n_nodes}) for {n_nodes} nodes.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values.")
    return array


def _check_mask(mask: ArrayLike | None, values: np.ndarray) -> np.ndarray:
    shown = values != 0 if mask is None else np.asarray(mask, dtype=bool)
    if shown.shape != values.shape:
        raise ValueError(f"mask has shape {shown.shape}, expected {values.shape} (one flag per pair of nodes).")
    shown = shown & shown.T
    np.fill_diagonal(shown, False)
    return shown


def _colour_bar(fig, ax, scale: Scale, pad: float = 0.02) -> None:
    from matplotlib.cm import ScalarMappable

    bar = fig.colorbar(ScalarMappable(scale.norm(), scale.colormap()), ax=ax, orientation="horizontal",
                       shrink=0.85, aspect=28, pad=pad)
    bar.set_label(scale.label, fontsize=9)
    bar.ax.tick_params(labelsize=8)


# --------------------------------------------------------------------------------------------- views


def _draw_head(ax) -> None:
    from matplotlib.patches import Circle, Polygon

    ax.add_patch(Circle((0, 0), 1.0, fill=False, linewidth=1.5, edgecolor=HEAD_LINE, zorder=1))
    ax.add_patch(Polygon([(-0.09, 0.995), (0.0, 1.11), (0.09, 0.995)], closed=False, fill=False, linewidth=1.5,
                         edgecolor=HEAD_LINE, zorder=1))
    for side in (-1, 1):
        ear = np.array([(1.0, 0.1), (1.04, 0.12), (1.07, 0.08), (1.07, -0.1), (1.04, -0.14), (1.0, -0.12)])
        ear[:, 0] *= side
        ax.add_patch(Polygon(ear, closed=False, fill=False, linewidth=1.5, edgecolor=HEAD_LINE, zorder=1))
    ax.text(-1.1, 0.98, "left", fontsize=9, color="#555555", ha="left", va="top")
    ax.text(1.1, 0.98, "right", fontsize=9, color="#555555", ha="right", va="top")


def _node_radius(xy: np.ndarray) -> float:
    if len(xy) < 2:
        return 0.085
    distances = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    return float(min(0.085, 0.46 * distances.min()))


def draw_head_connectome(
    ax,
    matrix: ArrayLike,
    node_names: Sequence[str],
    *,
    scale: Scale,
    mask: ArrayLike | None = None,
    node_values: ArrayLike | None = None,
    node_scale: Scale | None = None,
    empty_text: str = "no pair to show",
) -> list:
    """Draw the head seen from above, the edges of ``mask`` and the named electrodes into ``ax``.

    Parameters are those of :func:`head_connectome_png`.

    Returns
    -------
    list of matplotlib.lines.Line2D
        The edges drawn, weakest first (one line per pair).
    """
    names = montage.resolve_nodes(node_names)
    values = _check_square(matrix, len(names), "matrix")
    shown = _check_mask(mask, values)
    fills = None
    if node_values is not None:
        if node_scale is None:
            raise ValueError("node_values needs a node_scale (the scale of their colour bar).")
        fills = np.asarray(node_values, dtype=float)
        if fills.shape != (len(names),):
            raise ValueError(f"node_values has shape {fills.shape}, expected ({len(names)},): one per node.")

    from matplotlib import patheffects
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Circle

    xy = head_layout(names)
    radius = _node_radius(xy)
    _draw_head(ax)
    rows, cols = np.nonzero(np.triu(shown, 1))
    order = np.argsort(np.abs(values[rows, cols]), kind="stable")
    cmap, norm = scale.colormap(), scale.norm()
    outline = [patheffects.Stroke(linewidth=3.8, foreground="#8a8a8a"), patheffects.Normal()]
    lines = []
    for k in order:
        i, j = rows[k], cols[k]
        (line,) = ax.plot(*xy[[i, j]].T, color=cmap(norm(values[i, j])), linewidth=2.6, solid_capstyle="round",
                          zorder=2, path_effects=outline, label=f"{names[i]}-{names[j]}")
        lines.append(line)
    colours = (["white"] * len(names) if fills is None
               else [node_scale.colormap()(node_scale.norm()(v)) for v in fills])
    font = 7.5 if radius >= 0.07 else 6.0
    for (x, y), name, fill, rim in zip(xy, names, colours, _region_colours(names), strict=True):
        ax.add_patch(Circle((x, y), radius, facecolor=fill, edgecolor=rim, linewidth=2.0, zorder=3))
        dark = np.dot(to_rgb(fill), [0.299, 0.587, 0.114]) < 0.5
        ax.text(x, y, name, ha="center", va="center", fontsize=font, fontweight="bold", zorder=4,
                color="white" if dark else "black")
    if not lines:
        ax.text(0, -0.02, empty_text, ha="center", va="center", fontsize=12, color="#555555", zorder=5,
                bbox={"facecolor": "white", "edgecolor": "#999999", "boxstyle": "round"})
    ax.set_xlim(-1.2, 1.2)
    ax.set_ylim(-1.12, 1.16)
    ax.set_aspect("equal")
    ax.axis("off")
    return lines


def head_connectome_png(
    matrix: ArrayLike,
    node_names: Sequence[str],
    path: PathLike,
    *,
    title: str,
    scale: Scale,
    mask: ArrayLike | None = None,
    node_values: ArrayLike | None = None,
    node_scale: Scale | None = None,
    note: str = "",
    empty_text: str = "no pair to show",
    overwrite: bool = False,
) -> Path:
    """Draw edges between named electrodes on the head seen from above, and save a PNG.

    Parameters
    ----------
    matrix : array_like, shape (n_nodes, n_nodes)
        Symmetric edge values (a connectivity, a difference, an importance), in node order.
    node_names : list of str, length n_nodes
    path : str or path-like
        Destination PNG.
    title : str
    scale : Scale
        Colour scale of the edges (shared with the other views of the same quantity).
    mask : array_like of bool, shape (n_nodes, n_nodes), optional
        The edges to draw (default: every non-zero edge). Nothing else is drawn: with no edge the map shows the
        electrodes and ``empty_text``.
    node_values : array_like, shape (n_nodes,), optional
        Fill colour of the electrodes on ``node_scale`` (a second colour bar); white when None.
    node_scale : Scale, optional
        Required with ``node_values``.
    note : str
        A line under the head (e.g. the threshold or the test).
    empty_text : str
        Written on a map without edges.
    overwrite : bool

    Returns
    -------
    pathlib.Path

    Notes
    -----
    Electrodes are circles with their name inside and a rim in their region's colour
    (:data:`~eeg_gnn.review.figures.REGION_COLOURS`); edges are drawn weakest first, each with a thin grey
    outline so that light colours stay visible on white.
    """
    path = check_destination(path, overwrite)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 6.6 if node_values is None else 7.2), layout="constrained")
    ax = fig.add_subplot()
    try:
        draw_head_connectome(ax, matrix, node_names, scale=scale, mask=mask, node_values=node_values,
                             node_scale=node_scale, empty_text=empty_text)
    except BaseException:
        fig.clear()
        raise
    ax.set_title(title, fontsize=11)
    if note:
        ax.set_ylim(-1.2, 1.16)
        ax.text(0.0, -1.13, note, ha="center", va="top", fontsize=8, color="#444444")
    _colour_bar(fig, ax, scale)
    if node_values is not None:
        _colour_bar(fig, ax, node_scale, pad=0.01)
    return _save_figure(fig, path, overwrite=overwrite)


def matrix_png(
    matrix: ArrayLike,
    node_names: Sequence[str],
    path: PathLike,
    *,
    title: str,
    scale: Scale,
    mask: ArrayLike | None = None,
    mask_label: str = "not shown",
    overwrite: bool = False,
) -> Path:
    """Draw a connectivity matrix with named rows and columns, grouped by region, and save a PNG.

    Parameters
    ----------
    matrix : array_like, shape (n_nodes, n_nodes)
    node_names : list of str, length n_nodes
    path : str or path-like
    title : str
    scale : Scale
    mask : array_like of bool, shape (n_nodes, n_nodes), optional
        Cells to colour (default: all); the others are light grey, explained by ``mask_label`` in a legend. The
        diagonal is always grey.
    mask_label : str
        What a grey cell means (e.g. ``'not significant'``).
    overwrite : bool

    Returns
    -------
    pathlib.Path

    Notes
    -----
    Rows and columns are in :func:`region_order` (prefrontal to occipital, left to right), with lines between the
    regions and their names beside the rows.
    """
    names = montage.resolve_nodes(node_names)
    n = len(names)
    values = _check_square(matrix, n, "matrix")
    shown = np.ones((n, n), dtype=bool) if mask is None else _check_mask(mask, values)
    np.fill_diagonal(shown, False)
    path = check_destination(path, overwrite)

    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    order = region_order(names)
    ordered = [names[i] for i in order]
    values, shown = values[np.ix_(order, order)], shown[np.ix_(order, order)]
    size = 3.2 + 0.19 * n
    fig = Figure(figsize=(size + 0.4, size + 1.0), layout="constrained")
    ax = fig.add_subplot()
    cmap = scale.colormap().with_extremes(bad=NOT_SHOWN_COLOUR)
    image = ax.imshow(np.ma.masked_where(~shown, values), cmap=cmap, norm=scale.norm(), interpolation="nearest")
    font = 8 if n <= 24 else 6 if n <= 40 else 4.5
    ax.set_xticks(range(n), labels=ordered, rotation=90, fontsize=font)
    ax.set_yticks(range(n), labels=ordered, fontsize=font)
    ax.tick_params(length=0, top=True, labeltop=True, bottom=False, labelbottom=False)
    regions = montage.regions(ordered)
    starts = [k for k in range(n) if k == 0 or regions[k] != regions[k - 1]]
    for k in starts[1:]:
        ax.axhline(k - 0.5, color="#444444", linewidth=0.8)
        ax.axvline(k - 0.5, color="#444444", linewidth=0.8)
    offset = 0.035 + 0.014 * max(map(len, ordered))
    for k, stop in zip(starts, [*starts[1:], n], strict=True):
        ax.text(-offset, 1.0 - (k + stop) / 2 / n, regions[k][1], transform=ax.transAxes, rotation=90, ha="right",
                va="center", fontsize=7, color="#444444")
    ax.set_title(title, fontsize=11)
    bar = fig.colorbar(image, ax=ax, orientation="horizontal", shrink=0.8, aspect=30, pad=0.02)
    bar.set_label(scale.label, fontsize=9)
    bar.ax.tick_params(labelsize=8)
    if (~shown & ~np.eye(n, dtype=bool)).any():
        fig.legend(handles=[Patch(facecolor=NOT_SHOWN_COLOUR, edgecolor="#999999", label=mask_label)],
                   loc="lower right", fontsize=8, frameon=False)
    return _save_figure(fig, path, overwrite=overwrite)


def node_bars_png(
    values: ArrayLike,
    node_names: Sequence[str],
    path: PathLike,
    *,
    title: str,
    xlabel: str,
    overwrite: bool = False,
) -> Path:
    """One horizontal bar per electrode, largest on top, coloured by region, and save a PNG.

    Parameters
    ----------
    values : array_like, shape (n_nodes,)
    node_names : list of str, length n_nodes
    path : str or path-like
    title, xlabel : str
        ``xlabel`` names the quantity and its unit.
    overwrite : bool

    Returns
    -------
    pathlib.Path
    """
    names = montage.resolve_nodes(node_names)
    array = np.asarray(values, dtype=float)
    if array.shape != (len(names),):
        raise ValueError(f"values has shape {array.shape}, expected ({len(names)},): one per node.")
    path = check_destination(path, overwrite)

    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    order = np.argsort(array)
    colours = _region_colours(names)
    fig = Figure(figsize=(5.0, 1.4 + 0.22 * len(names)), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(names)), array[order], color=[colours[i] for i in order])
    ax.set_yticks(range(len(names)), labels=[names[i] for i in order], fontsize=8)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    present = sorted(set(montage.regions(names)))
    ax.legend(handles=[Patch(color=REGION_COLOURS.get(code, UNKNOWN_REGION_COLOUR), label=region)
                       for code, region in present], fontsize=7, loc="lower right", frameon=False)
    return _save_figure(fig, path, overwrite=overwrite)


def psd_png(
    freqs: ArrayLike,
    psd: Mapping[str, ArrayLike],
    node_names: Sequence[str],
    bands: Mapping[str, tuple[float, float]],
    path: PathLike,
    *,
    title: str,
    overwrite: bool = False,
) -> Path:
    """Power spectra per class, one panel per brain region, with the frequency bands marked, and save a PNG.

    Parameters
    ----------
    freqs : array_like, shape (n_freqs,)
        Hz.
    psd : dict of str to array_like, shape (n_subjects, n_nodes, n_freqs)
        Per class: each subject's mean power spectral density over that class's windows, in V²/Hz.
    node_names : list of str, length n_nodes
    bands : dict of str to (fmin, fmax)
        Shaded and named; the frequency axis spans the bands (logarithmic, so that the low bands are readable).
    path : str or path-like
    title : str
    overwrite : bool

    Returns
    -------
    pathlib.Path

    Notes
    -----
    A line is the mean over subjects of log10 power (µV²/Hz) averaged over the region's electrodes; its shade is
    ± one standard error over subjects.
    """
    names = montage.resolve_nodes(node_names)
    f = np.asarray(freqs, dtype=float)
    spectra = {str(name): np.asarray(values, dtype=float) for name, values in psd.items()}
    for name, values in spectra.items():
        if values.ndim != 3 or values.shape[1:] != (len(names), f.size):
            raise ValueError(f"psd[{name!r}] has shape {values.shape}, expected (n_subjects, {len(names)}, {f.size}).")
    path = check_destination(path, overwrite)

    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, NullFormatter

    regions = montage.regions(names)
    present = sorted(set(regions))
    columns = 3 if len(present) > 4 else 2 if len(present) > 1 else 1
    rows = int(np.ceil(len(present) / columns))
    fig = Figure(figsize=(3.4 * columns + 0.4, 2.8 * rows + 0.9), layout="constrained")
    axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
    low = max(min(edge for edge, _ in bands.values()), f[f > 0].min())
    high = max(edge for _, edge in bands.values())
    keep = (f >= low) & (f <= high)
    for ax, region in zip(axes, present, strict=False):
        members = [i for i, r in enumerate(regions) if r == region]
        for number, (name, values) in enumerate(spectra.items()):
            log_power = np.log10(values[:, members, :].mean(axis=1) * 1e12)
            mean = log_power.mean(axis=0)
            error = (log_power.std(axis=0, ddof=1) / np.sqrt(len(log_power)) if len(log_power) > 1
                     else np.zeros_like(mean))
            ax.plot(f[keep], mean[keep], color=f"C{number}", linewidth=1.6, label=f"{name} ({len(log_power)})")
            ax.fill_between(f[keep], (mean - error)[keep], (mean + error)[keep], color=f"C{number}", alpha=0.25,
                            linewidth=0)
        for k, (band, (fmin, fmax)) in enumerate(bands.items()):
            ax.axvspan(fmin, fmax, color="#000000", alpha=0.04 if k % 2 else 0.09, linewidth=0)
            ax.text(np.sqrt(max(fmin, low) * fmax), 0.98, band, transform=ax.get_xaxis_transform(), ha="center",
                    va="top", fontsize=6.5, color="#333333")
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        ticks = [t for t in (1, 2, 4, 8, 13, 20, 30, 45, 60, 100) if low <= t <= high]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(lambda value, _: f"{value:g}")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{region[1]} ({', '.join(names[i] for i in members)})", fontsize=8.5)
        ax.set_xlabel("frequency (Hz)", fontsize=8)
        ax.set_ylabel("log10 power (µV²/Hz)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
    for ax in axes[len(present):]:
        ax.axis("off")
    axes[0].legend(fontsize=7, title="class (subjects)", title_fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=11)
    return _save_figure(fig, path, overwrite=overwrite)
