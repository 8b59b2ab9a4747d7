"""Fixtures for the action tests: the session's knowledge base (tests/conftest.py) as
KNOWLEDGE_DB, and hand-built trackers."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa_sdk import Tracker

from knowledge.store import open_kb


@pytest.fixture
def kb_env(monkeypatch, kb_path) -> Path:
    """Actions open the knowledge base named by KNOWLEDGE_DB, as in production."""
    monkeypatch.setenv("KNOWLEDGE_DB", str(kb_path))
    open_kb.cache_clear()
    yield kb_path
    open_kb.cache_clear()


@pytest.fixture
def make_tracker():
    """A factory of Tracker objects for one user message."""
    return _make_tracker


def _make_tracker(
    text: str,
    intent: str,
    confidence: float = 0.95,
    entities: list[dict] | None = None,
    slots: dict | None = None,
    ranking: list[tuple[str, float]] | None = None,
) -> Tracker:
    """`ranking`: Rasa's whole intent ranking (the intent alone when not given)."""
    ranking = ranking or [(intent, confidence)]
    return Tracker(
        sender_id="test",
        slots={"last_keys": None, "last_query": None, "shown_keys": None, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [],
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
