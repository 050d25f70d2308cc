"""What a recording file is and what its header promises, read without MNE, so that a damaged file fails in one line.

Two checks run before a reader sees a file:

* :func:`sniff_format` names the format from the file's first bytes, so that a file with the wrong extension (an
  EDF renamed ``.bdf``) is read as what it is, or refused saying what it is.
* :func:`read_edf_header` and :func:`check_edf_size` read an EDF/BDF header: a 256-byte fixed part, 256 bytes per
  signal, then ``n_records`` data records of ``sum(samples_per_record) * bytes_per_sample`` bytes each (2 bytes per
  sample for EDF, 3 for BDF). The header thus declares the file's size: a shorter file was cut (a failed copy or
  download), and a header whose sizes do not add up is damaged. :func:`check_edf_layout` uses EDF+'s time stamp
  at the start of every record to check the records sit where the header puts them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from eeg_gnn.utils.validation import check_option

FIXED_BYTES = 256
SIGNAL_BYTES = 256
SIGNAL_FIELDS = (("label", 16), ("transducer", 80), ("physical_dimension", 8), ("physical_min", 8),
                 ("physical_max", 8), ("digital_min", 8), ("digital_max", 8), ("prefiltering", 80),
                 ("samples_per_record", 8), ("reserved", 32))
EDF_MAGIC = {b"0       ": "EDF", b"\xffBIOSEMI": "BDF"}
BYTES_PER_SAMPLE = {"EDF": 2, "BDF": 3}
ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")
ON_TRUNCATED = ("raise", "warn")
#: The sampling rates, in Hz, an EEG recording's fastest signal can plausibly have.
PLAUSIBLE_SFREQ = (1.0, 100_000.0)
#: (first bytes, format name, the extension eeg-gnn reads it under, or None when it reads no such file)
SIGNATURES = (
    (b"0       ", "EDF", ".edf"),
    (b"\xffBIOSEMI", "BDF", ".bdf"),
    (b"GDF", "GDF", ".gdf"),
    (b"\x00\x00\x00\x64\x00\x00\x00\x1f\x00\x00\x00\x14", "FIF", ".fif"),
    (b"Version 3.", "Neuroscan CNT", ".cnt"),
    (b"Brain Vision Data Exchange Header", "BrainVision header", ".vhdr"),
    (b"BrainVision Data Exchange Header", "BrainVision header", ".vhdr"),
    (b"MATLAB 5.0 MAT-file", "MATLAB file", None),
    (b"\x89HDF\r\n\x1a\n", "HDF5 (MATLAB v7.3) file", None),
    (b"PK\x03\x04", "zip archive", None),
    (b"\x1f\x8b", "gzip archive", None),
)


class HeaderError(ValueError):
    """A header is damaged or contradicts its file; the message is one line naming the file."""


@dataclass(frozen=True)
class EdfHeader:
    """The fields of an EDF/BDF header that fix the layout of its data.

    Attributes
    ----------
    kind : 'EDF' | 'BDF'
    header_bytes : int
    n_records : int
        As declared; -1 means unknown (allowed while recording): the file's size then gives it.
    record_duration : float
        Seconds per data record.
    labels : tuple of str, length n_signals
    samples_per_record : tuple of int, length n_signals
    digital_min, digital_max, physical_min, physical_max : tuple of float, length n_signals
    file_bytes : int
        The file's size on disk.
    plus : bool
        EDF+/BDF+: every data record starts its annotation signal with a time stamp.
    """

    kind: str
    header_bytes: int
    n_records: int
    record_duration: float
    labels: tuple[str, ...]
    samples_per_record: tuple[int, ...]
    digital_min: tuple[float, ...]
    digital_max: tuple[float, ...]
    physical_min: tuple[float, ...]
    physical_max: tuple[float, ...]
    file_bytes: int
    plus: bool = False

    @property
    def record_bytes(self) -> int:
        return sum(self.samples_per_record) * BYTES_PER_SAMPLE[self.kind]

    @property
    def declared_bytes(self) -> int | None:
        """The file size the header declares (None when it does not give the number of records)."""
        if self.n_records < 0:
            return None
        return self.header_bytes + self.n_records * self.record_bytes

    @property
    def complete_records(self) -> int:
        """Data records the file holds in full."""
        return max(0, (self.file_bytes - self.header_bytes) // self.record_bytes)

    @property
    def records_read(self) -> int:
        """Records a reader takes: the declared ones the file holds (all of them if the count is unknown)."""
        if self.n_records < 0:
            return self.complete_records
        return min(self.n_records, self.complete_records)


def sniff_format(path: str | Path) -> tuple[str, str | None] | None:
    """The format a file's first bytes announce, as ``(name, extension)``, or None when they match no signature."""
    with Path(path).open("rb") as stream:
        head = stream.read(64)
    for magic, name, suffix in SIGNATURES:
        if head.startswith(magic):
            return name, suffix
    if b"\n" in head and all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head):
        return "text file", None
    return None


