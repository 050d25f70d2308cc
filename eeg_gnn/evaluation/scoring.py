"""Score saved predictions: the one computation behind ``results.json`` at training time and its recomputation
by ``evaluate.py`` from ``predictions.csv``.

Probabilities are rounded to :data:`PROBA_DECIMALS` before scoring and saving, so the saved predictions give back
exactly the saved metrics.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eeg_gnn.evaluation.metrics import (
    aggregate_labels,
    aggregate_proba,
    classification_metrics,
    summarize,
)
from eeg_gnn.evaluation.windows import WindowTable

MODEL_NAMES = ("model", "baseline")
PROBA_DECIMALS = 6
COLUMNS = ("model", "subject", "recording", "group", "window", "onset_s", "fold", "true_label")


@dataclass
class Predictions(WindowTable):
    """Test-set predictions of every window: the window table plus each model's probabilities.

    Bootstrap intervals resample subjects, or ``groups`` when there is only one subject.

    Attributes
    ----------
    folds : ndarray of int, shape (n_windows,)
        The fold that tested the window.
    proba : dict of str to ndarray, shape (n_windows, n_classes)
        One entry per model name.
    classes : list of str
    """

    folds: np.ndarray
    proba: dict[str, np.ndarray]
    classes: list[str]


def round_proba(proba: np.ndarray) -> np.ndarray:
    return np.round(proba, PROBA_DECIMALS)


def write_predictions(path: Path, predictions: Predictions) -> None:
    """``predictions.csv``: one row per window and model."""
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([*COLUMNS, *[f"proba_{c}" for c in predictions.classes]])
        for name in MODEL_NAMES:
            for i in range(len(predictions.labels)):
                writer.writerow([name, predictions.subjects[i], predictions.recordings[i], predictions.groups[i],
                                 predictions.window_index[i], f"{predictions.onsets[i]:.3f}", predictions.folds[i],
                                 predictions.classes[predictions.labels[i]],
                                 *[f"{p:.{PROBA_DECIMALS}f}" for p in predictions.proba[name][i]]])


def read_predictions(path: Path, classes: list[str]) -> Predictions:
    """Read ``predictions.csv`` back; raises ValueError naming the problem when it does not fit the run."""
    with path.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    expected = [*COLUMNS, *[f"proba_{c}" for c in classes]]
    if not rows or list(rows[0]) != expected:
        found = list(rows[0]) if rows else "no rows"
        raise ValueError(f"{path} does not have the columns of this run ({expected}); it has {found}.")
    by_model = {name: [r for r in rows if r["model"] == name] for name in MODEL_NAMES}
    reference = by_model[MODEL_NAMES[0]]
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
    )


ICTAL = "ictal"


def false_alarms_per_hour(labels: np.ndarray, proba: np.ndarray, classes: list[str], window_step_s: float) -> float:
    """Windows predicted ictal among truly non-ictal windows, per hour of non-ictal recording.

    Each wrongly flagged window counts as one alarm; the hours are the non-ictal windows times the window step.
    """
    ictal = classes.index(ICTAL)
    non_ictal = labels != ictal
    hours = non_ictal.sum() * window_step_s / 3600
    false_alarms = np.sum(proba[non_ictal].argmax(axis=1) == ictal)
    return float(false_alarms / hours) if hours > 0 else float("nan")


def score(predictions: Predictions, label_level: str, *, n_boot: int, seed: int,
          window_step_s: float | None = None) -> dict:
    """Window- and subject/recording-level metrics with 95 % bootstrap intervals over subjects, per model.

    Returns
    -------
    dict
        ``{model_name: {"window": ..., "<level>": ..., "per_fold": [...]}}``; ``<level>`` is ``recording`` for
        recording-level labels, ``subject`` for subject-level labels, absent for window-level labels.
    """
    labels, subjects, groups = predictions.labels, predictions.subjects, predictions.groups
    clusters = subjects if len(np.unique(subjects)) >= 2 else groups
    level = aggregation_level(label_level)
    groups = predictions.recordings if level == "recording" else subjects
    report = {}
    for name in MODEL_NAMES:
        proba = predictions.proba[name]
        report[name] = {"window": summarize(labels, proba, clusters, n_boot=n_boot, seed=seed)}
        if ICTAL in predictions.classes and window_step_s:
            report[name]["window"]["false_alarms_per_hour"] = false_alarms_per_hour(
                labels, proba, predictions.classes, window_step_s)
        if label_level != "window":
            unique_groups, group_proba = aggregate_proba(proba, groups)
            _, group_labels = aggregate_labels(labels, groups)
            group_subjects = np.array([subjects[groups == g][0] for g in unique_groups])
            report[name][level] = summarize(group_labels, group_proba, group_subjects, n_boot=n_boot, seed=seed)
        report[name]["per_fold"] = [
            {"fold": int(fold), "test_groups": sorted(set(groups[predictions.folds == fold].tolist())),
             **classification_metrics(labels[predictions.folds == fold], proba[predictions.folds == fold])}
            for fold in np.unique(predictions.folds)
        ]
    return report


def aggregation_level(label_level: str) -> str:
    """The unit windows are aggregated to: the recording for recording-level labels, else the subject."""
    return "recording" if label_level == "recording" else "subject"
