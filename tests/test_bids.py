"""BIDS input: a small BIDS tree written with MNE-BIDS from real EEGMAT recordings, listed and trained on."""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from eeg_gnn.data.bids import check_bids_root, load_bids
from eeg_gnn.data.datasets import load_dataset
from eeg_gnn.evaluation.tidy import read_scores
from eeg_gnn.signal.montage import positions
from tests.conftest import run_script

mne_bids = pytest.importorskip("mne_bids")
import mne  # noqa: E402

N_SUBJECTS = 4
SECONDS = 40.0


def _write_tree(eegmat_dir: Path, root: Path, *, annotate: bool = False) -> Path:
    """Subjects 00-03 of EEGMAT as BIDS (session 1; task rest = ``_1``, task arithmetic = ``_2``; 40 s each),
    channels typed (ECG ecg, A2-A1 misc) and placed (the project's 10-20 positions, written to electrodes.tsv)."""
    for subject in range(N_SUBJECTS):
        for part, task in (("1", "rest"), ("2", "arithmetic")):
            raw = mne.io.read_raw_edf(eegmat_dir / f"Subject{subject:02d}_{part}.edf", preload=True, verbose="error")
            raw.crop(0, SECONDS)
            raw.rename_channels(lambda name: name.replace("EEG ", "").replace("ECG ", ""))
            raw.set_channel_types({"ECG": "ecg", "A2-A1": "misc"}, on_unit_change="ignore")
            eeg = [name for name in raw.ch_names if name not in ("ECG", "A2-A1")]
            where = positions(eeg, kind="scalp") / 1000.0
            raw.set_montage(mne.channels.make_dig_montage(dict(zip(eeg, where)), coord_frame="head"))
            if annotate:
                raw.set_annotations(mne.Annotations([0.0, 20.0], [20.0, 20.0], ["eyes_open", "counting"]))
            path = mne_bids.BIDSPath(subject=f"{subject:02d}", session="1", task=task, root=root, datatype="eeg")
            mne_bids.write_raw_bids(raw, path, format="EDF", allow_preload=True, overwrite=True, verbose="error")
    return root


@pytest.fixture(scope="module")
def bids_root(eegmat_dir, tmp_path_factory) -> Path:
    return _write_tree(eegmat_dir, tmp_path_factory.mktemp("bids") / "eegmat")


def _copy(root: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(root, tmp_path / "copy"))


def _add_participants_column(root: Path, column: str, values: dict[str, str]) -> None:
    table = root / "participants.tsv"
    with table.open(newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
    with table.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, [*rows[0], column], delimiter="\t")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, column: values.get(row["participant_id"], "n/a")})


@pytest.mark.slow
def test_subjects_sessions_and_tasks_come_from_the_bids_entities(bids_root):
    dataset = load_dataset("bids", bids_root)
    assert dataset.name == "bids" and len(dataset.recordings) == 2 * N_SUBJECTS
    assert dataset.subjects == [f"sub-{i:02d}" for i in range(N_SUBJECTS)]
    assert {r.session for r in dataset.recordings} == {"1"}
    assert dataset.descriptor["label_source"] == "task" and dataset.label_level == "recording"
    assert dataset.classes == ["rest", "arithmetic"]
    for recording in dataset.recordings:
        assert recording.label in recording.recording_id
    assert dataset.descriptor["sidecars"]["channels"] == 2 * N_SUBJECTS
    assert dataset.descriptor["sidecars"]["electrodes"] == 2 * N_SUBJECTS


@pytest.mark.slow
def test_info_names_where_the_labels_come_from(bids_root, capsys):
    from eeg_gnn.cli.main import main

    assert main(["info", "bids", "--data-dir", str(bids_root)]) == 0
    out = capsys.readouterr().out
    assert "subjects:    4" in out and "recordings:  8" in out
    assert "labels from: task (BIDS tasks: arithmetic, rest; --task-label chooses)" in out


@pytest.mark.slow
def test_channel_types_and_electrode_positions_come_from_the_sidecars(bids_root):
    recording = load_bids(bids_root).recordings[0]
    raw = recording.read()
    types = dict(zip(raw.ch_names, raw.get_channel_types()))
    assert types["ECG"] == "ecg" and types["A2-A1"] == "misc" and types["Cz"] == "eeg"
    electrodes = bids_root / "sub-00" / "ses-1" / "eeg" / "sub-00_ses-1_space-CapTrak_electrodes.tsv"
    with electrodes.open(newline="") as stream:
        written = {row["name"]: row for row in csv.DictReader(stream, delimiter="\t")}
    assert "Cz" in written and raw.get_montage() is not None
    positions = raw.get_montage().get_positions()["ch_pos"]
    assert np.all(np.isfinite(positions["Cz"])) and np.linalg.norm(positions["Cz"] - positions["Fz"]) > 0.01


@pytest.mark.slow
def test_labels_from_a_participants_column(bids_root, tmp_path):
    root = _copy(bids_root, tmp_path)
    _add_participants_column(root, "counting", {"sub-00": "good", "sub-01": "bad", "sub-02": "good", "sub-03": "bad"})
    dataset = load_bids(root, label_column="counting")
    assert dataset.label_level == "subject" and dataset.classes == ["bad", "good"]
    assert {r.subject: r.label for r in dataset.recordings}["sub-01"] == "bad"
    with pytest.raises(ValueError, match=r"--label-column 'nope' is not a column of .*participants.tsv"):
        load_bids(root, label_column="nope")
    _add_participants_column(root, "group", {"sub-00": "control", "sub-01": "patient"})
    with pytest.raises(ValueError, match="no group for the subjects of 4 recordings.*--on-missing warn"):
        load_bids(root)
    with pytest.warns(RuntimeWarning, match="leaving them out"):
        dataset = load_bids(root, on_missing="warn")
    assert dataset.subjects == ["sub-00", "sub-01"] and dataset.classes == ["control", "patient"]


