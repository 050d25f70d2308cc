"""Confounds: recording properties and demographics that differ between the classes of a cohort.

A classifier learns whatever separates the classes. When the patients of a cohort were mostly recorded at another
sampling rate, for another duration, with another channel set or amplifier scale, at another site, or are older
than the controls, it can score well without learning anything about the condition. Before training, every such
property is compared between the classes, and each that differs is named in the run's summary, ``config.json``
(``confounds``) and the review.

Recording properties (one value per recording): the sampling rate, the duration, the channel set, and the
amplitude scale (median over EEG channels of a robust standard deviation, in µV, as read, before any filter).
Demographics (one value per subject): every other column of a folder cohort's participants table (``age``,
``sex``, ``site`` ...). A numeric property is compared with the Mann-Whitney U test (Kruskal-Wallis for more than
two classes), a categorical one with the chi-squared test of independence; a property is reported as differing
when p < :data:`ALPHA`, uncorrected: this is a screen, meant to err towards saying too much.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eeg_gnn.data.datasets import FOLDER, Dataset

ALPHA = 0.05
#: A text column with more distinct values than this is an identifier or a note, not a demographic.
MAX_CATEGORIES = 12
RECORDING_PROPERTIES = {"sfreq": "sampling rate (Hz)", "duration_s": "duration (s)", "channels": "channel set",
                        "amplitude_uv": "amplitude scale (µV, robust SD)"}
CATEGORICAL = ("sfreq", "channels")


def recording_properties(raw) -> dict:
    """The properties of a recording as read (before any preprocessing) that :func:`confound_report` compares.

    Parameters
    ----------
    raw : mne.io.BaseRaw | mne.Epochs

    Returns
    -------
    dict
        ``sfreq``, ``duration_s``, ``channels`` (the channel names, comma-separated) and ``amplitude_uv``.
    """
    data = raw.get_data(picks="eeg") if "eeg" in raw.get_channel_types() else raw.get_data()
    if data.ndim == 3:
        data = data.transpose(1, 0, 2).reshape(data.shape[1], -1)
    quartiles = np.percentile(data, [25, 75], axis=-1) if data.size else np.zeros((2, 1))
    sfreq = float(raw.info["sfreq"])
    return {"sfreq": sfreq, "duration_s": round(data.shape[-1] / sfreq, 3), "channels": ",".join(raw.ch_names),
            "amplitude_uv": round(float(np.median((quartiles[1] - quartiles[0]) / 1.349) * 1e6), 4)}


def _compare(values: Sequence, labels: Sequence[str], classes: Sequence[str], categorical: bool) -> dict | None:
    """Whether ``values`` differ between the classes: the test, its p-value and each class's summary."""
    from scipy import stats

    if len(set(values)) < 2:
        return None
    present = [c for c in classes if c in labels]
    if len(present) < 2:
        return None
    labels = np.asarray(labels)
    if categorical:
        levels = sorted(set(values), key=str)
        if len(levels) > MAX_CATEGORIES:
            return None
        table = np.array([[sum(1 for v, lab in zip(values, labels) if v == level and lab == c) for c in present]
                          for level in levels])
        p_value = float(stats.chi2_contingency(table)[1])
        summary = {c: {f"{level:g}" if isinstance(level, float) else str(level): int(table[i, j])
                       for i, level in enumerate(levels) if table[i, j]}
                   for j, c in enumerate(present)}
        test = "chi-squared"
    else:
        groups = [np.asarray([v for v, lab in zip(values, labels) if lab == c], dtype=float) for c in present]
        if any(len(g) == 0 for g in groups):
            return None
        if len(groups) == 2:
            p_value = float(stats.mannwhitneyu(*groups, alternative="two-sided").pvalue)
            test = "Mann-Whitney U"
        else:
            p_value = float(stats.kruskal(*groups).pvalue)
            test = "Kruskal-Wallis"
        summary = {c: {"median": float(np.median(g)), "min": float(g.min()), "max": float(g.max()), "n": len(g)}
                   for c, g in zip(present, groups)}
    return {"test": test, "p_value": p_value, "differs": p_value < ALPHA, "by_class": summary}


