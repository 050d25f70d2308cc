"""Training throughput of the graph models: the dense path vs today's PyG path vs a plain PyG DataLoader loop.

    python benchmarks/bench_training.py [--epochs 5] [--rounds 3] [--model cheb] [--graph per-window]
    python benchmarks/bench_training.py --variants [--epochs 5] [--rounds 3] [--graph per-window]

All paths train the same Chebyshev classifier (K = 3, hidden 32, 2 layers, batch 64, one thread) on graphs of the
size of ``train.py --task workload``: 1439 training windows and 288 validation windows of 19 nodes and 5 bands,
each with its own fully connected graph (``--graph per-window``, as per-window PLV gives), one fully connected
graph shared by every window (``shared``, as a distance graph), or no edges at all (``none``, the no-edges
control). The dense paths get a shared graph once; the others get it repeated for every window. An epoch is one
pass of shuffled batches with Adam steps plus one validation pass, as early stopping needs. Paths:

- ``dense``: :func:`eeg_gnn.models.training.train_graph_model` with ``backend='dense'`` (operators computed once
  per window; batched matrix products);
- ``pyg``: the same function with ``backend='pyg'`` (PyG message passing, operators rebuilt every forward pass);
- ``today``: the training loop before the dense path (commit 643b09f), reproduced below: PyG batches built per
  step, ``loss.item()`` per step, validation through ``predict_proba`` in batches of 256;
- ``dataloader``: a plain PyG loop, ``torch_geometric.loader.DataLoader`` over ``Data`` objects.

Windows/s is training windows per second of epoch time, by the wall clock and by this process's CPU time; the rounds
are interleaved and the fastest of each path is kept, so that load from other processes affects every path alike.
Ratios are against ``today``.

``--variants`` times every graph model and readout setting on the dense path instead (:data:`VARIANTS`: GAT,
GIN, the flatten readout, node embeddings, GCN's self weight), each as seconds per epoch and as a ratio to the
Chebyshev model with the pool readout (the default model) measured in the same interleaved rounds.
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score
from torch import nn

from eeg_gnn.models import classifiers
from eeg_gnn.models.classifiers import build_model, make_batch
from eeg_gnn.models.training import predict_proba, train_graph_model

N_TRAIN, N_VAL, N_NODES, N_BANDS = 1439, 288, 19, 5


def _windows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    features = rng.standard_normal((n, N_NODES, N_BANDS)).astype(np.float32)
    weights = rng.random((n, N_NODES, N_NODES)).astype(np.float32)
    weights = (weights + weights.transpose(0, 2, 1)) / 2
    weights[:, np.arange(N_NODES), np.arange(N_NODES)] = 0.0
    return features, weights, (rng.random(n) < 0.25).astype(np.int64)


def _graph_kind(weights: np.ndarray, kind: str) -> np.ndarray:
    """The windows' graphs as ``--graph`` says: their own, the first window's for all, or none."""
    if kind == "per-window":
        return weights
    return weights[0] if kind == "shared" else np.zeros_like(weights[0])


def _per_window(data: tuple) -> tuple:
    """The same windows with a shared graph repeated for every window (what the PyG paths take)."""
    features, weights, labels = data
    if weights.ndim == 2:
        weights = np.ascontiguousarray(np.broadcast_to(weights, (len(features), *weights.shape)))
    return features, weights, labels


#: The settings ``--variants`` times on the dense path: a name, then the model and its identity settings.
VARIANTS = {
    "cheb pool (default)": dict(model="cheb"),
    "cheb flatten": dict(model="cheb", readout="flatten"),
    "cheb node-embedding 4": dict(model="cheb", node_embedding=4),
    "cheb flatten + embedding 4": dict(model="cheb", readout="flatten", node_embedding=4),
    "gcn pool": dict(model="gcn"),
    "gcn self-weight": dict(model="gcn", self_weight=True),
    "gcn self-weight flatten": dict(model="gcn", self_weight=True, readout="flatten"),
    "gat pool": dict(model="gat"),
    "gat flatten": dict(model="gat", readout="flatten"),
    "gat 2 heads": dict(model="gat", heads=2),
    "gat 4 heads": dict(model="gat", heads=4),
    "gin pool": dict(model="gin"),
    "gin flatten": dict(model="gin", readout="flatten"),
    "dgcnn flatten": dict(model="dgcnn", readout="flatten"),
}


def _settings(args, backend: str, **variant) -> SimpleNamespace:
    values = dict(model=args.model, hidden=32, layers=2, dropout=0.3, cheb_k=3, lr=1e-3, weight_decay=1e-3,
                  epochs=args.epochs, patience=args.epochs + 1, batch_size=64, seed=0, device="cpu",
                  backend=backend, progress=False, readout="pool", node_embedding=0, self_weight=False)
    values.update(variant)
    return SimpleNamespace(**values)


def _best_times(runs: dict, rounds: int) -> tuple[dict, dict]:
    """The fastest wall-clock and CPU time of each run over ``rounds`` interleaved rounds."""
    wall, cpu = dict.fromkeys(runs, np.inf), dict.fromkeys(runs, np.inf)
    for _ in range(rounds):
        for name, run in runs.items():
            torch.manual_seed(0)
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[name] = min(wall[name], time.perf_counter() - start_wall)
            cpu[name] = min(cpu[name], time.process_time() - start_cpu)
    return wall, cpu


def compare_variants(args, train: tuple, val: tuple) -> None:
    """Seconds per epoch of every :data:`VARIANTS` setting on the dense path, and its ratio to Chebyshev + pool."""
    runs = {name: (lambda variant=variant: train_graph_model(_settings(args, "dense", **variant), 2, train, val))
            for name, variant in VARIANTS.items()}
    wall, cpu = _best_times(runs, args.rounds)
    reference = next(iter(VARIANTS))
    print(f"dense path, {args.graph} graphs: {N_TRAIN} training + {N_VAL} validation windows of {N_NODES} nodes per "
          f"epoch, {args.epochs} epochs, best of {args.rounds} interleaved rounds, {torch.get_num_threads()} thread")
    print(f"  {'setting':<28}{'s/epoch (wall)':>15}{'ratio':>8}{'s/epoch (CPU)':>15}{'ratio':>8}")
    for name in runs:
        print(f"  {name:<28}{wall[name] / args.epochs:15.3f}{wall[name] / wall[reference]:7.2f}x"
              f"{cpu[name] / args.epochs:15.3f}{cpu[name] / cpu[reference]:7.2f}x")
    print(f"  (ratios: time per epoch / that of {reference}; within 1.5x is the target)")


def _today(config, train, val) -> None:
    """The training loop of commit 643b09f: PyG path, ``nn.functional.dropout``, per-step ``.item()``, unfused
    Adam, validation via ``predict_proba`` in batches of 256."""
    classifiers.dropout, fast_dropout = nn.functional.dropout, classifiers.dropout
    try:
        _today_loop(config, train, val)
    finally:
        classifiers.dropout = fast_dropout


def _today_loop(config, train, val) -> None:
    features, adjacency, labels = train
    generator = torch.Generator().manual_seed(config.seed)
    model = build_model(config.model, N_BANDS, 2, hidden_channels=config.hidden, n_layers=config.layers,
                        dropout=config.dropout, K=config.cheb_k)
    model.reset_parameters()
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    features_t, adjacency_t, labels_t = (torch.from_numpy(a) for a in (features, adjacency, labels))
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(len(features_t), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start:start + config.batch_size]
            if len(index) < 2:
                continue
            loss = loss_fn(model(*make_batch(features_t[index], adjacency_t[index])), labels_t[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(index)
        proba = predict_proba(model, val[0], val[1], batch_size=256, backend="pyg")
        nn.functional.nll_loss(torch.log(torch.from_numpy(proba).clamp_min(1e-12)), torch.from_numpy(val[2]))
        balanced_accuracy_score(val[2], proba.argmax(axis=1))


def _graphs(features: np.ndarray, adjacency: np.ndarray, labels: np.ndarray) -> list:
    """One PyG ``Data`` per window (made once, outside the timed loop)."""
    from torch_geometric.data import Data

    out = []
    for x, a, y in zip(features, adjacency, labels, strict=True):
        row, col = np.nonzero(a)
        out.append(Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(np.stack([row, col])),
                        edge_attr=torch.from_numpy(a[row, col]), y=torch.tensor([y])))
    return out


def _dataloader(config, train_graphs: list, val_graphs: list) -> None:
    """A plain PyG training loop: ``torch_geometric.loader.DataLoader`` over ``Data`` graphs."""
    from torch_geometric.loader import DataLoader

    train_loader = DataLoader(train_graphs, batch_size=config.batch_size, shuffle=True,
                              generator=torch.Generator().manual_seed(config.seed))
    val_loader = DataLoader(val_graphs, batch_size=256)
    model = build_model(config.model, N_BANDS, 2, hidden_channels=config.hidden, n_layers=config.layers,
                        dropout=config.dropout, K=config.cheb_k)
    model.reset_parameters()
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    for _ in range(config.epochs):
        model.train()
        for batch in train_loader:
            loss = nn.functional.cross_entropy(model(batch.x, batch.edge_index, batch.edge_attr, batch.batch),
                                               batch.y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            for batch in val_loader:
                model(batch.x, batch.edge_index, batch.edge_attr, batch.batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="cheb", choices=("cheb", "gcn"))
    parser.add_argument("--variants", action="store_true",
                        help="time every model and readout setting on the dense path against cheb + pool instead")
    parser.add_argument("--graph", default="per-window", choices=("per-window", "shared", "none"),
                        help="each window's own graph, one shared by all, or no edges (default: %(default)s)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    train, val = _windows(rng, N_TRAIN), _windows(rng, N_VAL)
    train, val = ((f, _graph_kind(w, args.graph), y) for f, w, y in (train, val))
    if args.variants:
        compare_variants(args, train, val)
        return
    train_repeated, val_repeated = _per_window(train), _per_window(val)
    train_graphs, val_graphs = _graphs(*train_repeated), _graphs(*val_repeated)
    paths = {
        "dense": lambda: train_graph_model(_settings(args, "dense"), 2, train, val),
        "pyg": lambda: train_graph_model(_settings(args, "pyg"), 2, train_repeated, val_repeated),
        "today": lambda: _today(_settings(args, "pyg"), train_repeated, val_repeated),
        "dataloader": lambda: _dataloader(_settings(args, "pyg"), train_graphs, val_graphs),
    }
    wall, cpu = _best_times(paths, args.rounds)
    print(f"{args.model}, {args.graph} graphs: {N_TRAIN} training + {N_VAL} validation windows of {N_NODES} nodes "
          f"per epoch, {args.epochs} epochs, best of {args.rounds} interleaved rounds, {torch.get_num_threads()} thread")
    print(f"  {'path':<11}{'windows/s (wall)':>17}{'ratio':>8}{'windows/s (CPU time)':>23}{'ratio':>8}")
    for name in paths:
        speed_wall, speed_cpu = N_TRAIN * args.epochs / wall[name], N_TRAIN * args.epochs / cpu[name]
        print(f"  {name:<11}{speed_wall:17.0f}{wall['today'] / wall[name]:7.2f}x{speed_cpu:23.0f}"
              f"{cpu['today'] / cpu[name]:7.2f}x")
    print("  (ratios vs today; CPU time counts load from other processes less than wall time)")


if __name__ == "__main__":
    main()
