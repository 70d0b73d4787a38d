"""An LLM explainer and scorer for :mod:`superposition.interpretability`, through any OpenAI-compatible chat
endpoint (``POST <base_url>/chat/completions``). Nothing in the workflow needs it (no LLM is reachable offline);
a user who has an endpoint passes these to ``random_vs_trained.evaluate.evaluate_cells(explainer=…, scorer=…)``.

The prompts follow Paulo et al.'s protocol in spirit: the explainer sees activating windows with the tokens at or
above ``highlight_fraction`` of the window's peak marked ``<<token>>`` and answers with a short description;
detection asks, per window, for the probability that the latent fires somewhere in it; fuzzing asks for the
probability that the marked tokens are the ones the latent fires on. The answers are numbers in [0, 1] that the
AUROCs of :func:`superposition.interpretability.score_latent` rank.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from superposition.interpretability import Explanation, Window

__all__ = ["ChatEndpoint", "LLMExplainer", "LLMScorer", "render_window"]

_NUMBER = re.compile(r"[01](?:\.\d+)?|\.\d+")


@dataclass(frozen=True)
class ChatEndpoint:
    """An OpenAI-compatible chat-completions endpoint (``base_url`` like ``http://localhost:8000/v1``)."""

    base_url: str
    model: str
    api_key: str = ""
    timeout_s: float = 60.0

    def complete(self, system: str, user: str) -> str:
        """The assistant's reply to one system + user message (temperature 0)."""
        body = json.dumps({"model": self.model, "temperature": 0,
                           "messages": [{"role": "system", "content": system},
                                        {"role": "user", "content": user}]}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.base_url.rstrip('/')}/chat/completions", body, headers)
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            return json.loads(response.read())["choices"][0]["message"]["content"]


def render_window(window: Window, decode: Callable[[Sequence[int]], list[str]], marked: Sequence[int] = ()) -> str:
    """The window's text with the positions ``marked`` written ``<<token>>``."""
    words = decode(window.tokens)
    return " ".join(f"<<{w}>>" if i in set(marked) else w for i, w in enumerate(words))


def _probability(reply: str) -> float:
    match = _NUMBER.search(reply)
    return min(1.0, max(0.0, float(match.group()))) if match else 0.0


@dataclass(frozen=True)
class LLMExplainer:
    """Explains a latent from its activating windows with an LLM (an
    :class:`~superposition.interpretability.Explainer`)."""

    endpoint: ChatEndpoint
    decode: Callable[[Sequence[int]], list[str]]
    highlight_fraction: float = 0.3

    def explain(self, windows: Sequence[Window]) -> Explanation:
        examples = "\n".join(f"{i + 1}. {render_window(w, self.decode, w.highlighted(self.highlight_fraction))}"
                             for i, w in enumerate(windows))
        reply = self.endpoint.complete(
            "You explain what a neuron of a language model detects. Tokens where it fires strongly are marked "
            "<<like this>>. Answer with one short phrase.", examples)
        return Explanation({}, reply.strip())


@dataclass(frozen=True)
class LLMScorer:
    """Scores windows and highlighted tokens against an explanation with an LLM (a
    :class:`~superposition.interpretability.Scorer`)."""

    endpoint: ChatEndpoint
    decode: Callable[[Sequence[int]], list[str]]

    def detection(self, explanation: Explanation, windows: Sequence[Window]) -> list[float]:
        system = ("A neuron fires on: " + explanation.text + ". Answer only with the probability (0 to 1) that it "
                  "fires somewhere in the text.")
        return [_probability(self.endpoint.complete(system, render_window(w, self.decode))) for w in windows]

    def fuzzing(self, explanation: Explanation, window: Window, highlighted: Sequence[int]) -> float:
        system = ("A neuron fires on: " + explanation.text + ". Answer only with the probability (0 to 1) that the "
                  "tokens marked <<like this>> are the ones it fires on.")
        return _probability(self.endpoint.complete(system, render_window(window, self.decode, highlighted)))
