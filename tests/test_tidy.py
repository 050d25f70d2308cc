"""``scores.csv``: one row per (dataset, subject, session, pipeline, level, metric), like a MOABB results frame."""

from __future__ import annotations

import numpy as np
import pytest

from eeg_gnn.evaluation.scoring import Predictions
from eeg_gnn.evaluation.tidy import SCORE_COLUMNS, read_scores, tidy_scores, write_scores
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import run_cv


def _predictions() -> Predictions:
    """Two subjects with two recordings each; model ``right`` is right everywhere, ``wrong`` everywhere wrong for
    subject b (and right for a)."""
    subjects = np.array(["a"] * 4 + ["b"] * 4)
    recordings = np.array(["a1", "a1", "a2", "a2", "b1", "b1", "b2", "b2"])
    labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    right = np.column_stack([1 - labels, labels]).astype(float) * 0.8 + 0.1
    wrong = right.copy()
    wrong[4:] = wrong[4:, ::-1]
    return Predictions(labels=labels, subjects=subjects, recordings=recordings, groups=subjects,
                       window_index=np.arange(8), onsets=np.arange(8) * 4.0, folds=np.array([0] * 4 + [1] * 4),
                       proba={"right": right, "wrong": wrong}, classes=["rest", "task"])


def test_one_row_per_subject_pipeline_level_and_metric_with_known_scores():
    rows = tidy_scores(_predictions(), "recording", dataset="toy", evaluation="group-kfold",
                       sessions={"a1": "1", "a2": "2"}, fit_seconds={"right": {0: 2.0, 1: 4.0}})
    keys = [(r["subject"], r["session"], r["pipeline"], r["level"], r["metric"]) for r in rows]
    assert len(keys) == len(set(keys))
    by_key = dict(zip(keys, rows))
    # subject a has two sessions (one recording each), subject b none
    assert {(s, ses) for s, ses, *_ in keys} == {("a", "1"), ("a", "2"), ("b", "all")}
    assert by_key[("b", "all", "wrong", "window", "balanced_accuracy")]["score"] == 0.0
    assert by_key[("b", "all", "right", "window", "balanced_accuracy")]["score"] == 1.0
    assert by_key[("b", "all", "right", "recording", "roc_auc")]["score"] == 1.0
    assert by_key[("b", "all", "right", "window", "roc_auc")]["n_samples"] == 4
    assert by_key[("b", "all", "right", "recording", "roc_auc")]["n_samples"] == 2
    # a session with one class has no ROC AUC
    assert np.isnan(by_key[("a", "1", "right", "window", "roc_auc")]["score"])
    assert by_key[("a", "1", "right", "window", "balanced_accuracy")]["time"] == 2.0
    assert by_key[("b", "all", "right", "window", "balanced_accuracy")]["time"] == 4.0
    assert np.isnan(by_key[("b", "all", "wrong", "window", "balanced_accuracy")]["time"])
    assert {r["dataset"] for r in rows} == {"toy"} and {r["evaluation"] for r in rows} == {"group-kfold"}


def test_write_and_read_back(tmp_path):
    rows = tidy_scores(_predictions(), "recording", dataset="toy", evaluation="loso")
    path = write_scores(tmp_path / "scores.csv", rows)
    assert path.read_text().splitlines()[0] == ",".join(SCORE_COLUMNS)
    back = read_scores(path)
    assert len(back) == len(rows)
    assert [r["score"] for r in back] == pytest.approx([r["score"] for r in rows], nan_ok=True)
    assert {r["level"] for r in back} == {"window", "recording"}


def test_every_run_writes_scores_csv_and_two_runs_concatenate_into_one_frame(cohort, tmp_path, one_torch_thread):
    pd = pytest.importorskip("pandas")
    frames = []
    for seed in (0, 1):
        config = TrainConfig(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(tmp_path),
                             epochs=2, patience=2, folds=2, n_boot=10, progress=False, hidden=8, seed=seed,
                             controls=("no_edges",), baselines=("logreg",), n_jobs=1)
        run_dir = run_cv(config).run_dir
        frame = pd.read_csv(run_dir / "scores.csv")
        frame["run"] = run_dir.name
        frames.append(frame)
    both = pd.concat(frames, ignore_index=True)
    assert list(both.columns) == [*SCORE_COLUMNS, "run"]
    assert len(both) == 2 * len(frames[0])
    one = frames[0]
    assert set(one["pipeline"]) == {"graph", "graph_no_edges", "logreg"}
    assert set(one["level"]) == {"window", "subject"} and set(one["metric"]) == {"balanced_accuracy", "roc_auc"}
    assert set(one["subject"].astype(str)) == {f"sub-{i:02d}" for i in range(8)}
    assert not one.duplicated(["dataset", "subject", "session", "pipeline", "level", "metric"]).any()
    assert (one.loc[one["level"] == "subject", "n_samples"] == 1).all()
    assert (one["time"] > 0).all()
    # what a MOABB user does with it: mean score per pipeline
    table = both[both["metric"] == "balanced_accuracy"].groupby(["pipeline", "level"])["score"].mean()
    assert table.between(0, 1).all()
