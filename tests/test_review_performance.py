"""The models a review reports and the paired comparisons behind its verdict, for new and older runs."""

from __future__ import annotations

import numpy as np
import pytest

from eeg_gnn.evaluation.comparison import paired_difference, per_subject_scores
from eeg_gnn.evaluation.scoring import Predictions
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.review.performance import (
    comparisons,
    graph_description,
    model_entries,
    unit_predictions,
)

METRICS = {"balanced_accuracy": 0.6, "roc_auc": 0.7, "ci95": {"balanced_accuracy": [0.5, 0.7]},
           "confusion_matrix": [[1, 0], [0, 1]]}


def _predictions(n_subjects: int = 10) -> Predictions:
    """Two recordings (rest, task) of 3 windows per subject; the graph model is right, the baseline guesses."""
    rng = np.random.default_rng(0)
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], 6)
    labels = np.tile([0, 0, 0, 1, 1, 1], n_subjects)
    recordings = np.array([f"{s}_{label}" for s, label in zip(subjects, labels, strict=True)])
    good = np.where(labels[:, None] == [0, 1], 0.8, 0.2)
    guess = rng.dirichlet([1, 1], size=len(labels))
    n = len(labels)
    return Predictions(labels=labels, subjects=subjects, recordings=recordings, groups=subjects,
                       window_index=np.tile(np.arange(3), 2 * n_subjects), onsets=np.zeros(n), folds=np.zeros(n, int),
                       proba={"model": good, "baseline": guess}, classes=["rest", "task"])


def test_older_runs_name_the_graph_model_from_its_settings():
    config = TrainConfig(model="cheb", graph="plv", graph_band="alpha", cheb_k=3, readout="pool")
    assert graph_description(config) == "ChebNet (K = 3) on alpha PLV graphs"
    saved = {key: value for key, value in config.to_dict().items() if key not in ("readout", "refit")}
    assert TrainConfig.from_dict(saved).readout == "pool" and not TrainConfig.from_dict(saved).refit  # older runs
    assert (graph_description(TrainConfig(model="gat", graph="plv", readout="flatten"))
            == "GAT, flatten readout on alpha PLV graphs")
    entries = model_entries({"model": {"window": METRICS}, "baseline": {"window": METRICS, "per_fold": []}}, config)
    assert [(e["name"], e["key"], e["kind"]) for e in entries] == [("graph", "model", "graph"),
                                                                     ("logreg", "baseline", "baseline")]
    assert list(entries[1]["levels"]) == ["window"]


def test_runs_with_models_keep_their_names_graph_first():
    results = {"primary": "graph", "models": {
        "logreg": {"description": "logistic regression", "kind": "baseline", "window": METRICS},
        "graph_shuffled": {"description": "graph model, shuffled edges", "kind": "control", "window": METRICS},
        "graph": {"description": "ChebNet", "kind": "graph", "window": METRICS, "recording": METRICS}}}
    entries = model_entries(results, TrainConfig())
    assert [e["name"] for e in entries] == ["graph", "logreg", "graph_shuffled"]
    assert list(entries[0]["levels"]) == ["window", "recording"]
    saved = [{"model": "graph", "against": "graph_shuffled", "level": "recording", "metric": "roc_auc",
              "mean_difference": 0.1, "ci95": [0.0, 0.2], "p_value": 0.04, "n_subjects": 24, "verdict": "better"}]
    (row,) = comparisons({**results, "comparisons": saved}, entries, _predictions(), "recording", n_boot=10, seed=0)
    assert row["source"] == "results.json" and row["against_description"] == "graph model, shuffled edges"
    assert row["verdict"] == "better"


def test_older_runs_get_the_paired_comparison_computed_from_predictions():
    predictions = _predictions()
    entries = model_entries({"model": {"recording": METRICS}, "baseline": {"recording": METRICS}}, TrainConfig())
    rows = comparisons({}, entries, predictions, "recording", n_boot=200, seed=0)
    assert [(r["metric"], r["against"], r["source"]) for r in rows] == [
        ("balanced_accuracy", "logreg", "computed by the review"), ("roc_auc", "logreg", "computed by the review")]
    labels, proba, subjects = unit_predictions(predictions, "model", "recording")
    assert len(labels) == 20 and (proba[:, 1] > 0.5).tolist() == (labels == 1).tolist()
    _, ours = per_subject_scores(labels, proba, subjects, "balanced_accuracy")
    _, theirs = per_subject_scores(*unit_predictions(predictions, "baseline", "recording")[:2], subjects,
                                   "balanced_accuracy")
    expected = paired_difference(ours, theirs, n_boot=200, seed=0)
    assert rows[0]["mean_difference"] == pytest.approx(expected["mean_difference"])
    assert rows[0]["p_value"] == pytest.approx(expected["p_value"])
    assert rows[0]["p_holm"] == pytest.approx(expected["p_value"])  # one model compared: Holm changes nothing


def test_models_are_named_in_plain_words_from_the_run_s_own_descriptions():
    from types import SimpleNamespace

    from eeg_gnn.review.content import plain_name, sentence_case

    config = SimpleNamespace(model="cheb", cheb_k=3, graph="plv", graph_band="alpha")
    graph = {"name": "graph", "kind": "graph", "description": "CHEB on the plv graph"}
    assert plain_name(graph, config, primary=True) == "ChebNet (K = 3) on alpha PLV graphs"
    logreg = {"name": "logreg", "kind": "baseline",
              "description": "logistic regression on the node features (C by inner CV over subjects)"}
    assert plain_name(logreg, config, primary=False) == "logistic regression on the node features"
    tangent = {"name": "tangent_space", "kind": "baseline", "description": "Riemannian tangent space of band-wise "
               "covariances (OAS) + logistic regression (C by inner CV over subjects)"}
    assert plain_name(tangent, config, primary=False) == ("Riemannian tangent space of band-wise covariances + "
                                                          "logistic regression")
    added = {"name": "gin", "kind": "graph", "description": "GIN on the plv graph"}  # a model added later
    assert plain_name(added, config, primary=False) == "GIN on the plv graph"
    gat = SimpleNamespace(model="gat", cheb_k=3, graph="plv", graph_band="theta")
    assert plain_name({"kind": "graph", "description": "GAT on the plv graph"}, gat, primary=True) == (
        "GAT on theta PLV graphs")
    assert sentence_case("fp1 (prefrontal) and Fp2") == "Fp1 (prefrontal) and Fp2"  # not str.capitalize's "fp2"


def test_subject_predictions_per_subject_and_class_and_the_table_rows():
    from eeg_gnn.review.cohort import subject_rows
    from eeg_gnn.review.performance import subject_predictions

    predictions = _predictions(3)
    found = subject_predictions(predictions, "model")
    assert set(found) == {"s00", "s01", "s02"}
    assert found["s00"][0] == pytest.approx((0.2, True)) and found["s00"][1] == pytest.approx((0.8, True))
    rows = subject_rows(["s00"], {"s00": [0, 1]}, ["rest", "task"], found, {"s00": 6}, {"s00": 1},
                        {"s00": ["Cz (s00_0)"]}, {})
    assert [c if isinstance(c, str) else c["text"] for c in rows[0]] == [
        "s00", "rest, task", "0.20 (rest), 0.80 (task)", "2 of 2", "6", "1", "Cz (s00_0)", "none"]
    alone = subject_rows(["s01"], {"s01": [1]}, ["rest", "task"], {"s01": {1: (0.3, False)}}, {}, {}, {}, {})
    assert [c if isinstance(c, str) else c["text"] for c in alone[0]][1:4] == ["task", "0.30", "no"]
