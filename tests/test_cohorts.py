"""A clinical folder cohort built from real EEGMAT recordings trains with flags only, and a plain folder of them
is predicted by evaluate.py: a `category` label column, listed subjects without recordings, flat electrodes,
a metadata table beside the recordings."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from eeg_gnn.signal.headers import BYTES_PER_SAMPLE, read_edf_header

from .conftest import run_script

PATIENTS = ("Subject00", "Subject01", "Subject02")
CONTROLS = ("Subject03", "Subject04", "Subject05")
FLAT = {"Subject01": "EEG Cz", "Subject04": "EEG Fz"}


def flatten(path, label):
    """Set every sample of one signal of an EDF file to digital 0 (a disconnected electrode)."""
    header = read_edf_header(path)
    width = BYTES_PER_SAMPLE[header.kind]
    index = [name.strip() for name in header.labels].index(label)
    start = sum(header.samples_per_record[:index]) * width
    length = header.samples_per_record[index] * width
    data = bytearray(path.read_bytes())
    for record in range(header.records_read):
        offset = header.header_bytes + record * header.record_bytes + start
        data[offset:offset + length] = bytes(length)
    path.write_bytes(bytes(data))


@pytest.fixture
def clinic(eegmat_dir, tmp_path):
    """Six EEGMAT arithmetic recordings as a clinic's folder: copies (never next to the data), two flat nodes."""
    root = tmp_path / "clinic"
    root.mkdir()
    for subject in PATIENTS + CONTROLS:
        target = root / f"{subject}.edf"
        shutil.copyfile(eegmat_dir / f"{subject}_2.edf", target)
        if subject in FLAT:
            flatten(target, FLAT[subject])
    shutil.copyfile(eegmat_dir / "subject-info.csv", root / "subject-info.csv")
    rows = [f"{s},{'Patient' if s in PATIENTS else 'Control'},2{i}" for i, s in enumerate(PATIENTS + CONTROLS)]
    rows += ["Subject90,Patient,40", "Subject91,Control,41"]  # listed, never recorded
    (root / "participants.csv").write_text("Subject,category,age\n" + "\n".join(rows) + "\n")
    return root


def test_flattened_copy_reads_flat(clinic):
    from eeg_gnn.cli.main import info_recording

    text = info_recording(clinic / "Subject01.edf", "10-20", None)
    assert "EEG Cz (Cz)" in text and "FLAT: flat (peak to peak 0 µV)" in text
    assert "bad nodes: 1 (Cz); training on this recording needs --bad-channels interpolate" in text


@pytest.mark.slow
def test_clinic_folder_trains_with_flags_only_and_reports_what_it_did(clinic, eegmat_dir, tmp_path, capsys):
    common = ["--task", "schizophrenia", "--dataset", "folder", "--data-dir", str(clinic), "--out",
              str(tmp_path / "runs"), "--folds", "3", "--epochs", "2", "--n-boot", "20", "--baselines", "logreg",
              "--controls", "none", "--quiet"]
    code, _, err = run_script("train.py", common, capsys)
    assert code == 2 and "no label column" in err and "--label-column" in err
    code, _, err = run_script("train.py", common + ["--label-column", "category"], capsys)
    assert code == 2 and "2 subjects listed without a recording (line 8: Subject90; line 9: Subject91)" in err
    assert "--on-missing warn" in err
    code, _, err = run_script("train.py", common + ["--label-column", "category", "--on-missing", "warn"], capsys)
    assert code == 2 and "Cz flat" in err and "--bad-channels interpolate" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())

    code, out, err = run_script("train.py", common + ["--label-column", "category", "--on-missing", "warn",
                                                      "--bad-channels", "interpolate"], capsys)
    assert code == 0, err
    assert err.count("warning:") == 1 and "Subject90" in err and "Subject91" in err
    assert "2 recordings had bad nodes rebuilt by spherical-spline interpolation" in out
    assert "Subject01.edf: Cz flat" in out and "Subject04.edf: Fz flat" in out
    assert "skipped 2 subjects listed without a recording (--on-missing warn): Subject90, Subject91" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["config"]["data_dir"] == str(clinic)
    assert saved["data_quality"]["subjects_without_recordings"] == ["Subject90", "Subject91"]
    assert saved["data_quality"]["bad_channels"]["Subject04.edf"] == {"action": "interpolated",
                                                                       "channels": {"Fz": "flat (peak to peak 0 µV)"}}
    assert {r["id"] for r in saved["dataset"]["recordings"]} == {f"{s}.edf" for s in PATIENTS + CONTROLS}
    assert saved["dataset"]["classes"] == ["Control", "Patient"]

    code, out, err = run_script("train.py", common + ["--label-column", "category", "--on-missing", "warn",
                                                      "--bad-channels", "drop-recording", "--folds", "2",
                                                      "--baselines", "none"], capsys)
    assert code == 0, err
    assert "2 recordings were left out for bad nodes" in out
    dropped = max((tmp_path / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    results = json.loads((dropped / "results.json").read_text())
    assert results["n_recordings"] == 4
    code, out, err = run_script("evaluate.py", [str(dropped), "--permutations", "200", "--quiet"], capsys)
    assert code == 0, err  # the review reads the four recordings the run kept

    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("Subject06_2.edf", "Subject07_1.edf", "subject-info.csv"):
        (plain / name).symlink_to(eegmat_dir / name)
    code, out, err = run_script("evaluate.py", [str(run_dir), "--data-dir", str(plain), "--quiet"], capsys)
    assert code == 0, err
    (applied,) = (run_dir / "applied").iterdir()
    with (applied / "subjects.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert {r["subject"] for r in rows} == {"Subject06_2", "Subject07_1"}
