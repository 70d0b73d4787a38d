"""Markdown of experiment `lm_sae`'s report: what was cached and trained, and why claims may fail here."""

from __future__ import annotations

from typing import Any

from superposition.claims import failure_summary_markdown

__all__ = ["run_summary_markdown", "why_claims_fail_markdown"]

# Every failure of this experiment's claims in the default tier has the same cause: the scale of the run.
SCALE_CONTEXT = ("The default tier trains far smaller dictionaries (J ≤ 2d, the report's reach 100× its MLP width) "
                 "for far fewer steps on a different model and corpus, so these are comparisons at a small scale; "
                 "the paper tier (`configs/paper.yaml`) runs the report's grid.")


def run_summary_markdown(summary: dict[str, Any]) -> str:
    """The cached activations (model, site, tokens, weights hash) and the grid, steps and scaling, in a paragraph."""
    activations, train, numbers = summary["activations"], summary["train_config"], summary["summary"]
    return (
        f"**Activations:** model `{activations['model']}` ({activations['variant']}), site `{activations['site']}`, "
        f"d = {activations['d']}, {activations['token_count']:,} tokens cached (weights sha256 "
        f"`{activations['weights_sha256'][:12]}…`). **Grid:** L1 ∈ {train['l1_coefficients']}, J/d ∈ "
        f"{train['dict_ratios']}, {numbers['steps']} Adam steps of batch {train['batch_size']} at lr "
        f"{train['lr']}; activations scaled by {numbers['scale']:.4g} to mean norm {numbers['target_norm']}. "
        f"Dead latents: no activation in the last T = {numbers['dead_window']} training batches. "
        f"Held-out losses on {numbers['eval_tokens']:,} tokens of the last shard (never trained on).")


def why_claims_fail_markdown(claims: dict[str, Any]) -> str:
    """Each failed claim's measured value and the scale caveat ('' if none failed)."""
    return failure_summary_markdown(claims, SCALE_CONTEXT)
