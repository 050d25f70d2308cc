"""BIDS datasets (EEG-BIDS; OpenNeuro, the EEGDash index) through MNE-BIDS: ``--dataset bids --data-dir ROOT``.

Recordings
    Every EEG recording of the tree (``sub-<label>/[ses-<label>/]eeg/sub-<label>[_ses-<label>]_task-<label>
    [_run-<index>]_eeg.<ext>``); subjects, sessions, tasks and runs come from the BIDS entities. Each is read by
    :func:`mne_bids.read_raw_bids`, so the channel types and bad channels of its ``channels.tsv`` are honoured
    (channels typed ECG, EOG, EMG, MISC ... are never nodes; channels marked ``bad`` are treated as bad nodes under
    ``--bad-channels``), and its ``electrodes.tsv`` positions, when present, are the ones bad nodes are interpolated
    from.

Labels (``label_source``; ``--label-column`` / ``--task-label``)
    ``participants``
        A column of ``participants.tsv`` (``--label-column``, default the first named ``group``, ``diagnosis``,
        ``label`` or ``class``): one class per subject.
    ``task``
        The task entity: each recording's class is its task (e.g. ``task-rest`` against ``task-arithmetic``).
    ``events``
        The ``trial_type`` of each recording's ``events.tsv``: windows inside an event of non-zero duration get its
        trial type; windows outside every event are unlabelled.

    By default: a ``participants.tsv`` label column when there is one, else the task when the dataset has several
    tasks, else the events.

Needs the ``[bids]`` extra (``pip install eeg-gnn[bids]``).
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mne

from eeg_gnn.data.datasets import (
    CONTROL_NAMES,
    LABEL_COLUMNS,
    ON_MISSING,
    Dataset,
    Recording,
    register_source,
)
from eeg_gnn.signal.io import check_finite
from eeg_gnn.utils.validation import check_option, check_positive, require_extra

NAME = "bids"
LABEL_SOURCES = ("participants", "task", "events")
EXTENSIONS = (".edf", ".bdf", ".vhdr", ".set", ".fif")
_TASK = re.compile(r"_task-([a-zA-Z0-9]+)")


def mne_bids_module():
    """The ``mne_bids`` package, or a :class:`~eeg_gnn.utils.validation.MissingExtraError` naming the extra."""
    return require_extra("mne_bids", "bids", "Reading a BIDS dataset (--dataset bids)")


@dataclass(frozen=True)
class BidsRecording(Recording):
    """A recording of a BIDS dataset, read with its sidecars by :func:`mne_bids.read_raw_bids`.

    Attributes
    ----------
    root : Path
        The BIDS root the recording belongs to.
    """

    root: Path | None = None

    def read(self, notes: list[str] | None = None) -> mne.io.BaseRaw:
        """The recording, preloaded in volts, with the channel types, bad channels and electrode positions of its
        sidecars."""
        mne_bids = mne_bids_module()
        try:
            bids_path = mne_bids.get_bids_path_from_fname(self.path, verbose="error")
            bids_path.update(root=self.root)
            with mne.utils.use_log_level("error"):
                raw = mne_bids.read_raw_bids(bids_path, verbose="error")
                raw.load_data(verbose="error")
        except Exception as exc:
            problem = " ".join(str(exc).split()) or type(exc).__name__
            raise ValueError(f"Could not read {self.path} as BIDS: {problem}") from exc
        scale = float(self.read_kwargs.get("scale", 1.0))
        if scale != 1.0:
            raw.apply_function(lambda data: data * scale, picks="data", channel_wise=False)
            if notes is not None:
                notes.append(f"samples multiplied by {scale:g} (--scale)")
        if raw.info["bads"] and notes is not None:
            notes.append(f"channels marked bad in channels.tsv: {', '.join(raw.info['bads'])}")
        check_finite(raw, self.path)
        return raw

    def sidecars(self) -> list[Path]:
        """The tables and JSON files next to the recording (``channels.tsv``, ``electrodes.tsv``,
        ``coordsystem.json`` ...): a change to them invalidates its cached features."""
        return sorted(p for p in self.path.parent.iterdir() if p.suffix in (".tsv", ".json") and p.is_file())


def check_bids_root(root: str | Path) -> Path:
    """The root of a BIDS dataset, or an error naming what makes it not one.

    Raises
    ------
    FileNotFoundError
        No such folder.
    ValueError
        No (or an unreadable) ``dataset_description.json``, or no ``sub-<label>`` folder.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise FileNotFoundError(f"--data-dir {root} {what}; give the root folder of a BIDS dataset.")
    description = root / "dataset_description.json"
    if not description.is_file():
        raise ValueError(f"{root} is not a BIDS dataset: it has no dataset_description.json (BIDS requires one at "
                         "the top of the dataset); give its root with --data-dir, or use --dataset folder.")
    try:
        content = json.loads(description.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{description} is not valid JSON ({exc}); BIDS requires a JSON object with Name and "
                         "BIDSVersion.") from exc
    missing = [key for key in ("Name", "BIDSVersion") if not isinstance(content, dict) or key not in content]
    if missing:
        raise ValueError(f"{description} lacks {' and '.join(missing)}, which BIDS requires.")
    if not any(p.is_dir() and p.name.startswith("sub-") for p in root.iterdir()):
        raise ValueError(f"{root} is not a BIDS dataset: it has no sub-<label> folder.")
    return root


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as stream:
        return list(csv.DictReader(stream, delimiter="\t"))


