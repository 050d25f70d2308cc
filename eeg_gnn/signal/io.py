"""Read any recording into an ``mne.io.Raw``: the formats MNE reads plus the text formats of public datasets.

Text formats
    * MSU ``.eea``: one value per line, 16 channels stacked one after another (7,680 samples each), 128 Hz, µV.
    * University of Michigan ``chNN.inp`` folders: one integer per line per channel file, 100 Hz, arbitrary units.
    * CSV/TSV: a header row of channel names, one column per channel, one row per sample; the sampling rate
      must be given.

Signals are returned in volts as MNE expects; amplitudes of unknown scale (the ``.inp`` integers) are taken as
microvolts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import mne
import numpy as np

from eeg_gnn.signal.headers import (
    ON_TRUNCATED,
    EdfHeader,
    check_edf_layout,
    check_edf_size,
    read_edf_header,
    sniff_format,
)
from eeg_gnn.utils.validation import check_option, check_positive

MSU_CHANNELS = ("F7", "F3", "F4", "F8", "T3", "C3", "Cz", "C4", "T4", "T5", "P3", "Pz", "P4", "T6", "O1", "O2")
MSU_SFREQ = 128.0
MSU_N_TIMES = 7680
UMICH_CHANNELS = (
    "Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "SP1", "SP2",
    "F7", "F8", "T3", "T4", "T5", "T6", "Fz", "Cz", "Pz",
)
UMICH_SFREQ = 100.0
MICROVOLT = 1e-6
TEXT_UNITS = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6, "nV": 1e-9}

#: The ``mne.io`` reader of each format, by name: ``mne.io`` loads its readers on first use.
_MNE_READERS = {
    ".edf": "read_raw_edf",
    ".bdf": "read_raw_bdf",
    ".gdf": "read_raw_gdf",
    ".vhdr": "read_raw_brainvision",
    ".set": "read_raw_eeglab",
    ".fif": "read_raw_fif",
    ".cnt": "read_raw_cnt",
}
FORMATS = {
    ".edf": "EDF/EDF+", ".bdf": "BDF (BioSemi)", ".gdf": "GDF", ".vhdr": "BrainVision", ".set": "EEGLAB",
    ".fif": "FIF", ".fif.gz": "FIF", ".cnt": "Neuroscan CNT", ".eea": "MSU text (.eea)",
    ".inp": "University of Michigan channel files (chNN.inp)", ".csv": "CSV", ".tsv": "TSV", ".txt": "TSV",
}
_PLUGIN_READERS: dict[str, Callable[..., mne.io.BaseRaw]] = {}


def register_reader(suffix: str, read: Callable[..., mne.io.BaseRaw], description: str) -> None:
    """Let a dataset plug-in read its container files (``eeg_gnn.data`` registers SEED ``.mat`` and DEAP ``.dat``).

    Parameters
    ----------
    suffix : str
        The file extension, lower case with its dot.
    read : callable
        ``read(path, *, key=None, trial=None) -> mne.io.BaseRaw``, the signals in volts.
    description : str
        The format's name in messages and in ``info``.
    """
    FORMATS[suffix] = description
    _PLUGIN_READERS[suffix] = read


def recording_format(path: str | Path) -> str:
    """Name the format of a recording from its path (a ``chNN.inp`` folder counts as one recording)."""
    return FORMATS[_suffix(Path(path))]


def _suffix(path: Path) -> str:
    if path.is_dir():
        if any(path.glob("ch[0-9][0-9].inp")):
            return ".inp"
        raise ValueError(
            f"{path} is a folder without chNN.inp channel files; give the path of one recording file instead."
        )
    name = path.name.lower()
    if name.endswith(".fif.gz"):
        return ".fif.gz"
    suffix = path.suffix.lower()
    for part, header in ((".eeg", ".vhdr"), (".vmrk", ".vhdr"), (".fdt", ".set")):
        if suffix == part and path.with_suffix(header).exists():
            raise ValueError(f"{path} is part of a recording whose header is {path.with_suffix(header)}; read that.")
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"Unknown recording format {suffix or '(no extension)'!r} for {path}. Known: {known}.")
    return suffix


def read_recording(
    path: str | Path,
    *,
    sfreq: float | None = None,
    unit: str = "uV",
    ch_names: Sequence[str] | None = None,
    key: str | None = None,
    trial: int | None = None,
    on_truncated: str = "raise",
    scale: float = 1.0,
    notes: list[str] | None = None,
) -> mne.io.BaseRaw:
    """Read a recording in any supported format, with its data loaded.

    Whatever a reader raises becomes a ValueError whose message is one line naming the file and the problem (the
    reader's exception is chained as its cause). Known recoverable problems are recovered, with a note: EDF+
    annotations in latin-1 instead of UTF-8, and a file whose extension names another format than its content.

    Parameters
    ----------
    path : str | Path
        A recording file, or a folder of ``chNN.inp`` channel files.
    sfreq : float, optional
        Sampling rate in Hz; required for CSV/TSV, which do not store it; ignored otherwise.
    unit : 'V' | 'mV' | 'uV' | 'nV'
        Unit of the values in a CSV/TSV file.
    ch_names : list of str, optional
        Channel names for a CSV/TSV file without a header row.
    key : str, optional
        For a SEED ``.mat`` file: the variable holding one clip (e.g. ``'ww_eeg1'``).
    trial : int, optional
        For a DEAP ``.dat`` file: the trial index (0-39).
    on_truncated : 'raise' | 'warn'
        An EDF/BDF file shorter than its header declares: refuse it, or read the data records it holds (noted).
    scale : float
        Factor applied to every data channel after reading, to correct samples stored in another unit than the
        file says (``1e6`` for volts labelled as microvolts).
    notes : list of str, optional
        Receives a note for every problem recovered (the format read, what was ignored or cut).

    Returns
    -------
    mne.io.BaseRaw
        Preloaded, in volts; ``raw.filenames`` names the source.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    ValueError
        Unknown extension, unreadable, damaged or truncated file, or samples that are NaN or infinite.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"No recording at {path}.")
    check_option("on_truncated", on_truncated, ON_TRUNCATED)
    scale = check_positive("scale", scale)
    notes = [] if notes is None else notes
    suffix = _suffix(path)
    if path.is_file() and suffix in _SNIFFED:
        suffix = _actual_suffix(path, suffix, notes)
    header = None
    if suffix in (".edf", ".bdf"):
        header = read_edf_header(path)
        note = check_edf_size(header, path, on_truncated=on_truncated)
        if note:
            notes.append(note)
        check_edf_layout(header, path)
    try:
        if suffix == ".eea":
            raw = _read_msu_eea(path)
        elif suffix == ".inp":
            raw = _read_umich_inp(path)
        elif suffix in _PLUGIN_READERS:
            raw = _PLUGIN_READERS[suffix](path, key=key, trial=trial)
        elif suffix in (".csv", ".tsv", ".txt"):
            raw = _read_text_table(path, sfreq=sfreq, unit=unit, ch_names=ch_names)
        else:
            raw = _read_with_mne(path, suffix, notes)
    except Exception as exc:
        if isinstance(exc, (ValueError, FileNotFoundError)) and str(path) in str(exc) and "\n" not in str(exc):
            raise
        raise ValueError(f"Could not read {path} as {FORMATS[suffix]}: {_problem(exc)}") from exc
    if header is not None:
        _keep_records(raw, header)
    if scale != 1.0:
        raw.apply_function(lambda data: data * scale, picks="data", channel_wise=False)
        notes.append(f"samples multiplied by {scale:g} (--scale)")
    check_finite(raw, path)
    return raw


