"""CHB-MIT Scalp EEG (Shoeb 2009, PhysioNet): seizure tables, labelled intervals and per-patient download.

Layout
    ``<root>/chbNN/chbNN-summary.txt`` plus ``<root>/chbNN/chbNN_MM.edf`` (mostly one hour, 256 Hz). The summary
    lists every file with its clock times and seizures, after ``Channel N: NAME`` lines that give the montage in
    force (repeated where the montage changes).

Nodes
    The recordings are bipolar ("double banana"), so the nodes are the 18 derivations present in nearly every
    file (node set ``'chbmit-bipolar-18'``), each placed at the midpoint of its two electrodes
    (see :mod:`eeg_gnn.signal.montage`). Files whose channels lack one of them are left out with a warning that names
    them; use :func:`file_table` to see which files a dataset folder gives and why others are left out.

Labels (per window; see :func:`seizure_intervals`)
    ``ictal``: from each seizure's onset to its end. ``non-ictal``: the rest of the recording, except a gap of
    ``seizure_gap_s`` (descriptor key, default 60 s) before every onset and after every end, which stays
    unlabelled because onset and end annotations are imprecise. Optional ``preictal``: with ``preictal_s`` > 0 in
    the descriptor (and ``"preictal"`` among its classes) the ``preictal_s`` seconds that end ``seizure_gap_s``
    before each onset, i.e. ``[onset - gap - preictal_s, onset - gap)``; the gap plays the role of a seizure
    prediction horizon. Gaps and pre-ictal periods reach into the neighbouring files of the same patient when the
    summary's clock times place them there (recordings are often contiguous).

Subjects
    ``chb21`` is patient ``chb01`` recorded again 1.5 years later: its recordings get subject ``'chb01'`` so that
    cross-subject folds never put the same person on both sides.

Download
    The whole set is about 40 GB, so it is fetched one patient at a time::

        eeg-gnn fetch chbmit chb01 chb02        # or: from eeg_gnn.data.chbmit import fetch_patient
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from eeg_gnn.data.datasets import Recording, dataset_dir, load_descriptor, register_layout
from eeg_gnn.signal.montage import match_channels

NAME = "chbmit"
DEFAULT_GAP_S = 60.0
ICTAL, NON_ICTAL, PREICTAL = "ictal", "non-ictal", "preictal"
#: Cases that are the same person as another case: chb21 is chb01 1.5 years later (PhysioNet's description).
SAME_PERSON = {"chb21": "chb01"}
PATIENT = re.compile(r"^chb\d{2}$")
SECONDS_PER_DAY = 86400.0

_CHANNEL = re.compile(r"^Channel\s+(\d+)\s*:\s*(.*?)\s*$", re.IGNORECASE)
_FILE = re.compile(r"^File\s+Name\s*:\s*(\S+)", re.IGNORECASE)
_START = re.compile(r"^File\s+Start\s+Time\s*:\s*(\S+)", re.IGNORECASE)
_END = re.compile(r"^File\s+End\s+Time\s*:\s*(\S+)", re.IGNORECASE)
_COUNT = re.compile(r"^Number\s+of\s+Seizures\s+in\s+File\s*:\s*(\d+)", re.IGNORECASE)
_SEIZURE = re.compile(
    r"^Seizure(?:\s+(\d+))?\s+(Start|End)\s+Time\s*:\s*(\d+(?:\.\d+)?)\s*(?:seconds?|secs?|s)?\s*$", re.IGNORECASE
)
_CLOCK = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")


@dataclass
class FileSummary:
    """One file's block of a ``chbNN-summary.txt``.

    Attributes
    ----------
    file_name : str
        E.g. ``'chb01_03.edf'``.
    start_time, end_time : str | None
        Clock times as written (hours may exceed 23 for recordings past midnight); None when absent.
    seizures : list of (start_s, end_s)
        Seconds from the start of the file, in the order listed.
    channels : list of str
        The montage in force for this file: the ``Channel N: NAME`` lines before its block.
    line : int
        Line number of its ``File Name:`` line.
    """

    file_name: str
    start_time: str | None = None
    end_time: str | None = None
    seizures: list[tuple[float, float]] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    line: int = 0


def clock_seconds(text: str) -> float:
    """Seconds since midnight of a clock time ``HH:MM:SS``; hours past 23 are kept (``'24:01:00'`` -> 86460)."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a clock time HH:MM:SS.")
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def parse_summary(path: str | Path, durations: dict[str, float] | None = None) -> dict[str, FileSummary]:
    """Read a ``chbNN-summary.txt``: every file's clock times, seizures and montage.

    Parameters
    ----------
    path : str | Path
    durations : dict of str to float, optional
        Length in seconds of (some of) the files, by file name; a seizure ending after its file is an error.

    Returns
    -------
    dict of str to FileSummary
        By file name, in the order of the summary.

    Raises
    ------
    ValueError
        Naming the file (and line): a seizure count that differs from ``Number of Seizures in File``, a seizure
        whose end is not after its start, a start without an end, overlapping seizures, a seizure beyond the
        recording's length, a file listed twice, or a seizure line outside a file block.
    """
    path = Path(path)
    summaries: dict[str, FileSummary] = {}
    montage: list[str] = []
    current: FileSummary | None = None
    declared: tuple[int, int] | None = None  # (count, line)
    pending: tuple[float, int, int | None] | None = None  # (start, line, number)

    def close() -> None:
        if current is None:
            return
        if pending is not None:
            raise ValueError(f"{path}, line {pending[1]}: {current.file_name} has a seizure start without an end.")
        if declared is not None and declared[0] != len(current.seizures):
            raise ValueError(
                f"{path}, line {declared[1]}: {current.file_name} says Number of Seizures in File: {declared[0]} "
                f"but lists {len(current.seizures)} seizure(s)."
            )
        check_seizures(current.file_name, current.seizures, (durations or {}).get(current.file_name), source=path)

    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        line = line.strip()
        if match := _CHANNEL.match(line):
            if int(match.group(1)) == 1:
                montage = []
            montage.append(match.group(2))
        elif match := _FILE.match(line):
            close()
            name = match.group(1)
            if name in summaries:
                raise ValueError(f"{path}, line {number}: {name} is listed twice (first on line {summaries[name].line}).")
            current = summaries[name] = FileSummary(name, channels=list(montage), line=number)
            declared, pending = None, None
        elif current is None and (_SEIZURE.match(line) or _COUNT.match(line)):
            raise ValueError(f"{path}, line {number}: {line!r} comes before any 'File Name:' line.")
        elif current is None:
            continue
        elif match := _START.match(line):
            current.start_time = match.group(1)
        elif match := _END.match(line):
            current.end_time = match.group(1)
        elif match := _COUNT.match(line):
            declared = (int(match.group(1)), number)
        elif match := _SEIZURE.match(line):
            index = int(match.group(1)) if match.group(1) else None
            kind, seconds = match.group(2).lower(), float(match.group(3))
            expected = len(current.seizures) + 1
            if index is not None and index != expected:
                raise ValueError(f"{path}, line {number}: {current.file_name}: seizure {index} where seizure "
                                 f"{expected} was expected.")
            if kind == "start":
                if pending is not None:
                    raise ValueError(f"{path}, line {pending[1]}: {current.file_name} has a seizure start without "
                                     "an end.")
                pending = (seconds, number, index)
            else:
                if pending is None:
                    raise ValueError(f"{path}, line {number}: {current.file_name} has a seizure end without a start.")
                if seconds <= pending[0]:
                    raise ValueError(f"{path}, line {number}: {current.file_name} has a seizure ending at {seconds:g} s, "
                                     f"not after its start at {pending[0]:g} s.")
                current.seizures.append((pending[0], seconds))
                pending = None
    close()
    return summaries


