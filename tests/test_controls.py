"""Graph controls: no edges and node-permuted graphs, trained like the graph model on the same folds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eeg_gnn.evaluation.splitters import Fold
from eeg_gnn.models.classifiers import build_model, make_batch
from eeg_gnn.signal.graph import control_adjacency


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
