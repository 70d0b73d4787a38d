"""The colour × shape toy of the paper's Figure 2: composition, atomic latents and a meta-SAE that undoes it.

Data: each attribute (``colours`` values, ``shapes`` values) has unit directions evenly spaced on a circle in its
own plane (Σ_i c_i = 0), the two planes orthogonal, embedded in ``dim`` dimensions by a random rotation from the
seed; each sample is one colour plus one shape, x = c_i + s_j (+ Gaussian noise), i and j uniform and independent.
The paper's argument: a small SAE (colours + shapes latents) can only reconstruct with the atomic directions, two
active latents per sample; a larger one (colours × shapes latents) can give each combination its own latent, one
active latent per sample, which a sparsity penalty prefers (the figure's SAEs have L0 = 2 and 1).
We train Sharkey et al.'s relu_l1 SAE (an L1 penalty: the "sparsity penalty" of the argument; no decoder bias) at
both sizes and every configured α as one batched grid, then a BatchTopK meta-SAE (the paper's) with colours + shapes
meta-latents and k = meta_k on the decoder of each larger SAE, and the same meta-SAE on the exact compositions
(the decoder the figure draws for the larger SAE): a control that tells the meta-SAE's part of the argument apart
from the trained SAE's.

Measures: for each reference direction the best cosine with any learned direction, and its mean over the
references (MMCS), against the atomic directions and against the composed directions (c_i + s_j).

Decisions made while building the toy (the docs page records them): (1) each attribute's values lie on a circle
(Σ_i c_i = 0) rather than being orthonormal; (2) the SAEs are relu_l1, not BatchTopK. Both because an SAE with a
decoder bias (BatchTopK) reconstructs this data exactly with difference directions (c_1 − c_3, ...), the bias
absorbing the rest, so the data do not identify the atomic directions (a first run: BatchTopK k = 2 with 6 latents,
atomic MMCS 0.79 at a reconstruction error of 3e-4); with orthonormal values even the bias-free relu_l1 learned
mixtures (atomic MMCS ≈ 0.8 at α = 0.03-0.1). Zero-mean attributes and no decoder bias leave the atomic and the
composed dictionaries as the exact sparse solutions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import torch

from superposition.io import atomic_write_json
from superposition.metrics import max_cosine_similarity
from superposition.runtime import derived_seed, make_generator
from superposition.sae import AdamSettings, ArchitectureOptions
from superposition.stitching.config import MetaSAEConfig, ToyConfig
from superposition.stitching.meta import MetaSAE, train_meta_sae
from superposition.sweep import SweepGrid, train_sweep

__all__ = ["toy_directions", "composed_directions", "toy_batches", "best_cosines", "run_toy"]

log = logging.getLogger(__name__)


def toy_directions(config: ToyConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(colours (C, dim), shapes (S, dim)): unit vectors evenly spaced on a circle, one plane per attribute."""
    gaussian = torch.randn(config.dim, config.dim, generator=make_generator(derived_seed(config.seed, "directions")))
    basis = torch.linalg.qr(gaussian).Q.T  # rows orthonormal

    def wheel(count: int, plane: torch.Tensor) -> torch.Tensor:
        angles = 2 * torch.pi * torch.arange(count) / count
        return torch.cos(angles)[:, None] * plane[0] + torch.sin(angles)[:, None] * plane[1]

    return wheel(config.colours, basis[0:2]), wheel(config.shapes, basis[2:4])


def composed_directions(colours: torch.Tensor, shapes: torch.Tensor) -> torch.Tensor:
    """(C·S, dim) unit directions (c_i + s_j)/||c_i + s_j||, colour-major."""
    sums = (colours[:, None, :] + shapes[None, :, :]).reshape(-1, colours.shape[1])
    return sums / sums.norm(dim=1, keepdim=True)


def toy_batches(colours: torch.Tensor, shapes: torch.Tensor, batch: int, noise: float, seed: int
                ) -> Iterator[torch.Tensor]:
    """Endless batches (batch, dim) of x = c_i + s_j + noise."""
    generator = make_generator(seed)
    while True:
        i = torch.randint(colours.shape[0], (batch,), generator=generator)
        j = torch.randint(shapes.shape[0], (batch,), generator=generator)
        yield colours[i] + shapes[j] + noise * torch.randn(batch, colours.shape[1], generator=generator)


def best_cosines(learned: torch.Tensor, reference: torch.Tensor) -> list[float]:
    """For each reference direction, its maximum cosine with any learned row: (J, h), (G, h) -> G values (their
    mean is MMCS, :func:`superposition.metrics.mmcs`)."""
    return max_cosine_similarity(learned, reference).tolist()


def _cosine_matrix(learned: torch.Tensor, reference: torch.Tensor) -> list[list[float]]:
    learned = learned / learned.norm(dim=1, keepdim=True)
    return (learned @ (reference / reference.norm(dim=1, keepdim=True)).T).tolist()


