"""Label-free alignment of each subject on its own windows (``--align subject``).

Subjects differ in head, cap and impedances more than a left-hand from a right-hand window of one subject does.
Re-centring each subject on its own data removes that offset without looking at any label:

- each band's covariance matrices are re-centred at the subject's Riemannian mean, ``M^{-1/2} C M^{-1/2}``, so
  that the subject's mean becomes the identity (Zanini et al. 2018, *IEEE TBME* 65:1107-1116; what pyRiemann's
  ``TLCenter`` does per domain, here with pyRiemann's ``mean_riemann`` and ``invsqrtm``, no label needed);
- each band feature of each node is standardised over the subject's windows (zero mean, unit variance).

It is done for training and test subjects alike, from every window of the subject, so the test subjects'
unlabelled windows are used: the evaluation is transductive. Where every subject has a single class (a
diagnosis), it would erase the very difference between subjects that is the signal, so it is refused there
(:func:`check_alignable`).
"""

from __future__ import annotations

import numpy as np

#: Iterations of the Riemannian mean (pyRiemann's default 50 falls short for 64 nodes and few windows).
MEAN_MAXITER = 500
#: How a run that used ``--align subject`` says so wherever it reports its scores.
TRANSDUCTIVE = ("transductive: each subject, test subjects included, was re-centred on its own unlabelled windows "
                "(--align subject)")


def check_alignable(labels: np.ndarray, subjects: np.ndarray, classes: list[str]) -> None:
    """Refuse per-subject alignment when no subject has windows of two classes.

    Raises
    ------
    ValueError
        One line naming the reason and the flag.
    """
    labels, subjects = np.asarray(labels), np.asarray(subjects)
    n_classes = {subject: len(np.unique(labels[subjects == subject])) for subject in np.unique(subjects)}
    if max(n_classes.values()) < 2:
        raise ValueError(f"--align subject re-centres each subject on its own windows, but every subject here has "
                         f"windows of one class only ({' / '.join(classes)} are subject-level labels): it would "
                         "erase the difference between subjects that is the signal. Use --align none.")


def standardise_per_subject(features: np.ndarray, subjects: np.ndarray) -> np.ndarray:
    """Each feature standardised over each subject's own windows.

    Parameters
    ----------
    features : ndarray, shape (n_windows, ...)
    subjects : ndarray of str, shape (n_windows,)

    Returns
    -------
    ndarray, same shape as ``features``
        A feature constant within a subject becomes 0 for that subject.
    """
    aligned = np.empty_like(features)
    for subject in np.unique(subjects):
        rows = subjects == subject
        mean = features[rows].mean(axis=0)
        std = features[rows].std(axis=0)
        aligned[rows] = (features[rows] - mean) / np.where(std > 0, std, 1.0)
    return aligned


def recentre_per_subject(covariance: np.ndarray, subjects: np.ndarray) -> np.ndarray:
    """Each band's covariance matrices re-centred at each subject's own Riemannian mean.

    Parameters
    ----------
    covariance : ndarray, shape (n_windows, n_bands, n_nodes, n_nodes)
        Symmetric positive definite.
    subjects : ndarray of str, shape (n_windows,)

    Returns
    -------
    ndarray, same shape
        Per subject and band, the Riemannian mean of the result is the identity.
    """
    from pyriemann.geometry.base import invsqrtm
    from pyriemann.geometry.mean import mean_riemann

    aligned = np.empty_like(covariance)
    for subject in np.unique(subjects):
        rows = np.flatnonzero(subjects == subject)
        for band in range(covariance.shape[1]):
            matrices = covariance[rows, band].astype(np.float64)
            whitening = invsqrtm(mean_riemann(matrices, maxiter=MEAN_MAXITER))
            aligned[rows, band] = whitening @ matrices @ whitening
    return aligned
