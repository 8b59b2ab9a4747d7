"""The conversation log's questions, written once for SQLite and PostgreSQL.

The console's filters, the unanswered groups and the review queue (bot/console/review.py).
Everything portable is plain SQL or SQLAlchemy Core; where the dialects differ the log's
database (bot/chat/log_schema.py) supplies the piece.
"""

from __future__ import annotations

import json
from typing import Any

from bot.chat.log_schema import REVIEWS, TURNS, turns

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
    "group by normalized order by count desc, last desc limit :limit"
)
# The review queue (bot/console/review.py): typed questions (not button presses) that were not
# answered, answered with low confidence, given 👎, or asked again by the same person within
# REASK_SECONDS (a new typed message that is not a follow-up of the answer); busy and
# service-down replies say nothing about the knowledge and are left out, and so are the situation
# check's turns (and answering its next question is no asking again). Grouped by wording,
# most people first; wordings already reviewed are not offered again.
REASK_SECONDS = 60
FOLLOW_UP_INTENTS = ("ask_responsible", "ask_detail", "ask_more", "thanks", "goodbye", "greet")


def review_sql(seconds_between) -> str:
    """REVIEW_SQL with the dialect's `seconds_between(later, earlier)` (flags as 0/1 integers,
    which both dialects aggregate with max)."""
    gap = seconds_between("next_time", "time")
    return (
        "with w as (select time, sender, payload, normalized, kind, answered, confidence, "
        "feedback, lead(time) over s as next_time, lead(payload) over s as next_payload, "
        "lead(intent) over s as next_intent, lead(kind) over s as next_kind "
        f"from {TURNS} window s as (partition by sender order by time)), "
        "f as (select *, case when next_time is not null and next_payload is null "
        f" and {gap} < :reask "
        f" and coalesce(next_intent, '') not in {FOLLOW_UP_INTENTS!r}"
        " and coalesce(next_kind, '') not like 'situation%' then 1 else 0 end as reasked "
        "from w) "
        "select normalized, count(*) as asked, count(distinct sender) as people, "
        "max(time) as last, max(case when answered = 0 then 1 else 0 end) as unanswered, "
        "max(case when confidence < :low then 1 else 0 end) as low, "
        "max(case when feedback = 'down' then 1 else 0 end) as down, "
        "max(reasked) as reasked from f "
        "where payload is null and normalized != '' "
        "and coalesce(kind, '') not in ('busy', 'unavailable') "
        # The situation check's turns are answers to its questions (logged as a placeholder).
        "and coalesce(kind, '') not like 'situation%' "
        "and (answered = 0 or confidence < :low or feedback = 'down' or reasked = 1) "
        f"and normalized not in (select normalized from {REVIEWS}) "
        "group by normalized order by people desc, asked desc, last desc limit :limit"
    )


def conditions(channel: str | None, filter: str | None) -> list:
    """The console's filters as Core clauses on `turns`."""
    clauses = []
    if channel:
        clauses.append(turns.c.channel == channel)
    if filter == "low":
        clauses.append(turns.c.confidence.is_not(None))
        clauses.append(turns.c.confidence < LOW_CONFIDENCE)
    elif filter == "unanswered":
        clauses.append(turns.c.answered == 0)
    elif filter == "down":
        clauses.append(turns.c.feedback == "down")
    elif filter == "handoff":
        clauses.append(turns.c.handoff == 1)
    return clauses


def answered(kind: str | None, intent: dict | None, sources: list) -> bool:
    if kind in UNANSWERED_KINDS:
        return False
    fell_back = bool(intent) and intent.get("name") == "nlu_fallback"
    return not (fell_back and not sources)


def decoded(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["replies"] = json.loads(row.get("replies") or "[]")
    row["sources"] = json.loads(row.get("sources") or "[]")
    row["handoff"] = bool(row.get("handoff"))
    row["answered"] = bool(row.get("answered"))
    return row
