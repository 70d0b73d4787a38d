"""Markdown of experiment `feature_sparsity`'s report: settings, per-dataset metrics, feature tables, failures.

Every function takes the loaded payloads of :mod:`superposition.feature_sparsity.results` and returns Markdown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from superposition.feature_sparsity.results import sparse_rows
from superposition.markdown import frame_markdown, markdown_table

__all__ = [
    "settings_markdown",
    "synthetic_datasets_markdown",
    "embeddings_markdown",
    "layers_markdown",
    "feature_tables_markdown",
    "separation_check_markdown",
]


def settings_markdown(synthetic: dict[str, dict[str, Any]], embeddings: list[dict[str, Any]],
                      layers: list[dict[str, Any]], features: dict[str, Any]) -> str:
    """Each synthetic setting's sizes against the paper's, then the embedding models, layer models and features."""
    settings = pd.DataFrame([{
        "setting": name, "paper figure": p["figure"], "d": p["d"],
        "dictionary": f"{p['dict_ratio']}d = {p['dict_ratio'] * p['d']}", "σ": p["sigma"],
        "ground-truth features": f"{p['features_per_dim']}d", "samples n": p["n_samples"],
        "a": ", ".join(f"{r['active']:g}" for r in sparse_rows(p))} for name, p in synthetic.items()])
    embedding_models = ", ".join(
        f"`{p['model']}` (d = {p['d']}, vocabulary {p['vocab']:,}, dictionary {p['dict_size']:,})" for p in embeddings)
    layer_models = ", ".join(
        f"`{p['model']}` (d = {p['d']}, {len(p['rows'])} depths, dictionary {p['dict_size']:,}, {p['n_tokens']:,} "
        f"tokens, λ {p['train_lambda']:g} in training and {p['decompose_lambda']:g} to decompose)" for p in layers)
    return ("**Synthetic settings run here** (the paper's main setting, Section 3.1 and Appendix D: d = 256, "
            "dictionary 8d, σ = 0.1, 4d ground-truth features, n = 16,384; every dataset is centred and scaled to "
            "average L2 norm 1):\n\n" + frame_markdown(settings, {"σ": "{:g}"})
            + f"\n\n**Token embeddings:** {embedding_models or 'none'}.  \n**Layers:** {layer_models or 'none'}.  \n"
            f"**Feature tables:** `{features['model']}` (λ = {features['lambda']:.3g}).")


def synthetic_datasets_markdown(synthetic: dict[str, dict[str, Any]]) -> str:
    """Every synthetic dataset's metrics, λ and how often the coder hit its cap, after a legend of the columns."""
    frame = pd.DataFrame([{
        "setting": name, "dataset": r["dataset"], "a/2": r["true_sparsity"], "N₀": r["n0"], "L": r["final_loss"],
        "S₁": r["s1"], "L_norm": r["normalized_loss"], "VE": r["variance_explained"], "λ": r["lambda"],
        "λ rounds": len(r.get("lambda_history") or []), "at max active": r.get("hit_max_active")}
        for name, payload in synthetic.items() for r in payload["rows"]])
    return ("N₀ non-zero entries, L final loss, S₁ average coefficient norm, L_norm normalized loss, VE variance "
            "explained, λ the adaptive penalty after its rounds (λ ≈ 0.1 × average max coefficient, Appendix C); "
            "*at max active*: the fraction of samples whose greedy code hit the coder's cap on active features.\n\n"
            + frame_markdown(frame, {"a/2": "{:g}", "VE": "{:.4f}", "λ": "{:.3g}", "at max active": "{:.3f}"}))


