"""What a configured model looks like, read without loading it: site names and, where the model's
``config.json`` is on this machine, its depth and widths. Config loading uses this to refuse layers and sites a
model does not have before any job runs (``torch`` is not imported here: the Snakefile parses quickly).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from dataclasses import dataclass
from pathlib import Path

from superposition.config import ConfigError

__all__ = ["SITE_PATTERN", "ArchitectureSummary", "local_architecture", "check_site", "site_width"]

SITE_PATTERN = re.compile(r"^(embeddings|resid\.(\d+)|mlp\.(\d+))$")


@dataclass(frozen=True)
class ArchitectureSummary:
    """Depth and widths of a transformer, from its Hugging Face ``config.json``."""

    model_type: str
    n_layers: int
    hidden: int
    mlp: int

    def sites(self) -> list[str]:
        layers = range(self.n_layers)
        return ["embeddings", *(f"resid.{i}" for i in layers), *(f"mlp.{i}" for i in layers)]


def _summary(config_json: Path) -> ArchitectureSummary | None:
    try:
        config = json.loads(config_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    hidden = config.get("hidden_size", config.get("n_embd"))
    layers = config.get("num_hidden_layers", config.get("n_layer"))
    if hidden is None or layers is None:
        return None
    mlp = config.get("intermediate_size") or config.get("n_inner") or 4 * hidden
    return ArchitectureSummary(config.get("model_type", "?"), int(layers), int(hidden), int(mlp))


def local_architecture(source) -> ArchitectureSummary | None:
    """The summary of a model source (``ModelSourceConfig``) if its config.json is on this machine, else None
    (ONNX and zip sources before preparation, hub models not in the local cache): then the job checks."""
    try:
        if source.kind == "package" and source.package and source.path:
            folder = Path(str(importlib.metadata.distribution(source.package).locate_file(source.path)))
        elif source.kind == "folder" and source.path:
            folder = Path(source.path)
        elif source.kind == "hub" and source.hub_id:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(source.hub_id, "config.json", revision=source.revision)
            return _summary(Path(cached)) if isinstance(cached, str) else None
        else:
            return None
    except importlib.metadata.PackageNotFoundError:
        return None  # the job names the missing package and its install command
    return _summary(folder / "config.json")


def check_site(key: str, model: str, site: str, summary: ArchitectureSummary | None) -> None:
    """ConfigError naming ``key`` if ``site`` is not a site name, or (when known) not a site of the model."""
    match = SITE_PATTERN.match(site)
    if match is None:
        raise ConfigError(f"config key '{key}': unknown site {site!r}; sites are 'embeddings', 'resid.<layer>' and "
                          "'mlp.<layer>' (layers count from 0)")
    layer = match.group(2) or match.group(3)
    if summary is not None and layer is not None and int(layer) >= summary.n_layers:
        raise ConfigError(f"config key '{key}': model {model!r} has layers 0–{summary.n_layers - 1}, so {site!r} "
                          f"does not exist; its sites are {', '.join(summary.sites())}")


def site_width(site: str, summary: ArchitectureSummary) -> int:
    """The activation width at ``site`` (hidden size, or the MLP's for ``mlp.<layer>``)."""
    return summary.mlp if site.startswith("mlp") else summary.hidden
