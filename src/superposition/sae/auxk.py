"""AuxK (Gao et al. 2024, appendix A.2): the residual reconstructed from dead latents, so they get a gradient.

With e = x − x̂ (detached), the top-k_aux pre-activations among the dead latents (live ones masked with −inf,
then ReLU; k_aux capped at the number of dead latents) give ``z_aux``; ``ê = z_aux W_dec`` (no bias) and

    L_aux = mean_{b,j} (ê − e)² / mean_{b,j} (e − ē)²,     ē the batch mean of e,

the normalisation of Gao et al.'s code (the residual's batch variance). The loss is 0 when no latent is dead and
where it is not finite. A latent is dead when it has not fired for ``dead_steps`` batches, this one included.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from superposition.sae.base import SAEStack

__all__ = ["DeadLatents", "dead_steps", "gather_dead", "auxk_loss_and_gradients", "auxk_reference_loss"]


class DeadLatents(NamedTuple):
    """The dead latents of each model, padded to a common count D.

    index: (n, D) latent indices, dead ones first; valid: (n, D) which entries are dead latents;
    count: (n,) dead latents per model; pre: (n, B, D) their pre-activations (−inf on padding).
    """

    index: torch.Tensor
    valid: torch.Tensor
    count: torch.Tensor
    pre: torch.Tensor


def dead_steps(dead_tokens: int, batch_size: int) -> int:
    """AuxK's window in batches: ``max(1, dead_tokens // batch_size)`` (Gao et al.'s code floors too)."""
    return max(1, dead_tokens // batch_size)


def gather_dead(pre: torch.Tensor, dead: torch.Tensor) -> DeadLatents | None:
    """The dead latents' pre-activations: pre (n, B, J), dead (n, J) bool -> :class:`DeadLatents`, or None."""
    count = dead.sum(dim=1)
    width = int(count.max())
    if width == 0:
        return None
    index = torch.argsort((~dead).to(torch.int8), dim=1, stable=True)[:, :width]  # (n, D): dead first
    valid = torch.arange(width, device=dead.device) < count[:, None]
    gathered = pre.gather(2, index[:, None, :].expand(-1, pre.shape[1], -1))  # (n, B, D)
    return DeadLatents(index, valid, count, gathered.masked_fill_(~valid[:, None, :], -torch.inf))


def _aux_codes(dead: DeadLatents, k_aux: int) -> torch.Tensor:
    """z_aux (n, B, D): the top-min(k_aux, count) dead pre-activations of each sample, after ReLU."""
    width = dead.pre.shape[-1]
    keep = min(k_aux, width)
    values, chosen = dead.pre.topk(keep, dim=-1)  # (n, B, keep), sorted
    beyond = torch.arange(keep, device=values.device) >= dead.count.clamp(max=k_aux)[:, None, None]
    values = values.masked_fill_(beyond, 0.0).relu_()
    return torch.zeros_like(dead.pre).scatter_(-1, chosen, values)


@torch.no_grad()
def auxk_loss_and_gradients(dead: DeadLatents, w_dec: torch.Tensor, error: torch.Tensor, k_aux: int,
                            coefficient: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(L_aux (n,), ∂(c·L_aux)/∂pre_dead (n, B, D), ∂(c·L_aux)/∂w_dec[dead] (n, D, h)), c = ``coefficient``.

    w_dec (n, J, h); error e = x − x̂ (n, B, h), treated as a constant.
    """
    codes = _aux_codes(dead, k_aux)  # (n, B, D)
    rows = w_dec.gather(1, dead.index[..., None].expand(-1, -1, w_dec.shape[-1]))  # (n, D, h)
    diff = torch.bmm(codes, rows).sub_(error)  # ê − e
    batch, dim = error.shape[1], error.shape[2]
    variance = (error - error.mean(dim=1, keepdim=True)).pow(2).mean(dim=(1, 2))  # (n,)
    loss = diff.pow(2).mean(dim=(1, 2)) / variance
    usable = torch.isfinite(loss) & (dead.count > 0)
    loss = torch.where(usable, loss, 0.0)
    scale = torch.where(usable, 2.0 * coefficient / (batch * dim * variance), 0.0)
    grad_out = diff.mul_(scale[:, None, None])  # (n, B, h)
    grad_codes = torch.bmm(grad_out, rows.transpose(1, 2)).mul_(codes > 0)  # (n, B, D)
    grad_rows = torch.bmm(codes.transpose(1, 2), grad_out)  # (n, D, h)
    return loss, grad_codes, grad_rows


def auxk_reference_loss(pre: torch.Tensor, dead: torch.Tensor, stack: SAEStack, error: torch.Tensor,
                        k_aux: int) -> torch.Tensor:
    """Differentiable L_aux (n,) on the full (n, B, J) pre-activations (the tests' autograd reference)."""
    n_dead = dead.sum(dim=1)
    masked = pre.masked_fill(~dead[:, None, :], -torch.inf)
    keep = min(k_aux, pre.shape[-1])
    values, chosen = masked.topk(keep, dim=-1)
    beyond = torch.arange(keep, device=pre.device) >= n_dead.clamp(max=k_aux)[:, None, None]
    values = torch.relu(values.masked_fill(beyond, 0.0))
    codes = torch.zeros_like(pre).scatter(-1, chosen, values)
    error = error.detach()
    diff = torch.bmm(codes, stack.w_dec) - error
    variance = (error - error.mean(dim=1, keepdim=True)).pow(2).mean(dim=(1, 2))
    loss = diff.pow(2).mean(dim=(1, 2)) / variance
    return torch.where(torch.isfinite(loss) & (n_dead > 0), loss, torch.zeros_like(loss))
