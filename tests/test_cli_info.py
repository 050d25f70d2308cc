"""Tests for ``python -m eeg_gnn info``: recordings and datasets described, user errors as one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from eeg_gnn.cli.main import main

PROG_ERROR = "eeg-gnn: error: "
# what `info` says about each file of formats/: the number of 10-20 nodes, or the start of a one-line error
FORMATS_EXPECTED = {
    "MB0400FU.EDF": 19,
    "test_raw_chanloc.set": 19,
    "test_bdf_stim_channel.bdf": 3,
    "test_NO.vhdr": 0,
    "test_reduced.edf": 0,
    "test_NO.eeg": "whose header is",
    "test_NO.vmrk": "test_NO.vhdr; read that",
    "test_raw_chanloc.fdt": "test_raw_chanloc.set; read that",
    "DATA.md": "Unknown recording format '.md'",
}


def run_main(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def node_lines(out):
    """{node: original channel name} from the ``  T7    <- EEG T3`` lines."""
    return dict(re.findall(r"^  (\S+)\s+<- (.+)$", out, flags=re.MULTILINE))


def test_info_eegmat_recording(capsys, eegmat_dir, untouched):
    untouched(eegmat_dir)
    status, out, err = run_main(capsys, "info", eegmat_dir / "Subject00_1.edf")
    assert status == 0, err
    assert err == ""
    assert "sfreq:     500 Hz" in out
    assert "channels:  21" in out
    assert "nodes:     19 of the 19 in '10-20'" in out
    nodes = node_lines(out)
    assert list(nodes) == ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3",
                           "Pz", "P4", "P8", "O1", "O2"]
    assert nodes["T7"] == "EEG T3"
    assert nodes["T8"] == "EEG T4"
    assert nodes["P7"] == "EEG T5"
    assert nodes["P8"] == "EEG T6"
    assert "dropped:   2" in out
    assert re.search(r"'EEG A2-A1': ear/mastoid reference", out)
    assert re.search(r"'ECG ECG': ECG channel", out)
    assert "missing:" not in out


def _check_dataset_summary(out):
    assert re.search(r"^subjects:\s+24$", out, flags=re.MULTILINE)
    assert re.search(r"^recordings:\s+48$", out, flags=re.MULTILINE)
    assert re.search(r"^classes:\s+2 \(rest, arithmetic", out, flags=re.MULTILINE)
    assert re.search(r"rest\s+24 subjects,\s+24 recordings", out)
    assert "ODC-By" in out


def test_info_dataset_with_data_dir(capsys, eegmat_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("EEG_GNN_DATA", str(tmp_path))  # must not be used
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(capsys, "info", "eegmat", "--data-dir", eegmat_dir)
    assert status == 0, err
    _check_dataset_summary(out)
    assert f"folder:      {eegmat_dir}" in out


def test_info_dataset_from_environment(capsys, data_root, monkeypatch, tmp_path):
    monkeypatch.setenv("EEG_GNN_DATA", str(data_root))
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(capsys, "info", "eegmat")
    assert status == 0, err
    _check_dataset_summary(out)
    assert f"folder:      {data_root / 'eegmat'}" in out


def test_info_umich_dataset_shows_intervals(capsys, umich_dir):
    status, out, err = run_main(capsys, "info", "umich_seizure", "--data-dir", umich_dir)
    assert status == 0, err
    assert re.search(r"^recordings:\s+1$", out, flags=re.MULTILINE)
    assert re.search(r"preictal .*\(0-340 s\)", out)
    assert re.search(r"ictal .*\(370-450 s\)", out)


def test_every_formats_file_is_covered(formats_dir):
    assert sorted(p.name for p in formats_dir.iterdir()) == sorted(FORMATS_EXPECTED)


@pytest.mark.parametrize("name", sorted(FORMATS_EXPECTED))
def test_info_on_formats_files(capsys, formats_dir, untouched, name):
    untouched(formats_dir)
    expected = FORMATS_EXPECTED[name]
    status, out, err = run_main(capsys, "info", formats_dir / name)
    if isinstance(expected, int):
        assert status == 0, err
        assert err == ""
        assert f"nodes:     {expected} of the 19 in '10-20'" in out
        assert len(node_lines(out)) == expected
        if expected < 19:
            assert "missing:" in out and "note:" in out
    else:
        assert status == 2
        assert out == ""
        assert err.startswith(PROG_ERROR)
        assert err.count("\n") == 1, err
        assert expected in err
        assert str(formats_dir / name) in err


def test_info_cap_grid_file(capsys, formats_dir):
    status, out, _ = run_main(capsys, "info", formats_dir / "test_reduced.edf")
    assert status == 0
    assert "nodes:     0 of the 19" in out
    assert "cap-grid name" in out
    assert re.search(r"'A1', 'A2', .* and \d+ more: cap-grid name", out)
    assert "'Status': stimulus/status channel" in out


def test_info_vhdr_points_from_eeg(capsys, formats_dir):
    _, _, err = run_main(capsys, "info", formats_dir / "test_NO.eeg")
    assert str(formats_dir / "test_NO.vhdr") in err


def test_info_csv_needs_sfreq(capsys, tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text("Fp1,Cz,O2\n1,2,3\n4,5,6\n7,8,9\n")
    status, _, err = run_main(capsys, "info", path)
    assert status == 2
    assert "--sfreq" in err
    status, out, err = run_main(capsys, "info", path, "--sfreq", "100")
    assert status == 0, err
    assert "nodes:     3 of the 19" in out


def test_info_folder_cohort(capsys, tmp_path):
    (tmp_path / "sub-01.csv").write_text("Fp1\n1\n")
    (tmp_path / "participants.tsv").write_text("participant_id\tgroup\nsub-01\tcontrol\n")
    status, out, err = run_main(capsys, "info", tmp_path)
    assert status == 0, err
    assert "dataset:     folder" in out
    assert re.search(r"^subjects:\s+1$", out, flags=re.MULTILINE)


def test_info_missing_file(capsys, tmp_path):
    missing = tmp_path / "nothing.edf"
    status, out, err = run_main(capsys, "info", missing)
    assert status == 2
    assert out == ""
    assert err.startswith(PROG_ERROR)
    assert str(missing) in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_info_unknown_node_set(capsys, formats_dir):
    status, _, err = run_main(capsys, "info", formats_dir / "MB0400FU.EDF", "--nodes", "10-5")
    assert status == 2
    assert "'10-20'" in err and "'10-5'" in err


def test_datasets_command(capsys):
    status, out, _ = run_main(capsys, "datasets")
    assert status == 0
    for name in ("eegmat", "msu", "repod", "umich_seizure", "folder"):
        assert re.search(rf"^{name}\s", out, flags=re.MULTILINE)


def test_info_missing_dataset_says_how_to_fetch(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("EEG_GNN_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(capsys, "info", "msu")
    assert status == 2
    assert out == ""
    assert err.startswith(PROG_ERROR) and err.count("\n") == 1
    assert "python -m eeg_gnn fetch msu" in err
    assert str(tmp_path / "msu") in err


def test_info_umich_folder_as_recording(capsys, umich_dir):
    status, out, err = run_main(capsys, "info", umich_dir)
    assert status == 0, err
    assert "format:    University of Michigan" in out
    assert "nodes:     19 of the 19" in out
    assert node_lines(out)["T7"] == "T3"
    assert "'SP1', 'SP2': sphenoidal/nasopharyngeal" in out


def test_real_subprocess(eegmat_dir, data_root, tmp_path, snapshot):
    before = snapshot(eegmat_dir)
    env = {**os.environ, "EEG_GNN_DATA": str(data_root)}
    ok = subprocess.run([sys.executable, "-m", "eeg_gnn", "info", str(eegmat_dir / "Subject00_1.edf")],
                        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "T7    <- EEG T3" in ok.stdout
    assert "nodes:     19 of the 19" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "eeg_gnn", "info", str(tmp_path / "missing.edf")],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith(PROG_ERROR)
    assert "Traceback" not in bad.stderr
    assert list(tmp_path.iterdir()) == []
    assert snapshot(eegmat_dir) == before


def test_info_folder_lists_what_training_would_leave_out(capsys, tmp_path):
    import mne
    import numpy as np

    info = mne.create_info(["Fp1", "Fp2", "Cz"], 128.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (3, 256)), info, verbose="error")
    for name in ("P01_eeg.fif", "stray_eeg.fif"):
        raw.save(tmp_path / name, verbose="error")
    (tmp_path / "participants.csv").write_text("Subject,category\nP01,Patient\nC01,Control\n")
    status, _, err = run_main(capsys, "info", tmp_path)
    assert status == 2 and "--label-column COLUMN (e.g. --label-column category)" in err
    status, out, _ = run_main(capsys, "info", tmp_path, "--label-column", "category")
    assert status == 0
    assert "not in the participants table: stray_eeg.fif" in out and "listed without a recording: C01" in out
    assert "--on-missing warn" in out


def test_info_names_a_wrong_unit_and_the_scale_that_fixes_it(capsys, tmp_path):
    import mne
    import numpy as np

    from eeg_gnn.signal.montage import node_sets

    names = node_sets()["10-20"]
    volts = np.random.default_rng(0).normal(0, 20e-12, (len(names), 1280))  # µV numbers stored as volts, x1e-6
    mne.io.RawArray(volts, mne.create_info(names, 128.0, "eeg"), verbose="error").save(
        tmp_path / "volts_eeg.fif", verbose="error")
    status, out, _ = run_main(capsys, "info", tmp_path / "volts_eeg.fif")
    assert status == 0 and "IMPLAUSIBLE: implausibly small" in out
    assert "likely samples stored in volts under a microvolt label. Pass --scale 1e6" in out
    assert "bad nodes" not in out
    status, out, _ = run_main(capsys, "info", tmp_path / "volts_eeg.fif", "--scale", "1e6")
    assert status == 0 and "IMPLAUSIBLE" not in out and "unit:" not in out


def test_info_on_a_recording_with_every_node_bad_does_not_suggest_interpolating(tmp_path, capsys):
    import mne
    import numpy as np

    from eeg_gnn.signal.montage import node_sets

    names = node_sets()["10-20"]
    data = np.zeros((len(names), 1280))
    data[0] = np.random.default_rng(0).normal(0, 2e-5, 1280)
    mne.io.RawArray(data, mne.create_info(names, 128.0, "eeg"), verbose="error").save(tmp_path / "dead_eeg.fif",
                                                                                       verbose="error")
    status, out, _ = run_main(capsys, "info", tmp_path / "dead_eeg.fif")
    assert status == 0
    assert "bad nodes: 18 of 19" in out and "too many to rebuild" in out and "needs --bad-channels interpolate" not in out


def test_info_on_a_plain_folder_says_how_to_use_it_with_data_dir(tmp_path, capsys, eegmat_dir):
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("Subject00_1.edf", "Subject00_2.edf", "subject-info.csv"):
        (plain / name).symlink_to(eegmat_dir / name)
    status, out, _ = run_main(capsys, "info", plain)
    assert status == 0 and "recordings:  2 (Subject00_1.edf, Subject00_2.edf)" in out
    assert f"`eeg-gnn train --dataset eegmat --data-dir {plain}`" in out
    assert f"`eeg-gnn evaluate RUN_DIR --data-dir {plain}`" in out
    (plain / "Subject00_2.edf").rename(plain / "visit2.edf")
    status, out, _ = run_main(capsys, "info", plain)
    assert status == 0 and f"--dataset folder --data-dir {plain}" in out and "participants.tsv" in out
