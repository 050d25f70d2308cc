"""Tests for :mod:`eeg_gnn.signal.io`: real files of every format, and generated text formats with known contents."""

from __future__ import annotations

import shutil

import mne
import numpy as np
import pytest

from eeg_gnn.signal.io import (
    MSU_CHANNELS,
    MSU_N_TIMES,
    MSU_SFREQ,
    read_recording,
    recording_format,
    source_of,
)

# file -> (MNE reader, sfreq, number of channels, number of samples), values checked with MNE directly
FORMAT_FILES = {
    "test_raw_chanloc.set": (mne.io.read_raw_eeglab, 128.0, 61, 385),
    "test_NO.vhdr": (mne.io.read_raw_brainvision, 5000.0, 65, 2238),
    "test_bdf_stim_channel.bdf": (mne.io.read_raw_bdf, 500.0, 4, 5000),
    "test_reduced.edf": (mne.io.read_raw_edf, 512.0, 139, 3072),
    "MB0400FU.EDF": (mne.io.read_raw_edf, 200.0, 25, 5800),
}
# the published MSU channel order: channel k of the file is MSU_ORDER[k - 1]
MSU_ORDER = ["F7", "F3", "F4", "F8", "T3", "C3", "Cz", "C4", "T4", "T5", "P3", "Pz", "P4", "T6", "O1", "O2"]


# ------------------------------------------------------------------------------------ real files


@pytest.mark.parametrize("name", sorted(FORMAT_FILES))
def test_real_format_files_load_as_mne_reads_them(formats_dir, untouched, name):
    reader, sfreq, n_channels, n_times = FORMAT_FILES[name]
    untouched(formats_dir)
    path = formats_dir / name

    raw = read_recording(path)

    assert raw.preload
    assert raw.info["sfreq"] == sfreq
    assert len(raw.ch_names) == n_channels
    assert raw.n_times == n_times
    assert source_of(raw) == str(path)
    reference = reader(path, preload=True, verbose="error")
    assert raw.ch_names == reference.ch_names
    assert raw.info["sfreq"] == reference.info["sfreq"]
    np.testing.assert_array_equal(raw.get_data(), reference.get_data())


def test_recording_format_names(formats_dir, umich_dir):
    assert recording_format(formats_dir / "MB0400FU.EDF") == "EDF/EDF+"
    assert recording_format(formats_dir / "test_NO.vhdr") == "BrainVision"
    assert recording_format(formats_dir / "test_raw_chanloc.set") == "EEGLAB"
    assert recording_format(umich_dir).startswith("University of Michigan")


def test_eegmat_edf(eegmat_dir, untouched):
    untouched(eegmat_dir)
    raw = read_recording(eegmat_dir / "Subject00_1.edf")
    assert raw.info["sfreq"] == 500.0
    assert len(raw.ch_names) == 21
    assert raw.ch_names[0] == "EEG Fp1"
    assert raw.ch_names[-2:] == ["EEG A2-A1", "ECG ECG"]
    assert raw.n_times == 91_000  # 182 s
    # volts, not microvolts: scalp EEG is tens of microvolts
    assert 1e-6 < np.median(np.std(raw.get_data()[:19], axis=1)) < 1e-3


def test_umich_folder(umich_dir, untouched):
    untouched(umich_dir)
    raw = read_recording(umich_dir)
    assert raw.info["sfreq"] == 100.0
    assert raw.n_times == 50_000
    assert raw.ch_names[0] == "Fp1"
    assert raw.ch_names[:21] == ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "SP1", "SP2",
                                 "F7", "F8", "T3", "T4", "T5", "T6", "Fz", "Cz", "Pz"]
    types = dict(zip(raw.ch_names, raw.get_channel_types(), strict=True))
    assert types["SP1"] == types["SP2"] == "misc"
    assert types["Fp1"] == types["T3"] == types["Pz"] == "eeg"
    assert all(types[f"ch{n}"] == "misc" for n in range(22, 32))
    # ch15.inp is T3; its integers are taken as microvolts
    column = np.loadtxt(umich_dir / "ch15.inp")
    np.testing.assert_allclose(raw.get_data(picks="T3")[0], column * 1e-6)
    # one channel file stands for its whole folder
    same = read_recording(umich_dir / "ch01.inp")
    assert same.ch_names == raw.ch_names


