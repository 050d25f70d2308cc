"""BrainNet Viewer files: write and read the ``.node`` and ``.edge`` files clinicians open to see a brain graph.

File formats (BrainNet Viewer, Xia et al. 2013, PLoS ONE 8:e68910)
    ``.node``
        One line per node, six whitespace-separated columns ``x y z colour size label``: position in MNI
        millimetres, a colour value (here the region code of :func:`eeg_gnn.signal.montage.regions`, 1 prefrontal ...
        6 occipital), a size (here a non-negative value per node, 1.0 by default) and a label without spaces.
        We write tabs between columns.
    ``.edge``
        The ``n_nodes x n_nodes`` connectivity matrix, one row per line, rows and columns in the order of the
        ``.node`` file.

Both files may hold ``#`` comment lines; BrainNet Viewer 1.5 and later read them with MATLAB's
``textscan(..., 'CommentStyle', '#')`` and skip everything from a ``#`` to the end of the line. Every ``.edge``
file written here ends its comments with the node order (``# nodes, in row and column order: Fp1 Fp2 ...``), so
that pairing it with another ``.node`` file whose order differs is caught (:func:`read_edge` with ``node_names``)
instead of silently mislabelling rows. Versions before October 2014 read ``.edge`` files with MATLAB's ``load``,
which accepts no ``#`` line: write them with ``plain=True`` (no comment line at all).

Writes are atomic (a temporary file in the destination folder, then a rename) and never replace an existing file
unless ``overwrite=True``. :func:`write_pair` checks everything before either file is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from eeg_gnn.signal import montage
from eeg_gnn.utils.files import commit, exists_message, fsync_dir, temporary_path

#: The colour of each region code of :func:`eeg_gnn.signal.montage.regions`, in every figure and in BrainNet
#: (``brainnet_options.m``).
REGION_COLOURS: dict[int, str] = {
    1: "#1b9e77",  # prefrontal
    2: "#d95f02",  # frontal
    3: "#7570b3",  # central
    4: "#e7298a",  # temporal
    5: "#66a61e",  # parietal
    6: "#a6761d",  # occipital
}

NODE_COLUMNS = ("x", "y", "z", "colour", "size", "label")
SYMMETRY_RTOL = 1e-8
SYMMETRY_ATOL_FRACTION = 1e-12  # of the largest |entry|: rounding noise on entries that should be 0
COORDINATE_FORMAT = "{:.1f}"
NODE_ORDER_PREFIX = "# nodes, in row and column order:"
VALUE_FORMAT = "%.6g"

PathLike = str | os.PathLike


# --------------------------------------------------------------------------------------------- checks


def check_edge_matrix(matrix: ArrayLike, n_nodes: int, *, symmetric: bool = True) -> np.ndarray:
    """Check that a matrix can be written as the ``.edge`` file of ``n_nodes`` nodes.

    Parameters
    ----------
    matrix : array_like, shape (n_nodes, n_nodes)
        Connectivity or adjacency matrix, rows and columns in node order.
    n_nodes : int
        Number of nodes of the ``.node`` file the matrix goes with.
    symmetric : bool
        Require ``matrix == matrix.T`` (undirected graph): each pair may differ by ``1e-8`` times the larger of
        the two, plus ``1e-12`` times the largest absolute entry (rounding noise on entries that should be
        zero). Pass False for directed measures.

    Returns
    -------
    ndarray, shape (n_nodes, n_nodes)
        The matrix as float64.

    Raises
    ------
    TypeError
        If the matrix is not numeric.
    ValueError
        If it is not 2-D and square, its size is not ``n_nodes``, it holds NaN or infinite values, or it is
        not symmetric when ``symmetric=True``.
    """
    if np.iscomplexobj(matrix):
        raise TypeError("Edge matrix must hold real numbers, got complex values; pass np.abs(matrix) or its real part.")
    try:
        array = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Edge matrix must hold real numbers, got {type(matrix).__name__}: {exc}") from exc
    if array.ndim != 2:
        raise ValueError(f"Edge matrix must be 2-D (n_nodes x n_nodes), got shape {array.shape}.")
    rows, columns = array.shape
    if rows != columns:
        raise ValueError(f"Edge matrix must be square, got {rows} x {columns} (shape {array.shape}).")
    if rows != n_nodes:
        raise ValueError(f"Edge matrix is {rows} x {columns} but there are {n_nodes} nodes.")
    bad = ~np.isfinite(array)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"Edge matrix holds {int(bad.sum())} NaN or infinite value(s); the first is "
            f"{array[row, column]} at row {row}, column {column}."
        )
    if symmetric and rows:
        magnitude = np.abs(array)
        excess = np.abs(array - array.T) - (
            SYMMETRY_RTOL * np.maximum(magnitude, magnitude.T) + SYMMETRY_ATOL_FRACTION * magnitude.max()
        )
        if (excess > 0).any():
            row, column = (int(i) for i in np.unravel_index(np.argmax(excess), excess.shape))
            raise ValueError(
                f"Edge matrix is not symmetric: [{row}, {column}] = {array[row, column]:.6g} but "
                f"[{column}, {row}] = {array[column, row]:.6g}. Pass symmetric=False for a directed graph."
            )
    return array


def _node_sizes(values: ArrayLike | None, node_names: list[str]) -> np.ndarray:
    """Node sizes: one finite, non-negative float per node (1.0 each when ``values`` is None)."""
    n_nodes = len(node_names)
    if values is None:
        return np.ones(n_nodes)
    if np.iscomplexobj(values):
        raise TypeError("Node values must be real numbers, got complex values.")
    try:
        sizes = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Node values must be real numbers, got {type(values).__name__}: {exc}") from exc
    if sizes.shape != (n_nodes,):
        raise ValueError(f"Node values have shape {sizes.shape} but there are {n_nodes} nodes; pass one per node.")
    bad = [
        f"{name!r} ({size})" for name, size in zip(node_names, sizes) if not np.isfinite(size) or size < 0
    ]
    if bad:
        raise ValueError(
            f"Node values must be finite and >= 0 (they are drawn as node sizes), but got {', '.join(bad)}. "
            "For signed values such as a group difference pass their absolute values (np.abs) and show the "
            "sign another way."
        )
    return sizes


# --------------------------------------------------------------------------------------------- text


def _header_lines(header: str | None) -> list[str]:
    """``#`` comment lines for a header (lines that already start with ``#`` are kept as they are)."""
    if header is None:
        return []
    if not isinstance(header, str):
        raise TypeError(f"header must be a str or None, got {type(header).__name__}.")
    lines = []
    for line in header.splitlines():
        line = line.rstrip()
        lines.append(line if line.startswith("#") else f"# {line}".rstrip())
    return lines


