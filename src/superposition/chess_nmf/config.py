"""Configuration of experiment `chess_nmf` (McGrath et al. 2021; the survey's §3.2): NMF, SVD and PCA of the
block activations of an AlphaZero-style chess network trained on Stockfish labels.

Tier sizes live in the sections below: `config.yaml` holds the default tier (6 blocks × 64 channels), and
`configs/paper.yaml` the paper's network (20 × 256) and data scale; `configs/smoke.yaml` a tiny one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from superposition.config import param


@dataclass(frozen=True)
class ChessPositionsConfig:
    """Games: a seeded walk through Polyglot opening books, continued by Stockfish self-play."""

    books: tuple[str, ...] = param("Polyglot opening books (paths, unpacked by `make chess-external`)", min_items=1)
    engine: str = param("the Stockfish binary (unpacked by `make chess-external`)")
    games: int = param("games to generate (each: one book line plus its continuation)", minimum=1)
    book_max_plies: int = param("at most this many plies drawn from a book (weighted by the book's weights)",
                                minimum=1)
    continuation_plies: int = param("Stockfish self-play plies after the book line (stops at game end)", minimum=0)
    play_nodes: int = param("Stockfish node budget per self-play move", minimum=1)
    random_first_plies: int = param("self-play plies (after the book) chosen uniformly among legal moves, to "
                                    "spread the games beyond book lines", minimum=0)
    test_fraction: float = param("fraction of games in the test split (the split is by game)", exclusive_minimum=0,
                                 exclusive_maximum=1)
    seed: int = param("seed of the book walks, the random plies and the split", minimum=0)


@dataclass(frozen=True)
class ChessLabelsConfig:
    """Stockfish labels: the best move and a win probability at a fixed node budget."""

    nodes: int = param("Stockfish node budget per labelled position", minimum=1)
    chunk_positions: int = param("positions per engine task; each task starts a new game (cleared hash), so labels "
                                 "do not depend on which worker ran it", minimum=1)
    hash_mb: int = param("Stockfish hash table size in MB", minimum=1)


@dataclass(frozen=True)
class ChessNetworkConfig:
    """The AlphaZero-style ResNet (paper tier: AlphaZero's 20 blocks × 256 channels)."""

    blocks: int = param("residual blocks (AlphaZero: 20)", minimum=1)
    channels: int = param("channels of every block (AlphaZero: 256)", minimum=1)
    batch_norm: bool = param("batch normalisation after each convolution (AlphaZero: yes)")
    policy_channels: int = param("channels of the policy head's 1×1 convolution before its 73 move planes",
                                 minimum=1)
    value_channels: int = param("channels of the value head's 1×1 convolution (AlphaZero: 1)", minimum=1)
    value_hidden: int = param("hidden units of the value head (AlphaZero: 256)", minimum=1)


@dataclass(frozen=True)
class ChessTrainConfig:
    """Supervised training on the Stockfish labels: policy cross-entropy + value MSE."""

    epochs: int = param("passes over the training split", minimum=1)
    batch_size: int = param("positions per step", minimum=1)
    lr: float = param("AdamW peak learning rate (linear warm-up, then cosine decay to 0)", exclusive_minimum=0)
    warmup_fraction: float = param("fraction of the steps spent warming the learning rate up from 0 (keeps the "
                                   "value head's tanh out of saturation in the first steps)", minimum=0, maximum=1)
    weight_decay: float = param("AdamW weight decay", minimum=0)
    value_weight: float = param("weight of the value MSE in the loss", minimum=0)
    seed: int = param("seed of the trained network's initialisation", minimum=0)
    random_seed: int = param("seed of the randomly initialised control network", minimum=0)
    data_seed: int = param("seed of the batch order", minimum=0)
    log_every: int = param("record the training loss every this many steps", minimum=1)


@dataclass(frozen=True)
class ChessActivationsConfig:
    """Block outputs on held-out positions, cached as (positions·64, channels) per block."""

    positions: int = param("held-out (test-split) positions (McGrath et al.: 10,000 → 640,000 rows)", minimum=1)
    seed: int = param("seed of the sample of held-out positions", minimum=0)
    dtype: Literal["float32", "float16"] = param("storage dtype of the cache")
    shard_rows: int = param("rows (position-squares) per shard", minimum=64)
    batch_size: int = param("positions per forward pass", minimum=1)
    leela_onnx: str | None = param("a Leela Chess Zero network as ONNX (lc0 leela2onnx) to analyse too; null: none")


@dataclass(frozen=True)
class ChessDecomposeConfig:
    """NMF (HALS or multiplicative updates), SVD and PCA of each block's activation matrix."""

    blocks: tuple[int, ...] = param("blocks to decompose (0 = first block), each at rank k", minimum=0, min_items=1,
                                    unique_items=True)
    k: int = param("rank of the main decomposition (McGrath et al.: 36)", minimum=1)
    sweep_ks: tuple[int, ...] = param("ranks of the sweep, increasing (FVE, Eckart–Young, nestedness)", minimum=1,
                                      min_items=2, unique_items=True)
    sweep_blocks: tuple[int, ...] = param("blocks on which the rank sweep runs (each also in `blocks`)", minimum=0,
                                          min_items=1, unique_items=True)
    nmf_method: Literal["hals", "mu"] = param("NMF solver: hals (Cichocki & Phan's HALS) or mu (Lee & Seung)")
    nmf_init: Literal["nndsvd", "random"] = param("NMF initialisation: nndsvd (Boutsidis & Gallopoulos, "
                                                  "deterministic) or random (seeded)")
    max_iter: int = param("NMF iterations at most", minimum=1)
    tol: float = param("stop when the relative objective decrease over one iteration is below this", minimum=0)
    seed: int = param("seed of random initialisations", minimum=0)


# Board figures of factors drawn at random (besides the best-matching ones): a fixed number, so that the report's
# figures are the same list in every tier (the experiment manifest declares them).
RANDOM_BOARD_FIGURES = 2


@dataclass(frozen=True)
class ChessConceptsConfig:
    """Per-square chess concepts, their correlation with factors, and the board figures."""

    figure_positions: int = param("positions shown per factor figure", minimum=1)
    figure_block: int = param("block whose factors the board figures show", minimum=0)
    seed: int = param("seed of the random factors and figure positions", minimum=0)


@dataclass(frozen=True)
class ChessNMFConfig:
    """Experiment `chess_nmf`: NMF/SVD/PCA of an AlphaZero-style network's block activations."""

    positions: ChessPositionsConfig = param("positions")
    labels: ChessLabelsConfig = param("Stockfish labels")
    network: ChessNetworkConfig = param("network size (tier)")
    train: ChessTrainConfig = param("supervised training")
    activations: ChessActivationsConfig = param("activation caches")
    decompose: ChessDecomposeConfig = param("decompositions")
    concepts: ChessConceptsConfig = param("concepts and figures")

    def __post_init__(self) -> None:
        from superposition.config import ConfigError

        network, decompose = self.network, self.decompose
        for key, blocks in (("blocks", decompose.blocks), ("sweep_blocks", decompose.sweep_blocks),
                            ("figure_block", (self.concepts.figure_block,))):
            bad = [b for b in blocks if b >= network.blocks]
            if bad:
                section = "concepts" if key == "figure_block" else "decompose"
                raise ConfigError(f"config key 'chess_nmf.{section}.{key}': blocks {bad} do not exist; the network "
                                  f"has blocks 0–{network.blocks - 1}")
        if not set(decompose.sweep_blocks) <= set(decompose.blocks):
            raise ConfigError("config key 'chess_nmf.decompose.sweep_blocks': every sweep block must be in "
                              f"decompose.blocks {list(decompose.blocks)}")
        if self.concepts.figure_block not in decompose.blocks:
            raise ConfigError("config key 'chess_nmf.concepts.figure_block': must be one of decompose.blocks "
                              f"{list(decompose.blocks)}")
        if list(decompose.sweep_ks) != sorted(decompose.sweep_ks):
            raise ConfigError("config key 'chess_nmf.decompose.sweep_ks': ranks must increase")
        if decompose.k < RANDOM_BOARD_FIGURES:
            raise ConfigError(f"config key 'chess_nmf.decompose.k': the report draws {RANDOM_BOARD_FIGURES} factors at "
                              "random, so k must be at least that")
        too_big = [k for k in (*decompose.sweep_ks, decompose.k) if k > network.channels]
        if too_big:
            raise ConfigError(f"config key 'chess_nmf.decompose': ranks {too_big} exceed the {network.channels} "
                              "channels (SVD has at most that many components)")