# ----------------------------------------------------------------------------------- bad inputs


def test_eeg_part_of_brainvision_points_to_vhdr(formats_dir, untouched):
    untouched(formats_dir)
    with pytest.raises(ValueError, match=r"test_NO\.eeg is part of a recording whose header is .*test_NO\.vhdr"):
        read_recording(formats_dir / "test_NO.eeg")


def test_unknown_extension_lists_known(tmp_path):
    path = tmp_path / "recording.xyz"
    path.write_text("1\n2\n")
    with pytest.raises(ValueError) as excinfo:
        read_recording(path)
    message = str(excinfo.value)
    assert "'.xyz'" in message and str(path) in message
    for known in (".edf", ".bdf", ".vhdr", ".set", ".fif", ".eea", ".csv"):
        assert known in message


def test_folder_without_channel_files(tmp_path):
    with pytest.raises(ValueError, match="folder without chNN.inp"):
        read_recording(tmp_path)


def test_missing_file(tmp_path):
    path = tmp_path / "nothing.edf"
    with pytest.raises(FileNotFoundError, match="nothing.edf"):
        read_recording(path)


@pytest.mark.parametrize("n_bytes", [3000, 10_000])
def test_truncated_edf_names_the_file(eegmat_dir, tmp_path, n_bytes):
    # 3000 bytes cut the header (21 signals: 5632 header bytes), 10,000 bytes cut the data
    path = tmp_path / "Subject00_1.edf"
    with (eegmat_dir / "Subject00_1.edf").open("rb") as stream:
        path.write_bytes(stream.read(n_bytes))
    with pytest.raises(ValueError) as excinfo:
        read_recording(path)
    assert str(path) in str(excinfo.value)
    assert "EDF" in str(excinfo.value)


def test_brainvision_without_data_part(formats_dir, tmp_path):
    for suffix in (".vhdr", ".vmrk"):
        shutil.copy(formats_dir / f"test_NO{suffix}", tmp_path)
    with pytest.raises(ValueError, match=r"test_NO\.vhdr"):
        read_recording(tmp_path / "test_NO.vhdr")


# ----------------------------------------------------------------------------------- MSU .eea


def write_eea(path, data_uv):
    """Write the published MSU layout: one value per line, channel after channel (16 x 7680 lines)."""
    data_uv = np.asarray(data_uv, dtype=float)
    path.write_text("".join(f"{value:.3f}\n" for value in data_uv.ravel()))
    return path


def test_msu_eea_known_sine_on_f4(tmp_path):
    times = np.arange(MSU_N_TIMES) / MSU_SFREQ
    data_uv = np.array([np.full(MSU_N_TIMES, 10.0 * (k + 1)) for k in range(16)])
    data_uv += 0.5 * np.sin(2 * np.pi * 3.0 * times)  # not flat
    sine_uv = 40.0 * np.sin(2 * np.pi * 10.0 * times)
    data_uv[2] = sine_uv  # channel 3 = F4
    path = write_eea(tmp_path / "001.eea", data_uv)
    assert len(path.read_text().splitlines()) == 122_880

    raw = read_recording(path)

    assert tuple(MSU_ORDER) == MSU_CHANNELS
    assert raw.ch_names == MSU_ORDER
    assert raw.info["sfreq"] == 128.0
    assert raw.n_times == 7680
    assert set(raw.get_channel_types()) == {"eeg"}
    np.testing.assert_allclose(raw.get_data(picks="F4")[0], sine_uv * 1e-6, atol=1e-9)
    means = raw.get_data().mean(axis=1)
    expected = [0.0 if k == 2 else 10.0 * (k + 1) * 1e-6 for k in range(16)]
    np.testing.assert_allclose(means, expected, atol=1e-8)
    assert source_of(raw) == str(path)


