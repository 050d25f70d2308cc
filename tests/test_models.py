"""Graph classifiers: shapes, batched equals unbatched, batching, parameters, factory and the baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eeg_gnn.models.classifiers import (
    ChebClassifier,
    Dropout,
    GCNClassifier,
    build_model,
    dropout,
    keep_mask,
    make_batch,
)

N_GRAPHS, N_NODES, N_BANDS, N_CLASSES = 5, 6, 4, 3


def _features(seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.standard_normal((N_GRAPHS, N_NODES, N_BANDS)), dtype=torch.float32)


def _adjacency(seed: int = 0, n_graphs: int | None = None) -> torch.Tensor:
    """Symmetric, non-negative, zero diagonal, with some zero entries (missing edges)."""
    rng = np.random.default_rng(seed)
    shape = (N_NODES, N_NODES) if n_graphs is None else (n_graphs, N_NODES, N_NODES)
    weights = rng.random(shape)
    weights = (weights + np.swapaxes(weights, -1, -2)) / 2
    weights[weights < 0.4] = 0.0
    weights[..., np.arange(N_NODES), np.arange(N_NODES)] = 0.0
    return torch.tensor(weights, dtype=torch.float32)


def _model(name: str, seed: int = 0):
    torch.manual_seed(seed)
    if name == "gcn":
        return GCNClassifier(N_BANDS, N_CLASSES, hidden_channels=8)
    if name in ("gat", "gin"):
        return build_model(name, N_BANDS, N_CLASSES, hidden_channels=8)
    return ChebClassifier(N_BANDS, N_CLASSES, hidden_channels=8, K=3)


def _train_a_little(model, features, adjacency, steps: int = 5) -> None:
    labels = torch.arange(features.shape[0]) % N_CLASSES
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    model.train()
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(*make_batch(features, adjacency)), labels)
        loss.backward()
        optimiser.step()


MODEL_NAMES = ["gcn", "cheb", "gat", "gin"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_output_shape(name):
    model = _model(name).eval()
    logits = model(*make_batch(_features(), _adjacency()))
    assert logits.shape == (N_GRAPHS, N_CLASSES)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("per_graph", [False, True], ids=["shared", "per-graph"])
def test_batched_equals_unbatched(name, per_graph):
    features = _features(1)
    adjacency = _adjacency(1, N_GRAPHS if per_graph else None)
    model = _model(name)
    # Non-trivial BatchNorm running statistics, then evaluation mode.
    _train_a_little(model, features, adjacency)
    model.eval()
    with torch.no_grad():
        batched = model(*make_batch(features, adjacency))
        single = torch.cat(
            [
                model(*make_batch(features[g : g + 1], adjacency[g] if per_graph else adjacency))
                for g in range(N_GRAPHS)
            ]
        )
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=0)
    # The graphs really differ, so equality is not trivial.
    assert not torch.allclose(batched[0], batched[1])


@pytest.mark.parametrize("per_graph", [False, True], ids=["shared", "per-graph"])
def test_make_batch_offsets_and_weights(per_graph):
    features = _features(2)
    adjacency = _adjacency(2, N_GRAPHS if per_graph else None)
    dense = adjacency if per_graph else adjacency.expand(N_GRAPHS, N_NODES, N_NODES)
    x, edge_index, edge_weight, batch = make_batch(features, adjacency)

    assert x.shape == (N_GRAPHS * N_NODES, N_BANDS)
    torch.testing.assert_close(x[N_NODES : 2 * N_NODES], features[1])
    assert batch.tolist() == [g for g in range(N_GRAPHS) for _ in range(N_NODES)]
    assert edge_index.shape == (2, edge_weight.shape[0])
    assert edge_index.dtype == torch.long

    graph_of_edge = edge_index[0] // N_NODES
    # Both ends of every edge lie in the same graph's block [g * n_nodes, (g + 1) * n_nodes).
    assert torch.equal(graph_of_edge, edge_index[1] // N_NODES)
    for g in range(N_GRAPHS):
        edges = edge_index[:, graph_of_edge == g]
        assert ((edges >= g * N_NODES) & (edges < (g + 1) * N_NODES)).all()
        assert edges.shape[1] == int((dense[g] != 0).sum())
    # Each weight is the dense matrix entry it came from; zero entries give no edge.
    rows, cols = edge_index % N_NODES
    torch.testing.assert_close(edge_weight, dense[graph_of_edge, rows, cols])
    assert (edge_weight != 0).all()
    assert edge_weight.shape[0] == int((dense != 0).sum())


def test_make_batch_zero_weights_give_no_edges():
    features = _features()
    adjacency = torch.zeros(N_NODES, N_NODES)
    adjacency[0, 1] = adjacency[1, 0] = 0.5
    _, edge_index, edge_weight, _ = make_batch(features, adjacency)
    expected = [
        [g * N_NODES + i, g * N_NODES + j] for g in range(N_GRAPHS) for i, j in ((0, 1), (1, 0))
    ]
    assert edge_index.T.tolist() == expected
    assert edge_weight.tolist() == [0.5] * (2 * N_GRAPHS)


def test_make_batch_casts_weights_to_feature_dtype():
    _, _, edge_weight, _ = make_batch(_features(), _adjacency().double())
    assert edge_weight.dtype == torch.float32


def test_make_batch_rejects_mismatched_adjacency():
    with pytest.raises(ValueError, match="adjacency must have shape"):
        make_batch(_features(), _adjacency(n_graphs=1))
    with pytest.raises(ValueError, match="adjacency must have shape"):
        make_batch(_features(), torch.ones(N_NODES + 1, N_NODES + 1))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_reset_parameters_returns_to_fresh_init(name):
    features, adjacency = _features(3), _adjacency(3)
    fresh = _model(name, seed=1)
    initial = {k: v.clone() for k, v in fresh.state_dict().items()}
    trained = _model(name, seed=1)
    _train_a_little(trained, features, adjacency)
    trained_state = {k: v.clone() for k, v in trained.state_dict().items()}
    for key, value in initial.items():
        if value.is_floating_point() and "running" not in key and value.abs().sum() > 0:
            assert not torch.equal(trained_state[key], value), key

    torch.manual_seed(7)
    trained.reset_parameters()
    torch.manual_seed(7)
    fresh.reset_parameters()
    after, reference = trained.state_dict(), fresh.state_dict()
    assert after.keys() == reference.keys()
    for key in reference:
        # Every parameter and buffer (BatchNorm running statistics too) is re-initialised.
        assert torch.equal(after[key], reference[key]), key
        if key in trained_state and trained_state[key].is_floating_point():
            if trained_state[key].abs().sum() > 0 and "running_var" not in key:
                assert not torch.equal(after[key], trained_state[key]), key
    for key, value in after.items():
        if key.endswith("running_mean"):
            assert torch.equal(value, torch.zeros_like(value))
        if key.endswith("running_var"):
            assert torch.equal(value, torch.ones_like(value))


def test_repr_names_class_channels_and_k():
    gcn = GCNClassifier(N_BANDS, N_CLASSES, hidden_channels=8, n_layers=3)
    assert repr(gcn) == "GCNClassifier(4, 3, hidden_channels=8, n_layers=3)"
    cheb = ChebClassifier(N_BANDS, 2, hidden_channels=16, K=3)
    assert repr(cheb) == "ChebClassifier(4, 2, hidden_channels=16, n_layers=2, K=3)"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_gradients_reach_every_parameter(name):
    model = _model(name).train()
    features = _features(4)
    x, edge_index, edge_weight, batch = make_batch(features, _adjacency(4))
    edge_weight = edge_weight.clone().requires_grad_(True)
    logits = model(x, edge_index, edge_weight, batch)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0, 1])).backward()
    for param_name, param in model.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().sum() > 0, param_name
    assert edge_weight.grad is not None and edge_weight.grad.abs().sum() > 0


def test_build_model():
    gcn = build_model("gcn", N_BANDS, N_CLASSES, hidden_channels=8, K=3)  # K is ignored for GCN
    assert isinstance(gcn, GCNClassifier)
    cheb = build_model("cheb", N_BANDS, N_CLASSES, hidden_channels=8, K=2)
    assert isinstance(cheb, ChebClassifier) and cheb.K == 2
    assert all(len(conv.lins) == 2 for conv in cheb.convs)


def test_build_model_rejects_unknown_name():
    with pytest.raises(ValueError, match="Allowed values are 'gcn', 'cheb'") as info:
        build_model("bad", N_BANDS, N_CLASSES)
    assert "'bad'" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_layers": 0}, "n_layers"), ({"dropout": 1.0}, "dropout"), ({"K": 0}, "K must")],
)
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ChebClassifier(N_BANDS, N_CLASSES, **kwargs)


def test_dropout_from_a_generator_draws_what_the_global_generator_would():
    """Models trained in threads draw their masks from their own generator: the same masks as PyTorch's global
    generator in the same state (so a run in worker threads gives the numbers of a run one model at a time)."""
    x = torch.randn(64, 19, 32)
    torch.manual_seed(7)
    expected_layer = dropout(x, 0.3, True)
    expected_head = Dropout(0.3).train()(x)
    generator = torch.Generator().manual_seed(7)
    assert torch.equal(dropout(x, 0.3, True, generator), expected_layer)
    head = Dropout(0.3).train()
    head.generator = generator
    assert torch.equal(head(x), expected_head)
    assert not torch.equal(expected_head, expected_layer)  # each draw moves the generator on
    assert torch.equal(dropout(x, 0.3, False, generator), x) and torch.equal(head.eval()(x), x)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_dropout_keeps_each_element_with_probability_one_minus_p_and_is_unbiased(p):
    generator = torch.Generator().manual_seed(0)
    n = 400_000
    mask, keep_probability = keep_mask((n,), p, generator=generator)
    assert mask.dtype == torch.bool and mask.shape == (n,)
    assert keep_probability == pytest.approx(1 - p, abs=2 ** -17)
    # a binomial proportion: 5 standard errors
    assert abs(mask.double().mean().item() - keep_probability) < 5 * (p * (1 - p) / n) ** 0.5
    # neighbouring elements come from the same 64-bit draw: they must still be independent
    pairs = mask[: n // 2 * 2].view(-1, 2).double()
    assert abs((pairs[:, 0] * pairs[:, 1]).mean().item() - keep_probability ** 2) < 5 * (1 / n) ** 0.5
    out = dropout(torch.ones(n), p, True, generator)
    assert set(out.unique().tolist()) <= {0.0, torch.tensor(1 / keep_probability).item()}
    assert out.double().mean().item() == pytest.approx(1.0, abs=5 * ((1 - keep_probability) / keep_probability / n) ** 0.5)


def test_keep_mask_shapes_and_extreme_probabilities():
    generator = torch.Generator().manual_seed(0)
    for shape in [(1,), (3,), (5, 7), (2, 3, 5)]:  # element counts that are not multiples of four
        mask, _ = keep_mask(shape, 0.3, generator=generator)
        assert mask.shape == shape
    mask, keep_probability = keep_mask((10_000,), 0.999999, generator=generator)
    assert keep_probability == 2 ** -16 and mask.sum().item() < 10
    mask, keep_probability = keep_mask((10_000,), 1e-9, generator=generator)
    assert keep_probability == 1.0 and mask.all()


def test_initialised_model_is_the_same_whatever_is_drawn_from_the_global_generator_after_it():
    """Weights from the global generator seeded with the model's seed (under a lock other models' draws also
    take), dropout from the model's own generator: draws from the global generator once the model is made (another
    thread's work) change neither."""
    from eeg_gnn.models.training import initialised_model

    def build():
        return build_model("cheb", 5, 2, hidden_channels=8, n_layers=2, dropout=0.5, K=3)

    x = torch.randn(16, 19, 5)
    operator = torch.zeros(19, 19)
    outputs = []
    for interleave in (False, True):
        model = initialised_model(build, "cpu", 3)
        if interleave:
            torch.rand(1000)
        model.train()
        outputs.append((model.state_dict()["head.0.weight"].clone(), model.forward_dense(x, operator)))
    assert torch.equal(outputs[0][0], outputs[1][0]) and torch.equal(outputs[0][1], outputs[1][1])
    torch.manual_seed(3)
    reference = build()
    reference.reset_parameters()
    assert torch.equal(reference.state_dict()["head.0.weight"], outputs[0][0])


def test_a_pyg_layer_is_made_under_the_lock_that_model_initialisation_holds():
    """PyG's constructor draws from the global generator (then restores it): made while another thread seeds and
    initialises a model, it would take that model's draws, so it waits for the same lock."""
    import threading

    from eeg_gnn.models.layers import GLOBAL_GENERATOR_LOCK, ChebWeights

    layer = ChebWeights(4, 8, K=3)
    made = threading.Event()
    worker = threading.Thread(target=lambda: (layer.pyg_layer(), made.set()))
    with GLOBAL_GENERATOR_LOCK:
        worker.start()
        assert not made.wait(timeout=0.5)
    assert made.wait(timeout=60)
    worker.join()
