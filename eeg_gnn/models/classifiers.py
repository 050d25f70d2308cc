"""Graph classifiers (PyG's ``GCNConv`` / ``ChebConv`` / ``GATConv`` / ``GINConv``) and the batching they use (baselines: :mod:`eeg_gnn.models.baselines`).

Every graph classifier runs on two paths with the same parameters: PyG message passing on a disjoint batch
(``model(x, edge_index, edge_weight, batch)``, for graphs of any size, and what attribution differentiates), and
the dense path for a fixed node set (``model.forward_dense(x, model.operator(adjacency))``, batched matrix
products on operators computed once per graph, see :mod:`eeg_gnn.models.dense`), which training uses by default.
The layers' parameters are held by :mod:`eeg_gnn.models.layers`, so PyTorch Geometric is imported only when the
PyG path runs.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from eeg_gnn.models.catalog import MODELS, READOUTS
from eeg_gnn.models.dense import (
    attention_operator,
    cheb_conv,
    gat_conv,
    gcn_adjacency,
    gcn_conv,
    gin_conv,
    neighbour_weights,
    scaled_laplacian,
)
from eeg_gnn.models.layers import ChebWeights, GATWeights, GCNWeights, GINWeights
from eeg_gnn.utils.validation import check_option

#: The integers each element of a dropout mask compares: 16 random bits, four masks' worth from every 64-bit draw.
MASK_LANE = torch.int16


def keep_mask(shape: tuple[int, ...], p: float, *, generator: torch.Generator | None = None,
              device: torch.device | str | None = None) -> tuple[Tensor, float]:
    """Which elements dropout keeps, each independently, and the probability it keeps one.

    Each element takes one :data:`MASK_LANE` integer of PyTorch's full-range 64-bit integer draws: on CPU the bits of a
    batch's 38912 elements (64 windows x 19 nodes x 32 channels) take about 37 us, a float ``uniform_`` draw per
    element about 265 us, which made a dropout's random numbers a third of a training step's forward pass on these
    small graphs. ``p`` is therefore rounded to a multiple of 2 ** -16 (at most 7.6e-6 away; float ``uniform_``
    draws are themselves multiples of 2 ** -24).

    Parameters
    ----------
    shape : tuple of int
    p : float
        Probability of dropping an element, in [0, 1).
    generator : torch.Generator, optional
        Where the bits come from (default: PyTorch's global generator for ``device``).
    device : torch.device or str, optional

    Returns
    -------
    mask : Tensor of bool, shape ``shape``
    keep_probability : float
        The exact probability of True, ``1 - p`` after the rounding.
    """
    lane = torch.iinfo(MASK_LANE)
    levels = 1 << lane.bits
    dropped = min(round(p * levels), levels - 1)
    n_elements = math.prod(shape)
    bits = torch.empty(-(-n_elements * lane.bits // 64), dtype=torch.int64, device=device)
    bits.random_(-(1 << 63), None, generator=generator)
    lanes = bits.view(MASK_LANE)[:n_elements].view(shape)
    return lanes >= lane.min + dropped, (levels - dropped) / levels


def dropout(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    """Inverted dropout (as ``nn.functional.dropout``) on masks from :func:`keep_mask`.

    Kept elements are scaled by the inverse of the mask's exact keep probability, so that the expected output is
    the input. The draws come from ``generator`` (default: PyTorch's global generator).
    """
    if not training or p == 0:
        return x
    mask, keep_probability = keep_mask(x.shape, p, generator=generator, device=x.device)
    return x * (mask * (1.0 / keep_probability))


class Dropout(nn.Dropout):
    """``nn.Dropout`` on :func:`dropout`'s masks, drawn from :attr:`generator` when it is set."""

    generator: torch.Generator | None = None

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training, self.generator)


class GraphClassifierBase(nn.Module):
    """Graph convolutions, then a readout of the node embeddings, then a two-layer head.

    Whether a model knows which electrode is which depends on two settings. With ``readout='pool'`` (mean and max
    over the nodes) and no node embedding the model is montage-free: permuting the nodes (and the graph with them)
    leaves its output unchanged, and it runs on graphs of any size. ``readout='flatten'`` (the node embeddings in
    node order, concatenated into the head, as DGCNN, Song et al. 2018) and ``node_embedding > 0`` (a learned vector
    per node concatenated to its input features) keep electrode identity, for one montage of ``n_nodes`` nodes
    in a fixed order.

    Parameters
    ----------
    in_channels : int
        Features per node (n_bands).
    n_classes : int
    hidden_channels : int
    n_layers : int
    dropout : float
    readout : str
        A key of :data:`eeg_gnn.models.catalog.READOUTS`.
    n_nodes : int, optional
        Nodes of every graph; needed by ``readout='flatten'`` and node embeddings.
    node_embedding : int
        Size of the learned vector of each node (0: none).
    """

    def __init__(self, in_channels: int, n_classes: int, hidden_channels: int, n_layers: int, dropout: float, *,
                 readout: str = "pool", n_nodes: int | None = None, node_embedding: int = 0):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}.")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
        check_option("readout", readout, READOUTS)
        if node_embedding < 0:
            raise ValueError(f"node_embedding must be >= 0, got {node_embedding}.")
        if (readout == "flatten" or node_embedding) and (n_nodes is None or n_nodes < 1):
            raise ValueError(f"readout={readout!r} with node_embedding={node_embedding} needs the number of nodes "
                             f"(n_nodes), got {n_nodes}.")
        self.in_channels = in_channels
        self.n_classes = n_classes
        self.hidden_channels = hidden_channels
        self.dropout = dropout
        self.readout = readout
        self.n_nodes = n_nodes
        first_channels = in_channels + node_embedding
        self.convs = nn.ModuleList(
            self._make_conv(first_channels if i == 0 else hidden_channels, hidden_channels) for i in range(n_layers)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden_channels) for _ in range(n_layers))
        readout_channels = 2 * hidden_channels if readout == "pool" else n_nodes * hidden_channels
        self.head = nn.Sequential(
            nn.Linear(readout_channels, hidden_channels), nn.ReLU(), Dropout(dropout),
            nn.Linear(hidden_channels, n_classes),
        )
        self.node_embedding = nn.Parameter(torch.randn(n_nodes, node_embedding)) if node_embedding else None
        self.generator: torch.Generator | None = None

    def use_generator(self, generator: torch.Generator | None) -> None:
        """Draw dropout masks from ``generator`` (None: PyTorch's global generator), so that models trained at
        the same time in threads of one process draw their own numbers."""
        self.generator = generator
        for module in self.modules():
            if isinstance(module, Dropout):
                module.generator = generator

    def _make_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        raise NotImplementedError

    def operator(self, adjacency: Tensor) -> Tensor:
        """The graph operator of the dense path, computed once per graph (see :mod:`eeg_gnn.models.dense`).

        Parameters
        ----------
        adjacency : Tensor, shape (n_nodes, n_nodes) or (n_graphs, n_nodes, n_nodes)
            Symmetric, non-negative, as for :func:`make_batch`.

        Returns
        -------
        Tensor, same shape
        """
        raise NotImplementedError

    def _conv_dense(self, conv: nn.Module, x: Tensor, operator: Tensor) -> Tensor:
        raise NotImplementedError

    def penalty(self) -> Tensor | None:
        """A term added to the training loss (None: nothing)."""
        return None

    def reset_parameters(self) -> None:
        for conv, norm in zip(self.convs, self.norms, strict=True):
            conv.reset_parameters()
            norm.reset_parameters()
        for layer in self.head:
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
        if self.node_embedding is not None:
            nn.init.normal_(self.node_embedding)

    def _with_node_embedding(self, x: Tensor) -> Tensor:
        """``x`` (n_graphs, n_nodes, in_channels) with each node's embedding appended to its features."""
        if self.node_embedding is None:
            return x
        if x.shape[1] != len(self.node_embedding):
            raise ValueError(f"This model has an embedding for each of {len(self.node_embedding)} nodes; the graphs "
                             f"have {x.shape[1]}.")
        return torch.cat([x, self.node_embedding.expand(len(x), -1, -1)], dim=-1)

    def _read_out(self, x: Tensor) -> Tensor:
        """One vector per graph from node embeddings ``x`` (n_graphs, n_nodes, hidden_channels)."""
        if self.readout == "pool":
            return torch.cat([x.mean(dim=1), x.amax(dim=1)], dim=1)
        if x.shape[1] != self.n_nodes:
            raise ValueError(f"readout='flatten' reads {self.n_nodes} nodes; the graphs have {x.shape[1]}.")
        return x.reshape(len(x), -1)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None, batch: Tensor) -> Tensor:
        """Class logits of each graph.

        Shapes:
            x: (n_graphs * n_nodes, in_channels); edge_index: (2, n_edges); edge_weight: (n_edges,);
            batch: (n_graphs * n_nodes,) graph index of each node; returns (n_graphs, n_classes).
        """
        from torch_geometric.nn import global_max_pool, global_mean_pool

        if self.node_embedding is not None:
            x = self._with_node_embedding(self._by_graph(x, batch)).reshape(len(x), -1)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = conv(x, edge_index, edge_weight)
            x = torch.relu(norm(x))
            x = dropout(x, self.dropout, self.training, self.generator)
        if self.readout == "pool":
            pooled = torch.cat([global_mean_pool(x, batch), global_max_pool(x, batch)], dim=1)
        else:
            pooled = self._read_out(self._by_graph(x, batch))
        return self.head(pooled)

    def _by_graph(self, x: Tensor, batch: Tensor) -> Tensor:
        """Node rows ``x`` of a disjoint batch as (n_graphs, n_nodes, n_channels), for settings that know each node
        by its place (graphs of one node set, in one order, as :func:`make_batch` makes them)."""
        from torch_geometric.utils import to_dense_batch

        nodes, filled = to_dense_batch(x, batch)
        if not filled.all():
            raise ValueError(f"readout={self.readout!r} and node embeddings need graphs of {self.n_nodes} nodes "
                             "each; these graphs differ in size.")
        return nodes

    def forward_dense(self, x: Tensor, operator: Tensor) -> Tensor:
        """Class logits of each graph on the dense path; equal to :meth:`forward` on the same graphs.

        Shapes:
            x: (n_graphs, n_nodes, in_channels); operator: (n_graphs, n_nodes, n_nodes) or (n_nodes, n_nodes),
            from :meth:`operator`; returns (n_graphs, n_classes).
        """
        n_graphs, n_nodes, _ = x.shape
        x = self._with_node_embedding(x)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = self._conv_dense(conv, x, operator)
            x = torch.relu(norm(x.reshape(n_graphs * n_nodes, -1))).reshape(n_graphs, n_nodes, -1)
            x = dropout(x, self.dropout, self.training, self.generator)
        return self.head(self._read_out(x))

    def __repr__(self) -> str:
        identity = "" if self.readout == "pool" else f", readout={self.readout!r}"
        if self.node_embedding is not None:
            identity += f", node_embedding={self.node_embedding.shape[1]}"
        return (f"{type(self).__name__}({self.in_channels}, {self.n_classes}, hidden_channels={self.hidden_channels}, "
                f"n_layers={len(self.convs)}{self._extra_repr()}{identity})")

    def _extra_repr(self) -> str:
        return ""


