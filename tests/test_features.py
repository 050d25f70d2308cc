"""Band-power features: known-answer signals, MNE equivalence, band edges and argument checks."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from eeg_gnn.signal.features import (
    DEFAULT_BANDS,
    FEATURE_KINDS,
    band_masks,
    band_power,
    check_bands,
    parse_bands,
    welch_psd,
)

SFREQ = 128.0
N_TIMES = int(4 * SFREQ)


def _sine(
    freq: float, amplitude: float = 1e-6, n_times: int = N_TIMES, sfreq: float = SFREQ
) -> np.ndarray:
    times = np.arange(n_times) / sfreq
    return amplitude * np.sin(2 * np.pi * freq * times)


@pytest.mark.parametrize("kind", FEATURE_KINDS)
def test_10_hz_sine_puts_most_power_in_alpha(kind):
    rng = np.random.default_rng(0)
    signal = _sine(10.0) + 1e-9 * rng.standard_normal((3, 4, N_TIMES))
    features = band_power(signal, SFREQ, DEFAULT_BANDS, kind)
    assert features.shape == (3, 4, len(DEFAULT_BANDS))
    alpha = list(DEFAULT_BANDS).index("alpha")
    assert (features.argmax(axis=-1) == alpha).all()
    if kind == "relative_power":
        # Almost all of the power is the sine's.
        assert (features[..., alpha] > 0.99).all()


def test_white_noise_relative_power_is_proportional_to_band_width():
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((20, 8, int(20 * SFREQ))) * 1e-5
    relative = band_power(noise, SFREQ, DEFAULT_BANDS, "relative_power")
    np.testing.assert_allclose(relative.sum(axis=-1), 1.0, rtol=1e-12)
    widths = np.array([fmax - fmin for fmin, fmax in DEFAULT_BANDS.values()])
    expected = widths / widths.sum()
    observed = relative.mean(axis=(0, 1))
    np.testing.assert_allclose(observed, expected, rtol=0.15)


@pytest.mark.parametrize("seconds", [4.5, 2.0, 1.5])
def test_welch_psd_equals_mne(seconds):
    rng = np.random.default_rng(2)
    windows = rng.standard_normal((3, 4, int(seconds * SFREQ))) * 1e-6
    freqs, psd = welch_psd(windows, SFREQ)
    n = min(windows.shape[-1], int(2 * SFREQ))
    psd_mne, freqs_mne = mne.time_frequency.psd_array_welch(
        windows, SFREQ, n_fft=n, n_per_seg=n, window="hann", verbose=False
    )
    assert psd.shape == psd_mne.shape == (3, 4, n // 2 + 1)
    assert np.allclose(freqs, freqs_mne)
    assert np.allclose(psd, psd_mne, rtol=1e-10, atol=0)


@pytest.mark.parametrize("n_times", [191, 256, 512, 700])
def test_welch_psd_equals_scipy_for_odd_and_even_segments(n_times):
    from scipy.signal import welch

    rng = np.random.default_rng(3)
    windows = rng.standard_normal((2, 3, n_times)) * 1e-6 + 1e-6
    freqs, psd = welch_psd(windows, SFREQ)
    n_per_seg = min(n_times, int(2 * SFREQ))
    freqs_scipy, psd_scipy = welch(windows, SFREQ, window="hann", nperseg=n_per_seg, noverlap=0, axis=-1)
    np.testing.assert_allclose(freqs, freqs_scipy)
    np.testing.assert_allclose(psd, psd_scipy, rtol=1e-10, atol=0)


def test_bin_on_a_shared_edge_belongs_to_the_upper_band():
    freqs = np.arange(0.0, 20.5, 0.5)
    assert 8.0 in freqs
    masks = band_masks(freqs, {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)})
    at_8 = np.flatnonzero(freqs == 8.0)[0]
    assert masks.shape == (2, freqs.size)
    assert not masks[0, at_8]
    assert masks[1, at_8]
    # Every bin from 4 up to (not including) 13 Hz is in exactly one band.
    inside = (freqs >= 4.0) & (freqs < 13.0)
    np.testing.assert_array_equal(masks.sum(axis=0), inside.astype(int))
    assert freqs[masks[0]].tolist() == [4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5]


def test_band_without_bins_is_an_error():
    freqs = np.arange(0.0, 20.5, 0.5)
    with pytest.raises(ValueError, match="no frequency bin"):
        band_masks(freqs, {"narrow": (8.1, 8.4)})


def test_band_above_nyquist_is_an_error():
    rng = np.random.default_rng(3)
    windows = rng.standard_normal((2, 3, 256))
    with pytest.raises(ValueError, match="Nyquist") as info:
        band_power(windows, 64.0, {"gamma": (30.0, 45.0)})
    assert "32" in str(info.value)
    with pytest.raises(ValueError, match="Nyquist"):
        check_bands(DEFAULT_BANDS, sfreq=64.0)
    # Exactly at Nyquist is allowed.
    assert check_bands({"top": (30.0, 32.0)}, sfreq=64.0) == {"top": (30.0, 32.0)}


@pytest.mark.parametrize(
    "bad", [{"a": (8.0, 8.0)}, {"a": (13.0, 8.0)}, {"a": (-1.0, 4.0)}, {"a": "8-13"}, {}]
)
def test_check_bands_rejects_bad_edges(bad):
    with pytest.raises(ValueError):
        check_bands(bad)


def test_parse_bands():
    assert parse_bands("delta:1-4,alpha:8-13") == {"delta": (1.0, 4.0), "alpha": (8.0, 13.0)}
    assert parse_bands("alpha,beta") == {"alpha": (8.0, 13.0), "beta": (13.0, 30.0)}
    assert parse_bands(" alpha , low:0.5-2.5 ") == {"alpha": (8.0, 13.0), "low": (0.5, 2.5)}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("alpha:8", "name:fmin-fmax"),
        ("alpha:a-b", "name:fmin-fmax"),
        ("alpha:13-8", "fmin < fmax"),
        ("alfa", "Allowed values are 'delta', 'theta', 'alpha', 'beta', 'gamma'"),
        ("", "At least one"),
    ],
)
def test_parse_bands_rejects_bad_strings(text, match):
    with pytest.raises(ValueError, match=match):
        parse_bands(text)


def test_unknown_kind_lists_allowed():
    windows = np.zeros((1, 1, N_TIMES))
    with pytest.raises(
        ValueError, match="'log_power', 'relative_power', 'differential_entropy'"
    ) as info:
        band_power(windows, SFREQ, kind="power")
    assert "'power'" in str(info.value)


def test_windows_must_be_3d():
    with pytest.raises(ValueError, match="n_windows, n_nodes, n_times"):
        band_power(np.zeros((4, N_TIMES)), SFREQ)


@pytest.mark.parametrize("kind", FEATURE_KINDS)
def test_vectorised_equals_one_window_at_a_time(kind):
    rng = np.random.default_rng(4)
    windows = rng.standard_normal((7, 5, 512)) * 1e-5
    batched = band_power(windows, SFREQ, DEFAULT_BANDS, kind)
    assert batched.shape == (7, 5, len(DEFAULT_BANDS))
    for index in range(windows.shape[0]):
        alone = band_power(windows[index : index + 1], SFREQ, DEFAULT_BANDS, kind)
        np.testing.assert_allclose(alone[0], batched[index], rtol=1e-12, atol=1e-12)


def test_log_power_of_sine_matches_analytic_power():
    amplitude = 1e-6  # 1 µV, signals are in volts
    sine = _sine(10.0, amplitude)[np.newaxis, np.newaxis]
    features = band_power(sine, SFREQ, {"alpha": (8.0, 13.0)}, "log_power")
    expected = np.log10((amplitude * 1e6) ** 2 / 2)  # A²/2 in µV²
    assert abs(features[0, 0, 0] - expected) < 0.1
    # Ten times the amplitude is 100 times the power: two decades.
    louder = band_power(10 * sine, SFREQ, {"alpha": (8.0, 13.0)}, "log_power")
    assert louder[0, 0, 0] - features[0, 0, 0] == pytest.approx(2.0, abs=1e-9)


def test_differential_entropy_is_gaussian_entropy_of_band_power():
    rng = np.random.default_rng(5)
    windows = rng.standard_normal((2, 3, N_TIMES)) * 1e-5
    log_power = band_power(windows, SFREQ, kind="log_power")
    entropy = band_power(windows, SFREQ, kind="differential_entropy")
    np.testing.assert_allclose(
        entropy, 0.5 * np.log(2 * np.pi * np.e * 10.0**log_power), rtol=1e-12
    )


def test_silent_channel_gives_finite_features():
    windows = np.zeros((1, 2, N_TIMES))
    assert np.isfinite(band_power(windows, SFREQ, kind="log_power")).all()
