"""Band-wise covariances, the tangent-space and tuned logistic-regression baselines, and their cache entries."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from eeg_gnn.models.baselines import (
    BASELINES,
    C_GRID,
    BandTangentSpace,
    TunedLogisticRegression,
    baseline_input,
    fit_baseline,
    make_baseline,
)
from eeg_gnn.signal.covariance import band_covariance, band_filter

SFREQ = 128.0
BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}


def _windows(rng, n_windows, n_nodes=4, scale=None):
    """White-noise windows of 2 s in volts; ``scale`` multiplies each node's amplitude."""
    data = rng.normal(0, 10e-6, (n_windows, n_nodes, int(2 * SFREQ)))
    if scale is not None:
        data *= np.asarray(scale)[None, :, None]
    return data


def _cohort(rng, n_subjects, scale_of_class_1, windows_per_class=10):
    """Windows of two classes for every subject; class 1 has its nodes' amplitudes multiplied by the given scales."""
    covs, labels, subjects = [], [], []
    for subject in range(n_subjects):
        for label, scale in ((0, None), (1, scale_of_class_1)):
            covs.append(band_covariance(_windows(rng, windows_per_class, scale=scale), SFREQ, BANDS))
            labels += [label] * windows_per_class
            subjects += [f"s{subject:02d}"] * windows_per_class
    return np.concatenate(covs), np.array(labels), np.array(subjects)


def _train_test(covs, labels, subjects, n_train):
    train = np.isin(subjects, np.unique(subjects)[:n_train])
    pipeline = make_baseline("tangent_space").set_params(tunedlogisticregression__Cs=(1e-3, 1e-2, 1e-1))
    model = fit_baseline(pipeline, covs[train], labels[train], subjects[train])
    proba = model.predict_proba(covs[~train])
    return labels[~train], proba


def test_tangent_space_separates_classes_differing_in_one_nodes_variance():
    covs, labels, subjects = _cohort(np.random.default_rng(0), 8, scale_of_class_1=[3.0, 1, 1, 1])
    y, proba = _train_test(covs, labels, subjects, n_train=5)
    assert balanced_accuracy_score(y, proba.argmax(1)) == 1.0
    assert roc_auc_score(y, proba[:, 1]) == 1.0


def test_tangent_space_is_at_chance_when_covariances_are_equal():
    covs, labels, subjects = _cohort(np.random.default_rng(1), 10, scale_of_class_1=[1.0, 1, 1, 1], windows_per_class=30)
    y, proba = _train_test(covs, labels, subjects, n_train=6)
    assert abs(balanced_accuracy_score(y, proba.argmax(1)) - 0.5) < 0.1
    assert abs(roc_auc_score(y, proba[:, 1]) - 0.5) < 0.1


def test_band_covariance_of_a_sine_is_its_power_in_its_band_only():
    times = np.arange(int(4 * SFREQ)) / SFREQ
    windows = np.zeros((1, 2, times.size))
    windows[0, 0] = 20e-6 * np.sin(2 * np.pi * 10 * times)
    windows[0, 1] = 0.1e-6 * np.random.default_rng(2).normal(size=times.size)
    cov = band_covariance(windows, SFREQ, BANDS, estimator="scm")
    assert cov.shape == (1, 2, 2, 2)
    assert cov[0, 1, 0, 0] == pytest.approx(20**2 / 2, rel=0.05)  # alpha: A^2 / 2 in µV²
    assert cov[0, 0, 0, 0] < 0.05 * cov[0, 1, 0, 0]  # theta: almost nothing of a 10 Hz sine


def test_oas_covariance_of_average_referenced_windows_is_positive_definite():
    windows = _windows(np.random.default_rng(3), 5, n_nodes=6)
    windows -= windows.mean(axis=1, keepdims=True)
    assert np.linalg.eigvalsh(band_covariance(windows, SFREQ, BANDS, estimator="scm")).min() < 1e-9
    covs = band_covariance(windows, SFREQ, BANDS)
    np.testing.assert_allclose(covs, np.swapaxes(covs, -1, -2))
    assert np.linalg.eigvalsh(covs).min() > 0


