"""GraphClassifier as a scikit-learn estimator, scored next to the baselines with scikit-learn's own tools."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.utils.estimator_checks import parametrize_with_checks

from eeg_gnn.evaluation.splitters import SubjectKFold
from eeg_gnn.models.estimator import GraphClassifier

N_NODES, N_BANDS = 6, 3


def _cohort(n_subjects: int = 8, n_windows: int = 16, seed: int = 0):
    """Windows whose class shows as extra power in band 1 on every node, plus one ring graph."""
    rng = np.random.default_rng(seed)
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], n_windows)
    labels = np.tile([0, 1], len(subjects) // 2)
    features = rng.normal(size=(len(subjects), N_NODES, N_BANDS))
    features[labels == 1, :, 1] += 1.5
    ring = np.roll(np.eye(N_NODES), 1, axis=1)
    return features, labels, subjects, ring + ring.T


def test_cross_validate_next_to_a_baseline():
    X, y, groups, ring = _cohort()
    model = GraphClassifier("cheb", ring, epochs=30, hidden=8, batch_size=16, lr=1e-2)
    graph = cross_validate(model, X, y, groups=groups, cv=GroupKFold(4), scoring="balanced_accuracy")
    linear = cross_validate(LogisticRegression(), X.reshape(len(X), -1), y, groups=groups, cv=GroupKFold(4),
                            scoring="balanced_accuracy")
    assert graph["test_score"].mean() > 0.85
    assert linear["test_score"].mean() > 0.85


def test_flat_input_and_graphs_inside_x_give_the_fitted_shapes():
    X, y, groups, ring = _cohort(n_subjects=4)
    flat = GraphClassifier("gcn", ring, epochs=2, batch_size=16).fit(X.reshape(len(X), -1), y)
    assert flat.predict_proba(X.reshape(len(X), -1)).shape == (len(X), 2)
    per_window = np.broadcast_to(ring, (len(X), N_NODES, N_NODES))
    packed = np.concatenate([X, per_window], axis=2)
    model = GraphClassifier("cheb", "from_X", epochs=2, batch_size=16).fit(packed, y, groups=groups)
    assert set(model.predict(packed)) <= {0, 1}
    with pytest.raises(ValueError, match=r"n_features \+ n_nodes"):
        GraphClassifier("cheb", "from_X").fit(X, y)


def test_labels_keep_their_names_and_params_round_trip():
    X, y, groups, ring = _cohort(n_subjects=4)
    names = np.where(y == 1, "arithmetic", "rest")
    model = GraphClassifier("cheb", ring, epochs=2, batch_size=16, seed=3)
    assert clone(model).get_params()["seed"] == 3
    fitted = model.fit(X, names)
    assert list(fitted.classes_) == ["arithmetic", "rest"]
    assert set(fitted.predict(X)) <= {"arithmetic", "rest"}


def test_same_seed_same_probabilities():
    X, y, _, ring = _cohort(n_subjects=4)
    first = GraphClassifier("cheb", ring, epochs=3, batch_size=16).fit(X, y).predict_proba(X)
    second = GraphClassifier("cheb", ring, epochs=3, batch_size=16).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(("model", "identity"), [("gat", {"readout": "flatten", "heads": 2}),
                                               ("gin", {"node_embedding": 2}), ("gcn", {"self_weight": True})])
def test_new_models_and_readouts_fit_and_are_reproducible(model, identity):
    X, y, _, ring = _cohort(n_subjects=4)
    estimator = GraphClassifier(model, ring, epochs=3, batch_size=16, **identity)
    params = estimator.get_params()
    assert {key: clone(estimator).get_params()[key] for key in identity} == identity == {key: params[key]
                                                                                        for key in identity}
    first = estimator.fit(X, y)
    assert first.module_.readout == identity.get("readout", "pool")
    second = clone(estimator).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_subject_kfold_refuses_nothing_it_should_not():
    X, y, groups, ring = _cohort()
    for train, test in SubjectKFold(4).split(X, y, groups):
        assert not set(groups[train]) & set(groups[test])


#: Checks a small neural network cannot pass, and why.
EXPECTED_FAILURES = {
    "check_classifiers_train": "two epochs on 30-150 random samples do not reach the check's 0.83 accuracy",
    "check_n_features_in_after_fitting": "the check scores a two-epoch model whose predictions miss a class, and "
                                         "the metric's warning is an error in this test suite",
}


@pytest.mark.slow
@parametrize_with_checks([GraphClassifier(epochs=2, hidden=4, batch_size=8, patience=2)],
                         expected_failed_checks=lambda estimator: EXPECTED_FAILURES)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
