"""Datasets described by data: a descriptor in ``datasets/<name>.json`` says where the files are, how subjects and
labels are read from their names, which nodes to use, where to download them, and under which licence.

A user's own cohort is the ``folder`` dataset: a directory of recordings plus ``participants.tsv`` (or ``.csv``)
with a subject column, a label column and, optionally, a file column.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import mne

from eeg_gnn.data.download import default_data_dir
from eeg_gnn.signal.events import annotation_intervals, classes_of, read_annotations
from eeg_gnn.signal.io import FORMATS, read_recording
from eeg_gnn.utils.resources import resource_dir
from eeg_gnn.utils.validation import check_option

FOLDER = "folder"
SUBJECT_COLUMNS = ("participant_id", "subject", "subject_id", "id")
LABEL_COLUMNS = ("label", "group", "diagnosis", "class")
FILE_COLUMNS = ("file", "path", "recording", "filename")
CONTROL_NAMES = ("control", "controls", "healthy", "hc", "norm", "normal", "rest", "negative")


@dataclass(frozen=True)
class Recording:
    """One recording of one subject.

    Attributes
    ----------
    path : Path
        File (or ``chNN.inp`` folder) to read.
    subject : str
        Subject identifier; folds never split a subject.
    label : str | None
        Class of the whole recording, or None when labels come from time intervals.
    recording_id : str
        Unique within the dataset (the path relative to the dataset folder).
    read_kwargs : dict
        Extra arguments for :func:`eeg_gnn.signal.io.read_recording` (e.g. ``sfreq`` for CSV files, ``key`` for one
        array of a MATLAB file, ``trial`` for one trial of a pickled array).
    intervals : tuple of (label, start_s, end_s)
        Labelled time intervals of this recording (e.g. its seizures); windows outside every interval are
        unlabelled. Empty when the recording has one label or the descriptor gives the intervals.
    session : str or None
        The session the recording belongs to (BIDS ``ses-``), or None.
    """

    path: Path
    subject: str
    label: str | None
    recording_id: str
    read_kwargs: dict = field(default_factory=dict, compare=False, hash=False)
    intervals: tuple = field(default=(), compare=False, hash=False)
    session: str | None = field(default=None, compare=False, hash=False)

    def read(self, notes: list[str] | None = None) -> mne.io.BaseRaw:
        """The recording, preloaded in volts; ``notes`` receives what the reader recovered."""
        return read_recording(self.path, **self.read_kwargs, notes=notes)

    def sidecars(self) -> list[Path]:
        """Metadata files that change how the recording is read (a BIDS ``channels.tsv``); none by default."""
        return []


@dataclass
class Dataset:
    """Recordings of one dataset with what is known about them (the descriptor)."""

    name: str
    root: Path
    descriptor: dict[str, Any]
    recordings: list[Recording]

    @property
    def task(self) -> str:
        return self.descriptor["task"]

    @property
    def classes(self) -> list[str]:
        return list(self.descriptor["classes"])

    @property
    def label_level(self) -> str:
        return self.descriptor.get("label_level", "subject")

    @property
    def nodes(self) -> str | list[str]:
        return self.descriptor.get("nodes", "10-20")

    @property
    def subjects(self) -> list[str]:
        return sorted({r.subject for r in self.recordings})

    def class_counts(self) -> dict[str, dict[str, int]]:
        """Recordings and subjects per class."""
        counts = {}
        for label in self.classes:
            mine = [r for r in self.recordings if r.label == label]
            counts[label] = {"recordings": len(mine), "subjects": len({r.subject for r in mine})}
        return counts


def available_datasets() -> list[str]:
    """Names of the described datasets, plus ``'folder'`` for a user's own cohort and the registered sources
    (``'bids'``)."""
    return sorted(p.stem for p in resource_dir("datasets").glob("*.json")) + [FOLDER, *SOURCES]


#: Datasets read from a folder's own metadata rather than a descriptor (``'bids'``), by name.
SOURCES: dict[str, Callable[..., Dataset]] = {}


def register_source(name: str, load: Callable[..., Dataset]) -> None:
    """Let a plug-in list the recordings of a standard layout given as ``--data-dir`` (e.g. BIDS).

    ``load(data_dir, *, read_kwargs=None, label_column=None, on_missing='raise', **options)`` returns the
    :class:`Dataset`; it is called by :func:`load_dataset` with the folder options of the run.
    """
    SOURCES[name] = load


def has_descriptor(name: str) -> bool:
    """Whether dataset ``name`` is described by ``datasets/<name>.json`` (not ``'folder'`` or a source)."""
    return name != FOLDER and name not in SOURCES


@cache
def load_descriptor(name: str) -> dict[str, Any]:
    """Read ``datasets/<name>.json``."""
    path = resource_dir("datasets") / f"{name}.json"
    if not path.is_file():
        allowed = ", ".join(repr(n) for n in available_datasets())
        raise ValueError(f"Invalid value for the 'dataset' parameter. Allowed values are {allowed}, but got {name!r} instead.")
    return json.loads(path.read_text())


def dataset_dir(name: str, data_dir: str | Path | None = None) -> Path:
    """The folder that holds a dataset's files: ``data_dir`` if given, else ``$EEG_GNN_DATA/<directory>``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    return default_data_dir() / load_descriptor(name).get("directory", name)


