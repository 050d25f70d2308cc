"""Bootstrap CI over subjects: eeg_gnn's pairwise-table method vs. calling scikit-learn per resample.

    python benchmarks/bench_bootstrap.py

Prints the time of each and their ratio (baseline: roc_auc_score on the resampled windows, same draws).
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import roc_auc_score

from eeg_gnn.evaluation.metrics import bootstrap_ci

N_SUBJECTS, N_WINDOWS, N_BOOT = 24, 20_000, 200


def main() -> None:
    rng = np.random.default_rng(0)
    clusters = rng.integers(0, N_SUBJECTS, N_WINDOWS)
    y = rng.integers(0, 2, N_WINDOWS)
    p1 = np.clip(0.5 + 0.2 * (y - 0.5) + rng.normal(0, 0.2, N_WINDOWS), 0, 1)
    proba = np.column_stack([1 - p1, p1])
    start = time.perf_counter()
    bootstrap_ci(y, proba, clusters, ["roc_auc"], n_boot=N_BOOT)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    members = [np.flatnonzero(clusters == c) for c in range(N_SUBJECTS)]
    for _ in range(N_BOOT):
        drawn = np.concatenate([members[c] for c in rng.integers(0, N_SUBJECTS, N_SUBJECTS)])
        roc_auc_score(y[drawn], p1[drawn])
    baseline = time.perf_counter() - start
    print(f"eeg_gnn bootstrap_ci: {ours:.3f} s; sklearn per resample: {baseline:.3f} s; "
          f"speed-up x{baseline / ours:.1f} ({N_BOOT} resamples, {N_WINDOWS} windows, {N_SUBJECTS} subjects)")


if __name__ == "__main__":
    main()
