"""SzCORE seizure scores: window merging, the events.tsv format, and timescoring's event and sample scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eeg_gnn.evaluation.scoring import Predictions
from eeg_gnn.evaluation.szcore import (
    SZCORE_COLUMNS,
    TOLERANCE_START_S,
    Reference,
    read_events_tsv,
    score_models,
    score_patients,
    score_recording,
    window_events,
    write_events_tsv,
)
from eeg_gnn.evaluation.tidy import read_scores
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import run_cv

pytest.importorskip("timescoring")

HOUR = 3600.0
REFERENCE = [(600.0, 660.0), (2000.0, 2090.0)]


def test_predicted_events_equal_to_the_reference_give_f1_one():
    counts = score_recording(REFERENCE, REFERENCE, HOUR)
    for level in ("event", "sample"):
        scores = counts[level].scores()
        assert scores == {"sensitivity": 1.0, "precision": 1.0, "f1": 1.0, "fp_per_24h": 0.0}


def test_a_ten_second_shift_within_the_tolerance_keeps_event_f1_and_costs_samples():
    assert TOLERANCE_START_S >= 10
    shifted = [(start + 10, end + 10) for start, end in REFERENCE]
    counts = score_recording(REFERENCE, shifted, HOUR)
    assert counts["event"].scores()["f1"] == 1.0
    assert counts["event"].scores()["fp_per_24h"] == 0.0
    # 10 s of each seizure missed and 10 s after it flagged: 130 of 150 reference seconds found
    assert counts["sample"].scores()["sensitivity"] == pytest.approx(130 / 150)


def test_an_event_outside_the_reference_loses_it():
    moved = [REFERENCE[0], (3000.0, 3090.0)]
    scores = score_recording(REFERENCE, moved, HOUR)["event"].scores()
    assert scores["sensitivity"] == 0.5 and scores["precision"] == 0.5 and scores["f1"] == 0.5
    assert scores["fp_per_24h"] == pytest.approx(24.0)  # one false event in one hour


def test_no_prediction_finds_nothing_and_precision_is_undefined():
    scores = score_recording(REFERENCE, [], HOUR)["event"].scores()
    assert scores["sensitivity"] == 0.0 and scores["f1"] == 0.0 and np.isnan(scores["precision"])


def test_windows_merge_into_events_across_short_gaps_and_short_events_are_dropped():
    onsets = np.arange(0, 100, 2.0)  # 4-s windows every 2 s
    flagged = np.zeros(onsets.size, bool)
    flagged[(onsets >= 20) & (onsets <= 30)] = True  # 20-34 s
    flagged[(onsets >= 40) & (onsets <= 44)] = True  # 40-48 s: 6 s after the first, merged
    flagged[onsets == 90] = True  # 90-94 s: alone
    assert window_events(onsets, flagged, 4.0, merge_gap_s=10, min_event_s=4) == [(20.0, 48.0), (90.0, 94.0)]
    assert window_events(onsets, flagged, 4.0, merge_gap_s=0, min_event_s=5) == [(20.0, 34.0), (40.0, 48.0)]
    with pytest.raises(ValueError, match="same shape"):
        window_events(onsets, flagged[:-1], 4.0)


def test_events_tsv_is_szcore_format_and_reads_back(tmp_path):
    path = write_events_tsv(tmp_path / "sub-01_events.tsv", REFERENCE, HOUR)
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == list(SZCORE_COLUMNS)
    assert lines[1].split("\t")[:3] == ["600.00", "60.00", "sz"] and lines[1].split("\t")[-1] == "3600.00"
    assert read_events_tsv(path) == (REFERENCE, HOUR)
    empty = write_events_tsv(tmp_path / "none_events.tsv", [], HOUR)
    assert empty.read_text().splitlines()[1].split("\t")[:3] == ["0.00", "3600.00", "bckg"]
    assert read_events_tsv(empty) == ([], HOUR)
    (tmp_path / "bad.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="not an SzCORE events.tsv"):
        read_events_tsv(tmp_path / "bad.tsv")


def test_patients_are_summed_over_recordings_then_averaged_with_an_interval():
    perfect = score_recording(REFERENCE, REFERENCE, HOUR)
    half = score_recording(REFERENCE, [REFERENCE[0]], HOUR)
    report = score_patients({"p1": [perfect, perfect], "p2": [half]}, n_boot=200)
    event = report["event"]
    assert event["per_patient"]["p1"]["sensitivity"] == 1.0 and event["per_patient"]["p2"]["sensitivity"] == 0.5
    assert event["sensitivity"] == pytest.approx(0.75)
    low, high = event["ci95"]["sensitivity"]
    assert 0.5 <= low <= 0.75 <= high <= 1.0
    assert score_patients({"p1": [perfect]})["event"]["ci95"]["f1"] is None


def test_score_models_writes_predicted_and_reference_events_per_recording(tmp_path):
    onsets = np.arange(0, 600, 4.0)
    ictal = (onsets >= 300) & (onsets < 360)
    labels = ictal.astype(int)
    proba = np.column_stack([1 - labels, labels]).astype(float)
    predictions = Predictions(labels=labels, subjects=np.full(onsets.size, "p1"),
                              recordings=np.full(onsets.size, "p1/r1.edf"), groups=np.full(onsets.size, "p1"),
                              window_index=np.arange(onsets.size), onsets=onsets, folds=np.zeros(onsets.size, int),
                              proba={"perfect": proba, "never": np.column_stack([np.ones(onsets.size),
                                                                                 np.zeros(onsets.size)])},
                              classes=["non-ictal", "ictal"])
    result = score_models(predictions, {"p1/r1.edf": Reference("p1", [(300.0, 360.0)], 600.0)}, 4.0,
                          folder=tmp_path, n_boot=10)
    assert result["models"]["perfect"]["event"]["f1"] == 1.0
    assert result["models"]["never"]["event"]["sensitivity"] == 0.0
    assert read_events_tsv(tmp_path / "perfect" / "p1_r1_events.tsv") == ([(300.0, 360.0)], 600.0)
    assert read_events_tsv(tmp_path / "reference" / "p1_r1_events.tsv") == ([(300.0, 360.0)], 600.0)
    assert read_events_tsv(tmp_path / "never" / "p1_r1_events.tsv") == ([], 600.0)


@pytest.mark.slow
def test_a_real_seizure_run_reports_szcore_scores_beside_window_metrics(umich_dir, tmp_path):
    config = TrainConfig(task="seizure", dataset="umich_seizure", data_dir=str(umich_dir), out=str(tmp_path),
                         epochs=2, patience=2, n_boot=20, progress=False, folds=3, controls=(),
                         baselines=("logreg",))
    result = run_cv(config)
    saved = json.loads((result.run_dir / "results.json").read_text())
    szcore = saved["szcore"]
    assert szcore["settings"]["tolerance_start_s"] == TOLERANCE_START_S
    for name in ("graph", "logreg"):
        for level in ("event", "sample"):
            assert set(szcore["models"][name][level]["per_patient"]) == {"umich01"}
            assert 0 <= szcore["models"][name][level]["sensitivity"] <= 1
    assert read_events_tsv(result.run_dir / "szcore" / "reference" / "umich01_events.tsv")[0] == [(370.0, 450.0)]
    assert "SzCORE" in result.summary() and "event F1" in result.summary()
    rows = read_scores(result.run_dir / "scores.csv")
    assert {(r["level"], r["metric"]) for r in rows if r["pipeline"] == "logreg"} >= {
        ("window", "balanced_accuracy"), ("event", "f1"), ("event", "fp_per_24h"), ("sample", "sensitivity")}
