"""Loading the outputs of `random_vs_trained` for the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from superposition.claims import read_claims
from superposition.io import read_json

__all__ = ["RVTResults", "load_results", "run_summary_markdown"]


@dataclass
class RVTResults:
    """Everything the report shows."""

    metrics: pd.DataFrame
    latents: pd.DataFrame
    summary: dict
    contexts: dict
    toy: pd.DataFrame
    claims: dict


def load_results(results_dir: Path | str) -> RVTResults:
    """Read metrics.csv, latents.csv, metrics.json, top_contexts.json, toy.csv and claims.json."""
    folder = Path(results_dir)
    return RVTResults(pd.read_csv(folder / "metrics.csv"), pd.read_csv(folder / "latents.csv"),
                      read_json(folder / "metrics.json"), read_json(folder / "top_contexts.json"),
                      pd.read_csv(folder / "toy.csv"), read_claims(folder / "claims.json"))


def run_summary_markdown(summary: dict) -> str:
    """One paragraph: what was trained, on what."""
    first = next(iter(summary["activations"].values()))
    config = summary["train_config"]
    return (f"**Run.** {len(summary['activations'])} TopK SAEs (one per variant and site) on `{first['model']}` "
            f"(d = {summary['summary']['d']}), J = {summary['summary']['n_latents']} latents, k = "
            f"{summary['summary']['k']}, {config['steps']} steps of {config['batch_size']} tokens "
            f"({config['steps'] * config['batch_size']:,} tokens per SAE), lr {config['lr']:g}.")
