"""Known answers for every metric of the report."""

import math

import numpy as np
import pytest
import torch

from superposition.metrics import (
    count_dead_latents,
    max_cosine_similarity,
    mmcs,
    mmcs_with_larger,
    standardized_log,
    summed_standardized_log_loss,
)


def test_mmcs_of_a_dictionary_with_itself_is_one():
    features = torch.randn(10, 6)
    assert mmcs(features, features) == pytest.approx(1.0)


def test_mmcs_is_scale_and_permutation_invariant():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(10, 6, generator=generator)
    learned = features[torch.randperm(10, generator=generator)] * torch.rand(10, 1, generator=generator).add(0.5)
    assert mmcs(learned, features) == pytest.approx(1.0)
    reference = torch.randn(7, 6, generator=generator)
    shuffled = reference[torch.randperm(7, generator=generator)]
    assert mmcs(learned, shuffled) == pytest.approx(mmcs(learned, reference))


def test_mmcs_hand_computed_with_unequal_sizes():
    # Ground truth e1, e2; learned: e1 and (e1 + e2)/√2 and -e2. Max cosines: e1 -> 1, e2 -> 1/√2.
    reference = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    learned = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    torch.testing.assert_close(max_cosine_similarity(learned, reference), torch.tensor([1.0, 1 / math.sqrt(2)]))
    assert mmcs(learned, reference) == pytest.approx((1 + 1 / math.sqrt(2)) / 2)
    # A single learned element serving both: MMCS = mean(1/√2, 1/√2).
    assert mmcs(torch.tensor([[1.0, 1.0]]), reference) == pytest.approx(1 / math.sqrt(2))


def test_mmcs_counts_antiparallel_as_negative():
    assert mmcs(torch.tensor([[-1.0, 0.0]]), torch.tensor([[1.0, 0.0]])) == pytest.approx(-1.0)


def test_mmcs_chunking_does_not_change_the_answer():
    learned, reference = torch.randn(50, 8), torch.randn(20, 8)
    torch.testing.assert_close(max_cosine_similarity(learned, reference, chunk_size=7),
                               max_cosine_similarity(learned, reference, chunk_size=4096))


def test_mmcs_rejects_mismatched_widths():
    with pytest.raises(ValueError, match="matrices"):
        mmcs(torch.randn(3, 4), torch.randn(3, 5))


def test_mmcs_with_larger_averages_over_the_larger_dictionaries():
    e = torch.eye(3)
    small = e[:2]  # e1, e2
    medium = torch.stack([e[0], e[1], e[2]])  # contains both exactly
    large = torch.stack([e[0], (e[1] + e[2])])  # e1 exact, e2 at 1/√2
    values = mmcs_with_larger({2: small, 3: medium, 4: large})
    assert values[2] == pytest.approx((1.0 + (1 + 1 / math.sqrt(2)) / 2) / 2)
    # Size 3 against size 4: e1 -> 1, e2 -> 1/√2, e3 -> 1/√2.
    assert values[3] == pytest.approx((1 + 2 / math.sqrt(2)) / 3)
    assert math.isnan(values[4])
    # The authors' code: the next larger dictionary only (size 2 against size 3 contains both exactly).
    following = mmcs_with_larger({2: small, 3: medium, 4: large}, next_only=True)
    assert following[2] == pytest.approx(1.0) and following[3] == pytest.approx(values[3])
    assert math.isnan(following[4])


def test_count_dead_latents_known_answer():
    counters = torch.tensor([[0, 499, 500, 900], [500, 500, 0, 1]])
    torch.testing.assert_close(count_dead_latents(counters, 500), torch.tensor([2, 2]))
    torch.testing.assert_close(count_dead_latents(counters, 1), torch.tensor([3, 3]))
    with pytest.raises(ValueError):
        count_dead_latents(counters, 0)


def test_standardized_log_known_answer():
    # log values 0, 1, 2 (e^0, e^1, e^2): mean 1, population std sqrt(2/3).
    values = np.array([1.0, math.e, math.e**2])
    expected = (np.array([0.0, 1.0, 2.0]) - 1.0) / math.sqrt(2 / 3)
    np.testing.assert_allclose(standardized_log(values), expected)


def test_standardized_log_ignores_log_zero():
    result = standardized_log([1.0, 0.0, math.e])
    assert math.isnan(result[1])
    np.testing.assert_allclose(result[[0, 2]], [-1.0, 1.0])


def test_standardized_log_is_scale_invariant_and_keeps_grid_shape():
    grid = np.array([[0.1, 0.2], [0.4, 0.8]])
    np.testing.assert_allclose(standardized_log(grid), standardized_log(grid * 1000))
    assert standardized_log(grid).shape == (2, 2)


def test_ssll_is_the_sum_and_nan_where_l1_loss_is_zero():
    reconstruction = np.array([1.0, math.e, math.e**2])
    l1 = np.array([math.e**2, math.e, 0.0])
    result = summed_standardized_log_loss(reconstruction, l1)
    np.testing.assert_allclose(result[:2], standardized_log(reconstruction)[:2] + np.array([1.0, -1.0]))
    assert math.isnan(result[2])
