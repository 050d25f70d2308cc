"""Turn each recording into node features and adjacency per window, cached on disk by everything they depend on.

The cache key hashes the recording (path, size, modification time), the preprocessing, the node set, the feature,
graph and covariance settings, and the source code of every module on the path from file to features, so a change of any of
them never reuses a stale entry. Entries are written atomically. The cache lives in ``$EEG_GNN_CACHE``
(default ``~/.cache/eeg_gnn``) and never next to the data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from glob import escape as glob_escape
from pathlib import Path

import numpy as np

from eeg_gnn import __version__
from eeg_gnn.data.confounds import recording_properties
from eeg_gnn.data.datasets import Dataset, Recording
from eeg_gnn.signal.covariance import COVARIANCE_ESTIMATORS, band_covariance
from eeg_gnn.signal.features import DEFAULT_BANDS, FEATURE_KINDS, band_power, check_bands
from eeg_gnn.signal.graph import CONNECTIVITY_METHODS, check_adjacency, connectivity
from eeg_gnn.signal.preprocessing import Preprocessing, preprocess, rejection_message
from eeg_gnn.signal.quality import LEAVING_OUT, BadChannelsError
from eeg_gnn.utils.files import atomic_write
from eeg_gnn.utils.parallel import Executor
from eeg_gnn.utils.resources import resource_dir
from eeg_gnn.utils.validation import check_option

GRAPH_SCOPES = ("window", "recording")
_SOURCES = ("signal/io.py", "signal/headers.py", "signal/events.py", "signal/montage.py", "signal/preprocessing.py",
            "signal/quality.py", "signal/features.py", "signal/graph.py", "signal/covariance.py", "data/extraction.py",
            "data/emotion.py", "data/confounds.py")
_LIBRARIES = ("mne", "numpy", "scipy", "pyriemann", "scikit-learn")


@dataclass(frozen=True)
class FeatureSpec:
    """What is computed from each window.

    Parameters
    ----------
    kind : 'log_power' | 'relative_power' | 'differential_entropy'
    bands : dict of str to (fmin, fmax)
    connectivity : str | None
        One of ``CONNECTIVITY_METHODS`` to compute a functional adjacency per window, or None.
    connectivity_band : str
        The band (a key of ``bands``) the connectivity is computed in.
    covariance : str | None
        One of ``COVARIANCE_ESTIMATORS`` to compute each window's covariance matrix in every band (see
        :func:`eeg_gnn.signal.covariance.band_covariance`), or None.
    """

    kind: str = "log_power"
    bands: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_BANDS))
    connectivity: str | None = None
    connectivity_band: str = "alpha"
    covariance: str | None = None

    def __post_init__(self) -> None:
        check_option("features", self.kind, FEATURE_KINDS)
        check_bands(self.bands)
        if self.connectivity is not None:
            check_option("graph", self.connectivity, CONNECTIVITY_METHODS)
            check_option("graph_band", self.connectivity_band, list(self.bands))
        if self.covariance is not None:
            check_option("covariance", self.covariance, COVARIANCE_ESTIMATORS)

    def to_dict(self) -> dict:
        spec = asdict(self)
        spec["bands"] = {name: list(edges) for name, edges in self.bands.items()}
        return spec


@dataclass
class RecordingFeatures:
    """Features of one recording.

    Attributes
    ----------
    features : ndarray, shape (n_windows, n_nodes, n_bands)
    adjacency : ndarray, shape (n_windows, n_nodes, n_nodes), or None
    onsets : ndarray, shape (n_windows,)
    node_names : list of str
    n_rejected : int
    covariance : ndarray, shape (n_windows, n_bands, n_nodes, n_nodes), or None
        Band-wise covariance matrices in µV², when the spec asks for them.
    notes : list of str
        What reading the recording recovered or ignored (e.g. a truncated file read as far as it goes).
    bad_channels : dict of str to str
        Bad nodes (flat, saturated, implausible) and why: interpolated, or the reason the recording was dropped.
    dropped : bool
        The recording was left out (``--bad-channels drop-recording`` or ``interpolate-or-drop``) for its bad nodes,
        or because no window of it passed; it has no windows.
    n_clipped : int
        Windows rejected because a node sat at its rail (``--clipping window``).
    clipped_nodes : dict of str to int
        The nodes at their rail, and in how many windows.
    properties : dict
        The recording as read: sampling rate, duration, channel set, amplitude scale (see
        :func:`eeg_gnn.data.confounds.recording_properties`).
    """

    features: np.ndarray
    adjacency: np.ndarray | None
    onsets: np.ndarray
    node_names: list[str]
    n_rejected: int
    covariance: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    bad_channels: dict[str, str] = field(default_factory=dict)
    dropped: bool = False
    n_clipped: int = 0
    clipped_nodes: dict[str, int] = field(default_factory=dict)
    properties: dict = field(default_factory=dict)


def cache_dir() -> Path:
    return Path(os.environ.get("EEG_GNN_CACHE", Path.home() / ".cache" / "eeg_gnn")).expanduser()


@lru_cache(maxsize=1)
def _code_hash() -> str:
    """Hash of everything between a file and its features: our code, the montage tables, library versions."""
    from importlib.metadata import version

    digest = hashlib.sha256(__version__.encode())
    here = Path(__file__).parents[1]
    for name in _SOURCES:
        digest.update((here / name).read_bytes())
    for table in sorted(resource_dir("montages").glob("*.[tj]s*")):
        digest.update(table.read_bytes())
    for library in _LIBRARIES:
        digest.update(f"{library}=={version(library)}".encode())
    return digest.hexdigest()


def _file_fingerprint(path: Path) -> list:
    """Path, size and modification time of a recording and its companion files (``.eeg``/``.vmrk``, ``.fdt``)."""
    files = sorted(path.glob("*")) if path.is_dir() else sorted(path.parent.glob(glob_escape(path.stem) + ".*"))
    return [[str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns] for f in files if f.is_file()]


def recording_payload(recording: Recording, preprocessing: Preprocessing, nodes) -> dict:
    """What every quantity computed from a preprocessed recording depends on."""
    payload = {
        "files": _file_fingerprint(recording.path),
        "read": recording.read_kwargs,
        "preprocessing": preprocessing.to_dict(),
        "nodes": nodes,
        "code": _code_hash(),
    }
    sidecars = recording.sidecars()
    if sidecars:
        payload["sidecars"] = [[str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns] for f in sidecars]
    return payload


def cached_arrays(kind: str, payload: dict, compute: Callable[[], dict[str, np.ndarray]], *,
                  use_cache: bool = True, root: Path | None = None) -> tuple[dict[str, np.ndarray], bool]:
    """Arrays from ``<root>/<kind>/<hash of payload>.npz``, or computed by ``compute`` and stored.

    ``root`` is the cache folder, by default :func:`cache_dir` (``$EEG_GNN_CACHE``); workers on other machines
    are given the one of the process that sends them work, so every worker shares one cache.

    Every entry read is checked: each array is read in full, which checks the CRC-32 the ``.npz`` (a zip file)
    stores for it. An entry that fails (truncated, emptied, garbled) is deleted, recomputed and stored again, with
    one line on stderr saying so. ``use_cache=False`` recomputes without reading and replaces the entry.

    Returns the arrays and whether they came from the cache. Entries are written atomically.
    """
    key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]
    path = (root or cache_dir()) / kind / f"{key}.npz"
    if use_cache and path.is_file():
        stored = read_entry(path)
        if stored is not None:
            return stored, True
    arrays = compute()
    atomic_write(path, lambda temp: _save_npz(temp, arrays))
    return arrays, False


def read_entry(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cache entry, or None after deleting it (and saying so) when it cannot be read in full."""
    try:
        with open(path, "rb") as stream, np.load(stream, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        if not arrays:
            raise ValueError("it holds no arrays")
        return arrays
    except Exception as exc:  # any failure to read an entry means it is damaged: zip, zlib, format, OS errors
        from tqdm.auto import tqdm

        path.unlink(missing_ok=True)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        tqdm.write(f"eeg-gnn: cache entry {path} was damaged ({type(exc).__name__}: {reason[:120]}); deleted it and "
                   "recomputing", file=sys.stderr)
        return None


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "xb") as stream:
        np.savez(stream, **arrays)


