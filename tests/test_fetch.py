"""Tests for :mod:`eeg_gnn.data.fetch`: MSU-style archives served by a local HTTP server on 127.0.0.1.

Nothing here touches the internet: the server serves zips generated inside the test, from ``tmp_path``.
"""

from __future__ import annotations

import functools
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from eeg_gnn.cli.main import main
from eeg_gnn.data.download import COMPLETE_MARKER, ArchiveError
from eeg_gnn.data.fetch import fetch_dataset, verify_dataset

TIMEOUT = 5


def eea_text(seed: int) -> str:
    """A valid MSU .eea file (16 channels x 7680 samples, channel after channel), compressible."""
    t = np.arange(7680) / 128.0
    rows = [np.round(20 * np.sin(2 * np.pi * (8 + k % 5) * t + 0.4 * k) + seed, 1) for k in range(16)]  # no copies
    return "".join(f"{v:.1f}\n" for v in np.concatenate(rows))


def make_zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def msu_archives(folder, n_norm, n_sch):
    """norm.zip and sch.zip as published: one .eea file per subject."""
    folder.mkdir(parents=True, exist_ok=True)
    text = eea_text(0)
    make_zip(folder / "norm.zip", {f"{i:03d}.eea": text for i in range(n_norm)})
    make_zip(folder / "sch.zip", {f"{500 + i:03d}.eea": text for i in range(n_sch)})
    return folder


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - http.server API
        pass


@pytest.fixture
def serve(tmp_path):
    """Serve a folder on 127.0.0.1 (a free port); returns a function folder -> base URL."""
    servers = []

    def start(folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((httpd, thread))
        host, port = httpd.server_address[:2]
        return f"http://{host}:{port}/"

    yield start
    for httpd, thread in servers:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=TIMEOUT)


@pytest.mark.network
def test_fetch_small_archives_refused_by_count(tmp_path, serve):
    # three files per archive where the descriptor expects at least 39 and 45: the download is refused
    base_url = serve(msu_archives(tmp_path / "server", n_norm=3, n_sch=3))
    target = tmp_path / "msu"
    with pytest.raises(ArchiveError) as excinfo:
        fetch_dataset("msu", target, base_url=base_url, progress=False, verify=False)
    message = str(excinfo.value)
    assert "norm.zip contains 3 files but at least 39" in message
    assert "download it again" in message
    assert not (target / "norm").exists()
    assert not (target / "sch").exists()
    assert [p for p in target.rglob("*") if p.name == COMPLETE_MARKER] == []
    assert (target / ".downloads" / "norm.zip").is_file()  # kept, and named, so the user can delete it
    assert not [p for p in target.rglob("*") if ".part" in p.name]


@pytest.mark.network
@pytest.mark.slow
def test_fetch_full_counts_then_verify(tmp_path, serve):
    base_url = serve(msu_archives(tmp_path / "server", n_norm=39, n_sch=45))
    target = tmp_path / "msu"

    assert fetch_dataset("msu", target, base_url=base_url, progress=False, verify=False) == target

    for folder, count in (("norm", 39), ("sch", 45)):
        assert (target / folder / COMPLETE_MARKER).is_file()
        assert len(list((target / folder).glob("*.eea"))) == count
    assert (target / "norm" / "000.eea").read_text() == eea_text(0)
    found = verify_dataset("msu", target, progress=False)
    assert found == {"n_subjects": 84, "n_recordings": 84, "per_class": {"healthy": 39, "schizophrenia": 45}}

    # a second fetch downloads nothing: the archives are complete
    (tmp_path / "server" / "norm.zip").unlink()
    (tmp_path / "server" / "sch.zip").unlink()
    assert fetch_dataset("msu", target, base_url=base_url, progress=False, verify=False) == target

    # a file lost afterwards: verification names the counts
    (target / "sch" / "500.eea").unlink()
    with pytest.raises(ValueError) as excinfo:
        verify_dataset("msu", target, progress=False)
    message = str(excinfo.value)
    assert "n_subjects = 83, expected 84" in message
    assert str(target) in message


