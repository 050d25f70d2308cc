"""Bad-channel policies that compose: rebuild where possible, leave out the rest naming each, and judge clipping
per window, on a generated cohort shaped like a real clinical one (tests/messy.py) and on real EEGMAT recordings
with rails and dead electrodes injected."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from eeg_gnn.signal.preprocessing import Preprocessing, preprocess, windows_at_rail
from eeg_gnn.signal.quality import BadChannelsError, check_channels, rail_mask

from . import messy
from .conftest import run_script


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    return messy.build(tmp_path_factory.mktemp("messy") / "cohort")


def test_rail_mask_marks_held_extremes_or_a_given_rail():
    data = np.array([[0.0, 3, 3, 3, 1, -3, 2, 3], [0.0, 1, 5, 1, 1, 1, 1, 1]]) * 1e-6
    assert rail_mask(data).astype(int).tolist() == [[0, 1, 1, 1, 0, 0, 0, 0], [0] * 8]
    assert rail_mask(data, rail_uv=3).astype(int).tolist() == [[0, 1, 1, 1, 0, 1, 0, 1], [0, 0, 1, 0, 0, 0, 0, 0]]
    checks = check_channels(data, ["Cz", "Pz"], saturated_fraction=0.3)
    assert [c.problem for c in checks] == ["saturated", None]
    assert [c.problem for c in check_channels(data, ["Cz", "Pz"], saturated_fraction=None)] == [None, None]


def test_windows_at_rail_maps_samples_to_windows():
    clipped = np.zeros((2, 100), bool)
    clipped[1, 45] = True  # sfreq 10: 4.5 s
    at = windows_at_rail(clipped, 10.0, np.array([0.0, 2.0, 4.0, 6.0]), 2.0)
    assert at.tolist() == [[False, False], [False, False], [False, True], [False, False]]


def test_clipping_per_window_keeps_the_clean_windows(clinic):
    from eeg_gnn.signal.io import read_recording

    raw = read_recording(clinic / "C05_a.edf")
    with pytest.raises(BadChannelsError, match="Fp1 saturated"):
        preprocess(raw.copy(), Preprocessing())
    windows = preprocess(raw, Preprocessing(clipping="window", rail_uv=messy.RAIL_UV))
    assert windows.n_windows == 6 and windows.n_clipped == 6 == windows.n_rejected
    assert windows.clipped_nodes == {"Fp1": 6} and windows.bad_channels == {}


def test_interpolate_or_drop_rebuilds_or_leaves_out(clinic):
    from eeg_gnn.signal.io import read_recording

    config = Preprocessing(bad_channels="interpolate-or-drop", clipping="window")
    rebuilt = preprocess(read_recording(clinic / "C01_b.edf"), config)
    assert set(rebuilt.bad_channels) == {"P3", "P4", "F8"} and rebuilt.n_windows == 6
    with pytest.raises(BadChannelsError, match=r"P03_b\.edf left out \(--bad-channels interpolate-or-drop\): 12 "
                                               r"of 19 nodes are bad, more than --max-bad-fraction 0\.5"):
        preprocess(read_recording(clinic / "P03_b.edf"), config)
    with pytest.raises(BadChannelsError, match="too many to interpolate .*--max-bad-fraction 0.5.*interpolate-or-drop"):
        preprocess(read_recording(clinic / "P03_b.edf"), Preprocessing(bad_channels="interpolate"))
    kept = preprocess(read_recording(clinic / "P03_b.edf"), Preprocessing(bad_channels="interpolate-or-drop",
                                                                           clipping="window", max_bad_fraction=0.7))
    assert len(kept.bad_channels) == 12


def test_messy_cohort_trains_with_flags_only_and_lists_what_it_left_out(clinic, tmp_path, capsys):
    common = ["--task", "schizophrenia", "--dataset", "folder", "--data-dir", str(clinic), "--label-column",
              "category", "--on-missing", "warn", "--out", str(tmp_path / "runs"), "--folds", "2", "--epochs", "2",
              "--n-boot", "20", "--baselines", "logreg", "--controls", "none", "--quiet", "--n-jobs", "1"]
    code, _, err = run_script("train.py", common + ["--bad-channels", "interpolate"], capsys)
    assert code == 2 and "too many to interpolate" in err and "interpolate-or-drop" in err
    code, _, err = run_script("train.py", common + ["--bad-channels", "drop-recording"], capsys)
    assert code == 2 and "Every recording" in err and "--clipping" in err

    code, out, err = run_script("train.py", common + ["--bad-channels", "interpolate-or-drop", "--clipping", "window",
                                                      "--rail-uv", "325"], capsys)
    assert code == 0, err
    assert "P07" in err and "C07" in err
    assert "5 recordings had bad nodes rebuilt by spherical-spline interpolation" in out
    # O2 pinned at its rail in every sample carries no signal: found dead before referencing, and rebuilt
    assert "  C04_a.edf: O2 far below the recording's other electrodes (0 times their median amplitude" in out
    for line in ("  P01_a.edf: Cz flat", "  C03_a.edf: Pz flat", "  C01_b.edf: F8 flat"):
        assert line in out
    assert "P02_a.edf: T7 implausibly small" in out
    assert "2 recordings were left out for bad nodes or for having no clean window" in out
    assert "  P03_b.edf: " in out and "  C02_a.edf: " in out
    assert "22 recordings had windows rejected with a node at its rail" in out
    assert "  P05_a.edf: 6 windows (Fp1 6)" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    saved = json.loads((run_dir / "config.json").read_text())
    quality = saved["data_quality"]
    assert {rid for rid, entry in quality["bad_channels"].items() if entry["action"] == "dropped"} == {
        "P03_b.edf", "C02_a.edf"}
    assert len(quality["clipped_windows"]) == 22
    assert saved["config"]["clipping"] == "window" and saved["config"]["rail_uv"] == 325.0
    results = json.loads((run_dir / "results.json").read_text())
    assert results["n_recordings"] == 22 and results["n_subjects"] == 12
    assert results["n_windows"] == 22 * 6  # half of every kept recording's 12 windows


def overwrite(path, label, records, value=None):
    """Set the samples of signal ``label`` in data records ``records`` of an EDF file to the digital value ``value``
    (None: its digital maximum, the rail); ``value=0`` over every record is a dead electrode."""
    from eeg_gnn.signal.headers import BYTES_PER_SAMPLE, read_edf_header

    header = read_edf_header(path)
    width = BYTES_PER_SAMPLE[header.kind]
    index = [name.strip() for name in header.labels].index(label)
    digital = int(header.digital_max[index] if value is None else value)
    start = sum(header.samples_per_record[:index]) * width
    block = digital.to_bytes(width, "little", signed=True) * header.samples_per_record[index]
    data = bytearray(path.read_bytes())
    for record in records:
        offset = header.header_bytes + record * header.record_bytes + start
        data[offset:offset + len(block)] = block
    path.write_bytes(bytes(data))


@pytest.mark.slow
def test_real_recordings_with_rails_and_dead_electrodes_train(eegmat_dir, tmp_path, capsys, untouched):
    """Ten EEGMAT arithmetic recordings copied into tmp_path (never next to the data): Fp1 held at its rail for 10 s
    in every one, two dead electrodes in one, twelve in another."""
    untouched(eegmat_dir)
    root = tmp_path / "clinic"
    root.mkdir()
    subjects = [f"Subject{i:02d}" for i in range(10)]
    dead = ("EEG F3", "EEG F4", "EEG F7", "EEG F8", "EEG T3", "EEG T4", "EEG C3", "EEG C4", "EEG T5", "EEG T6",
            "EEG P3", "EEG P4")
    for i, subject in enumerate(subjects):
        target = root / f"{subject}.edf"
        shutil.copyfile(eegmat_dir / f"{subject}_2.edf", target)
        overwrite(target, "EEG Fp1", range(20, 30))  # seconds 20-30: windows 5, 6 and 7 of 4 s
        for label in dead[:2] if i == 1 else dead if i == 4 else ():
            overwrite(target, label, range(62), value=0)
    rows = [f"{s},{'Patient' if i % 2 else 'Control'}" for i, s in enumerate(subjects)]
    (root / "participants.csv").write_text("subject,category\n" + "\n".join(rows) + "\n")
    common = ["--task", "schizophrenia", "--dataset", "folder", "--data-dir", str(root), "--label-column", "category",
              "--out", str(tmp_path / "runs"), "--folds", "2", "--epochs", "2", "--n-boot", "20", "--baselines",
              "none", "--controls", "none", "--quiet"]
    code, _, err = run_script("train.py", common, capsys)
    assert code == 2 and "Fp1 saturated" in err
    code, out, err = run_script("train.py", common + ["--bad-channels", "interpolate-or-drop", "--clipping", "window"],
                                capsys)
    assert code == 0, err
    assert "1 recordings had bad nodes rebuilt" in out and "  Subject01.edf: F3 flat (peak to peak 0 µV); F4 flat" in out
    assert "1 recordings were left out" in out and "  Subject04.edf: F7 flat (peak to peak 0 µV); F3 flat" in out
    assert "9 recordings had windows rejected with a node at its rail" in out
    assert "  Subject00.edf: 3 windows (Fp1 3)" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["n_recordings"] == 9 and results["n_windows"] == 9 * (15 - 3)


def test_clipping_per_window_rejects_the_clipped_epochs():
    import mne

    rng = np.random.default_rng(1)
    data = rng.normal(0, 20e-6, (6, len(messy.NODES), 256))
    data[2, messy.NODES.index("O1"), 100:140] = 325e-6  # epoch 2: O1 held at the rail
    epochs = mne.EpochsArray(data, mne.create_info(messy.NODES, 128.0, "eeg"), verbose="error")
    with pytest.raises(BadChannelsError, match="O1 saturated"):
        preprocess(epochs, Preprocessing(saturated_fraction=0.01))
    windows = preprocess(epochs, Preprocessing(clipping="window", reference="as-recorded"))
    assert windows.n_windows == 5 and windows.n_clipped == 1 and windows.clipped_nodes == {"O1": 1}
    assert (windows.onsets * 128).tolist() == [0, 1, 3, 4, 5]  # EpochsArray puts epoch i at sample i
