"""Decision thresholds chosen on training subjects: the cut on the positive-class probability that balances errors.

Windows are often imbalanced (about 3:1 rest vs arithmetic on EEGMAT), and a model's probabilities for subjects
it has not seen are shifted, so the most probable class (a cut at 0.5) can call nearly everything one class. A
binary model's threshold is instead chosen where the balanced accuracy (Youden's J, sensitivity + specificity - 1)
of held-out training predictions is highest: the validation subjects of a graph model, the inner cross-validation's
out-of-fold predictions of a baseline. It is never chosen on test subjects. Multi-class problems keep the most
probable class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eeg_gnn.utils.validation import check_option

THRESHOLD_METHODS = ("balanced", "argmax")


def balanced_threshold(y_true: Any, scores: Any) -> float:
    """The cut on ``scores`` that maximises balanced accuracy (``scores >= threshold`` is class 1).

    Every threshold between two consecutive distinct scores gives the same predictions; of all thresholds with the
    highest balanced accuracy, the one closest to 0.5 is returned, so that a model whose most probable class is
    already best keeps 0.5, and one that needs a cut moves it only as far as the held-out predictions ask.

    Parameters
    ----------
    y_true : array-like of int, shape (n_samples,)
        Labels 0 and 1, both present.
    scores : array-like of float, shape (n_samples,)
        Probability of class 1.

    Returns
    -------
    float
        In [0, 1].
    """
    from sklearn.metrics import roc_curve

    y, s = np.asarray(y_true), np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"y_true and scores must be 1-D of the same length, got shapes {y.shape} and {s.shape}.")
    present = np.unique(y)
    if present.tolist() != [0, 1]:
        raise ValueError(f"A decision threshold needs held-out windows of both classes 0 and 1, got classes "
                         f"{present.tolist()}.")
    fpr, tpr, cuts = roc_curve(y, s, drop_intermediate=False)
    # cut k predicts class 1 for scores >= cuts[k]: any threshold in (cuts[k + 1], cuts[k]] does the same
    upper = np.minimum(cuts, 1.0)
    lower = np.append(cuts[1:], 0.0)
    j = tpr - fpr
    best = np.flatnonzero(j >= j.max() - 1e-12)
    margin = np.minimum(1e-3, (upper[best] - lower[best]) / 2)
    candidates = np.clip(0.5, lower[best] + margin, upper[best])
    return float(candidates[np.argmin(np.abs(candidates - 0.5))])


def predict_with_threshold(proba: Any, threshold: float | None) -> np.ndarray:
    """Predicted classes: ``proba[:, 1] >= threshold`` for a binary threshold, else the most probable class.

    Parameters
    ----------
    proba : array-like of float, shape (n_samples, n_classes)
    threshold : float or None

    Returns
    -------
    ndarray of int, shape (n_samples,)
    """
    p = np.asarray(proba, dtype=float)
    if threshold is None:
        return p.argmax(axis=1)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"A decision threshold applies to two classes; proba has shape {p.shape}.")
    return (p[:, 1] >= threshold).astype(np.int64)


def check_threshold_method(method: str) -> str:
    return check_option("threshold", method, THRESHOLD_METHODS)
