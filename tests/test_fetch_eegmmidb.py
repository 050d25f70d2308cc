"""``eeg-gnn fetch eegmmidb [SUBJECTS] --runs``: files served by a local HTTP server on 127.0.0.1, each checked
against the published SHA-256 table; a copy whose line feeds gained a carriage return is refused in one line."""

from __future__ import annotations

import hashlib

import pytest

from eeg_gnn.cli.main import main
from eeg_gnn.data import physionet_runs
from eeg_gnn.data.download import IntegrityError
from eeg_gnn.data.physionet_runs import (
    fetch_subject_runs,
    parse_runs,
    parse_subjects,
    published_checksums,
)
from tests.test_fetch import serve  # noqa: F401 - the local HTTP server fixture


def test_published_table_covers_every_subject_and_run():
    checksums = published_checksums("eegmmidb_SHA256SUMS.txt")
    assert len(checksums) == 109 * 14
    assert checksums["S001/S001R04.edf"] == "3d161f88e1c00632585287d2ce584c2bc0f08862438eb255ea8723e00fac693d"


def test_shared_copies_match_the_published_table(data_root):
    listed = (data_root / "eegmmidb" / "SHA256SUMS.txt").read_text().split("\n")
    checksums = published_checksums("eegmmidb_SHA256SUMS.txt")
    for line in filter(None, listed):
        digest, path = line.split()
        assert checksums[path] == digest


def test_subjects_and_runs_are_parsed():
    assert parse_subjects(["1", "S003", "5-6,s2"], 109) == [1, 2, 3, 5, 6]
    assert parse_runs(["4,R08", "12"]) == [4, 8, 12]
    with pytest.raises(ValueError, match="out of range"):
        parse_subjects(["110"], 109)
    with pytest.raises(ValueError, match="--runs"):
        parse_runs(["x"])


def served_files(folder, subjects, runs, *, damaged=()):
    """Generated 'EDF' bytes per file (with line feeds), and a checksum table of the intact ones."""
    table = {}
    for subject in subjects:
        for run in runs:
            path = f"S{subject:03d}/S{subject:03d}R{run:02d}.edf"
            content = f"0       subject {subject} run {run}\n".encode() * 50 + bytes(range(256))
            table[path] = hashlib.sha256(content).hexdigest()
            if path in damaged:
                content = content.replace(b"\n", b"\r\n")
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(content)
    return table


@pytest.mark.network
def test_fetch_selected_subjects_and_runs(tmp_path, serve, monkeypatch):  # noqa: F811 - the fixture
    server = tmp_path / "server"
    table = served_files(server, [1, 2, 3], [4, 8, 12])
    monkeypatch.setattr(physionet_runs, "published_checksums", lambda name: table)
    folder = fetch_subject_runs("eegmmidb", ["1", "S002"], ["4,8"], tmp_path / "eegmmidb", base_url=serve(server),
                                progress=False)
    fetched = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.edf"))
    assert fetched == ["S001/S001R04.edf", "S001/S001R08.edf", "S002/S002R04.edf", "S002/S002R08.edf"]
    for path in fetched:
        assert (folder / path).read_bytes() == (server / path).read_bytes()


@pytest.mark.network
def test_damaged_copy_is_refused_in_one_line(tmp_path, serve, monkeypatch, capsys):  # noqa: F811 - the fixture
    server = tmp_path / "server"
    table = served_files(server, [1], [4, 8], damaged={"S001/S001R08.edf"})
    monkeypatch.setattr(physionet_runs, "published_checksums", lambda name: table)
    target = tmp_path / "eegmmidb"
    with pytest.raises(IntegrityError, match="checksum mismatch for S001R08.edf"):
        fetch_subject_runs("eegmmidb", [1], [4, 8], target, base_url=serve(server), progress=False)
    assert not (target / "S001" / "S001R08.edf").exists()
    code = main(["fetch", "eegmmidb", "1", "--runs", "8", "--data-dir", str(target), "--base-url", serve(server)])
    error = capsys.readouterr().err.strip()
    assert code != 0
    assert len(error.splitlines()) == 1 and error.startswith("eeg-gnn: error:") and "S001R08.edf" in error
