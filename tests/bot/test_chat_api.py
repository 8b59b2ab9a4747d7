"""POST /api/chat, /api/history, /api/feedback against a fake Rasa in every mode."""

from __future__ import annotations

import re
import time

import pytest

from bot import deps
from bot.api.middleware import CONTENT_SECURITY_POLICY
from bot.api.models import (
    BAD_ANSWER_ID,
    BAD_FEEDBACK_VALUE,
    EMPTY_MESSAGE,
    MALFORMED_BODY,
    MISSING_ANSWER_ID,
    MISSING_MESSAGE,
    NOT_AN_OBJECT,
    NOT_TEXT,
    TOO_LONG_MESSAGE,
)
from bot.chat.plain_summaries import PlainSummaries
from bot.chat.service import UNAVAILABLE_TEXT
from bot.settings import Settings
from knowledge.errors import KnowledgeBaseMissing
from tests.fakes import BLIND_MASSAGE_SOURCE, DOC, PLAIN_13, FakeKnowledgeBase

CJK = re.compile(r"[\u4e00-\u9fff]")
ANSWER_ID = re.compile(r"[0-9a-f]{32}")
# The issue's shape, exactly: nothing more at the top level or in a source.
RESPONSE_KEYS = {"sender", "replies", "sources", "intent", "handoff"}
SOURCE_KEYS = {"document", "item", "ref", "title", "departments", "plain", "key", "detail"}


