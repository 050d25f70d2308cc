"""The Riemannian graph model (``--model tangent_graph``): tangent-space band covariances filtered over the graph."""

from __future__ import annotations

import numpy as np
import pytest

from eeg_gnn.evaluation.splitters import Fold
from eeg_gnn.models.baselines import BandTangentSpace, fit_baseline
from eeg_gnn.models.graph_tangent import (
    GraphTangentSpace,
    graph_tangent_input,
    linear_importance,
    make_tangent_graph,
    normalised_adjacency,
)
from eeg_gnn.signal.covariance import band_covariance

from .conftest import assert_applied_equals_training

SFREQ = 128.0
BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}


def _covariances(n_windows, n_nodes=5, seed=0):
    data = np.random.default_rng(seed).normal(0, 10e-6, (n_windows, n_nodes, int(2 * SFREQ)))
    return band_covariance(data, SFREQ, BANDS)


def _graphs(n_windows, n_nodes=5, seed=1):
    weights = np.random.default_rng(seed).uniform(size=(n_windows, n_nodes, n_nodes))
    weights = (weights + weights.swapaxes(1, 2)) / 2
    weights[:, np.arange(n_nodes), np.arange(n_nodes)] = 0.0
    return weights


def _upper(matrix):
    """pyRiemann's tangent vector of one symmetric matrix, written out: upper triangle, off-diagonal times sqrt(2)."""
    rows, columns = np.triu_indices(len(matrix))
    return matrix[rows, columns] * np.where(rows == columns, 1.0, np.sqrt(2.0))


def test_hops_are_the_tangent_matrices_filtered_on_both_sides_by_powers_of_the_normalised_adjacency():
    from pyriemann.geometry.tangentspace import log_map_riemann

    covariance, graphs = _covariances(12), _graphs(12)
    space = GraphTangentSpace(hops=2).fit(graph_tangent_input(covariance, graphs))
    out = space.transform(graph_tangent_input(covariance, graphs))
    n_pairs = 5 * 6 // 2
    assert out.shape == (12, 3 * 2 * n_pairs)
    window = 4
    A = graphs[window] + np.eye(5)
    S = A / np.sqrt(np.outer(A.sum(1), A.sum(1)))
    np.testing.assert_allclose(normalised_adjacency(graphs[window]), S)
    for band in range(2):
        reference = space.space_.spaces_[band].reference_
        T = log_map_riemann(covariance[window, band], reference)
        for hop in range(3):
            P = np.linalg.matrix_power(S, hop)
            expected = _upper(P @ T @ P)
            start = (hop * 2 + band) * n_pairs
            np.testing.assert_allclose(out[window, start:start + n_pairs], expected, atol=1e-10)


def test_zero_hops_give_the_tangent_space_baselines_features_bit_for_bit():
    covariance, graphs = _covariances(10), _graphs(10)
    X = graph_tangent_input(covariance, graphs)
    assert np.array_equal(GraphTangentSpace(hops=0).fit(X).transform(X), BandTangentSpace().fit(covariance).transform(covariance))


def test_without_edges_every_hop_repeats_hop_zero_and_one_shared_graph_equals_it_repeated():
    covariance = _covariances(8)
    empty = GraphTangentSpace(hops=2).fit(graph_tangent_input(covariance, np.zeros((5, 5))))
    out = empty.transform(graph_tangent_input(covariance, np.zeros((5, 5)))).reshape(8, 3, -1)
    np.testing.assert_allclose(out[:, 1], out[:, 0], atol=1e-12)
    np.testing.assert_allclose(out[:, 2], out[:, 0], atol=1e-12)
    shared = _graphs(1)[0]
    space = GraphTangentSpace(hops=1).fit(graph_tangent_input(covariance, shared))
    np.testing.assert_array_equal(space.transform(graph_tangent_input(covariance, shared)),
                                  space.transform(graph_tangent_input(covariance, np.repeat(shared[None], 8, 0))))
    assert not np.allclose(space.transform(graph_tangent_input(covariance, shared)),
                           space.transform(graph_tangent_input(covariance, _graphs(8))))


def test_inputs_are_checked():
    covariance = _covariances(4)
    with pytest.raises(ValueError, match="3 windows' graphs; the covariances have 4"):
        graph_tangent_input(covariance, _graphs(3))
    with pytest.raises(ValueError, match="needs the band-wise covariance"):
        graph_tangent_input(None, _graphs(4))
    with pytest.raises(ValueError, match="hops must be a whole number >= 0, got -1"):
        GraphTangentSpace(hops=-1).fit(graph_tangent_input(covariance, _graphs(4)))


