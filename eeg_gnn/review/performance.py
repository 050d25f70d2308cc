"""The models of a run and how the graph model compares with each of them, as the review reports them.

A run carries, in ``results.json``, either ``"models"`` (every model with its kind and description) and
``"comparisons"`` (paired differences over subjects with a verdict), or, for runs made before those existed, only
``"model"`` (the graph model) and ``"baseline"``. For such older runs the paired comparison is computed here from
``predictions.csv`` with the same functions the run itself would use
(:mod:`eeg_gnn.evaluation.comparison`: a score per subject and model, the mean difference over subjects with a
bootstrap interval, a sign-flip p-value, Holm over the comparisons of a metric, the verdict).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eeg_gnn.evaluation.comparison import (
    COMPARED_METRICS,
    holm,
    paired_difference,
    per_subject_scores,
    verdict,
)
from eeg_gnn.evaluation.metrics import aggregate_labels, aggregate_proba
from eeg_gnn.evaluation.scoring import Predictions

__all__ = ["PRIMARY", "comparisons", "model_entries", "subject_predictions", "unit_predictions"]

PRIMARY = "graph"
KINDS = ("graph", "control", "baseline")
MODEL_TEXT = {"gcn": "GCN", "cheb": "ChebNet", "gat": "GAT", "gin": "GIN",
              "tangent_graph": "tangent space filtered over the graph"}
GRAPH_TEXT = {"distance": "electrode-distance", "knn": "nearest-electrode", "plv": "PLV", "wpli": "wPLI",
              "dwpli": "debiased wPLI", "coherence": "coherence", "correlation": "correlation"}


def _levels(entry: dict) -> dict[str, dict]:
    return {level: metrics for level, metrics in entry.items()
            if isinstance(metrics, dict) and "balanced_accuracy" in metrics}


def graph_description(config: Any) -> str:
    """A short plain name of the configured graph model, e.g. ``'ChebNet (K = 3) on alpha PLV graphs'``."""
    model = MODEL_TEXT.get(config.model, str(config.model).upper())
    if config.model == "cheb":
        model += f" (K = {config.cheb_k})"
    if getattr(config, "readout", "pool") != "pool" and config.model != "tangent_graph":
        model += f", {config.readout} readout"
    if config.model == "tangent_graph":
        model += f" ({getattr(config, 'hops', 0)} hops)"
    graph = GRAPH_TEXT.get(config.graph, config.graph)
    band = f"{config.graph_band} " if config.graph in GRAPH_TEXT and config.graph not in ("distance", "knn") else ""
    return f"{model} on {band}{graph} graphs"


def model_entries(results: dict, config: Any) -> list[dict]:
    """Every model of a run, the graph model first.

    Parameters
    ----------
    results : dict
        ``results.json``.
    config : TrainConfig
        For the graph model's name in runs without ``"models"``.

    Returns
    -------
    list of dict
        ``name`` (the contract's name: ``graph``, ``logreg`` ...), ``key`` (its name in ``predictions.csv``),
        ``description``, ``kind`` (``graph``, ``control`` or ``baseline``) and ``levels`` ({level: metrics}).
    """
    if "models" in results:
        primary = results.get("primary", PRIMARY)
        entries = [{"name": name, "key": name, "description": entry.get("description", name),
                    "kind": entry.get("kind", "baseline"), "levels": _levels(entry)}
                   for name, entry in results["models"].items()]
        return sorted(entries, key=lambda entry: entry["name"] != primary)
    return [
        {"name": PRIMARY, "key": "model", "description": graph_description(config), "kind": "graph",
         "levels": _levels(results["model"])},
        {"name": "logreg", "key": "baseline", "description": "logistic regression on the same features (no graph)",
         "kind": "baseline", "levels": _levels(results["baseline"])},
    ]


def unit_predictions(predictions: Predictions, key: str, level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, probabilities and subjects per scored unit: windows, or windows averaged per recording/subject.

    Returns
    -------
    labels : ndarray of int, shape (n_units,)
    proba : ndarray, shape (n_units, n_classes)
    subjects : ndarray, shape (n_units,)
    """
    if level == "window":
        return predictions.labels, predictions.proba[key], predictions.subjects
    groups = predictions.recordings if level == "recording" else predictions.subjects
    units, labels = aggregate_labels(predictions.labels, groups)
    _, proba = aggregate_proba(predictions.proba[key], groups)
    first = {unit: subject for unit, subject in zip(groups[::-1], predictions.subjects[::-1], strict=True)}
    return labels, proba, np.array([first[unit] for unit in units])


def subject_predictions(predictions: Predictions, key: str) -> dict[str, dict[int, tuple[float, bool]]]:
    """Each subject's mean probability of the last class over its test windows of each class, and whether the
    model's decision on them (the fold's threshold where it has one, as the run scores) was right.

    A subject recorded in both classes (rest and task) gets one entry per class.

    Returns
    -------
    dict
        ``{subject: {label: (probability, correct)}}``.
    """
    subjects, labels = predictions.subjects, predictions.labels
    groups = np.array([f"{subject}\x1f{label}" for subject, label in zip(subjects, labels, strict=True)])
    units, proba = aggregate_proba(predictions.proba[key], groups)
    first = np.array([np.flatnonzero(groups == unit)[0] for unit in units])
    decided = predictions.predicted(key, proba, first)
    found: dict[str, dict[int, tuple[float, bool]]] = {}
    for row, p, d in zip(first, proba, decided, strict=True):
        found.setdefault(str(subjects[row]), {})[int(labels[row])] = (float(p[-1]), bool(d == labels[row]))
    return found


def comparisons(results: dict, entries: list[dict], predictions: Predictions, level: str, *, n_boot: int,
                seed: int) -> list[dict]:
    """The graph model against every other model.

    ``results["comparisons"]`` when the run has them (``"source": "results.json"``); otherwise computed from the
    predictions at ``level`` for each of :data:`~eeg_gnn.evaluation.comparison.COMPARED_METRICS`, Holm-adjusted
    over the other models (``"source": "computed by the review"``).

    Returns
    -------
    list of dict
        The contract's keys (``model``, ``against``, ``level``, ``metric``, ``mean_difference``, ``ci95``,
        ``p_value``, ``n_subjects``, ``verdict``) plus ``against_description`` and ``source``.
    """
    descriptions = {entry["name"]: entry["description"] for entry in entries}
    if "comparisons" in results:
        return [{**row, "against_description": descriptions.get(row["against"], row["against"]),
                 "source": "results.json"} for row in results["comparisons"]]
    keys = {entry["name"]: entry["key"] for entry in entries}
    labels, primary, subjects = unit_predictions(predictions, keys[PRIMARY], level)
    rows = []
    for metric in COMPARED_METRICS:
        _, ours = per_subject_scores(labels, primary, subjects, metric)
        found = []
        for entry in entries[1:]:
            _, other_proba, _ = unit_predictions(predictions, entry["key"], level)
            _, theirs = per_subject_scores(labels, other_proba, subjects, metric)
            result = paired_difference(ours, theirs, n_boot=n_boot, seed=seed)
            if result is not None:
                found.append((entry, result))
        adjusted = holm([result["p_value"] for _, result in found]) if found else []
        for (entry, result), p_holm in zip(found, adjusted, strict=True):
            rows.append({"model": PRIMARY, "against": entry["name"], "level": level, "metric": metric, **result,
                         "p_holm": float(p_holm), "verdict": verdict(result["ci95"], float(p_holm)),
                         "against_description": entry["description"], "source": "computed by the review"})
    return rows