def test_normal_answer_carries_replies_sources_intent(client):
    response = client.post(
        "/api/chat", json={"sender": "kiosk-1", "message": "盲人按摩考试在哪报名"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["sender"] == "kiosk-1"
    assert body["replies"][0]["text"] == "关于盲人医疗按摩：盲人按摩考试在哪报名"
    assert body["replies"][0]["buttons"] == [{"title": "找谁办", "payload": "/ask_responsible"}]
    assert body["sources"][0]["item"] == 13 and body["sources"][0]["ref"] == "二（八）13"
    assert body["sources"][0]["departments"] == BLIND_MASSAGE_SOURCE["departments"]
    assert body["intent"] == {"name": "ask_blind_massage", "confidence": 0.97}
    assert body["handoff"] is False
    assert ANSWER_ID.fullmatch(response.headers["x-answer-id"])
    assert "set-cookie" not in response.headers  # a client key needs no cookie


@pytest.mark.parametrize("mode", ["normal", "down"])
def test_response_has_exactly_the_issue_shape(make_client, fake_rasa, mode):
    client = make_client(fake_rasa(mode))
    for body in ({"sender": "kiosk-1", "message": "盲人按摩考试"}, {"message": "盲人按摩考试"}):
        response = client.post("/api/chat", json=body)
        answer = response.json()
        assert set(answer) == RESPONSE_KEYS
        for source in answer["sources"]:
            assert set(source) == SOURCE_KEYS  # no internal kind
        assert set(answer["intent"] or {}) <= {"name", "confidence"}
        for reply in answer["replies"]:
            assert set(reply) == {"text", "buttons"}
            for button in reply["buttons"]:
                assert set(button) == {"title", "payload"}
        assert ANSWER_ID.fullmatch(response.headers["x-answer-id"])
    if mode == "normal":
        assert answer["sources"], "the fake cites item 13"
    history = client.get("/api/history").json()["turns"]
    assert history and all(set(s) == SOURCE_KEYS for t in history for s in t["sources"])


def test_rasa_never_sees_the_raw_conversation_key(make_client, fake_rasa):
    rasa = fake_rasa("normal")
    client = make_client(rasa)
    client.post("/api/chat", json={"sender": "kiosk-1", "message": "你好"})
    client.post("/api/chat", json={"message": "你好"})
    token = client.cookies.get("conversation")
    senders = [r["sender"] for r in rasa.received]
    assert "kiosk-1" not in senders[0] and token not in senders[1]
    assert senders[0] != senders[1]


def test_same_key_different_namespace_is_a_different_rasa_conversation(client):
    service = client.app.state.chat_service
    assert service.rasa_sender("api:abc") != service.rasa_sender("web:abc")


@pytest.mark.parametrize("mode", ["down", "empty", "garbage"])
def test_unusable_rasa_gives_hotline_handoff(make_client, fake_rasa, mode):
    client = make_client(fake_rasa(mode))
    started = time.monotonic()
    response = client.post("/api/chat", json={"message": "盲人按摩考试"})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    body = response.json()
    assert body["handoff"] is True
    assert body["replies"] == [{"text": UNAVAILABLE_TEXT, "buttons": []}]
    assert "12385" in body["replies"][0]["text"]
    assert body["sources"] == [] and body["intent"] is None
    assert elapsed < 3


def test_slow_rasa_still_answers_within_three_seconds(make_client, fake_rasa):
    # The default RASA_TIMEOUT, not the short one of the other tests.
    default = Settings.__fields__["rasa_timeout"].default
    assert default == 2.0
    client = make_client(fake_rasa("slow", slow_seconds=8), rasa_timeout=default)
    started = time.monotonic()
    response = client.post("/api/chat", json={"message": "盲人按摩考试"})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["handoff"] is True
    assert "12385" in response.json()["replies"][0]["text"]
    assert elapsed < 3.0


def test_fallback_turns_are_logged_as_unanswered(make_client, fake_rasa):
    client = make_client(fake_rasa("down"))
    client.post("/api/chat", json={"message": "能帮我吗"})
    [turn] = client.app.state.conversation_log.turns()
    assert turn["handoff"] is True and turn["answered"] is False and turn["kind"] == "unavailable"


# -- validation and limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"json": {"message": ""}}, EMPTY_MESSAGE),
        ({"json": {"message": "   \n "}}, EMPTY_MESSAGE),
        ({"json": {"message": "\u3000\t"}}, EMPTY_MESSAGE),
        ({"json": {"message": "问" * 501}}, TOO_LONG_MESSAGE),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, "格式"),
        ({"json": {"sender": "x"}}, MISSING_MESSAGE),
        ({"json": {}}, MISSING_MESSAGE),
        ({"json": {"message": ["a"]}}, NOT_TEXT),
        ({"json": {"message": 123}}, NOT_TEXT),
        ({"json": {"message": 1.5}}, NOT_TEXT),
        ({"json": {"message": True}}, NOT_TEXT),
        ({"json": {"message": None}}, MISSING_MESSAGE),
        ({"json": {"message": {"text": "你好"}}}, NOT_TEXT),
        ({"json": {"sender": 42, "message": "你好"}}, NOT_TEXT),
        ({"json": {"sender": False, "message": "你好"}}, NOT_TEXT),
        ({"json": {"sender": "k" * 129, "message": "你好"}}, "128"),
        ({"json": ["message"]}, NOT_AN_OBJECT),
        ({"json": "盲人按摩"}, NOT_AN_OBJECT),
        ({"content": b"", "headers": {"content-type": "application/json"}}, "格式"),
    ],
)
def test_bad_requests_get_422_in_chinese(shared_client, kwargs, expected):
    """Each field's own problem is named; only a body that is not JSON is asked to be JSON."""
    response = shared_client.post("/api/chat", **kwargs)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and CJK.search(detail) and expected in detail
    assert shared_client.app.state.conversation_log.turns() == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"sender": "t1"}},
        {"json": {"message": None}},
        {"json": {"message": 5}},
        {"json": ["message"]},
    ],
)
def test_only_unreadable_bodies_are_asked_for_json(shared_client, kwargs):
    """The trial: {"sender": "t1"} was told to send JSON although it was JSON."""
    detail = shared_client.post("/api/chat", **kwargs).json()["detail"]
    assert detail != MALFORMED_BODY and "请发送 JSON" not in detail
    unreadable = shared_client.post(
        "/api/chat", content=b'{"message": ', headers={"content-type": "application/json"}
    )
    assert unreadable.json()["detail"] == MALFORMED_BODY


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"value": "up"}, MISSING_ANSWER_ID),
        ({"answer_id": 7, "value": "up"}, BAD_ANSWER_ID),
        ({"answer_id": "x" * 65, "value": "up"}, BAD_ANSWER_ID),
        ({"answer_id": "abc", "value": "meh"}, BAD_FEEDBACK_VALUE),
        ({"answer_id": "abc"}, BAD_FEEDBACK_VALUE),
    ],
)
def test_feedback_field_errors_name_the_field(shared_client, body, expected):
    response = shared_client.post("/api/feedback", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == expected


def test_message_is_trimmed_before_the_length_check(make_client, fake_rasa):
    rasa = fake_rasa("normal")
    client = make_client(rasa)
    assert client.post("/api/chat", json={"message": "  " + "问" * 500 + " "}).status_code == 200
    assert rasa.received[-1]["message"] == "问" * 500


def test_exactly_500_characters_is_accepted(client):
    assert client.post("/api/chat", json={"message": "问" * 500}).status_code == 200


def test_body_over_64k_declared_is_refused_before_parsing(client):
    big = b'{"message": "' + b"a" * (70 * 1024) + b'"}'
    response = client.post("/api/chat", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert CJK.search(response.json()["detail"])
    assert client.app.state.conversation_log.turns() == []


def test_streamed_body_over_64k_without_length_is_refused(client):
    def chunks():
        yield b'{"message": "'
        for _ in range(80):
            yield b"a" * 1024
        yield b'"}'

    response = client.post(
        "/api/chat", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_lying_content_length_is_refused(client):
    response = client.post(
        "/api/chat",
        content=b'{"message": "hi"}',
        headers={"content-type": "application/json", "content-length": "99999999"},
    )
    assert response.status_code == 413


# -- cookie conversations and isolation ------------------------------------------------------


def test_cookie_conversation_is_created_and_kept(client):
    first = client.post("/api/chat", json={"message": "第一问"})
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    token = client.cookies.get("conversation")
    assert token and len(token) == 22
    assert token not in first.text  # the response body never reveals the token
    client.post("/api/chat", json={"message": "第二问"})
    assert client.cookies.get("conversation") == token
    turns = client.get("/api/history").json()["turns"]
    assert [t["message"] for t in turns] == ["第一问", "第二问"]
    assert turns[0]["answer_id"] == first.headers["x-answer-id"]


def test_client_key_cannot_read_or_write_a_cookie_conversation(make_client, fake_rasa):
    rasa = fake_rasa("normal")
    alice = make_client(rasa)
    answer_id = alice.post("/api/chat", json={"message": "我的私事"}).headers["x-answer-id"]
    token = alice.cookies.get("conversation")

    mallory = make_client(rasa)
    # The same log and service as alice's.
    mallory.app.dependency_overrides[deps.conversation_log] = lambda: alice.app.state.conversation_log
    mallory.app.dependency_overrides[deps.chat_service] = lambda: alice.app.state.chat_service
    stolen = mallory.post("/api/chat", json={"sender": token, "message": "看看历史"})
    assert stolen.status_code == 200
    assert "我的私事" not in stolen.text
    assert mallory.get("/api/history").json() == {"turns": []}
    assert (
        mallory.post("/api/feedback", json={"answer_id": answer_id, "value": "down"}).status_code
        == 404
    )
    # Alice's history holds only her own turn, not the one sent with her token as key.
    assert [t["message"] for t in alice.get("/api/history").json()["turns"]] == ["我的私事"]
    # Rasa saw two different conversations.
    assert rasa.received[0]["sender"] != rasa.received[1]["sender"]


def test_forged_cookie_is_replaced(client):
    response = client.post(
        "/api/chat", json={"message": "你好"}, headers={"cookie": "conversation=../../etc/passwd"}
    )
    issued = response.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", issued)


def test_feedback_on_own_answer(client):
    answer_id = client.post("/api/chat", json={"message": "盲人按摩"}).headers["x-answer-id"]
    assert client.post("/api/feedback", json={"answer_id": answer_id, "value": "down"}).json() == {
        "ok": True
    }
    assert client.post("/api/feedback", json={"answer_id": 7, "value": "up"}).status_code == 422
    assert client.get("/api/history").json()["turns"][0]["feedback"] == "down"
    assert (
        client.post("/api/feedback", json={"answer_id": answer_id, "value": "meh"}).status_code
        == 422
    )
    assert (
        client.post("/api/feedback", json={"answer_id": "nope", "value": "up"}).status_code == 404
    )


def test_history_shows_a_button_press_as_its_title(client):
    client.post("/api/chat", json={"message": "盲人按摩考试"})
    client.post("/api/chat", json={"message": "/ask_responsible"})
    client.post("/api/chat", json={"message": '/ask_detail{"entry":"黄政办发〔2022〕60号#13"}'})
    turns = client.get("/api/history").json()["turns"]
    assert [(t["message"], t["payload"]) for t in turns] == [
        ("盲人按摩考试", None),
        ("找谁办", "/ask_responsible"),
        ("查看原文：二（八）13", '/ask_detail{"entry":"黄政办发〔2022〕60号#13"}'),
    ]


def test_history_without_cookie_is_empty(client):
    client.post("/api/chat", json={"sender": "k", "message": "你好"})
    assert client.get("/api/history").json() == {"turns": []}


# -- headers, health, docs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/history",
        "/healthz",
        "/docs",
        "/openapi.json",
        "/console/login",
        "/static/console.js",
        "/no-such-page",
    ],
)
def test_security_headers_on_every_response(shared_client, path):
    response = shared_client.get(path)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_security_headers_on_413(client):
    response = client.post("/api/chat", content=b"x" * 70_000)
    assert response.status_code == 413 and "content-security-policy" in response.headers


def test_webchat_page_is_served_at_root(client):
    response = client.get("/")
    assert response.status_code == 200 and 'lang="zh-CN"' in response.text


def test_healthz_reports_each_part(make_client, fake_rasa):
    up = make_client(fake_rasa("normal")).get("/healthz")
    body = up.json()
    assert body["gateway"]["ok"] and body["rasa"]["ok"] and body["action_server"]["ok"]
    assert body["knowledge_base"]["ok"] is False  # the test settings point at a missing file
    assert up.status_code == 503 and body["status"] == "degraded"
    down = make_client(fake_rasa("down")).get("/healthz").json()
    assert down["rasa"]["ok"] is False and down["action_server"]["ok"] is False
    # Without REDIS_URL the workers' shared state is this process's own.
    assert body["gateway"]["shared_state"] == {"kind": "in_process"}


def test_healthz_is_200_when_every_part_is_up(make_client, fake_rasa, monkeypatch):
    from bot.api import health

    monkeypatch.setattr(health, "knowledge_base_health", lambda path: {"ok": True})
    response = make_client(fake_rasa("normal")).get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_openapi_describes_the_chat_api(client):
    spec = client.get("/openapi.json").json()
    chat = spec["paths"]["/api/chat"]["post"]
    assert {"200", "413", "422"} <= set(chat["responses"])
    header = chat["responses"]["200"]["headers"]["X-Answer-Id"]
    assert header["schema"]["type"] == "string" and "/api/feedback" in header["description"]
    assert "X-Answer-Id" in chat["description"]
    schemas = spec["components"]["schemas"]
    assert schemas["ChatRequest"]["example"]["message"]
    message = schemas["ChatRequest"]["properties"]["message"]
    assert (message["type"], message["minLength"], message["maxLength"]) == ("string", 1, 500)
    assert schemas["ChatRequest"]["properties"]["sender"]["maxLength"] == 128
    assert set(schemas["ChatResponse"]["properties"]) == RESPONSE_KEYS
    assert set(schemas["ChatResponse"]["example"]) == RESPONSE_KEYS
    assert set(schemas["Source"]["properties"]) == SOURCE_KEYS
    plain = schemas["Source"]["properties"]["plain"]
    assert plain["type"] == ["string", "null"] and "易读" in plain["description"]
    [example] = schemas["ChatResponse"]["example"]["sources"]
    assert set(example) == SOURCE_KEYS and example["plain"].startswith("盲人")
    health = spec["paths"]["/healthz"]["get"]["responses"]
    assert {"200", "503"} <= set(health) and "不可用" in health["503"]["description"]
    assert "/api/history" in spec["paths"] and "/api/feedback" in spec["paths"]
    assert not any(p.startswith("/console") for p in spec["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/api/chat" in docs.text and "<script" not in docs.text


# -- easy read: each source carries its entry's plain summary ---------------------------------


def test_sources_carry_the_plain_summary_from_the_knowledge_base(make_client, fake_rasa):
    client = make_client(fake_rasa("normal"), open_knowledge=FakeKnowledgeBase)
    body = client.post("/api/chat", json={"message": "盲人按摩考试在哪报名"}).json()
    assert body["sources"][0]["ref"] == "二（八）13"
    assert body["sources"][0]["plain"] == "\n".join(PLAIN_13)
    # Logged with the answer, so a reloaded page shows it too.
    [turn] = client.get("/api/history").json()["turns"]
    assert turn["sources"][0]["plain"] == "\n".join(PLAIN_13)


def test_without_a_knowledge_base_plain_is_null_and_the_answer_is_unchanged(client):
    body = client.post("/api/chat", json={"message": "盲人按摩考试在哪报名"}).json()
    assert body["sources"][0]["ref"] == "二（八）13"
    assert body["sources"][0]["plain"] is None
    assert body["replies"][0]["text"] == "关于盲人医疗按摩：盲人按摩考试在哪报名"


def test_plain_is_null_for_an_entry_without_summary_or_a_source_without_key():
    plain = PlainSummaries(FakeKnowledgeBase)
    two = {**BLIND_MASSAGE_SOURCE, "item": 2, "ref": "二（二）2", "key": f"{DOC}#2"}
    given = [BLIND_MASSAGE_SOURCE, two, {"ref": "三（二）"}]
    assert [s["plain"] for s in plain.add_to(given)] == ["\n".join(PLAIN_13), None, None]
    assert "plain" not in BLIND_MASSAGE_SOURCE, "the sources given are not changed"


def test_a_knowledge_base_that_cannot_be_opened_gives_no_plain():
    def missing():
        raise KnowledgeBaseMissing("not built")

    assert PlainSummaries(missing).add_to([BLIND_MASSAGE_SOURCE])[0]["plain"] is None


def test_a_source_names_its_entry_and_the_payload_of_its_full_text(client):
    [source] = client.post("/api/chat", json={"message": "盲人按摩考试"}).json()["sources"]
    assert source["key"] == "黄政办发〔2022〕60号#13"
    assert source["detail"] == '/ask_detail{"entry":"黄政办发〔2022〕60号#13"}'


def test_a_target_has_a_key_but_no_full_text_button():
    from bot.chat.service import api_source

    target = {"kind": "target", "key": "黄政办发〔2022〕60号#target-2500", "document": "x"}
    assert api_source(target)["key"] == target["key"] and api_source(target)["detail"] is None
