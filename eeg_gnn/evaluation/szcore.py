"""Seizure detection scored as the field reports it: SzCORE (Dan et al. 2024) event and sample scores.

SzCORE scores *events*, not windows. A recording's windows predicted ictal are merged into events
(:func:`window_events`: flagged windows closer than ``merge_gap_s`` join one event, events shorter than
``min_event_s`` are dropped), written in SzCORE's BIDS/HED-SCORE ``events.tsv`` format (:func:`write_events_tsv`)
and compared with the reference seizures by the ``timescoring`` package, SzCORE's reference implementation
(:func:`score_recording`):

``event``
    A predicted event that overlaps a reference seizure, the reference widened by :data:`TOLERANCE_START_S` before
    and :data:`TOLERANCE_END_S` after, detects it; events longer than 5 min are split and events closer than
    90 s merged (timescoring's defaults, SzCORE's). Sensitivity, precision, F1 and false positives per 24 h.
``sample``
    The same scores on 1-s samples of the recording.

Scores are summed over a patient's recordings, then averaged over patients with a bootstrap interval over patients
when there are several (:func:`score_patients`).

Reference: Dan J, Pale U, Amirshahi A, et al. SzCORE: Seizure Community Open-Source Research Evaluation framework
for the validation of electroencephalography-based automated seizure detection algorithms. Epilepsia. 2024.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eeg_gnn.evaluation.scoring import ICTAL, Predictions
from eeg_gnn.utils.files import write_text_atomic
from eeg_gnn.utils.validation import require_extra

#: Flagged windows whose gap is at most this many seconds join one predicted event.
MERGE_GAP_S = 10.0
#: Predicted events shorter than this many seconds are dropped (one 4-s window is kept).
MIN_EVENT_S = 4.0
#: SzCORE's tolerances (timescoring's defaults): a detection may start this early ...
TOLERANCE_START_S = 30.0
#: ... and end this late.
TOLERANCE_END_S = 60.0
SCORE_NAMES = ("sensitivity", "precision", "f1", "fp_per_24h")
SZCORE_COLUMNS = ("onset", "duration", "eventType", "confidence", "channels", "dateTime", "recordingDuration")
SEIZURE, BACKGROUND = "sz", "bckg"
SECONDS_PER_DAY = 86400.0
SAMPLE_SFREQ = 1


def timescoring_module():
    """The ``timescoring`` package, or a :class:`~eeg_gnn.utils.validation.MissingExtraError` naming the extra."""
    timescoring = require_extra("timescoring", "seizure", "SzCORE seizure scores")
    require_extra("timescoring.annotations", "seizure", "SzCORE seizure scores")
    require_extra("timescoring.scoring", "seizure", "SzCORE seizure scores")
    return timescoring


def window_events(onsets: Sequence[float], flagged: Sequence[bool], window_s: float, *,
                  merge_gap_s: float = MERGE_GAP_S, min_event_s: float = MIN_EVENT_S) -> list[tuple[float, float]]:
    """Merge one recording's windows predicted ictal into events.

    Parameters
    ----------
    onsets : array-like of float, shape (n_windows,)
        Window starts in seconds from the start of the recording.
    flagged : array-like of bool, shape (n_windows,)
        Whether each window is predicted ictal.
    window_s : float
        Window length in seconds.
    merge_gap_s : float
        Flagged windows separated by at most this gap join one event.
    min_event_s : float
        Events shorter than this are dropped.

    Returns
    -------
    list of (start_s, end_s)
        Sorted, disjoint.
    """
    onsets = np.asarray(onsets, dtype=float)
    flagged = np.asarray(flagged, dtype=bool)
    if onsets.shape != flagged.shape:
        raise ValueError(f"onsets {onsets.shape} and flagged {flagged.shape} must have the same shape.")
    events: list[list[float]] = []
    for start in np.sort(onsets[flagged]):
        end = float(start) + window_s
        if events and start - events[-1][1] <= merge_gap_s:
            events[-1][1] = max(events[-1][1], end)
        else:
            events.append([float(start), end])
    return [(start, end) for start, end in events if end - start >= min_event_s - 1e-9]


def write_events_tsv(path: str | Path, events: Iterable[tuple[float, float]], duration_s: float, *,
                     date_time: str = "2000-01-01 00:00:00") -> Path:
    """Write a recording's seizure events in SzCORE's ``events.tsv`` format.

    Parameters
    ----------
    path : str | Path
    events : iterable of (start_s, end_s)
    duration_s : float
        Length of the recording in seconds (``recordingDuration``).
    date_time : str
        Start of the recording, ``YYYY-MM-DD HH:MM:SS`` (anonymised recordings use a fixed date).

    Notes
    -----
    Columns ``onset``, ``duration``, ``eventType``, ``confidence``, ``channels``, ``dateTime``,
    ``recordingDuration``; seizures are ``sz``, and a recording without one has a single ``bckg`` row covering it.
    """
    rows = [(start, end - start, SEIZURE) for start, end in events]
    if not rows:
        rows = [(0.0, duration_s, BACKGROUND)]
    lines = ["\t".join(SZCORE_COLUMNS)]
    lines += [f"{onset:.2f}\t{duration:.2f}\t{kind}\tn/a\tn/a\t{date_time}\t{duration_s:.2f}"
              for onset, duration, kind in rows]
    return write_text_atomic(path, "\n".join(lines) + "\n")


def read_events_tsv(path: str | Path) -> tuple[list[tuple[float, float]], float]:
    """The seizure events and the recording's duration of an SzCORE ``events.tsv``.

    Returns
    -------
    events : list of (start_s, end_s)
    duration_s : float
    """
    path = Path(path)
    with path.open(newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
    if not rows or any(column not in rows[0] for column in ("onset", "duration", "eventType", "recordingDuration")):
        raise ValueError(f"{path} is not an SzCORE events.tsv (columns {', '.join(SZCORE_COLUMNS)}).")
    events = [(float(r["onset"]), float(r["onset"]) + float(r["duration"])) for r in rows
              if r["eventType"] != BACKGROUND]
    return events, float(rows[0]["recordingDuration"])


@dataclass
class Counts:
    """What SzCORE counts on one recording (or the sum over a patient's recordings) at one level."""

    true_positives: float = 0.0
    false_positives: float = 0.0
    reference_events: float = 0.0
    duration_s: float = 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.true_positives + other.true_positives, self.false_positives + other.false_positives,
                      self.reference_events + other.reference_events, self.duration_s + other.duration_s)

    def scores(self) -> dict[str, float]:
        """Sensitivity, precision, F1 and false positives per 24 h, as timescoring defines them (NaN where
        undefined)."""
        tp, fp, ref = self.true_positives, self.false_positives, self.reference_events
        sensitivity = tp / ref if ref > 0 else np.nan
        precision = tp / (tp + fp) if tp + fp > 0 else np.nan
        f1 = 2 * tp / (2 * tp + fp + (ref - tp)) if ref + fp > 0 else np.nan
        days = self.duration_s / SECONDS_PER_DAY
        return {"sensitivity": float(sensitivity), "precision": float(precision), "f1": float(f1),
                "fp_per_24h": float(fp / days) if days > 0 else float("nan")}