def check_seizures(file_name: str, seizures: list[tuple[float, float]], duration_s: float | None = None, *,
                   source: str | Path = "the summary") -> None:
    """Raise a ValueError naming the file when its seizures overlap or one ends after the recording."""
    ordered = sorted(seizures)
    for (start1, end1), (start2, end2) in zip(ordered, ordered[1:]):
        if start2 < end1:
            raise ValueError(f"{source}: {file_name} has overlapping seizures {start1:g}-{end1:g} s and "
                             f"{start2:g}-{end2:g} s.")
    if duration_s is not None:
        for start, end in ordered:
            if end > duration_s + 1e-6:
                raise ValueError(f"{source}: {file_name} has a seizure at {start:g}-{end:g} s, beyond the end of "
                                 f"the recording ({duration_s:g} s).")


# ------------------------------------------------------------------------------------------------ intervals


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _subtract(intervals: list[tuple[float, float]], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    pieces = _union(intervals)
    for cut_start, cut_end in _union(cuts):
        kept = []
        for start, end in pieces:
            if cut_end <= start or cut_start >= end:
                kept.append((start, end))
                continue
            if start < cut_start:
                kept.append((start, cut_start))
            if cut_end < end:
                kept.append((cut_end, end))
        pieces = kept
    return pieces


def seizure_intervals(
    duration_s: float,
    seizures: list[tuple[float, float]],
    *,
    gap_s: float = DEFAULT_GAP_S,
    preictal_s: float = 0.0,
    nearby_seizures: list[tuple[float, float]] = (),
) -> tuple[tuple[str, float, float], ...]:
    """Labelled intervals of one file: ictal, non-ictal and (optionally) pre-ictal, sorted by start.

    Parameters
    ----------
    duration_s : float
        Length of the file.
    seizures : list of (start_s, end_s)
        The file's own seizures (seconds from its start).
    gap_s : float
        Unlabelled seconds before each onset and after each end.
    preictal_s : float
        Length of the pre-ictal period ``[onset - gap_s - preictal_s, onset - gap_s)``; 0 for none.
    nearby_seizures : list of (start_s, end_s)
        Seizures of neighbouring files of the same patient, in this file's time (negative before it, beyond
        ``duration_s`` after it): their gaps and pre-ictal periods may reach into this file.

    Returns
    -------
    tuple of (label, start_s, end_s)
    """
    seizures = [(float(start), float(end)) for start, end in seizures]
    every = seizures + [(float(start), float(end)) for start, end in nearby_seizures]
    whole = [(0.0, float(duration_s))]
    blocked = [(start - gap_s, end + gap_s) for start, end in every]
    ictal = _union(seizures)
    preictal = []
    if preictal_s > 0:
        preictal = [(start - gap_s - preictal_s, start - gap_s) for start, _ in every]
        preictal = _subtract(_subtract(preictal, blocked), _subtract([(-1e12, 1e12)], whole))
    non_ictal = _subtract(whole, blocked + preictal)
    labelled = ([(ICTAL, a, b) for a, b in _subtract(ictal, _subtract([(-1e12, 1e12)], whole))]
                + [(NON_ICTAL, a, b) for a, b in non_ictal] + [(PREICTAL, a, b) for a, b in preictal])
    return tuple(sorted(labelled, key=lambda interval: interval[1]))


def _file_offsets(summaries: dict[str, FileSummary]) -> dict[str, float] | None:
    """Start of every file in seconds on one patient's clock (days added where the clock wraps), or None when a
    file has no start time."""
    offsets, previous, day = {}, None, 0.0
    for name, summary in summaries.items():
        if summary.start_time is None:
            return None
        try:
            start = clock_seconds(summary.start_time) + day
        except ValueError:
            return None
        while previous is not None and start < previous:
            day += SECONDS_PER_DAY
            start += SECONDS_PER_DAY
        offsets[name] = previous = start
    return offsets


# ------------------------------------------------------------------------------------------------ listing


@lru_cache(maxsize=4096)
def _edf_header(path: str, mtime_ns: int, size: int) -> tuple[float, tuple[str, ...]]:
    import mne

    try:
        raw = mne.io.read_raw_edf(path, preload=False, verbose="error")
    except (ValueError, OSError, RuntimeError, KeyError, IndexError) as exc:
        raise ValueError(f"Could not read the EDF header of {path} ({exc}); delete it and fetch it again.") from exc
    return raw.n_times / raw.info["sfreq"], tuple(raw.ch_names)


def edf_header(path: str | Path) -> tuple[float, list[str]]:
    """Duration in seconds and channel names (as MNE names them) of an EDF file, reading only its header."""
    stat = Path(path).stat()
    duration, ch_names = _edf_header(str(path), stat.st_mtime_ns, stat.st_size)
    return duration, list(ch_names)


@dataclass
class FileEntry:
    """One EDF file of a CHB-MIT folder and what became of it (see :func:`file_table`)."""

    recording_id: str
    patient: str
    subject: str
    recording: Recording | None
    reason: str | None = None


def file_table(descriptor: dict[str, Any], root: str | Path) -> list[FileEntry]:
    """Every EDF under ``root`` that a summary lists or that lies in a patient folder, with its Recording or the
    reason it is left out (not downloaded files are not listed)."""
    root = Path(root)
    gap_s = float(descriptor.get("seizure_gap_s", DEFAULT_GAP_S))
    preictal_s = float(descriptor.get("preictal_s", 0.0))
    if gap_s < 0 or preictal_s < 0:
        raise ValueError(f"seizure_gap_s ({gap_s}) and preictal_s ({preictal_s}) must be >= 0.")
    if preictal_s > 0 and PREICTAL not in descriptor["classes"]:
        raise ValueError(f"preictal_s is {preictal_s:g} s but {PREICTAL!r} is not among the classes "
                         f"{descriptor['classes']}: add it, or set preictal_s to 0.")
    nodes = descriptor.get("nodes", "chbmit-bipolar-18")
    entries = []
    for folder in sorted(p for p in root.glob("chb*") if p.is_dir() and PATIENT.match(p.name)):
        patient = folder.name
        subject = SAME_PERSON.get(patient, patient)
        summary_path = folder / f"{patient}-summary.txt"
        summaries = parse_summary(summary_path) if summary_path.is_file() else {}
        offsets = _file_offsets(summaries)
        for path in sorted(folder.glob("*.edf")):
            if path.name not in summaries:
                why = "not in the summary" if summaries else f"no {summary_path.name}"
                entries.append(FileEntry(path.relative_to(root).as_posix(), patient, subject, None,
                                         f"{why}: its seizures are unknown"))
        for name, summary in summaries.items():
            path = folder / name
            if not path.is_file():
                continue
            recording_id = path.relative_to(root).as_posix()
            duration, ch_names = edf_header(path)
            check_seizures(name, summary.seizures, duration, source=summary_path)
            match = match_channels(ch_names, nodes, on_missing="ignore", source=str(path))
            if match.missing:
                entries.append(FileEntry(recording_id, patient, subject, None,
                                         f"lacks {', '.join(match.missing)}"))
                continue
            nearby = []
            if offsets is not None:
                for other, other_summary in summaries.items():
                    if other != name:
                        shift = offsets[other] - offsets[name]
                        nearby += [(start + shift, end + shift) for start, end in other_summary.seizures]
            intervals = seizure_intervals(duration, summary.seizures, gap_s=gap_s, preictal_s=preictal_s,
                                          nearby_seizures=nearby)
            recording = Recording(path, subject, None, recording_id, intervals=intervals)
            entries.append(FileEntry(recording_id, patient, subject, recording))
    return entries


def list_recordings(descriptor: dict[str, Any], root: str | Path) -> list[Recording]:
    """The labelled recordings of a CHB-MIT folder (``<root>/chbNN/chbNN-summary.txt`` + EDF files).

    Every file a summary lists and that has been downloaded becomes a :class:`~eeg_gnn.data.datasets.Recording` with
    ``label=None`` and ``intervals`` (see the module docstring for ictal / non-ictal / pre-ictal and the gap);
    ``chb21`` gets subject ``'chb01'`` (same person). Files whose channels lack one of the descriptor's nodes,
    and EDF files that no summary lists, are left out with one ``RuntimeWarning`` naming them (a file without
    some node would otherwise stop the run, since every recording must give the same graph).

    Raises
    ------
    ValueError
        A summary is inconsistent, or a seizure lies beyond the end of its file (naming file and times).
    """
    entries = file_table(descriptor, root)
    left_out = [e for e in entries if e.recording is None]
    if left_out:
        shown = "; ".join(f"{e.recording_id} ({e.reason})" for e in left_out[:10])
        more = f"; and {len(left_out) - 10} more" if len(left_out) > 10 else ""
        warnings.warn(
            f"{len(left_out)} of the {len(entries)} CHB-MIT files in {root} are left out: {shown}{more}. "
            "See eeg_gnn.data.chbmit.file_table for the full list.",
            RuntimeWarning, stacklevel=2,
        )
    return [e.recording for e in entries if e.recording is not None]


# ------------------------------------------------------------------------------------------------ download


def patient_name(patient: str | int) -> str:
    """``'chb01'`` from ``'chb01'``, ``'CHB1'``, ``'1'`` or ``1``."""
    text = str(patient).strip().lower()
    match = re.fullmatch(r"(?:chb)?(\d{1,2})", text)
    if match is None:
        raise ValueError(f"{patient!r} is not a CHB-MIT case; use 'chb01' ... 'chb24'.")
    return f"chb{int(match.group(1)):02d}"


def fetch_patient(patient: str | int, data_dir: str | Path | None = None, base_url: str | None = None,
                  progress: bool = True) -> Path:
    """Download one CHB-MIT case (its summary, then every EDF it lists) and check what arrived.

    Each file is downloaded atomically and its size checked against the server's ``Content-Length``; files
    already there are kept. Afterwards every EDF must open, have as many channels as the summary's montage for
    it, and be long enough for its seizures.

    Parameters
    ----------
    patient : str | int
        ``'chb01'`` ... ``'chb24'`` (or the number).
    data_dir : str | Path, optional
        The CHB-MIT folder (that holds ``chbNN/``); default ``$EEG_GNN_DATA/chbmit``.
    base_url : str, optional
        Replaces PhysioNet's ``https://physionet.org/files/chbmit/1.0.0/`` (a mirror; a local server in tests).
    progress : bool
        Show progress bars.

    Returns
    -------
    Path
        The patient's folder.
    """
    from tqdm.auto import tqdm

    from eeg_gnn.data.download import download_file

    patient = patient_name(patient)
    descriptor = load_descriptor(NAME)
    root = dataset_dir(NAME, data_dir)
    base = (base_url or descriptor["patient_download"]["base_url"]).rstrip("/") + "/"
    folder = root / patient
    summary_path = download_file(f"{base}{patient}/{patient}-summary.txt", folder / f"{patient}-summary.txt",
                                 progress=False)
    summaries = parse_summary(summary_path)
    if not summaries:
        raise ValueError(f"{summary_path} lists no files; delete it and fetch again.")
    for name in tqdm(summaries, desc=f"{patient}: files", unit="file", disable=not progress):
        download_file(f"{base}{patient}/{name}", folder / name, progress=progress)
    durations = {}
    for name, summary in summaries.items():
        duration, ch_names = edf_header(folder / name)
        if summary.channels and len(ch_names) != len(summary.channels):
            raise ValueError(f"{folder / name} has {len(ch_names)} channels but {summary_path.name} lists "
                             f"{len(summary.channels)} for it (line {summary.line}); the file may be damaged: "
                             "delete it and fetch again.")
        durations[name] = duration
    parse_summary(summary_path, durations)
    return folder


register_layout("chbmit", list_recordings)
