"""Hostile text on every text path: control characters, lone surrogates, 10,000 emoji,
zero-width characters, HTML, SQL and full-text-search syntax.

Through the chat API (a fake Rasa; masking, the conversation log, merging Rasa's replies) a
message gets a normal answer or a clear refusal: 200, 413, 422 or 429, never a 5xx, never a
stack trace, a Chinese `detail` with every 4xx. In process, the real answering code
(`knowledge.answering.respond`, the search and the ranker, on the plan built into a temporary
folder) returns an answer with text for any words, and never raises.
"""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat.masking import MOBILE_MASK
from bot.chat.visible_text import joins_symbols, visible_text
from knowledge import search as kb_search
from knowledge.answering import Answer, respond, topics
from knowledge.answering.decision import open_decision
from knowledge.ranking import rank

CHINESE = re.compile(r"[\u4e00-\u9fff]")
STACK_TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
API_STATUSES = {200, 413, 422, 429}
SURROGATE = re.compile(r"[\ud800-\udfff]")

HOSTILE = {
    "control characters": "盲人\x00按摩\x01考试\x1b[31m在哪\x7f报名\x85？",
    "only control characters": "\x00\x01\x02\x1b\x7f",
    "lone surrogate": "盲人按摩\ud800考试",
    "only a lone surrogate": "\ud800",
    "reversed surrogates": "\udfff\ud800",
    "10,000 emoji": "😀" * 10_000,
    "500 emoji": "👨‍🦯" * 166,
    "zero-width characters": "盲\u200b人\u200c按\u200d摩\u2060考\ufeff试",
    "only zero-width characters": "\u200b\u200c\u200d\ufeff",
    "direction override": "\u202e试考摩按人盲\u202c",
    "html": "<script>alert('x')</script><img src=x onerror=alert(1)>盲人按摩",
    "sql": "'; DROP TABLE turns;--",
    "sql in chinese": "盲人按摩' OR '1'='1",
    "fts quote": '"',
    "fts star": "*",
    "fts near": "NEAR",
    "fts near call": "NEAR(盲人 按摩, 2)",
    "fts or": "OR",
    "fts and not": "盲人 AND NOT 按摩",
    "fts caret": "^盲人",
    "fts column": "title: 盲人",
    "fts parentheses": "((盲人) OR (按摩",
    "fts everything": '"盲人" OR 按摩* NEAR(a b) AND NOT ^c : ( ) -x {title body}',
    "a payload": '/ask_department{"department": "\ud800", "page": "99999999999999999999"}',
    "a broken payload": "/ask_detail{",
    "newlines and tabs": "盲人\n\n\t按摩\r\n考试",
    "full-width digits": "我的手机１３８１２３４５６７８",
}
HOSTILE_PIECES = [text for text in HOSTILE.values() if len(text) < 100]
# A few whole words of the plan among the hostile pieces, so the search has something to find.
PLAN_WORDS = ["盲人", "按摩", "残疾人", "就业", "补贴", "培训", "残联", "第13条", "考试"]


def hostile_texts(max_size: int = 60):
    """Any text, with surrogates and hostile pieces mixed into words of the plan."""
    piece = st.one_of(
        st.text(max_size=8),  # any code point hypothesis likes, but no surrogates
        st.integers(0xD800, 0xDFFF).map(chr),  # lone surrogates
        st.sampled_from(HOSTILE_PIECES),
        st.sampled_from(PLAN_WORDS),
        st.sampled_from(['"', "*", "NEAR", "OR", "AND", "NOT", "^", ":", "(", ")", "-", "\x00"]),
    )
    return st.lists(piece, max_size=12).map(lambda pieces: "".join(pieces)[:max_size])


FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=80,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def invisible(text: str) -> list[str]:
    """The characters of `text` that visible_text drops (control, format, surrogate; a
    zero-width joiner between two symbols builds an emoji and stays)."""
    return [
        c
        for i, c in enumerate(text)
        if c not in "\t\n\r"
        and unicodedata.category(c) in ("Cc", "Cf", "Cs")
        and not (c == "\u200d" and joins_symbols(text, i))
    ]


# -- through the API ------------------------------------------------------------------------


@pytest.fixture
def api(make_client, fake_rasa):
    rasa = fake_rasa("normal")
    # Every example is another message from one address: without this most would be a 429.
    client = make_client(rasa, rate_limit_per_minute=0, rate_limit_per_address_per_minute=0)
    return client, rasa


