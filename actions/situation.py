"""The situation check (看看我适合哪些政策): the form's validation and its result.

`validate_situation_form` reads each message of the form with knowledge.situation.dialogue:
answers fill slots (several at once from a story), 不想说 skips, 算了 stops, and a question
about the plan is answered before the form asks again. The message that started the form is
first weighed by the answer decision: unless it reads as broad, it is answered and the form ends
(knowledge.situation.reply.starts_check). `action_situation_result` names what applies and
clears the answers, which live only in the slots, never in the log in clear.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.reply import answer_turn, slot_events, utter
from knowledge import wording
from knowledge.answering import knowledge_unavailable
from knowledge.errors import KnowledgeError
from knowledge.situation import reply
from knowledge.situation.dialogue import step
from knowledge.situation.mapping import SKIPPED
from knowledge.store import open_kb

REQUESTED = "requested_slot"
STOPPED = "situation_stopped"
# The message that started the form asked one thing, answered instead of the check.
ANSWERED = "situation_answered"
MISSES = "situation_misses"
# After this many messages in a row that answer nothing, the question is skipped: a person who
# cannot find the words is not kept in the form.
MISSES_BEFORE_SKIP = 2
# The form's questions, in order (domain.yml situation_form), and everything a check under way
# keeps in the tracker (carried over a session cut by actions/session.py).
FACETS = tuple(wording.SITUATION_QUESTIONS)
FORM_SLOTS = (*FACETS, STOPPED, ANSWERED, MISSES, REQUESTED)


def form_meta(dispatcher: CollectingDispatcher, tracker: Tracker, kind: str, private: bool) -> None:
    """The turn's meta payload. `private`: the message gave answers about the person, which the
    gateway must not log in clear."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    dispatcher.utter_message(
        json_message={
            "meta": {
                "intent": {"name": intent.get("name"), "confidence": intent.get("confidence")},
                "sources": [],
                "handoff": False,
                "kind": kind,
                "private": private,
            }
        }
    )


class ValidateSituationForm(Action):
    def name(self) -> str:
        return "validate_situation_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = (tracker.latest_message or {}).get("text") or ""
        asked = tracker.get_slot(REQUESTED)
        turn = step(text, asked)
        if asked is None and not turn.stop and not turn.question:
            answer, intent = await asyncio.to_thread(answer_turn, tracker)
            if not reply.starts_check(answer):
                utter(dispatcher, answer, intent)
                return [*slot_events(tracker, answer), SlotSet(ANSWERED, True),
                        SlotSet(REQUESTED, None)]  # fmt: skip
        if turn.stop:
            form_meta(dispatcher, tracker, "situation_stopped", private=False)
            return [SlotSet(STOPPED, True), SlotSet(REQUESTED, None)]
        filled = [SlotSet(facet, value) for facet, value in turn.values.items()]
        if turn.question:
            answer, intent = await asyncio.to_thread(answer_turn, tracker)
            utter(dispatcher, answer, intent, private=turn.said_something)
            return [*filled, *slot_events(tracker, answer), SlotSet(MISSES, 0)]
        misses = 0
        if asked is None and not _complete(tracker, turn.values):
            dispatcher.utter_message(text=wording.SITUATION_INTRO)
        elif not turn.answered(asked):
            misses = int(tracker.get_slot(MISSES) or 0) + 1
            if misses >= MISSES_BEFORE_SKIP:
                filled.append(SlotSet(asked, SKIPPED))
                misses = 0
                dispatcher.utter_message(text=wording.SITUATION_SKIPPED_FOR_YOU)
            else:
                dispatcher.utter_message(text=wording.SITUATION_NOT_UNDERSTOOD)
        form_meta(dispatcher, tracker, "situation", private=turn.said_something)
        return [*filled, SlotSet(MISSES, misses)]


def _complete(tracker: Tracker, values: dict[str, str]) -> bool:
    return all(values.get(f) or tracker.get_slot(f) for f in FACETS)


class ActionSituationResult(Action):
    def name(self) -> str:
        return "action_situation_result"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        answers = {facet: tracker.get_slot(facet) for facet in FACETS}
        cleared = [SlotSet(name, None) for name in (*answers, STOPPED, ANSWERED, MISSES)]
        if tracker.get_slot(ANSWERED):
            return cleared  # the form's first message was answered: nothing more to say
        if tracker.get_slot(STOPPED):
            answer = reply.stopped()
        else:
            try:
                answer = await asyncio.to_thread(reply.result, open_kb(), answers)
            except KnowledgeError:
                answer = knowledge_unavailable()
        utter(dispatcher, answer, {"name": "check_situation", "confidence": None})
        return [*slot_events(tracker, answer), *cleared]
