"""Stacks of sparse autoencoders of one dictionary size, as in Sharkey, Braun & Millidge (2022).

One SAE: ``c = ReLU(W_e x + b_e)``, ``x̂ = D̂ c`` where ``D̂`` is the decoder with every dictionary element
(column of the report's h×J matrix ``D``; a row of our ``W_dec``) scaled to unit norm on the forward pass,
and no decoder bias. Loss per sample: ``(1/h)||x − x̂||² + (α/J)|c|₁``, averaged over the batch.

A :class:`SAEStack` holds ``n`` such SAEs of the same size ``J`` (one per L1 coefficient α) in stacked
tensors, so a whole column of the sweep grid trains with batched matmuls. The gradient is written out by
hand in :func:`loss_and_gradients` (checked against autograd in the tests): on a CPU this removes most of
autograd's elementwise passes over the (n, batch, J) activations and makes the sweep ~1.5× faster.
(Trainers also call :func:`~superposition.runtime.retain_freed_memory`, which removes the page faults of
re-allocating these tensors every step.)

Initialisation (the report names only the decoder's): the decoder is orthogonal (``torch.nn.init.orthogonal_``
on the h×J matrix, Hu et al. 2020); the encoder weight and bias use ``torch.nn.Linear``'s default
(Uniform(±1/√h)), the default of the PyTorch layer the report's autoencoder is built from.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from superposition.runtime import derived_seed

__all__ = ["SAEStack", "init_sae", "model_seed", "normalized_decoder", "encode", "decode", "sae_loss",
           "loss_and_gradients"]


def model_seed(seed: int, dict_size: int, l1_coefficient: float) -> int:
    """A stable per-model seed, so a model's initialisation does not depend on the rest of the grid."""
    return derived_seed(seed, dict_size, l1_coefficient)


