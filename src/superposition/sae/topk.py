"""topk: the TopK SAE of Gao et al. (2024), "Scaling and evaluating sparse autoencoders"; sparsity value k.

Encoder ``pre = (x − b_dec) W_encᵀ + b_enc``; the k largest pre-activations of each sample are kept, then a
ReLU (the order of the authors' code and of SAELens: top-k, then ReLU); ``x̂ = z W_dec + b_dec``. The decoder rows
are kept at unit norm: the gradient component parallel to each row is removed before the Adam step and the rows
are renormalised after it (Gemma Scope's order, so that every saved model has unit rows). Objective:

    L = mean_{b,j} (x̂ − x)² / σ²  +  aux_coefficient · L_aux,

σ² the centred variance of the initialisation sample, fixed at the start (the code's normalised MSE), L_aux the
AuxK loss (:mod:`superposition.sae.auxk`). A stack holds several k: each model keeps its own k of the top
max(k) values (the others are masked).

Initialisation (the authors' code): W_enc ~ Uniform(±1/√h) (``nn.Linear``'s default), W_dec = W_enc with unit
rows (the decoder is the encoder's transpose in SAELens's layout), b_enc = 0, b_dec = the geometric median of
the initialisation sample (Weiszfeld's algorithm; ``b_dec_init: mean`` takes the mean).

Decisions where the paper leaves a choice (each recorded in the report): inputs are not normalised per token
(the toy data's ground truth is linear in x, and the LM activations are already scaled to a fixed mean norm);
no encoder rescaling at initialisation (the paper found it neutral); a latent "fires" when its activation is
> 0; the dead window is ``dead_tokens`` counted in whole batches; no gradient clipping; constant learning rate.
"""

from __future__ import annotations

import torch

from superposition.sae.auxk import auxk_loss_and_gradients, auxk_reference_loss, gather_dead
from superposition.sae.base import (
    Architecture,
    Losses,
    SAEStack,
    StepContext,
    StepResult,
    model_seed,
    unit_rows,
    update_dead_counters_,
)
from superposition.sae.data_init import centred_variance, initial_b_dec
from superposition.sae.options import ArchitectureOptions
from superposition.sae.relu_l1 import relu_mask_

__all__ = ["TopK", "TOPK", "topk_codes", "k_values", "init_tied", "decode_with_bias", "add_auxk_",
           "topk_family_losses"]


def k_values(stack: SAEStack) -> list[int]:
    """The stack's k values as integers."""
    return [int(k) for k in stack.sparsities]


