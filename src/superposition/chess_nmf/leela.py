"""Reading a real Leela Chess Zero network (paper tier): its ONNX export, its input planes, its block outputs.

Leela networks ship as ``.pb.gz`` protobufs; ``lc0 leela2onnx --input=net.pb.gz --output=net.onnx`` converts
one to ONNX, which we read with ``onnx`` and run with ``onnxruntime`` (both already in the lock). We do not
depend on ``lczerolens``: it resolves CPU-only against our torch pin, but pulls torchvision, tensordict,
onnx2torch and the ``python-chess`` stub into the lock, and itself reads the same ONNX files; install it in
a separate environment if you want its tooling.

Input: lc0's classical 112-plane format, from the side to move (board mirrored for Black, as ours): 8 history
steps × 13 planes (our P N B R Q K, their P N B R Q K, a repetition plane), then our O-O-O, our O-O, their
O-O-O, their O-O, side to move (ones for Black), the rule-50 ply count, a zero plane and a ones plane. Our
positions have no history, so only step 0 is filled and the older steps are zero; networks trained with
history-filling input formats (``INPUT_112_WITH_CANONICALIZATION*``) expect otherwise and are out of scope.

Block outputs are found by following the graph's data flow, not by node names (exporters rename them): the
stem's output is the first ``Relu``; each next block's output is the ``Relu`` of the ``Add`` that adds the
previous block's output (the skip connection) to a computed tensor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chess
import numpy as np
import onnx
import torch

from superposition.chess_nmf.activations import write_activation_caches
from superposition.chess_nmf.encoding import oriented
from superposition.io import sha256_file

__all__ = ["LEELA_PLANES", "encode_leela", "find_block_outputs", "LeelaNetwork", "make_leela_activations"]

LEELA_PLANES = 112
_PIECES = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)


def encode_leela(fens: list[str]) -> torch.Tensor:
    """(len(fens), 112, 8, 8) float32 planes in lc0's classical format (history steps 1–7 empty)."""
    planes = np.zeros((len(fens), LEELA_PLANES, 8, 8), dtype=np.float32)
    for row, fen in enumerate(fens):
        board = chess.Board(fen)
        view = oriented(board)
        for square, piece in view.piece_map().items():
            offset = 0 if piece.color == chess.WHITE else 6
            planes[row, offset + _PIECES.index(piece.piece_type), square >> 3, square & 7] = 1.0
        aux = 104
        rights = (view.has_queenside_castling_rights(chess.WHITE), view.has_kingside_castling_rights(chess.WHITE),
                  view.has_queenside_castling_rights(chess.BLACK), view.has_kingside_castling_rights(chess.BLACK))
        for i, right in enumerate(rights):
            planes[row, aux + i] = float(right)
        planes[row, aux + 4] = float(board.turn == chess.BLACK)
        planes[row, aux + 5] = float(board.halfmove_clock)
        planes[row, aux + 7] = 1.0
    return torch.from_numpy(planes)


def find_block_outputs(model: onnx.ModelProto) -> list[str]:
    """Names of the residual blocks' output tensors, in order (see the module docstring)."""
    graph = model.graph
    constants = {init.name for init in graph.initializer} | {
        out for node in graph.node if node.op_type == "Constant" for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    relus = [node for node in graph.node if node.op_type == "Relu"]
    if not relus:
        raise ValueError("no Relu in the ONNX graph: not an AlphaZero/Leela-style residual network")
    current, outputs = relus[0].output[0], []
    while True:
        skip_adds = [n for n in consumers.get(current, []) if n.op_type == "Add"
                     and all(i not in constants for i in n.input)]
        following = [r for add in skip_adds for r in consumers.get(add.output[0], []) if r.op_type == "Relu"]
        if not following:
            break
        current = following[0].output[0]
        outputs.append(current)
    if not outputs:
        raise ValueError("found no residual block (Relu(Add(skip, ...))) after the stem in the ONNX graph")
    return outputs


class LeelaNetwork:
    """An lc0 ONNX network run by onnxruntime, returning every block's output."""

    def __init__(self, path: Path | str) -> None:
        import onnxruntime

        model = onnx.load(str(path))
        self.blocks = find_block_outputs(model)
        known = {o.name for o in model.graph.output}
        for name in self.blocks:
            if name not in known:
                model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        self.input = model.graph.input[0].name
        self.session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        shape = self.session.run(self.blocks[:1], {self.input: encode_leela([chess.STARTING_FEN]).numpy()})[0].shape
        self.channels = int(shape[1])

    def __call__(self, planes: torch.Tensor) -> list[torch.Tensor]:
        """(batch, 112, 8, 8) planes → each block's output (batch, C, 8, 8)."""
        values = self.session.run(self.blocks, {self.input: planes.numpy().astype(np.float32)})
        return [torch.from_numpy(v) for v in values]


def make_leela_activations(onnx_path: Path | str, fens: list[str], output_dir: Path | str, dtype: str,
                           shard_rows: int, batch_size: int) -> dict[int, dict[str, Any]]:
    """Stage (paper tier): cache every block of a Leela ONNX network on ``fens``, as for our own networks."""
    network = LeelaNetwork(onnx_path)
    provenance = {"network": "leela", "network_sha256": sha256_file(onnx_path),
                  "source": f"Leela Chess Zero ONNX {Path(onnx_path).name}"}
    return write_activation_caches(network, fens, len(network.blocks), network.channels, output_dir, provenance,
                                   dtype, shard_rows, batch_size, encode=encode_leela)
