"""Retention: old turns and one person's conversation are deleted from the conversation log and
Rasa's tracker files, and the deleted text is gone from the files themselves; the privacy
notice states the number of days."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.api.privacy import retention_notice
from bot.chat import daily_purge, retention
from bot.chat.conversation_log import ConversationLog, Turn
from bot.chat.retention import ForgetError, forget, purge, tracker_files
from bot.chat.service import ChatService
from bot.cli import commands as cli
from bot.shared_redis import SharedRedis
from bot.wechat.simulator import read_reply
from knowledge.wording import HOTLINE, LOCAL_FEDERATION
from tests.bot.wechat_fixtures.support import (
    FakeChatService,
    client,
    fixture_xml,
    make_app,
    post_plain,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
OLD = NOW - timedelta(days=200)
RECENT = NOW - timedelta(days=10)
# Letters only: the log also keeps a normalised copy (and an index entry) of each message,
# and those must go too.
OLD_MARKER = "旧对话标记甲乙丙丁戊己"
RECENT_MARKER = "新对话标记庚辛壬癸子丑"
FILLER = "盲人按摩考试怎么报名"


def turn(conversation_id: str, message: str, reply: str = "答复") -> Turn:
    return Turn(
        conversation_id=conversation_id,
        channel=conversation_id.split(":", 1)[0],
        message=message,
        replies=[{"text": reply, "buttons": []}],
        sources=[],
        intent={"name": "ask_blind_massage", "confidence": 0.9},
        handoff=False,
        kind="answer",
        latency_ms=5,
    )


def log_turn(log: ConversationLog, conversation_id: str, message: str, when: datetime) -> str:
    """A turn as the gateway writes it, dated `when`."""
    answer_id = log.record(turn(conversation_id, message, reply=f"关于{message}的回答"))
    db = log._database()
    with log._lock:
        db.execute(
            "update turns set time = ? where id = ?",
            [when.isoformat(timespec="milliseconds"), answer_id],
        )
        db.conn.commit()
    return answer_id


def tracker(path: Path) -> sqlite3.Connection:
    """A Rasa tracker file as Rasa's SQL store writes it (WAL, as rasa_plugins sets it up)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "create table if not exists events (id integer primary key, sender_id varchar(255) "
        "not null, type_name varchar(255) not null, timestamp float, intent_name varchar(255), "
        "action_name varchar(255), data text)"
    )
    conn.execute("create index if not exists ix_events_sender_id on events (sender_id)")
    return conn


def rasa_event(conn: sqlite3.Connection, sender_id: str, text: str, when: datetime) -> None:
    data = json.dumps({"event": "user", "text": text, "parse_data": {}}, ensure_ascii=False)
    conn.execute(
        "insert into events (sender_id, type_name, timestamp, data) values (?, 'user', ?, ?)",
        [sender_id, when.timestamp(), data],
    )