class GCNClassifier(GraphClassifierBase):
    """Graph convolutional network (Kipf & Welling 2017) classifying whole EEG graphs.

    GCN's self-loop gives a node's own features the weight of its neighbours', so a graph (a control's shuffled
    one too) averages them with its neighbours'; ``self_weight=True`` adds a weight of their own (a root weight).
    It is off by default so that a seed gives the GCN it always gave.

    Parameters
    ----------
    in_channels, n_classes, hidden_channels, n_layers, dropout
        As for :class:`GraphClassifierBase`.
    self_weight : bool
        Add a root weight to every layer (see :class:`eeg_gnn.models.layers.GCNWeights`).
    readout, n_nodes, node_embedding
        As for :class:`GraphClassifierBase`.
    """

    def __init__(self, in_channels: int, n_classes: int, hidden_channels: int = 32, n_layers: int = 2,
                 dropout: float = 0.3, *, self_weight: bool = False, **identity):
        self.self_weight = bool(self_weight)
        super().__init__(in_channels, n_classes, hidden_channels, n_layers, dropout, **identity)

    def _make_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        return GCNWeights(in_channels, out_channels, root=self.self_weight)

    def operator(self, adjacency: Tensor) -> Tensor:
        return gcn_adjacency(adjacency)

    def _conv_dense(self, conv: nn.Module, x: Tensor, operator: Tensor) -> Tensor:
        return gcn_conv(conv, x, operator)

    def _extra_repr(self) -> str:
        return ", self_weight=True" if self.self_weight else ""


