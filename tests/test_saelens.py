"""SAELens on-disk export of every architecture, read back by sae-lens 6.54's own loader and spliced into a tiny
HookedSAETransformer built offline (random weights, no tokenizer, no hub)."""

from __future__ import annotations

import json
import logging
import warnings

import pytest
import torch

from superposition.sae import ArchitectureOptions, get_architecture
from superposition.sae.saelens import (
    SAELENS_FORMAT_VERSION,
    decode_exported,
    encode_exported,
    folder_name,
    load_exported,
    transformer_lens_hook,
)
from superposition.sweep import SweepGrid, train_sweep
from superposition.lm_sae.export import export_trained
from tests.conftest import random_batches

D_MODEL, N_LAYERS, D_VOCAB, CONTEXT = 16, 2, 50, 8
SITE, HOOK = "resid.0", "blocks.0.hook_resid_post"
SCALE = 2.5  # lm_sae's activation scale: the SAEs trained on 2.5 × the raw activations
OPTIONS = ArchitectureOptions(dead_tokens=64, init_samples=256, threshold_batches=3, l0_warmup_steps=5)
GRIDS = [SweepGrid("relu_l1", (0.1,), (32,)), SweepGrid("topk", (4.0,), (32,), options=OPTIONS),
         SweepGrid("batchtopk", (4.0,), (32,), options=OPTIONS),
         SweepGrid("jumprelu", (0.001,), (32,), options=OPTIONS)]
METADATA = {"model_name": "tiny-2l-16d", "site": SITE, "model_variant": "random", "dataset_path": "tokens",
            "corpus_sha256": "ab" * 32, "prepend_bos": False}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The four architectures trained briefly on (scaled) Gaussian data, exported, and SAELens's model."""
    warnings.filterwarnings("ignore")
    logging.getLogger("sae_lens").setLevel(logging.ERROR)
    from sae_lens import HookedSAETransformer
    from transformer_lens import HookedTransformerConfig

    folder = tmp_path_factory.mktemp("saes")
    trained = train_sweep(random_batches(D_MODEL, 32, seed=0), D_MODEL, GRIDS, steps=20, seed=0, progress=False,
                          init_data=torch.randn(256, D_MODEL, generator=torch.Generator().manual_seed(1)))
    trained.metadata["scale"] = repr(SCALE)
    folders = dict(zip([g.architecture for g in GRIDS], export_trained(trained, folder, METADATA)))
    config = HookedTransformerConfig(n_layers=N_LAYERS, d_model=D_MODEL, d_head=4, n_heads=4, d_mlp=32,
                                     d_vocab=D_VOCAB, n_ctx=CONTEXT, act_fn="gelu", normalization_type="LN",
                                     device="cpu", seed=0)
    model = HookedSAETransformer(config).eval()
    return trained, folders, model


@pytest.mark.parametrize("architecture", [g.architecture for g in GRIDS])
def test_every_cfg_and_metadata_field_survives_saelens_loading(exported, architecture):
    from sae_lens import SAE

    trained, folders, _ = exported
    cfg, tensors = load_exported(folders[architecture])
    sae = SAE.load_from_disk(folders[architecture], device="cpu")
    on_disk = {"relu_l1": "standard", "topk": "topk", "batchtopk": "jumprelu", "jumprelu": "jumprelu"}[architecture]
    assert cfg["architecture"] == on_disk and sae.cfg.to_dict()["architecture"] == on_disk
    for key in ("d_in", "d_sae", "dtype", "apply_b_dec_to_input", "normalize_activations", "reshape_activations"):
        assert sae.cfg.to_dict()[key] == cfg[key], key
    if on_disk == "topk":
        assert sae.cfg.k == 4 and isinstance(cfg["k"], int) and sae.cfg.rescale_acts_by_decoder_norm is False
    metadata = cfg["metadata"]
    assert metadata["sae_lens_version"] == SAELENS_FORMAT_VERSION  # else sae-lens reads it as pre-6.0
    assert metadata["hook_name"] == HOOK and metadata["site"] == SITE
    assert metadata["training_architecture"] == architecture
    for key, value in metadata.items():  # every field, with its type (a pre-6.0 read would drop or change them)
        loaded = getattr(sae.cfg.metadata, key)
        assert loaded == value and type(loaded) is type(value), key
    assert sae.cfg.metadata.prepend_bos is False
    for name, tensor in tensors.items():
        assert torch.equal(getattr(sae, name).data, tensor), name


