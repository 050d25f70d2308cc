"""Datasets: descriptors, recordings with subjects and labels, cached features, verified downloads.

Dataset plug-ins whose layouts a file-name rule cannot describe (CHB-MIT, SEED, DEAP) register their readers,
layouts and splitters when this package is imported.
"""

from eeg_gnn.data import chbmit, emotion  # noqa: F401  (registers the plug-ins)
from eeg_gnn.signal.io import read_recording

__all__ = ["read_recording"]