#: Formats whose first bytes are checked against the extension (one file each, with a known signature).
_SNIFFED = (".edf", ".bdf", ".gdf", ".fif", ".cnt", ".vhdr")
#: Formats MNE reads from an open file as well as from a path, so a misnamed one can be read as what it is.
_READ_FROM_STREAM = (".edf", ".bdf", ".fif")


def _actual_suffix(path: Path, suffix: str, notes: list[str]) -> str:
    """The extension of the format the file really is; a note when it differs from the file's own."""
    found = sniff_format(path)
    if found is None or found[1] == suffix or (suffix == ".vhdr" and found[0] == "text file"):
        return suffix
    name, actual = found
    said = f"{path} is {_a(name)}, not {FORMATS[suffix]} as its extension says"
    if actual in _READ_FROM_STREAM and suffix in _READ_FROM_STREAM:
        notes.append(f"it is {_a(name)} file despite its {path.suffix} extension: read as {name}")
        return actual
    if actual is not None:
        raise ValueError(f"{said}: rename it to {path.with_suffix(actual).name}.")
    raise ValueError(f"{said}; eeg-gnn does not read such files as recordings.")


def _a(name: str) -> str:
    return ("an " if name.split()[0] in ("EDF", "FIF", "HDF5") else "a ") + name


