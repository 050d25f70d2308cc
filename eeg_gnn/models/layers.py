"""The parameters of PyG's ``ChebConv``, ``GCNConv``, ``GATConv`` and ``GINConv``, held without importing PyTorch
Geometric.

Importing ``torch_geometric`` imports ``torch._dynamo`` and costs more than importing torch itself (3.8 s vs
2.9 s on this 2-core machine), in every run and in every worker process, although the dense path
(:mod:`eeg_gnn.models.dense`), which training uses by default, needs only the layers' weights. :class:`ChebWeights`
and :class:`GCNWeights` hold exactly those weights: the same names (``lins.K.weight`` / ``lin.weight`` and
``bias``, so checkpoints load on either), shapes and initialisation, drawn from the random stream in the same
order as PyG's constructors do (a Glorot draw per linear map when it is made, then again when the layer resets),
so a seed gives the same model as before. :class:`GATWeights` and :class:`GINWeights` hold their PyG layer's
parameters under its names and shapes (GAT: Glorot weights and attention vectors, zero bias, as PyG; GIN: its
perceptron's ``torch.nn.Linear`` layers as torch initialises them, zero eps, a Glorot root weight), drawn in an
order of their own. Called like the PyG layer (``layer(x, edge_index, edge_weight)``), each runs PyG's own layer on these very
parameters, built the first time it is needed.
"""

from __future__ import annotations

import functools
import math
import threading

import torch
from torch import Tensor, nn

#: Held while PyTorch's global generator is seeded, drawn from and restored for one model (its weights, a PyG
#: layer's own draws), so that models made at the same time in threads of one process do not take each other's draws.
GLOBAL_GENERATOR_LOCK = threading.RLock()


class _Weight(nn.Module):
    """A bias-free linear map ``x @ weight.T`` whose ``weight`` (out_channels, in_channels) is Glorot-initialised."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = math.sqrt(6.0 / (self.weight.size(-2) + self.weight.size(-1)))
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.linear(x, self.weight)


class _PyGLayer(nn.Module):
    """Shared by both layers: the PyG layer on these parameters, made on first use and kept outside the module tree
    (so that it adds nothing to ``state_dict`` or ``parameters()``)."""

    def _make_pyg(self) -> nn.Module:
        raise NotImplementedError

    def pyg_layer(self) -> nn.Module:
        layer = self.__dict__.get("_pyg")
        if layer is None:
            # the PyG constructor's own draws leave the stream as it was
            with GLOBAL_GENERATOR_LOCK, torch.random.fork_rng(devices=[]):
                layer = self._make_pyg()
            self.__dict__["_pyg"] = layer
        return layer

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """PyG message passing on a disjoint batch, as the PyG layer computes it."""
        return self.pyg_layer()(x, edge_index, edge_weight)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_pyg", None)
        return state


class ChebWeights(_PyGLayer):
    """``ChebConv(in_channels, out_channels, K, normalization='sym')``'s parameters: K linear maps and a bias.

    Parameters
    ----------
    in_channels, out_channels : int
    K : int
        Chebyshev order (number of linear maps).
    """

    def __init__(self, in_channels: int, out_channels: int, K: int):
        super().__init__()
        self.in_channels, self.out_channels, self.K = in_channels, out_channels, K
        self.lins = nn.ModuleList(_Weight(in_channels, out_channels) for _ in range(K))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in self.lins:
            lin.reset_parameters()
        nn.init.zeros_(self.bias)

    def _make_pyg(self) -> nn.Module:
        from torch_geometric.nn import ChebConv

        layer = ChebConv(self.in_channels, self.out_channels, K=self.K, normalization="sym")
        layer.lins, layer.bias = self.lins, self.bias
        return layer


class GCNWeights(_PyGLayer):
    """``GCNConv(in_channels, out_channels, add_self_loops=True, normalize=True)``'s parameters: a linear map and a
    bias, and optionally a root weight.

    Parameters
    ----------
    in_channels, out_channels : int
    root : bool
        Add ``root(x)``, a linear map of each node's own features with a weight of its own, to the convolution
        (whose self-loop shares the neighbours' weight), so that no graph can average a node's own signal away.
    """

    def __init__(self, in_channels: int, out_channels: int, root: bool = False):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin = _Weight(in_channels, out_channels)
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.root = _Weight(in_channels, out_channels) if root else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        nn.init.zeros_(self.bias)
        if self.root is not None:
            self.root.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        out = self.pyg_layer()(x, edge_index, edge_weight)
        return out if self.root is None else out + self.root(x)

    def _make_pyg(self) -> nn.Module:
        from torch_geometric.nn import GCNConv

        layer = GCNConv(self.in_channels, self.out_channels, add_self_loops=True, normalize=True)
        layer.lin, layer.bias = self.lin, self.bias
        return layer


def _glorot_(tensor: Tensor) -> None:
    """PyG's ``glorot``: uniform in +-sqrt(6 / (fan_in + fan_out)) over the last two dimensions."""
    bound = math.sqrt(6.0 / (tensor.size(-2) + tensor.size(-1)))
    with torch.no_grad():
        tensor.uniform_(-bound, bound)


def _without_self_loops(edge_index: Tensor, edge_weight: Tensor | None) -> tuple[Tensor, Tensor]:
    """The edges between different nodes and their weights (ones when unweighted)."""
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.shape[1], device=edge_index.device)
    other = edge_index[0] != edge_index[1]
    return edge_index[:, other], edge_weight[other]


