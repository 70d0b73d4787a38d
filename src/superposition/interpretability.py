"""An offline, transparent stand-in for automated interpretability scoring (the protocol of Paulo et al. 2024, as
Heap et al. use it), and the token-distribution entropy of a latent.

The protocol, scaled down (numbers in :class:`InterpretabilityConfig`): sample latents uniformly among those with
enough activating windows (a window is one corpus sentence here; the paper cuts 32-token windows from longer
texts); explain each latent from random windows among its activating ones; then score the explanation on held-out
windows, stratified over quantiles of their maximum activation, against windows where the latent never fires:

- *detection*: does the explanation separate held-out activating windows from non-activating ones? (AUROC of the
  scorer's per-window score);
- *fuzzing*: inside held-out activating windows, does it pick out the tokens the latent fires on? The correct
  version highlights the tokens with activation ≥ 0.3 × the window's maximum; the incorrect one highlights as many
  other tokens of the same window, chosen at random (delphi's definition). AUROC over both versions.

The paper's explainer and scorer are LLMs. Here, behind the same interfaces (:class:`Explainer`,
:class:`Scorer`), the explanation is a *token profile*: the smallest set of token ids that carries
``coverage`` of the highlighted activation mass of the explanation windows (at most ``max_terms``), each weighted
by its share of that mass; a window's detection score is the largest weight among its tokens, and a highlighted
set's fuzzing score is the mean weight of its tokens. This proxy measures how well a latent is predicted by token
identity alone, the mechanism Heap et al. name for why random networks' latents look interpretable; it cannot
credit abstract, context-dependent latents, so it is not the LLM score. An LLM explainer and scorer can be
plugged in through the interfaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from superposition.config import param

__all__ = ["InterpretabilityConfig", "Window", "Explanation", "Explainer", "Scorer", "TokenProfileExplainer",
           "TokenProfileScorer", "auroc", "sentence_spans", "LatentScore", "score_latent", "token_entropy"]


@dataclass(frozen=True)
class InterpretabilityConfig:
    """Sampling and scoring of the offline interpretability proxy (paper: Paulo et al.'s pipeline, 100 latents
    per layer, ≥ 200 activating windows, 40 explanation windows, 10 quantiles, 100 non-activating windows)."""

    latents_per_cell: int = param("latents sampled per (variant, site) (paper: 100)", minimum=1)
    min_windows: int = param("a latent is sampled only with at least this many activating windows (paper: 200)",
                             minimum=2)
    explanation_windows: int = param("random activating windows the explanation is made from (paper: 40)",
                                     minimum=1)
    quantiles: int = param("held-out activating windows are drawn from this many quantiles of their maximum "
                           "activation (paper: 10)", minimum=1)
    test_per_quantile: int = param("held-out activating windows per quantile (paper: 10)", minimum=1)
    non_activating: int = param("windows where the latent never fires, for detection (paper: 100)", minimum=1)
    highlight_fraction: float = param("tokens at or above this fraction of the window's maximum activation are "
                                      "highlighted (paper: 0.3)", exclusive_minimum=0, maximum=1)
    coverage: float = param("a token profile keeps the fewest tokens that carry this share of the highlighted "
                            "activation mass", exclusive_minimum=0, maximum=1)
    max_terms: int = param("at most this many tokens in a token profile", minimum=1)
    entropy_min_activations: int = param("token entropy is computed for latents with at least this many "
                                         "activating tokens", minimum=1)
    seed: int = param("seed of the latent and window sampling", minimum=0)


@dataclass(frozen=True)
class Window:
    """One context: its token ids and the latent's activation on each token."""

    tokens: tuple[int, ...]
    activations: tuple[float, ...]

    def highlighted(self, fraction: float) -> tuple[int, ...]:
        """Positions with activation ≥ ``fraction`` × the window's maximum (none when the latent is silent)."""
        peak = max(self.activations, default=0.0)
        return tuple(i for i, a in enumerate(self.activations) if peak > 0 and a >= fraction * peak)


@dataclass(frozen=True)
class Explanation:
    """A token profile: token id -> weight (its share of the explained activation mass); or, from an LLM
    explainer (:mod:`superposition.llm_interpretability`), a sentence in ``text`` (weights then empty)."""

    weights: dict[int, float]
    text: str = ""

    def describe(self, decode) -> str:
        """The explanation in words, e.g. ``'water' (0.52), 'sea' (0.21)``; ``decode`` maps a token id to text."""
        if self.text:
            return self.text
        return ", ".join(f"{decode(t)!r} ({w:.2f})" for t, w in sorted(self.weights.items(), key=lambda kv: -kv[1]))


class Explainer(Protocol):
    """Makes an explanation of a latent from some of its activating windows."""

    def explain(self, windows: Sequence[Window]) -> Explanation: ...


class Scorer(Protocol):
    """Scores windows (detection) and highlighted token sets (fuzzing) against an explanation."""

    def detection(self, explanation: Explanation, windows: Sequence[Window]) -> list[float]: ...

    def fuzzing(self, explanation: Explanation, window: Window, highlighted: Sequence[int]) -> float: ...


