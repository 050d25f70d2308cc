"""Spatial covariance matrices of band-filtered windows: the input of Riemannian (tangent-space) classifiers.

Each window is band-pass filtered in every band (zero-phase Butterworth, :func:`scipy.signal.sosfiltfilt`, run on
all windows and nodes at once) and its node-by-node covariance estimated with the oracle approximating shrinkage
estimator (OAS; Chen et al. 2010, *IEEE Trans. Signal Process.* 58:5016-5029), the formula of scikit-learn's
:func:`sklearn.covariance.oas` applied to every window at once (``tests/test_baselines.py`` checks they agree;
``benchmarks/bench_covariance.py`` measures the speed against one ``oas`` call per window). Shrinkage keeps the matrices symmetric positive definite even when the average reference makes the sample
covariance singular (the nodes then sum to zero), as Riemannian geometry needs. Signals are in volts; the matrices
are in µV².
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from eeg_gnn.signal.features import check_bands
from eeg_gnn.utils.parallel import blas_threads
from eeg_gnn.utils.validation import check_option

COVARIANCE_ESTIMATORS = ("oas", "scm")
FILTER_ORDER = 4


def band_filter(windows: np.ndarray, sfreq: float, bands: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """Every window band-pass filtered in every band (zero phase, Butterworth of order :data:`FILTER_ORDER`).

    A band starting at 0 Hz is low-pass filtered.

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_nodes, n_times)
    sfreq : float
    bands : dict of str to (fmin, fmax)

    Returns
    -------
    ndarray, shape (n_windows, n_bands, n_nodes, n_times)
    """
    from scipy.signal import butter, sosfiltfilt

    bands = check_bands(bands, sfreq)
    if windows.ndim != 3:
        raise ValueError(f"windows must have shape (n_windows, n_nodes, n_times), got {windows.shape}.")
    out = np.empty((windows.shape[0], len(bands), *windows.shape[1:]))
    for index, (fmin, fmax) in enumerate(bands.values()):
        edges, kind = ([fmin, fmax], "bandpass") if fmin > 0 else (fmax, "lowpass")
        if fmax >= sfreq / 2:
            edges, kind = fmin, "highpass"
        sos = butter(FILTER_ORDER, edges, btype=kind, fs=sfreq, output="sos")
        out[:, index] = sosfiltfilt(sos, windows, axis=-1)
    return out


def band_covariance(windows: np.ndarray, sfreq: float, bands: Mapping[str, tuple[float, float]],
                    estimator: str = "oas") -> np.ndarray:
    """Shrinkage covariance of every window in every band.

    Parameters
    ----------
    windows : ndarray, shape (n_windows, n_nodes, n_times)
        Signals in volts.
    sfreq : float
        Sampling rate in Hz.
    bands : dict of str to (fmin, fmax)
        Frequency bands in Hz.
    estimator : 'oas' | 'scm'
        Oracle approximating shrinkage, or the sample covariance (singular for average-referenced data).

    Returns
    -------
    ndarray, shape (n_windows, n_bands, n_nodes, n_nodes)
        Symmetric matrices in µV².
    """
    check_option("covariance", estimator, COVARIANCE_ESTIMATORS)
    filtered = band_filter(windows, sfreq, bands) * 1e6
    filtered -= filtered.mean(axis=-1, keepdims=True)
    n_times = filtered.shape[-1]
    with blas_threads(1):  # stacks of small products: see eeg_gnn.utils.parallel.blas_threads
        sample = filtered @ np.swapaxes(filtered, -1, -2) / n_times
    return sample if estimator == "scm" else oas_shrink(sample, n_times)


def oas_shrink(sample: np.ndarray, n_samples: int) -> np.ndarray:
    """Oracle approximating shrinkage of sample covariances towards a scaled identity (scikit-learn's formula).

    Parameters
    ----------
    sample : ndarray, shape (..., n_nodes, n_nodes)
        Sample covariances (normalised by ``n_samples``).
    n_samples : int
        Time samples each was estimated from.

    Returns
    -------
    ndarray, shape (..., n_nodes, n_nodes)
    """
    n_nodes = sample.shape[-1]
    alpha = np.mean(sample**2, axis=(-2, -1))
    mu = np.trace(sample, axis1=-2, axis2=-1) / n_nodes
    numerator = alpha + mu**2
    denominator = (n_samples + 1) * (alpha - mu**2 / n_nodes)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrinkage = np.where(denominator == 0, 1.0, np.minimum(numerator / denominator, 1.0))
    shrunk = (1 - shrinkage)[..., None, None] * sample
    shrunk += (shrinkage * mu)[..., None, None] * np.eye(n_nodes)
    return shrunk