def test_oas_matches_scikit_learn_window_by_window():
    from sklearn.covariance import oas

    windows = _windows(np.random.default_rng(8), 6, n_nodes=5)
    windows[:3] -= windows[:3].mean(axis=1, keepdims=True)
    ours = band_covariance(windows, SFREQ, BANDS)
    filtered = band_filter(windows, SFREQ, BANDS) * 1e6
    for w in range(6):
        for b in range(2):
            np.testing.assert_allclose(ours[w, b], oas(filtered[w, b].T)[0], rtol=1e-10)


def test_band_filter_shapes_and_errors():
    windows = _windows(np.random.default_rng(4), 3)
    assert band_filter(windows, SFREQ, {"low": (0.0, 4.0), **BANDS}).shape == (3, 3, 4, windows.shape[-1])
    with pytest.raises(ValueError, match="Nyquist"):
        band_filter(windows, SFREQ, {"high": (30.0, 80.0)})
    with pytest.raises(ValueError, match="n_windows, n_nodes, n_times"):
        band_filter(windows[0], SFREQ, BANDS)
    with pytest.raises(ValueError, match="'covariance' parameter"):
        band_covariance(windows, SFREQ, BANDS, estimator="lwf")


def test_band_tangent_space_dimension_and_band_check():
    covs = band_covariance(_windows(np.random.default_rng(5), 8), SFREQ, BANDS)
    space = BandTangentSpace().fit(covs)
    assert space.transform(covs).shape == (8, 2 * 4 * 5 // 2)
    with pytest.raises(ValueError, match="1 bands; this transformer was fitted on 2"):
        space.transform(covs[:, :1])
    with pytest.raises(ValueError, match="n_bands, n_nodes, n_nodes"):
        space.fit(covs[:, 0])


def test_tuned_logistic_regression_picks_c_from_its_grid_with_the_folds_the_subjects_allow():
    rng = np.random.default_rng(6)
    labels = np.tile([0, 1], 60)
    X = rng.normal(size=(120, 5)) + labels[:, None]
    subjects = np.repeat([f"s{i}" for i in range(3)], 40)
    model = TunedLogisticRegression(Cs=C_GRID[::3], extensions=0).fit(X, labels, groups=subjects)
    assert model.C_ in C_GRID[::3]
    assert model.Cs_ == tuple(sorted(C_GRID[::3]))
    assert model.n_inner_ == 3
    assert balanced_accuracy_score(labels, model.predict(X)) > 0.8


def _scored_by(score_of_C):
    """A TunedLogisticRegression whose inner scores are ``score_of_C(C)`` (the grid logic alone, no fitting)."""
    class Scripted(TunedLogisticRegression):
        def _search(self, estimator, Cs, X, y, groups, cv):
            self.searched_ = [*getattr(self, "searched_", []), list(Cs)]
            return {float(c): score_of_C(c) for c in Cs}

    return Scripted


def _tiny_cohort():
    rng = np.random.default_rng(8)
    labels = np.tile([0, 1], 30)
    return rng.normal(size=(60, 3)) + labels[:, None], labels, np.repeat([f"s{i}" for i in range(3)], 20)


def test_the_grid_of_C_is_extended_while_the_best_C_is_at_its_edge():
    X, labels, subjects = _tiny_cohort()
    peak_at_1e_minus_9 = _scored_by(lambda C: -abs(np.log10(C) + 9))
    model = peak_at_1e_minus_9(Cs=(1e-6, 1e-4, 1e-2)).fit(X, labels, groups=subjects)
    assert model.searched_ == [[1e-6, 1e-4, 1e-2], [1e-8, 1e-7], [1e-10, 1e-9]]
    assert model.C_ == pytest.approx(1e-9)
    assert not model.at_grid_edge_
    assert model.Cs_[0] == pytest.approx(1e-10) and model.Cs_[-1] == 1e-2


def test_a_C_still_at_the_edge_after_the_extensions_is_flagged():
    X, labels, subjects = _tiny_cohort()
    larger_is_better = _scored_by(lambda C: np.log10(C))
    model = larger_is_better(Cs=(1e-2, 1.0), extensions=2).fit(X, labels, groups=subjects)
    assert model.C_ == pytest.approx(1e4)
    assert model.at_grid_edge_
    interior = _scored_by(lambda C: -abs(np.log10(C)))(Cs=(1e-2, 1.0, 1e2)).fit(X, labels, groups=subjects)
    assert interior.C_ == 1.0 and not interior.at_grid_edge_
    assert interior.searched_ == [[1e-2, 1.0, 1e2]]


def test_equal_inner_scores_choose_the_middle_C_and_do_not_extend_the_grid():
    X, labels, subjects = _tiny_cohort()
    model = _scored_by(lambda C: 0.5)(Cs=(1e-2, 1.0, 1e2, 1e3)).fit(X, labels, groups=subjects)
    assert model.C_ == 1.0 and not model.at_grid_edge_
    assert model.searched_ == [[1e-2, 1.0, 1e2, 1e3]]
    separable_above_1 = _scored_by(lambda C: float(C >= 1.0))(Cs=(1e-2, 1.0, 1e2)).fit(X, labels, groups=subjects)
    assert separable_above_1.C_ == 1.0


def test_tuned_logistic_regression_needs_two_subjects_per_class():
    X = np.random.default_rng(7).normal(size=(40, 3))
    labels = np.repeat([0, 1], 20)
    with pytest.raises(ValueError, match="at least 2 subjects of each class; the training side has 1"):
        TunedLogisticRegression().fit(X, labels, groups=np.repeat(["a", "b"], 20))
    with pytest.raises(ValueError, match="pass groups"):
        TunedLogisticRegression().fit(X, labels)


def test_baseline_input_by_name():
    features = np.zeros((3, 4, 5))
    covariance = np.zeros((3, 5, 4, 4))
    assert baseline_input("logreg", features, covariance).shape == (3, 20)
    assert baseline_input("tangent_space", features, covariance) is covariance
    with pytest.raises(ValueError, match="covariance matrices"):
        baseline_input("tangent_space", features, None)
    with pytest.raises(ValueError, match="'baselines' parameter"):
        make_baseline("svm")
    assert set(BASELINES) == {"logreg", "tangent_space", "csp_lda"}
    assert baseline_input("csp_lda", features, covariance) is covariance


def test_covariances_are_cached_under_their_own_key(cohort):
    from eeg_gnn.data.datasets import load_dataset
    from eeg_gnn.data.extraction import FeatureSpec, load_or_compute
    from eeg_gnn.signal.preprocessing import Preprocessing

    recording = load_dataset("folder", cohort).recordings[0]
    preprocessing = Preprocessing(resample_sfreq=SFREQ)
    plain, hit = load_or_compute(recording, preprocessing, "10-20", FeatureSpec(bands=BANDS))
    assert plain.covariance is None
    first, hit = load_or_compute(recording, preprocessing, "10-20", FeatureSpec(bands=BANDS, covariance="oas"))
    assert not hit and first.covariance.shape == (len(first.onsets), 2, 19, 19)
    again, hit = load_or_compute(recording, preprocessing, "10-20", FeatureSpec(bands=BANDS, covariance="oas"))
    assert hit
    np.testing.assert_array_equal(again.covariance, first.covariance)
    np.testing.assert_array_equal(again.features, plain.features)


def test_the_summary_names_the_folds_whose_C_is_at_the_edge_of_its_grid():
    from eeg_gnn.pipeline.experiment import _grid_edge_lines

    report = {"inner_cv": {"C": [1e-2, 1e-10, 1.0], "at_grid_edge": [False, True, False]}}
    assert _grid_edge_lines("tangent_space", report) == [
        "    tangent_space: C at the edge of the grid searched in fold(s) 1 (C = 1e-10); a better C may lie outside it"]
    assert _grid_edge_lines("logreg", {"inner_cv": {"C": [1.0], "at_grid_edge": [False]}}) == []
    assert _grid_edge_lines("graph", {"validation": {}}) == []
