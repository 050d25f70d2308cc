"""Classification metrics with subject-level (cluster) bootstrap confidence intervals.

EEG windows from the same subject are strongly correlated, so confidence intervals
computed by resampling *windows* are far too narrow.  This module resamples whole
*clusters* (subjects or recordings) with replacement instead: every drawn cluster
contributes all of its windows, and a cluster drawn twice contributes them twice.

Conventions
-----------
* ``y_true`` is an integer array of shape ``(n_samples,)`` with values in
  ``0 .. n_classes - 1``.
* ``proba`` is a float array of shape ``(n_samples, n_classes)`` whose rows sum to 1;
  the predicted class is ``proba.argmax(axis=1)`` (ties go to the lowest class index).
* ``groups`` / ``clusters`` is an array of shape ``(n_samples,)`` of hashable ids
  (ints or strings), e.g. subject or recording identifiers.
* A metric that is undefined for the given data (e.g. ROC AUC when ``y_true`` holds a
  single class, sensitivity when there are no positives) is reported as ``None``,
  never as NaN, so every result is JSON-serialisable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score, roc_auc_score
from sklearn.metrics import confusion_matrix as _sk_confusion_matrix

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "METRIC_NAMES",
    "aggregate_labels",
    "aggregate_proba",
    "bootstrap_ci",
    "classification_metrics",
    "confusion_matrix_figure",
    "summarize",
]

#: Scalar metrics that :func:`bootstrap_ci` knows how to resample.
METRIC_NAMES: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "f1",
    "sensitivity",
    "specificity",
)

# Rows of ``proba`` must sum to 1 within this absolute tolerance (lenient enough for
# float32 softmax outputs); rows are renormalised internally afterwards.
_ROW_SUM_ATOL = 1e-4
# Probabilities may stray outside [0, 1] by at most this much (float rounding).
_RANGE_ATOL = 1e-6
# Above this many clusters the (n_clusters, n_clusters) pair-count matrix used for the
# bootstrap ROC AUC gets too big; fall back to one weighted roc_auc_score per resample.
_MAX_PAIR_CLUSTERS = 2000


# --------------------------------------------------------------------------- validation


def _check_proba(proba: Any, name: str = "proba") -> np.ndarray:
    """Validate a probability matrix and return it as renormalised float64.

    Parameters
    ----------
    proba : array-like, shape (n_samples, n_classes)
        Class probabilities, rows summing to 1, ``n_classes >= 2``.
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray, shape (n_samples, n_classes)
        float64 copy with rows renormalised to sum exactly to 1.
    """
    arr = np.asarray(proba)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or arr.dtype == bool
    ):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        hint = (
            " (for binary scores p of class 1 pass np.column_stack([1 - p, p]))"
            if arr.ndim == 1
            else ""
        )
        raise ValueError(
            f"{name} must have shape (n_samples, n_classes), got shape {arr.shape}{hint}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 columns (classes), got shape {arr.shape}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{name} contains non-finite value {float(arr[i, j])!r} at [{i}, {j}]")
    bad = (arr < -_RANGE_ATOL) | (arr > 1 + _RANGE_ATOL)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} values must lie in [0, 1], got {float(arr[i, j])!r} at [{i}, {j}]"
        )
    row_sums = arr.sum(axis=1)
    bad_rows = np.flatnonzero(np.abs(row_sums - 1.0) > _ROW_SUM_ATOL)
    if bad_rows.size:
        i = bad_rows[0]
        raise ValueError(
            f"{name} rows must sum to 1, but row {i} sums to {float(row_sums[i])!r} "
            f"({bad_rows.size} bad row(s) in total)"
        )
    arr = np.clip(arr, 0.0, 1.0)
    return arr / arr.sum(axis=1, keepdims=True)


def _as_int_labels(y_true: Any) -> np.ndarray:
    """Return 1-D integer labels as int64 (bools and integral floats accepted)."""
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D with shape (n_samples,), got shape {y.shape}")
    if y.dtype == bool:
        return y.astype(np.int64)
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating):
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"y_true must hold integer class labels, got {float(y[i])!r} at index {i}"
            )
        return y.astype(np.int64)
    raise ValueError(f"y_true must hold integer class labels, got dtype {y.dtype}")


def _check_labels(y_true: Any, n_samples: int, n_classes: int) -> np.ndarray:
    """Validate integer class labels and return them as an int64 array.

    Parameters
    ----------
    y_true : array-like, shape (n_samples,)
        Labels in ``0 .. n_classes - 1``.  Bool arrays and float arrays holding
        integral values are accepted.
    n_samples : int
        Expected length (number of rows of ``proba``).
    n_classes : int
        Number of classes (number of columns of ``proba``).

    Returns
    -------
    ndarray of int64, shape (n_samples,)
    """
    y = _as_int_labels(y_true)
    if y.shape[0] != n_samples:
        raise ValueError(f"y_true has {y.shape[0]} samples but proba has {n_samples} rows")
    bad = (y < 0) | (y >= n_classes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"y_true value {int(y[i])} at index {i} is outside 0..{n_classes - 1} "
            f"(proba has {n_classes} columns)"
        )
    return y


def _check_pred(pred: Any, proba: np.ndarray) -> np.ndarray:
    """Predicted classes, shape (n_samples,): ``pred`` checked against ``proba``, or its argmax when None."""
    if pred is None:
        return proba.argmax(axis=1)
    out = np.asarray(pred)
    if out.shape != (proba.shape[0],):
        raise ValueError(f"pred must have shape ({proba.shape[0]},) like proba's rows, got {out.shape}")
    if not (out.dtype == bool or np.issubdtype(out.dtype, np.integer)):
        raise ValueError(f"pred must hold integer class labels, got dtype {out.dtype}")
    out = out.astype(np.int64)
    bad = (out < 0) | (out >= proba.shape[1])
    if bad.any():
        raise ValueError(f"pred must hold classes 0..{proba.shape[1] - 1}, got {int(out[bad][0])}")
    return out


def _check_groups(groups: Any, n_samples: int, name: str = "groups") -> np.ndarray:
    """Validate a 1-D array of group ids of length ``n_samples``."""
    g = np.asarray(groups)
    if g.ndim != 1:
        raise ValueError(f"{name} must be 1-D with shape (n_samples,), got shape {g.shape}")
    if g.shape[0] != n_samples:
        raise ValueError(f"{name} has {g.shape[0]} entries but there are {n_samples} samples")
    return g


def _factorize(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode group ids as integer codes in first-appearance order.

    Parameters
    ----------
    groups : ndarray, shape (n_samples,)

    Returns
    -------
    unique_groups : ndarray, shape (n_groups,)
        Distinct ids in order of first appearance.
    codes : ndarray of intp, shape (n_samples,)
        ``unique_groups[codes] == groups``.
    first : ndarray of intp, shape (n_groups,)
        Index of the first sample of each group.
    """
    try:
        uniq, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    except TypeError as err:  # e.g. a mix of str and int in an object array
        raise ValueError(f"group ids must be mutually comparable: {err}") from err
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return uniq[order], rank[inverse.ravel()], first[order]


