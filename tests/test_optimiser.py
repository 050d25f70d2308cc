"""FusedAdam takes torch.optim.Adam's fused steps bit for bit; dense training imports neither torch._dynamo nor PyG."""

import subprocess
import sys

import pytest
import torch

from eeg_gnn.models.classifiers import build_model
from eeg_gnn.models.optimiser import FusedAdam, make_adam


def _model_and_batch(seed: int):
    torch.manual_seed(seed)
    model = build_model("dgcnn", 5, 2, hidden_channels=8, K=3, n_nodes=6, adjacency=torch.rand(6, 6) + 0.1)
    x, a = torch.randn(16, 6, 5), torch.rand(16, 6, 6)
    return model, x, model.operator((a + a.transpose(1, 2)) / 2), torch.randint(0, 2, (16,))


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_steps_equal_torch_optim_adam_fused(weight_decay):
    trajectories = []
    for make in (lambda params: torch.optim.Adam(params, lr=1e-2, weight_decay=weight_decay, fused=True),
                 lambda params: FusedAdam(params, lr=1e-2, weight_decay=weight_decay)):
        model, x, operator, y = _model_and_batch(0)
        optimiser = make(model.parameters())
        torch.manual_seed(1)
        for _ in range(12):
            loss = torch.nn.functional.cross_entropy(model.forward_dense(x, operator), y) + model.penalty()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        trajectories.append({name: value.clone() for name, value in model.state_dict().items()})
    reference, ours = trajectories
    for name, value in reference.items():
        torch.testing.assert_close(ours[name], value, rtol=0, atol=0, msg=f"{name} differs")


def test_a_parameter_without_gradient_is_left_alone():
    used, unused = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    optimiser = FusedAdam([used, unused], lr=0.1)
    (used * torch.arange(3.0)).sum().backward()
    optimiser.step()
    assert torch.equal(unused, torch.ones(3)) and not torch.equal(used, torch.ones(3))
    assert set(optimiser.state) == {0}


def test_refuses_mixed_dtypes_and_no_parameters():
    with pytest.raises(ValueError, match="one device with one dtype"):
        FusedAdam([torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2, dtype=torch.float64))], lr=0.1)
    with pytest.raises(ValueError, match="no parameter"):
        FusedAdam([], lr=0.1)


def test_make_adam_uses_the_fused_kernel_on_cpu():
    assert isinstance(make_adam([torch.nn.Parameter(torch.ones(2))], lr=0.1), FusedAdam)


def test_training_on_the_dense_path_imports_neither_torch_dynamo_nor_pytorch_geometric():
    code = ("import sys\n"
            "from types import SimpleNamespace\n"
            "import numpy as np\n"
            "from eeg_gnn.models.training import train_graph_model\n"
            "rng = np.random.default_rng(0)\n"
            "windows = (rng.standard_normal((40, 6, 5)).astype(np.float32), rng.random((6, 6)).astype(np.float32),\n"
            "           rng.integers(0, 2, 40))\n"
            "config = SimpleNamespace(model='cheb', hidden=4, layers=2, dropout=0.3, cheb_k=3, lr=1e-3,\n"
            "                         weight_decay=1e-3, epochs=2, patience=3, batch_size=16, seed=0, device='cpu',\n"
            "                         backend='dense', progress=False)\n"
            "train_graph_model(config, 2, windows, windows)\n"
            "print('torch._dynamo' in sys.modules, 'torch_geometric' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"
