"""Shared fixtures: where the real recordings are, and a check that nothing is written next to them.

Real data come from ``$EEG_GNN_DATA`` (``eegmat/``, ``formats/``, ``seizure_umich/``). Without it the tests that
need real files are skipped, unless ``EEG_GNN_REQUIRE_DATA=1`` is set (CI), in which case they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import mne
import numpy as np
import pytest

from eeg_gnn.signal.montage import node_sets

SFREQ = 128.0
N_PER_CLASS = 4


def _missing_data(message: str) -> None:
    """Skip, or fail when the data are required (``EEG_GNN_REQUIRE_DATA=1``)."""
    if os.environ.get("EEG_GNN_REQUIRE_DATA", "") == "1":
        pytest.fail(f"{message} (EEG_GNN_REQUIRE_DATA=1, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The folder named by ``$EEG_GNN_DATA``."""
    value = os.environ.get("EEG_GNN_DATA", "")
    if not value:
        _missing_data("EEG_GNN_DATA is not set: point it to the shared data folder to run real-data tests")
    root = Path(value).expanduser()
    if not root.is_dir():
        _missing_data(f"EEG_GNN_DATA={value} is not a folder")
    return root


def _sub(root: Path, name: str) -> Path:
    folder = root / name
    if not folder.is_dir():
        _missing_data(f"{folder} does not exist")
    return folder


@pytest.fixture(scope="session")
def eegmat_dir(data_root: Path) -> Path:
    return _sub(data_root, "eegmat")


@pytest.fixture(scope="session")
def msu_dir(data_root: Path) -> Path:
    return _sub(data_root, "msu")


@pytest.fixture(scope="session")
def formats_dir(data_root: Path) -> Path:
    return _sub(data_root, "formats")


@pytest.fixture(scope="session")
def umich_dir(data_root: Path) -> Path:
    return _sub(data_root, "seizure_umich")


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` (relative, recursive) with its mtime in ns and its size."""
    result = {}
    for path in sorted(folder.rglob("*")):
        stat = path.stat()
        result[path.relative_to(folder).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return result


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, tuple[int, int]]]:
    """A function returning a folder's listing (names, mtimes, sizes), to compare before and after."""
    return listing


@pytest.fixture
def untouched() -> Iterator[Callable[[Path], Path]]:
    """Register folders with ``untouched(folder)``; after the test, each must list exactly as before."""
    watched: list[tuple[Path, dict[str, tuple[int, int]]]] = []

    def watch(folder: Path) -> Path:
        watched.append((folder, listing(folder)))
        return folder

    yield watch
    for folder, before in watched:
        after = listing(folder)
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        changed = sorted(n for n in set(before) & set(after) if before[n] != after[n])
        assert (added, removed, changed) == ([], [], []), (
            f"{folder} was modified: added {added}, removed {removed}, changed {changed}"
        )


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("EEG_GNN_CACHE", str(tmp_path_factory.getbasetemp() / "feature-cache"))


@pytest.fixture(autouse=True)
def no_download(monkeypatch):
    """No test downloads on first use from the internet; tests of it serve the data from 127.0.0.1 and unset this."""
    monkeypatch.setenv("EEG_GNN_NO_DOWNLOAD", "1")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny graphs: one intra-op thread avoids thread contention that makes each step ~100 times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def cohort(tmp_path_factory) -> Path:
    """A folder dataset: 4 controls and 4 patients; patients carry strong 10 Hz alpha on every electrode."""
    root = tmp_path_factory.mktemp("cohort")
    rng = np.random.default_rng(42)
    names = node_sets()["10-20"]
    times = np.arange(int(40 * SFREQ)) / SFREQ
    rows = ["participant_id\tgroup"]
    for index in range(2 * N_PER_CLASS):
        patient = index >= N_PER_CLASS
        subject = f"sub-{index:02d}"
        data = rng.normal(0, 10e-6, (len(names), times.size))
        if patient:
            phase = rng.uniform(0, 2 * np.pi, (len(names), 1))
            data += 30e-6 * np.sin(2 * np.pi * 10 * times + phase)
        raw = mne.io.RawArray(data, mne.create_info(names, SFREQ, "eeg"), verbose="error")
        raw.save(root / f"{subject}_eeg.fif", verbose="error")
        rows.append(f"{subject}\t{'patient' if patient else 'control'}")
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    return root


def run_script(script: str, args: list[str], capsys) -> tuple[int, str, str]:
    """Run ``main(args)`` of a top-level script (``train.py``, ``evaluate.py``); return exit code, stdout, stderr."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(Path(script).stem + "_cli", Path(__file__).parents[1] / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = module.main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_applied_equals_training(run, cohort: Path) -> dict:
    """Apply ``run`` to the recordings it was trained on: every window's graph-model probability equals the one
    training saved in ``predictions.csv`` (each window predicted by the fold model that held it out). Returns the
    saved probabilities, ``{(subject, recording, window): proba_patient}``."""
    import csv

    from eeg_gnn.pipeline.apply import apply_run

    def graph_rows(path: Path) -> dict:
        with path.open() as stream:
            return {(r["subject"], r["recording"], r["window"]): float(r["proba_patient"])
                    for r in csv.DictReader(stream) if r["model"] == "graph"}

    again = graph_rows(apply_run(run, cohort, progress=False) / "windows.csv")
    trained = graph_rows(run.path / "predictions.csv")
    assert set(again) == set(trained)
    for key, value in trained.items():
        assert again[key] == pytest.approx(value, abs=1e-4)
    return trained
