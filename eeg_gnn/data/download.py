"""Verified, atomic downloads and archive extraction for public EEG datasets.

Every function here is written so that an interrupted or failed operation never
leaves something at the final destination that looks complete:

* :func:`download_file` streams into a temporary ``.<name>.<random>.part`` file
  next to the destination, checks its size and SHA-256, and only then moves it
  into place with :func:`os.replace`.  On any failure (network error, truncated
  body, checksum mismatch, ``KeyboardInterrupt``) the temporary file is deleted.
* :func:`extract_zip` extracts into a temporary sibling directory, writes a
  ``.complete`` marker, and renames the directory into place.

Errors are subclasses of :class:`OSError` (network and file-system problems,
data that does not match what was expected) or :class:`ValueError` (bad
arguments, unsafe or incomplete archives), and their messages name the URL or
file involved and say what to do next.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from tqdm.auto import tqdm

if TYPE_CHECKING:
    import requests

from eeg_gnn.utils.files import atomic_write

__all__ = [
    "ArchiveError",
    "DestinationExistsError",
    "DownloadError",
    "IntegrityError",
    "COMPLETE_MARKER",
    "default_data_dir",
    "download_file",
    "extract_zip",
    "sha256sum",
]

#: Name of the marker file written inside a directory by :func:`extract_zip`
#: once extraction has finished.
COMPLETE_MARKER = ".complete"

_CHUNK_SIZE = 1 << 16
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


class DownloadError(OSError):
    """A download failed; nothing was written at the destination."""


class UnreachableError(DownloadError):
    """The server could not be reached (no network, or the host is down); nothing was written."""


class IntegrityError(DownloadError):
    """Downloaded data did not have the expected size or SHA-256 checksum."""


class DestinationExistsError(FileExistsError):
    """The destination exists but is not the expected (complete, verified) result."""


class ArchiveError(ValueError):
    """An archive is corrupt, unsafe to extract, or has fewer members than expected."""


def sha256sum(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Compute the SHA-256 checksum of a file.

    Parameters
    ----------
    path : str or path-like
        File to hash.
    chunk_size : int, default 1 MiB
        Number of bytes read at a time.

    Returns
    -------
    str
        Lower-case hexadecimal digest (64 characters).

    Raises
    ------
    ValueError
        If ``chunk_size`` is not a positive integer.
    OSError
        If the file cannot be read.
    """
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def default_data_dir() -> Path:
    """Return the directory in which datasets are stored by default.

    Returns
    -------
    pathlib.Path
        ``$EEG_GNN_DATA`` if that environment variable is set and non-empty
        (``~`` is expanded), otherwise ``~/eeg_gnn_data``.  The directory is
        not created.
    """
    env = os.environ.get("EEG_GNN_DATA", "")
    if env:
        return Path(env).expanduser()
    return Path.home() / "eeg_gnn_data"


