"""Dense graph convolutions for a fixed node set: batched matrix products on operators computed once per graph.

EEG graphs are small (19 to 64 nodes) and every window has the same nodes, so a batch of graphs is a tensor
``(n_graphs, n_nodes, n_channels)`` and one graph operator per window ``(n_graphs, n_nodes, n_nodes)`` (or one
``(n_nodes, n_nodes)`` shared by all). The operators here are those PyTorch Geometric builds from an edge list on
every forward pass, built once instead:

- :func:`scaled_laplacian`: ``ChebConv(normalization='sym')``'s ``2 L / lambda_max - I`` with
  ``L = I - D^-1/2 A D^-1/2``. For non-negative weights PyG's default ``lambda_max`` is 2 (twice the largest entry
  of ``L``, its unit diagonal), so the operator is ``-D^-1/2 A D^-1/2`` with a zero diagonal.
- :func:`gcn_adjacency`: ``GCNConv``'s ``D^-1/2 (A + I) D^-1/2`` (a self-loop of weight 1 where ``A`` has none).
- :func:`neighbour_weights`: the edge weights between different nodes, ``A`` without its diagonal, oriented for
  ``operator @ x`` (the isomorphism layer, :class:`eeg_gnn.models.layers.GINWeights`, weighs its neighbours with
  them); :func:`attention_operator`: the same with what the attention layer
  (:class:`~eeg_gnn.models.layers.GATWeights`) masks, computed once per graph as well.

:func:`cheb_conv`, :func:`gcn_conv`, :func:`gat_conv` and :func:`gin_conv` apply a layer of
:mod:`eeg_gnn.models.layers` with its own parameters to dense inputs, so one model runs on either path and gives the same outputs and gradients (``tests/test_dense.py``).
Operators are differentiable functions of the adjacency, so a learned adjacency can go through them too.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _check_square(adjacency: Tensor) -> None:
    if adjacency.dim() not in (2, 3) or adjacency.shape[-1] != adjacency.shape[-2]:
        raise ValueError(f"adjacency must have shape (n_nodes, n_nodes) or (n_graphs, n_nodes, n_nodes), got "
                         f"{tuple(adjacency.shape)}.")


def _inverse_sqrt(degree: Tensor) -> Tensor:
    inverse = degree.pow(-0.5)
    return inverse.masked_fill(torch.isinf(inverse), 0.0)


def scaled_laplacian(adjacency: Tensor) -> Tensor:
    """The Chebyshev operator ``2 L / lambda_max - I`` of PyG's ``ChebConv(normalization='sym')``.

    Parameters
    ----------
    adjacency : Tensor, shape (n_nodes, n_nodes) or (n_graphs, n_nodes, n_nodes)
        Symmetric, non-negative weights; the diagonal (self-loops) is ignored, as PyG removes self-loops.

    Returns
    -------
    Tensor, same shape
        ``-D^-1/2 A D^-1/2`` with a zero diagonal; rows and columns of isolated nodes are zero.
    """
    _check_square(adjacency)
    eye = torch.eye(adjacency.shape[-1], dtype=torch.bool, device=adjacency.device)
    weights = adjacency.masked_fill(eye, 0.0)
    inverse = _inverse_sqrt(weights.sum(dim=-1))
    return -(inverse.unsqueeze(-1) * weights * inverse.unsqueeze(-2))


def gcn_adjacency(adjacency: Tensor) -> Tensor:
    """The propagation matrix ``D^-1/2 (A + I) D^-1/2`` of PyG's ``GCNConv``, oriented for ``operator @ x``.

    Parameters
    ----------
    adjacency : Tensor, shape (n_nodes, n_nodes) or (n_graphs, n_nodes, n_nodes)
        Non-negative weights; ``adjacency[..., j, i]`` is the edge from node ``j`` to node ``i``. A node without a
        self-loop gets one of weight 1 (PyG's ``add_remaining_self_loops``); an existing one keeps its weight.

    Returns
    -------
    Tensor, same shape
        ``operator[..., i, j]`` weighs node ``j``'s message to node ``i``.
    """
    _check_square(adjacency)
    diagonal = adjacency.diagonal(dim1=-2, dim2=-1)
    loops = torch.where(diagonal == 0, torch.ones_like(diagonal), diagonal)
    weights = adjacency - torch.diag_embed(diagonal) + torch.diag_embed(loops)
    inverse = _inverse_sqrt(weights.sum(dim=-2))
    return (inverse.unsqueeze(-1) * weights * inverse.unsqueeze(-2)).transpose(-1, -2)


def propagate(operator: Tensor, x: Tensor) -> Tensor:
    """``operator @ x`` for every graph of a batch.

    Parameters
    ----------
    operator : Tensor, shape (n_graphs, n_nodes, n_nodes) or (n_nodes, n_nodes)
        One operator per graph (a batched product), or one shared by all.
    x : Tensor, shape (n_graphs, n_nodes, n_channels)

    Returns
    -------
    Tensor, shape (n_graphs, n_nodes, n_channels)

    Notes
    -----
    A shared operator multiplies all graphs at once, the nodes as rows of one ``(n_nodes, n_graphs * n_channels)``
    matrix: PyTorch's broadcast ``matmul`` makes one small product per graph and, backwards, was 4 times slower
    (graphs without edges, ``benchmarks/bench_training.py``). Outputs are those of ``matmul``; gradients may differ
    from its in the last bit.
    """
    if operator.dim() == 3:
        return operator @ x
    n_graphs, n_nodes, n_channels = x.shape
    stacked = x.transpose(0, 1).reshape(n_nodes, n_graphs * n_channels)
    return (operator @ stacked).reshape(n_nodes, n_graphs, n_channels).transpose(0, 1)


def cheb_conv(conv, x: Tensor, laplacian: Tensor) -> Tensor:
    """A PyG ``ChebConv`` layer applied to dense graphs.

    Parameters
    ----------
    conv : torch_geometric.nn.ChebConv
        Its ``lins`` (one linear map per order) and ``bias`` are used as they are.
    x : Tensor, shape (n_graphs, n_nodes, in_channels)
    laplacian : Tensor, shape (n_graphs, n_nodes, n_nodes) or (n_nodes, n_nodes)
        From :func:`scaled_laplacian`.

    Returns
    -------
    Tensor, shape (n_graphs, n_nodes, out_channels)
    """
    terms = [x]
    if len(conv.lins) > 1:
        terms.append(propagate(laplacian, x))
    for _ in range(2, len(conv.lins)):
        terms.append(2.0 * propagate(laplacian, terms[-1]) - terms[-2])
    # One product with the orders' weights side by side instead of one per order: fewer, larger operations.
    weight = torch.cat([lin.weight for lin in conv.lins], dim=1)
    stacked = torch.cat(terms, dim=-1).reshape(-1, weight.shape[1])
    out = stacked @ weight.T if conv.bias is None else torch.addmm(conv.bias, stacked, weight.T)
    return out.reshape(*x.shape[:-1], -1)


def gcn_conv(conv, x: Tensor, operator: Tensor) -> Tensor:
    """A PyG ``GCNConv`` layer applied to dense graphs.

    Parameters
    ----------
    conv : torch_geometric.nn.GCNConv
    x : Tensor, shape (n_graphs, n_nodes, in_channels)
    operator : Tensor, shape (n_graphs, n_nodes, n_nodes) or (n_nodes, n_nodes)
        From :func:`gcn_adjacency`.

    Returns
    -------
    Tensor, shape (n_graphs, n_nodes, out_channels)
    """
    out = propagate(operator, conv.lin(x))
    if conv.bias is not None:
        out = out + conv.bias
    if getattr(conv, "root", None) is not None:
        out = out + conv.root(x)
    return out


def neighbour_weights(adjacency: Tensor) -> Tensor:
    """The weights of the edges between different nodes, oriented for ``operator @ x``.

    Parameters
    ----------
    adjacency : Tensor, shape (n_nodes, n_nodes) or (n_graphs, n_nodes, n_nodes)
        Non-negative weights; ``adjacency[..., j, i]`` is the edge from node ``j`` to node ``i``.

    Returns
    -------
    Tensor, same shape
        ``operator[..., i, j]``: the weight of node ``j``'s message to node ``i``; zero diagonal.
    """
    _check_square(adjacency)
    eye = torch.eye(adjacency.shape[-1], dtype=torch.bool, device=adjacency.device)
    return adjacency.masked_fill(eye, 0.0).transpose(-1, -2)


def attention_operator(adjacency: Tensor) -> Tensor:
    """:func:`neighbour_weights` side by side with what :func:`gat_conv` derives from them.

    Parameters
    ----------
    adjacency : Tensor, shape (n_nodes, n_nodes) or (n_graphs, n_nodes, n_nodes)

    Returns
    -------
    Tensor, shape (n_nodes, 2 * n_nodes + 1) or (n_graphs, n_nodes, 2 * n_nodes + 1)
        Per row ``i`` (the node that attends): the weights of its incoming edges, then 0 where there is an edge
        and the dtype's lowest number where there is none (added to attention logits, it masks them), then 1 if
        the node has an edge, else 0. Masking with these, computed once per graph, instead of comparing the
        weights with zero in every layer and step, made a GAT epoch about 10 % faster on 19 nodes.
    """
    weights = neighbour_weights(adjacency)
    absent = weights == 0
    lowest = torch.finfo(weights.dtype).min
    mask = torch.zeros_like(weights).masked_fill_(absent, lowest)
    has_edges = (~absent).any(dim=-1, keepdim=True).to(weights.dtype)
    return torch.cat([weights, mask, has_edges], dim=-1)


def gat_conv(conv, x: Tensor, operator: Tensor) -> Tensor:
    """A graph attention layer (:class:`eeg_gnn.models.layers.GATWeights`, PyG's ``GATConv``) on dense graphs.

    Parameters
    ----------
    conv : eeg_gnn.models.layers.GATWeights
    x : Tensor, shape (n_graphs, n_nodes, in_channels)
    operator : Tensor, shape (n_graphs, n_nodes, 2 * n_nodes + 1) or (n_nodes, 2 * n_nodes + 1)
        From :func:`attention_operator`; a node attends to the nodes of the non-zero weights of its row.

    Returns
    -------
    Tensor, shape (n_graphs, n_nodes, out_channels)
    """
    n_graphs, n_nodes, _ = x.shape
    heads, channels = conv.heads, conv.out_channels
    # Each head's source and target scores are linear in x, as is the residual: one product gives them all.
    weight = conv.lin.weight
    per_head = weight.view(heads, channels, -1)
    source_weight = (per_head * conv.att_src.view(heads, channels, 1)).sum(dim=1)  # (heads, in_channels)
    target_weight = (per_head * conv.att_dst.view(heads, channels, 1)).sum(dim=1)
    combined = x @ torch.cat([weight, source_weight, target_weight, conv.res.weight]).T
    projected, source, target, residual = combined.split([heads * channels, heads, heads, channels], dim=-1)
    per_weight = (conv.lin_edge.weight.view(heads, channels) * conv.att_edge[0]).sum(dim=-1)  # (heads,)
    weights, mask, has_edges = operator.unsqueeze(-2).split([n_nodes, n_nodes, 1], dim=-1)
    # logits[g, i, h, j]: head h's score of node j's message to node i
    logits = (target.unsqueeze(-1) + source.transpose(-1, -2).unsqueeze(-3)) + weights * per_weight.view(heads, 1)
    logits = torch.nn.functional.leaky_relu(logits, 0.2) + mask
    attention = torch.softmax(logits, dim=-1).reshape(n_graphs, n_nodes, heads * n_nodes)
    values = projected.reshape(n_graphs, n_nodes, heads, channels).transpose(1, 2).reshape(
        n_graphs, heads * n_nodes, channels)
    messages = attention @ values
    # a node without edges gets no message (PyG's softmax over no edges), not the uniform one of its masked row
    return messages * (has_edges.squeeze(-2) / heads) + residual + conv.bias


def gin_conv(conv, x: Tensor, operator: Tensor) -> Tensor:
    """A graph isomorphism layer with edge weights and a root weight (:class:`eeg_gnn.models.layers.GINWeights`)
    on dense graphs.

    Parameters
    ----------
    conv : eeg_gnn.models.layers.GINWeights
    x : Tensor, shape (n_graphs, n_nodes, in_channels)
    operator : Tensor, shape (n_graphs, n_nodes, n_nodes) or (n_nodes, n_nodes)
        From :func:`neighbour_weights`.

    Returns
    -------
    Tensor, shape (n_graphs, n_nodes, out_channels)
    """
    return conv.mlp(propagate(operator, x) + (1 + conv.eps) * x) + conv.root(x)
