"""A run applied to labelled recordings of new subjects is scored as training scores: real EEGMAT, trained on
twelve subjects, applied to the twelve others in the folder as PhysioNet ships it (with ``subject-info.csv``)."""

from __future__ import annotations

import csv
import json

import pytest

from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import run_cv

from .conftest import run_script


def _linked(eegmat_dir, folder, subjects):
    folder.mkdir()
    for subject in subjects:
        for suffix in ("_1", "_2"):
            (folder / f"{subject}{suffix}.edf").symlink_to(eegmat_dir / f"{subject}{suffix}.edf")
    (folder / "subject-info.csv").symlink_to(eegmat_dir / "subject-info.csv")
    return folder


@pytest.mark.slow
def test_eegmat_run_scores_held_out_subjects_for_every_model(eegmat_dir, tmp_path, capsys, untouched):
    untouched(eegmat_dir)
    trained = _linked(eegmat_dir, tmp_path / "train", [f"Subject{i:02d}" for i in range(12)])
    held_out = _linked(eegmat_dir, tmp_path / "new", [f"Subject{i:02d}" for i in range(12, 24)])
    config = TrainConfig(task="workload", data_dir=str(trained), out=str(tmp_path / "runs"), graph="distance",
                         folds=3, epochs=3, patience=3, n_boot=50, progress=False, baselines=("logreg",),
                         controls=("no_edges", "shuffled"))
    run_dir = run_cv(config).run_dir
    code, out, err = run_script("evaluate.py", [str(run_dir), "--data-dir", str(held_out), "--quiet"], capsys)
    assert code == 0, err
    (applied,) = (run_dir / "applied").iterdir()
    with (applied / "subjects.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert {r["subject"] for r in rows} == {f"{i:02d}" for i in range(12, 24)}  # grouped, not one per file
    assert {r["label"] for r in rows} == {"arithmetic; rest"}
    assert {r["n_folds_used"] for r in rows} == {"3"} and {r["in_training_data"] for r in rows} == {"no"}
    results = json.loads((applied / "results.json").read_text())
    names = ["graph", "graph_no_edges", "graph_shuffled", "logreg"]
    assert list(results["models"]) == names and results["label_level"] == "recording"
    assert results["n_subjects"] == 12 and results["n_recordings"] == 24
    for name in names:
        for level in ("window", "recording"):
            report = results["models"][name][level]
            assert 0 <= report["balanced_accuracy"] <= 1 and len(report["ci95"]["balanced_accuracy"]) == 2
    assert {(e["against"], e["level"]) for e in results["comparisons"] if e["metric"] == "balanced_accuracy"} == {
        (name, level) for name in names[1:] for level in ("window", "recording")}
    assert "applied to" in out and "graph_shuffled (control)" in out and "logreg (baseline)" in out
    assert (applied / "predictions.csv").is_file()