def _normalise_sha256(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    if not isinstance(sha256, str):
        raise ValueError(f"sha256 must be a hex string or None, got {type(sha256).__name__}")
    value = sha256.strip().lower()
    if value.startswith("sha256:"):
        value = value[len("sha256:") :]
    if not _SHA256_RE.fullmatch(value):
        raise ValueError(
            f"sha256 must be 64 hexadecimal characters (optionally prefixed with 'sha256:'), "
            f"got {sha256!r}"
        )
    return value


def _check_existing(dest: Path, url: str, sha256: str | None, size: int | None) -> None:
    """Raise :class:`DestinationExistsError` unless existing ``dest`` matches."""
    if not dest.is_file():
        raise DestinationExistsError(
            f"{dest} exists but is not a regular file, so {url} cannot be saved there; "
            f"remove it or choose another destination"
        )
    if size is not None:
        actual_size = dest.stat().st_size
        if actual_size != size:
            raise DestinationExistsError(
                f"{dest} already exists but has {actual_size} bytes, expected {size} "
                f"for {url}; it was left untouched. Delete it and run again to re-download"
            )
    if sha256 is not None:
        actual = sha256sum(dest)
        if actual != sha256:
            raise DestinationExistsError(
                f"{dest} already exists but its SHA-256 is {actual}, expected {sha256} "
                f"for {url}; it was left untouched. Delete it and run again to re-download"
            )


def _content_length(response: requests.Response) -> int | None:
    """Size of the decoded body announced by the server, if it can be trusted."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # Content-Length then counts compressed bytes, not what we write to disk.
        return None
    raw = response.headers.get("Content-Length")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _stream_to(chunks: Iterable[bytes], fh: BinaryIO, hasher: Any, bar: tqdm) -> int:
    """Write ``chunks`` to ``fh``, feeding ``hasher`` and ``bar``; return the byte count."""
    written = 0
    for chunk in chunks:
        if not chunk:
            continue
        fh.write(chunk)
        hasher.update(chunk)
        written += len(chunk)
        bar.update(len(chunk))
    return written


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    size: int | None = None,
    progress: bool = True,
    timeout: float = 60,
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying size and checksum.

    The body is streamed into a temporary file ``.<dest.name>.<random>.part`` in
    the same directory as ``dest``.  Once complete, its size is compared with
    ``size`` (or, if ``size`` is None, with the ``Content-Length`` header when the
    server sent one) and its SHA-256 with ``sha256``; only if everything matches
    is it moved to ``dest`` with :func:`os.replace`.  On any failure, including
    ``KeyboardInterrupt``, the temporary file is removed and ``dest`` is not
    created.

    If ``dest`` already exists it is checked instead of downloaded again: it is
    returned as is when it matches ``sha256`` and ``size`` (whichever are given;
    if neither is given an existing file is accepted unchecked).  A mismatching
    existing file is never overwritten; an error asks the user to delete it.

    Parameters
    ----------
    url : str
        HTTP(S) URL to download.  Redirects are followed.
    dest : str or path-like
        Final path of the file.  Parent directories are created as needed.
    sha256 : str, optional
        Expected SHA-256 as 64 hex characters (case-insensitive, an optional
        ``"sha256:"`` prefix is accepted).
    size : int, optional
        Expected size in bytes.
    progress : bool, default True
        Show a tqdm progress bar.  Even when True, the bar is hidden when the
        output is not a terminal.
    timeout : float, default 60
        Seconds to wait for the connection and for each read from the server
        (not a limit on the total download time).

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    ValueError
        If ``sha256``, ``size`` or ``timeout`` is malformed.
    DestinationExistsError
        If ``dest`` exists but does not match ``sha256``/``size``, or is not a
        regular file.
    DownloadError
        If the connection fails, the server answers with an HTTP error, or the
        body is cut short.
    IntegrityError
        If the downloaded data has the wrong size or checksum (a subclass of
        :class:`DownloadError`).
    """
    expected_sha = _normalise_sha256(sha256)
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ValueError(f"size must be a non-negative integer or None, got {size!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")

    dest = Path(dest)
    if dest.exists():
        _check_existing(dest, url, expected_sha, size)
        return dest

    def write(temp: Path) -> None:
        with open(temp, "xb") as fh:
            _, actual_sha = _fetch(url, dest, fh, expected_size=size, progress=progress, timeout=timeout)
        if expected_sha is not None and actual_sha != expected_sha:
            raise IntegrityError(
                f"checksum mismatch for {dest.name} from {url}: expected {expected_sha}, "
                f"got {actual_sha}; the download was discarded. The file on the server may "
                f"have changed or been corrupted in transit; try again, and if it persists "
                f"check the expected checksum"
            )

    return atomic_write(dest, write)


def _fetch(
    url: str, dest: Path, fh: BinaryIO, *, expected_size: int | None, progress: bool, timeout: float
) -> tuple[int, str]:
    """Stream ``url`` into the open file ``fh``; return (bytes written, sha256)."""
    import requests

    hasher = hashlib.sha256()
    try:
        with (
            requests.Session() as session,
            session.get(
                url,
                stream=True,
                timeout=(timeout, timeout),
                headers={"Accept-Encoding": "identity"},
            ) as response,
        ):
            if response.status_code >= 400:
                hint = (
                    "check that the URL is correct"
                    if response.status_code == 404
                    else "check the URL, or try again later"
                )
                raise DownloadError(
                    f"HTTP {response.status_code} {response.reason or ''}".rstrip()
                    + f" while downloading {url}; {hint}. Nothing was written to {dest}"
                )
            announced = _content_length(response)
            if expected_size is not None and announced is not None and announced != expected_size:
                raise IntegrityError(
                    f"size mismatch for {dest.name} from {url}: expected {expected_size} bytes, "
                    f"the server announces {announced}; the download was discarded. The file on "
                    f"the server may have changed; check the URL and the expected size"
                )
            with tqdm(
                total=announced,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=dest.name,
                disable=None if progress else True,
                leave=False,
            ) as bar:
                written = _stream_to(response.iter_content(_CHUNK_SIZE), fh, hasher, bar)
    except (requests.ConnectionError, requests.Timeout) as exc:
        host = urlsplit(url).hostname or url
        raise UnreachableError(
            f"could not reach {host}: no network? ({type(exc).__name__} while downloading {url}); nothing was "
            f"written to {dest}"
        ) from exc
    except requests.RequestException as exc:
        raise DownloadError(
            f"downloading {url} failed ({type(exc).__name__}: {exc}); the partial download "
            f"was discarded and nothing was written to {dest}. Check your network connection "
            f"and try again"
        ) from exc

    target = expected_size if expected_size is not None else announced
    if target is not None and written != target:
        source = "size argument" if expected_size is not None else "Content-Length header"
        raise IntegrityError(
            f"size mismatch for {dest.name} from {url}: expected {target} bytes (from the "
            f"{source}), received {written}; the download was discarded. Try again, and if "
            f"it persists check the URL and the expected size"
        )
    return written, hasher.hexdigest()


def _unsafe_member_reason(name: str) -> str | None:
    """Why a zip member name would escape the extraction directory, if it would."""
    if not name or "\x00" in name:
        return "an empty or NUL-containing name"
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute():
        return "an absolute path"
    win = PureWindowsPath(name)
    if win.drive or win.is_absolute():
        return "an absolute (drive) path"
    if ".." in re.split(r"[\\/]", name):
        return "a '..' component"
    return None


def extract_zip(
    archive: str | os.PathLike[str],
    dest_dir: str | os.PathLike[str],
    *,
    expected_members: int | None = None,
) -> Path:
    """Extract a zip archive atomically into ``dest_dir``.

    Members are extracted into a temporary sibling directory
    ``<dest_dir.name>.part-<random>``; a marker file ``.complete`` is written
    inside it, and the directory is then renamed to ``dest_dir``.  An
    interrupted extraction therefore never leaves a ``dest_dir`` behind.

    If ``dest_dir`` already exists and contains the marker, it is returned
    without touching the archive (which may even have been deleted).

    Parameters
    ----------
    archive : str or path-like
        Zip file to extract.
    dest_dir : str or path-like
        Directory to create.  Its parent is created if needed.
    expected_members : int, optional
        Minimum number of files (directory entries are not counted) that the
        archive must contain.  Checked before anything is extracted.

    Returns
    -------
    pathlib.Path
        ``dest_dir``.

    Raises
    ------
    ArchiveError
        (a :class:`ValueError`) If the archive is not a valid zip, is corrupt,
        has a member with an absolute path or a ``..`` component (zip-slip), or
        has fewer than ``expected_members`` files.
    ValueError
        If ``expected_members`` is not a non-negative integer.
    DestinationExistsError
        If ``dest_dir`` exists without the ``.complete`` marker (e.g. it was
        created by hand or by an older tool); remove it and try again.
    OSError
        If the archive cannot be read or the files cannot be written.
    """
    if expected_members is not None and (
        not isinstance(expected_members, int)
        or isinstance(expected_members, bool)
        or expected_members < 0
    ):
        raise ValueError(
            f"expected_members must be a non-negative integer or None, got {expected_members!r}"
        )
    archive = Path(archive)
    dest_dir = Path(dest_dir)

    if dest_dir.exists() or dest_dir.is_symlink():
        if (dest_dir / COMPLETE_MARKER).is_file():
            return dest_dir
        raise DestinationExistsError(
            f"{dest_dir} already exists but has no {COMPLETE_MARKER} marker, so it is not a "
            f"finished extraction of {archive}; remove it and run again"
        )

    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise ArchiveError(
            f"{archive} is not a valid zip archive ({exc}); delete it and download it again"
        ) from exc
    with zf:
        infos = zf.infolist()
        for info in infos:
            reason = _unsafe_member_reason(info.filename)
            if reason is not None:
                raise ArchiveError(
                    f"refusing to extract {archive}: member {info.filename!r} has {reason} and "
                    f"would be written outside {dest_dir}. The archive is corrupt or malicious; "
                    f"delete it and obtain it from a trusted source"
                )
        n_files = sum(1 for info in infos if not info.is_dir())
        if expected_members is not None and n_files < expected_members:
            raise ArchiveError(
                f"{archive} contains {n_files} files but at least {expected_members} were "
                f"expected; it is probably truncated or the wrong file. Delete it and "
                f"download it again"
            )

        dest_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest_dir.with_name(f"{dest_dir.name}.part-{secrets.token_hex(6)}")
        # os.mkdir (rather than tempfile.mkdtemp) so permissions follow the umask.
        tmp.mkdir(mode=0o777)
        try:
            try:
                zf.extractall(tmp)
            except (zipfile.BadZipFile, EOFError) as exc:
                raise ArchiveError(
                    f"{archive} is corrupt ({exc}); nothing was written to {dest_dir}. "
                    f"Delete the archive and download it again"
                ) from exc
            (tmp / COMPLETE_MARKER).write_text(
                f"archive: {archive.name}\nfiles: {n_files}\n", encoding="utf-8"
            )
            try:
                os.rename(tmp, dest_dir)
            except OSError:
                if (dest_dir / COMPLETE_MARKER).is_file():
                    # Another process finished the same extraction first.
                    shutil.rmtree(tmp, ignore_errors=True)
                    return dest_dir
                raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dest_dir
