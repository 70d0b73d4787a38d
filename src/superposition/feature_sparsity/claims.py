"""Claims of Deng, Tao & Benton (2023): metric verification (Figs 1, 4), token embeddings (Fig 2, App F) and
layers (Fig 3, App H). Thresholds are the issue's fixed rules, written from the paper's words."""

from __future__ import annotations

from pathlib import Path

from superposition.claims import Claim, untestable, write_claims
from superposition.feature_sparsity.synthetic import SEPARATION_ACTIVE
from superposition.io import read_json

PAPER = "Deng, Tao & Benton (2023), Measuring Feature Sparsity in Language Models"
TRACK_TOLERANCE = 0.30  # "closely approximate the true sparsity": within ±30 % of the true decomposition's value
TRACK_RANGE = (1.0, 10.0)  # the a/2 values the tracking claim covers ("for metric values less than 20")
GAUSSIAN_RATIO = 0.7  # "much lower than that for a Gaussian": at most 0.7× the Gaussian's normalized loss
EMBEDDING_VARIANCE = 0.90  # Appendix F: "over 90 % of the variance"
LAYER_VARIANCE = 0.98  # Appendix H: "at least 98 % of the variance"
CONTROLS = ("gaussian", "heavy_tailed", "rademacher")


def _sparse(rows: list[dict], active: tuple[float, ...] | None = None) -> list[dict]:
    return [r for r in rows if r["kind"] == "sparse_linear" and (active is None or r["active"] in active)]


def _tracking(rows: list[dict]) -> Claim:
    claim = dict(id="fig1a_tracks_true_sparsity",
                 statement="For metric values below about 20, the normalized loss and the average coefficient norm "
                           "closely approximate the true sparsity a/2 of sparse linear data.",
                 source="Section 3.1, Figure 1a", paper_value="S₁ ≈ L_norm ≈ a/2 below ~20",
                 rule=f"for every a with a/2 in [{TRACK_RANGE[0]:g}, {TRACK_RANGE[1]:g}]: S₁ and L_norm within "
                      f"±{TRACK_TOLERANCE:.0%} of the same metric under the true decomposition (the generator's "
                      "features and coefficients, at our λ)")
    tested = [r for r in _sparse(rows) if TRACK_RANGE[0] <= r["true_sparsity"] <= TRACK_RANGE[1]]
    if not tested:
        return untestable(claim, "no sparse linear dataset has a/2 in the range")
    if any(r.get("true_dictionary") is None for r in tested):
        return untestable(claim, "the results carry no true-decomposition reference (an older run)")
    measured, passed, old_rule = {}, True, True
    for r in tested:
        truth = r["true_dictionary"]
        measured[f"a/2={r['true_sparsity']:g}"] = {
            "s1": r["s1"], "normalized_loss": r["normalized_loss"], "s1_true_decomposition": truth["s1"],
            "normalized_loss_true_decomposition": truth["normalized_loss"]}
        passed &= all(abs(r[m] - truth[m]) <= TRACK_TOLERANCE * truth[m] for m in ("s1", "normalized_loss"))
        old_rule &= all(abs(r[m] - r["true_sparsity"]) <= TRACK_TOLERANCE * r["true_sparsity"]
                        for m in ("s1", "normalized_loss"))
    measured["earlier_rule_against_a_half"] = old_rule
    summary = "; ".join(f"a/2 {r['true_sparsity']:g}: S₁ {r['s1']:.2f} (true {r['true_dictionary']['s1']:.2f}), "
                        f"L_norm {r['normalized_loss']:.2f} (true {r['true_dictionary']['normalized_loss']:.2f})"
                        for r in tested)
    return Claim(**claim, measured=measured, measured_summary=summary, passed=passed,
                 note="Rule changed after an audit: the earlier rule compared with a/2 itself, which even the true "
                      "decomposition misses (S₁ ≈ 1.77 at a/2 = 1: the average sum over the average largest of a "
                      "few uniform(0, 1) coefficients); the paper's 'closely approximate' is read as agreeing with "
                      f"the metric's own value under the truth. Under the earlier rule: "
                      f"{'pass' if old_rule else 'fail'} (docs/experiments/feature_sparsity.md).")


