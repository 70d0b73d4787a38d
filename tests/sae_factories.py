"""Small SAE stacks for the tests: random weights of every architecture, and one trainer step on a stack."""

from __future__ import annotations

import math

import torch

from superposition.sae import ArchitectureOptions, SAEStack, get_architecture
from superposition.sae.base import project_out_radial_, unit_rows
from superposition.sweep_block import Block


def random_stack(architecture: str, sparsities: tuple[float, ...], dict_size: int, dim: int, seed: int = 0,
                 dtype: torch.dtype = torch.float64, threshold: float = 0.3) -> SAEStack:
    """A stack with random weights (unit decoder rows where the architecture keeps them), buffers set."""
    generator = torch.Generator().manual_seed(seed)
    n = len(sparsities)

    def normal(*shape, scale=1.0):
        return torch.randn(*shape, generator=generator, dtype=dtype) * scale

    arch = get_architecture(architecture)
    w_dec = normal(n, dict_size, dim)
    params = {"w_enc": normal(n, dict_size, dim, scale=1 / math.sqrt(dim)), "b_enc": normal(n, dict_size, scale=0.1),
              "w_dec": unit_rows(w_dec) if arch.unit_norm_decoder else w_dec}
    buffers = {}
    if arch.pre_encoder_bias:
        params["b_dec"] = normal(n, dim, scale=0.1)
    if architecture in ("topk", "batchtopk"):
        buffers["target_variance"] = torch.full((n,), 0.7, dtype=dtype)
    if architecture == "batchtopk":
        buffers["threshold"] = torch.full((n,), math.nan, dtype=dtype)
    if architecture == "jumprelu":
        params["log_threshold"] = (threshold + 0.1 * normal(n, dict_size)).abs().log()
        buffers["input_scale"] = torch.full((n,), 1.3, dtype=dtype)
    return SAEStack(architecture, tuple(sparsities), params, buffers)


def block_step(stack: SAEStack, x: torch.Tensor, options: ArchitectureOptions, counters: torch.Tensor | None = None,
               step: int = 1):
    """One trainer step on a copy of ``stack``: (StepResult, gradients by name (stack layout), counters after)."""
    copy = stack.detached()
    block = Block([copy], options, "cpu")
    if counters is not None:
        block.counters[0].copy_(counters)
    results, grads = block.step(x, step, update=False)
    return results[0], block._views(grads, (0, copy.n_models * copy.dict_size), (0, copy.n_models), copy.dict_size), \
        block.counters[0]


def autograd_gradients(stack: SAEStack, x: torch.Tensor, options: ArchitectureOptions,
                       dead: torch.Tensor | None = None, step: int | None = 1):
    """(Losses, gradients of the objective by autograd, with unit-norm decoder gradients projected as trained)."""
    arch = get_architecture(stack.architecture)
    leaves = {name: tensor.detach().clone().requires_grad_(True) for name, tensor in stack.params.items()}
    losses = arch.losses(x, SAEStack(stack.architecture, stack.sparsities, leaves, stack.buffers), options,
                         dead=dead, step=step)
    losses.objective.sum().backward()
    grads = {name: leaf.grad for name, leaf in leaves.items()}
    if arch.unit_norm_decoder:
        project_out_radial_(grads["w_dec"], stack.w_dec)
    return losses, grads
