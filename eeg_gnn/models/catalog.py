"""The names of the graph models, their backends and the baselines: what settings are checked against.

Nothing here imports torch or scikit-learn, so reading or validating a configuration (``train.py --help``, an
experiment file) stays instant; :mod:`eeg_gnn.models.classifiers` and :mod:`eeg_gnn.models.baselines` build what
these names stand for.
"""

from __future__ import annotations

from dataclasses import dataclass

MODELS = ("gcn", "cheb")
#: How graph models run: batched dense matrix products (fixed node set) or PyG message passing.
BACKENDS = ("dense", "pyg")


@dataclass(frozen=True)
class Baseline:
    """A named baseline: what it is called in results, what it reads, and how it is made.

    Attributes
    ----------
    name : str
    description : str
        Plain-language name for tables and reports.
    input : 'features' | 'covariance'
        Flattened node features (n_windows, n_nodes * n_bands), or band-wise covariance matrices
        (n_windows, n_bands, n_nodes, n_nodes).
    """

    name: str
    description: str
    input: str


BASELINES = {
    "logreg": Baseline("logreg", "logistic regression on the node features (C by inner CV over subjects)",
                       "features"),
    "tangent_space": Baseline("tangent_space", "Riemannian tangent space of band-wise covariances (OAS) + logistic "
                              "regression (C by inner CV over subjects)", "covariance"),
}