def _read_with_mne(path: Path, suffix: str, notes: list[str]) -> mne.io.BaseRaw:
    reader = getattr(mne.io, _MNE_READERS[".fif" if suffix == ".fif.gz" else suffix])
    try:
        raw = _call_reader(reader, path, suffix)
    except Exception as exc:
        if suffix not in (".edf", ".bdf") or "encoding='latin1'" not in str(exc):
            raise
        raw = _call_reader(reader, path, suffix, encoding="latin1")
        notes.append("its annotations are latin-1 text, not the UTF-8 EDF+ requires: read as latin-1")
    # messages name the file the user gave (.vhdr, .set), not the data part MNE lists (.eeg, .fdt)
    raw._filenames = [path]
    return raw


def _call_reader(reader: Callable[..., mne.io.BaseRaw], path: Path, suffix: str, **kwargs) -> mne.io.BaseRaw:
    if path.name.lower().endswith(suffix) or suffix not in _READ_FROM_STREAM:
        return reader(path, preload=True, verbose="error", **kwargs)
    with path.open("rb") as stream:  # MNE checks the extension of a path, not of an open file
        return reader(stream, preload=True, verbose="error", **kwargs)


def _keep_records(raw: mne.io.BaseRaw, header: EdfHeader) -> None:
    """Crop to the data records the header declares and the file holds (a reader may take a partial one)."""
    n_times = int(round(header.records_read * header.record_duration * raw.info["sfreq"]))
    if 0 < n_times < raw.n_times:
        raw.crop(tmax=(n_times - 1) / raw.info["sfreq"], include_tmax=True)


#: Messages of MNE's readers that refer to its own parameters, rewritten for users of eeg-gnn.
_KNOWN_PROBLEMS = (
    ("compute number of bytes per sample",
     "MNE cannot tell whether its samples are 16- or 32-bit (its header does not give the number of samples "
     "consistently); the file may be damaged, or be an ANT Neuro CNT, which eeg-gnn does not read"),
)


def _problem(exc: BaseException) -> str:
    """An exception's message on one line, without traceback text or advice about MNE's parameters."""
    text = str(exc)
    for marker, explanation in _KNOWN_PROBLEMS:
        if marker in text:
            return explanation
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or line.startswith("    ") or stripped.startswith(
                ('File "', "Traceback", "raise ", "^", "WARNING:")):
            continue
        kept.append(stripped)
    message = re.sub(r"^\w+(Error|Exception): ", "", " ".join(kept)) or type(exc).__name__
    return message if len(message) <= 300 else message[:297] + "..."


def check_finite(raw: mne.io.BaseRaw, source: str | Path) -> None:
    """Raise a ValueError naming the channels that hold NaN or infinite samples."""
    finite = np.isfinite(raw.get_data())
    if not finite.all():
        bad = [raw.ch_names[i] for i in np.flatnonzero(~finite.all(axis=1))]
        raise ValueError(f"{source} has NaN or infinite samples in channels {', '.join(bad)}.")


