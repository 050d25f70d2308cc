"""Node features: band power per window and electrode from Welch's PSD, vectorised over windows and nodes.

The PSD is the one MNE's ``psd_array_welch(..., window="hann")`` and ``scipy.signal.welch`` compute (2 s
segments, no overlap, constant detrend, mean over segments; ``tests/test_features.py`` checks both). It is one
real FFT of every segment of every window and node at once: all the segments of a recording are a strided view
of its windows, so the cost is that of the FFT plus a few passes over the spectrum.
``python benchmarks/bench_features.py`` times it at the call size of the pipeline (one EEGMAT recording, 15
windows of 19 nodes x 4 s at 128 Hz) and on 3000 windows, against ``numpy.fft.rfft`` of the same segments (the
floor), ``scipy.signal.welch`` and MNE.

Band edges are half-open, ``fmin <= f < fmax``, so a frequency bin on a shared edge belongs to exactly one band
(the upper one). Band power is the PSD integrated over the band's bins (sum x bin width), in V².
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from eeg_gnn.utils.validation import check_option

DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}
FEATURE_KINDS = ("log_power", "relative_power", "differential_entropy")
WELCH_SEGMENT_S = 2.0


def check_bands(bands: Mapping[str, tuple[float, float]], sfreq: float | None = None) -> dict[str, tuple[float, float]]:
    """Validate band edges: fmin < fmax, both >= 0, and fmax at most Nyquist when ``sfreq`` is known."""
    if not bands:
        raise ValueError("At least one frequency band is needed.")
    checked = {}
    for name, edges in bands.items():
        try:
            fmin, fmax = (float(e) for e in edges)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Band {name!r} must be (fmin, fmax) in Hz, got {edges!r}.") from exc
        if not 0 <= fmin < fmax:
            raise ValueError(f"Band {name!r} needs 0 <= fmin < fmax, got ({fmin:g}, {fmax:g}) Hz.")
        if sfreq is not None and fmax > sfreq / 2:
            raise ValueError(
                f"Band {name!r} ({fmin:g}-{fmax:g} Hz) reaches above the Nyquist frequency {sfreq / 2:g} Hz of "
                f"data sampled at {sfreq:g} Hz. Lower the band or resample less."
            )
        checked[name] = (fmin, fmax)
    return checked


def parse_bands(text: str) -> dict[str, tuple[float, float]]:
    """Parse ``'delta:1-4,theta:4-8'`` (or names of default bands: ``'alpha,beta'``) into a band dict."""
    bands = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        if ":" not in item:
            bands[item] = DEFAULT_BANDS[check_option("bands", item, DEFAULT_BANDS)]
            continue
        name, _, edges = item.partition(":")
        low, sep, high = edges.partition("-")
        if not sep:
            raise ValueError(f"Band {item!r} must look like name:fmin-fmax, e.g. alpha:8-13.")
        try:
            bands[name.strip()] = (float(low), float(high))
        except ValueError as exc:
            raise ValueError(f"Band {item!r} must look like name:fmin-fmax, e.g. alpha:8-13.") from exc
    return check_bands(bands)


def band_masks(freqs: np.ndarray, bands: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """Boolean matrix of which frequency bins fall in which band (``fmin <= f < fmax``).

    Returns
    -------
    ndarray, shape (n_bands, n_freqs)
    """
    masks = np.array([(freqs >= fmin) & (freqs < fmax) for fmin, fmax in bands.values()])
    empty = [name for name, mask in zip(bands, masks, strict=True) if not mask.any()]
    if empty:
        raise ValueError(
            f"Bands {empty} contain no frequency bin at a resolution of {freqs[1] - freqs[0]:g} Hz; "
            "widen them or use longer windows."
        )
    return masks


def hann_periodic(n_samples: int) -> np.ndarray:
    """The periodic Hann window of ``scipy.signal.get_window('hann', n_samples)``, shape (n_samples,)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_samples) / n_samples)


def welch_psd(windows: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD as MNE's ``psd_array_welch`` with a Hann window: segments of 2 s (or the window), no overlap.

    Parameters
    ----------
    windows : ndarray, shape (..., n_times)
        Signals, e.g. (n_windows, n_nodes, n_times).
    sfreq : float
        Sampling rate in Hz.

    Returns
    -------
    freqs : ndarray, shape (n_freqs,)
        ``n_freqs = n_per_seg // 2 + 1`` with ``n_per_seg = min(n_times, round(2 s * sfreq))``.
    psd : ndarray, shape (..., n_freqs)
        One-sided PSD in V²/Hz.
    """
    windows = np.asarray(windows)
    n_times = windows.shape[-1]
    n_per_seg = min(n_times, int(round(WELCH_SEGMENT_S * sfreq)))
    n_segments = n_times // n_per_seg
    segments = windows[..., : n_segments * n_per_seg].reshape(*windows.shape[:-1], n_segments, n_per_seg)
    taper = hann_periodic(n_per_seg)
    spectrum = np.fft.rfft((segments - segments.mean(axis=-1, keepdims=True)) * taper, axis=-1)
    power = spectrum.real ** 2 + spectrum.imag ** 2
    psd = power.mean(axis=-2) / (sfreq * np.sum(taper ** 2))
    psd[..., 1 : (n_per_seg + 1) // 2] *= 2.0
    freqs = np.fft.rfftfreq(n_per_seg, 1.0 / sfreq)
    return freqs, psd


def band_power(
    windows: np.ndarray,
    sfreq: float,
    bands: Mapping[str, tuple[float, float]] = DEFAULT_BANDS,
    kind: str = "log_power",
) -> np.ndarray:
    """Band power of every window and node.

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_nodes, n_times)
        Signals in volts.
    sfreq : float
        Sampling rate in Hz.
    bands : dict of str to (fmin, fmax)
        Frequency bands in Hz.
    kind : 'log_power' | 'relative_power' | 'differential_entropy'
        ``log_power``: log10 of the absolute band power in µV². ``relative_power``: band power over the power
        summed across all bands (rows sum to 1). ``differential_entropy``: 0.5 log(2 pi e P) of the band-limited
        signal, which for a Gaussian signal of variance P is its differential entropy (Shi et al. 2013).

    Returns
    -------
    ndarray, shape (n_windows, n_nodes, n_bands)
    """
    check_option("kind", kind, FEATURE_KINDS)
    bands = check_bands(bands, sfreq)
    if windows.ndim != 3:
        raise ValueError(f"windows must have shape (n_windows, n_nodes, n_times), got {windows.shape}.")
    freqs, psd = welch_psd(windows, sfreq)
    masks = band_masks(freqs, bands).astype(psd.dtype)
    power = psd @ masks.T * (freqs[1] - freqs[0])
    power_uv2 = np.maximum(power * 1e12, np.finfo(float).tiny)
    if kind == "log_power":
        return np.log10(power_uv2)
    if kind == "relative_power":
        return power_uv2 / power_uv2.sum(axis=-1, keepdims=True)
    return 0.5 * np.log(2 * np.pi * np.e * power_uv2)
