from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import hilbert

from eeg_gnn.signal import graph
from eeg_gnn.signal.graph import (
    CONNECTIVITY_METHODS,
    DISTANCE_METHODS,
    check_adjacency,
    connectivity,
    dense_to_edge_index,
    distance_adjacency,
    sparsify,
)

SFREQ = 128.0
N_TIMES = int(60 * SFREQ)


def _pair(first, second):
    return np.stack([first, second])[np.newaxis]


def _edge(windows, method, **kwargs):
    kwargs = {"fmin": 8.0, "fmax": 12.0} | kwargs
    return connectivity(windows, SFREQ, method, **kwargs)[0, 0, 1]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def source(rng):
    return rng.standard_normal(N_TIMES)


@pytest.fixture
def positions(rng):
    directions = rng.standard_normal((12, 3))
    return 90.0 * directions / np.linalg.norm(directions, axis=1, keepdims=True)


def test_plv_of_phase_lagged_sines_is_near_one(rng):
    times = np.arange(N_TIMES) / SFREQ
    first = np.sin(2 * np.pi * 10 * times) + 0.1 * rng.standard_normal(N_TIMES)
    second = np.sin(2 * np.pi * 10 * times + 0.8) + 0.1 * rng.standard_normal(N_TIMES)
    assert _edge(_pair(first, second), "plv") > 0.95


def test_independent_noise_gives_weak_coupling(rng):
    windows = _pair(rng.standard_normal(N_TIMES), rng.standard_normal(N_TIMES))
    assert _edge(windows, "plv") < 0.3
    assert _edge(windows, "wpli") < 0.3
    assert _edge(windows, "coherence") < 0.1
    assert _edge(windows, "correlation") < 0.1


def test_zero_lag_copy_has_high_plv_and_no_wpli(rng, source):
    exact = _pair(source, 0.7 * source)
    assert _edge(exact, "plv") > 0.999
    assert _edge(exact, "wpli") == 0.0
    noisy = _pair(
        source + 0.1 * rng.standard_normal(N_TIMES),
        0.7 * source + 0.1 * rng.standard_normal(N_TIMES),
    )
    assert _edge(noisy, "plv") > 0.9
    assert _edge(noisy, "wpli") < 0.3


def test_quarter_cycle_lag_gives_wpli_near_one(rng, source):
    lagged = np.imag(hilbert(source)) + 0.1 * rng.standard_normal(N_TIMES)
    assert _edge(_pair(source, lagged), "wpli") > 0.95


def test_coherence_of_identical_signals_is_one(source):
    assert _edge(_pair(source, source), "coherence") == pytest.approx(1.0)


def test_correlation_sign_and_absolute_value(source):
    windows = _pair(source, -source)
    assert _edge(windows, "correlation", absolute=False) == pytest.approx(-1.0)
    assert _edge(windows, "correlation") == pytest.approx(1.0)
    raw = connectivity(windows, SFREQ, "correlation", fmin=None, fmax=None, absolute=False)
    assert raw[0, 0, 1] == pytest.approx(-1.0)


