"""The LLM explainer and scorer against a local stand-in of an OpenAI-compatible endpoint (no network)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from superposition.interpretability import Window
from superposition.llm_interpretability import ChatEndpoint, LLMExplainer, LLMScorer, render_window


class _Handler(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        user = body["messages"][1]["content"]
        reply = "water words" if "probability" not in body["messages"][0]["content"] else (
            "0.9" if "sea" in user else "Probability: 0.1")
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def endpoint():
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ChatEndpoint(f"http://127.0.0.1:{server.server_port}/v1", "stub", api_key="k")
    server.shutdown()


WORDS = ["the", "sea", "is", "blue", "a", "cat"]


def decode(ids):
    return [WORDS[i] for i in ids]


def test_render_window_marks_the_given_positions():
    assert render_window(Window((0, 1, 2), (0.0, 1.0, 0.0)), decode, [1]) == "the <<sea>> is"


def test_llm_explainer_and_scorer_speak_the_chat_protocol(endpoint):
    windows = [Window((0, 1, 2), (0.0, 2.0, 0.1)), Window((4, 5), (0.0, 0.0))]
    explanation = LLMExplainer(endpoint, decode).explain(windows[:1])
    assert explanation.text == "water words" and explanation.describe(decode) == "water words"
    scorer = LLMScorer(endpoint, decode)
    assert scorer.detection(explanation, windows) == [0.9, 0.1]
    assert scorer.fuzzing(explanation, windows[0], [1]) == 0.9
    first = _Handler.seen[0]
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer k" and first["temperature"] == 0
    assert "<<sea>>" in first["messages"][1]["content"]
