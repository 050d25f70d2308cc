"""The confound report: recording properties and demographics that differ between the classes, on a generated
cohort whose patients were mostly recorded at 100 Hz and are older (tests/messy.py)."""

from __future__ import annotations

import json

import mne
import numpy as np
import pytest

from eeg_gnn.data.confounds import (
    confound_caveat,
    confound_report,
    describe_confounds,
    recording_properties,
)
from eeg_gnn.data.datasets import Dataset, Recording

from . import messy
from .conftest import run_script


def test_recording_properties_of_a_known_signal():
    rng = np.random.default_rng(0)
    raw = mne.io.RawArray(rng.normal(0, 20e-6, (3, 2560)), mne.create_info(["Cz", "Pz", "ECG"], 128.0,
                                                                           ["eeg", "eeg", "ecg"]), verbose="error")
    properties = recording_properties(raw)
    assert properties["sfreq"] == 128.0 and properties["duration_s"] == 20.0
    assert properties["channels"] == "Cz,Pz,ECG"
    assert properties["amplitude_uv"] == pytest.approx(20.0, rel=0.05)  # the EEG channels' robust SD


def _dataset(labels, subjects=None):
    recordings = [Recording(f"r{i}.edf", (subjects or [f"s{i}" for i in range(len(labels))])[i], label, f"r{i}.edf")
                  for i, label in enumerate(labels)]
    return Dataset("eegmat", ".", {"task": "custom", "classes": ["control", "patient"]}, recordings)


def test_a_sampling_rate_that_follows_the_class_is_reported_and_one_that_does_not_is_not():
    labels = ["patient"] * 12 + ["control"] * 15
    confounded = [{"sfreq": 100.0 if i < 11 or i in (12, 13) else 250.0, "duration_s": 60.0, "channels": "a,b",
                   "amplitude_uv": 10.0 + i % 3} for i in range(27)]
    report = confound_report(_dataset(labels), confounded)
    assert report["sfreq"]["differs"] and report["sfreq"]["p_value"] < 0.001
    assert report["sfreq"]["by_class"] == {"control": {"100": 2, "250": 13}, "patient": {"100": 11, "250": 1}}
    assert not report["amplitude_uv"]["differs"]
    assert "duration_s" not in report and "channels" not in report  # the same everywhere
    lines = describe_confounds(report)
    assert lines[0].startswith("warning: 1 property differs between the classes") and "sampling rate" in lines[0]
    assert "control: 100 ×2, 250 ×13; patient: 100 ×11, 250 ×1 (chi-squared p = " in lines[1]
    assert "sampling rate (Hz)" in confound_caveat(report)
    balanced = [{**p, "sfreq": 100.0 if i % 2 else 250.0} for i, p in enumerate(confounded)]
    report = confound_report(_dataset(labels), balanced)
    assert not report["sfreq"]["differs"] and describe_confounds(report) == [] and confound_caveat(report) is None


def test_generated_cohort_reports_sampling_rate_and_age(tmp_path, capsys):
    root = messy.build(tmp_path / "cohort")
    args = ["--task", "schizophrenia", "--dataset", "folder", "--data-dir", str(root), "--label-column", "category",
            "--on-missing", "warn", "--bad-channels", "interpolate-or-drop", "--clipping", "window", "--out",
            str(tmp_path / "runs"), "--folds", "2", "--epochs", "1", "--n-boot", "10", "--baselines", "none",
            "--controls", "none", "--quiet", "--n-jobs", "1"]
    code, out, err = run_script("train.py", args, capsys)
    assert code == 0, err
    assert "warning: 3 properties differ between the classes" in out
    assert "  sampling rate (Hz) per recording: Control: 100 ×2, 128 ×9; Patient: 100 ×9, 128 ×2" in out
    assert "  age per subject: Control median 31.5 (range 30-34, n=6); Patient median 49.5" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    confounds = json.loads((run_dir / "config.json").read_text())["confounds"]
    assert confounds["sfreq"]["differs"] and confounds["age"]["differs"] and confounds["age"]["unit"] == "subject"
    assert "category" not in confounds and "subject" not in confounds


@pytest.mark.slow
def test_the_review_names_the_confounds_among_its_caveats(tmp_path, capsys):
    root = messy.build(tmp_path / "cohort")
    args = ["--task", "schizophrenia", "--dataset", "folder", "--data-dir", str(root), "--label-column", "category",
            "--on-missing", "warn", "--bad-channels", "interpolate-or-drop", "--clipping", "window", "--out",
            str(tmp_path / "runs"), "--folds", "2", "--epochs", "1", "--n-boot", "10", "--baselines", "none",
            "--controls", "none", "--quiet"]
    code, _, err = run_script("train.py", args, capsys)
    assert code == 0, err
    (run_dir,) = (tmp_path / "runs").iterdir()
    code, _, err = run_script("evaluate.py", [str(run_dir), "--permutations", "100", "--quiet"], capsys)
    assert code == 0, err
    html = (run_dir / "review" / "report.html").read_text()
    assert "The classes differ in sampling rate (Hz), amplitude scale (µV, robust SD), age" in html
