"""Readouts that keep electrode identity, node embeddings, each node's own weight, and the new models (GAT, GIN):
the pool readout is the model it always was, the others can tell electrodes apart, and every setting is saved and
rebuilt from a checkpoint."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from eeg_gnn.evaluation.splitters import Fold
from eeg_gnn.models.catalog import MODELS, READOUTS
from eeg_gnn.models.classifiers import build_model, make_batch, model_from_checkpoint
from eeg_gnn.models.persistence import load_checkpoint, save_checkpoint
from eeg_gnn.models.training import (
    Samples,
    fit_graph,
    initialised_model,
    predict_proba,
    train_graph_model,
)

#: Made by the code before readouts existed (mean and max pooling only), at commit 9cb4a67, with
#: ``initialised_model(lambda: build_model(name, 3, 2, hidden_channels=4, n_layers=2, dropout=0.3, K=3, n_nodes=5,
#: adjacency=adjacency.mean(0)), "cpu", 7)`` in one torch thread: its parameters, and its logits on the saved inputs
#: (evaluation mode on both paths; training mode, dropout included, on the dense path).
POOL_REFERENCE = Path(__file__).parent / "data" / "pool_readout_reference.pt"
GRAPH_MODELS = ["gcn", "cheb", "gat", "gin", "dgcnn"]
N_NODES, N_FEATURES = 5, 3

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", ["gcn", "cheb", "dgcnn"])
def test_pool_readout_is_the_model_it_always_was(name):
    reference = torch.load(POOL_REFERENCE, weights_only=True)
    x, adjacency = reference["x"], reference["adjacency"]
    model = initialised_model(lambda: build_model(name, N_FEATURES, 2, hidden_channels=4, n_layers=2, dropout=0.3,
                                                  K=3, n_nodes=N_NODES, adjacency=adjacency.mean(0),
                                                  readout="pool", node_embedding=0, self_weight=False), "cpu", 7)
    expected = reference[name]
    assert model.state_dict().keys() == expected["state_dict"].keys()
    for key, value in expected["state_dict"].items():
        assert torch.equal(model.state_dict()[key], value), key
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.forward_dense(x, model.operator(adjacency)), expected["dense"])
        assert torch.equal(model(*make_batch(x, adjacency)), expected["pyg"])
    model.train()
    assert torch.equal(model.forward_dense(x, model.operator(adjacency)).detach(), expected["dense_train"])
    # a checkpoint saved before readouts existed (no readout in its model_kwargs) loads as this model
    old = {"model": name, "state_dict": expected["state_dict"],
           "model_kwargs": {"in_channels": N_FEATURES, "n_classes": 2, "hidden_channels": 4, "n_layers": 2,
                            "dropout": 0.3, "K": 3, **({"n_nodes": N_NODES, "l1": 1e-3} if name == "dgcnn" else {})}}
    with torch.no_grad():
        assert torch.equal(model_from_checkpoint(old).forward_dense(x, model.operator(adjacency)), expected["dense"])


def _signal_on(node: int) -> torch.Tensor:
    """One graph whose only non-zero features are those of ``node``; the same values whichever node carries them."""
    x = torch.zeros(1, N_NODES, N_FEATURES)
    x[0, node] = torch.tensor([1.0, -2.0, 0.5])
    return x


@pytest.mark.parametrize("name", GRAPH_MODELS)
@pytest.mark.parametrize(("readout", "node_embedding", "tells_apart"),
                         [("pool", 0, False), ("flatten", 0, True), ("pool", 2, True)],
                         ids=["pool", "flatten", "pool+embedding"])
def test_a_readout_that_keeps_identity_tells_two_electrodes_apart(name, readout, node_embedding, tells_apart):
    """A signal on node 0 or the same signal on node 1, without edges: a montage-free model cannot tell them apart."""
    model = initialised_model(lambda: build_model(name, N_FEATURES, 2, hidden_channels=4, n_layers=2, dropout=0.0,
                                                  n_nodes=N_NODES, readout=readout, node_embedding=node_embedding),
                              "cpu", 0).eval()
    no_edges = torch.zeros(N_NODES, N_NODES)
    with torch.no_grad():
        on_0, on_1 = _signal_on(0), _signal_on(1)
        dense = [model.forward_dense(x, model.operator(no_edges)) for x in (on_0, on_1)]
        pyg = [model(*make_batch(x, no_edges)) for x in (on_0, on_1)]
    for logits in (dense, pyg):
        differ = (logits[0] - logits[1]).abs().max().item()
        if tells_apart:
            assert differ > 1e-4
        else:
            assert differ < 1e-6
    torch.testing.assert_close(dense[0], pyg[0], atol=1e-6, rtol=0)


def test_identity_settings_are_checked():
    with pytest.raises(ValueError, match="needs the number of nodes"):
        build_model("cheb", N_FEATURES, 2, readout="flatten")
    with pytest.raises(ValueError, match="Allowed values are 'pool', 'flatten'"):
        build_model("cheb", N_FEATURES, 2, readout="sum", n_nodes=N_NODES)
    with pytest.raises(ValueError, match="node_embedding must be >= 0"):
        build_model("gin", N_FEATURES, 2, node_embedding=-1, n_nodes=N_NODES)
    flatten = build_model("gat", N_FEATURES, 2, n_nodes=N_NODES, readout="flatten")
    with pytest.raises(ValueError, match="reads 5 nodes; the graphs have 4"):
        flatten.forward_dense(torch.zeros(2, 4, N_FEATURES), flatten.operator(torch.zeros(4, 4)))
    embedded = build_model("gcn", N_FEATURES, 2, n_nodes=N_NODES, node_embedding=2)
    with pytest.raises(ValueError, match="embedding for each of 5 nodes; the graphs have 4"):
        embedded.forward_dense(torch.zeros(2, 4, N_FEATURES), embedded.operator(torch.zeros(4, 4)))
    uneven = torch.tensor([0] * N_NODES + [1] * (N_NODES - 1))
    with pytest.raises(ValueError, match="these graphs differ in size"):
        flatten(torch.zeros(len(uneven), N_FEATURES), torch.zeros(2, 0, dtype=torch.long), None, uneven)
    assert set(READOUTS) == {"pool", "flatten"} and {"gat", "gin"} <= set(MODELS)


def test_gcn_self_weight_is_a_weight_of_its_own():
    """Node 0 is joined to node 1 only: without a self weight, swapping their features changes node 0's output only
    through the shared weight, and a GCN of one shared weight gives both nodes the same output; the root weight
    makes them differ."""
    pair = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    x = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    outputs = {}
    for self_weight in (False, True):
        torch.manual_seed(0)
        model = build_model("gcn", N_FEATURES, 2, hidden_channels=4, n_layers=1, n_nodes=2, self_weight=self_weight)
        conv = model.convs[0]
        outputs[self_weight] = model._conv_dense(conv, x, model.operator(pair))[0]
        assert ("root.weight" in conv.state_dict()) == self_weight
        with torch.no_grad():
            pyg = conv(x[0], *make_batch(x, pair)[1:3])
        torch.testing.assert_close(outputs[self_weight], pyg)
    # D^-1/2 (A + I) D^-1/2 averages the two nodes equally: identical outputs without a weight of their own
    torch.testing.assert_close(outputs[False][0], outputs[False][1])
    assert (outputs[True][0] - outputs[True][1]).abs().max() > 1e-3


@pytest.mark.parametrize("name", ["gat", "gin"])
def test_without_edges_a_node_keeps_its_own_features_through_its_own_weight(name):
    model = build_model(name, N_FEATURES, 2, hidden_channels=4, n_layers=1, n_nodes=N_NODES)
    conv = model.convs[0]
    x = torch.randn(2, N_NODES, N_FEATURES)
    with torch.no_grad():
        out = model._conv_dense(conv, x, model.operator(torch.zeros(N_NODES, N_NODES)))
        expected = (conv.res(x) + conv.bias if name == "gat" else conv.mlp((1 + conv.eps) * x) + conv.root(x))
    torch.testing.assert_close(out, expected)


# --- training, determinism and checkpoints ----------------------------------------------------------------------

def _samples(seed: int = 0, n_subjects: int = 8, per_subject: int = 10) -> Samples:
    """Class 1 carries a signal on node 0 only."""
    rng = np.random.default_rng(seed)
    n = n_subjects * per_subject
    labels = np.tile(np.repeat([0, 1], per_subject // 2), n_subjects)
    subjects = np.repeat([f"s{i}" for i in range(n_subjects)], per_subject)
    features = rng.standard_normal((n, N_NODES, N_FEATURES)).astype(np.float32)
    features[labels == 1, 0, 0] += 1.5
    adjacency = rng.random((n, N_NODES, N_NODES)).astype(np.float32)
    adjacency = (adjacency + np.swapaxes(adjacency, 1, 2)) / 2
    adjacency[:, np.arange(N_NODES), np.arange(N_NODES)] = 0
    return Samples(labels=labels, subjects=subjects, recordings=subjects, groups=subjects,
                   window_index=np.arange(n), onsets=np.zeros(n), features=features, adjacency=adjacency,
                   node_names=["Fz", "Cz", "Pz", "O1", "O2"])


FOLD = Fold(0, ("s0", "s1", "s2", "s3", "s4"), ("s5",), ("s6", "s7"))


def _settings(**overrides) -> SimpleNamespace:
    values = dict(model="cheb", hidden=8, layers=2, dropout=0.2, cheb_k=2, lr=1e-2, weight_decay=0.0, epochs=3,
                  patience=3, batch_size=16, seed=0, device="cpu", backend="dense", progress=False,
                  adjacency_l1=1e-3, node_features="bands", spatial_centring=False, readout="pool",
                  node_embedding=0, self_weight=False)
    values.update(overrides)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(("model", "readout", "node_embedding", "self_weight"), [
    ("gat", "pool", 0, False), ("gin", "flatten", 0, False), ("gcn", "flatten", 3, True), ("cheb", "flatten", 2, False),
    ("dgcnn", "flatten", 0, False)])
def test_every_model_and_readout_is_rebuilt_from_its_checkpoint(tmp_path, model, readout, node_embedding,
                                                                 self_weight):
    samples = _samples()
    settings = _settings(model=model, readout=readout, node_embedding=node_embedding, self_weight=self_weight)
    fit = fit_graph(settings, samples, FOLD, 2, init_seed=3)
    kwargs = fit.checkpoint["model_kwargs"]
    assert (kwargs["readout"], kwargs["node_embedding"], kwargs["n_nodes"]) == (readout, node_embedding, N_NODES)
    path = save_checkpoint(fit.checkpoint, tmp_path / "fold_0.pt")
    rebuilt = model_from_checkpoint(load_checkpoint(path))
    assert rebuilt.readout == readout
    test_mask = np.isin(samples.groups, FOLD.test_subjects)
    checkpoint = fit.checkpoint
    x = ((samples.features[test_mask] - checkpoint["feature_mean"].numpy())
         / checkpoint["feature_std"].numpy()).astype(np.float32)
    np.testing.assert_allclose(predict_proba(rebuilt, x, samples.adjacency[test_mask]), fit.test_proba,
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(predict_proba(rebuilt, x, samples.adjacency[test_mask], backend="pyg"),
                               fit.test_proba, atol=1e-5)


@pytest.mark.parametrize("model", ["gat", "gin"])
def test_same_seed_same_training_for_the_new_models(model):
    samples = _samples()
    train = (samples.features[:50], samples.adjacency[:50], samples.labels[:50])
    val = (samples.features[50:], samples.adjacency[50:], samples.labels[50:])
    settings = _settings(model=model, readout="flatten", node_embedding=2)
    (first, first_history, _), (second, second_history, _) = (
        train_graph_model(settings, 2, train, val, init_seed=5) for _ in range(2))
    assert first_history == second_history
    for key, value in first.state_dict().items():
        assert torch.equal(second.state_dict()[key], value), key
    other, _, _ = train_graph_model(settings, 2, train, val, init_seed=6)
    assert not torch.equal(other.state_dict()["head.0.weight"], first.state_dict()["head.0.weight"])
