"""The root of ``config.yaml``: one field per experiment, plus settings shared by all of them."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from superposition.chess_nmf.config import ChessNMFConfig
from superposition.config import ConfigError, param, parse_config, schema_yaml
from superposition.feature_sparsity.config import FeatureSparsityConfig
from superposition.lm.config import LMConfig
from superposition.lm_sae.config import LMSAEConfig
from superposition.tms.config import TMSConfig
from superposition.toy_sae.config import ToySAEConfig


@dataclass(frozen=True)
class WorkflowConfig:
    """Configuration of the Superposition Replications workflow."""

    device: Literal["auto", "cpu", "cuda"] = param("where tensors live: auto = CUDA when present, else CPU")
    toy_sae: ToySAEConfig = param("Sharkey, Braun & Millidge (2022), toy-data sweeps")
    tms: TMSConfig = param("Elhage et al. (2022), Toy Models of Superposition")
    lm: LMConfig = param("language-model sources, corpus and activation caches shared by the LM experiments")
    lm_sae: LMSAEConfig = param("Sharkey, Braun & Millidge (2022), the language-model section")
    feature_sparsity: FeatureSparsityConfig = param("Deng, Tao & Benton (2023), Measuring Feature Sparsity in "
                                                    "Language Models")
    chess_nmf: ChessNMFConfig = param("McGrath et al. (2021), NMF of an AlphaZero-style chess network (survey §3.2)")

    def __post_init__(self) -> None:
        if self.lm_sae.model not in self.lm.models:
            raise ConfigError(f"config key 'lm_sae.model': unknown model {self.lm_sae.model!r}; lm.models defines "
                              f"{sorted(self.lm.models)}")
        sparsity = self.feature_sparsity
        layer_models = [entry.model for entry in sparsity.layers.models]
        for key, models in (("embeddings.models", sparsity.embeddings.models), ("layers.models", layer_models)):
            for model in models:
                if model not in self.lm.models:
                    raise ConfigError(f"config key 'feature_sparsity.{key}': unknown model {model!r}; lm.models "
                                      f"defines {sorted(self.lm.models)}")
        if sparsity.features.model not in sparsity.embeddings.models:
            raise ConfigError(f"config key 'feature_sparsity.features.model': {sparsity.features.model!r} must be one "
                              f"of feature_sparsity.embeddings.models {list(sparsity.embeddings.models)} (its "
                              "embedding dictionary is used)")
        if "main" not in [setting.name for setting in sparsity.synthetic.settings]:
            raise ConfigError("config key 'feature_sparsity.synthetic.settings': needs a setting named 'main' (the "
                              "claims test Section 3.1's main setting)")
        missing = set(sparsity.synthetic.separation_active) - set(sparsity.synthetic.active)
        if missing:
            raise ConfigError(f"config key 'feature_sparsity.synthetic.separation_active': {sorted(missing)} not in "
                              "feature_sparsity.synthetic.active")


def load_workflow_config(config: dict[str, Any], schema_file: Path | str | None = None) -> WorkflowConfig:
    """Validate the merged Snakemake config and return it typed (raises ConfigError naming bad keys).

    ``schema_file`` is the stored schema (``workflow/schemas/config.schema.yaml``); without it the schema is
    built from the dataclasses, which a test keeps identical to the stored one.
    """
    schema = yaml.safe_load(Path(schema_file).read_text(encoding="utf-8")) if schema_file else None
    return parse_config(WorkflowConfig, config, schema)


if __name__ == "__main__":
    # `python -m superposition.workflow_config [PATH]`: write the JSON schema of config.yaml (`make schema`).
    text = schema_yaml(WorkflowConfig)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