def raw_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, as anyone with the disk could read them."""
    data = b""
    for name in (path, Path(f"{path}-wal")):
        if name.is_file():
            data += name.read_bytes()
    return data


def rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def secure_delete_off_by_default(monkeypatch):
    """As on SQLite builds without SQLITE_SECURE_DELETE (Debian's has it on by default), so
    the tests see what the code itself turns on."""
    real_connect = retention._connect

    def connect(path, mode):
        conn = real_connect(path, mode)
        conn.execute("PRAGMA secure_delete=OFF")
        return conn

    monkeypatch.setattr(retention, "_connect", connect)


@pytest.fixture
def settings(make_settings, tmp_path):
    return make_settings(rasa_tracker_db=tmp_path / "rasa_tracker.db", rasa_processes=2)


def tracker_paths(settings) -> list[Path]:
    """Two Rasa processes' tracker files: RASA_TRACKER_DB and rasa_tracker-2.db beside it
    (each process had its own file; the second stays beside the first after an upgrade)."""
    first = settings.rasa_tracker_db
    return [first, first.with_name(f"{first.stem}-2{first.suffix}")]


@pytest.fixture
def rasa_of(settings):
    service = ChatService(None, None, settings.secret_key)
    return service.rasa_sender


# -- purge ----------------------------------------------------------------------------------


def test_purge_removes_old_text_from_the_files_and_keeps_recent_turns(settings, rasa_of):
    # The gateway and both Rasa processes are running: their connections stay open.
    log = ConversationLog(settings.conversation_db, settings.secret_key)
    trackers = [tracker(path) for path in tracker_paths(settings)]
    try:
        for index in range(300):  # enough turns for many pages, split and rebalanced
            when = OLD if index % 2 else RECENT
            log_turn(log, f"web:filler{index % 40}", f"{FILLER}{index}", when)
            for conn in trackers:
                rasa_event(conn, rasa_of(f"web:filler{index % 40}"), f"{FILLER}{index}", when)
        log_turn(log, "web:old-person", OLD_MARKER, OLD)
        log_turn(log, "web:recent-person", RECENT_MARKER, RECENT)
        for conn in trackers:
            rasa_event(conn, rasa_of("web:old-person"), OLD_MARKER, OLD)
            rasa_event(conn, rasa_of("web:recent-person"), RECENT_MARKER, RECENT)
        paths = [settings.conversation_db, *tracker_paths(settings)]
        assert all(OLD_MARKER.encode() in raw_bytes(path) for path in paths)

        deleted = purge(settings, now=NOW)

        assert [(d.path, d.rows, d.clean) for d in deleted] == [
            (settings.conversation_db, 151, True),
            (tracker_paths(settings)[0], 151, True),
            (tracker_paths(settings)[1], 151, True),
        ]
        for path in paths:
            data = raw_bytes(path)
            assert OLD_MARKER.encode() not in data, path
        # Recent turns are kept, in the log (as the console reads it) and in Rasa.
        [recent] = log.history("web:recent-person")
        assert recent["message"] == RECENT_MARKER
        assert log.history("web:old-person") == []
        assert len(log.turns(limit=1000)) == 151
        for path in tracker_paths(settings):
            texts = [r[0] for r in rows(path, "select data from events")]
            assert len(texts) == 151 and any(RECENT_MARKER in t for t in texts)
        # The gateway goes on writing after the purge.
        log.record(turn("web:recent-person", "还有别的吗"))
        assert len(log.history("web:recent-person")) == 2
    finally:
        log.close()
        for conn in trackers:
            conn.close()


def test_old_filler_turns_are_gone_from_the_bytes_too(settings):
    """Stale copies left by b-tree rebalancing: secure_delete alone misses some (one row in a
    few thousand, in an experiment); the rewrite after deleting catches them."""
    log = ConversationLog(settings.conversation_db, settings.secret_key)
    try:
        markers = []
        for index in range(1500):
            old = index % 3 == 0
            marker = f"{'旧' if old else '新'}{index:05d}号问题标记"
            if old:
                markers.append(marker)
            answer_id = log_turn(log, f"api:client{index % 97}", marker, OLD if old else RECENT)
            if index % 4 == 0:  # feedback rewrites the row
                assert log.set_feedback(f"api:client{index % 97}", answer_id, "up")
        purge(settings, now=NOW)
        data = raw_bytes(settings.conversation_db)
        assert [m for m in markers if m.encode() in data] == []
        assert data.count("新".encode() + b"0") >= 1000  # the recent ones are still there
    finally:
        log.close()


def test_rows_moved_between_pages_leave_no_copies_behind(settings):
    """Deleting rows makes SQLite move others between pages, and the page they left keeps a
    stale copy that secure_delete never sees; when those rows are deleted later, the copy
    would stay. (With this seed, two purges without the rewrite leave three.)"""
    rng = random.Random(2)
    conn = tracker(settings.rasa_tracker_db)
    ages = {"A": 300, "B": 250, "C": 10}  # days before NOW
    conn.execute("begin")
    for index in range(2000):
        group = rng.choice("ABC")
        text = f"{group}标记{index:06d}" + "x" * rng.randrange(400)
        rasa_event(conn, f"sender-{group}", text, NOW - timedelta(days=ages[group]))
    conn.execute("commit")
    conn.close()
    purge(settings, now=NOW)  # A goes; rows of B and C move
    purge(settings, now=NOW + timedelta(days=80))  # B goes
    data = raw_bytes(settings.rasa_tracker_db)
    assert "A标记".encode() not in data and "B标记".encode() not in data
    kept = rows(settings.rasa_tracker_db, "select distinct sender_id from events")
    assert kept == [("sender-C",)]


def test_when_the_file_is_too_busy_to_rewrite_the_rows_are_overwritten_all_the_same(
    settings, monkeypatch
):
    log = ConversationLog(settings.conversation_db, settings.secret_key)
    for index in range(200):
        log_turn(log, f"web:person{index}", f"{OLD_MARKER}{index}" * 20, OLD)
    log_turn(log, "web:recent-person", RECENT_MARKER, RECENT)
    log.close()

    def locked(conn):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(retention, "_vacuum", locked)
    [deleted] = purge(settings, now=NOW)
    assert (deleted.rows, deleted.clean) == (200, False)
    assert "文件正忙" in deleted.line()
    assert OLD_MARKER.encode() not in raw_bytes(settings.conversation_db)
    wal = Path(f"{settings.conversation_db}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    monkeypatch.undo()
    # The next run rewrites the file though it deletes nothing: free pages were left.
    [again] = purge(settings, now=NOW)
    assert (again.rows, again.clean) == (0, True)
    assert rows(settings.conversation_db, "pragma freelist_count") == [(0,)]


def test_tracker_files_are_every_rasa_process_and_leftovers(settings, tmp_path):
    for name in ("rasa_tracker.db", "rasa_tracker-2.db", "rasa_tracker-3.db", "other.db"):
        tracker(tmp_path / name).close()
    assert tracker_files(settings) == [
        tmp_path / "rasa_tracker.db",
        tmp_path / "rasa_tracker-2.db",
        tmp_path / "rasa_tracker-3.db",  # left by a run with three Rasa processes
    ]


def test_purge_creates_nothing_where_there_is_nothing(settings):
    assert purge(settings, now=NOW) == []
    assert not settings.conversation_db.exists()
    assert not settings.rasa_tracker_db.exists()


def test_every_table_of_the_log_is_classified(settings):
    """A new table holding what people wrote must be added to retention.TEXT_TABLES."""
    ConversationLog(settings.conversation_db, settings.secret_key).record(turn("api:a", "你好"))
    tables = {
        r[0]
        for r in rows(
            settings.conversation_db,
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'",
        )
    }
    assert tables == (
        set(retention.TEXT_TABLES) | retention.NO_TEXT_TABLES | retention.KEPT_TEXT_TABLES
    )


def test_the_log_keeps_the_rasa_id_the_chat_service_uses(settings, rasa_of):
    log = ConversationLog(settings.conversation_db, settings.secret_key)
    log.record(turn("wechat:abc", "你好"))
    log.close()
    [(rasa_sender,)] = rows(settings.conversation_db, "select rasa_sender from turns")
    assert rasa_sender == rasa_of("wechat:abc")


# -- forget ---------------------------------------------------------------------------------


def two_people(settings, rasa_of) -> ConversationLog:
    log = ConversationLog(settings.conversation_db, settings.secret_key)
    for index in range(40):
        log_turn(log, "web:person-a", f"{OLD_MARKER}{index}", RECENT)
        log_turn(log, "api:their-app-user-7", f"{RECENT_MARKER}{index}", RECENT)
    for path in tracker_paths(settings):
        conn = tracker(path)
        rasa_event(conn, rasa_of("web:person-a"), OLD_MARKER, RECENT)
        rasa_event(conn, rasa_of("api:their-app-user-7"), RECENT_MARKER, RECENT)
        conn.close()
    return log


@pytest.mark.parametrize("by", ["console id", "first 8", "conversation id"])
def test_forget_deletes_one_conversation_everywhere(settings, rasa_of, by):
    log = two_people(settings, rasa_of)
    log_id = log.sender_hash("web:person-a")
    sender = {"console id": log_id, "first 8": log_id[:8], "conversation id": "web:person-a"}[by]
    try:
        found, deleted = forget(settings, sender)
        assert found.log_sender == log_id and found.rasa_senders == {rasa_of("web:person-a")}
        assert [(d.rows, d.clean) for d in deleted] == [(40, True), (1, True), (1, True)]
        for path in [settings.conversation_db, *tracker_files(settings)]:
            assert OLD_MARKER.encode() not in raw_bytes(path), path
        assert log.history("web:person-a") == []
        assert len(log.history("api:their-app-user-7")) == 40  # the other person stays
        for path in tracker_files(settings):
            assert rows(path, "select sender_id from events") == [
                (rasa_of("api:their-app-user-7"),)
            ]
    finally:
        log.close()


def test_forget_an_api_client_by_the_sender_it_sent(settings, rasa_of):
    two_people(settings, rasa_of).close()
    _found, deleted = forget(settings, "api:their-app-user-7")
    assert [d.rows for d in deleted] == [40, 1, 1]
    assert RECENT_MARKER.encode() not in raw_bytes(settings.conversation_db)


def test_forget_refuses_what_names_no_single_conversation(settings, rasa_of):
    two_people(settings, rasa_of).close()
    conn = sqlite3.connect(settings.conversation_db)
    conn.execute("update turns set sender = 'abcdef01' || substr(sender, 9)")  # two alike
    conn.commit()
    conn.close()
    with pytest.raises(ForgetError, match="对应 2 段对话"):
        forget(settings, "abcdef01")
    with pytest.raises(ForgetError, match="没有编号为 0123456789"):
        forget(settings, "0123456789")
    with pytest.raises(ForgetError, match="不认识"):
        forget(settings, "person-a")
    with pytest.raises(ForgetError, match="不认识"):
        forget(settings, "abc")  # shorter than the console shows
    assert len(rows(settings.conversation_db, "select * from turns")) == 80


def test_forget_a_conversation_logged_before_the_rasa_id_was(settings, rasa_of):
    log = two_people(settings, rasa_of)
    log_id = log.sender_hash("web:person-a")
    log.close()
    conn = sqlite3.connect(settings.conversation_db)
    conn.execute("update turns set rasa_sender = null")
    conn.commit()
    conn.close()
    found, deleted = forget(settings, log_id)
    assert found.rasa_senders == set() and [d.rows for d in deleted] == [40, 0, 0]


# -- the command line -----------------------------------------------------------------------


@pytest.fixture
def cli_env(settings, monkeypatch):
    from bot.settings import get_settings

    for name in ("conversation_db", "rasa_tracker_db", "secret_key", "rasa_processes"):
        monkeypatch.setenv(name.upper(), str(getattr(settings, name)))
    monkeypatch.setenv("RETENTION_DAYS", "180")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_purge_says_what_it_deleted(settings, rasa_of, cli_env, capsys):
    log = ConversationLog(settings.conversation_db, settings.secret_key)
    log_turn(log, "web:old-person", OLD_MARKER, datetime.now(timezone.utc) - timedelta(days=181))
    log_turn(log, "web:recent-person", RECENT_MARKER, datetime.now(timezone.utc))
    log.close()
    conn = tracker(settings.rasa_tracker_db)
    rasa_event(conn, rasa_of("web:old-person"), OLD_MARKER, OLD)
    conn.close()
    assert cli.main(["purge"]) == 0
    out = capsys.readouterr().out
    assert "已删除保存超过 180 天的对话" in out
    assert f"对话记录（{settings.conversation_db}）：删除 1 轮对话" in out
    assert f"Rasa 对话状态（{settings.rasa_tracker_db}）：删除 1 条事件" in out
    assert OLD_MARKER.encode() not in raw_bytes(settings.conversation_db)


def test_cli_forget(settings, rasa_of, cli_env, capsys):
    log = two_people(settings, rasa_of)
    log_id = log.sender_hash("web:person-a")
    log.close()
    assert cli.main(["forget", log_id[:8]]) == 0
    out = capsys.readouterr().out
    assert f"已删除这段对话（工作台里的编号 {log_id}）" in out
    assert "删除 40 轮对话" in out and "删除 1 条事件" in out
    assert cli.main(["forget", log_id[:8]]) == 1
    assert "没有删除：对话记录里没有编号为" in capsys.readouterr().err
    assert cli.main(["forget", "api:a-key-nobody-sent"]) == 1
    assert "没有找到这段对话（api:a-key-nobody-sent），什么也没有删除" in capsys.readouterr().err


# -- the console ----------------------------------------------------------------------------


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_console_deletes_a_conversation_after_asking(signed_in):
    settings = signed_in.app.state.settings
    log = signed_in.app.state.conversation_log
    log.record(turn("web:caller", OLD_MARKER))
    log.record(turn("web:someone-else", RECENT_MARKER))
    rasa_sender = signed_in.app.state.chat_service.rasa_sender("web:caller")
    conn = tracker(settings.rasa_tracker_db)
    rasa_event(conn, rasa_sender, OLD_MARKER, datetime.now(timezone.utc))
    conn.close()
    log_id = log.sender_hash("web:caller")

    page = signed_in.get("/console/log").text
    assert page.count("删除这段对话") == 2 and f'name="sender" value="{log_id}"' in page
    csrf = csrf_of(page)

    refused = signed_in.post("/console/forget", data={"sender": log_id, "csrf": "wrong"})
    assert refused.status_code == 400 and "页面已过期" in refused.text

    asked = signed_in.post("/console/forget", data={"sender": log_id, "csrf": csrf})
    assert asked.status_code == 200 and "删除这段对话？" in asked.text
    assert "1 轮问答" in asked.text and "无法恢复" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert len(log.history("web:caller")) == 1  # nothing deleted yet

    done = signed_in.post(
        "/console/forget", data={"sender": log_id, "csrf": csrf, "confirm": "yes"}
    )
    assert done.status_code == 200 and "已删除这段对话" in done.text
    assert "删除了对话记录里的 1 轮问答和助手（Rasa）里的 1 条对话状态" in done.text
    assert log.history("web:caller") == []
    assert len(log.history("web:someone-else")) == 1
    assert OLD_MARKER.encode() not in raw_bytes(settings.conversation_db)
    assert OLD_MARKER.encode() not in raw_bytes(settings.rasa_tracker_db)

    again = signed_in.post(
        "/console/forget", data={"sender": log_id, "csrf": csrf, "confirm": "yes"}
    )
    assert again.status_code == 404 and "对话记录里没有编号为" in again.text


def test_console_delete_needs_a_signed_in_operator_and_a_whole_id(signed_in):
    log = signed_in.app.state.conversation_log
    log.record(turn("web:caller", OLD_MARKER))
    log_id = log.sender_hash("web:caller")
    csrf = csrf_of(signed_in.get("/console/log").text)
    short = signed_in.post(
        "/console/forget", data={"sender": log_id[:8], "csrf": csrf, "confirm": "yes"}
    )
    assert short.status_code == 400
    signed_in.cookies.clear()
    unsigned = signed_in.post(
        "/console/forget", data={"sender": log_id, "csrf": csrf, "confirm": "yes"}
    )
    assert unsigned.status_code == 401
    assert len(log.history("web:caller")) == 1


# -- once a day in the gateway --------------------------------------------------------------


def test_the_gateway_purges_shortly_after_start_off_the_event_loop(
    make_client, fake_rasa, monkeypatch
):
    monkeypatch.setattr(daily_purge, "FIRST_PURGE_SECONDS", 0.0)
    on_loop = []
    real_purge = retention.purge

    def spy(settings):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real_purge(settings)

    monkeypatch.setattr(retention, "purge", spy)
    client = make_client(fake_rasa("normal"))
    state = client.app.state
    deadline = time.monotonic() + 10
    while state.retention.runs == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state.retention.runs == 1 and state.retention.failures == 0
    assert on_loop == [False]


def test_a_failing_purge_is_counted_and_the_gateway_keeps_answering(
    make_client, fake_rasa, monkeypatch, caplog
):
    monkeypatch.setattr(daily_purge, "FIRST_PURGE_SECONDS", 0.0)

    def broken(settings):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(retention, "purge", broken)
    client = make_client(fake_rasa("normal"))
    deadline = time.monotonic() + 10
    while client.app.state.retention.failures == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get("/healthz").json()["gateway"]["retention_failures"] == 1
    assert client.post("/api/chat", json={"message": "你好"}).status_code == 200
    assert "retention purge failed (OperationalError: database is locked)" in caplog.text


# -- what users are told ----------------------------------------------------------------------


def test_the_privacy_notice_states_the_configured_days(make_client, fake_rasa):
    client = make_client(fake_rasa("normal"), retention_days=30)
    body = client.get("/api/privacy").json()
    assert body == {"retention_days": 30, "notice": retention_notice(30)}
    assert "对话记录保存 30 天，到期自动删除" in body["notice"]
    assert HOTLINE in body["notice"] and LOCAL_FEDERATION in body["notice"]


def test_the_web_page_has_the_notice_and_fills_in_the_days():
    webchat = Path(__file__).resolve().parents[2] / "webchat"
    page = (webchat / "index.html").read_text(encoding="utf-8")
    assert '对话记录保存<span id="retention-days">一段时间</span>，到期自动删除' in page
    script = (webchat / "app.js").read_text(encoding="utf-8")
    assert "'/api/privacy'" in script and "getElementById('retention-days')" in script


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_wechat_welcome_states_the_configured_days(anyio_backend):
    async with client(make_app(FakeChatService(), retention_days=45)) as http:
        welcome = read_reply((await post_plain(http, fixture_xml("subscribe.xml"))).text)
    assert retention_notice(45) in welcome
    assert "对话记录保存 45 天" in welcome and HOTLINE in welcome


def test_without_redis_to_claim_the_period_each_worker_purges(settings, monkeypatch):
    # REDIS_URL set but nothing listens there: purging twice deletes nothing twice, while
    # not purging would keep text past its retention.
    calls = []
    monkeypatch.setattr(retention, "purge", lambda settings: calls.append(1) or [])
    shared = SharedRedis("redis://127.0.0.1:9/0", timeout=0.2)
    workers = [daily_purge.DailyPurge(settings, shared=shared) for _ in range(2)]

    async def both():
        for worker in workers:
            await worker.run_once()
        await shared.aclose()

    asyncio.run(both())
    assert len(calls) == 2 and [w.runs for w in workers] == [1, 1]
