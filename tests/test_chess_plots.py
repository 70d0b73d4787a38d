"""Every chess_nmf figure function on small fixtures: a valid PNG with the expected axis labels."""

import chess
import numpy as np
import pytest

from superposition.chess_nmf import plots
from superposition.chess_nmf.concepts import CONCEPTS

PNG = b"\x89PNG\r\n\x1a\n"


def _sweep():
    ks = [2, 4]
    def method(values):
        return {str(k): {"fraction_variance_explained": v} for k, v in zip(ks, values)}
    return {"nmf": method([0.5, 0.7]), "svd": method([0.6, 0.8]), "pca": method([0.65, 0.85]),
            "nestedness": {"nmf": [{"k": 2, "k_next": 4, "hungarian": 0.8, "mmcs": 0.9}],
                           "svd": [{"k": 2, "k_next": 4, "hungarian": 1.0, "mmcs": 1.0}]}}


def _figures():
    fens = [chess.STARTING_FEN, "4k2b/8/8/8/8/2P5/8/4K3 b - - 0 1"]
    return {
        "boards": lambda: (plots.plot_factor_boards(fens, np.random.default_rng(0).random((2, 64)), "factor 3"),
                   "file (side to move's view)", "rank"),
        "fve": lambda: (plots.plot_variance_explained({"trained, block 1": _sweep()}), "rank k (factors)",
                "fraction of variance explained"),
        "nested": lambda: (plots.plot_nestedness({"trained, block 1": _sweep()}), "ranks compared (k → next k)",
                   "factor overlap (matched mean |cosine|)"),
        "concepts": lambda: (plots.plot_concept_matches(list(CONCEPTS), {"NMF trained": [0.5] * len(CONCEPTS)}),
                             "concept",
                     "best |Pearson r| over factors"),
        "training": lambda: (plots.plot_training([{"step": 1, "policy_loss": 8.0, "value_loss": 0.3},
                                          {"step": 2, "policy_loss": 7.0, "value_loss": 0.2}]), "step",
                     "policy cross-entropy"),
    }


@pytest.mark.parametrize("name", ["boards", "fve", "nested", "concepts", "training"])
def test_figure_is_a_png_with_axis_labels(tmp_path, name):
    fig, xlabel, ylabel = _figures()[name]()
    axis = fig.axes[0]
    assert axis.get_xlabel() == xlabel and axis.get_ylabel() == ylabel
    plots.save_figure(fig, tmp_path / f"{name}.png")
    data = (tmp_path / f"{name}.png").read_bytes()
    assert data.startswith(PNG) and len(data) > 2000