def _n0_overestimates(rows: list[dict]) -> Claim:
    tested = _sparse(rows)
    summary = "; ".join(f"a/2 {r['true_sparsity']:g}: N0 {r['n0']:.1f}" for r in tested)
    return Claim(id="fig1a_n0_overestimates",
                 statement="The number of non-zero entries overestimates the true level of sparsity.",
                 source="Section 3.1, Figure 1a", paper_value="N0 > a/2", rule="N0 > a/2 at every tested a",
                 measured={f"a/2={r['true_sparsity']:g}": r["n0"] for r in tested}, measured_summary=summary,
                 passed=all(r["n0"] > r["true_sparsity"] for r in tested))


def _separation(rows: list[dict]) -> Claim:
    claim = dict(id="fig1b_separates_controls",
                 statement="The average coefficient norm and the normalized loss clearly distinguish the sparse "
                           "linear data from the Gaussian, heavy-tailed and Rademacher controls.",
                 source="Section 3.1, Figure 1b", paper_value="every sparse linear dataset below every control",
                 rule="for S₁ and for L_norm: max over the sparse linear datasets with a in {5, 10, 20} that were "
                      "run < min over the three controls")
    sparse = _sparse(rows, SEPARATION_ACTIVE)
    controls = [r for r in rows if r["kind"] in CONTROLS]
    if not sparse or not controls:
        return untestable(claim, "no sparse linear dataset with a in {5, 10, 20}, or no control")
    measured = {m: {"sparse_max": max(r[m] for r in sparse), "control_min": min(r[m] for r in controls)}
                for m in ("s1", "normalized_loss")}
    measured["active_tested"] = sorted(r["active"] for r in sparse)
    summary = "; ".join(f"{m}: sparse ≤ {v['sparse_max']:.2f}, controls ≥ {v['control_min']:.2f}"
                        for m, v in measured.items() if m != "active_tested")
    return Claim(**claim, measured=measured, measured_summary=summary,
                 passed=all(measured[m]["sparse_max"] < measured[m]["control_min"] for m in ("s1", "normalized_loss")))


def _negative_result(rows: list[dict]) -> Claim:
    claim = dict(id="fig4_n0_and_loss_fail",
                 statement="Non-zero entries fail to distinguish the heavy-tailed data from sparse linear data, and "
                           "the final loss fails to distinguish the Gaussian data (all datasets scaled to mean 0, "
                           "average L2 norm 1).",
                 source="Appendix D, Figure 4", paper_value="no separation for these two pairs",
                 rule="N0 of the heavy-tailed control ≤ the largest N0 of the sparse linear datasets (a in {5, 10, "
                      "20}), and the final loss of the Gaussian control ≤ the largest final loss of those datasets")
    sparse = _sparse(rows, SEPARATION_ACTIVE)
    by_kind = {r["kind"]: r for r in rows}
    if not sparse or "heavy_tailed" not in by_kind or "gaussian" not in by_kind:
        return untestable(claim, "no sparse linear dataset with a in {5, 10, 20}, or a control is missing")
    n0_max, loss_max = max(r["n0"] for r in sparse), max(r["final_loss"] for r in sparse)
    heavy, gauss = by_kind["heavy_tailed"]["n0"], by_kind["gaussian"]["final_loss"]
    return Claim(**claim,
                 measured={"heavy_tailed_n0": heavy, "sparse_n0_max": n0_max, "gaussian_final_loss": gauss,
                           "sparse_final_loss_max": loss_max, "active_tested": sorted(r["active"] for r in sparse)},
                 measured_summary=f"N0 heavy-tailed {heavy:.1f} vs sparse max {n0_max:.1f}; L Gaussian {gauss:.4f} "
                                  f"vs sparse max {loss_max:.4f}",
                 passed=heavy <= n0_max and gauss <= loss_max)


def _embeddings_sparse(embeddings: list[dict]) -> Claim:
    measured = {}
    for payload in embeddings:
        rows = {r["dataset"]: r for r in payload["rows"]}
        measured[payload["model"]] = {"d": payload["d"], "embeddings": rows["embeddings"]["normalized_loss"],
                                      "gaussian": rows["gaussian"]["normalized_loss"]}
    summary = "; ".join(f"{m} (d {v['d']}): {v['embeddings']:.2f} vs Gaussian {v['gaussian']:.2f}"
                        for m, v in measured.items())
    return Claim(id="fig2_embeddings_below_gaussian",
                 statement="For all models the normalized loss of the token embeddings is much lower than that for a "
                           "Gaussian distribution of the same size.",
                 source="Section 4.1, Figure 2", paper_value="well below the Gaussian reference",
                 rule=f"every model: L_norm(embeddings) ≤ {GAUSSIAN_RATIO} × L_norm(Gaussian of the same n, d)",
                 measured=measured, measured_summary=summary,
                 passed=all(v["embeddings"] <= GAUSSIAN_RATIO * v["gaussian"] for v in measured.values()))


