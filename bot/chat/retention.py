"""Deleting conversation text: turns older than RETENTION_DAYS (`purge`) and one person's
conversation (`forget`), from the conversation log and from Rasa's SQLite tracker files (with
DATABASE_URL: from the log's tables and Rasa's `events` in PostgreSQL, bot/chat/retention_sql.py;
what follows about files is SQLite's).

What people write may reveal a disability, sensitive personal information (PIPL art. 28), so
deleted text must be gone from the files, not only from queries. Every connection that deletes
sets `secure_delete`, so the cells and pages it frees are overwritten with zeros. That is not
quite enough: when SQLite rebalances a b-tree it copies cells between pages and leaves the old
copies in the unused middle of a page, where no delete ever reaches them (rare, but it
happens: tests/bot/test_retention.py reproduces it). So a store that lost rows is then
rewritten with VACUUM, and its write-ahead log is checkpointed and truncated, so no older page
version lingers in `-wal`. VACUUM holds the write lock for about 1 s per 100 MB; meanwhile the
gateway's log writes give up after 0.3 s (counted in /healthz) and Rasa waits.

Plain sqlite3: `bot/` never imports rasa. Rasa's SQL tracker store keeps one table, `events`
(`sender_id`, `timestamp` in unix seconds, `data` as JSON text).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.chat import retention_sql
from bot.chat.conversation_log import (
    AUDIT,
    CREDENTIALS,
    REVIEWS,
    TRAINING_EXAMPLES,
    TURNS,
    hash_sender,
)
from bot.chat.ids import RASA_SENDER, keyed_digest
from bot.chat.log_schema import shown_target
from bot.settings import Settings, tracker_db

__all__ = [
    "LOG_STORE",
    "RASA_STORE",
    "Conversation",
    "Deleted",
    "ForgetError",
    "conversation",
    "forget",
    "purge",
    "tracker_files",
]

log = logging.getLogger(__name__)

# Tables of the conversation log that hold what people wrote or were answered, with their
# time column. A test fails when the log gains a table not listed here or in NO_TEXT_TABLES.
TEXT_TABLES = {TURNS: "time", REVIEWS: "asked"}  # a review goes with its question's time
NO_TEXT_TABLES = {CREDENTIALS, AUDIT}  # the audit names pages and filters, never text
# Text kept past RETENTION_DAYS on purpose: questions hotline staff chose to keep as anonymous
# training examples (text and label only, no sender, no time; bot/console/review.py).
KEPT_TEXT_TABLES = {TRAINING_EXAMPLES}
RASA_EVENTS = "events"
LOG_STORE = "对话记录"
RASA_STORE = "Rasa 对话状态"
# An operator waits longer for a busy database than a chat does.
BUSY_TIMEOUT_SECONDS = 5.0
# Rows deleted per transaction: each holds the write lock only briefly, so the gateway's log
# writes and Rasa go on in between.
BATCH_ROWS = 500
CHECKPOINT_TRIES = 10
CHECKPOINT_PAUSE_SECONDS = 0.2
# Channel prefixes of conversation ids (bot/api/chat_routes.py, bot/wechat/config.py).
CHANNEL_PREFIXES = ("web:", "api:", "wechat:")
# The console shows the first 8 characters of a conversation's log id.
LOG_ID = re.compile(r"^[0-9a-f]{8,32}$")


@dataclass
class Deleted:
    """What one store lost: `rows` turns (log) or events (Rasa); `clean` is False when the
    file could not be rewritten (busy), so deleted text may remain until the next run."""

    store: str
    path: Path | str  # a file, or PostgreSQL's URL without its password
    rows: int
    clean: bool = True

    def line(self) -> str:
        unit = "轮对话" if self.store == LOG_STORE else "条事件"
        text = f"{self.store}（{self.path}）：删除 {self.rows} {unit}"
        if not self.clean:
            text += "；文件正忙，删掉的文字可能还留在文件里，请稍后运行 python -m bot purge"
        return text


class ForgetError(ValueError):
    """SENDER names no conversation, or more than one; the message is for the operator."""


def tracker_files(settings: Settings) -> list[Path]:
    """Every Rasa tracker file that exists: those the launcher gives the Rasa processes
    (bot/settings.py `tracker_db`) and `<name>-2.db` … beside RASA_TRACKER_DB, where a second
    Rasa process kept its conversations (earlier versions, or more processes)."""
    files = [tracker_db(settings, index) for index in range(settings.rasa_processes)]
    first = settings.rasa_tracker_db
    pattern = re.compile(re.escape(first.stem) + r"-\d+" + re.escape(first.suffix) + "$")
    if first.parent.is_dir():
        files += sorted(p for p in first.parent.iterdir() if pattern.match(p.name))
    return list(dict.fromkeys(p for p in files if p.is_file()))


# -- purge ----------------------------------------------------------------------------------


def purge(settings: Settings, now: datetime | None = None) -> list[Deleted]:
    """Delete every turn older than RETENTION_DAYS from the log and every tracker file."""
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=settings.retention_days)
    # The log's times are UTC ISO strings of this same shape, so they compare as text.
    log_cutoff = cutoff.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    deleted = []
    if settings.database_url:  # PostgreSQL: the log and Rasa's events, with SQL
        rows, events = retention_sql.delete_older(
            settings.database_url, log_cutoff, cutoff.timestamp(), TEXT_TABLES
        )
        where = shown_target(settings.database_url)
        deleted += [Deleted(LOG_STORE, where, rows), Deleted(RASA_STORE, where, events)]
    elif settings.conversation_db.is_file():
        with _deleting(settings.conversation_db) as conn:
            rows = sum(
                _delete(conn, table, f"{column} < ?", [log_cutoff])
                for table, column in TEXT_TABLES.items()
            )
            deleted.append(Deleted(LOG_STORE, settings.conversation_db, rows, _scrub(conn, rows)))
    for path in tracker_files(settings):
        with _deleting(path) as conn:
            rows = _delete(conn, RASA_EVENTS, "timestamp < ?", [cutoff.timestamp()])
            deleted.append(Deleted(RASA_STORE, path, rows, _scrub(conn, rows)))
    return deleted


# -- forget ---------------------------------------------------------------------------------


@dataclass
class Conversation:
    """One person's conversation as the stores know it."""

    log_sender: str  # the conversation's id in the log (and the hotline console)
    # Rasa's id of it: one conversation has one. Empty when only the console's id was given
    # and every turn was logged before the log kept Rasa's id: its Rasa events cannot be
    # found then, and go with the daily purge.
    rasa_senders: set[str] = field(default_factory=set)
    turns: int = 0
    channel: str | None = None
    last: str | None = None  # time of the last turn