def how_to_get(name: str, folder: Path) -> str:
    """Tell a user where a dataset comes from and where to put it."""
    descriptor = load_descriptor(name)
    access = descriptor.get("access", "open")
    where = f"Put its files in {folder} (or point --data-dir / $EEG_GNN_DATA elsewhere)."
    command = descriptor.get("patient_download", {}).get("command", f"python -m eeg_gnn fetch {name}")
    if access == "open":
        get = f"Download it with `{command}` (source: {descriptor['source']}; licence: {descriptor['license']})."
    elif access == "local":
        get = f"It is not downloadable: {descriptor['source']}"
    else:
        get = f"It needs a signed licence agreement from its owners: {descriptor['source']}."
    return f"{get} {where}"


def load_dataset(name: str, data_dir: str | Path | None = None, *, read_kwargs: dict | None = None,
                 event_labels: dict[str, str] | None = None, **folder_options: Any) -> Dataset:
    """List the recordings of a dataset with their subjects and labels.

    Parameters
    ----------
    name : str
        A described dataset (see :func:`available_datasets`), ``'folder'``, or ``'bids'`` (see
        :func:`eeg_gnn.data.bids.load_bids`).
    data_dir : str | Path, optional
        The folder holding the dataset's files; default ``$EEG_GNN_DATA/<directory>``
        (``$EEG_GNN_DATA`` defaults to ``~/eeg_gnn_data``). Required for ``'folder'``.
    read_kwargs : dict, optional
        Arguments for reading every recording (see :func:`eeg_gnn.signal.io.read_recording`): ``sfreq`` and
        ``unit`` for CSV/TSV files, ``on_truncated``, ``scale``. A described dataset's own ``read`` settings take
        precedence.
    event_labels : dict of str to str, optional
        Labels from the recordings' annotations (description -> class, e.g. ``{'T1': 'left', 'T2': 'right'}``)
        instead of one label per recording: see :func:`label_by_events`. Default: the descriptor's ``events``.
    **folder_options
        For ``'folder'``: ``label_column``, ``subject_column``, ``file_column``, ``on_missing`` (see
        :func:`load_folder`); for ``'bids'`` also ``task_label``; ignored for described datasets.

    Returns
    -------
    Dataset

    Raises
    ------
    FileNotFoundError
        The folder does not exist or holds no recordings; the message says how to get the data.
    ValueError
        File names or the participants table do not fit the descriptor.
    """
    if name in SOURCES:
        if data_dir is None:
            raise ValueError(f"The {name!r} dataset needs --data-dir DIR: the root folder of the dataset.")
        return SOURCES[name](data_dir, read_kwargs=read_kwargs, **folder_options)
    folder_options.pop("task_label", None)
    if name == FOLDER:
        if data_dir is None:
            raise ValueError("The 'folder' dataset needs --data-dir DIR: a folder of recordings with participants.tsv.")
        cohort = load_folder(data_dir, read_kwargs=read_kwargs, labels_required=not event_labels, **folder_options)
        return label_by_events(cohort, event_labels) if event_labels else cohort
    descriptor = load_descriptor(name)
    root = dataset_dir(name, data_dir)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"--data-dir {root} is a file, not a folder; give the folder that holds dataset "
                                 f"{name!r}.")
    if not root.is_dir():
        raise FileNotFoundError(f"Dataset {name!r} was not found at {root}. {how_to_get(name, root)}")
    recordings = _recordings_from_descriptor(descriptor, root)
    if not recordings:
        rule = descriptor["recordings"].get("glob", descriptor["recordings"].get("path"))
        raise FileNotFoundError(
            f"No recordings of dataset {name!r} (files matching {rule!r}) in {root}. {how_to_get(name, root)}"
        )
    if read_kwargs:
        recordings = [replace(r, read_kwargs={**read_kwargs, **r.read_kwargs}) for r in recordings]
    dataset = Dataset(name, root, descriptor, recordings)
    event_labels = event_labels or descriptor.get("events")
    return label_by_events(dataset, event_labels) if event_labels else dataset