def test_importance_of_a_linear_readout_is_its_coefficients_times_the_standardised_inputs():
    covariance, graphs = _covariances(40, seed=4), _graphs(40)
    labels = np.tile([0, 1], 20)
    covariance[labels == 1, :, 0, 0] *= 3.0
    X = graph_tangent_input(covariance, graphs)
    pipeline = fit_baseline(make_tangent_graph(1), X, labels, np.repeat([f"s{i}" for i in range(4)], 10))
    edges, nodes = linear_importance(pipeline, X, labels)
    assert edges.shape == (5, 5) and nodes.shape == (5,)
    np.testing.assert_allclose(edges, edges.T)
    assert not np.diagonal(edges).any()
    contribution = np.abs(pipeline[:-1].transform(X) * pipeline[-1].model_.coef_[0]).mean(0)
    np.testing.assert_allclose(edges[np.triu_indices(5, 1)].sum() + nodes.sum(), contribution.sum())


def _fold_samples(cohort, tmp_path, **settings):
    from eeg_gnn.data.datasets import load_dataset
    from eeg_gnn.data.extraction import extract_dataset
    from eeg_gnn.pipeline.config import TrainConfig
    from eeg_gnn.pipeline.experiment import build_samples

    config = TrainConfig(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(tmp_path),
                         progress=False, model="tangent_graph", baselines=("tangent_space",), **settings)
    dataset = load_dataset("folder", cohort)
    extracted, _ = extract_dataset(dataset, config.preprocessing(), config.feature_spec(), progress=False)
    return config, build_samples(config, dataset, extracted)


@pytest.mark.parametrize("graph", ["plv", "distance"])
def test_zero_hops_predict_exactly_what_the_tangent_space_baseline_predicts_on_the_same_fold(cohort, tmp_path, graph):
    from eeg_gnn.pipeline.folds import fit_model

    config, samples = _fold_samples(cohort, tmp_path, hops=0, graph=graph, controls=())
    fold = Fold(0, ("sub-00", "sub-01", "sub-02", "sub-04", "sub-05"), ("sub-06",), ("sub-03", "sub-07"))
    graph_fit = fit_model(config, samples, fold, 2, "graph")
    baseline = fit_model(config, samples, fold, 2, "tangent_space")
    assert np.array_equal(graph_fit.test_proba, baseline.test_proba)
    assert graph_fit.threshold == baseline.threshold
    assert graph_fit.info == baseline.info


@pytest.mark.slow
def test_a_tangent_graph_run_is_saved_without_pickles_reloaded_and_applied_to_new_recordings(cohort, tmp_path):
    import json

    from eeg_gnn.data.datasets import load_dataset
    from eeg_gnn.pipeline.config import TrainConfig
    from eeg_gnn.pipeline.experiment import run_cv
    from eeg_gnn.pipeline.runs import load_run, recompute_results
    from eeg_gnn.review.build import model_importance

    config = TrainConfig(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(tmp_path), folds=2,
                         n_boot=20, progress=False, model="tangent_graph", hops=1,
                         bands={"theta": (4, 8), "alpha": (8, 13)}, baselines=("tangent_space",))
    results = run_cv(config)
    run_dir = results.run_dir
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("fold_0*.skops")) == sorted(
        f"fold_0{suffix}.skops" for suffix in ("", "_graph_no_edges", "_graph_shuffled", "_graph_rewired",
                                               "_graph_uniform", "_tangent_space"))
    assert not list((run_dir / "checkpoints").glob("*.pt"))
    saved = json.loads((run_dir / "results.json").read_text())
    for name in ("graph", "graph_no_edges", "graph_shuffled", "graph_rewired", "graph_uniform", "tangent_space"):
        assert len(saved["models"][name]["inner_cv"]["C"]) == 2
    assert "validation" not in saved["models"]["graph"]
    assert {c["against"] for c in saved["comparisons"]} >= {"graph_rewired", "graph_uniform"}
    run = load_run(run_dir)
    recompute_results(run)
    assert run.load_fold(1).model is None and run.load_fold(1).estimator is not None
    trained = assert_applied_equals_training(run, cohort)
    edges, nodes, n_windows = model_importance(run, load_dataset("folder", cohort), progress=False)
    assert edges.shape == (19, 19) and nodes.shape == (19,) and n_windows == len(trained)
    assert np.isfinite(edges).all() and edges.any()


def test_hops_is_a_setting_refused_below_zero_and_the_model_reads_covariances():
    from eeg_gnn.pipeline.config import TrainConfig

    config = TrainConfig(model="tangent_graph", hops=0, baselines=())
    assert config.feature_spec().covariance == "oas"
    assert "hops = 0" in config.to_toml()
    with pytest.raises(ValueError, match="'hops' must be a whole number >= 0, got -1"):
        TrainConfig(model="tangent_graph", hops=-1)