def embeddings_markdown(embeddings: list[dict[str, Any]]) -> str:
    """Each model's embeddings and Gaussian: L_norm, S₁, N₀, variance explained and λ."""
    frame = pd.DataFrame([{
        "model": p["model"], "d": p["d"], "vocabulary": p["vocab"], "dictionary": p["dict_size"], "data": r["dataset"],
        "L_norm": r["normalized_loss"], "S₁": r["s1"], "N₀": r["n0"], "VE": r["variance_explained"], "λ": r["lambda"]}
        for p in embeddings for r in p["rows"]])
    return ("Variance explained (VE) by the decomposition; Appendix F: over 90 % for the embeddings of every model.\n\n"
            + (frame_markdown(frame, {"VE": "{:.4f}"}) if len(frame) else "no embedding results"))


def layers_markdown(layers: list[dict[str, Any]]) -> str:
    """Every layer's metrics, then each model's candidate decomposition λ and the one chosen."""
    frame = pd.DataFrame([{
        "model": p["model"], "site": r["site"], "depth": r["depth"], "L_norm": r["normalized_loss"], "S₁": r["s1"],
        "N₀": r["n0"], "VE": r["variance_explained"], "λ": r["lambda"]} for p in layers for r in p["rows"]])
    candidates = pd.DataFrame([{
        "model": p["model"], "decomposition λ": c["lambda"], "min VE": min(c["variance_explained"]),
        "max VE": max(c["variance_explained"]), "chosen": "✓" if c["lambda"] == p["decompose_lambda"] else ""}
        for p in layers for c in p["candidates"]])
    missed = [p["model"] for p in layers if not p["reached_target"]]
    return ((frame_markdown(frame, {"VE": "{:.4f}", "depth": "{}"}) if len(frame) else "no layer results")
            + "\n\n**Decomposition λ.** Trying the candidates from the largest, the first whose decomposition explains "
              "the target variance on every layer is used (as the paper chose one λ per model to explain ≥ 98 %):\n\n"
            + (frame_markdown(candidates, {"min VE": "{:.4f}", "max VE": "{:.4f}"}) if len(candidates) else "—")
            + ("\n\n**Not reached** for " + ", ".join(f"`{m}`" for m in missed) + ": the smallest candidate λ is used."
               if missed else ""))


def _tokens(words: Iterable[Any]) -> str:
    """Tokens as one Markdown code span (backticks inside would end it early); '—' for none."""
    text = ", ".join(str(w) for w in words).replace("`", "'")
    return f"`{text}`" if text else "—"


def feature_tables_markdown(features: dict[str, Any]) -> str:
    """Tables 1–3: each word's top features with their max-activating tokens, then every word's nearest tokens."""
    parts = [f"Model `{features['model']}`, decomposition λ = {features['lambda']:.3g}."]
    for number, word in enumerate(features["words"], start=1):
        rows = [(f["feature"], f"{f['coefficient']:.3g}", _tokens(f["top_tokens"])) for f in word["features"]]
        parts.append(f"**Table {number}: top features of `{word['word']}`** (token id {word['token_id']}, "
                     f"{word['active_features']} active features)\n\n"
                     + markdown_table(("feature", "coefficient", "max-activating tokens"),
                                      rows or [("—", "—", "no active feature")]))
    nearest = [(f"`{word['word']}`", _tokens(word["nearest_tokens"])) for word in features["words"]]
    parts.append(f"**Table {len(features['words']) + 1}: nearest tokens in embedding space** (cosine similarity of "
                 "the centred embeddings)\n\n" + markdown_table(("token", "closest embeddings"), nearest))
    return "\n\n".join(parts)


def separation_check_markdown(check: dict[str, Any]) -> str:
    """The appendix experiment on Fig 1b's hardest pair, as a table ('' when the tier has no such pair)."""
    if not check.get("runs"):
        return ""
    variants = {"random_unit_init": "Φ from random unit vectors",
                "large_heavy_tailed": "main run's initialisation, more samples"}
    rows = [(variants[r["variant"]], r["dataset"].replace("_", " "), f"{r['n_samples']:,}", f"{r['s1']:.3g}",
             f"{r['normalized_loss']:.3g}") for r in check["runs"]]
    return markdown_table(("variant", "dataset", "samples", "S₁", "L_norm"), rows)