class GATClassifier(GraphClassifierBase):
    """Graph attention network (Velickovic et al. 2018, ICLR) classifying whole EEG graphs.

    Every layer is PyG's ``GATConv`` with ``heads`` heads averaged, the edge weight in the attention logits and a
    residual weight for each node's own features (see :class:`eeg_gnn.models.layers.GATWeights`): a node attends
    over the other nodes it has edges to, and keeps its own features whichever they are.

    Parameters
    ----------
    in_channels, n_classes, hidden_channels, n_layers, dropout
        As for :class:`GraphClassifierBase`.
    heads : int
        Attention heads of every layer (one by default: on the dense path each further head costs about as much as
        the first, and one head keeps GAT within 1.5 times Chebyshev's time per epoch,
        ``benchmarks/bench_training.py --variants``).
    readout, n_nodes, node_embedding
        As for :class:`GraphClassifierBase`.
    """

    def __init__(self, in_channels: int, n_classes: int, hidden_channels: int = 32, n_layers: int = 2,
                 dropout: float = 0.3, *, heads: int = 1, **identity):
        if heads < 1:
            raise ValueError(f"heads must be >= 1, got {heads}.")
        self.heads = heads
        super().__init__(in_channels, n_classes, hidden_channels, n_layers, dropout, **identity)

    def _make_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        return GATWeights(in_channels, out_channels, heads=self.heads)

    def operator(self, adjacency: Tensor) -> Tensor:
        return attention_operator(adjacency)

    def _conv_dense(self, conv: nn.Module, x: Tensor, operator: Tensor) -> Tensor:
        return gat_conv(conv, x, operator)

    def _extra_repr(self) -> str:
        return f", heads={self.heads}"


