"""Who was reviewed and what happened to their recordings, in the review's words: the cohort per class (age, sex
and sampling rate when known, with a warning when the classes differ), the electrodes the run rebuilt, left out
or flagged, and one row per subject.

Every statement is read from the run: ``config.json`` (``data_quality``, written by training) for the electrodes
rebuilt and the recordings left out, the review's own pass over the recordings for windows, sampling rates and
flagged electrodes, ``predictions.csv`` for each subject's probability. Nothing is a constant that the run could
contradict.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["AGE_COLUMNS", "SEX_COLUMNS", "bad_channel_summary", "cohort_table", "data_quality_blocks",
           "group_warnings", "participant_traits", "subject_rows"]

AGE_COLUMNS = ("age", "age_years", "age (years)")
SEX_COLUMNS = ("sex", "gender")
#: The classes' mean ages differ enough to name it (years).
AGE_GAP_YEARS = 5.0
#: The classes' shares of one sex differ enough to name it.
SEX_GAP = 0.2
_FEMALE = ("f", "female", "w", "woman", "0")
_MALE = ("m", "male", "man", "1")


def participant_traits(descriptor: Mapping) -> dict[str, dict[str, object]]:
    """Age and sex of each subject from a folder cohort's participants table (empty when it has neither).

    Parameters
    ----------
    descriptor : dict
        The dataset's descriptor: its ``participants`` (the table's path) and ``columns`` (the subject column).

    Returns
    -------
    dict
        ``{subject: {"age": float | None, "sex": "F" | "M" | None}}``.
    """
    table = descriptor.get("participants")
    subject_column = (descriptor.get("columns") or {}).get("subject")
    if not table or not subject_column or not Path(table).is_file():
        return {}
    path = Path(table)
    with path.open(newline="", encoding="utf-8-sig") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t" if path.suffix == ".tsv" else ","))
    if not rows:
        return {}
    lower = {name.lower().strip(): name for name in rows[0]}
    age_column = next((lower[name] for name in AGE_COLUMNS if name in lower), None)
    sex_column = next((lower[name] for name in SEX_COLUMNS if name in lower), None)
    if age_column is None and sex_column is None:
        return {}
    traits = {}
    for row in rows:
        age = None
        if age_column:
            try:
                age = float(row.get(age_column) or "nan")
            except ValueError:
                age = None
            age = age if age is not None and np.isfinite(age) else None
        sex = (row.get(sex_column) or "").strip().lower() if sex_column else ""
        traits[(row.get(subject_column) or "").strip()] = {
            "age": age, "sex": "F" if sex in _FEMALE else "M" if sex in _MALE else None}
    return traits


def _age_text(ages: Sequence[float]) -> str:
    if not ages:
        return "not given"
    values = np.asarray(ages, dtype=float)
    spread = f" ± {values.std(ddof=1):.1f}" if len(values) > 1 else ""
    return f"{values.mean():.1f}{spread} ({values.min():g}–{values.max():g})"


def _sex_text(sexes: Sequence[str | None]) -> str:
    known = [s for s in sexes if s]
    if not known:
        return "not given"
    return f"{known.count('F')} F / {known.count('M')} M" + (f", {len(sexes) - len(known)} not given"
                                                             if len(known) < len(sexes) else "")


def _rates_text(rates: Sequence[float]) -> str:
    distinct = sorted({float(r) for r in rates if np.isfinite(r)})
    return ", ".join(f"{r:g}" for r in distinct) + " Hz" if distinct else "unknown"


def cohort_table(classes: Sequence[str], subjects: Mapping[int, Sequence[str]], recordings: Mapping[int, int],
                 windows: Mapping[int, int], rates: Mapping[int, Sequence[float]],
                 traits: Mapping[str, Mapping]) -> dict:
    """The cohort per class as a table block: subjects, recordings, windows used, age, sex, sampling rates.

    Parameters
    ----------
    classes : list of str
    subjects : dict of int to list of str
        The subjects of each class index.
    recordings, windows : dict of int to int
        Recordings and windows used per class index.
    rates : dict of int to list of float
        The sampling rates of the recordings of each class index.
    traits : dict
        :func:`participant_traits`; age and sex columns appear when it has them.
    """
    has_age = any(t.get("age") is not None for t in traits.values())
    has_sex = any(t.get("sex") for t in traits.values())
    columns = [{"label": "Class"}, {"label": "Subjects", "numeric": True}, {"label": "Recordings", "numeric": True},
               {"label": "Windows used", "numeric": True}]
    columns += [{"label": "Age, mean ± SD (range)"}] if has_age else []
    columns += [{"label": "Sex"}] if has_sex else []
    columns += [{"label": "Sampling rate"}]
    rows = []
    for k, name in enumerate(classes):
        members = list(subjects.get(k, []))
        row = [name, _cell(len(members)), _cell(recordings.get(k, 0)), _cell(windows.get(k, 0))]
        if has_age:
            row.append(_age_text([traits[s]["age"] for s in members if traits.get(s, {}).get("age") is not None]))
        if has_sex:
            row.append(_sex_text([traits.get(s, {}).get("sex") for s in members]))
        row.append(_rates_text(rates.get(k, [])))
        rows.append(row)
    return {"kind": "table", "columns": columns, "rows": rows}


def group_warnings(classes: Sequence[str], subjects: Mapping[int, Sequence[str]],
                   rates: Mapping[int, Sequence[float]], traits: Mapping[str, Mapping]) -> list[str]:
    """Sentences naming how the classes differ besides their label: sampling rate, age, sex."""
    found = []
    distinct = {k: sorted({float(r) for r in rates.get(k, []) if np.isfinite(r)}) for k in range(len(classes))}
    if len({tuple(v) for v in distinct.values()}) > 1:
        found.append("The classes were recorded at different sampling rates (" + "; ".join(
            f"{classes[k]}: {_rates_text(v)}" for k, v in distinct.items()) + "): a model can tell the rate apart "
            "instead of the condition (everything is resampled and filtered alike, but the recordings' noise and "
            "filters differ).")
    ages = {k: [traits[s]["age"] for s in subjects.get(k, []) if traits.get(s, {}).get("age") is not None]
            for k in range(len(classes))}
    if all(ages.values()):
        means = {k: float(np.mean(v)) for k, v in ages.items()}
        if max(means.values()) - min(means.values()) > AGE_GAP_YEARS:
            found.append("The classes differ in age (mean " + ", ".join(f"{classes[k]} {m:.1f}"
                                                                        for k, m in means.items())
                         + " years): age changes EEG power and connectivity, so part of any difference may be age.")
    shares = {}
    for k in range(len(classes)):
        known = [traits.get(s, {}).get("sex") for s in subjects.get(k, [])]
        known = [s for s in known if s]
        if known:
            shares[k] = known.count("F") / len(known)
    if len(shares) == len(classes) and max(shares.values()) - min(shares.values()) > SEX_GAP:
        found.append("The classes differ in sex (women: " + ", ".join(f"{classes[k]} {100 * v:.0f} %"
                                                                      for k, v in shares.items()) + ").")
    return found


def _cell(number: int) -> dict:
    return {"text": str(number), "value": number, "numeric": True}


def _short_reason(why: str) -> str:
    """The reason without its numbers: ``far below the recording's other electrodes``."""
    return why.split(" (", 1)[0]


