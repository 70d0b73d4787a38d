"""Claims of Leask, Bussmann et al. (2025), each with the paper's statement, its source and a fixed rule.

Thresholds are named constants beside the sentence they test, fixed before the first run of this experiment.
Failures carry a diagnosis (superposition.claims) whose evidence names the figure or table that supports it.
"""

from __future__ import annotations

from pathlib import Path

from superposition.claims import Claim, write_claims
from superposition.io import read_json
from superposition.stitching.stitch import RISE_SIGMAS

__all__ = ["PAPER", "stitching_claims", "write_stitching_claims"]

PAPER = ("Leask, Bussmann, Pearce, Bloom, Tigges, Al Moubayed, Sharkey & Nanda (2025), Sparse autoencoders do not "
         "find canonical units of analysis")
NOVEL_MIN, NOVEL_MAX = 0.05, 0.95  # "a non-trivial fraction": neither almost none nor almost all
MOST = 0.5  # "most novel latents"
PATH_RISE_FRACTION = 0.05  # at most 5 % of a path's steps may rise beyond noise (stitch.RISE_SIGMAS)
FVE_RATIO, FVE_MARGIN = 2.0, 0.2  # "far more variance than on random directions": ≥ 2× and ≥ 20 points more
PAPER_FVE, FVE_BAND = 0.5547, 0.15  # the paper's 55.47 %, within 15 points
MATCH_MARGIN = 0.1  # meta-latents' mean best cosine with a smaller SAE exceeds chance by at least this
TOY_MMCS = 0.9  # "learns the directions": MMCS ≥ 0.9


def _pairs(summary: dict) -> list[dict]:
    return summary["pairs"]


def _name(pair: dict) -> str:
    return f"{pair['small']}→{pair['large']}"


def _novel_fraction(summary: dict) -> Claim:
    values = {_name(p): p["fraction_novel"] for p in _pairs(summary)}
    return Claim(
        id="novel_fraction",
        statement="Latents of the larger SAE are either novel (no similar decoder direction in the smaller SAE) or "
                  "reconstruction latents; a substantial share are novel, so smaller SAEs are incomplete.",
        source="Section 3 (SAE stitching); the authors' stitching post: about 35 % novel",
        paper_value="about 35 % novel between GPT-2 SAEs of 768 and 1536 latents",
        rule=f"in every adjacent pair, {NOVEL_MIN:.0%} ≤ fraction of novel latents (max cosine ≤ θ) ≤ {NOVEL_MAX:.0%}",
        measured=values, measured_summary=", ".join(f"{k}: {v:.1%}" for k, v in values.items()),
        passed=all(NOVEL_MIN <= v <= NOVEL_MAX for v in values.values()))


def _novel_inserts(summary: dict) -> Claim:
    values = {_name(p): p["novel_inserts_lowering_mse"] for p in _pairs(summary)}
    return Claim(
        id="novel_inserts_lower_mse",
        statement="Novel latents improve performance when added to the smaller SAE.",
        source="Section 3, insertion experiment", paper_value="inserting a novel latent lowers the MSE",
        rule=f"in every pair, more than {MOST:.0%} of novel latents have insertion ΔMSE < 0",
        measured=values, measured_summary=", ".join(f"{k}: {v:.1%}" if v is not None else f"{k}: no novel"
                                                    for k, v in values.items()),
        passed=all(v is not None and v > MOST for v in values.values()))


def _reconstruction_inserts(summary: dict) -> Claim:
    values = {_name(p): {"median_reconstruction": p["median_insertion_delta_reconstruction"],
                         "median_novel": p["median_insertion_delta_novel"]} for p in _pairs(summary)}
    return Claim(
        id="reconstruction_inserts_raise_mse",
        statement="Reconstruction latents, inserted alone into the smaller SAE, degrade its performance (they "
                  "duplicate what the smaller SAE already reconstructs), unlike novel latents.",
        source="Section 3; the workshop version's abstract", paper_value="inserting a reconstruction latent raises the MSE",
        rule="in every pair, the median insertion ΔMSE of reconstruction latents is > 0 and above the novel latents'",
        measured=values,
        measured_summary=", ".join(f"{k}: {v['median_reconstruction']:+.2e} vs novel {v['median_novel']:+.2e}"
                                   if None not in v.values() else f"{k}: a class is empty" for k, v in values.items()),
        passed=all(None not in v.values() and v["median_reconstruction"] > 0
                   and v["median_reconstruction"] > v["median_novel"] for v in values.values()))


