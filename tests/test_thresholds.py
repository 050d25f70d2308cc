"""Decision thresholds chosen on held-out training predictions, and their use in scoring and predictions.csv."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from eeg_gnn.evaluation.scoring import Predictions, read_predictions, score, write_predictions
from eeg_gnn.evaluation.thresholds import balanced_threshold, predict_with_threshold


def test_separated_scores_around_half_keep_half():
    assert balanced_threshold([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.7, 0.8]) == 0.5


def test_scores_all_below_half_move_the_cut_only_as_far_as_needed():
    y = [0] * 6 + [1] * 2
    scores = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]
    assert balanced_threshold(y, scores) == pytest.approx(0.35)
    assert balanced_threshold([0, 0, 0, 1, 1], [0.6, 0.65, 0.7, 0.8, 0.9]) == pytest.approx(0.701)


def test_chosen_threshold_reaches_the_best_balanced_accuracy_of_any_cut():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = (rng.uniform(size=60) < 0.3).astype(int)
        y[:2] = [0, 1]
        scores = np.clip(rng.normal(0.3 + 0.2 * y, 0.15), 0, 1)
        best = max(balanced_accuracy_score(y, scores >= cut) for cut in np.unique(scores))
        assert balanced_accuracy_score(y, scores >= balanced_threshold(y, scores)) == pytest.approx(best)


def test_threshold_needs_both_classes_and_matching_shapes():
    with pytest.raises(ValueError, match="both classes"):
        balanced_threshold([1, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match="same length"):
        balanced_threshold([0, 1], [0.2])


def test_predict_with_threshold():
    proba = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    assert predict_with_threshold(proba, None).tolist() == [0, 0, 1]
    assert predict_with_threshold(proba, 0.3).tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="two classes"):
        predict_with_threshold(np.full((2, 3), 1 / 3), 0.3)


def _predictions(thresholds):
    labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    p1 = np.array([0.1, 0.3, 0.35, 0.45, 0.2, 0.25, 0.4, 0.6])
    return Predictions(labels=labels, subjects=np.repeat(["a", "b"], 4), recordings=np.repeat(["a1", "b1"], 4),
                       groups=np.repeat(["a", "b"], 4), window_index=np.tile(np.arange(4), 2),
                       onsets=np.tile(np.arange(4) * 4.0, 2), folds=np.repeat([0, 1], 4),
                       proba={"graph": np.column_stack([1 - p1, p1])}, classes=["rest", "task"],
                       thresholds=thresholds)


def test_scores_use_each_folds_threshold_and_survive_predictions_csv(tmp_path):
    at_half = score(_predictions({}), "window", n_boot=20, seed=0)["graph"]["window"]
    cuts = {"graph": np.repeat([0.32, 0.38], 4)}
    tuned = score(_predictions(cuts), "window", n_boot=20, seed=0)["graph"]["window"]
    assert at_half["balanced_accuracy"] == 0.625 and tuned["balanced_accuracy"] == 1.0
    assert tuned["roc_auc"] == at_half["roc_auc"]
    write_predictions(tmp_path / "predictions.csv", _predictions(cuts))
    again = read_predictions(tmp_path / "predictions.csv", ["rest", "task"])
    np.testing.assert_array_equal(again.thresholds["graph"], cuts["graph"])
    assert score(again, "window", n_boot=20, seed=0)["graph"]["window"] == tuned