def _number(text: bytes, what: str, path: Path, *, integer: bool) -> float:
    value = text.decode("ascii", errors="replace").strip()
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        raise HeaderError(f"{path}: its header's {what} field holds {value!r}, not a number: the header is "
                          "damaged.") from None
    if not math.isfinite(number):
        raise HeaderError(f"{path}: its header's {what} field holds {value!r}: the header is damaged.")
    return number


def read_edf_header(path: str | Path) -> EdfHeader:
    """Parse the header of an EDF/BDF file and check that it agrees with itself.

    Parameters
    ----------
    path : str | Path

    Returns
    -------
    EdfHeader

    Raises
    ------
    HeaderError
        The file is not EDF/BDF, its header is cut or damaged, or a signal cannot be scaled to physical units.
    """
    path = Path(path)
    file_bytes = path.stat().st_size
    with path.open("rb") as stream:
        fixed = stream.read(FIXED_BYTES)
        if len(fixed) < FIXED_BYTES:
            raise HeaderError(f"{path} holds {file_bytes} bytes, fewer than the {FIXED_BYTES} of an EDF/BDF "
                              "header: the file is cut or empty.")
        kind = EDF_MAGIC.get(fixed[:8])
        if kind is None:
            raise HeaderError(f"{path} does not start like an EDF or BDF file (its first bytes are "
                              f"{fixed[:8]!r}).")
        n_signals = int(_number(fixed[252:256], "number of signals", path, integer=True))
        if n_signals < 1:
            raise HeaderError(f"{path}: its header declares {n_signals} signals.")
        header_bytes = int(_number(fixed[184:192], "header size", path, integer=True))
        needed = FIXED_BYTES + SIGNAL_BYTES * n_signals
        if header_bytes != needed:
            raise HeaderError(f"{path}: its header says it is {header_bytes} bytes long, but {n_signals} signals "
                              f"need {needed}: the header is damaged.")
        signals = stream.read(SIGNAL_BYTES * n_signals)
    if len(signals) < SIGNAL_BYTES * n_signals:
        raise HeaderError(f"{path} ends inside its {kind} header ({file_bytes} of {needed} header bytes): the file is "
                          "cut.")
    n_records = int(_number(fixed[236:244], "number of data records", path, integer=True))
    record_duration = _number(fixed[244:252], "record duration", path, integer=False)
    fields, offset = {}, 0
    for name, width in SIGNAL_FIELDS:
        fields[name] = [signals[offset + i * width:offset + (i + 1) * width] for i in range(n_signals)]
        offset += width * n_signals
    labels = tuple(f.decode("latin-1").strip() for f in fields["label"])
    numbers = {}
    for name, integer in (("samples_per_record", True), ("digital_min", True), ("digital_max", True),
                          ("physical_min", False), ("physical_max", False)):
        what = name.replace("_", " ")
        numbers[name] = tuple(_number(f, f"{what} of signal {labels[i]!r}", path, integer=integer)
                              for i, f in enumerate(fields[name]))
    header = EdfHeader(kind, header_bytes, n_records, record_duration, labels, numbers["samples_per_record"],
                       numbers["digital_min"], numbers["digital_max"], numbers["physical_min"],
                       numbers["physical_max"], file_bytes, plus=fixed[192:196] in (b"EDF+", b"BDF+"))
    _check_signals(header, path)
    return header


def _check_signals(header: EdfHeader, path: Path) -> None:
    if header.n_records < -1 or header.n_records == 0:
        raise HeaderError(f"{path}: its header declares {header.n_records} data records, so it holds no signal.")
    annotations_only = all(label in ANNOTATION_LABELS for label in header.labels)
    if header.record_duration < 0 or (header.record_duration == 0 and not annotations_only):
        raise HeaderError(f"{path}: its header gives data records of {header.record_duration:g} s.")
    rates = [n / header.record_duration for n, label in zip(header.samples_per_record, header.labels, strict=True)
             if label not in ANNOTATION_LABELS and header.record_duration > 0]
    if rates and not PLAUSIBLE_SFREQ[0] <= max(rates) <= PLAUSIBLE_SFREQ[1]:
        fastest = header.labels[[n / header.record_duration for n in header.samples_per_record].index(max(rates))]
        raise HeaderError(
            f"{path}: its header's record duration field ({header.record_duration:g} s per data record) gives its "
            f"fastest signal {fastest!r} a sampling rate of {max(rates):.3g} Hz, outside the {PLAUSIBLE_SFREQ[0]:g}-"
            f"{PLAUSIBLE_SFREQ[1]:g} Hz of EEG: the header is damaged.")
    for i, label in enumerate(header.labels):
        if header.samples_per_record[i] < 1:
            raise HeaderError(f"{path}: signal {label!r} has {header.samples_per_record[i]:g} samples per record.")
        if label in ANNOTATION_LABELS:
            continue
        if header.digital_min[i] >= header.digital_max[i]:
            raise HeaderError(
                f"{path}: signal {label!r} has digital minimum {header.digital_min[i]:g} >= maximum "
                f"{header.digital_max[i]:g}, so its samples cannot be scaled to physical units: the header is "
                "damaged."
            )
        if header.physical_min[i] == header.physical_max[i]:
            raise HeaderError(
                f"{path}: signal {label!r} has physical minimum = maximum ({header.physical_min[i]:g}), so every "
                "sample scales to the same value: the header is damaged."
            )