def _group_id_to_py(g: Any) -> Any:
    return g.item() if isinstance(g, np.generic) else g


# ------------------------------------------------------------------- point estimates


def classification_metrics(
    y_true: Any, proba: Any, *, classes: Sequence[Any] | None = None, pred: Any = None
) -> dict[str, Any]:
    """Window- (or subject-) level classification metrics.

    Parameters
    ----------
    y_true : array-like of int, shape (n_samples,)
        True labels in ``0 .. n_classes - 1``.
    proba : array-like of float, shape (n_samples, n_classes)
        Predicted class probabilities; rows must sum to 1 (tolerance 1e-4).
        The prediction is ``proba.argmax(axis=1)`` unless ``pred`` is given.
    classes : sequence, length n_classes, optional
        Human-readable class names, stored (as strings) under ``"classes"``.
        Defaults to ``[0, 1, ..., n_classes - 1]``.
    pred : array-like of int, shape (n_samples,), optional
        Predicted classes, e.g. ``proba[:, 1] >= threshold`` for a decision threshold
        chosen on training subjects; the threshold metrics (all but ROC AUC) use it.

    Returns
    -------
    dict
        JSON-serialisable dict with keys

        ``accuracy`` : float
            Share of the samples whose predicted class is right.
        ``balanced_accuracy`` : float
            Mean recall over the classes present in ``y_true`` (scikit-learn's
            definition).
        ``f1`` : float or None
            Binary: F1 of class 1 (None if class 1 is neither present nor predicted).
            Multi-class: macro F1 over the classes present in ``y_true`` or predicted.
        ``roc_auc`` : float or None
            Binary: AUC of ``proba[:, 1]``.  Multi-class: one-vs-rest macro AUC.
            None unless every class occurs in ``y_true`` (so None when only one
            class is present).
        ``sensitivity``, ``specificity`` : float or None
            Binary only: recall of class 1 and of class 0 (None if that class is
            absent from ``y_true``).  Always None for multi-class problems.
        ``recall_per_class`` : list of (float or None), length n_classes
            Recall of each class; None for classes absent from ``y_true``.
        ``confusion_matrix`` : list of list of int, shape (n_classes, n_classes)
            Rows = true class, columns = predicted class, labels ``0..n_classes-1``.
        ``n`` : int
            Number of samples.
        ``n_classes`` : int
            Number of classes.
        ``classes`` : list
            Class names (or indices).

    Raises
    ------
    ValueError
        On malformed shapes, non-finite or out-of-range probabilities, rows not
        summing to 1, or labels outside ``0..n_classes-1``.
    """
    p = _check_proba(proba)
    n, k = p.shape
    y = _check_labels(y_true, n, k)
    if classes is None:
        class_names: list[Any] = list(range(k))
    else:
        class_names = [str(c) for c in classes]
        if len(class_names) != k:
            raise ValueError(
                f"classes has {len(class_names)} names but proba has {k} columns: {class_names}"
            )
    labels = list(range(k))
    pred = _check_pred(pred, p)

    cm = _sk_confusion_matrix(y, pred, labels=labels)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    present = support > 0

    recall = recall_score(y, pred, labels=labels, average=None, zero_division=0)
    recall_per_class = [float(r) if s > 0 else None for r, s in zip(recall, support, strict=True)]
    balanced_accuracy = float(np.mean(recall[present]))

    if k == 2:
        if support[1] + predicted[1] == 0:
            f1 = None
        else:
            f1 = float(
                f1_score(y, pred, labels=labels, pos_label=1, average="binary", zero_division=0)
            )
        sensitivity, specificity = recall_per_class[1], recall_per_class[0]
    else:
        used = [c for c in labels if support[c] + predicted[c] > 0]
        f1 = float(f1_score(y, pred, labels=used, average="macro", zero_division=0))
        sensitivity = specificity = None

    if not present.all():
        roc_auc = None
    elif k == 2:
        roc_auc = float(roc_auc_score(y, p[:, 1]))
    else:
        roc_auc = float(roc_auc_score(y, p, multi_class="ovr", average="macro", labels=labels))

    return {
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": balanced_accuracy,
        "f1": f1,
        "roc_auc": roc_auc,
        "sensitivity": sensitivity,
        "specificity": specificity,
        "recall_per_class": recall_per_class,
        "confusion_matrix": cm.astype(int).tolist(),
        "n": int(n),
        "n_classes": int(k),
        "classes": class_names,
    }