@dataclass(frozen=True)
class TokenProfileExplainer:
    """The offline explainer (module docstring)."""

    highlight_fraction: float
    coverage: float
    max_terms: int

    def explain(self, windows: Sequence[Window]) -> Explanation:
        mass: dict[int, float] = {}
        for window in windows:
            for position in window.highlighted(self.highlight_fraction):
                token = window.tokens[position]
                mass[token] = mass.get(token, 0.0) + window.activations[position]
        total = sum(mass.values())
        chosen: dict[int, float] = {}
        for token, value in sorted(mass.items(), key=lambda kv: (-kv[1], kv[0])):
            if len(chosen) == self.max_terms or sum(chosen.values()) >= self.coverage * total:
                break
            chosen[token] = value
        return Explanation({token: value / total for token, value in chosen.items()} if total > 0 else {})


class TokenProfileScorer:
    """The offline scorer (module docstring)."""

    def detection(self, explanation: Explanation, windows: Sequence[Window]) -> list[float]:
        return [max((explanation.weights.get(t, 0.0) for t in w.tokens), default=0.0) for w in windows]

    def fuzzing(self, explanation: Explanation, window: Window, highlighted: Sequence[int]) -> float:
        return float(np.mean([explanation.weights.get(window.tokens[i], 0.0) for i in highlighted]))


def auroc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve (the Mann–Whitney statistic; ties count ½); None without both classes."""
    labels, scores = np.asarray(labels, dtype=bool), np.asarray(scores, dtype=float)
    positives, negatives = scores[labels], scores[~labels]
    if len(positives) == 0 or len(negatives) == 0:
        return None
    greater = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positives) * len(negatives)))


def sentence_spans(sequence_index: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal sentence indices in token order: the windows of a cache."""
    sequence_index = np.asarray(sequence_index)
    if len(sequence_index) == 0:
        return []
    breaks = np.flatnonzero(np.diff(sequence_index)) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(sequence_index)]])
    return list(zip(starts.tolist(), ends.tolist()))


@dataclass(frozen=True)
class LatentScore:
    """One latent's interpretability scores, its explanation and its top windows."""

    latent: int
    activating_windows: int
    detection_auroc: float | None
    fuzzing_auroc: float | None
    explanation: Explanation
    top_windows: tuple[Window, ...]


def _windows(tokens: np.ndarray, activations: np.ndarray, spans: Sequence[tuple[int, int]]) -> list[Window]:
    return [Window(tuple(tokens[a:b].tolist()), tuple(activations[a:b].tolist())) for a, b in spans]


def score_latent(latent: int, activations: np.ndarray, tokens: np.ndarray, spans: Sequence[tuple[int, int]],
                 config: InterpretabilityConfig, rng: np.random.Generator, explainer: Explainer,
                 scorer: Scorer, top: int = 5) -> LatentScore | None:
    """Explain and score one latent from its activations (n_tokens,) on the tokens (n_tokens,) cut into ``spans``;
    None when it has fewer than ``config.min_windows`` activating windows."""
    windows = _windows(tokens, activations, spans)
    peaks = np.array([max(w.activations, default=0.0) for w in windows])
    active = np.flatnonzero(peaks > 0)
    if len(active) < config.min_windows:
        return None
    ranked = active[np.argsort(-peaks[active], kind="stable")]
    explain_ids = rng.choice(ranked, size=min(config.explanation_windows, len(ranked) - 1), replace=False)
    explained = set(explain_ids.tolist())
    held_out = np.array([i for i in ranked if i not in explained])  # still sorted by peak
    test_ids = []
    for part in np.array_split(held_out, min(config.quantiles, len(held_out))):
        test_ids += rng.choice(part, size=min(config.test_per_quantile, len(part)), replace=False).tolist()
    silent = np.flatnonzero(peaks == 0)
    silent_ids = rng.choice(silent, size=min(config.non_activating, len(silent)), replace=False)
    explanation = explainer.explain([windows[i] for i in explain_ids])
    tests, negatives = [windows[i] for i in test_ids], [windows[i] for i in silent_ids]
    detection = auroc([True] * len(tests) + [False] * len(negatives),
                      scorer.detection(explanation, tests + negatives))
    labels, fuzz_scores = [], []
    for window in tests:
        right = window.highlighted(config.highlight_fraction)
        others = [i for i in range(len(window.tokens)) if i not in right]
        if not others:
            continue  # every token is highlighted: no wrong version exists
        wrong = rng.choice(others, size=min(len(right), len(others)), replace=False).tolist()
        labels += [True, False]
        fuzz_scores += [scorer.fuzzing(explanation, window, right), scorer.fuzzing(explanation, window, wrong)]
    return LatentScore(latent, len(active), detection, auroc(labels, fuzz_scores), explanation,
                       tuple(windows[i] for i in ranked[:top]))


def token_entropy(activations: np.ndarray, tokens: np.ndarray, weighting: str = "mass") -> float:
    """Entropy (nats) of the distribution over token ids of a latent's activations > 0: each token id weighted by
    its summed activation (``mass``) or its number of activations (``count``). 0 for a single-token latent."""
    active = activations > 0
    if not active.any():
        raise ValueError("the latent never fires")
    weights = activations[active] if weighting == "mass" else np.ones(int(active.sum()))
    if weighting not in ("mass", "count"):
        raise ValueError(f"weighting must be 'mass' or 'count', not {weighting!r}")
    _, inverse = np.unique(tokens[active], return_inverse=True)
    totals = np.bincount(inverse, weights=weights)
    p = totals / totals.sum()
    return float(-(p * np.log(p)).sum())
