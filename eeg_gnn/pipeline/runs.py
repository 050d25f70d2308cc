"""Open a finished run directory and check it before anything is computed from it."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from eeg_gnn import __version__
from eeg_gnn.evaluation.scoring import Predictions, read_predictions
from eeg_gnn.models.catalog import BASELINES
from eeg_gnn.models.classifiers import model_from_checkpoint
from eeg_gnn.models.graph_tangent import graph_tangent_input
from eeg_gnn.models.node_features import NodeFeatures
from eeg_gnn.models.persistence import load_checkpoint, load_estimator
from eeg_gnn.models.training import apply_standardisation, predict_proba
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.experiment import INCOMPLETE, evaluate_predictions
from eeg_gnn.pipeline.folds import PRIMARY, checkpoint_path, manifest_path
from eeg_gnn.signal.graph import uniform_adjacency
from eeg_gnn.utils.files import verify_sha256

REQUIRED_FILES = ("config.json", "folds.csv", "predictions.csv", "results.json")
RECOMPUTE_TOLERANCE = 1e-9


@dataclass
class Run:
    """A finished training run: its config, saved results, folds and predictions."""

    path: Path
    config: TrainConfig
    saved: dict
    results: dict
    roles: dict[int, dict[str, str]]
    predictions: Predictions

    @property
    def classes(self) -> list[str]:
        return list(self.results["classes"])

    @property
    def node_names(self) -> list[str]:
        return list(self.results["node_names"])

    def checkpoint(self, fold: int, name: str = PRIMARY) -> Path:
        return checkpoint_path(self.path / "checkpoints", fold, name)

    def fold_config(self, fold: int) -> TrainConfig:
        """The settings fold ``fold``'s graph model was trained with: the run's, with what nested selection chose."""
        chosen = {e["fold"]: e["settings"] for e in self.results.get("selection", {}).get("per_fold", [])}
        if fold not in chosen:
            return self.config
        return TrainConfig.from_dict({**self.config.to_dict(), **chosen[fold], "select": None, "repeats": 1},
                                     source=f"the choice of fold {fold} in {self.path / 'results.json'}")

    def load_fold(self, fold: int) -> FoldModels:
        """The graph model, its feature statistics, the fitted baselines and every decision threshold of one fold.

        Nothing in the run directory is unpickled: see :mod:`eeg_gnn.models.persistence`. Every file is first
        checked against the SHA-256 its fold's manifest recorded when it was saved.
        """
        manifest_file = manifest_path(self.path / "checkpoints", fold)
        if not manifest_file.is_file():
            pickled = self.path / "checkpoints" / f"fold_{fold}_baseline.joblib"
            if pickled.is_file():
                raise ValueError(f"{self.path} holds fold {fold}'s baseline as a pickle ({pickled.name}), written "
                                 "by an older eeg-gnn; pickles are not loaded because they can run code. Train "
                                 "again with this version.")
            raise ValueError(f"{self.path} lacks the saved models of fold {fold} ({manifest_file.name}); train again.")
        manifest = read_json(manifest_file)
        for name, expected in manifest.get("sha256", {}).items():
            verify_sha256(self.path / "checkpoints" / name, expected, str(manifest_file))
        primary = manifest["models"].get(PRIMARY, {}).get("file", self.checkpoint(fold).name)
        models = _graph_models(self.path / "checkpoints" / primary)
        baselines = {name: load_estimator(self.path / "checkpoints" / entry["file"])
                     for name, entry in manifest["models"].items() if name in BASELINES}
        thresholds = {name: entry["threshold"] for name, entry in manifest["models"].items()}
        controls = {}
        for name, entry in manifest["models"].items():
            if name.startswith(f"{PRIMARY}_") and name not in BASELINES:
                control = _graph_models(self.path / "checkpoints" / entry["file"])
                controls[name] = replace(control, thresholds={name: entry["threshold"]},
                                         control=name.removeprefix(f"{PRIMARY}_"),
                                         permutation=list(entry.get("permutation", [])))
        return replace(models, baselines=baselines, thresholds=thresholds, controls=controls)


def _graph_models(path: Path) -> FoldModels:
    """A graph model saved at ``path`` (the fold's, or one of its controls'): a network with its standardisation
    (``.pt``), or a scikit-learn pipeline (``.skops``, ``tangent_graph``)."""
    if path.suffix == ".skops":
        return FoldModels(None, None, None, {}, {}, estimator=load_estimator(path))
    checkpoint = load_checkpoint(path)
    try:
        model = model_from_checkpoint(checkpoint)
        mean, std = checkpoint["feature_mean"].numpy(), checkpoint["feature_std"].numpy()
        node_features = NodeFeatures.from_state(checkpoint.get("node_features"))
    except (KeyError, TypeError, AttributeError, RuntimeError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise ValueError(f"{path} is not a checkpoint written by this eeg-gnn ({type(exc).__name__}: {detail}); "
                         "train again.") from exc
    learned = checkpoint.get("learned_adjacency")
    return FoldModels(model, mean, std, {}, {}, node_features,
                      None if learned is None else learned.numpy().astype(np.float64))


@dataclass
class FoldModels:
    """What one fold trained: the graph model (a network in eval mode, or ``estimator``), its standardisation, the
    fitted baselines by name, and the decision threshold of every model (None: the most probable class), how node
    inputs are made, and the adjacency a ``dgcnn`` model learned (n_nodes, n_nodes; None for other models).

    ``controls`` holds each graph control (``graph_no_edges``, ``graph_shuffled``, ...) as its own FoldModels, with
    ``permutation`` the node permutation of its graph (empty: no edges, see
    :func:`eeg_gnn.signal.graph.control_adjacency`).

    A graph model that is a scikit-learn pipeline (``tangent_graph``) is ``estimator``; ``model`` and the feature
    statistics are then None."""

    model: torch.nn.Module | None
    feature_mean: np.ndarray | None
    feature_std: np.ndarray | None
    baselines: dict[str, object]
    thresholds: dict[str, float | None]
    node_features: NodeFeatures | None = None
    learned_adjacency: np.ndarray | None = None
    controls: dict[str, FoldModels] = field(default_factory=dict)
    control: str | None = None
    permutation: list[int] = field(default_factory=list)
    estimator: object | None = None

    def control_graph(self, adjacency: np.ndarray) -> np.ndarray:
        """The graph this control sees in place of the run's ``adjacency`` (n_nodes, n_nodes) or (n_windows,
        n_nodes, n_nodes): none for ``no_edges``, the nodes permuted by the saved permutation for ``shuffled``, the
        graph's mean edge weight on every pair for ``uniform``. A ``rewired`` graph's random moves are not saved, so
        that control cannot be applied to new recordings."""
        if self.control == "no_edges":
            return np.zeros(adjacency.shape[-2:], dtype=adjacency.dtype)
        if self.control == "uniform":
            return uniform_adjacency(adjacency)
        if self.control == "shuffled" and self.permutation:
            order = np.asarray(self.permutation)
            return np.ascontiguousarray(adjacency[..., order, :][..., :, order])
        raise ValueError(f"Control {self.control!r} of this run cannot be applied to new recordings (its graph is "
                         "not saved with the run); pass --controls none when training, or apply it without them.")

    def standardise(self, features: np.ndarray, covariance: np.ndarray | None = None) -> np.ndarray:
        """The graph model's inputs: node features made as in training (see
        :class:`eeg_gnn.models.node_features.NodeFeatures`; ``covariance`` is needed for tangent rows), then
        standardised with the fold's training statistics."""
        inputs = (self.node_features or NodeFeatures()).transform(features, covariance)
        return apply_standardisation(inputs, self.feature_mean, self.feature_std)

    def graph_proba(self, features: np.ndarray, covariance: np.ndarray | None, adjacency: np.ndarray) -> np.ndarray:
        """The graph model's class probabilities, shape (n_windows, n_classes).

        Parameters
        ----------
        features : ndarray, shape (n_windows, n_nodes, n_bands)
        covariance : ndarray, shape (n_windows, n_bands, n_nodes, n_nodes), or None when the model reads none
        adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
        """
        if self.estimator is not None:
            return self.estimator.predict_proba(graph_tangent_input(covariance, adjacency))
        return predict_proba(self.model, self.standardise(features, covariance), adjacency)


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def read_json(path: Path) -> dict:
    """A run's JSON file, or one line naming it when it is cut or damaged."""
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is damaged or cut short ({exc}); it cannot be read: restore the run directory or "
                         "train again.") from exc