def post_chat(client, message: str, sender: str | None = None):
    """POST /api/chat as a browser's JSON.stringify sends it: UTF-8, lone surrogates escaped
    (\\ud800)."""
    body = {"message": message} if sender is None else {"message": message, "sender": sender}
    content = SURROGATE.sub(
        lambda m: f"\\u{ord(m.group()):04x}", json.dumps(body, ensure_ascii=False)
    )
    return client.post(
        "/api/chat", content=content.encode("utf-8"), headers={"content-type": "application/json"}
    )


def assert_answer_or_clear_refusal(response) -> None:
    assert response.status_code in API_STATUSES, (response.status_code, response.text[:300])
    assert not STACK_TRACE.search(response.text)
    body = response.json()
    if response.status_code == 200:
        assert body["replies"] and all(r["text"].strip() for r in body["replies"])
    else:
        assert CHINESE.search(body["detail"]), body


def assert_only_visible_text_went_on(client, rasa, before: int) -> None:
    """What Rasa and the conversation log got is readable, visible text (bot.chat.visible_text)."""
    for sent in rasa.received[before:]:
        message = sent["message"]
        assert not invisible(message), repr(message)
        message.encode("utf-8")
        assert message.strip()
    for turn in client.app.state.conversation_log.turns(limit=5):
        assert not invisible(turn["message"]), repr(turn["message"])


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_messages_get_an_answer_or_a_clear_refusal(shared_client, shared_rasa, text):
    client, rasa = shared_client, shared_rasa
    before = len(rasa.received)
    response = post_chat(client, text)
    assert_answer_or_clear_refusal(response)
    assert_only_visible_text_went_on(client, rasa, before)
    if response.status_code == 200:
        # The fake Rasa repeats the message: merged into the reply, still JSON-safe text.
        assert response.json()["replies"][0]["text"].startswith("关于盲人医疗按摩：")


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("😀" * 10_000, "消息太长了"),
        ("\ud800", "消息不能为空"),
        ("\x00\x01\x02\x1b\x7f", "消息不能为空"),
        ("\u200b\u200c\u200d\ufeff", "消息不能为空"),
    ],
)
def test_what_leaves_nothing_readable_or_is_too_long_is_refused_with_a_reason(api, text, detail):
    client, rasa = api
    response = post_chat(client, text)
    assert response.status_code == 422 and detail in response.json()["detail"]
    assert rasa.received == []  # refused before Rasa