# --------------------------------------------------------------------------- aggregation


def aggregate_proba(proba: Any, groups: Any) -> tuple[np.ndarray, np.ndarray]:
    """Average predicted probabilities within each group (subject, recording, ...).

    Parameters
    ----------
    proba : array-like of float, shape (n_samples, n_classes)
        Window-level class probabilities (rows sum to 1).
    groups : array-like, shape (n_samples,)
        Group id of every window; ints or strings.

    Returns
    -------
    unique_groups : ndarray, shape (n_groups,)
        Distinct group ids in order of first appearance.
    mean_proba : ndarray of float64, shape (n_groups, n_classes)
        ``mean_proba[i]`` is the mean of the rows of ``proba`` belonging to
        ``unique_groups[i]``; rows still sum to 1.
    """
    p = _check_proba(proba)
    g = _check_groups(groups, p.shape[0])
    uniq, codes, _ = _factorize(g)
    sums = np.zeros((uniq.size, p.shape[1]))
    np.add.at(sums, codes, p)
    counts = np.bincount(codes, minlength=uniq.size)
    return uniq, sums / counts[:, None]


def aggregate_labels(y_true: Any, groups: Any) -> tuple[np.ndarray, np.ndarray]:
    """Collapse window labels to one label per group.

    Parameters
    ----------
    y_true : array-like of int, shape (n_samples,)
        Window-level labels.
    groups : array-like, shape (n_samples,)
        Group id of every window; ints or strings.

    Returns
    -------
    unique_groups : ndarray, shape (n_groups,)
        Distinct group ids in order of first appearance (same order as
        :func:`aggregate_proba`).
    labels : ndarray of int64, shape (n_groups,)
        The (unique) label of each group.

    Raises
    ------
    ValueError
        If a group contains more than one distinct label; the message names the
        group and its labels.
    """
    y = _as_int_labels(y_true)
    if y.shape[0] == 0:
        raise ValueError("y_true is empty")
    g = _check_groups(groups, y.shape[0])
    uniq, codes, first_idx = _factorize(g)
    label = y[first_idx]  # label of the first window of each group
    mixed = np.flatnonzero(np.bincount(codes[y != label[codes]], minlength=uniq.size))
    if mixed.size:
        i = mixed[0]
        found = sorted(set(y[codes == i].tolist()))
        raise ValueError(
            f"group {_group_id_to_py(uniq[i])!r} has mixed labels {found}; "
            f"{mixed.size} group(s) affected"
        )
    return uniq, label


