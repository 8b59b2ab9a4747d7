"""One question down four paths, round by round, so noise on the machine hits each path alike.

* floor: `knowledge.answering.respond` in this process, on the parse Rasa gave the question
  (parsed once up front; only `respond` is timed);
* parse: Rasa's /model/parse;
* webhook: Rasa's REST channel (a new sender per question: NLU, the policies, the action server);
* chat: the gateway's /api/chat (a new sender per question: all of the above plus the gateway).

Within a round the order of the paths turns with every question, so no path always goes first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from knowledge.answering import open_decision, respond
from knowledge.answering.question import WORDS_RANKING
from knowledge.store import open_kb
from tests.bench import replies

PATHS = ("floor", "parse", "webhook", "chat")


@dataclass
class PathResults:
    rounds: int
    questions: int
    ms: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PATHS})
    errors: dict[str, int] = field(default_factory=lambda: {p: 0 for p in PATHS})


def parse_url(rasa_url: str, token: str) -> str:
    return rasa_url + "/model/parse" + (f"?token={token}" if token else "")


def parse_all(
    client: httpx.Client, rasa_url: str, questions: list[str], token: str = ""
) -> list[dict]:
    """Rasa's parse of each question (raises httpx.HTTPError when Rasa does not answer)."""
    parsed = []
    for text in questions:
        response = client.post(parse_url(rasa_url, token), json={"text": text})
        response.raise_for_status()
        parsed.append(response.json())
    return parsed


class Paths:
    def __init__(
        self,
        client: httpx.Client,
        gateway_url: str,
        rasa_urls: list[str],
        tag: str,
        token: str = "",
    ):
        self.client = client
        self.token = token
        self.gateway_url = gateway_url
        self.rasa_urls = rasa_urls
        self.tag = tag
        self.kb = open_kb()
        self.decision = open_decision()

    def floor(self, parsed: dict) -> None:
        intent = parsed.get("intent") or {}
        respond(
            text=parsed.get("text") or "",
            intent=intent.get("name"),
            confidence=intent.get("confidence"),
            entities=parsed.get("entities") or [],
            ranking=parsed.get("intent_ranking") or [],
            words_ranking=parsed.get(WORDS_RANKING),
            kb=self.kb,
            decision=self.decision,
        )

    def parse(self, rasa_url: str, text: str) -> bool:
        response = self.client.post(parse_url(rasa_url, self.token), json={"text": text})
        return response.status_code == 200

    def webhook(self, rasa_url: str, text: str, sender: str) -> bool:
        response = self.client.post(
            rasa_url + "/webhooks/rest/webhook", json={"sender": sender, "message": text}
        )
        return response.status_code == 200 and bool(response.json())

    def chat(self, text: str, sender: str) -> bool:
        response = self.client.post(
            self.gateway_url + "/api/chat", json={"sender": sender, "message": text}
        )
        return replies.classify(response.status_code, response.json()) == replies.ANSWER

    def once(
        self, path: str, text: str, parsed: dict, sender: str, rasa_url: str
    ) -> tuple[float, bool]:
        """Milliseconds one request took down `path`, and whether it gave a real answer."""
        started = time.perf_counter()
        try:
            if path == "floor":
                self.floor(parsed)
                ok = True
            elif path == "parse":
                ok = self.parse(rasa_url, text)
            elif path == "webhook":
                ok = self.webhook(rasa_url, text, sender)
            else:
                ok = self.chat(text, sender)
        except (httpx.HTTPError, ValueError):
            ok = False
        return (time.perf_counter() - started) * 1000, ok


def run(
    paths: Paths, questions: list[str], parsed: list[dict], rounds: int, warm_up: int = 1
) -> PathResults:
    """`warm_up` rounds first (not counted), then `rounds` counted ones. With several Rasa
    processes, each question's parse and webhook go to the next one in turn."""
    results = PathResults(rounds, len(questions))
    for r in range(warm_up + rounds):
        for i, (text, p) in enumerate(zip(questions, parsed)):
            sender = f"{paths.tag}-path-{r}-{i}"
            turn = (r + i) % len(PATHS)
            rasa_url = paths.rasa_urls[(r + i) % len(paths.rasa_urls)]
            for path in PATHS[turn:] + PATHS[:turn]:
                ms, ok = paths.once(path, text, p, f"{sender}-{path}", rasa_url)
                if r < warm_up:
                    continue
                if ok:
                    results.ms[path].append(ms)
                else:
                    results.errors[path] += 1
    return results
