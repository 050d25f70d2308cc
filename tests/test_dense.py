"""The dense path equals PyG: operators, layers, whole classifiers (outputs and gradients) and training."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch_geometric.nn import ChebConv, GCNConv

from eeg_gnn.models.classifiers import build_model, make_batch
from eeg_gnn.models.dense import cheb_conv, gcn_adjacency, gcn_conv, scaled_laplacian
from eeg_gnn.models.training import balanced_accuracy, predict_proba, train_graph_model

N_GRAPHS, N_NODES, N_FEATURES = 6, 7, 4


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _graphs(seed: int = 0, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and per-graph adjacencies with the awkward cases: a graph without edges, an isolated node."""
    rng = np.random.default_rng(seed)
    weights = rng.random((N_GRAPHS, N_NODES, N_NODES))
    weights = (weights + np.swapaxes(weights, -1, -2)) / 2
    weights[weights < 0.4] = 0.0
    weights[:, np.arange(N_NODES), np.arange(N_NODES)] = 0.0
    weights[1] = 0.0
    weights[2, 3, :] = weights[2, :, 3] = 0.0
    features = rng.standard_normal((N_GRAPHS, N_NODES, N_FEATURES))
    return torch.tensor(features, dtype=dtype), torch.tensor(weights, dtype=dtype)


