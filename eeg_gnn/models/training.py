"""Training a graph model on one fold; :func:`eeg_gnn.pipeline.folds.fit_fold` trains every model of a fold.

Features are standardised with statistics of the fold's training subjects only; the graph model is trained with a
class-weighted loss and early stopping on the validation subjects (a part of the training subjects), and predicts
the validation subjects (for the decision threshold) and the test subjects.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score
from torch import nn
from tqdm.auto import tqdm

from eeg_gnn.evaluation.splitters import Fold, check_no_leakage
from eeg_gnn.evaluation.windows import WindowTable
from eeg_gnn.models.classifiers import build_model, make_batch


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
    progress: bool


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
        Losses and validation scores per epoch.
    best_epoch : int
    """

    test_proba: np.ndarray
    val_proba: np.ndarray
    val_labels: np.ndarray
    checkpoint: dict
    history: list[dict]
    best_epoch: int


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)


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


def _logits(model: nn.Module, features: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
    x, edge_index, edge_weight, batch = make_batch(features, adjacency)
    return model(x, edge_index, edge_weight, batch)


def predict_proba(model: nn.Module, features: np.ndarray, adjacency: np.ndarray, *, batch_size: int = 256,
                  device: str = "cpu") -> np.ndarray:
    """Class probabilities, shape (n_windows, n_classes), in evaluation mode."""
    model.eval()
    shared = adjacency.ndim == 2
    out = []
    with torch.no_grad():
        for start in range(0, len(features), batch_size):
            stop = start + batch_size
            adj = adjacency if shared else adjacency[start:stop]
            logits = _logits(model, torch.from_numpy(features[start:stop]).to(device),
                             torch.from_numpy(np.ascontiguousarray(adj)).to(device))
            out.append(torch.softmax(logits, dim=1).cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def train_graph_model(config: TrainingSettings, n_classes: int, train: tuple, val: tuple | None, *, writer=None,
                      desc: str = "") -> tuple[nn.Module, list[dict], int]:
    """Fit a graph model with early stopping on the validation loss.

    ``train`` and ``val`` are (features, adjacency, labels) with features (n, n_nodes, n_bands) and adjacency
    (n_nodes, n_nodes) or (n, n_nodes, n_nodes). Returns the model at its best epoch, the per-epoch history and
    the best epoch.
    """
    features, adjacency, labels = train
    generator = torch.Generator().manual_seed(config.seed)
    model = build_model(config.model, features.shape[2], n_classes, hidden_channels=config.hidden,
                        n_layers=config.layers, dropout=config.dropout, K=config.cheb_k).to(config.device)
    model.reset_parameters()
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = nn.CrossEntropyLoss(weight=_class_weights(labels, n_classes).to(config.device))
    shared = adjacency.ndim == 2
    adjacency_t = torch.from_numpy(np.ascontiguousarray(adjacency)).to(config.device)
    features_t = torch.from_numpy(features).to(config.device)
    labels_t = torch.from_numpy(labels).long().to(config.device)
    best_state, best_loss, best_epoch, history = None, np.inf, 0, []
    bar = tqdm(range(1, config.epochs + 1), desc=desc, unit="epoch", leave=False, disable=not config.progress)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(features_t), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start:start + config.batch_size]
            if len(index) < 2:
                continue
            adj = adjacency_t if shared else adjacency_t[index]
            loss = loss_fn(_logits(model, features_t[index], adj), labels_t[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(index)
        record = {"epoch": epoch, "train_loss": total / len(order)}
        if val is not None and len(val[0]):
            proba = predict_proba(model, val[0], val[1], device=config.device)
            record["val_loss"] = float(nn.functional.nll_loss(
                torch.log(torch.from_numpy(proba).clamp_min(1e-12)), torch.from_numpy(val[2]).long(),
                weight=_class_weights(labels, n_classes).double()))
            record["val_balanced_accuracy"] = float(balanced_accuracy_score(val[2], proba.argmax(axis=1)))
        monitored = record.get("val_loss", record["train_loss"])
        if monitored < best_loss - 1e-4:
            best_loss, best_epoch, best_state = monitored, epoch, copy.deepcopy(model.state_dict())
        history.append(record)
        if writer is not None:
            for key, value in record.items():
                if key != "epoch":
                    writer.add_scalar(key.replace("_", "/", 1), value, epoch)
        bar.set_postfix({k: round(v, 3) for k, v in record.items() if k != "epoch"})
        if epoch - best_epoch >= config.patience:
            break
    model.load_state_dict(best_state)
    return model, history, best_epoch


def fit_graph(config: TrainingSettings, samples: Samples, fold: Fold, n_classes: int,
              adjacency: np.ndarray | None = None) -> GraphFit:
    """Train the configured graph model on one fold's training subjects and predict its test subjects.

    Parameters
    ----------
    config : TrainingSettings
    samples : Samples
    fold : Fold
    n_classes : int
    adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes), optional
        The graph to use instead of ``samples.adjacency`` (e.g. a control: no edges, or permuted nodes).

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

    (fit_x, val_x, test_x), mean, std = standardise(*(samples.features[m] for m in (fit_mask, val_mask, test_mask)))
    val = (val_x, graphs(val_mask), samples.labels[val_mask]) if val_mask.any() else None
    model, history, best_epoch = train_graph_model(config, n_classes, (fit_x, graphs(fit_mask), samples.labels[fit_mask]),
                                                   val, desc=f"fold {fold.index}")
    val_proba = (predict_proba(model, val_x, graphs(val_mask), device=config.device) if val is not None
                 else np.zeros((0, n_classes)))
    checkpoint = {
        "model": config.model, "state_dict": model.state_dict(),
        "model_kwargs": {"in_channels": model.in_channels, "n_classes": n_classes, "hidden_channels": config.hidden,
                         "n_layers": config.layers, "dropout": config.dropout, "K": config.cheb_k},
        "feature_mean": torch.from_numpy(mean), "feature_std": torch.from_numpy(std),
        "node_names": list(samples.node_names), "best_epoch": best_epoch, "fold": fold.index,
    }
    return GraphFit(predict_proba(model, test_x, graphs(test_mask), device=config.device), val_proba,
                    samples.labels[val_mask], checkpoint, history, best_epoch)
