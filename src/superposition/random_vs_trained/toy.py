"""Section 4's toy models of why SAEs on random networks find interpretable-looking latents.

Hypothesis (1): sparse, superposed input stays superposed through a random network. Hypothesis (2): a random
network makes dense (Gaussian) input look sparse and superposed. For each, TopK SAEs over a k sweep give a Pareto
curve of explained variance against L0 on four datasets of dimension h:

- ``sparse``: Sharkey et al.'s toy data (:mod:`superposition.toy_data`), G features in superposition in h dims;
- ``sparse_mlp``: the same samples through a fixed random MLP;
- ``gaussian``: i.i.d. N(0, I_h);
- ``gaussian_mlp``: the same through the same random MLP.

The random MLP is y = W₂ ReLU(W₁ x), W₁ (H, h) ~ N(0, 2/h), W₂ (h, H) ~ N(0, 1/H), H = ``mlp_hidden_ratio`` · h
(INTERPRETATION: a transformer block's MLP at initialisation, without the residual connection, so the network's
own effect is seen alone). Every dataset is scaled to E‖x‖² = h. All SAEs of one dataset (every k) train together
on one stream of batches (:func:`superposition.sweep.train_sweep`); AuxK is off, as in the LM stage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import torch

from superposition.io import atomic_path
from superposition.random_vs_trained.config import ToyConfig
from superposition.runtime import derived_seed, make_generator
from superposition.sae import AdamSettings, ArchitectureOptions, get_architecture
from superposition.sae_metrics import reconstruction_metrics
from superposition.sweep import SweepGrid, train_sweep
from superposition.toy_data import ToyDataGenerator

log = logging.getLogger(__name__)

__all__ = ["DATASETS", "RandomMLP", "dataset_sampler", "toy_pareto"]

DATASETS = ("sparse", "sparse_mlp", "gaussian", "gaussian_mlp")


class RandomMLP:
    """y = W₂ ReLU(W₁ x) with fixed Gaussian weights (module docstring): x (B, h) -> (B, h)."""

    def __init__(self, dim: int, hidden: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.w1 = torch.randn(hidden, dim, generator=generator) * (2.0 / dim) ** 0.5
        self.w2 = torch.randn(dim, hidden, generator=generator) * (1.0 / hidden) ** 0.5

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.w1.T) @ self.w2.T


def dataset_sampler(name: str, config: ToyConfig) -> Callable[[int, torch.Generator], torch.Tensor]:
    """A function (batch size, generator) -> (batch, h) samples of dataset ``name`` (unscaled)."""
    if name not in DATASETS:
        raise ValueError(f"unknown toy dataset {name!r}; choose one of {', '.join(DATASETS)}")
    mlp = RandomMLP(config.dim, config.mlp_hidden_ratio * config.dim, derived_seed(config.seed, "mlp"))
    if name.startswith("sparse"):
        toy = ToyDataGenerator.create(config.n_features, config.dim, config.decay, config.mean_active, config.seed)
        base = toy.sample
    else:
        def base(batch: int, generator: torch.Generator) -> torch.Tensor:
            return torch.randn(batch, config.dim, generator=generator)
    if name.endswith("_mlp"):
        return lambda batch, generator: mlp(base(batch, generator))
    return base


def _scaled_stream(sample: Callable[[int, torch.Generator], torch.Tensor], batch: int, scale: float,
                   generator: torch.Generator) -> Iterator[torch.Tensor]:
    while True:
        yield sample(batch, generator) * scale


def toy_pareto(config: ToyConfig, output: Path, progress: bool = False) -> pd.DataFrame:
    """Train the k sweep on every dataset; write one row per (dataset, k) with held-out explained variance, L0 and
    the other :mod:`superposition.sae_metrics` to ``output`` (CSV)."""
    arch = get_architecture("topk")
    n_latents = config.expansion * config.dim
    rows = []
    for name in DATASETS:
        sample = dataset_sampler(name, config)
        init = sample(8192, make_generator(derived_seed(config.seed, name, "init")))
        scale = (config.dim / float(init.pow(2).sum(dim=1).mean())) ** 0.5
        options = ArchitectureOptions(aux_coefficient=0.0, init_samples=init.shape[0])
        grid = SweepGrid("topk", tuple(float(k) for k in config.ks), (n_latents,), config.lr,
                         AdamSettings(eps=6.25e-10), options)
        stream = _scaled_stream(sample, config.batch_size, scale, make_generator(derived_seed(config.seed, name)))
        trained = train_sweep(stream, config.dim, grid, config.steps, config.seed, "cpu",
                              log_every=config.steps, progress=progress, init_data=init * scale)
        held = sample(config.eval_samples, make_generator(derived_seed(config.seed, name, "eval"))) * scale
        stack = trained.stacks["topk", n_latents]
        with torch.no_grad():
            codes = arch.encode(held, stack)  # (n_k, N, J)
            recon = arch.decode(codes, stack)
        for index, k in enumerate(config.ks):
            metrics = reconstruction_metrics(held, recon[index], codes[index])
            rows.append({"dataset": name, "k": k, **metrics})
            log.info("%s k=%d: FVE %.3f, L0 %.1f", name, k, metrics["fraction_variance_explained"], metrics["l0"])
    table = pd.DataFrame(rows)
    with atomic_path(output) as temporary:
        table.to_csv(temporary, index=False)
    return table
