"""What each node of a window carries into a graph model: its band features, its row of the band-wise covariance
mapped to a tangent space, and optional spatial centring.

``bands``
    The node's features per band (``--features``: log power, relative power or differential entropy).
``tangent``
    The node's row of every band's covariance matrix mapped to the tangent space of symmetric positive definite
    matrices at the Riemannian mean of the *training* windows (Barachant et al. 2012, *IEEE Trans. Biomed. Eng.*
    59:920-928; Barachant et al. 2013, *Neurocomputing* 112:172-178): with ``M`` the reference,
    ``S = logm(M^-1/2 C M^-1/2)`` and node ``i`` gets ``S[i, :]`` of every band, ``n_bands * n_nodes`` values.
    This is what the tangent-space baseline classifies (there as the upper triangle, flattened), split so that
    each electrode holds its own row. The reference is fitted on the training subjects of a fold only (no labels)
    and saved with the fold.
``bands+tangent``
    Both, side by side.

Spatial centring subtracts, in every window, the mean over nodes of each feature (for band power: each band's mean
over electrodes), removing what all electrodes share in that window (overall amplitude, the subject's gain); no
labels and no other window are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eeg_gnn.models.catalog import NODE_FEATURES, needs_covariance
from eeg_gnn.utils.validation import check_option

__all__ = ["NODE_FEATURES", "NodeFeatures", "needs_covariance", "tangent_rows"]

def _uses_tangent(kind: str) -> bool:
    return "tangent" in kind


def tangent_rows(covariance: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each node's row of every band's covariance log-mapped at ``reference``.

    Parameters
    ----------
    covariance : ndarray, shape (n_windows, n_bands, n_nodes, n_nodes)
        Symmetric positive definite matrices.
    reference : ndarray, shape (n_bands, n_nodes, n_nodes)
        The point of tangency of each band.

    Returns
    -------
    ndarray, shape (n_windows, n_nodes, n_bands * n_nodes)
        ``out[w, i, b * n_nodes + j] = logm(M_b^-1/2 C_wb M_b^-1/2)[i, j]``.
    """
    from pyriemann.geometry.tangentspace import log_map_riemann

    covariance = _check_covariance(covariance)
    if reference.shape != covariance.shape[1:]:
        raise ValueError(f"reference must have shape {covariance.shape[1:]} for covariances of shape "
                         f"{covariance.shape}, got {reference.shape}.")
    mapped = np.stack([log_map_riemann(covariance[:, band], reference[band])
                       for band in range(covariance.shape[1])], axis=2)
    n_windows, n_bands, n_nodes = covariance.shape[:3]
    return mapped.reshape(n_windows, n_nodes, n_bands * n_nodes)


def _check_covariance(covariance) -> np.ndarray:
    covariance = np.asarray(covariance, dtype=np.float64)
    if covariance.ndim != 4 or covariance.shape[2] != covariance.shape[3]:
        raise ValueError(f"covariance must have shape (n_windows, n_bands, n_nodes, n_nodes), got "
                         f"{covariance.shape}.")
    return covariance


@dataclass
class NodeFeatures:
    """The node inputs of a graph model, fitted on a fold's training windows (see the module docstring).

    Parameters
    ----------
    kind : 'bands' | 'tangent' | 'bands+tangent'
    centring : bool
        Subtract each feature's mean over the nodes of its window.
    reference : ndarray, shape (n_bands, n_nodes, n_nodes), optional
        The tangent-space reference, set by :meth:`fit`.
    """

    kind: str = "bands"
    centring: bool = False
    reference: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_option("node_features", self.kind, NODE_FEATURES)

    def fit(self, covariance: np.ndarray | None) -> NodeFeatures:
        """Fit the tangent-space reference (each band's Riemannian mean) on training windows; no labels.

        Parameters
        ----------
        covariance : ndarray, shape (n_windows, n_bands, n_nodes, n_nodes), or None when ``kind`` is 'bands'
        """
        if not _uses_tangent(self.kind):
            return self
        from pyriemann.geometry.mean import mean_riemann

        covariance = self._covariance(covariance)
        self.reference = np.stack([mean_riemann(covariance[:, band]) for band in range(covariance.shape[1])])
        return self

    def transform(self, features: np.ndarray, covariance: np.ndarray | None = None) -> np.ndarray:
        """The node inputs of every window.

        Parameters
        ----------
        features : ndarray, shape (n_windows, n_nodes, n_bands)
        covariance : ndarray, shape (n_windows, n_bands, n_nodes, n_nodes), or None when ``kind`` is 'bands'

        Returns
        -------
        ndarray of float32, shape (n_windows, n_nodes, n_features)
            ``n_features`` is ``n_bands`` (bands), ``n_bands * n_nodes`` (tangent) or their sum.
        """
        parts = []
        if self.kind != "tangent":
            parts.append(np.asarray(features, dtype=np.float64))
        if _uses_tangent(self.kind):
            if self.reference is None:
                raise ValueError("NodeFeatures with tangent rows must be fitted on training covariances first.")
            rows = tangent_rows(self._covariance(covariance), self.reference)
            if rows.shape[:2] != np.shape(features)[:2]:
                raise ValueError(f"covariance has {rows.shape[0]} windows of {rows.shape[1]} nodes; the features "
                                 f"have shape {np.shape(features)}.")
            parts.append(rows)
        out = np.concatenate(parts, axis=2)
        if self.centring:
            out = out - out.mean(axis=1, keepdims=True)
        return out.astype(np.float32)

    def _covariance(self, covariance) -> np.ndarray:
        if covariance is None:
            raise ValueError(f"--node-features {self.kind} needs the band-wise covariance matrices of the windows "
                             "(extract features with a covariance estimator).")
        return _check_covariance(covariance)

    def state(self) -> dict:
        """Plain values and a tensor, for a weights-only checkpoint."""
        import torch

        state = {"kind": self.kind, "centring": self.centring}
        if self.reference is not None:
            state["reference"] = torch.from_numpy(np.ascontiguousarray(self.reference))
        return state

    @classmethod
    def from_state(cls, state: dict | None) -> NodeFeatures:
        """The inverse of :meth:`state`; a checkpoint without one used the band features alone."""
        if not state:
            return cls()
        reference = state.get("reference")
        return cls(state["kind"], bool(state["centring"]), None if reference is None else reference.numpy())
