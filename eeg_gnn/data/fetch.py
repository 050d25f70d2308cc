"""Download a described dataset into its folder and verify what arrived.

Files come from the descriptor's ``download`` section: single ``files`` (one request each) or zip ``archives``
(downloaded, then extracted atomically). Verification uses the SHA-256 where the descriptor has one, else the
file count and, for every recording, that it reads and has the expected sampling rate and number of samples.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from tqdm.auto import tqdm

from eeg_gnn.data.datasets import dataset_dir, how_to_get, load_dataset, load_descriptor
from eeg_gnn.data.download import ArchiveError, download_file, extract_zip


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
    folder.mkdir(parents=True, exist_ok=True)
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
    if verify:
        verify_dataset(name, folder, progress=progress)
    return folder


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