def label_by_events(dataset: Dataset, event_labels: dict[str, str]) -> Dataset:
    """The dataset labelled by its recordings' annotations: each recording's labelled intervals are its annotations
    named in ``event_labels`` (description -> class), and the classes are the mapping's values.

    Recordings then have no label of their own (``label_level`` ``'window'``); windows take the class of the
    interval they lie in or, with event-locked windows (``--epoch``), of the event they are locked to.

    Raises
    ------
    ValueError
        No recording has any of the named annotations (the message lists those found).
    """
    recordings, found = [], set()
    for recording in dataset.recordings:
        annotations = read_annotations(recording.path)
        found.update(str(d).strip() for d in annotations.description)
        recordings.append(replace(recording, label=None, intervals=annotation_intervals(annotations, event_labels)))
    if not any(r.intervals for r in recordings):
        raise ValueError(f"No recording of {dataset.name!r} in {dataset.root} has an annotation "
                         f"{' / '.join(event_labels)} (--event-labels); their annotations: "
                         f"{', '.join(sorted(found)) or 'none'}.")
    descriptor = {**dataset.descriptor, "classes": classes_of(event_labels), "label_level": "window",
                  "events": dict(event_labels)}
    return Dataset(dataset.name, dataset.root, descriptor, recordings)


def _recordings_from_descriptor(descriptor: dict[str, Any], root: Path) -> list[Recording]:
    rule = descriptor["recordings"]
    if "layout" in rule:
        return layout_function(rule["layout"])(descriptor, root)
    read_kwargs = dict(descriptor.get("read", {}))
    if "path" in rule:
        path = (root / rule["path"]).resolve()
        if not path.exists() or (path.is_dir() and not any(path.glob("ch[0-9][0-9].inp"))):
            return []
        return [Recording(path, rule["subject"], rule.get("label"), rule["subject"], read_kwargs)]
    pattern = re.compile(rule["regex"])
    recordings = []
    for path in sorted(root.glob(rule["glob"])):
        relative = path.relative_to(root).as_posix()
        match = pattern.search(relative)
        if match is None:
            continue
        raw_label = match.groupdict().get("label")
        if raw_label is not None and raw_label not in rule["labels"]:
            raise ValueError(f"{path}: label {raw_label!r} is not one of {sorted(rule['labels'])}.")
        subject = rule.get("subject_format", "{subject}").format(**match.groupdict())
        label = None if raw_label is None else rule["labels"][raw_label]  # None: labels from annotations ("events")
        recordings.append(Recording(path, subject, label, relative, read_kwargs))
    return recordings


LAYOUTS: dict[str, Callable[[dict[str, Any], Path], list[Recording]]] = {}


def register_layout(name: str, list_recordings: Callable[[dict[str, Any], Path], list[Recording]]) -> None:
    """Let a dataset plug-in list the recordings of a layout that a file-name rule cannot describe
    (recordings inside container files, labels in a separate file, per-file seizure tables).

    A descriptor selects it with ``"layout": name``; ``list_recordings(descriptor, root)`` returns the recordings.
    """
    LAYOUTS[name] = list_recordings


def layout_function(name: str) -> Callable[[dict[str, Any], Path], list[Recording]]:
    """The function registered for a descriptor's ``layout``."""
    if name not in LAYOUTS:
        raise ValueError(f"Unknown recording layout {name!r}; known: {sorted(LAYOUTS)}.")
    return LAYOUTS[name]


def _label_like(column: str, rows: list[dict]) -> bool:
    """Whether a column's values look like class labels: text, two to ten distinct values."""
    values = {(row.get(column) or "").strip() for row in rows} - {""}
    numeric = all(value.replace(".", "", 1).lstrip("-").isdigit() for value in values)
    return 2 <= len(values) <= 10 and not numeric


