"""Non-graph baselines a reviewer accepts: tuned logistic regression and Riemannian tangent space.

Both end in a logistic regression whose inverse regularisation ``C`` is chosen by an inner cross-validation over
the *training* subjects only (folds by subject, scored by balanced accuracy; scikit-learn's ``GridSearchCV``; the
middle one among equally scored values), classes weighted by their inverse frequency as in the graph models' loss.
The grid of ``C`` (:data:`C_GRID`, 1e-6 to 1e2) is extended by :data:`C_STEP` decades at a time while the best value
sits at its edge, at most :data:`C_EXTENSIONS` times on each side; a choice still at the edge after that is reported
(``at_grid_edge``), since a better ``C`` may lie outside the values tried.

``logreg``
    The node features of a window flattened (n_nodes * n_bands), standardised.
``tangent_space``
    The band-wise covariance matrices of a window (:func:`eeg_gnn.signal.covariance.band_covariance`), each band
    mapped to the tangent space at the Riemannian mean of the training windows (pyriemann's ``TangentSpace``;
    Barachant et al. 2012, *Neurocomputing* 112:172-178), the bands' vectors concatenated and standardised.
``csp_lda``
    Common spatial patterns + linear discriminant analysis (Ramoser et al. 2000; Blankertz et al. 2008), the
    classic of motor imagery: the band-wise covariance matrices summed over the bands are the covariance of the
    signal band-passed to their union (the bands are disjoint; 8-30 Hz for the motor_imagery bands mu and beta);
    6 spatial filters (pyRiemann's ``CSP``, which works on the covariance matrices the pipeline keeps, where MNE's
    ``mne.decoding.CSP`` needs the signals), the log variances of the filtered windows into scikit-learn's LDA. No
    hyper-parameter is tuned; the inner folds over subjects only set its decision threshold.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from eeg_gnn.evaluation.splitters import SubjectKFold
from eeg_gnn.evaluation.thresholds import balanced_threshold
from eeg_gnn.models.catalog import BASELINES
from eeg_gnn.utils.validation import check_option

C_GRID = tuple(np.logspace(-6, 2, 9).tolist())
#: Decades added to an edge of the grid of ``C`` when the best value sits there, and how many times at most.
C_STEP = 2
C_EXTENSIONS = 2
INNER_FOLDS = 5
INNER_SCORING = "balanced_accuracy"


class BandTangentSpace(TransformerMixin, BaseEstimator):
    """Each band's covariance matrices mapped to the tangent space at their Riemannian mean, bands concatenated.

    Parameters
    ----------
    metric : str
        pyriemann's metric for the mean and the mapping (``'riemann'``: affine-invariant).

    Notes
    -----
    ``X`` has shape (n_windows, n_bands, n_nodes, n_nodes) of symmetric positive definite matrices; the output
    has shape (n_windows, n_bands * n_nodes * (n_nodes + 1) / 2).
    """

    def __init__(self, metric: str = "riemann"):
        self.metric = metric

    def fit(self, X, y=None) -> BandTangentSpace:
        from pyriemann.tangentspace import TangentSpace

        X = _check_covariances(X)
        self.spaces_ = [TangentSpace(metric=self.metric).fit(X[:, band]) for band in range(X.shape[1])]
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "spaces_")
        X = _check_covariances(X)
        if X.shape[1] != len(self.spaces_):
            raise ValueError(f"X has {X.shape[1]} bands; this transformer was fitted on {len(self.spaces_)}.")
        return np.concatenate([space.transform(X[:, band]) for band, space in enumerate(self.spaces_)], axis=1)


def _check_covariances(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 4 or X.shape[2] != X.shape[3]:
        raise ValueError(f"Covariances must have shape (n_windows, n_bands, n_nodes, n_nodes), got {X.shape}.")
    return X


class _PredictsWithModel:
    """Predictions of the fitted ``model_`` an estimator of this module wraps."""

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict(X)


class TunedLogisticRegression(_PredictsWithModel, ClassifierMixin, BaseEstimator):
    """Logistic regression whose ``C`` is chosen by cross-validation over groups (subjects) of the training data.

    Parameters
    ----------
    Cs : sequence of float
        Candidate inverse regularisation strengths, in increasing order.
    n_inner : int
        Inner folds (stratified group k-fold); fewer when the training data hold fewer groups per class.
    scoring : str
        scikit-learn scorer the inner folds are compared by.
    seed : int
    extensions : int
        How many times the grid may be extended on each side while the best ``C`` is its smallest or largest
        value: each extension adds :data:`C_STEP` decades beyond that edge (one value per decade). 0 searches
        ``Cs`` alone.

    Attributes
    ----------
    C_ : float
        The chosen ``C`` (the middle one among equally scored values).
    inner_score_ : float
        Its mean inner-fold score.
    Cs_ : tuple of float
        Every ``C`` that was scored, in increasing order.
    at_grid_edge_ : bool
        Whether ``C_`` is still the smallest or largest of ``Cs_`` after the extensions: the best value may lie
        outside the grid.
    threshold_ : float or None
        For two classes, the decision threshold on the class-1 probability that maximises the balanced accuracy
        of the inner folds' out-of-fold predictions at the chosen ``C`` (training data only); None otherwise.
    """

    def __init__(self, Cs=C_GRID, n_inner: int = INNER_FOLDS, scoring: str = INNER_SCORING, seed: int = 0,
                 extensions: int = C_EXTENSIONS):
        self.Cs = Cs
        self.n_inner = n_inner
        self.scoring = scoring
        self.seed = seed
        self.extensions = extensions

    def fit(self, X, y, groups=None) -> TunedLogisticRegression:
        """Fit on ``X`` (n_windows, n_features) with labels ``y``; ``groups`` (the subjects) make the inner folds."""
        if groups is None:
            raise ValueError("TunedLogisticRegression chooses C by folds of subjects: pass groups=<subject of each "
                             "window>.")
        y, groups = np.asarray(y), np.asarray(groups).astype(str)
        n_inner = min(self.n_inner, inner_fold_capacity(y, groups))
        if n_inner < 2:
            raise ValueError(f"Choosing C by an inner cross-validation needs at least 2 subjects of each class; "
                             f"the training side has {inner_fold_capacity(y, groups)}.")
        estimator = LogisticRegression(class_weight="balanced", max_iter=5000, random_state=self.seed)
        cv = SubjectKFold(n_inner, random_state=self.seed)
        scores = self._search(estimator, sorted(float(c) for c in self.Cs), X, y, groups, cv)
        for _ in range(self.extensions):
            Cs = sorted(scores)
            best = _best_C(scores)
            beyond = ([Cs[0] / 10.0**step for step in range(C_STEP, 0, -1)] if best == Cs[0] else
                      [Cs[-1] * 10.0**step for step in range(1, C_STEP + 1)] if best == Cs[-1] else [])
            if not beyond:
                break
            scores.update(self._search(estimator, beyond, X, y, groups, cv))
        self.Cs_ = tuple(sorted(scores))
        self.C_ = _best_C(scores)
        self.inner_score_ = float(scores[self.C_])
        self.at_grid_edge_ = len(self.Cs_) > 1 and self.C_ in (self.Cs_[0], self.Cs_[-1])
        self.n_inner_ = n_inner
        self.model_ = clone(estimator).set_params(C=self.C_).fit(X, y)
        self.classes_ = self.model_.classes_
        self.threshold_ = None
        if len(self.classes_) == 2:
            held_out = cross_val_predict(clone(estimator).set_params(C=self.C_), X, y, groups=groups, cv=cv,
                                         method="predict_proba")
            self.threshold_ = balanced_threshold(np.searchsorted(self.classes_, y), held_out[:, 1])
        return self

    def _search(self, estimator, Cs, X, y, groups, cv) -> dict[float, float]:
        """The mean inner-fold score of every ``C`` of ``Cs``."""
        search = GridSearchCV(estimator, {"C": list(Cs)}, cv=cv, scoring=self.scoring, refit=False)
        search.fit(X, y, groups=groups)
        return {float(c): float(s) for c, s in zip(search.cv_results_["param_C"], search.cv_results_["mean_test_score"])}



def _best_C(scores: dict[float, float]) -> float:
    """The ``C`` of the highest score; among equally scored values the middle one (the smaller of the two middle
    ones for an even number). Not the smallest: on data that many ``C`` separate equally well that would be the
    grid's lower edge, whose almost constant probabilities carry no ranking once rounded."""
    best = max(scores.values())
    tied = sorted(c for c, score in scores.items() if score == best)
    return tied[(len(tied) - 1) // 2]


class SummedBands(TransformerMixin, BaseEstimator):
    """Band-wise covariance matrices summed over the bands: (n_windows, n_bands, n_nodes, n_nodes) ->
    (n_windows, n_nodes, n_nodes), the covariance of the signal in the union of the (disjoint) bands."""

    def fit(self, X, y=None) -> SummedBands:
        _check_covariances(X)
        return self

    def transform(self, X) -> np.ndarray:
        return _check_covariances(X).sum(axis=1)


class CSPLDA(_PredictsWithModel, ClassifierMixin, BaseEstimator):
    """CSP + LDA on band-wise covariance matrices, with a decision threshold from inner folds over subjects.

    Parameters
    ----------
    n_filters : int
        CSP filters (pyRiemann's ``CSP(nfilter=...)``: the most discriminant ones of both ends).
    n_inner : int
        Inner folds (by subject) whose out-of-fold predictions set the two-class threshold.
    seed : int

    Attributes
    ----------
    C_ : None
        No regularisation is chosen (kept so that every baseline reports the same fields).
    inner_score_ : float
        Balanced accuracy of the inner folds' out-of-fold predictions (argmax).
    threshold_ : float or None
        For two classes, the threshold on the class-1 probability maximising the balanced accuracy of those
        predictions; None otherwise.
    """

    def __init__(self, n_filters: int = 6, n_inner: int = INNER_FOLDS, seed: int = 0):
        self.n_filters = n_filters
        self.n_inner = n_inner
        self.seed = seed

    def _pipeline(self) -> Pipeline:
        from pyriemann.spatialfilters import CSP
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        return make_pipeline(SummedBands(), CSP(nfilter=self.n_filters, metric="euclid", log=True),
                             LinearDiscriminantAnalysis())

    def fit(self, X, y, groups=None) -> CSPLDA:
        """Fit on covariances ``X`` (n_windows, n_bands, n_nodes, n_nodes); ``groups`` (subjects) make the inner
        folds for the threshold."""
        from sklearn.metrics import balanced_accuracy_score

        if groups is None:
            raise ValueError("CSPLDA sets its threshold by folds of subjects: pass groups=<subject of each window>.")
        y, groups = np.asarray(y), np.asarray(groups).astype(str)
        self.model_ = self._pipeline().fit(X, y)
        self.classes_ = self.model_.classes_
        self.C_ = None
        self.n_inner_ = min(self.n_inner, inner_fold_capacity(y, groups))
        self.threshold_, self.inner_score_ = None, float("nan")
        if self.n_inner_ >= 2:
            held_out = cross_val_predict(self._pipeline(), X, y, groups=groups,
                                         cv=SubjectKFold(self.n_inner_, random_state=self.seed),
                                         method="predict_proba")
            self.inner_score_ = float(balanced_accuracy_score(y, self.classes_[held_out.argmax(axis=1)]))
            if len(self.classes_) == 2:
                self.threshold_ = balanced_threshold(np.searchsorted(self.classes_, y), held_out[:, 1])
        return self



def groups_per_class(labels: np.ndarray, groups: np.ndarray, classes=None) -> dict[int, int]:
    """How many groups (subjects) hold windows of each class (of ``classes``, default the classes in ``labels``)."""
    classes = np.unique(labels) if classes is None else classes
    return {int(c): len(np.unique(groups[labels == c])) for c in classes}


def inner_fold_capacity(labels: np.ndarray, groups: np.ndarray) -> int:
    """How many inner folds the groups allow: the fewest groups holding windows of any one class."""
    return min(groups_per_class(labels, groups).values())


def make_baseline(name: str, *, seed: int = 0, n_inner: int = INNER_FOLDS) -> Pipeline:
    """A fresh, unfitted baseline pipeline by name (see :data:`BASELINES`); fit it with :func:`fit_baseline`."""
    check_option("baselines", name, BASELINES)
    if name == "csp_lda":
        return make_pipeline(CSPLDA(n_inner=n_inner, seed=seed))
    tuned = TunedLogisticRegression(n_inner=n_inner, seed=seed)
    if name == "logreg":
        return make_pipeline(StandardScaler(), tuned)
    return make_pipeline(BandTangentSpace(), StandardScaler(), tuned)


def fit_baseline(pipeline: Pipeline, X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> Pipeline:
    """Fit a :func:`make_baseline` pipeline, passing the subjects to its inner cross-validation."""
    return pipeline.fit(X, y, **{f"{pipeline.steps[-1][0]}__groups": groups})


def baseline_input(name: str, features: np.ndarray, covariance: np.ndarray | None) -> np.ndarray:
    """What baseline ``name`` reads of the windows: flattened node features, or the band-wise covariances.

    Parameters
    ----------
    features : ndarray, shape (n_windows, n_nodes, n_bands)
    covariance : ndarray, shape (n_windows, n_bands, n_nodes, n_nodes), or None
    """
    check_option("baselines", name, BASELINES)
    if BASELINES[name].input == "features":
        return features.reshape(features.shape[0], -1)
    if covariance is None:
        raise ValueError(f"Baseline {name!r} needs the band-wise covariance matrices of the windows; extract features "
                         "with a covariance estimator (FeatureSpec(covariance='oas')).")
    return covariance
