"""What a trained graph model relied on: gradient x input on edge weights and node features.

For each window, the logit of the window's true class is differentiated with respect to the edge weights and the
node features; importance = |gradient x input| (Simonyan et al. 2014; Ancona et al. 2018), so an edge that carries
no weight gets no importance. Edge importances are made symmetric (the two directions of an edge are summed) and
averaged over windows; node importance sums |gradient x input| over a node's features. A model that ignores the
windows' graphs (``dgcnn`` convolves on its learned adjacency) gives every edge of them zero importance.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from eeg_gnn.models.classifiers import make_batch


def gradient_x_input(
    model: nn.Module,
    features: np.ndarray,
    adjacency: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int = 128,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean |gradient x input| over windows, for edges and nodes.

    Parameters
    ----------
    model : nn.Module
        A graph classifier in the ``forward(x, edge_index, edge_weight, batch)`` convention.
    features : ndarray, shape (n_windows, n_nodes, n_bands)
        Standardised features, as the model saw them.
    adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
    labels : ndarray of int, shape (n_windows,)
        The class whose logit is explained, per window.

    Returns
    -------
    edge_importance : ndarray, shape (n_nodes, n_nodes)
        Symmetric, zero diagonal.
    node_importance : ndarray, shape (n_nodes,)
    """
    model.eval()
    n_windows, n_nodes, _ = features.shape
    edge_total = torch.zeros(n_nodes, n_nodes, dtype=torch.float64)
    node_total = torch.zeros(n_nodes, dtype=torch.float64)
    shared = adjacency.ndim == 2
    for start in range(0, n_windows, batch_size):
        stop = min(start + batch_size, n_windows)
        batch_features = torch.from_numpy(np.ascontiguousarray(features[start:stop]))
        batch_adjacency = torch.from_numpy(np.ascontiguousarray(adjacency if shared else adjacency[start:stop]))
        x, edge_index, edge_weight, batch = make_batch(batch_features, batch_adjacency)
        x = x.detach().requires_grad_(True)
        edge_weight = edge_weight.detach().requires_grad_(True)
        logits = model(x, edge_index, edge_weight, batch)
        chosen = logits.gather(1, torch.from_numpy(labels[start:stop]).long().view(-1, 1)).sum()
        edge_grad, node_grad = torch.autograd.grad(chosen, (edge_weight, x), allow_unused=True)
        if edge_grad is None:
            edge_grad = torch.zeros_like(edge_weight)
        edge_score = (edge_grad * edge_weight).detach().abs().double()
        local_row, local_col = edge_index[0] % n_nodes, edge_index[1] % n_nodes
        edge_total.index_put_((local_row, local_col), edge_score, accumulate=True)
        node_total += (node_grad * x).detach().abs().double().reshape(stop - start, n_nodes, -1).sum(dim=(0, 2))
    edge_importance = (edge_total + edge_total.T).numpy() / n_windows
    np.fill_diagonal(edge_importance, 0.0)
    return edge_importance, node_total.numpy() / n_windows
