"""Adjacency matrices for EEG brain graphs.

Nodes are electrodes in a fixed order. Edges come either from the geometry of the electrode
positions (:func:`distance_adjacency`) or from the functional coupling of the signals within
each window (:func:`connectivity`). Every matrix built here is symmetric with a zero diagonal:
self-loops are left to the graph layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from eeg_gnn.utils.parallel import blas_threads
from eeg_gnn.utils.validation import check_integer, check_option, check_positive, check_real

if TYPE_CHECKING:
    from torch import Tensor

CONNECTIVITY_METHODS = ("plv", "wpli", "dwpli", "coherence", "correlation")
_SPECTRAL = ("wpli", "dwpli", "coherence")
DISTANCE_METHODS = ("gaussian", "knn", "threshold")

_FILTER_ORDER = 4
_CHUNK_ELEMENTS = 2**22
_WPLI_RELATIVE_TOLERANCE = 1e-10


def distance_adjacency(
    positions: ArrayLike,
    method: str = "gaussian",
    *,
    sigma: float | None = None,
    k: int | None = None,
    threshold: float | None = None,
) -> np.ndarray:
    """Adjacency matrix from the distances between electrodes.

    Parameters
    ----------
    positions : array_like, shape (n_nodes, 3)
        Electrode positions in millimetres.
    method : {'gaussian', 'knn', 'threshold'}
        ``'gaussian'``: weighted, ``exp(-d_ij**2 / (2 * sigma**2))``.
        ``'knn'``: binary, ``i ~ j`` if ``j`` is among the ``k`` nearest electrodes of ``i``
        or ``i`` among the ``k`` nearest of ``j``, so every node has at least ``k``
        neighbours; ties in distance go to the lower node index.
        ``'threshold'``: binary, ``i ~ j`` if ``d_ij <= threshold``.
    sigma : float, optional
        Width of the Gaussian kernel in millimetres, only for ``'gaussian'``. Defaults to the
        mean distance from each electrode to its nearest neighbour, so adjacent electrodes get
        weights around ``exp(-1/2) ~ 0.61`` whatever the montage density.
    k : int, optional
        Number of nearest neighbours, only for ``'knn'``, in ``1 .. n_nodes - 1``.
        Defaults to 4.
    threshold : float
        Largest distance in millimetres that still makes an edge; required for
        ``'threshold'`` and only used there.

    Returns
    -------
    adjacency : ndarray, shape (n_nodes, n_nodes)
        Symmetric float64 matrix with a zero diagonal.

    Raises
    ------
    ValueError
        On an unknown method, a parameter that belongs to another method, malformed or
        duplicate positions, or an out-of-range ``sigma``, ``k`` or ``threshold``.
    """
    check_option("method", method, DISTANCE_METHODS)
    for name, value, owner in (
        ("sigma", sigma, "gaussian"),
        ("k", k, "knn"),
        ("threshold", threshold, "threshold"),
    ):
        if value is not None and method != owner:
            raise ValueError(f"'{name}' is only used by method='{owner}', not method='{method}'.")

    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 3 or positions.shape[0] < 2:
        raise ValueError(
            f"positions must have shape (n_nodes, 3) with n_nodes >= 2, got shape {positions.shape}."
        )
    if not np.isfinite(positions).all():
        bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
        raise ValueError(f"positions of nodes {bad.tolist()} are not finite.")

    n_nodes = positions.shape[0]
    distances = np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)
    off_diagonal = ~np.eye(n_nodes, dtype=bool)
    duplicates = np.argwhere((distances == 0) & off_diagonal)
    if duplicates.size:
        first, second = duplicates[0]
        raise ValueError(
            f"Nodes {first} and {second} have identical positions {positions[first].tolist()}; "
            "missing electrode locations are often stored as zeros."
        )

    if method == "gaussian":
        if sigma is None:
            sigma = np.where(off_diagonal, distances, np.inf).min(axis=1).mean()
        sigma = check_positive("sigma", sigma)
        adjacency = np.exp(-(distances**2) / (2 * sigma**2))
    elif method == "knn":
        k = check_integer("k", 4 if k is None else k, 1, n_nodes - 1)
        ranked = np.where(off_diagonal, distances, np.inf)
        nearest = np.argsort(ranked, axis=1, kind="stable")[:, :k]
        adjacency = np.zeros((n_nodes, n_nodes))
        np.put_along_axis(adjacency, nearest, 1.0, axis=1)
        adjacency = np.maximum(adjacency, adjacency.T)
    else:
        if threshold is None:
            raise ValueError("method='threshold' requires the 'threshold' parameter (in mm).")
        threshold = check_positive("threshold", threshold)
        adjacency = (distances <= threshold).astype(np.float64)
    np.fill_diagonal(adjacency, 0.0)
    return adjacency


def connectivity(
    windows: ArrayLike,
    sfreq: float,
    method: str,
    *,
    fmin: float | None,
    fmax: float | None,
    absolute: bool = True,
    segment_length: int | None = None,
) -> np.ndarray:
    """Functional connectivity between all pairs of electrodes, for every window.

    All windows are processed together (in chunks that bound memory use), never one by one.

    Parameters
    ----------
    windows : array_like, shape (n_windows, n_nodes, n_times)
        Real-valued, finite signals.
    sfreq : float
        Sampling frequency in Hz.
    method : {'plv', 'wpli', 'dwpli', 'coherence', 'correlation'}
        ``'plv'``: phase-locking value ``|mean_t exp(i (phi_a - phi_b))|``, with phases
        taken from the analytic signal (:func:`scipy.signal.hilbert`) of the band-passed
        signal. Samples where the analytic amplitude is exactly 0 contribute nothing.

        ``'wpli'``: weighted phase-lag index (Vinck et al., 2011),
        ``|E[Im S_ab]| / E[|Im S_ab|]``. The expectation runs over the sub-segments of each
        window (see ``segment_length``); the index is computed per frequency bin in
        ``[fmin, fmax)`` (half-open, like the band powers) and then averaged over those bins. With few sub-segments it is
        biased upwards (about ``1 / sqrt(n_segments)`` for independent signals). It is 0
        where the denominator vanishes, including when the imaginary parts are only
        rounding error (relative size below 1e-10), as for an exact zero-lag copy.

        ``'dwpli'``: the debiased squared wPLI of Vinck et al. (2011),
        ``((sum Im)**2 - sum Im**2) / ((sum |Im|)**2 - sum Im**2)`` over the same sub-segments: unbiased for
        independent signals even with few segments, estimating wPLI squared; negative estimates (chance) are
        set to 0 so that the adjacency stays non-negative.

        ``'coherence'``: magnitude-squared coherence ``|S_ab|**2 / (S_aa S_bb)`` of the
        Welch cross-spectra of each window, averaged over the frequency bins in
        ``[fmin, fmax]``. 0 where a power spectrum is 0.

        ``'correlation'``: Pearson correlation of the band-passed signals, or of the raw
        signals when ``fmin`` and ``fmax`` are both None.
    fmin, fmax : float | None
        Frequency band in Hz, with ``0 <= fmin < fmax < sfreq / 2``. Required for
        ``'plv'``, ``'wpli'`` and ``'coherence'``. For ``'correlation'``, None (or
        ``fmin=0``) leaves that side of the band unfiltered. Band-passing uses a
        4th-order Butterworth filter applied forwards and backwards (zero phase,
        :func:`scipy.signal.sosfiltfilt`) within each window.
    absolute : bool
        Only for ``'correlation'``: return ``|r|`` (default), since graph convolutions need
        non-negative weights; False keeps the signed correlation in ``[-1, 1]``.
    segment_length : int, optional
        Only for ``'wpli'`` and ``'coherence'``: length in samples of the sub-segments whose
        FFTs estimate the cross-spectra (Hann taper, mean removed, 50% overlap, no
        multitapers). Defaults to ``min(round(sfreq), n_times // 2)``, that is 1 s segments
        and a 1 Hz resolution when windows are at least 2 s long. Each window must hold at
        least 2 segments and at least one frequency bin must lie in ``[fmin, fmax]``.

    Returns
    -------
    adjacency : ndarray, shape (n_windows, n_nodes, n_nodes)
        Symmetric float64 matrices with a zero diagonal, values in ``[0, 1]`` (in
        ``[-1, 1]`` for signed correlation). Rows and columns of a channel that is constant
        within a window are 0 in that window.

    Raises
    ------
    ValueError
        On an unknown method, malformed or non-finite windows, a non-positive ``sfreq``,
        an invalid band, or windows too short for the filter or the segments.
    TypeError
        If ``windows`` is not a real numeric array or ``sfreq``, ``fmin``, ``fmax`` are not
        numbers.
    """
    from scipy.signal import get_window, sosfiltfilt

    check_option("method", method, CONNECTIVITY_METHODS)
    windows = _check_windows(windows)
    sfreq = check_positive("sfreq", sfreq)
    fmin, fmax = _check_band(fmin, fmax, sfreq, method)
    n_windows, n_nodes, n_times = windows.shape

    if method in _SPECTRAL:
        segment_length, step, n_segments, bins = _plan_segments(
            n_times, sfreq, fmin, fmax, segment_length
        )
        taper = get_window("hann", segment_length)
        if method != "coherence":
            per_window = 3 * (bins.stop - bins.start) * n_nodes**2 * n_segments // 2
        else:
            per_window = 2 * n_nodes * n_segments * segment_length

        def compute(chunk):
            spectra = _segment_spectra(chunk, segment_length, step, taper, bins)
            if method == "coherence":
                return _coherence(spectra)
            return _wpli(spectra, debiased=method == "dwpli")

    else:
        if segment_length is not None:
            raise ValueError(
                f"'segment_length' is only used by methods 'wpli', 'dwpli' and 'coherence', "
                f"not method='{method}'."
            )
        sos = _design_filter(sfreq, fmin, fmax, n_times)
        per_window = 4 * n_nodes * n_times

        def compute(chunk):
            if sos is not None:
                chunk = sosfiltfilt(sos, chunk, axis=-1, padlen=_padding(sos))
            return _plv(chunk) if method == "plv" else _correlation(chunk, absolute)

    adjacency = np.empty((n_windows, n_nodes, n_nodes))
    chunk_size = max(1, _CHUNK_ELEMENTS // per_window)
    for start in range(0, n_windows, chunk_size):
        chunk = np.asarray(windows[start : start + chunk_size], dtype=np.float64)
        adjacency[start : start + chunk_size] = compute(chunk)

    adjacency = 0.5 * (adjacency + adjacency.swapaxes(1, 2))
    flat = np.ptp(windows, axis=-1) == 0
    adjacency[flat[:, :, None] | flat[:, None, :]] = 0.0
    low = -1.0 if method == "correlation" and not absolute else 0.0
    np.clip(adjacency, low, 1.0, out=adjacency)
    adjacency[:, np.arange(n_nodes), np.arange(n_nodes)] = 0.0
    return adjacency


def check_adjacency(
    adjacency: ArrayLike,
    n_nodes: int | None = None,
    *,
    non_negative: bool = True,
    name: str = "adjacency",
) -> np.ndarray:
    """Validate one adjacency matrix or a batch of them.

    Parameters
    ----------
    adjacency : array_like, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
        Real-valued matrices.
    n_nodes : int, optional
        Expected number of nodes; not checked when None.
    non_negative : bool
        Whether negative weights are rejected.
    name : str
        Name of the array in error messages.

    Returns
    -------
    adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
        The input as float64 (not copied when it already is float64).

    Raises
    ------
    TypeError
        If the array is not real numeric.
    ValueError
        If it has the wrong number of dimensions, is not square, has another number of
        nodes than ``n_nodes``, holds NaN or infinite values, is not symmetric (largest
        ``|A_ij - A_ji|`` above ``1e-8 * max |A|``), or is negative while
        ``non_negative`` is True. The message names the offending shape, index or value.
    """
    array = np.asarray(adjacency)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}.")
    array = array.astype(np.float64, copy=False)
    shape = array.shape
    if array.ndim not in (2, 3):
        raise ValueError(
            f"{name} must have shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes), "
            f"got shape {shape}."
        )
    if shape[-1] != shape[-2]:
        raise ValueError(f"{name} must be square in its last two dimensions, got shape {shape}.")
    if array.size == 0:
        raise ValueError(f"{name} is empty, got shape {shape}.")
    if n_nodes is not None and shape[-1] != n_nodes:
        raise ValueError(
            f"{name} has {shape[-1]} nodes (shape {shape}), expected n_nodes={n_nodes}."
        )

    finite = np.isfinite(array)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(
            f"{name} contains {np.count_nonzero(~finite)} non-finite value(s) (NaN or infinite), "
            f"first {array[index]} at index {index} (shape {shape})."
        )
    asymmetry = np.abs(array - array.swapaxes(-1, -2))
    if asymmetry.max() > 1e-8 * np.abs(array).max():
        index = np.unravel_index(np.argmax(asymmetry), shape)
        transposed = (*index[:-2], index[-1], index[-2])
        raise ValueError(
            f"{name} is not symmetric: value {array[index]} at index {tuple(map(int, index))} "
            f"but {array[transposed]} at index {tuple(map(int, transposed))} (shape {shape})."
        )
    if non_negative and array.min() < 0:
        index = np.unravel_index(np.argmin(array), shape)
        raise ValueError(
            f"{name} must be non-negative, but has the negative value {array[index]} "
            f"at index {tuple(map(int, index))} (shape {shape})."
        )
    return array


def sparsify(
    adjacency: ArrayLike, *, top_k: int | None = None, threshold: float | None = None
) -> np.ndarray:
    """Keep only the strongest edges.

    Strength is the absolute weight, so signed matrices are handled; kept edges keep their
    sign. The diagonal is left unchanged and never counts as an edge.

    Parameters
    ----------
    adjacency : array_like, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
        Symmetric matrices (see :func:`check_adjacency`).
    top_k : int, optional
        Keep an edge if it is among the ``top_k`` strongest edges of either endpoint
        (union), so the result stays symmetric and every node keeps at least ``top_k``
        edges (fewer non-zero ones only if it had fewer non-zero weights) and possibly more.
        Ties go to the lower node index. Must be in ``1 .. n_nodes - 1``.
    threshold : float, optional
        Zero every edge whose absolute weight is below ``threshold`` (>= 0).

    Returns
    -------
    sparse : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
        New float64 array; the input is not modified.

    Raises
    ------
    ValueError
        Unless exactly one of ``top_k`` and ``threshold`` is given, if either is out of
        range, or if the adjacency is invalid.
    """
    if (top_k is None) == (threshold is None):
        raise ValueError(
            f"Give exactly one of 'top_k' and 'threshold', got top_k={top_k!r} and "
            f"threshold={threshold!r}."
        )
    adjacency = check_adjacency(adjacency, non_negative=False)
    n_nodes = adjacency.shape[-1]
    diagonal = np.eye(n_nodes, dtype=bool)
    strength = np.abs(adjacency)
    if threshold is not None:
        threshold = check_real("threshold", threshold)
        if threshold < 0:
            raise ValueError(f"threshold must be non-negative, got {threshold}.")
        keep = strength >= threshold
    else:
        top_k = check_integer("top_k", top_k, 1, n_nodes - 1)
        ranked = np.where(diagonal, -np.inf, strength)
        strongest = np.argsort(-ranked, axis=-1, kind="stable")[..., :top_k]
        keep = np.zeros(adjacency.shape, dtype=bool)
        np.put_along_axis(keep, strongest, True, axis=-1)
        keep |= keep.swapaxes(-1, -2)
    return np.where(keep | diagonal, adjacency, 0.0)


def dense_to_edge_index(adjacency: ArrayLike) -> tuple[Tensor, Tensor]:
    """Convert a dense adjacency matrix to PyTorch Geometric ``edge_index``/``edge_weight``.

    Parameters
    ----------
    adjacency : array_like, shape (n_nodes, n_nodes)
        Symmetric matrix (see :func:`check_adjacency`; negative weights are allowed).

    Returns
    -------
    edge_index : torch.Tensor, shape (2, n_edges)
        int64 source (row) and target (column) indices of the non-zero off-diagonal entries,
        in row-major order; a symmetric matrix yields both directions of every edge.
    edge_weight : torch.Tensor, shape (n_edges,)
        float32 weights of those entries.

    Raises
    ------
    ValueError
        If the matrix is batched (3-D) or invalid.
    """
    adjacency = check_adjacency(adjacency, non_negative=False)
    if adjacency.ndim != 2:
        raise ValueError(
            f"dense_to_edge_index expects one (n_nodes, n_nodes) matrix, got shape "
            f"{adjacency.shape}; convert each window separately."
        )
    import torch
    from torch_geometric.utils import dense_to_sparse

    off_diagonal = adjacency * ~np.eye(adjacency.shape[0], dtype=bool)
    return dense_to_sparse(torch.from_numpy(off_diagonal.astype(np.float32)))


def _plv(signals):
    from scipy.signal import hilbert

    analytic = hilbert(signals, axis=-1)
    amplitude = np.abs(analytic)
    phasors = np.divide(analytic, amplitude, out=np.zeros_like(analytic), where=amplitude > 0)
    return np.abs(_gram(phasors)) / signals.shape[-1]


def _correlation(signals, absolute):
    centred = signals - signals.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(centred, axis=-1, keepdims=True)
    correlation = _gram(np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 0))
    return np.abs(correlation) if absolute else correlation


def _gram(vectors):
    """``vectors @ vectors^H`` over the last axis, for stacks of matrices (on one BLAS thread: see
    :func:`eeg_gnn.utils.parallel.blas_threads`)."""
    with blas_threads(1):
        return vectors @ vectors.conj().swapaxes(-1, -2)


def _segment_spectra(signals, segment_length, step, taper, bins):
    """Tapered FFTs of overlapping sub-segments, shape (n_windows, n_bins, n_nodes, n_segments)."""
    segments = sliding_window_view(signals, segment_length, axis=-1)[:, :, ::step]
    segments = (segments - segments.mean(axis=-1, keepdims=True)) * taper
    return np.fft.rfft(segments, axis=-1)[..., bins].transpose(0, 3, 1, 2)


def _coherence(spectra):
    cross = _gram(spectra)
    power = np.diagonal(cross, axis1=-2, axis2=-1).real
    denominator = power[..., :, None] * power[..., None, :]
    coherence = np.divide(
        np.abs(cross) ** 2, denominator, out=np.zeros(cross.shape), where=denominator > 0
    )
    return coherence.mean(axis=1)


def _wpli(spectra, debiased=False):
    n_nodes = spectra.shape[-2]
    rows, columns = np.triu_indices(n_nodes, k=1)
    real, imag = spectra.real, spectra.imag
    imaginary_cross = imag[..., rows, :] * real[..., columns, :]
    imaginary_cross -= real[..., rows, :] * imag[..., columns, :]
    total = imaginary_cross.sum(axis=-1)
    squares = np.square(imaginary_cross).sum(axis=-1) if debiased else 0.0
    numerator = np.abs(total) if not debiased else total * total - squares
    denominator = np.abs(imaginary_cross, out=imaginary_cross).sum(axis=-1)
    if debiased:
        denominator = denominator * denominator - squares
    scale = _gram(np.abs(spectra))[..., rows, columns]
    wpli = np.divide(
        numerator,
        denominator,
        out=np.zeros(numerator.shape),
        where=denominator > _WPLI_RELATIVE_TOLERANCE * (scale * scale if debiased else scale),
    )
    wpli = np.clip(wpli, 0.0, 1.0).mean(axis=1) if debiased else wpli.mean(axis=1)
    adjacency = np.zeros((spectra.shape[0], n_nodes, n_nodes))
    adjacency[:, rows, columns] = wpli
    adjacency[:, columns, rows] = wpli
    return adjacency


def _design_filter(sfreq, fmin, fmax, n_times):
    from scipy.signal import butter

    low = fmin is not None and fmin > 0
    high = fmax is not None
    if not (low or high):
        return None
    if low and high:
        sos = butter(_FILTER_ORDER, [fmin, fmax], btype="bandpass", fs=sfreq, output="sos")
    elif low:
        sos = butter(_FILTER_ORDER, fmin, btype="highpass", fs=sfreq, output="sos")
    else:
        sos = butter(_FILTER_ORDER, fmax, btype="lowpass", fs=sfreq, output="sos")
    if n_times <= _padding(sos):
        raise ValueError(
            f"Windows of {n_times} samples are too short for the zero-phase filter, which "
            f"pads {_padding(sos)} samples on each side; use longer windows."
        )
    return sos


def _padding(sos):
    return 3 * (2 * len(sos) + 1)


def _plan_segments(n_times, sfreq, fmin, fmax, segment_length):
    if segment_length is None:
        segment_length = min(round(sfreq), n_times // 2)
    else:
        segment_length = check_integer("segment_length", segment_length, 2, n_times)
    step = max(1, segment_length // 2)
    n_segments = (n_times - segment_length) // step + 1 if segment_length >= 2 else 0
    if n_segments < 2:
        raise ValueError(
            f"Windows of {n_times} samples hold {n_segments} segment(s) of {segment_length} "
            "samples with 50% overlap; wPLI and coherence need at least 2. Use longer windows "
            "or a shorter segment_length."
        )
    frequencies = np.fft.rfftfreq(segment_length, 1 / sfreq)
    in_band = np.flatnonzero((frequencies >= fmin) & (frequencies < fmax))
    if in_band.size == 0:
        raise ValueError(
            f"No frequency bin of {segment_length}-sample segments (resolution "
            f"{sfreq / segment_length:g} Hz) lies in [fmin, fmax] = [{fmin:g}, {fmax:g}] Hz; "
            "widen the band or increase segment_length."
        )
    return segment_length, step, n_segments, slice(in_band[0], in_band[-1] + 1)


def _check_windows(windows):
    windows = np.asarray(windows)
    if windows.dtype.kind not in "iuf":
        raise TypeError(f"windows must be a real numeric array, got dtype {windows.dtype}.")
    if windows.ndim != 3:
        raise ValueError(
            "windows must have shape (n_windows, n_nodes, n_times), got an array with "
            f"{windows.ndim} dimension(s) and shape {windows.shape}."
        )
    if windows.size == 0:
        raise ValueError(f"windows is empty, got shape {windows.shape}.")
    finite = np.isfinite(windows)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(
            f"windows contains {np.count_nonzero(~finite)} non-finite value(s), "
            f"first at index {index}."
        )
    return windows


def _check_band(fmin, fmax, sfreq, method):
    if method != "correlation" and (fmin is None or fmax is None):
        raise ValueError(
            f"method='{method}' needs a frequency band, but got fmin={fmin} and fmax={fmax}."
        )
    if fmin is not None:
        fmin = check_real("fmin", fmin)
        if fmin < 0:
            raise ValueError(f"fmin must be non-negative, got fmin={fmin:g}.")
    if fmax is not None:
        fmax = check_real("fmax", fmax)
        nyquist = sfreq / 2
        if not 0 < fmax < nyquist:
            raise ValueError(
                f"fmax must be positive and below the Nyquist frequency sfreq / 2 = "
                f"{nyquist:g} Hz (sfreq={sfreq:g} Hz), but got fmax={fmax:g}."
            )
    if fmin is not None and fmax is not None and fmin >= fmax:
        raise ValueError(f"fmin must be lower than fmax, but got fmin={fmin:g} and fmax={fmax:g}.")
    return fmin, fmax


#: Graph controls: what replaces a graph to measure what it adds (see :func:`control_adjacency`).
CONTROLS = {
    "no_edges": "the same network without edges (each node sees only itself)",
    "shuffled": "the same network on a node-permuted graph (same edge weights and degrees)",
    "rewired": "the same network on the graph rewired keeping every electrode's weighted degree",
    "uniform": "the same network on an all-to-all graph of one weight (the graph's mean edge weight)",
}
#: Moves of :func:`rewired_adjacency` per node pair.
REWIRING_MOVES_PER_PAIR = 10


def control_adjacency(adjacency: np.ndarray, control: str, rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """The graph of a control: no edges, node-permuted, rewired (:func:`rewired_adjacency`) or uniform
    (:func:`uniform_adjacency`).

    Parameters
    ----------
    adjacency : ndarray, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
    control : 'no_edges' | 'shuffled' | 'rewired' | 'uniform'
    rng : numpy.random.Generator
        Drawn from by ``'shuffled'`` and ``'rewired'`` only, once for all windows.

    Returns
    -------
    adjacency : ndarray, same shape as the input, or (n_nodes, n_nodes) of zeros for ``'no_edges'``
    permutation : list of int
        For ``'shuffled'``, ``new[..., i, j] = old[..., p[i], p[j]]``, never the identity; empty for the others.
    """
    check_option("controls", control, CONTROLS)
    n_nodes = adjacency.shape[-1]
    if control == "no_edges":
        return np.zeros((n_nodes, n_nodes), dtype=adjacency.dtype), []
    if control == "rewired":
        return rewired_adjacency(adjacency, rng), []
    if control == "uniform":
        return uniform_adjacency(adjacency), []
    permutation = np.arange(n_nodes)
    while n_nodes > 1 and np.array_equal(permutation, np.arange(n_nodes)):
        permutation = rng.permutation(n_nodes)
    return np.ascontiguousarray(adjacency[..., permutation, :][..., :, permutation]), permutation.tolist()


def rewired_adjacency(adjacency: ArrayLike, rng: np.random.Generator, *,
                      moves_per_pair: int = REWIRING_MOVES_PER_PAIR) -> np.ndarray:
    """The graph randomly rewired, every node keeping its weighted degree (strength) exactly.

    Each move takes four distinct nodes ``a, b, c, d`` and shifts weight around the cycle ``a-b-c-d-a``: ``+delta``
    on ``(a, b)`` and ``(c, d)``, ``-delta`` on ``(b, c)`` and ``(d, a)``, so every node gains and loses ``delta``
    (a weighted form of the degree-preserving double edge swap of Maslov & Sneppen 2002, *Science* 296:910-913).
    ``delta`` is drawn uniformly from the values that keep all four weights within ``[0, w_max]`` (``w_max``: the
    graph's largest weight); on a binary graph it is one end of that range, so the graph stays binary and a move is
    a double edge swap (``a-d, b-c`` replaced by ``a-b, c-d``) or nothing. ``moves_per_pair`` moves per node pair
    are made.

    Preserved exactly (up to rounding): symmetry, the zero diagonal, every node's weighted degree and so the total
    weight, weights within ``[0, w_max]``; binary graphs stay binary with every node's degree. Not preserved: which
    electrodes are joined, and (weighted graphs) the distribution of the weights.

    Parameters
    ----------
    adjacency : array_like, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)
        Symmetric, non-negative, zero diagonal. Per-window graphs are rewired by one draw: the same moves (nodes
        and the position of ``delta`` within each window's own range) in every window.
    rng : numpy.random.Generator
    moves_per_pair : int

    Returns
    -------
    ndarray, same shape, float64
        A new array; a graph of fewer than 4 nodes, which has no such cycle, is returned as a copy.
    """
    adjacency = check_adjacency(adjacency)
    rewired = np.array(adjacency, dtype=np.float64)
    n_nodes = rewired.shape[-1]
    if n_nodes < 4:
        return rewired
    graphs = rewired.reshape(-1, n_nodes, n_nodes)
    ceiling = graphs.max(axis=(1, 2))
    binary = bool(np.isin(graphs, (0.0, 1.0)).all())
    n_moves = moves_per_pair * n_nodes * (n_nodes - 1) // 2
    cycles = rng.random((n_moves, n_nodes)).argsort(axis=1)[:, :4]
    positions = rng.integers(0, 2, n_moves).astype(np.float64) if binary else rng.random(n_moves)
    for (a, b, c, d), position in zip(cycles, positions):
        gained, lost = (graphs[:, a, b], graphs[:, c, d]), (graphs[:, b, c], graphs[:, d, a])
        low = -np.minimum(np.minimum(gained[0], gained[1]), np.minimum(ceiling - lost[0], ceiling - lost[1]))
        high = np.minimum(np.minimum(lost[0], lost[1]), np.minimum(ceiling - gained[0], ceiling - gained[1]))
        delta = low + position * (high - low)
        for i, j, sign in ((a, b, 1.0), (c, d, 1.0), (b, c, -1.0), (d, a, -1.0)):
            graphs[:, i, j] += sign * delta
            graphs[:, j, i] = graphs[:, i, j]
    np.clip(graphs, 0.0, ceiling[:, None, None], out=graphs)
    return rewired


def uniform_adjacency(adjacency: ArrayLike) -> np.ndarray:
    """Every pair of nodes joined with one weight: the graph's mean off-diagonal weight (per window for per-window
    graphs), so the total weight and the mean weighted degree equal the graph's.

    Parameters
    ----------
    adjacency : array_like, shape (n_nodes, n_nodes) or (n_windows, n_nodes, n_nodes)

    Returns
    -------
    ndarray, same shape, float64, zero diagonal
    """
    adjacency = check_adjacency(adjacency, non_negative=False)
    n_nodes = adjacency.shape[-1]
    off_diagonal = ~np.eye(n_nodes, dtype=bool)
    mean = adjacency[..., off_diagonal].mean(axis=-1)
    return mean[..., None, None] * off_diagonal