def _u_shape(layers: list[dict]) -> Claim:
    claim = dict(id="fig3_u_shape",
                 statement="The embedding layer is the most sparse, sparsity first decreases with depth, then "
                           "increases again in the last layers.",
                 source="Section 4.2, Figure 3a", paper_value="U-shaped normalized loss over depth",
                 rule="per model: L_norm(embedding layer) < min L_norm(middle layers) and L_norm(last layer) < "
                      "min L_norm(middle layers)")
    measured, verdicts = {}, []
    for payload in layers:
        values = [r["normalized_loss"] for r in payload["rows"]]
        if len(values) < 3:
            continue
        middle = min(values[1:-1])
        measured[payload["model"]] = {r["site"]: r["normalized_loss"] for r in payload["rows"]}
        verdicts.append(values[0] < middle and values[-1] < middle)
    if not verdicts:
        return untestable(claim, "no model with a middle layer")
    summary = "; ".join(f"{model}: " + " → ".join(f"{v:.2f}" for v in sites.values())
                        for model, sites in measured.items())
    return Claim(**claim, measured=measured, measured_summary=summary, passed=all(verdicts))


def _variance(embeddings: list[dict], layers: list[dict]) -> Claim:
    embedding_ve = {p["model"]: next(r for r in p["rows"] if r["dataset"] == "embeddings")["variance_explained"]
                    for p in embeddings}
    layer_ve = {p["model"]: min(r["variance_explained"] for r in p["rows"]) for p in layers}
    summary = ("embeddings: " + ", ".join(f"{m} {v:.3f}" for m, v in embedding_ve.items())
               + "; layers (min): " + ", ".join(f"{m} {v:.4f}" for m, v in layer_ve.items()))
    return Claim(id="appendix_fh_variance_explained",
                 statement="The decomposition explains over 90 % of the variance of the token embeddings (all "
                           "models) and at least 98 % for all models and layers.",
                 source="Appendices F and H, Figure 3b", paper_value="> 90 % (embeddings); ≥ 98 % (layers)",
                 rule=f"embeddings ≥ {EMBEDDING_VARIANCE:.0%} per model; every layer ≥ {LAYER_VARIANCE:.0%}",
                 measured={"embeddings": embedding_ve, "layers_min": layer_ve}, measured_summary=summary,
                 passed=all(v >= EMBEDDING_VARIANCE for v in embedding_ve.values())
                 and all(v >= LAYER_VARIANCE for v in layer_ve.values()),
                 note="the layer decomposition λ is chosen (largest candidate) to reach 98 %, as the paper chose it")


# The paper's scale of the synthetic experiments (Section 3.1, Appendix D) and of its layer models.
PAPER_D, PAPER_SAMPLES = 256, 16_384
PAPER_LAYER_MODELS = "BERT Tiny, Mini, Small and Medium"


def _synthetic_scale(synthetic_main: dict) -> str:
    """What of the main synthetic setting is below the paper's scale ('' if nothing)."""
    below = []
    if synthetic_main["d"] < PAPER_D:
        below.append(f"d = {synthetic_main['d']} (paper: {PAPER_D})")
    if synthetic_main["n_samples"] < PAPER_SAMPLES:
        below.append(f"n = {synthetic_main['n_samples']:,} (paper: {PAPER_SAMPLES:,})")
    return ", ".join(below)


