"""Band-wise OAS covariances: eeg_gnn's batched formula vs. scikit-learn's oas called once per window and band.

    python benchmarks/bench_covariance.py

Both give the same matrices (tests/test_baselines.py checks equality); the band filtering is shared and not timed.
Prints the time of each and the speed-up ratio against scikit-learn's ``oas``, the named baseline.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.covariance import oas

from eeg_gnn.signal.covariance import band_filter, oas_shrink
from eeg_gnn.signal.features import DEFAULT_BANDS

N_WINDOWS, N_NODES, SFREQ, WINDOW_S = 1500, 19, 128.0, 4.0


def main() -> None:
    rng = np.random.default_rng(0)
    windows = rng.normal(0, 1e-5, (N_WINDOWS, N_NODES, int(SFREQ * WINDOW_S)))
    filtered = band_filter(windows, SFREQ, DEFAULT_BANDS) * 1e6
    start = time.perf_counter()
    centred = filtered - filtered.mean(axis=-1, keepdims=True)
    ours = oas_shrink(centred @ np.swapaxes(centred, -1, -2) / centred.shape[-1], centred.shape[-1])
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = np.array([[oas(band.T)[0] for band in window] for window in filtered])
    sklearn_s = time.perf_counter() - start
    same = np.allclose(ours, theirs, rtol=1e-10)
    print(f"eeg_gnn oas_shrink: {ours_s:.2f} s; scikit-learn oas per window: {sklearn_s:.2f} s; speed-up "
          f"x{sklearn_s / ours_s:.1f}; identical: {same} ({N_WINDOWS} windows x {len(DEFAULT_BANDS)} bands x "
          f"{N_NODES} nodes x {WINDOW_S:g} s at {SFREQ:g} Hz)")


if __name__ == "__main__":
    main()
