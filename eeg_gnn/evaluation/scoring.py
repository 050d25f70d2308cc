"""Score saved predictions: the one computation behind ``results.json`` at training time and its recomputation
by ``evaluate.py`` from ``predictions.csv``.

Probabilities and decision thresholds are rounded to :data:`PROBA_DECIMALS` before scoring and saving, so the saved
predictions give back exactly the saved metrics and comparisons.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eeg_gnn.evaluation.comparison import (
    ALPHA,
    COMPARED_METRICS,
    holm,
    paired_difference,
    per_subject_scores,
    verdict,
)
from eeg_gnn.evaluation.metrics import (
    aggregate_labels,
    aggregate_proba,
    classification_metrics,
    summarize,
)
from eeg_gnn.evaluation.windows import WindowTable

PROBA_DECIMALS = 6
COLUMNS = ("model", "subject", "recording", "group", "window", "onset_s", "fold", "true_label", "threshold")


@dataclass
class Predictions(WindowTable):
    """Test-set predictions of every window: the window table plus each model's probabilities.

    Bootstrap intervals resample subjects, or ``groups`` when there is only one subject.

    Attributes
    ----------
    folds : ndarray of int, shape (n_windows,)
        The fold that tested the window.
    proba : dict of str to ndarray, shape (n_windows, n_classes)
        One entry per model name, in the order the models are reported.
    classes : list of str
    thresholds : dict of str to ndarray, shape (n_windows,)
        Per model, the decision threshold on the class-1 probability of the fold that tested each window (chosen
        on that fold's training subjects, see :mod:`eeg_gnn.evaluation.thresholds`); NaN where the model predicts
        the most probable class. Missing models predict the most probable class everywhere.
    """

    folds: np.ndarray
    proba: dict[str, np.ndarray]
    classes: list[str]
    thresholds: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def model_names(self) -> list[str]:
        return list(self.proba)

    def threshold_of(self, name: str) -> np.ndarray:
        """The per-window thresholds of model ``name``, shape (n_windows,), NaN for none."""
        return self.thresholds.get(name, np.full(len(self.labels), np.nan))

    def predicted(self, name: str, proba: np.ndarray | None = None, rows: Any = slice(None)) -> np.ndarray:
        """Predicted classes of model ``name``'s windows ``rows``: thresholded where it has a threshold.

        ``proba`` replaces the model's window probabilities of those rows (e.g. averaged per recording, with one
        row per recording and ``rows`` the index of one window of each).
        """
        proba = self.proba[name][rows] if proba is None else proba
        threshold = self.threshold_of(name)[rows]
        pred = proba.argmax(axis=1)
        cut = np.isfinite(threshold)
        if cut.any():
            pred[cut] = (proba[cut, 1] >= threshold[cut]).astype(pred.dtype)
        return pred


def round_proba(proba: np.ndarray) -> np.ndarray:
    return np.round(proba, PROBA_DECIMALS)


def _format_threshold(value: float) -> str:
    return "" if not np.isfinite(value) else f"{value:.{PROBA_DECIMALS}f}"


def write_predictions(path: Path, predictions: Predictions) -> None:
    """``predictions.csv``: one row per window and model, models in their order in ``predictions.proba``."""
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([*COLUMNS, *[f"proba_{c}" for c in predictions.classes]])
        for name in predictions.model_names:
            thresholds = predictions.threshold_of(name)
            for i in range(len(predictions.labels)):
                writer.writerow([name, predictions.subjects[i], predictions.recordings[i], predictions.groups[i],
                                 predictions.window_index[i], f"{predictions.onsets[i]:.3f}", predictions.folds[i],
                                 predictions.classes[predictions.labels[i]], _format_threshold(thresholds[i]),
                                 *[f"{p:.{PROBA_DECIMALS}f}" for p in predictions.proba[name][i]]])


def read_predictions(path: Path, classes: list[str]) -> Predictions:
    """Read ``predictions.csv`` back; raises ValueError naming the problem when it does not fit the run."""
    with path.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    expected = [*COLUMNS, *[f"proba_{c}" for c in classes]]
    if not rows or list(rows[0]) != expected:
        found = list(rows[0]) if rows else "no rows"
        raise ValueError(f"{path} does not have the columns of this run ({expected}); it has {found}.")
    by_model: dict[str, list[dict]] = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    reference = next(iter(by_model.values()))
    for name, model_rows in by_model.items():
        keys = [(r["subject"], r["recording"], r["window"]) for r in model_rows]
        if len(model_rows) != len(reference) or keys != [(r["subject"], r["recording"], r["window"]) for r in reference]:
            raise ValueError(f"{path}: the rows of model {name!r} do not cover the same windows as the others.")
    unknown = {r["true_label"] for r in reference} - set(classes)
    if unknown:
        raise ValueError(f"{path}: labels {sorted(unknown)} are not classes of this run ({classes}).")
    return Predictions(
        labels=np.array([classes.index(r["true_label"]) for r in reference]),
        subjects=np.array([r["subject"] for r in reference]),
        recordings=np.array([r["recording"] for r in reference]),
        groups=np.array([r["group"] for r in reference]),
        window_index=np.array([int(r["window"]) for r in reference]),
        onsets=np.array([float(r["onset_s"]) for r in reference]),
        folds=np.array([int(r["fold"]) for r in reference]),
        proba={name: np.array([[float(r[f"proba_{c}"]) for c in classes] for r in model_rows])
               for name, model_rows in by_model.items()},
        classes=list(classes),
        thresholds={name: np.array([float(r["threshold"]) if r["threshold"] else np.nan for r in model_rows])
                    for name, model_rows in by_model.items()},
    )


ICTAL = "ictal"


def false_alarms_per_hour(labels: np.ndarray, pred: np.ndarray, classes: list[str], window_step_s: float) -> float:
    """Windows predicted ictal among truly non-ictal windows, per hour of non-ictal recording.

    Each wrongly flagged window counts as one alarm; the hours are the non-ictal windows times the window step.
    ``pred`` holds the predicted class of every window.
    """
    ictal = classes.index(ICTAL)
    non_ictal = labels != ictal
    hours = non_ictal.sum() * window_step_s / 3600
    false_alarms = np.sum(pred[non_ictal] == ictal)
    return float(false_alarms / hours) if hours > 0 else float("nan")


def _clusters(predictions: Predictions) -> np.ndarray:
    """What bootstrap and paired tests resample: subjects, or the fold groups when there is one subject."""
    subjects = predictions.subjects
    return subjects if len(np.unique(subjects)) >= 2 else predictions.groups


def _aggregate(predictions: Predictions, name: str, units: np.ndarray, clusters: np.ndarray):
    """One row per unit (recording or subject): mean probability, label, predicted class and cluster."""
    unique_units, unit_proba = aggregate_proba(predictions.proba[name], units)
    _, unit_labels = aggregate_labels(predictions.labels, units)
    first = np.array([np.flatnonzero(units == u)[0] for u in unique_units])
    return unit_labels, unit_proba, predictions.predicted(name, unit_proba, first), clusters[first]


def score(predictions: Predictions, label_level: str, *, n_boot: int, seed: int,
          window_step_s: float | None = None) -> dict:
    """Window- and subject/recording-level metrics with 95 % bootstrap intervals over subjects, per model.

    Threshold metrics (all but ROC AUC) use each fold's decision threshold where the model has one; a recording
    or subject is predicted from its windows' mean probability with the same threshold.

    Returns
    -------
    dict
        ``{model_name: {"window": ..., "<level>": ..., "per_fold": [...]}}``; ``<level>`` is ``recording`` for
        recording-level labels, ``subject`` for subject-level labels, absent for window-level labels.
    """
    labels, subjects = predictions.labels, predictions.subjects
    clusters = _clusters(predictions)
    level = aggregation_level(label_level)
    units = predictions.recordings if level == "recording" else subjects
    report = {}
    for name in predictions.model_names:
        proba = predictions.proba[name]
        pred = predictions.predicted(name)
        report[name] = {"window": summarize(labels, proba, clusters, n_boot=n_boot, seed=seed, pred=pred)}
        if ICTAL in predictions.classes and window_step_s:
            report[name]["window"]["false_alarms_per_hour"] = false_alarms_per_hour(
                labels, pred, predictions.classes, window_step_s)
        if label_level != "window":
            unit_labels, unit_proba, unit_pred, _ = _aggregate(predictions, name, units, clusters)
            unit_subjects = np.array([subjects[units == u][0] for u in dict.fromkeys(units.tolist())])
            report[name][level] = summarize(unit_labels, unit_proba, unit_subjects, n_boot=n_boot, seed=seed,
                                            pred=unit_pred)
        report[name]["per_fold"] = [
            {"fold": int(fold), "test_groups": sorted(set(units[predictions.folds == fold].tolist())),
             **classification_metrics(labels[predictions.folds == fold], proba[predictions.folds == fold],
                                      pred=pred[predictions.folds == fold])}
            for fold in np.unique(predictions.folds)
        ]
    return report


def compare_models(predictions: Predictions, label_level: str, primary: str, *, n_boot: int, seed: int,
                   n_permutations: int = 10000, alpha: float = ALPHA) -> list[dict]:
    """The primary model against every other model, paired over subjects, at each level and for each metric.

    For every level (windows, then recordings or subjects) and metric of :data:`COMPARED_METRICS`, each subject's
    score under the primary model minus its score under the other model; the mean over subjects with a bootstrap
    interval and a sign-flip p-value (:func:`eeg_gnn.evaluation.comparison.paired_difference`). The p-values of one
    level and metric (the primary model against each other model) are Holm-adjusted together; the verdict uses
    the adjusted one.

    Returns
    -------
    list of dict
        ``model``, ``against``, ``level``, ``metric``, ``mean_difference``, ``ci95``, ``p_value``,
        ``p_holm``, ``n_subjects``, ``subjects_better``, ``subjects_worse``, ``verdict``; a level and metric
        without two subjects for whom the metric is defined is left out.
    """
    if primary not in predictions.proba:
        raise ValueError(f"Model {primary!r} is not among the predictions ({', '.join(predictions.model_names)}).")
    others = [name for name in predictions.model_names if name != primary]
    clusters = _clusters(predictions)
    levels = ["window"] + ([aggregation_level(label_level)] if label_level != "window" else [])
    comparisons = []
    for level in levels:
        rows = {}
        for name in [primary, *others]:
            if level == "window":
                rows[name] = (predictions.labels, predictions.proba[name], predictions.predicted(name), clusters)
            else:
                units = predictions.recordings if level == "recording" else predictions.subjects
                rows[name] = _aggregate(predictions, name, units, clusters)
        for metric in COMPARED_METRICS:
            family = []
            for name in others:
                _, primary_scores = per_subject_scores(*_scoring_args(rows[primary]), metric, pred=rows[primary][2])
                _, other_scores = per_subject_scores(*_scoring_args(rows[name]), metric, pred=rows[name][2])
                result = paired_difference(primary_scores, other_scores, n_boot=n_boot,
                                           n_permutations=n_permutations, seed=seed)
                if result is not None:
                    family.append({"model": primary, "against": name, "level": level, "metric": metric, **result})
            for entry, adjusted in zip(family, holm([e["p_value"] for e in family]), strict=True):
                entry["p_holm"] = float(adjusted)
                entry["verdict"] = verdict(entry["ci95"], entry["p_holm"], alpha)
            comparisons += family
    return comparisons


def subject_scores(predictions: Predictions, label_level: str) -> dict[tuple[str, str, str], dict[str, float]]:
    """Every model's score per subject, as :func:`compare_models` pairs them.

    Returns
    -------
    dict
        ``{(level, metric, model): {subject: score}}`` for every level (windows, then recordings or subjects) and
        metric of :data:`COMPARED_METRICS`; NaN where the metric is undefined for a subject.
    """
    clusters = _clusters(predictions)
    levels = ["window"] + ([aggregation_level(label_level)] if label_level != "window" else [])
    scores = {}
    for level in levels:
        for name in predictions.model_names:
            if level == "window":
                rows = (predictions.labels, predictions.proba[name], predictions.predicted(name), clusters)
            else:
                units = predictions.recordings if level == "recording" else predictions.subjects
                rows = _aggregate(predictions, name, units, clusters)
            for metric in COMPARED_METRICS:
                ids, values = per_subject_scores(*_scoring_args(rows), metric, pred=rows[2])
                scores[(level, metric, name)] = {str(i): float(v) for i, v in zip(ids, values)}
    return scores


def pooled_comparisons(scores: list[dict[tuple[str, str, str], dict[str, float]]], primary: str, *, n_boot: int,
                       seed: int, n_permutations: int = 10000, alpha: float = ALPHA) -> list[dict]:
    """The primary model against every other model over repeated fold assignments of the same subjects.

    Each subject's score under a model is averaged over the repeats (those where both models' scores are defined),
    then the two averages are compared over subjects as in :func:`compare_models` (bootstrap interval, sign-flip
    p-value, Holm within a level and metric, verdict). Subjects stay the unit: repeats are not counted as more
    subjects.

    Parameters
    ----------
    scores : list of dict
        :func:`subject_scores` of every repeat.

    Returns
    -------
    list of dict
        As :func:`compare_models`, with ``n_repeats``.
    """
    comparisons = []
    keys = list(dict.fromkeys((level, metric) for level, metric, _ in scores[0]))
    for level, metric in keys:
        others = [name for lvl, m, name in scores[0] if (lvl, m) == (level, metric) and name != primary]
        family = []
        for name in others:
            subjects = sorted(set().union(*(s[(level, metric, primary)] for s in scores)))
            a = np.array([[s[(level, metric, primary)].get(u, np.nan) for u in subjects] for s in scores])
            b = np.array([[s[(level, metric, name)].get(u, np.nan) for u in subjects] for s in scores])
            both = np.isfinite(a) & np.isfinite(b)
            count = both.sum(axis=0)
            with np.errstate(invalid="ignore"):
                mean_a = np.where(count > 0, np.where(both, a, 0).sum(axis=0) / np.maximum(count, 1), np.nan)
                mean_b = np.where(count > 0, np.where(both, b, 0).sum(axis=0) / np.maximum(count, 1), np.nan)
            result = paired_difference(mean_a, mean_b, n_boot=n_boot, n_permutations=n_permutations, seed=seed)
            if result is not None:
                family.append({"model": primary, "against": name, "level": level, "metric": metric,
                               "n_repeats": len(scores), **result})
        for entry, adjusted in zip(family, holm([e["p_value"] for e in family]), strict=True):
            entry["p_holm"] = float(adjusted)
            entry["verdict"] = verdict(entry["ci95"], entry["p_holm"], alpha)
        comparisons += family
    return comparisons


def _scoring_args(rows: tuple) -> tuple:
    labels, proba, _, clusters = rows
    return labels, proba, clusters


def aggregation_level(label_level: str) -> str:
    """The unit windows are aggregated to: the recording for recording-level labels, else the subject."""
    return "recording" if label_level == "recording" else "subject"
