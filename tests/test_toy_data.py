"""The toy-data generator: statistics the report specifies, and determinism."""

import math

import pytest
import torch

from superposition.toy_data import ToyDataGenerator, feature_probabilities, random_covariance

G, H = 512, 256


@pytest.fixture(scope="module")
def generator() -> ToyDataGenerator:
    return ToyDataGenerator.create(G, H, decay=0.99, mean_active=5, seed=0)


@pytest.fixture(scope="module")
def coefficients(generator: ToyDataGenerator) -> torch.Tensor:
    rng = torch.Generator().manual_seed(123)
    return torch.cat([generator.sample_coefficients(2048, rng) for _ in range(40)])  # (81920, G)


def test_features_are_unit_norm(generator):
    assert generator.features.shape == (G, H)
    torch.testing.assert_close(generator.features.norm(dim=1), torch.ones(G))


def test_features_look_uniform_on_the_sphere(generator):
    # Uniform directions in 256-d: pairwise cosines have mean 0 and standard deviation 1/sqrt(h).
    cosines = generator.features @ generator.features.T
    off_diagonal = cosines[~torch.eye(G, dtype=torch.bool)]
    assert abs(off_diagonal.mean().item()) < 0.005
    assert off_diagonal.std().item() == pytest.approx(1 / math.sqrt(H), rel=0.05)


def test_mean_number_of_active_features_is_five(coefficients):
    active = (coefficients > 0).sum(dim=1).float()
    assert active.mean().item() == pytest.approx(5.0, abs=0.05)


def test_active_coefficients_are_uniform_on_unit_interval(coefficients):
    values = coefficients[coefficients > 0]
    assert values.min() > 0 and values.max() < 1
    assert values.mean().item() == pytest.approx(0.5, abs=0.01)
    assert values.var().item() == pytest.approx(1 / 12, abs=0.005)


def test_probability_decays_exponentially_with_index(coefficients):
    frequency = (coefficients > 0).float().mean(dim=0)
    # Average over blocks of 64 features; per the report p_g is proportional to λ^g (times a factor of mean
    # 1/2 that does not depend on g), so block means fall by λ^64 = 0.526 from one block to the next.
    blocks = frequency.view(8, 64).mean(dim=1)
    ratios = blocks[1:] / blocks[:-1]
    assert ratios.mean().item() == pytest.approx(0.99**64, rel=0.1)
    assert blocks[0] / blocks[-1] > 30


def test_feature_probabilities_known_answer():
    # With z = 0 everywhere, Φ(z) = 1/2 and p_g ∝ λ^g, rescaled to mean k/G.
    probabilities = feature_probabilities(torch.zeros(1, 4), decay=0.5, mean_active=1.0)
    expected = torch.tensor([1, 0.5, 0.25, 0.125]) / torch.tensor([1, 0.5, 0.25, 0.125]).mean() / 4
    torch.testing.assert_close(probabilities[0], expected)
    assert probabilities.sum().item() == pytest.approx(1.0)


def test_feature_probabilities_are_clipped_to_one():
    probabilities = feature_probabilities(torch.zeros(1, 4), decay=0.01, mean_active=3.0)
    assert probabilities.max().item() == 1.0


def test_correlation_follows_the_covariance():
    # Two blocks of features, strongly correlated within a block and independent across: co-activation
    # within a block exceeds the product of marginals, and clearly exceeds co-activation across blocks (which
    # falls below 1 because the per-sample rescaling to k active features couples the blocks negatively).
    n = 8
    covariance = torch.full((n, n), 0.0)
    covariance[:4, :4] = 0.9
    covariance[4:, 4:] = 0.9
    covariance += 0.1 * torch.eye(n)
    generator = ToyDataGenerator(torch.eye(n), torch.linalg.cholesky(covariance), decay=1.0, mean_active=2.0)
    active = (generator.sample_coefficients(200_000, torch.Generator().manual_seed(0)) > 0).float()
    p = active.mean(dim=0)
    joint = (active.T @ active) / active.shape[0]
    lift = joint / torch.outer(p, p)
    assert lift[0, 1].item() > 1.15
    assert lift[0, 1].item() > lift[0, 5].item() + 0.3


def test_default_covariance_correlates_activations(generator, coefficients):
    # The random covariance induces weak correlations: pairs whose latent correlation is in the top decile
    # co-activate more often than pairs in the bottom decile (among the 64 most frequent features).
    cholesky = generator.covariance_cholesky.double()
    covariance = (cholesky @ cholesky.T)[:64, :64]
    std = covariance.diag().sqrt()
    latent = covariance / torch.outer(std, std)
    active = (coefficients[:, :64] > 0).double()
    p = active.mean(dim=0)
    lift = (active.T @ active) / active.shape[0] / torch.outer(p, p)
    upper = torch.triu(torch.ones(64, 64, dtype=torch.bool), diagonal=1)
    pairs_latent, pairs_lift = latent[upper], lift[upper]
    high = pairs_lift[pairs_latent >= pairs_latent.quantile(0.9)].mean()
    low = pairs_lift[pairs_latent <= pairs_latent.quantile(0.1)].mean()
    assert high > low + 0.02


def test_random_covariance_is_positive_definite():
    covariance = random_covariance(64, torch.Generator().manual_seed(0))
    torch.testing.assert_close(covariance, covariance.T)
    assert torch.linalg.eigvalsh(covariance).min() > 0


def test_seed_determinism():
    a = ToyDataGenerator.create(64, 32, 0.99, 3, seed=7)
    b = ToyDataGenerator.create(64, 32, 0.99, 3, seed=7)
    c = ToyDataGenerator.create(64, 32, 0.99, 3, seed=8)
    torch.testing.assert_close(a.features, b.features)
    assert not torch.allclose(a.features, c.features)
    x1 = a.sample(16, torch.Generator().manual_seed(1))
    x2 = b.sample(16, torch.Generator().manual_seed(1))
    x3 = a.sample(16, torch.Generator().manual_seed(2))
    torch.testing.assert_close(x1, x2)
    assert not torch.allclose(x1, x3)


def test_data_is_coefficients_times_features():
    generator = ToyDataGenerator.create(64, 32, 0.99, 3, seed=0)
    coefficients = generator.sample_coefficients(8, torch.Generator().manual_seed(5))
    x = generator.sample(8, torch.Generator().manual_seed(5))
    torch.testing.assert_close(x, coefficients @ generator.features)


@pytest.mark.parametrize("kwargs, message", [
    (dict(mean_active=0), "mean_active"), (dict(mean_active=100), "mean_active"), (dict(decay=1.5), "decay"),
])
def test_bad_parameters_are_refused(kwargs, message):
    arguments = dict(n_features=64, dim=32, decay=0.99, mean_active=3, seed=0) | kwargs
    with pytest.raises(ValueError, match=message):
        ToyDataGenerator.create(**arguments)
