"""Datasets: descriptors, recordings with subjects and labels, cached features, verified downloads.

Dataset plug-ins whose layouts a file-name rule cannot describe (CHB-MIT, SEED, DEAP, BIDS) register their
readers, layouts and splitters when this package is imported.
"""

from eeg_gnn.data import bids, chbmit, emotion  # noqa: F401  (registers the plug-ins)
from eeg_gnn.data.bids import load_bids
from eeg_gnn.signal.io import read_recording

__all__ = ["load_bids", "read_recording"]
