"""The phase change of 2 features in 1 dimension: expected losses, theory, and the classifier."""

import numpy as np
import pytest
import torch

from superposition.tms.model import ToyModelStack, sample_features
from superposition.tms.phase import PHASES, candidate_losses, classify_phase, theoretical_phase


def test_candidate_losses_known_answers():
    # r = 2, p = 0.5: not represented r p/3 = 1/3; dedicated p/3 = 1/6; superposition (1+r) p²/6 = 1/8.
    np.testing.assert_allclose(candidate_losses(2.0, 0.5), [1 / 3, 1 / 6, 1 / 8])


@pytest.mark.parametrize("seed", [0, 1])
def test_candidate_losses_match_a_monte_carlo_estimate(seed):
    # Build the three zero-bias candidates as toy models and measure their loss on many samples.
    r, p = 1.7, 0.3
    w = torch.tensor([[[1.0], [0.0]], [[0.0], [1.0]], [[1.0], [-1.0]]], dtype=torch.float64)
    stack = ToyModelStack(w, torch.zeros(3, 2, dtype=torch.float64), torch.tensor([[1.0, r]] * 3, dtype=torch.float64),
                          torch.full((3, 2), p, dtype=torch.float64), torch.ones(3, dtype=torch.bool), ["a", "b", "c"])
    x = sample_features(stack.feature_probability, 2_000_000, torch.Generator().manual_seed(seed))  # ~5σ at rtol 2 %
    np.testing.assert_allclose(stack.loss(x).numpy(), candidate_losses(r, p), rtol=0.02)


def test_theoretical_phases_in_each_region():
    assert PHASES[theoretical_phase(0.1, 0.9)] == "not represented"    # unimportant and dense
    assert PHASES[theoretical_phase(10.0, 0.9)] == "dedicated dimension"  # important and dense
    assert PHASES[theoretical_phase(1.0, 0.05)] == "superposition"       # sparse
    # Boundary between not represented and superposition: p = 2r / (1 + r).
    r = 0.25
    assert PHASES[theoretical_phase(r, 2 * r / (1 + r) * 0.99)] == "superposition"
    assert PHASES[theoretical_phase(r, 2 * r / (1 + r) * 1.01)] == "not represented"
    assert theoretical_phase(np.array([[0.1], [10.0]]), np.array([[0.9, 0.05]])).shape == (2, 2)


def test_classifier_on_hand_built_solutions():
    w = torch.tensor([[[1.0], [0.0]],     # extra feature ignored
                      [[0.0], [1.0]],     # extra feature takes the dimension
                      [[1.0], [-1.0]],    # antipodal superposition
                      [[0.2], [0.3]]])    # nothing represented: counts as not represented
    assert [PHASES[i] for i in classify_phase(w).tolist()] == [
        "not represented", "dedicated dimension", "superposition", "not represented"]


def test_classifier_rejects_other_shapes():
    with pytest.raises(ValueError, match="n = 2, m = 1"):
        classify_phase(torch.zeros(3, 2))
