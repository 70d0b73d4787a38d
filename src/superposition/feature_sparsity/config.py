"""Configuration of experiment `feature_sparsity` (Deng, Tao & Benton 2023)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from superposition.config import ConfigError, param
from superposition.lm.architecture import local_architecture
from superposition.lm.config import Variant


@dataclass(frozen=True)
class CoderConfig:
    """Sparse coding (Appendix C): alternate greedy codes of a minibatch with Adam steps on the dictionary."""

    iterations: int = param("minibatch iterations per λ round (one greedy code update, then the dictionary steps)",
                            minimum=1)
    batch_size: int = param("samples coded per iteration", minimum=1)
    dictionary_steps: int = param("Adam steps on Φ per greedy code update (paper: 'several steps of SGD')",
                                  minimum=1)
    lr: float = param("Adam learning rate of Φ (columns renormalised to 1 after each step)", exclusive_minimum=0)
    max_active: int = param("the most greedy steps (features picked) per sample", minimum=1)
    adaptive_rounds: int = param("adaptive λ: the most rounds of λ = fraction × average max coefficient",
                                 minimum=1)
    adaptive_fraction: float = param("adaptive λ: the fraction (paper: 0.1)", exclusive_minimum=0)
    adaptive_tolerance: float = param("adaptive λ: stop when λ moves by less than this (relative)",
                                      exclusive_minimum=0)
    lambda_samples: int = param("samples coded to re-estimate λ between rounds", minimum=1)
    seed: int = param("seed of the dictionary initialisation and the minibatches", minimum=0)
    init: Literal["samples", "random_unit"] = param(
        "how Φ starts (the paper does not say): samples = randomly chosen, normalised samples; random_unit = "
        "random unit vectors")


@dataclass(frozen=True)
class SyntheticSetting:
    """One synthetic setting (Appendix D/E): its datasets all share d, the dictionary size and n."""

    name: str = param("the setting's name; `main` is Section 3.1's (the claims test it)")
    d: int = param("embedding size d (paper, main: 256)", minimum=2)
    dict_ratio: int = param("dictionary size as a multiple of d (paper, main: 8)", minimum=1)
    sigma: float = param("noise level σ: noise variance a σ²/d per coordinate (paper, main: 0.1)", minimum=0)
    features_per_dim: int = param("ground-truth features as a multiple of d (paper, main: 4)", minimum=1)
    figure: str = param("the paper's figure for this setting (Fig 1, Fig 5, …)")


@dataclass(frozen=True)
class SyntheticConfig:
    """Section 3.1: metric values on sparse linear data of known sparsity and on three controls."""

    settings: tuple[SyntheticSetting, ...] = param("the settings (a list, so a tier replaces it whole)",
                                                   min_items=1)
    n_samples: int = param("activations per dataset (paper: 16,384)", minimum=1)
    active: tuple[float, ...] = param("average active features a of the sparse linear datasets (Fig 1a); the "
                                      "'correct' metric value is a/2", exclusive_minimum=0, min_items=1,
                                      unique_items=True)
    data_seed: int = param("seed of the synthetic datasets", minimum=0)
    coder: CoderConfig = param("sparse coding of every synthetic dataset (adaptive λ)")

    def setting(self, name: str) -> SyntheticSetting:
        """The setting called ``name``."""
        for setting in self.settings:
            if setting.name == name:
                return setting
        raise KeyError(f"no synthetic setting {name!r}; configured: {[s.name for s in self.settings]}")


@dataclass(frozen=True)
class EmbeddingsConfig:
    """Section 4.1, Appendix F: the (centred) token-embedding matrix of each model, adaptive λ."""

    models: tuple[str, ...] = param("models of lm.models whose input token embeddings are decomposed", min_items=1)
    dict_ratio: int = param("dictionary size as a multiple of d (paper: 8)", minimum=1)
    gaussian_seed: int = param("seed of the Gaussian reference of each size (same n and d as the embeddings)",
                               minimum=0)
    eval_tokens: int = param("tokens (random) on which the metrics are measured; 0: the whole vocabulary "
                             "(the paper)", minimum=0)
    coder: CoderConfig = param("sparse coding of the embeddings and their Gaussian references")


@dataclass(frozen=True)
class LayerModel:
    """A model whose layers are measured."""

    model: str = param("a model of lm.models")
    layers: int = param("its number of transformer layers (checked against the model's config.json when that is "
                        "on this machine, else at extraction)", minimum=1)


@dataclass(frozen=True)
class LayersConfig:
    """Section 4.2, Appendix H: every layer's residual stream, λ fixed for training and smaller for decoding."""

    models: tuple[LayerModel, ...] = param("models whose layers are measured", min_items=1)
    variant: Variant = param("the variant of the activation caches")
    dict_ratio: int = param("dictionary size as a multiple of d (paper: 16)", minimum=1)
    n_tokens: int = param("tokens sampled from each layer's cache", minimum=1)
    train_lambda: float = param("λ while training the dictionary (paper: 0.1)", exclusive_minimum=0)
    decompose_lambdas: tuple[float, ...] = param(
        "candidate λ for the final decomposition, tried from the largest; per model the largest one that explains "
        "`target_variance` on every layer is used (paper: 0.0027–0.01, chosen by hand per model)",
        exclusive_minimum=0, min_items=1, unique_items=True)
    target_variance: float = param("variance explained that the decomposition λ must reach (paper: 0.98)",
                                   exclusive_minimum=0, maximum=1)
    sample_seed: int = param("seed of the token sample", minimum=0)
    coder: CoderConfig = param("sparse coding of every layer (its adaptive_* fields are unused: λ is fixed)")