def score_recording(reference: Sequence[tuple[float, float]], predicted: Sequence[tuple[float, float]],
                    duration_s: float) -> dict[str, Counts]:
    """Count SzCORE's event and sample matches of one recording with ``timescoring``.

    Parameters
    ----------
    reference, predicted : sequence of (start_s, end_s)
        Seizure events in seconds from the start of the recording.
    duration_s : float
        Length of the recording.

    Returns
    -------
    dict
        ``{"event": Counts, "sample": Counts}``; ``Counts.scores()`` gives the scores.
    """
    timescoring = timescoring_module()
    annotation = timescoring.annotations.Annotation
    n_samples = max(int(np.ceil(duration_s * SAMPLE_SFREQ)), 1)
    ref = annotation(list(reference), SAMPLE_SFREQ, n_samples)
    hyp = annotation(list(predicted), SAMPLE_SFREQ, n_samples)
    parameters = timescoring.scoring.EventScoring.Parameters(toleranceStart=TOLERANCE_START_S,
                                                             toleranceEnd=TOLERANCE_END_S)
    event = timescoring.scoring.EventScoring(ref, hyp, parameters)
    sample = timescoring.scoring.SampleScoring(ref, hyp)
    return {level: Counts(float(result.tp), float(result.fp), float(result.refTrue),
                          result.numSamples / result.fs)
            for level, result in (("event", event), ("sample", sample))}