def bad_channel_summary(quality: Mapping, n_recordings: int, policy: str) -> str:
    """One sentence for the summary: which electrodes the run rebuilt or whose recordings it left out.

    Parameters
    ----------
    quality : dict
        ``config.json``'s ``data_quality``.
    n_recordings : int
        Recordings the run read (used and left out).
    policy : str
        The run's ``--bad-channels``.
    """
    bad = quality.get("bad_channels", {})
    parts = []
    for action, verb in (("interpolated", "rebuilt from their neighbours"),
                         ("dropped", "were left out for bad electrodes")):
        mine = {rid: entry["channels"] for rid, entry in bad.items() if entry["action"] == action}
        if not mine:
            continue
        named = "; ".join(f"{rid}: " + ", ".join(f"{node} {_short_reason(why)}" for node, why in channels.items())
                          for rid, channels in mine.items())
        if action == "interpolated":
            parts.append(f"{len(mine)} of {n_recordings} recordings had electrodes {verb} ({named})")
        else:
            parts.append(f"{len(mine)} of {n_recordings} recordings {verb} ({named})")
    if not parts:
        return (f"No electrode of the {n_recordings} recordings was found bad; none was rebuilt or left out "
                f"(--bad-channels {policy}).")
    return "; ".join(parts) + f". Policy: --bad-channels {policy}."