class GINClassifier(GraphClassifierBase):
    """Graph isomorphism network (Xu et al. 2019, ICLR) classifying whole EEG graphs.

    Every layer is PyG's ``GINConv`` (a two-layer perceptron of ``(1 + eps) x_i`` plus the sum of the neighbours'
    features, ``eps`` learned) with the neighbours weighted by their edges and a root weight for each node's own
    features (see :class:`eeg_gnn.models.layers.GINWeights`).

    Parameters
    ----------
    in_channels, n_classes, hidden_channels, n_layers, dropout, readout, n_nodes, node_embedding
        As for :class:`GraphClassifierBase`.
    """

    def __init__(self, in_channels: int, n_classes: int, hidden_channels: int = 32, n_layers: int = 2,
                 dropout: float = 0.3, **identity):
        super().__init__(in_channels, n_classes, hidden_channels, n_layers, dropout, **identity)

    def _make_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        return GINWeights(in_channels, out_channels)

    def operator(self, adjacency: Tensor) -> Tensor:
        return neighbour_weights(adjacency)

    def _conv_dense(self, conv: nn.Module, x: Tensor, operator: Tensor) -> Tensor:
        return gin_conv(conv, x, operator)


class ChebClassifier(GraphClassifierBase):
    """Chebyshev spectral graph convolutions (Defferrard et al. 2016) of order ``K``.

    The order-0 term gives each node's own features a weight of their own.

    Parameters
    ----------
    in_channels, n_classes, hidden_channels, n_layers, dropout
        As for :class:`GraphClassifierBase`.
    K : int
        Chebyshev filter order (size of the receptive field in hops).
    readout, n_nodes, node_embedding
        As for :class:`GraphClassifierBase`.
    """

    def __init__(self, in_channels: int, n_classes: int, hidden_channels: int = 32, n_layers: int = 2,
                 dropout: float = 0.3, K: int = 3, **identity):
        if K < 1:
            raise ValueError(f"K must be >= 1, got {K}.")
        self.K = K
        super().__init__(in_channels, n_classes, hidden_channels, n_layers, dropout, **identity)

    def _make_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        return ChebWeights(in_channels, out_channels, K=self.K)

    def operator(self, adjacency: Tensor) -> Tensor:
        return scaled_laplacian(adjacency)

    def _conv_dense(self, conv: nn.Module, x: Tensor, operator: Tensor) -> Tensor:
        return cheb_conv(conv, x, operator)

    def _extra_repr(self) -> str:
        return f", K={self.K}"