def conversation(settings: Settings, sender: str) -> Conversation:
    """What SENDER means: a conversation id with its channel (`api:<the client's sender>`,
    `web:<cookie token>`, `wechat:<id>`), or the conversation's id in the hotline console's
    log and CSV (32 hex characters, or at least the first 8 the log page shows)."""
    sender = sender.strip()
    if sender.startswith(CHANNEL_PREFIXES):
        found = Conversation(
            log_sender=hash_sender(settings.secret_key, sender),
            rasa_senders={keyed_digest(settings.secret_key, RASA_SENDER, sender)},
        )
    elif LOG_ID.match(sender.lower()):
        found = Conversation(log_sender=_full_log_id(settings, sender.lower()))
    else:
        raise ForgetError(
            "不认识这个对话编号：请填工作台对话记录里的编号（至少 8 位），"
            "或带渠道的对话，例如 api:接口传来的 sender"
        )
    if settings.database_url:
        _add_turns(found, retention_sql.read_turns(settings.database_url, found.log_sender))
    elif settings.conversation_db.is_file():
        with _reading(settings.conversation_db) as conn:
            if _has_table(conn, TURNS):
                _read_turns(conn, found)
    return found


def _full_log_id(settings: Settings, prefix: str) -> str:
    senders = []
    if settings.database_url:
        senders = retention_sql.log_ids(settings.database_url, prefix)
    elif settings.conversation_db.is_file():
        with _reading(settings.conversation_db) as conn:
            if _has_table(conn, TURNS):
                # Ids are lower-case hex: every id starting with the prefix sorts below
                # prefix + "g", so the sender index finds them.
                senders = [
                    row[0]
                    for row in conn.execute(
                        f"select distinct sender from {TURNS} where sender >= ? and sender < ?",
                        [prefix, prefix + "g"],
                    )
                ]
    if not senders:
        raise ForgetError(f"对话记录里没有编号为 {prefix} 的对话")
    if len(senders) > 1:
        raise ForgetError(f"编号 {prefix} 对应 {len(senders)} 段对话，请填完整的编号")
    return senders[0]


def _read_turns(conn: sqlite3.Connection, found: Conversation) -> None:
    columns = {row[1] for row in conn.execute(f"pragma table_info({TURNS})")}
    rasa_id = "rasa_sender" if "rasa_sender" in columns else "null"  # a log not yet migrated
    rows = conn.execute(
        f"select {rasa_id}, channel, count(*), max(time) from {TURNS} where sender = ? "
        "group by 1, 2",
        [found.log_sender],
    ).fetchall()
    _add_turns(found, rows)


