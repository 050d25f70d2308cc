"""Tests for eeg_gnn.evaluation.metrics (window/subject-level metrics and cluster bootstrap)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

import eeg_gnn.evaluation.metrics as M
from eeg_gnn.evaluation.metrics import (
    METRIC_NAMES,
    aggregate_labels,
    aggregate_proba,
    bootstrap_ci,
    classification_metrics,
    confusion_matrix_figure,
    summarize,
)


def one_hot_proba(pred, n_classes=2, confidence=0.9):
    """Probabilities whose argmax is `pred`."""
    pred = np.asarray(pred)
    p = np.full((pred.size, n_classes), (1 - confidence) / (n_classes - 1))
    p[np.arange(pred.size), pred] = confidence
    return p


def make_clustered(n_clusters, n_total, seed=0, n_classes=2, effect=1.5, cluster_sd=1.0):
    """Realistic EEG-like data: one label per subject, subject-level random offsets."""
    rng = np.random.default_rng(seed)
    per = n_total // n_clusters
    clusters = np.repeat(np.arange(n_clusters), per)
    subject_label = np.arange(n_clusters) % n_classes  # balanced classes over subjects
    rng.shuffle(subject_label)
    y = subject_label[clusters]
    offsets = rng.normal(0.0, cluster_sd, (n_clusters, n_classes))[clusters]
    logits = rng.normal(0.0, 1.0, (clusters.size, n_classes)) + offsets
    logits[np.arange(y.size), y] += effect
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    return y, proba, clusters


# ------------------------------------------------------------------ classification_metrics


def test_perfect_predictions_binary():
    y = np.array([0, 1, 0, 1, 1, 0])
    m = classification_metrics(y, one_hot_proba(y))
    for key in ("accuracy", "balanced_accuracy", "f1", "roc_auc", "sensitivity", "specificity"):
        assert m[key] == 1.0, key
    assert m["confusion_matrix"] == [[3, 0], [0, 3]]
    assert m["n"] == 6


def test_hand_computed_confusion_matrix():
    # 4 negatives: 3 TN, 1 FP; 6 positives: 4 TP, 2 FN
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    pred = np.array([0, 0, 0, 1, 1, 1, 1, 1, 0, 0])
    m = classification_metrics(y, one_hot_proba(pred))
    assert m["confusion_matrix"] == [[3, 1], [2, 4]]
    assert m["accuracy"] == pytest.approx(0.7)
    assert m["sensitivity"] == pytest.approx(4 / 6)
    assert m["specificity"] == pytest.approx(3 / 4)
    assert m["balanced_accuracy"] == pytest.approx((4 / 6 + 3 / 4) / 2)
    assert m["f1"] == pytest.approx(2 * 4 / (2 * 4 + 1 + 2))
    assert m["recall_per_class"] == pytest.approx([3 / 4, 4 / 6])
    assert m["n"] == 10


def test_auc_none_for_single_class_and_json():
    y = np.zeros(5, dtype=int)
    proba = one_hot_proba([0, 0, 1, 0, 0])
    m = classification_metrics(y, proba)
    assert m["roc_auc"] is None
    assert m["sensitivity"] is None  # no positives
    assert m["specificity"] == pytest.approx(0.8)
    assert m["balanced_accuracy"] == pytest.approx(0.8)
    assert m["f1"] == 0.0  # one false positive, no true positive
    assert m["confusion_matrix"] == [[4, 1], [0, 0]]
    json.dumps(m)


def test_f1_none_when_positive_class_neither_present_nor_predicted():
    y = np.zeros(4, dtype=int)
    m = classification_metrics(y, one_hot_proba(y))
    assert m["f1"] is None
    assert m["accuracy"] == 1.0


def test_confusion_matrix_keeps_absent_classes():
    y = np.array([0, 0, 2, 2])
    m = classification_metrics(y, one_hot_proba([0, 2, 2, 2], n_classes=3))
    assert m["confusion_matrix"] == [[1, 0, 1], [0, 0, 0], [0, 0, 2]]
    assert m["recall_per_class"] == [0.5, None, 1.0]
    assert m["roc_auc"] is None  # class 1 absent: OvR macro AUC undefined


def test_matches_sklearn_binary():
    y, proba, _ = make_clustered(20, 2000, seed=3)
    m = classification_metrics(y, proba)
    pred = proba.argmax(axis=1)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, proba[:, 1]))


def test_multiclass():
    y, proba, _ = make_clustered(30, 3000, seed=4, n_classes=3)
    m = classification_metrics(y, proba, classes=["rest", "task", "sleep"])
    pred = proba.argmax(axis=1)
    assert m["n_classes"] == 3
    assert m["classes"] == ["rest", "task", "sleep"]
    assert m["sensitivity"] is None and m["specificity"] is None
    assert len(m["recall_per_class"]) == 3
    assert m["f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"))
    assert np.array(m["confusion_matrix"]).shape == (3, 3)
    assert np.sum(m["confusion_matrix"]) == 3000
    json.dumps(m)


def test_perfect_predictions_multiclass():
    y = np.array([0, 1, 2, 2, 1, 0])
    m = classification_metrics(y, one_hot_proba(y, n_classes=3))
    for key in ("accuracy", "balanced_accuracy", "f1", "roc_auc"):
        assert m[key] == 1.0, key


def test_float32_proba_accepted():
    y, proba, _ = make_clustered(10, 500, seed=5, n_classes=4)
    m32 = classification_metrics(y, proba.astype(np.float32))
    m64 = classification_metrics(y, proba)
    assert m32["accuracy"] == m64["accuracy"]
    assert m32["roc_auc"] == pytest.approx(m64["roc_auc"], abs=1e-6)


@pytest.mark.parametrize(
    ("y", "proba", "match"),
    [
        ([0, 1], [0.2, 0.8], r"shape \(2,\).*column_stack"),
        ([0, 1], [[1.0], [1.0]], "at least 2 columns"),
        ([0, 1, 1], [[0.5, 0.5], [0.5, 0.5]], "3 samples but proba has 2 rows"),
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], "value 2 at index 1"),
        ([0, -1], [[0.5, 0.5], [0.5, 0.5]], "value -1 at index 1"),
        ([0, 0.5], [[0.5, 0.5], [0.5, 0.5]], "0.5 at index 1"),
        (["a", "b"], [[0.5, 0.5], [0.5, 0.5]], "dtype"),
        ([0, 1], [[0.5, 0.5], [0.7, 0.7]], r"row 1 sums to 1\.4"),
        ([0, 1], [[0.5, 0.5], [np.nan, 0.5]], r"nan.*\[1, 0\]"),
        ([0, 1], [[1.5, -0.5], [0.5, 0.5]], r"1\.5 at \[0, 0\]"),
        ([[0, 1]], [[0.5, 0.5]], "1-D"),
        ([], np.empty((0, 2)), "empty"),
    ],
)
def test_validation_errors(y, proba, match):
    with pytest.raises(ValueError, match=match):
        classification_metrics(np.asarray(y), np.asarray(proba))


def test_classes_length_mismatch():
    with pytest.raises(ValueError, match="3 names but proba has 2 columns"):
        classification_metrics([0, 1], [[0.5, 0.5], [0.5, 0.5]], classes=["a", "b", "c"])


# ------------------------------------------------------------------------- aggregation


def test_aggregate_proba_means_first_appearance_order():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6], [0.0, 1.0]])
    groups = np.array(["sub-02", "sub-01", "sub-02", "sub-01", "sub-10"])
    uniq, mean = aggregate_proba(proba, groups)
    assert uniq.tolist() == ["sub-02", "sub-01", "sub-10"]
    np.testing.assert_allclose(mean, [[0.8, 0.2], [0.3, 0.7], [0.0, 1.0]])
    np.testing.assert_allclose(mean.sum(axis=1), 1.0)


def test_aggregate_proba_int_groups_and_length_check():
    uniq, mean = aggregate_proba(np.array([[0.5, 0.5], [1.0, 0.0]]), [7, 7])
    assert uniq.tolist() == [7]
    np.testing.assert_allclose(mean, [[0.75, 0.25]])
    with pytest.raises(ValueError, match="3 entries but there are 2 samples"):
        aggregate_proba(np.array([[0.5, 0.5], [1.0, 0.0]]), [1, 2, 3])


def test_aggregate_labels():
    uniq, labels = aggregate_labels([1, 0, 1, 0, 2], ["b", "a", "b", "a", "c"])
    assert uniq.tolist() == ["b", "a", "c"]
    assert labels.tolist() == [1, 0, 2]


def test_aggregate_labels_mixed_names_group():
    with pytest.raises(ValueError, match=r"group 'sub-07' has mixed labels \[0, 1\]"):
        aggregate_labels([0, 0, 1, 0, 0], ["sub-03", "sub-07", "sub-07", "sub-03", "sub-03"])


def test_subject_level_metrics_pipeline():
    y, proba, clusters = make_clustered(12, 1200, seed=6)
    groups = np.array([f"sub-{c:02d}" for c in clusters])
    uniq, mean = aggregate_proba(proba, groups)
    uniq2, y_subj = aggregate_labels(y, groups)
    assert uniq.tolist() == uniq2.tolist()
    m = classification_metrics(y_subj, mean)
    assert m["n"] == 12


# ---------------------------------------------------------------------------- bootstrap


def test_bootstrap_contains_point_estimate_and_deterministic():
    y, proba, clusters = make_clustered(24, 4800, seed=7)
    point = classification_metrics(y, proba)
    ci = bootstrap_ci(y, proba, clusters, n_boot=500, seed=1)
    assert set(ci) == set(METRIC_NAMES)
    for name, (low, high) in ci.items():
        assert low <= point[name] <= high, name
        assert 0.0 <= low < high <= 1.0, name
    assert bootstrap_ci(y, proba, clusters, n_boot=500, seed=1) == ci
    assert bootstrap_ci(y, proba, clusters, n_boot=500, seed=2) != ci


def test_bootstrap_wider_with_fewer_clusters():
    y4, p4, c4 = make_clustered(4, 4000, seed=8)
    y40, p40, c40 = make_clustered(40, 4000, seed=8)
    ci4 = bootstrap_ci(y4, p4, c4, ["accuracy", "balanced_accuracy"], n_boot=400)
    ci40 = bootstrap_ci(y40, p40, c40, ["accuracy", "balanced_accuracy"], n_boot=400)
    for name in ci4:
        assert ci4[name][1] - ci4[name][0] > ci40[name][1] - ci40[name][0], name


def test_bootstrap_clusters_not_windows():
    # Every window of a cluster shares one prediction: resampling windows would
    # give a narrow interval, resampling the 6 clusters must not.
    clusters = np.repeat(np.arange(6), 200)
    y = np.repeat([0, 1, 0, 1, 0, 1], 200)
    pred = np.repeat([0, 1, 1, 0, 0, 1], 200)  # 4 of 6 subjects right
    ci = bootstrap_ci(y, one_hot_proba(pred), clusters, ["accuracy"], n_boot=500)
    low, high = ci["accuracy"]
    assert low <= 0.34 and high >= 0.99


def test_bootstrap_none_when_metric_mostly_undefined():
    y = np.zeros(60, dtype=int)
    proba = one_hot_proba(np.arange(60) % 2)
    clusters = np.repeat(np.arange(6), 10)
    ci = bootstrap_ci(y, proba, clusters, n_boot=200)
    assert ci["roc_auc"] is None
    assert ci["sensitivity"] is None
    assert ci["specificity"] == [0.5, 0.5]
    json.dumps(ci)


def test_bootstrap_multiclass():
    y, proba, clusters = make_clustered(30, 3000, seed=9, n_classes=3)
    point = classification_metrics(y, proba)
    ci = bootstrap_ci(y, proba, clusters, n_boot=300)
    assert ci["sensitivity"] is None and ci["specificity"] is None
    for name in ("accuracy", "balanced_accuracy", "f1", "roc_auc"):
        low, high = ci[name]
        assert low <= point[name] <= high, name


@pytest.mark.parametrize("n_classes", [2, 3])
def test_bootstrap_fast_path_equals_duplicated_samples(n_classes):
    """Per-cluster statistics reproduce classification_metrics on duplicated data."""
    rng = np.random.default_rng(n_classes)
    n = 300
    y = rng.integers(0, n_classes, n)
    proba = rng.dirichlet(np.ones(n_classes), n)
    proba[:, 0] = np.round(proba[:, 0], 1)  # create ties in the scores
    proba /= proba.sum(axis=1, keepdims=True)
    codes = rng.integers(0, 8, n)
    stats = M._ClusterStats(y, proba, codes, 8)
    for _ in range(15):
        w = rng.integers(0, 3, 8).astype(float)
        if w.sum() == 0:
            continue
        idx = np.concatenate([np.flatnonzero(codes == c).repeat(int(w[c])) for c in range(8)])
        ref = classification_metrics(y[idx], proba[idx])
        got = stats.metrics(w[None, :], METRIC_NAMES)
        for name in METRIC_NAMES:
            if ref[name] is None:
                assert np.isnan(got[name][0]), name
            else:
                assert got[name][0] == pytest.approx(ref[name]), name


def test_bootstrap_many_clusters_fallback_matches(monkeypatch):
    y, proba, clusters = make_clustered(12, 600, seed=10, n_classes=3)
    fast = bootstrap_ci(y, proba, clusters, ["roc_auc"], n_boot=60)
    monkeypatch.setattr(M, "_MAX_PAIR_CLUSTERS", 4)
    slow = bootstrap_ci(y, proba, clusters, ["roc_auc"], n_boot=60)
    assert slow["roc_auc"] == pytest.approx(fast["roc_auc"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric_names": ["accuracy", "kappa"]}, "'kappa'"),
        ({"n_boot": 0}, "n_boot must be a positive integer, got 0"),
        ({"level": 1.0}, "level must lie strictly between 0 and 1, got 1.0"),
    ],
)
def test_bootstrap_validation(kwargs, match):
    y, proba, clusters = make_clustered(4, 40)
    with pytest.raises(ValueError, match=match):
        bootstrap_ci(y, proba, clusters, **kwargs)


# ---------------------------------------------------------------------------- summarize


def test_summarize_json_serialisable_with_string_clusters():
    y, proba, clusters = make_clustered(10, 1000, seed=12)
    subjects = np.array([f"sub-{c:02d}" for c in clusters])
    s = summarize(y, proba, subjects, n_boot=200, seed=3)
    assert s["n_clusters"] == 10
    assert set(s["ci95"]) == set(METRIC_NAMES)
    assert s["accuracy"] == classification_metrics(y, proba)["accuracy"]
    assert s["ci95"] == bootstrap_ci(y, proba, subjects, n_boot=200, seed=3)
    json.loads(json.dumps(s))


# ----------------------------------------------------------------------------- figure


def test_confusion_matrix_figure():
    fig = confusion_matrix_figure([[3, 1], [2, 4]], ["control", "patient"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted"
    assert ax.get_ylabel() == "true"
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "3", "4"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["control", "patient"]
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_confusion_matrix_figure_validation():
    with pytest.raises(ValueError, match="2 entries but confusion is 3x3"):
        confusion_matrix_figure(np.eye(3), ["a", "b"])
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        confusion_matrix_figure(np.ones((2, 3)), ["a", "b"])


# ------------------------------------------------------------------ given predictions (decision thresholds)


def test_pred_overrides_argmax_for_threshold_metrics_not_auc():
    y = np.array([0, 0, 1, 1])
    proba = np.column_stack([1 - np.array([0.1, 0.3, 0.35, 0.9]), [0.1, 0.3, 0.35, 0.9]])
    at_half = classification_metrics(y, proba)
    at_third = classification_metrics(y, proba, pred=(proba[:, 1] >= 0.32).astype(int))
    assert at_half["balanced_accuracy"] == 0.75
    assert at_third["balanced_accuracy"] == 1.0
    assert at_third["confusion_matrix"] == [[2, 0], [0, 2]]
    assert at_third["roc_auc"] == at_half["roc_auc"] == 1.0


def test_bootstrap_with_pred_equals_bootstrap_of_the_matching_proba():
    y, proba, clusters = make_clustered(12, 240, seed=3)
    pred = (proba[:, 1] >= 0.3).astype(int)
    shifted = one_hot_proba(pred)
    with_pred = bootstrap_ci(y, proba, clusters, ["balanced_accuracy", "f1"], n_boot=200, seed=1, pred=pred)
    assert with_pred == bootstrap_ci(y, shifted, clusters, ["balanced_accuracy", "f1"], n_boot=200, seed=1)
    assert summarize(y, proba, clusters, n_boot=50, pred=pred)["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(y, pred))


@pytest.mark.parametrize("pred, match", [(np.zeros(3, int), r"shape \(4,\)"), (np.array([0, 1, 2, 0]), "0..1"),
                                         (np.array([0.0, 1, 0, 1]), "integer")])
def test_pred_validation(pred, match):
    with pytest.raises(ValueError, match=match):
        classification_metrics(np.array([0, 1, 0, 1]), one_hot_proba([0, 1, 0, 1]), pred=pred)