class DGCNNClassifier(ChebClassifier):
    """Dynamical graph CNN (Song et al. 2018, *IEEE Trans. Affective Computing* 11:532-541): Chebyshev graph
    convolutions on one adjacency matrix learned with the network.

    The adjacency is a parameter ``W`` (n_nodes x n_nodes) initialised from a graph (the distance graph, or the
    mean connectivity of the training windows); the graph used is ``A = ReLU((W + W^T) / 2)`` with a zero
    diagonal, so it stays symmetric and non-negative, and :meth:`penalty` adds ``l1 * sum(A) / n_nodes`` (the
    mean weighted degree) to the loss, pulling weak edges to exactly zero. The graph each window comes with is not
    used: every window is convolved on the learned ``A``. Where ``A`` is zero the ReLU passes no gradient, so a
    model initialised without edges stays without them (the no-edge control).

    Parameters
    ----------
    in_channels, n_classes, hidden_channels, n_layers, dropout, K
        As for :class:`ChebClassifier`.
    n_nodes : int
    adjacency : array-like, shape (n_nodes, n_nodes), optional
        Initial graph (symmetric, non-negative); default no edges.
    l1 : float
        Weight of the sparsity penalty.
    readout, node_embedding
        As for :class:`GraphClassifierBase`.
    """

    def __init__(self, in_channels: int, n_classes: int, hidden_channels: int = 32, n_layers: int = 2,
                 dropout: float = 0.3, K: int = 3, n_nodes: int = 19, adjacency=None, l1: float = 1e-3, **identity):
        if n_nodes < 2:
            raise ValueError(f"n_nodes must be >= 2, got {n_nodes}.")
        if l1 < 0:
            raise ValueError(f"l1 must be >= 0, got {l1}.")
        super().__init__(in_channels, n_classes, hidden_channels, n_layers, dropout, K, n_nodes=n_nodes, **identity)
        self.l1 = float(l1)
        initial = (torch.zeros(n_nodes, n_nodes) if adjacency is None
                   else torch.as_tensor(adjacency, dtype=torch.float32).clone())
        if tuple(initial.shape) != (n_nodes, n_nodes):
            raise ValueError(f"adjacency must have shape ({n_nodes}, {n_nodes}), got {tuple(initial.shape)}.")
        self.register_buffer("initial_adjacency", initial)
        self.adjacency = nn.Parameter(initial.clone())

    def learned_adjacency(self) -> Tensor:
        """The graph the model convolves on, shape (n_nodes, n_nodes): symmetric, non-negative, zero diagonal."""
        weights = torch.relu((self.adjacency + self.adjacency.T) / 2)
        return weights * (1 - torch.eye(len(weights), dtype=weights.dtype, device=weights.device))

    def penalty(self) -> Tensor | None:
        if self.l1 == 0:
            return None
        return self.l1 * self.learned_adjacency().sum() / len(self.adjacency)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():
            self.adjacency.copy_(self.initial_adjacency)

    def operator(self, adjacency: Tensor) -> Tensor:
        """The windows' own graphs are not used (see the class docstring): returned unchanged."""
        return adjacency

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None, batch: Tensor) -> Tensor:
        from torch_geometric.utils import dense_to_sparse

        n_graphs, n_nodes = x.shape[0] // len(self.adjacency), len(self.adjacency)
        learned = self.learned_adjacency().expand(n_graphs, n_nodes, n_nodes).contiguous()
        edge_index, edge_weight = dense_to_sparse(learned)
        return super().forward(x, edge_index, edge_weight, batch)

    def forward_dense(self, x: Tensor, operator: Tensor) -> Tensor:
        return super().forward_dense(x, scaled_laplacian(self.learned_adjacency()))

    def _extra_repr(self) -> str:
        return f", K={self.K}, n_nodes={len(self.adjacency)}, l1={self.l1:g}"