def data_quality_blocks(quality: Mapping, n_recordings: int, policy: str) -> list[dict]:
    """The data-quality section's account of bad electrodes and of what the reading left out, from
    ``config.json``'s ``data_quality``: one table row per recording and electrode."""
    blocks: list[dict] = [{"kind": "paragraph", "text": bad_channel_summary(quality, n_recordings, policy)}]
    bad = quality.get("bad_channels", {})
    rows = [[recording, {"interpolated": "rebuilt (spherical-spline interpolation)",
                         "dropped": "recording left out"}.get(entry["action"], entry["action"]), node, why]
            for recording, entry in bad.items() for node, why in entry["channels"].items()]
    if rows:
        blocks += [
            {"kind": "paragraph", "css": "explain", "text":
             "An electrode is bad when it is flat, clipped, implausibly small or large, far below or above the "
             "recording's other electrodes, or a near copy of another; the last two are checked on the signal as "
             "recorded, before re-referencing (an average reference would turn two near-dead electrodes into two "
             "copies of minus the mean, connected at PLV ~1). A rebuilt electrode's maps show what its neighbours "
             "recorded, not what it recorded."},
            {"kind": "table", "sortable": True, "rows": rows, "columns": [
                {"label": "Recording"}, {"label": "Action"}, {"label": "Electrode"}, {"label": "Why"}]}]
    for key, what in (("subjects_without_recordings", "Subjects listed without a recording, left out"),
                      ("recordings_without_subjects", "Recordings of no listed subject, left out")):
        if quality.get(key):
            blocks.append({"kind": "paragraph", "text": f"{what}: {', '.join(quality[key])}."})
    notes = quality.get("notes", {})
    if notes:
        blocks.append({"kind": "paragraph", "text": f"{len(notes)} recordings were read with a note: " + "; ".join(
            f"{rid}: {' '.join(texts)}" for rid, texts in notes.items())})
    return blocks


def subject_rows(subjects: Sequence[str], labels: Mapping[str, Sequence[int]], classes: Sequence[str],
                 predictions: Mapping[str, Mapping[int, tuple[float, bool]]], windows: Mapping[str, int],
                 rejected: Mapping[str, int], rebuilt: Mapping[str, Sequence[str]],
                 flagged: Mapping[str, Sequence[str]]) -> list[list]:
    """One row per subject: class(es), the graph model's probability, whether it was right, windows used and
    rejected, electrodes rebuilt and electrodes flagged (the cells of :func:`subject_columns`).

    Parameters
    ----------
    labels : dict of str to list of int
        The classes each subject was recorded in (both, in a within-subject design).
    predictions : dict
        ``{subject: {label: (probability of the last class, correct)}}``
        (:func:`eeg_gnn.review.performance.subject_predictions`).
    """
    rows = []
    for subject in subjects:
        mine = predictions.get(subject, {})
        both = len(labels[subject]) > 1
        probabilities = [f"{mine[k][0]:.2f}" + (f" ({classes[k]})" if both else "") for k in labels[subject]
                         if k in mine]
        right = [mine[k][1] for k in labels[subject] if k in mine]
        first = mine.get(labels[subject][0]) if labels[subject] else None
        rows.append([
            subject, ", ".join(classes[k] for k in labels[subject]),
            {"text": ", ".join(probabilities) or "n/a", "value": first[0] if first else None, "numeric": True},
            ("n/a" if not right else ("yes" if right[0] else "no") if len(right) == 1
             else f"{sum(right)} of {len(right)}"),
            _cell(windows.get(subject, 0)), _cell(rejected.get(subject, 0)),
            ", ".join(rebuilt.get(subject, [])) or "none", ", ".join(flagged.get(subject, [])) or "none"])
    return rows


def subject_columns(positive: str) -> list[dict]:
    return [{"label": "Subject"}, {"label": "Class"},
            {"label": f"Probability of {positive} (graph model)", "numeric": True}, {"label": "Correct"},
            {"label": "Windows used", "numeric": True}, {"label": "Windows rejected", "numeric": True},
            {"label": "Electrodes rebuilt"}, {"label": "Electrodes flagged"}]
