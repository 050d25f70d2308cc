"""Folds split by group (scikit-learn's group splitters), a validation split of training groups, and a guard that
fails loudly if a group is ever on both sides.

A group is a subject, always, except for ``'time-blocks'``: the cross-validation of a single patient's recording,
where each class's windows are cut into contiguous time blocks and each fold tests one block of every class. That
protocol says nothing about other patients; results made with it are reported as within-patient.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut, PredefinedSplit, StratifiedGroupKFold

from ._validation import check_option

CV_METHODS = ("group-kfold", "loso", "time-blocks", "within-subject")


class LeakageError(RuntimeError):
    """A subject is on both sides of a split."""


@dataclass(frozen=True)
class Fold:
    """One split: subjects to train on, to validate (early stopping) on, and to test on."""

    index: int
    train_subjects: tuple[str, ...]
    val_subjects: tuple[str, ...]
    test_subjects: tuple[str, ...]


def check_no_leakage(*sides: np.ndarray | tuple[str, ...]) -> None:
    """Raise :class:`LeakageError` naming the subjects that appear in more than one of ``sides``."""
    seen: dict[str, int] = {}
    for side, subjects in enumerate(sides):
        for subject in set(np.asarray(subjects).tolist()):
            if subject in seen and seen[subject] != side:
                shared = sorted(set(np.asarray(sides[seen[subject]]).tolist()) & set(np.asarray(subjects).tolist()))
                raise LeakageError(f"Subjects {shared} are in two sides of one split: results would leak.")
            seen[subject] = side


def _subject_labels(labels: np.ndarray, subjects: np.ndarray) -> dict[str, int]:
    """One stratification label per subject: its most frequent window label."""
    result = {}
    for subject in np.unique(subjects):
        values, counts = np.unique(labels[subjects == subject], return_counts=True)
        result[subject] = int(values[np.argmax(counts)])
    return result


def _split(labels: np.ndarray, subjects: np.ndarray, n_splits: int, method: str, seed: int):
    if method == "loso":
        return LeaveOneGroupOut().split(labels, labels, groups=subjects)
    if method == "time-blocks":
        block = np.array([int(g.rsplit("block", 1)[1]) for g in subjects])
        return PredefinedSplit(block).split()
    return StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(
        labels, labels, groups=subjects)


def make_folds(
    labels: np.ndarray,
    subjects: np.ndarray,
    *,
    n_splits: int = 5,
    method: str = "group-kfold",
    val_fraction: float = 0.2,
    seed: int = 0,
    class_names: list[str] | None = None,
) -> list[Fold]:
    """Split windows into folds by subject, each with a validation split of its training subjects.

    Parameters
    ----------
    labels : ndarray, shape (n_windows,)
        Class index of each window (used to stratify).
    subjects : ndarray, shape (n_windows,)
        Subject of each window; a subject is always on one side only.
    n_splits : int
        Number of folds for ``'group-kfold'`` (ignored by ``'loso'``: one fold per subject).
    method : 'group-kfold' | 'loso' | 'time-blocks' | 'within-subject'
        Stratified group k-fold, leave one group out, predefined time blocks of one patient (groups from
        :func:`time_blocks`), or SEED's within-subject clips (see :mod:`eeg_gnn.emotion`).
    val_fraction : float
        Share of training subjects held out for early stopping.
    seed : int
    class_names : list of str, optional
        For messages.

    Returns
    -------
    list of Fold
    """
    check_option("cv", method, CV_METHODS)
    if method == "within-subject":
        from .emotion import seed_within_subject_folds

        return seed_within_subject_folds(subjects, labels)
    labels, subjects = np.asarray(labels), np.asarray(subjects).astype(str)
    if labels.size == 0:
        raise ValueError("The dataset has no windows to split.")
    # Class names by label value (labels need not be 0..n-1, e.g. a lone class 1).
    names = {int(c): (class_names[int(c)] if class_names and 0 <= int(c) < len(class_names) else str(c))
             for c in np.unique(labels)}
    per_subject = _subject_labels(labels, subjects)
    n_classes = len(np.unique(labels))
    if n_classes < 2:
        raise ValueError(f"All windows have one class ({names[int(labels[0])]}): nothing to classify.")
    subjects_with_class = {c: len(np.unique(subjects[labels == c])) for c in np.unique(labels)}
    smallest = min(subjects_with_class.values())
    if method in ("group-kfold", "time-blocks"):
        if n_splits < 2:
            raise ValueError(f"--folds must be at least 2, got {n_splits}.")
        if n_splits > smallest:
            worst = min(subjects_with_class, key=subjects_with_class.get)
            raise ValueError(
                f"Cannot make {n_splits} folds: class {names[int(worst)]!r} has only {smallest} subjects. "
                f"Use --folds {max(2, smallest)} or fewer, or --cv loso."
            )
    folds = []
    for index, (train_idx, test_idx) in enumerate(_split(labels, subjects, n_splits, method, seed)):
        train_subjects = np.unique(subjects[train_idx])
        missing = sorted(set(np.unique(labels)) - set(np.unique(labels[train_idx])))
        if missing:
            raise ValueError(
                f"Fold {index}: its training subjects have no window of class "
                f"{', '.join(names[int(m)] for m in missing)}; use fewer folds or add subjects of that class."
            )
        val_subjects = _validation_subjects(train_subjects, per_subject, val_fraction, seed + index)
        fit_subjects = np.setdiff1d(train_subjects, val_subjects)
        test_subjects = np.unique(subjects[test_idx])
        check_no_leakage(fit_subjects, val_subjects, test_subjects)
        folds.append(Fold(index, tuple(fit_subjects), tuple(val_subjects), tuple(test_subjects)))
    return folds


def _validation_subjects(train_subjects, per_subject, val_fraction, seed) -> np.ndarray:
    """Hold out about ``val_fraction`` of the training subjects, at least one of each subject label when possible."""
    if val_fraction <= 0:
        return np.array([], dtype=str)
    rng = np.random.default_rng(seed)
    chosen = []
    by_label: dict[int, list[str]] = {}
    for subject in train_subjects:
        by_label.setdefault(per_subject[subject], []).append(subject)
    for members in by_label.values():
        if len(members) < 2:
            continue
        n_val = max(1, int(round(val_fraction * len(members))))
        chosen.extend(rng.choice(sorted(members), size=min(n_val, len(members) - 1), replace=False).tolist())
    return np.array(sorted(chosen), dtype=str)


def time_blocks(labels: np.ndarray, subjects: np.ndarray, recordings: np.ndarray, onsets: np.ndarray,
                n_blocks: int, window_s: float) -> np.ndarray:
    """Group id of each window for within-patient CV: its subject, class and contiguous time block.

    Each class's windows of a subject, in recording order and then time order, are cut into ``n_blocks`` blocks
    of consecutive windows. A window that shares samples with a window of another block of the same recording
    (overlapping windows at a block edge) is left out, group ``''``, so no training window overlaps a test window.

    Parameters
    ----------
    labels, subjects, recordings, onsets : ndarray, shape (n_windows,)
        ``recordings`` in the order the recordings come (their time order for one patient).
    n_blocks : int
    window_s : float
        Window length in seconds.

    Returns
    -------
    ndarray of str, shape (n_windows,)
        ``'<subject>|<class>|block<k>'``, or ``''`` for a window left out.
    """
    recording_rank = {r: i for i, r in enumerate(dict.fromkeys(recordings.tolist()))}
    ranks = np.array([recording_rank[r] for r in recordings])
    groups = np.empty(len(labels), dtype=object)
    for subject in np.unique(subjects):
        for label in np.unique(labels[subjects == subject]):
            members = np.flatnonzero((subjects == subject) & (labels == label))
            members = members[np.lexsort((onsets[members], ranks[members]))]
            if len(members) < n_blocks:
                raise ValueError(f"Class {label} of {subject} has {len(members)} windows, fewer than {n_blocks} time "
                                 "blocks; use fewer --folds.")
            for block, chunk in enumerate(np.array_split(members, n_blocks)):
                groups[chunk] = f"{subject}|{label}|block{block}"
    return _leave_out_shared_samples(groups.astype(str), ranks, onsets, window_s)


def _leave_out_shared_samples(groups: np.ndarray, ranks: np.ndarray, onsets: np.ndarray, window_s: float) -> np.ndarray:
    """Blank the groups of windows that overlap in time a window of another group in the same recording."""
    result = groups.copy()
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        members = members[np.argsort(onsets[members], kind="stable")]
        times = onsets[members]
        for position, window in enumerate(members):
            later = position + 1
            while later < len(members) and times[later] - times[position] < window_s - 1e-9:
                if groups[members[later]] != groups[window]:
                    result[window] = ""
                    result[members[later]] = ""
                later += 1
    return result


def save_folds(folds: list[Fold], path: Path) -> None:
    """Write ``folds.csv``: one row per group (subject, or time block) and fold, with its role."""
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["fold", "group", "role"])
        for fold in folds:
            for role, members in (("train", fold.train_subjects), ("val", fold.val_subjects),
                                  ("test", fold.test_subjects)):
                for subject in members:
                    writer.writerow([fold.index, subject, role])