def _read_msu_eea(path: Path) -> mne.io.RawArray:
    values = _load_column(path)
    n_channels = len(MSU_CHANNELS)
    if values.size != n_channels * MSU_N_TIMES:
        raise ValueError(
            f"{path} holds {values.size} values; an MSU .eea file holds {n_channels} channels x {MSU_N_TIMES} "
            f"samples = {n_channels * MSU_N_TIMES}. The file may be truncated: download it again."
        )
    data = values.reshape(n_channels, MSU_N_TIMES) * MICROVOLT
    info = mne.create_info(list(MSU_CHANNELS), MSU_SFREQ, ch_types="eeg")
    return _raw_array(data, info, path)


def _read_umich_inp(path: Path) -> mne.io.RawArray:
    folder = path if path.is_dir() else path.parent
    files = sorted(folder.glob("ch[0-9][0-9].inp"))
    columns, names, types = [], [], []
    for file in files:
        number = int(re.search(r"\d+", file.name).group())
        columns.append(_load_column(file))
        documented = number <= len(UMICH_CHANNELS)
        names.append(UMICH_CHANNELS[number - 1] if documented else file.stem)
        types.append("eeg" if documented and not UMICH_CHANNELS[number - 1].startswith("SP") else "misc")
    lengths = {column.size for column in columns}
    if len(lengths) != 1:
        sizes = ", ".join(f"{f.name}: {c.size}" for f, c in zip(files, columns, strict=True))
        raise ValueError(f"The channel files in {folder} differ in length ({sizes}); some are truncated.")
    info = mne.create_info(names, UMICH_SFREQ, ch_types=types)
    return _raw_array(np.vstack(columns) * MICROVOLT, info, folder)


def _read_text_table(
    path: Path, *, sfreq: float | None, unit: str, ch_names: Sequence[str] | None
) -> mne.io.RawArray:
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    with path.open(encoding="utf-8-sig", errors="replace") as stream:
        first = stream.readline().rstrip("\r\n").split(delimiter)
        second = stream.readline().rstrip("\r\n").split(delimiter)
    text = [cell for cell in second if cell.strip() and not _is_number(cell)]
    if text:
        raise ValueError(f"{path} is a table of text ({text[0]!r} in its second line), not a recording: a recording "
                         "in CSV/TSV has one column of numbers per channel (a metadata table such as "
                         "subject-info.csv or participants.csv is not read as one).")
    if sfreq is None:
        raise ValueError(f"{path} does not store its sampling rate: pass sfreq=<Hz> (on the CLI: --sfreq).")
    sfreq = check_positive("sfreq", sfreq)
    check_option("unit", unit, TEXT_UNITS)
    has_header = ch_names is None
    if has_header:
        ch_names = [name.strip() for name in first]
    data = np.loadtxt(path, delimiter=delimiter, skiprows=1 if has_header else 0, ndmin=2).T
    if data.shape[0] != len(ch_names):
        raise ValueError(f"{path} has {data.shape[0]} columns but {len(ch_names)} channel names.")
    info = mne.create_info(list(ch_names), sfreq, ch_types="eeg")
    return _raw_array(data * TEXT_UNITS[unit], info, path)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_column(path: Path) -> np.ndarray:
    try:
        return np.loadtxt(path, dtype=float, ndmin=1)
    except ValueError as exc:
        raise ValueError(f"{path} is not a column of numbers: {exc}") from exc


def _raw_array(data: np.ndarray, info: mne.Info, source: Path) -> mne.io.RawArray:
    raw = mne.io.RawArray(data, info, verbose="error")
    raw._filenames = [source]
    return raw


def source_of(raw: mne.io.BaseRaw) -> str:
    """The file a Raw was read from, for messages."""
    filenames = [f for f in (getattr(raw, "filenames", None) or ()) if f]
    return str(filenames[0]) if filenames else "the recording"