class GATWeights(_PyGLayer):
    """``GATConv(in_channels, out_channels, heads, concat=False, add_self_loops=False, edge_dim=1, residual=True)``'s
    parameters (Velickovic et al. 2018).

    Each node attends over the other nodes it has edges to; the edge weight enters each head's attention logit
    through ``lin_edge`` and ``att_edge`` (PyG's edge features, one per edge), the heads are averaged, and the node's
    own features are added through ``res``, a weight of their own (no self-loop is added, and a graph's own
    self-loops are dropped), so a node without edges keeps ``res(x) + bias``.

    Parameters
    ----------
    in_channels, out_channels : int
    heads : int
        Attention heads.
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1):
        super().__init__()
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.lin = _Weight(in_channels, heads * out_channels)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_channels))
        self.lin_edge = _Weight(1, heads * out_channels)
        self.att_edge = nn.Parameter(torch.empty(1, heads, out_channels))
        self.res = _Weight(in_channels, out_channels)
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.lin, self.lin_edge, self.res):
            lin.reset_parameters()
        for attention in (self.att_src, self.att_dst, self.att_edge):
            _glorot_(attention)
        nn.init.zeros_(self.bias)

    def _make_pyg(self) -> nn.Module:
        from torch_geometric.nn import GATConv

        layer = GATConv(self.in_channels, self.out_channels, heads=self.heads, concat=False, add_self_loops=False,
                        edge_dim=1, residual=True)
        layer.lin, layer.lin_edge, layer.res = self.lin, self.lin_edge, self.res
        layer.att_src, layer.att_dst, layer.att_edge, layer.bias = (self.att_src, self.att_dst, self.att_edge,
                                                                    self.bias)
        return layer

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        edge_index, edge_weight = _without_self_loops(edge_index, edge_weight)
        return self.pyg_layer()(x, edge_index, edge_weight.view(-1, 1).to(x.dtype))


@functools.cache
def _weighted_gin_conv() -> type:
    """PyG's ``GINConv`` with each neighbour's message multiplied by its edge weight (made once, on first use)."""
    from torch_geometric.nn import GINConv

    class WeightedGINConv(GINConv):
        def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor) -> Tensor:
            # propagate_type: (x: Tuple[Tensor, Tensor], edge_weight: Tensor)
            out = self.propagate(edge_index, x=(x, x), edge_weight=edge_weight)
            return self.nn(out + (1 + self.eps) * x)

        def message(self, x_j: Tensor, edge_weight: Tensor) -> Tensor:
            return edge_weight.view(-1, 1) * x_j

    return WeightedGINConv


class GINWeights(_PyGLayer):
    """A graph isomorphism layer (Xu et al. 2019), ``GINConv(mlp, train_eps=True)``, with edge weights and a root
    weight: ``mlp((1 + eps) x_i + sum_j w_ji x_j) + root(x_i)``.

    PyG's ``GINConv`` sums its neighbours unweighted; here each neighbour's message is multiplied by its edge weight
    (as PyG's ``DenseGINConv`` does with a weighted adjacency), so connectivity graphs keep their weights. A graph's
    own self-loops are dropped. ``root`` passes each node's own features through a weight of their own, beside the
    ``mlp`` that mixes them with the neighbours' sum.

    Parameters
    ----------
    in_channels, out_channels : int
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mlp = nn.Sequential(nn.Linear(in_channels, out_channels), nn.ReLU(),
                                 nn.Linear(out_channels, out_channels))
        self.eps = nn.Parameter(torch.empty(1))
        self.root = _Weight(in_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in (self.mlp[0], self.mlp[2], self.root):
            layer.reset_parameters()
        nn.init.zeros_(self.eps)

    def _make_pyg(self) -> nn.Module:
        layer = _weighted_gin_conv()(nn.Identity(), train_eps=True)  # its own reset would redraw a given mlp
        layer.nn, layer.eps = self.mlp, self.eps
        return layer

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        edge_index, edge_weight = _without_self_loops(edge_index, edge_weight)
        return self.pyg_layer()(x, edge_index, edge_weight.to(x.dtype)) + self.root(x)
