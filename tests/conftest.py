"""Shared fixtures: where the real recordings are, and a check that nothing is written next to them.

Real data come from ``$EEG_GNN_DATA`` (``eegmat/``, ``formats/``, ``seizure_umich/``). Without it the tests that
need real files are skipped, unless ``EEG_GNN_REQUIRE_DATA=1`` is set (CI), in which case they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def _missing_data(message: str) -> None:
    """Skip, or fail when the data are required (``EEG_GNN_REQUIRE_DATA=1``)."""
    if os.environ.get("EEG_GNN_REQUIRE_DATA", "") == "1":
        pytest.fail(f"{message} (EEG_GNN_REQUIRE_DATA=1, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The folder named by ``$EEG_GNN_DATA``."""
    value = os.environ.get("EEG_GNN_DATA", "")
    if not value:
        _missing_data("EEG_GNN_DATA is not set: point it to the shared data folder to run real-data tests")
    root = Path(value).expanduser()
    if not root.is_dir():
        _missing_data(f"EEG_GNN_DATA={value} is not a folder")
    return root


def _sub(root: Path, name: str) -> Path:
    folder = root / name
    if not folder.is_dir():
        _missing_data(f"{folder} does not exist")
    return folder


@pytest.fixture(scope="session")
def eegmat_dir(data_root: Path) -> Path:
    return _sub(data_root, "eegmat")


@pytest.fixture(scope="session")
def formats_dir(data_root: Path) -> Path:
    return _sub(data_root, "formats")


@pytest.fixture(scope="session")
def umich_dir(data_root: Path) -> Path:
    return _sub(data_root, "seizure_umich")


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` (relative, recursive) with its mtime in ns and its size."""
    result = {}
    for path in sorted(folder.rglob("*")):
        stat = path.stat()
        result[path.relative_to(folder).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return result


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, tuple[int, int]]]:
    """A function returning a folder's listing (names, mtimes, sizes), to compare before and after."""
    return listing


@pytest.fixture
def untouched() -> Iterator[Callable[[Path], Path]]:
    """Register folders with ``untouched(folder)``; after the test, each must list exactly as before."""
    watched: list[tuple[Path, dict[str, tuple[int, int]]]] = []

    def watch(folder: Path) -> Path:
        watched.append((folder, listing(folder)))
        return folder

    yield watch
    for folder, before in watched:
        after = listing(folder)
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        changed = sorted(n for n in set(before) & set(after) if before[n] != after[n])
        assert (added, removed, changed) == ([], [], []), (
            f"{folder} was modified: added {added}, removed {removed}, changed {changed}"
        )
