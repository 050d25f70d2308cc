"""First use: an open dataset that is not on disk is downloaded (verified, atomic) unless --no-download or
EEG_GNN_NO_DOWNLOAD=1; licensed ones explain how to get them. Served from 127.0.0.1, never the internet."""

from __future__ import annotations

import copy
import functools
import json
import os
import threading
from http.server import ThreadingHTTPServer

import pytest

from eeg_gnn.data import fetch
from eeg_gnn.data.download import COMPLETE_MARKER, DownloadError, IntegrityError
from eeg_gnn.data.fetch import ensure_dataset, on_disk

from .conftest import run_script
from .test_fetch import (
    TIMEOUT,
    _QuietHandler,
    msu_archives,
    serve,  # noqa: F401 - the fixture
)

pytestmark = pytest.mark.network


@pytest.fixture(autouse=True)
def downloads_allowed(monkeypatch, no_download):
    monkeypatch.delenv("EEG_GNN_NO_DOWNLOAD")


class _CutHandler(_QuietHandler):
    """Announces the whole of sch.zip, sends half of it and hangs up: an interrupted download."""

    def do_GET(self):  # noqa: N802 - http.server API
        if not self.path.endswith("sch.zip"):
            return super().do_GET()
        data = (self.server.folder / "sch.zip").read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def cut_server(tmp_path):
    folder = msu_archives(tmp_path / "cut", n_norm=39, n_sch=45)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_CutHandler, directory=str(folder)))
    httpd.folder = folder
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield "http://{}:{}/".format(*httpd.server_address[:2])
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=TIMEOUT)


def _nothing_looks_complete(target):
    return (not on_disk("msu", target) and not [p for p in target.rglob("*") if ".part" in p.name]
            if target.exists() else True)


def test_first_use_downloads_verifies_and_then_leaves_it_alone(tmp_path, serve, capsys):  # noqa: F811
    base_url = serve(msu_archives(tmp_path / "server", n_norm=39, n_sch=45))
    target = tmp_path / "data" / "msu"
    assert ensure_dataset("msu", target, base_url=base_url, progress=False) == target
    err = capsys.readouterr().err
    assert f"dataset 'msu' is not in {target}: downloading it from {base_url}" in err and "--no-download" in err
    assert on_disk("msu", target)
    assert all((target / part / COMPLETE_MARKER).is_file() for part in ("norm", "sch"))
    assert ensure_dataset("msu", target, base_url=base_url, progress=False) is None
    assert capsys.readouterr().err == ""


def test_no_download_flag_and_environment(tmp_path, monkeypatch):
    target = tmp_path / "msu"
    with pytest.raises(FileNotFoundError, match=r"turned off \(--no-download\)\. Download it with `eeg-gnn fetch "
                                                r"msu`, or run without --no-download"):
        ensure_dataset("msu", target, download=False)
    monkeypatch.setenv("EEG_GNN_NO_DOWNLOAD", "1")
    with pytest.raises(FileNotFoundError, match=r"\(EEG_GNN_NO_DOWNLOAD=1\)"):
        ensure_dataset("msu", target)
    assert not target.exists()
    assert ensure_dataset("seed", tmp_path / "seed") is None  # licensed: reading it explains how to get it
    (tmp_path / "file.edf").write_bytes(b"0")
    assert ensure_dataset("msu", tmp_path / "file.edf") is None  # reading it says --data-dir is a file


def test_an_interrupted_download_leaves_nothing_that_looks_complete_and_is_resumed(tmp_path, cut_server, serve):  # noqa: F811
    target = tmp_path / "msu"
    with pytest.raises(DownloadError, match="sch.zip"):
        ensure_dataset("msu", target, base_url=cut_server, progress=False)
    assert _nothing_looks_complete(target)
    assert (target / "norm" / COMPLETE_MARKER).is_file() and not (target / "sch").exists()
    assert not (target / ".downloads" / "sch.zip").exists()
    good = serve(msu_archives(tmp_path / "server", n_norm=39, n_sch=45))
    assert ensure_dataset("msu", target, base_url=good, progress=False) == target
    assert on_disk("msu", target)


def test_a_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path, serve, monkeypatch):  # noqa: F811
    base_url = serve(msu_archives(tmp_path / "server", n_norm=39, n_sch=45))
    descriptor = copy.deepcopy(fetch.load_descriptor("msu"))
    descriptor["download"]["archives"][0]["sha256"] = "0" * 64
    monkeypatch.setattr(fetch, "load_descriptor", lambda name: descriptor)
    target = tmp_path / "msu"
    with pytest.raises(IntegrityError, match=r"checksum mismatch for norm\.zip .* the download was discarded"):
        ensure_dataset("msu", target, base_url=base_url, progress=False)
    assert not target.exists()


def test_train_without_download_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EEG_GNN_DATA", str(tmp_path))
    code, _, err = run_script("train.py", ["--task", "schizophrenia", "--no-download", "--out", str(tmp_path / "r")],
                              capsys)
    assert code == 2 and "eeg-gnn fetch msu" in err and "--no-download" in err and len(err.splitlines()) == 1
    code, _, err = run_script("train.py", ["--task", "emotion", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "signed licence agreement" in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "msu").exists()


@pytest.mark.slow
def test_train_downloads_msu_on_first_use(tmp_path, serve, monkeypatch, capsys):  # noqa: F811
    base_url = serve(msu_archives(tmp_path / "server", n_norm=39, n_sch=45))
    descriptor = copy.deepcopy(fetch.load_descriptor("msu"))
    descriptor["download"]["base_url"] = base_url
    monkeypatch.setattr(fetch, "load_descriptor", lambda name: descriptor)
    monkeypatch.setenv("EEG_GNN_DATA", str(tmp_path / "data"))
    code, out, err = run_script("train.py", ["--task", "schizophrenia", "--out", str(tmp_path / "runs"), "--folds",
                                             "2", "--epochs", "1", "--n-boot", "10", "--baselines", "none",
                                             "--controls", "none", "--quiet"], capsys)
    assert code == 0, err
    assert "downloading it from" in err and on_disk("msu", tmp_path / "data" / "msu")
    (run_dir,) = (tmp_path / "runs").iterdir()
    saved = json.loads((run_dir / "config.json").read_text())
    assert len(saved["dataset"]["recordings"]) == 84


def test_offline_download_error_is_one_short_line_naming_the_host_and_fetch(tmp_path):
    with pytest.raises(DownloadError) as excinfo:
        ensure_dataset("msu", tmp_path / "msu", base_url="http://127.0.0.1:9/", progress=False)
    message = str(excinfo.value)
    assert message.startswith("could not reach 127.0.0.1: no network? (ConnectionError while downloading")
    assert "`eeg-gnn fetch msu`" in message and "\n" not in message and len(message) < 400
    assert _nothing_looks_complete(tmp_path / "msu")


def test_no_download_says_the_data_is_missing_before_importing_torch(tmp_path):
    import subprocess
    import sys

    script = ("import sys; from eeg_gnn.cli.train import main; code = main(['--task', 'schizophrenia', "
              "'--no-download']); print(code, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "EEG_GNN_DATA": str(tmp_path)})
    assert done.stdout.split() == ["2", "False"] and "eeg-gnn fetch msu" in done.stderr
