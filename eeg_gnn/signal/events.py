"""Labels from a recording's annotations, and fixed-length windows locked to each event.

Event-related recordings (motor imagery, ERPs) carry their labels as annotations: EDF+ ``T0``/``T1``/``T2``,
BrainVision markers, FIF annotations. ``event_labels`` maps annotation descriptions to classes (``{'T1': 'left',
'T2': 'right'}``); an ``epoch`` ``(tmin, tmax)`` cuts one window per event from ``onset + tmin`` to
``onset + tmax`` seconds. The length of a window comes from the epoch only, never from the annotation's duration
(eegmmidb's cues last 4.1 or 4.2 s).
"""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np

from eeg_gnn.utils.validation import check_option


def parse_event_labels(text: str) -> dict[str, str]:
    """``'T1=left,T2=right'`` as ``{'T1': 'left', 'T2': 'right'}`` (annotation description -> class).

    Several descriptions may share a class (``'T1=move,T2=move'``); ``'none'`` or nothing gives ``{}``.
    """
    pairs = [part.strip() for part in text.split(",") if part.strip()]
    if pairs in ([], ["none"]):
        return {}
    labels = {}
    for pair in pairs:
        event, sep, label = (side.strip() for side in pair.partition("="))
        if not sep or not event or not label:
            raise ValueError(f"--event-labels {text!r}: {pair!r} is not DESCRIPTION=CLASS (e.g. --event-labels "
                             "T1=left,T2=right).")
        if event in labels:
            raise ValueError(f"--event-labels {text!r} names event {event!r} twice.")
        labels[event] = label
    return labels


def parse_epoch(text: str) -> tuple[float, float]:
    """``'0.5,4.0'`` as ``(0.5, 4.0)``: a window from 0.5 s to 4.0 s after each event; checked by
    :func:`check_epoch`."""
    parts = [part.strip() for part in text.split(",")]
    try:
        tmin, tmax = (float(part) for part in parts)
    except ValueError:
        raise ValueError(f"--epoch {text!r} is not TMIN,TMAX in seconds after the event (e.g. --epoch 0.5,4.0)."
                         ) from None
    return check_epoch((tmin, tmax))


def check_epoch(epoch) -> tuple[float, float]:
    """An epoch ``(tmin, tmax)`` in seconds relative to the event, with ``tmin < tmax``."""
    tmin, tmax = (float(t) for t in epoch)
    if not np.isfinite([tmin, tmax]).all() or tmin >= tmax:
        raise ValueError(f"--epoch {tmin:g},{tmax:g}: TMIN must be below TMAX (seconds after the event, e.g. "
                         "--epoch 0.5,4.0).")
    return tmin, tmax


def classes_of(event_labels: dict[str, str]) -> list[str]:
    """The classes of an event mapping, in order of first appearance."""
    return list(dict.fromkeys(event_labels.values()))


def read_annotations(path: str | Path) -> mne.Annotations:
    """The annotations of a recording file, without reading its samples (EDF+/BDF+, BrainVision, EEGLAB, FIF...)."""
    return mne.read_annotations(str(path))


def annotation_intervals(annotations: mne.Annotations, event_labels: dict[str, str]) -> tuple:
    """The labelled intervals of the annotations named in ``event_labels``.

    Returns
    -------
    tuple of (label, onset_s, end_s)
        One per matching annotation, in time order; onsets in seconds from the start of the recording.
    """
    intervals = []
    for onset, duration, description in zip(annotations.onset, annotations.duration, annotations.description):
        label = event_labels.get(str(description).strip())
        if label is not None:
            intervals.append((label, float(onset), float(onset + duration)))
    return tuple(sorted(intervals, key=lambda interval: interval[1]))


def event_onsets(raw: mne.io.BaseRaw, events: tuple[str, ...] | list[str]) -> np.ndarray:
    """Onsets in seconds from the first sample of the annotations of ``raw`` whose description is in ``events``."""
    annotations = raw.annotations
    wanted = np.isin([str(description).strip() for description in annotations.description], list(events))
    return np.sort(annotations.onset[wanted] - raw.first_time)


def event_windows(data: np.ndarray, sfreq: float, onsets: np.ndarray, epoch: tuple[float, float]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One fixed-length window per event: ``onset + tmin`` to ``onset + tmax``.

    Parameters
    ----------
    data : ndarray, shape (n_nodes, n_times_total)
    sfreq : float
    onsets : ndarray, shape (n_events,)
        Event onsets in seconds from the first sample.
    epoch : (tmin, tmax)
        Seconds relative to each onset.

    Returns
    -------
    windows : ndarray, shape (n_windows, n_nodes, n_times)
        Events whose window does not fit in the recording are left out.
    starts : ndarray, shape (n_windows,)
        ``onset + tmin`` of each kept window in seconds (exact, not rounded to a sample), so that a window's event
        is ``start - tmin``.
    """
    tmin, tmax = check_epoch(epoch)
    n_times = int(round((tmax - tmin) * sfreq))
    starts = np.asarray(onsets, dtype=float) + tmin
    first = np.round(starts * sfreq).astype(int)
    fits = (first >= 0) & (first + n_times <= data.shape[1])
    windows = np.stack([data[:, i:i + n_times] for i in first[fits]]) if fits.any() else \
        np.zeros((0, data.shape[0], n_times), dtype=data.dtype)
    return windows, starts[fits]


def event_window_labels(onsets: np.ndarray, intervals, classes: list[str], tmin: float,
                        tolerance: float = 1e-3) -> np.ndarray:
    """Class index of event-locked windows: the class of the interval whose onset is the window's event.

    Parameters
    ----------
    onsets : ndarray, shape (n_windows,)
        Window starts (``event onset + tmin``), as :func:`event_windows` returns them.
    intervals : sequence of (label, onset_s, end_s)
    classes : list of str
    tmin : float
    tolerance : float
        Seconds between a window's event and an interval's onset that still match.

    Returns
    -------
    ndarray of int, shape (n_windows,)
        -1 for a window of no labelled event.
    """
    labels = np.full(len(onsets), -1)
    events = np.asarray(onsets, dtype=float) - tmin
    for label, start, _ in intervals:
        check_option("event class", label, classes)
        labels[np.abs(events - start) <= tolerance] = classes.index(label)
    return labels
