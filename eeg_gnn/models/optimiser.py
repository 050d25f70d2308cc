"""Adam for the graph models, on PyTorch's fused kernel, without importing ``torch._dynamo``.

Every ``torch.optim`` optimiser imports ``torch._dynamo`` the first time it adds its parameters (its methods are
wrapped so that ``torch.compile`` skips them): 1.0-1.6 s and 68 MiB of resident memory on this 2-core machine, in
every run and in every worker process, for a compiler training never uses. :class:`FusedAdam` makes the call
``torch.optim.Adam(params, lr, weight_decay=..., fused=True)`` makes on each step (``torch._fused_adam_``, weight
decay added to the gradient, no AMSGrad), with the same state, so its steps are bit for bit those of
``torch.optim.Adam`` (``tests/test_optimiser.py``). Where that kernel is missing (a PyTorch without it, a device it
does not support) :func:`make_adam` returns ``torch.optim.Adam`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn


class FusedAdam:
    """Adam with L2 weight decay (``torch.optim.Adam``'s), one fused update of every parameter per step.

    Parameters
    ----------
    params : iterable of Parameter
        On one device, of one floating-point dtype.
    lr : float
    weight_decay : float
        Added to the gradient as ``weight_decay * param`` (not decoupled, as ``torch.optim.Adam``).
    betas : (float, float)
    eps : float

    Notes
    -----
    As in ``torch.optim.Adam``, a parameter without a gradient at a step is left alone, its state included, and
    the state of a parameter is made the first time it has a gradient.
    """

    def __init__(self, params: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("FusedAdam got no parameter that requires a gradient.")
        kinds = {(p.device, p.dtype) for p in self.params}
        if len(kinds) > 1:
            raise ValueError(f"FusedAdam needs every parameter on one device with one dtype, got {sorted(map(str, kinds))}.")
        self.lr, self.weight_decay, self.betas, self.eps = float(lr), float(weight_decay), betas, float(eps)
        self.state: dict[int, tuple[Tensor, Tensor, Tensor]] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        chosen = [(i, p) for i, p in enumerate(self.params) if p.grad is not None]
        if not chosen:
            return
        for i, p in chosen:
            if i not in self.state:
                self.state[i] = (torch.zeros((), dtype=torch.float32, device=p.device),
                                 torch.zeros_like(p, memory_format=torch.preserve_format),
                                 torch.zeros_like(p, memory_format=torch.preserve_format))
        steps, exp_avgs, exp_avg_sqs = (list(column) for column in zip(*(self.state[i] for i, _ in chosen)))
        torch._foreach_add_(steps, 1)
        torch._fused_adam_([p for _, p in chosen], [p.grad for _, p in chosen], exp_avgs, exp_avg_sqs, [], steps,
                           amsgrad=False, lr=self.lr, beta1=self.betas[0], beta2=self.betas[1],
                           weight_decay=self.weight_decay, eps=self.eps, maximize=False, grad_scale=None,
                           found_inf=None)


def make_adam(params: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.0):
    """The graph models' optimiser: :class:`FusedAdam` where PyTorch has the fused kernel for the parameters'
    device (CPU, CUDA), else ``torch.optim.Adam``; both take steps with ``zero_grad()`` and ``step()``."""
    params = list(params)
    device = params[0].device.type if params else "cpu"
    if hasattr(torch, "_fused_adam_") and device in ("cpu", "cuda"):
        return FusedAdam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
