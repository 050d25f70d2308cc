"""Every model of one fold: the graph model, its graph controls and the baselines, on the same subjects.

:func:`fit_fold` is a pure function of (settings, data arrays, fold): it reads nothing from disk, writes nothing,
and returns arrays and fitted states, so folds (and configurations) can be sent to parallel workers;
:func:`save_fold` then writes what a fold learned beside the run. Each model of a fold is seeded by the fold and
its settings alone, so :func:`fit_model` fits any one of them on its own (a parallel run's task) with the numbers
:func:`fit_fold` gives it.

The models, by name (the names of ``results.json`` and ``predictions.csv``):

``graph``
    The configured graph model on the configured graph: a network trained with early stopping on the fold's
    validation subjects, or (``tangent_graph``, :data:`~eeg_gnn.models.catalog.ESTIMATOR_MODELS`) a scikit-learn
    pipeline fitted like the baselines on all training subjects, choosing its ``C`` by inner CV.
``graph_<control>`` (``graph_no_edges``, ``graph_shuffled``, ``graph_rewired``, ``graph_uniform``)
    Controls that isolate what the graph adds: the same model trained the same way on another graph
    (:data:`eeg_gnn.signal.graph.CONTROLS`): no edges (each node sees only itself), the nodes of the graph randomly
    permuted, the graph rewired keeping each node's weighted degree, or every pair joined with one weight. Each is
    drawn once per fold, seeded by (seed, fold).
``logreg``, ``tangent_space``
    The baselines of :mod:`eeg_gnn.models.baselines`, fitted on all training subjects (fit and validation).

Every model learns from every training subject: a graph model's validation subjects choose its number of epochs,
then it is refitted on all of them (``refit``, the default); the baselines choose ``C`` by an inner CV and are
refitted likewise. Decision thresholds (``threshold='balanced'``, two classes) come from training subjects only: a
baseline's inner-CV out-of-fold predictions, an early-stopped graph model's validation subjects; a refitted graph
model is cut at 0.5 (:func:`_threshold`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from eeg_gnn.evaluation.scoring import PROBA_DECIMALS
from eeg_gnn.evaluation.splitters import Fold
from eeg_gnn.evaluation.thresholds import balanced_threshold
from eeg_gnn.models.baselines import baseline_input, fit_baseline, make_baseline
from eeg_gnn.models.catalog import BASELINES, ESTIMATOR_MODELS
from eeg_gnn.models.graph_tangent import graph_tangent_input, make_tangent_graph
from eeg_gnn.models.persistence import save_checkpoint, save_estimator
from eeg_gnn.models.training import Samples, TrainingSettings, fit_graph
from eeg_gnn.signal.graph import CONTROLS, control_adjacency
from eeg_gnn.utils.files import atomic_write, sha256_of, write_json_atomic

PRIMARY = "graph"
KINDS = ("graph", "control", "baseline")


class FoldSettings(TrainingSettings, Protocol):
    """What a fold reads of a configuration (:class:`eeg_gnn.pipeline.config.TrainConfig` has all of it)."""

    graph: str
    controls: tuple[str, ...]
    baselines: tuple[str, ...]
    threshold: str


@dataclass
class ModelFit:
    """One model on one fold.

    Attributes
    ----------
    test_proba : ndarray, shape (n_test_windows, n_classes)
    threshold : float or None
        Decision threshold on the class-1 probability, or None for the most probable class.
    checkpoint : dict or None
        A graph model's weights and settings (tensors and plain values).
    estimator : object or None
        A baseline's fitted scikit-learn pipeline.
    history : list of dict
        A graph model's losses per epoch.
    info : dict
        Plain values worth keeping: ``best_epoch``, a baseline's chosen ``C``, a control's node permutation.
    seconds : float
        Wall-clock time of fitting and testing it (NaN when not measured); reported in ``scores.csv``.
    """

    test_proba: np.ndarray
    threshold: float | None = None
    checkpoint: dict | None = None
    estimator: Any = None
    history: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    seconds: float = float("nan")


@dataclass
class FoldResult:
    """Every model of one fold: ``test_index`` (rows of the samples tested), ``models`` by name and, with nested
    selection, what the fold chose (see :func:`eeg_gnn.pipeline.selection.fit_selected_fold`)."""

    fold: Fold
    test_index: np.ndarray
    models: dict[str, ModelFit]
    selection: dict | None = None


def model_names(config: FoldSettings) -> list[str]:
    """The models a run trains, in the order they are reported: graph, controls, baselines."""
    return [PRIMARY, *(f"{PRIMARY}_{c}" for c in config.controls), *config.baselines]


def describe_models(config: FoldSettings) -> dict[str, dict[str, str]]:
    """``{name: {"description", "kind"}}`` of every model of a run."""
    graph = (f"an adjacency learned from the {config.graph} graph" if config.model == "dgcnn"
             else f"the {config.graph} graph")
    inputs = getattr(config, "node_features", "bands")
    extras = ([] if inputs == "bands" else [f"node features {inputs}"]) + (
        ["spatially centred"] if getattr(config, "spatial_centring", False) else [])
    description = f"{config.model.upper()} on {graph}" + (f" ({', '.join(extras)})" if extras else "")
    if config.model in ESTIMATOR_MODELS:
        description = (f"tangent space of band-wise covariances (OAS) filtered over {graph} ({config.hops} hops, "
                       "SGC) + logistic regression (C by inner CV over subjects)")
    described = {PRIMARY: {"description": description, "kind": "graph"}}
    for control in config.controls:
        described[f"{PRIMARY}_{control}"] = {"description": CONTROLS[control], "kind": "control"}
    for name in config.baselines:
        described[name] = {"description": BASELINES[name].description, "kind": "baseline"}
    return described


#: The decision threshold of a refitted graph model (see :func:`_threshold`).
REFIT_THRESHOLD = 0.5


def _threshold(config: FoldSettings, n_classes: int, labels: np.ndarray, proba: np.ndarray, *,
               refitted: bool = False) -> float | None:
    """The balanced-accuracy threshold of held-out training predictions, when the settings ask for one.

    A graph model refitted on every training subject has no held-out predictions of its own (the validation
    predictions come from the early-stopped model, a different network whose calibration does not carry over), so
    it is cut at :data:`REFIT_THRESHOLD`: trained with a class-weighted loss, its probability 0.5 is the cut that
    balances the classes' errors.
    """
    if config.threshold != "balanced" or n_classes != 2:
        return None
    if refitted:
        return REFIT_THRESHOLD
    if len(np.unique(labels)) < 2:
        return None
    return round(balanced_threshold(labels, proba[:, 1]), PROBA_DECIMALS)


def fit_fold(config: FoldSettings, samples: Samples, fold: Fold, n_classes: int) -> FoldResult:
    """Train and test every model of a run on one fold (pure: no file is read or written).

    Parameters
    ----------
    config : FoldSettings
        A :class:`eeg_gnn.pipeline.config.TrainConfig`.
    samples : Samples
        Every window of the dataset; the fold's subjects pick the rows.
    fold : Fold
    n_classes : int

    Returns
    -------
    FoldResult
    """
    models = {name: fit_model(config, samples, fold, n_classes, name) for name in model_names(config)}
    return FoldResult(fold, tested_rows(samples, fold), models)


def tested_rows(samples: Samples, fold: Fold) -> np.ndarray:
    """The rows of ``samples`` a fold tests, shape (n_test_windows,)."""
    return np.flatnonzero(np.isin(samples.groups, fold.test_subjects))


def fit_model(config: FoldSettings, samples: Samples, fold: Fold, n_classes: int, name: str) -> ModelFit:
    """Train and test one model of a run (a name of :func:`model_names`) on one fold (pure).

    Raises
    ------
    ValueError
        ``name`` is not a model of this run.
    """
    names = model_names(config)
    if name not in names:
        raise ValueError(f"{name!r} is not a model of this run; its models are {', '.join(names)}.")
    started = time.perf_counter()
    fit = (_fit_baseline_model(config, samples, fold, name) if name in config.baselines
           else _fit_graph_model(config, samples, fold, n_classes, name))
    fit.seconds = time.perf_counter() - started
    return fit


def _fit_graph_model(config: FoldSettings, samples: Samples, fold: Fold, n_classes: int, name: str) -> ModelFit:
    adjacency, permutation = _graph_of(config, samples, fold, name)
    if config.model in ESTIMATOR_MODELS:
        return _fit_estimator_graph_model(config, samples, fold,
                                          samples.adjacency if adjacency is None else adjacency, permutation)
    fit = fit_graph(config, samples, fold, n_classes, adjacency, init_seed=config.seed + fold.index)
    checkpoint = {**fit.checkpoint, "name": name, "permutation": permutation}
    return ModelFit(fit.test_proba,
                    _threshold(config, n_classes, fit.val_labels, fit.val_proba, refitted=fit.refitted),
                    checkpoint=checkpoint, history=fit.history,
                    info={"best_epoch": fit.best_epoch, "refitted": fit.refitted,
                          **({"permutation": permutation} if permutation else {})})


def _graph_of(config: FoldSettings, samples: Samples, fold: Fold, name: str) -> tuple[np.ndarray | None, list]:
    """The graph a graph model of the fold trains on (None: the run's graph) and a control's node permutation.

    The controls' graphs are drawn one after the other from one generator seeded by (seed, fold), so each is the
    same whether the fold's models are fitted together or one at a time."""
    rng = np.random.default_rng([config.seed, fold.index])
    for control in config.controls:
        graph = control_adjacency(samples.adjacency, control, rng)
        if name == f"{PRIMARY}_{control}":
            return graph
    return None, []


def fit_baselines(config: FoldSettings, samples: Samples, fold: Fold, n_classes: int) -> dict[str, ModelFit]:
    """Fit every baseline of ``config`` on the fold's training subjects and predict its test subjects (pure)."""
    return {name: _fit_baseline_model(config, samples, fold, name) for name in config.baselines}


def _fit_baseline_model(config: FoldSettings, samples: Samples, fold: Fold, name: str) -> ModelFit:
    return _fit_pipeline(config, samples, fold, make_baseline(name, seed=config.seed),
                         baseline_input(name, samples.features, samples.covariance))


def _fit_estimator_graph_model(config: FoldSettings, samples: Samples, fold: Fold, adjacency: np.ndarray,
                               permutation: list) -> ModelFit:
    """A graph model that is a scikit-learn pipeline (``tangent_graph``) on ``adjacency``, fitted like a baseline."""
    fit = _fit_pipeline(config, samples, fold, make_tangent_graph(config.hops, seed=config.seed),
                        graph_tangent_input(samples.covariance, adjacency))
    if permutation:
        fit.info["permutation"] = permutation
    return fit


def _fit_pipeline(config: FoldSettings, samples: Samples, fold: Fold, pipeline, X: np.ndarray) -> ModelFit:
    """A pipeline ending in a tuned logistic regression, fitted on all the fold's training subjects (fit and
    validation), ``C`` and decision threshold from its inner CV over them; predicts the test subjects."""
    test_mask = np.isin(samples.groups, fold.test_subjects)
    train_mask = np.isin(samples.groups, fold.train_subjects + fold.val_subjects)
    fit_baseline(pipeline, X[train_mask], samples.labels[train_mask], samples.groups[train_mask])
    tuned = pipeline[-1]
    threshold = (round(tuned.threshold_, PROBA_DECIMALS)
                 if config.threshold == "balanced" and tuned.threshold_ is not None else None)
    return ModelFit(pipeline.predict_proba(X[test_mask]), threshold, estimator=pipeline, info=tuned_info(tuned))


def tuned_info(tuned) -> dict:
    """What a :class:`~eeg_gnn.models.baselines.TunedLogisticRegression` chose, as plain values: ``C``, its inner
    score, the inner folds, the range of ``C`` searched and whether the choice is at its edge (a baseline that
    chooses no ``C``, such as CSP + LDA, has no range and is never at an edge)."""
    searched = getattr(tuned, "Cs_", None)
    return {"C": tuned.C_, "inner_score": tuned.inner_score_, "inner_folds": tuned.n_inner_,
            "C_range": [searched[0], searched[-1]] if searched else None,
            "at_grid_edge": bool(getattr(tuned, "at_grid_edge_", False))}


def checkpoint_path(checkpoints: Path, fold: int, name: str, *, estimator: bool | None = None) -> Path:
    """Where model ``name`` of ``fold`` is saved: ``fold_K`` for the graph model, ``fold_K_<name>`` for the others;
    ``.skops`` for a scikit-learn pipeline (a baseline, or with ``estimator=True`` a graph model such as
    ``tangent_graph`` and its controls), ``.pt`` for a network."""
    stem = f"fold_{fold}" if name == PRIMARY else f"fold_{fold}_{name}"
    estimator = name in BASELINES if estimator is None else estimator
    return checkpoints / f"{stem}{'.skops' if estimator else '.pt'}"


def learned_adjacency_path(checkpoints: Path, fold: int, name: str = PRIMARY) -> Path:
    """``fold_K_learned_adjacency.npy`` (``fold_K_<name>_learned_adjacency.npy`` for a control): the adjacency a
    ``dgcnn`` model learned, shape (n_nodes, n_nodes), in the run's node order."""
    stem = f"fold_{fold}" if name == PRIMARY else f"fold_{fold}_{name}"
    return checkpoints / f"{stem}_learned_adjacency.npy"


def _save_array(path: Path, array: np.ndarray) -> Path:
    def write(temp: Path) -> None:
        with open(temp, "xb") as stream:
            np.save(stream, array)

    return atomic_write(path, write)


def manifest_path(checkpoints: Path, fold: int) -> Path:
    """``fold_K.json``: the models of a fold, their files and decision thresholds."""
    return checkpoints / f"fold_{fold}.json"


def save_fold(result: FoldResult, checkpoints: Path) -> Path:
    """Write every model of a fold (no pickles, see :mod:`eeg_gnn.models.persistence`) and its manifest, which
    records the SHA-256 of every file written (``sha256``), checked when the run is loaded."""
    index = result.fold.index
    manifest = {"fold": index, "models": {}}
    for name, fit in result.models.items():
        path = checkpoint_path(checkpoints, index, name, estimator=fit.checkpoint is None)
        if fit.checkpoint is not None:
            save_checkpoint({**fit.checkpoint, "threshold": fit.threshold}, path)
        else:
            save_estimator(fit.estimator, path)
        manifest["models"][name] = {"file": path.name, "threshold": fit.threshold, **fit.info}
        if fit.checkpoint is not None and "learned_adjacency" in fit.checkpoint:
            learned = _save_array(learned_adjacency_path(checkpoints, index, name),
                                  fit.checkpoint["learned_adjacency"].numpy().astype(np.float64))
            manifest["models"][name]["learned_adjacency"] = learned.name
    files = sorted({entry[key] for entry in manifest["models"].values() for key in ("file", "learned_adjacency")
                    if key in entry})
    manifest["sha256"] = {name: sha256_of(checkpoints / name) for name in files}
    return write_json_atomic(manifest_path(checkpoints, index), manifest)
