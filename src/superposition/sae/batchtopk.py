"""batchtopk: the BatchTopK SAE of Bussmann, Leask & Nanda (2024); sparsity value k (mean active latents).

Training keeps the k·B largest activations ``ReLU(pre)`` of the whole batch of B samples (over the (B, J)
matrix), so one sample may use more or fewer than k latents. Everything else is TopK's
(:mod:`superposition.sae.topk`): pre-encoder bias, unit-norm decoder rows, AuxK, the loss normalised by the
initialisation sample's variance, the same initialisation (b_enc is kept, as in the paper's text and SAELens).

Inference uses one threshold θ per model instead (a JumpReLU with a global threshold: ``f = ReLU(pre)·1[pre > θ]``),
so a sample's code does not depend on its batch-mates. θ is "the average of the minimum positive activation
values across a number of batches": our decision (the paper does not say when or over how many) is an estimate
after training, with frozen weights, over ``threshold_batches`` batches of the training size drawn from the same
stream after the last step: the mean over those batches of the smallest activation BatchTopK keeps.
"""

from __future__ import annotations

import math

import torch

from superposition.sae.base import Losses, SAEStack, StepContext, StepResult
from superposition.sae.options import ArchitectureOptions
from superposition.sae.topk import (
    TopK,
    add_auxk_,
    k_values,
    pre_activations,
    topk_family_backward,
    topk_family_losses,
)

__all__ = ["BatchTopK", "BATCHTOPK", "batch_topk_codes"]


def batch_topk_codes(pre: torch.Tensor, ks: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BatchTopK over each model's batch: pre (n, B, J) -> (codes (n, B, J), smallest kept value (n,) (inf when
    nothing is active), fired (n, J): the latents active somewhere in the batch)."""
    n_models, batch, dict_size = pre.shape
    codes = torch.zeros(n_models, batch * dict_size, dtype=pre.dtype, device=pre.device)
    smallest = torch.full((n_models,), math.inf, dtype=pre.dtype, device=pre.device)
    fired = torch.zeros(n_models, dict_size, dtype=torch.bool, device=pre.device)
    for model, k in enumerate(ks):  # one unsorted top-(k·B) per model: faster on a CPU than a sorted top-max
        values, index = torch.relu(pre[model]).view(-1).topk(k * batch, sorted=False)
        active = values > 0
        codes[model].scatter_(0, index, values)
        fired[model, index[active] % dict_size] = True
        if active.any():
            smallest[model] = values[active].min()
    return codes.view(n_models, batch, dict_size), smallest, fired


class BatchTopK(TopK):
    """Bussmann et al.'s BatchTopK SAE: top k·B over the batch in training, a global threshold at inference."""

    name = "batchtopk"
    sparsity_label = "k (mean active latents per sample)"
    saelens_architecture = "jumprelu"  # with the global threshold broadcast (SAELens has no inference BatchTopK)

    def init_stack(self, dim: int, dict_size: int, sparsities: tuple[float, ...], seed: int,
                   options: ArchitectureOptions, data: torch.Tensor | None = None) -> SAEStack:
        stack = super().init_stack(dim, dict_size, sparsities, seed, options, data)
        stack.buffers["threshold"] = torch.full((len(sparsities),), math.nan)  # set by finish_training
        return stack

    def batch_encode(self, x: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """Training-mode codes, which depend on the whole batch: x (B, h) -> (n, B, J)."""
        return batch_topk_codes(pre_activations(x, stack), k_values(stack))[0]

    def encode(self, x: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """Inference codes ReLU(pre)·1[pre > θ]: x (B, h) -> (n, B, J); each sample on its own."""
        threshold = stack.buffers["threshold"]
        if torch.isnan(threshold).any():
            raise ValueError("batchtopk: the inference threshold has not been estimated; train with the sweep "
                             "trainer (it estimates θ after the last step) or call finish_training")
        pre = pre_activations(x, stack)
        return torch.relu(pre) * (pre > threshold[:, None, None])

    def losses(self, x: torch.Tensor, stack: SAEStack, options: ArchitectureOptions,
               dead: torch.Tensor | None = None, step: int | None = None) -> Losses:
        """The training objective with batch-level codes (see TopK.losses)."""
        pre = pre_activations(x, stack)
        activations = torch.relu(pre).flatten(1)
        ks = k_values(stack)
        columns = []
        for model, k in enumerate(ks):  # per model: the autograd reference need not be fast
            values, index = activations[model].topk(k * x.shape[0])
            columns.append(torch.zeros_like(activations[model]).scatter(0, index, values))
        codes = torch.stack(columns).view_as(pre)
        return topk_family_losses(x, pre, codes, stack, options, dead)

    @torch.no_grad()
    def train_step(self, x: torch.Tensor, pre: torch.Tensor, stack: SAEStack, grads: dict[str, torch.Tensor],
                   counters: torch.Tensor, context: StepContext) -> StepResult:
        """G5: the gradient mask of TopK with the batch-wide kept set; AuxK as in TopK."""
        codes, _, fired = batch_topk_codes(pre, k_values(stack))
        dead = add_auxk_(pre, fired, stack, counters, context)
        return topk_family_backward(x, codes, stack, grads, dead, context)

    @torch.no_grad()
    def finish_training(self, stack: SAEStack, batches: list[torch.Tensor], options: ArchitectureOptions) -> None:
        """θ (n,) = mean over ``batches`` of the smallest activation BatchTopK keeps (frozen weights)."""
        ks = k_values(stack)
        smallest = torch.stack([batch_topk_codes(pre_activations(x, stack), ks)[1] for x in batches])
        stack.buffers["threshold"] = smallest.mean(dim=0).to(torch.float32)


BATCHTOPK = BatchTopK()