def init_sae(dim: int, dict_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Initial (W_enc (J, h), b_enc (J,), W_dec (J, h)) of one SAE, on the CPU, from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    bound = 1.0 / dim**0.5
    w_enc = torch.empty(dict_size, dim).uniform_(-bound, bound, generator=generator)
    b_enc = torch.empty(dict_size).uniform_(-bound, bound, generator=generator)
    decoder_h_by_j = torch.empty(dim, dict_size)
    torch.nn.init.orthogonal_(decoder_h_by_j, generator=generator)
    return w_enc, b_enc, decoder_h_by_j.T.contiguous()


@dataclass
class SAEStack:
    """``n`` SAEs of one dictionary size ``J`` on inputs of size ``h``.

    Attributes:
        w_enc: (n, J, h) encoder weights.
        b_enc: (n, J) encoder biases.
        w_dec: (n, J, h) decoder; row j is dictionary element j before normalisation.
        l1_coefficients: (n,) the α of each SAE.
    """

    w_enc: torch.Tensor
    b_enc: torch.Tensor
    w_dec: torch.Tensor
    l1_coefficients: torch.Tensor

    @classmethod
    def create(cls, dim: int, dict_size: int, l1_coefficients: list[float], seed: int) -> "SAEStack":
        """Stack freshly initialised SAEs, each seeded by :func:`model_seed` (independent of the others)."""
        inits = [init_sae(dim, dict_size, model_seed(seed, dict_size, alpha)) for alpha in l1_coefficients]
        w_enc, b_enc, w_dec = (torch.stack(parts) for parts in zip(*inits))
        return cls(w_enc, b_enc, w_dec, torch.tensor(l1_coefficients, dtype=torch.float32))

    @property
    def n_models(self) -> int:
        return self.w_enc.shape[0]

    @property
    def dict_size(self) -> int:
        return self.w_enc.shape[1]

    @property
    def dim(self) -> int:
        return self.w_enc.shape[2]

    def parameters(self) -> list[torch.Tensor]:
        """The trainable tensors, in a fixed order."""
        return [self.w_enc, self.b_enc, self.w_dec]

    def to(self, device: torch.device | str) -> "SAEStack":
        """A copy on ``device``."""
        return SAEStack(*(t.to(device) for t in (*self.parameters(), self.l1_coefficients)))

    def select(self, index: int) -> "SAEStack":
        """The single SAE at ``index`` as a stack of one."""
        return SAEStack(*(t[index : index + 1] for t in (*self.parameters(), self.l1_coefficients)))


def normalized_decoder(w_dec: torch.Tensor) -> torch.Tensor:
    """Decoder rows scaled to unit norm: (..., J, h) -> (..., J, h)."""
    return w_dec / w_dec.norm(dim=-1, keepdim=True)


def encode(x: torch.Tensor, w_enc: torch.Tensor, b_enc: torch.Tensor) -> torch.Tensor:
    """Dictionary coefficients c = ReLU(W_e x + b_e): x (batch, h) -> (n, batch, J)."""
    return torch.relu(torch.matmul(x, w_enc.transpose(-1, -2)) + b_enc.unsqueeze(-2))


def decode(codes: torch.Tensor, w_dec: torch.Tensor) -> torch.Tensor:
    """Reconstruction x̂ = D̂ c: codes (n, batch, J) -> (n, batch, h)."""
    return torch.bmm(codes, normalized_decoder(w_dec))


def sae_loss(x: torch.Tensor, stack: SAEStack) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Differentiable reference loss. Returns (reconstruction (n,), l1 (n,), codes (n, batch, J)).

    reconstruction = mean_batch (1/h)||x − x̂||²;  l1 = (α/J) mean_batch |c|₁.
    """
    codes = encode(x, stack.w_enc, stack.b_enc)
    residual = decode(codes, stack.w_dec) - x  # (n, batch, h)
    reconstruction = residual.pow(2).mean(dim=(1, 2))
    l1 = stack.l1_coefficients * codes.abs().sum(dim=2).mean(dim=1) / stack.dict_size
    return reconstruction, l1, codes


@torch.no_grad()
def loss_and_gradients(
    x: torch.Tensor, stack: SAEStack
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """The losses of :func:`sae_loss` and the gradient of their sum, computed by hand.

    Returns (reconstruction (n,), l1 (n,), codes (n, batch, J), [dW_enc, db_enc, dW_dec]).
    With r = x̂ − x (per model), B the batch size and D̂ = D/||D||:
    ∂/∂x̂ = 2r/(Bh); ∂/∂c = (∂/∂x̂) D̂ᵀ + α/(JB), masked by c > 0; ∂/∂W_e = (∂/∂pre)ᵀ x;
    ∂/∂D̂ = cᵀ (∂/∂x̂); ∂/∂D = (∂/∂D̂ − D̂ ⟨D̂, ∂/∂D̂⟩) / ||D|| row-wise.
    """
    n_models, dict_size, dim = stack.w_enc.shape
    batch = x.shape[0]
    x_stacked = x.expand(n_models, batch, dim)  # a view: no copy
    codes = torch.bmm(x_stacked, stack.w_enc.transpose(1, 2))  # (n, B, J)
    codes.add_(stack.b_enc.unsqueeze(1)).relu_()
    decoder_norm = stack.w_dec.norm(dim=-1, keepdim=True)  # (n, J, 1)
    decoder = stack.w_dec / decoder_norm  # (n, J, h)
    residual = torch.bmm(codes, decoder).sub_(x)  # (n, B, h)
    reconstruction = residual.pow(2).sum(dim=(1, 2)) / (batch * dim)
    alpha_per_latent = stack.l1_coefficients / (dict_size * batch)  # (n,)
    l1 = codes.sum(dim=(1, 2)) * alpha_per_latent  # codes ≥ 0, so |c|₁ = Σc

    grad_output = residual.mul_(2.0 / (batch * dim))  # (n, B, h), reuses the residual's memory
    grad_decoder = torch.bmm(codes.transpose(1, 2), grad_output)  # (n, J, h)
    grad_codes = torch.bmm(grad_output, decoder.transpose(1, 2))  # (n, B, J)
    grad_codes.add_(alpha_per_latent.view(-1, 1, 1)).mul_(codes > 0)
    grad_w_enc = torch.bmm(grad_codes.transpose(1, 2), x_stacked)  # (n, J, h)
    grad_b_enc = grad_codes.sum(dim=1)  # (n, J)
    radial = (decoder * grad_decoder).sum(dim=-1, keepdim=True)
    grad_w_dec = grad_decoder.addcmul_(decoder, radial, value=-1.0).div_(decoder_norm)
    return reconstruction, l1, codes, [grad_w_enc, grad_b_enc, grad_w_dec]
