"""The console and /healthz against the knowledge base built from the real plan (the session's,
in tmp: tests/conftest.py)."""

from __future__ import annotations

import re

import pytest

from bot.console.passwords import set_password
from knowledge.answering import open_decision, respond
from tests.bot.conftest import CONSOLE_PASSWORD, sign_in


@pytest.fixture
def real_console(make_client, fake_rasa, kb_path):
    client = make_client(fake_rasa("normal"), knowledge_db=kb_path)
    set_password(client.app.state.password_store, CONSOLE_PASSWORD)
    assert sign_in(client).status_code == 303
    return client


def card_titles(page: str) -> list[str]:
    return re.findall(r'<h\d id="copy-[^"]*-title">([^<]*)</h\d>', page)


def test_search_puts_item_13_first(real_console):
    page = real_console.get("/console", params={"q": "看不见的人想考按摩证"}).text
    titles = card_titles(page)
    assert titles and titles[0].startswith("二（八）13")
    assert "市卫健委" in page and "二（八）第13条" in page


@pytest.mark.parametrize("words", ["我儿子聋人找工作", "智力残疾 上班"])
def test_search_finds_candidates_for_a_callers_own_words(real_console, words):
    """The trial: these found nothing in the console while the chat answered them."""
    page = real_console.get("/console", params={"q": words}).text
    assert "没有找到相关条目" not in page
    assert card_titles(page)


@pytest.mark.parametrize("words", ["今天天气怎么样", "asdfgh"])
def test_search_still_finds_nothing_for_what_is_not_in_the_plan(real_console, words):
    page = real_console.get("/console", params={"q": words}).text
    assert "没有找到相关条目" in page and not card_titles(page)


def test_browse_lists_every_item_in_order(real_console):
    page = real_console.get("/console/browse").text
    # card ids end with the entry key's suffix: items are plain numbers, targets "target-…"
    suffixes = re.findall(r'<h\d id="copy-[^"]*号-([^"]+)-title">', page)
    items = [int(s) for s in suffixes if s.isdigit()]
    assert items == list(range(1, 23))
    assert "三（二）" in suffixes and "target-2500" in suffixes and "保障措施" in page


def test_browse_by_department(real_console):
    page = real_console.get("/console/departments", params={"name": "卫健委"}).text
    refs = [t.split()[0] for t in card_titles(page)]
    assert "二（八）13" in refs and "二（一）1" not in refs


def test_healthz_sees_the_knowledge_base(real_console):
    kb = real_console.get("/healthz").json()["knowledge_base"]
    assert kb["ok"] is True and kb["entries"] >= 22 and kb["document"] == "黄政办发〔2022〕60号"


def test_search_puts_first_the_entry_the_chat_would_cite(make_client, fake_rasa, kb_path, kb):
    """One ranker: the console's first entry for some words is the chat's cited entry."""
    words = "看不见的人能做什么工作"
    ranking = [
        {"name": "ask_platform_jobs", "confidence": 0.55},
        {"name": "ask_blind_massage", "confidence": 0.4},
    ]
    parse = {"intent": ranking[0], "intent_ranking": ranking, "entities": []}
    client = make_client(fake_rasa("normal", parse=parse), knowledge_db=kb_path)
    set_password(client.app.state.password_store, CONSOLE_PASSWORD)
    assert sign_in(client).status_code == 303
    chat = respond(
        words,
        ranking[0]["name"],
        ranking[0]["confidence"],
        [],
        kb=kb,
        ranking=ranking,
        decision=open_decision(),
    )
    assert chat.sources
    ref = chat.sources[0]["ref"]
    titles = card_titles(client.get("/console", params={"q": words}).text)
    assert titles and titles[0].startswith(ref)