def test_a_lone_surrogate_in_the_message_is_dropped_not_a_hand_off(api):
    """It used to make the Rasa request fail to encode: the "unavailable" hand-off reply, and
    a log write failure counted against the log."""
    client, rasa = api
    response = post_chat(client, "盲人按摩\ud800考试")
    assert response.status_code == 200 and response.json()["handoff"] is False
    assert rasa.received[-1]["message"] == "盲人按摩考试"
    assert client.app.state.chat_service.log_failures == 0
    assert client.app.state.conversation_log.turns()[0]["message"] == "盲人按摩考试"


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        (
            "/api/chat",
            {"sender": "kiosk\ud800", "message": "盲人按摩"},
            "sender 里有无法识别的字符",
        ),
        ("/api/feedback", {"answer_id": "\ud800", "value": "up"}, "answer_id 不正确"),
    ],
)
def test_a_lone_surrogate_in_a_key_is_refused_not_a_500(api, path, body, detail):
    client, _ = api
    response = client.post(
        path, content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and detail in response.json()["detail"]


def test_a_body_that_is_not_utf8_is_a_422_in_chinese(api):
    client, _ = api
    response = client.post(
        "/api/chat",
        content=b'{"message": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("请求格式不正确")


def test_zero_width_characters_cannot_hide_a_phone_number_from_masking(api):
    client, rasa = api
    for text in (
        "我的手机138\u200b1234\u200b5678",
        "手机\x001381234\u20605678",
        "138\ufeff12345678",
    ):
        assert post_chat(client, text).status_code == 200
        assert MOBILE_MASK in rasa.received[-1]["message"], rasa.received[-1]["message"]
        assert "5678" not in client.app.state.conversation_log.turns()[0]["message"]


def test_html_in_a_message_is_shown_as_text_in_the_console(signed_in):
    signed_in.post("/api/chat", json={"message": "<script>alert('x')</script>盲人按摩"})
    page = signed_in.get("/console/log").text
    assert "<script>alert(" not in page
    assert "&lt;script&gt;" in page


@FUZZ
@given(text=hostile_texts(max_size=600), sender=st.none() | hostile_texts(max_size=140))
def test_any_message_gets_an_answer_or_a_clear_refusal(api, text, sender):
    client, rasa = api
    before = len(rasa.received)
    response = post_chat(client, text, sender)
    assert_answer_or_clear_refusal(response)
    assert_only_visible_text_went_on(client, rasa, before)


# -- in process: the real answering code (on `kb`, the session's knowledge base) -------------


@pytest.fixture(scope="module")
def decision(test_decision):
    return open_decision(test_decision)


INTENTS = [None, "out_of_scope", "ask_department", "ask_detail", "ask_more", "ask_responsible"]


def intents() -> list[str | None]:
    return INTENTS + sorted(topics().candidates)[:6]


def assert_an_answer(answer) -> None:
    assert isinstance(answer, Answer)
    assert answer.text.strip()
    # What goes back to Rasa and the user is text any JSON encoder and database takes.
    answer.text.encode("utf-8")
    for button in answer.buttons:
        (button["title"] + button["payload"]).encode("utf-8")


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_respond_answers_hostile_text(kb, decision, text):
    for intent in intents():
        ranking = [{"name": intent, "confidence": 0.6}] if intent else None
        answer = respond(
            text=text,
            intent=intent,
            confidence=0.6 if intent else None,
            entities=[],
            kb=kb,
            ranking=ranking,
            decision=decision,
        )
        assert_an_answer(answer)


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_the_search_and_the_ranker_take_hostile_text(kb, text):
    for fallback in (False, True):
        hits = kb.search(text, limit=5, fallback=fallback)
        assert all(h.score > 0 for h in hits)
    ranked = rank(kb, text)
    assert ranked and all(r.relevance >= 0 and 0 <= r.fts <= 1 for r in ranked)


def test_fts_syntax_is_searched_as_words_not_run_as_a_query(kb):
    """Every term is quoted (knowledge.search.fts_query): "AND NOT 按摩" does not leave the
    massage items out, and the operators alone find nothing."""
    plain = [h.entry.key for h in kb.search("盲人 按摩")]
    assert plain
    for query in ('"盲人" OR 按摩*', "盲人 AND NOT 按摩", "NEAR(盲人 按摩, 2)", "title: 盲人 按摩"):
        assert [h.entry.key for h in kb.search(query)][:1] == plain[:1], query
    for syntax in ('"', "*", "NEAR", "OR", "AND NOT", "^", ":", "(", ")"):
        assert kb.search(syntax) == []


@FUZZ
@given(
    text=hostile_texts(),
    intent=st.sampled_from(INTENTS + ["ask_blind_massage", "ask_subsidy", "greet"]),
    confidence=st.floats(0, 1),
    entity=st.none()
    | st.fixed_dictionaries(
        {
            "entity": st.sampled_from(["department", "topic", "item", "page"]),
            "value": hostile_texts(20),
        }
    ),
)
def test_respond_answers_any_text(kb, decision, text, intent, confidence, entity):
    answer = respond(
        text=text,
        intent=intent,
        confidence=confidence if intent else None,
        entities=[entity] if entity else [],
        kb=kb,
        ranking=[{"name": intent, "confidence": confidence}] if intent else None,
        decision=decision,
    )
    assert_an_answer(answer)


@FUZZ
@given(text=hostile_texts())
def test_the_search_takes_any_text(kb, text):
    assert isinstance(kb.search(text, fallback=True), list)
    assert len(rank(kb, text)) == len(rank(kb, "盲人"))


def test_subwords_of_a_long_token_cost_its_length_not_its_square(monkeypatch):
    """A run of 20,000 letters (a pasted blob) was 200 million dictionary look-ups."""
    looked_up = []
    freq = kb_search._dictionary()

    class Counting(dict):
        def get(self, key, default=None):
            looked_up.append(key)
            return freq.get(key, default)

    monkeypatch.setattr(kb_search, "_dictionary", lambda: Counting())
    assert kb_search.subwords("a" * 20_000) == []
    assert len(looked_up) < 20_000 * 20
    assert {"残疾人", "大学生"} <= set(kb_search.subwords("残疾人大学生"))


def test_visible_text_keeps_what_people_see():
    assert (
        visible_text("盲\u200b人\x00按摩\ud800\n考试\t👨\u200d🦯") == "盲人按摩\n考试\t👨\u200d🦯"
    )
    # A joiner beside a digit or a letter is no emoji: it would hide a phone number.
    assert visible_text("138\u200d1234\u200d5678 盲\u200d人") == "13812345678 盲人"
    assert visible_text("２０２２年，第13条；<b>&amp;") == "２０２２年，第13条；<b>&amp;"
