"""What graph models can use of the spatial covariance: spatial centring, tangent-space node rows, DGCNN's learned
adjacency (saved per fold and read back for the review)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.linalg import expm, sqrtm

from eeg_gnn.evaluation.splitters import Fold
from eeg_gnn.models.classifiers import (
    DGCNNClassifier,
    build_model,
    make_batch,
    model_from_checkpoint,
)
from eeg_gnn.models.node_features import NodeFeatures, needs_covariance, tangent_rows
from eeg_gnn.models.training import Samples, fit_graph, train_graph_model
from eeg_gnn.pipeline.config import TrainConfig
from eeg_gnn.pipeline.folds import fit_fold, learned_adjacency_path, save_fold
from eeg_gnn.pipeline.runs import Run

from .conftest import assert_applied_equals_training

N_NODES, N_BANDS = 5, 2


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _spd(rng, n_windows: int) -> np.ndarray:
    """Random symmetric positive definite matrices, shape (n_windows, N_BANDS, N_NODES, N_NODES)."""
    a = rng.standard_normal((n_windows, N_BANDS, N_NODES, 3 * N_NODES))
    return a @ np.swapaxes(a, -1, -2) / (3 * N_NODES) + 0.1 * np.eye(N_NODES)


def _samples(seed: int = 0, n_subjects: int = 8, per_subject: int = 12) -> Samples:
    """Two classes per subject; class 1 has more variance on node 0 in band 0 (visible in the covariance)."""
    rng = np.random.default_rng(seed)
    n = n_subjects * per_subject
    labels = np.tile(np.repeat([0, 1], per_subject // 2), n_subjects)
    subjects = np.repeat([f"s{i}" for i in range(n_subjects)], per_subject)
    covariance = _spd(rng, n)
    covariance[labels == 1, 0, 0, 0] += 2.0
    features = rng.standard_normal((n, N_NODES, N_BANDS)).astype(np.float32)
    adjacency = rng.random((n, N_NODES, N_NODES)).astype(np.float32)
    adjacency = (adjacency + np.swapaxes(adjacency, 1, 2)) / 2
    adjacency[:, np.arange(N_NODES), np.arange(N_NODES)] = 0
    return Samples(labels=labels, subjects=subjects, recordings=subjects, groups=subjects,
                   window_index=np.arange(n), onsets=np.zeros(n), features=features, adjacency=adjacency,
                   node_names=["Fz", "Cz", "Pz", "O1", "O2"], covariance=covariance)


FOLD = Fold(0, ("s0", "s1", "s2", "s3", "s4"), ("s5",), ("s6", "s7"))


def _settings(**overrides):
    values = dict(model="cheb", hidden=8, layers=1, dropout=0.0, cheb_k=2, lr=1e-2, weight_decay=0.0, epochs=4,
                  patience=4, batch_size=16, seed=0, device="cpu", backend="dense", progress=False,
                  adjacency_l1=1e-3, node_features="bands", spatial_centring=False, graph="plv", controls=(),
                  baselines=(), threshold="balanced")
    values.update(overrides)
    from types import SimpleNamespace

    return SimpleNamespace(**values)


# --- spatial centring -------------------------------------------------------------------------------------------

def test_spatial_centring_removes_each_windows_mean_over_nodes():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((7, N_NODES, N_BANDS)) + rng.standard_normal((7, 1, N_BANDS)) * 10
    centred = NodeFeatures(centring=True).transform(features)
    np.testing.assert_allclose(centred.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(centred, features - features.mean(axis=1, keepdims=True), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(NodeFeatures().transform(features), features.astype(np.float32))


def test_spatial_centring_is_a_flag_and_goes_into_the_checkpoint():
    assert TrainConfig(spatial_centring=True).spatial_centring
    fit = fit_graph(_settings(spatial_centring=True), _samples(), FOLD, 2)
    assert fit.checkpoint["node_features"] == {"kind": "bands", "centring": True}


# --- tangent-space rows -----------------------------------------------------------------------------------------

def test_tangent_rows_are_the_log_map_at_the_reference():
    rng = np.random.default_rng(1)
    reference = _spd(rng, 1)[0]
    symmetric = rng.standard_normal((3, N_BANDS, N_NODES, N_NODES))
    symmetric = (symmetric + np.swapaxes(symmetric, -1, -2)) / 4
    root = np.stack([np.real(sqrtm(r)) for r in reference])
    covariance = np.stack([[root[b] @ expm(symmetric[w, b]) @ root[b] for b in range(N_BANDS)] for w in range(3)])
    rows = tangent_rows(covariance, reference)
    assert rows.shape == (3, N_NODES, N_BANDS * N_NODES)
    for band in range(N_BANDS):
        np.testing.assert_allclose(rows[:, :, band * N_NODES:(band + 1) * N_NODES], symmetric[:, band], atol=1e-8)
    np.testing.assert_allclose(tangent_rows(reference[None], reference), 0, atol=1e-8)


def test_tangent_reference_is_fitted_on_training_subjects_only():
    samples = _samples()
    fit = fit_graph(_settings(node_features="bands+tangent"), samples, FOLD, 2)
    state = fit.checkpoint["node_features"]
    train = np.isin(samples.groups, FOLD.train_subjects + FOLD.val_subjects)
    expected = NodeFeatures("tangent").fit(samples.covariance[train]).reference
    np.testing.assert_allclose(state["reference"].numpy(), expected)
    everything = NodeFeatures("tangent").fit(samples.covariance).reference
    assert not np.allclose(expected, everything)
    assert fit.checkpoint["model_kwargs"]["in_channels"] == N_BANDS + N_BANDS * N_NODES
    restored = NodeFeatures.from_state(state)
    np.testing.assert_allclose(restored.transform(samples.features, samples.covariance),
                               NodeFeatures("bands+tangent", reference=expected).transform(samples.features,
                                                                                           samples.covariance))


def test_tangent_rows_carry_a_covariance_difference_that_band_features_lack():
    from sklearn.linear_model import LogisticRegression

    samples = _samples(n_subjects=8, per_subject=40)
    test = np.isin(samples.groups, FOLD.test_subjects)
    scores = {}
    for kind in ("bands", "tangent"):
        inputs = NodeFeatures(kind).fit(samples.covariance[~test])
        X = inputs.transform(samples.features, samples.covariance).reshape(len(samples), -1)
        classifier = LogisticRegression().fit(X[~test], samples.labels[~test])
        scores[kind] = classifier.score(X[test], samples.labels[test])
    assert scores["tangent"] > 0.9 and scores["bands"] < 0.7


def test_node_features_setting_asks_for_covariances_and_refuses_bad_values():
    assert needs_covariance("tangent") and needs_covariance("bands+tangent") and not needs_covariance("bands")
    config = TrainConfig(node_features="tangent", baselines=("logreg",))
    assert config.feature_spec().covariance == "oas"
    assert TrainConfig(baselines=("logreg",), node_features="bands").feature_spec().covariance is None
    assert TrainConfig(baselines=("logreg",)).feature_spec().covariance == "oas"  # the default carries tangent rows
    with pytest.raises(ValueError, match="node_features.*'bands', 'tangent', 'bands\\+tangent'"):
        TrainConfig(node_features="rows")
    with pytest.raises(ValueError, match="covariance matrices"):
        NodeFeatures("tangent").fit(None)


# --- DGCNN: learned adjacency -------------------------------------------------------------------------------------

def _dgcnn(adjacency=None, **kwargs) -> DGCNNClassifier:
    torch.manual_seed(0)
    return DGCNNClassifier(N_BANDS, 2, hidden_channels=8, K=2, n_nodes=N_NODES, adjacency=adjacency, **kwargs)


def test_dgcnn_adjacency_starts_from_the_graph_and_is_symmetric_non_negative():
    graph = _samples().adjacency[0]
    model = _dgcnn(graph)
    np.testing.assert_allclose(model.learned_adjacency().detach().numpy(), graph, atol=1e-6)
    with torch.no_grad():
        model.adjacency.copy_(torch.randn(N_NODES, N_NODES))
    learned = model.learned_adjacency().detach()
    assert torch.equal(learned, learned.T) and (learned >= 0).all() and (learned.diagonal() == 0).all()
    model.reset_parameters()
    np.testing.assert_allclose(model.learned_adjacency().detach().numpy(), graph, atol=1e-6)


def test_dgcnn_ignores_the_windows_graphs_and_both_paths_agree():
    samples = _samples()
    model = _dgcnn(samples.adjacency.mean(axis=0)).eval()
    x = torch.from_numpy(samples.features[:6])
    dense = model.forward_dense(x, model.operator(torch.from_numpy(samples.adjacency[:6])))
    other = model.forward_dense(x, torch.zeros(6, N_NODES, N_NODES))
    pyg = model(*make_batch(x, torch.from_numpy(samples.adjacency[:6])))
    torch.testing.assert_close(dense, other)
    torch.testing.assert_close(dense, pyg, atol=1e-5, rtol=1e-4)
    dense.sum().backward()
    assert model.adjacency.grad is not None and model.adjacency.grad.abs().sum() > 0


def test_dgcnn_l1_penalty_is_the_mean_weighted_degree():
    graph = _samples().adjacency[0]
    model = _dgcnn(graph, l1=0.5)
    assert float(model.penalty().detach()) == pytest.approx(0.5 * graph.sum() / N_NODES, rel=1e-5)
    assert _dgcnn(graph, l1=0.0).penalty() is None
    with pytest.raises(ValueError, match="l1 must be >= 0"):
        _dgcnn(graph, l1=-1)
    with pytest.raises(ValueError, match="adjacency must have shape"):
        _dgcnn(np.ones((3, 3)))


def test_dgcnn_learns_its_adjacency_a_strong_penalty_sparsifies_it_and_no_edges_stay_none():
    samples = _samples()
    settings = _settings(model="dgcnn", epochs=6, patience=6)
    start = samples.adjacency[np.isin(samples.groups, FOLD.train_subjects)].mean(axis=0)
    fit = fit_graph(settings, samples, FOLD, 2)
    learned = fit.checkpoint["learned_adjacency"].numpy()
    assert learned.shape == (N_NODES, N_NODES) and not np.allclose(learned, start, atol=1e-4)
    train = (samples.features[:40], samples.adjacency[:40], samples.labels[:40])
    zeros = {}
    for l1 in (0.0, 20.0):
        model, _, _ = train_graph_model(_settings(model="dgcnn", epochs=20, patience=20, lr=0.05, adjacency_l1=l1),
                                        2, train, None)
        zeros[l1] = np.mean(model.learned_adjacency().detach().numpy() == 0)
    assert zeros[20.0] == 1 > zeros[0.0]
    none = fit_graph(settings, samples, FOLD, 2, adjacency=np.zeros((N_NODES, N_NODES), np.float32))
    assert (none.checkpoint["learned_adjacency"].numpy() == 0).all()
    rebuilt = model_from_checkpoint(fit.checkpoint)
    np.testing.assert_allclose(rebuilt.learned_adjacency().detach().numpy(), learned)


def test_dgcnn_adjacency_is_saved_per_fold_and_read_back(tmp_path):
    samples = _samples()
    result = fit_fold(_settings(model="dgcnn", controls=("no_edges",)), samples, FOLD, 2)
    save_fold(result, tmp_path)
    saved = np.load(learned_adjacency_path(tmp_path, 0))
    np.testing.assert_allclose(saved, result.models["graph"].checkpoint["learned_adjacency"].numpy())
    assert (np.load(learned_adjacency_path(tmp_path, 0, "graph_no_edges")) == 0).all()
    manifest = json.loads((tmp_path / "fold_0.json").read_text())
    assert manifest["models"]["graph"]["learned_adjacency"] == "fold_0_learned_adjacency.npy"

    from eeg_gnn.review.build import learned_adjacencies

    run = Run.__new__(Run)
    run.path, run.roles = tmp_path.parent, {0: {}}
    (tmp_path.parent / "checkpoints").mkdir(exist_ok=True)
    for item in tmp_path.iterdir():
        item.rename(tmp_path.parent / "checkpoints" / item.name)
    np.testing.assert_allclose(learned_adjacencies(run)[0], saved)

    from types import SimpleNamespace

    from eeg_gnn.review import export
    from eeg_gnn.review.build import _learned_adjacency_exports

    names = samples.node_names

    def brainnet(stem, matrix, node_values, header, description):
        export.write_pair(tmp_path / "brainnet", stem, matrix, names, node_values=node_values, header=header)

    _learned_adjacency_exports(SimpleNamespace(run=run, brainnet=brainnet, names=names,
                                               figure=lambda name: tmp_path / "figures" / f"{name}.png"))
    for stem in ("learned_adjacency", "learned_adjacency_fold_0"):
        np.testing.assert_allclose(export.read_edge(tmp_path / "brainnet" / f"{stem}.edge", node_names=names), saved,
                                   atol=1e-5)


def test_build_model_makes_dgcnn_and_the_config_accepts_it():
    model = build_model("dgcnn", N_BANDS, 2, K=2, n_nodes=N_NODES, l1=0.1)
    assert isinstance(model, DGCNNClassifier) and "n_nodes=5" in repr(model)
    assert type(build_model("cheb", N_BANDS, 2, K=2, n_nodes=N_NODES, l1=0.1)).__name__ == "ChebClassifier"
    assert TrainConfig(model="dgcnn", adjacency_l1=0.0).model == "dgcnn"
    with pytest.raises(ValueError, match="adjacency_l1"):
        TrainConfig(adjacency_l1=-1.0)


def test_every_option_can_go_into_a_selection_grid(tmp_path):
    from eeg_gnn.pipeline.selection import candidate_configs, read_grid

    grid = tmp_path / "grid.toml"
    grid.write_text('[grid]\nmodel = ["cheb", "dgcnn"]\nnode_features = ["bands", "bands+tangent"]\n'
                    'spatial_centring = [false, true]\nadjacency_l1 = [0.001]\n')
    configs = candidate_configs(TrainConfig(baselines=("logreg",)), read_grid(grid))
    assert len(configs) == 8
    assert {(c.model, c.node_features, c.spatial_centring) for c in configs} >= {("dgcnn", "bands+tangent", True)}
    assert all(c.feature_spec().covariance == ("oas" if c.node_features != "bands" else None) for c in configs)


def test_new_recordings_get_the_node_inputs_the_fold_was_trained_with(cohort, tmp_path):
    from eeg_gnn.pipeline.experiment import run_cv
    from eeg_gnn.pipeline.runs import load_run

    config = TrainConfig(task="schizophrenia", dataset="folder", data_dir=str(cohort), out=str(tmp_path), epochs=2,
                         folds=2, n_boot=20, progress=False, hidden=8, bands={"theta": (4, 8), "alpha": (8, 13)},
                         model="dgcnn", node_features="bands+tangent", spatial_centring=True, controls=(),
                         baselines=("logreg",))
    run_dir = run_cv(config).run_dir
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("*.npy")) == [
        f"fold_{k}_learned_adjacency.npy" for k in range(2)]
    run = load_run(run_dir)
    assert run.load_fold(0).learned_adjacency.shape == (19, 19)
    assert_applied_equals_training(run, cohort)


def test_each_model_fitted_alone_equals_its_fold(tmp_path):
    """A parallel run fits every model of a fold as its own task: the same numbers as fitting the fold."""
    from eeg_gnn.pipeline.folds import fit_model

    samples = _samples()
    settings = _settings(controls=("no_edges", "shuffled"), baselines=("logreg",), dropout=0.3)
    together = fit_fold(settings, samples, FOLD, 2)
    assert list(together.models) == ["graph", "graph_no_edges", "graph_shuffled", "logreg"]
    for name in reversed(list(together.models)):
        alone = fit_model(settings, samples, FOLD, 2, name)
        np.testing.assert_array_equal(alone.test_proba, together.models[name].test_proba)
        assert alone.info == together.models[name].info and alone.threshold == together.models[name].threshold
    assert together.models["graph_shuffled"].info["permutation"]
    with pytest.raises(ValueError, match="'tangent_space' is not a model of this run; its models are graph, "):
        fit_model(settings, samples, FOLD, 2, "tangent_space")