def separation_evidence(check: dict | None, synthetic_main: dict) -> tuple[str, str]:
    """(diagnosis, evidence) of a failed separation, from the appendix's separation check and the run's d."""
    if not check or not check.get("runs"):
        return "open", ("The appendix separation check did not run in this tier; it decides whether the "
                        "initialisation of Φ or the number of samples of the heavy-tailed control matter.")
    runs = {(r["variant"], r["dataset"]): r for r in check["runs"]}
    sparse = runs[("random_unit_init", f"sparse_a{check['active']:g}")]
    heavy_init, heavy_large = runs[("random_unit_init", "heavy_tailed")], runs[("large_heavy_tailed", "heavy_tailed")]
    text = (f"Appendix (separation check): with Φ started from random unit vectors, a = {check['active']:g} "
            f"scores S₁ {sparse['s1']:.2f} / L_norm {sparse['normalized_loss']:.2f} against the heavy-tailed "
            f"control's {heavy_init['s1']:.2f} / {heavy_init['normalized_loss']:.2f}; the heavy-tailed control with "
            f"{heavy_large['n_samples']:,} samples scores {heavy_large['s1']:.2f} / "
            f"{heavy_large['normalized_loss']:.2f}.")
    by_init = sparse["s1"] < heavy_init["s1"] and sparse["normalized_loss"] < heavy_init["normalized_loss"]
    if by_init:
        return "open", (text + " The pair separates when Φ starts from random unit vectors: the verdict depends on "
                        "the initialisation, which the paper does not specify (its code would decide it; it is not "
                        "public).")
    if synthetic_main["d"] < PAPER_D:
        return "scale_limited", (text + f" Neither the initialisation nor the paper's number of samples separates "
                                 f"the pair. This tier's d = {synthetic_main['d']} (paper: {PAPER_D}) makes a = "
                                 f"{check['active']:g} a large share of the dimensions, where the paper itself finds "
                                 "its metrics 'less able to separate data with a = 20 and non-sparse data' (Appendix "
                                 "E, Fig 7, d = 64); the paper tier runs d = 256.")
    return "non_replication", (text + " Neither the initialisation nor the paper's number of samples separates "
                               "the pair at the paper's d: with the method as specified, the heavy-tailed control "
                               "scores below the sparsest data it should stand above.")


# Claims about language models, measured here on offline stand-ins, and the figure that shows each.
LANGUAGE_MODEL_CLAIMS = {"fig2_embeddings_below_gaussian": "embeddings figure", "fig3_u_shape": "layers figure",
                         "appendix_fh_variance_explained": "variance-explained figure"}


def diagnose(claim: Claim, synthetic_main: dict, check: dict | None, layers: list[dict],
             embeddings: list[dict]) -> Claim:
    """A failed claim's diagnosis, from the run's own scale and the appendix experiments."""
    if claim.id == "fig1b_separates_controls":
        return claim.diagnosed(*separation_evidence(check, synthetic_main))
    if claim.id in LANGUAGE_MODEL_CLAIMS:
        models = ", ".join(sorted({p["model"] for p in layers} | {p["model"] for p in embeddings}))
        return claim.diagnosed("open", f"Measured on {models} ({LANGUAGE_MODEL_CLAIMS[claim.id]}): stand-ins for "
                                       f"the paper's {PAPER_LAYER_MODELS} (and its TinyStories and GPT models), whose "
                                       "weights are online only. The paper tier (`configs/paper.yaml`, hub access) "
                                       "measures the BERTs and decides it.")
    below = _synthetic_scale(synthetic_main) if claim.id.startswith(("fig1", "fig4")) else ""
    if below:
        return claim.diagnosed("scale_limited", f"This tier runs {below}; the figures of Section 3.1 in the "
                                                "report show every dataset's metrics.")
    return claim.diagnosed("open", "It fails at the paper's scale of the synthetic data; no experiment here explains "
                                   "it yet.")


def feature_sparsity_claims(synthetic_main: dict, embeddings: list[dict], layers: list[dict],
                            separation_check: dict | None = None) -> list[Claim]:
    """The seven claims, from the main synthetic setting, every model's embeddings and every model's layers; a
    failure's diagnosis also reads the appendix separation check."""
    rows = synthetic_main["rows"]
    claims = [_tracking(rows), _n0_overestimates(rows), _separation(rows), _negative_result(rows),
              _embeddings_sparse(embeddings), _u_shape(layers), _variance(embeddings, layers)]
    return [diagnose(c, synthetic_main, separation_check, layers, embeddings) if c.passed is False else c
            for c in claims]


def write_feature_sparsity_claims(synthetic_main: Path | str, embeddings: list[Path | str],
                                  layers: list[Path | str], separation_check: Path | str,
                                  output: Path | str) -> list[Claim]:
    """Read the results files, test the claims and write ``claims.json``."""
    claims = feature_sparsity_claims(read_json(synthetic_main), [read_json(p) for p in embeddings],
                                     [read_json(p) for p in layers], read_json(separation_check))
    write_claims(output, "feature_sparsity", PAPER, claims)
    return claims
