"""TopK SAEs of several (variant, site) cells held in stacked tensors, each cell with its own inputs.

The project's sweep trainer (:mod:`superposition.sweep`) feeds one stream of batches to every model; here every
cell reads its own activations, so the cells share the schedule and the optimiser (one fused Adam over the stacked
tensors) but not the data. Shapes: n cells, J latents, d inputs; ``w_enc`` and ``w_dec`` (n, J, d), ``b_enc``
(n, J), ``b_dec`` (n, d). The SAE is :mod:`superposition.sae.topk`'s (Gao et al.): ``pre = (x − b_dec) W_encᵀ +
b_enc``, the k largest pre-activations kept, then a ReLU, ``x̂ = z W_dec + b_dec``, decoder rows of unit norm.
The gradients are written by hand and only touch the k chosen latents of each token (the encoder's forward
matmul is the one dense operation), which is what makes 20 SAEs of 3,072 latents trainable on two CPU cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch

__all__ = ["CellSAEs", "topk_encode", "decode", "topk_gradients"]


@dataclass
class CellSAEs:
    """The stacked parameters of n cells' TopK SAEs (k shared), and each cell's loss normaliser σ² (n,)."""

    k: int
    w_enc: torch.Tensor
    b_enc: torch.Tensor
    w_dec: torch.Tensor
    b_dec: torch.Tensor
    target_variance: torch.Tensor

    @property
    def n_cells(self) -> int:
        return self.w_enc.shape[0]

    @property
    def n_latents(self) -> int:
        return self.w_enc.shape[1]

    @property
    def dim(self) -> int:
        return self.w_enc.shape[2]

    def params(self) -> list[torch.Tensor]:
        return [self.w_enc, self.b_enc, self.w_dec, self.b_dec]

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"w_enc": self.w_enc, "b_enc": self.b_enc, "w_dec": self.w_dec, "b_dec": self.b_dec,
                "target_variance": self.target_variance}


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one CPU thread: torch's parallel ``index_add_`` is up to 10× slower than the serial one when
    the cores are shared (its threads wait on each other), and the scatter is cheap next to the matmul."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@torch.no_grad()
def topk_encode(x: torch.Tensor, saes: CellSAEs, cell: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, indices), each (B, k): the cell's TopK code of x (B, d); values ≥ 0 (ReLU after the top-k)."""
    pre = torch.addmm(saes.b_enc[cell], x - saes.b_dec[cell], saes.w_enc[cell].T)  # (B, J)
    values, index = pre.topk(saes.k, dim=1, sorted=False)
    return values.relu_(), index


@torch.no_grad()
def decode(values: torch.Tensor, index: torch.Tensor, saes: CellSAEs, cell: int) -> torch.Tensor:
    """x̂ = Σ_j z_j W_dec[j] + b_dec from a sparse code (B, k) -> (B, d)."""
    rows = saes.w_dec[cell][index]  # (B, k, d)
    return torch.einsum("bk,bkd->bd", values, rows) + saes.b_dec[cell]


@torch.no_grad()
def topk_gradients(x: torch.Tensor, saes: CellSAEs, cell: int, grads: dict[str, torch.Tensor],
                   report: bool) -> float | None:
    """Write the gradients of the cell's loss mean_{b,d}(x̂ − x)²/σ² into ``grads`` (each cell's slice of the
    stacked gradient tensors, zeroed here first). x: (B, d). Returns the loss when ``report``.

    With u = x − b_dec, p = pre-activations at the chosen latents j (B, k), z = ReLU(p),
    g = ∂L/∂x̂ = 2(x̂ − x)/(B d σ²):
    ∂L/∂W_dec[j] = Σ_b z_bj g_b; ∂L/∂p_bj = 1[p_bj > 0] ⟨g_b, W_dec[j]⟩; ∂L/∂W_enc[j] = Σ_b ∂L/∂p_bj u_b;
    ∂L/∂b_enc[j] = Σ_b ∂L/∂p_bj; ∂L/∂b_dec = Σ_b g_b − Σ_{b,j} ∂L/∂p_bj W_enc[j].
    """
    batch, dim = x.shape
    w_enc, w_dec = saes.w_enc[cell], saes.w_dec[cell]
    centred = x - saes.b_dec[cell]  # (B, d)
    pre = torch.addmm(saes.b_enc[cell], centred, w_enc.T)  # (B, J)
    chosen, index = pre.topk(saes.k, dim=1, sorted=False)  # (B, k)
    values = chosen.relu()
    dec_rows = w_dec[index]  # (B, k, d)
    residual = torch.einsum("bk,bkd->bd", values, dec_rows) + saes.b_dec[cell] - x  # x̂ − x
    scale = 2.0 / (batch * dim * float(saes.target_variance[cell]))
    grad_out = residual * scale  # (B, d)
    flat = index.reshape(-1)
    for name in ("w_enc", "b_enc", "w_dec", "b_dec"):
        grads[name][cell].zero_()
    grad_pre = torch.einsum("bd,bkd->bk", grad_out, dec_rows) * (chosen > 0)  # (B, k)
    with one_thread() if x.device.type == "cpu" else nullcontext():
        grads["w_dec"][cell].index_add_(0, flat, (values[..., None] * grad_out[:, None, :]).reshape(-1, dim))
        grads["w_enc"][cell].index_add_(0, flat, (grad_pre[..., None] * centred[:, None, :]).reshape(-1, dim))
        grads["b_enc"][cell].index_add_(0, flat, grad_pre.reshape(-1))
    enc_rows = w_enc[index]  # (B, k, d)
    grads["b_dec"][cell].copy_(grad_out.sum(dim=0) - torch.einsum("bk,bkd->d", grad_pre, enc_rows))
    if not report:
        return None
    return float(residual.pow(2).mean() / saes.target_variance[cell])
