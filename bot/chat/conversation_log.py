"""The conversation log: every message and answer, in SQLite (CONVERSATION_DB, WAL mode) or,
with DATABASE_URL, in PostgreSQL; the same code for both (bot/chat/log_schema.py).

Only masked text is ever passed in. Senders are stored as an HMAC of the conversation id, so the
log can group a conversation's turns without holding the raw cookie token, API key or openid.
The console's audit and the review loop's labels live here too; the console password has its
own store in the same database (bot/console/password_store.py).

A button press is stored as what the user saw: `message` is the button's title (found among the
buttons of the conversation's previous answer) and `payload` the payload that was sent; for
typed text `payload` is null.
"""

from __future__ import annotations

import json
import threading
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, desc, func, insert, select, text, update
from sqlite_utils import Database

from bot.chat.button_titles import button_title
from bot.chat.ids import LOG_SENDER, RASA_SENDER, keyed_digest
from bot.chat.log_queries import (
    FOLLOW_UP_INTENTS,
    LOG_FILTERS,
    LOW_CONFIDENCE,
    REASK_SECONDS,
    UNANSWERED_KINDS,
    UNANSWERED_SQL,
    answered,
    conditions,
    decoded,
    review_sql,
)
from bot.chat.log_schema import (
    AUDIT,
    CREDENTIALS,
    REVIEWS,
    TRAINING_EXAMPLES,
    TURNS,
    LogDatabase,
    audit,
    reviews,
    training_examples,
    turns,
)

__all__ = [
    "AUDIT",
    "CREDENTIALS",
    "FOLLOW_UP_INTENTS",
    "LOG_FILTERS",
    "LOW_CONFIDENCE",
    "REASK_SECONDS",
    "REVIEWS",
    "TRAINING_EXAMPLES",
    "TURNS",
    "UNANSWERED_KINDS",
    "UNANSWERED_SQL",
    "ConversationLog",
    "Turn",
    "hash_sender",
    "normalize_question",
]

# How long SQLite waits for another connection's lock before giving up. Short: a busy log
# costs a log line, never the user's answer (ChatService writes in a thread and moves on).
BUSY_TIMEOUT_SECONDS = 0.3


def hash_sender(secret_key: str, conversation_id: str) -> str:
    return keyed_digest(secret_key, LOG_SENDER, conversation_id)


