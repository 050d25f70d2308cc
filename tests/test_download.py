"""Tests for :mod:`eeg_gnn.data.download`.

Network tests only talk to an HTTP server on 127.0.0.1 started by the
``server`` fixture, serving bytes generated inside the test.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from eeg_gnn.data import download as dl
from eeg_gnn.data.download import (
    COMPLETE_MARKER,
    ArchiveError,
    DestinationExistsError,
    DownloadError,
    IntegrityError,
    default_data_dir,
    download_file,
    extract_zip,
    sha256sum,
)

TIMEOUT = 5


@dataclass
class Route:
    """What the test server answers for one path."""

    body: bytes
    #: Content-Length to announce; None means len(body).
    content_length: int | None = None
    #: Omit the Content-Length header (body ends when the connection closes).
    send_length: bool = True


@dataclass
class Server:
    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def add(self, path: str, body: bytes, **kwargs) -> str:
        self.routes[path] = Route(body, **kwargs)
        return self.base_url + path


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.state.routes``; can lie about Content-Length to simulate truncation."""

    protocol_version = "HTTP/1.0"  # one request per connection, closed afterwards

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        state: Server = self.server.state  # type: ignore[attr-defined]
        state.requests.append(self.path)
        route = state.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if route.send_length:
            length = len(route.body) if route.content_length is None else route.content_length
            self.send_header("Content-Length", str(length))
        self.end_headers()
        # If content_length > len(body) the client sees a truncated body when
        # the connection is closed after this method returns.
        self.wfile.write(route.body)
        self.close_connection = True

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence stderr
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # Clients that hang up early (e.g. the KeyboardInterrupt test) are expected.
        pass


@pytest.fixture
def server():
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    host, port = httpd.server_address[:2]
    state = Server(base_url=f"http://{host}:{port}")
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=TIMEOUT)


def _payload(n: int = 300_000, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size=n, dtype=np.uint8).tobytes()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".part" in p.name)


# --------------------------------------------------------------------------- sha256sum


def test_sha256sum_matches_hashlib(tmp_path):
    data = _payload(10_000)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert sha256sum(path) == _sha(data)
    assert sha256sum(path, chunk_size=7) == _sha(data)
    with pytest.raises(ValueError, match="chunk_size"):
        sha256sum(path, chunk_size=0)


# ------------------------------------------------------------------- download_file


@pytest.mark.network
def test_download_binary_file_verified(server, tmp_path):
    data = _payload()
    url = server.add("/data/norm.zip", data)
    dest = tmp_path / "nested" / "dir" / "norm.zip"

    out = download_file(
        url, dest, sha256=_sha(data).upper(), size=len(data), progress=False, timeout=TIMEOUT
    )

    assert out == dest
    assert dest.read_bytes() == data
    assert sha256sum(dest) == _sha(data)
    assert _leftovers(dest.parent) == []
    assert server.requests == ["/data/norm.zip"]


@pytest.mark.network
def test_download_without_content_length(server, tmp_path):
    data = _payload(5_000)
    url = server.add("/f.bin", data, send_length=False)
    dest = download_file(url, tmp_path / "f.bin", progress=False, timeout=TIMEOUT)
    assert dest.read_bytes() == data


@pytest.mark.network
def test_wrong_sha256_discards_download(server, tmp_path):
    data = _payload()
    url = server.add("/norm.zip", data)
    dest = tmp_path / "norm.zip"
    wrong = "ab" * 32

    with pytest.raises(IntegrityError) as excinfo:
        download_file(url, dest, sha256=wrong, progress=False, timeout=TIMEOUT)

    msg = str(excinfo.value)
    assert "checksum mismatch for norm.zip" in msg
    assert url in msg and wrong in msg and _sha(data) in msg
    assert "discarded" in msg
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.network
def test_wrong_size_discards_download(server, tmp_path):
    data = _payload(1000)
    url = server.add("/f.bin", data, send_length=False)
    dest = tmp_path / "f.bin"
    with pytest.raises(IntegrityError, match=r"expected.*1001.*received 1000"):
        download_file(url, dest, size=1001, progress=False, timeout=TIMEOUT)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.network