def compute_recording(recording: Recording, preprocessing: Preprocessing, nodes, spec: FeatureSpec) -> RecordingFeatures:
    """Read, preprocess and featurise one recording (no cache)."""
    notes: list[str] = []
    raw = recording.read(notes)
    properties = recording_properties(raw)
    try:
        windows = preprocess(raw, preprocessing, nodes)
    except BadChannelsError as exc:
        if preprocessing.bad_channels not in LEAVING_OUT:
            raise
        empty = np.zeros((0, 0, 0), np.float32)
        return RecordingFeatures(empty, None, np.zeros(0), [], 0, None, notes, dict(exc.bad), dropped=True,
                                 properties=properties)
    if windows.n_windows == 0:
        message = rejection_message(recording.path, windows.n_rejected, windows.n_flat, preprocessing,
                                    windows.n_clipped)
        if preprocessing.bad_channels not in LEAVING_OUT:
            raise ValueError(message)
        why = {name: f"at its rail in {n} of {windows.n_rejected} windows" for name, n in windows.clipped_nodes.items()}
        empty = np.zeros((0, 0, 0), np.float32)
        return RecordingFeatures(empty, None, np.zeros(0), [], windows.n_rejected, None,
                                 [*notes, message.split(": ", 1)[-1]], why or {"windows": "none passed"},
                                 dropped=True, n_clipped=windows.n_clipped, clipped_nodes=windows.clipped_nodes,
                                 properties=properties)
    features = band_power(windows.data, windows.sfreq, spec.bands, spec.kind).astype(np.float32)
    adjacency = None
    if spec.connectivity is not None:
        fmin, fmax = spec.bands[spec.connectivity_band]
        adjacency = connectivity(windows.data, windows.sfreq, spec.connectivity, fmin=fmin, fmax=fmax)
        adjacency = check_adjacency(adjacency, len(windows.node_names), name=f"{spec.connectivity} adjacency")
        adjacency = adjacency.astype(np.float32)
    covariance = None
    if spec.covariance is not None:
        covariance = band_covariance(windows.data, windows.sfreq, spec.bands, spec.covariance).astype(np.float32)
    return RecordingFeatures(features, adjacency, windows.onsets, windows.node_names, windows.n_rejected, covariance,
                             notes, dict(windows.bad_channels), n_clipped=windows.n_clipped,
                             clipped_nodes=dict(windows.clipped_nodes), properties=properties)


