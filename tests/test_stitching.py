"""Experiment `stitching`: known answers for the matching graph, the novel/reconstruction split, insertion and
group ΔMSE, and the stitching path on hand-built pairs of SAEs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from superposition.stitching.latents import LatentSet, from_batchtopk
from superposition.stitching.matching import Group, decoder_cosines, matched_groups, max_cosine_to_smaller, novel_mask
from superposition.stitching.stitch import (
    RISE_SIGMAS,
    StitchingPath,
    group_deltas,
    insertion_deltas,
    l0,
    mse,
    path_order,
    stitched_sae,
    stitching_path,
)


def identity_sae(rows: list[list[float]], b_dec: list[float] | None = None) -> LatentSet:
    """Latents whose encoder is their (unit) decoder row, no bias, threshold 0: f_j = ReLU(x·d_j)."""
    dec = torch.tensor(rows, dtype=torch.float32)
    dec = dec / dec.norm(dim=1, keepdim=True)
    bias = torch.zeros(len(rows)) if b_dec is None else -(dec @ torch.tensor(b_dec))
    return LatentSet(dec.clone(), bias, torch.zeros(len(rows)), dec,
                     torch.zeros(dec.shape[1]) if b_dec is None else torch.tensor(b_dec))


def test_matching_graph_known_answer() -> None:
    # small: e1, e2, e4; large: e1, (e2 + 0.3 e3) [split of e2], (e2 - 0.3 e3), e3 (novel); e4 has no partner
    small = torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
    large = torch.tensor([[1.0, 0, 0, 0], [0, 1, 0.3, 0], [0, 1, -0.3, 0], [0, 0, 1, 0]])
    cosines = decoder_cosines(small, large)
    assert cosines[1, 1].item() == pytest.approx(1 / math.sqrt(1.09), abs=1e-6)
    assert max_cosine_to_smaller(cosines).tolist() == pytest.approx([1.0, 1 / math.sqrt(1.09), 1 / math.sqrt(1.09), 0.0],
                                                                    abs=1e-6)
    assert novel_mask(cosines, 0.7).tolist() == [False, False, False, True]
    groups = matched_groups(cosines, 0.7)
    assert groups == [Group((0,), (0,)), Group((1,), (1, 2)), Group((2,), ()), Group((), (3,))]
    assert [g.kind for g in groups] == ["swap", "swap", "removed", "novel"]
    assert [g.net_latents for g in groups] == [0, 1, -1, 1]
    # a higher threshold cuts the split's edges: e2's children become novel
    assert novel_mask(cosines, 0.99).tolist() == [False, True, True, True]


def test_folded_bias_reproduces_batchtopk_inference() -> None:
    from superposition.sae import ArchitectureOptions, get_architecture

    arch = get_architecture("batchtopk")
    data = torch.randn(256, 6, generator=torch.Generator().manual_seed(0))
    stack = arch.init_stack(6, 10, (2.0,), 0, ArchitectureOptions(init_samples=256), data)
    stack.params["b_enc"] = torch.randn(1, 10, generator=torch.Generator().manual_seed(1)) * 0.1
    stack.buffers["threshold"] = torch.tensor([0.05])
    sae = from_batchtopk(stack)
    x = torch.randn(32, 6, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(sae.encode(x), arch.encode(x, stack)[0], atol=1e-6)
    assert torch.allclose(sae.reconstruct(x), arch.decode(arch.encode(x, stack), stack)[0], atol=1e-5)


def pair() -> tuple[LatentSet, LatentSet, torch.Tensor]:
    small = identity_sae([[1, 0, 0], [0, 1, 0]], b_dec=[0.1, 0.0, 0.0])
    large = identity_sae([[1, 0, 0], [0, 1, 1], [0, 1, -1], [0, 0, 1]], b_dec=[0.0, 0.0, 0.2])
    x = torch.rand(500, 3, generator=torch.Generator().manual_seed(3))
    return small, large, x


def test_insertion_delta_known_answer() -> None:
    small = identity_sae([[1, 0, 0], [0, 1, 0]])
    large = identity_sae([[0, 0, 1], [1, 0, 0]])
    x = torch.rand(400, 3, generator=torch.Generator().manual_seed(4))
    deltas = insertion_deltas(x, small, large)
    # inserting e3 removes the x3 component: ΔMSE = −mean x3²; inserting a copy of e1 doubles x1: ΔMSE = +mean x1²
    assert deltas[0].item() == pytest.approx(-x[:, 2].pow(2).mean().item(), rel=1e-5)
    assert deltas[1].item() == pytest.approx(x[:, 0].pow(2).mean().item(), rel=1e-5)


@pytest.mark.parametrize("threshold", [0.5, 0.75])  # 0.75: e2 has no partner (removed), its children are novel
def test_group_deltas_match_rebuilt_saes(threshold: float) -> None:
    small, large, x = pair()
    groups = matched_groups(decoder_cosines(small.w_dec, large.w_dec), threshold)
    assert ("removed" in [g.kind for g in groups]) == (threshold == 0.75)
    deltas = group_deltas(x, small, large, groups)
    base = mse(x, small)
    for group, delta in zip(groups, deltas):
        assert delta.item() == pytest.approx(mse(x, stitched_sae(small, large, [group])) - base, abs=1e-5)
    single = insertion_deltas(x, small, large)
    novel = [i for i, g in enumerate(groups) if g.kind == "novel"]
    assert novel and all(deltas[i].item() == pytest.approx(single[groups[i].large[0]].item(), abs=1e-6) for i in novel)


def test_stitching_path_walks_from_small_to_large() -> None:
    small, large, x = pair()
    groups = matched_groups(decoder_cosines(small.w_dec, large.w_dec), 0.5)
    order = path_order(group_deltas(x, small, large, groups))
    path = stitching_path(x, small, large, groups, order)
    assert path.mse[0] == pytest.approx(mse(x, small), rel=1e-5)
    assert path.mse[-1] == pytest.approx(mse(x, large), rel=1e-5)
    assert path.l0[0] == pytest.approx(l0(x, small)) and path.l0[-1] == pytest.approx(l0(x, large))
    assert path.n_latents[0] == small.size and path.n_latents[-1] == large.size
    for step in range(1, len(order) + 1):  # every intermediate point is the rebuilt stitched SAE
        rebuilt = stitched_sae(small, large, [groups[i] for i in order[:step]])
        assert path.mse[step] == pytest.approx(mse(x, rebuilt), rel=1e-5, abs=1e-6)
        assert path.n_latents[step] == rebuilt.size
    assert path.kind[-1] == "decoder_bias" and (path.step_se >= 0).all()


def test_significant_rises_count_steps_beyond_the_noise() -> None:
    # Steps (binary-exact values): -1 (a fall), +0.5 at SE 0.125 (4 SE: significant), +0.125 (1 SE: noise),
    # and a rise of exactly RISE_SIGMAS SE, which is not "more than" and so not significant.
    mse_values = np.array([3.0, 2.0, 2.5, 2.625, 2.625 + RISE_SIGMAS * 0.125])
    path = StitchingPath(n_latents=np.arange(5), mse=mse_values, l0=np.zeros(5),
                         step_se=np.array([0.0, 0.25, 0.125, 0.125, 0.125]), kind=["swap"] * 4, group=[0, 1, 2, 3])
    assert path.significant_rises().tolist() == [False, True, False, False]


def test_path_order_is_by_delta_then_index() -> None:
    assert path_order(torch.tensor([0.5, -1.0, 0.5, -2.0])) == [3, 1, 0, 2]
