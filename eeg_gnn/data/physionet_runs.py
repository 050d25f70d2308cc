"""Download datasets stored as one file per subject and run (PhysioNet's eegmmidb: ``S001/S001R04.edf``), a chosen
set of subjects and runs at a time, every file checked against a published SHA-256 table.

A descriptor opts in with a ``download`` section like::

    "download": {"base_url": "https://physionet.org/files/eegmmidb/1.0.0/",
                 "subject_runs": "S{subject:03d}/S{subject:03d}R{run:02d}.edf",
                 "checksums": "eegmmidb_SHA256SUMS.txt", "n_subjects": 109}

``checksums`` is a file next to the descriptors in ``sha256sum`` format (its ``#`` lines say where the values come
from). A file whose checksum differs is discarded, never kept: e.g. a copy whose line feeds gained a carriage return
on the way (as circulates online).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from tqdm.auto import tqdm

from eeg_gnn.data.datasets import dataset_dir, load_descriptor
from eeg_gnn.data.download import download_file
from eeg_gnn.utils.resources import resource_dir

_SUBJECT = re.compile(r"^S?0*(\d+)$", re.IGNORECASE)


@cache
def published_checksums(table: str) -> dict[str, str]:
    """``{relative path: sha256}`` from a ``sha256sum``-format table in ``datasets/``."""
    checksums = {}
    for line in (resource_dir("datasets") / table).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, path = line.split(maxsplit=1)
            checksums[path.strip()] = digest.lower()
    return checksums


def parse_subjects(subjects: Iterable[str | int], n_subjects: int) -> list[int]:
    """Subject numbers from ``1``, ``S001``, ``s1`` or ranges ``1-12``; each between 1 and ``n_subjects``."""
    numbers = []
    for item in subjects:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            low, _, high = part.partition("-")
            bounds = [_SUBJECT.match(side.strip()) for side in ((low, high) if high else (low,))]
            if not all(bounds):
                raise ValueError(f"Subject {part!r} is not a subject number like 1, S001 or a range 1-12.")
            first, last = int(bounds[0].group(1)), int(bounds[-1].group(1))
            for number in range(first, last + 1):
                if not 1 <= number <= n_subjects:
                    raise ValueError(f"Subject {number} is out of range: the dataset has subjects 1 to "
                                     f"{n_subjects}.")
                numbers.append(number)
    return sorted(set(numbers))


def parse_runs(runs: Iterable[str | int]) -> list[int]:
    """Run numbers from ``4``, ``04``, ``R04`` or a comma-separated list ``4,8,12``."""
    numbers = []
    for item in runs:
        for part in str(item).split(","):
            part = part.strip().upper().removeprefix("R")
            if not part:
                continue
            if not part.isdigit():
                raise ValueError(f"Run {part!r} is not a run number like 4, 04 or R04 (e.g. --runs 4,8,12).")
            numbers.append(int(part))
    return sorted(set(numbers))


def run_files(name: str, subjects: list[int], runs: list[int]) -> list[tuple[str, str]]:
    """``(relative path, sha256)`` of each file of ``subjects`` x ``runs``; refuses a file the table lacks."""
    download = load_descriptor(name)["download"]
    checksums = published_checksums(download["checksums"])
    files = []
    for subject in subjects:
        for run in runs:
            path = download["subject_runs"].format(subject=subject, run=run)
            if path not in checksums:
                raise ValueError(f"{name} has no file {path} in its published checksums ({download['checksums']}): "
                                 f"check the subject and --runs.")
            files.append((path, checksums[path]))
    return files


def fetch_subject_runs(name: str, subjects: Iterable[str | int] = (), runs: Iterable[str | int] = (),
                       data_dir: str | Path | None = None, *, base_url: str | None = None,
                       progress: bool = True) -> Path:
    """Download the files of some subjects and runs of a dataset, each checked against its published SHA-256.

    Parameters
    ----------
    name : str
        A dataset whose descriptor's ``download`` has ``subject_runs`` (e.g. ``'eegmmidb'``).
    subjects : iterable of str | int
        Subject numbers (``1``, ``S001``, ranges ``1-12``); default all ``n_subjects``.
    runs : iterable of str | int
        Run numbers; default the descriptor's ``runs`` (eegmmidb: 4, 8, 12).
    data_dir : str | Path, optional
        Destination; default ``$EEG_GNN_DATA/<directory>``.
    base_url : str, optional
        A mirror (or a local server in tests) instead of the descriptor's.
    progress : bool

    Returns
    -------
    Path
        The dataset folder. Files already there are checked, not downloaded again.

    Raises
    ------
    eeg_gnn.data.download.IntegrityError
        A downloaded file's SHA-256 differs from the published one (it is discarded).
    eeg_gnn.data.download.DestinationExistsError
        A file already in the folder differs from the published one (it is left for the user to delete).
    """
    descriptor = load_descriptor(name)
    download = descriptor["download"]
    numbers = parse_subjects(list(subjects) or [f"1-{download['n_subjects']}"], download["n_subjects"])
    run_numbers = parse_runs(list(runs) or descriptor.get("runs", []))
    if not run_numbers:
        raise ValueError(f"Name the runs of {name} to download with --runs (e.g. --runs 4,8,12).")
    folder = dataset_dir(name, data_dir)
    base = (base_url or download["base_url"]).rstrip("/") + "/"
    files = run_files(name, numbers, run_numbers)
    for path, digest in tqdm(files, desc=f"{name}: files", unit="file", disable=not progress or len(files) < 2):
        download_file(base + path, folder / path, sha256=digest, progress=False)
    return folder