def load_or_compute(recording: Recording, preprocessing: Preprocessing, nodes, spec: FeatureSpec,
                    *, use_cache: bool = True, cache_root: Path | None = None) -> tuple[RecordingFeatures, bool]:
    """Features of a recording from the cache (``cache_root``, default :func:`cache_dir`), or computed and
    stored. Returns (features, came_from_cache)."""
    def compute() -> dict[str, np.ndarray]:
        result = compute_recording(recording, preprocessing, nodes, spec)
        empty = np.zeros(0, np.float32)
        return {"features": result.features, "onsets": result.onsets, "node_names": np.array(result.node_names),
                "n_rejected": np.array(result.n_rejected), "notes": np.array(result.notes, dtype=str),
                "bad_channels": np.array([f"{k}\t{v}" for k, v in result.bad_channels.items()], dtype=str),
                "dropped": np.array(result.dropped), "n_clipped": np.array(result.n_clipped),
                "clipped_nodes": np.array([f"{k}\t{v}" for k, v in result.clipped_nodes.items()], dtype=str),
                "properties": np.array(json.dumps(result.properties)),
                "adjacency": result.adjacency if result.adjacency is not None else empty,
                "covariance": result.covariance if result.covariance is not None else empty}

    payload = {**recording_payload(recording, preprocessing, nodes), "features": spec.to_dict()}
    stored, hit = cached_arrays("features", payload, compute, use_cache=use_cache, root=cache_root)
    adjacency = stored["adjacency"] if stored["adjacency"].ndim == 3 else None
    covariance = stored["covariance"] if stored["covariance"].ndim == 4 else None
    bad = dict(line.split("\t", 1) for line in stored["bad_channels"].tolist())
    clipped = {name: int(n) for name, n in (line.split("\t", 1) for line in stored["clipped_nodes"].tolist())}
    return RecordingFeatures(stored["features"], adjacency, stored["onsets"], stored["node_names"].tolist(),
                             int(stored["n_rejected"]), covariance, stored["notes"].tolist(), bad,
                             bool(stored["dropped"]), int(stored["n_clipped"]), clipped,
                             json.loads(str(stored["properties"]))), hit


