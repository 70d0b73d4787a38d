"""Toy data of Sharkey, Braun & Millidge (2022): sparse, correlated, decaying mixtures of known features.

The report ("Taking features out of superposition with sparse autoencoders", section "Toy dataset
generation") builds each sample as ``x = Σ_g a_g F_g`` where

* ``F`` holds ``G`` ground-truth features drawn uniformly from the unit sphere in ``h`` dimensions;
* ``a_g = b_g · u_g`` with ``u_g ~ Uniform(0, 1)`` and ``b_g ~ Bernoulli(p_g)``;
* the probabilities ``p`` are drawn afresh for every sample:

  1. ``z ~ N(0, Σ)`` with a random covariance matrix ``Σ`` fixed for the dataset, and ``p'_g = Φ(z_g)``
     (``Φ`` the standard normal CDF), which correlates the activity of features;
  2. ``p''_g = p'_g · λ^g`` (``λ = 0.99``, ``g = 0 … G-1``), so that low-index features are more frequent;
  3. ``p_g = p''_g · (k / G) / mean(p'')`` so that on average ``k = 5`` features are active.

Interpretations (the report is the specification; these are the points it leaves open):

* Decay. Our copy of the report renders the formula as ``pg=(p′g)gλ``. We read it as the prose says,
  "the probability ... exponentially decayed with the feature's index": ``p''_g = p'_g · λ^g``.
* "A single sample" of the multivariate normal is taken per data point. A single sample shared by the
  whole dataset would make feature activations independent, which contradicts the stated purpose.
  (The authors' later public code draws one sample per *batch*; we follow the report.)
* The covariance matrix is not specified. We build it as the authors' public code does: a symmetric
  matrix of Uniform(0, 1) entries whose spectrum is shifted up by ``1.001 · |λ_min|`` if it has a
  negative eigenvalue, making it positive definite.
* The rescaling in step 3 is per sample; probabilities are clipped to [0, 1] (never active at G=512).
"""

from __future__ import annotations

import functools

from dataclasses import dataclass

import torch

__all__ = ["ToyDataGenerator", "random_unit_features", "random_covariance", "feature_probabilities"]


def random_unit_features(n_features: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    """Features drawn uniformly from the unit sphere: normalised standard normals. Returns (n_features, dim)."""
    features = torch.randn(n_features, dim, generator=generator, dtype=torch.float64)
    return (features / features.norm(dim=1, keepdim=True)).float()


def random_covariance(n_features: int, generator: torch.Generator) -> torch.Tensor:
    """Random positive-definite covariance as in the authors' code. Returns (n_features, n_features), float64."""
    matrix = torch.rand(n_features, n_features, generator=generator, dtype=torch.float64)
    matrix = (matrix + matrix.T) / 2
    min_eigenvalue = torch.linalg.eigvalsh(matrix).min()
    if min_eigenvalue < 0:
        matrix -= 1.001 * min_eigenvalue * torch.eye(n_features, dtype=torch.float64)
    return matrix


def feature_probabilities(
    correlated_normal: torch.Tensor, decay: float, mean_active: float
) -> torch.Tensor:
    """Per-sample activation probabilities from correlated normal draws.

    ``p_g = clip(Φ(z_g) λ^g · (k/G) / mean_g(Φ(z_g) λ^g), 0, 1)`` for z of shape (batch, G); returns (batch, G).
    """
    n_features = correlated_normal.shape[-1]
    weights = _decay_weights(n_features, decay, correlated_normal.dtype, correlated_normal.device)
    decayed = torch.special.ndtr(correlated_normal).mul_(weights)  # (batch, G); in place: one batch per step
    scale = (mean_active / n_features) / decayed.mean(dim=-1, keepdim=True)
    return decayed.mul_(scale).clamp_(0.0, 1.0)


@functools.lru_cache(maxsize=8)
def _decay_weights(n_features: int, decay: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(G,) λ^g, computed once per generator: the sweep draws thousands of batches from one (read-only)."""
    return decay ** torch.arange(n_features, device=device, dtype=dtype)


@dataclass
class ToyDataGenerator:
    """Streams toy batches from fixed ground truth (features and covariance).

    Attributes:
        features: (G, h) unit-norm ground-truth features, one per row.
        covariance_cholesky: (G, G) lower Cholesky factor of the covariance of the correlating normal.
        decay: λ, the per-index decay of activation probability.
        mean_active: k, the expected number of active features per sample.
    """

    features: torch.Tensor
    covariance_cholesky: torch.Tensor
    decay: float
    mean_active: float

    @classmethod
    def create(
        cls, n_features: int, dim: int, decay: float, mean_active: float, seed: int
    ) -> "ToyDataGenerator":
        """Draw the ground truth (features, covariance) from ``seed``."""
        if not 0 < mean_active <= n_features:
            raise ValueError(f"mean_active must lie in (0, n_features={n_features}], got {mean_active}")
        if not 0 < decay <= 1:
            raise ValueError(f"decay must lie in (0, 1], got {decay}")
        generator = torch.Generator().manual_seed(seed)
        features = random_unit_features(n_features, dim, generator)
        cholesky = torch.linalg.cholesky(random_covariance(n_features, generator)).float()
        return cls(features, cholesky, decay, mean_active)

    @property
    def n_features(self) -> int:
        return self.features.shape[0]

    @property
    def dim(self) -> int:
        return self.features.shape[1]

    def to(self, device: torch.device | str) -> "ToyDataGenerator":
        """A copy whose tensors live on ``device``."""
        return ToyDataGenerator(
            self.features.to(device), self.covariance_cholesky.to(device), self.decay, self.mean_active
        )

    def sample_coefficients(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """Sparse ground-truth coefficients a (batch, G): Bernoulli(p) times Uniform(0, 1)."""
        device = self.features.device
        noise = torch.randn(batch_size, self.n_features, generator=generator, device=device)
        correlated = noise @ self.covariance_cholesky.T  # (batch, G), rows ~ N(0, Σ)
        probabilities = feature_probabilities(correlated, self.decay, self.mean_active)
        active = torch.rand(batch_size, self.n_features, generator=generator, device=device) < probabilities
        magnitudes = torch.rand(batch_size, self.n_features, generator=generator, device=device)
        return magnitudes.mul_(active)

    def sample(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """A batch of data x = a F, shape (batch, h)."""
        return self.sample_coefficients(batch_size, generator) @ self.features