def _pick_column(header: list[str], candidates: tuple[str, ...], what: str, table: Path, *, chosen: str | None = None,
                 required: bool = True, rows: list[dict] = ()) -> str | None:
    """The column named ``chosen`` (exactly, or ignoring case), else the first of ``candidates`` in ``header``.

    Without one, the error suggests a column: for the label, the first whose values look like classes (``rows``)."""
    lowered = {h.strip().lower(): h for h in header}
    if chosen is not None:
        if chosen in header or chosen.strip().lower() in lowered:
            return chosen if chosen in header else lowered[chosen.strip().lower()]
        raise ValueError(f"--{what}-column {chosen!r} is not a column of {table} (its columns: "
                         f"{', '.join(header)}).")
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    if required:
        others = [h for h in header if h.strip().lower() not in SUBJECT_COLUMNS + FILE_COLUMNS]
        if what == "label" and rows:
            others = sorted(others, key=lambda column: not _label_like(column, rows))
        example = f" (e.g. --{what}-column {others[0]})" if others else ""
        raise ValueError(
            f"{table} has no {what} column ({' / '.join(candidates)}; it has {header}): name it with "
            f"--{what}-column COLUMN{example}."
        )
    return None


ON_MISSING = ("raise", "warn")


def load_folder(data_dir: str | Path, *, read_kwargs: dict | None = None, label_column: str | None = None,
                subject_column: str | None = None, file_column: str | None = None, on_missing: str = "raise",
                labels_required: bool = True) -> Dataset:
    """A user's cohort: recordings in ``data_dir`` labelled by ``participants.tsv`` or ``participants.csv``.

    Parameters
    ----------
    data_dir : str | Path
    read_kwargs : dict, optional
        Arguments for reading every recording (see :func:`eeg_gnn.signal.io.read_recording`).
    label_column, subject_column, file_column : str, optional
        The table's columns for the label, the subject id and the recording's path (relative to ``data_dir``).
        By default the first column named ``label``, ``group``, ``diagnosis`` or ``class``; ``participant_id``,
        ``subject``, ``subject_id`` or ``id``; ``file``, ``path``, ``recording`` or ``filename`` (optional). Without
        a file column, every recording whose path contains the subject id as a whole word belongs to that subject.
    on_missing : 'raise' | 'warn'
        Subjects listed without a recording, and recordings of no listed subject: refuse the cohort, naming them
        all, or leave them out with one warning naming them all (also in ``descriptor["missing"]``).
    labels_required : bool
        False for recordings to predict: the label column is then optional (labels None without one).

    Metadata files are never recordings: the participants table, ``subject-info.*``, ``README*``, BIDS sidecars
    (``*_channels.tsv``, ``*_events.tsv``, ...) and text tables whose rows are not all numbers.
    """
    check_option("on_missing", on_missing, ON_MISSING)
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise FileNotFoundError(f"--data-dir {root} {what}; give the folder that holds the recordings.")
    tables = [root / n for n in ("participants.tsv", "participants.csv") if (root / n).is_file()]
    if not tables:
        raise FileNotFoundError(
            f"{root} has no participants.tsv or participants.csv. Add one with a subject column and a label column "
            "(and optionally a file column), e.g.\n  participant_id\\tgroup\\tfile\n  sub-01\\tcontrol\\tsub-01.edf"
        )
    table = tables[0]
    # utf-8-sig: a table saved by Excel starts with a byte-order mark that would stick to the first column name
    with table.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.DictReader(stream, delimiter="\t" if table.suffix == ".tsv" else ",")
        # line numbers as an editor shows them (DictReader skips blank lines)
        rows = [(reader.line_num, row) for row in reader]
    if not rows:
        raise ValueError(f"{table} lists no participants.")
    header = list(rows[0][1])
    subject_col = _pick_column(header, SUBJECT_COLUMNS, "subject", table, chosen=subject_column)
    label_col = _pick_column(header, LABEL_COLUMNS, "label", table, chosen=label_column, required=labels_required,
                             rows=[row for _, row in rows])
    file_col = _pick_column(header, FILE_COLUMNS, "file", table, chosen=file_column, required=False)
    candidates = sorted(p for p in root.rglob("*") if _is_recording(p))
    recordings, without_recording = [], []
    owners: dict[Path, tuple[str, int]] = {}
    for line, row in rows:
        subject = (row.get(subject_col) or "").strip()
        label = (row.get(label_col) or "").strip() if label_col else None
        if not subject or (label_col and not label):
            raise ValueError(f"{table}, line {line}: empty subject or label in {row}.")
        if file_col and (row.get(file_col) or "").strip():
            path = root / row[file_col].strip()
            paths = [path] if path.exists() else []
            missing = f"line {line}: {subject} ({path} does not exist)"
        else:
            word = re.compile(rf"(?<![A-Za-z0-9]){re.escape(subject)}(?![A-Za-z0-9])")
            paths = [p for p in candidates if word.search(p.relative_to(root).as_posix())]
            missing = f"line {line}: {subject}"
        if not paths:
            without_recording.append(missing)
        for path in paths:
            if path in owners:
                raise ValueError(
                    f"{table}, line {line}: {path} already belongs to subject {owners[path][0]!r} (line "
                    f"{owners[path][1]}); a recording belongs to one subject. Subject ids are matched as whole "
                    "words in file names: add a file column to say which recording is whose (--file-column)."
                )
            owners[path] = (subject, line)
            recordings.append(Recording(path, subject, label, path.relative_to(root).as_posix(),
                                        dict(read_kwargs or {})))
    claimed = {r.path for r in recordings}
    unlabelled = [p.relative_to(root).as_posix() for p in candidates if p not in claimed]
    if not recordings:
        raise ValueError(f"None of the {len(rows)} subjects listed in {table} has a recording in {root} (recordings "
                         f"there: {', '.join(unlabelled[:5]) or 'none'}).")
    problems = []
    if without_recording:
        problems.append(f"{len(without_recording)} subjects listed without a recording ({'; '.join(without_recording)})")
    if unlabelled:
        problems.append(f"{len(unlabelled)} recordings of no listed subject ({', '.join(unlabelled)})")
    if problems and on_missing == "raise":
        raise ValueError(f"{table}: {' and '.join(problems)}. Pass --on-missing warn to leave them out.")
    if problems:
        warnings.warn(f"{table}: leaving out {' and '.join(problems)} (--on-missing warn).", RuntimeWarning,
                      stacklevel=2)
    labels = sorted({r.label for r in recordings if r.label is not None})
    classes = sorted(labels, key=lambda c: (c.lower() not in CONTROL_NAMES, c))
    descriptor = {
        "name": FOLDER, "title": f"User cohort in {root}", "task": "custom", "classes": classes,
        "label_level": "subject", "nodes": "10-20", "license": "the user's own", "citation": "",
        "participants": str(table), "unlabelled_files": unlabelled,
        "columns": {"subject": subject_col, "label": label_col, "file": file_col},
        "missing": {"subjects_without_recordings": [m.split(": ", 1)[1] for m in without_recording],
                    "recordings_without_subjects": unlabelled},
    }
    return Dataset(FOLDER, root, descriptor, recordings)


