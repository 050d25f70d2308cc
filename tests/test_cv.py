"""Subject-wise folds: every subject tested once, no subject on two sides, the leakage guard, folds.csv."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from eeg_gnn.evaluation.splitters import (
    Fold,
    LeakageError,
    check_no_leakage,
    make_folds,
    save_folds,
)


def _subject_level(n_subjects: int = 10, seed: int = 0, n_per_class: int | None = None):
    """Windows of subjects with one label each (patients vs controls), about 20 windows per subject.

    Subjects ``s00``, ``s02``, … are class 0; ``s01``, ``s03``, … class 1 (or the first ``n_per_class`` are
    class 1 when given).
    """
    rng = np.random.default_rng(seed)
    labels, subjects = [], []
    for index in range(n_subjects):
        label = index % 2 if n_per_class is None else int(index < n_per_class)
        n_windows = int(rng.integers(18, 23))
        labels += [label] * n_windows
        subjects += [f"s{index:02d}"] * n_windows
    return np.array(labels), np.array(subjects)


def _recording_level(n_subjects: int = 10, seed: int = 0):
    """Every subject has windows of both classes (rest vs task)."""
    rng = np.random.default_rng(seed)
    labels, subjects = [], []
    for index in range(n_subjects):
        for label in (0, 1):
            n_windows = int(rng.integers(8, 13))
            labels += [label] * n_windows
            subjects += [f"s{index:02d}"] * n_windows
    return np.array(labels), np.array(subjects)


def _check_partition(folds: list[Fold], all_subjects: set[str]) -> None:
    tested = [s for fold in folds for s in fold.test_subjects]
    assert sorted(tested) == sorted(all_subjects), "every subject is tested exactly once"
    for fold in folds:
        train, val, test = set(fold.train_subjects), set(fold.val_subjects), set(fold.test_subjects)
        assert not train & val and not train & test and not val & test
        assert train | val | test == all_subjects
        assert train and test


def test_group_kfold_subject_level_labels():
    labels, subjects = _subject_level()
    folds = make_folds(labels, subjects, n_splits=5, seed=0)
    assert [fold.index for fold in folds] == [0, 1, 2, 3, 4]
    _check_partition(folds, set(subjects))
    label_of = {s: int(labels[subjects == s][0]) for s in np.unique(subjects)}
    for fold in folds:
        # Stratified: one subject of each class in every test fold.
        assert sorted(label_of[s] for s in fold.test_subjects) == [0, 1]
        # Validation subjects come from the training side: one of each class out of four per class.
        assert sorted(label_of[s] for s in fold.val_subjects) == [0, 1]
        assert len(fold.train_subjects) == 6
        assert all(
            isinstance(s, str) for s in fold.train_subjects + fold.val_subjects + fold.test_subjects
        )


def test_folds_are_deterministic_for_a_seed_and_change_with_it():
    labels, subjects = _subject_level()
    first = make_folds(labels, subjects, n_splits=5, seed=0)
    assert make_folds(labels, subjects, n_splits=5, seed=0) == first
    assert make_folds(labels, subjects, n_splits=5, seed=1) != first

    def partition(folds):
        return sorted(fold.test_subjects for fold in folds)

    assert any(
        partition(make_folds(labels, subjects, n_splits=5, seed=seed)) != partition(first)
        for seed in range(1, 6)
    )


def test_loso_gives_one_fold_per_subject():
    labels, subjects = _subject_level(n_subjects=6)
    folds = make_folds(labels, subjects, method="loso", n_splits=99)  # n_splits is ignored
    assert len(folds) == 6
    assert [fold.test_subjects for fold in folds] == [(s,) for s in sorted(set(subjects))]
    _check_partition(folds, set(subjects))


def test_leakage_guard_names_the_shared_subject():
    with pytest.raises(LeakageError, match=r"\['s03'\]"):
        check_no_leakage(np.array(["s01", "s02", "s03"]), ("s04",), np.array(["s05", "s03"]))
    with pytest.raises(LeakageError, match=r"\['s01', 's02'\]"):
        check_no_leakage(("s01", "s02"), ("s02", "s01", "s07"))
    # Repeated windows of one subject on one side are fine.
    check_no_leakage(np.array(["s01", "s01", "s02"]), np.array(["s03", "s03"]), ())


def test_more_folds_than_subjects_of_the_smaller_class():
    labels, subjects = _subject_level(n_subjects=10, n_per_class=4)  # 4 of class 1, 6 of class 0
    with pytest.raises(ValueError, match="Cannot make 5 folds") as info:
        make_folds(labels, subjects, n_splits=5)
    assert "class '1' has only 4 subjects" in str(info.value)
    assert "--folds 4" in str(info.value)
    with pytest.raises(ValueError, match="class 'patient' has only 4 subjects"):
        make_folds(labels, subjects, n_splits=5, class_names=["control", "patient"])
    assert len(make_folds(labels, subjects, n_splits=4)) == 4


@pytest.mark.parametrize("only", [0, 1])
def test_a_single_class_is_an_error(only):
    labels, subjects = _subject_level(n_subjects=4)
    labels[:] = only
    with pytest.raises(ValueError, match=f"one class \\({only}\\)"):
        make_folds(labels, subjects, n_splits=2)
    with pytest.raises(
        ValueError, match="one class \\(task\\)" if only else "one class \\(rest\\)"
    ):
        make_folds(labels, subjects, n_splits=2, class_names=["rest", "task"])


def test_class_labels_need_not_start_at_zero():
    labels, subjects = _subject_level(n_subjects=6)
    labels = labels + 1  # classes 1 and 2
    with pytest.raises(ValueError, match="Cannot make 4 folds: class '\\d' has only 3 subjects"):
        make_folds(labels, subjects, n_splits=4)
    _check_partition(make_folds(labels, subjects, n_splits=3), set(subjects))


def test_unknown_method_lists_allowed():
    labels, subjects = _subject_level()
    with pytest.raises(
        ValueError, match="Allowed values are 'group-kfold', 'loso', .*but got 'kfold'"
    ):
        make_folds(labels, subjects, method="kfold")


def test_too_few_folds():
    labels, subjects = _subject_level()
    with pytest.raises(ValueError, match="at least 2, got 1"):
        make_folds(labels, subjects, n_splits=1)


def test_no_windows_is_an_error():
    with pytest.raises(ValueError, match="no windows"):
        make_folds(np.array([], dtype=int), np.array([], dtype=str))


def test_recording_level_labels():
    labels, subjects = _recording_level()
    folds = make_folds(labels, subjects, n_splits=5, seed=0)
    assert len(folds) == 5
    _check_partition(folds, set(subjects))
    for fold in folds:
        assert len(fold.test_subjects) == 2
        assert fold.val_subjects
        train_windows = np.isin(subjects, fold.train_subjects)
        assert set(labels[train_windows]) == {0, 1}


def test_save_folds(tmp_path):
    labels, subjects = _subject_level()
    folds = make_folds(labels, subjects, n_splits=5, seed=0)
    path = tmp_path / "folds.csv"
    save_folds(folds, path)
    with path.open(newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["fold", "group", "role"]
    body = rows[1:]
    assert {role for _, _, role in body} == {"train", "val", "test"}
    # Every subject has exactly one row in every fold, and one test row over all folds.
    for fold in folds:
        in_fold = [(subject, role) for index, subject, role in body if int(index) == fold.index]
        assert sorted(s for s, _ in in_fold) == sorted(set(subjects))
        assert sorted(s for s, role in in_fold if role == "test") == sorted(fold.test_subjects)
        assert sorted(s for s, role in in_fold if role == "val") == sorted(fold.val_subjects)
    test_rows = sorted(subject for _, subject, role in body if role == "test")
    assert test_rows == sorted(set(subjects))
    assert len(body) == len(folds) * len(set(subjects))


def test_time_blocks_are_contiguous_per_class_and_leave_out_shared_edges():
    from eeg_gnn.evaluation.splitters import time_blocks

    labels = np.array([0] * 40 + [1] * 30)
    subjects = np.array(["p"] * 70)
    recordings = np.array(["r"] * 70)
    onsets = np.arange(70) * 2.0
    groups = time_blocks(labels, subjects, recordings, onsets, 5, window_s=2.0)
    assert groups[0] == "p|0|block0" and groups[39] == "p|0|block4" and groups[40] == "p|1|block0"
    assert all(groups[i] <= groups[i + 1] for i in range(39))
    overlapping = time_blocks(labels, subjects, recordings, onsets, 5, window_s=4.0)
    assert overlapping[7] == "" and overlapping[8] == "" and overlapping[0] != "" and overlapping[6] != ""
    kept = overlapping != ""
    folds = make_folds(labels[kept], overlapping[kept], n_splits=5, method="time-blocks")
    assert len(folds) == 5
    for fold in folds:
        assert {g.split("|")[1] for g in fold.test_subjects} == {"0", "1"}


def test_time_blocks_over_several_recordings_never_share_samples():
    from eeg_gnn.evaluation.splitters import time_blocks

    recordings = np.repeat(["a", "b", "c"], 20)
    onsets = np.tile(np.arange(20) * 2.0, 3)
    labels = np.zeros(60, dtype=int)
    subjects = np.array(["p"] * 60)
    groups = time_blocks(labels, subjects, recordings, onsets, 2, window_s=4.0)
    assert set(groups[recordings == "a"]) == {"p|0|block0"}
    assert set(groups[recordings == "c"]) == {"p|0|block1"}
    for recording in "abc":
        mask = (recordings == recording) & (groups != "")
        times, members = onsets[mask], groups[mask]
        for i in range(len(times)):
            for j in range(len(times)):
                if members[i] != members[j]:
                    assert abs(times[i] - times[j]) >= 4.0


def test_no_validation_split_when_val_fraction_is_zero():
    labels, subjects = _subject_level()
    folds = make_folds(labels, subjects, n_splits=5, val_fraction=0.0)
    assert all(fold.val_subjects == () for fold in folds)
