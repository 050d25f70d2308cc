"""``scores.csv``: a run's scores in the long ("tidy") form that MOABB and benchmark papers exchange.

One row per (dataset, subject, session, pipeline, level, metric), so that the files of several runs concatenate
into one table (``pd.concat([pd.read_csv(a), pd.read_csv(b)])``) shaped like a MOABB results frame:

============  ==========================================================================================
column        meaning
============  ==========================================================================================
dataset       the dataset's name (``eegmat``, ``msu``, ``bids``, ...)
subject       the tested subject (cross-subject folds test each subject once)
session       the subject's session (BIDS ``ses-``), or ``all`` when the recordings have none
pipeline      the model: the graph model, a control or a baseline, as named in ``results.json``
evaluation    how the folds were made (``group-kfold``, ``loso``, ``time-blocks`` ...)
level         ``window``, ``recording`` or ``subject`` (windows averaged per unit), or for seizure runs SzCORE's
              ``event`` and ``sample``
metric        ``balanced_accuracy``, ``roc_auc``; SzCORE: ``sensitivity``, ``precision``, ``f1``, ``fp_per_24h``
score         the value (empty where undefined, e.g. ROC AUC of a subject with one class)
time          seconds spent fitting the model on the fold(s) that tested this subject (mean over those folds)
n_samples     the subject's test samples at this level (windows, recordings, or 1 for a subject)
============  ==========================================================================================
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from eeg_gnn.evaluation.comparison import COMPARED_METRICS, per_subject_scores
from eeg_gnn.evaluation.metrics import aggregate_proba
from eeg_gnn.evaluation.scoring import Predictions, _aggregate, aggregation_level

SCORE_COLUMNS = ("dataset", "subject", "session", "pipeline", "evaluation", "level", "metric", "score", "time",
                 "n_samples")
NO_SESSION = "all"


def _unit_key(subjects: np.ndarray, sessions: np.ndarray) -> np.ndarray:
    return np.array([f"{subject}\x1f{session}" for subject, session in zip(subjects, sessions)])


def tidy_scores(predictions: Predictions, label_level: str, *, dataset: str, evaluation: str,
                sessions: dict[str, str] | None = None,
                fit_seconds: dict[str, dict[int, float]] | None = None) -> list[dict]:
    """Every model's score per subject (and session) at every level, one row per metric.

    Parameters
    ----------
    predictions : Predictions
        The run's test predictions.
    label_level : str
        ``'window'``, ``'recording'`` or ``'subject'`` (the dataset's).
    dataset, evaluation : str
        Written in every row.
    sessions : dict of str to str, optional
        The session of each recording id; recordings not in it (or no mapping) have session ``all``.
    fit_seconds : dict, optional
        ``{model: {fold: seconds}}``: how long each model took to fit on each fold.

    Returns
    -------
    list of dict
        Rows with the keys of :data:`SCORE_COLUMNS`.
    """
    sessions = sessions or {}
    fit_seconds = fit_seconds or {}
    window_sessions = np.array([sessions.get(str(r), NO_SESSION) for r in predictions.recordings])
    keys = _unit_key(predictions.subjects, window_sessions)
    levels = ["window"] + ([aggregation_level(label_level)] if label_level != "window" else [])
    rows = []
    for name in predictions.model_names:
        for level in levels:
            if level == "window":
                labels, proba, pred, unit_keys = (predictions.labels, predictions.proba[name],
                                                  predictions.predicted(name), keys)
                unit_folds = predictions.folds
            else:
                units = predictions.recordings if level == "recording" else predictions.subjects
                labels, proba, pred, unit_keys = _aggregate(predictions, name, units, keys)
                unique_units, _ = aggregate_proba(predictions.proba[name], units)
                unit_folds = predictions.folds[[np.flatnonzero(units == u)[0] for u in unique_units]]
            for metric in COMPARED_METRICS:
                ids, values = per_subject_scores(labels, proba, unit_keys, metric, pred=pred)
                for key, value in zip(ids, values):
                    subject, session = str(key).split("\x1f")
                    mine = unit_keys == key
                    times = [fit_seconds.get(name, {}).get(int(fold)) for fold in np.unique(unit_folds[mine])]
                    times = [t for t in times if t is not None]
                    rows.append({"dataset": dataset, "subject": subject, "session": session, "pipeline": name,
                                 "evaluation": evaluation, "level": level, "metric": metric,
                                 "score": float(value), "time": float(np.mean(times)) if times else float("nan"),
                                 "n_samples": int(mine.sum())})
    return rows


def szcore_rows(szcore: dict[str, dict], *, dataset: str, evaluation: str,
                n_samples: dict[str, dict[str, int]] | None = None) -> list[dict]:
    """Rows of :data:`SCORE_COLUMNS` from each model's SzCORE scores per patient.

    Parameters
    ----------
    szcore : dict
        ``{model: eeg_gnn.evaluation.szcore.score_patients(...)}``.
    dataset, evaluation : str
    n_samples : dict, optional
        ``{level: {patient: count}}``: reference events (``event``) or seconds (``sample``) of each patient.
    """
    rows = []
    for name, report in szcore.items():
        for level in ("event", "sample"):
            for patient, scores in report[level]["per_patient"].items():
                for metric, value in scores.items():
                    rows.append({"dataset": dataset, "subject": patient, "session": NO_SESSION, "pipeline": name,
                                 "evaluation": evaluation, "level": level, "metric": metric, "score": value,
                                 "time": float("nan"),
                                 "n_samples": (n_samples or {}).get(level, {}).get(patient, "")})
    return rows


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def write_scores(path: str | Path, rows: Iterable[dict]) -> Path:
    """Write ``scores.csv`` (columns :data:`SCORE_COLUMNS`; undefined values empty)."""
    path = Path(path)
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(SCORE_COLUMNS)
        for row in rows:
            writer.writerow([_cell(row[column]) for column in SCORE_COLUMNS])
    return path


def read_scores(path: str | Path) -> list[dict]:
    """Read ``scores.csv`` back as rows (numbers as floats, NaN where empty)."""
    with Path(path).open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    for row in rows:
        for column in ("score", "time"):
            row[column] = float(row[column]) if row[column] else float("nan")
    return rows
