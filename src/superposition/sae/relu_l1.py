"""relu_l1: the SAE of Sharkey, Braun & Millidge (2022), unchanged since before the SAE package existed.

One SAE: ``c = ReLU(W_e x + b_e)``, ``x̂ = D̂ c`` where ``D̂`` is the decoder with every dictionary element
(column of the report's h×J matrix ``D``; a row of our ``w_dec``) scaled to unit norm on the forward pass,
and no decoder bias. Loss per sample: ``(1/h)||x − x̂||² + (α/J)|c|₁``, averaged over the batch; the sparsity
hyper-parameter is the L1 coefficient α.

The gradient is written out by hand in :meth:`ReluL1.train_step` (checked against autograd in the tests): on a
CPU this removes most of autograd's elementwise passes over the (n, batch, J) activations. The numbers equal
those of the pre-package code on the same seed (tests/data/relu_l1_reference.safetensors).

Initialisation (the report names only the decoder's): the decoder is orthogonal (``torch.nn.init.orthogonal_``
on the h×J matrix, Hu et al. 2020); the encoder weight and bias use ``torch.nn.Linear``'s default
(Uniform(±1/√h)), the default of the PyTorch layer the report's autoencoder is built from.
"""

from __future__ import annotations

import torch

from superposition.sae.base import (
    Architecture,
    Losses,
    SAEStack,
    StepContext,
    StepResult,
    model_seed,
    update_dead_counters_,
)
from superposition.sae.options import ArchitectureOptions

__all__ = ["ReluL1", "RELU_L1", "init_sae", "normalized_decoder", "relu_mask_"]


def init_sae(dim: int, dict_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Initial (W_enc (J, h), b_enc (J,), W_dec (J, h)) of one SAE, on the CPU, from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    bound = 1.0 / dim**0.5
    w_enc = torch.empty(dict_size, dim).uniform_(-bound, bound, generator=generator)
    b_enc = torch.empty(dict_size).uniform_(-bound, bound, generator=generator)
    decoder_h_by_j = torch.empty(dim, dict_size)
    torch.nn.init.orthogonal_(decoder_h_by_j, generator=generator)
    return w_enc, b_enc, decoder_h_by_j.T.contiguous()


def normalized_decoder(w_dec: torch.Tensor) -> torch.Tensor:
    """Decoder rows scaled to unit norm: (..., J, h) -> (..., J, h)."""
    return w_dec / w_dec.norm(dim=-1, keepdim=True)


def relu_mask_(grad: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """grad ← grad where codes > 0, else 0 (ReLU's backward), in place, in one pass."""
    return torch.ops.aten.threshold_backward.grad_input(grad, codes, 0.0, grad_input=grad)


class ReluL1(Architecture):
    """Sharkey et al.'s SAE: ReLU encoder, L1 penalty (α/J)|c|₁, decoder normalised on the forward pass."""

    name = "relu_l1"
    sparsity_name = "l1_coefficient"
    sparsity_label = "L1 coefficient α"
    saelens_architecture = "standard"
    param_names = ("w_enc", "b_enc", "w_dec")

    def init_stack(self, dim: int, dict_size: int, sparsities: tuple[float, ...], seed: int,
                   options: ArchitectureOptions, data: torch.Tensor | None = None) -> SAEStack:
        inits = [init_sae(dim, dict_size, model_seed(seed, self.name, dict_size, alpha)) for alpha in sparsities]
        w_enc, b_enc, w_dec = (torch.stack(parts) for parts in zip(*inits))
        return SAEStack(self.name, tuple(sparsities), {"w_enc": w_enc, "b_enc": b_enc, "w_dec": w_dec})

    def encode(self, x: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """c = ReLU(W_e x + b_e): x (B, h) -> (n, B, J)."""
        return torch.relu(torch.matmul(x, stack.w_enc.transpose(-1, -2)) + stack.b_enc.unsqueeze(-2))

    def decode(self, codes: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """x̂ = D̂ c: codes (n, B, J) -> (n, B, h)."""
        return torch.bmm(codes, normalized_decoder(stack.w_dec))

    def losses(self, x: torch.Tensor, stack: SAEStack, options: ArchitectureOptions | None = None,
               dead: torch.Tensor | None = None, step: int | None = None) -> Losses:
        """reconstruction = mean_batch (1/h)||x − x̂||²;  penalty = (α/J) mean_batch |c|₁; objective = their sum."""
        codes = self.encode(x, stack)
        residual = self.decode(codes, stack) - x  # (n, B, h)
        reconstruction = residual.pow(2).mean(dim=(1, 2))
        l1 = self.penalty(codes, stack)
        return Losses(reconstruction, l1, codes, reconstruction + l1)

    def penalty(self, codes: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """(α/J) mean_batch |c|₁: codes (n, B, J) -> (n,)."""
        return stack.sparsity_tensor(codes.device) * codes.abs().sum(dim=2).mean(dim=1) / stack.dict_size

    @torch.no_grad()
    def train_step(self, x: torch.Tensor, pre: torch.Tensor, stack: SAEStack, grads: dict[str, torch.Tensor],
                   counters: torch.Tensor, context: StepContext) -> StepResult:
        """With r = x̂ − x, B the batch size and D̂ = D/||D||: ∂/∂x̂ = 2r/(Bh); ∂/∂c = (∂/∂x̂) D̂ᵀ + α/(JB),
        masked by c > 0; ∂/∂D̂ = cᵀ (∂/∂x̂); ∂/∂D = (∂/∂D̂ − D̂ ⟨D̂, ∂/∂D̂⟩) / ||D|| row-wise."""
        n_models, dict_size, dim = stack.w_dec.shape
        batch = x.shape[0]
        codes = pre.relu_()  # (n, B, J), in the trainer's pre-activation buffer
        decoder_norm = stack.w_dec.norm(dim=-1, keepdim=True)  # (n, J, 1)
        decoder = stack.w_dec / decoder_norm  # (n, J, h)
        residual = torch.bmm(codes, decoder).sub_(x)  # (n, B, h)
        alpha_per_latent = context.sparsity / (dict_size * batch)  # (n,)
        fired_sum = codes.sum(dim=1)  # (n, J); codes ≥ 0, so |c|₁ = Σc and a latent fired iff its sum > 0
        update_dead_counters_(counters, fired_sum > 0)
        result = StepResult(None, None)
        if context.report:
            result = StepResult(residual.pow(2).sum(dim=(1, 2)) / (batch * dim),
                                fired_sum.sum(dim=1) * alpha_per_latent)

        grad_output = residual.mul_(2.0 / (batch * dim))  # (n, B, h), reuses the residual's memory
        grad_decoder = torch.bmm(codes.transpose(1, 2), grad_output, out=grads["w_dec"])  # (n, J, h)
        grad_codes = torch.bmm(grad_output, decoder.transpose(1, 2), out=grads["pre"])  # (n, B, J)
        relu_mask_(grad_codes.add_(alpha_per_latent.view(-1, 1, 1)), codes)
        radial = (decoder * grad_decoder).sum(dim=-1, keepdim=True)
        grad_decoder.addcmul_(decoder, radial, value=-1.0).div_(decoder_norm)
        return result


RELU_L1 = ReluL1()
