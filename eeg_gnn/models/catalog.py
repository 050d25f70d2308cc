"""The names of the graph models, their backends and the baselines: what settings are checked against.

Nothing here imports torch or scikit-learn, so reading or validating a configuration (``train.py --help``, an
experiment file) stays instant; :mod:`eeg_gnn.models.classifiers` and :mod:`eeg_gnn.models.baselines` build what
these names stand for.
"""

from __future__ import annotations

from dataclasses import dataclass

from eeg_gnn.utils.validation import check_option

MODELS = ("gcn", "cheb", "dgcnn", "gat", "gin", "tangent_graph")
#: Graph models that are scikit-learn pipelines (fitted like the baselines, saved with skops), not networks.
ESTIMATOR_MODELS = ("tangent_graph",)
#: How a graph model turns its node embeddings into one vector per graph (see
#: :class:`eeg_gnn.models.classifiers.GraphClassifierBase`).
READOUTS = {
    "pool": "mean and max over the nodes (montage-free: which electrode is which is forgotten)",
    "flatten": "the node embeddings in electrode order, concatenated (DGCNN, Song et al. 2018; one montage)",
}
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
    "csp_lda": Baseline("csp_lda", "common spatial patterns (6 filters, log variance) of the covariance summed over "
                        "the bands (8-30 Hz with the motor_imagery bands mu, beta) + linear discriminant analysis",
                        "covariance"),
}
#: The baselines a run scores unless told otherwise (``--baselines``); the others are named to be used.
DEFAULT_BASELINES = ("logreg", "tangent_space")

#: What each node can carry into a graph model (see :mod:`eeg_gnn.models.node_features`).
NODE_FEATURES = {
    "bands": "the node's features per band (--features)",
    "tangent": "the node's row of each band's covariance in the tangent space at the training windows' "
               "Riemannian mean",
    "bands+tangent": "both",
}


def needs_covariance(node_features: str) -> bool:
    """Whether node features ``node_features`` (a key of :data:`NODE_FEATURES`) read the windows' band-wise
    covariance matrices."""
    return "tangent" in check_option("node_features", node_features, NODE_FEATURES)

#: Device types on which each graph model draws its dropout masks from a generator of its own
#: (:func:`eeg_gnn.models.training.initialised_model`), so that models can train at the same time in threads.
OWN_GENERATOR_DEVICES = ("cpu", "cuda")
