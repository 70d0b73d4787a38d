"""The offline interpretability proxy and the token entropy: known answers and the protocol's invariants."""

import math

import numpy as np
import pytest

from superposition.interpretability import (
    Explanation,
    InterpretabilityConfig,
    TokenProfileExplainer,
    TokenProfileScorer,
    Window,
    auroc,
    score_latent,
    sentence_spans,
    token_entropy,
)

CONFIG = InterpretabilityConfig(latents_per_cell=4, min_windows=10, explanation_windows=8, quantiles=4,
                                test_per_quantile=2, non_activating=10, highlight_fraction=0.3, coverage=0.8,
                                max_terms=5, entropy_min_activations=5, seed=0)


def test_auroc_known_answers_and_agreement_with_scikit_learn():
    from sklearn.metrics import roc_auc_score

    assert auroc([True, True, False, False], [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert auroc([True, False], [0.1, 0.9]) == 0.0
    assert auroc([True, False], [0.5, 0.5]) == 0.5  # a tie counts a half
    assert auroc([True, True], [0.1, 0.2]) is None
    rng = np.random.default_rng(0)
    labels, scores = rng.random(200) < 0.4, rng.integers(0, 5, 200) / 4  # many ties
    assert auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


def test_token_entropy_known_answers():
    tokens = np.array([3, 3, 4, 4, 9])
    assert token_entropy(np.array([1.0, 2.0, 0.0, 0.0, 0.0]), tokens) == 0.0  # one token id
    assert token_entropy(np.array([1.0, 1.0, 2.0, 0.0, 0.0]), tokens) == pytest.approx(math.log(2))  # 2 vs 2
    assert token_entropy(np.array([3.0, 0.0, 1.0, 0.0, 0.0]), tokens, "count") == pytest.approx(math.log(2))
    mass = token_entropy(np.array([3.0, 0.0, 1.0, 0.0, 0.0]), tokens, "mass")
    assert mass == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    with pytest.raises(ValueError, match="never fires"):
        token_entropy(np.zeros(5), tokens)


def test_sentence_spans_cut_at_each_new_sentence():
    assert sentence_spans(np.array([4, 4, 4, 9, 2, 2])) == [(0, 3), (3, 4), (4, 6)]
    assert sentence_spans(np.array([], dtype=int)) == []


def test_token_profile_explains_the_highlighted_mass_and_scores_by_it():
    windows = [Window((1, 2, 3), (0.0, 2.0, 0.1)), Window((2, 5), (1.0, 1.0)), Window((7, 8), (0.0, 0.0))]
    explanation = TokenProfileExplainer(0.3, coverage=0.7, max_terms=5).explain(windows)
    # highlighted mass: token 2 gets 2 + 1 = 3, token 5 gets 1 (0.1 < 0.3 × 2 is not highlighted): 3/4 ≥ 0.7
    assert explanation.weights == {2: 0.75}
    scorer = TokenProfileScorer()
    assert scorer.detection(explanation, windows) == [0.75, 0.75, 0.0]
    assert scorer.fuzzing(explanation, windows[1], [0]) == 0.75 and scorer.fuzzing(explanation, windows[1], [1]) == 0
    assert Explanation({2: 0.75}).describe(lambda t: f"t{t}") == "'t2' (0.75)"


def _corpus(rng, sentences=200, vocab=30, length=6):
    tokens = rng.integers(0, vocab, sentences * length)
    sequence = np.repeat(np.arange(sentences), length)
    return tokens, sentence_spans(sequence)


def test_a_single_token_latent_scores_perfectly_and_a_random_one_at_chance():
    rng = np.random.default_rng(0)
    tokens, spans = _corpus(rng)
    token_latent = np.where(tokens == 7, 1.0 + rng.random(len(tokens)), 0.0)
    explainer, scorer = TokenProfileExplainer(0.3, 0.8, 5), TokenProfileScorer()
    score = score_latent(0, token_latent, tokens, spans, CONFIG, np.random.default_rng(1), explainer, scorer)
    assert score.explanation.weights == {7: 1.0}
    assert score.detection_auroc == 1.0 and score.fuzzing_auroc == 1.0
    assert len(score.top_windows) == 5 and all(7 in w.tokens for w in score.top_windows)
    random_latent = np.where(rng.random(len(tokens)) < 0.1, rng.random(len(tokens)), 0.0)
    noisy = [score_latent(0, random_latent, tokens, spans, CONFIG, np.random.default_rng(seed), explainer, scorer)
             for seed in range(20)]
    assert 0.3 < np.mean([s.detection_auroc for s in noisy]) < 0.8
    assert 0.3 < np.mean([s.fuzzing_auroc for s in noisy]) < 0.7


def test_latents_with_too_few_activating_windows_are_not_scored():
    rng = np.random.default_rng(0)
    tokens, spans = _corpus(rng, sentences=30)
    rare = np.zeros(len(tokens))
    rare[:5 * 6] = 1.0  # fires in 5 windows, fewer than min_windows = 10
    assert score_latent(0, rare, tokens, spans, CONFIG, rng, TokenProfileExplainer(0.3, 0.8, 5),
                        TokenProfileScorer()) is None