def test_msu_eea_short_file_names_counts(tmp_path):
    path = tmp_path / "short.eea"
    path.write_text("".join(f"{v}\n" for v in range(1000)))
    with pytest.raises(ValueError) as excinfo:
        read_recording(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "1000 values" in message
    assert "16 channels x 7680 samples = 122880" in message


def test_msu_eea_not_numbers(tmp_path):
    path = tmp_path / "bad.eea"
    path.write_text("1.0\nabc\n")
    with pytest.raises(ValueError, match=r"bad\.eea is not a column of numbers"):
        read_recording(path)


# -------------------------------------------------------------------------------------- CSV/TSV


def test_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    data_uv = np.round(rng.normal(0, 20, size=(3, 512)), 3)
    path = tmp_path / "rec.csv"
    np.savetxt(path, data_uv.T, delimiter=",", header="Fp1,Cz,O2", comments="", fmt="%.3f")

    raw = read_recording(path, sfreq=256)

    assert raw.ch_names == ["Fp1", "Cz", "O2"]
    assert raw.info["sfreq"] == 256.0
    assert raw.n_times == 512
    np.testing.assert_allclose(raw.get_data(), data_uv * 1e-6, atol=1e-12)
    in_mv = read_recording(path, sfreq=256, unit="mV")
    np.testing.assert_allclose(in_mv.get_data(), data_uv * 1e-3)


def test_tsv_without_header_takes_names(tmp_path):
    path = tmp_path / "rec.tsv"
    np.savetxt(path, np.arange(20.0).reshape(10, 2), delimiter="\t")
    raw = read_recording(path, sfreq=100, ch_names=["C3", "C4"])
    assert raw.ch_names == ["C3", "C4"]
    np.testing.assert_allclose(raw.get_data()[1], np.arange(1.0, 20.0, 2) * 1e-6)
    with pytest.raises(ValueError, match="2 columns but 3 channel names"):
        read_recording(path, sfreq=100, ch_names=["C3", "C4", "Cz"])


def test_csv_without_sfreq(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text("Fp1,Fp2\n1,2\n3,4\n")
    with pytest.raises(ValueError, match="sfreq") as excinfo:
        read_recording(path)
    assert str(path) in str(excinfo.value)
    with pytest.raises(ValueError, match="'sfreq' must be > 0"):
        read_recording(path, sfreq=0)
    with pytest.raises(ValueError, match=r"'unit' parameter.*'uV'.*'furlong'"):
        read_recording(path, sfreq=100, unit="furlong")


def test_a_metadata_table_is_not_read_as_a_recording(tmp_path):
    path = tmp_path / "subject-info.csv"
    path.write_text("Subject,Age,Gender\nSubject00,21,F\n")
    with pytest.raises(ValueError, match=r"subject-info\.csv is a table of text \('Subject00' in its second line\), "
                                         r"not a recording"):
        read_recording(path, sfreq=128)


def test_csv_nan_names_the_channel(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text("Fp1,Fp2,Cz\n1,2,3\n4,nan,6\n7,8,inf\n")
    with pytest.raises(ValueError) as excinfo:
        read_recording(path, sfreq=100)
    message = str(excinfo.value)
    assert str(path) in message
    assert "NaN or infinite" in message
    assert "Fp2, Cz" in message
    assert "Fp1" not in message.split("channels")[-1]


def test_csv_empty_cell_names_the_file(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text("Fp1,Fp2\n1,2\n,4\n")
    with pytest.raises(ValueError, match=r"rec\.csv"):
        read_recording(path, sfreq=100)
