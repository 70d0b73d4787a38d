"""Activation extraction into sharded caches: manifest, checksums, special tokens, streaming, bad values."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoTokenizer, BertModel

from superposition.lm.activations import (
    ActivationError,
    ActivationReader,
    ExtractionInfo,
    extract_activations,
    length_buckets,
)
from superposition.lm.config import ExtractionConfig
from superposition.lm.models import LoadedModel
from tests.lm_factories import build_tiny_bert, sentences, synthetic_cache


def extraction(**values) -> ExtractionConfig:
    fields = dict(max_sentences=0, batch_size=8, max_length=32, dtype="float32", shard_tokens=100,
                  exclude_special_tokens=True, variant_seed=0)
    return ExtractionConfig(**{**fields, **values})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> LoadedModel:
    folder = build_tiny_bert(tmp_path_factory.mktemp("tiny") / "bert")
    return LoadedModel("tiny", BertModel.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder), folder)


INFO = ExtractionInfo("tiny", {"weights_sha256": "abc"}, "trained", 0, "corpus-hash", 40)


def reference(tiny: LoadedModel, text: list[str], site_index: int, keep_special: bool) -> torch.Tensor:
    """Every kept token's hidden state, sentence by sentence, without padding or hooks."""
    rows = []
    with torch.inference_mode():
        for sentence in text:
            batch = tiny.tokenizer([sentence], return_tensors="pt")
            states = tiny.model(**batch, output_hidden_states=True).hidden_states[site_index][0]
            rows.append(states if keep_special else states[1:-1])
    return torch.cat(rows)


@pytest.mark.parametrize("exclude", [True, False])
def test_cache_holds_each_kept_token_once_with_its_sentence(tiny, tmp_path, exclude):
    text = sentences(40)
    manifests = extract_activations(tiny, text, ["resid.0", "mlp.1"], tmp_path, extraction(
        exclude_special_tokens=exclude), INFO, progress=False)
    reader = ActivationReader(tmp_path / "resid.0")
    n_words = sum(len(s.split()) for s in text)
    assert reader.token_count == n_words + (0 if exclude else 2 * len(text))
    assert len(reader) == -(-reader.token_count // 100)  # full shards of 100 tokens, then the rest
    values = torch.cat(list(reader.iter_shards()))
    order = torch.cat([reader.shard(i, "sequence_index") for i in range(len(reader))])
    # put tokens back in sentence order (stable within a sentence) and compare with a padding-free pass
    values = values[torch.sort(order, stable=True).indices]
    torch.testing.assert_close(values, reference(tiny, text, 1, keep_special=not exclude), atol=1e-5, rtol=1e-5)
    token_ids = torch.cat([reader.shard(i, "token_ids") for i in range(len(reader))])
    specials = {tiny.tokenizer.cls_token_id, tiny.tokenizer.sep_token_id, tiny.tokenizer.pad_token_id}
    assert (not exclude) or not specials & set(token_ids.tolist())
    assert tiny.tokenizer.pad_token_id not in set(token_ids.tolist())  # padding is never kept
    manifest = manifests["mlp.1"]
    assert manifest["d"] == 32 and manifest["site"] == "mlp.1" and manifest["variant"] == "trained"
    assert manifest["token_count"] == reader.token_count and manifest["corpus_sha256"] == "corpus-hash"
    assert manifest["special_tokens"].startswith("excluded" if exclude else "included")


def test_storage_dtype_is_recorded_and_used(tiny, tmp_path):
    extract_activations(tiny, sentences(10), ["embeddings"], tmp_path, extraction(dtype="float16"), INFO,
                        progress=False)
    reader = ActivationReader(tmp_path / "embeddings")
    assert reader.manifest["dtype"] == "float16" and reader.shard(0).dtype == torch.float16


def test_corrupt_or_missing_shard_is_named(tiny, tmp_path):
    extract_activations(tiny, sentences(20), ["resid.1"], tmp_path, extraction(), INFO, progress=False)
    shard = tmp_path / "resid.1" / "shard-00001.safetensors"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    reader = ActivationReader(tmp_path / "resid.1")
    reader.shard(0)  # intact shards still read
    with pytest.raises(ActivationError, match="checksum mismatch for shard .*shard-00001"):
        reader.shard(1)
    shard.unlink()
    with pytest.raises(ActivationError, match="shard-00001.safetensors listed in the manifest is missing"):
        ActivationReader(tmp_path / "resid.1").shard(1)
    with pytest.raises(ActivationError, match="manifest.json missing"):
        ActivationReader(tmp_path / "mlp.0")


def test_non_finite_activations_name_model_site_and_shard(tiny, tmp_path):
    with torch.no_grad():
        tiny.model.encoder.layer[1].intermediate.dense.bias[0] = float("nan")
    try:
        with pytest.raises(ActivationError, match=r"model tiny \(trained\), site mlp.1, shard 0: .*NaN/inf"):
            extract_activations(tiny, sentences(10), ["mlp.1"], tmp_path, extraction(), INFO, progress=False)
    finally:
        with torch.no_grad():
            tiny.model.encoder.layer[1].intermediate.dense.bias[0] = 0.0


def test_batches_stream_every_token_once_per_epoch(tmp_path):
    reader = synthetic_cache(tmp_path, tokens=205, shard_tokens=37)
    assert len(reader) == 6
    stream = reader.iter_batches(10, torch.Generator().manual_seed(0))
    first_epoch = torch.cat([next(stream) for _ in range(20)])[:, 0]
    assert len(torch.unique(first_epoch)) == 200  # no token twice within an epoch
    assert not torch.equal(first_epoch[:37], torch.arange(37.0))  # shuffled
    held_out = reader.iter_batches(10, torch.Generator().manual_seed(0), shards=[5])
    assert set(torch.cat([next(held_out) for _ in range(2)])[:, 0].tolist()) <= set(range(185, 205))
    sample = reader.sample(50, torch.Generator().manual_seed(0), shards=[0])
    assert sample.shape == (37, 2) and set(sample[:, 0].tolist()) == set(range(37))  # capped at shard 0


def test_length_buckets_cover_every_sentence_once():
    text = sentences(100)
    batches = length_buckets(text, batch_size=8, window_batches=4)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(100)) and all(len(b) <= 8 for b in batches)
    window = flat[:32]
    assert [len(text[i]) for i in window] == sorted(len(text[i]) for i in window)


def test_manifest_is_json_with_shard_checksums(tiny, tmp_path):
    extract_activations(tiny, sentences(5), ["embeddings"], tmp_path, extraction(), INFO, progress=False)
    manifest = json.loads((tmp_path / "embeddings" / "manifest.json").read_text())
    assert all(len(s["sha256"]) == 64 for s in manifest["shards"])
    assert manifest["weights_sha256"] == "abc" and manifest["tokenizer"]["vocab_size"] == tiny.tokenizer.vocab_size
