"""One real question through the whole stack: gateway -> Rasa -> action server -> knowledge base."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.e2e
def test_blind_massage_exam_cites_item_13(live_stack):
    response = httpx.post(
        live_stack + "/api/chat",
        json={"sender": "e2e-1", "message": "盲人按摩考试在哪报名？"},
        timeout=10,
        trust_env=False,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["handoff"] is False, body
    assert body["replies"] and body["replies"][0]["text"].strip()
    assert body["sources"][0]["item"] == 13
    assert body["sources"][0]["ref"] == "二（八）13"
    assert body["intent"]["name"] == "ask_blind_massage"
    health = httpx.get(live_stack + "/healthz", timeout=10, trust_env=False).json()
    assert all(
        health[part]["ok"] for part in ("gateway", "rasa", "action_server", "knowledge_base")
    )