@pytest.mark.parametrize("method", CONNECTIVITY_METHODS)
def test_connectivity_is_batched_symmetric_and_bounded(rng, method, monkeypatch):
    windows = rng.standard_normal((7, 5, 512))
    windows[3] += 2 * windows[3, :1]
    expected = np.stack(
        [connectivity(window[np.newaxis], SFREQ, method, fmin=8, fmax=12)[0] for window in windows]
    )
    monkeypatch.setattr(graph, "_CHUNK_ELEMENTS", 1)
    adjacency = connectivity(windows.astype(np.float32), SFREQ, method, fmin=8, fmax=12)
    assert adjacency.shape == (7, 5, 5)
    assert adjacency.dtype == np.float64
    np.testing.assert_allclose(adjacency, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(adjacency, adjacency.swapaxes(1, 2))
    np.testing.assert_array_equal(np.diagonal(adjacency, axis1=1, axis2=2), 0.0)
    assert adjacency.min() >= 0.0
    assert adjacency.max() <= 1.0
    check_adjacency(adjacency, n_nodes=5)


@pytest.mark.parametrize("method", CONNECTIVITY_METHODS)
def test_flat_channel_is_disconnected(rng, method):
    windows = rng.standard_normal((2, 3, 512))
    windows[1, 2] = 5.0
    adjacency = connectivity(windows, SFREQ, method, fmin=8, fmax=12)
    np.testing.assert_array_equal(adjacency[1, 2], 0.0)
    np.testing.assert_array_equal(adjacency[1, :, 2], 0.0)
    assert adjacency[0, 2].sum() > 0


def test_invalid_method_lists_allowed_values(rng):
    message = (
        "Invalid value for the 'method' parameter. Allowed values are 'plv', 'wpli', 'dwpli', "
        "'coherence', 'correlation', but got 'pvl' instead."
    )
    with pytest.raises(ValueError, match=message):
        connectivity(rng.standard_normal((1, 2, 512)), SFREQ, "pvl", fmin=8, fmax=12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"windows": np.zeros((2, 512))}, ValueError, r"2 dimension\(s\) and shape \(2, 512\)"),
        ({"windows": np.zeros((1, 2, 512), complex)}, TypeError, "real numeric"),
        ({"fmax": 64.0}, ValueError, r"Nyquist frequency sfreq / 2 = 64 Hz .* fmax=64"),
        ({"fmin": 12.0, "fmax": 8.0}, ValueError, "fmin=12 and fmax=8"),
        ({"sfreq": 0.0}, ValueError, "'sfreq' must be > 0"),
        ({"sfreq": "128"}, TypeError, "'sfreq' must be a number"),
        ({"fmin": None}, ValueError, "needs a frequency band"),
        ({"fmin": 8.2, "fmax": 8.8}, ValueError, r"No frequency bin .* \(resolution 1 Hz\)"),
        ({"segment_length": 512}, ValueError, "at least 2"),
        ({"method": "plv", "segment_length": 64}, ValueError, "only used by methods 'wpli'"),
        ({"windows": np.zeros((1, 2, 20)), "method": "plv"}, ValueError, "too short"),
        ({"windows": np.full((1, 2, 512), np.nan)}, ValueError, "non-finite"),
    ],
)
def test_connectivity_validation(kwargs, error, match):
    arguments = {
        "windows": np.zeros((1, 2, 512)),
        "sfreq": SFREQ,
        "method": "wpli",
        "fmin": 8.0,
        "fmax": 12.0,
    } | kwargs
    with pytest.raises(error, match=match):
        connectivity(**arguments)


def test_gaussian_adjacency_decreases_with_distance(positions):
    adjacency = distance_adjacency(positions)
    distances = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    upper = np.triu_indices(len(positions), k=1)
    order = np.argsort(distances[upper])
    assert np.all(np.diff(adjacency[upper][order]) <= 0)
    np.testing.assert_array_equal(adjacency, adjacency.T)
    np.testing.assert_array_equal(np.diag(adjacency), 0.0)


def test_gaussian_default_width_is_mean_nearest_neighbour_distance():
    positions = np.array([[0.0, 0, 0], [10, 0, 0], [0, 30, 0]])
    sigma = np.mean([10.0, 10.0, 30.0])
    adjacency = distance_adjacency(positions)
    assert adjacency[0, 1] == pytest.approx(np.exp(-(10.0**2) / (2 * sigma**2)))
    assert distance_adjacency(positions, sigma=10.0)[0, 1] == pytest.approx(np.exp(-0.5))


@pytest.mark.parametrize("k", [1, 4, 11])
def test_knn_adjacency_gives_every_node_k_nearest(positions, k):
    adjacency = distance_adjacency(positions, "knn", k=k)
    assert set(np.unique(adjacency)) <= {0.0, 1.0}
    np.testing.assert_array_equal(adjacency, adjacency.T)
    np.testing.assert_array_equal(np.diag(adjacency), 0.0)
    assert np.all(adjacency.sum(axis=1) >= k)
    distances = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1)[:, :k]
    assert np.all(np.take_along_axis(adjacency, nearest, axis=1) == 1.0)


