"""The emotion datasets SEED and DEAP: readers for their container files, recording lists, and SEED's
within-subject protocol.

SEED (Zheng & Lu 2015), ``Preprocessed_EEG/``
    ``label.mat`` holds ``label`` (1 x 15, values -1/0/1 = negative/neutral/positive, one per film clip, the
    same for every session). Each of the 45 files ``<subject>_<yyyymmdd>.mat`` (15 subjects x 3 sessions; the
    subject part is a number in the public release, a name in some copies: any token without ``_`` is accepted)
    holds 15 arrays ``<initials>_eeg1`` .. ``<initials>_eeg15``, one per clip, each 62 channels x n_times at
    200 Hz in the published channel order (:data:`SEED_CHANNELS`). The values are taken as **microvolts**: the
    dataset's documentation gives no unit, and the amplitudes (tens of units) are those of scalp EEG in µV.
    One clip is one :class:`~eeg_gnn.data.datasets.Recording`, with

    * ``subject``: the part of the file name before ``_``;
    * ``recording_id``: ``"<file name>#<key>"``, e.g. ``"1_20131027.mat#ww_eeg3"`` (the date is the session, the
      number after ``_eeg`` the clip; :func:`parse_seed_recording_id` splits it);
    * ``read_kwargs``: ``{"key": "<initials>_eeg<k>"}``.

    The dataset folder (``--data-dir``, default ``$EEG_GNN_DATA/seed``) is the one that *contains*
    ``Preprocessed_EEG/``, as the download unpacks; a folder that holds ``label.mat`` itself is accepted too.
    CB1 and CB2 (cerebellar sites, outside the 10-10 system) have no position and are never nodes.

DEAP (Koelstra et al. 2012), ``data_preprocessed_python/``
    ``s01.dat`` .. ``s32.dat`` are Python pickles (unpickled with ``encoding='latin1'`` and an unpickler that
    accepts nothing but NumPy arrays) of a dict with ``data`` (40 trials x 40 channels x 8,064 samples at 128 Hz:
    3 s pre-trial baseline + 60 s of music video) and ``labels`` (40 trials x 4 ratings on 1-9: valence, arousal,
    dominance, liking). The first 32 channels are EEG (:data:`DEAP_EEG_CHANNELS`); channels 33-40 are peripheral
    signals and are left out. The readers drop the **3 s pre-trial baseline** (the first 384 samples), so a
    trial is the 60 s of stimulus. Values are taken as **microvolts** (the EEG was re-referenced and filtered
    4-45 Hz by the authors; they give no unit, the amplitudes are those of µV). One trial is one Recording:
    ``subject`` ``"sXX"``, ``recording_id`` ``"sXX.dat#trial<t>"`` and ``read_kwargs`` ``{"trial": t}`` with
    ``t`` counted from 0 (0-39, the index into ``data``). Its label is ``"high"`` when the rating named by the
    descriptor's ``rating`` key is **above** the threshold (descriptor key ``threshold``, default 5) and
    ``"low"`` otherwise: a rating of exactly 5 is low (papers differ on ties; this follows ``> 5`` = high).
    The dataset folder is the one that contains ``data_preprocessed_python/`` (or holds the ``.dat`` files).
    Listing the recordings unpickles every file (about 100 MB each) to read its ratings; nothing is written next
    to the data. The most recently loaded file is kept in memory, so reading its 40 trials one after another
    unpickles it once.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mne
import numpy as np

from eeg_gnn.data.datasets import Recording, register_layout
from eeg_gnn.evaluation.splitters import (
    Fold,
    GroupSplitter,
    Protocol,
    check_no_leakage,
    register_protocol,
)
from eeg_gnn.signal.io import MICROVOLT, _raw_array, register_reader
from eeg_gnn.utils.validation import check_option

SEED_CHANNELS = (
    "FP1", "FPZ", "FP2", "AF3", "AF4", "F7", "F5", "F3", "F1", "FZ", "F2", "F4", "F6", "F8", "FT7", "FC5", "FC3",
    "FC1", "FCZ", "FC2", "FC4", "FC6", "FT8", "T7", "C5", "C3", "C1", "CZ", "C2", "C4", "C6", "T8", "TP7", "CP5",
    "CP3", "CP1", "CPZ", "CP2", "CP4", "CP6", "TP8", "P7", "P5", "P3", "P1", "PZ", "P2", "P4", "P6", "P8", "PO7",
    "PO5", "PO3", "POZ", "PO4", "PO6", "PO8", "CB1", "O1", "OZ", "O2", "CB2",
)
SEED_SFREQ = 200.0
SEED_N_CLIPS = 15
SEED_LABELS = {-1: "negative", 0: "neutral", 1: "positive"}
SEED_FOLDER = "Preprocessed_EEG"
SEED_LABEL_FILE = "label.mat"
SEED_TRAIN_CLIPS = 9
_SEED_FILE = re.compile(r"^(?P<subject>[A-Za-z0-9]+)_(?P<date>\d{8})\.mat$")
_SEED_KEY = re.compile(r"^(?P<initials>[A-Za-z0-9]+)_eeg(?P<clip>\d+)$")

DEAP_EEG_CHANNELS = (
    "FP1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1", "OZ", "PZ", "FP2",
    "AF4", "FZ", "F4", "F8", "FC6", "FC2", "CZ", "C4", "T8", "CP6", "CP2", "P4", "P8", "PO4", "O2",
)
DEAP_SFREQ = 128.0
DEAP_N_TRIALS = 40
DEAP_N_CHANNELS = 40
DEAP_N_TIMES = 8064
DEAP_BASELINE_S = 3.0
DEAP_BASELINE_SAMPLES = int(DEAP_BASELINE_S * DEAP_SFREQ)  # 384
DEAP_RATINGS = ("valence", "arousal", "dominance", "liking")
DEAP_RATING_RANGE = (1.0, 9.0)
DEAP_THRESHOLD = 5.0
DEAP_FOLDER = "data_preprocessed_python"
_DEAP_FILE = re.compile(r"^s(?P<number>\d+)\.dat$")


# ------------------------------------------------------------------------------------------------ SEED


def read_seed_clip(path: str | Path, key: str | None) -> mne.io.RawArray:
    """Read one film clip of a SEED ``Preprocessed_EEG/<subject>_<date>.mat`` file.

    Parameters
    ----------
    path : str | Path
        The MATLAB file.
    key : str
        The variable holding the clip, ``'<initials>_eeg<k>'`` (e.g. ``'ww_eeg1'``).

    Returns
    -------
    mne.io.RawArray
        Preloaded, 62 EEG channels named as published (:data:`SEED_CHANNELS`, CB1/CB2 included), 200 Hz, volts
        (the file's values are taken as microvolts).

    Raises
    ------
    ValueError
        No key given, the key is absent (the message lists the clips the file has), the array is not
        62 x n_times numbers, or it holds NaN/infinite values.
    """
    import scipy.io

    path = Path(path)
    if key is None:
        raise ValueError(f"{path} holds one SEED clip per variable: pass key=<variable> (clips in the file: "
                         f"{', '.join(_clip_names(path)) or 'none'}).")
    try:
        variables = scipy.io.loadmat(path, variable_names=[key])
    except NotImplementedError as exc:  # MATLAB v7.3 (HDF5)
        raise ValueError(f"{path} is a MATLAB v7.3 file; SEED files are MATLAB v5: save it with -v7.") from exc
    except (ValueError, OSError, TypeError) as exc:
        raise ValueError(f"{path} is not a readable MATLAB file: {exc}") from exc
    if key not in variables:
        raise ValueError(f"{path} has no variable {key!r}; its clips are "
                         f"{', '.join(_clip_names(path)) or 'none (no <initials>_eegN variable)'}.")
    data = np.asarray(variables[key])
    if data.ndim != 2 or data.shape[0] != len(SEED_CHANNELS) or data.shape[1] == 0:
        raise ValueError(f"{path}: variable {key!r} has shape {data.shape}; a SEED clip is "
                         f"{len(SEED_CHANNELS)} channels x n_times.")
    if not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise ValueError(f"{path}: variable {key!r} holds {data.dtype} values, not real numbers.")
    data = data.astype(np.float64) * MICROVOLT
    _check_finite_array(data, SEED_CHANNELS, f"{path} ({key})")
    info = mne.create_info(list(SEED_CHANNELS), SEED_SFREQ, ch_types="eeg")
    return _raw_array(data, info, path)


def _clip_names(path: Path) -> list[str]:
    """The variables of a MATLAB file that look like SEED clips, in clip order."""
    import scipy.io

    try:
        names = [name for name, _, _ in scipy.io.whosmat(path)]
    except (ValueError, OSError, TypeError, NotImplementedError):
        return []
    clips = [(int(m["clip"]), name) for name in names if (m := _SEED_KEY.match(name))]
    return [name for _, name in sorted(clips)]


def _check_finite_array(data: np.ndarray, ch_names: Sequence[str], source: str) -> None:
    finite = np.isfinite(data).all(axis=1)
    if not finite.all():
        bad = [ch_names[i] for i in np.flatnonzero(~finite)]
        raise ValueError(f"{source} has NaN or infinite samples in channels {', '.join(bad)}.")


def read_seed_labels(path: str | Path) -> list[str]:
    """The class of each of the 15 clips from SEED's ``label.mat`` (key ``label``, 1 x 15, values -1/0/1).

    Returns
    -------
    list of str, length 15
        ``'negative'``, ``'neutral'`` or ``'positive'`` for clips 1..15.
    """
    import scipy.io

    path = Path(path)
    try:
        variables = scipy.io.loadmat(path, variable_names=["label"])
    except (ValueError, OSError, TypeError, NotImplementedError) as exc:
        raise ValueError(f"{path} is not a readable MATLAB file: {exc}") from exc
    if "label" not in variables:
        present = [name for name, _, _ in scipy.io.whosmat(path)]
        raise ValueError(f"{path} has no variable 'label' (it has {present}).")
    values = np.asarray(variables["label"])
    if values.size != SEED_N_CLIPS or not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"{path}: 'label' has shape {values.shape} ({values.dtype}); SEED's is 1 x {SEED_N_CLIPS} "
                         "numbers.")
    values = values.ravel()
    bad = [f"clip {i + 1}: {v:g}" for i, v in enumerate(values) if v not in SEED_LABELS]
    if bad:
        raise ValueError(f"{path}: labels must be -1, 0 or 1 (negative, neutral, positive); got {', '.join(bad)}.")
    return [SEED_LABELS[int(v)] for v in values]


def seed_clip_keys(path: str | Path) -> list[str]:
    """The 15 clip variables of a SEED subject file, ``<initials>_eeg1`` .. ``<initials>_eeg15``, in clip order.

    Reads only the file's variable directory (``scipy.io.whosmat``), not the data.

    Raises
    ------
    ValueError
        The file is unreadable, its clips do not share one prefix, clips 1..15 are not all there, or a clip
        is not 62 x n_times.
    """
    import scipy.io

    path = Path(path)
    try:
        directory = scipy.io.whosmat(path)
    except NotImplementedError as exc:
        raise ValueError(f"{path} is a MATLAB v7.3 file; SEED files are MATLAB v5: save it with -v7.") from exc
    except (ValueError, OSError, TypeError) as exc:
        raise ValueError(f"{path} is not a readable MATLAB file: {exc}") from exc
    clips: dict[int, tuple[str, tuple]] = {}
    prefixes = set()
    for name, shape, _ in directory:
        match = _SEED_KEY.match(name)
        if match is None:
            continue
        prefixes.add(match["initials"])
        clips[int(match["clip"])] = (name, tuple(shape))
    if len(prefixes) > 1:
        raise ValueError(f"{path}: clip variables have several prefixes {sorted(prefixes)}; a SEED file holds one "
                         "subject's clips.")
    wanted = range(1, SEED_N_CLIPS + 1)
    missing = [k for k in wanted if k not in clips]
    extra = sorted(set(clips) - set(wanted))
    if missing or extra:
        raise ValueError(
            f"{path}: a SEED file holds clips 1..{SEED_N_CLIPS} as <initials>_eeg1..<initials>_eeg{SEED_N_CLIPS}; "
            f"missing clips {missing}, unexpected clips {extra} (variables: {[n for n, _, _ in directory]})."
        )
    for name, shape in clips.values():
        if len(shape) != 2 or shape[0] != len(SEED_CHANNELS):
            raise ValueError(f"{path}: variable {name!r} has shape {shape}; a SEED clip is {len(SEED_CHANNELS)} "
                             "channels x n_times.")
    return [clips[k][0] for k in wanted]


def _seed_folder(root: Path) -> Path:
    nested = root / SEED_FOLDER
    return nested if nested.is_dir() else root


def _natural(text: str) -> tuple:
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def list_seed_recordings(descriptor: dict[str, Any], root: str | Path) -> list[Recording]:
    """One :class:`~eeg_gnn.data.datasets.Recording` per film clip of every SEED subject file.

    Parameters
    ----------
    descriptor : dict
        The dataset descriptor (``datasets/seed.json``); its ``classes`` must name SEED's three classes.
    root : str | Path
        The folder that contains ``Preprocessed_EEG/`` (or that folder itself).

    Returns
    -------
    list of Recording
        Sorted by subject, session date and clip; empty when the folder holds no SEED subject file.

    Raises
    ------
    FileNotFoundError
        Subject files are there but ``label.mat`` is not.
    ValueError
        ``label.mat`` or a subject file does not have SEED's structure.
    """
    folder = _seed_folder(Path(root))
    files = [p for p in folder.glob("*.mat") if _SEED_FILE.match(p.name)]
    if not files:
        return []
    label_file = folder / SEED_LABEL_FILE
    if not label_file.is_file():
        raise FileNotFoundError(f"{label_file} is missing: SEED's clip labels come from it (key 'label', 1 x 15).")
    labels = read_seed_labels(label_file)
    unknown = sorted(set(labels) - set(descriptor["classes"]))
    if unknown:
        raise ValueError(f"Labels {unknown} of {label_file} are not among the descriptor's classes "
                         f"{descriptor['classes']}.")
    files.sort(key=lambda p: (_natural(_SEED_FILE.match(p.name)["subject"]), _SEED_FILE.match(p.name)["date"]))
    recordings = []
    for path in files:
        subject = _SEED_FILE.match(path.name)["subject"]
        for clip, key in enumerate(seed_clip_keys(path), start=1):
            recordings.append(Recording(path, subject, labels[clip - 1], f"{path.name}#{key}", {"key": key}))
    return recordings


@dataclass(frozen=True)
class SeedClip:
    """What a SEED recording id says: file, subject, session date, variable and clip number (1-15)."""

    file: str
    subject: str
    date: str
    key: str
    clip: int


def parse_seed_recording_id(recording_id: str) -> SeedClip:
    """Split ``"<subject>_<yyyymmdd>.mat#<initials>_eeg<k>"`` into its parts."""
    file, _, key = str(recording_id).partition("#")
    file_match, key_match = _SEED_FILE.match(file), _SEED_KEY.match(key)
    if file_match is None or key_match is None:
        raise ValueError(f"{recording_id!r} is not a SEED recording id ('<subject>_<yyyymmdd>.mat#<initials>_eeg<k>').")
    return SeedClip(file, file_match["subject"], file_match["date"], key, int(key_match["clip"]))


def seed_within_subject_groups(recording_ids: Sequence[str], *, n_train_clips: int = SEED_TRAIN_CLIPS) -> np.ndarray:
    """Group of each window (or recording) for SEED's within-subject protocol.

    Within each subject and session, clips 1..``n_train_clips`` (9 in the published protocol) are for training
    and the rest (clips 10-15) for testing. Sessions are numbered 1, 2, 3 by date within each subject.

    Parameters
    ----------
    recording_ids : sequence of str, length n
        SEED recording ids (``Samples.recordings`` holds one per window).
    n_train_clips : int

    Returns
    -------
    ndarray of str, shape (n,)
        ``'<subject>|session<s>|train'`` or ``'<subject>|session<s>|test'``.
    """
    if not 1 <= n_train_clips < SEED_N_CLIPS:
        raise ValueError(f"'n_train_clips' must be in 1..{SEED_N_CLIPS - 1}, got {n_train_clips!r}.")
    ids = np.asarray(recording_ids).astype(str)
    parsed = {rid: parse_seed_recording_id(rid) for rid in np.unique(ids)}
    dates: dict[str, set[str]] = {}
    for clip in parsed.values():
        dates.setdefault(clip.subject, set()).add(clip.date)
    session = {(s, d): i for s, ds in dates.items() for i, d in enumerate(sorted(ds), start=1)}
    group_of = {
        rid: f"{c.subject}|session{session[c.subject, c.date]}|{'train' if c.clip <= n_train_clips else 'test'}"
        for rid, c in parsed.items()
    }
    return np.array([group_of[rid] for rid in ids], dtype=str)


def seed_within_subject_folds(groups: Sequence[str], labels: Sequence[int] | None = None) -> list[Fold]:
    """One fold per subject and session: train on its training clips, test on its test clips.

    Parameters
    ----------
    groups : sequence of str, length n
        From :func:`seed_within_subject_groups`.
    labels : sequence of int, length n, optional
        Class of each element; when given, every class a fold tests must be among its training clips.

    Returns
    -------
    list of Fold
        Ordered by subject and session. ``train_subjects``/``test_subjects`` hold the group names; there is no
        validation group (``val_subjects`` is empty: early stopping then watches the training loss, and all nine
        training clips are trained on, as the published protocol does).
    """
    groups = np.asarray(groups).astype(str)
    pairs: dict[tuple[str, str], dict[str, str]] = {}
    for group in np.unique(groups):
        subject, session, role = group.rsplit("|", 2)
        check_option("role", role, ("train", "test"))
        pairs.setdefault((subject, session), {})[role] = group
    folds = []
    order = sorted(pairs, key=lambda p: (_natural(p[0]), _natural(p[1].removeprefix("session"))))
    for index, key in enumerate(order):
        sides = pairs[key]
        if set(sides) != {"train", "test"}:
            raise ValueError(f"Subject {key[0]}, {key[1]} has only {list(sides)} clips; it needs training and test "
                             "clips.")
        if labels is not None:
            labels_array = np.asarray(labels)
            trained = set(labels_array[groups == sides["train"]].tolist())
            untrained = sorted(set(labels_array[groups == sides["test"]].tolist()) - trained)
            if untrained:
                raise ValueError(f"Subject {key[0]}, {key[1]}: its training clips have no window of classes "
                                 f"{untrained} that its test clips have.")
        check_no_leakage((sides["train"],), (), (sides["test"],))
        folds.append(Fold(index, (sides["train"],), (), (sides["test"],)))
    return folds


# ------------------------------------------------------------------------------------------------ DEAP


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists and NumPy arrays only: a pickle can run code, a DEAP file has no reason to."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a DEAP file (NumPy arrays) does not")
        return super().find_class(module, name)


_DEAP_LAST: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # the last file loaded, by (path, size, mtime)


def _load_deap_checked(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with path.open("rb") as stream:
        try:
            content = _ArrayUnpickler(stream, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError,
                ValueError, MemoryError) as exc:
            raise ValueError(f"{path} is not a DEAP preprocessed pickle: {exc}") from exc
    if not isinstance(content, dict):
        raise ValueError(f"{path} holds a {type(content).__name__}; a DEAP file holds a dict with 'data' and 'labels'.")
    missing = [k for k in ("data", "labels") if k not in content]
    if missing:
        raise ValueError(f"{path} has no {' or '.join(repr(k) for k in missing)} key (keys: {sorted(map(str, content))});"
                         " a DEAP file holds 'data' (40 x 40 x 8064) and 'labels' (40 x 4).")
    labels = np.asarray(content["labels"])
    if labels.shape != (DEAP_N_TRIALS, len(DEAP_RATINGS)) or not np.issubdtype(labels.dtype, np.number):
        raise ValueError(f"{path}: 'labels' has shape {labels.shape} ({labels.dtype}); DEAP's is "
                         f"{(DEAP_N_TRIALS, len(DEAP_RATINGS))} numbers ({', '.join(DEAP_RATINGS)}).")
    low, high = DEAP_RATING_RANGE
    outside = ~((labels >= low) & (labels <= high))
    if outside.any():
        trial, rating = np.argwhere(outside)[0]
        raise ValueError(f"{path}: rating {DEAP_RATINGS[rating]} of trial {trial} is {labels[trial, rating]:g}, "
                         f"outside DEAP's {low:g}-{high:g} scale ({int(outside.sum())} such values).")
    data = _deap_data_array(content["data"], path)
    expected = (DEAP_N_TRIALS, DEAP_N_CHANNELS, DEAP_N_TIMES)
    if data.shape != expected:
        raise ValueError(f"{path}: 'data' has shape {data.shape}; DEAP's is {expected} (trials x channels x samples).")
    data.setflags(write=False)
    labels = labels.astype(np.float64)
    labels.setflags(write=False)
    return data, labels


def _deap_data_array(data: Any, path: str) -> np.ndarray:
    """``data`` as one float array; trials stored as a list (or object array) must share one shape."""
    if isinstance(data, np.ndarray) and data.dtype != object:
        if not np.issubdtype(data.dtype, np.number):
            raise ValueError(f"{path}: 'data' holds {data.dtype} values, not numbers.")
        return data
    if not isinstance(data, (list, tuple, np.ndarray)):
        raise ValueError(f"{path}: 'data' is a {type(data).__name__}, not an array of trials.")
    shapes = [np.shape(trial) for trial in data]
    if len(set(shapes)) > 1:
        lengths = sorted({shape[-1] if shape else 0 for shape in shapes})
        raise ValueError(f"{path}: the trials of 'data' have unequal lengths or shapes ({sorted(set(shapes))}; "
                         f"lengths {lengths}); DEAP's trials are {DEAP_N_CHANNELS} x {DEAP_N_TIMES} each.")
    try:
        return np.asarray(np.stack([np.asarray(t, dtype=np.float64) for t in data]))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: 'data' is not numeric trials: {exc}") from exc


def load_deap_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The checked ``data`` and ``labels`` arrays of a DEAP ``sXX.dat`` file (read-only).

    Returns
    -------
    data : ndarray, shape (40, 40, 8064)
        As stored (µV, baseline included).
    labels : ndarray, shape (40, 4)
        Valence, arousal, dominance, liking, on 1-9.
    """
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DEAP_LAST:
        arrays = _load_deap_checked(path)
        _DEAP_LAST.clear()
        _DEAP_LAST[key] = arrays
    return _DEAP_LAST[key]


def read_deap_trial(path: str | Path, trial: int | None) -> mne.io.RawArray:
    """Read the 32 EEG channels of one trial of a DEAP ``data_preprocessed_python/sXX.dat`` file.

    The 3 s pre-trial baseline (first 384 samples) is dropped, leaving the 60 s of the video; the 8 peripheral
    channels are left out.

    Parameters
    ----------
    path : str | Path
    trial : int
        Trial index, 0-39.

    Returns
    -------
    mne.io.RawArray
        Preloaded, 32 EEG channels named as published (:data:`DEAP_EEG_CHANNELS`), 128 Hz, 7,680 samples, volts
        (the file's values are taken as microvolts).

    Raises
    ------
    ValueError
        No or an out-of-range trial, or a file that does not have DEAP's structure (missing key, wrong shape,
        trials of unequal length, ratings outside 1-9).
    """
    path = Path(path)
    if trial is None:
        raise ValueError(f"{path} holds {DEAP_N_TRIALS} DEAP trials: pass trial=<0..{DEAP_N_TRIALS - 1}>.")
    if isinstance(trial, bool) or not isinstance(trial, (int, np.integer)):
        raise TypeError(f"{path}: 'trial' must be a whole number 0..{DEAP_N_TRIALS - 1}, got {trial!r}.")
    if not 0 <= trial < DEAP_N_TRIALS:
        raise ValueError(f"{path}: trial {trial} is out of range; DEAP files hold trials 0..{DEAP_N_TRIALS - 1}.")
    data, _ = load_deap_file(path)
    eeg = data[int(trial), :len(DEAP_EEG_CHANNELS), DEAP_BASELINE_SAMPLES:].astype(np.float64) * MICROVOLT
    _check_finite_array(eeg, DEAP_EEG_CHANNELS, f"{path} (trial {trial})")
    info = mne.create_info(list(DEAP_EEG_CHANNELS), DEAP_SFREQ, ch_types="eeg")
    return _raw_array(eeg, info, path)


def _deap_folder(root: Path) -> Path:
    nested = root / DEAP_FOLDER
    return nested if nested.is_dir() else root


def deap_label(rating: float, threshold: float = DEAP_THRESHOLD) -> str:
    """``'high'`` when ``rating > threshold``, else ``'low'`` (a rating equal to the threshold is low)."""
    return "high" if rating > threshold else "low"


def list_deap_recordings(descriptor: dict[str, Any], root: str | Path) -> list[Recording]:
    """One :class:`~eeg_gnn.data.datasets.Recording` per trial of every DEAP subject file.

    Parameters
    ----------
    descriptor : dict
        The dataset descriptor: ``rating`` (``'valence'``, ``'arousal'``, ``'dominance'`` or ``'liking'``)
        names the rating that labels trials; ``threshold`` (default 5) splits it into ``'low'`` (<= threshold)
        and ``'high'`` (> threshold).
    root : str | Path
        The folder that contains ``data_preprocessed_python/`` (or the ``.dat`` files themselves).

    Returns
    -------
    list of Recording
        Sorted by subject and trial; empty when the folder holds no ``sXX.dat`` file.
    """
    rating = check_option("rating", descriptor.get("rating"), DEAP_RATINGS)
    threshold = float(descriptor.get("threshold", DEAP_THRESHOLD))
    missing_classes = sorted({"low", "high"} - set(descriptor["classes"]))
    if missing_classes:
        raise ValueError(f"A DEAP descriptor's classes must include 'low' and 'high'; {missing_classes} are "
                         f"missing from {descriptor['classes']}.")
    folder = _deap_folder(Path(root))
    files = sorted((p for p in folder.glob("*.dat") if _DEAP_FILE.match(p.name)),
                   key=lambda p: int(_DEAP_FILE.match(p.name)["number"]))
    column = DEAP_RATINGS.index(rating)
    recordings = []
    for path in files:
        _, labels = load_deap_file(path)
        subject = path.stem
        for trial in range(DEAP_N_TRIALS):
            recordings.append(Recording(path, subject, deap_label(float(labels[trial, column]), threshold),
                                        f"{path.name}#trial{trial}", {"trial": trial}))
    return recordings


class SeedWithinSubjectSplit(GroupSplitter):
    """SEED's published within-subject protocol as a scikit-learn cross-validator.

    ``groups`` come from :func:`seed_within_subject_groups`; each fold trains on one subject-session's clips 1-9
    and tests its clips 10-15 (the same folds as :func:`seed_within_subject_folds`).
    """

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        if groups is None:
            raise ValueError("SeedWithinSubjectSplit needs the groups of seed_within_subject_groups().")
        return len(seed_within_subject_folds(groups))

    def _split_groups(self, X, y, groups):
        for fold in seed_within_subject_folds(groups, y):
            yield np.flatnonzero(np.isin(groups, fold.train_subjects)), np.flatnonzero(np.isin(groups, fold.test_subjects))


def _read_seed_file(path: Path, *, key: str | None = None, trial: int | None = None) -> mne.io.RawArray:
    return read_seed_clip(path, key)


def _read_deap_file(path: Path, *, key: str | None = None, trial: int | None = None) -> mne.io.RawArray:
    return read_deap_trial(path, trial)


register_reader(".mat", _read_seed_file, "SEED preprocessed MATLAB file (one clip per key)")
register_reader(".dat", _read_deap_file, "DEAP preprocessed pickle (one trial)")
register_layout("seed", list_seed_recordings)
register_layout("deap", list_deap_recordings)
register_protocol(Protocol(
    name="within-subject", dataset="seed", make_groups=seed_within_subject_groups,
    make_folds=seed_within_subject_folds,
    description="{n_folds} within-subject folds (each subject and session, clips 1-9 train, 10-15 test)",
    caveat="every test subject was also trained on (other clips), so it says nothing about new subjects",
))
