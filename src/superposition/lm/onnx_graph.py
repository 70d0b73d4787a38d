"""Read a BERT encoder's weights out of an ONNX graph, by following the graph's data flow.

Exporters rename and fold weights: the TorchScript exporter stores each ``nn.Linear`` weight transposed
under a generic name such as ``onnx::MatMul_470``, replaces duplicate tensors by ``Identity`` nodes, and
decomposes LayerNorm below opset 17. Initializer names and order therefore prove nothing. We instead find
each tensor's role by following the data flow of the graph, starting at ``input_ids``:

* the word-embedding ``Gather`` reads ``input_ids``; the other ``Gather`` ops summed into the same
  LayerNorm are the position and token-type tables;
* each encoder layer starts at a LayerNorm output ``h``: the three linear maps reading ``h`` are Q, K and
  V, told apart by where they enter attention (Q and K are the left and right operands of the score
  MatMul, V the right operand of the MatMul after the softmax); the next linear map is the attention
  output, then a LayerNorm, the intermediate map, the activation, the output map and a LayerNorm;
* after the last layer, a linear map on the first token followed by ``Tanh`` is the pooler.

A linear map is a ``MatMul``/``Gemm`` whose weight operand is a stored tensor (possibly behind
``Identity``/``Transpose``/``Cast``), plus the ``Add`` of a stored bias that follows it.

Out of scope (a clear error, not a wrong model): onnxruntime-fused graphs (``Attention``,
``SkipLayerNormalization``, ``BiasGelu``), fused QKV projections, quantised weights, and relative
position embeddings. ``parse_bert_graph`` gives ``BertModel`` parameter names mapped to stored tensors;
``onnx_convert`` turns them into a config, a state dict and a model folder.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

__all__ = ["Param", "ParsedBert", "parse_bert_graph"]


# Ops that pass a weight through unchanged in value (up to layout or dtype), between a stored tensor and
# the op that uses it.
_PASS_THROUGH = ("Identity", "Transpose", "Cast")
# Ops whose outputs describe a tensor's shape rather than carry its values: data-flow searches stop there,
# otherwise shape arithmetic would connect every op to every other.
_SHAPE_OPS = ("Shape", "Size")


@dataclass
class Param:
    """A stored tensor found in the graph, already in the layout ``BertModel`` wants.

    ``value`` is None when the graph references the name but stores no such tensor (a stripped or corrupt
    file): the role is known, the weight is not.
    """

    source: str
    value: np.ndarray | None


@dataclass
class _Linear:
    """One ``nn.Linear``: ``output = input @ weight.T + bias`` (weight as ``[out, in]``)."""

    node: int
    input: str
    output: str
    weight: Param
    bias: Param | None


@dataclass
class _Norm:
    """One LayerNorm over the last axis, as a single op or decomposed into ReduceMean/Sub/Pow/Sqrt/Div."""

    input: str
    output: str
    weight: Param | None
    bias: Param | None
    eps: float | None


@dataclass
class ParsedBert:
    """What the graph says about the model: BertModel parameter name -> stored tensor, and the sizes."""

    params: dict[str, Param | None] = field(default_factory=dict)
    num_layers: int = 0
    num_heads: int | None = None
    head_evidence: str = ""
    hidden_act: str | None = None
    layer_norm_eps: float | None = None
    final_hidden: str = ""
    has_pooler: bool = False


def _float_attr(value: float) -> float:
    """A float32 attribute as the decimal it was written as (9.99999996e-13 -> 1e-12)."""
    return float(str(np.float32(value)))


class _Graph:
    """Indexes of an ONNX graph: who produces and who consumes each tensor, and the stored tensors."""

    def __init__(self, model: onnx.ModelProto) -> None:
        graph = model.graph
        self.nodes = list(graph.node)
        self.initializers = {tensor.name: tensor for tensor in graph.initializer}
        self.inputs = [value.name for value in graph.input if value.name not in self.initializers]
        self.outputs = [value.name for value in graph.output]
        self.producer: dict[str, int] = {}
        self.consumers: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for index, node in enumerate(self.nodes):
            for name in node.output:
                self.producer[name] = index
            for slot, name in enumerate(node.input):
                if name:
                    self.consumers[name].append((index, slot))
        self._arrays: dict[str, np.ndarray] = {}

    def op(self, index: int) -> str:
        return self.nodes[index].op_type

    def attr(self, index: int, name: str, default=None):
        for attribute in self.nodes[index].attribute:
            if attribute.name == name:
                return onnx.helper.get_attribute_value(attribute)
        return default

    def stored(self, name: str) -> np.ndarray | None:
        """The value of an initializer or ``Constant`` output, else None."""
        if name in self._arrays:
            return self._arrays[name]
        value = None
        if name in self.initializers:
            value = numpy_helper.to_array(self.initializers[name])
        elif name in self.producer and self.op(self.producer[name]) == "Constant":
            attribute = self.nodes[self.producer[name]].attribute[0]
            raw = onnx.helper.get_attribute_value(attribute)
            value = numpy_helper.to_array(raw) if isinstance(raw, onnx.TensorProto) else np.asarray(raw)
        if value is not None:
            self._arrays[name] = value
        return value

    def param(self, name: str) -> Param | None:
        """The stored tensor behind ``name`` (through Identity/Transpose/Cast), or None if it is computed.

        A name that nothing produces and that is no graph input is a reference to a missing tensor: it
        gives a ``Param`` with no value, so that the caller can report which parameter is missing.
        """
        chain = []
        while name in self.producer and self.op(self.producer[name]) in _PASS_THROUGH:
            chain.append(self.producer[name])
            name = self.nodes[self.producer[name]].input[0]
        value = self.stored(name)
        if value is None and (not name or name in self.producer or name in self.inputs):
            return None
        if value is not None:
            for index in reversed(chain):  # apply the ops from the stored tensor outwards
                if self.op(index) == "Transpose":
                    value = np.transpose(value, self.attr(index, "perm"))
                elif self.op(index) == "Cast":
                    value = value.astype(np.float32)
        return Param(name, value)

    def strip(self, name: str, ops: Iterable[str] = ("Identity",)) -> str:
        """Follow ``name`` back through ``ops`` (first input) to where it was computed."""
        while name in self.producer and self.op(self.producer[name]) in ops:
            name = self.nodes[self.producer[name]].input[0]
        return name

    def reach(self, start: str, stop: Callable[[int], bool]) -> tuple[list[str], list[tuple[int, int]]]:
        """Forward data-flow search from ``start``: the tensors reached in breadth-first order, and the
        (node, input slot) pairs where the search met a node for which ``stop`` is true."""
        seen, order, hits = {start}, [start], []
        queue = deque([start])
        while queue:
            for index, slot in self.consumers.get(queue.popleft(), []):
                if self.op(index) in _SHAPE_OPS:
                    continue
                if stop(index):
                    if (index, slot) not in hits:
                        hits.append((index, slot))
                    continue
                for name in self.nodes[index].output:
                    if name not in seen:
                        seen.add(name)
                        order.append(name)
                        queue.append(name)
        return order, hits

    def shape_values(self, name: str) -> list[int | None] | None:
        """The entries of a Reshape target shape, None where computed at run time (None if unknown)."""
        value = self.stored(name)
        if value is not None:
            return [int(v) for v in np.ravel(value)]
        if name in self.producer and self.op(self.producer[name]) == "Concat":
            values: list[int | None] = []
            for part in self.nodes[self.producer[name]].input:
                stored = self.stored(part)
                values.extend([None] if stored is None else [int(v) for v in np.ravel(stored)])
            return values
        return None


def _find_linears(graph: _Graph) -> dict[int, _Linear]:
    """Every MatMul/Gemm with a stored weight, keyed by node index, with the bias Add that follows."""
    linears = {}
    for index, node in enumerate(graph.nodes):
        if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2:
            continue
        weight = graph.param(node.input[1])
        if weight is None or (weight.value is not None and weight.value.ndim != 2):
            continue
        output, bias = node.output[0], None
        if node.op_type == "Gemm":
            if graph.attr(index, "transA", 0):
                continue
            alpha, beta = graph.attr(index, "alpha", 1.0), graph.attr(index, "beta", 1.0)
            if weight.value is not None:  # Gemm computes alpha * A @ B' + beta * C with B' = B.T if transB
                value = weight.value if graph.attr(index, "transB", 0) else weight.value.T
                weight = Param(weight.source, alpha * value)
            if len(node.input) > 2 and node.input[2]:
                bias = graph.param(node.input[2])
                if bias is not None and bias.value is not None:
                    bias = Param(bias.source, beta * bias.value)
        else:
            if weight.value is not None:  # MatMul computes x @ W with W as [in, out]
                weight = Param(weight.source, weight.value.T)
            consumers = graph.consumers.get(output, [])
            if len(consumers) == 1 and graph.op(consumers[0][0]) == "Add":
                add = graph.nodes[consumers[0][0]]
                other = add.input[1 - consumers[0][1]]
                candidate = graph.param(other)
                if candidate is not None and (candidate.value is None or candidate.value.ndim == 1):
                    bias, output = candidate, add.output[0]
        linears[index] = _Linear(index, graph.strip(node.input[0]), output, weight, bias)
    return linears


def _find_norms(graph: _Graph) -> dict[str, _Norm]:
    """Every LayerNorm, keyed by its input tensor."""
    norms = {}
    for index, node in enumerate(graph.nodes):
        if node.op_type == "LayerNormalization":
            weight = graph.param(node.input[1]) if len(node.input) > 1 else None
            bias = graph.param(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            eps = _float_attr(graph.attr(index, "epsilon", 1e-5))  # the ONNX default
            norms[node.input[0]] = _Norm(node.input[0], node.output[0], weight, bias, eps)
        elif node.op_type == "Sub" and node.input[1] in graph.producer:
            norm = _decomposed_norm(graph, index)
            if norm is not None:
                norms[norm.input] = norm
    return norms


def _decomposed_norm(graph: _Graph, sub: int) -> _Norm | None:
    """Match ``(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * weight + bias`` starting at the Sub."""
    x, mean = graph.nodes[sub].input
    reduce = graph.producer[mean]
    if graph.op(reduce) != "ReduceMean" or graph.nodes[reduce].input[0] != x:
        return None
    centred = graph.nodes[sub].output[0]
    divs = [i for i, slot in graph.consumers.get(centred, []) if graph.op(i) == "Div" and slot == 0]
    if len(divs) != 1:
        return None
    eps = None
    sqrt = graph.producer.get(graph.nodes[divs[0]].input[1])
    if sqrt is not None and graph.op(sqrt) == "Sqrt":
        add = graph.producer.get(graph.nodes[sqrt].input[0])
        if add is not None and graph.op(add) == "Add":
            for name in graph.nodes[add].input:
                value = graph.stored(name)
                if value is not None and value.size == 1:
                    eps = _float_attr(float(np.ravel(value)[0]))
    output, weight, bias = graph.nodes[divs[0]].output[0], None, None
    for op in ("Mul", "Add"):  # the affine part: a Mul by the weight, then an Add of the bias
        consumers = graph.consumers.get(output, [])
        if len(consumers) != 1 or graph.op(consumers[0][0]) != op:
            break
        index, slot = consumers[0]
        param = graph.param(graph.nodes[index].input[1 - slot])
        if param is None:
            break
        if op == "Mul":
            weight = param
        else:
            bias = param
        output = graph.nodes[index].output[0]
    return _Norm(x, output, weight, bias, eps)


def _ids_input(graph: _Graph) -> str:
    """The graph input that holds token ids: ``input_ids`` by name, else the first input."""
    for name in graph.inputs:
        if "input_ids" in name:
            return name
    if not graph.inputs:
        raise ValueError("the ONNX graph has no inputs")
    return graph.inputs[0]


def _next_norm(graph: _Graph, start: str, norms: dict[str, _Norm], stop: Callable[[int], bool]) -> _Norm | None:
    """The first LayerNorm that ``start`` flows into, not crossing nodes for which ``stop`` is true."""
    order, _ = graph.reach(start, stop)
    for name in order:
        if name in norms:
            return norms[name]
    return None


def _put(params: dict[str, Param | None], prefix: str, part: _Linear | _Norm) -> None:
    params[f"{prefix}.weight"], params[f"{prefix}.bias"] = part.weight, part.bias


def parse_bert_graph(model: onnx.ModelProto) -> ParsedBert:
    """Map the graph's stored tensors to ``BertModel`` parameter names by following the data flow."""
    graph = _Graph(model)
    linears = _find_linears(graph)
    norms = _find_norms(graph)
    by_input: dict[str, list[_Linear]] = defaultdict(list)
    for linear in linears.values():
        by_input[linear.input].append(linear)

    def is_linear(index: int) -> bool:
        return index in linears

    parsed = ParsedBert()
    params = parsed.params

    # Embeddings: the Gather that reads input_ids, and the LayerNorm that its output flows into.
    ids = _ids_input(graph)
    word = None
    for index, node in enumerate(graph.nodes):
        if node.op_type == "Gather" and graph.strip(node.input[1], ("Identity", "Cast")) == ids:
            table = graph.param(node.input[0])
            if table is not None:
                word = (index, table)
                break
    if word is None:
        raise ValueError(f"no embedding lookup of the graph input {ids!r} (a Gather from a stored table) was found; "
                         "this does not look like a BERT encoder graph")
    embed_norm = _next_norm(graph, graph.nodes[word[0]].output[0], norms, is_linear)
    if embed_norm is None:
        raise ValueError("the word embeddings flow into no LayerNorm; this does not look like a BERT encoder graph")
    params["embeddings.word_embeddings.weight"] = word[1]
    params["embeddings.LayerNorm.weight"], params["embeddings.LayerNorm.bias"] = embed_norm.weight, embed_norm.bias
    for role, table in _other_embeddings(graph, embed_norm.input, word[0]).items():
        params[f"embeddings.{role}.weight"] = table
    parsed.layer_norm_eps = embed_norm.eps

    # Encoder layers, each starting at the previous LayerNorm's output.
    hidden = embed_norm.output
    heads: dict[int, str] = {}
    acts: set[str] = set()
    while by_input.get(hidden):
        layer = parsed.num_layers
        prefix = f"encoder.layer.{layer}."
        qkv = by_input[hidden]
        if len(qkv) != 3 and parsed.num_layers > 0:
            break  # a task head (e.g. a masked-LM transform) reads the last layer; the encoder ends here
        if len(qkv) != 3:
            raise ValueError(f"layer {layer}: expected 3 linear maps (query, key, value) reading the layer input, "
                             f"found {len(qkv)}; fused QKV projections are not supported")
        query, key, value, context = _split_qkv(graph, qkv, layer)
        for name, linear in (("query", query), ("key", key), ("value", value)):
            _put(params, f"{prefix}attention.self.{name}", linear)
        for linear in (query, key, value):
            _head_evidence(graph, linear, heads)
        attention_out = _single_linear(graph, context, linears, f"layer {layer}: after attention")
        _put(params, f"{prefix}attention.output.dense", attention_out)
        norm = _next_norm(graph, attention_out.output, norms, is_linear)
        if norm is None:
            raise ValueError(f"layer {layer}: no LayerNorm after the attention output")
        _put(params, f"{prefix}attention.output.LayerNorm", norm)
        intermediate = by_input.get(norm.output, [])
        if len(intermediate) != 1:
            raise ValueError(f"layer {layer}: expected one intermediate linear map, found {len(intermediate)}")
        _put(params, f"{prefix}intermediate.dense", intermediate[0])
        output = _single_linear(graph, intermediate[0].output, linears, f"layer {layer}: after the intermediate map")
        acts.add(_activation(graph, intermediate[0].output, is_linear))
        _put(params, f"{prefix}output.dense", output)
        norm = _next_norm(graph, output.output, norms, is_linear)
        if norm is None:
            raise ValueError(f"layer {layer}: no LayerNorm after the output map")
        _put(params, f"{prefix}output.LayerNorm", norm)
        hidden = norm.output
        parsed.num_layers += 1
    if parsed.num_layers == 0:
        raise ValueError("no encoder layer (three linear maps reading the embeddings' LayerNorm) was found")
    if len(acts) != 1:
        raise ValueError(f"the layers use different activations: {sorted(acts)}")
    parsed.hidden_act = acts.pop()
    parsed.final_hidden = hidden
    if heads:
        if len(set(heads)) > 1:
            raise ValueError(f"the attention Reshapes disagree on the number of heads: {heads}")
        parsed.num_heads, parsed.head_evidence = next(iter(heads.items()))

    pooler = _find_pooler(graph, hidden, linears)
    parsed.has_pooler = pooler is not None
    if pooler is not None:
        _put(params, "pooler.dense", pooler)
    return parsed


def _other_embeddings(graph: _Graph, summed: str, word: int) -> dict[str, Param]:
    """The position and token-type tables: the other Gathers from stored tables summed into ``summed``.

    Which is which: the one whose indices are the graph input ``token_type_ids``/``position_ids``, else
    the one whose table or node is named so, else the larger table is the position table (BERT has 512
    positions and 2 token types).
    """
    gathers, stack = [], [summed]
    while stack:
        index = graph.producer.get(stack.pop())
        if index is None:
            continue
        node = graph.nodes[index]
        if node.op_type == "Add":
            stack.extend(node.input)
        elif node.op_type in ("Identity", "Cast"):
            stack.append(node.input[0])
        elif node.op_type == "Gather" and index != word and graph.param(node.input[0]) is not None:
            gathers.append(index)
    roles: dict[str, Param] = {}
    if not gathers:
        return roles
    hints = {"token_type_embeddings": "token_type", "position_embeddings": "position"}

    def role_of(index: int) -> str | None:
        node = graph.nodes[index]
        indices = graph.strip(node.input[1], ("Identity", "Cast"))
        for role, hint in hints.items():
            if indices in graph.inputs and hint in indices:
                return role
        for role, hint in hints.items():
            if hint in node.input[0] or hint in node.name:
                return role
        return None

    unknown = []
    for index in gathers:
        role = role_of(index)
        if role is None or role in roles:
            unknown.append(index)
        else:
            roles[role] = graph.param(graph.nodes[index].input[0])
    free = [role for role in hints if role not in roles]

    def rows(index: int) -> int:
        value = graph.param(graph.nodes[index].input[0]).value
        return -1 if value is None else value.shape[0]

    # Larger table first: it is the position table. A role left without a table is reported as missing later.
    for role, index in zip(sorted(free, key=lambda r: r != "position_embeddings"),
                           sorted(unknown, key=rows, reverse=True), strict=False):
        roles[role] = graph.param(graph.nodes[index].input[0])
    return roles


def _split_qkv(graph: _Graph, qkv: list[_Linear], layer: int) -> tuple[_Linear, _Linear, _Linear, str]:
    """Tell Q, K and V apart by where they enter attention; also return the attention context tensor.

    Each projection flows to the first MatMul it meets: Q to the left and K to the right operand of the
    score MatMul, V to the right operand of the MatMul that applies the softmax weights.
    """
    entries: dict[int, dict[int, _Linear]] = defaultdict(dict)
    for linear in qkv:
        _, hits = graph.reach(linear.output, lambda index: graph.op(index) in ("MatMul", "Gemm"))
        for index, slot in hits:
            entries[index][slot] = linear
    score = [index for index, slots in entries.items() if set(slots) == {0, 1}]
    mix = [index for index, slots in entries.items() if set(slots) == {1}]
    if len(score) == 1 and len(mix) == 1:
        query, key, value = entries[score[0]][0], entries[score[0]][1], entries[mix[0]][1]
        if len({id(query), id(key), id(value)}) == 3:
            return query, key, value, graph.nodes[mix[0]].output[0]
    raise ValueError(f"layer {layer}: could not tell query, key and value apart from the attention MatMuls "
                     "(the graph's attention is not the unfused softmax(Q K^T) V pattern)")


def _single_linear(graph: _Graph, start: str, linears: dict[int, _Linear], where: str) -> _Linear:
    """The one linear map that ``start`` flows into next."""
    _, hits = graph.reach(start, lambda index: index in linears)
    found = {index for index, _ in hits}
    if len(found) != 1:
        raise ValueError(f"{where}: expected one linear map, found {len(found)}")
    return linears[found.pop()]


def _activation(graph: _Graph, start: str, is_linear: Callable[[int], bool]) -> str:
    """The ``hidden_act`` name of the ops between the intermediate and output maps."""
    order, _ = graph.reach(start, is_linear)
    ops = {graph.op(graph.producer[name]): graph.producer[name] for name in order[1:] if name in graph.producer}
    if "Gelu" in ops:
        return "gelu_pytorch_tanh" if graph.attr(ops["Gelu"], "approximate", b"none") in (b"tanh", "tanh") else "gelu"
    if "Erf" in ops:
        return "gelu"
    if "Tanh" in ops:
        return "gelu_new"
    if "Relu" in ops:
        return "relu"
    if "Sigmoid" in ops:
        return "silu"
    raise ValueError(f"unrecognised activation between the MLP maps (ops {sorted(ops)})")


def _head_evidence(graph: _Graph, linear: _Linear, heads: dict[int, str]) -> None:
    """Record the number of heads implied by the Reshape that splits this projection into heads."""
    _, hits = graph.reach(linear.output, lambda index: graph.op(index) in ("Reshape", "MatMul"))
    width = None if linear.weight.value is None else linear.weight.value.shape[0]
    for index, slot in hits:
        if graph.op(index) != "Reshape" or slot != 0:
            continue
        shape = graph.shape_values(graph.nodes[index].input[1])
        if not shape or len(shape) < 2:
            continue
        count, size = shape[-2], shape[-1]
        if count is not None and count > 0:
            heads[count] = f"Reshape {graph.nodes[index].name or index} to {shape}"
        elif size is not None and size > 0 and width is not None and width % size == 0:
            heads[width // size] = f"Reshape {graph.nodes[index].name or index} to head size {size}"


def _find_pooler(graph: _Graph, hidden: str, linears: dict[int, _Linear]) -> _Linear | None:
    """BERT's pooler: a linear map of the first token's final hidden state, followed by Tanh."""
    _, hits = graph.reach(hidden, lambda index: index in linears)
    for index in {index for index, _ in hits}:
        linear = linears[index]
        if graph.strip(linear.input, ("Gather", "Slice", "Squeeze", "Reshape", "Flatten", "Identity")) != hidden:
            continue
        if any(graph.op(i) == "Tanh" for i, _ in graph.consumers.get(linear.output, [])):
            return linear
    return None

