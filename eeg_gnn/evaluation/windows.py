"""The window table: who and where every window is, one row per window and one array per column.

Every per-window record of the pipeline extends it: the training samples (features and graphs,
:class:`eeg_gnn.models.training.Samples`) and the saved predictions (:class:`eeg_gnn.evaluation.scoring.Predictions`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np


@dataclass
class WindowTable:
    """One row per window.

    Attributes
    ----------
    labels : ndarray of int, shape (n_windows,)
        Class index of each window.
    subjects, recordings : ndarray of str, shape (n_windows,)
    groups : ndarray of str, shape (n_windows,)
        The unit the folds split by: the subject, a time block for within-patient CV, or a dataset protocol's group.
    window_index : ndarray of int, shape (n_windows,)
        Position of the window within its recording.
    onsets : ndarray, shape (n_windows,)
        Start of the window in seconds from the start of its recording.
    """

    labels: np.ndarray
    subjects: np.ndarray
    recordings: np.ndarray
    groups: np.ndarray
    window_index: np.ndarray
    onsets: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def table(self, rows: Any = slice(None)) -> dict[str, np.ndarray]:
        """The window-table columns of the selected rows (a mask or indices), to build another record from."""
        return {f.name: getattr(self, f.name)[rows] for f in fields(WindowTable)}
