"""Tests for :mod:`eeg_gnn.data.datasets`: described datasets on real and generated folders, and user cohorts."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pytest

from eeg_gnn.data.datasets import (
    FOLDER,
    _is_recording,
    available_datasets,
    dataset_dir,
    has_descriptor,
    load_dataset,
    load_descriptor,
    load_folder,
)

REPOD_CHANNELS = ["Fp2", "F8", "T4", "T6", "O2", "Fp1", "F7", "T3", "T5", "O1", "F4", "C4", "P4", "F3", "C3",
                  "P3", "Fz", "Cz", "Pz"]


# ------------------------------------------------------------------------------- generated files


def eea_text(seed: int = 0) -> str:
    """A valid MSU .eea file: 16 channels x 7680 samples, one microvolt value per line."""
    rng = np.random.default_rng(seed)
    return "".join(f"{v:.2f}\n" for v in rng.normal(0, 20, 16 * 7680))


def make_msu(root, n_norm: int = 2, n_sch: int = 3):
    text = eea_text()
    for folder, count in (("norm", n_norm), ("sch", n_sch)):
        (root / folder).mkdir(parents=True)
        for i in range(count):
            (root / folder / f"{folder}{i:03d}.eea").write_text(text)
    return root


def write_edf(path, ch_names, sfreq: float = 250.0, seconds: int = 2, seed: int = 0):
    """A small real EDF file written by MNE (edfio)."""
    rng = np.random.default_rng(seed)
    info = mne.create_info(list(ch_names), sfreq, ch_types="eeg")
    raw = mne.io.RawArray(rng.normal(0, 20e-6, (len(ch_names), int(sfreq * seconds))), info, verbose="error")
    mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")
    return path


@pytest.fixture(scope="module")
def small_edf(tmp_path_factory):
    return write_edf(tmp_path_factory.mktemp("edf") / "template.edf", REPOD_CHANNELS)


# ------------------------------------------------------------------------------------ real data


def test_eegmat(eegmat_dir, untouched):
    untouched(eegmat_dir)
    dataset = load_dataset("eegmat", eegmat_dir)
    assert dataset.name == "eegmat"
    assert dataset.root == eegmat_dir
    assert len(dataset.recordings) == 48
    assert dataset.subjects == [f"{i:02d}" for i in range(24)]
    assert dataset.classes == ["rest", "arithmetic"]
    assert dataset.label_level == "recording"
    assert dataset.class_counts() == {"rest": {"recordings": 24, "subjects": 24},
                                      "arithmetic": {"recordings": 24, "subjects": 24}}
    by_id = {r.recording_id: r for r in dataset.recordings}
    assert by_id["Subject07_1.edf"].subject == "07"
    assert by_id["Subject07_1.edf"].label == "rest"
    assert by_id["Subject07_2.edf"].label == "arithmetic"
    assert all(r.path.is_file() for r in dataset.recordings)
    assert len({r.recording_id for r in dataset.recordings}) == 48


def test_eegmat_from_environment(data_root, monkeypatch):
    monkeypatch.setenv("EEG_GNN_DATA", str(data_root))
    assert dataset_dir("eegmat") == data_root / "eegmat"
    assert len(load_dataset("eegmat").recordings) == 48


def test_umich(umich_dir, untouched):
    untouched(umich_dir)
    dataset = load_dataset("umich_seizure", umich_dir)
    assert len(dataset.recordings) == 1
    recording = dataset.recordings[0]
    assert recording.subject == "umich01"
    assert recording.label is None
    assert recording.path == umich_dir.resolve()
    assert dataset.label_level == "window"
    assert [i["label"] for i in dataset.descriptor["intervals"]] == ["preictal", "ictal"]


# ------------------------------------------------------------------------------- missing things


@pytest.mark.parametrize("name", ["msu", "repod", "eegmat"])
def test_missing_dataset_dir_says_how_to_fetch(tmp_path, name):
    folder = tmp_path / "not-here"
    with pytest.raises(FileNotFoundError) as excinfo:
        load_dataset(name, folder)
    message = str(excinfo.value)
    assert f"python -m eeg_gnn fetch {name}" in message
    assert str(folder) in message


def test_missing_default_dir_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("EEG_GNN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as excinfo:
        load_dataset("msu")
    assert "python -m eeg_gnn fetch msu" in str(excinfo.value)
    assert str(tmp_path / "msu") in str(excinfo.value)


def test_empty_dataset_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No recordings of dataset 'repod'.*\*\*/\*\.edf"):
        load_dataset("repod", tmp_path)


def test_local_dataset_is_not_fetchable(tmp_path):
    with pytest.raises(FileNotFoundError) as excinfo:
        load_dataset("umich_seizure", tmp_path / "nowhere")
    assert "not downloadable" in str(excinfo.value)
    assert "fetch" not in str(excinfo.value)


def test_unknown_dataset_lists_allowed():
    with pytest.raises(ValueError) as excinfo:
        load_dataset("eegmatt")
    message = str(excinfo.value)
    assert "'eegmatt'" in message
    for name in ("eegmat", "msu", "repod", "umich_seizure", "folder"):
        assert repr(name) in message
    described = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "datasets").glob("*.json"))
    assert {"eegmat", "msu", "repod", "umich_seizure", "seed", "deap_valence", "deap_arousal"} <= set(described)
    assert available_datasets() == [*described, FOLDER, "bids"]


def test_descriptors_are_consistent():
    for name in available_datasets():
        if not has_descriptor(name):
            continue
        descriptor = load_descriptor(name)
        assert descriptor["name"] == name
        for key in ("title", "task", "classes", "recordings", "license", "citation", "source", "expected"):
            assert key in descriptor, (name, key)
        labels = descriptor["recordings"].get("labels", {})
        assert set(labels.values()) <= set(descriptor["classes"])


# ---------------------------------------------------------------------------------- generated MSU


def test_msu_same_file_name_in_both_groups_is_two_subjects(tmp_path):
    root = make_msu(tmp_path / "msu", n_norm=1, n_sch=1)
    (root / "sch" / "sch000.eea").rename(root / "sch" / "norm000.eea")
    dataset = load_dataset("msu", root)
    assert dataset.subjects == ["norm-norm000", "sch-norm000"]


def test_msu_layout(tmp_path):
    root = make_msu(tmp_path / "msu", n_norm=2, n_sch=3)
    dataset = load_dataset("msu", root)
    assert len(dataset.recordings) == 5
    labels = {r.recording_id: r.label for r in dataset.recordings}
    assert labels == {"norm/norm000.eea": "healthy", "norm/norm001.eea": "healthy",
                      "sch/sch000.eea": "schizophrenia", "sch/sch001.eea": "schizophrenia",
                      "sch/sch002.eea": "schizophrenia"}
    assert dataset.subjects == ["norm-norm000", "norm-norm001", "sch-sch000", "sch-sch001", "sch-sch002"]
    assert dataset.class_counts()["schizophrenia"] == {"recordings": 3, "subjects": 3}
    raw = dataset.recordings[0].read()
    assert raw.info["sfreq"] == 128.0 and raw.n_times == 7680


def test_msu_archive_folders_nested(tmp_path):
    # a zip that holds its own top folder is extracted as norm/norm/*.eea
    root = tmp_path / "msu"
    (root / "norm" / "norm").mkdir(parents=True)
    (root / "norm" / "norm" / "a1.eea").write_text("0\n")
    (root / "sch").mkdir()
    (root / "sch" / "b1.eea").write_text("0\n")
    dataset = load_dataset("msu", root)
    assert {(r.subject, r.label) for r in dataset.recordings} == {("norm-a1", "healthy"), ("sch-b1", "schizophrenia")}


# -------------------------------------------------------------------------------- generated RepOD


def test_repod_names(tmp_path, small_edf):
    root = tmp_path / "repod"
    root.mkdir()
    for name in ("h01", "s01", "h02"):
        (root / f"{name}.edf").write_bytes(small_edf.read_bytes())
    (root / "readme.txt").write_text("not a recording")
    dataset = load_dataset("repod", root)
    assert [(r.subject, r.label) for r in dataset.recordings] == [
        ("h01", "healthy"), ("h02", "healthy"), ("s01", "schizophrenia")]
    raw = dataset.recordings[0].read()
    assert raw.ch_names == REPOD_CHANNELS
    assert raw.info["sfreq"] == 250.0


# ------------------------------------------------------------------------------- user's own folder


def _cohort(root, small_edf, names):
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).write_bytes(small_edf.read_bytes())
    return root


def test_folder_by_subject_id_in_file_names(tmp_path, small_edf):
    root = _cohort(tmp_path / "cohort", small_edf, ["sub-1.edf", "sub-10.edf", "sub-2_rest.edf", "extra.edf"])
    (root / "participants.tsv").write_text(
        "participant_id\tgroup\tage\nsub-1\tpatient\t30\nsub-10\tcontrol\t31\nsub-2\tpatient\t40\n")
    with pytest.raises(ValueError, match=r"1 recordings of no listed subject \(extra\.edf\)\. Pass --on-missing warn"):
        load_dataset("folder", root)
    with pytest.warns(RuntimeWarning, match=r"leaving out 1 recordings of no listed subject \(extra\.edf\)"):
        dataset = load_dataset("folder", root, on_missing="warn")
    assert {(r.subject, r.label, r.recording_id) for r in dataset.recordings} == {
        ("sub-1", "patient", "sub-1.edf"), ("sub-10", "control", "sub-10.edf"),
        ("sub-2", "patient", "sub-2_rest.edf")}
    assert dataset.classes == ["control", "patient"]  # controls first
    assert dataset.descriptor["unlabelled_files"] == ["extra.edf"]
    assert dataset.recordings[0].read().info["sfreq"] == 250.0


def test_folder_with_file_column_and_csv(tmp_path, small_edf):
    root = _cohort(tmp_path / "cohort", small_edf, ["a.edf", "b.edf"])
    (root / "participants.csv").write_text("subject,diagnosis,file\nP1,healthy,a.edf\nP2,depression,b.edf\n")
    dataset = load_folder(root)
    assert [(r.subject, r.label, r.path.name) for r in dataset.recordings] == [
        ("P1", "healthy", "a.edf"), ("P2", "depression", "b.edf")]
    assert dataset.classes == ["healthy", "depression"]
    assert dataset.descriptor["participants"] == str(root / "participants.csv")


def test_folder_table_saved_by_excel(tmp_path, small_edf):
    # UTF-8 with a byte-order mark and CRLF line ends
    root = _cohort(tmp_path / "cohort", small_edf, ["sub-01.edf", "sub-02.edf"])
    (root / "participants.csv").write_bytes(
        b"\xef\xbb\xbfparticipant_id,group\r\nsub-01,control\r\nsub-02,patient\r\n")
    dataset = load_folder(root)
    assert [(r.subject, r.label) for r in dataset.recordings] == [("sub-01", "control"), ("sub-02", "patient")]


def test_folder_without_label_column(tmp_path, small_edf):
    root = _cohort(tmp_path / "cohort", small_edf, ["sub-01.edf"])
    (root / "participants.tsv").write_text("participant_id\tage\nsub-01\t30\n")
    with pytest.raises(ValueError) as excinfo:
        load_folder(root)
    message = str(excinfo.value)
    assert str(root / "participants.tsv") in message
    assert "no label column" in message
    assert "group" in message and "'age'" in message


def test_folder_listed_file_missing(tmp_path, small_edf):
    root = _cohort(tmp_path / "cohort", small_edf, ["a.edf"])
    (root / "participants.tsv").write_text("participant_id\tgroup\tfile\nP1\tcontrol\ta.edf\nP2\tpatient\tb.edf\n")
    with pytest.raises(ValueError) as excinfo:
        load_folder(root)
    message = str(excinfo.value)
    assert f"{root / 'participants.tsv'}: 1 subjects listed without a recording (line 3: P2" in message
    assert str(root / "b.edf") in message and "--on-missing warn" in message


def test_folder_subject_without_recording(tmp_path, small_edf):
    root = _cohort(tmp_path / "cohort", small_edf, ["sub-01.edf"])
    # the blank line counts: the error is on line 4 of the file
    (root / "participants.tsv").write_text("participant_id\tgroup\nsub-01\tcontrol\n\nsub-02\tpatient\n")
    with pytest.raises(ValueError) as excinfo:
        load_folder(root)
    message = str(excinfo.value)
    assert f"{root / 'participants.tsv'}: 1 subjects listed without a recording (line 4: sub-02)" in message


def test_folder_empty_label(tmp_path, small_edf):
    root = _cohort(tmp_path / "cohort", small_edf, ["sub-01.edf"])
    (root / "participants.tsv").write_text("participant_id\tgroup\nsub-01\t\n")
    with pytest.raises(ValueError, match=r"participants\.tsv, line 2: empty subject or label"):
        load_folder(root)


def test_folder_recording_claimed_by_two_subjects(tmp_path, small_edf):
    # ids '01' and '02' both occur in 'sub-02_ses-01.edf'
    root = _cohort(tmp_path / "cohort", small_edf, ["sub-01_ses-01.edf", "sub-02_ses-01.edf"])
    (root / "participants.tsv").write_text("participant_id\tgroup\n01\tcontrol\n02\tpatient\n")
    with pytest.raises(ValueError) as excinfo:
        load_folder(root)
    message = str(excinfo.value)
    assert "line 3" in message and "sub-02_ses-01.edf" in message and "'01'" in message


def test_folder_without_table_or_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="participants.tsv"):
        load_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match="--data-dir"):
        load_dataset("folder")


def test_folder_dataset_ignores_bids_sidecars(tmp_path):
    names = ["Fp1", "Fp2", "Cz"]
    for subject in ("01", "02"):
        raw = mne.io.RawArray(np.zeros((3, 256)) + 1e-6, mne.create_info(names, 128.0, "eeg"), verbose="error")
        raw.save(tmp_path / f"sub-{subject}_eeg.fif", verbose="error")
        (tmp_path / f"sub-{subject}_channels.tsv").write_text("name\ttype\nFp1\tEEG\n")
        (tmp_path / f"sub-{subject}_events.tsv").write_text("onset\tduration\n0\t1\n")
    (tmp_path / "participants.tsv").write_text("participant_id\tgroup\nsub-01\tcontrol\nsub-02\tpatient\n")
    dataset = load_dataset("folder", tmp_path)
    assert sorted(r.recording_id for r in dataset.recordings) == ["sub-01_eeg.fif", "sub-02_eeg.fif"]


def test_folder_columns_named_by_flags_and_missing_subjects_warned(tmp_path, small_edf):
    root = _cohort(tmp_path / "cohort", small_edf, ["P01.edf", "C01.edf", "stray.edf"])
    (root / "participants.csv").write_text("Subject,age,category\nP01,30,Patient\nC01,31,Control\nP02,40,Patient\n"
                                           "C02,41,Control\n")
    (root / "subject-info.csv").write_text("Subject,Age,Gender\nP01,30,F\n")
    (root / "notes.csv").write_text("Subject,comment\nP01,slept\n")
    (root / "dataset.json").write_text("{}")
    (root / "README.md").write_text("# cohort\n")
    with pytest.raises(ValueError, match=r"no label column .* --label-column COLUMN \(e\.g\. --label-column category\)"):
        load_folder(root)
    with pytest.raises(ValueError, match=r"--label-column 'diagnosis' is not a column of .*Subject, age, category"):
        load_folder(root, label_column="diagnosis")
    with pytest.raises(ValueError) as excinfo:
        load_folder(root, label_column="category")
    message = str(excinfo.value)
    assert "2 subjects listed without a recording (line 4: P02; line 5: C02)" in message
    assert "1 recordings of no listed subject (stray.edf)" in message and "--on-missing warn" in message
    with pytest.warns(RuntimeWarning) as caught:
        dataset = load_folder(root, label_column="category", subject_column="subject", on_missing="warn")
    assert len(caught) == 1 and "P02" in str(caught[0].message) and "stray.edf" in str(caught[0].message)
    assert [(r.subject, r.label) for r in dataset.recordings] == [("P01", "Patient"), ("C01", "Control")]
    assert dataset.classes == ["Control", "Patient"]
    assert dataset.descriptor["missing"] == {"subjects_without_recordings": ["P02", "C02"],
                                             "recordings_without_subjects": ["stray.edf"]}


def test_metadata_tables_are_never_recordings(tmp_path):
    (tmp_path / "subject-info.csv").write_text("Subject,Age\nSubject00,21\n")
    (tmp_path / "scores.csv").write_text("Subject,Age\nSubject00,21\n")
    (tmp_path / "signal.csv").write_text("Fp1,Fp2\n1.0,2.0\n-1,3e-1\n")
    (tmp_path / "participants.tsv").write_text("participant_id\n")
    (tmp_path / "sub-01_eeg.json").write_text("{}")
    assert [p.name for p in sorted(tmp_path.iterdir()) if _is_recording(p)] == ["signal.csv"]


def test_data_dir_that_is_a_file(tmp_path):
    (tmp_path / "x.edf").write_bytes(b"0")
    with pytest.raises(NotADirectoryError, match=r"--data-dir .*x\.edf is a file, not a folder"):
        load_dataset("eegmat", tmp_path / "x.edf")