def test_truncated_body_discards_download(server, tmp_path):
    data = _payload(50_000)
    url = server.add("/trunc.bin", data, content_length=len(data) + 10_000)
    dest = tmp_path / "trunc.bin"

    with pytest.raises(DownloadError) as excinfo:
        download_file(url, dest, progress=False, timeout=TIMEOUT)

    assert url in str(excinfo.value)
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.network
def test_http_404_names_url(server, tmp_path):
    url = server.base_url + "/missing.zip"
    dest = tmp_path / "missing.zip"
    with pytest.raises(DownloadError) as excinfo:
        download_file(url, dest, progress=False, timeout=TIMEOUT)
    assert url in str(excinfo.value)
    assert "404" in str(excinfo.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.network
def test_connection_refused_names_url(tmp_path):
    # Reserve an ephemeral port, then close it so nothing is listening there.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.bin"
    with pytest.raises(DownloadError, match="x.bin"):
        download_file(url, tmp_path / "x.bin", progress=False, timeout=TIMEOUT)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.network
def test_keyboard_interrupt_removes_partial_file(server, tmp_path, monkeypatch):
    data = _payload()
    url = server.add("/big.bin", data)

    class InterruptingBar:
        def __init__(self, *args, **kwargs):
            self.n = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            self.n += n
            if self.n > 0:
                raise KeyboardInterrupt

    monkeypatch.setattr(dl, "tqdm", InterruptingBar)
    dest = tmp_path / "big.bin"
    with pytest.raises(KeyboardInterrupt):
        download_file(url, dest, timeout=TIMEOUT)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.network
def test_existing_good_file_not_downloaded_again(server, tmp_path):
    data = _payload(2_000)
    url = server.add("/f.bin", data)
    dest = tmp_path / "f.bin"
    dest.write_bytes(data)

    assert download_file(url, dest, sha256=_sha(data), progress=False, timeout=TIMEOUT) == dest
    assert download_file(url, dest, size=len(data), progress=False, timeout=TIMEOUT) == dest
    assert download_file(url, dest, progress=False, timeout=TIMEOUT) == dest
    assert server.requests == []

    # Sanity check that the server would have been hit otherwise.
    download_file(url, tmp_path / "g.bin", progress=False, timeout=TIMEOUT)
    assert server.requests == ["/f.bin"]


@pytest.mark.network
def test_existing_file_with_wrong_checksum_left_untouched(server, tmp_path):
    data = _payload(2_000)
    url = server.add("/f.bin", data)
    dest = tmp_path / "f.bin"
    stale = b"not the right content"
    dest.write_bytes(stale)
    mtime = dest.stat().st_mtime_ns

    with pytest.raises(DestinationExistsError) as excinfo:
        download_file(url, dest, sha256=_sha(data), progress=False, timeout=TIMEOUT)
    msg = str(excinfo.value)
    assert str(dest) in msg and "Delete it" in msg

    with pytest.raises(DestinationExistsError, match="bytes"):
        download_file(url, dest, size=len(data), progress=False, timeout=TIMEOUT)

    assert dest.read_bytes() == stale
    assert dest.stat().st_mtime_ns == mtime
    assert server.requests == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sha256": "xyz"}, "sha256"),
        ({"size": -1}, "size"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_download_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        download_file("http://127.0.0.1:9/x", tmp_path / "x", progress=False, **kwargs)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------- extract_zip


def _make_zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


MEMBERS = {"a.txt": b"alpha", "sub/b.bin": bytes(range(256)), "sub/deeper/c.txt": b"gamma"}


def test_extract_zip_normal(tmp_path):
    archive = _make_zip(tmp_path / "ds.zip", MEMBERS)
    dest = tmp_path / "out" / "ds"

    assert extract_zip(archive, dest, expected_members=3) == dest

    for name, data in MEMBERS.items():
        assert (dest / name).read_bytes() == data
    assert (dest / COMPLETE_MARKER).is_file()
    assert _leftovers(dest.parent) == []


def test_extract_zip_second_call_does_not_reextract(tmp_path):
    archive = _make_zip(tmp_path / "ds.zip", MEMBERS)
    dest = tmp_path / "ds"
    extract_zip(archive, dest)
    (dest / "a.txt").write_bytes(b"edited by user")
    archive.unlink()  # re-extraction would now fail

    assert extract_zip(archive, dest) == dest
    assert (dest / "a.txt").read_bytes() == b"edited by user"


@pytest.mark.parametrize(
    "member", ["../evil.txt", "sub/../../evil.txt", "/etc/evil.txt", "C:/evil.txt", "..\\evil.txt"]
)
def test_extract_zip_refuses_zip_slip(tmp_path, member):
    archive = _make_zip(tmp_path / "bad.zip", {"ok.txt": b"ok", member: b"pwned"})
    dest = tmp_path / "out"
    with pytest.raises(ArchiveError) as excinfo:
        extract_zip(archive, dest)
    assert repr(member) in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip"]


def test_extract_zip_too_few_members(tmp_path):
    archive = _make_zip(tmp_path / "ds.zip", MEMBERS)
    dest = tmp_path / "ds"
    with pytest.raises(ValueError, match=r"ds\.zip contains 3 files but at least 4"):
        extract_zip(archive, dest, expected_members=4)
    assert not dest.exists()
    assert _leftovers(tmp_path) == []


def test_extract_zip_existing_dir_without_marker(tmp_path):
    archive = _make_zip(tmp_path / "ds.zip", MEMBERS)
    dest = tmp_path / "ds"
    dest.mkdir()
    (dest / "a.txt").write_bytes(b"half")
    with pytest.raises(DestinationExistsError, match="remove it"):
        extract_zip(archive, dest)
    assert (dest / "a.txt").read_bytes() == b"half"


def test_extract_zip_corrupt_member_leaves_nothing(tmp_path):
    archive = _make_zip(
        tmp_path / "ds.zip",
        {"a.txt": b"A" * 1000, "b.txt": b"B" * 1000},
        compression=zipfile.ZIP_STORED,
    )
    raw = bytearray(archive.read_bytes())
    raw[raw.index(b"B" * 1000) + 10] ^= 0xFF  # flip a byte: CRC check fails on extraction
    archive.write_bytes(bytes(raw))
    dest = tmp_path / "ds"

    with pytest.raises(ArchiveError, match="corrupt"):
        extract_zip(archive, dest)
    assert not dest.exists()
    assert _leftovers(tmp_path) == []


def test_extract_zip_not_a_zip(tmp_path):
    archive = tmp_path / "ds.zip"
    archive.write_bytes(b"<html>error page</html>")
    with pytest.raises(ArchiveError, match="not a valid zip"):
        extract_zip(archive, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


# ---------------------------------------------------------------- default_data_dir


def test_default_data_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("EEG_GNN_DATA", str(tmp_path / "eeg"))
    assert default_data_dir() == tmp_path / "eeg"
    monkeypatch.delenv("EEG_GNN_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "eeg_gnn_data"
