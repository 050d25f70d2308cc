"""How well ``--bad-channels interpolate`` rebuilds an electrode of real EEG: zero one node of an EEGMAT recording,
rebuild it by spherical-spline interpolation from the others, and correlate it with what was recorded there.

    python scripts/check_interpolation.py [SUBJECT_RECORDING ...]      # default Subject00_2 Subject05_2 Subject10_2

Reads ``$EEG_GNN_DATA/eegmat``; both signals go through the same steps (1-45 Hz band-pass, 128 Hz, the recorded
reference), and the correlation is over every sample of every window of the node.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from eeg_gnn.signal.io import read_recording
from eeg_gnn.signal.preprocessing import Preprocessing, preprocess

NODES = ("Fz", "Cz", "P3", "O1", "T7")
STEPS = {"l_freq": 1.0, "h_freq": 45.0, "resample_sfreq": 128.0, "reference": "as-recorded"}


def rebuilt_correlation(path: Path, node: str) -> float:
    """Correlation of the interpolated ``node`` with the recorded one, after the same preprocessing."""
    raw = read_recording(path)
    truth = preprocess(raw, Preprocessing(**STEPS))
    damaged = raw.copy()
    label = {"T7": "T3", "T8": "T4", "P7": "T5", "P8": "T6"}.get(node, node)
    damaged._data[[c.split()[-1] for c in damaged.ch_names].index(label)] = 0.0
    rebuilt = preprocess(damaged, Preprocessing(**STEPS, bad_channels="interpolate"))
    index = truth.node_names.index(node)
    return float(np.corrcoef(truth.data[:, index].ravel(), rebuilt.data[:, index].ravel())[0, 1])


def main(argv: list[str]) -> int:
    folder = Path(os.environ.get("EEG_GNN_DATA", "~/eeg_gnn_data")).expanduser() / "eegmat"
    for name in argv or ["Subject00_2", "Subject05_2", "Subject10_2"]:
        scores = ", ".join(f"{node} r = {rebuilt_correlation(folder / f'{name}.edf', node):.2f}" for node in NODES)
        print(f"{name}: {scores}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