def participants_table(dataset: Dataset) -> tuple[dict[str, dict[str, str]], list[str]]:
    """A folder cohort's participants table as ``{subject: {column: value}}`` and its demographic columns (every
    column but the subject, label and file columns); empty for other datasets."""
    table = dataset.descriptor.get("participants")
    if dataset.name != FOLDER or not table or not Path(table).is_file():
        return {}, []
    path = Path(table)
    with path.open(newline="", encoding="utf-8-sig") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t" if path.suffix == ".tsv" else ","))
    columns = dataset.descriptor.get("columns", {})
    used = {columns.get("subject"), columns.get("label"), columns.get("file")}
    demographic = [c for c in (rows[0] if rows else {}) if c and c not in used]
    subject_column = columns.get("subject")
    return {(row.get(subject_column) or "").strip(): row for row in rows}, demographic


def _numeric(values: Sequence[str]) -> list[float] | None:
    try:
        return [float(v) for v in values]
    except ValueError:
        return None


def confound_report(dataset: Dataset, properties: Sequence[dict]) -> dict:
    """Every recording property and demographic column compared between the classes.

    Parameters
    ----------
    dataset : Dataset
        The recordings trained on (labelled).
    properties : list of dict, one per recording of ``dataset``
        :func:`recording_properties` of each (an empty dict where unknown).

    Returns
    -------
    dict
        ``{property: {"unit": "recording" | "subject", "what": words, "test", "p_value", "differs", "by_class"}}``
        for every property that varies within the cohort; ``differs`` is True when p < :data:`ALPHA`.
    """
    classes = list(dataset.classes)
    labelled = [(r, p) for r, p in zip(dataset.recordings, properties, strict=True) if r.label is not None]
    report = {}
    for name, what in RECORDING_PROPERTIES.items():
        pairs = [(p[name], r.label) for r, p in labelled if name in p]
        if not pairs:
            continue
        result = _compare([v for v, _ in pairs], [lab for _, lab in pairs], classes, name in CATEGORICAL)
        if result is not None:
            report[name] = {"unit": "recording", "what": what, **result}
    rows, columns = participants_table(dataset)
    subject_labels = {r.subject: r.label for r, _ in labelled}
    for column in columns:
        pairs = [((rows.get(s) or {}).get(column, "").strip(), label) for s, label in subject_labels.items()]
        pairs = [(v, lab) for v, lab in pairs if v and v.lower() not in ("n/a", "na", "nan")]
        if not pairs:
            continue
        numbers = _numeric([v for v, _ in pairs])
        values = numbers if numbers is not None else [v for v, _ in pairs]
        result = _compare(values, [lab for _, lab in pairs], classes, numbers is None)
        if result is not None:
            report[column] = {"unit": "subject", "what": column, **result}
    return report


def _by_class_text(entry: dict) -> str:
    parts = []
    for label, summary in entry["by_class"].items():
        if "median" in summary:
            parts.append(f"{label} median {summary['median']:.4g} (range {summary['min']:.4g}-{summary['max']:.4g}, "
                         f"n={summary['n']})")
        else:
            counts = ", ".join(f"{value if len(value) <= 24 else value[:21] + '...'} ×{n}"
                               for value, n in summary.items())
            parts.append(f"{label}: {counts}")
    return "; ".join(parts)


def describe_confounds(report: dict) -> list[str]:
    """The summary's lines: each property that differs between the classes, with each class's values."""
    differing = {name: entry for name, entry in report.items() if entry["differs"]}
    if not differing:
        return []
    counted = "1 property differs" if len(differing) == 1 else f"{len(differing)} properties differ"
    lines = [f"warning: {counted} between the classes, which a classifier can learn "
             f"instead of the condition ({', '.join(e['what'] for e in differing.values())}; p < {ALPHA:g}, "
             "uncorrected; config.json, confounds):"]
    for entry in differing.values():
        lines.append(f"  {entry['what']} per {entry['unit']}: {_by_class_text(entry)} ({entry['test']} p = "
                     f"{entry['p_value']:.2g})")
    return lines


def confound_caveat(report: dict) -> str | None:
    """One sentence for a review's caveats naming the properties that differ between the classes, or None."""
    differing = [entry["what"] for entry in report.values() if entry["differs"]]
    if not differing:
        return None
    return (f"The classes differ in {', '.join(differing)} (p < {ALPHA:g}, uncorrected): the models may have "
            "learned these differences rather than the condition.")