def test_hyper_parameters_are_written_as_the_config_decimals(exported):
    _, folders, _ = exported
    text = {arch: (folder / "cfg.json").read_text() for arch, folder in folders.items()}
    assert '"l1_coefficient": 0.1,' in text["relu_l1"]  # not 0.10000000149011612 (a float32 tensor's value)
    assert '"l0_coefficient": 0.001,' in text["jumprelu"]
    assert '"k": 4,' in text["topk"] and '"k": 4,' in text["batchtopk"]
    assert f'"activation_scale": {SCALE},' in text["topk"]


@pytest.mark.parametrize("architecture", [g.architecture for g in GRIDS])
def test_saelens_encode_and_decode_match_ours(exported, architecture):
    from sae_lens import SAE

    trained, folders, _ = exported
    grid = next(g for g in GRIDS if g.architecture == architecture)
    arch, stack = get_architecture(architecture), trained.stacks[architecture, 32]
    raw = torch.randn(64, D_MODEL, generator=torch.Generator().manual_seed(3)) / SCALE
    ours = arch.encode(raw * SCALE, stack)[0]  # our SAEs read activations × SCALE
    cfg, tensors = load_exported(folders[architecture])
    sae = SAE.load_from_disk(folders[architecture])
    with torch.no_grad():
        torch.testing.assert_close(sae.encode(raw), ours, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(encode_exported(cfg, tensors, raw), ours, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(sae.decode(ours), arch.decode(ours[None], stack)[0] / SCALE, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(decode_exported(tensors, ours), sae.decode(ours), atol=1e-6, rtol=1e-6)
    assert (ours > 0).any(), f"{grid.architecture}: nothing active, the comparison would be empty"


@pytest.mark.parametrize("architecture", [g.architecture for g in GRIDS])
def test_loaded_sae_attaches_to_its_hook_and_fires(exported, architecture):
    from sae_lens import SAE

    _, folders, model = exported
    sae = SAE.load_from_disk(folders[architecture])
    tokens = torch.randint(0, D_VOCAB, (3, CONTEXT), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        clean_logits, clean = model.run_with_cache(tokens)
    fired: list[tuple[int, ...]] = []
    model.add_sae(sae)
    try:
        assert HOOK in model.acts_to_saes  # add_sae only logs a warning when the hook is unknown
        hook_point = model.hook_dict[f"{HOOK}.hook_sae_acts_post"]
        hook_point.add_hook(lambda activations, hook: fired.append(tuple(activations.shape)))
        with torch.no_grad():
            logits, cache = model.run_with_cache(tokens)
        hook_point.remove_hooks()
    finally:
        model.reset_saes()
    assert fired == [(3, CONTEXT, 32)]
    with torch.no_grad():
        torch.testing.assert_close(cache[f"{HOOK}.hook_sae_acts_post"], sae.encode(clean[HOOK]), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(logits, clean_logits)


def test_folder_names_and_hook_names():
    assert folder_name("relu_l1", 1536, 0.1) == "relu_l1_J1536_l1_0.1"
    assert folder_name("topk", 768, 32.0) == "topk_J768_k_32"
    assert folder_name("jumprelu", 768, 0.001) == "jumprelu_J768_l0_0.001"
    assert transformer_lens_hook("mlp.1") == "blocks.1.mlp.hook_post"
    assert transformer_lens_hook("resid.3") == "blocks.3.hook_resid_post"
    assert transformer_lens_hook("embeddings") == "blocks.0.hook_resid_pre"
    with pytest.raises(ValueError, match="unknown site"):
        transformer_lens_hook("attn.1")


def test_batchtopk_without_a_threshold_is_not_exported(tmp_path):
    from superposition.sae.saelens import write_saelens
    from tests.sae_factories import random_stack

    stack = random_stack("batchtopk", (2.0,), 8, 4, dtype=torch.float32)
    with pytest.raises(ValueError, match="threshold was never estimated"):
        write_saelens(stack, 0, tmp_path / "x", 1.0, METADATA, 2.0, 1)
    assert not json.dumps(METADATA).count("hook_name")  # the writer derives it from the site
