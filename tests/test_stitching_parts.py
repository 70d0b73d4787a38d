"""Experiment `stitching`: the toy's generator, meta-SAE measures, contexts and the config's cross-field checks."""

from __future__ import annotations

import math

import pytest
import torch

from superposition.config import ConfigError, parse_config
from superposition.stitching.config import ToyConfig, meta_width
from superposition.stitching.contexts import HeldOutTokens, render_context, top_tokens
from superposition.stitching.meta import best_match_cosines, fraction_variance_explained, random_unit_vectors
from superposition.stitching.toy import best_cosines, composed_directions, toy_batches, toy_directions

TOY = dict(colours=3, shapes=3, dim=8, noise=0.0, samples=64, steps=20, l1=[0.3], lr=0.003, meta_k=2, meta_steps=20,
           seed=0)


def test_toy_directions_are_two_orthogonal_wheels() -> None:
    colours, shapes = toy_directions(parse_config(ToyConfig, TOY))
    assert torch.allclose(colours.norm(dim=1), torch.ones(3)) and torch.allclose(shapes.norm(dim=1), torch.ones(3))
    assert torch.allclose(colours.sum(dim=0), torch.zeros(8), atol=1e-6)  # evenly spaced: Σ c_i = 0
    assert torch.allclose(colours @ shapes.T, torch.zeros(3, 3), atol=1e-6)  # orthogonal planes
    assert (colours @ colours.T)[0, 1].item() == pytest.approx(-0.5, abs=1e-6)  # 120° apart
    composed = composed_directions(colours, shapes)
    assert composed.shape == (9, 8) and torch.allclose(composed[1], (colours[0] + shapes[1]) / math.sqrt(2), atol=1e-6)


def test_toy_samples_are_one_colour_plus_one_shape() -> None:
    colours, shapes = toy_directions(parse_config(ToyConfig, TOY))
    batch = next(toy_batches(colours, shapes, 50, 0.0, 0))
    sums = (colours[:, None] + shapes[None]).reshape(9, 8)
    assert ((batch[:, None] - sums[None]).norm(dim=2).min(dim=1).values < 1e-6).all()
    assert best_cosines(sums, composed_directions(colours, shapes)) == pytest.approx([1.0] * 9, abs=1e-6)


def test_fraction_variance_explained_known_answers() -> None:
    data = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    assert fraction_variance_explained(data, data) == pytest.approx(1.0)
    assert fraction_variance_explained(data, data.mean(dim=0).expand_as(data)) == pytest.approx(0.0, abs=1e-6)


def test_best_match_cosines_and_random_vectors() -> None:
    vectors = random_unit_vectors(20, 6, 0)
    assert torch.allclose(vectors.norm(dim=1), torch.ones(20))
    assert torch.equal(vectors, random_unit_vectors(20, 6, 0))
    decoder = torch.eye(6)
    assert torch.allclose(best_match_cosines(vectors, decoder), vectors.max(dim=1).values)
    assert meta_width(49152, 0.046875) == 2304 and meta_width(3, 0.01) == 1


def test_contexts_stay_in_the_sentence() -> None:
    tokens = HeldOutTokens(torch.zeros(6, 2), torch.tensor([10, 11, 12, 13, 14, 15]), torch.tensor([0, 0, 1, 1, 1, 2]))
    convert = lambda ids: [{10: "the", 11: "cat", 12: "play", 13: "##ing", 14: "dogs", 15: "x"}[i] for i in ids]
    assert render_context(tokens, 4, 8, convert) == "playing [[dogs]]"
    assert render_context(tokens, 4, 1, convert) == "ing [[dogs]]"
    assert render_context(tokens, 2, 8, convert) == "[[play]]"
    assert top_tokens(torch.tensor([0.0, 2.0, 1.0, 2.0, -1.0]), 5) == [1, 3, 2]


def test_config_rejects_a_family_that_is_not_one_batchtopk_k(tmp_path) -> None:
    import yaml

    from superposition.stitching.config import StitchingConfig

    section = yaml.safe_load(open("config.yaml"))["stitching"]
    parse_config(StitchingConfig, section)
    with pytest.raises(ConfigError, match="stitching.train.sparsities"):
        parse_config(StitchingConfig, {**section, "train": {**section["train"], "sparsities": [8, 16]}})
    with pytest.raises(ConfigError, match="stitching.train.dict_ratios"):
        parse_config(StitchingConfig, {**section, "train": {**section["train"], "dict_ratios": [4, 2]}})
    with pytest.raises(ConfigError, match="stitching.train.architecture"):
        parse_config(StitchingConfig, {**section, "train": {**section["train"], "architecture": "topk"}})