@dataclass(frozen=True)
class FeaturesConfig:
    """Appendix G, Tables 1–3: the sparse features of a few words' token embeddings."""

    model: str = param("the model (one of embeddings.models) whose embedding dictionary is used")
    words: tuple[str, ...] = param("words to decompose (paper: season, physics); each must be one token",
                                   min_items=1)
    top_features: int = param("features listed per word (paper: 3)", minimum=1)
    top_tokens: int = param("most-activating tokens listed per feature (paper: 20)", minimum=1)
    nearest_tokens: int = param("nearest tokens to each word's own embedding (paper: 30)", minimum=1)


@dataclass(frozen=True)
class SeparationCheckConfig:
    """An appendix experiment on Fig 1b's hardest pair (the largest a of the paper's separation set against the
    heavy-tailed control): does it separate when Φ starts from random unit vectors, or when the heavy-tailed
    control has more samples (its adaptive λ is set by a few huge-norm samples)?"""

    setting: str = param("the synthetic setting it repeats (one of synthetic.settings)")
    large_samples: int = param("samples of the heavy-tailed control in the larger run (paper: 16,384)", minimum=1)


@dataclass(frozen=True)
class FeatureSparsityConfig:
    """Experiment `feature_sparsity`: Deng, Tao & Benton (2023), Measuring Feature Sparsity in Language Models."""

    synthetic: SyntheticConfig = param("metric verification on synthetic data (Section 3.1, Appendices D–E)")
    embeddings: EmbeddingsConfig = param("token embeddings (Section 4.1, Appendix F)")
    layers: LayersConfig = param("later layers (Section 4.2, Appendix H)")
    features: FeaturesConfig = param("interpretable features (Appendix G)")
    separation_check: SeparationCheckConfig = param("appendix: what decides Fig 1b's hardest pair")

    def cross_check(self, root: Any) -> None:
        """Models must be in ``root.lm.models``; the feature tables need an embedding dictionary; the claims need
        the ``main`` synthetic setting; setting names must be unique (each names its output file)."""
        known = sorted(root.lm.models)
        layer_models = [entry.model for entry in self.layers.models]
        for key, models in (("embeddings.models", self.embeddings.models), ("layers.models", layer_models)):
            for model in models:
                if model not in root.lm.models:
                    raise ConfigError(f"config key 'feature_sparsity.{key}': unknown model {model!r}; lm.models "
                                      f"defines {known}")
        for index, entry in enumerate(self.layers.models):
            summary = local_architecture(root.lm.models[entry.model])
            if summary is not None and entry.layers > summary.n_layers:
                raise ConfigError(f"config key 'feature_sparsity.layers.models.{index}.layers': {entry.model!r} has "
                                  f"{summary.n_layers} layers, not {entry.layers}")
        if self.features.model not in self.embeddings.models:
            raise ConfigError(f"config key 'feature_sparsity.features.model': {self.features.model!r} must be one of "
                              f"feature_sparsity.embeddings.models {list(self.embeddings.models)} (its embedding "
                              "dictionary is used)")
        names = [setting.name for setting in self.synthetic.settings]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigError(f"config key 'feature_sparsity.synthetic.settings': names repeat {repeated}; each "
                              "setting writes results/feature_sparsity/synthetic/<name>.json")
        if self.separation_check.setting not in names:
            raise ConfigError(f"config keys 'feature_sparsity.separation_check.setting' and "
                              f"'feature_sparsity.synthetic.settings': {self.separation_check.setting!r} is not one "
                              f"of the settings {names}")
        if "main" not in names:
            raise ConfigError("config key 'feature_sparsity.synthetic.settings': needs a setting named 'main' (the "
                              "claims test Section 3.1's main setting)")
