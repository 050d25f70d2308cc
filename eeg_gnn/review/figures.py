"""Figures for the review report: connectomes on a glass brain, topographic maps, ROC curves, confusion matrices.

Every function draws one figure, writes it to one file and returns that file's :class:`~pathlib.Path`. Files are
written atomically (a hidden temporary file beside the destination, then a rename) and an existing file is never
replaced unless ``overwrite=True``; otherwise :class:`FileExistsError` is raised before anything is drawn.

Figures are :class:`matplotlib.figure.Figure` objects that never enter pyplot's registry, so no GUI backend is
needed and nothing stays open after a call (there is no pyplot figure to close). nilearn and MNE are imported
inside the functions that need them: ``import eeg_gnn.review.figures`` stays cheap.

Node colours follow the region codes of :func:`eeg_gnn.signal.montage.regions` (:data:`REGION_COLOURS`), the same codes
the BrainNet ``.node`` files of :mod:`eeg_gnn.review.export` carry.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from eeg_gnn.review.export import REGION_COLOURS
from eeg_gnn.signal import montage
from eeg_gnn.utils.files import atomic_write, check_destination, write_text_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "REGION_COLOURS",
    "confusion_png",
    "connectome_html",
    "connectome_png",
    "roc_png",
    "topomap_grid_png",
]

PathLike = str | os.PathLike

#: Resolution of every PNG written here (dots per inch).
DPI = 100

#: A fixed colour per region code of :func:`eeg_gnn.signal.montage.regions` (colour-blind-safe "Dark2" palette).
_UNKNOWN_REGION_COLOUR = "#666666"

SEQUENTIAL_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"
NODE_SIZE_CONSTANT = 60.0  # marker area in points^2
NODE_SIZE_RANGE = (15.0, 220.0)  # smallest and largest marker area when sizes come from node_values
_PERCENT = re.compile(r"^\s*(\d+(\.\d*)?|\.\d+)\s*%\s*$")


# --------------------------------------------------------------------------------------------- files


#: Colours of the palette a figure's PNG is stored with (see :func:`_save_figure`).
PALETTE_COLOURS = 256


def _save_figure(fig: Figure, path: Path, *, overwrite: bool) -> Path:
    """Save ``fig`` as a PNG at :data:`DPI` (atomically) and release its canvas.

    The PNG holds a palette of :data:`PALETTE_COLOURS` colours chosen for the image (Pillow's median cut) instead
    of 24-bit colour: a colour map has 256 entries anyway, and the files (embedded in the report too) are about a
    third as large.
    """
    from PIL import Image

    def write(temp: Path) -> None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
        buffer.seek(0)
        with Image.open(buffer) as image:
            image.convert("RGB").quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT).save(
                temp, format="PNG", optimize=True)

    try:
        return atomic_write(path, write, overwrite=overwrite)
    finally:
        fig.clear()


# --------------------------------------------------------------------------------------------- checks


def _check_title(title: Any) -> str:
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}: {title!r}.")
    return title


def _check_matrix(matrix: ArrayLike, n_nodes: int, *, signed: bool) -> np.ndarray:
    """A finite, symmetric ``(n_nodes, n_nodes)`` float matrix with a zero diagonal (self-loops are not drawn)."""
    from eeg_gnn.review.export import check_edge_matrix

    array = check_edge_matrix(matrix, n_nodes, symmetric=True).copy()
    np.fill_diagonal(array, 0.0)
    if not signed and (array < 0).any():
        row, column = (int(i) for i in np.unravel_index(np.argmin(array), array.shape))
        raise ValueError(
            f"matrix holds negative values (the smallest is {array[row, column]:.6g} at [{row}, {column}]) but "
            "signed=False; pass signed=True to draw signed values such as group differences or correlations."
        )
    return array


def _check_edge_threshold(edge_threshold: Any) -> str | float:
    """``'90%'``-style percentile strings (0-100) or a non-negative number; returned unchanged."""
    if isinstance(edge_threshold, str):
        match = _PERCENT.match(edge_threshold)
        if match is None or not 0.0 <= float(match.group(1)) <= 100.0:
            raise ValueError(
                f"edge_threshold must be a percentile between '0%' and '100%' (such as '90%', which keeps the "
                f"strongest 10 % of the edges) or a non-negative number, got {edge_threshold!r}."
            )
        return f"{float(match.group(1)):g}%"
    if isinstance(edge_threshold, bool) or not isinstance(edge_threshold, int | float | np.number):
        raise TypeError(
            f"edge_threshold must be a str such as '90%' or a number, got {type(edge_threshold).__name__}: "
            f"{edge_threshold!r}."
        )
    value = float(edge_threshold)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"edge_threshold must be a finite number >= 0 (an absolute edge weight), got {edge_threshold!r}.")
    return value


def _node_colours(node_names: Sequence[str]) -> list[str]:
    return [REGION_COLOURS.get(code, _UNKNOWN_REGION_COLOUR) for code, _ in montage.regions(node_names)]


def _region_handles(node_names: Sequence[str]) -> list[Any]:
    """Legend handles for the regions present, in region-code order."""
    from matplotlib.lines import Line2D

    present = sorted(set(montage.regions(node_names)))
    return [
        Line2D([], [], linestyle="none", marker="o", markersize=8, color=REGION_COLOURS.get(code, _UNKNOWN_REGION_COLOUR),
               label=name)
        for code, name in present
    ]


def _node_sizes(node_values: ArrayLike | None, n_nodes: int) -> np.ndarray:
    """Marker areas: constant, or proportional to ``|node_values|`` within :data:`NODE_SIZE_RANGE`."""
    if node_values is None:
        return np.full(n_nodes, NODE_SIZE_CONSTANT)
    if np.iscomplexobj(node_values):
        raise TypeError("node_values must be real numbers, got complex values.")
    values = np.asarray(node_values, dtype=float)
    if values.shape != (n_nodes,):
        raise ValueError(f"node_values has shape {values.shape} but there are {n_nodes} nodes; pass one value per node.")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"node_values must be finite, got {values[bad[0]]} at index {int(bad[0])}.")
    magnitude = np.abs(values)
    largest = magnitude.max()
    scaled = magnitude / largest if largest > 0 else np.zeros(n_nodes)
    low, high = NODE_SIZE_RANGE
    return low + (high - low) * scaled


def _check_node_values_table(name: str, array: ArrayLike, n_nodes: int, n_bands: int) -> np.ndarray:
    values = np.asarray(array, dtype=float)
    if values.shape != (n_nodes, n_bands):
        raise ValueError(
            f"{name} has shape {values.shape}, expected (n_nodes, n_bands) = ({n_nodes}, {n_bands}) "
            "(one row per node, one column per band)."
        )
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        row, column = (int(i) for i in bad[0])
        raise ValueError(f"{name} holds a non-finite value {values[row, column]} at [{row}, {column}].")
    return values


# --------------------------------------------------------------------------------------------- connectomes


def connectome_png(
    matrix: ArrayLike,
    node_names: Sequence[str],
    path: PathLike,
    *,
    title: str,
    edge_threshold: str | float = "90%",
    node_values: ArrayLike | None = None,
    kind: str = "cortex",
    signed: bool = False,
    overwrite: bool = False,
) -> Path:
    """Draw a connectome on a glass brain (three orthogonal views) and save it as a PNG.

    Parameters
    ----------
    matrix : array_like, shape (n_nodes, n_nodes)
        Symmetric connectivity (or difference) matrix, rows and columns in the order of ``node_names``. The
        diagonal is ignored.
    node_names : list of str, length n_nodes
        Electrode names (old names such as T3 are accepted).
    path : str or path-like
        Destination PNG file.
    title : str
        Drawn in the figure.
    edge_threshold : str or float
        Edges whose absolute weight is below it are not drawn: a percentile of the absolute weights (``'90%'``
        keeps the strongest 10 %) or an absolute weight.
    node_values : array_like, shape (n_nodes,), optional
        Node marker areas are proportional to ``|node_values|`` (from 15 to 220 points^2); constant when None.
    kind : 'cortex' | 'scalp'
        Electrode positions projected onto the cortex (default; lies inside the glass brain) or on the scalp
        (MNI millimetres, :func:`eeg_gnn.signal.montage.positions`).
    signed : bool
        False: weights must be >= 0 and use a sequential colour map. True: a diverging colour map symmetric
        around 0 (blue negative, red positive), for group differences or correlations.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The PNG written (about 100 dpi).

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If the matrix is not square, symmetric and finite, does not match the nodes, is negative while
        ``signed=False``, or a node name, ``kind``, ``edge_threshold`` or ``node_values`` is invalid.

    Notes
    -----
    Nodes are coloured by brain region (:data:`REGION_COLOURS`, legend below the brain).
    """
    title = _check_title(title)
    names = montage.resolve_nodes(node_names)
    coords = montage.positions(names, kind=kind)
    array = _check_matrix(matrix, len(names), signed=signed)
    threshold = _check_edge_threshold(edge_threshold)
    sizes = _node_sizes(node_values, len(names))
    path = check_destination(path, overwrite)

    from matplotlib.figure import Figure
    from nilearn import plotting

    largest = float(np.abs(array).max())
    if signed:
        vmax = largest if largest > 0 else 1.0
        edge_kwargs = {"edge_cmap": DIVERGING_CMAP, "edge_vmin": -vmax, "edge_vmax": vmax}
    else:
        edge_kwargs = {"edge_cmap": SEQUENTIAL_CMAP, "edge_vmin": 0.0, "edge_vmax": largest if largest > 0 else 1.0}
    fig = Figure(figsize=(10.0, 4.6))
    plotting.plot_connectome(
        array,
        coords,
        node_color=_node_colours(names),
        node_size=sizes,
        edge_threshold=threshold,
        figure=fig,
        axes=(0.0, 0.13, 1.0, 0.87),
        title=title,
        colorbar=True,
        annotate=True,
        node_kwargs={"edgecolors": "black", "linewidths": 0.5},
        **edge_kwargs,
    )
    note = f"edges shown: |weight| above the {threshold} threshold" if isinstance(threshold, str) else (
        f"edges shown: |weight| >= {threshold:g}"
    )
    if node_values is not None:
        note += "; node size proportional to |node value|"
    fig.legend(handles=_region_handles(names), loc="lower left", ncol=6, frameon=False, fontsize=9,
               bbox_to_anchor=(0.0, 0.04))
    fig.text(0.01, 0.015, note, ha="left", va="bottom", fontsize=8, color="#444444")
    return _save_figure(fig, path, overwrite=overwrite)


_FAVICON_LINK = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"']?icon[\"']?[^>]*>", re.IGNORECASE | re.DOTALL)
_OFFLINE_FAVICON = '<link rel="icon" href="data:,">'


def connectome_html(
    matrix: ArrayLike,
    node_names: Sequence[str],
    path: PathLike,
    *,
    title: str,
    edge_threshold: str | float = "90%",
    signed: bool = False,
    vmin: float | None = None,
    vmax: float | None = None,
    overwrite: bool = False,
    share_scripts: bool = False,
) -> Path:
    """Write an interactive 3-D connectome (nilearn ``view_connectome``) as one HTML page that works offline.

    Parameters
    ----------
    matrix : array_like, shape (n_nodes, n_nodes)
        Symmetric connectivity (or difference) matrix; the diagonal is ignored.
    node_names : list of str, length n_nodes
        Electrode names; shown when the pointer is over a node.
    path : str or path-like
        Destination HTML file.
    title : str
        Shown above the brain.
    edge_threshold : str or float
        As in :func:`connectome_png`.
    signed : bool
        As in :func:`connectome_png`: a colour map symmetric around 0 when True.
    vmin, vmax : float, optional
        The range of the edge colour scale, to share one scale between several views (nilearn otherwise spans
        the edges of this view). With ``signed``, give ``vmax`` only: the scale is ``-vmax`` to ``vmax``.
    overwrite : bool
        Replace an existing file.
    share_scripts : bool
        Write the plotting library (jQuery, plotly) and the brain mesh once, beside the page, as
        ``viewer-<hash>.js`` and ``brain-<hash>.js`` (see :func:`share_page_scripts`), and load them from there:
        several views of one folder then hold one copy (about 2.5 MB) instead of one each. The page then opens
        offline only with those files beside it.

    Returns
    -------
    pathlib.Path
        The HTML file written.

    Notes
    -----
    The page holds its JavaScript (jQuery, plotly) and the brain mesh inline, so it opens without a network.
    We write nilearn's full page (``view.get_standalone()``), not ``view.save_as_html`` (nilearn 0.14 writes
    an ``<iframe srcdoc=...>`` fragment of fixed size there), and replace its favicon link, which points to
    ``raw.githubusercontent.com``, by an empty inline icon, so that opening the file never contacts a server.
    The plotly bundle still contains URL strings (``cdn.plot.ly`` map defaults, help links) that a 3-D plot
    never loads.
    """
    title = _check_title(title)
    names = montage.resolve_nodes(node_names)
    coords = montage.positions(names, kind="cortex")
    array = _check_matrix(matrix, len(names), signed=signed)
    threshold = _check_edge_threshold(edge_threshold)
    path = check_destination(path, overwrite)

    from nilearn import plotting

    view = plotting.view_connectome(
        array,
        coords,
        edge_threshold=threshold,
        edge_cmap=DIVERGING_CMAP if signed else SEQUENTIAL_CMAP,
        symmetric_cmap=signed,
        node_color=_node_colours(names),
        node_size=4.0,
        title=title,
        title_fontsize=18,
        colorbar_fontsize=14,
        node_labels=names,
    )
    try:
        page = view.get_standalone()
    finally:
        del view  # nilearn warns once more than 10 views are alive at a time
    page = _FAVICON_LINK.sub(_OFFLINE_FAVICON, page)
    if signed and vmax is not None:
        vmin = -float(vmax)
    for key, value in (("line_cmin", vmin), ("line_cmax", vmax)):
        if value is not None:
            page, count = re.subn(rf'"{key}": [-+0-9.eE]+', f'"{key}": {float(value)!r}', page)
            if count != 1:
                raise RuntimeError(f"nilearn's page holds {count} {key} entries, not 1: cannot set the colour scale.")
    if share_scripts:
        page = share_page_scripts(page, path.parent)
    return write_text_atomic(path, page, overwrite=overwrite)


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_CONNECTOME_INFO = re.compile(r"var connectomeInfo = (\{.*?\});\n", re.DOTALL)
#: Inline scripts at least this long are libraries, the same in every page.
LIBRARY_CHARS = 50_000
MESH_KEYS = ("pial_left", "pial_right")


def _shared_file(folder: Path, stem: str, text: str) -> str:
    """Write ``text`` once as ``folder/<stem>-<hash>.js`` and return that file's name."""
    name = f"{stem}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.js"
    if not (folder / name).is_file():
        write_text_atomic(folder / name, text, overwrite=True)
    return name