def _add_turns(found: Conversation, rows: list[tuple]) -> None:
    for rasa_sender, channel, count, last in rows:
        if rasa_sender:
            found.rasa_senders.add(rasa_sender)
        found.turns += count
        found.channel = channel
        found.last = max(found.last or "", last or "") or None


def forget(settings: Settings, sender: str) -> tuple[Conversation, list[Deleted]]:
    """Delete one conversation (see `conversation` for SENDER) from the log and the trackers."""
    found = conversation(settings, sender)
    deleted = []
    if settings.database_url:
        rows, events = retention_sql.delete_conversation(
            settings.database_url, found.log_sender, found.rasa_senders
        )
        where = shown_target(settings.database_url)
        deleted += [Deleted(LOG_STORE, where, rows), Deleted(RASA_STORE, where, events)]
    elif settings.conversation_db.is_file():
        with _deleting(settings.conversation_db) as conn:
            # Reviews keep no sender: the ones of this conversation's wordings go with it
            # (another person's same wording loses its review too, which only costs a label).
            wordings = _wordings(conn, found.log_sender)
            rows = _delete(conn, TURNS, "sender = ?", [found.log_sender])
            rows += sum(_delete(conn, REVIEWS, "normalized = ?", [w]) for w in wordings)
            deleted.append(Deleted(LOG_STORE, settings.conversation_db, rows, _scrub(conn, rows)))
    for path in tracker_files(settings):
        with _deleting(path) as conn:
            rows = sum(
                _delete(conn, RASA_EVENTS, "sender_id = ?", [rasa_sender])
                for rasa_sender in sorted(found.rasa_senders)
            )
            deleted.append(Deleted(RASA_STORE, path, rows, _scrub(conn, rows)))
    return found, deleted


def _wordings(conn: sqlite3.Connection, log_sender: str) -> list[str]:
    if not _has_table(conn, TURNS):
        return []
    query = f"select distinct normalized from {TURNS} where sender = ? and normalized != ''"
    return [row[0] for row in conn.execute(query, [log_sender])]


# -- SQLite ---------------------------------------------------------------------------------


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    # mode=rw: never create a database that is not there.
    uri = f"{Path(path).resolve().as_uri()}?mode={mode}"
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)


@contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    conn = _connect(path, "rw")  # read-only opening of a WAL file fails without its -shm
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def _deleting(path: Path) -> Iterator[sqlite3.Connection]:
    conn = _connect(path, "rw")
    try:
        conn.execute("PRAGMA secure_delete=ON")
        yield conn
    finally:
        conn.close()


def _has_table(conn: sqlite3.Connection, table: str) -> bool:
    found = conn.execute(
        "select 1 from sqlite_master where type = 'table' and name = ?", [table]
    ).fetchone()
    return found is not None


def _delete(conn: sqlite3.Connection, table: str, where: str, params: list) -> int:
    """Delete the matching rows, BATCH_ROWS per transaction; how many went."""
    if not _has_table(conn, table):
        return 0
    sql = (
        f"delete from [{table}] where rowid in "
        f"(select rowid from [{table}] where {where} limit {BATCH_ROWS})"
    )
    total = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            count = conn.execute(sql, params).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        total += count
        if count < BATCH_ROWS:
            return total


def _scrub(conn: sqlite3.Connection, deleted_rows: int) -> bool:
    """After a delete: rewrite the file (no stale copies in pages) and empty the -wal file.

    False when the database stayed too busy to finish. The deleted rows themselves were
    overwritten all the same (secure_delete); free pages remain, so the next run rewrites the
    file even if it deletes nothing.
    """
    if not deleted_rows and not conn.execute("PRAGMA freelist_count").fetchone()[0]:
        return True
    rewritten = True
    try:
        _vacuum(conn)
    except sqlite3.OperationalError as error:  # "database is locked" after the busy timeout
        log.warning("could not rewrite a database after deleting from it: %s", error)
        rewritten = False
    return _empty_wal(conn) and rewritten


def _vacuum(conn: sqlite3.Connection) -> None:
    conn.execute("VACUUM")


def _empty_wal(conn: sqlite3.Connection) -> bool:
    """Copy the -wal file's pages into the database and truncate it to nothing. A reader in
    the middle of a query can hold it up; it is asked again a few times."""
    for _ in range(CHECKPOINT_TRIES):
        try:
            busy, _pages, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError:
            busy = 1
        if not busy:
            return True
        time.sleep(CHECKPOINT_PAUSE_SECONDS)
    log.warning("could not empty a write-ahead log after deleting: readers kept it busy")
    return False
