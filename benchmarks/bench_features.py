"""Band-power features: eeg_gnn's batched Welch PSD vs. MNE's psd_array_welch on the same windows.

    python benchmarks/bench_features.py

Both compute the same PSD (Hann, 2 s segments, no overlap; tests/test_features.py checks equality).
Prints the time of each and the speed-up ratio against MNE, the named baseline.
"""

from __future__ import annotations

import time

import numpy as np
from mne.time_frequency import psd_array_welch

from eeg_gnn.signal.features import welch_psd

N_WINDOWS, N_NODES, SFREQ, WINDOW_S = 3000, 19, 128.0, 4.0


def main() -> None:
    rng = np.random.default_rng(0)
    windows = rng.normal(0, 1e-5, (N_WINDOWS, N_NODES, int(SFREQ * WINDOW_S)))
    n_per_seg = int(2 * SFREQ)
    start = time.perf_counter()
    _, ours = welch_psd(windows, SFREQ)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs, _ = psd_array_welch(windows, SFREQ, n_fft=n_per_seg, n_per_seg=n_per_seg, window="hann", verbose="error")
    mne_s = time.perf_counter() - start
    same = np.allclose(ours, theirs)
    print(f"eeg_gnn welch_psd: {ours_s:.2f} s; MNE psd_array_welch: {mne_s:.2f} s; speed-up x{mne_s / ours_s:.1f}; "
          f"identical: {same} ({N_WINDOWS} windows x {N_NODES} nodes x {WINDOW_S:g} s at {SFREQ:g} Hz)")


if __name__ == "__main__":
    main()