@pytest.mark.slow
def test_labels_from_events_tsv_trial_types(eegmat_dir, tmp_path):
    root = _write_tree(eegmat_dir, tmp_path / "events", annotate=True)
    dataset = load_bids(root, task_label="events")
    assert dataset.label_level == "window" and dataset.classes == ["counting", "eyes_open"]
    assert dataset.recordings[0].intervals == (("eyes_open", 0.0, 20.0), ("counting", 20.0, 40.0))


@pytest.mark.slow
def test_train_on_a_bids_tree_with_one_command(bids_root, tmp_path, capsys):
    code, out, err = run_script("train.py", ["--dataset", "bids", "--data-dir", str(bids_root), "--epochs", "2",
                                             "--folds", "2", "--n-boot", "20", "--controls", "none", "--baselines",
                                             "logreg", "--hidden", "8", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0, err
    assert "on bids: 4 subjects, 8 recordings" in out
    run_dir = next(tmp_path.glob("*bids*"))
    rows = read_scores(run_dir / "scores.csv")
    assert {r["dataset"] for r in rows} == {"bids"} and {r["session"] for r in rows} == {"1"}
    assert {r["subject"] for r in rows} == {f"sub-{i:02d}" for i in range(N_SUBJECTS)}


@pytest.mark.slow
def test_channels_marked_bad_in_channels_tsv_are_bad_nodes(bids_root, tmp_path, capsys):
    root = _copy(bids_root, tmp_path)
    path = mne_bids.BIDSPath(subject="00", session="1", task="rest", root=root, datatype="eeg", suffix="eeg",
                             extension=".edf")
    mne_bids.mark_channels(path, ch_names=["O1"], status="bad", descriptions=["loose"], verbose="error")
    args = ["--dataset", "bids", "--data-dir", str(root), "--epochs", "1", "--folds", "2", "--n-boot", "10",
            "--controls", "none", "--baselines", "none", "--hidden", "8", "--out", str(tmp_path / "runs"), "--quiet"]
    code, _, err = run_script("train.py", args, capsys)
    assert code == 2 and err.count("\n") == 1
    assert "sub-00_ses-1_task-rest_eeg.edf has bad EEG nodes: O1 marked bad" in err
    code, out, err = run_script("train.py", [*args, "--bad-channels", "interpolate"], capsys)
    assert code == 0, err


def test_a_folder_that_is_not_bids_fails_in_one_line_naming_what_is_wrong(tmp_path, capsys):
    (tmp_path / "sub-01").mkdir()
    code, _, err = run_script("train.py", ["--dataset", "bids", "--data-dir", str(tmp_path), "--out",
                                           str(tmp_path / "runs"), "--quiet"], capsys)
    assert code == 2 and err.count("\n") == 1 and "has no dataset_description.json" in err
    (tmp_path / "dataset_description.json").write_text("{not json")
    with pytest.raises(ValueError, match="dataset_description.json is not valid JSON"):
        check_bids_root(tmp_path)
    (tmp_path / "dataset_description.json").write_text('{"Name": "x"}')
    with pytest.raises(ValueError, match="lacks BIDSVersion"):
        check_bids_root(tmp_path)
    (tmp_path / "dataset_description.json").write_text('{"Name": "x", "BIDSVersion": "1.9.0"}')
    with pytest.raises(ValueError, match="a BIDS dataset without EEG recordings"):
        load_bids(tmp_path)
    shutil.rmtree(tmp_path / "sub-01")
    with pytest.raises(ValueError, match="has no sub-<label> folder"):
        load_bids(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_bids(tmp_path / "nowhere")


def test_task_label_is_for_bids_only_and_checked(tmp_path):
    from eeg_gnn.pipeline.config import TrainConfig

    with pytest.raises(ValueError, match="--task-label task chooses the labels of a BIDS dataset"):
        TrainConfig(task_label="task")
    (tmp_path / "sub-01").mkdir()
    (tmp_path / "dataset_description.json").write_text('{"Name": "x", "BIDSVersion": "1.9.0"}')
    with pytest.raises(ValueError, match="task_label.*'participants', 'task', 'events'.*'trials'"):
        load_bids(tmp_path, task_label="trials")


def test_without_mne_bids_the_error_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mne_bids", None)
    (tmp_path / "sub-01").mkdir()
    (tmp_path / "dataset_description.json").write_text('{"Name": "x", "BIDSVersion": "1.9.0"}')
    code, _, err = run_script("train.py", ["--dataset", "bids", "--data-dir", str(tmp_path), "--out",
                                           str(tmp_path / "runs"), "--quiet"], capsys)
    assert code == 2 and err.count("\n") == 1 and "pip install eeg-gnn[bids]" in err


@pytest.mark.slow
def test_marking_a_channel_bad_invalidates_the_cached_features(bids_root, tmp_path):
    from eeg_gnn.data.extraction import recording_payload
    from eeg_gnn.signal.preprocessing import Preprocessing

    root = _copy(bids_root, tmp_path)
    recording = load_bids(root).recordings[0]
    before = recording_payload(recording, Preprocessing(), "10-20")
    path = mne_bids.get_bids_path_from_fname(recording.path)
    path.update(root=root)
    mne_bids.mark_channels(path, ch_names=["O1"], status="bad", verbose="error")
    assert recording_payload(recording, Preprocessing(), "10-20") != before