def _path(summary: dict) -> Claim:
    values = {_name(p): {"significant_rises": p["path_significant_rises"], "steps": p["path_steps"],
                         "start": p["small_mse"], "end": p["path_end_mse"], "total_rise": p["path_total_rise"],
                         "total_fall": p["path_total_fall"]} for p in _pairs(summary)}
    return Claim(
        id="path_monotone",
        statement="SAE stitching interpolates between SAE sizes with monotonically decreasing reconstruction error.",
        source="Section 3 (stitching path figure); workshop abstract",
        paper_value="MSE falls monotonically from the smaller to the larger SAE",
        rule=f"in every pair, at most {PATH_RISE_FRACTION:.0%} of the path's steps raise the MSE by more than "
             f"{RISE_SIGMAS:g} standard errors of that step",
        measured=values,
        measured_summary=", ".join(f"{k}: {v['significant_rises']}/{v['steps']} rising steps" for k, v in values.items()),
        passed=all(v["significant_rises"] <= PATH_RISE_FRACTION * v["steps"] for v in values.values()))


def _meta_vs_random(meta: dict) -> Claim:
    return Claim(
        id="meta_fve_vs_random",
        statement="Meta-SAEs find sparse decompositions of decoder directions: they explain far more of their "
                  "variance than the same meta-SAE explains of random directions.",
        source="Section 4 (meta-SAEs)", paper_value="55.47 % of the variance (random directions: not reported)",
        rule=f"FVE ≥ {FVE_RATIO:g} × FVE on random unit vectors and ≥ it + {FVE_MARGIN:g}",
        measured={"fve": meta["fve"], "random_fve": meta["random_fve"]},
        measured_summary=f"FVE {meta['fve']:.1%} vs random {meta['random_fve']:.1%}",
        passed=meta["fve"] >= FVE_RATIO * meta["random_fve"] and meta["fve"] >= meta["random_fve"] + FVE_MARGIN)


def _meta_value(meta: dict) -> Claim:
    return Claim(
        id="meta_fve_value",
        statement="The meta-SAE (k = 4, about 1/21 as many meta-latents as latents) explains 55.47 % of the variance "
                  "of the decoder directions.",
        source="Section 4", paper_value=f"{PAPER_FVE:.2%}",
        rule=f"|FVE − {PAPER_FVE}| ≤ {FVE_BAND}",
        measured={"fve": meta["fve"], "l0": meta["l0"], "meta_latents": meta["meta_latents"]},
        measured_summary=f"FVE {meta['fve']:.1%} (L0 {meta['l0']:.2f}, {meta['meta_latents']} meta-latents)",
        passed=abs(meta["fve"] - PAPER_FVE) <= FVE_BAND)


def _meta_matches(meta: dict) -> Claim:
    values = {str(m["dict_size"]): {"meta": m["meta_mean"], "chance": m["chance_mean"],
                                    "random_meta": m["random_meta_mean"]} for m in meta["matches"]}
    return Claim(
        id="meta_latents_match_smaller_saes",
        statement="Meta-latents are similar to latents of smaller SAEs: larger-SAE latents can be read as "
                  "compositions of smaller-SAE latents.",
        source="Section 4 (comparison of meta-latents with smaller SAEs)",
        paper_value="meta-latents resemble smaller SAEs' latents (high best cosine)",
        rule=f"for every smaller SAE, the meta-latents' mean best cosine with its latents ≥ that of as many random unit "
             f"vectors + {MATCH_MARGIN}",
        measured=values,
        measured_summary=", ".join(f"{k}: {v['meta']:.2f} vs chance {v['chance']:.2f}" for k, v in values.items()),
        passed=bool(values) and all(v["meta"] >= v["chance"] + MATCH_MARGIN for v in values.values()))


