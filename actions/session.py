"""A new dialogue session that keeps the conversation memory.

Rasa replays the whole current session for every message, so the gateway starts a new session
every few turns of a long conversation (RASA_SESSION_TURNS). Rasa's own carry-over copies every
SlotSet of the old session into the new one, so each new session would start longer than the
last; this one carries only the memory slots' current values.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.reply import MEMORY_SLOTS


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        kept = [
            SlotSet(name, tracker.get_slot(name))
            for name in MEMORY_SLOTS
            if tracker.get_slot(name) is not None
        ]
        return [SessionStarted(), *kept, ActionExecuted("action_listen")]
