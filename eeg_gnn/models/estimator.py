"""The graph models as a scikit-learn classifier: ``fit(X, y)``, ``predict_proba(X)``, ``get_params()``.

So that ``sklearn.model_selection.cross_validate(GraphClassifier(...), X, y, groups=subjects, cv=SubjectKFold(5))``
scores a graph model next to any scikit-learn baseline on the same folds.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from eeg_gnn.utils.validation import check_option

FROM_X = "from_X"


class GraphClassifier(ClassifierMixin, BaseEstimator):
    """A graph classifier of EEG windows (GCN, Chebyshev, DGCNN, GAT or GIN), trained with early stopping.

    Parameters
    ----------
    model : str
        A graph model name (``'cheb'``, ``'gcn'``, ...; see :data:`eeg_gnn.models.classifiers.MODELS`).
    adjacency : ndarray, shape (n_nodes, n_nodes), ``'from_X'`` or None
        The graph shared by every window; ``'from_X'`` when each window brings its own graph inside ``X`` (see
        below); None for no edges (each node sees only itself).
    hidden, layers, dropout, cheb_k
        Hidden channels, graph layers, dropout and Chebyshev order.
    readout : 'pool' | 'flatten'
        Mean and max over the nodes (montage-free), or the node embeddings in node order (one montage); see
        :class:`eeg_gnn.models.classifiers.GraphClassifierBase`.
    node_embedding : int
        Size of a learned vector per node appended to its features (0: none).
    self_weight : bool
        GCN only: a weight of its own for each node's features.
    heads : int
        GAT only: attention heads.
    epochs, patience, batch_size, lr, weight_decay
        Training: at most ``epochs`` epochs of Adam, stopped ``patience`` epochs after the validation loss stopped
        improving; the model of the best epoch is kept.
    val_fraction : float
        Share of the training windows held out for early stopping: whole groups when ``fit`` gets ``groups``
        (pass the subjects), else random windows; 0 stops on the training loss.
    standardize : bool
        Z-score every node feature with statistics of the training windows.
    seed : int
    device : str
    backend : 'dense' | 'pyg'
        Batched matrix products on graph operators computed once per window, or PyG message passing (same
        results; see :mod:`eeg_gnn.models.dense`).

    Notes
    -----
    ``X`` is ``(n_windows, n_nodes, n_features)``, or 2-D ``(n_windows, n_nodes * n_features)`` when
    ``adjacency`` gives ``n_nodes`` (2-D ``X`` without an adjacency is one feature per node). With
    ``adjacency='from_X'`` every node's row is its features followed by its row of the window's adjacency:
    ``(n_windows, n_nodes, n_features + n_nodes)``, so that per-window connectivity graphs go through
    scikit-learn's indexing with the features.
    """

    def __init__(self, model: str = "cheb", adjacency=None, *, hidden: int = 32, layers: int = 2,
                 dropout: float = 0.3, cheb_k: int = 3, readout: str = "pool", node_embedding: int = 0,
                 self_weight: bool = False, heads: int = 1, epochs: int = 60, patience: int = 15,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-3, val_fraction: float = 0.2,
                 standardize: bool = True, seed: int = 0, device: str = "cpu", backend: str = "dense"):
        self.model = model
        self.adjacency = adjacency
        self.hidden = hidden
        self.layers = layers
        self.dropout = dropout
        self.cheb_k = cheb_k
        self.readout = readout
        self.node_embedding = node_embedding
        self.self_weight = self_weight
        self.heads = heads
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.standardize = standardize
        self.seed = seed
        self.device = device
        self.backend = backend

    def _graphs(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split validated ``X`` into node features (n, n_nodes, n_features) and the adjacency it is used with."""
        if isinstance(self.adjacency, str):
            check_option("adjacency", self.adjacency, (FROM_X,))
            if X.ndim != 3 or X.shape[2] <= X.shape[1]:
                raise ValueError(f"adjacency='from_X' needs X of shape (n_windows, n_nodes, n_features + n_nodes), "
                                 f"got {X.shape}.")
            n_nodes = X.shape[1]
            return X[:, :, :-n_nodes], np.ascontiguousarray(X[:, :, -n_nodes:], dtype=np.float32)
        if self.adjacency is None:
            features = X if X.ndim == 3 else X[:, :, None]
            n_nodes = features.shape[1]
            return features, np.zeros((n_nodes, n_nodes), dtype=np.float32)
        adjacency = np.asarray(self.adjacency, dtype=np.float32)
        if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
            raise ValueError(f"adjacency must be one (n_nodes, n_nodes) matrix or 'from_X', got shape "
                             f"{adjacency.shape}.")
        n_nodes = adjacency.shape[0]
        if X.ndim == 2:
            if X.shape[1] % n_nodes:
                raise ValueError(f"X has {X.shape[1]} columns, not a multiple of the adjacency's {n_nodes} nodes.")
            X = X.reshape(len(X), n_nodes, -1)
        if X.ndim != 3 or X.shape[1] != n_nodes:
            raise ValueError(f"X must be (n_windows, {n_nodes}, n_features) for a {n_nodes}-node adjacency, got "
                             f"shape {X.shape}.")
        return X, adjacency

    def _settings(self) -> SimpleNamespace:
        return SimpleNamespace(model=self.model, hidden=self.hidden, layers=self.layers, dropout=self.dropout,
                               cheb_k=self.cheb_k, readout=self.readout, node_embedding=self.node_embedding,
                               self_weight=self.self_weight, heads=self.heads, lr=self.lr, weight_decay=self.weight_decay, epochs=self.epochs,
                               patience=self.patience, batch_size=self.batch_size, seed=self.seed,
                               device=self.device, backend=self.backend, progress=False)

    def fit(self, X, y, groups=None) -> GraphClassifier:
        """Train on windows ``X`` with labels ``y``; ``groups`` (the subjects) keep validation subjects apart.

        Parameters
        ----------
        X : array-like, shape (n_windows, n_nodes, n_features) or (n_windows, n_nodes * n_features)
        y : array-like, shape (n_windows,)
        groups : array-like, shape (n_windows,), optional
        """
        from eeg_gnn.models.catalog import MODELS
        from eeg_gnn.models.training import standardise, train_graph_model

        check_option("model", self.model, MODELS)
        X, y = validate_data(self, X, y, reset=True, allow_nd=True, dtype=np.float64)
        check_classification_targets(y)
        features, adjacency = self._graphs(X)
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"GraphClassifier needs at least two classes; got one class: {self.classes_.tolist()}.")
        if len(features) < 2:
            raise ValueError(f"GraphClassifier needs at least two windows to train, got {len(features)}.")
        fit_index, val_index = self._validation_split(labels, groups)
        per_window = adjacency.ndim == 3
        fit_x, val_x = features[fit_index], features[val_index]
        if self.standardize:
            (fit_x, val_x), self.feature_mean_, self.feature_std_ = standardise(fit_x, val_x)
        else:
            self.feature_mean_, self.feature_std_ = None, None
        fit_x, val_x = fit_x.astype(np.float32), val_x.astype(np.float32)
        train = (fit_x, adjacency[fit_index] if per_window else adjacency, labels[fit_index].astype(np.int64))
        val = (val_x, adjacency[val_index] if per_window else adjacency, labels[val_index].astype(np.int64))
        self.module_, self.history_, self.best_epoch_ = train_graph_model(
            self._settings(), len(self.classes_), train, val if len(val_index) else None, init_seed=self.seed)
        return self

    def _validation_split(self, labels: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray]:
        everything = np.arange(len(labels))
        if not self.val_fraction:
            return everything, everything[:0]
        if groups is not None:
            groups = np.asarray(groups)
            if len(np.unique(groups)) < 2:
                return everything, everything[:0]
            split = GroupShuffleSplit(n_splits=1, test_size=self.val_fraction, random_state=self.seed)
            return next(split.split(labels, labels, groups))
        split = ShuffleSplit(n_splits=1, test_size=self.val_fraction, random_state=self.seed)
        return next(split.split(labels))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_windows, n_classes), columns in the order of ``classes_``."""
        from eeg_gnn.models.training import apply_standardisation, predict_proba

        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=np.float64)
        features, adjacency = self._graphs(X)
        if self.feature_mean_ is not None:
            features = apply_standardisation(features, self.feature_mean_, self.feature_std_)
        return predict_proba(self.module_, features.astype(np.float32), adjacency, device=self.device,
                             backend=self.backend)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each window, shape (n_windows,)."""
        check_is_fitted(self, "module_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.device != "cpu"
        return tags
