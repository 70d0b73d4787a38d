"""Sections 4.1–4.2 and Appendices F–H: sparsity of language-model token embeddings and of every layer."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from superposition.feature_sparsity.coder import encode
from superposition.feature_sparsity.config import EmbeddingsConfig, FeaturesConfig, LayersConfig
from superposition.feature_sparsity.measure import code_and_measure, measure_codes
from superposition.feature_sparsity.metrics import variance_explained
from superposition.feature_sparsity.synthetic import to_unit_mean_norm
from superposition.io import atomic_save_safetensors, atomic_write_json
from superposition.lm.activations import ActivationReader
from superposition.lm.config import ModelSourceConfig
from superposition.lm.models import load_model
from superposition.runtime import derived_seed, make_generator, resolve_device, retain_freed_memory

log = logging.getLogger(__name__)

__all__ = ["token_embeddings", "run_embeddings", "layer_sites", "run_layers", "feature_tables"]


def token_embeddings(model: torch.nn.Module) -> torch.Tensor:
    """(vocab, d) the input token-embedding matrix, float32."""
    return model.get_input_embeddings().weight.detach().float()


def run_embeddings(model_name: str, models: dict[str, ModelSourceConfig], model_dir: Path, config: EmbeddingsConfig,
                   device: str, metrics_path: Path, dictionary_path: Path, progress: bool = True) -> dict:
    """Code the centred token embeddings of one model and a Gaussian of the same (vocab, d) as one stack.

    Writes the metrics (``metrics_path``, JSON) and the embeddings' dictionary (``dictionary_path``: Φ (d, m),
    λ, the embedding mean) for the feature tables.
    """
    retain_freed_memory()
    target = resolve_device(device)
    loaded = load_model(model_name, models, model_dir)
    embeddings = token_embeddings(loaded.model)
    mean = embeddings.mean(dim=0)
    vocab, d = embeddings.shape
    gaussian = torch.randn(vocab, d, generator=make_generator(derived_seed(config.gaussian_seed, vocab, d)))
    # One scale for both (the metrics are scale invariant, λ is adaptive): average L2 norm 1 after centring.
    stack = torch.stack([to_unit_mean_norm(embeddings), to_unit_mean_norm(gaussian)])
    generator = make_generator(derived_seed(config.coder.seed, model_name), target)
    rows, learned = code_and_measure(stack.to(target), config.coder, config.dict_ratio * d, None, generator,
                                     config.eval_tokens, progress, f"embeddings {model_name}")
    scale = float(embeddings.sub(mean).norm(dim=1).mean())
    atomic_save_safetensors({"phi": learned.phi[0].cpu().contiguous(), "mean": mean.contiguous()},
                            dictionary_path, {"lambda": repr(float(learned.lam[0])), "scale": repr(scale),
                                              "model": model_name})
    payload = {"model": model_name, "d": d, "vocab": vocab, "dict_size": config.dict_ratio * d,
               "rows": [{"dataset": "embeddings", **rows[0]}, {"dataset": "gaussian", **rows[1]}]}
    for row in payload["rows"]:
        log.info("%s %-10s L_norm %.3g  S1 %.3g  VE %.4f", model_name, row["dataset"], row["normalized_loss"],
                 row["s1"], row["variance_explained"])
    atomic_write_json(metrics_path, payload)
    return payload


def layer_sites(layers: int) -> list[str]:
    """The residual stream at every depth: ``embeddings`` (the embedding layer's output), then ``resid.<L>``."""
    return ["embeddings", *(f"resid.{layer}" for layer in range(layers))]


def run_layers(model_name: str, cache_dir: Path, sites: list[str], config: LayersConfig, device: str,
               output: Path, progress: bool = True) -> dict:
    """Appendix H for one model: every layer's tokens coded as one stack with λ fixed at ``train_lambda``, then
    decomposed with the largest of ``decompose_lambdas`` that explains ``target_variance`` on every layer.

    Each layer's sampled tokens are centred and scaled to average L2 norm 1 (see the config's note on λ).
    """
    retain_freed_memory()
    target = resolve_device(device)
    generator = make_generator(derived_seed(config.sample_seed, model_name))
    layers = []
    for site in sites:
        layers.append(to_unit_mean_norm(ActivationReader(Path(cache_dir) / site).sample(config.n_tokens, generator)))
    x = torch.stack(layers).to(target)
    k, _, d = x.shape
    coder_generator = make_generator(derived_seed(config.coder.seed, model_name), target)
    train_lambda = torch.full((k,), config.train_lambda, device=target)
    _, learned = code_and_measure(x, config.coder, config.dict_ratio * d, train_lambda, coder_generator, 0,
                                  progress, f"layers {model_name}")
    candidates, chosen = [], None
    for lam in sorted(config.decompose_lambdas, reverse=True):
        lams = torch.full((k,), lam, device=target)
        codes = encode(x, learned.phi, lams, config.coder.max_active)
        explained = variance_explained(x, learned.phi, codes)
        candidates.append({"lambda": lam, "variance_explained": explained.tolist()})
        log.info("%s: decomposition λ %.4g explains %.4f–%.4f", model_name, lam, float(explained.min()),
                 float(explained.max()))
        chosen = (lam, codes, lams)
        if float(explained.min()) >= config.target_variance:
            break
    lam, codes, lams = chosen
    rows = measure_codes(x, learned.phi, codes, lams)
    payload = {"model": model_name, "d": d, "dict_size": config.dict_ratio * d, "n_tokens": x.shape[1],
               "train_lambda": config.train_lambda, "decompose_lambda": lam, "candidates": candidates,
               "reached_target": min(row["variance_explained"] for row in rows) >= config.target_variance,
               "rows": [{"site": site, "depth": depth, **row} for depth, (site, row) in enumerate(zip(sites, rows))]}
    for row in payload["rows"]:
        log.info("%s %-11s L_norm %.3g  S1 %.3g  VE %.4f", model_name, row["site"], row["normalized_loss"],
                 row["s1"], row["variance_explained"])
    atomic_write_json(output, payload)
    return payload


def _single_token(tokenizer, word: str) -> int:
    token_id = tokenizer.convert_tokens_to_ids(word)
    if token_id is None or token_id == tokenizer.unk_token_id:
        raise ValueError(f"feature_sparsity.features.words: {word!r} is not a single token of this vocabulary; "
                         f"it tokenizes as {tokenizer.tokenize(word)}")
    return int(token_id)


def feature_tables(model_name: str, models: dict[str, ModelSourceConfig], model_dir: Path, dictionary_path: Path,
                   config: FeaturesConfig, max_active: int, output: Path) -> dict:
    """Appendix G: each word's top features in the embedding dictionary, each feature's most-activating tokens,
    and the word's nearest tokens by cosine similarity of the centred embeddings (Tables 1–3)."""
    from safetensors import safe_open

    loaded = load_model(model_name, models, model_dir)
    tokenizer = loaded.tokenizer
    with safe_open(str(dictionary_path), framework="pt") as handle:
        phi, mean = handle.get_tensor("phi"), handle.get_tensor("mean")
        lam, scale = float(handle.metadata()["lambda"]), float(handle.metadata()["scale"])
    centred = (token_embeddings(loaded.model) - mean) / scale
    codes = encode(centred[None], phi[None], torch.tensor([lam]), max_active)[0]  # (vocab, m)
    unit = centred / centred.norm(dim=1, keepdim=True).clamp_min(1e-12)
    tokens = tokenizer.convert_ids_to_tokens(list(range(centred.shape[0])))
    words = []
    for word in config.words:
        token_id = _single_token(tokenizer, word)
        coefficients = codes[token_id]
        top = torch.argsort(coefficients, descending=True)[:config.top_features]
        features = []
        for feature in top.tolist():
            if coefficients[feature] <= 0:
                break
            best = torch.argsort(codes[:, feature], descending=True)[:config.top_tokens]
            features.append({"feature": feature, "coefficient": float(coefficients[feature]),
                             "top_tokens": [tokens[i] for i in best.tolist() if codes[i, feature] > 0]})
        nearest = torch.argsort(unit @ unit[token_id], descending=True)[:config.nearest_tokens]
        words.append({"word": word, "token_id": token_id, "active_features": int((coefficients > 0).sum()),
                      "features": features, "nearest_tokens": [tokens[i] for i in nearest.tolist()]})
        log.info("%s: %d active features; top: %s", word, words[-1]["active_features"],
                 "; ".join(", ".join(f["top_tokens"][:5]) for f in features))
    payload = {"model": model_name, "lambda": lam, "words": words}
    atomic_write_json(output, payload)
    return payload
