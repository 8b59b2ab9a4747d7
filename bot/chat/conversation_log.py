"""The conversation log: every message and answer, in its own SQLite database (WAL mode).

Only masked text is ever passed in. Senders are stored as an HMAC of the conversation id, so the
log can group a conversation's turns without holding the raw cookie token, API key or openid.
The console password lives here too (table `console_credentials`).

A button press is stored as what the user saw: `message` is the button's title (found among the
buttons of the conversation's previous answer) and `payload` the payload that was sent; for
typed text `payload` is null.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.chat.button_titles import button_title
from bot.chat.ids import LOG_SENDER, RASA_SENDER, keyed_digest

TURNS = "turns"
CREDENTIALS = "console_credentials"
# Who looked at conversation text: one row per console page viewed or exported that shows it.
AUDIT = "console_audit"
# Hotline staff's verdicts on questions (bot/console/review.py): the question's text, never its sender.
REVIEWS = "reviews"
# Labelled questions staff chose to keep as anonymous training examples: text and label only,
# kept past RETENTION_DAYS (bot/chat/retention.py KEPT_TABLES).
TRAINING_EXAMPLES = "training_examples"
LOW_CONFIDENCE = 0.6
# Answers that did not answer the question: the service was down, nothing matched, or the
# question lies outside the plan. The console groups them so staff see what people miss.
UNANSWERED_KINDS = ("no_answer", "out_of_scope", "unavailable")
LOG_FILTERS = ("low", "unanswered", "down", "handoff")
# Grouped unanswered questions with the latest wording of each; the index on
# (answered, normalized, time) serves both the grouping and the per-group example.
UNANSWERED_SQL = (
    "select normalized, count(*) as count, max(time) as last, "
    f"(select message from {TURNS} t2 where t2.normalized = t.normalized "
    " and t2.answered = 0 order by time desc limit 1) as example "
    f"from {TURNS} t where answered = 0 and normalized != '' "
    "group by normalized order by count desc, last desc limit ?"
)
# The review queue (bot/console/review.py): typed questions (not button presses) that were not
# answered, answered with low confidence, given 👎, or asked again by the same person within
# REASK_SECONDS (a new typed message that is not a follow-up of the answer); busy and
# service-down replies say nothing about the knowledge and are left out, and so are the situation
# check's turns (and answering its next question is no asking again). Grouped by wording,
# most people first; wordings already reviewed are not offered again.
REASK_SECONDS = 60
FOLLOW_UP_INTENTS = ("ask_responsible", "ask_detail", "ask_more", "thanks", "goodbye", "greet")
REVIEW_SQL = (
    "with w as (select time, sender, payload, normalized, kind, answered, confidence, feedback, "
    "lead(time) over s as next_time, lead(payload) over s as next_payload, "
    "lead(intent) over s as next_intent, lead(kind) over s as next_kind "
    f"from {TURNS} window s as (partition by sender order by time)), "
    "f as (select *, (next_time is not null and next_payload is null "
    " and (julianday(next_time) - julianday(time)) * 86400 < :reask "
    f" and coalesce(next_intent, '') not in {FOLLOW_UP_INTENTS!r}"
    " and coalesce(next_kind, '') not like 'situation%') as reasked from w) "
    "select normalized, count(*) as asked, count(distinct sender) as people, "
    "max(time) as last, max(answered = 0) as unanswered, "
    "max(coalesce(confidence < :low, 0)) as low, max(coalesce(feedback = 'down', 0)) as down, "
    "max(reasked) as reasked from f "
    "where payload is null and normalized != '' "
    "and coalesce(kind, '') not in ('busy', 'unavailable') "
    # The situation check's turns are answers to its questions (logged as a placeholder).
    "and coalesce(kind, '') not like 'situation%' "
    "and (answered = 0 or confidence < :low or feedback = 'down' or reasked) "
    f"and normalized not in (select normalized from {REVIEWS}) "
    "group by normalized order by people desc, asked desc, last desc limit :limit"
)
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
    def __init__(
        self, path: Path, secret_key: str, busy_timeout: float = BUSY_TIMEOUT_SECONDS
    ) -> None:
        self.path = Path(path)
        self._secret_key = secret_key
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._db: Database | None = None

    # -- connection --------------------------------------------------------------------
    def _database(self) -> Database:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One connection shared by the log writer and the threadpool, guarded by the lock.
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=self._busy_timeout)
            try:
                db = Database(conn)
                db.enable_wal()
                # Text freed by an update or a delete is overwritten with zeros rather than
                # left in the file's free space (retention, bot/chat/retention.py).
                db.execute("PRAGMA secure_delete=ON")
                self._ensure_tables(db)
            except Exception:
                conn.close()  # try again next time rather than keep a half-set-up connection
                raise
            self._db = db
        return self._db

    @staticmethod
    def _ensure_tables(db: Database) -> None:
        db[TURNS].create(
            {
                "id": str,
                "time": str,
                "channel": str,
                "sender": str,
                "rasa_sender": str,
                "message": str,
                "payload": str,
                "normalized": str,
                "replies": str,
                "reply_text": str,
                "intent": str,
                "confidence": float,
                "sources": str,
                "cited": str,
                "kind": str,
                "latency_ms": int,
                "handoff": int,
                "answered": int,
                "feedback": str,
            },
            pk="id",
            if_not_exists=True,
        )
        if "payload" not in db[TURNS].columns_dict:  # a log written before button titles
            db[TURNS].add_column("payload", str)
        if "rasa_sender" not in db[TURNS].columns_dict:  # a log written before `forget`
            db[TURNS].add_column("rasa_sender", str)
        db[TURNS].create_index(["sender", "time"], if_not_exists=True)
        db[TURNS].create_index(["time"], if_not_exists=True)
        # UNANSWERED_SQL: created on open, so an older log gets it too.
        db[TURNS].create_index(["answered", "normalized", "time"], if_not_exists=True)
        # The review page's latest turn of a wording (bot/console/review.py).
        db[TURNS].create_index(["normalized", "time"], if_not_exists=True)
        db[CREDENTIALS].create(
            {"id": int, "salt": str, "hash": str, "params": str, "updated": str},
            pk="id",
            if_not_exists=True,
        )
        db[AUDIT].create(
            {"time": str, "page": str, "channel": str, "filter": str, "rows": int},
            if_not_exists=True,
        )
        db[REVIEWS].create(
            {
                "normalized": str,  # normalize_question of the wording: one row per wording
                "question": str,  # the (masked) wording, as last asked
                "verdict": str,  # bot.console.review.VERDICTS
                "label": str,  # what the right answer is, as in tests/eval (null: none)
                "reviewer": str,
                "time": str,  # when it was reviewed
                "asked": str,  # when the wording was last asked (retention counts from it)
                "people": int,  # how many conversations had asked it
                "held_back": int,  # 1: a "real questions" check, never trained on
                "kept": int,  # 1: also kept as an anonymous training example
            },
            pk="normalized",
            if_not_exists=True,
        )
        db[TRAINING_EXAMPLES].create(
            {"normalized": str, "question": str, "label": str, "held_back": int},
            pk="normalized",
            if_not_exists=True,
        )

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.conn.close()
                self._db = None

    def sender_hash(self, conversation_id: str) -> str:
        return hash_sender(self._secret_key, conversation_id)

    # -- writing -----------------------------------------------------------------------
    def record(self, turn: Turn) -> str:
        answer_id = turn.answer_id or uuid.uuid4().hex
        intent = turn.intent or {}
        sender = self.sender_hash(turn.conversation_id)
        row = {
            "id": answer_id,
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
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
            "answered": int(_answered(turn)),
            "feedback": None,
        }
        with self._lock:
            db = self._database()
            title = None
            if turn.message.startswith("/"):  # a payload: which button of the last answer?
                title = button_title(turn.message, self._last_answer(db, sender))
            if title:
                row.update(
                    message=title, payload=turn.message, normalized=normalize_question(title)
                )
            db[TURNS].insert(row)
        return answer_id

    @staticmethod
    def _last_answer(db: Database, sender: str) -> dict | None:
        """The previous answer of a conversation (its replies and sources), for button titles."""
        row = db.execute(
            f"select replies, sources from {TURNS} where sender = ? "
            "order by time desc, rowid desc limit 1",
            [sender],
        ).fetchone()
        if row is None:
            return None
        try:
            return {"replies": json.loads(row[0] or "[]"), "sources": json.loads(row[1] or "[]")}
        except ValueError:
            return None

    def set_feedback(self, conversation_id: str, answer_id: str, value: str) -> bool:
        """Store 👍/👎 for an answer of this conversation; False if it is not one of its answers."""
        with self._lock:
            db = self._database()
            cursor = db.execute(
                f"update {TURNS} set feedback = ? where id = ? and sender = ?",
                [value, answer_id, self.sender_hash(conversation_id)],
            )
            db.conn.commit()
            return cursor.rowcount == 1

    # -- reading -----------------------------------------------------------------------
    def _query(self, sql: str, params: list | dict = ()) -> list[dict[str, Any]]:
        with self._lock:
            db = self._database()
            cursor = db.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def history(self, conversation_id: str, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._query(
            f"select * from (select * from {TURNS} where sender = ? order by time desc limit ?) "
            "order by time",
            [self.sender_hash(conversation_id), limit],
        )
        return [_decoded(r) for r in rows]

    def turns(
        self, *, channel: str | None = None, filter: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Recent turns, newest first, optionally of one channel and one console filter."""
        where, params = _conditions(channel, filter)
        rows = self._query(
            f"select * from {TURNS} {where} order by time desc limit ?", [*params, limit]
        )
        return [_decoded(r) for r in rows]

    def conversations(
        self, *, channel: str | None = None, filter: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Conversations with a matching turn, most recent first, each with all its turns."""
        where, params = _conditions(channel, filter)
        heads = self._query(
            f"select sender, channel, max(time) as last from {TURNS} {where} "
            "group by sender, channel order by last desc limit ?",
            [*params, limit],
        )
        result = []
        for head in heads:
            rows = self._query(
                f"select * from {TURNS} where sender = ? and channel = ? order by time",
                [head["sender"], head["channel"]],
            )
            result.append({**head, "turns": [_decoded(r) for r in rows]})
        return result

    def unanswered(self, limit: int = 100) -> list[dict[str, Any]]:
        """Questions the assistant could not answer, grouped by normalised text, most frequent first."""
        return self._query(UNANSWERED_SQL, [limit])

    # -- review (bot/console/review.py) -----------------------------------------------------------
    def review_candidates(self, limit: int = 500) -> list[dict[str, Any]]:
        """Wordings worth a review, not yet reviewed, with who asked and why (REVIEW_SQL)."""
        params = {"low": LOW_CONFIDENCE, "reask": REASK_SECONDS, "limit": limit}
        return self._query(REVIEW_SQL, params)

    def latest_turns(self, normalized: list[str]) -> dict[str, dict[str, Any]]:
        """The latest typed turn of each wording: what the assistant did with it."""
        found = {}
        for key in normalized:
            rows = self._query(
                f"select * from {TURNS} where normalized = ? and payload is null "
                "order by time desc limit 1",
                [key],
            )
            if rows:
                found[key] = _decoded(rows[0])
        return found

    def store_reviews(
        self, rows: list[dict[str, Any]], keep: bool, held_back: Callable[[int], bool]
    ) -> None:
        """One review per wording. Whether a labelled wording is held back is decided here,
        once: `held_back(n)` for the label's n-th wording (bot.console.review), so a check question
        never moves into training later."""
        with self._lock:
            db = self._database()
            with db.conn:
                for row in rows:
                    row = dict(row)
                    db.execute(f"delete from {REVIEWS} where normalized = ?", [row["normalized"]])
                    db.execute(
                        f"delete from {TRAINING_EXAMPLES} where normalized = ?",
                        [row["normalized"]],
                    )
                    if row.get("label"):
                        count = db.execute(
                            f"select count(*) from {REVIEWS} where label = ?", [row["label"]]
                        ).fetchone()[0]
                        row["held_back"] = int(held_back(count + 1))
                    else:
                        row["held_back"] = 0
                    row["kept"] = int(keep and bool(row.get("label")))
                    db[REVIEWS].insert(row)
                    if row["kept"]:
                        db[TRAINING_EXAMPLES].insert(
                            {k: row[k] for k in ("normalized", "question", "label", "held_back")}
                        )

    def reviews(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._query(f"select * from {REVIEWS} order by time desc limit ?", [limit])

    def undo_review(self, normalized: str) -> bool:
        with self._lock:
            db = self._database()
            with db.conn:
                db.execute(f"delete from {TRAINING_EXAMPLES} where normalized = ?", [normalized])
                cursor = db.execute(f"delete from {REVIEWS} where normalized = ?", [normalized])
            return cursor.rowcount == 1

    def labelled_questions(self) -> list[dict[str, Any]]:
        """Every labelled wording: the reviews still within retention, and the training
        examples staff kept (those outlive their review)."""
        return self._query(
            f"select normalized, question, label, held_back from {REVIEWS} "
            "where label is not null and label != '' "
            f"union select normalized, question, label, held_back from {TRAINING_EXAMPLES} "
            f"where normalized not in (select normalized from {REVIEWS}) order by normalized"
        )

    # -- console password --------------------------------------------------------------
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
        with self._lock:
            self._database()[AUDIT].insert(row)

    def audit_rows(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._query(f"select * from {AUDIT} order by rowid desc limit ?", [limit])

    def password_record(self) -> dict | None:
        rows = self._query(f"select * from {CREDENTIALS} where id = 1")
        return rows[0] if rows else None

    def store_password_record(self, salt: str, hash: str, params: str) -> None:
        with self._lock:
            self._database()[CREDENTIALS].upsert(
                {
                    "id": 1,
                    "salt": salt,
                    "hash": hash,
                    "params": params,
                    "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                },
                pk="id",
            )


def _answered(turn: Turn) -> bool:
    if turn.kind in UNANSWERED_KINDS:
        return False
    fell_back = bool(turn.intent) and turn.intent.get("name") == "nlu_fallback"
    return not (fell_back and not turn.sources)


def _conditions(channel: str | None, filter: str | None) -> tuple[str, list]:
    clauses, params = [], []
    if channel:
        clauses.append("channel = ?")
        params.append(channel)
    if filter == "low":
        clauses.append("confidence is not null and confidence < ?")
        params.append(LOW_CONFIDENCE)
    elif filter == "unanswered":
        clauses.append("answered = 0")
    elif filter == "down":
        clauses.append("feedback = 'down'")
    elif filter == "handoff":
        clauses.append("handoff = 1")
    where = ("where " + " and ".join(clauses)) if clauses else ""
    return where, params


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["replies"] = json.loads(row.get("replies") or "[]")
    row["sources"] = json.loads(row.get("sources") or "[]")
    row["handoff"] = bool(row.get("handoff"))
    row["answered"] = bool(row.get("answered"))
    return row
