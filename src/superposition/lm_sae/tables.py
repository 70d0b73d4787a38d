"""Markdown of experiment `lm_sae`'s report: what was cached and trained, and why claims may fail here."""

from __future__ import annotations

from typing import Any

from superposition.markdown import markdown_table

__all__ = ["run_summary_markdown", "dead_by_window_markdown"]


def run_summary_markdown(summary: dict[str, Any]) -> str:
    """The cached activations (model, site, tokens, weights hash) and the grid, steps and scaling, in a paragraph."""
    activations, train, numbers = summary["activations"], summary["train_config"], summary["summary"]
    return (
        f"**Activations:** model `{activations['model']}` ({activations['variant']}), site `{activations['site']}`, "
        f"d = {activations['d']}, {activations['token_count']:,} tokens cached (weights sha256 "
        f"`{activations['weights_sha256'][:12]}…`). **Grid:** {train['architecture']} SAEs, sparsity values (L1 "
        f"coefficients for relu_l1) ∈ {train['sparsities']}, J/d ∈ "
        f"{train['dict_ratios']}, {numbers['steps']} Adam steps of batch {train['batch_size']} at lr "
        f"{train['lr']}; activations scaled by {numbers['scale']:.4g} to mean norm {numbers['target_norm']}. "
        f"Dead latents: no activation in the last T = {numbers['dead_window']} training batches. "
        f"Held-out losses on {numbers['eval_tokens']:,} tokens of the last shard (never trained on).")


def dead_by_window_markdown(summary: dict[str, Any]) -> str:
    """The appendix table: dead latents over the whole grid for each window T (training batches without firing)."""
    counts = summary["summary"]["dead_by_window"]
    return markdown_table(("window T (batches)", "dead latents over the grid"), list(counts.items()))
