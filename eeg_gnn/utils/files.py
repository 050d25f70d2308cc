"""Writing files so that a reader never sees half of one: the one atomic writer every module uses.

A file is written to a hidden temporary name beside its destination, flushed to disk, then moved into place. Without
``overwrite`` the move never replaces an existing file, not even one created while the write ran (a hard link is
atomic and fails on an existing name; file systems without hard links fall back to check-then-rename). The temporary
file is removed whatever happens, and a full disk or an unwritable folder becomes one ``OSError`` naming the path.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str, record: str) -> None:
    """Refuse a file whose SHA-256 is not the one recorded in ``record`` when it was saved.

    Raises
    ------
    ValueError
        One line naming the file and where its hash was recorded.
    """
    if sha256_of(path) != expected:
        raise ValueError(f"{path} is not the file this run saved: its SHA-256 differs from the one in {record} (it "
                         "was replaced or changed after training). Restore it or train again.")


def exists_message(path: Path) -> str:
    return f"{path} already exists; pass overwrite=True to replace it, or choose another name."


def check_destination(path: str | os.PathLike, overwrite: bool) -> Path:
    """Check a destination before any work is done: not a folder, not an existing file unless ``overwrite``."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name.")
    if not overwrite and path.exists():
        raise FileExistsError(exists_message(path))
    return path


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); skipped where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temporary_path(path: Path) -> Path:
    """A new hidden name beside ``path`` for writing it."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")


def commit(temp: Path, path: Path, *, overwrite: bool) -> None:
    """Move a finished temporary file to ``path``; without ``overwrite`` never replace an existing file."""
    if overwrite:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)
    except FileExistsError:
        raise FileExistsError(exists_message(path)) from None
    except OSError:
        if path.exists():
            raise FileExistsError(exists_message(path)) from None
        os.replace(temp, path)
    else:
        temp.unlink()


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None], *, overwrite: bool = True) -> Path:
    """Call ``write(temp)`` on a temporary file beside ``path``, then move it to ``path``.

    Parameters
    ----------
    path : path-like
        The destination; its folder is created.
    write : callable
        Writes the content to the path it is given (a file that does not exist yet).
    overwrite : bool
        Replace an existing file; if False, an existing file raises ``FileExistsError``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        The folder cannot be written or the disk is full: the message names the path, and nothing is left behind.
    """
    path = check_destination(path, overwrite)
    temp = temporary_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temp)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        commit(temp, path, overwrite=overwrite)
    except OSError as exc:
        if isinstance(exc, (FileExistsError, IsADirectoryError)) or exc.errno not in _DISK_ERRORS:
            raise
        raise OSError(exc.errno, f"Could not write {path}: {_DISK_ERRORS[exc.errno]} ({exc.strerror}); nothing "
                                 "was left half-written. Free some space or choose another folder.") from exc
    finally:
        temp.unlink(missing_ok=True)
    return path


_DISK_ERRORS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
                errno.EACCES: "permission denied", errno.EROFS: "the file system is read-only",
                errno.EPERM: "operation not permitted"}


def write_text_atomic(path: str | os.PathLike, text: str, *, overwrite: bool = True) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically (see :func:`atomic_write`)."""

    def write(temp: Path) -> None:
        with open(temp, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)

    return atomic_write(path, write, overwrite=overwrite)


def json_default(value: Any) -> Any:
    """JSON for the NumPy scalars, arrays, tuples and paths that results hold."""
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (np.ndarray, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Cannot save {type(value).__name__} to JSON.")


def write_json_atomic(path: str | os.PathLike, payload: Any, *, overwrite: bool = True) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(payload, indent=2, default=json_default) + "\n", overwrite=overwrite)
