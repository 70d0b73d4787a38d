"""Activation caches readable by ActivationReader, and the Leela ONNX reader on a tiny hand-built network."""

import chess
import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from superposition.chess_nmf.activations import block_activations, fens_sha256, write_activation_caches
from superposition.chess_nmf.leela import LeelaNetwork, encode_leela, find_block_outputs, make_leela_activations
from superposition.lm.activations import ActivationReader
from tests.chess_factories import random_game_fens

FENS = random_game_fens(1, 7, seed=0)


def test_block_rows_are_position_major_and_square_ordered():
    out = torch.arange(2 * 3 * 64, dtype=torch.float32).reshape(2, 3, 8, 8)  # (batch, C, rank, file)
    rows = block_activations(out)
    assert rows.shape == (128, 3)
    assert torch.equal(rows[64 + 9], out[1, :, 1, 1])  # position 1, square b2 = 9


def test_caches_round_trip_through_the_activation_reader(tmp_path):
    def forward_blocks(planes):  # two fake "blocks": the planes' first 3 channels and their double
        return [planes[:, :3], 2 * planes[:, :3]]

    manifests = write_activation_caches(forward_blocks, FENS, 2, 3, tmp_path, {"network": "fake",
                                        "network_sha256": "0" * 64}, "float32", shard_rows=128, batch_size=3)
    reader = ActivationReader(tmp_path / "block1")
    assert reader.d == 3 and reader.token_count == 64 * len(FENS) and len(reader) == 4  # 448 rows / 128
    assert {"d", "token_count", "shards", "network_sha256", "positions_sha256", "block"} <= set(manifests[1])
    assert manifests[1]["positions_sha256"] == fens_sha256(FENS)
    A = torch.cat(list(reader.iter_shards()))
    from superposition.chess_nmf.encoding import encode_boards
    expected = block_activations(2 * encode_boards(FENS)[:, :3])
    assert torch.equal(A, expected)
    assert torch.equal(torch.cat([reader.shard(i, "token_ids") for i in range(len(reader))])[:64], torch.arange(64,
                       dtype=torch.int32))


def _tiny_leela(path, channels=4, blocks=2, seed=0):
    """An lc0-like ONNX graph: stem conv + relu, residual blocks (conv, relu, conv, add skip, relu), a value head."""
    rng = np.random.default_rng(seed)
    inits, nodes, weights = [], [], {}

    def conv(name, x, c_in, c_out):
        w = rng.normal(scale=0.3, size=(c_out, c_in, 3, 3)).astype(np.float32)
        b = rng.normal(scale=0.1, size=(c_out,)).astype(np.float32)
        weights[name] = (w, b)
        inits.extend([numpy_helper.from_array(w, f"{name}.w"), numpy_helper.from_array(b, f"{name}.b")])
        nodes.append(helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [f"/{name}/out"], pads=[1, 1, 1, 1]))
        return f"/{name}/out"

    nodes.append(helper.make_node("Relu", [conv("stem", "/input/planes", 112, channels)], ["/stem/relu"]))
    x = "/stem/relu"
    for i in range(blocks):
        nodes.append(helper.make_node("Relu", [conv(f"block{i}/conv1", x, channels, channels)], [f"/b{i}/r1"]))
        nodes.append(helper.make_node("Add", [conv(f"block{i}/conv2", f"/b{i}/r1", channels, channels), x],
                                      [f"/b{i}/add"]))
        nodes.append(helper.make_node("Relu", [f"/b{i}/add"], [f"/block{i}/out"]))
        x = f"/block{i}/out"
    nodes.append(helper.make_node("ReduceMean", [x], ["/output/value"], keepdims=0, axes=[1, 2, 3]))
    graph = helper.make_graph(nodes, "tiny-leela", [helper.make_tensor_value_info("/input/planes", TensorProto.FLOAT,
                              ["batch", 112, 8, 8])], [helper.make_tensor_value_info("/output/value",
                              TensorProto.FLOAT, ["batch"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return weights


def _reference_blocks(weights, planes, blocks):
    conv = lambda name, x: torch.nn.functional.conv2d(x, torch.from_numpy(weights[name][0]),  # noqa: E731
                                                      torch.from_numpy(weights[name][1]), padding=1)
    x = torch.relu(conv("stem", planes))
    outs = []
    for i in range(blocks):
        x = torch.relu(conv(f"block{i}/conv2", torch.relu(conv(f"block{i}/conv1", x))) + x)
        outs.append(x)
    return outs


def test_leela_planes_of_the_start_position():
    planes = encode_leela([chess.STARTING_FEN])[0]
    assert planes.shape == (112, 8, 8)
    assert planes[0, 1].sum() == 8 and planes[11, 7, 4] == 1  # our pawns on rank 2, their king on e8
    assert planes[13:104].sum() == 0  # no history
    assert torch.all(planes[104:108] == 1) and planes[108].sum() == 0 and torch.all(planes[111] == 1)


def test_leela_onnx_block_outputs_match_a_reference(tmp_path):
    weights = _tiny_leela(tmp_path / "net.onnx", channels=4, blocks=3)
    assert find_block_outputs(onnx.load(str(tmp_path / "net.onnx"))) == ["/block0/out", "/block1/out", "/block2/out"]
    network = LeelaNetwork(tmp_path / "net.onnx")
    planes = encode_leela(FENS[:3])
    for ours, expected in zip(network(planes), _reference_blocks(weights, planes, 3)):
        torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)
    manifests = make_leela_activations(tmp_path / "net.onnx", FENS[:3], tmp_path / "leela", "float32", 64, 2)
    assert len(manifests) == 3 and manifests[2]["d"] == 4 and manifests[2]["network"] == "leela"
    assert ActivationReader(tmp_path / "leela" / "block2").token_count == 3 * 64


def test_graph_without_blocks_is_refused(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    with pytest.raises(ValueError, match="no residual block"):
        find_block_outputs(helper.make_model(graph))