def extract_dataset(dataset: Dataset, preprocessing: Preprocessing, spec: FeatureSpec, *, use_cache: bool = True,
                    progress: bool = True, executor: Executor | None = None) -> tuple[list[RecordingFeatures], int]:
    """Features of every recording of a dataset, in order; returns them and how many came from the cache.

    One task per recording on ``executor`` (default: one after the other, here): each reads its recording,
    computes its features and caches them, so no worker holds more than one raw recording at a time.
    """
    executor = executor or Executor()
    shared = {"preprocessing": preprocessing, "nodes": dataset.nodes, "spec": spec, "use_cache": use_cache,
              "cache_root": cache_dir()}
    mne_logger = logging.getLogger("mne")
    mne_level = mne_logger.level
    if executor.in_threads:
        # every MNE call here passes verbose="error", which sets and restores the logger's level for the whole
        # process: one worker thread's restore would let another's MNE warnings through
        mne_logger.setLevel(logging.ERROR)
    try:
        pairs = executor.map(load_or_compute, dataset.recordings, shared=shared, desc="features", unit="rec",
                             progress=progress)
    finally:
        mne_logger.setLevel(mne_level)
    results = [result for result, _ in pairs]
    cached = sum(hit for _, hit in pairs)
    node_sets = {tuple(r.node_names) for r in results if not r.dropped}
    if len(node_sets) > 1:
        raise ValueError(f"Recordings of {dataset.name} gave different node sets: {sorted(node_sets)}.")
    return results, cached


def data_quality(dataset: Dataset, extracted: list[RecordingFeatures]) -> dict:
    """What reading and cleaning changed, by recording id: saved in ``config.json`` as ``data_quality``.

    Returns
    -------
    dict
        ``{"notes": {recording_id: [note, ...]}, "bad_channels": {recording_id: {"action": "interpolated" |
        "dropped", "channels": {node: why}}}}`` with the recordings that have any (and only the keys that have
        some); empty when none has.
    """
    pairs = list(zip(dataset.recordings, extracted, strict=True))
    quality = {}
    notes = {r.recording_id: list(f.notes) for r, f in pairs if f.notes}
    if notes:
        quality["notes"] = notes
    bad = {r.recording_id: {"action": "dropped" if f.dropped else "interpolated", "channels": dict(f.bad_channels)}
           for r, f in pairs if f.bad_channels}
    if bad:
        quality["bad_channels"] = bad
    clipped = {r.recording_id: {"windows": f.n_clipped, "nodes": dict(f.clipped_nodes)}
               for r, f in pairs if f.n_clipped and not f.dropped}
    if clipped:
        quality["clipped_windows"] = clipped
    return quality


def describe_data_quality(quality: dict, *, limit: int = 10) -> list[str]:
    """The lines of a run's summary that say what :func:`data_quality` recorded (every bad channel; notes up to
    ``limit`` recordings)."""
    lines = []
    bad = quality.get("bad_channels", {})
    for action in ("interpolated", "dropped"):
        mine = {rid: entry["channels"] for rid, entry in bad.items() if entry["action"] == action}
        if not mine:
            continue
        what = ("had bad nodes rebuilt by spherical-spline interpolation" if action == "interpolated" else
                "were left out for bad nodes or for having no clean window")
        lines.append(f"{len(mine)} recordings {what} (--bad-channels; config.json, data_quality):")
        for recording_id, channels in mine.items():
            lines.append(f"  {recording_id}: " + "; ".join(f"{name} {why}" for name, why in channels.items()))
    clipped = quality.get("clipped_windows", {})
    if clipped:
        lines.append(f"{len(clipped)} recordings had windows rejected with a node at its rail (--clipping window; "
                     "config.json, data_quality):")
        for recording_id, entry in clipped.items():
            nodes = ", ".join(f"{name} {n}" for name, n in entry["nodes"].items())
            lines.append(f"  {recording_id}: {entry['windows']} windows ({nodes})")
    for kind, entries in (("subjects listed without a recording", quality.get("subjects_without_recordings")),
                          ("recordings of no listed subject", quality.get("recordings_without_subjects"))):
        if entries:
            lines.append(f"skipped {len(entries)} {kind} (--on-missing warn): {', '.join(entries)}")
    notes = quality.get("notes", {})
    if notes:
        lines.append(f"{len(notes)} recordings were read with a note (config.json, data_quality):")
        for recording_id, texts in list(notes.items())[:limit]:
            lines.append(f"  {recording_id}: {'; '.join(texts)}")
        if len(notes) > limit:
            lines.append(f"  and {len(notes) - limit} more")
    return lines