def _participant_labels(root: Path, label_column: str | None) -> tuple[dict[str, str], str] | None:
    """``({sub-label: class}, column)`` from ``participants.tsv``; None when no label column is named or found."""
    table = root / "participants.tsv"
    if not table.is_file():
        if label_column is not None:
            raise ValueError(f"--label-column {label_column} needs {table}, which does not exist.")
        return None
    rows = _read_tsv(table)
    header = list(rows[0]) if rows else []
    if "participant_id" not in header:
        raise ValueError(f"{table} has no participant_id column, which BIDS requires (its columns: "
                         f"{', '.join(header) or 'none'}).")
    if label_column is None:
        label_column = next((h for h in header if h.lower() in LABEL_COLUMNS), None)
        if label_column is None:
            return None
    elif label_column not in header:
        raise ValueError(f"--label-column {label_column!r} is not a column of {table} (its columns: "
                         f"{', '.join(header)}).")
    labels = {}
    for line, row in enumerate(rows, start=2):
        value = (row.get(label_column) or "").strip()
        if value and value != "n/a":
            labels[row["participant_id"].strip()] = value
        elif value == "":
            raise ValueError(f"{table}, line {line}: empty {label_column} for {row['participant_id']}.")
    return labels, label_column


def _event_intervals(path: Path, column: str = "trial_type") -> tuple[tuple[str, float, float], ...]:
    """``(trial_type, start_s, end_s)`` of the events of non-zero duration in an ``events.tsv``."""
    if not path.is_file():
        return ()
    rows = _read_tsv(path)
    if rows and (column not in rows[0] or "onset" not in rows[0] or "duration" not in rows[0]):
        raise ValueError(f"{path} has no {column} column (its columns: {', '.join(rows[0])}); --task-label events "
                         "needs onset, duration and trial_type.")
    intervals = []
    for line, row in enumerate(rows, start=2):
        try:
            onset, duration = float(row["onset"]), float(row["duration"])
        except ValueError:
            if row["duration"] == "n/a":
                continue
            raise ValueError(f"{path}, line {line}: onset {row['onset']!r} or duration {row['duration']!r} is not a "
                             "number.") from None
        kind = (row.get(column) or "").strip()
        if duration > 0 and kind and kind != "n/a":
            intervals.append((kind, onset, onset + duration))
    return tuple(intervals)


def _ordered(classes: set[str]) -> list[str]:
    return sorted(classes, key=lambda c: (c.lower() not in CONTROL_NAMES, c))