def share_page_scripts(page: str, folder: Path) -> str:
    """A nilearn page whose libraries and brain mesh are loaded from files in ``folder`` (written once).

    The inline scripts longer than :data:`LIBRARY_CHARS` (jQuery, plotly) go, together and in order, to
    ``viewer-<hash>.js``; the mesh (``pial_left``, ``pial_right`` of ``connectomeInfo``) to ``brain-<hash>.js``,
    which sets ``window.eegGnnBrain``; the page keeps its own edges and nodes. The hash of the content names each
    file, so pages made with another nilearn or mesh never load a wrong copy.
    """
    folder.mkdir(parents=True, exist_ok=True)
    libraries = [m for m in _INLINE_SCRIPT.finditer(page) if len(m.group(1)) >= LIBRARY_CHARS
                 and "connectomeInfo =" not in m.group(1)]
    if libraries:
        name = _shared_file(folder, "viewer", "\n;\n".join(m.group(1) for m in libraries))
        pieces, end = [], 0
        for match in libraries:
            pieces.append(page[end:match.start()])
            if match is libraries[0]:
                pieces.append(f'<script src="{name}"></script>')
            end = match.end()
        page = "".join(pieces) + page[end:]
    info = _CONNECTOME_INFO.search(page)
    if info:
        data = json.loads(info.group(1))
        mesh = {key: data.pop(key) for key in MESH_KEYS if key in data}
        if mesh:
            name = _shared_file(folder, "brain", "window.eegGnnBrain = " + json.dumps(mesh) + ";\n")
            replacement = f"var connectomeInfo = Object.assign({json.dumps(data)}, window.eegGnnBrain);\n"
            script_start = page.rfind("<script>", 0, info.start())
            page = (page[:script_start] + f'<script src="{name}"></script>\n' + page[script_start:info.start()]
                    + replacement + page[info.end():])
    return page


