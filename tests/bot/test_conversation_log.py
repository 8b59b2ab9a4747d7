"""The conversation log: WAL, hashed senders, grouping; a failing log never blocks an answer."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

import httpx

from bot.app import create_app
from bot.chat.conversation_log import UNANSWERED_SQL, ConversationLog, Turn, normalize_question


def turn(
    message: str,
    *,
    conversation="api:a",
    channel="api",
    kind="answer",
    intent=None,
    confidence=0.9,
    sources=None,
    handoff=False,
) -> Turn:
    return Turn(
        conversation_id=conversation,
        channel=channel,
        message=message,
        replies=[{"text": "答复", "buttons": []}],
        sources=sources if sources is not None else [{"ref": "二（八）13", "key": "k#13"}],
        intent={"name": intent or "ask_blind_massage", "confidence": confidence},
        handoff=handoff,
        kind=kind,
        latency_ms=12,
    )


def test_wal_mode_and_hashed_sender(tmp_path):
    log = ConversationLog(tmp_path / "c.db", "secret-one")
    log.record(turn("你好", conversation="api:my-private-key"))
    log.close()
    conn = sqlite3.connect(tmp_path / "c.db")
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    [(sender, cited, latency)] = conn.execute("select sender, cited, latency_ms from turns")
    assert "my-private-key" not in sender and len(sender) == 32
    assert cited == "二（八）13" and latency == 12
    other = ConversationLog(tmp_path / "d.db", "secret-two")
    assert other.sender_hash("api:my-private-key") != sender  # keyed by SECRET_KEY


def test_turns_written_within_a_millisecond_keep_their_order(tmp_path):
    """Times order a conversation's turns (PostgreSQL keeps no insertion order), and a turn is
    written in well under a millisecond: each gets a time after the one before."""
    log = ConversationLog(tmp_path / "c.db", "secret")
    try:
        messages = [f"第{i}句" for i in range(60)]
        for message in messages:
            log.record(turn(message))
        history = log.history("api:a")
        assert [t["message"] for t in history] == messages
        times = [t["time"] for t in history]
        assert times == sorted(set(times))  # strictly increasing
    finally:
        log.close()


def test_unanswered_groups_are_read_through_an_index(tmp_path):
    log = ConversationLog(tmp_path / "c.db", "s")
    log.record(turn("残疾证怎么办？", kind="out_of_scope", sources=[]))
    log.close()
    conn = sqlite3.connect(tmp_path / "c.db")  # as a log written before the index existed
    conn.execute("drop index idx_turns_answered_normalized_time")
    conn.commit()
    conn.close()
    for _ in range(2):  # created on open; opening again is harmless
        log = ConversationLog(tmp_path / "c.db", "s")
        assert [g["example"] for g in log.unanswered()] == ["残疾证怎么办？"]
        db = log._database()
        assert ["answered", "normalized", "time"] in [i.columns for i in db["turns"].indexes]
        plan = " ".join(row[-1] for row in db.execute("explain query plan " + UNANSWERED_SQL, [9]))
        assert "SCAN t2" not in plan and "idx_turns_answered_normalized_time" in plan, plan
        log.close()


def test_unanswered_grouped_by_normalised_text_most_frequent_first(tmp_path):
    log = ConversationLog(tmp_path / "c.db", "s")
    log.record(turn("残疾证怎么办？", kind="out_of_scope", sources=[]))
    log.record(turn("残疾证 怎么办", kind="out_of_scope", sources=[]))
    log.record(turn("残疾证怎么办！！", kind="no_answer", sources=[]))
    log.record(turn("今天天气", kind="out_of_scope", sources=[]))
    log.record(turn("盲人按摩"))  # answered: not listed
    log.record(turn("嗯嗯", intent="nlu_fallback", confidence=0.2, kind=None, sources=[]))
    groups = log.unanswered()
    assert (groups[0]["normalized"], groups[0]["count"]) == ("残疾证怎么办", 3)
    assert {g["normalized"] for g in groups} == {"残疾证怎么办", "今天天气", "嗯嗯"}
    assert groups[0]["example"] in {"残疾证怎么办？", "残疾证 怎么办", "残疾证怎么办！！"}


def test_filters(tmp_path):
    log = ConversationLog(tmp_path / "c.db", "s")
    log.record(turn("低", confidence=0.3))
    log.record(turn("转", handoff=True, channel="web", conversation="web:x"))
    liked = log.record(turn("赞"))
    disliked = log.record(turn("踩"))
    assert log.set_feedback("api:a", liked, "up")
    assert log.set_feedback("api:a", disliked, "down")
    assert not log.set_feedback("api:other", liked, "down")  # not that conversation's answer
    assert [t["message"] for t in log.turns(filter="low")] == ["低"]
    assert [t["message"] for t in log.turns(filter="handoff")] == ["转"]
    assert [t["message"] for t in log.turns(filter="down")] == ["踩"]
    assert [t["message"] for t in log.turns(channel="web")] == ["转"]
    convs = log.conversations()
    assert {c["channel"] for c in convs} == {"api", "web"}
    assert [t["message"] for t in next(c for c in convs if c["channel"] == "api")["turns"]] == [
        "低",
        "赞",
        "踩",
    ]


def test_normalize_question():
    assert normalize_question(" 盲人 按摩，怎么考？？😀 ") == "盲人按摩怎么考"
    assert normalize_question("ＡＢＣ１２") == "abc12"


def test_log_failure_never_blocks_the_answer(client, caplog):
    caplog.set_level(logging.DEBUG)

    def broken(_turn):
        raise sqlite3.OperationalError("disk I/O error")

    client.app.state.conversation_log.record = broken
    response = client.post("/api/chat", json={"message": "盲人按摩考试的秘密问题"})
    assert response.status_code == 200
    body = response.json()
    assert body["replies"][0]["text"].endswith("盲人按摩考试的秘密问题")
    assert "x-answer-id" not in response.headers  # nothing to give feedback on
    assert client.app.state.chat_service.log_failures == 1
    assert "OperationalError" in caplog.text
    assert "秘密问题" not in caplog.text
    assert client.get("/healthz").json()["gateway"]["log_write_failures"] == 1


def test_unwritable_log_path_still_answers(make_client, fake_rasa, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    client = make_client(fake_rasa("normal"), conversation_db=blocker / "c.db")
    response = client.post("/api/chat", json={"sender": "k", "message": "你好"})
    assert response.status_code == 200 and response.json()["replies"]
    assert client.app.state.chat_service.log_failures == 1


def test_locked_log_database_delays_neither_answers_nor_health(make_settings, fake_rasa):
    """Another connection holds the log's write lock: answers still come within 3 s."""
    settings = make_settings(fake_rasa("normal"))
    app = create_app(settings)
    service = app.state.chat_service

    async def timed(request):
        started = time.monotonic()
        response = await request
        return response, time.monotonic() - started

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            first = await http.post("/api/chat", json={"sender": "k", "message": "你好"})
            assert "x-answer-id" in first.headers  # the log (WAL) exists and works
            locker = sqlite3.connect(settings.conversation_db, timeout=0)
            locker.execute("BEGIN EXCLUSIVE")
            try:
                results = await asyncio.gather(
                    timed(http.post("/api/chat", json={"sender": "k", "message": "盲人按摩考试"})),
                    timed(http.post("/api/chat", json={"message": "烟草零售"})),
                    timed(http.get("/healthz")),
                )
                deadline = time.monotonic() + 3
                while service.log_failures < 2 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                health = await http.get("/healthz")
            finally:
                locker.rollback()
                locker.close()
            after = await http.post("/api/chat", json={"sender": "k", "message": "还有别的吗"})
        await service.rasa.aclose()
        return results, health, after

    try:
        results, health, after = asyncio.run(scenario())
    finally:
        service.close()
        app.state.conversation_log.close()
    (chat1, t1), (chat2, t2), (healthz, t3) = results
    for chat, elapsed in ((chat1, t1), (chat2, t2)):
        assert chat.status_code == 200 and elapsed < 3, elapsed
        assert chat.json()["handoff"] is False  # a busy log is no reason to hand off
        assert chat.json()["replies"][0]["text"].startswith("关于")
        assert "x-answer-id" not in chat.headers  # not written, so nothing to rate
    assert t3 < 1, t3
    assert healthz.json()["gateway"]["ok"] is True
    assert service.log_failures == 2
    assert health.json()["gateway"]["log_write_failures"] == 2
    # Once the lock is gone, logging carries on.
    assert after.status_code == 200 and "x-answer-id" in after.headers
    assert [t["message"] for t in app.state.conversation_log.turns()] == ["还有别的吗", "你好"]


