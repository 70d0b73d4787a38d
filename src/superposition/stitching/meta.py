"""Meta-SAEs (paper Section 4): a BatchTopK SAE trained on the decoder directions of another SAE.

Each latent's unit decoder row is one training sample (the authors' code: a dataset of the rows of W_dec,
shuffled batches, many epochs). The meta-SAE has ``width_ratio`` × J meta-latents (paper: 2304 meta-latents for
the 49,152-latent SAE, ratio 0.046875) and keeps on average k = 4 of them per direction. Our trainer is the
project's batched one (:mod:`superposition.sweep`, BatchTopK with AuxK and its inference threshold), so codes at
evaluation come from the inference threshold, not from the batch.

Fraction of variance explained (FVE) = 1 − Σ_j ||d_j − d̂_j||² / Σ_j ||d_j − d̄||² over all J directions (our
reading of the paper's "explains 55.47 % of the variance"). Baselines, measured in the same run: the same meta-SAE
(config, seeds) trained on J random unit vectors of the same width h; and, for each meta-latent, its best cosine
with the latents of each smaller SAE of the family, against the same for as many random unit vectors.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from superposition.runtime import make_generator, resolve_device
from superposition.sae import SAEStack, get_architecture
from superposition.stitching.config import MetaSAEConfig, meta_width
from superposition.sweep import SweepGrid, train_sweep

__all__ = ["MetaSAE", "train_meta_sae", "random_unit_vectors", "fraction_variance_explained",
           "best_match_cosines"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetaSAE:
    """A trained meta-SAE and its codes of the directions it was trained on.

    Attributes:
        stack: the BatchTopK stack (one model). codes: (J, M) inference codes of the J directions.
        reconstruction: (J, h). fve: fraction of variance explained. l0: mean active meta-latents per direction.
    """

    stack: SAEStack
    codes: torch.Tensor
    reconstruction: torch.Tensor
    fve: float
    l0: float

    @property
    def decoder(self) -> torch.Tensor:
        """(M, h) meta-latent directions."""
        return self.stack.w_dec[0]


def random_unit_vectors(n: int, dim: int, seed: int) -> torch.Tensor:
    """(n, dim) isotropic random unit vectors."""
    vectors = torch.randn(n, dim, generator=make_generator(seed))
    return vectors / vectors.norm(dim=1, keepdim=True)


def _epochs(directions: torch.Tensor, batch_size: int, seed: int, device: torch.device) -> Iterator[torch.Tensor]:
    """Endless shuffled batches of rows, whole batches only (the authors' DataLoader with drop_last)."""
    generator = make_generator(seed)
    size = min(batch_size, directions.shape[0])
    while True:
        order = torch.randperm(directions.shape[0], generator=generator)
        for start in range(0, directions.shape[0] - size + 1, size):
            yield directions[order[start : start + size]].to(device)


def fraction_variance_explained(data: torch.Tensor, reconstruction: torch.Tensor) -> float:
    """1 − Σ||x − x̂||² / Σ||x − x̄||²: data, reconstruction (N, h)."""
    return float(1 - (data - reconstruction).pow(2).sum() / (data - data.mean(dim=0)).pow(2).sum())


@torch.no_grad()
def train_meta_sae(directions: torch.Tensor, config: MetaSAEConfig, device: str = "cpu") -> MetaSAE:
    """Train the meta-SAE on ``directions`` (J, h) (rows scaled to unit norm first); measure it on them."""
    directions = directions / directions.norm(dim=1, keepdim=True)
    width = meta_width(directions.shape[0], config.width_ratio)
    grid = SweepGrid("batchtopk", (float(config.k),), (width,), config.lr, config.adam, config.options)
    target = resolve_device(device)
    trained = train_sweep(_epochs(directions, config.batch_size, config.data_seed, target), directions.shape[1], grid,
                          config.steps, config.seed, target, max(1, config.steps // 10), progress=False,
                          init_data=directions)
    stack = trained.stacks["batchtopk", width]
    arch = get_architecture("batchtopk")
    codes = arch.encode(directions, stack)
    reconstruction = arch.decode(codes, stack)[0]
    return MetaSAE(stack, codes[0], reconstruction, fraction_variance_explained(directions, reconstruction),
                   float((codes[0] > 0).sum(dim=1).float().mean()))


def best_match_cosines(vectors: torch.Tensor, decoder: torch.Tensor) -> torch.Tensor:
    """Each vector's maximum cosine with any row of ``decoder``: (M, h), (J, h) -> (M,)."""
    vectors = vectors / vectors.norm(dim=1, keepdim=True)
    decoder = decoder / decoder.norm(dim=1, keepdim=True)
    return (vectors @ decoder.T).max(dim=1).values
