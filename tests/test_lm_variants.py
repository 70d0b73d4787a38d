"""Null-model variants: statistics of re-randomised tensors, kept embeddings, control embeddings, step 0."""

from __future__ import annotations

import pytest
import torch
from transformers import BertModel

from superposition.lm.variants import VARIANTS, apply_variant
from tests.lm_factories import build_tiny_bert


@pytest.fixture
def trained(tmp_path) -> BertModel:
    folder = build_tiny_bert(tmp_path / "bert", hidden=64)
    model = BertModel.from_pretrained(folder).eval()
    with torch.no_grad():  # give every tensor its own distinct mean and spread, as trained weights have
        for index, parameter in enumerate(model.parameters()):
            parameter.mul_(1 + index % 3).add_(0.1 * (index % 5))
    return model


def _copy(model: BertModel) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_rerandomised_tensors_keep_mean_and_std_but_not_values(trained):
    before = _copy(trained)
    after = dict(apply_variant(trained, "rerandomised", seed=0).named_parameters())
    for name, old in before.items():
        new = after[name].detach()
        if old.numel() < 500:
            continue  # too few values for a tight statistical check
        assert not torch.equal(new, old), name
        assert new.mean().item() == pytest.approx(old.mean().item(), abs=0.1 * old.std().item() + 1e-6), name
        assert new.std().item() == pytest.approx(old.std().item(), rel=0.1), name


def test_rerandomised_without_embeddings_keeps_the_embedding_module(trained):
    before = _copy(trained)
    after = dict(apply_variant(trained, "rerandomised_no_embeddings", seed=0).named_parameters())
    for name, old in before.items():
        if name.startswith("embeddings."):
            assert torch.equal(after[name], old), name
        elif old.numel() > 1 and old.std() > 0:
            assert not torch.equal(after[name], old), name


def test_control_replaces_only_token_embeddings_with_standard_gaussians(trained):
    before = _copy(trained)
    model = apply_variant(trained, "control", seed=0)
    tokens = model.embeddings.word_embeddings.weight.detach()
    assert tokens.mean().item() == pytest.approx(0.0, abs=0.05)
    assert tokens.std().item() == pytest.approx(1.0, abs=0.05)
    for name, parameter in model.named_parameters():
        if name != "embeddings.word_embeddings.weight":
            assert torch.equal(parameter, before[name]), name


def test_step0_is_a_fresh_model_of_the_same_architecture(trained):
    state = torch.random.get_rng_state()
    fresh = apply_variant(trained, "step0", seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global stream is left alone
    assert fresh.config.to_dict() == trained.config.to_dict()
    assert fresh is not trained and not torch.equal(fresh.pooler.dense.weight, trained.pooler.dense.weight)
    # the architecture's own initialiser: BERT draws linear weights from N(0, initializer_range)
    assert fresh.encoder.layer[0].intermediate.dense.weight.std().item() == pytest.approx(0.02, rel=0.1)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "trained"])
def test_variants_are_seeded(tmp_path, variant):
    folder = build_tiny_bert(tmp_path / "bert")
    first = apply_variant(BertModel.from_pretrained(folder), variant, seed=3).state_dict()
    second = apply_variant(BertModel.from_pretrained(folder), variant, seed=3).state_dict()
    third = apply_variant(BertModel.from_pretrained(folder), variant, seed=4).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert any(not torch.equal(first[k], third[k]) for k in first)


def test_unknown_variant_lists_the_valid_ones(trained):
    with pytest.raises(ValueError, match="unknown variant 'random'.*rerandomised"):
        apply_variant(trained, "random", seed=0)