def test_scaled_laplacian_of_a_path_graph():
    path = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    # Degrees 1, 2, 1: off-diagonal entries -1 / sqrt(1 * 2), zero diagonal.
    edge = -1 / np.sqrt(2)
    expected = torch.tensor([[0.0, edge, 0.0], [edge, 0.0, edge], [0.0, edge, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(scaled_laplacian(path), expected)
    # Self-loops are ignored, as PyG removes them; no edges gives the zero operator.
    torch.testing.assert_close(scaled_laplacian(path + torch.eye(3, dtype=torch.float64)), expected)
    assert torch.equal(scaled_laplacian(torch.zeros(3, 3)), torch.zeros(3, 3))


def test_gcn_adjacency_of_two_nodes():
    weight = 0.5
    pair = torch.tensor([[0.0, weight], [weight, 0.0]], dtype=torch.float64)
    # A + I = [[1, w], [w, 1]], degree 1 + w on both nodes.
    expected = torch.tensor([[1.0, weight], [weight, 1.0]], dtype=torch.float64) / (1 + weight)
    torch.testing.assert_close(gcn_adjacency(pair), expected)
    # A self-loop that exists keeps its weight.
    looped = pair.clone()
    looped[0, 0] = 3.0
    assert gcn_adjacency(looped)[0, 0] == pytest.approx(3.0 / (3.0 + weight))


@pytest.mark.parametrize("shared", [False, True], ids=["per-graph", "shared"])
@pytest.mark.parametrize("K", [1, 2, 3, 5])
def test_cheb_conv_equals_pyg(K, shared):
    features, adjacency = _graphs(1)
    if shared:
        adjacency = adjacency[0]
    torch.manual_seed(0)
    conv = ChebConv(N_FEATURES, 5, K=K, normalization="sym").double()
    reference = conv(*make_batch(features, adjacency)[:3]).reshape(N_GRAPHS, N_NODES, 5)
    torch.testing.assert_close(cheb_conv(conv, features, scaled_laplacian(adjacency)), reference, atol=1e-12, rtol=0)


@pytest.mark.parametrize("shared", [False, True], ids=["per-graph", "shared"])
def test_gcn_conv_equals_pyg(shared):
    features, adjacency = _graphs(2)
    if shared:
        adjacency = adjacency[0]
    torch.manual_seed(0)
    conv = GCNConv(N_FEATURES, 5).double()
    reference = conv(*make_batch(features, adjacency)[:3]).reshape(N_GRAPHS, N_NODES, 5)
    torch.testing.assert_close(gcn_conv(conv, features, gcn_adjacency(adjacency)), reference, atol=1e-12, rtol=0)


def _classifier(name: str, seed: int = 0, **identity):
    torch.manual_seed(seed)
    model = build_model(name, N_FEATURES, 3, hidden_channels=8, n_layers=2, dropout=0.3, K=3, n_nodes=N_NODES,
                        **identity)
    model.reset_parameters()
    return model


@pytest.mark.parametrize(("name", "identity"), [
    ("cheb", {}), ("gcn", {}), ("gat", {}), ("gin", {}), ("gcn", {"self_weight": True}),
    ("cheb", {"readout": "flatten"}), ("gat", {"readout": "flatten", "node_embedding": 2}),
    ("gin", {"node_embedding": 3}), ("gcn", {"readout": "flatten", "node_embedding": 2, "self_weight": True})],
    ids=lambda value: value if isinstance(value, str) else "-".join(f"{k}={v}" for k, v in value.items()) or "pool")
def test_classifier_outputs_and_gradients_equal_pyg(name, identity):
    """One training step's gradients, then evaluation (BatchNorm running statistics updated by that step)."""
    features, adjacency = _graphs(3, dtype=torch.float32)
    labels = torch.arange(N_GRAPHS) % 3
    results = {}
    for path in ("pyg", "dense"):
        model = _classifier(name, **identity)
        # Train mode (batch statistics, dropout): the same seed draws the same dropout masks on both paths.
        model.train()
        torch.manual_seed(5)
        if path == "pyg":
            logits = model(*make_batch(features, adjacency))
        else:
            logits = model.forward_dense(features, model.operator(adjacency))
        torch.nn.functional.cross_entropy(logits, labels).backward()
        gradients = {key: param.grad.clone() for key, param in model.named_parameters()}
        model.eval()
        with torch.no_grad():
            evaluated = (model(*make_batch(features, adjacency)) if path == "pyg"
                         else model.forward_dense(features, model.operator(adjacency)))
        results[path] = (evaluated, gradients)
    torch.testing.assert_close(results["dense"][0], results["pyg"][0], atol=1e-5, rtol=0)
    for key, gradient in results["pyg"][1].items():
        assert gradient.abs().sum() > 0, key
        torch.testing.assert_close(results["dense"][1][key], gradient, atol=1e-5, rtol=0, msg=key)


def _settings(backend: str) -> SimpleNamespace:
    return SimpleNamespace(model="cheb", hidden=8, layers=2, dropout=0.3, cheb_k=3, lr=1e-2, weight_decay=1e-3,
                           epochs=6, patience=10, batch_size=16, seed=0, device="cpu", backend=backend,
                           progress=False)


def _windows(seed: int, n_windows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n_windows) % 2
    features = rng.standard_normal((n_windows, N_NODES, N_FEATURES)).astype(np.float32)
    features[labels == 1, :, 0] += 1.0
    weights = rng.random((n_windows, N_NODES, N_NODES)).astype(np.float32)
    weights = (weights + np.swapaxes(weights, 1, 2)) / 2
    weights[:, np.arange(N_NODES), np.arange(N_NODES)] = 0.0
    return features, weights, labels.astype(np.int64)


def test_training_on_both_backends_gives_the_same_model():
    """Same seed, same batches, same dropout masks: the same training on either path.

    A convolution's bias before batch normalisation gets a gradient of zero up to rounding, which Adam's
    normalised step turns into a random walk of about ``lr`` per step on either path; batch normalisation removes it
    (its running mean follows it), so those biases and running means are compared through the outputs only.
    """
    train, val = _windows(0, 60), _windows(1, 20)
    runs = {}
    for backend in ("pyg", "dense"):
        torch.manual_seed(0)
        runs[backend] = train_graph_model(_settings(backend), 2, train, val)
    (pyg_model, pyg_history, pyg_best), (dense_model, dense_history, dense_best) = runs["pyg"], runs["dense"]
    assert dense_best == pyg_best
    for pyg_record, dense_record in zip(pyg_history, dense_history, strict=True):
        assert dense_record.keys() == pyg_record.keys()
        assert dense_record["train_loss"] == pytest.approx(pyg_record["train_loss"], abs=1e-5)
        assert dense_record["val_loss"] == pytest.approx(pyg_record["val_loss"], abs=1e-3)
    absorbed = {f"convs.{i}.bias" for i in range(2)} | {f"norms.{i}.running_mean" for i in range(2)}
    for key, value in pyg_model.state_dict().items():
        if key not in absorbed:
            torch.testing.assert_close(dense_model.state_dict()[key], value, atol=1e-5, rtol=0, msg=key)
    test_x, test_adjacency, _ = _windows(2, 10)
    np.testing.assert_allclose(predict_proba(dense_model, test_x, test_adjacency, backend="dense"),
                               predict_proba(pyg_model, test_x, test_adjacency, backend="pyg"), atol=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_dense_path_on_cuda_equals_cpu():
    features, adjacency = _graphs(4, dtype=torch.float32)
    model = _classifier("cheb").eval()
    with torch.no_grad():
        on_cpu = model.forward_dense(features, model.operator(adjacency))
        model.cuda()
        on_gpu = model.forward_dense(features.cuda(), model.operator(adjacency.cuda())).cpu()
    torch.testing.assert_close(on_gpu, on_cpu, atol=1e-5, rtol=0)


def test_operators_reject_non_square_input():
    with pytest.raises(ValueError, match=r"adjacency must have shape .* got \(3, 4\)"):
        scaled_laplacian(torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"got \(2, 2, 3, 3\)"):
        gcn_adjacency(torch.zeros(2, 2, 3, 3))


def test_balanced_accuracy_equals_scikit_learn():
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 50)
    labels[labels == 1] = 2  # class 1 absent from the labels but predicted: not counted, as in scikit-learn
    predicted = rng.integers(0, 3, 50)
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        expected = balanced_accuracy_score(labels, predicted)
    assert balanced_accuracy(torch.tensor(labels), torch.tensor(predicted), 3) == pytest.approx(expected)
    assert balanced_accuracy(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 1]), 2) == pytest.approx(0.75)


@pytest.mark.parametrize("kind", ["cheb", "gcn"])
def test_layers_hold_pygs_parameters_drawn_as_pyg_draws_them(kind):
    from eeg_gnn.models.layers import ChebWeights, GCNWeights

    ours, theirs = ((lambda: ChebWeights(4, 5, K=3), lambda: ChebConv(4, 5, K=3, normalization="sym"))
                    if kind == "cheb" else (lambda: GCNWeights(4, 5), lambda: GCNConv(4, 5)))
    torch.manual_seed(0)
    layer, after_ours = ours(), torch.rand(2)
    torch.manual_seed(0)
    reference, after_theirs = theirs(), torch.rand(2)
    assert layer.state_dict().keys() == reference.state_dict().keys()
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(layer.state_dict()[name], value, rtol=0, atol=0)
    torch.testing.assert_close(after_ours, after_theirs, rtol=0, atol=0)
    x, edge_index = torch.randn(6, 4), torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    weight = torch.rand(edge_index.shape[1])
    torch.testing.assert_close(layer(x, edge_index, weight), reference(x, edge_index, weight))
    assert sum(p.numel() for p in layer.parameters()) == sum(p.numel() for p in reference.parameters())