def score_patients(counts: dict[str, list[dict[str, Counts]]], *, n_boot: int = 1000, seed: int = 0) -> dict:
    """Per-patient SzCORE scores (counts summed over the patient's recordings) and their mean over patients.

    Parameters
    ----------
    counts : dict of str to list of dict
        Per patient, :func:`score_recording` of each of its recordings.
    n_boot : int
        Bootstrap resamples of patients for the 95 % intervals (with two patients or more).
    seed : int

    Returns
    -------
    dict
        ``{level: {score: mean over patients, "ci95": {score: [low, high] or None}, "per_patient": {patient:
        {score: value}}}}`` for ``level`` in ``event``, ``sample``.
    """
    rng = np.random.default_rng(seed)
    patients = sorted(counts)
    report = {}
    for level in ("event", "sample"):
        per_patient = {}
        for patient in patients:
            total = Counts()
            for recording in counts[patient]:
                total = total + recording[level]
            per_patient[patient] = total.scores()
        summary: dict = {}
        intervals: dict = {}
        for name in SCORE_NAMES:
            values = np.array([per_patient[p][name] for p in patients], dtype=float)
            values = values[np.isfinite(values)]
            summary[name] = float(values.mean()) if len(values) else float("nan")
            intervals[name] = None
            if len(values) >= 2:
                means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
                intervals[name] = [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]
        report[level] = {**summary, "ci95": intervals, "per_patient": per_patient}
    return report


@dataclass
class Reference:
    """One tested recording's reference seizures: ``subject``, ``events`` as (start_s, end_s), ``duration_s``."""

    subject: str
    events: list[tuple[float, float]]
    duration_s: float


def score_models(predictions: Predictions, references: dict[str, Reference], window_s: float, *,
                 folder: str | Path | None = None, n_boot: int = 1000, seed: int = 0) -> dict:
    """SzCORE scores of every model of a seizure run, with each test recording's predicted events.

    Parameters
    ----------
    predictions : Predictions
        Test predictions with an ``ictal`` class; a window is predicted ictal as the model decides (its threshold).
    references : dict of str to Reference
        By recording id, the recordings to score.
    window_s : float
        Window length in seconds.
    folder : str | Path, optional
        Where to write SzCORE ``events.tsv`` files: ``<folder>/reference/<recording>_events.tsv`` and
        ``<folder>/<model>/<recording>_events.tsv``.
    n_boot, seed : int
        Bootstrap over patients (see :func:`score_patients`).

    Returns
    -------
    dict
        ``{"settings": {...}, "models": {model: score_patients(...)}}``.
    """
    ictal = predictions.classes.index(ICTAL)
    models = {}
    for name in predictions.model_names:
        flagged_all = predictions.predicted(name) == ictal
        counts: dict[str, list[dict[str, Counts]]] = {}
        for recording, reference in references.items():
            rows = predictions.recordings == recording
            events = window_events(predictions.onsets[rows], flagged_all[rows], window_s)
            counts.setdefault(reference.subject, []).append(score_recording(reference.events, events,
                                                                            reference.duration_s))
            if folder is not None:
                stem = recording.replace("/", "_").rsplit(".", 1)[0]
                write_events_tsv(Path(folder) / name / f"{stem}_events.tsv", events, reference.duration_s)
                write_events_tsv(Path(folder) / "reference" / f"{stem}_events.tsv", reference.events,
                                 reference.duration_s)
        models[name] = score_patients(counts, n_boot=n_boot, seed=seed)
    settings = {"merge_gap_s": MERGE_GAP_S, "min_event_s": MIN_EVENT_S, "tolerance_start_s": TOLERANCE_START_S,
                "tolerance_end_s": TOLERANCE_END_S, "split_events_longer_than_s": 300.0,
                "merge_events_closer_than_s": 90.0, "sample_sfreq": SAMPLE_SFREQ}
    return {"settings": settings, "models": models}
