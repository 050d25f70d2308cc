"""The review of a patients-vs-controls folder cohort made from real EEGMAT recordings, with electrodes that were
rebuilt, recordings that were left out and electrodes that were only flagged: every sentence about them must be
what the run's ``config.json`` (``data_quality``) says."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import mne
import numpy as np
import pytest

from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import run_cv
from eeg_gnn.pipeline.runs import load_run
from eeg_gnn.review.build import (
    build_review,
    graph_correlation,
    initial_adjacencies,
    learned_adjacencies,
)
from eeg_gnn.signal.io import read_recording

SUBJECTS = [f"Subject{index:02d}" for index in range(8)]
CROP_S = 24.0
#: what is done to the recordings of the cohort: (subject, recording) -> (electrodes, factor)
INJECTED = {("Subject05", "1"): (("EEG Fz", "EEG Pz"), 0.01),  # near-dead: 1/100 of the others
            ("Subject06", "2"): (("EEG Fz", "EEG Pz"), 0.01),
            ("Subject01", "1"): (("EEG Cz",), 0.0)}  # flat
LOUD = ("Subject02", ("EEG T3",), 4.0)  # flagged after re-referencing, not bad before it


def _text(html: str) -> str:
    """The report's visible words, tags removed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html,
                                                                           flags=re.S))))


@pytest.fixture(scope="module")
def clinic(eegmat_dir, tmp_path_factory) -> Path:
    """Eight EEGMAT subjects as a folder cohort, four 'control' and four 'patient', two recordings each."""
    root = tmp_path_factory.mktemp("clinic")
    rows = ["participant_id\tgroup"]
    for index, subject in enumerate(SUBJECTS):
        rows.append(f"{subject}\t{'patient' if index >= 4 else 'control'}")
        for part in ("1", "2"):
            raw = read_recording(eegmat_dir / f"{subject}_{part}.edf").crop(0, CROP_S, include_tmax=False)
            raw.pick([name for name in raw.ch_names if name.startswith("EEG ") and name != "EEG A2-A1"])
            raw.resample(128, verbose="error")
            names, factor = INJECTED.get((subject, part), ((), 1.0))
            if subject == LOUD[0]:
                names, factor = LOUD[1], LOUD[2]
            if names:
                raw.apply_function(lambda x, factor=factor: x * factor, picks=list(names))
            mne.export.export_raw(root / f"{subject}_{part}.edf", raw, fmt="edf", verbose="error")
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    return root


def _train(clinic: Path, out: Path, policy: str) -> Path:
    config = TrainConfig(task="schizophrenia", dataset="folder", data_dir=str(clinic), out=str(out), epochs=2,
                         folds=2, n_boot=50, progress=False, hidden=8, bad_channels=policy,
                         bands={"theta": (4, 8), "alpha": (8, 13)}, controls=(), baselines=("logreg",), n_jobs=1)
    return run_cv(config).run_dir


@pytest.fixture(scope="module")
def interpolated_review(clinic, tmp_path_factory) -> tuple[Path, dict, str]:
    run_dir = _train(clinic, tmp_path_factory.mktemp("runs"), "interpolate")
    review = build_review(load_run(run_dir), permutations=2000, bootstrap=200, progress=False)
    saved = json.loads((run_dir / "config.json").read_text())
    return run_dir, saved["data_quality"], (review / "report.html").read_text()


def _subject_row(html: str, subject: str) -> str:
    """The visible text of the per-subject table's row of ``subject``."""
    table = html[html.index('id="subjects"'):html.index('id="quality"')]
    row = next(r for r in re.findall(r"<tr>.*?</tr>", table, flags=re.S) if f">{subject}<" in r)
    return _text(row)


@pytest.mark.slow
def test_review_names_every_rebuilt_electrode_of_config_json(interpolated_review):
    run_dir, quality, html = interpolated_review
    text = _text(html)
    bad = quality["bad_channels"]
    assert set(bad) == {"Subject05_1.edf", "Subject06_2.edf", "Subject01_1.edf"}
    assert "the pipeline does neither" not in text and "No electrode was interpolated" not in text
    summary = _text(html[html.index('id="verdict"'):html.index('<details class="section"')])
    assert "3 of 16 recordings had electrodes rebuilt from their neighbours" in summary
    for recording, entry in bad.items():
        assert entry["action"] == "interpolated"
        for channel, why in entry["channels"].items():
            assert re.search(rf"{re.escape(recording)}: [^;]*{channel} {re.escape(why.split(' (')[0])}", summary)
            assert f"{channel} ({recording})" in _subject_row(html, recording.split("_")[0])
    assert "Fz far below the recording's other electrodes" in summary
    assert "Subject02 T7" in summary  # 4 times the others: flagged after re-referencing, still used
    assert "none" in _subject_row(html, "Subject03") and "T7" in _subject_row(html, "Subject02")
    # 4 vs 4 subjects: 70 labellings, p >= 2/70, so no lone pair can reach q < 0.05 over 342 tests
    assert "Cannot be tested pair by pair with n = 4 and 4 subjects" in summary
    assert "smallest achievable p is 0.029" in summary and "in no band" not in text