# --------------------------------------------------------------------------------------------- topographic maps


@lru_cache(maxsize=1)
def _head_sphere() -> tuple[float, float, float, float]:
    """Centre (x, y, z) and radius in metres of the head circle drawn under scalp maps.

    As MNE's ``sphere='eeglab'``: the centre is the mean of the scalp positions of Fpz, Oz, T7 and T8 and the
    radius the mean distance of T7/T8 (along x) and Fpz/Oz (along y) from it, so that the 10-20 horizon
    (Fpz-T7-Oz-T8) lies on the head circle. Computed from the positions table (MNE's own ``'eeglab'`` needs
    those four electrodes among the plotted channels); the same for every node subset. MNE's default sphere
    (origin, 95 mm) does not fit MNI positions, whose head centre lies about 2 cm behind the origin.
    """
    fpz, oz, t7, t8 = montage.positions(["Fpz", "Oz", "T7", "T8"], kind="scalp") / 1000.0
    centre = np.mean([fpz, oz, t7, t8], axis=0)
    radius = float(np.mean([abs(t7[0] - centre[0]), abs(t8[0] - centre[0]), abs(fpz[1] - centre[1]),
                            abs(oz[1] - centre[1])]))
    return (float(centre[0]), float(centre[1]), float(centre[2]), radius)