def test_threshold_adjacency(positions):
    adjacency = distance_adjacency(positions, "threshold", threshold=80.0)
    distances = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    expected = (distances <= 80.0) & ~np.eye(len(positions), dtype=bool)
    np.testing.assert_array_equal(adjacency, expected.astype(float))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("threshold",), {}, "requires the 'threshold' parameter"),
        (("knn",), {"sigma": 3.0}, "'sigma' is only used by method='gaussian'"),
        (("knn",), {"k": 12}, "k must be between 1 and 11, got k=12"),
        (("gaussian",), {"sigma": -1.0}, "'sigma' must be > 0"),
        (("gausian",), {}, "Allowed values are 'gaussian', 'knn', 'threshold'"),
    ],
)
def test_distance_adjacency_validation(positions, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        distance_adjacency(positions, *args, **kwargs)


def test_distance_adjacency_rejects_bad_positions(positions):
    with pytest.raises(ValueError, match=r"shape \(n_nodes, 3\).*got shape \(12, 2\)"):
        distance_adjacency(positions[:, :2])
    duplicated = positions.copy()
    duplicated[5] = duplicated[2]
    with pytest.raises(ValueError, match="Nodes 2 and 5 have identical positions"):
        distance_adjacency(duplicated)


def test_methods_constants():
    assert CONNECTIVITY_METHODS == ("plv", "wpli", "dwpli", "coherence", "correlation")
    assert DISTANCE_METHODS == ("gaussian", "knn", "threshold")


def test_check_adjacency_accepts_and_converts():
    adjacency = np.array([[0, 1], [1, 0]], dtype=np.int64)
    checked = check_adjacency(adjacency, n_nodes=2)
    assert checked.dtype == np.float64
    batched = check_adjacency(np.stack([checked, 2 * checked]))
    assert batched.shape == (2, 2, 2)
    check_adjacency(-checked, non_negative=False)


@pytest.mark.parametrize(
    ("adjacency", "kwargs", "match"),
    [
        (np.zeros((2, 3)), {}, r"must be square .* got shape \(2, 3\)"),
        (np.zeros(4), {}, r"got shape \(4,\)"),
        (np.array([[0.0, 1.0], [0.5, 0.0]]), {}, r"not symmetric: value 1.0 at index \(0, 1\)"),
        (np.array([[0.0, np.nan], [np.nan, 0.0]]), {}, r"2 non-finite value\(s\)"),
        (np.array([[0.0, -1.0], [-1.0, 0.0]]), {}, r"negative value -1.0 at index \(0, 1\)"),
        (np.zeros((2, 2)), {"n_nodes": 3}, r"has 2 nodes \(shape \(2, 2\)\), expected n_nodes=3"),
        (np.zeros((2, 2)), {"name": "weights", "n_nodes": 3}, "^weights has 2 nodes"),
    ],
)
def test_check_adjacency_rejects(adjacency, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_adjacency(adjacency, **kwargs)


def test_check_adjacency_rejects_non_numeric():
    with pytest.raises(TypeError, match="real numeric"):
        check_adjacency(np.array([["a", "b"], ["b", "a"]]))


def _random_adjacency(rng, shape):
    weights = rng.random(shape)
    weights = weights + weights.swapaxes(-1, -2)
    weights[..., np.arange(shape[-1]), np.arange(shape[-1])] = 0.0
    return weights


@pytest.mark.parametrize("top_k", [1, 3, 9])
def test_sparsify_top_k_keeps_union_of_each_nodes_strongest(rng, top_k):
    adjacency = _random_adjacency(rng, (10, 10))
    sparse = sparsify(adjacency, top_k=top_k)
    np.testing.assert_array_equal(sparse, sparse.T)
    kept = sparse != 0
    assert np.all(kept.sum(axis=1) >= top_k)
    ranks = np.argsort(np.argsort(-adjacency, axis=1), axis=1)
    in_top_k = ranks < top_k
    np.testing.assert_array_equal(kept, in_top_k | in_top_k.T)
    np.testing.assert_array_equal(sparse[kept], adjacency[kept])


def test_sparsify_batched_matches_single(rng):
    adjacency = _random_adjacency(rng, (4, 6, 6))
    for sparse, single in zip(sparsify(adjacency, top_k=2), adjacency, strict=True):
        np.testing.assert_array_equal(sparse, sparsify(single, top_k=2))
    thresholded = sparsify(adjacency, threshold=1.0)
    np.testing.assert_array_equal(thresholded, np.where(adjacency >= 1.0, adjacency, 0.0))


def test_sparsify_uses_absolute_strength_and_keeps_sign():
    adjacency = np.array([[0.0, -0.9, 0.2], [-0.9, 0.0, 0.1], [0.2, 0.1, 0.0]])
    np.testing.assert_array_equal(
        sparsify(adjacency, threshold=0.5),
        [[0.0, -0.9, 0.0], [-0.9, 0.0, 0.0], [0.0, 0.0, 0.0]],
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one of 'top_k' and 'threshold'"),
        ({"top_k": 2, "threshold": 0.5}, "exactly one of 'top_k' and 'threshold'"),
        ({"top_k": 0}, "top_k must be between 1 and 4"),
        ({"top_k": 5}, "top_k must be between 1 and 4"),
        ({"threshold": -0.1}, "threshold must be non-negative"),
    ],
)
def test_sparsify_validation(rng, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sparsify(_random_adjacency(rng, (5, 5)), **kwargs)


def test_dense_to_edge_index_round_trip():
    adjacency = np.array([[3.0, 0.5, 0.0], [0.5, 0.0, 2.0], [0.0, 2.0, 0.0]])
    edge_index, edge_weight = dense_to_edge_index(adjacency)
    assert edge_index.dtype == torch.int64
    assert edge_weight.dtype == torch.float32
    assert edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert edge_weight.tolist() == [0.5, 0.5, 2.0, 2.0]
    dense = np.zeros_like(adjacency)
    dense[edge_index[0].numpy(), edge_index[1].numpy()] = edge_weight.numpy()
    np.testing.assert_array_equal(dense, adjacency * (1 - np.eye(3)))


def test_dense_to_edge_index_rejects_batches():
    with pytest.raises(ValueError, match=r"one \(n_nodes, n_nodes\) matrix, got shape \(2, 3, 3\)"):
        dense_to_edge_index(np.zeros((2, 3, 3)))


def test_typical_input_size_runs(rng):
    windows = rng.standard_normal((300, 19, 512)).astype(np.float32)
    for method in CONNECTIVITY_METHODS:
        assert connectivity(windows, SFREQ, method, fmin=4, fmax=30).shape == (300, 19, 19)


def test_debiased_wpli_removes_most_of_the_few_segment_bias(rng):
    from scipy.signal import hilbert

    n_windows, n_times = 100, 512
    independent = rng.standard_normal((n_windows, 2, n_times))
    biased = connectivity(independent, SFREQ, "wpli", fmin=8, fmax=13)[:, 0, 1].mean()
    debiased = connectivity(independent, SFREQ, "dwpli", fmin=8, fmax=13)[:, 0, 1].mean()
    assert biased > 0.3 and debiased < 0.2
    source = rng.standard_normal((n_windows, n_times))
    lagged = np.stack([source, np.imag(hilbert(source))], axis=1)
    coupled = connectivity(lagged, SFREQ, "dwpli", fmin=8, fmax=13)
    assert coupled[:, 0, 1].mean() > 0.95
    assert (coupled >= 0).all() and (coupled <= 1).all()
    np.testing.assert_allclose(coupled, np.swapaxes(coupled, 1, 2))