def load_run(run_dir: str | Path) -> Run:
    """Read a run directory written by ``train.py``, refusing one that is incomplete or from another version.

    Raises
    ------
    FileNotFoundError
        No such directory.
    ValueError
        The run did not finish, misses files, was made by an incompatible eeg-gnn, or its predictions do not
        match its folds.
    """
    path = Path(run_dir).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"No run directory at {path}.")
    if (path / INCOMPLETE).exists():
        raise ValueError(f"{path} is an incomplete run ({(path / INCOMPLETE).read_text().strip()}). "
                         "Run train.py again; an incomplete run cannot be evaluated.")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ValueError(f"{path} is not a finished run directory: it lacks {', '.join(missing)}.")
    saved = read_json(path / "config.json")
    made_by = saved.get("versions", {}).get("eeg_gnn", "unknown")
    if _major_minor(made_by) != _major_minor(__version__):
        raise ValueError(f"{path} was made by eeg-gnn {made_by}; this is eeg-gnn {__version__}. Evaluate it with "
                         f"eeg-gnn {made_by}, or train again with this version.")
    try:
        config = TrainConfig.from_dict(saved["config"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}/config.json does not hold a valid configuration: {exc}") from exc
    results = read_json(path / "results.json")
    roles = read_folds(path / "folds.csv")
    predictions = read_predictions(path / "predictions.csv", results["classes"])
    check_predictions_match_folds(predictions, roles, path)
    return Run(path, config, saved, results, roles, predictions)


def read_folds(path: Path) -> dict[int, dict[str, str]]:
    """``folds.csv`` as {fold: {group: role}}."""
    roles: dict[int, dict[str, str]] = {}
    with path.open(newline="") as stream:
        reader = csv.DictReader(stream)
        if reader.fieldnames != ["fold", "group", "role"]:
            raise ValueError(f"{path} has columns {reader.fieldnames}, not fold,group,role: it comes from another "
                             "version of eeg-gnn. Train again with this version.")
        for row in reader:
            roles.setdefault(int(row["fold"]), {})[row["group"]] = row["role"]
    return roles


def check_predictions_match_folds(predictions: Predictions, roles: dict[int, dict[str, str]], path: Path) -> None:
    """Every predicted window must belong to a test subject of its fold, and every subject be tested once."""
    pairs = set(zip(predictions.folds.tolist(), predictions.groups.tolist()))
    wrong = sorted((fold, subject) for fold, subject in pairs if roles.get(fold, {}).get(subject) != "test")
    if wrong:
        fold, subject = wrong[0]
        raise ValueError(f"{path}: predictions.csv has windows of group {subject!r} in fold {fold}, but folds.csv "
                         f"does not list it as tested there ({len(wrong)} such subject/fold pairs). The files do not "
                         "belong to the same run.")
    tested_in = {}
    for fold, members in roles.items():
        for subject, role in members.items():
            if role == "test":
                tested_in.setdefault(subject, []).append(fold)
    twice = {s: f for s, f in tested_in.items() if len(f) > 1}
    if twice:
        raise ValueError(f"{path}: folds.csv tests groups in more than one fold: {twice}.")


def _compare(saved, recomputed, where: str, differences: list[str]) -> None:
    if isinstance(recomputed, dict):
        for key, value in recomputed.items():
            if key not in saved:
                differences.append(f"{where}.{key} missing from results.json")
            else:
                _compare(saved[key], value, f"{where}.{key}", differences)
    elif isinstance(recomputed, list):
        if not isinstance(saved, list) or len(saved) != len(recomputed):
            differences.append(f"{where}: {saved!r} != {recomputed!r}")
        else:
            for index, (a, b) in enumerate(zip(saved, recomputed)):
                _compare(a, b, f"{where}[{index}]", differences)
    elif isinstance(recomputed, float) and isinstance(saved, (int, float)):
        if not math.isclose(saved, recomputed, rel_tol=RECOMPUTE_TOLERANCE, abs_tol=RECOMPUTE_TOLERANCE):
            differences.append(f"{where}: saved {saved!r}, recomputed {recomputed!r}")
    elif saved != recomputed:
        differences.append(f"{where}: saved {saved!r}, recomputed {recomputed!r}")


def recompute_results(run: Run) -> dict:
    """Recompute every metric and paired comparison from ``predictions.csv`` and check them against ``results.json``.

    Returns
    -------
    dict
        The recomputed metrics, ``{model_name: {...}}``.

    Raises
    ------
    ValueError
        Listing the values that differ.
    """
    recomputed = evaluate_predictions(run.config, run.predictions, run.results["label_level"])
    differences: list[str] = []
    saved_models = run.results.get("models", {})
    missing = sorted(set(recomputed["models"]) ^ set(saved_models))
    if missing:
        differences.append(f"models {missing} are in only one of predictions.csv and results.json")
    for name, metrics in recomputed["models"].items():
        _compare(saved_models.get(name, {}), metrics, f"models.{name}", differences)
    _compare(run.results.get("comparisons", []), recomputed["comparisons"], "comparisons", differences)
    if differences:
        shown = "; ".join(differences[:5])
        raise ValueError(f"Metrics recomputed from {run.path}/predictions.csv differ from results.json "
                         f"({len(differences)} values: {shown}). The files were changed after training.")
    return recomputed["models"]
