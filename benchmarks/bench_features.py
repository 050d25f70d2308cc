"""Band-power features: eeg_gnn's Welch PSD vs. one rfft (the floor), scipy.signal.welch and MNE.

    python benchmarks/bench_features.py

All compute the same PSD (Hann, 2 s segments, no overlap, constant detrend; tests/test_features.py checks
equality with scipy and MNE). Two call sizes: what the pipeline passes for one EEGMAT recording (15 windows of
19 nodes x 4 s at 128 Hz), repeated as often as there are recordings in EEGMAT (48), and one call on 3000
windows. Each line prints the best of 5 timings and the ratio to ``numpy.fft.rfft`` of the same segments, the
named baseline measured in the same run.
"""

from __future__ import annotations

import time

import numpy as np
from mne.time_frequency import psd_array_welch
from scipy.signal import welch

from eeg_gnn.signal.features import band_power, welch_psd

N_NODES, SFREQ, WINDOW_S = 19, 128.0, 4.0
N_PER_SEG = int(2 * SFREQ)
REPEATS = 5


def best_of(function, calls: int) -> float:
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, time.perf_counter() - start)
    return best


def compare(n_windows: int, calls: int, label: str) -> None:
    rng = np.random.default_rng(0)
    windows = rng.normal(0, 1e-5, (n_windows, N_NODES, int(SFREQ * WINDOW_S)))
    segments = windows.reshape(n_windows, N_NODES, -1, N_PER_SEG)
    candidates = {
        "numpy.fft.rfft of the segments (floor)": lambda: np.fft.rfft(segments, axis=-1),
        "eeg_gnn welch_psd": lambda: welch_psd(windows, SFREQ),
        "eeg_gnn band_power (PSD + 5 bands + log)": lambda: band_power(windows, SFREQ),
        "scipy.signal.welch": lambda: welch(windows, SFREQ, window="hann", nperseg=N_PER_SEG, noverlap=0, axis=-1),
        "MNE psd_array_welch": lambda: psd_array_welch(windows, SFREQ, n_fft=N_PER_SEG, n_per_seg=N_PER_SEG,
                                                       window="hann", verbose="error"),
    }
    _, ours = welch_psd(windows, SFREQ)
    theirs, _ = psd_array_welch(windows, SFREQ, n_fft=N_PER_SEG, n_per_seg=N_PER_SEG, window="hann", verbose="error")
    print(f"\n{label}: {calls} call(s) of {n_windows} windows x {N_NODES} nodes x {WINDOW_S:g} s at {SFREQ:g} Hz "
          f"(PSD identical to MNE: {np.allclose(ours, theirs, rtol=1e-10, atol=0)})")
    floor = None
    for name, function in candidates.items():
        seconds = best_of(function, calls)
        floor = floor or seconds
        print(f"  {name:<44} {seconds * 1e3:9.2f} ms   x{seconds / floor:5.1f} of the rfft floor")


def main() -> None:
    compare(15, 48, "Pipeline call size (one EEGMAT recording per call, 48 recordings)")
    compare(3000, 1, "One large call")


if __name__ == "__main__":
    main()
