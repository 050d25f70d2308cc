"""Graph controls: no edges, node-permuted, rewired and uniform graphs, trained like the graph model on the same
folds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eeg_gnn.evaluation.splitters import Fold
from eeg_gnn.models.classifiers import build_model, make_batch
from eeg_gnn.signal.graph import control_adjacency, rewired_adjacency, uniform_adjacency


def test_shuffled_graph_keeps_edge_weights_and_degrees_on_other_nodes():
    rng = np.random.default_rng(0)
    weights = rng.uniform(size=(6, 6))
    adjacency = np.triu(weights, 1) + np.triu(weights, 1).T
    shuffled, permutation = control_adjacency(adjacency, "shuffled", np.random.default_rng(1))
    assert sorted(permutation) == list(range(6)) and permutation != list(range(6))
    np.testing.assert_allclose(shuffled, adjacency[np.ix_(permutation, permutation)])
    np.testing.assert_allclose(np.sort(shuffled.ravel()), np.sort(adjacency.ravel()))
    np.testing.assert_allclose(np.sort(shuffled.sum(1)), np.sort(adjacency.sum(1)))
    np.testing.assert_allclose(shuffled, shuffled.T)
    assert not np.allclose(shuffled, adjacency)


def test_per_window_graphs_share_one_permutation():
    stack = np.random.default_rng(2).uniform(size=(3, 5, 5))
    shuffled, permutation = control_adjacency(stack, "shuffled", np.random.default_rng(3))
    for window in range(3):
        np.testing.assert_allclose(shuffled[window], stack[window][np.ix_(permutation, permutation)])


def test_no_edges_is_one_empty_graph():
    empty, permutation = control_adjacency(np.ones((4, 6, 6)), "no_edges", np.random.default_rng(0))
    assert empty.shape == (6, 6) and not empty.any() and permutation == []
    with pytest.raises(ValueError, match="'controls' parameter"):
        control_adjacency(np.ones((6, 6)), "random", np.random.default_rng(0))


@pytest.mark.parametrize("name", ["gcn", "cheb"])
def test_without_edges_each_nodes_output_depends_on_that_node_only(name):
    torch.manual_seed(0)
    model = build_model(name, 3, 2, hidden_channels=8, n_layers=2, dropout=0.0).eval()
    conv = model.convs[0]
    features = torch.randn(1, 5, 3)
    x, edge_index, edge_weight, _ = make_batch(features, torch.zeros(5, 5))
    assert edge_index.shape == (2, 0)
    changed = features.clone()
    changed[0, 0] += 1.0
    before = conv(x, edge_index, edge_weight)
    after = conv(changed.reshape(5, 3), edge_index, edge_weight)
    assert not torch.allclose(before[0], after[0])
    torch.testing.assert_close(before[1:], after[1:])


def test_inner_cv_too_small_fails_before_training_saying_what_it_needs(cohort, tmp_path):
    from eeg_gnn.data.datasets import load_dataset
    from eeg_gnn.data.extraction import extract_dataset
    from eeg_gnn.pipeline.config import TrainConfig
    from eeg_gnn.pipeline.experiment import build_samples, check_inner_folds

    config = TrainConfig(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(tmp_path),
                         progress=False, baselines=("logreg",))
    dataset = load_dataset("folder", cohort)
    extracted, _ = extract_dataset(dataset, config.preprocessing(), config.feature_spec(), progress=False)
    samples = build_samples(config, dataset, extracted)
    small = Fold(0, ("sub-00", "sub-04", "sub-05"), (), ("sub-01",))
    with pytest.raises(ValueError, match="1 subject.*'control'.*at least 2 subjects of each class"):
        check_inner_folds(config, [small], samples, dataset.classes)
    check_inner_folds(TrainConfig(**{**config.to_dict(), "baselines": ()}), [small], samples, dataset.classes)
    with pytest.raises(ValueError, match="tangent_graph"):
        check_inner_folds(TrainConfig(**{**config.to_dict(), "baselines": (), "model": "tangent_graph"}), [small],
                          samples, dataset.classes)


def _weighted(n_nodes, seed, n_windows=None):
    shape = (n_nodes, n_nodes) if n_windows is None else (n_windows, n_nodes, n_nodes)
    weights = np.random.default_rng(seed).uniform(size=shape)
    weights = (weights + weights.swapaxes(-1, -2)) / 2
    weights[..., np.arange(n_nodes), np.arange(n_nodes)] = 0.0
    return weights


def test_rewired_graph_keeps_every_nodes_weighted_degree_on_other_edges():
    adjacency = _weighted(19, 0)
    rewired, permutation = control_adjacency(adjacency, "rewired", np.random.default_rng(1))
    assert permutation == []
    np.testing.assert_allclose(rewired.sum(axis=1), adjacency.sum(axis=1), atol=1e-12)
    np.testing.assert_array_equal(rewired, rewired.T)
    assert not np.diagonal(rewired).any()
    assert rewired.min() >= 0 and rewired.max() <= adjacency.max()
    upper = np.triu_indices(19, 1)
    assert np.corrcoef(rewired[upper], adjacency[upper])[0, 1] < 0.5
    again, _ = control_adjacency(adjacency, "rewired", np.random.default_rng(1))
    np.testing.assert_array_equal(again, rewired)


def test_rewiring_a_binary_graph_swaps_edges_keeping_every_nodes_degree():
    adjacency = (_weighted(12, 2) > 0.5).astype(float)
    rewired = rewired_adjacency(adjacency, np.random.default_rng(3))
    assert set(np.unique(rewired)) == {0.0, 1.0}
    np.testing.assert_array_equal(rewired.sum(axis=1), adjacency.sum(axis=1))
    assert (rewired != adjacency).sum() > 10


def test_per_window_graphs_are_rewired_by_one_draw_each_keeping_its_own_degrees():
    stack = _weighted(8, 4, n_windows=5)
    stack[3] = stack[1]
    rewired = rewired_adjacency(stack, np.random.default_rng(5))
    np.testing.assert_allclose(rewired.sum(axis=2), stack.sum(axis=2), atol=1e-12)
    np.testing.assert_array_equal(rewired[3], rewired[1])
    for window in range(5):
        assert not np.allclose(rewired[window], stack[window])
    one_by_one = rewired_adjacency(stack[1], np.random.default_rng(5))
    np.testing.assert_allclose(one_by_one, rewired[1], atol=1e-12)


def test_rewiring_refuses_negative_weights_and_leaves_tiny_graphs_as_they_are():
    with pytest.raises(ValueError, match="non-negative"):
        rewired_adjacency(-_weighted(5, 6), np.random.default_rng(0))
    tiny = _weighted(3, 7)
    np.testing.assert_array_equal(rewired_adjacency(tiny, np.random.default_rng(0)), tiny)


def test_uniform_graph_has_one_weight_and_the_graphs_total_weight():
    adjacency = _weighted(6, 8)
    uniform, permutation = control_adjacency(adjacency, "uniform", np.random.default_rng(0))
    assert permutation == []
    off_diagonal = ~np.eye(6, dtype=bool)
    assert len(np.unique(uniform[off_diagonal])) == 1 and not np.diagonal(uniform).any()
    assert uniform.sum() == pytest.approx(adjacency.sum())
    np.testing.assert_allclose(uniform.sum(axis=1), adjacency.sum() / 6)
    stack = _weighted(6, 9, n_windows=3)
    per_window = uniform_adjacency(stack)
    np.testing.assert_allclose(per_window.sum(axis=(1, 2)), stack.sum(axis=(1, 2)))
    np.testing.assert_allclose(per_window[2], uniform_adjacency(stack[2]))


def test_the_controls_of_a_fold_are_drawn_in_order_so_adding_new_ones_keeps_the_shuffled_graph():
    from types import SimpleNamespace

    from eeg_gnn.pipeline.folds import _graph_of

    adjacency = _weighted(7, 10)
    fold = Fold(2, ("a",), (), ("b",))
    samples = SimpleNamespace(adjacency=adjacency)
    rng = np.random.default_rng([0, 2])
    expected, _ = control_adjacency(adjacency, "shuffled", rng)
    for controls in (("no_edges", "shuffled"), ("no_edges", "shuffled", "rewired", "uniform")):
        config = SimpleNamespace(seed=0, controls=controls)
        np.testing.assert_array_equal(_graph_of(config, samples, fold, "graph_shuffled")[0], expected)
    rewired = _graph_of(SimpleNamespace(seed=0, controls=("no_edges", "shuffled", "rewired")), samples, fold,
                        "graph_rewired")[0]
    np.testing.assert_allclose(rewired.sum(axis=1), adjacency.sum(axis=1), atol=1e-12)
