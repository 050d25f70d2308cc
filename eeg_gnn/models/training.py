"""Training a graph model on one fold; :func:`eeg_gnn.pipeline.folds.fit_fold` trains every model of a fold.

Node inputs are made from the features (and covariances) by :class:`eeg_gnn.models.node_features.NodeFeatures`,
its tangent-space reference fitted on the fold's training subjects only, then standardised with statistics of the
training subjects only; the graph model is trained with a class-weighted loss (plus the model's own penalty, e.g.
a learned adjacency's sparsity) and early stopping on the validation subjects (a part of the training subjects).
With ``refit`` (the default of :class:`eeg_gnn.pipeline.config.TrainConfig`) the validation subjects choose only
the number of epochs: a model drawn from the same seed is then trained on every training subject (fit and
validation) for that many epochs and predicts the test subjects, so that graph models learn from the same subjects
as the baselines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from eeg_gnn.evaluation.splitters import Fold, check_no_leakage
from eeg_gnn.evaluation.windows import WindowTable
from eeg_gnn.models.catalog import BACKENDS, OWN_GENERATOR_DEVICES
from eeg_gnn.models.classifiers import build_model, make_batch
from eeg_gnn.models.layers import GLOBAL_GENERATOR_LOCK
from eeg_gnn.models.node_features import NodeFeatures
from eeg_gnn.models.optimiser import make_adam
from eeg_gnn.utils.validation import check_option


class TrainingSettings(Protocol):
    """What training reads of a configuration (:class:`eeg_gnn.pipeline.config.TrainConfig` has all of it)."""

    model: str
    hidden: int
    layers: int
    dropout: float
    cheb_k: int
    lr: float
    weight_decay: float
    epochs: int
    patience: int
    batch_size: int
    seed: int
    device: str
    backend: str
    progress: bool
    adjacency_l1: float
    node_features: str
    spatial_centring: bool
    refit: bool
    readout: str
    node_embedding: int
    self_weight: bool
    heads: int


#: Sparsity weight of a learned adjacency when the settings do not name one.
DEFAULT_ADJACENCY_L1 = 1e-3


def architecture(config: TrainingSettings, n_nodes: int) -> dict:
    """The keyword arguments of :func:`eeg_gnn.models.classifiers.build_model` that ``config`` sets for graphs of
    ``n_nodes`` nodes: plain values, saved in a checkpoint's ``model_kwargs`` to rebuild the model.

    Settings that an older configuration (or a caller's own settings object) lacks take the values that give the
    model it always gave: the pool readout, no node embedding, no GCN self weight.
    """
    return {"hidden_channels": config.hidden, "n_layers": config.layers, "dropout": config.dropout,
            "K": config.cheb_k, "n_nodes": n_nodes, "readout": getattr(config, "readout", "pool"),
            "node_embedding": getattr(config, "node_embedding", 0),
            "self_weight": getattr(config, "self_weight", False), "heads": getattr(config, "heads", 1)}


@dataclass
class Samples(WindowTable):
    """All windows of a dataset: the window table plus what the models see.

    Attributes
    ----------
    features : ndarray, shape (n_windows, n_nodes, n_bands)
    adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
    node_names : list of str
    """

    features: np.ndarray
    adjacency: np.ndarray
    node_names: list[str]
    covariance: np.ndarray | None = None

    def take(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        adjacency = self.adjacency[mask] if self.adjacency.ndim == 3 else None
        return self.features[mask], adjacency


@dataclass
class GraphFit:
    """What a graph model learned on one fold and what it predicted.

    Attributes
    ----------
    test_proba : ndarray, shape (n_test_windows, n_classes)
    val_proba : ndarray, shape (n_val_windows, n_classes)
        Predictions of the validation subjects at the best epoch (empty without validation subjects).
    val_labels : ndarray of int, shape (n_val_windows,)
    checkpoint : dict
        Tensors and plain values only (see :func:`eeg_gnn.models.persistence.save_checkpoint`): the model name,
        ``state_dict``, ``model_kwargs``, ``feature_mean``/``feature_std``, ``node_names``, ``best_epoch``, ``fold``.
    history : list of dict
        Losses and validation scores per epoch (of the early-stopped model).
    best_epoch : int
    refitted : bool
        Whether the returned model (and ``test_proba``) is the refit on every training subject for ``best_epoch``
        epochs rather than the early-stopped model; ``val_proba`` always comes from the early-stopped one.
    """

    test_proba: np.ndarray
    val_proba: np.ndarray
    val_labels: np.ndarray
    checkpoint: dict
    history: list[dict]
    best_epoch: int
    refitted: bool = False


def _default_generator(device: torch.device) -> torch.Generator | None:
    """PyTorch's global generator of ``device``, on the devices of :data:`OWN_GENERATOR_DEVICES` (else None)."""
    if device.type not in OWN_GENERATOR_DEVICES:
        return None
    if device.type == "cpu":
        return torch.default_generator
    return torch.cuda.default_generators[device.index if device.index is not None else torch.cuda.current_device()]


def initialised_model(build: Callable[[], nn.Module], device: str, seed: int | None) -> nn.Module:
    """``build()`` moved to ``device`` with its weights drawn afresh (``reset_parameters``).

    With a ``seed`` the weights are drawn from PyTorch's global generator seeded with it, while no other thread
    draws from it, and the model then draws its dropout masks from a generator of its own that continues where the
    global one stopped: the numbers of ``torch.manual_seed(seed)`` followed by training, whichever other models
    train in other threads meanwhile. Without a seed the global generator is used as it stands.
    """
    if seed is None:
        model = build().to(device)
        model.reset_parameters()
        return model
    with GLOBAL_GENERATOR_LOCK:
        torch.manual_seed(seed)
        model = build().to(device)
        model.reset_parameters()
        default = _default_generator(torch.device(device))
        generator = None
        if default is not None:
            generator = torch.Generator(device=device)
            generator.set_state(default.get_state())
    model.use_generator(generator)
    return model


def standardise(train: np.ndarray, *others: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Z-score every (node, band) feature with the mean and std of ``train`` only.

    Returns the standardised arrays (``train`` first) and the mean and std, shape (1, n_nodes, n_bands).
    """
    mean = train.mean(axis=0, keepdims=True)
    std = train.std(axis=0, keepdims=True) + 1e-6
    return [apply_standardisation(x, mean, std) for x in (train, *others)], mean, std


def apply_standardisation(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(features - mean) / std as float32, with the statistics a fold saved (see :func:`standardise`)."""
    return ((features - mean) / std).astype(np.float32)


def _class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    weights = counts.sum() / (n_classes * np.maximum(counts, 1))
    return torch.tensor(weights, dtype=torch.float32)


def prepare_graphs(model: nn.Module, features: np.ndarray, adjacency: np.ndarray, *, backend: str = "dense",
                   device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Features and graphs as tensors on ``device``, in the form ``backend`` consumes, made once per set of windows.

    Parameters
    ----------
    model : nn.Module
        A classifier of :mod:`eeg_gnn.models.classifiers` (its :meth:`operator` turns graphs into the dense path's
        operators).
    features : ndarray, shape (n_windows, n_nodes, n_features)
    adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
    backend : 'dense' | 'pyg'
        ``'dense'``: batched matrix products on operators computed here, once per window; ``'pyg'``: PyG message
        passing, which rebuilds its operator from the edge list on every forward pass (graphs of any size).

    Returns
    -------
    x : Tensor, shape (n_windows, n_nodes, n_features)
    graphs : Tensor, the shape of ``adjacency``
        The operators (``'dense'``) or the adjacency (``'pyg'``).
    """
    check_option("backend", backend, BACKENDS)
    x = torch.as_tensor(np.ascontiguousarray(features), device=device)
    graphs = torch.as_tensor(np.ascontiguousarray(adjacency), device=device).to(x.dtype)
    if backend == "dense":
        with torch.no_grad():
            graphs = model.operator(graphs)
    return x, graphs


def initial_adjacency(adjacency: np.ndarray) -> np.ndarray:
    """The graph a learned adjacency starts from: the shared graph, or the mean of the windows' graphs.

    Parameters
    ----------
    adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)

    Returns
    -------
    ndarray of float32, shape (n_nodes, n_nodes)
    """
    adjacency = np.asarray(adjacency, dtype=np.float64)
    return (adjacency if adjacency.ndim == 2 else adjacency.mean(axis=0)).astype(np.float32)


def graph_logits(model: nn.Module, x: torch.Tensor, graphs: torch.Tensor, backend: str = "dense") -> torch.Tensor:
    """Class logits, shape (n_windows, n_classes), of windows prepared by :func:`prepare_graphs`."""
    if backend == "dense":
        return model.forward_dense(x, graphs)
    return model(*make_batch(x, graphs))


def balanced_accuracy(labels: torch.Tensor, predicted: torch.Tensor, n_classes: int) -> float:
    """Mean recall over the classes present in ``labels``, as ``sklearn.metrics.balanced_accuracy_score``.

    Computed on the device from one ``bincount``: scikit-learn's checks cost 20 ms per call, about 5 % of a
    dense epoch when it runs on every validation pass.

    Parameters
    ----------
    labels, predicted : Tensor of int, shape (n_windows,)
    n_classes : int
    """
    counts = torch.bincount(labels * n_classes + predicted, minlength=n_classes * n_classes)
    confusion = counts.reshape(n_classes, n_classes).double()
    support = confusion.sum(dim=1)
    present = support > 0
    return float((confusion.diagonal()[present] / support[present]).mean())


def _take(graphs: torch.Tensor, index) -> torch.Tensor:
    return graphs if graphs.dim() == 2 else graphs[index]


def _batched_logits(model: nn.Module, x: torch.Tensor, graphs: torch.Tensor, backend: str,
                    batch_size: int) -> torch.Tensor:
    """Logits of every window in evaluation mode, ``batch_size`` windows at a time."""
    model.eval()
    with torch.no_grad():
        return torch.cat([graph_logits(model, x[start:start + batch_size],
                                       _take(graphs, slice(start, start + batch_size)), backend)
                          for start in range(0, len(x), batch_size)])


def predict_proba(model: nn.Module, features: np.ndarray, adjacency: np.ndarray, *, batch_size: int = 1024,
                  device: str = "cpu", backend: str = "dense") -> np.ndarray:
    """Class probabilities, shape (n_windows, n_classes), in evaluation mode.

    Parameters
    ----------
    model : nn.Module
    features : ndarray, shape (n_windows, n_nodes, n_features)
    adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
    batch_size : int
        Windows per forward pass (memory only: results do not depend on it).
    device : str
    backend : 'dense' | 'pyg'
    """
    x, graphs = prepare_graphs(model, features, adjacency, backend=backend, device=device)
    logits = _batched_logits(model, x, graphs, backend, batch_size)
    return torch.softmax(logits, dim=1).cpu().numpy().astype(np.float64)


def train_graph_model(config: TrainingSettings, n_classes: int, train: tuple, val: tuple | None, *, writer=None,
                      desc: str = "", init_seed: int | None = None,
                      fixed_epochs: int | None = None) -> tuple[nn.Module, list[dict], int]:
    """Fit a graph model with early stopping on the validation loss, or for a fixed number of epochs.

    ``train`` and ``val`` are (features, adjacency, labels) with features (n, n_nodes, n_bands) and adjacency
    (n_nodes, n_nodes) or (n, n_nodes, n_nodes). Features, graph operators and labels are moved to the device and
    prepared once; each epoch is one pass of shuffled batches and one batched pass over the validation windows.
    ``init_seed`` seeds the weights and dropout (see :func:`initialised_model`; None: PyTorch's global generator
    as it stands); ``config.seed`` the order of the batches. With ``fixed_epochs`` (and no ``val``) the model is
    trained for exactly that many epochs and returned as it stands after the last one (the refit of
    :func:`fit_graph`). Returns the model at its best epoch, the per-epoch history and the best epoch.
    """
    if fixed_epochs is not None and (val is not None or fixed_epochs < 1):
        raise ValueError(f"fixed_epochs (got {fixed_epochs}) must be >= 1 and needs no validation windows.")
    features, adjacency, labels = train
    backend, device = config.backend, config.device
    generator = torch.Generator().manual_seed(config.seed)
    model = initialised_model(
        lambda: build_model(config.model, features.shape[2], n_classes, **architecture(config, features.shape[1]),
                            adjacency=initial_adjacency(adjacency),
                            l1=getattr(config, "adjacency_l1", DEFAULT_ADJACENCY_L1)),
        device, init_seed)
    optimiser = make_adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    weights = _class_weights(labels, n_classes).to(device)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    x, graphs = prepare_graphs(model, features, adjacency, backend=backend, device=device)
    y = torch.as_tensor(labels, device=device).long()
    validating = val is not None and len(val[0]) > 0
    if validating:
        val_x, val_graphs = prepare_graphs(model, val[0], val[1], backend=backend, device=device)
        val_y = torch.as_tensor(val[2], device=device).long()
    best_state, best_loss, best_epoch, history = None, np.inf, 0, []
    n_epochs = config.epochs if fixed_epochs is None else fixed_epochs
    bar = tqdm(range(1, n_epochs + 1), desc=desc, unit="epoch", leave=False, disable=not config.progress)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(x), generator=generator).to(device)
        # One gather per epoch; batches are then contiguous slices of the shuffled copies.
        shuffled_x, shuffled_graphs, shuffled_y = x[order], _take(graphs, order), y[order]
        total = torch.zeros((), device=device)
        for start in range(0, len(order), config.batch_size):
            stop = min(start + config.batch_size, len(order))
            if stop - start < 2:
                continue
            batch = slice(start, stop)
            logits = graph_logits(model, shuffled_x[batch], _take(shuffled_graphs, batch), backend)
            loss = loss_fn(logits, shuffled_y[batch])
            penalty = model.penalty()
            if penalty is not None:
                loss = loss + penalty
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.detach() * (stop - start)
        record = {"epoch": epoch, "train_loss": total.item() / len(order)}
        if validating:
            logits = _batched_logits(model, val_x, val_graphs, backend, batch_size=1024)
            record["val_loss"] = float(nn.functional.cross_entropy(logits.double(), val_y,
                                                                   weight=weights.double()))
            record["val_balanced_accuracy"] = balanced_accuracy(val_y, logits.argmax(dim=1), n_classes)
        monitored = record.get("val_loss", record["train_loss"])
        if fixed_epochs is not None:
            best_epoch = epoch
        elif monitored < best_loss - 1e-4:
            best_loss, best_epoch = monitored, epoch
            best_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
        history.append(record)
        if writer is not None:
            for key, value in record.items():
                if key != "epoch":
                    writer.add_scalar(key.replace("_", "/", 1), value, epoch)
        bar.set_postfix({k: round(v, 3) for k, v in record.items() if k != "epoch"})
        if fixed_epochs is None and epoch - best_epoch >= config.patience:
            break
    if fixed_epochs is None:
        model.load_state_dict(best_state)
    model.use_generator(None)
    return model, history, best_epoch


def fit_graph(config: TrainingSettings, samples: Samples, fold: Fold, n_classes: int,
              adjacency: np.ndarray | None = None, *, init_seed: int | None = None) -> GraphFit:
    """Train the configured graph model on one fold's training subjects and predict its test subjects.

    Parameters
    ----------
    config : TrainingSettings
    samples : Samples
    fold : Fold
    n_classes : int
    adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes), optional
        The graph to use instead of ``samples.adjacency`` (e.g. a control: no edges, or permuted nodes).
    init_seed : int, optional
        Seed of the weights and dropout masks (see :func:`initialised_model`).

    Returns
    -------
    GraphFit
    """
    groups = samples.groups
    fit_mask = np.isin(groups, fold.train_subjects)
    val_mask = np.isin(groups, fold.val_subjects)
    test_mask = np.isin(groups, fold.test_subjects)
    check_no_leakage(groups[fit_mask], groups[val_mask], groups[test_mask])
    adjacency = samples.adjacency if adjacency is None else adjacency

    def graphs(mask: np.ndarray) -> np.ndarray:
        return adjacency if adjacency.ndim == 2 else adjacency[mask]

    inputs = NodeFeatures(getattr(config, "node_features", "bands"), getattr(config, "spatial_centring", False))
    covariance = samples.covariance

    def rows(mask: np.ndarray) -> np.ndarray | None:
        return None if covariance is None else covariance[mask]

    inputs.fit(rows(fit_mask | val_mask))
    node_inputs = {name: inputs.transform(samples.features[m], rows(m))
                   for name, m in (("fit", fit_mask), ("val", val_mask), ("test", test_mask))}
    (fit_x, val_x, test_x), mean, std = standardise(node_inputs["fit"], node_inputs["val"], node_inputs["test"])
    val = (val_x, graphs(val_mask), samples.labels[val_mask]) if val_mask.any() else None
    model, history, best_epoch = train_graph_model(config, n_classes, (fit_x, graphs(fit_mask), samples.labels[fit_mask]),
                                                   val, desc=f"fold {fold.index}", init_seed=init_seed)
    val_proba = (predict_proba(model, val_x, graphs(val_mask), device=config.device, backend=config.backend)
                 if val is not None else np.zeros((0, n_classes)))
    refitted = bool(getattr(config, "refit", False)) and val is not None
    if refitted:
        (train_x, test_x), mean, std = standardise(np.concatenate([node_inputs["fit"], node_inputs["val"]]),
                                                   node_inputs["test"])
        train_graphs = (adjacency if adjacency.ndim == 2
                        else np.concatenate([graphs(fit_mask), graphs(val_mask)]))
        train_labels = np.concatenate([samples.labels[fit_mask], samples.labels[val_mask]])
        model, _, _ = train_graph_model(config, n_classes, (train_x, train_graphs, train_labels), None,
                                        desc=f"fold {fold.index} refit", init_seed=init_seed,
                                        fixed_epochs=best_epoch)
    checkpoint = {
        "model": config.model, "state_dict": model.state_dict(),
        "model_kwargs": {"in_channels": model.in_channels, "n_classes": n_classes,
                         **architecture(config, len(samples.node_names))},
        "feature_mean": torch.from_numpy(mean), "feature_std": torch.from_numpy(std),
        "node_names": list(samples.node_names), "best_epoch": best_epoch, "fold": fold.index,
        "node_features": inputs.state(), "refitted": refitted,
    }
    if hasattr(model, "learned_adjacency"):
        checkpoint["model_kwargs"].update(l1=model.l1)
        with torch.no_grad():
            checkpoint["learned_adjacency"] = model.learned_adjacency().detach().cpu().clone()
    test_proba = predict_proba(model, test_x, graphs(test_mask), device=config.device, backend=config.backend)
    return GraphFit(test_proba, val_proba, samples.labels[val_mask], checkpoint, history, best_epoch, refitted)
