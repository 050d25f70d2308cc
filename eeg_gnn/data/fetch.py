"""Download a described dataset into its folder and verify what arrived; on first use, download an open dataset
that is not on disk yet (unless told not to: ``--no-download`` or ``EEG_GNN_NO_DOWNLOAD=1``).

Files come from the descriptor's ``download`` section: single ``files`` (one request each) or zip ``archives``
(downloaded, then extracted atomically). Verification uses the SHA-256 where the descriptor has one, else the
file count and, for every recording, that it reads and has the expected sampling rate and number of samples.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path

from tqdm.auto import tqdm

from eeg_gnn.data.datasets import (
    available_datasets,
    dataset_dir,
    has_descriptor,
    how_to_get,
    load_dataset,
    load_descriptor,
)
from eeg_gnn.data.download import ArchiveError, UnreachableError, download_file, extract_zip


def fetch_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    base_url: str | None = None,
    progress: bool = True,
    verify: bool = True,
) -> Path:
    """Download dataset ``name`` (what is not there yet) and verify it.

    Parameters
    ----------
    name : str
        A dataset whose descriptor has a ``download`` section.
    data_dir : str | Path, optional
        Destination folder; default ``$EEG_GNN_DATA/<directory>``.
    base_url : str, optional
        Replaces the descriptor's base URL (a mirror, or a local server in tests).
    progress : bool
        Show progress bars.
    verify : bool
        Read every recording afterwards and compare counts with the descriptor.

    Returns
    -------
    Path
        The dataset folder.
    """
    descriptor = load_descriptor(name)
    folder = dataset_dir(name, data_dir)
    download = descriptor.get("download")
    if not download:
        raise ValueError(f"Dataset {name!r} cannot be downloaded. {how_to_get(name, folder)}")
    base = (base_url or download["base_url"]).rstrip("/") + "/"
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _fetch_into(name, folder, base, download, progress=progress)
    except BaseException:
        _remove_empty(folder / ".downloads")
        if created:
            _remove_empty(folder)
        raise
    if verify:
        verify_dataset(name, folder, progress=progress)
    return folder


def _remove_empty(folder: Path) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def _fetch_into(name: str, folder: Path, base: str, download: dict, *, progress: bool) -> None:
    if "subject_runs" in download:  # one file per subject and run: every subject, the descriptor's runs
        from eeg_gnn.data.physionet_runs import fetch_subject_runs

        fetch_subject_runs(name, data_dir=folder, base_url=base, progress=progress)
    files = download.get("files", [])
    for entry in tqdm(files, desc=f"{name}: files", unit="file", disable=not progress or len(files) < 2):
        download_file(base + entry["name"], folder / entry.get("filename", entry["name"]),
                      sha256=entry.get("sha256"), size=entry.get("size"), progress=progress and len(files) < 2)
    for archive in download.get("archives", []):
        target = folder / archive["extract_to"]
        if (target / ".complete").exists():
            continue
        zip_path = folder / ".downloads" / archive.get("filename", archive["name"])
        download_file(base + archive["name"], zip_path, sha256=archive.get("sha256"), size=archive.get("size"),
                      progress=progress)
        _extract(zip_path, target, expected_members=archive.get("min_files"))


def _extract(zip_path: Path, dest: Path, *, expected_members: int | None) -> None:
    try:
        extract_zip(zip_path, dest, expected_members=expected_members)
    except zlib.error as exc:  # a damaged deflate stream: extract_zip maps only BadZipFile/EOFError
        raise ArchiveError(
            f"{zip_path} is corrupt ({exc}); nothing was written to {dest}. Delete the archive and download it again"
        ) from exc


def verify_dataset(name: str, data_dir: str | Path | None = None, *, progress: bool = True) -> dict:
    """Check a dataset against its descriptor's ``expected`` counts, reading every recording.

    Returns
    -------
    dict
        ``n_subjects``, ``n_recordings`` and per-class subject counts found.

    Raises
    ------
    ValueError
        A count, sampling rate or recording length differs from the descriptor, naming the file.
    """
    dataset = load_dataset(name, data_dir)
    expected = dataset.descriptor.get("expected", {})
    for recording in tqdm(dataset.recordings, desc=f"verify {name}", unit="rec", disable=not progress):
        raw = recording.read()
        if "sfreq" in expected and raw.info["sfreq"] != expected["sfreq"]:
            raise ValueError(f"{recording.path}: sampling rate {raw.info['sfreq']} Hz, expected {expected['sfreq']} Hz.")
        if "n_times" in expected and raw.n_times != expected["n_times"]:
            raise ValueError(f"{recording.path}: {raw.n_times} samples, expected {expected['n_times']}; "
                             "the file may be truncated: delete it and fetch again.")
    found = {
        "n_subjects": len(dataset.subjects),
        "n_recordings": len(dataset.recordings),
        "per_class": {label: c["subjects"] for label, c in dataset.class_counts().items()},
    }
    for key in ("n_subjects", "n_recordings", "per_class"):
        if key in expected and found[key] != expected[key]:
            raise ValueError(
                f"Dataset {name!r} in {dataset.root} has {key} = {found[key]}, expected {expected[key]}. "
                "Some files are missing or extra: fetch again or check the folder."
            )
    return found


NO_DOWNLOAD_ENV = "EEG_GNN_NO_DOWNLOAD"


def download_disabled() -> bool:
    """Whether ``$EEG_GNN_NO_DOWNLOAD`` turns downloads on first use off (``1``, ``true``, ``yes``)."""
    return os.environ.get(NO_DOWNLOAD_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def on_disk(name: str, data_dir: str | Path | None = None) -> bool:
    """Whether dataset ``name`` has its recordings in its folder (and every archive of a fetch finished)."""
    folder = dataset_dir(name, data_dir)
    if not folder.is_dir():
        return False
    archives = load_descriptor(name).get("download", {}).get("archives", [])
    done = [(folder / a["extract_to"] / ".complete").exists() for a in archives]
    if any(done) and not all(done):
        return False  # an interrupted fetch: some archives are missing
    try:
        load_dataset(name, folder)
    except (FileNotFoundError, ValueError):
        return False
    return True


def ensure_dataset(name: str, data_dir: str | Path | None = None, *, download: bool = True,
                   base_url: str | None = None, progress: bool = True) -> Path | None:
    """On first use, download an open dataset that is not on disk, with a line saying so (verified, atomic).

    Datasets that are on disk, need a licence, or are not downloadable are left alone (reading them explains how
    to get them).

    Parameters
    ----------
    name : str
    data_dir : str | Path, optional
        The dataset's folder; default ``$EEG_GNN_DATA/<directory>``.
    download : bool
        False (``--no-download``), or ``$EEG_GNN_NO_DOWNLOAD=1``, refuses to download and says how to.
    base_url : str, optional
        A mirror to download from instead of the dataset's own site.
    progress : bool

    Returns
    -------
    Path | None
        The folder, when it was downloaded now.

    Raises
    ------
    FileNotFoundError
        The dataset is missing and downloading is turned off.
    """
    descriptor = load_descriptor(name)
    if descriptor.get("access", "open") != "open" or "download" not in descriptor or on_disk(name, data_dir):
        return None
    folder = dataset_dir(name, data_dir)
    if folder.exists() and not folder.is_dir():
        return None  # reading it says that --data-dir is a file
    if not download or download_disabled():
        why = "--no-download" if not download else f"{NO_DOWNLOAD_ENV}={os.environ[NO_DOWNLOAD_ENV]}"
        raise FileNotFoundError(
            f"Dataset {name!r} is not in {folder} and downloading on first use is turned off ({why}). Download it "
            f"with `eeg-gnn fetch {name}`, or run without {why.split('=')[0]} to download it now (source: "
            f"{descriptor['source']}; licence: {descriptor['license']})."
        )
    url = base_url or descriptor["download"]["base_url"]
    tqdm.write(f"eeg-gnn: dataset {name!r} is not in {folder}: downloading it from {url} (first use; "
               f"--no-download or {NO_DOWNLOAD_ENV}=1 turns this off). Licence: {descriptor['license']}",
               file=sys.stderr)
    try:
        return fetch_dataset(name, folder, base_url=base_url, progress=progress)
    except UnreachableError as exc:
        raise UnreachableError(f"{exc}. Download it later with `eeg-gnn fetch {name}`, or pass --no-download.") from exc


def dataset_status() -> list[tuple[str, str]]:
    """Every known dataset (but ``folder``) and whether it is on disk: ``(name, status in words)``."""
    rows = []
    for name in available_datasets():
        if not has_descriptor(name):
            continue
        descriptor = load_descriptor(name)
        folder = dataset_dir(name)
        if on_disk(name):
            status = f"on disk in {folder}"
        elif descriptor.get("access", "open") == "open" and "download" in descriptor:
            status = f"not on disk: `eeg-gnn fetch {name}`, or downloaded into {folder} on first use"
        elif descriptor.get("access", "open") == "open":
            command = descriptor.get("patient_download", {}).get("command", f"eeg-gnn fetch {name}")
            status = f"not on disk: `{command}`"
        else:
            status = f"not on disk. {how_to_get(name, folder)}"
        rows.append((name, status))
    return rows
