"""Paired comparisons over subjects: per-subject scores, bootstrap interval, sign-flip p-value, Holm, verdict."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import nct
from scipy.stats import t as t_dist
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from eeg_gnn.evaluation.comparison import (
    describe_detectable,
    detectable_difference,
    holm,
    paired_difference,
    per_subject_scores,
    smallest_sign_flip_p,
    verdict,
)


def _proba(p1):
    p1 = np.asarray(p1, dtype=float)
    return np.column_stack([1 - p1, p1])


def test_per_subject_scores_match_sklearn_on_each_subject():
    rng = np.random.default_rng(0)
    subjects = np.repeat(["s1", "s2", "s3"], 20)
    y = np.tile(np.r_[np.zeros(12, int), np.ones(8, int)], 3)
    proba = _proba(rng.uniform(size=60))
    ids, ba = per_subject_scores(y, proba, subjects, "balanced_accuracy")
    _, auc = per_subject_scores(y, proba, subjects, "roc_auc")
    assert ids.tolist() == ["s1", "s2", "s3"]
    for i, subject in enumerate(ids):
        mask = subjects == subject
        assert ba[i] == pytest.approx(balanced_accuracy_score(y[mask], proba[mask].argmax(1)))
        assert auc[i] == pytest.approx(roc_auc_score(y[mask], proba[mask, 1]))


def test_auc_of_a_one_class_subject_is_undefined():
    y = np.array([0, 1, 0, 0])
    _, auc = per_subject_scores(y, _proba([0.2, 0.9, 0.4, 0.1]), np.array(["a", "a", "b", "b"]), "roc_auc")
    assert auc[0] == 1.0 and np.isnan(auc[1])


def test_per_subject_scores_use_given_predictions():
    y = np.array([0, 1, 0, 1])
    proba = _proba([0.1, 0.4, 0.2, 0.45])
    _, at_half = per_subject_scores(y, proba, np.array(["a", "a", "b", "b"]), "balanced_accuracy")
    _, at_third = per_subject_scores(y, proba, np.array(["a", "a", "b", "b"]), "balanced_accuracy",
                                     pred=(proba[:, 1] >= 0.3).astype(int))
    assert at_half.tolist() == [0.5, 0.5] and at_third.tolist() == [1.0, 1.0]


def test_exact_sign_flip_p_value_by_enumeration():
    a = np.array([0.9, 0.8, 0.75, 0.7, 0.6, 0.65])
    b = np.array([0.6, 0.7, 0.70, 0.5, 0.62, 0.55])
    d = a - b
    flips = np.array(list(itertools.product([-1, 1], repeat=len(d))))
    expected = np.mean(np.abs(flips @ d) >= abs(d.sum()) - 1e-12)
    result = paired_difference(a, b, n_permutations=10000)
    assert result["p_value"] == pytest.approx(expected)
    assert result["mean_difference"] == pytest.approx(d.mean())
    assert result["subjects_better"] == 5 and result["subjects_worse"] == 1
    assert result["ci95"][0] <= d.mean() <= result["ci95"][1]


def test_clear_difference_is_better_and_its_mirror_worse():
    rng = np.random.default_rng(1)
    b = rng.uniform(0.5, 0.7, 30)
    a = b + rng.uniform(0.05, 0.15, 30)
    better = paired_difference(a, b, seed=2)
    worse = paired_difference(b, a, seed=2)
    assert better["p_value"] < 0.001 and better["ci95"][0] > 0
    assert verdict(better["ci95"], better["p_value"]) == "better"
    assert verdict(worse["ci95"], worse["p_value"]) == "worse"


def test_identical_models_are_not_distinguishable():
    scores = np.random.default_rng(3).uniform(0.4, 0.9, 20)
    result = paired_difference(scores, scores.copy())
    assert result["mean_difference"] == 0 and result["ci95"] == [0.0, 0.0] and result["p_value"] == 1.0
    assert verdict(result["ci95"], result["p_value"]) == "not distinguishable"


def test_noise_only_differences_are_rarely_significant():
    rng = np.random.default_rng(4)
    significant = 0
    for repeat in range(200):
        a, b = rng.uniform(0.5, 0.8, (2, 15))
        significant += paired_difference(a, b, n_boot=100, n_permutations=999, seed=repeat)["p_value"] < 0.05
    assert significant <= 20  # about 5 % of 200 expected under the null hypothesis


def test_undefined_subjects_are_dropped_and_too_few_give_none():
    result = paired_difference([0.9, np.nan, 0.7, 0.8], [0.5, 0.6, np.nan, 0.6])
    assert result["n_subjects"] == 2
    assert paired_difference([0.9, np.nan], [0.5, 0.6]) is None
    with pytest.raises(ValueError, match="same length"):
        paired_difference([0.9, 0.8], [0.5])


def test_holm_matches_hand_computation():
    adjusted = holm([0.01, 0.04, 0.03, 0.2])
    np.testing.assert_allclose(adjusted, [0.04, 0.09, 0.09, 0.2])
    assert holm([0.5, 0.6]).tolist() == [1.0, 1.0]


def test_significant_p_with_interval_across_zero_is_not_distinguishable():
    assert verdict([-0.01, 0.2], 0.01) == "not distinguishable"
    assert verdict([0.02, 0.2], 0.06) == "not distinguishable"


def test_compare_models_pairs_every_model_with_the_primary_per_level_and_metric():
    from eeg_gnn.evaluation.scoring import Predictions, compare_models

    rng = np.random.default_rng(5)
    n_subjects, per = 12, 20
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], per)
    recordings = np.char.add(subjects, np.tile(np.repeat(["_1", "_2"], per // 2), n_subjects))
    labels = np.tile(np.repeat([0, 1], per // 2), n_subjects)
    good = np.clip(0.5 + 0.3 * (2 * labels - 1) + rng.normal(0, 0.15, labels.size), 0.01, 0.99)
    noise = rng.uniform(0.01, 0.99, labels.size)
    predictions = Predictions(labels=labels, subjects=subjects, recordings=recordings, groups=subjects,
                              window_index=np.tile(np.arange(per), n_subjects), onsets=np.zeros(labels.size),
                              folds=np.zeros(labels.size, int), classes=["rest", "task"],
                              proba={"graph": _proba(good), "chance": _proba(noise), "copy": _proba(good)})
    comparisons = compare_models(predictions, "recording", "graph", n_boot=200, seed=0)
    assert {(c["against"], c["level"], c["metric"]) for c in comparisons} == {
        (name, level, metric) for name in ("chance", "copy") for level in ("window", "recording")
        for metric in ("balanced_accuracy", "roc_auc")}
    by_key = {(c["against"], c["level"], c["metric"]): c for c in comparisons}
    assert by_key["chance", "window", "balanced_accuracy"]["verdict"] == "better"
    assert by_key["chance", "window", "roc_auc"]["p_holm"] >= by_key["chance", "window", "roc_auc"]["p_value"]
    assert by_key["copy", "window", "roc_auc"]["verdict"] == "not distinguishable"
    assert by_key["copy", "recording", "balanced_accuracy"]["mean_difference"] == 0
    assert all(c["n_subjects"] == n_subjects for c in comparisons)


def test_smallest_sign_flip_p_counts_distinct_sign_patterns():
    assert smallest_sign_flip_p(5) == pytest.approx(2 / 32)
    assert smallest_sign_flip_p(12) == pytest.approx(2 / 4096)


def test_detectable_difference_matches_the_noncentral_t_power():
    rng = np.random.default_rng(0)
    differences = rng.normal(0.0, 0.05, size=12)
    delta = detectable_difference(differences)
    n, spread = 12, differences.std(ddof=1)
    critical = t_dist.ppf(0.975, n - 1)
    noncentrality = delta * np.sqrt(n) / spread
    power = nct.sf(critical, n - 1, noncentrality) + nct.cdf(-critical, n - 1, noncentrality)
    assert power == pytest.approx(0.8, abs=1e-6)
    # About (t_0.975 + t_0.8) s / sqrt(n) for a t-test, the textbook approximation.
    approximate = (critical + t_dist.ppf(0.8, n - 1)) * spread / np.sqrt(n)
    assert delta == pytest.approx(approximate, rel=0.05)
    # More subjects with the same spread detect smaller differences.
    assert detectable_difference(np.tile(differences, 4)) < delta


def test_nothing_is_detectable_where_no_sign_pattern_can_be_significant():
    assert detectable_difference([0.1, -0.05, 0.2, 0.0, 0.1]) is None  # 5 subjects: p >= 0.0625
    assert detectable_difference([0.1, 0.1, 0.1, 0.1, 0.1, 0.1]) == 0.0
    result = paired_difference([0.9, 0.8, 0.7, 0.9], [0.5, 0.6, 0.5, 0.4], n_boot=100)
    assert result["detectable_difference"] is None and result["smallest_p"] == pytest.approx(0.125)
    assert describe_detectable(result) == "cannot be tested with n = 4 (the smallest possible p is 0.125)"
    result = paired_difference(np.linspace(0.6, 0.9, 12), np.linspace(0.6, 0.9, 12)[::-1], n_boot=100)
    assert describe_detectable(result).startswith("differences below ")
    assert describe_detectable(result).endswith(" cannot be detected with 12 subjects (80 % power)")
