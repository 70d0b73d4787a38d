"""The AlphaZero-style network: shapes, safetensors round trip, and a tiny network that learns a tiny label set."""

import chess
import pytest
import torch

from superposition.chess_nmf.config import ChessNetworkConfig, ChessTrainConfig
from superposition.chess_nmf.encoding import encode_boards, legal_move_mask, move_index
from superposition.chess_nmf.network import load_network, save_network
from superposition.chess_nmf.train import evaluate, fit, init_network
from tests.chess_factories import random_game_fens

TINY = ChessNetworkConfig(blocks=2, channels=16, batch_norm=True, policy_channels=8, value_channels=2,
                          value_hidden=16)


def test_shapes_and_block_outputs():
    network = init_network(TINY, seed=0)
    with torch.no_grad():
        policy, value, blocks = network(torch.zeros(3, 20, 8, 8), return_blocks=True)
    assert policy.shape == (3, 4672) and value.shape == (3,) and len(blocks) == 2
    assert blocks[1].shape == (3, 16, 8, 8) and float(blocks[1].min()) >= 0  # block outputs end in a ReLU


def test_init_depends_only_on_the_seed():
    a, b, c = init_network(TINY, 0), init_network(TINY, 0), init_network(TINY, 1)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.stem[0].weight, c.stem[0].weight)


def test_safetensors_round_trip(tmp_path):
    network = init_network(TINY, seed=3).eval()
    digest = save_network(network, tmp_path / "net.safetensors", {"variant": "test"})
    assert len(digest) == 64 and (tmp_path / "net.safetensors").read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle
    loaded = load_network(tmp_path / "net.safetensors")
    x = encode_boards(random_game_fens(1, 5, seed=1))
    torch.testing.assert_close(loaded(x)[0], network(x)[0])
    assert save_network(loaded, tmp_path / "again.safetensors", {"variant": "test"}) == digest  # byte-identical


def _first_move_labels(fens):
    """A learnable rule: the best move is the first legal move in UCI order; value = tanh(material / 4)."""
    best, value = [], []
    for fen in fens:
        board = chess.Board(fen)
        move = min(board.legal_moves, key=lambda m: m.uci())
        best.append(move_index(board, move))
        sign = 1 if board.turn == chess.WHITE else -1
        material = sum((1 if p.color == chess.WHITE else -1) * {1: 1, 2: 3, 3: 3, 4: 5, 5: 9, 6: 0}[p.piece_type]
                       for p in board.piece_map().values())
        value.append(float(torch.tanh(torch.tensor(sign * material / 4.0))))
    return torch.tensor(best), torch.tensor(value)


@pytest.fixture
def one_thread():
    """Tiny convolutions run fastest on one thread; OpenMP's spin-waiting makes two slow on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_tiny_network_learns_and_beats_its_random_copy(one_thread):
    fens = random_game_fens(3, 30, seed=5)
    planes = encode_boards(fens)
    best, value = _first_move_labels(fens)
    config = ChessTrainConfig(epochs=30, batch_size=30, lr=0.01, warmup_fraction=0.05, weight_decay=0.0,
                              value_weight=1.0, seed=0, random_seed=1, data_seed=2, log_every=10)
    small = ChessNetworkConfig(blocks=1, channels=8, batch_norm=True, policy_channels=8, value_channels=2,
                               value_hidden=16)
    network, random_network = init_network(small, 0), init_network(small, 1)
    history = fit(network, planes, best, value, config, torch.device("cpu"), progress=False)
    assert history[-1]["policy_loss"] < history[0]["policy_loss"]
    legal = legal_move_mask(fens)
    trained = evaluate(network, planes, best, value, legal, torch.device("cpu"))
    control = evaluate(random_network, planes, best, value, legal, torch.device("cpu"))
    assert trained["policy_top1"] > control["policy_top1"] + 0.3
    assert trained["value_mse"] < control["value_mse"]
