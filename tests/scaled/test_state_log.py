"""The conversation log and the console's data on both engines through the same code: SQLite
(the default) and a real PostgreSQL (DATABASE_URL); retention's purge and forget on PostgreSQL,
Rasa's `events` included."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from bot.chat.conversation_log import ConversationLog, Turn
from bot.chat.retention import LOG_STORE, RASA_STORE, conversation, forget, purge
from bot.console.password_store import PasswordStore
from bot.console.passwords import has_password, set_password, verify_password
from bot.settings import Settings
from tests.scaled.state_support import fresh_schema

SECRET = "test-secret-key-that-is-long-enough-000"


def turn(message, *, conversation="api:a", kind="answer", confidence=0.9, sources=None, **kw):
    return Turn(
        conversation_id=conversation,
        channel=conversation.split(":", 1)[0],
        message=message,
        replies=kw.get("replies") or [{"text": "答复", "buttons": []}],
        sources=sources if sources is not None else [{"ref": "二（八）13", "key": "k#13"}],
        intent={"name": kw.get("intent", "ask_blind_massage"), "confidence": confidence},
        handoff=kw.get("handoff", False),
        kind=kind,
        latency_ms=12,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    """Where a log lives: a SQLite file, or a fresh schema of the real PostgreSQL."""
    if request.param == "sqlite":
        yield tmp_path / "c.db"
        return
    _redis_url, database_url = request.getfixturevalue("services")
    with fresh_schema(database_url) as url:
        yield url


@pytest.fixture
def log(target):
    log = ConversationLog(target, SECRET)
    yield log
    log.close()


def test_turns_feedback_filters_and_history(log):
    log.record(turn("低", confidence=0.3))
    log.record(turn("转", handoff=True, conversation="web:x"))
    liked = log.record(turn("赞"))
    disliked = log.record(turn("踩"))
    assert log.set_feedback("api:a", liked, "up")
    assert log.set_feedback("api:a", disliked, "down")
    assert not log.set_feedback("api:other", liked, "down")  # not that conversation's answer
    assert [t["message"] for t in log.turns(filter="low")] == ["低"]
    assert [t["message"] for t in log.turns(filter="handoff")] == ["转"]
    assert [t["message"] for t in log.turns(filter="down")] == ["踩"]
    assert [t["message"] for t in log.turns(channel="web")] == ["转"]
    history = log.history("api:a")
    assert [t["message"] for t in history] == ["低", "赞", "踩"]
    assert history[0]["sources"] == [{"ref": "二（八）13", "key": "k#13"}]
    assert history[0]["handoff"] is False and history[0]["answered"] is True
    assert "api:a" not in history[0]["sender"] and len(history[0]["sender"]) == 32
    conversations = log.conversations()
    assert {c["channel"] for c in conversations} == {"api", "web"}
    api = next(c for c in conversations if c["channel"] == "api")
    assert [t["message"] for t in api["turns"]] == ["低", "赞", "踩"]


def test_unanswered_grouped_most_frequent_first(log):
    log.record(turn("残疾证怎么办？", kind="out_of_scope", sources=[]))
    log.record(turn("残疾证 怎么办", kind="out_of_scope", sources=[]))
    log.record(turn("残疾证怎么办！！", kind="no_answer", sources=[]))
    log.record(turn("今天天气", kind="out_of_scope", sources=[]))
    log.record(turn("盲人按摩"))
    groups = log.unanswered()
    assert (groups[0]["normalized"], groups[0]["count"]) == ("残疾证怎么办", 3)
    assert {g["normalized"] for g in groups} == {"残疾证怎么办", "今天天气"}
    assert groups[0]["example"] == "残疾证怎么办！！"  # the latest wording


def test_a_button_press_is_logged_by_its_title(log):
    offered = turn(
        "盲人按摩",
        replies=[{"text": "答复", "buttons": [{"title": "找谁办", "payload": "/ask_responsible"}]}],
    )
    log.record(offered)
    log.record(turn("/ask_responsible"))
    log.record(turn("/ask_responsible"))  # the previous answer offered no such button
    assert [(t["message"], t["payload"]) for t in log.history("api:a")] == [
        ("盲人按摩", None),
        ("找谁办", "/ask_responsible"),
        ("/ask_responsible", None),
    ]


def test_review_queue_labels_and_undo(log):
    log.record(turn("盲人按摩怎么考", conversation="api:p1", confidence=0.3))
    log.record(turn("盲人按摩怎么考", conversation="api:p2", kind="no_answer", sources=[]))
    log.record(turn("烟草证", conversation="api:p3"))
    log.record(turn("烟草证在哪办", conversation="api:p3"))  # asked again at once: a re-ask
    log.record(turn("答得好", conversation="api:p4"))
    queue = {row["normalized"]: row for row in log.review_candidates()}
    assert set(queue) == {"盲人按摩怎么考", "烟草证"}
    blind = queue["盲人按摩怎么考"]
    assert (blind["people"], blind["low"], blind["unanswered"], blind["reasked"]) == (2, 1, 1, 0)
    assert queue["烟草证"]["reasked"] == 1
    assert log.latest_turns(["烟草证"])["烟草证"]["message"] == "烟草证"
    rows = [
        {
            "normalized": "盲人按摩怎么考",
            "question": "盲人按摩怎么考",
            "verdict": "entry",
            "label": "13",
            "reviewer": "王",
            "time": "2026-11-29T10:00:00+00:00",
            "asked": "2026-11-29T09:00:00+00:00",
            "people": 2,
        },
    ]
    log.store_reviews(rows, keep=True, held_back=lambda n: False)
    assert [r["label"] for r in log.reviews()] == ["13"]
    assert "盲人按摩怎么考" not in {r["normalized"] for r in log.review_candidates()}
    assert [(q["question"], q["label"]) for q in log.labelled_questions()] == [
        ("盲人按摩怎么考", "13")
    ]
    assert log.undo_review("盲人按摩怎么考")
    assert log.reviews() == [] and log.labelled_questions() == []
    assert not log.undo_review("盲人按摩怎么考")


def test_audit_newest_first_and_the_password_beside_the_log(log, target):
    log.audit("log", 3, channel="api")
    log.audit("export", 7, filter="down")
    # Seconds apart at most: PostgreSQL keeps no insertion order to break the tie.
    assert {(r["page"], r["rows"], r["filter"]) for r in log.audit_rows()} == {
        ("log", 3, None),
        ("export", 7, "down"),
    }
    store = PasswordStore(log.database)
    assert not has_password(store)
    set_password(store, "a-good-long-password")
    other = PasswordStore(target)  # as `python -m bot set-password` opens it
    try:
        assert verify_password(other, "a-good-long-password")
        assert not verify_password(other, "a-good-long-passwore")
    finally:
        other.close()


# -- retention on PostgreSQL -------------------------------------------------------------------

RASA_EVENTS = (
    "create table events (id serial primary key, sender_id varchar(255) not null, "
    "type_name varchar(255) not null, timestamp float, intent_name varchar(255), "
    "action_name varchar(255), data text)"
)


@pytest.fixture
def pg_settings(services, tmp_path):
    _redis_url, database_url = services
    with fresh_schema(database_url) as url:
        yield Settings(
            _env_file=None,
            app_env="development",
            secret_key=SECRET,
            database_url=url,
            conversation_db=tmp_path / "not-used.db",
            rasa_tracker_db=tmp_path / "rasa_tracker.db",
            rasa_processes=1,
        )


def _dated(engine, answer_id: str, when: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("update turns set time = :t where id = :id"),
            {"t": when.isoformat(timespec="milliseconds"), "id": answer_id},
        )


def _event(engine, sender: str, message: str, when: datetime) -> None:
    data = json.dumps({"event": "user", "text": message}, ensure_ascii=False)
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into events (sender_id, type_name, timestamp, data) "
                "values (:s, 'user', :t, :d)"
            ),
            {"s": sender, "t": when.timestamp(), "d": data},
        )


def test_purge_and_forget_on_postgresql(pg_settings):
    log = ConversationLog(pg_settings.database_url, SECRET)
    engine = log.database.engine()  # the test's own schema (search_path in the URL)
    now = datetime.now(timezone.utc)
    old, recent = now - timedelta(days=200), now - timedelta(days=10)
    try:
        with engine.begin() as conn:
            conn.execute(text(RASA_EVENTS))
        _dated(engine, log.record(turn("旧的问题", conversation="api:old")), old)
        log.record(turn("新的问题", conversation="api:keep"))
        forgotten = log.record(turn("要删的问题", conversation="api:forget-me"))
        log.store_reviews(
            [
                {
                    "normalized": "要删的问题",
                    "question": "要删的问题",
                    "verdict": "entry",
                    "label": "13",
                    "reviewer": "王",
                    "time": now.isoformat(),
                    "asked": now.isoformat(),
                    "people": 1,
                }
            ],
            keep=False,
            held_back=lambda n: False,
        )
        rasa_of = {row["message"]: row["rasa_sender"] for row in log.turns()}
        _event(engine, rasa_of["旧的问题"], "旧的问题", old)
        _event(engine, rasa_of["新的问题"], "新的问题", recent)
        _event(engine, rasa_of["要删的问题"], "要删的问题", recent)

        deleted = purge(pg_settings, now=now)
        assert {(d.store, d.rows) for d in deleted} == {(LOG_STORE, 1), (RASA_STORE, 1)}
        assert "not-used.db" not in str(deleted[0].path) and "@" in str(deleted[0].path)
        assert sorted(t["message"] for t in log.turns()) == ["新的问题", "要删的问题"]

        found = conversation(pg_settings, log.turns()[0]["sender"][:8])
        assert found.turns == 1 and found.rasa_senders
        found, deleted = forget(pg_settings, "api:forget-me")
        assert found.turns == 1 and found.rasa_senders == {rasa_of["要删的问题"]}
        assert {(d.store, d.rows) for d in deleted} == {(LOG_STORE, 2), (RASA_STORE, 1)}
        assert [t["message"] for t in log.turns()] == ["新的问题"]
        assert log.reviews() == []
        with engine.connect() as conn:
            left = [row[0] for row in conn.execute(text("select data from events"))]
        assert len(left) == 1 and "新的问题" in left[0]
        assert forgotten not in {t["id"] for t in log.turns()}
    finally:
        log.close()