def _topomap_info(names: list[str]) -> Any:
    """An ``mne.Info`` of EEG channels named as the nodes, with their MNI scalp positions as the montage.

    The positions are shifted so that the centre of :func:`_head_sphere` is the origin, as the centre of the head
    is in MNE's head frame (MNE sizes the map's mask by the distance of the electrodes from the origin), and
    moved along their direction from the centre onto the sphere: MNE draws an electrode at a distance from the
    middle of the map proportional to its angle from the vertex times its distance from the centre, and on the
    elongated real head that put Fp1/Fp2 14 % outside the head circle; on the sphere only the angle counts (as
    EEGLAB's spherical coordinates), so the 10-20 horizon lies on the head circle.
    """
    import mne

    *centre, radius = _head_sphere()
    relative = montage.positions(names, kind="scalp") / 1000.0 - np.array(centre)
    scalp_m = radius * relative / np.linalg.norm(relative, axis=1, keepdims=True)
    info = mne.create_info(names, sfreq=100.0, ch_types="eeg")
    dig = mne.channels.make_dig_montage(ch_pos=dict(zip(names, scalp_m)), coord_frame="head")
    info.set_montage(dig)
    return info


def _row_label(ax: Any, text: str) -> None:
    ax.text(-0.08, 0.5, text, transform=ax.transAxes, rotation=90, ha="right", va="center", fontsize=11,
            fontweight="bold")


