"""Tests for :mod:`eeg_gnn.review.export`: BrainNet Viewer ``.node``/``.edge`` files, written atomically, read back."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from eeg_gnn.review.export import (
    check_edge_matrix,
    edge_node_order,
    read_edge,
    read_node,
    write_brainnet_options,
    write_edge,
    write_node,
    write_pair,
)
from eeg_gnn.signal import montage

TEN_TWENTY = montage.node_sets()["10-20"]
BRAINNET_EXAMPLE = "brainnet_example.node"  # in reference/ beside the data folder ($EEG_GNN_DATA/../reference)


def _symmetric(n_nodes: int, seed: int = 0) -> np.ndarray:
    """A symmetric matrix with entries spanning six orders of magnitude, both signs, and exact zeros."""
    rng = np.random.default_rng(seed)
    upper = np.exp(rng.normal(0.0, 4.0, (n_nodes, n_nodes))) * rng.choice([-1.0, 1.0], (n_nodes, n_nodes))
    upper[rng.random((n_nodes, n_nodes)) < 0.2] = 0.0
    matrix = np.triu(upper, 1)
    return matrix + matrix.T


def _listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# ------------------------------------------------------------------------------------------ round trip


def test_round_trip_ten_twenty(tmp_path):
    matrix = _symmetric(19)
    values = np.random.default_rng(1).uniform(0.0, 5.0, 19)
    node_path, edge_path = write_pair(tmp_path / "out", "graph", matrix, TEN_TWENTY, node_values=values)
    assert (node_path, edge_path) == (tmp_path / "out" / "graph.node", tmp_path / "out" / "graph.edge")

    xyz, colours, sizes, labels = read_node(node_path)
    np.testing.assert_allclose(xyz, montage.positions(TEN_TWENTY, kind="cortex"), rtol=0, atol=0.05)
    assert colours.tolist() == [code for code, _ in montage.regions(TEN_TWENTY)]
    np.testing.assert_allclose(sizes, values, rtol=1e-5)
    assert labels == TEN_TWENTY

    edge = read_edge(edge_path)
    assert edge.shape == (19, 19)
    np.testing.assert_allclose(edge, matrix, rtol=1e-5, atol=0)
    np.testing.assert_array_equal(edge, edge.T)
    assert _listing(tmp_path) == ["out", "out/graph.edge", "out/graph.node"]


def test_node_file_layout(tmp_path):
    path = write_node(tmp_path / "a.node", ["Fp1", "T3", "Cz"])
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    fields = [line.split("\t") for line in lines]
    assert all(len(row) == 6 for row in fields)
    assert [row[5] for row in fields] == ["Fp1", "T7", "Cz"]  # canonical names, in the given order
    assert [row[4] for row in fields] == ["1", "1", "1"]  # default size
    assert all(len(value.split(".")[1]) == 1 for row in fields for value in row[:3])  # 0.1 mm


def test_scalp_positions_and_node_set_name(tmp_path):
    write_node(tmp_path / "scalp.node", "10-20", kind="scalp")
    xyz, _, _, labels = read_node(tmp_path / "scalp.node")
    assert labels == TEN_TWENTY
    np.testing.assert_allclose(xyz, montage.positions(TEN_TWENTY, kind="scalp"), atol=0.05)


def test_directed_matrix_with_symmetric_false(tmp_path):
    matrix = np.arange(9.0).reshape(3, 3)
    write_edge(tmp_path / "d.edge", matrix, ["C3", "Cz", "C4"], symmetric=False)
    np.testing.assert_array_equal(read_edge(tmp_path / "d.edge"), matrix)


def test_agrees_with_published_brainnet_example(tmp_path, data_root):
    example = data_root.parent / "reference" / BRAINNET_EXAMPLE
    if not example.is_file():
        pytest.skip(f"the hand-written BrainNet example {example} is not available")
    example_xyz, example_colours, _, example_labels = read_node(example)
    assert len(example_labels) == 21
    write_node(tmp_path / "ours.node", example_labels)
    xyz, colours, _, labels = read_node(tmp_path / "ours.node")
    assert labels == example_labels
    distance = np.linalg.norm(xyz - example_xyz, axis=1)
    worst = labels[int(np.argmax(distance))]
    assert distance.max() < 0.06, f"{worst} is {distance.max():.2f} mm from the published position"  # 0.1 mm rounding
    np.testing.assert_array_equal(colours, example_colours)


def test_header_lines_are_comments(tmp_path):
    header = "eeg-gnn export\nsubject 7, alpha PLV\n\n# already a comment"
    node_path, edge_path = write_pair(tmp_path, "h", _symmetric(19), TEN_TWENTY, header=header)
    for path, n_comments in ((node_path, 4), (edge_path, 5)):
        lines = path.read_text().splitlines()
        assert lines[:4] == ["# eeg-gnn export", "# subject 7, alpha PLV", "#", "# already a comment"]
        assert len(lines) == n_comments + 19
        assert not any(line.startswith("#") for line in lines[n_comments:])
    assert read_node(node_path)[3] == TEN_TWENTY
    assert read_edge(edge_path).shape == (19, 19)


def test_edge_file_names_its_node_order(tmp_path):
    nodes = ["C3", "Cz", "C4"]
    path = write_edge(tmp_path / "a.edge", np.eye(3), nodes)
    assert path.read_text().splitlines()[0] == "# nodes, in row and column order: C3 Cz C4"
    assert edge_node_order(path) == nodes
    np.testing.assert_array_equal(read_edge(path, node_names=nodes), np.eye(3))
    with pytest.raises(ValueError, match=r"row 1 is C3 in the .edge file but C4 in the .node file"):
        read_edge(path, node_names=["C4", "Cz", "C3"])
    with pytest.raises(ValueError, match=r"row 3 is C4 in the .edge file but nothing"):
        read_edge(path, node_names=["C3", "Cz"])


def test_plain_files_hold_no_comment_for_old_brainnet(tmp_path):
    matrix = _symmetric(19)
    node_path, edge_path = write_pair(tmp_path, "p", matrix, TEN_TWENTY, header="not written", plain=True)
    for path in (node_path, edge_path):
        assert "#" not in path.read_text()
        assert len(path.read_text().splitlines()) == 19
    assert edge_node_order(edge_path) is None
    # MATLAB's load reads a plain numeric matrix: numpy's loadtxt is the same contract
    np.testing.assert_allclose(np.loadtxt(edge_path), matrix, rtol=1e-5)
    np.testing.assert_array_equal(read_edge(edge_path, node_names=["anything"]), read_edge(edge_path))


# ------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        (np.zeros((18, 18)), "Edge matrix is 18 x 18 but there are 19 nodes"),
        (np.triu(np.ones((19, 19))), "not symmetric"),
        (np.where(np.eye(19) > 0, np.nan, 0.0), "NaN or infinite"),
        (np.full((19, 19), np.inf), "NaN or infinite"),
        (np.zeros((19, 18)), "must be square"),
        (np.zeros(19), "must be 2-D"),
        (np.zeros((2, 19, 19)), "must be 2-D"),
    ],
    ids=["wrong-size", "asymmetric", "nan", "inf", "non-square", "1-D", "3-D"],
)
def test_bad_matrices_are_refused(tmp_path, matrix, match):
    with pytest.raises(ValueError, match=match):
        check_edge_matrix(matrix, 19)
    with pytest.raises(ValueError, match=match):
        write_edge(tmp_path / "bad.edge", matrix, TEN_TWENTY)
    assert _listing(tmp_path) == []


def test_symmetry_tolerance_is_relative():
    matrix = np.array([[0.0, 1e-3, 1e6], [1e-3, 0.0, 0.0], [1e6, 0.0, 0.0]])
    near = matrix.copy()
    near[0, 1] *= 1 + 1e-9  # float noise: accepted
    near[0, 2] *= 1 + 1e-10
    near[2, 1] = 1e-9  # noise on a zero, 1e-15 of the largest entry
    np.testing.assert_array_equal(check_edge_matrix(near, 3), near)
    far = matrix.copy()
    far[0, 1] = 2e-3  # a small entry that really differs, although by far less than 1e-8 of the largest
    with pytest.raises(ValueError, match=r"\[0, 1\] = 0.002 but \[1, 0\] = 0.001.*symmetric=False"):
        check_edge_matrix(far, 3)


def test_non_numeric_matrix_is_a_type_error():
    with pytest.raises(TypeError, match="real numbers"):
        check_edge_matrix([["a", "b"], ["c", "d"]], 2)
    with pytest.raises(TypeError, match="complex"):
        check_edge_matrix(np.ones((2, 2), dtype=complex), 2)


@pytest.mark.parametrize(("bad", "shown"), [(-0.5, "-0.5"), (np.nan, "nan"), (np.inf, "inf")])
def test_bad_node_values_name_the_node(tmp_path, bad, shown):
    values = np.ones(19)
    values[TEN_TWENTY.index("F3")] = bad
    with pytest.raises(ValueError, match=rf"'F3' \({shown}\).*absolute values"):
        write_node(tmp_path / "v.node", TEN_TWENTY, values=values)
    assert _listing(tmp_path) == []


def test_node_values_of_wrong_length(tmp_path):
    with pytest.raises(ValueError, match=r"shape \(18,\) but there are 19 nodes"):
        write_node(tmp_path / "v.node", TEN_TWENTY, values=np.ones(18))


def test_zero_node_values_are_allowed(tmp_path):
    write_node(tmp_path / "z.node", ["O1", "O2"], values=[0.0, 2.5])
    assert read_node(tmp_path / "z.node")[2].tolist() == [0.0, 2.5]


def test_unknown_electrode_and_kind(tmp_path):
    with pytest.raises(ValueError, match="'Xy9' is not a 10-10 electrode name"):
        write_node(tmp_path / "u.node", ["Fp1", "Xy9"])
    with pytest.raises(ValueError, match="'kind'"):
        write_node(tmp_path / "u.node", ["Fp1"], kind="skull")
    assert _listing(tmp_path) == []


# ------------------------------------------------------------------------------------------ files


@pytest.mark.parametrize("which", ["node", "edge"])
def test_existing_file_is_never_replaced_silently(tmp_path, which):
    path = tmp_path / f"old.{which}"
    path.write_text("precious\n")

    def write(overwrite):
        if which == "node":
            return write_node(path, TEN_TWENTY, overwrite=overwrite)
        return write_edge(path, np.eye(19), TEN_TWENTY, overwrite=overwrite)

    with pytest.raises(FileExistsError, match="overwrite=True"):
        write(False)
    assert path.read_text() == "precious\n"
    assert _listing(tmp_path) == [path.name]

    assert write(True) == path
    assert path.read_text() != "precious\n"
    data_lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert len(data_lines) == 19
    assert _listing(tmp_path) == [path.name]


def test_write_pair_refuses_when_either_file_exists(tmp_path):
    (tmp_path / "g.edge").write_text("precious\n")
    with pytest.raises(FileExistsError, match=r"g\.edge.*overwrite=True"):
        write_pair(tmp_path, "g", np.eye(19), TEN_TWENTY)
    assert _listing(tmp_path) == ["g.edge"]  # the .node was not written either
    assert (tmp_path / "g.edge").read_text() == "precious\n"

    write_pair(tmp_path, "g", np.eye(19), TEN_TWENTY, overwrite=True)
    np.testing.assert_array_equal(read_edge(tmp_path / "g.edge"), np.eye(19))
    assert _listing(tmp_path) == ["g.edge", "g.node"]


@pytest.mark.parametrize(
    ("matrix", "values"),
    [(np.triu(np.ones((19, 19))), None), (np.zeros((18, 18)), None), (np.eye(19), -np.ones(19))],
    ids=["asymmetric", "wrong-size", "negative-values"],
)
def test_failed_write_pair_leaves_nothing(tmp_path, matrix, values):
    with pytest.raises(ValueError):
        write_pair(tmp_path / "new" / "folder", "g", matrix, TEN_TWENTY, node_values=values)
    assert _listing(tmp_path) == []  # no .node, no .edge, no temp file, not even the folder


def test_write_pair_rejects_a_stem_with_folders(tmp_path):
    with pytest.raises(ValueError, match="stem"):
        write_pair(tmp_path, "../escape", np.eye(19), TEN_TWENTY)
    assert _listing(tmp_path) == []


def test_written_files_follow_the_umask(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = write_node(tmp_path / "m.node", ["Cz"])
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ------------------------------------------------------------------------------------------ readers


def test_read_node_names_a_bad_line(tmp_path):
    path = tmp_path / "bad.node"
    path.write_text("# comment\n\n1\t2\t3\t1\t1\tFp1\n1\t2\t3\t1\tFp2\n")
    with pytest.raises(ValueError, match=r"Line 4 of .* has 5 fields, expected 6"):
        read_node(path)
    path.write_text("1\t2\tthree\t1\t1\tFp1\n")
    with pytest.raises(ValueError, match="Line 1 .* not a number"):
        read_node(path)


def test_read_edge_refuses_non_square(tmp_path):
    path = tmp_path / "bad.edge"
    path.write_text("# c\n1 2 3\n4 5 6\n")
    with pytest.raises(ValueError, match="2 x 3 matrix; an edge file must be square"):
        read_edge(path)
    path.write_text("1 2\n3\n")
    with pytest.raises(ValueError, match="Line 2 .* 1 values but the first row has 2"):
        read_edge(path)


def test_readers_refuse_empty_files(tmp_path):
    path = tmp_path / "empty.node"
    path.write_text("# only a comment\n")
    with pytest.raises(ValueError, match="no node lines"):
        read_node(path)
    with pytest.raises(ValueError, match="no matrix rows"):
        read_edge(path)


def test_a_file_appearing_meanwhile_is_not_replaced(tmp_path, monkeypatch):
    from eeg_gnn.review import export

    path = tmp_path / "race.node"
    real_write_temp = export._write_temp

    def write_temp_then_someone_else_writes(destination, text):
        temp = real_write_temp(destination, text)
        destination.write_text("written by another process\n")
        return temp

    monkeypatch.setattr(export, "_write_temp", write_temp_then_someone_else_writes)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_node(path, TEN_TWENTY)
    assert path.read_text() == "written by another process\n"
    assert _listing(tmp_path) == ["race.node"]


def test_write_pair_rolls_back_when_the_second_file_fails(tmp_path, monkeypatch):
    from eeg_gnn.review import export

    real_commit = export._commit

    def commit_then_fail_on_edge(temp, path, overwrite):
        if path.suffix == ".edge":
            raise OSError("disk went away")
        real_commit(temp, path, overwrite)

    monkeypatch.setattr(export, "_commit", commit_then_fail_on_edge)
    with pytest.raises(OSError, match="disk went away"):
        write_pair(tmp_path, "g", np.eye(19), TEN_TWENTY)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("nodes", ["10-20", ["Fp1", "Fp2", "C3", "C4", "O1", "O2"]])
def test_brainnet_options_colour_every_node_by_its_region_as_brainnet_draws_it(tmp_path, nodes):
    """BrainNet's DrawSphere: ``ci = find(EC.nod.ModularNumber == column_4); FaceColor = EC.nod.CM(ci, :)``, with
    ``ModularNumber`` set by its Option panel to the sorted distinct values of the .node file's column 4."""
    from eeg_gnn.review.figures import REGION_COLOURS

    names = montage.resolve_nodes(nodes)
    options = write_brainnet_options(tmp_path / "brainnet_options.m", ["control", "patient"], names).read_text()
    node_file = write_pair(tmp_path, "x", np.ones((len(names), len(names))), names)[0]
    _, codes, _, labels = read_node(node_file)
    assert labels == names
    modular = [int(v) for v in re.search(r"EC\.nod\.ModularNumber = \[([\d ]+)\];", options).group(1).split()]
    assert modular == sorted(set(codes.astype(int).tolist()))  # what BrainNet's panel computes from the file
    table = re.search(r"EC\.nod\.CM\(1:(\d+), :\) = \[([^\]]+)\];", options)
    rows = [[float(v) for v in row.split()] for row in table.group(2).split(";")]
    assert int(table.group(1)) == len(rows) == len(modular)
    assert "EC.nod.CMm(1:" in options
    for code in codes.astype(int):
        colour = rows[modular.index(code)]
        expected = [int(REGION_COLOURS[code][i:i + 2], 16) / 255 for i in (1, 3, 5)]
        np.testing.assert_allclose(colour, expected, atol=1e-3)
        assert max(colour) > 0.3  # not the near-black first rows of BrainNet's default map
