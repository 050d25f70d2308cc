"""Damaged, truncated, misnamed and unusual recordings: each loads (with a note) or fails in one line naming it."""

from __future__ import annotations

import struct
import zipfile

import mne
import numpy as np
import pytest

from eeg_gnn.cli.main import main
from eeg_gnn.signal.headers import HeaderError, check_edf_size, read_edf_header, sniff_format
from eeg_gnn.signal.io import read_recording

SFREQ = 100.0
N_RECORDS = 10
CH_NAMES = ["Fp1", "Fp2", "Cz"]
LABEL = b"eyes closed"


@pytest.fixture
def edf(tmp_path):
    """An EDF+ file of 10 one-second records, 3 EEG signals at 100 Hz and one annotation ('eyes closed' at 1 s)."""
    rng = np.random.default_rng(0)
    raw = mne.io.RawArray(rng.normal(0, 20e-6, (len(CH_NAMES), int(N_RECORDS * SFREQ))),
                          mne.create_info(CH_NAMES, SFREQ, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([1.0], [0.5], ["eyes closed"]))
    path = tmp_path / "rec.edf"
    raw.export(path, fmt="edf", verbose="error")
    return path


def _signal_field(data: bytearray, field_offset: int, width: int, signal: int, value: bytes) -> None:
    n_signals = int(data[252:256])
    start = 256 + field_offset * n_signals + signal * width
    data[start:start + width] = value.ljust(width)


DIGITAL_MIN = 16 + 80 + 8 + 8 + 8  # label, transducer, dimension, physical min, physical max (bytes per signal)
SAMPLES_PER_RECORD = DIGITAL_MIN + 8 + 8 + 80


def _one_line_error(excinfo, path) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and str(path) in message
    return message


def test_header_gives_the_declared_size(edf):
    header = read_edf_header(edf)
    assert header.kind == "EDF" and header.plus
    assert header.labels == (*CH_NAMES, "EDF Annotations")
    assert header.header_bytes == 256 * 5 and header.n_records == N_RECORDS
    assert header.declared_bytes == edf.stat().st_size
    assert check_edf_size(header, edf) is None


def test_truncated_file_is_refused_saying_how_much_is_missing(edf):
    header = read_edf_header(edf)
    cut = edf.with_name("cut.edf")
    cut.write_bytes(edf.read_bytes()[:header.header_bytes + int(4.5 * header.record_bytes)])
    with pytest.raises(ValueError, match="truncated") as excinfo:
        read_recording(cut)
    message = _one_line_error(excinfo, cut)
    assert "EDF header declares 10 records (10 s) but the file holds 4 (4 s): 6 s" in message
    assert "--on-truncated warn" in message


def test_truncated_file_read_as_far_as_it_goes_with_a_note(edf):
    header = read_edf_header(edf)
    cut = edf.with_name("cut.edf")
    cut.write_bytes(edf.read_bytes()[:header.header_bytes + int(4.5 * header.record_bytes)])
    notes = []
    raw = read_recording(cut, on_truncated="warn", notes=notes)
    full = read_recording(edf)
    assert raw.n_times == 4 * SFREQ
    np.testing.assert_array_equal(raw.get_data(), full.get_data()[:, :400])
    missing = header.declared_bytes - cut.stat().st_size
    assert notes == [f"truncated: 4 of the 10 s its header declares are read ({missing} bytes missing; "
                     "--on-truncated warn)"]


def test_cli_info_on_a_truncated_file(edf, capsys):
    cut = edf.with_name("cut.edf")
    cut.write_bytes(edf.read_bytes()[:-1])
    assert main(["info", str(cut)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "9 s" in err and "--on-truncated warn" in err
    assert main(["info", str(cut), "--on-truncated", "warn"]) == 0
    out = capsys.readouterr().out
    assert "duration:  9.0 s (900 samples)" in out and "note:      truncated: 9 of the 10 s" in out


@pytest.mark.parametrize("digital", [(b"32767", b"32767"), (b"100", b"-100")])
def test_digital_range_that_cannot_be_scaled_is_refused(edf, digital):
    data = bytearray(edf.read_bytes())
    _signal_field(data, DIGITAL_MIN, 8, 1, digital[0])
    _signal_field(data, DIGITAL_MIN + 8, 8, 1, digital[1])
    edf.write_bytes(bytes(data))
    with pytest.raises(HeaderError, match="signal 'Fp2' has digital minimum") as excinfo:
        read_recording(edf)
    _one_line_error(excinfo, edf)


def test_header_size_field_changed_is_refused(edf):
    data = bytearray(edf.read_bytes())
    data[184:192] = b"1024    "
    edf.write_bytes(bytes(data))
    with pytest.raises(HeaderError, match="says it is 1024 bytes long, but 4 signals need 1280") as excinfo:
        read_recording(edf)
    _one_line_error(excinfo, edf)


def test_samples_per_record_changed_is_refused_not_read_shifted(edf):
    data = bytearray(edf.read_bytes())
    _signal_field(data, SAMPLES_PER_RECORD, 8, 0, b"99")
    edf.write_bytes(bytes(data))
    with pytest.raises(HeaderError, match="does not start where its header puts it") as excinfo:
        read_recording(edf)
    _one_line_error(excinfo, edf)


def test_cut_inside_the_signal_header(edf):
    edf.write_bytes(edf.read_bytes()[:700])
    with pytest.raises(HeaderError, match=r"ends inside its EDF header \(700 of 1280 header bytes\)") as excinfo:
        read_recording(edf)
    _one_line_error(excinfo, edf)


def test_latin1_annotations_are_read_with_a_note(edf):
    data = edf.read_bytes()
    assert data.count(LABEL) == 1
    edf.write_bytes(data.replace(LABEL, "yeux fermés".encode("latin-1")))
    notes = []
    raw = read_recording(edf, notes=notes)
    assert list(raw.annotations.description) == ["yeux fermés"]
    assert notes == ["its annotations are latin-1 text, not the UTF-8 EDF+ requires: read as latin-1"]


def test_edf_renamed_bdf_is_read_as_edf(edf):
    renamed = edf.with_suffix(".bdf")
    renamed.write_bytes(edf.read_bytes())
    notes = []
    raw = read_recording(renamed, notes=notes)
    np.testing.assert_array_equal(raw.get_data(), read_recording(edf).get_data())
    assert notes == ["it is an EDF file despite its .bdf extension: read as EDF"]
    assert raw.filenames[0] == renamed


def test_archive_with_a_recording_extension_says_what_it_is(tmp_path):
    path = tmp_path / "rec.edf"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("rec.edf", b"0" * 300)
    assert sniff_format(path) == ("zip archive", None)
    with pytest.raises(ValueError, match="is a zip archive, not EDF/EDF") as excinfo:
        read_recording(path)
    _one_line_error(excinfo, path)


def test_trailing_bytes_are_ignored_with_a_note(edf):
    edf.write_bytes(edf.read_bytes() + bytes(100))
    notes = []
    raw = read_recording(edf, notes=notes)
    assert raw.n_times == N_RECORDS * SFREQ
    assert notes == ["the 100 bytes after the 10 data records its header declares are ignored"]


def _unsized_cnt(path) -> None:
    """A Neuroscan CNT header whose sample count is 0: MNE cannot work out 16- vs 32-bit samples."""
    n_channels = 4
    header = bytearray(900 + 75 * n_channels)
    header[:12] = b"Version 3.0\x00"
    struct.pack_into("<H", header, 370, n_channels)
    struct.pack_into("<H", header, 376, 256)
    body = bytes(n_channels * 256 * 4)
    struct.pack_into("<i", header, 886, len(header) + len(body))
    path.write_bytes(bytes(header) + body)


def test_cnt_that_mne_cannot_size_is_one_line_with_the_cause_chained(tmp_path):
    path = tmp_path / "rec.cnt"
    _unsized_cnt(path)
    with pytest.raises(ValueError, match="cannot tell whether its samples are 16- or 32-bit") as excinfo:
        read_recording(path)
    _one_line_error(excinfo, path)
    assert isinstance(excinfo.value.__cause__, RuntimeError)


@pytest.mark.parametrize("error", [AssertionError(), Exception("Bad\n  File 'x.py'\nthing happened"),
                                   MemoryError(), IndexError("list index out of range")])
def test_any_exception_of_a_reader_becomes_one_line(edf, monkeypatch, error):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(mne.io, "read_raw_edf", broken)
    with pytest.raises(ValueError, match=f"Could not read {edf} as EDF/EDF\\+: ") as excinfo:
        read_recording(edf)
    _one_line_error(excinfo, edf)
    assert excinfo.value.__cause__ is error


def test_scale_corrects_a_unit_mistake(edf):
    notes = []
    scaled = read_recording(edf, scale=1e6, notes=notes)
    np.testing.assert_allclose(scaled.get_data(), read_recording(edf).get_data() * 1e6)
    assert notes == ["samples multiplied by 1e+06 (--scale)"]


def _write_bdf(path, n_records: int = 10, sfreq: int = 64, labels=("Fp1", "Cz"), record_duration: str = "1",
               header_twice: bool = False):
    """A BDF file written by hand: 24-bit samples of a 10 Hz sine, ``n_records`` records of ``record_duration`` s."""
    n = len(labels)

    def fields(values, width):
        return b"".join(str(v).encode().ljust(width) for v in values)

    fixed = (b"\xffBIOSEMI" + b"x".ljust(80) + b"x".ljust(80) + b"01.01.20" + b"00.00.00"
             + str(256 * (n + 1)).encode().ljust(8) + b"24BIT".ljust(44) + str(n_records).encode().ljust(8)
             + record_duration.encode().ljust(8) + str(n).encode().ljust(4))
    signals = (fields(labels, 16) + fields(["AgAgCl"] * n, 80) + fields(["uV"] * n, 8) + fields([-1000] * n, 8)
               + fields([1000] * n, 8) + fields([-8388608] * n, 8) + fields([8388607] * n, 8) + fields([""] * n, 80)
               + fields([sfreq] * n, 8) + fields([""] * n, 32))
    header = fixed + signals
    samples = (np.sin(2 * np.pi * 10 * np.arange(sfreq) / sfreq) * 2e6).astype(np.int32)
    record = b"".join(int(v).to_bytes(3, "little", signed=True) for v in samples) * n
    path.write_bytes(header + (header if header_twice else b"") + record * n_records)
    return path


def test_a_record_duration_that_gives_an_implausible_sampling_rate_is_refused_naming_the_field(tmp_path, edf):
    good = _write_bdf(tmp_path / "good.bdf")
    assert read_recording(good).info["sfreq"] == 64
    data = bytearray(edf.read_bytes())
    data[244:252] = b"99999999"
    edf.write_bytes(bytes(data))
    with pytest.raises(HeaderError) as excinfo:
        read_recording(edf)
    message = _one_line_error(excinfo, edf)
    assert "record duration field (1e+08 s per data record)" in message and "'Fp1' a sampling rate of 1e-06 Hz" in message


def test_a_bdf_with_its_header_written_twice_is_refused(tmp_path):
    path = _write_bdf(tmp_path / "twice.bdf", header_twice=True)
    with pytest.raises(HeaderError) as excinfo:
        read_recording(path)
    assert "its BDF header (768 bytes) is written twice" in _one_line_error(excinfo, path)
