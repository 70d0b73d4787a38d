"""Experiment `random_vs_trained`: the cell-batched TopK gradients against autograd, training on caches, the
metrics and entropy against their references, the embedding identity, the toy models, the claim rules on
hand-built tables, the config checks and the decoder-only (GPT-NeoX, two saved revisions) path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from superposition.config import ConfigError
from superposition.interpretability import InterpretabilityConfig, token_entropy
from superposition.lm.activations import ActivationReader, ShardWriter
from superposition.random_vs_trained.claims import random_vs_trained_claims
from superposition.random_vs_trained.config import RVTEvaluateConfig, RVTTrainConfig, ToyConfig
from superposition.random_vs_trained.evaluate import (
    cell_metrics,
    embedding_identity,
    evaluate_cells,
    latent_token_entropies,
)
from superposition.random_vs_trained.sae import CellSAEs, decode, topk_encode, topk_gradients
from superposition.random_vs_trained.toy import DATASETS, RandomMLP, dataset_sampler, toy_pareto
from superposition.random_vs_trained.train import cell_scale, load_cells, save_cells, train_cells
from superposition.sae_metrics import reconstruction_metrics

TRAIN = RVTTrainConfig(expansion=2, k=3, batch_size=16, steps=30, lr=3e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                       b_dec_init="mean", init_samples=64, seed=0, data_seed=1, log_every=10)
INTERP = InterpretabilityConfig(latents_per_cell=3, min_windows=2, explanation_windows=2, quantiles=2,
                                test_per_quantile=2, non_activating=3, highlight_fraction=0.3, coverage=0.8,
                                max_terms=5, entropy_min_activations=2, seed=0)


def write_cache(folder: Path, data: torch.Tensor, tokens: torch.Tensor, sentences: torch.Tensor,
                variant: str = "trained", site: str = "resid.0", shard_tokens: int = 100) -> ActivationReader:
    writer = ShardWriter(folder, torch.float32, shard_tokens, "test")
    writer.add(data, tokens, sentences)
    writer.close()
    manifest = {"model": "tiny", "variant": variant, "site": site, "d": data.shape[1], "token_count": data.shape[0],
                "weights_sha256": None, "corpus_sha256": "x", "shards": writer.shards}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return ActivationReader(folder)


def random_saes(n: int = 2, d: int = 5, j: int = 7, k: int = 3, seed: int = 0) -> CellSAEs:
    g = torch.Generator().manual_seed(seed)
    w_dec = torch.randn(n, j, d, generator=g)
    return CellSAEs(k, torch.randn(n, j, d, generator=g), torch.randn(n, j, generator=g) * 0.1,
                    w_dec / w_dec.norm(dim=-1, keepdim=True), torch.randn(n, d, generator=g) * 0.1,
                    torch.tensor([1.5, 0.7][:n]))


def test_hand_written_gradients_equal_autograd():
    saes = random_saes()
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(3))
    grads = {name: torch.zeros_like(getattr(saes, name)) for name in ("w_enc", "b_enc", "w_dec", "b_dec")}
    loss = topk_gradients(x, saes, 1, grads, report=True)
    params = {name: getattr(saes, name)[1].clone().requires_grad_(True) for name in grads}
    pre = (x - params["b_dec"]) @ params["w_enc"].T + params["b_enc"]
    values, index = pre.topk(3, dim=1)
    codes = torch.zeros_like(pre).scatter(1, index, values.relu())
    reference = ((codes @ params["w_dec"] + params["b_dec"] - x) ** 2).mean() / saes.target_variance[1]
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-5)
    for name in grads:
        torch.testing.assert_close(grads[name][1], params[name].grad, rtol=1e-4, atol=1e-6)
        assert not grads[name][0].any()  # the other cell's slice is untouched


def test_topk_encode_keeps_k_nonnegative_values_and_decode_is_linear():
    saes = random_saes()
    x = torch.randn(4, 5)
    values, index = topk_encode(x, saes, 0)
    assert values.shape == index.shape == (4, 3) and (values >= 0).all()
    codes = torch.zeros(4, 7).scatter(1, index, values)
    torch.testing.assert_close(decode(values, index, saes, 0), codes @ saes.w_dec[0] + saes.b_dec[0])


def test_cell_scale_gives_mean_square_norm_d():
    sample = torch.randn(100, 4) * 7
    assert float((sample * cell_scale(sample)).pow(2).sum(1).mean()) == pytest.approx(4.0)


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    """Two variants × two sites of 8-dim activations; 40 sentences of 10 tokens; tokens predict the activation."""
    root = tmp_path_factory.mktemp("rvt") / "activations"
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 12, (400,), generator=g)
    sentences = torch.arange(400) // 10
    table = torch.relu(torch.randn(12, 8, generator=g))
    for variant, noise in (("trained", 0.1), ("rerandomised", 1.0)):
        for site in ("embeddings", "resid.0"):
            data = table[tokens] + noise * torch.randn(400, 8, generator=g)
            if site == "embeddings":
                data = table[tokens] * 1.0  # identical for both variants at the embedding site
            write_cache(root / variant / site, data, tokens, sentences, variant, site)
    return root


def test_training_on_caches_lowers_the_loss_and_is_reproducible(caches, tmp_path):
    cells = [f"{v}/{s}" for v in ("trained", "rerandomised") for s in ("embeddings", "resid.0")]
    first = train_cells([caches / c for c in cells], cells, TRAIN, eval_shards=1)
    assert (first.history_loss[-1] < first.history_loss[0]).all()
    save_cells(first, tmp_path / "a.safetensors")
    second = train_cells([caches / c for c in cells], cells, TRAIN, eval_shards=1)
    save_cells(second, tmp_path / "b.safetensors")
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    loaded = load_cells(tmp_path / "a.safetensors")
    assert loaded.cells == tuple(cells)
    torch.testing.assert_close(loaded.saes.w_dec.norm(dim=-1), torch.ones(4, 16))


def test_latent_entropies_equal_the_reference_per_latent():
    rng = np.random.default_rng(0)
    index = np.stack([rng.choice(6, 2, replace=False) for _ in range(50)])  # distinct per token, as top-k
    values = rng.random((50, 2)) * (rng.random((50, 2)) > 0.3)
    tokens = rng.integers(0, 4, size=50)
    for weighting in ("mass", "count"):
        entropy, counts = latent_token_entropies(values, index, tokens, 6, weighting)
        for latent in range(6):
            activations = ((index == latent) * values).sum(axis=1)
            assert counts[latent] == int((activations > 0).sum())
            if counts[latent]:
                assert entropy[latent] == pytest.approx(token_entropy(activations, tokens, weighting))


def test_a_single_token_latent_has_zero_entropy_and_a_uniform_one_log_n():
    values = np.ones((4, 1))
    entropy, _ = latent_token_entropies(values, np.zeros((4, 1), dtype=int), np.array([3, 3, 3, 3]), 1)
    assert entropy[0] == 0
    entropy, _ = latent_token_entropies(values, np.zeros((4, 1), dtype=int), np.array([0, 1, 2, 3]), 1)
    assert entropy[0] == pytest.approx(np.log(4))


def test_chunked_cell_metrics_equal_the_reference():
    saes = random_saes()
    x = torch.randn(3000, 5)
    values, index = topk_encode(x, saes, 1)
    codes = torch.zeros(3000, 7).scatter(1, index, values)
    expected = reconstruction_metrics(x, decode(values, index, saes, 1), codes)
    for name, value in cell_metrics(x, saes, 1).items():
        assert value == pytest.approx(expected[name], rel=1e-6, abs=1e-9)


def test_embedding_identity_is_zero_only_for_identical_caches(caches):
    same = embedding_identity(ActivationReader(caches / "trained" / "embeddings"),
                              ActivationReader(caches / "rerandomised" / "embeddings"))
    other = embedding_identity(ActivationReader(caches / "trained" / "resid.0"),
                               ActivationReader(caches / "rerandomised" / "resid.0"))
    assert same == 0 and other > 0


def test_evaluation_writes_every_cell_and_scores_token_latents(caches, tmp_path):
    cells = [f"{v}/{s}" for v in ("trained", "rerandomised") for s in ("embeddings", "resid.0")]
    save_cells(train_cells([caches / c for c in cells], cells, TRAIN, eval_shards=1), tmp_path / "saes.safetensors")
    table = evaluate_cells(caches, tmp_path / "saes.safetensors", RVTEvaluateConfig(1, 100, 2, 2), INTERP,
                           lambda ids: [f"t{i}" for i in ids], tmp_path / "m.csv", tmp_path / "l.csv",
                           tmp_path / "m.json", tmp_path / "c.json")
    assert list(table.variant) == ["trained", "trained", "rerandomised", "rerandomised"]
    assert (table.l0 <= 3 + 1e-9).all() and table.fraction_variance_explained.between(-1, 1).all()
    summary = json.loads((tmp_path / "m.json").read_text())["summary"]
    assert summary["embedding_max_abs_difference_trained_vs_rerandomised_no_embeddings"] is None  # not configured
    latents = pd.read_csv(tmp_path / "l.csv")
    assert len(latents) == 4 * 16


def test_random_mlp_is_seeded_and_maps_dim_to_dim():
    mlp, again = RandomMLP(6, 24, 3), RandomMLP(6, 24, 3)
    x = torch.randn(5, 6)
    torch.testing.assert_close(mlp(x), again(x))
    assert mlp(x).shape == (5, 6)


TOY = ToyConfig(n_features=16, dim=8, mean_active=2, decay=0.99, mlp_hidden_ratio=4, ks=(1, 4), expansion=2,
                batch_size=32, steps=40, lr=3e-3, eval_samples=256, seed=0)


def test_toy_datasets_are_sparse_or_dense_as_named():
    g = torch.Generator().manual_seed(0)
    sparse = dataset_sampler("sparse", TOY)(256, g)
    gaussian = dataset_sampler("gaussian", TOY)(256, g)
    assert sparse.shape == gaussian.shape == (256, 8)
    assert (sparse.abs().sum(1) == 0).any() and not (gaussian == 0).any()
    with pytest.raises(ValueError, match="unknown toy dataset"):
        dataset_sampler("uniform", TOY)


def test_toy_pareto_has_a_row_per_dataset_and_k(tmp_path):
    table = toy_pareto(TOY, tmp_path / "toy.csv")
    assert list(table.dataset.unique()) == list(DATASETS) and len(table) == 8
    assert (table.l0 <= table.k + 1e-9).all()
    for _, part in table.groupby("dataset"):  # more active latents explain more
        assert part.fraction_variance_explained.iloc[1] > part.fraction_variance_explained.iloc[0]


def _table(fve: dict[str, float], detection: dict[str, float], entropy: dict[str, float]) -> pd.DataFrame:
    rows = []
    for variant in ("trained", "rerandomised", "rerandomised_no_embeddings", "step0", "control"):
        for depth, site in enumerate(("embeddings", "resid.1", "resid.3", "resid.5")):
            rows.append({"variant": variant, "site": site, "fraction_variance_explained": fve[variant],
                         "dead_fraction": 0.01 * depth,
                         "detection_auroc": detection[variant], "token_entropy": entropy[variant] + depth})
    return pd.DataFrame(rows)


def _toy(sparse_mlp: float, gaussian_mlp: float) -> pd.DataFrame:
    rows = [{"dataset": "sparse", "k": k, "fraction_variance_explained": 0.9} for k in (1, 2)]
    rows += [{"dataset": "sparse_mlp", "k": k, "fraction_variance_explained": sparse_mlp} for k in (1, 2)]
    rows += [{"dataset": "gaussian", "k": k, "fraction_variance_explained": 0.3} for k in (1, 2)]
    rows += [{"dataset": "gaussian_mlp", "k": k, "fraction_variance_explained": gaussian_mlp} for k in (1, 2)]
    return pd.DataFrame(rows)


SUMMARY = {"n_latents": 3072, "d": 384, "steps": 240,
           "embedding_max_abs_difference_trained_vs_rerandomised_no_embeddings": 0.0}


def test_claims_pass_on_a_table_shaped_like_the_paper():
    table = _table({"trained": 0.8, "rerandomised": 0.75, "rerandomised_no_embeddings": 0.78, "step0": 0.85,
                    "control": 0.3},
                   {"trained": 0.8, "rerandomised": 0.75, "rerandomised_no_embeddings": 0.8, "step0": 0.77,
                    "control": 0.55},
                   {"trained": 3.0, "rerandomised": 1.0, "rerandomised_no_embeddings": 1.5, "step0": 1.2,
                    "control": 4.0})
    claims = random_vs_trained_claims(table, SUMMARY, _toy(0.85, 0.6))
    assert [c.passed for c in claims] == [True] * 7


def test_claims_fail_with_a_diagnosis_where_the_table_disagrees():
    table = _table({"trained": 0.8, "rerandomised": 0.5, "rerandomised_no_embeddings": 0.78, "step0": 0.85,
                    "control": 0.79},
                   {"trained": 0.8, "rerandomised": 0.6, "rerandomised_no_embeddings": 0.8, "step0": 0.77,
                    "control": 0.55},
                   {"trained": 1.0, "rerandomised": 2.0, "rerandomised_no_embeddings": 1.5, "step0": 1.2,
                    "control": 4.0})
    claims = random_vs_trained_claims(table, {**SUMMARY, "embedding_max_abs_difference_trained_vs_rerandomised_"
                                              "no_embeddings": 0.5}, _toy(0.3, 0.2))
    assert all(c.passed is False for c in claims)
    assert {c.diagnosis for c in claims} == {"scale_limited", "open"} and all(c.evidence for c in claims)
    entropy = next(c for c in claims if c.id == "entropy_trained_higher_later")
    assert "dead fractions" in entropy.evidence


def test_config_checks_name_the_keys():
    from superposition.random_vs_trained.config import RandomVsTrainedConfig

    base = dict(model="m", sites=("embeddings",), train=TRAIN, evaluate=RVTEvaluateConfig(1, 10, 0, 1),
                interpretability=INTERP, toy=TOY)
    with pytest.raises(ConfigError, match="first variant must be 'trained'"):
        RandomVsTrainedConfig(variants=("control", "trained"), **base)
    with pytest.raises(ConfigError, match="residual stream"):
        RandomVsTrainedConfig(variants=("trained", "control"), **{**base, "sites": ("mlp.1",)})
    with pytest.raises(ConfigError, match="toy.ks"):
        ToyConfig(**{**TOY.__dict__, "ks": (100,)})


def test_decoder_only_path_trains_on_a_tiny_gpt_neox_with_a_saved_step0_revision(tmp_path):
    from superposition.lm.config import ExtractionConfig, ModelSourceConfig
    from superposition.lm.activations import ExtractionInfo, extract_activations
    from superposition.lm.tiny_models import build_tiny_gpt_neox, sentences
    from superposition.lm.variants import load_variant

    final = build_tiny_gpt_neox(tmp_path / "main", seed=1)
    initial = build_tiny_gpt_neox(tmp_path / "step0", seed=2)
    models = {"neox": ModelSourceConfig(kind="folder", package=None, path=str(final), hub_id=None, revision=None,
                                        step0=str(initial), weights_sha256=None, tokenizer_model=None, install=None,
                                        parts=())}
    extraction = ExtractionConfig(max_sentences=0, batch_size=8, max_length=16, dtype="float32", shard_tokens=100,
                                  exclude_special_tokens=True, variant_seed=0)
    text = sentences(60, seed=4)
    for variant in ("trained", "step0"):
        loaded = load_variant("neox", variant, models, None, seed=0)
        info = ExtractionInfo("neox", {"weights_sha256": None}, variant, 0, "x", len(text))
        extract_activations(loaded.loaded, text, ["embeddings", "resid.1"], tmp_path / "act" / variant, extraction,
                            info, progress=False, before_batch=loaded.before_batch)
    assert embedding_identity(ActivationReader(tmp_path / "act/trained/embeddings"),
                              ActivationReader(tmp_path / "act/step0/embeddings")) > 0
    cells = ["trained/resid.1", "step0/resid.1"]
    trained = train_cells([tmp_path / "act" / c for c in cells], cells, TRAIN, eval_shards=1)
    assert trained.saes.w_enc.shape == (2, 32, 16)
    assert json.loads(trained.metadata["activations"])["step0/resid.1"]["variant"] == "step0"


def test_a_plugged_in_explainer_and_scorer_replace_the_token_profile():
    from superposition.interpretability import Explanation
    from superposition.random_vs_trained.evaluate import score_cell

    class Blank:  # an explainer/scorer pair that knows nothing: every score ties, so every AUROC is ½
        def explain(self, windows):
            return Explanation({})

        def detection(self, explanation, windows):
            return [0.0] * len(windows)

        def fuzzing(self, explanation, window, highlighted):
            return 0.0

    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 5, size=300)
    sentence = np.arange(300) // 6
    index = np.stack([rng.choice(8, 2, replace=False) for _ in range(300)])
    values = rng.random((300, 2))
    scores = score_cell(values, index, tokens, sentence, 8, INTERP, 0, Blank(), Blank())
    assert scores and all(s.detection_auroc in (None, 0.5) and s.fuzzing_auroc in (None, 0.5) for s in scores)
