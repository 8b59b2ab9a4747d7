"""Retention on PostgreSQL (DATABASE_URL): the conversation log's rows and Rasa's `events`,
deleted with SQL through the log's own schema (bot/chat/log_schema.py).

Rasa's SQLTrackerStore keeps one table, `events` (`id`, `sender_id`, `type_name`,
`timestamp` in unix seconds, `intent_name`, `action_name`, `data` as JSON text); with
DATABASE_URL the topology puts it in the same database as the log. PostgreSQL reuses a deleted
row's space only after VACUUM, which autovacuum runs: there is no file of ours to scrub, so the
SQLite-only rewriting in bot/chat/retention.py does not apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, inspect, select, text

from bot.chat.log_schema import TURNS, LogDatabase, reviews, turns

__all__ = ["delete_conversation", "delete_older", "log_ids", "read_turns"]

RASA_EVENTS = "events"
# Rows deleted per transaction, as on SQLite: each holds its row locks only briefly.
BATCH_ROWS = 500
BUSY_TIMEOUT_SECONDS = 5.0


@contextmanager
def _database(url: str) -> Iterator[LogDatabase]:
    """The log's database for one retention call, closed after it (the calls are rare: a
    daily purge, a forget)."""
    database = LogDatabase(url, BUSY_TIMEOUT_SECONDS)
    try:
        yield database
    finally:
        database.close()


def _delete(database: LogDatabase, table: str, key: str, where: str, params: dict) -> int:
    """Delete the matching rows of `table` (`key` its primary key), BATCH_ROWS per
    transaction; how many went. A table that is not there (Rasa never ran) loses nothing."""
    with database.reading() as conn:
        if not inspect(conn).has_table(table):
            return 0
    sql = text(
        f"delete from {table} where {key} in "
        f"(select {key} from {table} where {where} limit {BATCH_ROWS})"
    )
    total = 0
    while True:
        with database.writing() as conn:
            count = conn.execute(sql, params).rowcount
        total += count
        if count < BATCH_ROWS:
            return total


def delete_older(url: str, log_cutoff: str, rasa_cutoff: float, text_tables: dict) -> tuple:
    """(log rows, Rasa events) older than the cutoffs, deleted."""
    with _database(url) as database:
        keys = {TURNS: "id", reviews.name: "normalized"}
        rows = sum(
            _delete(database, table, keys[table], f"{column} < :cutoff", {"cutoff": log_cutoff})
            for table, column in text_tables.items()
        )
        events = _delete(
            database, RASA_EVENTS, "id", "timestamp < :cutoff", {"cutoff": rasa_cutoff}
        )
        return rows, events


def log_ids(url: str, prefix: str) -> list[str]:
    """The log's conversation ids that start with `prefix`."""
    with _database(url) as database, database.reading() as conn:
        query = (
            select(turns.c.sender)
            .distinct()
            .where(turns.c.sender >= prefix, turns.c.sender < prefix + "g")
        )
        return [row[0] for row in conn.execute(query)]


def read_turns(url: str, log_sender: str) -> list[tuple]:
    """(Rasa sender, channel, turns, last time) of one conversation's turns."""
    with _database(url) as database, database.reading() as conn:
        query = (
            select(turns.c.rasa_sender, turns.c.channel, func.count(), func.max(turns.c.time))
            .where(turns.c.sender == log_sender)
            .group_by(turns.c.rasa_sender, turns.c.channel)
        )
        return [tuple(row) for row in conn.execute(query)]


def delete_conversation(url: str, log_sender: str, rasa_senders: set[str]) -> tuple:
    """(log rows, Rasa events) of one conversation, deleted; the reviews of its wordings go
    with it, as on SQLite."""
    with _database(url) as database:
        with database.reading() as conn:
            wordings = [
                row[0]
                for row in conn.execute(
                    select(turns.c.normalized)
                    .distinct()
                    .where(turns.c.sender == log_sender, turns.c.normalized != "")
                )
            ]
        rows = _delete(database, TURNS, "id", "sender = :sender", {"sender": log_sender})
        rows += sum(
            _delete(database, reviews.name, "normalized", "normalized = :w", {"w": w})
            for w in wordings
        )
        events = sum(
            _delete(database, RASA_EVENTS, "id", "sender_id = :sender", {"sender": sender})
            for sender in sorted(rasa_senders)
        )
        return rows, events
