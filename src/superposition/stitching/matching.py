"""The decoder-cosine graph between a smaller and a larger SAE, and what it classifies.

Paper (Section 3): latents of the larger SAE whose decoder direction has no close counterpart in the smaller SAE
are *novel*; the others are *reconstruction* latents. Their proxy, which we follow: a latent of the larger SAE
is a reconstruction latent when its maximum cosine similarity with the smaller SAE's decoder directions exceeds
θ = 0.7, the threshold the paper (and the authors' stitching post) use; otherwise it is novel.

Groups for swapping: the bipartite graph whose nodes are the latents of both SAEs and whose edges join a
smaller-SAE latent and a larger-SAE latent with decoder cosine > θ; each connected component is one group
(the paper: "matched groups come from a graph of cosine similarities"). Components of one larger latent alone
are the novel latents (inserted), of one smaller latent alone the smaller SAE's latents with no counterpart
(removed: our reading, so that the path ends at the larger SAE), the rest are swapped as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["Group", "decoder_cosines", "max_cosine_to_smaller", "novel_mask", "matched_groups"]


@dataclass(frozen=True)
class Group:
    """One connected component: indices of its smaller-SAE and larger-SAE latents (sorted)."""

    small: tuple[int, ...]
    large: tuple[int, ...]

    @property
    def kind(self) -> str:
        """``novel`` (larger latents only), ``removed`` (smaller only) or ``swap`` (both)."""
        if not self.small:
            return "novel"
        return "removed" if not self.large else "swap"

    @property
    def net_latents(self) -> int:
        """Latents the group adds to the stitched SAE (negative: removes)."""
        return len(self.large) - len(self.small)


def decoder_cosines(small: torch.Tensor, large: torch.Tensor) -> torch.Tensor:
    """Cosine similarities of decoder rows: small (Js, h), large (Jl, h) -> (Js, Jl)."""
    small = small / small.norm(dim=1, keepdim=True)
    large = large / large.norm(dim=1, keepdim=True)
    return small @ large.T


def max_cosine_to_smaller(cosines: torch.Tensor) -> torch.Tensor:
    """Each larger latent's maximum cosine with any smaller latent: (Js, Jl) -> (Jl,)."""
    return cosines.max(dim=0).values


def novel_mask(cosines: torch.Tensor, threshold: float) -> torch.Tensor:
    """(Jl,) bool: larger latents with no smaller latent above ``threshold`` (novel latents)."""
    return ~(cosines > threshold).any(dim=0)


def matched_groups(cosines: torch.Tensor, threshold: float) -> list[Group]:
    """Connected components of the bipartite graph with edges where cosine > ``threshold``, every latent of both
    SAEs in exactly one; ordered by their smallest (smaller-SAE first) latent index."""
    n_small, n_large = cosines.shape
    rows, cols = np.nonzero((cosines > threshold).cpu().numpy())
    graph = coo_matrix((np.ones(len(rows)), (rows, n_small + cols)), shape=(n_small + n_large,) * 2)
    _, labels = connected_components(graph, directed=False)
    members: dict[int, tuple[list[int], list[int]]] = {}
    for node, label in enumerate(labels.tolist()):
        small, large = members.setdefault(label, ([], []))
        (small if node < n_small else large).append(node if node < n_small else node - n_small)
    return [Group(tuple(small), tuple(large)) for small, large in members.values()]