BIDS_SIDECARS = ("_channels.tsv", "_events.tsv", "_electrodes.tsv", "_scans.tsv", "_coordsystem.json",
                 "_sessions.tsv")


METADATA_NAMES = ("participants", "subject-info", "subject_info", "subjects", "readme", "dataset_description",
                  "changes", "license", "metadata", "labels")


def _is_recording(path: Path) -> bool:
    """Whether a file in a folder cohort is a recording, not metadata (see :func:`load_folder`)."""
    name = path.name.lower()
    if (not path.is_file() or name.endswith(BIDS_SIDECARS) or name.split(".")[0] in METADATA_NAMES
            or name.startswith(("readme", "participants."))):
        return False
    if not any(name.endswith(suffix) for suffix in FORMATS if suffix not in (".inp", ".txt", ".mat", ".dat")):
        return False
    return not name.endswith((".csv", ".tsv")) or _numeric_table(path)


def _numeric_table(path: Path, n_rows: int = 3) -> bool:
    """A CSV/TSV recording has numbers in every cell of its first rows (after an optional header row)."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as stream:
            rows = [row for _, row in zip(range(n_rows + 1), csv.reader(stream, delimiter=delimiter))]
    except OSError:
        return True  # let the reader say what is wrong with it
    for row in rows[1:]:
        for cell in row:
            try:
                float(cell)
            except ValueError:
                return False
    return True