def test_a_log_written_before_button_titles_gets_the_payload_column(tmp_path):
    path = tmp_path / "old.db"
    old = ConversationLog(path, "secret")
    old.record(turn("以前问的"))
    old.close()
    with sqlite3.connect(path) as conn:
        conn.execute("alter table turns drop column payload")
    log = ConversationLog(path, "secret")
    log.record(turn("盲人按摩"))
    assert [(r["message"], r["payload"]) for r in log.turns()] == [
        ("盲人按摩", None),
        ("以前问的", None),
    ]


def test_button_title_of_the_previous_answer_only(tmp_path):
    log = ConversationLog(tmp_path / "c.db", "secret")
    offered = turn("盲人按摩")
    offered.replies = [
        {"text": "答复", "buttons": [{"title": "找谁办", "payload": "/ask_responsible"}]}
    ]
    log.record(offered)
    log.record(turn("/ask_responsible"))
    log.record(turn("/ask_responsible"))  # the previous answer offered no such button
    log.record(turn("/ask_responsible", conversation="api:other"))
    messages = sorted((r["message"], r["payload"] or "") for r in log.turns())
    assert messages == [
        ("/ask_responsible", ""),
        ("/ask_responsible", ""),
        ("找谁办", "/ask_responsible"),
        ("盲人按摩", ""),
    ]


def test_a_full_disk_costs_log_lines_never_answers(client):
    """SQLite's max_page_count makes the log's database full, as a full disk would:
    "database or disk is full" on every write. Answers still flow, /healthz counts it."""
    log = client.app.state.conversation_log
    assert client.post("/api/chat", json={"message": "你好"}).status_code == 200  # opened
    db = log._database()
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages}")
    for n in range(30):  # more than fits in the last free page
        message = f"盲人按摩考试在哪报名{n}" * 20
        response = client.post("/api/chat", json={"sender": f"disk-{n}", "message": message})
        assert response.status_code == 200
        assert response.json()["replies"][0]["text"]
    failures = client.get("/healthz").json()["gateway"]["log_write_failures"]
    assert failures > 0 and failures == client.app.state.chat_service.log_failures