#: The settings of :func:`build_model` that only some models read, by model.
MODEL_SPECIFIC = {"K": ("cheb", "dgcnn"), "adjacency": ("dgcnn",), "l1": ("dgcnn",), "self_weight": ("gcn",),
                  "heads": ("gat",)}


def build_model(name: str, in_channels: int, n_classes: int, **kwargs) -> GraphClassifierBase:
    """Make a graph classifier by name (:data:`MODELS`).

    ``hidden_channels``, ``n_layers``, ``dropout``, ``readout``, ``n_nodes`` and ``node_embedding`` are read by
    every model; those of :data:`MODEL_SPECIFIC` only by the models named there (the others ignore them).
    """
    check_option("model", name, MODELS)
    kwargs = {key: value for key, value in kwargs.items() if name in MODEL_SPECIFIC.get(key, (name,))}
    model = {"gcn": GCNClassifier, "cheb": ChebClassifier, "dgcnn": DGCNNClassifier, "gat": GATClassifier,
             "gin": GINClassifier}[name]
    return model(in_channels, n_classes, **kwargs)


def make_batch(features: Tensor, adjacency: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Stack graphs of one node order into a PyG-style disjoint batch, without Python loops.

    Parameters
    ----------
    features : Tensor, shape (n_graphs, n_nodes, in_channels)
    adjacency : Tensor, shape (n_nodes, n_nodes) shared by all graphs, or (n_graphs, n_nodes, n_nodes)
        Symmetric, non-negative, zero diagonal.

    Returns
    -------
    x : Tensor, shape (n_graphs * n_nodes, in_channels)
    edge_index : Tensor, shape (2, n_edges)
    edge_weight : Tensor, shape (n_edges,)
    batch : Tensor, shape (n_graphs * n_nodes,)
    """
    from torch_geometric.utils import dense_to_sparse

    n_graphs, n_nodes, _ = features.shape
    if tuple(adjacency.shape) not in {(n_nodes, n_nodes), (n_graphs, n_nodes, n_nodes)}:
        # A mismatched stack would otherwise silently leave some graphs without edges.
        raise ValueError(f"adjacency must have shape ({n_nodes}, {n_nodes}) or ({n_graphs}, {n_nodes}, {n_nodes}) "
                         f"for features of shape {tuple(features.shape)}, got {tuple(adjacency.shape)}.")
    if adjacency.dim() == 2:
        adjacency = adjacency.expand(n_graphs, n_nodes, n_nodes).contiguous()
    edge_index, edge_weight = dense_to_sparse(adjacency)
    edge_weight = edge_weight.to(features.dtype)
    batch = torch.arange(n_graphs, device=features.device).repeat_interleave(n_nodes)
    return features.reshape(n_graphs * n_nodes, -1), edge_index, edge_weight, batch


def model_from_checkpoint(checkpoint: dict, device: str = "cpu") -> nn.Module:
    """Rebuild the graph model saved by training (``checkpoints/fold_K.pt``), in evaluation mode."""
    kwargs = dict(checkpoint["model_kwargs"])
    model = build_model(checkpoint["model"], kwargs.pop("in_channels"), kwargs.pop("n_classes"), **kwargs)
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(device).eval()