def check_edf_size(header: EdfHeader, path: str | Path, *, on_truncated: str = "raise") -> str | None:
    """Compare the size the header declares with the file's.

    Parameters
    ----------
    header : EdfHeader
    path : str | Path
    on_truncated : 'raise' | 'warn'
        A file shorter than declared: refuse it, or keep the records it holds in full.

    Returns
    -------
    str | None
        A note on what was recovered or ignored, or None when the file is as declared.

    Raises
    ------
    HeaderError
        The file is shorter than declared (``on_truncated='raise'``), or holds not one complete record.
    """
    check_option("on_truncated", on_truncated, ON_TRUNCATED)
    path = Path(path)
    data_bytes = header.file_bytes - header.header_bytes
    complete = header.complete_records
    if complete == 0:
        raise HeaderError(f"{path} holds no complete {header.kind} data record ({data_bytes} bytes after the header; "
                          f"a record is {header.record_bytes}): the file is cut.")
    if header.n_records < 0:
        left = data_bytes - complete * header.record_bytes
        if left:
            return (f"its header does not give the number of data records: the {complete} complete records are "
                    f"read and the {left} bytes after them ignored")
        return None
    declared = header.declared_bytes
    if header.file_bytes < declared:
        have_s, want_s = complete * header.record_duration, header.n_records * header.record_duration
        missing = declared - header.file_bytes
        if on_truncated == "raise":
            raise HeaderError(
                f"{path} is truncated: its {header.kind} header declares {header.n_records} records ({want_s:g} s) but the file "
                f"holds {complete} ({have_s:g} s): {want_s - have_s:g} s ({missing} bytes) are missing. Copy or "
                f"download it again, or pass --on-truncated warn to use the {have_s:g} s it holds."
            )
        return (f"truncated: {have_s:g} of the {want_s:g} s its header declares are read ({missing} bytes "
                "missing; --on-truncated warn)")
    if header.file_bytes > declared:
        return (f"the {header.file_bytes - declared} bytes after the {header.n_records} data records its header "
                "declares are ignored")
    return None


def check_edf_layout(header: EdfHeader, path: str | Path) -> None:
    """Check that the data records follow the header, not a second copy of it, and that the first and last data
    records sit where the header puts them (EDF+/BDF+ only).

    Every EDF+ record starts its annotation signal with a time stamp (``+onset`` or ``-onset``); a header whose
    samples per record or size were changed puts that signal elsewhere, and a reader would take shifted bytes for
    signal.

    Raises
    ------
    HeaderError
        The header is written twice; a record's annotation signal does not start with a time stamp.
    """
    path = Path(path)
    if header.file_bytes >= 2 * header.header_bytes:
        with path.open("rb") as stream:
            first, second = stream.read(header.header_bytes), stream.read(header.header_bytes)
        if first == second:
            raise HeaderError(f"{path}: its {header.kind} header ({header.header_bytes} bytes) is written twice, the "
                              "second copy where the first data record belongs: the file was written wrongly.")
    if not header.plus or header.records_read == 0:
        return
    bytes_per_sample = BYTES_PER_SAMPLE[header.kind]
    offsets = [sum(header.samples_per_record[:i]) * bytes_per_sample
               for i, label in enumerate(header.labels) if label in ANNOTATION_LABELS]
    if not offsets:
        return
    with path.open("rb") as stream:
        for record in sorted({0, header.records_read - 1}):
            stream.seek(header.header_bytes + record * header.record_bytes + offsets[0])
            first = stream.read(1)
            if first not in (b"+", b"-"):
                raise HeaderError(
                    f"{path}: data record {record + 1} does not start where its header puts it (its annotations "
                    f"begin with {first!r}, not a time stamp): the header's sizes do not match the data."
                )