@pytest.mark.slow
def test_review_of_a_run_that_left_recordings_out(clinic, tmp_path):
    run_dir = _train(clinic, tmp_path, "drop-recording")
    quality = json.loads((run_dir / "config.json").read_text())["data_quality"]["bad_channels"]
    assert {rid for rid, entry in quality.items() if entry["action"] == "dropped"} == {
        "Subject05_1.edf", "Subject06_2.edf", "Subject01_1.edf"}
    review = build_review(load_run(run_dir), permutations=500, bootstrap=100, progress=False)
    html = (review / "report.html").read_text()
    summary = _text(html[html.index('id="verdict"'):html.index('<details class="section"')])
    assert "3 of 16 recordings were left out for bad electrodes" in summary
    assert "Subject01_1.edf: Cz flat" in summary and "Policy: --bad-channels drop-recording" in summary
    assert "rebuilt" not in summary
    recordings = re.search(r"control 4 (\d+) ", summary)
    assert recordings and int(recordings.group(1)) == 7  # Subject01 kept one of its two recordings


@pytest.mark.slow
def test_review_shows_the_learned_graph_and_how_far_it_moved(clinic, tmp_path):
    config = TrainConfig(task="schizophrenia", dataset="folder", data_dir=str(clinic), out=str(tmp_path), epochs=2,
                         folds=2, n_boot=50, progress=False, hidden=8, bad_channels="interpolate", model="dgcnn",
                         bands={"theta": (4, 8), "alpha": (8, 13)}, controls=(), baselines=("logreg",), n_jobs=1)
    run = load_run(run_cv(config).run_dir)
    review = build_review(run, permutations=500, bootstrap=100, progress=False)
    learned = learned_adjacencies(run)
    initial = initial_adjacencies(run, learned)
    assert set(learned) == set(initial) == {0, 1}
    expected = graph_correlation(np.mean(list(learned.values()), axis=0), np.mean(list(initial.values()), axis=0))
    text = _text((review / "report.html").read_text())
    assert "The graph the model learned" in text
    assert f"correlates r = {expected:.2f} with the graph it started from" in text
    assert (review / "figures" / "learned_adjacency_map.png").is_file()
    assert (review / "figures" / "learned_adjacency_matrix.png").is_file()


def test_cohort_table_gives_age_and_sex_per_class_and_warns_when_classes_differ(tmp_path):
    from eeg_gnn.review.cohort import cohort_table, group_warnings, participant_traits

    table = tmp_path / "participants.tsv"
    table.write_text("participant_id\tgroup\tAge\tSex\n" + "".join(
        f"s{k}\t{'patient' if k >= 3 else 'control'}\t{age}\t{sex}\n"
        for k, (age, sex) in enumerate([(30, "F"), (32, "M"), (34, "F"), (60, "M"), (64, "M"), (62, "female")])))
    traits = participant_traits({"participants": str(table), "columns": {"subject": "participant_id"}})
    assert traits["s0"] == {"age": 30.0, "sex": "F"} and traits["s5"]["sex"] == "F"
    subjects = {0: ["s0", "s1", "s2"], 1: ["s3", "s4", "s5"]}
    rates = {0: [256.0, 256.0, 256.0], 1: [500.0, 500.0, 500.0]}
    block = cohort_table(["control", "patient"], subjects, {0: 3, 1: 3}, {0: 30, 1: 31}, rates, traits)
    assert [c["label"] for c in block["columns"]][-3:] == ["Age, mean ± SD (range)", "Sex", "Sampling rate"]
    assert block["rows"][0][-3:] == ["32.0 ± 2.0 (30–34)", "2 F / 1 M", "256 Hz"]
    assert block["rows"][1][-3:] == ["62.0 ± 2.0 (60–64)", "1 F / 2 M", "500 Hz"]
    warnings = " ".join(group_warnings(["control", "patient"], subjects, rates, traits))
    assert "different sampling rates (control: 256 Hz; patient: 500 Hz)" in warnings
    assert "differ in age (mean control 32.0, patient 62.0 years)" in warnings
    assert "differ in sex (women: control 67 %, patient 33 %)" in warnings
    same = group_warnings(["control", "patient"], {0: ["s0"], 1: ["s2"]}, {0: [256.0], 1: [256.0]}, traits)
    assert same == []
    assert participant_traits({"participants": str(tmp_path / "none.tsv"), "columns": {"subject": "x"}}) == {}