def test_verify_names_counts(tmp_path):
    # what verification says about a folder with 3 + 3 recordings instead of 39 + 45
    target = tmp_path / "msu"
    for folder, names in (("norm", ["001", "002", "003"]), ("sch", ["501", "502", "503"])):
        (target / folder).mkdir(parents=True)
        for name in names:
            (target / folder / f"{name}.eea").write_text(eea_text(1))
    with pytest.raises(ValueError) as excinfo:
        verify_dataset("msu", target, progress=False)
    message = str(excinfo.value)
    assert "n_subjects = 6, expected 84" in message
    assert "fetch again" in message


def test_verify_names_truncated_recording(tmp_path):
    target = tmp_path / "msu"
    (target / "norm").mkdir(parents=True)
    (target / "norm" / "001.eea").write_text("".join(f"{v}\n" for v in range(7680 * 15)))
    with pytest.raises(ValueError) as excinfo:
        verify_dataset("msu", target, progress=False)
    assert str(target / "norm" / "001.eea") in str(excinfo.value)
    assert "115200 values" in str(excinfo.value)


def corrupt_first_member(path, damage):
    """Damage the data of the archive's first member: a flipped byte (CRC) or an invalid deflate block."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        first = archive.infolist()[0]
    name_length = int.from_bytes(data[first.header_offset + 26:first.header_offset + 28], "little")
    extra_length = int.from_bytes(data[first.header_offset + 28:first.header_offset + 30], "little")
    start = first.header_offset + 30 + name_length + extra_length
    if damage == "crc":
        data[start + 100] ^= 0xFF
    else:
        data[start] = 0xFF  # BFINAL=1, BTYPE=11: a reserved block type, zlib refuses to inflate it
    path.write_bytes(bytes(data))


@pytest.mark.network
@pytest.mark.parametrize("damage", ["crc", "deflate"])
def test_fetch_corrupted_zip(tmp_path, serve, damage):
    server = tmp_path / "server"
    server.mkdir()
    text = eea_text(0)
    compression = zipfile.ZIP_STORED if damage == "crc" else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(server / "norm.zip", "w", compression=compression) as archive:
        for i in range(39):
            archive.writestr(f"{i:03d}.eea", text)
    corrupt_first_member(server / "norm.zip", damage)
    base_url = serve(server)
    target = tmp_path / "msu"

    with pytest.raises(ArchiveError) as excinfo:
        fetch_dataset("msu", target, base_url=base_url, progress=False, verify=False)

    assert "norm.zip is corrupt" in str(excinfo.value)
    assert not (target / "norm").exists()
    assert not (target / "sch").exists()
    assert [p for p in target.rglob("*") if p.name == COMPLETE_MARKER] == []
    assert not [p for p in target.rglob("*") if ".part" in p.name]


@pytest.mark.network
def test_fetch_not_a_zip(tmp_path, serve):
    server = tmp_path / "server"
    server.mkdir()
    (server / "norm.zip").write_text("<html>Service unavailable</html>")
    base_url = serve(server)
    target = tmp_path / "msu"
    with pytest.raises(ArchiveError, match="not a valid zip"):
        fetch_dataset("msu", target, base_url=base_url, progress=False, verify=False)
    assert not (target / "norm").exists()


@pytest.mark.network
def test_fetch_missing_archive_names_url(tmp_path, serve):
    base_url = serve(tmp_path)  # serves an empty folder: 404
    with pytest.raises(OSError) as excinfo:
        fetch_dataset("msu", tmp_path / "msu", base_url=base_url, progress=False, verify=False)
    assert base_url + "norm.zip" in str(excinfo.value)
    assert "404" in str(excinfo.value)


@pytest.mark.network
def test_cli_fetch_error_is_one_line(tmp_path, serve, capsys):
    base_url = serve(msu_archives(tmp_path / "server", n_norm=3, n_sch=3))
    status = main(["fetch", "msu", "--data-dir", str(tmp_path / "msu"), "--base-url", base_url])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("eeg-gnn: error: ")
    assert "contains 3 files but at least 39" in captured.err
    assert "Traceback" not in captured.err


def test_fetch_local_only_dataset(tmp_path):
    with pytest.raises(ValueError, match="'umich_seizure' cannot be downloaded"):
        fetch_dataset("umich_seizure", tmp_path / "umich", progress=False)
    assert list(tmp_path.iterdir()) == []