def normalize_question(text: str) -> str:
    """A grouping key: width/case folded, without spaces, punctuation and emoji."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


@dataclass
class Turn:
    conversation_id: str
    channel: str
    message: str
    replies: list[dict]
    sources: list[dict]
    intent: dict | None
    handoff: bool
    kind: str | None
    latency_ms: int
    answer_id: str = ""


class ConversationLog:
    """`target`: the SQLite file (a path) or a `postgresql://` URL (DATABASE_URL)."""

    def __init__(
        self, target: Path | str, secret_key: str, busy_timeout: float = BUSY_TIMEOUT_SECONDS
    ) -> None:
        self.database = LogDatabase(target, busy_timeout)
        self._secret_key = secret_key
        self._clock = threading.Lock()
        self._last_time: datetime | None = None

    @property
    def path(self) -> Path | str:
        return self.database.target

    @property
    def _lock(self):
        return self.database.lock

    def _database(self) -> Database:
        """The SQLite log as sqlite-utils sees it, on the log's own connection (SQLite only;
        tests and tools that look at the file). Hold `_lock` while using it."""
        return Database(self.database.sqlite_connection())

    def close(self) -> None:
        self.database.close()

    def sender_hash(self, conversation_id: str) -> str:
        return hash_sender(self._secret_key, conversation_id)

    # -- writing -----------------------------------------------------------------------
    def record(self, turn: Turn) -> str:
        answer_id = turn.answer_id or uuid.uuid4().hex
        intent = turn.intent or {}
        sender = self.sender_hash(turn.conversation_id)
        row = {
            "id": answer_id,
            "time": self._turn_time(),
            "channel": turn.channel,
            "sender": sender,
            # Rasa's tracker key of the conversation, so `python -m bot forget` and the
            # console can delete its Rasa events from the log's id alone.
            "rasa_sender": keyed_digest(self._secret_key, RASA_SENDER, turn.conversation_id),
            "message": turn.message,
            "payload": None,
            "normalized": normalize_question(turn.message),
            "replies": json.dumps(turn.replies, ensure_ascii=False),
            "reply_text": "\n".join(r.get("text", "") for r in turn.replies),
            "intent": intent.get("name"),
            "confidence": intent.get("confidence"),
            "sources": json.dumps(turn.sources, ensure_ascii=False),
            "cited": " ".join(s.get("ref") or s.get("key") or "" for s in turn.sources),
            "kind": turn.kind,
            "latency_ms": turn.latency_ms,
            "handoff": int(turn.handoff),
            "answered": int(answered(turn.kind, turn.intent, turn.sources)),
            "feedback": None,
        }
        with self.database.writing() as conn:
            title = None
            if turn.message.startswith("/"):  # a payload: which button of the last answer?
                title = button_title(turn.message, self._last_answer(conn, sender))
            if title:
                row.update(
                    message=title, payload=turn.message, normalized=normalize_question(title)
                )
            conn.execute(insert(turns), row)  # one compiled statement, cached by SQLAlchemy
        return answer_id

    def _turn_time(self) -> str:
        """Now, to the millisecond, but always after the last turn this log wrote: times are
        what orders a conversation's turns on every engine (PostgreSQL keeps no insertion
        order), and two turns can be written within one millisecond."""
        now = datetime.now(timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        with self._clock:
            if self._last_time is not None and now <= self._last_time:
                now = self._last_time + timedelta(milliseconds=1)
            self._last_time = now
        return now.isoformat(timespec="milliseconds")

    def _last_answer(self, conn, sender: str) -> dict | None:
        """The previous answer of a conversation (its replies and sources), for button titles."""
        order = [desc(turns.c.time)]
        tie_break = self.database.insertion_order()
        if tie_break is not None:
            order.append(desc(tie_break))
        query = (
            select(turns.c.replies, turns.c.sources)
            .where(turns.c.sender == sender)
            .order_by(*order)
            .limit(1)
        )
        row = conn.execute(query).first()
        if row is None:
            return None
        try:
            return {"replies": json.loads(row[0] or "[]"), "sources": json.loads(row[1] or "[]")}
        except ValueError:
            return None

    def set_feedback(self, conversation_id: str, answer_id: str, value: str) -> bool:
        """Store 👍/👎 for an answer of this conversation; False if it is not one of its answers."""
        statement = (
            update(turns)
            .where(turns.c.id == answer_id, turns.c.sender == self.sender_hash(conversation_id))
            .values(feedback=value)
        )
        with self.database.writing() as conn:
            return conn.execute(statement).rowcount == 1

    # -- reading -----------------------------------------------------------------------
    def _query(self, statement, params: dict | None = None) -> list[dict[str, Any]]:
        if isinstance(statement, str):
            statement = text(statement)
        with self.database.reading() as conn:
            return [dict(row) for row in conn.execute(statement, params or {}).mappings()]

    def history(self, conversation_id: str, limit: int = 100) -> list[dict[str, Any]]:
        latest = (
            select(turns)
            .where(turns.c.sender == self.sender_hash(conversation_id))
            .order_by(desc(turns.c.time))
            .limit(limit)
            .subquery()
        )
        rows = self._query(select(latest).order_by(latest.c.time))
        return [decoded(r) for r in rows]

    def turns(
        self, *, channel: str | None = None, filter: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Recent turns, newest first, optionally of one channel and one console filter."""
        query = select(turns).where(*conditions(channel, filter))
        rows = self._query(query.order_by(desc(turns.c.time)).limit(limit))
        return [decoded(r) for r in rows]

    def conversations(
        self, *, channel: str | None = None, filter: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Conversations with a matching turn, most recent first, each with all its turns."""
        last = func.max(turns.c.time).label("last")
        heads = self._query(
            select(turns.c.sender, turns.c.channel, last)
            .where(*conditions(channel, filter))
            .group_by(turns.c.sender, turns.c.channel)
            .order_by(desc(last))
            .limit(limit)
        )
        result = []
        for head in heads:
            rows = self._query(
                select(turns)
                .where(turns.c.sender == head["sender"], turns.c.channel == head["channel"])
                .order_by(turns.c.time)
            )
            result.append({**head, "turns": [decoded(r) for r in rows]})
        return result

    def unanswered(self, limit: int = 100) -> list[dict[str, Any]]:
        """Questions the assistant could not answer, grouped by normalised text, most frequent first."""
        return self._query(UNANSWERED_SQL, {"limit": limit})

    # -- review (bot/console/review.py) -----------------------------------------------------------
    def review_candidates(self, limit: int = 500) -> list[dict[str, Any]]:
        """Wordings worth a review, not yet reviewed, with who asked and why (review_sql)."""
        params = {"low": LOW_CONFIDENCE, "reask": REASK_SECONDS, "limit": limit}
        return self._query(review_sql(self.database.seconds_between), params)

    def latest_turns(self, normalized: list[str]) -> dict[str, dict[str, Any]]:
        """The latest typed turn of each wording: what the assistant did with it."""
        found = {}
        for key in normalized:
            rows = self._query(
                select(turns)
                .where(turns.c.normalized == key, turns.c.payload.is_(None))
                .order_by(desc(turns.c.time))
                .limit(1)
            )
            if rows:
                found[key] = decoded(rows[0])
        return found

    def store_reviews(
        self, rows: list[dict[str, Any]], keep: bool, held_back: Callable[[int], bool]
    ) -> None:
        """One review per wording. Whether a labelled wording is held back is decided here,
        once: `held_back(n)` for the label's n-th wording (bot.console.review), so a check question
        never moves into training later."""
        with self.database.writing() as conn:
            for row in rows:
                row = dict(row)
                key = row["normalized"]
                conn.execute(delete(reviews).where(reviews.c.normalized == key))
                conn.execute(delete(training_examples).where(training_examples.c.normalized == key))
                if row.get("label"):
                    count = conn.execute(
                        select(func.count())
                        .select_from(reviews)
                        .where(reviews.c.label == row["label"])
                    ).scalar_one()
                    row["held_back"] = int(held_back(count + 1))
                else:
                    row["held_back"] = 0
                row["kept"] = int(keep and bool(row.get("label")))
                conn.execute(insert(reviews).values(**row))
                if row["kept"]:
                    kept = ("normalized", "question", "label", "held_back")
                    conn.execute(insert(training_examples).values(**{k: row[k] for k in kept}))

    def reviews(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._query(select(reviews).order_by(desc(reviews.c.time)).limit(limit))

    def undo_review(self, normalized: str) -> bool:
        with self.database.writing() as conn:
            conn.execute(
                delete(training_examples).where(training_examples.c.normalized == normalized)
            )
            gone = conn.execute(delete(reviews).where(reviews.c.normalized == normalized))
            return gone.rowcount == 1

    def labelled_questions(self) -> list[dict[str, Any]]:
        """Every labelled wording: the reviews still within retention, and the training
        examples staff kept (those outlive their review)."""
        return self._query(
            f"select normalized, question, label, held_back from {REVIEWS} "
            "where label is not null and label != '' "
            f"union select normalized, question, label, held_back from {TRAINING_EXAMPLES} "
            f"where normalized not in (select normalized from {REVIEWS}) order by normalized"
        )

    # -- who read conversation text ------------------------------------------------------
    def audit(self, page: str, rows: int, channel: str | None = None, filter: str | None = None):
        """Note that a console page showing conversation text was viewed or exported: when,
        which page, which filter, how many rows (no conversation text itself)."""
        row = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "page": page,
            "channel": channel,
            "filter": filter,
            "rows": rows,
        }
        with self.database.writing() as conn:
            conn.execute(insert(audit).values(**row))

    def audit_rows(self, limit: int = 100) -> list[dict[str, Any]]:
        order = self.database.insertion_order()
        newest = desc(order) if order is not None else desc(audit.c.time)
        return self._query(select(audit).order_by(newest).limit(limit))
