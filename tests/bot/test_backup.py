"""`python -m bot backup DEST`: consistent copies of the conversation log and the knowledge base
while the gateway writes."""

from __future__ import annotations

import sqlite3
import stat
import threading
import time

import pytest

from bot.chat.conversation_log import ConversationLog, Turn
from bot.cli import commands as cli
from bot.cli.backup import backup


def turn(index: int) -> Turn:
    return Turn(
        conversation_id=f"web:person{index % 7}",
        channel="web",
        message=f"第{index}个问题：盲人按摩考试怎么报名",
        replies=[{"text": "根据方案，" + "答复" * 200, "buttons": []}],
        sources=[],
        intent={"name": "ask_blind_massage", "confidence": 0.9},
        handoff=False,
        kind="answer",
        latency_ms=5,
    )


def check(path) -> tuple[str, str, int]:
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("pragma integrity_check").fetchone()[0],
            conn.execute("pragma journal_mode").fetchone()[0],
            conn.execute("select count(*) from turns").fetchone()[0],
        )
    finally:
        conn.close()


@pytest.fixture
def settings(make_settings, tmp_path):
    knowledge = tmp_path / "knowledge.db"
    conn = sqlite3.connect(knowledge)
    conn.execute("create table entries (key text primary key, text text)")
    conn.execute("insert into entries values ('黄政办发〔2022〕60号#13', '盲人按摩')")
    conn.commit()
    conn.close()
    return make_settings(knowledge_db=knowledge)


def test_a_backup_taken_while_the_gateway_writes_is_whole(settings, tmp_path):
    log = ConversationLog(settings.conversation_db, settings.secret_key)
    for index in range(200):
        log.record(turn(index))
    stop = threading.Event()
    written = [200]

    def gateway() -> None:  # goes on writing the log throughout the backup
        index = 200
        while not stop.is_set():
            log.record(turn(index))
            index += 1
            written[0] = index

    writer = threading.Thread(target=gateway)
    writer.start()
    try:
        time.sleep(0.2)
        before = written[0]
        copied = backup(settings, tmp_path / "backup")
        after = written[0]
    finally:
        stop.set()
        writer.join()
        log.close()
    assert after > before, "the gateway wrote during the backup"

    [log_copy, kb_copy] = copied
    assert log_copy.copy == tmp_path / "backup" / "conversations.db"
    integrity, journal, count = check(log_copy.copy)
    assert integrity == "ok" and journal == "delete"
    assert before <= count <= after + 1  # one moment's state: every row up to then, no half row
    assert not (tmp_path / "backup" / "conversations.db-wal").exists()
    assert stat.S_IMODE(log_copy.copy.stat().st_mode) == 0o600  # people's words
    assert log_copy.size == log_copy.copy.stat().st_size

    assert kb_copy.copy == tmp_path / "backup" / "knowledge.db"
    conn = sqlite3.connect(kb_copy.copy)
    assert conn.execute("select key from entries").fetchall() == [("黄政办发〔2022〕60号#13",)]
    conn.close()
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == [
        "conversations.db",
        "knowledge.db",
    ]


def test_a_restored_copy_is_the_log(settings, tmp_path):
    log = ConversationLog(settings.conversation_db, settings.secret_key)
    log.record(turn(1))
    log.close()
    [log_copy, _kb] = backup(settings, tmp_path / "backup")
    restored = ConversationLog(log_copy.copy, settings.secret_key)
    assert [t["message"] for t in restored.history("web:person1")] == [turn(1).message]
    restored.close()


def test_cli_backup_says_what_it_wrote(settings, tmp_path, monkeypatch, capsys):
    from bot.settings import get_settings

    ConversationLog(settings.conversation_db, settings.secret_key).record(turn(1))
    monkeypatch.setenv("CONVERSATION_DB", str(settings.conversation_db))
    monkeypatch.setenv("KNOWLEDGE_DB", str(tmp_path / "not-built.db"))
    get_settings.cache_clear()
    try:
        assert cli.main(["backup", str(tmp_path / "copies")]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    copy = tmp_path / "copies" / "conversations.db"
    assert f"对话记录：{settings.conversation_db} → {copy}（" in out and " KB）" in out
    assert f"知识库：{tmp_path / 'not-built.db'} 不存在，没有备份。" in out
    assert not (tmp_path / "not-built.db").exists()  # looking did not create it
