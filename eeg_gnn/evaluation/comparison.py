"""Paired comparison of two models scored on the same subjects: is the difference more than chance?

Both models predicted the same test windows of the same subjects (same folds), so the comparison is paired by
subject. Each subject gets one score per model (the metric computed on that subject's windows or recordings); the
difference of the two scores is that subject's difference. Reported: the mean difference over subjects, a
percentile bootstrap interval over subjects (:func:`scipy.stats.bootstrap`) and the two-sided p-value of a
sign-flip permutation test over subjects (:func:`scipy.stats.permutation_test` with
``permutation_type='samples'``: under the null hypothesis either model's score is as likely to be the higher one
for every subject; exact when there are few subjects). A subject for whom the metric is undefined (ROC AUC of a
subject with windows of one class only) does not enter.

The verdict says "better" or "worse" only when the p-value (Holm-adjusted over a family of comparisons, see
:func:`holm`) is below ``alpha`` and the interval excludes zero on the same side; otherwise "not
distinguishable". Beside it stands what the comparison could have detected (:func:`detectable_difference`): the
smallest mean difference a paired test over these subjects finds at 80 % power, from the observed spread of the
per-subject differences, or None when no labelling of signs could reach ``alpha`` with so few subjects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import bootstrap, nct, permutation_test
from scipy.stats import t as student_t

from eeg_gnn.evaluation.metrics import (
    _check_groups,
    _check_labels,
    _check_proba,
    _ClusterStats,
    _factorize,
)
from eeg_gnn.utils.validation import check_option

COMPARED_METRICS = ("balanced_accuracy", "roc_auc")
VERDICTS = ("better", "not distinguishable", "worse")
ALPHA = 0.05
#: Power at which :func:`detectable_difference` states the smallest detectable difference.
POWER = 0.8


def per_subject_scores(y_true: Any, proba: Any, subjects: Any, metric: str, *,
                       pred: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """One score per subject: ``metric`` computed on that subject's samples alone.

    Parameters
    ----------
    y_true : array-like of int, shape (n_samples,)
    proba : array-like of float, shape (n_samples, n_classes)
    subjects : array-like, shape (n_samples,)
    metric : str
        One of :data:`COMPARED_METRICS`.
    pred : array-like of int, shape (n_samples,), optional
        Predicted classes (e.g. after a decision threshold); default ``proba.argmax(axis=1)``.

    Returns
    -------
    subject_ids : ndarray, shape (n_subjects,)
        In order of first appearance.
    scores : ndarray of float, shape (n_subjects,)
        NaN where the metric is undefined for a subject.
    """
    check_option("metric", metric, COMPARED_METRICS)
    p = _check_proba(proba)
    y = _check_labels(y_true, *p.shape)
    ids, codes, _ = _factorize(_check_groups(subjects, len(y), name="subjects"))
    stats = _ClusterStats(y, p, codes, len(ids), pred=pred)
    return ids, stats.metrics(np.eye(len(ids)), [metric])[metric]


def paired_difference(score_a: Any, score_b: Any, *, n_boot: int = 1000, n_permutations: int = 10000,
                      level: float = 0.95, seed: int = 0) -> dict[str, Any] | None:
    """Mean of ``score_a - score_b`` over subjects, with a bootstrap interval and a sign-flip p-value.

    Parameters
    ----------
    score_a, score_b : array-like of float, shape (n_subjects,)
        Each subject's score under the two models, in the same subject order; NaN (undefined) pairs are dropped.
    n_boot : int
        Bootstrap resamples of subjects.
    n_permutations : int
        Random sign flips; the test is exact (every flip) when ``2 ** n_subjects`` is not larger.
    level : float
    seed : int

    Returns
    -------
    dict or None
        ``mean_difference``, ``ci95`` ([low, high]), ``p_value`` (two-sided), ``n_subjects``,
        ``subjects_better`` / ``subjects_worse`` (how many subjects score higher / lower under ``a``);
        None when fewer than two subjects have both scores.
    """
    a, b = np.asarray(score_a, dtype=float), np.asarray(score_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"score_a and score_b must be 1-D and of the same length (one score per subject), got "
                         f"shapes {a.shape} and {b.shape}.")
    both = np.isfinite(a) & np.isfinite(b)
    a, b = a[both], b[both]
    if len(a) < 2:
        return None
    difference = a - b
    mean = float(difference.mean())
    if np.ptp(difference) == 0:
        interval = [mean, mean]
    else:
        result = bootstrap((difference,), np.mean, n_resamples=n_boot, confidence_level=level,
                           method="percentile", rng=np.random.default_rng(seed))
        interval = [float(result.confidence_interval.low), float(result.confidence_interval.high)]
    test = permutation_test((a, b), _mean_difference, permutation_type="samples", vectorized=True,
                            n_resamples=n_permutations, alternative="two-sided",
                            rng=np.random.default_rng(seed))
    return {"mean_difference": mean, "ci95": interval, "p_value": float(min(1.0, test.pvalue)),
            "n_subjects": int(len(a)), "subjects_better": int((difference > 0).sum()),
            "subjects_worse": int((difference < 0).sum()),
            "smallest_p": smallest_sign_flip_p(len(a)),
            "detectable_difference": detectable_difference(difference)}


def smallest_sign_flip_p(n_subjects: int) -> float:
    """The smallest two-sided p-value a sign-flip test over ``n_subjects`` paired differences can give.

    All ``2 ** n_subjects`` sign patterns are equally likely under the null hypothesis, and the observed pattern
    and its mirror image are the two most extreme: ``p >= 2 / 2 ** n_subjects`` (0.0625 with 5 subjects, so no
    difference over 5 subjects can be significant at 0.05).
    """
    return float(min(1.0, 2.0 / 2.0 ** n_subjects))


def detectable_difference(differences: Any, *, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """The smallest mean paired difference a test over these subjects detects with probability ``power``.

    For a two-sided paired test at level ``alpha`` over ``n`` subjects whose differences spread with the observed
    standard deviation ``s``, the smallest ``delta`` with ``P(|T| > t_crit) >= power``, where ``T`` follows the
    noncentral t distribution with ``n - 1`` degrees of freedom and noncentrality ``delta * sqrt(n) / s`` (the
    one-sample t-test's power, which the sign-flip test approaches). Before any Holm adjustment: a comparison in a
    family of ``m`` needs up to ``alpha / m``, and so a larger difference.

    Parameters
    ----------
    differences : array-like of float, shape (n_subjects,)
        Per-subject differences (NaN dropped).
    alpha, power : float

    Returns
    -------
    float or None
        None when nothing could be detected: fewer than two subjects, or so few that even the most extreme sign
        pattern has ``p >= alpha`` (:func:`smallest_sign_flip_p`). 0.0 when every subject has the same difference.
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    if n < 2 or smallest_sign_flip_p(n) >= alpha:
        return None
    if np.ptp(d) == 0:
        return 0.0
    spread = float(d.std(ddof=1))
    df = n - 1
    critical = float(student_t.ppf(1 - alpha / 2, df))
    low, high = 0.0, (critical + float(student_t.ppf(power, df)) + 10.0)
    for _ in range(60):
        middle = (low + high) / 2
        reached = nct.sf(critical, df, middle) + nct.cdf(-critical, df, middle)
        low, high = (low, middle) if reached >= power else (middle, high)
    return float(high * spread / np.sqrt(n))


def describe_detectable(entry: dict) -> str:
    """Plain words for what a comparison of :func:`paired_difference` could detect.

    "differences below 0.052 cannot be detected with 12 subjects", or "cannot be tested with n = 4 (the smallest
    possible p is 0.125)".
    """
    n = entry.get("n_subjects")
    delta = entry.get("detectable_difference")
    if delta is None:
        return f"cannot be tested with n = {n} (the smallest possible p is {smallest_sign_flip_p(n):.3g})"
    return f"differences below {delta:.3f} cannot be detected with {n} subjects (80 % power)"


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def holm(p_values: Any) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (controls the family-wise error rate).

    Parameters
    ----------
    p_values : array-like of float, shape (n_tests,)

    Returns
    -------
    ndarray, shape (n_tests,)
        Adjusted p-values, in the input order, at most 1.
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D, got shape {p.shape}.")
    order = np.argsort(p, kind="stable")
    scaled = (len(p) - np.arange(len(p))) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted


def verdict(ci95: list[float], p_value: float, alpha: float = ALPHA) -> str:
    """``'better'``, ``'worse'`` or ``'not distinguishable'``: significant and the interval on one side of 0."""
    low, high = ci95
    if p_value < alpha and low > 0:
        return "better"
    if p_value < alpha and high < 0:
        return "worse"
    return "not distinguishable"