def _label(name: str) -> str:
    """A BrainNet label: no whitespace (BrainNet splits on it) and no ``#`` (it starts a comment)."""
    return re.sub(r"[\s#]+", "_", name.strip()) or "-"


def _node_text(
    node_names: Sequence[str] | str, values: ArrayLike | None, kind: str, header: str | None, plain: bool = False
) -> tuple[str, list[str]]:
    names = montage.resolve_nodes(node_names)
    xyz = montage.positions(names, kind=kind)
    codes = [code for code, _ in montage.regions(names)]
    sizes = _node_sizes(values, names)
    lines = [] if plain else _header_lines(header)
    for (x, y, z), code, size, name in zip(xyz, codes, sizes, names):
        coordinates = [COORDINATE_FORMAT.format(round(float(v), 1) + 0.0) for v in (x, y, z)]  # no "-0.0"
        lines.append("\t".join([*coordinates, str(int(code)), VALUE_FORMAT % size, _label(name)]))
    return "\n".join(lines) + "\n", names


def _edge_text(array: np.ndarray, header: str | None, names: list[str], plain: bool = False) -> str:
    lines = [] if plain else [*_header_lines(header), f"{NODE_ORDER_PREFIX} {' '.join(_label(n) for n in names)}"]
    lines.extend("\t".join(VALUE_FORMAT % value for value in row) for row in array)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- files


