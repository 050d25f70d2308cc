"""Per-window alpha PLV: eeg_gnn's ``connectivity(..., 'plv')`` vs. mne-connectivity's ``spectral_connectivity_time``.

    pip install mne-connectivity   # only this benchmark needs it
    python benchmarks/bench_connectivity.py

At the call size of the pipeline: one EEGMAT recording per call (15 windows of 19 nodes x 4 s at 128 Hz), 48
calls, alpha band (8-13 Hz). The two do not compute the same estimate: eeg_gnn takes the phase of the analytic
signal of the band-passed window (zero-phase Butterworth + Hilbert), mne-connectivity the phase of Morlet wavelet
coefficients at each frequency of the band, averaged over the band (``faverage=True``); both give one 19 x 19
matrix per window. Printed: best of 5 timings and the ratio to mne-connectivity, the named baseline, and how
closely the two matrices agree (Pearson correlation of the off-diagonal entries).
"""

from __future__ import annotations

import numpy as np
from bench_features import best_of

from eeg_gnn.signal.graph import connectivity

N_WINDOWS, N_NODES, SFREQ, WINDOW_S, CALLS = 15, 19, 128.0, 4.0, 48
FMIN, FMAX = 8.0, 13.0


def main() -> None:
    from mne_connectivity import spectral_connectivity_time

    rng = np.random.default_rng(0)
    times = np.arange(int(SFREQ * WINDOW_S)) / SFREQ
    shared = np.sin(2 * np.pi * 10 * times + rng.uniform(0, 2 * np.pi, (N_WINDOWS, 1, 1)))
    windows = 1e-5 * (rng.standard_normal((N_WINDOWS, N_NODES, times.size)) + 0.5 * shared)
    freqs = np.arange(FMIN, FMAX + 0.5, 1.0)

    def ours():
        return connectivity(windows, SFREQ, "plv", fmin=FMIN, fmax=FMAX)

    def theirs():
        result = spectral_connectivity_time(windows, freqs, method="plv", sfreq=SFREQ, fmin=FMIN, fmax=FMAX,
                                            faverage=True, mode="cwt_morlet", n_cycles=freqs / 2,
                                            verbose="error")
        return result.get_data(output="dense")[..., 0]

    ours_s, theirs_s = best_of(ours, CALLS), best_of(theirs, CALLS)
    mine, other = ours(), theirs()
    other = other + np.transpose(other, (0, 2, 1))
    upper = np.triu_indices(N_NODES, 1)
    agreement = np.corrcoef(mine[:, upper[0], upper[1]].ravel(), other[:, upper[0], upper[1]].ravel())[0, 1]
    print(f"per-window alpha PLV, {CALLS} calls of {N_WINDOWS} windows x {N_NODES} nodes x {WINDOW_S:g} s at "
          f"{SFREQ:g} Hz (best of 5)")
    print(f"  mne-connectivity spectral_connectivity_time (baseline) {theirs_s:7.2f} s")
    print(f"  eeg_gnn connectivity(..., 'plv')                       {ours_s:7.2f} s   x{theirs_s / ours_s:.1f}")
    print(f"  agreement of the two estimates (Pearson r over window x pair): {agreement:.2f}")


if __name__ == "__main__":
    main()