def topk_codes(pre: torch.Tensor, ks: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(values (n, B, max k) after ReLU, zero beyond each model's k; their latent indices): pre (n, B, J)."""
    largest = max(ks)
    values, index = pre.topk(largest, dim=-1)
    if min(ks) < largest:
        limit = torch.tensor(ks, device=pre.device)[:, None, None]
        values.masked_fill_(torch.arange(largest, device=pre.device) >= limit, 0.0)
    return values.relu_(), index


def init_tied(architecture: str, dim: int, dict_size: int, sparsities: tuple[float, ...], seed: int
              ) -> dict[str, torch.Tensor]:
    """w_enc ~ Uniform(±1/√h), w_dec = w_enc with unit rows, b_enc = 0 (one model per sparsity value)."""
    encoders = []
    for value in sparsities:
        generator = torch.Generator().manual_seed(model_seed(seed, architecture, dict_size, value))
        bound = 1.0 / dim**0.5
        encoders.append(torch.empty(dict_size, dim).uniform_(-bound, bound, generator=generator))
    w_enc = torch.stack(encoders)
    return {"w_enc": w_enc, "b_enc": torch.zeros(len(sparsities), dict_size), "w_dec": unit_rows(w_enc)}


def decode_with_bias(codes: torch.Tensor, stack: SAEStack) -> torch.Tensor:
    """x̂ = z W_dec + b_dec: codes (n, B, J) -> (n, B, h)."""
    return torch.baddbmm(stack.params["b_dec"].unsqueeze(1), codes, stack.w_dec)


def topk_family_losses(x: torch.Tensor, pre: torch.Tensor, codes: torch.Tensor, stack: SAEStack,
                       options: ArchitectureOptions, dead: torch.Tensor | None) -> Losses:
    """Objective mean (x̂ − x)²/σ² + c·L_aux: x (B, h), pre and codes (n, B, J), ``dead`` (n, J) or None (no AuxK).

    Shared by TopK and BatchTopK, which differ only in how they choose ``codes`` from ``pre``.
    """
    residual = decode_with_bias(codes, stack) - x
    mse = residual.pow(2).mean(dim=(1, 2))
    aux = torch.zeros_like(mse)
    if dead is not None and options.aux_coefficient > 0:
        aux = options.aux_coefficient * auxk_reference_loss(pre, dead, stack, -residual, options.k_aux)
    return Losses(mse, aux, codes, mse / stack.buffers["target_variance"] + aux)


def pre_activations(x: torch.Tensor, stack: SAEStack) -> torch.Tensor:
    """(x − b_dec) W_encᵀ + b_enc: x (B, h) -> (n, B, J)."""
    centred = x.unsqueeze(0) - stack.params["b_dec"].unsqueeze(1)  # (n, B, h)
    return torch.baddbmm(stack.b_enc.unsqueeze(1), centred, stack.w_enc.transpose(1, 2))


def add_auxk_(pre: torch.Tensor, codes_fired: torch.Tensor, stack: SAEStack, counters: torch.Tensor,
              context: StepContext):
    """Update the dead counters with ``codes_fired`` (n, J) and gather the dead latents for AuxK (or None)."""
    update_dead_counters_(counters, codes_fired)
    if context.options.aux_coefficient == 0:
        return None
    return gather_dead(pre, counters >= context.dead_steps)


@torch.no_grad()
def topk_family_backward(x: torch.Tensor, codes: torch.Tensor, stack: SAEStack, grads: dict[str, torch.Tensor],
                         dead, context: StepContext) -> StepResult:
    """Shared by TopK and BatchTopK once ``codes`` (n, B, J) are set: reconstruction, AuxK and all gradients."""
    batch, dim = x.shape
    residual = decode_with_bias(codes, stack).sub_(x)  # (n, B, h): x̂ − x
    mse = residual.pow(2).mean(dim=(1, 2)) if context.report else None
    aux = torch.zeros(stack.n_models, dtype=x.dtype, device=x.device)
    if dead is not None:
        aux, grad_dead, grad_rows = auxk_loss_and_gradients(dead, stack.w_dec, residual.neg(), context.options.k_aux,
                                                            context.options.aux_coefficient)
    scale = 2.0 / (batch * dim * stack.buffers["target_variance"])  # (n,)
    grad_output = residual.mul_(scale[:, None, None])
    torch.bmm(codes.transpose(1, 2), grad_output, out=grads["w_dec"])
    torch.sum(grad_output, dim=1, out=grads["b_dec"])
    relu_mask_(torch.bmm(grad_output, stack.w_dec.transpose(1, 2), out=grads["pre"]), codes)
    if dead is not None:
        grads["pre"].scatter_add_(2, dead.index[:, None, :].expand(-1, batch, -1), grad_dead)
        grads["w_dec"].scatter_add_(1, dead.index[..., None].expand(-1, -1, dim), grad_rows)
    return StepResult(mse, context.options.aux_coefficient * aux if context.report else None)


class TopK(Architecture):
    """Gao et al.'s TopK SAE with AuxK."""

    name = "topk"
    sparsity_name = "k"
    sparsity_label = "k (active latents per sample)"
    saelens_architecture = "topk"
    param_names = ("w_enc", "b_enc", "w_dec", "b_dec")
    pre_encoder_bias = True
    unit_norm_decoder = True
    needs_data = True

    def check_sparsity(self, value: float, dict_size: int) -> None:
        if value != int(value) or not 1 <= value <= dict_size:
            raise ValueError(f"{self.name}: k must be a whole number in [1, J = {dict_size}], got {value}")

    def init_stack(self, dim: int, dict_size: int, sparsities: tuple[float, ...], seed: int,
                   options: ArchitectureOptions, data: torch.Tensor | None = None) -> SAEStack:
        if data is None:
            raise ValueError(f"{self.name} initialises b_dec and its loss scale from data: pass a sample")
        for value in sparsities:
            self.check_sparsity(value, dict_size)
        params = init_tied(self.name, dim, dict_size, sparsities, seed)
        n = len(sparsities)
        params["b_dec"] = initial_b_dec(data.cpu().float(), options.b_dec_init).expand(n, dim).clone()
        variance = torch.full((n,), centred_variance(data), dtype=torch.float32)
        return SAEStack(self.name, tuple(sparsities), params, {"target_variance": variance})

    def encode(self, x: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """z = scatter of ReLU(top-k of the pre-activations) per sample: x (B, h) -> (n, B, J)."""
        pre = pre_activations(x, stack)
        values, index = topk_codes(pre, k_values(stack))
        return torch.zeros_like(pre).scatter_(-1, index, values)

    def decode(self, codes: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        return decode_with_bias(codes, stack)

    def losses(self, x: torch.Tensor, stack: SAEStack, options: ArchitectureOptions,
               dead: torch.Tensor | None = None, step: int | None = None) -> Losses:
        """Objective mean (x̂ − x)²/σ² + c·L_aux with the given ``dead`` (n, J) mask (None: no AuxK)."""
        pre = pre_activations(x, stack)
        values, index = topk_codes(pre, k_values(stack))
        codes = torch.zeros_like(pre).scatter(-1, index, values)
        return topk_family_losses(x, pre, codes, stack, options, dead)

    @torch.no_grad()
    def train_step(self, x: torch.Tensor, pre: torch.Tensor, stack: SAEStack, grads: dict[str, torch.Tensor],
                   counters: torch.Tensor, context: StepContext) -> StepResult:
        """G3: ∂L/∂pre_bi = 1[i ∈ top-k_b] 1[pre_bi > 0] ∂L/∂z_bi; AuxK adds its gradient on dead latents."""
        # One unsorted top-k per model with its own k: on a CPU several times faster than a sorted top-max(k).
        chosen = [pre[model].topk(k, dim=-1, sorted=False) for model, k in enumerate(k_values(stack))]
        fired = torch.zeros_like(counters, dtype=torch.bool)  # (n, J)
        for model, (values, index) in enumerate(chosen):
            values.relu_()
            fired[model, index[values > 0]] = True
        dead = add_auxk_(pre, fired, stack, counters, context)
        codes = pre.zero_()  # (n, B, J), in the trainer's buffer
        for model, (values, index) in enumerate(chosen):
            codes[model].scatter_(-1, index, values)
        return topk_family_backward(x, codes, stack, grads, dead, context)


TOPK = TopK()