def _write_files(items: list[tuple[Path, str]], overwrite: bool) -> None:
    """Write several text files all-or-nothing (as far as the file system allows).

    Every file is first written to a temporary file beside its destination; only then are they moved into
    place. If a move fails, files this call created are removed again and no temporary file is left.
    """
    for path, _ in items:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder; give a file name.")
        if not overwrite and path.exists():
            raise FileExistsError(exists_message(path))
    temps: list[Path] = []
    created: list[Path] = []
    try:
        for path, text in items:
            path.parent.mkdir(parents=True, exist_ok=True)
            temps.append(_write_temp(path, text))
        for (path, _), temp in zip(items, temps):
            existed = path.exists()
            _commit(temp, path, overwrite)
            if not existed:
                created.append(path)
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
    for folder in {path.parent for path, _ in items}:
        fsync_dir(folder)


def _write_temp(path: Path, text: str) -> Path:
    """Write ``text`` to a new hidden file beside ``path`` and return that file."""
    temp = temporary_path(path)
    with open(temp, "x", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return temp


def _commit(temp: Path, path: Path, overwrite: bool) -> None:
    commit(temp, path, overwrite=overwrite)


def write_node(
    path: PathLike,
    node_names: Sequence[str] | str,
    *,
    values: ArrayLike | None = None,
    kind: str = "cortex",
    header: str | None = None,
    plain: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a BrainNet Viewer ``.node`` file: one tab-separated line ``x y z colour size label`` per node.

    Parameters
    ----------
    path : str | os.PathLike
        The file to write (``.node`` by convention); missing parent folders are created.
    node_names : list of str, length n_nodes | str
        Electrode names in node order (old names are accepted: T3 -> T7), or a node-set name such as
        ``'10-20'``. Labels are the canonical names.
    values : array_like, shape (n_nodes,), optional
        Node sizes, finite and >= 0 (default 1.0 for every node). BrainNet cannot draw a negative size: for
        signed values such as a group difference, pass ``np.abs(values)`` and show the sign another way (for
        example in the ``header`` or the colour of a separate file).
    kind : 'cortex' | 'scalp'
        Electrode positions projected onto the cortex (for drawing on a brain surface) or on the scalp, in
        MNI millimetres (:func:`eeg_gnn.signal.montage.positions`), written to 0.1 mm.
    header : str, optional
        Text written first as ``#`` comment lines (one per line of the string); BrainNet skips them.
    plain : bool
        Write no comment line at all (``header`` is left out), for BrainNet Viewer before version 1.5.
    overwrite : bool
        Replace an existing file. Without it an existing file is left untouched and FileExistsError raised.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        For an unknown electrode name or ``kind``, or node values of the wrong length, NaN, infinite or
        negative (the message names the node).
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    path = Path(os.fspath(path))
    text, _ = _node_text(node_names, values, kind, header, plain)
    _write_files([(path, text)], overwrite)
    return path


def write_edge(
    path: PathLike,
    matrix: ArrayLike,
    node_names: Sequence[str] | str,
    *,
    header: str | None = None,
    symmetric: bool = True,
    plain: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a BrainNet Viewer ``.edge`` file: the whole matrix, one row per line, values as ``%.6g``.

    Parameters
    ----------
    path : str | os.PathLike
        The file to write (``.edge`` by convention); missing parent folders are created.
    matrix : array_like, shape (n_nodes, n_nodes)
        Connectivity matrix, rows and columns in the order of ``node_names``. Written exactly (no
        thresholding, diagonal kept) to six significant digits.
    node_names : list of str, length n_nodes | str
        The nodes of the matching ``.node`` file, or a node-set name such as ``'10-20'``.
    header : str, optional
        Text written first as ``#`` comment lines, followed by the node order line.
    symmetric : bool
        Require a symmetric matrix (see :func:`check_edge_matrix`); pass False for directed measures.
    plain : bool
        Write the matrix only: no header and no node order line, for BrainNet Viewer before version 1.5 (which
        reads ``.edge`` files with MATLAB's ``load``).
    overwrite : bool
        Replace an existing file. Without it an existing file is left untouched and FileExistsError raised.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If :func:`check_edge_matrix` refuses the matrix, or a node name is unknown.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    path = Path(os.fspath(path))
    names = montage.resolve_nodes(node_names)
    array = check_edge_matrix(matrix, len(names), symmetric=symmetric)
    _write_files([(path, _edge_text(array, header, names, plain))], overwrite)
    return path


def write_pair(
    directory: PathLike,
    stem: str,
    matrix: ArrayLike,
    node_names: Sequence[str] | str,
    *,
    node_values: ArrayLike | None = None,
    kind: str = "cortex",
    header: str | None = None,
    plain: bool = False,
    overwrite: bool = False,
) -> tuple[Path, Path]:
    """Write ``<stem>.node`` and ``<stem>.edge`` into ``directory``: the nodes and the matrix of one graph.

    The matrix, the node values and (without ``overwrite``) the absence of both files are checked before
    either file is written, so a refusal leaves no file behind. Parameters are those of :func:`write_node`
    and :func:`write_edge`; the matrix must be symmetric (BrainNet draws undirected edges by default; write a
    directed matrix with :func:`write_edge` and ``symmetric=False``).

    Parameters
    ----------
    directory : str | os.PathLike
        Folder for both files; created if missing.
    stem : str
        File name without extension.
    matrix : array_like, shape (n_nodes, n_nodes)
    node_names : list of str, length n_nodes | str
    node_values : array_like, shape (n_nodes,), optional
        Node sizes, finite and >= 0 (pass absolute values for signed quantities).
    kind : 'cortex' | 'scalp'
    header : str, optional
        Written as ``#`` comment lines at the top of both files (the ``.edge`` file adds the node order).
    plain : bool
        No comment line in either file, for BrainNet Viewer before version 1.5.
    overwrite : bool

    Returns
    -------
    node_path, edge_path : pathlib.Path
    """
    if not isinstance(stem, str) or not stem or Path(stem).name != stem:
        raise ValueError(f"stem must be a plain file name without folders, got {stem!r}.")
    folder = Path(os.fspath(directory))
    node_path, edge_path = folder / f"{stem}.node", folder / f"{stem}.edge"
    node_text, names = _node_text(node_names, node_values, kind, header, plain)
    array = check_edge_matrix(matrix, len(names), symmetric=True)
    _write_files([(node_path, node_text), (edge_path, _edge_text(array, header, names, plain))], overwrite)
    return node_path, edge_path


# --------------------------------------------------------------------------------------------- reading


def _data_lines(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every line with data; ``#`` starts a comment, as in BrainNet."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if fields:
            rows.append((number, fields))
    return rows


def _floats(path: Path, number: int, fields: Sequence[str]) -> list[float]:
    try:
        return [float(field) for field in fields]
    except ValueError as exc:
        raise ValueError(f"Line {number} of {path} holds a value that is not a number: {exc}") from exc


def read_node(path: PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Read a BrainNet Viewer ``.node`` file.

    Parameters
    ----------
    path : str | os.PathLike

    Returns
    -------
    xyz : ndarray, shape (n_nodes, 3)
        Positions (MNI millimetres in the files this module writes).
    colours : ndarray, shape (n_nodes,)
        The colour column as floats (region codes in our files; BrainNet also accepts continuous values).
    sizes : ndarray, shape (n_nodes,)
    labels : list of str, length n_nodes

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If a line does not have six fields or its first five are not numbers (the message names the line),
        or the file holds no node.
    """
    path = Path(os.fspath(path))
    rows = _data_lines(path)
    if not rows:
        raise ValueError(f"{path} holds no node lines (only comments or blank lines).")
    numbers, labels = [], []
    for number, fields in rows:
        if len(fields) != len(NODE_COLUMNS):
            raise ValueError(
                f"Line {number} of {path} has {len(fields)} fields, expected 6 ({' '.join(NODE_COLUMNS)}): "
                f"{' '.join(fields)!r}."
            )
        numbers.append(_floats(path, number, fields[:5]))
        labels.append(fields[5])
    table = np.array(numbers, dtype=float)
    return table[:, :3], table[:, 3], table[:, 4], labels


def edge_node_order(path: PathLike) -> list[str] | None:
    """The node order written in an ``.edge`` file's comments, or None for a file without one.

    Parameters
    ----------
    path : str | os.PathLike

    Returns
    -------
    list of str or None
        The labels of the rows (and columns), in order.
    """
    for line in Path(os.fspath(path)).read_text(encoding="utf-8").splitlines():
        if line.startswith(NODE_ORDER_PREFIX):
            return line[len(NODE_ORDER_PREFIX):].split()
    return None


def read_edge(path: PathLike, node_names: Sequence[str] | None = None) -> np.ndarray:
    """Read a BrainNet Viewer ``.edge`` file.

    Parameters
    ----------
    path : str | os.PathLike
    node_names : list of str, optional
        The labels of the ``.node`` file to pair it with, in order (e.g. ``read_node(...)[3]``). When the
        ``.edge`` file lists its node order, the two must agree.

    Returns
    -------
    ndarray, shape (n_nodes, n_nodes)

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If a value is not a number, rows differ in length, or the matrix is not square (messages name the
        line); or if ``node_names`` differ from the node order the file lists (the message names the first row
        that differs).
    """
    path = Path(os.fspath(path))
    order = edge_node_order(path)
    if node_names is not None and order is not None:
        given = [_label(str(name)) for name in node_names]
        if given != order:
            row = next((i for i, (a, b) in enumerate(zip(given, order)) if a != b), min(len(given), len(order)))
            found = order[row] if row < len(order) else "nothing"
            expected = given[row] if row < len(given) else "nothing"
            raise ValueError(
                f"{path} lists its nodes in another order than the .node file: row {row + 1} is {found} in the "
                f".edge file but {expected} in the .node file ({len(order)} and {len(given)} nodes). Pair it with "
                "the .node file written beside it, or reorder the matrix.")
    rows = _data_lines(path)
    if not rows:
        raise ValueError(f"{path} holds no matrix rows (only comments or blank lines).")
    width = len(rows[0][1])
    matrix = []
    for number, fields in rows:
        if len(fields) != width:
            raise ValueError(
                f"Line {number} of {path} has {len(fields)} values but the first row has {width}; "
                "an edge file must be an n_nodes x n_nodes matrix."
            )
        matrix.append(_floats(path, number, fields))
    if len(matrix) != width:
        raise ValueError(f"{path} holds a {len(matrix)} x {width} matrix; an edge file must be square.")
    return np.array(matrix, dtype=float)


# --------------------------------------------------------------------------------------------- BrainNet settings

_OPTIONS = """% BrainNet Viewer settings for the *_difference_significant.edge files beside this file.
% Those files hold {positive} minus {negative} for the significant electrode pairs and 0 elsewhere. BrainNet's
% defaults draw every pair (the zeros too) in one colour; these settings draw only the non-zero pairs, red where
% the difference is positive (higher in {positive}) and blue where it is negative (higher in {negative}).
%
% By hand: File > Load file: a surface (BrainMesh_ICBM152.nv), the .node and the _difference_significant.edge
% of one band; then Option:
%   Edge   > Display: "Above threshold" 0, "Absolute" ticked   (EC.edg.draw = 2, draw_threshold = 0, draw_abs = 1)
%   Edge   > Colour:  "Threshold" 0: above red, below blue     (EC.edg.color = 3, color_threshold = 0, color_abs = 0)
%   Edge   > Size:    "Value", "Absolute" ticked               (EC.edg.size = 2, size_abs = 1)
%   Node   > Colour:  "Modular" (column 4: region 1 prefrontal ... 6 occipital), then "More" to give each
%                     module the colour listed below                              (EC.nod.color = 3, EC.nod.CM)
%   Node   > Size:    "Value" (column 5, named in the .node header)               (EC.nod.size = 2)
%   Global > Label:   "Label all"                                                  (EC.lbl = 1)
% From MATLAB: save any options once in BrainNet (Option > Save, e.g. cfg.mat), then
%   load cfg.mat; run brainnet_options.m; save cfg.mat EC
%   BrainNet_MapCfg('BrainMesh_ICBM152.nv', 'beta_difference_significant.node', ...
%                   'beta_difference_significant.edge', 'cfg.mat', 'beta_difference.png');
% Field names of BrainNet Viewer 1.6 and 1.7 (BrainNet_Option.m, BrainNet_MapCfg.m).
EC.edg.draw = 2;
EC.edg.draw_threshold = 0;
EC.edg.draw_abs = 1;
EC.edg.color = 3;
EC.edg.color_threshold = 0;
EC.edg.color_abs = 0;
EC.edg.CM = [repmat([0.80 0.10 0.15], 32, 1); repmat([0.13 0.40 0.75], 32, 1)];  % rows 1-32: above 0; 33-64: below
EC.edg.size = 2;
EC.edg.size_value = 1;
EC.edg.size_abs = 1;
EC.nod.color = 3;
{modules}EC.nod.size = 2;
EC.nod.size_value = 1;
EC.lbl = 1;
"""


def write_brainnet_options(path: PathLike, class_names: Sequence[str], node_names: Sequence[str] = "10-20", *,
                           overwrite: bool = False) -> Path:
    """Write the BrainNet Viewer settings that draw a file of significant signed differences correctly.

    A MATLAB script (``.m``) of ``EC`` option fields with comments giving the same settings as BrainNet's Option
    panel, so no ``.mat`` file is shipped: run it on options saved by BrainNet, or set the panel by hand.

    Parameters
    ----------
    path : str | os.PathLike
        The file to write (``brainnet_options.m``).
    class_names : sequence of str
        The two classes; the difference is the second minus the first.
    node_names : str | sequence of str
        The nodes of the ``.node`` files (their regions set the modular colour table: :func:`module_colours`).
    overwrite : bool

    Returns
    -------
    pathlib.Path
    """
    names = [str(name) for name in class_names]
    if len(names) != 2:
        raise ValueError(f"A difference has two classes, got {len(names)}: {names}.")
    path = Path(os.fspath(path))
    _write_files([(path, _OPTIONS.format(positive=names[1], negative=names[0],
                                         modules=module_colours(node_names)))], overwrite)
    return path


def module_colours(node_names: Sequence[str]) -> str:
    """The MATLAB lines that give BrainNet's modular node colours the region colours of the review's figures.

    BrainNet draws node ``j`` in colour ``EC.nod.CM(find(EC.nod.ModularNumber == region_j), :)`` (its
    ``DrawSphere``), and its Option panel sets ``EC.nod.ModularNumber`` to the sorted distinct values of the
    ``.node`` file's colour column: so row ``k`` of ``EC.nod.CM`` (and of ``EC.nod.CMm``, the table the panel
    edits) must be the colour of the ``k``-th region present. Without them the default colour map's first rows,
    near black, colour the nodes.
    """
    present = sorted({code for code, _ in montage.regions(montage.resolve_nodes(node_names))})
    names = dict(montage.regions(montage.resolve_nodes(node_names)))
    rows = []
    for code in present:
        red, green, blue = (int(REGION_COLOURS[code][i:i + 2], 16) / 255 for i in (1, 3, 5))
        rows.append(f"{red:.3f} {green:.3f} {blue:.3f}")
    return (f"EC.nod.ModularNumber = [{' '.join(str(code) for code in present)}];  % the regions present\n"
            f"% rows of EC.nod.CM: {', '.join(names[code] for code in present)}\n"
            f"EC.nod.CM(1:{len(present)}, :) = [{'; '.join(rows)}];\n"
            f"EC.nod.CMm(1:{len(present)}, :) = EC.nod.CM(1:{len(present)}, :);\n")
