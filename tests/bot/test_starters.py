"""One list of starter topics for the web page and the WeChat menu (bot/api/starters.py)."""

from __future__ import annotations

from pathlib import Path

from bot.api.starters import STARTERS
from bot.wechat.menu import TOPICS

WEBCHAT = Path(__file__).resolve().parents[2] / "webchat"


def test_the_web_page_gets_the_starters_from_the_gateway(client):
    body = client.get("/api/topics").json()
    assert body == {"topics": [{"title": s.title, "message": s.message} for s in STARTERS]}
    assert "看看我适合哪些政策" in [t["title"] for t in body["topics"]]


def test_the_wechat_menu_sends_the_same_questions_in_the_same_order():
    assert [t.payload for t in TOPICS] == [s.message for s in STARTERS]


def test_the_page_itself_writes_no_topic_of_its_own():
    html = (WEBCHAT / "index.html").read_text(encoding="utf-8")
    assert '<ul class="button-list" id="topic-list"></ul>' in html
    assert "data-message" not in html
