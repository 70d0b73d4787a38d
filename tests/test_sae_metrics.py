"""Known answers for the SAE reconstruction and sparsity metrics."""

import pytest
import torch

from superposition.sae_metrics import ReconstructionMetrics, reconstruction_metrics

X = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
X_HAT = torch.tensor([[0.5, 0.0], [-0.5, 0.0]])
CODES = torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])


def test_known_answers():
    metrics = reconstruction_metrics(X, X_HAT, CODES)
    # Σ‖x − x̂‖² = 0.5, Σ‖x − x̄‖² = 2 (x̄ = 0); each token: 1 − 0.25/1; both reconstructions point the same way.
    assert metrics["fraction_variance_explained"] == pytest.approx(0.75)
    assert metrics["per_token_explained_variance"] == pytest.approx(0.75)
    assert metrics["cosine_similarity"] == pytest.approx(1.0)
    assert metrics["l0"] == pytest.approx(1.0) and metrics["l1"] == pytest.approx(1.5)
    assert metrics["dead_fraction"] == pytest.approx(1 / 3)  # latent 1 never fires


def test_fve_uses_the_mean_of_all_tokens_and_chunks_add_up():
    torch.manual_seed(0)
    x = torch.randn(50, 4) + 3.0
    x_hat = x + 0.1 * torch.randn(50, 4)
    codes = torch.relu(torch.randn(50, 6))
    whole = reconstruction_metrics(x, x_hat, codes)
    x64, x_hat64 = x.double(), x_hat.double()
    expected = 1 - (x64 - x_hat64).pow(2).sum() / (x64 - x64.mean(dim=0)).pow(2).sum()
    assert whole["fraction_variance_explained"] == pytest.approx(float(expected), rel=1e-9)
    chunked = ReconstructionMetrics(6)
    for part in range(0, 50, 7):
        chunked.add(x[part:part + 7], x_hat[part:part + 7], codes[part:part + 7], x.double().mean(dim=0))
    assert chunked.result() == pytest.approx(whole)


def test_zero_reconstruction_has_zero_cosine_and_no_tokens_is_an_error():
    assert reconstruction_metrics(X, torch.zeros_like(X), CODES)["cosine_similarity"] == 0.0
    with pytest.raises(ValueError, match="no tokens"):
        ReconstructionMetrics(3).result()
