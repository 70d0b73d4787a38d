"""Diagnoses of failing claims: what in this run's results explains a failure, and which run would decide it.

Each diagnosis names its kind (superposition.claims.DIAGNOSES) and evidence drawn from the measured results, so
the text stays true whatever the numbers are.
"""

from __future__ import annotations

from superposition.claims import Claim

__all__ = ["diagnose"]

_SCALE = ("this run trains a {model} family ({site}, d = {d}, {sizes} latents, {steps} steps), where the paper "
          "used GPT-2 small (d = 768) SAEs of 768-49,152 latents trained on ~10^8-10^9 tokens; the paper tier "
          "(configs/paper.yaml) runs the paper's model and sizes through the same code")


def _scale(summary: dict) -> str:
    activations = summary["activations"]
    return _SCALE.format(model=activations["model"], site=activations["site"], d=activations["d"],
                         sizes="-".join(str(s) for s in summary["dict_sizes"]), steps=summary["steps"])


def diagnose(claim: Claim, summary: dict, meta: dict, toy: dict) -> Claim:
    """``claim`` with a diagnosis and evidence if it failed (unchanged otherwise)."""
    if claim.passed is not False:
        return claim
    scale = _scale(summary)
    if claim.id == "novel_fraction":
        return claim.diagnosed("scale_limited", f"figure max_cosine: the share of novel latents depends on how far "
                               f"the family's SAEs have converged and on the width ratio; {scale}.")
    if claim.id in ("novel_inserts_lower_mse", "reconstruction_inserts_raise_mse"):
        return claim.diagnosed("open", "figure delta_mse: the insertion ΔMSE of each class per pair; not decided "
                               f"whether the family's short training or the model is the cause; {scale}.")
    if claim.id == "path_monotone":
        kinds = {f"{p['small']}→{p['large']}": p.get("path_rises_by_kind", {}) for p in summary["pairs"]}
        return claim.diagnosed("open", f"figure stitching_path and path.csv: the rising steps by kind {kinds} "
                               "(removed = a smaller-SAE latent with no counterpart above θ, taken out so that the "
                               "path ends at the larger SAE; the paper does not say how it treats them); " + scale + ".")
    if claim.id == "meta_fve_value":
        return claim.diagnosed("scale_limited", f"figure meta_fve: {meta['latents']} decoder directions in d = {summary['activations']['d']} "
                               f"decomposed by {meta['meta_latents']} meta-latents (paper: 49,152 directions in "
                               f"d = 768 by 2,304); how much a meta-SAE explains depends on how many latents share "
                               f"structure, which grows with the SAE's width; {scale}.")
    if claim.id in ("meta_fve_vs_random", "meta_latents_match_smaller_saes"):
        return claim.diagnosed("open", f"figures meta_fve and meta_matches; {scale}.")
    if claim.id == "toy_small_atomic_large_composed":
        return claim.diagnosed("non_replication", "figure toy_directions and toy.json: trained by gradient descent "
                               "with one L1 coefficient for both sizes, the larger SAE learns the atomic directions "
                               "at small α and only partly the compositions at larger α, where the small SAE no "
                               "longer reconstructs; the paper's Figure 2 is an illustration of what the sparsity "
                               "penalty prefers, not a trained result.")
    if claim.id == "toy_meta_recovers_atomic":
        return claim.diagnosed("open", "figure toy_directions: the meta-SAE can only recover the atomic directions "
                               "from a decoder that holds the compositions; see the large SAE's composed MMCS in the "
                               "measured value.")
    return claim.diagnosed("open", "not yet diagnosed: see the report")