# ------------------------------------------------------------------------- bootstrap


class _ClusterStats:
    """Per-cluster sufficient statistics so that bootstrap metrics are matrix products.

    For a resample described by integer cluster weights ``w`` (how often each cluster
    was drawn), the pooled confusion matrix is ``sum_c w[c] * cm[c]`` and the ROC AUC
    numerator (Mann-Whitney U) is ``w @ U @ w`` where ``U[a, b]`` counts the pairs
    (positive window in cluster a, negative window in cluster b) ranked correctly,
    ties counting 1/2.  This is exactly what duplicating the windows would give.
    With more than ``_MAX_PAIR_CLUSTERS`` clusters the AUC is instead computed with
    one sample-weighted :func:`sklearn.metrics.roc_auc_score` call per resample.
    """

    def __init__(self, y: np.ndarray, p: np.ndarray, codes: np.ndarray, n_clusters: int, pred: Any = None):
        _, k = p.shape
        self.n_classes = k
        self.y, self.p, self.codes = y, p, codes
        pred = _check_pred(pred, p)
        cm = np.zeros((n_clusters, k, k))
        np.add.at(cm, (codes, y, pred), 1.0)
        self.cm = cm  # (n_clusters, k, k)
        # One-vs-rest scoring; for binary only class 1 vs class 0 is needed.
        self.score_classes = [1] if k == 2 else list(range(k))
        self.u: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        if n_clusters > _MAX_PAIR_CLUSTERS:
            return
        self.u = []  # per scored class: (U (C, C), n_pos (C,), n_neg (C,))
        for c in self.score_classes:
            s = p[:, c]
            pos = y == c
            u = np.zeros((n_clusters, n_clusters))
            s_pos, code_pos = s[pos], codes[pos]
            for b in range(n_clusters):
                neg_b = np.sort(s[~pos & (codes == b)])
                if neg_b.size == 0 or s_pos.size == 0:
                    continue
                lo = np.searchsorted(neg_b, s_pos, side="left")
                hi = np.searchsorted(neg_b, s_pos, side="right")
                u[:, b] = np.bincount(code_pos, weights=lo + 0.5 * (hi - lo), minlength=n_clusters)
            n_pos = np.bincount(codes[pos], minlength=n_clusters).astype(float)
            n_neg = np.bincount(codes[~pos], minlength=n_clusters).astype(float)
            self.u.append((u, n_pos, n_neg))

    def metrics(self, w: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Metric values for a batch of cluster-weight vectors.

        Parameters
        ----------
        w : ndarray, shape (n_resamples, n_clusters)
            Number of times each cluster is drawn in each resample.
        names : sequence of str
            Metrics to compute (subset of :data:`METRIC_NAMES`).

        Returns
        -------
        dict of str to ndarray of float, shape (n_resamples,)
            NaN marks resamples in which the metric is undefined.
        """
        k = self.n_classes
        cm = np.einsum("bc,ckl->bkl", w, self.cm)
        diag = np.diagonal(cm, axis1=1, axis2=2)  # (B, k)
        support = cm.sum(axis=2)
        predicted = cm.sum(axis=1)
        total = support.sum(axis=1)
        out: dict[str, np.ndarray] = {}
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = np.where(support > 0, diag / support, np.nan)
            if "accuracy" in names:
                out["accuracy"] = np.where(total > 0, diag.sum(axis=1) / total, np.nan)
            if "balanced_accuracy" in names:
                n_present = (support > 0).sum(axis=1)
                out["balanced_accuracy"] = np.where(
                    n_present > 0, np.nansum(recall, axis=1) / n_present, np.nan
                )
            denom = support + predicted
            f1_per_class = np.where(denom > 0, 2 * diag / denom, np.nan)
            if "f1" in names:
                if k == 2:
                    out["f1"] = f1_per_class[:, 1]
                else:
                    n_used = (denom > 0).sum(axis=1)
                    out["f1"] = np.where(
                        n_used > 0, np.nansum(f1_per_class, axis=1) / n_used, np.nan
                    )
            nan = np.full(w.shape[0], np.nan)
            if "sensitivity" in names:
                out["sensitivity"] = recall[:, 1] if k == 2 else nan
            if "specificity" in names:
                out["specificity"] = recall[:, 0] if k == 2 else nan
            if "roc_auc" in names:
                out["roc_auc"] = self._roc_auc(w)
        return {name: out[name] for name in names}

    def _roc_auc(self, w: np.ndarray) -> np.ndarray:
        """(One-vs-rest macro) ROC AUC per resample, NaN if any class is absent."""
        if self.u is not None:
            aucs = []
            for u, n_pos, n_neg in self.u:
                num = np.einsum("bi,ij,bj->b", w, u, w)
                den = (w @ n_pos) * (w @ n_neg)
                aucs.append(np.where(den > 0, num / den, np.nan))
            return np.mean(aucs, axis=0)
        out = np.full(w.shape[0], np.nan)
        for b in range(w.shape[0]):
            sw = w[b, self.codes]
            per_class = []
            for c in self.score_classes:
                pos = self.y == c
                if not (sw[pos].sum() > 0 and sw[~pos].sum() > 0):
                    break
                per_class.append(roc_auc_score(pos, self.p[:, c], sample_weight=sw))
            else:
                out[b] = np.mean(per_class)
        return out


def bootstrap_ci(
    y_true: Any,
    proba: Any,
    clusters: Any,
    metric_names: Sequence[str] = METRIC_NAMES,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | None = 0,
    pred: Any = None,
) -> dict[str, list[float] | None]:
    """Percentile confidence intervals from a cluster (subject-level) bootstrap.

    Each resample draws ``n_clusters`` clusters with replacement and recomputes
    each metric on all samples of the drawn clusters (a cluster drawn twice counts
    twice).  The metrics are defined exactly as in :func:`classification_metrics`.

    Parameters
    ----------
    y_true : array-like of int, shape (n_samples,)
        True labels in ``0 .. n_classes - 1``.
    proba : array-like of float, shape (n_samples, n_classes)
        Predicted probabilities, rows summing to 1.
    clusters : array-like, shape (n_samples,)
        Cluster id (subject or recording) of every sample; ints or strings.
    metric_names : sequence of str, optional
        Subset of ``("accuracy", "balanced_accuracy", "roc_auc", "f1",
        "sensitivity", "specificity")``.
    n_boot : int, default 1000
        Number of bootstrap resamples.
    level : float, default 0.95
        Confidence level, in (0, 1).
    seed : int or None, default 0
        Seed for :func:`numpy.random.default_rng`; same seed, same interval.
    pred : array-like of int, shape (n_samples,), optional
        Predicted classes for the threshold metrics (default ``proba.argmax(axis=1)``).

    Returns
    -------
    dict of str to [low, high] or None
        Percentile interval per metric.  Resamples in which a metric is undefined
        (e.g. a single class drawn) are skipped; the value is None if fewer than
        half of the resamples were valid (always None for sensitivity and
        specificity in multi-class problems).

    Notes
    -----
    All threshold metrics are computed from per-cluster confusion matrices and the
    ROC AUC from per-cluster-pair Mann-Whitney counts, so the cost is dominated by
    a one-off ``O(n_clusters * n_samples * log n_samples)`` precomputation.
    """
    p = _check_proba(proba)
    n, k = p.shape
    y = _check_labels(y_true, n, k)
    g = _check_groups(clusters, n, name="clusters")
    names = [metric_names] if isinstance(metric_names, str) else list(metric_names)
    for name in names:
        if name not in METRIC_NAMES:
            raise ValueError(f"unknown metric name {name!r}; choose from {list(METRIC_NAMES)}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")

    _, codes, _ = _factorize(g)
    n_clusters = int(codes.max()) + 1
    stats = _ClusterStats(y, p, codes, n_clusters, pred=pred)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_clusters, size=(int(n_boot), n_clusters))
    w = np.zeros((int(n_boot), n_clusters))
    np.add.at(w, (np.arange(int(n_boot))[:, None], draws), 1.0)

    values: dict[str, list[np.ndarray]] = {name: [] for name in names}
    chunk = 256  # bounds the (chunk, k, k) and (chunk, C) temporaries
    for start in range(0, int(n_boot), chunk):
        for name, v in stats.metrics(w[start : start + chunk], names).items():
            values[name].append(v)

    alpha = (1.0 - float(level)) / 2.0
    result: dict[str, list[float] | None] = {}
    for name in names:
        v = np.concatenate(values[name])
        v = v[np.isfinite(v)]
        if v.size == 0 or v.size < 0.5 * n_boot:
            result[name] = None
            continue
        low, high = np.quantile(v, [alpha, 1.0 - alpha])
        result[name] = [float(low), float(high)]
    return result


def summarize(
    y_true: Any, proba: Any, clusters: Any, *, n_boot: int = 1000, seed: int | None = 0, pred: Any = None
) -> dict[str, Any]:
    """Point metrics plus cluster-bootstrap 95 % confidence intervals.

    Parameters
    ----------
    y_true : array-like of int, shape (n_samples,)
        True labels in ``0 .. n_classes - 1``.
    proba : array-like of float, shape (n_samples, n_classes)
        Predicted probabilities, rows summing to 1.
    clusters : array-like, shape (n_samples,)
        Cluster (subject / recording) id of every sample.
    n_boot : int, default 1000
        Number of bootstrap resamples.
    seed : int or None, default 0
        Bootstrap seed.
    pred : array-like of int, shape (n_samples,), optional
        Predicted classes for the threshold metrics (default ``proba.argmax(axis=1)``).

    Returns
    -------
    dict
        The output of :func:`classification_metrics` plus ``"ci95"``, the output of
        :func:`bootstrap_ci` at level 0.95 (dict metric -> [low, high] or None),
        and ``"n_clusters"``.
    """
    out = classification_metrics(y_true, proba, pred=pred)
    g = _check_groups(clusters, out["n"], name="clusters")
    out["n_clusters"] = int(_factorize(g)[0].size)
    out["ci95"] = bootstrap_ci(y_true, proba, clusters, n_boot=n_boot, level=0.95, seed=seed, pred=pred)
    return out


# --------------------------------------------------------------------------- plotting


def confusion_matrix_figure(confusion: Any, class_names: Sequence[Any]) -> Figure:
    """Draw an annotated confusion matrix.

    Uses :class:`matplotlib.figure.Figure` directly (no pyplot, no GUI backend);
    save it with ``fig.savefig(path)``.

    Parameters
    ----------
    confusion : array-like, shape (n_classes, n_classes)
        Counts (or rates); rows = true class, columns = predicted class, e.g. the
        ``"confusion_matrix"`` entry of :func:`classification_metrics`.
    class_names : sequence, length n_classes
        Tick labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    cm = np.asarray(confusion, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion must be a square 2-D matrix, got shape {cm.shape}")
    if not np.isfinite(cm).all():
        raise ValueError("confusion contains non-finite values")
    names = [str(c) for c in class_names]
    if len(names) != cm.shape[0]:
        raise ValueError(
            f"class_names has {len(names)} entries but confusion is {cm.shape[0]}x{cm.shape[1]}"
        )
    k = cm.shape[0]
    size = 1.0 + 0.9 * max(k, 2)
    fig = Figure(figsize=(size + 1.2, size), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(cm, cmap="Blues", vmin=0.0, vmax=max(float(cm.max()), 1e-12))
    fig.colorbar(im, ax=ax)
    integral = np.all(cm == np.round(cm))
    threshold = cm.max() / 2.0
    for i in range(k):
        for j in range(k):
            text = f"{int(cm[i, j])}" if integral else f"{cm[i, j]:.2f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                color="white" if cm[i, j] > threshold else "black",
            )
    ax.set_xticks(range(k), labels=names, rotation=45 if max(map(len, names)) > 6 else 0)
    ax.set_yticks(range(k), labels=names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return fig
