"""Does a long conversation get slower? One conversation of many turns through /api/chat,
its last turns against the same questions asked as the first turn of new conversations.

The last `tail` turns and their fresh counterparts alternate (which goes first turns too), so
both see the same moment on the machine.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import httpx

from tests.bench import replies


@dataclass
class Growth:
    turns: int
    long_ms: list[float]  # the last `tail` turns of the long conversation
    fresh_ms: list[float]  # the same questions, each as turn 1 of a new conversation
    failures: int  # requests without a real answer, in either

    @property
    def ratio(self) -> float | None:
        if not self.long_ms or not self.fresh_ms:
            return None
        return statistics.fmean(self.long_ms) / statistics.fmean(self.fresh_ms)


def timed_chat(client: httpx.Client, url: str, sender: str, text: str) -> float | None:
    """Milliseconds to a real answer, None for anything else."""
    started = time.perf_counter()
    try:
        response = client.post(url, json={"sender": sender, "message": text})
        outcome = replies.classify(response.status_code, response.json())
    except (httpx.HTTPError, ValueError):
        return None
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed if outcome == replies.ANSWER else None


def measure(
    client: httpx.Client,
    gateway_url: str,
    questions: list[str],
    tag: str,
    turns: int = 200,
    tail: int = 10,
) -> Growth:
    url = gateway_url + "/api/chat"
    long_sender = f"{tag}-long"
    long_ms: list[float] = []
    fresh_ms: list[float] = []
    failures = 0
    for turn in range(1, turns + 1):
        text = questions[(turn - 1) % len(questions)]
        if turn <= turns - tail:
            failures += timed_chat(client, url, long_sender, text) is None
            continue
        pair = [(long_sender, long_ms), (f"{tag}-fresh-{turn}", fresh_ms)]
        for sender, into in pair if turn % 2 else pair[::-1]:
            ms = timed_chat(client, url, sender, text)
            if ms is None:
                failures += 1
            else:
                into.append(ms)
    return Growth(turns, long_ms, fresh_ms, failures)