def topomap_grid_png(
    values: Mapping[str, ArrayLike],
    band_names: Sequence[str],
    node_names: Sequence[str],
    path: PathLike,
    *,
    title: str,
    difference: ArrayLike | None = None,
    difference_label: str = "difference",
    colorbar_label: str = "",
    difference_colorbar_label: str | None = None,
    significant: ArrayLike | None = None,
    names: bool = True,
    overwrite: bool = False,
) -> Path:
    """Draw a grid of scalp maps (rows: groups, plus an optional difference row; columns: bands) as a PNG.

    Parameters
    ----------
    values : dict of str to array_like, shape (n_nodes, n_bands)
        One table per group (e.g. per class): a value (such as mean band power) per node and band. Rows of the
        grid follow the dict's order.
    band_names : list of str, length n_bands
        Column titles.
    node_names : list of str, length n_nodes
        Electrode names, in the row order of the tables.
    path : str or path-like
        Destination PNG file.
    title : str
        Figure title.
    difference : array_like, shape (n_nodes, n_bands), optional
        Drawn as a last row with a diverging colour map symmetric around 0 (blue below 0, red above).
    difference_label : str
        Label of the difference row (e.g. ``'task - rest'``).
    colorbar_label : str
        Unit or quantity written under the colour bars (e.g. ``'log10 power (uV^2/Hz)'``).
    difference_colorbar_label : str, optional
        Title of the difference row's colour bars (default: ``colorbar_label`` followed by ``(difference)``).
    significant : array_like of bool, shape (n_nodes, n_bands), optional
        Electrodes circled on the difference row (e.g. those whose difference survives a test).
    names : bool
        Write each electrode's name on every map.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The PNG written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If ``values`` is empty, a table's shape does not match ``(n_nodes, n_bands)``, a value is not finite,
        there are fewer than 3 nodes, a node name is unknown, or ``significant`` is given without
        ``difference`` or has another shape.

    Notes
    -----
    Within a column, all group rows share one colour scale (one colour bar below them), so the groups can be
    compared band by band; the difference row has its own symmetric scale per column.

    Positions: MNI scalp positions (:func:`eeg_gnn.signal.montage.positions` with ``kind='scalp'``) stand in for MNE's
    head coordinates (``make_dig_montage(..., coord_frame='head')``). The two frames differ by a shift of about
    2 cm and a small rotation. The shift is removed: positions are taken relative to the centre of the head
    circle through Fpz, T7, Oz and T8 (as MNE's ``sphere='eeglab'``; centre about 14 mm behind the MNI origin,
    radius about 93 mm) and projected onto that sphere along their direction from the centre, so that an
    electrode's place on the map depends only on its direction, as in EEGLAB; the remaining tilt between the
    frames moves the electrodes on the map by a few degrees only.
    """
    title = _check_title(title)
    if not isinstance(values, Mapping) or not values:
        raise ValueError(f"values must be a non-empty dict of group name -> (n_nodes, n_bands) array, got {values!r}.")
    names = montage.resolve_nodes(node_names)
    if len(names) < 3:
        raise ValueError(f"A scalp map needs at least 3 electrodes, got {len(names)}: {names}.")
    bands = [str(band) for band in band_names]
    if not bands:
        raise ValueError("band_names is empty; give one name per column of the tables.")
    tables = {str(key): _check_node_values_table(f"values[{key!r}]", table, len(names), len(bands))
              for key, table in values.items()}
    diff = None if difference is None else _check_node_values_table("difference", difference, len(names), len(bands))
    marked = None
    if significant is not None:
        marked = np.asarray(significant, dtype=bool)
        if diff is None or marked.shape != (len(names), len(bands)):
            raise ValueError(f"significant marks electrodes of the difference row: it needs difference and shape "
                             f"(n_nodes, n_bands) = ({len(names)}, {len(bands)}), got {marked.shape}"
                             + ("" if diff is not None else " without difference") + ".")
    path = check_destination(path, overwrite)

    import mne
    from matplotlib.figure import Figure

    info = _topomap_info(names)
    sphere = (0.0, 0.0, 0.0, _head_sphere()[3])  # the positions of ``info`` are relative to the centre
    n_rows = len(tables) + (diff is not None)
    n_columns = len(bands)
    fig = Figure(figsize=(2.3 * n_columns + 0.8, 2.2 * n_rows + 1.4 + 0.6 * (diff is not None)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(n_rows, n_columns, squeeze=False))
    common = {"sensors": True, "contours": 4, "sphere": sphere, "show": False, "extrapolate": "head",
              "names": names if names else None}
    group_rows = list(tables.items())
    for column, band in enumerate(bands):
        stacked = np.stack([table[:, column] for table in tables.values()])
        vmin, vmax = float(stacked.min()), float(stacked.max())
        if vmin == vmax:
            vmin, vmax = vmin - 0.5, vmax + 0.5
        image = None
        for row, (_, table) in enumerate(group_rows):
            image, _ = mne.viz.plot_topomap(table[:, column], info, axes=axes[row, column], cmap=SEQUENTIAL_CMAP,
                                            vlim=(vmin, vmax), **common)
        axes[0, column].set_title(band, fontsize=12)
        bar = fig.colorbar(image, ax=list(axes[: len(group_rows), column]), location="bottom", shrink=0.8,
                           aspect=15)
        bar.ax.tick_params(labelsize=8)
        if colorbar_label:
            bar.set_label(colorbar_label, fontsize=8)
        if diff is not None:
            limit = float(np.abs(diff[:, column]).max()) or 1.0
            mask = {} if marked is None else {
                "mask": marked[:, column], "mask_params": {"marker": "o", "markerfacecolor": "none",
                                                           "markeredgecolor": "black", "markersize": 11,
                                                           "markeredgewidth": 1.6}}
            image, _ = mne.viz.plot_topomap(diff[:, column], info, axes=axes[-1, column], cmap=DIVERGING_CMAP,
                                            vlim=(-limit, limit), **common, **mask)
            bar = fig.colorbar(image, ax=axes[-1, column], location="bottom", shrink=0.8, aspect=15)
            bar.ax.tick_params(labelsize=8)
            label = difference_colorbar_label or (f"{colorbar_label} (difference)" if colorbar_label else "")
            if label:
                bar.set_label(label, fontsize=8)
    if names:
        for ax in axes.ravel():
            for text in ax.texts:
                text.set_fontsize(6.5)
    for row, (key, _) in enumerate(group_rows):
        _row_label(axes[row, 0], key)
    if diff is not None:
        _row_label(axes[-1, 0], difference_label)
    fig.suptitle(title, fontsize=13)
    return _save_figure(fig, path, overwrite=overwrite)


# --------------------------------------------------------------------------------------------- performance


def _check_labels(y_true: ArrayLike, n_classes: int) -> np.ndarray:
    labels = np.asarray(y_true)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"y_true must be a non-empty 1-D array of class indices, got shape {labels.shape}.")
    if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.bool_)):
        as_float = labels.astype(float)
        if not np.all(np.isfinite(as_float)) or not np.all(as_float == np.round(as_float)):
            raise ValueError(f"y_true must hold integer class indices, got dtype {labels.dtype}.")
    labels = labels.astype(int)
    bad = labels[(labels < 0) | (labels >= n_classes)]
    if bad.size:
        raise ValueError(f"y_true holds class index {int(bad[0])}, outside 0 .. {n_classes - 1} ({n_classes} class names).")
    return labels


