"""Tests for :mod:`eeg_gnn.signal.preprocessing`: windows, filters, reference and rejection on known signals."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from eeg_gnn.signal.io import read_recording
from eeg_gnn.signal.montage import node_sets, positions
from eeg_gnn.signal.preprocessing import (
    Preprocessing,
    make_windows,
    pick_nodes,
    preprocess,
    rejection_message,
)
from eeg_gnn.signal.quality import BadChannelsError, check_against_others, check_channels

TEN_TWENTY = node_sets()["10-20"]
NO_FILTER = {"l_freq": None, "h_freq": None, "reference": "as-recorded"}


def make_raw(data, sfreq, ch_names=TEN_TWENTY, source=None):
    info = mne.create_info(list(ch_names), float(sfreq), ch_types="eeg")
    raw = mne.io.RawArray(np.asarray(data, dtype=float), info, verbose="error")
    if source is not None:
        raw._filenames = [source]
    return raw


def noise(n_times, seed=0, n_nodes=19, uv=10.0):
    return np.random.default_rng(seed).normal(0, uv * 1e-6, (n_nodes, n_times))


# ------------------------------------------------------------------------------------ windows


def test_make_windows_ramp_without_overlap():
    sfreq = 10.0
    data = np.vstack([np.arange(100.0), -np.arange(100.0)])  # 10 s
    windows, onsets = make_windows(data, sfreq, window_s=3.0)
    assert windows.shape == (3, 2, 30)
    np.testing.assert_allclose(onsets, [0.0, 3.0, 6.0])
    np.testing.assert_array_equal(windows[1, 0], np.arange(30.0, 60.0))
    np.testing.assert_array_equal(windows[2, 1], -np.arange(60.0, 90.0))
    # every window starts where its onset says
    np.testing.assert_allclose(windows[:, 0, 0] / sfreq, onsets)


def test_make_windows_ramp_with_overlap():
    sfreq = 10.0
    data = np.arange(100.0)[None, :]
    windows, onsets = make_windows(data, sfreq, window_s=4.0, overlap=0.5)
    assert windows.shape == (4, 1, 40)  # starts 0, 20, 40, 60 samples; 80 would run past the end
    np.testing.assert_allclose(onsets, [0.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(windows[:, 0, 0] / sfreq, onsets)
    np.testing.assert_array_equal(windows[-1, 0], np.arange(60.0, 100.0))
    exact, _ = make_windows(np.arange(40.0)[None, :], sfreq, window_s=4.0, overlap=0.75)
    assert exact.shape == (1, 1, 40)


def test_make_windows_too_short():
    with pytest.raises(ValueError, match=r"lasts 3\.00 s, shorter than one window of 4\.0 s"):
        make_windows(np.zeros((2, 30)), 10.0, window_s=4.0)


def test_short_recording_names_file_and_durations(tmp_path):
    path = tmp_path / "short.csv"
    t = np.arange(250 * 3) / 250.0
    signal = np.sin(2 * np.pi * 7 * t)[:, None] * 10 + np.arange(19) + noise(t.size, uv=2e6).T  # 2 µV-ish, in µV
    np.savetxt(path, signal, delimiter=",",
               header=",".join(TEN_TWENTY), comments="")
    raw = read_recording(path, sfreq=250)
    with pytest.raises(ValueError) as excinfo:
        preprocess(raw, Preprocessing(window_s=4.0))
    message = str(excinfo.value)
    assert str(path) in message
    assert "3.00 s" in message and "4.0 s" in message


# --------------------------------------------------------------------------- recording checks


def test_flat_channel_is_named():
    data = noise(250 * 10)
    data[TEN_TWENTY.index("Cz")] = 5e-6
    with pytest.raises(ValueError, match=r"rec\.edf has bad EEG nodes: Cz flat \(peak to peak 0 µV\)\. Pass "
                                         r"--bad-channels interpolate .* or --bad-channels drop-recording"):
        preprocess(make_raw(data, 250, source="rec.edf"), Preprocessing())


def test_nyquist_too_low_for_h_freq():
    raw = make_raw(noise(60 * 20), 60, source="slow.edf")
    with pytest.raises(ValueError) as excinfo:
        preprocess(raw, Preprocessing(h_freq=45.0))
    message = str(excinfo.value)
    assert "slow.edf" in message and "Nyquist" in message and "30 Hz" in message and "h_freq=45" in message
    with pytest.raises(ValueError, match="Nyquist frequency 50 Hz is too low for h_freq=60"):
        preprocess(make_raw(noise(250 * 20), 250), Preprocessing(h_freq=60.0, resample_sfreq=100.0))


def test_nan_samples_are_refused():
    data = noise(250 * 20)
    data[TEN_TWENTY.index("O1"), 1000] = np.nan
    with pytest.raises(ValueError, match=r"nan\.edf has NaN or infinite samples in channels O1"):
        preprocess(make_raw(data, 250, source="nan.edf"), Preprocessing())


def test_missing_electrodes_follow_on_missing():
    data = noise(250 * 10, n_nodes=18)
    names = [n for n in TEN_TWENTY if n != "Pz"]
    raw = make_raw(data, 250, ch_names=names, source="rec.edf")
    with pytest.raises(ValueError, match="rec.edf lacks 1 of the 19 nodes: Pz .* --bad-channels interpolate"):
        preprocess(raw, Preprocessing())
    with pytest.warns(RuntimeWarning, match="Pz"):
        windows = preprocess(raw, Preprocessing(), on_missing="warn")
    assert windows.node_names == names
    assert windows.data.shape[1] == 18
    rebuilt = preprocess(raw, Preprocessing(bad_channels="interpolate"))
    assert rebuilt.node_names == list(TEN_TWENTY)
    assert rebuilt.bad_channels == {"Pz": "missing from the recording"}
    with pytest.raises(BadChannelsError, match="left out"):
        preprocess(raw, Preprocessing(bad_channels="drop-recording"))


def _alpha_on_the_scalp(n_times, sfreq=250.0):
    """A 10 Hz rhythm whose amplitude falls off smoothly from the back of the head, plus a little noise."""
    where = positions(TEN_TWENTY, kind="scalp")
    gain = np.exp(-np.linalg.norm(where - where[TEN_TWENTY.index("Pz")], axis=1) / 80.0)
    t = np.arange(n_times) / sfreq
    return gain[:, None] * 20e-6 * np.sin(2 * np.pi * 10 * t) + noise(n_times, uv=0.5)


def test_bad_channel_policies_on_a_flat_and_a_clipped_node():
    data = _alpha_on_the_scalp(250 * 12)
    truth = data[TEN_TWENTY.index("P3")].copy()
    data[TEN_TWENTY.index("Cz")] = 0.0
    p3 = data[TEN_TWENTY.index("P3")]
    np.clip(p3, -0.3 * np.abs(p3).max(), 0.3 * np.abs(p3).max(), out=p3)
    raw = make_raw(data, 250, source="rec.edf")
    with pytest.raises(BadChannelsError) as excinfo:
        preprocess(raw, Preprocessing())
    assert set(excinfo.value.bad) == {"Cz", "P3"}
    assert "Cz flat" in str(excinfo.value) and "P3 saturated" in str(excinfo.value)
    config = Preprocessing(bad_channels="interpolate", l_freq=None, h_freq=None, reference="as-recorded")
    windows = preprocess(raw, config)
    assert set(windows.bad_channels) == {"Cz", "P3"}
    assert windows.node_names == list(TEN_TWENTY)
    rebuilt = np.concatenate(list(windows.data[:, TEN_TWENTY.index("P3")]))
    assert np.corrcoef(rebuilt, truth[:rebuilt.size])[0, 1] > 0.9  # the rhythm is back, not the clipped copy
    assert np.ptp(windows.data[:, TEN_TWENTY.index("Cz")], axis=1).min() > 1e-6


def test_a_wrong_unit_is_refused_with_the_scale_that_fixes_it():
    volts_as_microvolts = make_raw(noise(250 * 10) * 1e-6, 250, source="volts.edf")
    with pytest.raises(ValueError, match=r"volts\.edf: every EEG node is below .* volts under a microvolt label\. "
                                         r"Pass --scale 1e6"):
        preprocess(volts_as_microvolts, Preprocessing(bad_channels="interpolate"))
    microvolts_as_volts = make_raw(noise(250 * 10) * 1e6, 250, source="uv.edf")
    with pytest.raises(ValueError, match=r"above .* microvolts under a volt label\. Pass --scale 1e-6"):
        preprocess(microvolts_as_volts, Preprocessing())


def test_channel_checks():
    rng = np.random.default_rng(0)
    data = rng.normal(0, 10e-6, (5, 1000))
    data[1] = 3e-6
    data[2] *= 1e-3
    data[3] *= 1e4
    data[4] = np.clip(data[4], -5e-6, 5e-6)
    checks = check_channels(data, ["a", "b", "c", "d", "e"])
    assert [c.problem for c in checks] == [None, "flat", "implausible", "implausible", "saturated"]
    assert checks[0].peak_to_peak_uv == pytest.approx(np.ptp(data[0]) * 1e6)


def test_rejection_message_names_the_cause_and_a_flag():
    data = noise(250 * 8)
    # a staircase: each 4 s window varies by 0.001 µV, the recording by about 10 µV
    data[TEN_TWENTY.index("Fz"), :] = np.repeat([0.0, 10e-6], 1000) + np.tile(np.linspace(0, 1e-9, 1000), 2)
    raw = make_raw(data, 250, source="steps.edf")
    config = Preprocessing(l_freq=None, h_freq=None, reference="as-recorded")
    windows = preprocess(raw, config)
    assert windows.n_windows == 0 and windows.n_flat == 2
    message = rejection_message("steps.edf", windows.n_rejected, windows.n_flat, config)
    assert "reject_uv" not in message.replace("--reject-uv", "")
    assert "--flat-uv 0" in message and "2 had a node varying less than 0.01 µV" in message


# ------------------------------------------------------------------------------------ filters


def _amplitude(signal, sfreq, freq):
    """Amplitude of the ``freq`` component by projection on sine and cosine (whole cycles)."""
    t = np.arange(signal.size) / sfreq
    return 2 * np.abs(np.mean(signal * np.exp(-2j * np.pi * freq * t)))


def test_bandpass_keeps_10hz_and_removes_60hz():
    sfreq = 250.0
    t = np.arange(int(sfreq * 40)) / sfreq
    alpha = 20e-6 * np.sin(2 * np.pi * 10 * t)
    mains = 30e-6 * np.sin(2 * np.pi * 60 * t)
    rng = np.random.default_rng(1)
    data = alpha + mains + rng.normal(0, 1e-6, (19, t.size))
    raw = make_raw(data, sfreq)

    windows = preprocess(raw, Preprocessing(l_freq=1.0, h_freq=45.0, reference="as-recorded", window_s=4.0))

    assert windows.data.shape == (10, 19, 1000)
    middle = windows.data[3:7]  # away from the filter's edge effects
    for window in middle:
        for signal in window:
            assert _amplitude(signal, sfreq, 10.0) == pytest.approx(20e-6, rel=0.05)
            assert _amplitude(signal, sfreq, 60.0) < 0.01 * 30e-6
    # the input alone has the 60 Hz component at full amplitude
    assert _amplitude(data[0, 1000:2000], sfreq, 60.0) == pytest.approx(30e-6, rel=0.05)


def test_notch_removes_mains_and_keeps_alpha():
    sfreq = 250.0
    t = np.arange(int(sfreq * 40)) / sfreq
    data = 20e-6 * np.sin(2 * np.pi * 10 * t) + 30e-6 * np.sin(2 * np.pi * 50 * t) + noise(t.size, uv=1)
    windows = preprocess(make_raw(data, sfreq), Preprocessing(l_freq=None, h_freq=None, notch=50.0,
                                                              reference="as-recorded"))
    signal = windows.data[5, 0]
    assert _amplitude(signal, sfreq, 50.0) < 0.05 * 30e-6
    assert _amplitude(signal, sfreq, 10.0) == pytest.approx(20e-6, rel=0.05)


def test_resample():
    windows = preprocess(make_raw(noise(500 * 20), 500), Preprocessing(resample_sfreq=250.0, window_s=2.0))
    assert windows.sfreq == 250.0
    assert windows.data.shape == (10, 19, 500)


def test_average_reference_zero_mean_over_nodes():
    data = noise(250 * 20) + 50e-6  # a common offset too
    windows = preprocess(make_raw(data, 250), Preprocessing(reference="average", l_freq=None, h_freq=None))
    mean_over_nodes = windows.data.mean(axis=1)
    assert np.abs(mean_over_nodes).max() < 1e-18
    assert windows.data.std() > 5e-6
    as_recorded = preprocess(make_raw(data, 250), Preprocessing(**NO_FILTER))
    np.testing.assert_allclose(as_recorded.data[0], data[:, :1000])


# ---------------------------------------------------------------------------------- rejection


def test_amplitude_rejection_drops_the_spiky_window():
    sfreq = 250.0
    data = noise(int(sfreq * 20), uv=5)  # 5 windows of 4 s, well below 150 uV peak to peak
    spike_at = int(sfreq * 9)  # inside window 2 (8-12 s)
    data[TEN_TWENTY.index("C3"), spike_at:spike_at + 5] += 500e-6
    raw = make_raw(data, sfreq)

    kept = preprocess(raw, Preprocessing(**NO_FILTER, reject_uv=150.0))
    assert kept.n_rejected == 1
    assert kept.n_windows == 4
    np.testing.assert_allclose(kept.onsets, [0.0, 4.0, 12.0, 16.0])
    assert np.ptp(kept.data, axis=2).max() < 150e-6

    everything = preprocess(raw, Preprocessing(**NO_FILTER))
    assert everything.n_rejected == 0
    assert everything.n_windows == 5


def test_flat_window_is_rejected():
    data = noise(250 * 12)
    data[TEN_TWENTY.index("Fz"), 250 * 4:250 * 8] = 0.0  # second window flat on one node
    windows = preprocess(make_raw(data, 250), Preprocessing(**NO_FILTER))
    np.testing.assert_allclose(windows.onsets, [0.0, 8.0])
    assert windows.n_rejected == 1


# ---------------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reference": "bad"}, r"'reference' parameter.*'average', 'as-recorded'.*'bad'"),
        ({"overlap": 1.0}, r"'overlap' must be in \[0, 1\), got 1\.0"),
        ({"overlap": -0.1}, r"'overlap' must be in \[0, 1\)"),
        ({"l_freq": 40.0, "h_freq": 40.0}, r"'l_freq' \(40\.0 Hz\) must be below 'h_freq' \(40\.0 Hz\)"),
        ({"l_freq": 50.0, "h_freq": 45.0}, "must be below 'h_freq'"),
        ({"window_s": 0}, "'window_s' must be > 0"),
        ({"reject_uv": -5}, "'reject_uv' must be > 0"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Preprocessing(**kwargs)


def test_steps_and_dict():
    config = Preprocessing(notch=50.0, resample_sfreq=128.0)
    assert [s["step"] for s in config.steps()] == ["pick_nodes", "bad_channels", "bandpass", "notch",
                                                    "resample", "reference", "windows", "reject_windows"]
    assert config.to_dict()["notch"] == 50.0
    assert Preprocessing(**config.to_dict()) == config


# ----------------------------------------------------------------------------------- real data


def test_real_eegmat_recording(eegmat_dir, untouched):
    untouched(eegmat_dir)
    raw = read_recording(eegmat_dir / "Subject00_2.edf")
    picked, match = pick_nodes(raw)
    assert picked.ch_names == TEN_TWENTY
    assert set(picked.get_channel_types()) == {"eeg"}
    assert match.ch_names[TEN_TWENTY.index("T7")] == "EEG T3"

    windows = preprocess(raw, Preprocessing(window_s=4.0))

    assert windows.node_names == TEN_TWENTY
    assert windows.sfreq == 500.0
    assert windows.data.shape[1:] == (19, 2000)
    assert windows.n_windows + windows.n_rejected == 15  # 62 s
    assert np.all(np.diff(windows.onsets) >= 4.0)
    assert set(match.dropped) == {"EEG A2-A1", "ECG ECG"}
    # signals stay in volts at EEG amplitudes
    assert 1e-7 < np.median(windows.data.std(axis=2)) < 1e-4
    # the original Raw is not modified
    assert raw.ch_names[0] == "EEG Fp1" and len(raw.ch_names) == 21


def test_real_umich_seizure_shows_in_line_length(umich_dir, untouched):
    # DATA.md: line length jumps about 3x from pre-ictal (0-340 s) to ictal (370-450 s) on Fp1, T3 and T5
    untouched(umich_dir)
    windows = preprocess(read_recording(umich_dir), Preprocessing(window_s=10.0, reference="as-recorded"))
    assert windows.node_names == TEN_TWENTY
    assert windows.sfreq == 100.0
    assert windows.n_windows + windows.n_rejected == 50
    assert set(windows.match.dropped) == {"SP1", "SP2", *(f"ch{n}" for n in range(22, 32))}
    line_length = np.abs(np.diff(windows.data, axis=2)).mean(axis=2)  # (n_windows, n_nodes)
    preictal = windows.onsets + 10.0 <= 340.0
    ictal = (windows.onsets >= 370.0) & (windows.onsets + 10.0 <= 450.0)
    assert preictal.sum() == 34 and ictal.sum() == 8
    for node in ("Fp1", "T7", "P7"):
        column = TEN_TWENTY.index(node)
        ratio = line_length[ictal, column].mean() / line_length[preictal, column].mean()
        assert ratio > 2.5, (node, ratio)


def test_epochs_become_windows_one_each():
    import mne

    from eeg_gnn.signal.features import band_power
    from eeg_gnn.signal.montage import resolve_nodes
    from eeg_gnn.signal.preprocessing import Preprocessing, preprocess

    sfreq, names = 256.0, resolve_nodes("10-20")
    times = np.arange(int(40 * sfreq)) / sfreq
    rng = np.random.default_rng(0)
    data = 20e-6 * np.sin(2 * np.pi * 10 * times) * rng.uniform(0.5, 1.5, (len(names), 1))
    data += 1e-6 * rng.normal(size=data.shape)
    raw = mne.io.RawArray(data, mne.create_info(names, sfreq, "eeg"), verbose="error")
    epochs = mne.make_fixed_length_epochs(raw, duration=4.0, preload=True, verbose="error")
    windows = preprocess(epochs, Preprocessing(resample_sfreq=128.0, reference="as-recorded"), "10-20")
    assert windows.data.shape == (len(epochs), len(names), 512)
    assert windows.sfreq == 128.0
    np.testing.assert_allclose(windows.onsets, np.arange(len(epochs)) * 4.0)
    power = band_power(windows.data, windows.sfreq)
    assert (power.argmax(axis=2) == 2).all()  # alpha (8-13 Hz) holds the 10 Hz rhythm


def test_epochs_follow_the_bad_channel_policy():
    sfreq = 250.0
    data = _alpha_on_the_scalp(int(24 * sfreq))
    data[TEN_TWENTY.index("O1")] = 0.0
    epochs = mne.make_fixed_length_epochs(make_raw(data, sfreq), duration=4.0, preload=True, verbose="error")
    with pytest.raises(BadChannelsError, match="O1 flat"):
        preprocess(epochs, Preprocessing(reference="as-recorded"))
    windows = preprocess(epochs, Preprocessing(reference="as-recorded", bad_channels="interpolate"))
    assert windows.bad_channels == {"O1": "flat (peak to peak 0 µV)"}
    assert windows.n_windows == len(epochs) and np.ptp(windows.data[:, TEN_TWENTY.index("O1")], axis=1).min() > 1e-6


def test_nodes_far_from_the_others_or_copied_are_bad_before_re_referencing():
    data = _alpha_on_the_scalp(250 * 12) + noise(250 * 12, seed=3, uv=10.0)
    for name in ("Fz", "Pz"):
        data[TEN_TWENTY.index(name)] /= 100
    data[TEN_TWENTY.index("O2")] = data[TEN_TWENTY.index("O1")] + noise(250 * 12, seed=4, n_nodes=1, uv=0.1)[0]
    raw = make_raw(data, 250, source="rec.edf")
    with pytest.raises(BadChannelsError) as excinfo:
        preprocess(raw, Preprocessing())
    assert set(excinfo.value.bad) == {"Fz", "Pz", "O1", "O2"}
    assert excinfo.value.bad["Fz"].startswith("far below the recording's other electrodes (0.01")
    assert excinfo.value.bad["O2"].startswith("near copy of O1")
    assert excinfo.value.bad["O1"].startswith("near copy of O2")
    loud = data.copy()
    loud[TEN_TWENTY.index("C3")] *= 20
    loud_checks = check_against_others(loud, check_channels(loud, TEN_TWENTY))
    assert loud_checks[TEN_TWENTY.index("C3")].detail.startswith("far above")
    windows = preprocess(raw, Preprocessing(bad_channels="interpolate"))
    assert set(windows.bad_channels) == {"Fz", "Pz", "O1", "O2"}
    clean = noise(250 * 12, seed=5)
    assert not [c for c in check_against_others(clean, check_channels(clean, TEN_TWENTY)) if c.problem]


@pytest.mark.slow
def test_two_electrodes_at_a_hundredth_of_a_real_recording_are_caught(eegmat_dir, tmp_path, capsys):
    from eeg_gnn.cli.main import main

    raw = read_recording(eegmat_dir / "Subject00_1.edf")
    original = raw.copy()
    assert not set(preprocess(original, Preprocessing(bad_channels="interpolate")).bad_channels)
    weak = {"EEG Fz": "Fz", "EEG Pz": "Pz"}
    raw.apply_function(lambda x: x / 100, picks=list(weak))
    path = tmp_path / "weak.edf"
    mne.export.export_raw(path, raw, fmt="edf", verbose="error")
    with pytest.raises(BadChannelsError) as excinfo:
        preprocess(read_recording(path), Preprocessing())
    assert set(excinfo.value.bad) == {"Fz", "Pz"}
    assert all("far below the recording's other electrodes" in why for why in excinfo.value.bad.values())
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    for channel in weak:
        line = next(line for line in out.splitlines() if line.strip().startswith(channel))
        assert "RELATIVE: far below" in line
    assert "bad nodes: 2 (Fz, Pz)" in out
