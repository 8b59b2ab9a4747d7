"""The glue between rasa_sdk and `knowledge/`: read the turn, answer, utter, remember.

Used by `action_respond` (actions/respond.py) and the situation check's actions; kept free of
work at import time.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from knowledge.answering import Answer, Context, knowledge_unavailable, respond
from knowledge.answering.question import WORDS_RANKING
from knowledge.errors import KnowledgeError

# The slots that keep the conversation memory (domain.yml).
MEMORY_SLOTS = ("last_keys", "last_query", "shown_keys")


def context_of(tracker: Tracker) -> Context:
    """The conversation memory kept in the slots (see domain.yml)."""
    return Context(
        last_keys=list(tracker.get_slot("last_keys") or []),
        last_query=tracker.get_slot("last_query"),
        shown_keys=list(tracker.get_slot("shown_keys") or []),
    )


def answer_turn(tracker: Tracker) -> tuple[Answer, dict[str, Any]]:
    """The answer to the latest user message and the intent it was given for."""
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence")
    try:
        answer = respond(
            text=message.get("text") or "",
            intent=name,
            confidence=confidence,
            entities=message.get("entities") or [],
            context=context_of(tracker),
            ranking=message.get("intent_ranking") or [],
            words_ranking=message.get(WORDS_RANKING),
        )
    except KnowledgeError:
        answer = knowledge_unavailable()
    return answer, {"name": name, "confidence": confidence}


def utter(
    dispatcher: CollectingDispatcher,
    answer: Answer,
    intent: dict[str, Any],
    private: bool = False,
) -> None:
    """The reply (a domain response for fixed replies), then the one meta payload. `private`:
    the user's message also gave answers of the situation check (not to be logged in clear)."""
    if answer.response and not answer.buttons:
        dispatcher.utter_message(response=answer.response, **answer.response_vars)
    else:
        dispatcher.utter_message(text=answer.text, buttons=answer.buttons)
    dispatcher.utter_message(
        json_message={
            "meta": {
                "intent": intent,
                "sources": answer.sources,
                "handoff": answer.handoff,
                "kind": answer.kind,
                "private": private,
            }
        }
    )


def slot_events(tracker: Tracker, answer: Answer) -> list[dict[str, Any]]:
    """Remember what was cited, so 那找谁 / 详细说说 / 还有别的吗 know what they refer to."""
    if not answer.keys:
        return []
    previous = context_of(tracker)
    shown = previous.shown_keys if answer.query == previous.last_query else []
    shown = list(dict.fromkeys([*shown, *answer.keys]))
    return [
        SlotSet("last_keys", list(answer.keys)),
        SlotSet("last_query", answer.query),
        SlotSet("shown_keys", shown),
    ]