def load_bids(data_dir: str | Path, *, label_column: str | None = None, task_label: str | None = None,
              read_kwargs: dict | None = None, on_missing: str = "raise", **ignored: Any) -> Dataset:
    """The EEG recordings of a BIDS dataset, with subjects, sessions and labels from its metadata.

    Parameters
    ----------
    data_dir : str | Path
        The dataset's root (the folder with ``dataset_description.json``).
    label_column : str, optional
        The ``participants.tsv`` column holding each subject's class.
    task_label : {'participants', 'task', 'events'}, optional
        Where the classes come from (see the module docstring); default: ``participants.tsv``'s label column
        when there is one, else the task when there are several, else the events.
    read_kwargs : dict, optional
        ``scale`` is applied to every recording; the other reading settings do not apply to BIDS.
    on_missing : {'raise', 'warn'}
        Recordings of subjects without a label in ``participants.tsv``: refuse, or leave them out (listed in
        ``descriptor["missing"]``).
    **ignored
        Folder-dataset options (``subject_column``, ``file_column``) that BIDS entities replace.

    Returns
    -------
    Dataset
        Named ``'bids'``; recordings carry ``session``; ``descriptor`` records the label source, the tasks and
        which sidecars were found.

    Raises
    ------
    ImportError
        MNE-BIDS is not installed (``pip install eeg-gnn[bids]``).
    ValueError
        The folder is not a BIDS dataset, or its metadata give no labels; the message names the file and the
        problem.
    """
    mne_bids = mne_bids_module()
    root = check_bids_root(data_dir)
    check_option("on_missing", on_missing, ON_MISSING)
    if task_label is not None:
        check_option("task_label", task_label, LABEL_SOURCES)
    if read_kwargs and "scale" in read_kwargs:
        check_positive("scale", read_kwargs["scale"])
    with mne.utils.use_log_level("error"):
        paths = mne_bids.find_matching_paths(root, datatypes="eeg", suffixes="eeg", extensions=list(EXTENSIONS),
                                             ignore_json=True)
    # BrainVision and EEGLAB recordings are listed by their header only
    files = sorted({Path(p.fpath) for p in paths}, key=str)
    if not files:
        raise ValueError(f"{root} is a BIDS dataset without EEG recordings: no sub-<label>/[ses-<label>/]eeg/"
                         f"*_eeg file with extension {', '.join(EXTENSIONS)}.")
    entries = [(path, mne_bids.get_bids_path_from_fname(path, verbose="error")) for path in files]
    tasks = sorted({p.task for _, p in entries if p.task})
    participants = _participant_labels(root, label_column)
    source = task_label or ("participants" if participants else "task" if len(tasks) > 1 else "events")
    if source == "participants" and participants is None:
        raise ValueError(f"{root}/participants.tsv has no label column (group, diagnosis, label or class): name one "
                         "with --label-column COLUMN, or take labels from --task-label task or events.")
    recordings, unlabelled = [], []
    for path, bids_path in entries:
        subject = f"sub-{bids_path.subject}"
        relative = path.relative_to(root).as_posix()
        label, intervals = None, ()
        if source == "participants":
            label = participants[0].get(subject)
            if label is None:
                unlabelled.append(relative)
                continue
        elif source == "task":
            label = bids_path.task
            if label is None:
                raise ValueError(f"{path} has no task entity; --task-label task needs _task-<label> in every name.")
        else:
            events = bids_path.copy().update(suffix="events", extension=".tsv").fpath
            intervals = _event_intervals(Path(events))
        recordings.append(BidsRecording(path, subject, label, relative, dict(read_kwargs or {}), intervals,
                                        bids_path.session, root=root))
    if unlabelled:
        problem = (f"{root}/participants.tsv gives no {participants[1]} for the subjects of {len(unlabelled)} "
                   f"recordings ({', '.join(unlabelled[:5])})")
        if on_missing == "raise":
            raise ValueError(f"{problem}; pass --on-missing warn to leave them out.")
        warnings.warn(f"{problem}: leaving them out (--on-missing warn).", RuntimeWarning, stacklevel=2)
    if source == "events":
        classes = _ordered({kind for r in recordings for kind, _, _ in r.intervals})
        if len(classes) < 2:
            raise ValueError(f"The events.tsv files of {root} give {len(classes)} trial type(s) with a duration "
                             f"({', '.join(classes) or 'none'}): nothing to classify; take labels from "
                             "--label-column COLUMN of participants.tsv or --task-label task.")
    else:
        classes = _ordered({r.label for r in recordings})
    if not recordings:
        raise ValueError(f"No recording of {root} has a label.")
    level = {"participants": "subject", "task": "recording", "events": "window"}[source]
    sidecars = {suffix: sum(1 for path, _ in entries if any(path.parent.glob(f"*_{suffix}.tsv")))
                for suffix in ("channels", "electrodes", "events")}
    description = json.loads((root / "dataset_description.json").read_text(encoding="utf-8"))
    descriptor = {
        "name": NAME, "title": description.get("Name", f"BIDS dataset in {root}"), "task": "custom",
        "classes": classes, "label_level": level, "nodes": "10-20",
        "license": description.get("License", "see the dataset"), "citation": "",
        "label_source": source, "label_column": participants[1] if source == "participants" else None,
        "bids_tasks": tasks, "sidecars": sidecars, "bids_version": description.get("BIDSVersion"),
        "missing": {"subjects_without_recordings": [], "recordings_without_subjects": unlabelled},
    }
    return Dataset(NAME, root, descriptor, recordings)


register_source(NAME, load_bids)