def _meta_config(config: ToyConfig, latents: int, directions: int) -> MetaSAEConfig:
    """The toy meta-SAE: colours + shapes meta-latents, k = meta_k, every direction in each batch."""
    return MetaSAEConfig(k=config.meta_k, width_ratio=directions / latents, batch_size=latents,
                         steps=config.meta_steps, lr=config.lr, adam=AdamSettings(beta2=0.99),
                         options=ArchitectureOptions(k_aux=directions, dead_tokens=latents * 50,
                                                     init_samples=latents, threshold_batches=1),
                         seed=config.seed, data_seed=derived_seed(config.seed, "meta"), random_seed=config.seed)


def _meta_entry(meta: MetaSAE, atomic: torch.Tensor) -> dict:
    """A toy meta-SAE's measures: FVE, L0, its decoder bias's norm and its best cosines with the atomic directions."""
    best = best_cosines(meta.decoder, atomic)
    return {"fve": meta.fve, "l0": meta.l0, "meta_latents": meta.decoder.shape[0],
            "bias_norm": float(meta.stack.params["b_dec"][0].norm()),
            "best_cos_atomic": best, "mmcs_atomic": sum(best) / len(best),
            "cos_atomic": _cosine_matrix(meta.decoder, atomic)}


def _exact_compositions(composed: torch.Tensor, atomic: torch.Tensor) -> dict:
    """The control's input measured like a trained decoder: its cosines and MMCS with both reference sets."""
    atomic_best, composed_best = best_cosines(composed, atomic), best_cosines(composed, composed)
    return {"mmcs_atomic": sum(atomic_best) / len(atomic_best),
            "mmcs_composed": sum(composed_best) / len(composed_best),
            "cos_atomic": _cosine_matrix(composed, atomic), "cos_composed": _cosine_matrix(composed, composed)}


@torch.no_grad()
def run_toy(config: ToyConfig, output: str) -> dict:
    """Train the toy SAEs and meta-SAEs (one per larger SAE, and one on the exact compositions as a control); write
    best cosines, MMCS and cosine matrices to ``output`` (JSON)."""
    colours, shapes = toy_directions(config)
    atomic, composed = torch.cat([colours, shapes]), composed_directions(colours, shapes)
    small, large = colours.shape[0] + shapes.shape[0], colours.shape[0] * shapes.shape[0]
    grid = SweepGrid("relu_l1", tuple(config.l1), (small, large), config.lr)
    batches = toy_batches(colours, shapes, config.samples, config.noise, derived_seed(config.seed, "data"))
    trained = train_sweep(batches, config.dim, grid, config.steps, config.seed, "cpu", max(1, config.steps // 10),
                          progress=False)
    data_power = 2.0 + config.noise**2 * config.dim  # E||x||² of c_i + s_j + noise (unit atomic directions)
    saes = []
    for size_index, size in enumerate(grid.dict_sizes):
        for index, alpha in enumerate(config.l1):
            decoder = trained.stacks["relu_l1", size].w_dec[index]
            atomic_best, composed_best = best_cosines(decoder, atomic), best_cosines(decoder, composed)
            reconstruction = float(trained.history_reconstruction["relu_l1"][-1, size_index, index])
            entry = {"dict_size": size, "l1": alpha, "role": "small" if size == small else "large",
                     "mmcs_atomic": sum(atomic_best) / len(atomic_best),
                     "mmcs_composed": sum(composed_best) / len(composed_best),
                     "best_cos_atomic": atomic_best, "best_cos_composed": composed_best,
                     # the training loss is (1/h)||x − x̂||² on the last batch: over E||x||², the error's share
                     "relative_error": reconstruction * config.dim / data_power,
                     "cos_atomic": _cosine_matrix(decoder, atomic), "cos_composed": _cosine_matrix(decoder, composed)}
            if size == large:
                entry["meta"] = _meta_entry(train_meta_sae(decoder, _meta_config(config, large, small)), atomic)
            log.info("toy J=%d α=%g: MMCS atomic %.3f, composed %.3f%s", size, alpha, entry["mmcs_atomic"],
                     entry["mmcs_composed"], f", meta {entry['meta']['mmcs_atomic']:.3f}" if "meta" in entry else "")
            saes.append(entry)
    # The control: the same meta-SAE on the exact compositions, the decoder Figure 2 draws for the large SAE. It
    # separates what the meta-SAE does with composed directions from how well the trained large SAE composes.
    control = _meta_entry(train_meta_sae(composed, _meta_config(config, large, small)), atomic)
    log.info("toy meta-SAE on the exact compositions: MMCS atomic %.3f, FVE %.3f", control["mmcs_atomic"],
             control["fve"])
    payload = {"colours": colours.shape[0], "shapes": shapes.shape[0], "dim": config.dim, "steps": config.steps,
               "small": small, "large": large, "saes": saes, "meta_on_compositions": control,
               "cos_compositions": _exact_compositions(composed, atomic)}
    atomic_write_json(output, payload)
    return payload
