"""Folds split by group (scikit-learn's group splitters), a validation split of training groups, and a guard that
fails loudly if a group is ever on both sides.

The splitters follow scikit-learn's cross-validator protocol (``split``, ``get_n_splits``), so they go wherever
scikit-learn takes ``cv=``, and import scikit-learn only when they split: choosing a protocol (``train.py
--help``, an experiment file) needs no scikit-learn.

A group is a subject, always, except for ``'time-blocks'``: the cross-validation of a single patient's recording,
where each class's windows are cut into contiguous time blocks and each fold tests one block of every class. That
protocol says nothing about other patients; results made with it are reported as within-patient.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eeg_gnn.utils.validation import check_option

CV_METHODS = ["group-kfold", "loso", "time-blocks"]


class LeakageError(RuntimeError):
    """A subject is on both sides of a split."""


@dataclass(frozen=True)
class Fold:
    """One split: subjects to train on, to validate (early stopping) on, and to test on."""

    index: int
    train_subjects: tuple[str, ...]
    val_subjects: tuple[str, ...]
    test_subjects: tuple[str, ...]


@dataclass(frozen=True)
class Protocol:
    """A dataset's own cross-validation protocol, registered by its plug-in (SEED's within-subject clips).

    Attributes
    ----------
    name : str
        The ``cv`` setting that selects it.
    dataset : str
        The dataset it belongs to; other datasets refuse it.
    make_groups : callable
        ``make_groups(recording_ids) -> groups``, both ndarray of str, shape (n_windows,).
    make_folds : callable
        ``make_folds(groups, labels) -> list of Fold``.
    description : str
        How the folds are made, with ``{n_folds}`` for their number.
    caveat : str
        What results of this protocol do not say.
    """

    name: str
    dataset: str
    make_groups: Callable[[np.ndarray], np.ndarray]
    make_folds: Callable[[np.ndarray, np.ndarray], list]
    description: str
    caveat: str


PROTOCOLS: dict[str, Protocol] = {}


def register_protocol(protocol: Protocol) -> None:
    """Make a dataset's protocol one of :data:`CV_METHODS`."""
    PROTOCOLS[protocol.name] = protocol
    if protocol.name not in CV_METHODS:
        CV_METHODS.append(protocol.name)


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


class GroupSplitter:
    """A scikit-learn cross-validator over groups that checks every split it yields for leakage.

    Subclasses define ``_split_groups(X, y, groups)`` and ``get_n_splits``; their ``__init__`` parameters are
    attributes of the same name (shown by ``repr``, as scikit-learn's splitters do).
    """

    def __repr__(self) -> str:
        import inspect

        names = [name for name in inspect.signature(type(self).__init__).parameters if name != "self"]
        arguments = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({arguments})"

    def split(self, X, y=None, groups=None):
        """Yield ``(train_index, test_index)``; no group is ever on both sides (:class:`LeakageError` otherwise).

        Parameters
        ----------
        X : array-like, shape (n_windows, ...)
        y : array-like, shape (n_windows,)
            Class of each window (used to stratify, where the splitter does).
        groups : array-like, shape (n_windows,)
            The unit of the folds, usually the subject of each window.
        """
        from sklearn.utils.validation import check_consistent_length

        if groups is None:
            raise ValueError(f"{type(self).__name__} splits by group: pass groups=<subject of each window>.")
        check_consistent_length(X, y, groups)
        groups = np.asarray(groups).astype(str)
        for train, test in self._split_groups(X, None if y is None else np.asarray(y), groups):
            check_no_leakage(groups[train], groups[test])
            yield train, test

    def _split_groups(self, X, y, groups):
        raise NotImplementedError


class SubjectKFold(GroupSplitter):
    """K folds by subject, stratified by each subject's class (scikit-learn's ``StratifiedGroupKFold``).

    Parameters
    ----------
    n_splits : int
    shuffle : bool
    random_state : int or None
    """

    def __init__(self, n_splits: int = 5, *, shuffle: bool = True, random_state: int | None = 0):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    def _split_groups(self, X, y, groups):
        from sklearn.model_selection import StratifiedGroupKFold

        labels = np.zeros(len(groups), dtype=int) if y is None else y
        splitter = StratifiedGroupKFold(n_splits=self.n_splits, shuffle=self.shuffle,
                                        random_state=self.random_state if self.shuffle else None)
        return splitter.split(np.zeros(len(groups)), labels, groups=groups)


class LeaveOneSubjectOut(GroupSplitter):
    """One fold per subject (scikit-learn's ``LeaveOneGroupOut``)."""

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        if groups is None:
            raise ValueError("LeaveOneSubjectOut needs groups to count its folds.")
        return len(np.unique(np.asarray(groups)))

    def _split_groups(self, X, y, groups):
        from sklearn.model_selection import LeaveOneGroupOut

        return LeaveOneGroupOut().split(np.zeros(len(groups)), y, groups=groups)


class TimeBlockSplit(GroupSplitter):
    """Within one patient: each fold tests one contiguous time block of every class.

    ``groups`` are the block labels of :func:`time_blocks` (``'<subject>|<class>|block<k>'``); fold ``k`` tests
    every window of block ``k``. Windows left out at block edges (group ``''``) are in no fold.
    """

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        if groups is None:
            raise ValueError("TimeBlockSplit needs the block labels of time_blocks() as groups.")
        return len({_block(g) for g in np.asarray(groups).astype(str) if g})

    def _split_groups(self, X, y, groups):
        from sklearn.model_selection import PredefinedSplit

        block = np.array([_block(g) if g else -1 for g in groups])
        return PredefinedSplit(block).split()


def _block(group: str) -> int:
    try:
        return int(group.rsplit("block", 1)[1])
    except (IndexError, ValueError):
        raise ValueError(f"Group {group!r} is not a time block of time_blocks() ('<subject>|<class>|block<k>').") from None


def splitter(method: str, n_splits: int = 5, seed: int = 0) -> GroupSplitter:
    """The cross-validator of a ``cv`` setting (a registered :class:`Protocol` gives its own)."""
    check_option("cv", method, CV_METHODS)
    if method == "loso":
        return LeaveOneSubjectOut()
    if method == "time-blocks":
        return TimeBlockSplit()
    return SubjectKFold(n_splits, shuffle=True, random_state=seed)


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
    method : 'group-kfold' | 'loso' | 'time-blocks' | a registered :class:`Protocol`
        Stratified group k-fold, leave one group out, predefined time blocks of one patient (groups from
        :func:`time_blocks`), or a dataset's own protocol (SEED's ``'within-subject'`` clips).
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
    if method in PROTOCOLS:
        return PROTOCOLS[method].make_folds(subjects, labels)
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
            if smallest < 2:
                raise ValueError(
                    f"Cannot make {n_splits} folds: class {names[int(worst)]!r} has only {smallest} subject, and folds "
                    "by subject need at least 2 subjects of every class (one to train on, one to test). Add "
                    "recordings of more subjects of that class."
                )
            raise ValueError(
                f"Cannot make {n_splits} folds: class {names[int(worst)]!r} has only {smallest} subjects. "
                f"Use --folds {smallest} or fewer, or --cv loso."
            )
    folds = []
    for index, (train_idx, test_idx) in enumerate(splitter(method, n_splits, seed).split(labels, labels, subjects)):
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