def _toy_composition(toy: dict) -> Claim:
    small = {e["l1"]: e for e in toy["saes"] if e["role"] == "small"}
    large = {e["l1"]: e for e in toy["saes"] if e["role"] == "large"}
    values = {str(a): {"small_atomic": small[a]["mmcs_atomic"], "large_composed": large[a]["mmcs_composed"],
                       "large_atomic": large[a]["mmcs_atomic"]} for a in small}
    return Claim(
        id="toy_small_atomic_large_composed",
        statement="With the same sparsity penalty, the small SAE (6 latents) learns the 6 atomic colour and shape "
                  "directions, the larger SAE (9 latents) the 9 colour-shape compositions, because that is sparser.",
        source="Figure 2 and Section 1", paper_value="small: atomic; large: compositions",
        rule=f"at some α of the grid, the small SAE's MMCS with the atomic directions ≥ {TOY_MMCS} and the large "
             f"SAE's MMCS with the compositions ≥ {TOY_MMCS}",
        measured=values,
        measured_summary="; ".join(f"α {k}: small atomic {v['small_atomic']:.2f}, large composed "
                                   f"{v['large_composed']:.2f} (atomic {v['large_atomic']:.2f})" for k, v in values.items()),
        passed=any(v["small_atomic"] >= TOY_MMCS and v["large_composed"] >= TOY_MMCS for v in values.values()))


def _toy_meta(toy: dict) -> Claim:
    large = [e for e in toy["saes"] if e["role"] == "large"]
    best = max(large, key=lambda e: (e["mmcs_composed"], -e["l1"]))
    control = toy["meta_on_compositions"]  # reported beside the rule; the diagnosis reads it
    return Claim(
        id="toy_meta_recovers_atomic",
        statement="A meta-SAE trained on the composed latents' decoder directions recovers the atomic directions.",
        source="Section 4 (meta-SAEs undo composition), on the Figure 2 toy",
        paper_value="meta-latents = the atomic colour and shape directions",
        rule=f"on the large SAE at the α where its MMCS with the compositions is highest, the meta-SAE's MMCS with "
             f"the atomic directions ≥ {TOY_MMCS}",
        measured={"l1": best["l1"], "large_mmcs_composed": best["mmcs_composed"],
                  "meta_mmcs_atomic": best["meta"]["mmcs_atomic"], "meta_fve": best["meta"]["fve"],
                  "control_meta_mmcs_atomic": control["mmcs_atomic"], "control_meta_fve": control["fve"],
                  "control_meta_l0": control["l0"]},
        measured_summary=f"α {best['l1']:g}: meta MMCS atomic {best['meta']['mmcs_atomic']:.2f} (large SAE's "
                         f"composed MMCS {best['mmcs_composed']:.2f}); control, the same meta-SAE on the exact "
                         f"compositions: MMCS atomic {control['mmcs_atomic']:.2f} (FVE {control['fve']:.2f})",
        passed=best["meta"]["mmcs_atomic"] >= TOY_MMCS)


def stitching_claims(summary: dict, meta: dict, toy: dict) -> list[Claim]:
    """Every claim, diagnosed where it fails (see :mod:`superposition.stitching.diagnosis`)."""
    from superposition.stitching.diagnosis import diagnose

    claims = [_novel_fraction(summary), _novel_inserts(summary), _reconstruction_inserts(summary), _path(summary),
              _meta_vs_random(meta), _meta_value(meta), _meta_matches(meta), _toy_composition(toy), _toy_meta(toy)]
    return [diagnose(claim, summary, meta, toy) for claim in claims]


def write_stitching_claims(summary_json: Path, meta_json: Path, toy_json: Path, output: Path) -> list[Claim]:
    """Read the three stages' JSON, write ``claims.json``."""
    claims = stitching_claims(read_json(summary_json), read_json(meta_json), read_json(toy_json))
    write_claims(output, "stitching", PAPER, claims)
    return claims
