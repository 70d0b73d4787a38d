"""Null-model variants: statistics of re-randomised tensors, kept embeddings, control embeddings, step 0."""

from __future__ import annotations

import pytest
import torch
from transformers import BertModel

from superposition.lm.variants import VARIANTS, TokenNoise, apply_variant, load_variant
from tests.lm_factories import build_tiny_bert, sentences


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


def test_random_embedding_table_replaces_only_token_embeddings_with_standard_gaussians(trained):
    before = _copy(trained)
    model = apply_variant(trained, "random_embedding_table", seed=0)
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


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v not in ("trained", "control")])
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


def _token_inputs(model, tokenizer, text: list[str], noise: TokenNoise | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(token ids (n,), the token-embedding layer's output for them (n, d)) over ``text``, padding dropped."""
    captured = []
    handle = model.get_input_embeddings().register_forward_hook(lambda m, i, out: captured.append(out))
    try:
        batch = tokenizer(text, padding=True, return_tensors="pt")
        if noise is not None:
            noise.set_sentences(range(len(text)))
        with torch.inference_mode():
            model(**batch)
    finally:
        handle.remove()
    keep = batch["attention_mask"].bool()
    return batch["input_ids"][keep], captured[0][keep]


def test_control_gives_each_occurrence_of_a_token_its_own_noise_and_the_table_does_not(trained, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(build_tiny_bert(tmp_path / "tok"))
    text = ["the water the water", "water the animal"]
    noise = TokenNoise(trained, seed=0)
    ids, inputs = _token_inputs(trained, tokenizer, text, noise)
    water = tokenizer.convert_tokens_to_ids("water")
    rows = inputs[ids == water]
    assert len(rows) == 3 and not torch.allclose(rows[0], rows[1]) and not torch.allclose(rows[0], rows[2])
    assert inputs.mean().item() == pytest.approx(0.0, abs=0.2) and inputs.std().item() == pytest.approx(1.0, abs=0.2)
    # Row p of sentence i does not depend on the batch it came in: sentence 1 alone gets the same noise.
    alone = noise.noise(1, 5, inputs.shape[1])
    assert torch.equal(alone[:4], noise.noise(1, 4, inputs.shape[1]))
    noise.handle.remove()
    table = apply_variant(trained, "random_embedding_table", seed=0)
    ids, inputs = _token_inputs(table, tokenizer, text, None)
    rows = inputs[ids == water]
    assert torch.equal(rows[0], rows[1]) and torch.equal(rows[0], rows[2])


def test_control_needs_the_batch_sentences(trained):
    TokenNoise(trained, seed=0)
    with pytest.raises(RuntimeError, match="sentence indices"):
        trained(input_ids=torch.tensor([[2, 5, 6, 3]]))


def _cache_bytes(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_control_caches_are_byte_identical_across_runs_and_batch_sizes(tmp_path):
    import json

    from superposition.lm.activations import ActivationReader
    from superposition.lm.cache import make_activation_cache
    from superposition.lm.config import ExtractionConfig, ModelSourceConfig
    from superposition.lm.corpus import Corpus, write_corpus

    folder = build_tiny_bert(tmp_path / "bert")
    models = {"tiny": ModelSourceConfig(kind="folder", package=None, path=str(folder), hub_id=None, revision=None,
                                        step0=None, weights_sha256=None, tokenizer_model=None, install=None, parts=())}
    corpus_dir = tmp_path / "corpus"
    write_corpus(Corpus(train=sentences(30), eval=sentences(3, seed=1), licence="test"), corpus_dir)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text(json.dumps({"weights_sha256": None}))

    def cache(name: str, batch_size: int):
        extraction = ExtractionConfig(0, batch_size, 32, "float32", 64, True, 7)
        make_activation_cache("tiny", "control", ["embeddings", "resid.1"], models, extraction, corpus_dir,
                              tmp_path / "model", tmp_path / name, progress=False)
        return tmp_path / name

    first, second, other_batches = cache("a", 8), cache("b", 8), cache("c", 3)
    assert _cache_bytes(first) == _cache_bytes(second)

    def by_sentence(root):
        reader = ActivationReader(root / "resid.1")
        order = torch.cat([reader.shard(i, "sequence_index") for i in range(len(reader))])
        values = torch.cat(list(reader.iter_shards()))
        return values[torch.sort(order, stable=True).indices]

    torch.testing.assert_close(by_sentence(first), by_sentence(other_batches))


def test_step0_loads_the_sources_initial_weights_when_it_names_them(tmp_path):
    from superposition.lm.config import ModelSourceConfig
    from superposition.lm.tiny_models import build_tiny_gpt_neox

    final = build_tiny_gpt_neox(tmp_path / "pythia-main", seed=1)
    initial = build_tiny_gpt_neox(tmp_path / "pythia-step0", seed=2)
    models = {"pythia": ModelSourceConfig(kind="folder", package=None, path=str(final), hub_id=None, revision=None,
                                          step0=str(initial), weights_sha256=None, tokenizer_model=None, install=None,
                                          parts=())}
    trained = load_variant("pythia", "trained", models, None, seed=0).loaded.model.state_dict()
    step0 = load_variant("pythia", "step0", models, None, seed=0).loaded.model.state_dict()
    from transformers import GPTNeoXModel

    saved = GPTNeoXModel.from_pretrained(initial).state_dict()
    assert all(torch.equal(step0[k], saved[k]) for k in saved)
    assert any(not torch.equal(step0[k], trained[k]) for k in saved)
