"""The parameters of PyG's ``ChebConv`` and ``GCNConv``, held without importing PyTorch Geometric.

Importing ``torch_geometric`` imports ``torch._dynamo`` and costs more than importing torch itself (3.8 s vs
2.9 s on this 2-core machine), in every run and in every worker process, although the dense path
(:mod:`eeg_gnn.models.dense`), which training uses by default, needs only the layers' weights. :class:`ChebWeights`
and :class:`GCNWeights` hold exactly those weights: the same names (``lins.K.weight`` / ``lin.weight`` and
``bias``, so checkpoints load on either), shapes and initialisation, drawn from the random stream in the same
order as PyG's constructors do (a Glorot draw per linear map when it is made, then again when the layer resets),
so a seed gives the same model as before. Called like the PyG layer (``layer(x, edge_index, edge_weight)``), they
run PyG's own layer on these very parameters, built the first time it is needed.
"""

from __future__ import annotations

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
    bias.

    Parameters
    ----------
    in_channels, out_channels : int
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin = _Weight(in_channels, out_channels)
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        nn.init.zeros_(self.bias)

    def _make_pyg(self) -> nn.Module:
        from torch_geometric.nn import GCNConv

        layer = GCNConv(self.in_channels, self.out_channels, add_self_loops=True, normalize=True)
        layer.lin, layer.bias = self.lin, self.bias
        return layer
