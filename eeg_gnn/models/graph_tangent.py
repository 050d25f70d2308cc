"""A Riemannian graph model: tangent-space band covariances filtered over the electrode graph, then a linear readout.

``tangent_graph`` (a ``--model``) is the ``tangent_space`` baseline with the run's graph added and nothing else
changed. Each window's band covariance ``C_b`` (n_nodes x n_nodes) is log-mapped at the Riemannian mean of the
training windows (pyRiemann's ``TangentSpace``; Barachant et al. 2013, *Neurocomputing* 112:172-178), giving a
symmetric tangent matrix ``T_b`` whose row ``i`` is electrode ``i``'s feature vector (what ``--node-features
tangent`` gives a graph network). The rows are filtered over the graph as in SGC (Wu et al. 2019, *ICML*,
"Simplifying graph convolutional networks"): with ``S = D^-1/2 (A + I) D^-1/2`` the normalised adjacency with self
loops (:func:`eeg_gnn.models.dense.gcn_adjacency`), hop ``k`` is ``S^k T_b S^k``: rows filtered (``S^k T_b``: each
electrode's row becomes a mix of its ``k``-hop neighbours' rows) and, so that the result stays symmetric and is
vectorised like the baseline, columns alike. Each hop's matrix is vectorised as pyRiemann's ``TangentSpace`` does
(upper triangle, off-diagonal entries times sqrt(2)), and the hops ``0 .. K`` are concatenated, so the readout learns
a coefficient per hop and entry: a polynomial filter of degree ``K`` in ``S`` whose coefficients are fitted, with
hop 0 (every electrode's own row, with weights of its own) always present, as in SIGN (Frasca et al. 2020,
arXiv:2004.11198). The readout is the baselines' standardisation and tuned logistic regression (``C`` by inner CV
over training subjects, :class:`eeg_gnn.models.baselines.TunedLogisticRegression`).

With ``K = 0`` (``--hops 0``) the features are exactly those of ``tangent_space`` and so are the predictions; on the
``no_edges`` control ``S = I`` and every hop repeats hop 0. A graph per window (connectivity) filters each window
with its own graph; one shared graph (distance) filters every window with it.

The model reads one array per window, the band covariances with the graph stacked after them
(:func:`graph_tangent_input`), so that it is a plain scikit-learn pipeline, saved with skops like the baselines.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from eeg_gnn.models.baselines import INNER_FOLDS, BandTangentSpace, TunedLogisticRegression
from eeg_gnn.signal.graph import check_adjacency

__all__ = ["GraphTangentSpace", "graph_tangent_input", "linear_importance", "make_tangent_graph"]


def graph_tangent_input(covariance: np.ndarray, adjacency: np.ndarray) -> np.ndarray:
    """What ``tangent_graph`` reads of the windows: the band covariances and the graph, one array.

    Parameters
    ----------
    covariance : ndarray, shape (n_windows, n_bands, n_nodes, n_nodes)
        Symmetric positive definite band covariances.
    adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
        One graph for every window, or a graph per window; symmetric, non-negative.

    Returns
    -------
    ndarray, shape (n_windows, n_bands + 1, n_nodes, n_nodes)
        ``[:, :-1]`` the covariances, ``[:, -1]`` each window's graph.
    """
    if covariance is None:
        raise ValueError("--model tangent_graph needs the band-wise covariance matrices of the windows (extract "
                         "features with a covariance estimator).")
    covariance = np.asarray(covariance, dtype=np.float64)
    if covariance.ndim != 4 or covariance.shape[2] != covariance.shape[3]:
        raise ValueError(f"covariance must have shape (n_windows, n_bands, n_nodes, n_nodes), got "
                         f"{covariance.shape}.")
    n_windows, n_nodes = covariance.shape[0], covariance.shape[-1]
    adjacency = check_adjacency(adjacency, n_nodes)
    if adjacency.ndim == 3 and adjacency.shape[0] != n_windows:
        raise ValueError(f"adjacency holds {adjacency.shape[0]} windows' graphs; the covariances have {n_windows} "
                         "windows.")
    graphs = np.broadcast_to(adjacency, (n_windows, n_nodes, n_nodes))
    return np.concatenate([covariance, graphs[:, None]], axis=1)


def _split(X) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 4 or X.shape[1] < 2 or X.shape[2] != X.shape[3]:
        raise ValueError(f"X must have shape (n_windows, n_bands + 1, n_nodes, n_nodes) (see graph_tangent_input), "
                         f"got {X.shape}.")
    return X[:, :-1], X[:, -1]


def normalised_adjacency(adjacency: np.ndarray) -> np.ndarray:
    """``D^-1/2 (A + I) D^-1/2`` of every graph (GCN's and SGC's propagation matrix), shape as the input."""
    import torch

    from eeg_gnn.models.dense import gcn_adjacency

    return gcn_adjacency(torch.from_numpy(np.ascontiguousarray(adjacency, dtype=np.float64))).numpy()


class GraphTangentSpace(TransformerMixin, BaseEstimator):
    """Band covariances in the tangent space, filtered over each window's graph for hops ``0 .. hops``.

    Parameters
    ----------
    hops : int
        ``K``, the largest power of the normalised adjacency; 0 gives the ``tangent_space`` baseline's features.
    metric : str
        pyRiemann's metric for the mean and the log map (``'riemann'``: affine-invariant).

    Notes
    -----
    ``X`` has shape (n_windows, n_bands + 1, n_nodes, n_nodes) (:func:`graph_tangent_input`); the output has shape
    (n_windows, (hops + 1) * n_bands * n_nodes * (n_nodes + 1) / 2), hop-major, then band, then pyRiemann's
    upper-triangle order. Only the covariances of the training windows are used by :meth:`fit` (no labels).
    """

    def __init__(self, hops: int = 2, metric: str = "riemann"):
        self.hops = hops
        self.metric = metric

    def fit(self, X, y=None) -> GraphTangentSpace:
        if isinstance(self.hops, bool) or not isinstance(self.hops, (int, np.integer)) or self.hops < 0:
            raise ValueError(f"hops must be a whole number >= 0, got {self.hops!r}.")
        covariance, _ = _split(X)
        self.space_ = BandTangentSpace(metric=self.metric).fit(covariance)
        return self

    def transform(self, X) -> np.ndarray:
        from pyriemann.geometry.tangentspace import unupper, upper

        check_is_fitted(self, "space_")
        covariance, adjacency = _split(X)
        vectors = self.space_.transform(covariance)
        if self.hops == 0:
            return vectors
        n_windows, n_bands = covariance.shape[:2]
        tangent = unupper(vectors.reshape(n_windows, n_bands, -1))
        operator = normalised_adjacency(adjacency)[:, None]
        hops = [vectors]
        for _ in range(self.hops):
            tangent = operator @ tangent @ operator
            hops.append(upper(tangent).reshape(n_windows, -1))
        return np.concatenate(hops, axis=1)


def make_tangent_graph(hops: int, *, seed: int = 0, n_inner: int = INNER_FOLDS) -> Pipeline:
    """A fresh, unfitted ``tangent_graph`` pipeline: :class:`GraphTangentSpace`, standardisation, and the tuned
    logistic regression of the baselines (fit it with :func:`eeg_gnn.models.baselines.fit_baseline`)."""
    return make_pipeline(GraphTangentSpace(hops=hops), StandardScaler(),
                         TunedLogisticRegression(n_inner=n_inner, seed=seed))


def linear_importance(pipeline: Pipeline, X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean |coefficient x standardised input| of a fitted ``tangent_graph`` pipeline, for node pairs and nodes.

    For a linear readout this is gradient x input of the explained class's logit (as
    :func:`eeg_gnn.models.attribution.gradient_x_input` for the graph networks). Every feature is an entry
    ``(i, j)`` of a band's filtered tangent matrix at some hop: off-diagonal entries count for the pair ``i, j``,
    diagonal ones (an electrode's own variance term) for node ``i``; hops and bands are summed.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted :func:`make_tangent_graph` pipeline.
    X : ndarray, shape (n_windows, n_bands + 1, n_nodes, n_nodes)
    labels : ndarray of int, shape (n_windows,)
        The class explained per window.

    Returns
    -------
    edge_importance : ndarray, shape (n_nodes, n_nodes)
        Symmetric, zero diagonal.
    node_importance : ndarray, shape (n_nodes,)
    """
    standardised = pipeline[:-1].transform(X)
    coef = pipeline[-1].model_.coef_
    weights = coef[0][None] if coef.shape[0] == 1 else coef[np.asarray(labels)]
    contribution = np.abs(standardised * weights).mean(axis=0)
    n_nodes = X.shape[-1]
    rows, columns = np.triu_indices(n_nodes)
    summed = contribution.reshape(-1, len(rows)).sum(axis=0)
    edge_importance = np.zeros((n_nodes, n_nodes))
    edge_importance[rows, columns] = summed
    edge_importance[columns, rows] = summed
    node_importance = np.diagonal(edge_importance).copy()
    np.fill_diagonal(edge_importance, 0.0)
    return edge_importance, node_importance
