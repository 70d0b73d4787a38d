"""Markdown of experiment `tms`'s report: this run's optimisation settings against the paper's."""

from __future__ import annotations

from typing import Any

from superposition.markdown import markdown_table
from superposition.tms.experiments import PARTS

__all__ = ["PAPER_TRAIN", "settings_markdown"]

# The paper's settings, as its code runs them (the same for all four experiments).
PAPER_TRAIN = {"batch_size": 1024, "lr": 0.001, "steps": 10000}


def settings_markdown(config: dict[str, Any]) -> str:
    """Batch size, lr and each part's steps beside the paper's, any deviation in words, and the optimiser."""
    settings = [(key, config["train"][key], PAPER_TRAIN[key]) for key in ("batch_size", "lr")]
    settings += [(f"steps, {part}", config[part]["steps"], PAPER_TRAIN["steps"]) for part in PARTS]
    deviations = [f"{name} = {ours} (paper {paper})" for name, ours, paper in settings if ours != paper]
    note = (f"**Deviation from the paper:** {'; '.join(deviations)}, to keep the default tier within minutes on a CPU; "
            "`configs/paper.yaml` uses the paper's values." if deviations else "Paper settings.")
    return (markdown_table(("setting", "this run", "paper (authors' code)"), settings) + "\n\n" + note
            + f" AdamW, constant learning rate, weight decay {config['train']['weight_decay']}.")