def roc_png(
    y_true: ArrayLike,
    probas: Mapping[str, ArrayLike],
    class_names: Sequence[str],
    path: PathLike,
    *,
    title: str,
    overwrite: bool = False,
) -> Path:
    """Draw the ROC curves of several models on one axes, with the area under each curve, and save a PNG.

    Parameters
    ----------
    y_true : array_like of int, shape (n_samples,)
        True class indices ``0 .. n_classes - 1``.
    probas : dict of str to array_like, shape (n_samples, n_classes)
        Predicted class probabilities of each model (key: model name, shown in the legend).
    class_names : list of str, length n_classes
        Class names; with two classes, class 1 is the positive class.
    path : str or path-like
        Destination PNG file.
    title : str
        Axes title.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The PNG written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If ``probas`` is empty, shapes disagree, values are not finite, or a class has no samples in
        ``y_true`` (its ROC curve is undefined).

    Notes
    -----
    Binary: one curve per model (class 1 against class 0). More classes: one-vs-rest curves for each class and
    model (colour = model, line style = class).
    """
    title = _check_title(title)
    classes = [str(name) for name in class_names]
    if len(classes) < 2:
        raise ValueError(f"class_names must name at least 2 classes, got {classes}.")
    labels = _check_labels(y_true, len(classes))
    if not isinstance(probas, Mapping) or not probas:
        raise ValueError(f"probas must be a non-empty dict of model name -> (n_samples, n_classes) array, got {probas!r}.")
    scores = {}
    for model, proba in probas.items():
        array = np.asarray(proba, dtype=float)
        if array.shape != (labels.size, len(classes)):
            raise ValueError(
                f"probas[{model!r}] has shape {array.shape}, expected (n_samples, n_classes) = "
                f"({labels.size}, {len(classes)})."
            )
        if not np.isfinite(array).all():
            raise ValueError(f"probas[{model!r}] holds non-finite values.")
        scores[str(model)] = array
    scored = [1] if len(classes) == 2 else list(range(len(classes)))
    for index in scored:
        positives = int((labels == index).sum())
        if positives in (0, labels.size):
            side = "no" if positives == 0 else "only"
            raise ValueError(
                f"y_true has {side} samples of class {classes[index]!r}; its ROC curve is undefined."
            )
    path = check_destination(path, overwrite)

    from matplotlib.figure import Figure
    from sklearn.metrics import roc_auc_score, roc_curve

    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.add_subplot()
    colours = [f"C{i}" for i in range(10)]
    styles = ["-", "--", "-.", ":"]
    for number, (model, array) in enumerate(scores.items()):
        for position, index in enumerate(scored):
            positive = labels == index
            fpr, tpr, _ = roc_curve(positive, array[:, index])
            area = roc_auc_score(positive, array[:, index])
            label = f"{model} (AUC {area:.2f})" if len(scored) == 1 else f"{model}: {classes[index]} vs rest (AUC {area:.2f})"
            ax.plot(fpr, tpr, color=colours[number % len(colours)], linestyle=styles[position % len(styles)],
                    linewidth=2, label=label)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance (AUC 0.50)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 - specificity (false-positive rate)")
    ax.set_ylabel("sensitivity (true-positive rate)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    legend_title = f"positive class: {classes[1]}" if len(classes) == 2 else "each class against the others"
    ax.legend(loc="lower right", fontsize=8, title=legend_title, title_fontsize=8)
    return _save_figure(fig, path, overwrite=overwrite)


def confusion_png(
    confusion: ArrayLike,
    class_names: Sequence[str],
    path: PathLike,
    *,
    title: str,
    overwrite: bool = False,
) -> Path:
    """Draw an annotated confusion matrix (:func:`eeg_gnn.evaluation.metrics.confusion_matrix_figure`) and save a PNG.

    Parameters
    ----------
    confusion : array_like, shape (n_classes, n_classes)
        Counts; rows = true class, columns = predicted class.
    class_names : list of str, length n_classes
    path : str or path-like
        Destination PNG file.
    title : str
        Figure title.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    title = _check_title(title)
    path = check_destination(path, overwrite)
    from eeg_gnn.evaluation.metrics import confusion_matrix_figure

    fig = confusion_matrix_figure(confusion, class_names)
    fig.suptitle(title)
    return _save_figure(fig, path, overwrite=overwrite)
