"""eeg-gnn: scalp EEG recordings as brain graphs, classified by graph neural networks under cross-subject validation.

The public API is imported lazily: ``import eeg_gnn`` loads no torch, MNE or matplotlib until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_API = {
    # reading and channels
    "read_recording": "eeg_gnn.data",
    "match_channels": "eeg_gnn.signal.montage",
    "positions": "eeg_gnn.signal.montage",
    "resolve_nodes": "eeg_gnn.signal.montage",
    # windows, features, graphs
    "Preprocessing": "eeg_gnn.signal.preprocessing",
    "preprocess": "eeg_gnn.signal.preprocessing",
    "Windows": "eeg_gnn.signal.preprocessing",
    "band_power": "eeg_gnn.signal.features",
    "connectivity": "eeg_gnn.signal.graph",
    "distance_adjacency": "eeg_gnn.signal.graph",
    "sparsify": "eeg_gnn.signal.graph",
    # evaluation
    "SubjectKFold": "eeg_gnn.evaluation.splitters",
    "LeaveOneSubjectOut": "eeg_gnn.evaluation.splitters",
    "TimeBlockSplit": "eeg_gnn.evaluation.splitters",
    "time_blocks": "eeg_gnn.evaluation.splitters",
    "classification_metrics": "eeg_gnn.evaluation.metrics",
    # datasets
    "load_dataset": "eeg_gnn.data.datasets",
    "load_folder": "eeg_gnn.data.datasets",
    "load_bids": "eeg_gnn.data.bids",
    # models
    "GCNClassifier": "eeg_gnn.models.classifiers",
    "ChebClassifier": "eeg_gnn.models.classifiers",
    "GraphClassifier": "eeg_gnn.models.estimator",
    "make_baseline": "eeg_gnn.models.baselines",
    # runs
    "TrainConfig": "eeg_gnn.pipeline.config",
    "run_cv": "eeg_gnn.pipeline.experiment",
    "load_run": "eeg_gnn.pipeline.runs",
    "build_review": "eeg_gnn.review.build",
    "ReviewSettings": "eeg_gnn.review.settings",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'eeg_gnn' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
